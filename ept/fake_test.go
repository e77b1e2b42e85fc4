package ept

import (
	"errors"
	"fmt"
	"slices"
	"testing"
)

// errFakeAlloc is the error of an allocation the fake was told to fail.
var errFakeAlloc = errors.New("fake: out of frames")

// fakeTables is a Tables backed by Go memory. It hands out fake host-physical
// addresses, never reuses a freed frame (so a use after free panics in
// Table), and records misuse: freeing a frame that is not live.
type fakeTables struct {
	frames    map[uint64]*[512]uint64 // live frames
	next      uint64                  // next address to hand out
	allocs    int
	frees     int
	failAfter int                     // successful allocations left before one fails; <0: never
	bad       func(hpa uint64) uint64 // if set, rewrites the address handed out
	dirty     bool                    // hand out frames full of present-looking entries
	onTable   func(hpa uint64)        // if set, called by Table
	misuse    []string
}

const fakeBase = 0x8000_0000 // below 1<<36

func newFake() *fakeTables {
	return &fakeTables{frames: make(map[uint64]*[512]uint64), next: fakeBase, failAfter: -1}
}

func (f *fakeTables) AllocTable() (uint64, error) {
	if f.failAfter == 0 {
		return 0, errFakeAlloc
	}
	if f.failAfter > 0 {
		f.failAfter--
	}
	hpa := f.next
	f.next += PageSize4K
	if f.bad != nil {
		hpa = f.bad(hpa)
	}
	t := new([512]uint64)
	if f.dirty {
		// Entries that would be present mappings and tables.
		for i := range t {
			t[i] = uint64(i)<<12 | 0x37
		}
	}
	if f.frames[hpa] == nil {
		f.frames[hpa] = t
	}
	f.allocs++
	return hpa, nil
}

func (f *fakeTables) FreeTable(hpa uint64) {
	if f.frames[hpa] == nil {
		f.misuse = append(f.misuse, fmt.Sprintf("FreeTable(%#x): not a live frame", hpa))
		return
	}
	delete(f.frames, hpa)
	f.frees++
}

func (f *fakeTables) Table(hpa uint64) *[512]uint64 {
	t := f.frames[hpa]
	if t == nil {
		panic(fmt.Sprintf("fake: Table(%#x): not a live frame", hpa))
	}
	if f.onTable != nil {
		f.onTable(hpa)
	}
	return t
}

func (f *fakeTables) live() int { return len(f.frames) }

// snapshot copies every live frame.
func (f *fakeTables) snapshot() map[uint64][512]uint64 {
	s := make(map[uint64][512]uint64, len(f.frames))
	for a, t := range f.frames {
		s[a] = *t
	}
	return s
}

// sameAs reports the first difference between the live frames and a
// snapshot, or "".
func (f *fakeTables) sameAs(s map[uint64][512]uint64) string {
	if len(s) != len(f.frames) {
		return fmt.Sprintf("%d live frames, %d before", len(f.frames), len(s))
	}
	addrs := make([]uint64, 0, len(s))
	for a := range s {
		addrs = append(addrs, a)
	}
	slices.Sort(addrs)
	for _, a := range addrs {
		t := f.frames[a]
		if t == nil {
			return fmt.Sprintf("frame %#x gone", a)
		}
		if *t != s[a] {
			for i := range t {
				if t[i] != s[a][i] {
					return fmt.Sprintf("frame %#x entry %d: %#x, was %#x", a, i, t[i], s[a][i])
				}
			}
		}
	}
	return ""
}

// unchangedFrom reports the first difference between the frames of a
// snapshot and the same frames now, or "": frames allocated since are
// ignored.
func (f *fakeTables) unchangedFrom(s map[uint64][512]uint64) string {
	for a, old := range s {
		t := f.frames[a]
		if t == nil {
			return fmt.Sprintf("frame %#x gone", a)
		}
		if *t != old {
			return fmt.Sprintf("frame %#x changed", a)
		}
	}
	return ""
}

// checkFake fails the test if the fake saw misuse or its live frames differ
// from what the EPT holds.
func checkFake(tb testing.TB, f *fakeTables, e *EPT) {
	tb.Helper()
	if len(f.misuse) > 0 {
		tb.Fatalf("Tables misuse: %v", f.misuse)
	}
	if f.live() != e.TableFrames() {
		tb.Fatalf("fake has %d live frames, EPT holds %d", f.live(), e.TableFrames())
	}
}

func mustNew(tb testing.TB, opt Options) (*EPT, *fakeTables) {
	tb.Helper()
	f := newFake()
	e, err := New(f, opt)
	if err != nil {
		tb.Fatalf("New: %v", err)
	}
	return e, f
}

func mustMap(tb testing.TB, e *EPT, gpa, hpa, size uint64, p Perm, mt MemType) {
	tb.Helper()
	if err := e.Map(gpa, hpa, size, p, mt); err != nil {
		tb.Fatalf("Map(%#x, %#x, %#x, %v, %v): %v", gpa, hpa, size, p, mt, err)
	}
}

// leafSizes counts the leaves of each page size.
func leafSizes(e *EPT) map[uint64]int {
	n := map[uint64]int{}
	e.Walk(func(m Mapping) bool { n[m.PageSize]++; return true })
	return n
}

// translations records the translation of every 4 KiB page of
// [gpa, gpa+size), offset by off within the page.
func translations(e *EPT, gpa, size, off uint64) []Mapping {
	var ms []Mapping
	for a := gpa; a < gpa+size; a += PageSize4K {
		m, ok := e.Translate(a + off)
		if !ok {
			m = Mapping{}
		}
		ms = append(ms, m)
	}
	return ms
}

var allOpts = []struct {
	name string
	opt  Options
}{
	{"4K", Options{}},
	{"2M", Options{Pages2M: true}},
	{"1G", Options{Pages1G: true}},
	{"2M+1G", Options{Pages2M: true, Pages1G: true}},
	{"2M+1G+xo", Options{Pages2M: true, Pages1G: true, ExecuteOnly: true}},
}
