package mem

import (
	"cmp"
	"encoding/binary"
	"errors"
	"fmt"
	"math/bits"
	"slices"
	"testing"
)

// checkInvariants verifies the allocator's internal consistency: regions
// sorted, aligned and separated by holes, frame 0 and addresses at or above
// MaxPhysAddr unmanaged, bitmaps sized exactly with their tail bits set,
// per-region and global free counts equal to the bitmaps' clear bits.
func checkInvariants(t testing.TB, a *Allocator) {
	t.Helper()
	a.mu.Lock()
	defer a.mu.Unlock()
	free, total := 0, 0
	for k := range a.regions {
		r := &a.regions[k]
		if r.frames <= 0 || r.start%PageSize != 0 || r.start == 0 || r.end() > MaxPhysAddr {
			t.Fatalf("region %d: bad bounds start=%#x frames=%d", k, r.start, r.frames)
		}
		if k > 0 && a.regions[k-1].end() >= r.start {
			t.Fatalf("region %d at %#x does not follow region %d ending %#x with a hole", k, r.start, k-1, a.regions[k-1].end())
		}
		if len(r.bits) != (r.frames+63)/64 {
			t.Fatalf("region %d: %d bitmap words for %d frames", k, len(r.bits), r.frames)
		}
		if tail := uint(r.frames % 64); tail != 0 {
			if m := ^uint64(0) << tail; r.bits[len(r.bits)-1]&m != m {
				t.Fatalf("region %d: tail bits not set: %#x", k, r.bits[len(r.bits)-1])
			}
		}
		clear := 0
		for _, w := range r.bits {
			clear += 64 - bits.OnesCount64(w)
		}
		if clear != r.free {
			t.Fatalf("region %d: free=%d but bitmap has %d clear bits", k, r.free, clear)
		}
		free += r.free
		total += r.frames
	}
	if free != a.free || total != a.total {
		t.Fatalf("free=%d total=%d, regions sum to free=%d total=%d", a.free, a.total, free, total)
	}
	if len(a.regions) > 0 && (a.curRegion >= len(a.regions) || a.curWord >= len(a.regions[a.curRegion].bits)) {
		t.Fatalf("cursor (%d,%d) out of bounds", a.curRegion, a.curWord)
	}
}

// isAllocated reports whether the allocator manages addr and has it
// allocated.
func isAllocated(a *Allocator, addr uint64) (managed, allocated bool) {
	a.mu.Lock()
	defer a.mu.Unlock()
	r := a.find(addr)
	if r == nil {
		return false, false
	}
	return true, r.isSet(r.index(addr))
}

// snapshot returns the allocator's state (counts, regions and bitmaps; not
// the cursor) encoded as a string, for comparing before and after an
// operation that must change nothing.
func snapshot(a *Allocator) string {
	a.mu.Lock()
	defer a.mu.Unlock()
	b := binary.LittleEndian.AppendUint64(nil, uint64(a.free))
	b = binary.LittleEndian.AppendUint64(b, uint64(a.total))
	for _, r := range a.regions {
		b = binary.LittleEndian.AppendUint64(b, r.start)
		b = binary.LittleEndian.AppendUint64(b, uint64(r.frames))
		b = binary.LittleEndian.AppendUint64(b, uint64(r.free))
		for _, w := range r.bits {
			b = binary.LittleEndian.AppendUint64(b, w)
		}
	}
	return string(b)
}

// modelFrames bounds the model's address space: 8192 frames, 32 MiB. The
// model covers only the frames up to the end of the available ranges.
const modelFrames = 8192

// block is an outstanding allocation in the model: n frames from addr.
type block struct {
	addr uint64
	n    int
}

// harness drives an Allocator and a simple model of it side by side. The
// model is a pair of bool slices indexed by frame number, built from the
// inputs of New by brute force (independently of Normalize and Subtract).
type harness struct {
	t         testing.TB
	a         *Allocator
	managed   []bool
	allocated []bool
	nmanaged  int
	nalloc    int
	blocks    []block
	ops       int
	stats     map[string]int // outcomes seen, to show what a run exercised
}

// modelManaged returns, frame by frame, which frames New(available, reserved)
// should manage: frames other than 0 wholly covered by the union of available
// and touched by no reserved range.
func modelManaged(available, reserved []Range) []bool {
	var top uint64
	for _, r := range available {
		top = max(top, r.End)
	}
	m := make([]bool, min(modelFrames, top/PageSize+1))
	var parts []Range
	for f := 1; f < len(m); f++ {
		fs, fe := uint64(f)*PageSize, uint64(f+1)*PageSize
		parts = parts[:0]
		for _, r := range available {
			if r.Start < fe && fs < r.End && r.Start < r.End {
				parts = append(parts, Range{max(r.Start, fs), min(r.End, fe)})
			}
		}
		slices.SortFunc(parts, func(a, b Range) int { return cmp.Compare(a.Start, b.Start) })
		cur := fs
		for _, p := range parts {
			if p.Start <= cur {
				cur = max(cur, p.End)
			}
		}
		if cur < fe {
			continue
		}
		touched := false
		for _, r := range reserved {
			if r.Start < fe && fs < r.End && r.Start < r.End {
				touched = true
			}
		}
		m[f] = !touched
	}
	return m
}

// newHarness builds the allocator and the model from the same inputs, which
// must lie below modelFrames*PageSize. It returns nil if New fails, after
// checking that the model agrees nothing is left.
func newHarness(t testing.TB, available, reserved []Range) *harness {
	t.Helper()
	h := &harness{t: t, stats: map[string]int{}, managed: modelManaged(available, reserved)}
	h.allocated = make([]bool, len(h.managed))
	for _, m := range h.managed {
		if m {
			h.nmanaged++
		}
	}
	a, err := New(available, reserved)
	if h.nmanaged == 0 {
		if !errors.Is(err, ErrNoMemory) {
			t.Fatalf("New(%v, %v) = %v, want ErrNoMemory", available, reserved, err)
		}
		return nil
	}
	if err != nil {
		t.Fatalf("New(%v, %v): %v, model has %d frames", available, reserved, err, h.nmanaged)
	}
	h.a = a
	h.fullCheck()
	return h
}

func (h *harness) frame(addr uint64) int { return int(addr / PageSize) }

// fullCheck compares the whole allocator with the model.
func (h *harness) fullCheck() {
	h.t.Helper()
	checkInvariants(h.t, h.a)
	var want []Range
	for f := range h.managed {
		if !h.managed[f] {
			continue
		}
		if n := len(want); n > 0 && want[n-1].End == uint64(f)*PageSize {
			want[n-1].End += PageSize
		} else {
			want = append(want, Range{uint64(f) * PageSize, uint64(f+1) * PageSize})
		}
	}
	if got := h.a.Ranges(); !slices.Equal(got, want) {
		h.t.Fatalf("op %d: Ranges() = %v, model %v", h.ops, got, want)
	}
	// The managed sets agree: compare the bitmaps frame by frame.
	h.a.mu.Lock()
	defer h.a.mu.Unlock()
	for k := range h.a.regions {
		r := &h.a.regions[k]
		for i := range r.frames {
			if f := h.frame(r.addr(i)); r.isSet(i) != h.allocated[f] {
				h.t.Fatalf("op %d: frame %#x: allocated=%v, model %v", h.ops, r.addr(i), r.isSet(i), h.allocated[f])
			}
		}
	}
	if got, want := h.a.total, h.nmanaged; got != want {
		h.t.Fatalf("op %d: total = %d, model %d", h.ops, got, want)
	}
	if got, want := h.a.free, h.nmanaged-h.nalloc; got != want {
		h.t.Fatalf("op %d: free = %d, model %d", h.ops, got, want)
	}
}

// counts compares the frame counts with the model.
func (h *harness) counts() {
	h.t.Helper()
	if got, want := h.a.TotalFrames(), h.nmanaged; got != want {
		h.t.Fatalf("op %d: TotalFrames() = %d, model %d", h.ops, got, want)
	}
	if got, want := h.a.FreeFrames(), h.nmanaged-h.nalloc; got != want {
		h.t.Fatalf("op %d: FreeFrames() = %d, model %d", h.ops, got, want)
	}
}

// take records frames [addr, addr+n*PageSize) as allocated, failing if any
// is unmanaged or already allocated in the model.
func (h *harness) take(addr uint64, n int, what string) {
	h.t.Helper()
	if addr%PageSize != 0 {
		h.t.Fatalf("op %d: %s returned unaligned %#x", h.ops, what, addr)
	}
	for f := h.frame(addr); f < h.frame(addr)+n; f++ {
		if f >= len(h.managed) || !h.managed[f] {
			h.t.Fatalf("op %d: %s returned unmanaged frame %#x", h.ops, what, f*PageSize)
		}
		if h.allocated[f] {
			h.t.Fatalf("op %d: %s handed out frame %#x twice", h.ops, what, f*PageSize)
		}
		h.allocated[f] = true
	}
	h.nalloc += n
	h.blocks = append(h.blocks, block{addr, n})
}

// release records the frames of h.blocks[k] as free and drops the block.
func (h *harness) release(k int) {
	b := h.blocks[k]
	for f := h.frame(b.addr); f < h.frame(b.addr)+b.n; f++ {
		h.allocated[f] = false
	}
	h.nalloc -= b.n
	h.blocks[k] = h.blocks[len(h.blocks)-1]
	h.blocks = h.blocks[:len(h.blocks)-1]
}

// lowestRun returns the lowest frame starting n free, managed, contiguous
// frames at an address aligned to align, or -1.
func (h *harness) lowestRun(n int, align uint64) int {
	// good[f] runs backwards: the number of usable frames from f on.
	run := 0
	best := -1
	for f := len(h.managed) - 1; f >= 0; f-- {
		if h.managed[f] && !h.allocated[f] {
			run++
		} else {
			run = 0
		}
		if run >= n && (uint64(f)*PageSize)%align == 0 {
			best = f
		}
	}
	return best
}

// wantErr fails unless err wraps want (nil meaning success).
func (h *harness) wantErr(err, want error, what string) {
	h.t.Helper()
	if want == nil && err != nil || want != nil && !errors.Is(err, want) {
		h.t.Fatalf("op %d: %s: got error %v, want %v", h.ops, what, err, want)
	}
}

// step performs one operation chosen by op, with parameter x, on both the
// allocator and the model, and checks the outcome.
func (h *harness) step(op byte, x uint32) {
	h.t.Helper()
	h.ops++
	switch op % 16 {
	case 0, 1, 2, 3: // Alloc
		addr, err := h.a.Alloc()
		if h.nalloc == h.nmanaged {
			h.wantErr(err, ErrNoMemory, "Alloc when full")
			h.stats["Alloc exhausted"]++
			break
		}
		h.wantErr(err, nil, "Alloc")
		h.stats["Alloc"]++
		h.take(addr, 1, "Alloc")
	case 4, 5: // AllocContig
		n := 1 + int(x%16)
		if x&0x10000 != 0 {
			n = 1 + int(x%600) // sometimes a large-page-sized run or more
		}
		align := uint64(PageSize) << ((x >> 4) % 10) // up to 2 MiB
		want := h.lowestRun(n, align)
		before := ""
		if want < 0 {
			before = snapshot(h.a)
		}
		addr, err := h.a.AllocContig(n, align)
		what := fmt.Sprintf("AllocContig(%d, %#x)", n, align)
		if want < 0 {
			h.wantErr(err, ErrNoMemory, what)
			h.stats["AllocContig no fit"]++
			if after := snapshot(h.a); after != before {
				h.t.Fatalf("op %d: failed %s changed the state", h.ops, what)
			}
			break
		}
		h.wantErr(err, nil, what)
		h.stats["AllocContig"]++
		if n >= 512 {
			h.stats["AllocContig >= 512 frames"]++
		}
		if addr != uint64(want)*PageSize {
			h.t.Fatalf("op %d: %s = %#x, want lowest fit %#x", h.ops, what, addr, want*PageSize)
		}
		h.take(addr, n, what)
	case 6, 7, 8: // free an outstanding block
		if len(h.blocks) == 0 {
			break
		}
		k := int(x>>1) % len(h.blocks)
		b := h.blocks[k]
		switch {
		case b.n == 1:
			h.wantErr(h.a.Free(b.addr), nil, "Free")
		case x&1 == 0:
			h.wantErr(h.a.FreeContig(b.addr, b.n), nil, "FreeContig")
		default: // frame by frame, in reverse
			for f := b.n - 1; f >= 0; f-- {
				h.wantErr(h.a.Free(b.addr+uint64(f)*PageSize), nil, "Free of a contiguous block's frame")
			}
		}
		h.release(k)
		h.stats["free"]++
	case 9: // free of one frame out of a block, then FreeContig of the whole block fails
		if len(h.blocks) == 0 {
			break
		}
		k := int(x>>8) % len(h.blocks)
		b := h.blocks[k]
		if b.n < 2 {
			break
		}
		hole := int(x) % b.n
		h.wantErr(h.a.Free(b.addr+uint64(hole)*PageSize), nil, "Free of one frame of a block")
		h.release(k)
		before := h.a.FreeFrames()
		h.wantErr(h.a.FreeContig(b.addr, b.n), ErrNotAllocated, "FreeContig over a freed frame")
		if got := h.a.FreeFrames(); got != before {
			h.t.Fatalf("op %d: failed FreeContig freed %d frames", h.ops, got-before)
		}
		h.stats["FreeContig all-or-nothing"]++
		// Put the two remaining pieces back as outstanding blocks.
		h.nalloc += b.n - 1
		if hole > 0 {
			h.blocks = append(h.blocks, block{b.addr, hole})
		}
		if hole < b.n-1 {
			h.blocks = append(h.blocks, block{b.addr + uint64(hole+1)*PageSize, b.n - hole - 1})
		}
		for f := h.frame(b.addr); f < h.frame(b.addr)+b.n; f++ {
			h.allocated[f] = f != h.frame(b.addr)+hole
		}
	case 10, 11: // a wrong Free or FreeContig at an arbitrary address
		addr := uint64(x%uint32((len(h.managed)+64)*8)) * (PageSize / 8) // 1/8 of them aligned
		n := 1
		if op%16 == 11 {
			n = 1 + int(x>>24)%16
		}
		var want error
		switch {
		case addr%PageSize != 0:
			want = ErrInvalid
		default:
			f := h.frame(addr)
			for g := f; g < f+n; g++ {
				if g >= len(h.managed) || !h.managed[g] {
					want = ErrNotManaged
					break
				}
			}
			if want == nil {
				for g := f; g < f+n; g++ {
					if !h.allocated[g] {
						want = ErrNotAllocated
						break
					}
				}
			}
		}
		if want == nil {
			break // a valid free: would bypass the block bookkeeping
		}
		h.stats["wrong free: "+want.Error()]++
		before := snapshot(h.a)
		if n == 1 {
			h.wantErr(h.a.Free(addr), want, fmt.Sprintf("Free(%#x)", addr))
		} else {
			h.wantErr(h.a.FreeContig(addr, n), want, fmt.Sprintf("FreeContig(%#x, %d)", addr, n))
		}
		if snapshot(h.a) != before {
			h.t.Fatalf("op %d: failed free changed the state", h.ops)
		}
	case 12: // invalid arguments
		before := snapshot(h.a)
		bad := []struct {
			n     int
			align uint64
		}{{0, PageSize}, {-1, PageSize}, {1, 0}, {1, 1}, {1, 2048}, {1, 3 * PageSize}, {1, PageSize + 1}}
		c := bad[int(x)%len(bad)]
		_, err := h.a.AllocContig(c.n, c.align)
		h.wantErr(err, ErrInvalid, fmt.Sprintf("AllocContig(%d, %#x)", c.n, c.align))
		h.wantErr(h.a.FreeContig(PageSize, -int(x%3)), ErrInvalid, "FreeContig with n<1")
		if snapshot(h.a) != before {
			h.t.Fatalf("op %d: invalid call changed the state", h.ops)
		}
	case 13: // Reserve, rarely (it shrinks the pool for good)
		if x%64 != 0 {
			break
		}
		start := uint64(x>>6) % uint64((len(h.managed)+64)*PageSize)
		r := Range{start, start + 1 + uint64(x>>20)%(3*PageSize)}
		fs, fe := int(r.Start/PageSize), int((r.End+PageSize-1)/PageSize)
		var want error
		for f := fs; f < fe && f < len(h.managed); f++ {
			if h.allocated[f] {
				want = ErrInUse
			}
		}
		before := snapshot(h.a)
		h.wantErr(h.a.Reserve(r), want, fmt.Sprintf("Reserve(%v)", r))
		h.stats[fmt.Sprintf("Reserve err=%v", want)]++
		if want != nil {
			if snapshot(h.a) != before {
				h.t.Fatalf("op %d: failed Reserve changed the state", h.ops)
			}
			break
		}
		for f := fs; f < fe && f < len(h.managed); f++ {
			if h.managed[f] {
				h.managed[f] = false
				h.nmanaged--
			}
		}
		h.fullCheck()
	default: // 14, 15: free everything, then check the pool is whole again
		if x%1024 != 0 {
			break
		}
		for len(h.blocks) > 0 {
			b := h.blocks[len(h.blocks)-1]
			h.wantErr(h.a.FreeContig(b.addr, b.n), nil, "FreeContig while freeing all")
			h.release(len(h.blocks) - 1)
		}
		h.stats["free all"]++
		if got, want := h.a.FreeFrames(), h.a.TotalFrames(); got != want {
			h.t.Fatalf("op %d: after freeing everything FreeFrames() = %d, TotalFrames() = %d", h.ops, got, want)
		}
	}
	h.counts()
}
