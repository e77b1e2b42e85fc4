package grant

import (
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
)

// fakeTable is a grant table in ordinary memory: atomic headers as the
// hypervisor's would be over shared frames. After close, any access panics
// (the package must not touch a removed domain's table).
type fakeTable struct {
	headers []atomic.Uint32
	frames  []atomic.Uint32
	failCAS atomic.Int32 // this many CompareAndSwapHeader calls fail (contention)
	closed  atomic.Bool
}

func newTable(n int) *fakeTable {
	return &fakeTable{headers: make([]atomic.Uint32, n), frames: make([]atomic.Uint32, n)}
}

func (t *fakeTable) check() {
	if t.closed.Load() {
		panic("grant table of a removed domain touched")
	}
}

func (t *fakeTable) Len() int                     { t.check(); return len(t.headers) }
func (t *fakeTable) LoadHeader(ref uint32) uint32 { t.check(); return t.headers[ref].Load() }
func (t *fakeTable) LoadFrame(ref uint32) uint32  { t.check(); return t.frames[ref].Load() }
func (t *fakeTable) CompareAndSwapHeader(ref uint32, old, new uint32) bool {
	t.check()
	if t.failCAS.Load() > 0 && t.failCAS.Add(-1) >= 0 {
		return false
	}
	return t.headers[ref].CompareAndSwap(old, new)
}

// grant writes an entry as a guest does: domid and frame, then the flags.
func (t *fakeTable) grant(ref uint32, flags uint16, d DomID, frame uint32) {
	t.frames[ref].Store(frame)
	t.headers[ref].Store(Header(flags, d))
}

// flags returns entry ref's flags.
func (t *fakeTable) flags(ref uint32) uint16 { f, _ := SplitHeader(t.headers[ref].Load()); return f }

// revoke ends access as a correct granter does (grant_table.h,
// "Invalidating an unused GTF_permit_access entry").
func (t *fakeTable) revoke(ref uint32) bool {
	h := t.headers[ref].Load()
	if h&(GTFReading|GTFWriting) != 0 {
		return false
	}
	return t.headers[ref].CompareAndSwap(h, 0)
}

// fakeMem is guest memory: pages [0, n) except holes are the domain's RAM.
type fakeMem struct {
	mu        sync.Mutex
	data      []byte
	holes     map[uint64]bool
	closed    atomic.Bool
	failWrite bool          // WriteGPA fails
	block     chan struct{} // if set, ReadGPA waits for it to be closed
	inRead    chan struct{} // if set, ReadGPA signals it first
}

func newMem(pages int, holes ...uint64) *fakeMem {
	m := &fakeMem{data: make([]byte, pages*PageSize), holes: make(map[uint64]bool)}
	for _, h := range holes {
		m.holes[h] = true
	}
	return m
}

func (m *fakeMem) Owns(gpa uint64) bool {
	if m.closed.Load() {
		panic("memory of a removed domain touched")
	}
	return gpa < uint64(len(m.data)) && !m.holes[gpa>>PageShift]
}

func (m *fakeMem) rangeOK(gpa uint64, n int) error {
	if gpa+uint64(n) > uint64(len(m.data)) || gpa+uint64(n) < gpa {
		return fmt.Errorf("GPA %#x+%d outside memory", gpa, n)
	}
	return nil
}

func (m *fakeMem) ReadGPA(gpa uint64, b []byte) error {
	if m.closed.Load() {
		panic("memory of a removed domain touched")
	}
	if m.inRead != nil {
		m.inRead <- struct{}{}
	}
	if m.block != nil {
		<-m.block
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if err := m.rangeOK(gpa, len(b)); err != nil {
		return err
	}
	copy(b, m.data[gpa:])
	return nil
}

func (m *fakeMem) WriteGPA(gpa uint64, b []byte) error {
	if m.closed.Load() {
		panic("memory of a removed domain touched")
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.failWrite {
		return fmt.Errorf("GPA %#x: write refused", gpa)
	}
	if err := m.rangeOK(gpa, len(b)); err != nil {
		return err
	}
	copy(m.data[gpa:], b)
	return nil
}

func (m *fakeMem) page(gfn uint64) []byte {
	m.mu.Lock()
	defer m.mu.Unlock()
	return append([]byte(nil), m.data[gfn*PageSize:(gfn+1)*PageSize]...)
}

func (m *fakeMem) fill(gfn uint64, seed byte) {
	m.mu.Lock()
	defer m.mu.Unlock()
	for i := range PageSize {
		m.data[gfn*PageSize+uint64(i)] = seed + byte(i*7)
	}
}

// world is a System with a few domains.
type world struct {
	s      *System
	tables map[DomID]*fakeTable
	mems   map[DomID]*fakeMem
}

const (
	worldRefs  = 16
	worldPages = 8
	worldHole  = 6 // a GFN inside the range that is not RAM
)

func newWorld(t testing.TB, c Config, ids ...DomID) *world {
	w := &world{s: NewSystem(c), tables: map[DomID]*fakeTable{}, mems: map[DomID]*fakeMem{}}
	for _, d := range ids {
		w.add(t, d)
	}
	return w
}

func (w *world) add(t testing.TB, d DomID) {
	t.Helper()
	w.tables[d], w.mems[d] = newTable(worldRefs), newMem(worldPages, worldHole)
	if err := w.s.AddDomain(d, w.tables[d], w.mems[d]); err != nil {
		t.Fatal(err)
	}
}

// remove removes d and closes its table and memory.
func (w *world) remove(t testing.TB, d DomID) ([]Mapping, []Pin) {
	t.Helper()
	rel, pins, err := w.s.RemoveDomain(d)
	if err != nil {
		t.Fatal(err)
	}
	w.tables[d].closed.Store(true)
	w.mems[d].closed.Store(true)
	return rel, pins
}

func wantStatus(t testing.TB, what string, err error, want Status) {
	t.Helper()
	if got := StatusOf(err); got != want {
		t.Fatalf("%s: status %v (%d), want %v (%d); err = %v", what, got, got, want, want, err)
	}
}

// checkInvariants verifies the bookkeeping when no copy is under way: each
// active entry's pins equal the live mappings that name it, frame counts
// match, maptrack free lists are exact, and each live, untampered entry's
// GTF_reading/GTF_writing reflect its pins.
func checkInvariants(t testing.TB, s *System, tampered func(DomID, uint32) bool) {
	t.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	type key struct {
		g   *domain
		ref uint32
	}
	ro, rw := map[key]uint32{}, map[key]uint32{}
	granters := map[*domain]bool{}
	for id, d := range s.domains {
		if d.id != id || d.dead {
			t.Fatalf("d%d: registered as d%d, dead %v", d.id, id, d.dead)
		}
		granters[d] = true
		if d.busy != 0 {
			t.Fatalf("d%d: %d copies under way at rest", id, d.busy)
		}
		used := 0
		inFree := map[uint32]bool{}
		for _, i := range d.free {
			if int(i) >= len(d.slots) || d.slots[i].used || inFree[i] {
				t.Fatalf("d%d: bad free slot %d", id, i)
			}
			inFree[i] = true
		}
		for i := range d.slots {
			sl := &d.slots[i]
			if !sl.used {
				if !inFree[uint32(i)] {
					t.Fatalf("d%d: slot %d neither used nor free", id, i)
				}
				continue
			}
			used++
			if sl.granter.active[sl.ref] != sl.act {
				t.Fatalf("d%d: slot %d names an entry its granter d%d does not hold", id, i, sl.granter.id)
			}
			if sl.act.grantee != id {
				t.Fatalf("d%d: slot %d on an entry for d%d", id, i, sl.act.grantee)
			}
			k := key{sl.granter, sl.ref}
			if sl.readonly {
				ro[k]++
			} else {
				rw[k]++
			}
			granters[sl.granter] = true
		}
		if used != d.live() {
			t.Fatalf("d%d: %d used slots, live %d", id, used, d.live())
		}
		if uint32(len(d.slots)) > s.maxMappings {
			t.Fatalf("d%d: %d slots beyond the limit %d", id, len(d.slots), s.maxMappings)
		}
	}
	for g := range granters {
		frames := map[uint64]int{}
		for ref, a := range g.active {
			k := key{g, ref}
			if a.ro != ro[k] || a.rw != rw[k] {
				t.Fatalf("d%d ref %d: pins ro %d rw %d, mappings ro %d rw %d", g.id, ref, a.ro, a.rw, ro[k], rw[k])
			}
			if a.ro+a.rw == 0 {
				t.Fatalf("d%d ref %d: active without pins", g.id, ref)
			}
			frames[a.frame]++
		}
		if len(frames) != len(g.frames) {
			t.Fatalf("d%d: frame counts %v, want %v", g.id, g.frames, frames)
		}
		for f, n := range frames {
			if g.frames[f] != n {
				t.Fatalf("d%d: frame counts %v, want %v", g.id, g.frames, frames)
			}
		}
		if g.dead {
			continue
		}
		for ref := range uint32(g.entries.Len()) {
			if tampered != nil && tampered(g.id, ref) {
				continue
			}
			f, _ := SplitHeader(g.entries.LoadHeader(ref))
			a := g.active[ref]
			reading, writing := a != nil, a != nil && a.rw > 0
			if (f&GTFReading != 0) != reading || (f&GTFWriting != 0) != writing {
				t.Fatalf("d%d ref %d: flags %#x, pins %+v", g.id, ref, f, a)
			}
		}
	}
}
