package ept

import (
	"errors"
	"strings"
	"testing"
)

func TestNew(t *testing.T) {
	e, f := mustNew(t, Options{})
	if e.TableFrames() != 1 || f.live() != 1 {
		t.Fatalf("new EPT holds %d frames (fake: %d), want 1", e.TableFrames(), f.live())
	}
	if e.Options().PhysAddrBits != DefaultPhysAddrBits {
		t.Errorf("PhysAddrBits defaulted to %d, want %d", e.Options().PhysAddrBits, DefaultPhysAddrBits)
	}
	if e.Root() != fakeBase {
		t.Errorf("Root = %#x, want %#x", e.Root(), fakeBase)
	}
	if err := e.Verify(); err != nil {
		t.Errorf("Verify: %v", err)
	}
	if _, ok := e.Translate(0); ok {
		t.Errorf("empty EPT translates 0")
	}
	for _, bits := range []int{-1, 1, 35, 53, 64} {
		if _, err := New(newFake(), Options{PhysAddrBits: bits}); !errors.Is(err, ErrOptions) {
			t.Errorf("New(PhysAddrBits %d) = %v, want ErrOptions", bits, err)
		}
	}
	for _, bits := range []int{36, 39, 46, 52} {
		if _, err := New(newFake(), Options{PhysAddrBits: bits}); err != nil {
			t.Errorf("New(PhysAddrBits %d): %v", bits, err)
		}
	}
	if _, err := New(nil, Options{}); !errors.Is(err, ErrOptions) {
		t.Errorf("New(nil) = %v, want ErrOptions", err)
	}
	f = newFake()
	f.failAfter = 0
	if _, err := New(f, Options{}); !errors.Is(err, errFakeAlloc) || f.live() != 0 {
		t.Errorf("New with failing allocator = %v (%d live frames), want errFakeAlloc and none", err, f.live())
	}
}

// TestBadFrames checks that frames the allocator should not have handed out
// are refused, and that the EPT stays as it was.
func TestBadFrames(t *testing.T) {
	cases := []struct {
		name string
		set  func(f *fakeTables, e *EPT)
	}{
		{"unaligned", func(f *fakeTables, e *EPT) { f.bad = func(h uint64) uint64 { return h + 8 } }},
		{"beyond MAXPHYADDR", func(f *fakeTables, e *EPT) { f.bad = func(h uint64) uint64 { return h + 1<<46 } }},
		{"a live table", func(f *fakeTables, e *EPT) { f.bad = func(uint64) uint64 { return e.Root() } }},
		{"twice", func(f *fakeTables, e *EPT) {
			first := uint64(0)
			f.bad = func(h uint64) uint64 {
				if first == 0 {
					first = h
				}
				return first
			}
		}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			e, f := mustNew(t, Options{})
			mustMap(t, e, 0, 0x1000_0000, PageSize4K, RW, WB)
			snap := f.snapshot()
			c.set(f, e)
			err := e.Map(1<<39, 0x2000_0000, PageSize4K, RW, WB) // needs 3 tables
			if !errors.Is(err, ErrTable) {
				t.Fatalf("Map = %v, want ErrTable", err)
			}
			f.bad, f.dirty = nil, false
			if d := f.unchangedFrom(snap); d != "" {
				t.Fatalf("tables changed: %s", d)
			}
			if e.TableFrames() != 4 {
				t.Fatalf("TableFrames = %d, want 4", e.TableFrames())
			}
			if err := e.Verify(); err != nil {
				t.Fatal(err)
			}
			if len(f.misuse) > 0 {
				t.Fatalf("misuse: %v", f.misuse)
			}
		})
	}
}

// Frames that come with old contents are zeroed before they become tables:
// nothing of what they held becomes a mapping.
func TestDirtyFrames(t *testing.T) {
	f := newFake()
	f.dirty = true
	e, err := New(f, Options{})
	if err != nil {
		t.Fatalf("New with dirty frames: %v", err)
	}
	mustMap(t, e, 1<<39, 0x2000_0000, PageSize4K, RW, WB) // 3 more tables
	if err := e.Verify(); err != nil {
		t.Fatal(err)
	}
	n := 0
	e.Walk(func(m Mapping) bool { n++; return true })
	if n != 1 {
		t.Errorf("%d mappings after one Map of dirty frames", n)
	}
	if _, ok := e.Translate(0); ok {
		t.Error("GPA 0 translates: a dirty frame's contents became a mapping")
	}
}

func TestPermString(t *testing.T) {
	for p, want := range map[Perm]string{
		0: "---", Read: "r--", RW: "rw-", RX: "r-x", RWX: "rwx", Exec: "--x", Write: "-w-", 0x9: "r--+0x8",
	} {
		if got := p.String(); got != want {
			t.Errorf("Perm(%#x).String() = %q, want %q", uint8(p), got, want)
		}
	}
}

func TestMemTypeString(t *testing.T) {
	for m, want := range map[MemType]string{UC: "UC", WC: "WC", WT: "WT", WP: "WP", WB: "WB", 2: "MemType(2)", 7: "MemType(7)"} {
		if got := m.String(); got != want {
			t.Errorf("MemType(%d).String() = %q, want %q", m, got, want)
		}
		if m.Valid() != !strings.HasPrefix(want, "MemType") {
			t.Errorf("MemType(%d).Valid() = %v", m, m.Valid())
		}
	}
	// SDM Vol. 3C 29.3.7: UC 0, WC 1, WT 4, WP 5, WB 6.
	if UC != 0 || WC != 1 || WT != 4 || WP != 5 || WB != 6 {
		t.Errorf("memory type encodings wrong")
	}
}

// TestMapTranslate maps a few ranges and checks every page's translation,
// the pages just outside, and the sizes of the leaves used.
func TestMapTranslate(t *testing.T) {
	cases := []struct {
		name  string
		opt   Options
		maps  []mp
		sizes map[uint64]int // leaves of each size
	}{
		{"one page", Options{Pages2M: true, Pages1G: true},
			[]mp{{0x1000, 0x5000_0000, PageSize4K, RWX, WB}}, map[uint64]int{PageSize4K: 1}},
		{"page zero", Options{},
			[]mp{{0, 0, PageSize4K, Read, UC}}, map[uint64]int{PageSize4K: 1}},
		{"2M aligned", Options{Pages2M: true, Pages1G: true},
			[]mp{{2 * PageSize2M, 8 * PageSize2M, 2 * PageSize2M, RW, WB}}, map[uint64]int{PageSize2M: 2}},
		{"2M aligned, no large pages", Options{},
			[]mp{{2 * PageSize2M, 8 * PageSize2M, PageSize2M, RW, WB}}, map[uint64]int{PageSize4K: 512}},
		{"HPA misaligned for 2M", Options{Pages2M: true},
			[]mp{{PageSize2M, PageSize2M + PageSize4K, PageSize2M, RW, WT}}, map[uint64]int{PageSize4K: 512}},
		{"1G + 2M + 4K", Options{Pages2M: true, Pages1G: true},
			[]mp{{PageSize1G, 3 * PageSize1G, PageSize1G + PageSize2M + PageSize4K, RWX, WB}},
			map[uint64]int{PageSize1G: 1, PageSize2M: 1, PageSize4K: 1}},
		{"1G range, 2M only", Options{Pages2M: true},
			[]mp{{PageSize1G, 3 * PageSize1G, PageSize1G, RWX, WB}}, map[uint64]int{PageSize2M: 512}},
		{"1G range, 1G only", Options{Pages1G: true},
			[]mp{{PageSize1G, 3 * PageSize1G, PageSize1G + PageSize2M, RWX, WB}},
			map[uint64]int{PageSize1G: 1, PageSize4K: 512}},
		{"1G range, HPA 2M aligned", Options{Pages2M: true, Pages1G: true},
			[]mp{{PageSize1G, 3*PageSize1G + PageSize2M, PageSize1G, RX, WB}}, map[uint64]int{PageSize2M: 512}},
		{"unaligned head and tail", Options{Pages2M: true, Pages1G: true},
			[]mp{{PageSize2M - 3*PageSize4K, 5*PageSize2M - 3*PageSize4K, 2*PageSize2M + 5*PageSize4K, RW, WC}},
			map[uint64]int{PageSize4K: 5, PageSize2M: 2}},
		{"across PML4 entries", Options{Pages2M: true, Pages1G: true},
			[]mp{{1<<39 - PageSize2M, 1 << 32, 2 * PageSize2M, RW, WB}}, map[uint64]int{PageSize2M: 2}},
		{"top of the GPA space", Options{Pages2M: true, Pages1G: true},
			[]mp{{1<<48 - PageSize1G, 1<<45 - PageSize1G, PageSize1G, RW, WP}}, map[uint64]int{PageSize1G: 1}},
		{"top of MAXPHYADDR", Options{Pages2M: true, Pages1G: true},
			[]mp{{0, 1<<46 - PageSize4K, PageSize4K, RW, WB}}, map[uint64]int{PageSize4K: 1}},
		{"neighbours", Options{Pages2M: true, Pages1G: true},
			[]mp{
				{0x10_0000, 0x7000_0000, 0x1000, Read, UC},
				{0x10_1000, 0x6000_0000, 0x1000, RWX, WB},
				{0x20_0000, 0x8020_0000, 0x20_0000, RX, WT},
				{0x40_0000, 0x9040_0000, 0x1000, RW, WP},
			}, map[uint64]int{PageSize4K: 3, PageSize2M: 1}},
		{"execute-only", Options{ExecuteOnly: true},
			[]mp{{0x5000, 0x9000, PageSize4K, Exec, WB}}, map[uint64]int{PageSize4K: 1}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			e, f := mustNew(t, c.opt)
			for _, m := range c.maps {
				mustMap(t, e, m.gpa, m.hpa, m.size, m.perm, m.mt)
			}
			for _, m := range c.maps {
				step := PageSize4K
				if m.size > 1<<24 {
					step = PageSize2M - PageSize4K // still lands in every 2 MiB block
				}
				for a := m.gpa; a < m.gpa+m.size; a += step {
					for _, off := range []uint64{0, 0x7ff, 0xfff} {
						got, ok := e.Translate(a + off)
						want := a - m.gpa + m.hpa + off
						if !ok || got.HPA != want || got.GPA != a+off || got.Perm != m.perm || got.MemType != m.mt {
							t.Fatalf("Translate(%#x) = %v, %v; want HPA %#x %v %v", a+off, got, ok, want, m.perm, m.mt)
						}
						if got.Accessed || got.Dirty {
							t.Fatalf("Translate(%#x) reports accessed or dirty", a+off)
						}
					}
				}
				// Last page, and the pages just outside.
				if got, ok := e.Translate(m.gpa + m.size - 1); !ok || got.HPA != m.hpa+m.size-1 {
					t.Fatalf("Translate(last byte %#x) = %v, %v", m.gpa+m.size-1, got, ok)
				}
				for _, a := range []uint64{m.gpa - PageSize4K, m.gpa + m.size} {
					if a >= 1<<48 || a > m.gpa+m.size { // wrapped
						continue
					}
					if _, ok := e.Translate(a); ok && !inAny(a, c.maps) {
						t.Fatalf("Translate(%#x) outside every mapping succeeds", a)
					}
				}
			}
			if got := leafSizes(e); !equalSizes(got, c.sizes) {
				t.Fatalf("leaf sizes %v, want %v", got, c.sizes)
			}
			if err := e.Verify(); err != nil {
				t.Fatal(err)
			}
			checkFake(t, f, e)
			// Unmapping everything leaves only the PML4.
			for _, m := range c.maps {
				if err := e.Unmap(m.gpa, m.size); err != nil {
					t.Fatal(err)
				}
			}
			if e.TableFrames() != 1 || len(leafSizes(e)) != 0 {
				t.Fatalf("after Unmap: %d frames, leaves %v", e.TableFrames(), leafSizes(e))
			}
			checkFake(t, f, e)
		})
	}
}

type mp struct {
	gpa, hpa, size uint64
	perm           Perm
	mt             MemType
}

func inAny(a uint64, maps []mp) bool {
	for _, m := range maps {
		if a >= m.gpa && a < m.gpa+m.size {
			return true
		}
	}
	return false
}

func equalSizes(a, b map[uint64]int) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}

func TestTranslateOutOfRange(t *testing.T) {
	e, _ := mustNew(t, Options{Pages2M: true, Pages1G: true})
	mustMap(t, e, 0, 0, PageSize1G, RWX, WB)
	for _, a := range []uint64{1 << 48, 1<<48 | 0x1000, 1 << 63, ^uint64(0)} {
		if m, ok := e.Translate(a); ok {
			t.Errorf("Translate(%#x) = %v, want nothing (beyond 48 bits)", a, m)
		}
	}
}

// TestMapErrors checks argument validation: each error leaves the EPT as it
// was.
func TestMapErrors(t *testing.T) {
	cases := []struct {
		name           string
		opt            Options
		gpa, hpa, size uint64
		perm           Perm
		mt             MemType
		want           error
	}{
		{"GPA unaligned", Options{}, 0x1800, 0, 0x1000, RW, WB, ErrAlign},
		{"HPA unaligned", Options{}, 0x1000, 0x10, 0x1000, RW, WB, ErrAlign},
		{"size unaligned", Options{}, 0x1000, 0, 0x1001, RW, WB, ErrAlign},
		{"size 0", Options{}, 0x1000, 0, 0, RW, WB, ErrRange},
		{"GPA beyond 48 bits", Options{}, 1 << 48, 0, 0x1000, RW, WB, ErrRange},
		{"GPA range beyond 48 bits", Options{}, 1<<48 - 0x1000, 0, 0x2000, RW, WB, ErrRange},
		{"GPA range wraps", Options{}, 0x1000, 0, ^uint64(0) - 0xfff, RW, WB, ErrRange},
		{"HPA beyond MAXPHYADDR", Options{PhysAddrBits: 39}, 0, 1 << 39, 0x1000, RW, WB, ErrRange},
		{"HPA range beyond MAXPHYADDR", Options{PhysAddrBits: 39}, 0, 1<<39 - 0x1000, 0x2000, RW, WB, ErrRange},
		{"HPA range wraps", Options{}, 0, ^uint64(0) - 0xfff, 0x2000, RW, WB, ErrRange},
		{"no access", Options{}, 0, 0, 0x1000, 0, WB, ErrPerm},
		{"write-only", Options{}, 0, 0, 0x1000, Write, WB, ErrPerm},
		{"write/execute", Options{ExecuteOnly: true}, 0, 0, 0x1000, Write | Exec, WB, ErrPerm},
		{"execute-only unsupported", Options{}, 0, 0, 0x1000, Exec, WB, ErrPerm},
		{"bad perm bits", Options{}, 0, 0, 0x1000, RWX | 8, WB, ErrPerm},
		{"memory type 2", Options{}, 0, 0, 0x1000, RW, 2, ErrMemType},
		{"memory type 3", Options{}, 0, 0, 0x1000, RW, 3, ErrMemType},
		{"memory type 7", Options{}, 0, 0, 0x1000, RW, 7, ErrMemType},
		{"memory type 8", Options{}, 0, 0, 0x1000, RW, 8, ErrMemType},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			e, f := mustNew(t, c.opt)
			mustMap(t, e, 1<<30, 1<<30, PageSize4K, RW, WB)
			snap := f.snapshot()
			err := e.Map(c.gpa, c.hpa, c.size, c.perm, c.mt)
			var ae *AddrError
			if !errors.Is(err, c.want) || !errors.As(err, &ae) || ae.Op != "map" {
				t.Fatalf("Map = %v, want an *AddrError for %v", err, c.want)
			}
			if d := f.sameAs(snap); d != "" {
				t.Fatalf("tables changed: %s", d)
			}
			checkFake(t, f, e)
		})
	}
}

// TestMapOverlap checks that Map refuses to map over anything already
// mapped, names the first conflicting address, and changes nothing.
func TestMapOverlap(t *testing.T) {
	opt := Options{Pages2M: true, Pages1G: true}
	type rng struct{ gpa, size uint64 }
	existing := []rng{
		{PageSize1G, PageSize1G},                  // a 1 GiB page
		{4 * PageSize2M, PageSize2M},              // a 2 MiB page
		{0x10_0000 + 5*PageSize4K, PageSize4K},    // a 4 KiB page
		{1<<39 + 7*PageSize4K, 2 * PageSize4K},    // in the second PML4 entry
		{3*PageSize1G - PageSize4K, PageSize4K},   // the last page before 3 GiB
		{3 * PageSize1G, PageSize2M + PageSize4K}, // and the first ones after
	}
	cases := []struct {
		name string
		r    rng
		at   uint64
	}{
		{"same 1G", rng{PageSize1G, PageSize1G}, PageSize1G},
		{"inside 1G", rng{PageSize1G + 0x5000, 0x1000}, PageSize1G + 0x5000},
		{"ending in 1G", rng{PageSize1G - 0x3000, 0x4000}, PageSize1G},
		{"over everything", rng{0, 4 * PageSize1G}, 0x10_0000 + 5*PageSize4K},
		{"over 1G", rng{PageSize1G - PageSize2M, 2 * PageSize1G}, PageSize1G},
		{"starting before 2M", rng{4*PageSize2M - 0x2000, 0x3000}, 4 * PageSize2M},
		{"inside 2M", rng{4*PageSize2M + PageSize2M - 0x1000, 0x2000}, 4*PageSize2M + PageSize2M - 0x1000},
		{"the 4K", rng{0x10_0000, 0x10_0000}, 0x10_0000 + 5*PageSize4K},
		{"second PML4 entry", rng{1 << 39, PageSize1G}, 1<<39 + 7*PageSize4K},
		{"over the 3G boundary", rng{3*PageSize1G - 0x10_0000, 0x20_0000}, 3*PageSize1G - PageSize4K},
		{"after the 3G boundary", rng{3*PageSize1G + PageSize2M, 0x1000}, 3*PageSize1G + PageSize2M},
	}
	e, f := mustNew(t, opt)
	for i, r := range existing {
		mustMap(t, e, r.gpa, uint64(i+1)<<32, r.size, RW, WB)
	}
	snap := f.snapshot()
	for _, c := range cases {
		err := e.Map(c.r.gpa, 0x40_0000_0000, c.r.size, RWX, WB)
		var ae *AddrError
		if !errors.As(err, &ae) || !errors.Is(err, ErrMapped) || ae.GPA != c.at || ae.Op != "map" {
			t.Errorf("%s: Map = %v, want ErrMapped at %#x", c.name, err, c.at)
		}
		if d := f.sameAs(snap); d != "" {
			t.Fatalf("%s: tables changed: %s", c.name, d)
		}
	}
	checkFake(t, f, e)
	// Filling the gaps works.
	mustMap(t, e, 0x10_0000, 0x50_0000_0000, 5*PageSize4K, RW, WB)
	mustMap(t, e, 0x10_0000+6*PageSize4K, 0x50_0000_6000, 4*PageSize2M-0x10_0000-6*PageSize4K, RW, WB)
	if err := e.Verify(); err != nil {
		t.Fatal(err)
	}
}

// TestSplit checks that unmapping or reprotecting part of a large page splits
// it into smaller ones that translate every other address exactly as before.
func TestSplit(t *testing.T) {
	const (
		gpa = 5 * PageSize1G
		hpa = 9 * PageSize1G
	)
	opt := Options{Pages2M: true, Pages1G: true}
	cases := []struct {
		name       string
		size       uint64 // of the first mapping
		gpa, len   uint64 // the part unmapped or reprotected
		protect    bool
		sizes      map[uint64]int
		frames     int // table frames after
		framesBack int // after mapping the part back, or Protecting it back
	}{
		{"unmap 4K of 1G", PageSize1G, gpa + 3*PageSize2M + 7*PageSize4K, PageSize4K, false,
			map[uint64]int{PageSize2M: 511, PageSize4K: 511}, 4, 4},
		{"unmap 2M of 1G", PageSize1G, gpa + 3*PageSize2M, PageSize2M, false,
			map[uint64]int{PageSize2M: 511}, 3, 3},
		{"unmap first 4K of 1G", PageSize1G, gpa, PageSize4K, false,
			map[uint64]int{PageSize2M: 511, PageSize4K: 511}, 4, 4},
		{"unmap last 4K of 1G", PageSize1G, gpa + PageSize1G - PageSize4K, PageSize4K, false,
			map[uint64]int{PageSize2M: 511, PageSize4K: 511}, 4, 4},
		{"unmap across 2M inside 1G", PageSize1G, gpa + PageSize2M - PageSize4K, 2 * PageSize4K, false,
			map[uint64]int{PageSize2M: 510, PageSize4K: 1022}, 5, 5},
		{"unmap 4K of 2M", PageSize2M, gpa + 100*PageSize4K, PageSize4K, false,
			map[uint64]int{PageSize4K: 511}, 4, 4},
		{"protect 4K of 1G", PageSize1G, gpa + 3*PageSize2M + 7*PageSize4K, PageSize4K, true,
			map[uint64]int{PageSize2M: 511, PageSize4K: 512}, 4, 4},
		{"protect 2M of 1G", PageSize1G, gpa + 3*PageSize2M, PageSize2M, true,
			map[uint64]int{PageSize2M: 512}, 3, 3},
		{"protect whole 1G", PageSize1G, gpa, PageSize1G, true,
			map[uint64]int{PageSize1G: 1}, 2, 2},
		{"protect 4K of 2M", PageSize2M, gpa + 511*PageSize4K, PageSize4K, true,
			map[uint64]int{PageSize4K: 512}, 4, 4},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			e, f := mustNew(t, opt)
			mustMap(t, e, gpa, hpa, c.size, RWX, WB)
			mustMap(t, e, gpa+PageSize1G, hpa+PageSize1G, PageSize4K, Read, UC) // a neighbour
			before := translations(e, gpa, c.size+PageSize4K, 0x123)
			if c.protect {
				if err := e.Protect(c.gpa, c.len, RX); err != nil {
					t.Fatal(err)
				}
			} else if err := e.Unmap(c.gpa, c.len); err != nil {
				t.Fatal(err)
			}
			after := translations(e, gpa, c.size+PageSize4K, 0x123)
			for i := range before {
				a := gpa + uint64(i)*PageSize4K
				want := before[i]
				if a >= c.gpa && a < c.gpa+c.len {
					if c.protect {
						want.Perm = RX
					} else {
						want = Mapping{}
					}
				}
				if after[i].PageSize != 0 && want.PageSize != 0 {
					want.PageSize = after[i].PageSize // sizes are checked below
				}
				if after[i] != want {
					t.Fatalf("GPA %#x: %v, want %v", a+0x123, after[i], want)
				}
			}
			sizes := leafSizes(e)
			sizes[PageSize4K]-- // the neighbour
			if sizes[PageSize4K] == 0 {
				delete(sizes, PageSize4K)
			}
			if !equalSizes(sizes, c.sizes) {
				t.Fatalf("leaf sizes %v, want %v", sizes, c.sizes)
			}
			if e.TableFrames() != c.frames+2 { // +2: the neighbour's PD and PT
				t.Fatalf("TableFrames = %d, want %d", e.TableFrames(), c.frames+2)
			}
			if err := e.Verify(); err != nil {
				t.Fatal(err)
			}
			checkFake(t, f, e)
			// Putting it back restores every translation.
			if c.protect {
				if err := e.Protect(c.gpa, c.len, RWX); err != nil {
					t.Fatal(err)
				}
			} else {
				mustMap(t, e, c.gpa, hpa+(c.gpa-gpa), c.len, RWX, WB)
			}
			if e.TableFrames() != c.framesBack+2 {
				t.Fatalf("after restoring: TableFrames = %d, want %d", e.TableFrames(), c.framesBack+2)
			}
			back := translations(e, gpa, c.size+PageSize4K, 0x123)
			for i := range before {
				b := before[i]
				b.PageSize = back[i].PageSize
				if back[i] != b {
					t.Fatalf("after restoring: GPA %#x: %v, want %v", gpa+uint64(i)*PageSize4K, back[i], before[i])
				}
			}
			// Unmapping everything frees every table but the PML4.
			if err := e.Unmap(gpa, c.size); err != nil {
				t.Fatal(err)
			}
			if err := e.Unmap(gpa+PageSize1G, PageSize4K); err != nil {
				t.Fatal(err)
			}
			if e.TableFrames() != 1 {
				t.Fatalf("after unmapping everything: %d table frames", e.TableFrames())
			}
			checkFake(t, f, e)
		})
	}
}

// TestSplitFrames counts the table frames a split takes.
func TestSplitFrames(t *testing.T) {
	e, f := mustNew(t, Options{Pages2M: true, Pages1G: true})
	mustMap(t, e, 0, 0, PageSize1G, RWX, WB)
	if n := e.TableFrames(); n != 2 { // PML4, PDPT
		t.Fatalf("1 GiB page: %d table frames, want 2", n)
	}
	if err := e.Protect(0x1000, 0x1000, RWX); err != nil { // already rwx: no split
		t.Fatal(err)
	}
	if n := e.TableFrames(); n != 2 {
		t.Fatalf("Protect with the same rights split the page: %d table frames", n)
	}
	if err := e.Protect(0x1000, 0x1000, Read); err != nil {
		t.Fatal(err)
	}
	if n := e.TableFrames(); n != 4 { // + PD, PT
		t.Fatalf("after splitting to 4K: %d table frames, want 4", n)
	}
	if err := e.Protect(PageSize2M+0x1000, PageSize2M, Read); err != nil { // two more PTs
		t.Fatal(err)
	}
	if n := e.TableFrames(); n != 6 {
		t.Fatalf("after splitting two more 2M pages: %d table frames, want 6", n)
	}
	if err := e.Unmap(0, PageSize1G); err != nil {
		t.Fatal(err)
	}
	if n := e.TableFrames(); n != 1 {
		t.Fatalf("after Unmap: %d table frames, want 1", n)
	}
	checkFake(t, f, e)

	// With 1 GiB pages but not 2 MiB ones, a split goes down to 4 KiB.
	e, f = mustNew(t, Options{Pages1G: true})
	mustMap(t, e, 0, 0, PageSize1G, RWX, WB)
	if err := e.Unmap(PageSize2M, PageSize4K); err != nil {
		t.Fatal(err)
	}
	if n, want := e.TableFrames(), 2+1+512; n != want {
		t.Fatalf("split without 2 MiB pages: %d table frames, want %d", n, want)
	}
	if s := leafSizes(e); s[PageSize4K] != 1<<18-1 || len(s) != 1 {
		t.Fatalf("leaf sizes %v", s)
	}
	if err := e.Verify(); err != nil {
		t.Fatal(err)
	}
	checkFake(t, f, e)
}

// TestNotMapped checks that Unmap and Protect refuse ranges with unmapped
// pages, name the first, and change nothing.
func TestNotMapped(t *testing.T) {
	e, f := mustNew(t, Options{Pages2M: true, Pages1G: true})
	mustMap(t, e, 0x1000, 0x1000, 0x2000, RW, WB)
	mustMap(t, e, PageSize1G, PageSize1G, PageSize1G, RW, WB)
	mustMap(t, e, 2*PageSize1G+PageSize2M, 0, PageSize2M, RW, WB)
	snap := f.snapshot()
	cases := []struct {
		gpa, size, at uint64
	}{
		{0, 0x1000, 0},
		{0x1000, 0x3000, 0x3000},
		{0x2000, 0x2000, 0x3000},
		{PageSize1G - 0x1000, 0x2000, PageSize1G - 0x1000},
		{PageSize1G + 0x5000, PageSize1G, 2 * PageSize1G},              // a 1 GiB page, then nothing
		{PageSize1G, PageSize1G + PageSize2M + 0x1000, 2 * PageSize1G}, // the first gap
		{2*PageSize1G + PageSize2M, PageSize2M + 0x1000, 2*PageSize1G + 2*PageSize2M},
		{1 << 40, 0x1000, 1 << 40},
	}
	for _, c := range cases {
		for _, op := range []string{"unmap", "protect"} {
			var err error
			if op == "unmap" {
				err = e.Unmap(c.gpa, c.size)
			} else {
				err = e.Protect(c.gpa, c.size, Read)
			}
			var ae *AddrError
			if !errors.As(err, &ae) || !errors.Is(err, ErrNotMapped) || ae.GPA != c.at || ae.Op != op {
				t.Errorf("%s(%#x, %#x) = %v, want ErrNotMapped at %#x", op, c.gpa, c.size, err, c.at)
			}
			if d := f.sameAs(snap); d != "" {
				t.Fatalf("%s(%#x, %#x): tables changed: %s", op, c.gpa, c.size, d)
			}
		}
	}
	// Argument errors.
	for _, c := range []struct {
		gpa, size uint64
		perm      Perm
		want      error
	}{
		{0x1800, 0x1000, Read, ErrAlign},
		{0x1000, 0x800, Read, ErrAlign},
		{0x1000, 0, Read, ErrRange},
		{1<<48 - 0x1000, 0x2000, Read, ErrRange},
		{0x1000, 0x1000, Write, ErrPerm},
		{0x1000, 0x1000, 0, ErrPerm},
		{0x1000, 0x1000, Exec, ErrPerm},
	} {
		if err := e.Protect(c.gpa, c.size, c.perm); !errors.Is(err, c.want) {
			t.Errorf("Protect(%#x, %#x, %v) = %v, want %v", c.gpa, c.size, c.perm, err, c.want)
		}
		if c.want != ErrPerm {
			if err := e.Unmap(c.gpa, c.size); !errors.Is(err, c.want) {
				t.Errorf("Unmap(%#x, %#x) = %v, want %v", c.gpa, c.size, err, c.want)
			}
		}
	}
	if d := f.sameAs(snap); d != "" {
		t.Fatalf("tables changed: %s", d)
	}
}

// TestAllocFailure makes each allocation of an operation fail in turn and
// checks that the EPT is left as it was and nothing leaks.
func TestAllocFailure(t *testing.T) {
	opt := Options{Pages2M: true, Pages1G: true}
	setup := func(t *testing.T) (*EPT, *fakeTables) {
		e, f := mustNew(t, opt)
		mustMap(t, e, 0, 0, PageSize1G, RWX, WB)
		mustMap(t, e, PageSize1G, 0x1000, PageSize2M, RW, WB) // 4 KiB pages
		return e, f
	}
	ops := []struct {
		name string
		need int
		do   func(e *EPT) error
	}{
		{"map in new PML4 entry", 3, func(e *EPT) error { return e.Map(1<<39, 0, 0x1000, RW, WB) }},
		{"map 4K pages over 2 PDs", 4, func(e *EPT) error {
			return e.Map(3*PageSize1G-PageSize2M, 0x1000, 2*PageSize2M, RW, WB)
		}},
		{"unmap inside 1G page", 2, func(e *EPT) error { return e.Unmap(0x5000, 0x1000) }},
		{"unmap across two 2M inside 1G page", 3, func(e *EPT) error { return e.Unmap(PageSize2M-0x1000, 0x2000) }},
		{"protect inside 1G page", 2, func(e *EPT) error { return e.Protect(PageSize2M+0x5000, 0x1000, Read) }},
	}
	for _, o := range ops {
		t.Run(o.name, func(t *testing.T) {
			for k := 0; k < o.need; k++ {
				e, f := setup(t)
				snap := f.snapshot()
				f.failAfter = k
				err := o.do(e)
				if !errors.Is(err, errFakeAlloc) {
					t.Fatalf("with allocation %d failing: %v, want errFakeAlloc", k, err)
				}
				f.failAfter = -1
				if d := f.sameAs(snap); d != "" {
					t.Fatalf("with allocation %d failing: tables changed: %s", k, d)
				}
				checkFake(t, f, e)
			}
			e, f := setup(t)
			frames := e.TableFrames()
			f.failAfter = o.need
			if err := o.do(e); err != nil {
				t.Fatalf("with %d allocations possible: %v", o.need, err)
			}
			if got := e.TableFrames() - frames; got != o.need {
				t.Fatalf("took %d table frames, want %d", got, o.need)
			}
			if err := e.Verify(); err != nil {
				t.Fatal(err)
			}
			checkFake(t, f, e)
		})
	}
}

func TestPointer(t *testing.T) {
	e, _ := mustNew(t, Options{})
	root := e.Root()
	// SDM Vol. 3C 25.6.11: bits 2:0 memory type (6 = WB), bits 5:3 page-walk
	// length - 1 (3), bit 6 accessed/dirty enable, bits N-1:12 PML4 address.
	if got, want := e.Pointer(false), root|6|3<<3; got != want {
		t.Errorf("Pointer(false) = %#x, want %#x", got, want)
	}
	if got, want := e.Pointer(true), root|6|3<<3|1<<6; got != want {
		t.Errorf("Pointer(true) = %#x, want %#x", got, want)
	}
	p := e.Pointer(true)
	if p&7 != 6 || p>>3&7 != 3 || p>>6&1 != 1 || p>>7&0x1f != 0 || p&^0xfff != root {
		t.Errorf("Pointer(true) = %#x: fields wrong", p)
	}
	e.Destroy()
	if e.Pointer(false) != 0 {
		t.Errorf("Pointer after Destroy = %#x, want 0", e.Pointer(false))
	}
}

func TestDestroy(t *testing.T) {
	e, f := mustNew(t, Options{Pages2M: true})
	mustMap(t, e, 0, 0, 3*PageSize2M+PageSize4K, RW, WB)
	mustMap(t, e, 1<<40, 0, PageSize4K, RW, WB)
	if e.TableFrames() != 7 { // PML4, 2 PDPT, 2 PD, 2 PT
		t.Fatalf("TableFrames = %d, want 7", e.TableFrames())
	}
	e.Destroy()
	if e.TableFrames() != 0 || f.live() != 0 || f.frees != f.allocs || len(f.misuse) > 0 {
		t.Fatalf("after Destroy: %d held, %d live, %d allocs, %d frees, misuse %v",
			e.TableFrames(), f.live(), f.allocs, f.frees, f.misuse)
	}
	e.Destroy() // twice is fine
	if _, ok := e.Translate(0); ok {
		t.Errorf("Translate after Destroy succeeds")
	}
	e.Walk(func(Mapping) bool { t.Errorf("Walk after Destroy calls f"); return false })
	for name, err := range map[string]error{
		"Map":     e.Map(0, 0, 0x1000, RW, WB),
		"Unmap":   e.Unmap(0, 0x1000),
		"Protect": e.Protect(0, 0x1000, Read),
		"Check":   e.Check(0),
		"Verify":  e.Verify(),
	} {
		if !errors.Is(err, ErrDestroyed) {
			t.Errorf("%s after Destroy = %v, want ErrDestroyed", name, err)
		}
	}
}

func TestWalk(t *testing.T) {
	e, _ := mustNew(t, Options{Pages2M: true, Pages1G: true})
	mustMap(t, e, 1<<39+PageSize1G, 2*PageSize1G, PageSize1G, RWX, WB)
	mustMap(t, e, PageSize2M, 0x1000, 2*PageSize4K, Read, UC)
	mustMap(t, e, 4*PageSize2M, 8*PageSize2M, PageSize2M, RX, WT)
	want := []Mapping{
		{GPA: PageSize2M, HPA: 0x1000, PageSize: PageSize4K, Perm: Read, MemType: UC},
		{GPA: PageSize2M + PageSize4K, HPA: 0x2000, PageSize: PageSize4K, Perm: Read, MemType: UC},
		{GPA: 4 * PageSize2M, HPA: 8 * PageSize2M, PageSize: PageSize2M, Perm: RX, MemType: WT},
		{GPA: 1<<39 + PageSize1G, HPA: 2 * PageSize1G, PageSize: PageSize1G, Perm: RWX, MemType: WB},
	}
	var got []Mapping
	e.Walk(func(m Mapping) bool { got = append(got, m); return true })
	if len(got) != len(want) {
		t.Fatalf("Walk: %v, want %v", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("Walk %d: %v, want %v", i, got[i], want[i])
		}
	}
	n := 0
	e.Walk(func(m Mapping) bool { n++; return n < 2 })
	if n != 2 {
		t.Errorf("Walk went on after f returned false: %d calls", n)
	}
	if s := want[2].String(); s != "GPA 0x800000 -> HPA 0x1000000 (2 MiB page, r-x, WT)" {
		t.Errorf("Mapping.String() = %q", s)
	}
}

// TestAccessedDirty sets the accessed and dirty flags as the processor would
// and checks that Translate reports them and that splits and Protect keep
// them.
func TestAccessedDirty(t *testing.T) {
	e, f := mustNew(t, Options{Pages2M: true})
	mustMap(t, e, 0, 0, PageSize2M, RW, WB)
	pml4 := f.Table(e.Root())
	pdpt := f.Table(tableAddr(pml4[0]))
	pd := f.Table(tableAddr(pdpt[0]))
	pml4[0] |= bitAccessed
	pdpt[0] |= bitAccessed
	pd[0] |= bitAccessed | bitDirty
	if m, ok := e.Translate(0x1234); !ok || !m.Accessed || !m.Dirty {
		t.Fatalf("Translate = %v, %v; want accessed and dirty", m, ok)
	}
	if err := e.Verify(); err != nil {
		t.Fatal(err)
	}
	if err := e.Protect(0x3000, 0x1000, Read); err != nil {
		t.Fatal(err)
	}
	for _, a := range []uint64{0, 0x3000, PageSize2M - 0x1000} {
		if m, ok := e.Translate(a); !ok || !m.Accessed || !m.Dirty || m.PageSize != PageSize4K {
			t.Fatalf("after split, Translate(%#x) = %v, %v; want a 4 KiB page, accessed and dirty", a, m, ok)
		}
	}
	if err := e.Verify(); err != nil {
		t.Fatal(err)
	}

	// Flags the processor sets in a large page while it is being split are
	// carried over to the new entries.
	e, f = mustNew(t, Options{Pages2M: true})
	mustMap(t, e, 0, 0, PageSize2M, RW, WB)
	pd = f.Table(tableAddr(f.Table(tableAddr(f.Table(e.Root())[0]))[0]))
	next := f.next // the frame the split will take
	calls := 0
	f.onTable = func(hpa uint64) {
		// The first call checks the new frame is zeroed, the second one
		// comes between reading the leaf and replacing it.
		if hpa == next {
			if calls++; calls < 2 {
				return
			}
			pd[0] |= bitAccessed | bitDirty // as a processor would, meanwhile
			f.onTable = nil
		}
	}
	if err := e.Protect(0x3000, 0x1000, Read); err != nil {
		t.Fatal(err)
	}
	if f.onTable != nil {
		t.Fatal("the split did not happen as expected")
	}
	for a := uint64(0); a < PageSize2M; a += PageSize4K {
		if m, ok := e.Translate(a); !ok || !m.Accessed || !m.Dirty {
			t.Fatalf("after a split racing with the processor, Translate(%#x) = %v, %v; want accessed and dirty", a, m, ok)
		}
	}
	if m, _ := e.Translate(0x3000); m.Perm != Read {
		t.Fatalf("Translate(0x3000) = %v, want r--", m)
	}
	if err := e.Verify(); err != nil {
		t.Fatal(err)
	}
}

func TestAddrErrorString(t *testing.T) {
	e, _ := mustNew(t, Options{})
	mustMap(t, e, 0x5000, 0, 0x1000, RW, WB)
	err := e.Map(0x4000, 0, 0x3000, RW, WB)
	if got, want := err.Error(), "ept: map: GPA 0x5000: already mapped"; got != want {
		t.Errorf("error = %q, want %q", got, want)
	}
	err = e.Unmap(0x5000, 0x2000)
	if got, want := err.Error(), "ept: unmap: GPA 0x6000: not mapped"; got != want {
		t.Errorf("error = %q, want %q", got, want)
	}
}

// Generation moves when an answer of Translate may have changed or gone, and
// only then: a Map adds mappings without touching any.
func TestGeneration(t *testing.T) {
	e, _ := mustNew(t, Options{})
	g := e.Generation()
	if err := e.Map(0x1000, 0x10_0000, 0x1000, RW, WB); err != nil {
		t.Fatal(err)
	}
	if e.Generation() != g {
		t.Error("Map moved the generation")
	}
	for _, step := range []struct {
		name string
		do   func() error
	}{
		{"Protect", func() error { return e.Protect(0x1000, 0x1000, Read) }},
		{"Unmap", func() error { return e.Unmap(0x1000, 0x1000) }},
		{"Destroy", func() error { e.Destroy(); return nil }},
	} {
		g := e.Generation()
		if err := step.do(); err != nil {
			t.Fatalf("%s: %v", step.name, err)
		}
		if e.Generation() == g {
			t.Errorf("%s left the generation at %d", step.name, g)
		}
	}
}
