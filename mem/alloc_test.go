package mem

import (
	"errors"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
)

const (
	kib = 1 << 10
	mib = 1 << 20
	gib = 1 << 30
)

func mustNew(t testing.TB, available, reserved []Range) *Allocator {
	t.Helper()
	a, err := New(available, reserved)
	if err != nil {
		t.Fatalf("New(%v, %v): %v", available, reserved, err)
	}
	checkInvariants(t, a)
	return a
}

func TestNew(t *testing.T) {
	for _, c := range []struct {
		name      string
		available []Range
		reserved  []Range
		want      []Range
	}{
		{"one range", []Range{{1 * mib, 2 * mib}}, nil, []Range{{1 * mib, 2 * mib}}},
		{"unaligned shrinks inward", []Range{{0x1001, 0x5fff}}, nil, []Range{{0x2000, 0x5000}}},
		{"unsorted", []Range{{0x10000, 0x20000}, {0x2000, 0x4000}}, nil, []Range{{0x2000, 0x4000}, {0x10000, 0x20000}}},
		{"overlapping merged", []Range{{0x2000, 0x8000}, {0x6000, 0xa000}, {0x3000, 0x4000}}, nil, []Range{{0x2000, 0xa000}}},
		{"adjacent merged", []Range{{0x2000, 0x4000}, {0x4000, 0x6000}}, nil, []Range{{0x2000, 0x6000}}},
		{"unaligned pieces that cover a frame together",
			[]Range{{0x1000, 0x2800}, {0x2800, 0x4000}}, nil, []Range{{0x1000, 0x4000}}},
		{"unaligned gap loses the frame",
			[]Range{{0x1000, 0x2800}, {0x2900, 0x5000}}, nil, []Range{{0x1000, 0x2000}, {0x3000, 0x5000}}},
		{"empty and inverted ranges ignored",
			[]Range{{0x9000, 0x9000}, {0x8000, 0x3000}, {0x2000, 0x3000}, {0x4100, 0x4fff}}, nil, []Range{{0x2000, 0x3000}}},
		{"frame 0 excluded", []Range{{0, 0x4000}}, nil, []Range{{0x1000, 0x4000}}},
		{"frame 0 excluded, unaligned", []Range{{0x10, 0x2000}}, nil, []Range{{0x1000, 0x2000}}},
		{"reserved splits", []Range{{0x1000, 0x10000}}, []Range{{0x4000, 0x6000}}, []Range{{0x1000, 0x4000}, {0x6000, 0x10000}}},
		{"reserved unaligned grows outward", []Range{{0x1000, 0x10000}}, []Range{{0x4fff, 0x6001}},
			[]Range{{0x1000, 0x4000}, {0x7000, 0x10000}}},
		{"reserved one byte takes a frame", []Range{{0x1000, 0x4000}}, []Range{{0x2800, 0x2801}}, []Range{{0x1000, 0x2000}, {0x3000, 0x4000}}},
		{"reserved overlapping several ranges",
			[]Range{{0x1000, 0x5000}, {0x8000, 0xc000}, {0x10000, 0x14000}, {0x20000, 0x21000}},
			[]Range{{0x3000, 0x11000}},
			[]Range{{0x1000, 0x3000}, {0x11000, 0x14000}, {0x20000, 0x21000}}},
		{"reserved overlapping each other and outside",
			[]Range{{0x10000, 0x20000}},
			[]Range{{0x12000, 0x15000}, {0x14000, 0x16000}, {0x0, 0x11000}, {0x1f000, 0x100000}, {0x50000, 0x60000}},
			[]Range{{0x11000, 0x12000}, {0x16000, 0x1f000}}},
		{"empty reserved range ignored", []Range{{0x1000, 0x3000}}, []Range{{0x2000, 0x2000}, {0x2800, 0x2000}}, []Range{{0x1000, 0x3000}}},
		{"typical PC map", // low memory, a hole, RAM split by the Go runtime's region
			[]Range{{0, 0x9fc00}, {0x100000, 0x7fe0000}, {0x100000000, 0x140000000}},
			[]Range{{0x1000000, 0x9000000}},
			[]Range{{0x1000, 0x9f000}, {0x100000, 0x1000000}, {0x100000000, 0x140000000}}},
		{"clipped at MaxPhysAddr", []Range{{MaxPhysAddr - 0x2000, MaxPhysAddr + 0x5000}}, nil, []Range{{MaxPhysAddr - 0x2000, MaxPhysAddr}}},
		{"top of the address space", []Range{{MaxPhysAddr - 0x1000, ^uint64(0)}, {0x1000, 0x2000}}, []Range{{^uint64(0) - 5, ^uint64(0)}},
			[]Range{{0x1000, 0x2000}, {MaxPhysAddr - 0x1000, MaxPhysAddr}}},
	} {
		t.Run(c.name, func(t *testing.T) {
			in, res := slices.Clone(c.available), slices.Clone(c.reserved)
			a := mustNew(t, c.available, c.reserved)
			if got := a.Ranges(); !slices.Equal(got, c.want) {
				t.Errorf("Ranges() = %v, want %v", got, c.want)
			}
			var frames int
			for _, r := range c.want {
				frames += int(r.Size() / PageSize)
			}
			if a.TotalFrames() != frames || a.FreeFrames() != frames {
				t.Errorf("TotalFrames() = %d, FreeFrames() = %d, want %d", a.TotalFrames(), a.FreeFrames(), frames)
			}
			if !slices.Equal(in, c.available) || !slices.Equal(res, c.reserved) {
				t.Errorf("New modified its inputs")
			}
		})
	}
}

func TestNewNothingLeft(t *testing.T) {
	for _, c := range []struct {
		name                string
		available, reserved []Range
		msg                 string
	}{
		{"no input", nil, nil, "0 available ranges (0 bytes) minus 0 reserved ranges (0 bytes)"},
		{"only frame 0", []Range{{0, 0x1000}}, nil, "1 available ranges (4096 bytes)"},
		{"less than a frame", []Range{{0x1001, 0x2fff}, {0x5000, 0x5fff}}, nil, "2 available ranges (12285 bytes)"},
		{"all reserved", []Range{{0x1000, 0x5000}}, []Range{{0, 0x2000}, {0x1fff, 0x100000}}, "minus 2 reserved ranges (1048577 bytes)"},
		{"above MaxPhysAddr", []Range{{MaxPhysAddr, MaxPhysAddr + gib}}, nil, "1 available ranges"},
		{"totals saturate", []Range{{MaxPhysAddr, ^uint64(0)}, {MaxPhysAddr, ^uint64(0)}}, nil, "2 available ranges (18446744073709551615 bytes)"},
	} {
		t.Run(c.name, func(t *testing.T) {
			a, err := New(c.available, c.reserved)
			if a != nil || !errors.Is(err, ErrNoMemory) {
				t.Fatalf("New = %v, %v; want nil, ErrNoMemory", a, err)
			}
			if !strings.Contains(err.Error(), c.msg) {
				t.Errorf("error %q does not contain %q", err, c.msg)
			}
		})
	}
}

// TestExhaustAndFreeAll allocates until the allocator is empty, checks every
// frame was handed out exactly once and lies in a managed range, frees
// everything in random order and checks the counts are back to the start;
// then does it again.
func TestExhaustAndFreeAll(t *testing.T) {
	available := []Range{{0, 0x9fc00}, {0x100000, 0x300000}, {0x400800, 0x500000}}
	reserved := []Range{{0x120000, 0x180000}, {0x400000, 0x410000}}
	a := mustNew(t, available, reserved)
	total := a.TotalFrames()
	ranges := a.Ranges()
	for round := range 2 {
		seen := map[uint64]bool{}
		for {
			addr, err := a.Alloc()
			if err != nil {
				if !errors.Is(err, ErrNoMemory) {
					t.Fatalf("Alloc: %v", err)
				}
				if !strings.Contains(err.Error(), "0 of") {
					t.Errorf("exhaustion error %q lacks the counts", err)
				}
				break
			}
			if seen[addr] {
				t.Fatalf("frame %#x handed out twice", addr)
			}
			seen[addr] = true
			if addr == 0 || addr%PageSize != 0 || !slices.ContainsFunc(ranges, func(r Range) bool { return r.Start <= addr && addr < r.End }) {
				t.Fatalf("Alloc returned %#x, outside %v", addr, ranges)
			}
			for _, r := range reserved {
				if outward(r).Start <= addr && addr < outward(r).End {
					t.Fatalf("Alloc returned reserved frame %#x", addr)
				}
			}
		}
		if len(seen) != total || a.FreeFrames() != 0 {
			t.Fatalf("round %d: %d frames handed out, FreeFrames() = %d, total %d", round, len(seen), a.FreeFrames(), total)
		}
		if _, err := a.AllocContig(1, PageSize); !errors.Is(err, ErrNoMemory) {
			t.Fatalf("AllocContig when full: %v", err)
		}
		addrs := make([]uint64, 0, len(seen))
		for addr := range seen {
			addrs = append(addrs, addr)
		}
		rand.Shuffle(len(addrs), func(i, j int) { addrs[i], addrs[j] = addrs[j], addrs[i] })
		for _, addr := range addrs {
			if err := a.Free(addr); err != nil {
				t.Fatalf("Free(%#x): %v", addr, err)
			}
		}
		checkInvariants(t, a)
		if a.FreeFrames() != total || a.TotalFrames() != total {
			t.Fatalf("after freeing all: FreeFrames() = %d, TotalFrames() = %d, want %d", a.FreeFrames(), a.TotalFrames(), total)
		}
	}
}

// TestDomainLifecycle is the shape of the hypervisor's use: a domain takes
// single frames and large pages, is destroyed, and the pool is whole again.
func TestDomainLifecycle(t *testing.T) {
	a := mustNew(t, []Range{{0x100000, 0x1000000}, {0x9000000, 0x20000000}}, nil)
	start := a.FreeFrames()
	type held struct {
		addr uint64
		n    int
	}
	var domains [][]held
	for d := range 5 {
		var h []held
		for range 100 + 50*d {
			addr, err := a.Alloc()
			if err != nil {
				t.Fatal(err)
			}
			h = append(h, held{addr, 1})
		}
		for range 3 {
			addr, err := a.AllocContig(512, 2*mib)
			if err != nil {
				t.Fatal(err)
			}
			h = append(h, held{addr, 512})
		}
		domains = append(domains, h)
	}
	for _, d := range []int{3, 0, 4, 1, 2} {
		for _, h := range domains[d] {
			if err := a.FreeContig(h.addr, h.n); err != nil {
				t.Fatalf("destroying domain %d: %v", d, err)
			}
		}
	}
	if got := a.FreeFrames(); got != start {
		t.Fatalf("FreeFrames() = %d after destroying every domain, want %d", got, start)
	}
	checkInvariants(t, a)
}

func TestFreeErrors(t *testing.T) {
	a := mustNew(t, []Range{{0, 0x10000}, {0x20000, 0x30000}}, []Range{{0x5000, 0x6000}})
	x, err := a.Alloc()
	if err != nil {
		t.Fatal(err)
	}
	y, err := a.Alloc()
	if err != nil {
		t.Fatal(err)
	}
	if err := a.Free(y); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name string
		addr uint64
		want error
	}{
		{"unaligned", x + 8, ErrInvalid},
		{"unaligned high", ^uint64(0), ErrInvalid},
		{"frame 0", 0, ErrNotManaged},
		{"reserved", 0x5000, ErrNotManaged},
		{"hole", 0x18000, ErrNotManaged},
		{"just past the end", 0x30000, ErrNotManaged},
		{"far away", 0xffff_ffff_f000, ErrNotManaged},
		{"top frame", ^uint64(0) &^ (PageSize - 1), ErrNotManaged},
		{"double free", y, ErrNotAllocated},
		{"never allocated", 0x2f000, ErrNotAllocated},
	} {
		t.Run(c.name, func(t *testing.T) {
			before := snapshot(a)
			if err := a.Free(c.addr); !errors.Is(err, c.want) {
				t.Errorf("Free(%#x) = %v, want %v", c.addr, err, c.want)
			}
			if err := a.FreeContig(c.addr, 1); !errors.Is(err, c.want) {
				t.Errorf("FreeContig(%#x, 1) = %v, want %v", c.addr, err, c.want)
			}
			if snapshot(a) != before {
				t.Errorf("failed Free changed the state")
			}
		})
	}
	if err := a.Free(x); err != nil {
		t.Errorf("Free(%#x) of an allocated frame: %v", x, err)
	}
	var zero Allocator
	if _, err := zero.Alloc(); !errors.Is(err, ErrNoMemory) {
		t.Errorf("zero Allocator Alloc: %v", err)
	}
	if err := zero.Free(0x1000); !errors.Is(err, ErrNotManaged) {
		t.Errorf("zero Allocator Free: %v", err)
	}
}

func TestFreeContigAllOrNothing(t *testing.T) {
	a := mustNew(t, []Range{{0x100000, 0x200000}, {0x300000, 0x400000}}, nil)
	base, err := a.AllocContig(8, PageSize)
	if err != nil {
		t.Fatal(err)
	}
	end, err := a.AllocContig(1, PageSize)
	if err != nil {
		t.Fatal(err)
	}
	if err := a.Free(base + 5*PageSize); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name string
		addr uint64
		n    int
		want error
	}{
		{"one frame in the middle is free", base, 8, ErrNotAllocated},
		{"last frame is free", base + 6*PageSize, 4, ErrNotAllocated},
		{"runs past the range into the hole", 0x1ff000, 2, ErrNotManaged},
		{"starts in the hole", 0x200000, 1, ErrNotManaged},
		{"n = 0", base, 0, ErrInvalid},
		{"n < 0", base, -3, ErrInvalid},
		{"huge n", base, int(^uint(0) >> 1), ErrNotManaged},
		{"unaligned", base + 1, 2, ErrInvalid},
	} {
		t.Run(c.name, func(t *testing.T) {
			before := snapshot(a)
			if err := a.FreeContig(c.addr, c.n); !errors.Is(err, c.want) {
				t.Errorf("FreeContig(%#x, %d) = %v, want %v", c.addr, c.n, err, c.want)
			}
			if snapshot(a) != before {
				t.Errorf("failed FreeContig changed the state")
			}
		})
	}
	free := a.FreeFrames()
	if err := a.FreeContig(base, 5); err != nil {
		t.Fatal(err)
	}
	if err := a.FreeContig(base+6*PageSize, 2); err != nil {
		t.Fatal(err)
	}
	if err := a.Free(end); err != nil {
		t.Fatal(err)
	}
	if got := a.FreeFrames(); got != free+8 {
		t.Errorf("FreeFrames() = %d, want %d", got, free+8)
	}
	checkInvariants(t, a)
}

func TestAllocContigAlignment(t *testing.T) {
	// A hole of one frame just below 4 MiB: the only 2 MiB-aligned run of
	// 512 frames that spans no hole starts at 4 MiB.
	a := mustNew(t, []Range{{0x100000, 0x3ff000}, {0x400000, 0x800000}}, nil)
	for _, want := range []uint64{0x400000, 0x600000} {
		got, err := a.AllocContig(512, 2*mib)
		if err != nil || got != want {
			t.Fatalf("AllocContig(512, 2 MiB) = %#x, %v; want %#x", got, err, want)
		}
	}
	before := snapshot(a)
	if _, err := a.AllocContig(512, 2*mib); !errors.Is(err, ErrNoMemory) {
		t.Fatalf("third 2 MiB page: %v, want ErrNoMemory", err)
	}
	if snapshot(a) != before {
		t.Fatalf("failed AllocContig changed the state")
	}
	// Smaller alignments still fit in the first range.
	if got, err := a.AllocContig(256, mib); err != nil || got != 0x100000 {
		t.Fatalf("AllocContig(256, 1 MiB) = %#x, %v; want 0x100000", got, err)
	}

	// Enough frames in total, and a 2 MiB boundary inside the union, but no
	// aligned run of 512 that avoids the hole at 0x3ff000.
	b := mustNew(t, []Range{{0x200000, 0x3ff000}, {0x400000, 0x5ff000}}, nil)
	before = snapshot(b)
	if got, err := b.AllocContig(512, 2*mib); !errors.Is(err, ErrNoMemory) {
		t.Fatalf("AllocContig(512, 2 MiB) across a hole = %#x, %v; want ErrNoMemory", got, err)
	}
	if snapshot(b) != before {
		t.Fatalf("failed AllocContig changed the state")
	}

	// A table of sizes and alignments, each result checked for alignment and
	// for lying inside one managed range.
	c := mustNew(t, []Range{{0x1000, 0x9f000}, {0x100000, 0x1000000}, {0x1234000, 0x5000000}}, []Range{{0x2100000, 0x2101000}})
	ranges := c.Ranges()
	for _, tc := range []struct {
		n     int
		align uint64
	}{
		{1, PageSize}, {3, PageSize}, {1, 8 * kib}, {7, 64 * kib}, {16, 64 * kib}, {512, 2 * mib},
		{1, 2 * mib}, {513, 2 * mib}, {1024, 4 * mib}, {100, 1 * gib >> 4}, {1, 16 * mib}, {2000, PageSize},
	} {
		addr, err := c.AllocContig(tc.n, tc.align)
		if err != nil {
			t.Fatalf("AllocContig(%d, %#x): %v", tc.n, tc.align, err)
		}
		end := addr + uint64(tc.n)*PageSize
		if addr%tc.align != 0 || !slices.ContainsFunc(ranges, func(r Range) bool { return r.Start <= addr && end <= r.End }) {
			t.Fatalf("AllocContig(%d, %#x) = %#x-%#x: misaligned or outside %v", tc.n, tc.align, addr, end, ranges)
		}
		checkInvariants(t, c)
	}
	if _, err := c.AllocContig(1, 1<<63); !errors.Is(err, ErrNoMemory) {
		t.Errorf("AllocContig(1, 1<<63): %v, want ErrNoMemory", err)
	}
	if _, err := c.AllocContig(int(^uint(0)>>1), PageSize); !errors.Is(err, ErrNoMemory) {
		t.Errorf("AllocContig(MaxInt, PageSize): %v, want ErrNoMemory", err)
	}
	for _, tc := range []struct {
		n     int
		align uint64
	}{{0, PageSize}, {-1, PageSize}, {1, 0}, {1, 512}, {1, 3 * PageSize}, {1, 0x1800}, {1, ^uint64(0)}} {
		before := snapshot(c)
		if _, err := c.AllocContig(tc.n, tc.align); !errors.Is(err, ErrInvalid) {
			t.Errorf("AllocContig(%d, %#x) = %v, want ErrInvalid", tc.n, tc.align, err)
		}
		if snapshot(c) != before {
			t.Errorf("invalid AllocContig changed the state")
		}
	}
}

// TestAllocContigSkipsAllocated checks that a run is found past allocated
// frames and partial words, and that the lowest fit is chosen.
func TestAllocContigSkipsAllocated(t *testing.T) {
	a := mustNew(t, []Range{{0x1000, 0x1000 + 1000*PageSize}}, nil)
	var held []uint64
	for range 200 {
		addr, _ := a.Alloc()
		held = append(held, addr)
	}
	// Free frames 49..58 (0x32000-0x3c000) and 99..138 (0x64000-0x8c000).
	for _, addr := range held[49:59] {
		a.Free(addr)
	}
	for _, addr := range held[99:139] {
		a.Free(addr)
	}
	for _, c := range []struct {
		n     int
		align uint64
		want  uint64
	}{
		{10, PageSize, 0x32000}, // exactly the first hole
		{8, 32 * kib, 0x68000},  // the first 32 KiB boundary in the second hole
		{30, PageSize, 0xc9000}, // 0x64000-0x68000 and 0x70000-0x8c000 are too short: after frame 199
		{4, PageSize, 0x64000},  // the leftover head of the second hole
	} {
		got, err := a.AllocContig(c.n, c.align)
		if err != nil || got != c.want {
			t.Errorf("AllocContig(%d, %#x) = %#x, %v; want %#x", c.n, c.align, got, err, c.want)
		}
	}
	checkInvariants(t, a)
}

func TestReserve(t *testing.T) {
	a := mustNew(t, []Range{{0x1000, 0x40000}, {0x100000, 0x140000}}, nil)
	total := a.TotalFrames()
	x, _ := a.AllocContig(1, 0x20000)  // 0x20000
	y, _ := a.AllocContig(1, 0x100000) // 0x100000
	if x != 0x20000 || y != 0x100000 {
		t.Fatalf("setup: got %#x %#x", x, y)
	}

	// Refused: it touches an allocated frame.
	before := snapshot(a)
	if err := a.Reserve(Range{0x1f000, 0x20001}); !errors.Is(err, ErrInUse) {
		t.Fatalf("Reserve over an allocated frame: %v", err)
	}
	if err := a.Reserve(Range{0x30000, 0x100001}); !errors.Is(err, ErrInUse) {
		t.Fatalf("Reserve over two ranges, one frame allocated: %v", err)
	}
	if snapshot(a) != before {
		t.Fatalf("failed Reserve changed the state")
	}

	// Ignored: nothing managed, or empty.
	for _, r := range []Range{{0x50000, 0x60000}, {0x1000, 0x1000}, {0x9000, 0x8000}, {0, 0x1000}, {MaxPhysAddr, ^uint64(0)}} {
		if err := a.Reserve(r); err != nil {
			t.Fatalf("Reserve(%v): %v", r, err)
		}
	}
	if snapshot(a) != before {
		t.Fatalf("no-op Reserve changed the state")
	}

	// An unaligned range in the middle of the first range: grows outward.
	if err := a.Reserve(Range{0x10800, 0x12001}); err != nil {
		t.Fatal(err)
	}
	want := []Range{{0x1000, 0x10000}, {0x13000, 0x40000}, {0x100000, 0x140000}}
	if got := a.Ranges(); !slices.Equal(got, want) {
		t.Fatalf("Ranges() = %v, want %v", got, want)
	}
	if a.TotalFrames() != total-3 || a.FreeFrames() != total-5 {
		t.Fatalf("TotalFrames() = %d, FreeFrames() = %d; want %d, %d", a.TotalFrames(), a.FreeFrames(), total-3, total-5)
	}
	if err := a.Free(0x11000); !errors.Is(err, ErrNotManaged) {
		t.Fatalf("Free of a reserved frame: %v", err)
	}
	checkInvariants(t, a)

	// Across two ranges, removing the rest of one entirely and the head of the
	// other.
	if err := a.Reserve(Range{0x21000, 0x101000}); err == nil {
		t.Fatalf("Reserve over 0x100000 succeeded")
	}
	if err := a.Reserve(Range{0x21000, 0x100000}); err != nil {
		t.Fatal(err)
	}
	if err := a.Reserve(Range{0x1000, 0x10000}); err != nil {
		t.Fatal(err)
	}
	want = []Range{{0x13000, 0x21000}, {0x100000, 0x140000}}
	if got := a.Ranges(); !slices.Equal(got, want) {
		t.Fatalf("Ranges() = %v, want %v", got, want)
	}
	checkInvariants(t, a)

	// The allocated frames survived the splits and can be freed; Alloc
	// works on the new layout and never returns a reserved frame.
	if err := a.Free(x); err != nil {
		t.Fatalf("Free(%#x) after Reserve: %v", x, err)
	}
	if err := a.Free(y); err != nil {
		t.Fatalf("Free(%#x) after Reserve: %v", y, err)
	}
	n := a.TotalFrames()
	if a.FreeFrames() != n {
		t.Fatalf("FreeFrames() = %d, want %d", a.FreeFrames(), n)
	}
	for range n {
		addr, err := a.Alloc()
		if err != nil {
			t.Fatal(err)
		}
		if !slices.ContainsFunc(want, func(r Range) bool { return r.Start <= addr && addr < r.End }) {
			t.Fatalf("Alloc returned %#x outside %v", addr, want)
		}
	}
	if _, err := a.Alloc(); !errors.Is(err, ErrNoMemory) {
		t.Fatalf("Alloc after exhaustion: %v", err)
	}

	// Reserving everything that is left (all free) empties the allocator.
	b := mustNew(t, []Range{{0x1000, 0x9000}}, nil)
	if err := b.Reserve(Range{0, 1 << 40}); err != nil {
		t.Fatal(err)
	}
	if b.TotalFrames() != 0 || len(b.Ranges()) != 0 {
		t.Fatalf("after reserving everything: %v", b)
	}
	if _, err := b.Alloc(); !errors.Is(err, ErrNoMemory) {
		t.Fatalf("Alloc of an empty allocator: %v", err)
	}
	checkInvariants(t, b)
}

// TestReserveKeepsBits reserves a frame inside a region whose bitmap has
// scattered allocations and checks every other frame's state is kept.
func TestReserveKeepsBits(t *testing.T) {
	for _, cut := range []int{1, 63, 64, 65, 100, 127, 128, 200, 298} {
		a := mustNew(t, []Range{{0x1000, 0x1000 + 300*PageSize}}, nil)
		want := map[uint64]bool{}
		r := rand.New(rand.NewPCG(uint64(cut), 1))
		for f := range 300 {
			addr := uint64(0x1000 + f*PageSize)
			if f != cut && r.IntN(3) == 0 {
				a.mu.Lock()
				a.regions[0].fill(f, f+1, true)
				a.free--
				a.mu.Unlock()
				want[addr] = true
			}
		}
		if err := a.Reserve(Range{uint64(0x1000 + cut*PageSize), uint64(0x1000 + (cut+1)*PageSize)}); err != nil {
			t.Fatal(err)
		}
		checkInvariants(t, a)
		for f := range 300 {
			addr := uint64(0x1000 + f*PageSize)
			managed, allocated := isAllocated(a, addr)
			if managed != (f != cut) || allocated != want[addr] {
				t.Fatalf("cut %d: frame %d: managed=%v allocated=%v, want %v %v", cut, f, managed, allocated, f != cut, want[addr])
			}
		}
	}
}

func TestString(t *testing.T) {
	a := mustNew(t, []Range{{0x1000, 0x3000}, {0x5000, 0x6000}}, nil)
	a.Alloc()
	if got, want := a.String(), "mem: 2 of 3 frames free in 2 ranges"; got != want {
		t.Errorf("String() = %q, want %q", got, want)
	}
}
