// Package mem is the physical frame allocator: it owns every page of RAM
// outside the Go runtime's own region and hands it out in 4 KiB frames.
//
// Its memory comes from the boot memory map: the boot code passes New the
// ranges the firmware reports as available RAM, and as reserved the first
// MiB, the Go runtime's region (boot.RAMStart to boot.RAMEnd, which holds the
// image, the Go heap and the g0 stack), boot modules and anything else that
// is in use. Every other page is allocated here: domain (guest) memory, EPT
// page tables, VMCS and VMXON regions, grant-mapped pages. The garbage
// collector never sees these frames and a domain never sees Go memory.
//
// The allocator is pure bookkeeping: it never reads or writes the frames it
// manages. Its state is one bitmap per managed range, one bit per frame, on
// the Go heap (4 GiB of managed memory costs 128 KiB). In particular it does
// not zero frames: the caller maps a frame and clears it before use (a frame
// freed by one domain must be cleared before another sees it).
//
// Freeing is exact and checked: Free and FreeContig refuse (with an error,
// never a panic) unaligned addresses, frames the allocator does not manage and
// frames that are not allocated, so destroying a domain returns exactly the
// frames it held and FreeFrames comes back to its earlier value. All methods
// are safe for concurrent use.
package mem

import (
	"errors"
	"fmt"
	"sort"
	"sync"
)

// PageSize is the size in bytes of a frame, the allocator's unit.
const PageSize = 4096

// MaxPhysAddr is the architectural limit of x86-64 physical addresses
// (52 bits). Available memory at or above it is ignored.
const MaxPhysAddr = 1 << 52

// Errors returned by the allocator, wrapped with details; test for them with
// errors.Is.
var (
	// ErrNoMemory means no frame, or no run of frames with the requested
	// size and alignment, is free.
	ErrNoMemory = errors.New("mem: out of memory")
	// ErrInvalid means an argument is malformed: an unaligned address, a
	// count below 1, an alignment that is not a power of two of at least
	// PageSize.
	ErrInvalid = errors.New("mem: invalid argument")
	// ErrNotManaged means an address is not in a range the allocator manages
	// (it was never available, was reserved, or is frame 0).
	ErrNotManaged = errors.New("mem: frame not managed")
	// ErrNotAllocated means a frame being freed is already free: a double
	// free, or a free of a frame that was never handed out.
	ErrNotAllocated = errors.New("mem: frame not allocated")
	// ErrInUse means Reserve was asked for a frame that is allocated.
	ErrInUse = errors.New("mem: frame in use")
)

// Allocator hands out 4 KiB physical frames from a fixed set of managed
// ranges. Create one with New; the zero value manages no memory. It is safe
// for concurrent use, and must not be copied.
type Allocator struct {
	mu      sync.Mutex
	regions []region // sorted by address, separated by holes
	free    int      // free frames in all regions
	total   int      // frames in all regions

	// Next-fit cursor for Alloc: the search resumes at word curWord of
	// regions[curRegion], where the previous allocation was made.
	curRegion int
	curWord   int
}

// New returns an allocator managing the frames of available that are not
// touched by any of reserved.
//
// Available ranges may be unsorted, overlapping, adjacent, unaligned or empty:
// they are merged, then shrunk inward to whole frames (a partial frame at
// either end is not managed), and clipped to MaxPhysAddr. Reserved ranges may
// overlap anything and each other; every frame a reserved range touches, even
// by one byte, is excluded. Frame 0 (physical 0x0-0xfff) is always excluded.
//
// New fails with ErrNoMemory if no frame is left. The input slices are not
// retained.
func New(available, reserved []Range) (*Allocator, error) {
	var managed []Range
	for _, r := range Normalize(available) {
		if r = inward(r); r.Size() != 0 {
			managed = append(managed, r)
		}
	}
	managed = Subtract(managed, Range{0, PageSize})
	for _, r := range Normalize(reserved) {
		managed = Subtract(managed, outward(r))
	}
	a := &Allocator{}
	for _, r := range managed {
		n := int(r.Size() / PageSize)
		a.regions = append(a.regions, newRegion(r.Start, n))
		a.total += n
	}
	a.free = a.total
	if a.total == 0 {
		return nil, fmt.Errorf("%w: no usable frame in %d available ranges (%d bytes) minus %d reserved ranges (%d bytes)",
			ErrNoMemory, len(available), sumSize(available), len(reserved), sumSize(reserved))
	}
	return a, nil
}

// sumSize returns the total size of rs, counting overlaps twice and
// saturating at the largest uint64.
func sumSize(rs []Range) uint64 {
	var n uint64
	for _, r := range rs {
		if n+r.Size() < n {
			return ^uint64(0)
		}
		n += r.Size()
	}
	return n
}

// Alloc allocates one frame and returns its physical address. The frame's
// contents are whatever was there: the caller clears it. Alloc fails with
// ErrNoMemory when no frame is free.
//
// The search is next-fit: it resumes where the previous allocation was made,
// so a run of allocations costs O(1) each, amortized.
func (a *Allocator) Alloc() (uint64, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.free == 0 {
		return 0, fmt.Errorf("%w: 0 of %d frames free", ErrNoMemory, a.total)
	}
	ri, wi := a.curRegion, a.curWord
	// a.free > 0, so some region has a free frame; visiting every region
	// once, plus the start of the first one again, finds it.
	for range len(a.regions) + 1 {
		r := &a.regions[ri]
		if r.free > 0 {
			for w := wi; w < len(r.bits); w++ {
				if r.bits[w] == ^uint64(0) {
					continue
				}
				i := r.nextClear(w<<6, r.frames)
				r.fill(i, i+1, true)
				a.free--
				a.curRegion, a.curWord = ri, w
				return r.addr(i), nil
			}
		}
		ri, wi = (ri+1)%len(a.regions), 0
	}
	panic("mem: free count and bitmaps disagree")
}

// AllocContig allocates n physically contiguous frames whose first address is
// a multiple of align, and returns that address. align must be a power of two
// of at least PageSize (PageSize for no constraint, 2 MiB for a large page).
// The frames' contents are not cleared.
//
// The lowest suitable run is chosen. A run never spans two managed ranges, so
// it never straddles a hole in physical memory. On failure (ErrInvalid for a
// bad n or align, ErrNoMemory if no run fits) nothing is allocated.
func (a *Allocator) AllocContig(n int, align uint64) (uint64, error) {
	if n < 1 {
		return 0, fmt.Errorf("%w: AllocContig of %d frames", ErrInvalid, n)
	}
	if align < PageSize || align&(align-1) != 0 {
		return 0, fmt.Errorf("%w: AllocContig alignment %#x is not a power of two >= %#x", ErrInvalid, align, PageSize)
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	for ri := range a.regions {
		r := &a.regions[ri]
		if i, ok := r.findRun(n, align); ok {
			r.fill(i, i+n, true)
			a.free -= n
			return r.addr(i), nil
		}
	}
	return 0, fmt.Errorf("%w: no run of %d frames aligned to %#x (%d of %d frames free)",
		ErrNoMemory, n, align, a.free, a.total)
}

// Free returns the frame at addr to the free pool. It fails, changing
// nothing, with ErrInvalid if addr is not page-aligned, ErrNotManaged if the
// allocator does not manage that frame, and ErrNotAllocated if the frame is
// already free (a double free).
func (a *Allocator) Free(addr uint64) error {
	return a.FreeContig(addr, 1)
}

// FreeContig returns the n frames starting at addr to the free pool, as
// allocated by AllocContig (or by n Allocs that happened to be contiguous).
// It is all-or-nothing: every frame is checked first, and if any is
// unmanaged or already free, FreeContig fails as Free does and frees
// nothing.
func (a *Allocator) FreeContig(addr uint64, n int) error {
	if n < 1 {
		return fmt.Errorf("%w: free of %d frames at %#x", ErrInvalid, n, addr)
	}
	if addr%PageSize != 0 {
		return fmt.Errorf("%w: free of unaligned address %#x", ErrInvalid, addr)
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	r := a.find(addr)
	if r == nil {
		return fmt.Errorf("%w: free of %#x", ErrNotManaged, addr)
	}
	i := r.index(addr)
	if n > r.frames-i {
		return fmt.Errorf("%w: free of %d frames at %#x: frame %#x is past the managed range %v",
			ErrNotManaged, n, addr, r.end(), Range{r.start, r.end()})
	}
	if j := r.nextClear(i, i+n); j != i+n {
		if n == 1 {
			return fmt.Errorf("%w: free of %#x (double free?)", ErrNotAllocated, addr)
		}
		return fmt.Errorf("%w: free of %d frames at %#x: frame %#x is free", ErrNotAllocated, n, addr, r.addr(j))
	}
	r.fill(i, i+n, false)
	a.free += n
	return nil
}

// find returns the region containing addr, or nil.
func (a *Allocator) find(addr uint64) *region {
	k := sort.Search(len(a.regions), func(k int) bool { return a.regions[k].end() > addr })
	if k == len(a.regions) || addr < a.regions[k].start {
		return nil
	}
	return &a.regions[k]
}

// Reserve takes the frames that r touches out of the allocator for good, as
// New does with its reserved ranges (for example for a boot module found
// after the allocator was built): they stop being managed, so TotalFrames,
// FreeFrames and Ranges shrink, and freeing them fails with ErrNotManaged.
// Parts of r the allocator does not manage are ignored. Reserve fails with
// ErrInUse, changing nothing, if any frame in r is allocated.
func (a *Allocator) Reserve(r Range) error {
	cut := outward(r)
	if cut.Size() == 0 {
		return nil
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	type span struct{ ri, i, j int } // frames [i, j) of regions[ri]
	var spans []span
	for ri := range a.regions {
		g := &a.regions[ri]
		if !cut.overlaps(Range{g.start, g.end()}) {
			continue
		}
		i := g.index(max(cut.Start, g.start))
		j := g.index(min(cut.End, g.end()))
		if k := g.nextSet(i, j); k != j {
			return fmt.Errorf("%w: reserve %v: frame %#x is allocated", ErrInUse, r, g.addr(k))
		}
		spans = append(spans, span{ri, i, j})
	}
	if len(spans) == 0 {
		return nil
	}
	regions := make([]region, 0, len(a.regions)+1)
	regions = append(regions, a.regions[:spans[0].ri]...)
	for k, s := range spans {
		g := &a.regions[s.ri]
		if s.i > 0 {
			regions = append(regions, g.slice(0, s.i))
		}
		if s.j < g.frames {
			regions = append(regions, g.slice(s.j, g.frames))
		}
		a.free -= s.j - s.i
		a.total -= s.j - s.i
		if k == len(spans)-1 {
			regions = append(regions, a.regions[s.ri+1:]...)
		}
	}
	a.regions = regions
	a.curRegion, a.curWord = 0, 0
	return nil
}

// FreeFrames returns the number of free frames.
func (a *Allocator) FreeFrames() int {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.free
}

// TotalFrames returns the number of frames the allocator manages, free or
// allocated.
func (a *Allocator) TotalFrames() int {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.total
}

// Ranges returns the managed ranges as a new slice, sorted, page-aligned and
// merged (no two touch).
func (a *Allocator) Ranges() []Range {
	a.mu.Lock()
	defer a.mu.Unlock()
	out := make([]Range, len(a.regions))
	for k := range a.regions {
		out[k] = Range{a.regions[k].start, a.regions[k].end()}
	}
	return out
}

// String summarizes the allocator for the console, e.g.
// "mem: 1000 of 16384 frames free in 2 ranges".
func (a *Allocator) String() string {
	a.mu.Lock()
	defer a.mu.Unlock()
	return fmt.Sprintf("mem: %d of %d frames free in %d ranges", a.free, a.total, len(a.regions))
}
