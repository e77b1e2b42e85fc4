package ept

import (
	"errors"
	"math/rand/v2"
	"testing"
)

// The model: one entry per 4 KiB guest-physical page of a window, holding
// the host page it maps, its permissions and memory type (perm 0: not
// mapped). The harness applies each operation to the model and to an EPT and
// compares the outcomes and the translations.

type mpage struct {
	hpa  uint64
	perm Perm
	mt   MemType
}

type opKind int

const (
	opMap opKind = iota
	opUnmap
	opProtect
)

func (k opKind) String() string { return [...]string{"map", "unmap", "protect"}[k] }

type op struct {
	kind      opKind
	gpa, hpa  uint64
	size      uint64
	perm      Perm
	mt        MemType
	failAfter int // <0: no allocation failure; else successful allocations before one fails

	clearFirst bool // randomOp: unmap everything in the range first (h.clear)
}

type harness struct {
	tb    testing.TB
	f     *fakeTables
	e     *EPT
	opt   Options
	base  uint64 // first GPA of the window
	pages []mpage
	count int // mapped pages in the model
	ops   int

	// Statistics, to see that the random operations reach what they should.
	leaves map[uint64]int // leaves created by Map, by size
	splits int            // successful Unmap or Protect calls that allocated tables
	fails  int            // failed calls
}

func newHarness(tb testing.TB, opt Options, base, size uint64, pages []mpage) *harness {
	e, f := mustNew(tb, opt)
	n := int(size / PageSize4K)
	if cap(pages) >= n {
		pages = pages[:n]
		clear(pages)
	} else {
		pages = make([]mpage, n)
	}
	return &harness{tb: tb, f: f, e: e, opt: opt, base: base, pages: pages, leaves: map[uint64]int{}}
}

func (h *harness) end() uint64 { return h.base + uint64(len(h.pages))*PageSize4K }

func (h *harness) page(gpa uint64) *mpage { return &h.pages[(gpa-h.base)/PageSize4K] }

// firstWhere returns the first page of [gpa, gpa+size) whose mapped state is
// mapped.
func (h *harness) firstWhere(gpa, size uint64, mapped bool) (uint64, bool) {
	for a := gpa; a < gpa+size; a += PageSize4K {
		if (h.page(a).perm != 0) == mapped {
			return a, true
		}
	}
	return 0, false
}

// apply runs o on the EPT and the model and checks that they agree.
func (h *harness) apply(o op) {
	h.tb.Helper()
	h.ops++
	var snap map[uint64][512]uint64
	if o.failAfter >= 0 && h.f.live() <= 256 {
		snap = h.f.snapshot()
	}
	frames := h.e.TableFrames()
	h.f.failAfter = o.failAfter
	var err error
	switch o.kind {
	case opMap:
		err = h.e.Map(o.gpa, o.hpa, o.size, o.perm, o.mt)
	case opUnmap:
		err = h.e.Unmap(o.gpa, o.size)
	case opProtect:
		err = h.e.Protect(o.gpa, o.size, o.perm)
	}
	h.f.failAfter = -1

	// The outcome the model expects.
	var wantErr error
	at, found := h.firstWhere(o.gpa, o.size, o.kind == opMap)
	if found {
		wantErr = ErrMapped
		if o.kind != opMap {
			wantErr = ErrNotMapped
		}
	}
	switch {
	case wantErr != nil:
		var ae *AddrError
		if !errors.As(err, &ae) || !errors.Is(err, wantErr) || ae.GPA != at {
			h.tb.Fatalf("op %d %+v: got %v, want %v at GPA %#x", h.ops, o, err, wantErr, at)
		}
	case err != nil && o.failAfter >= 0 && errors.Is(err, errFakeAlloc):
		// An injected allocation failure: nothing may have changed.
	case err != nil:
		h.tb.Fatalf("op %d %+v: %v", h.ops, o, err)
	}
	if err != nil {
		h.fails++
		if h.e.TableFrames() != frames {
			h.tb.Fatalf("op %d %+v failed (%v) but TableFrames went from %d to %d", h.ops, o, err, frames, h.e.TableFrames())
		}
		if snap != nil {
			if d := h.f.sameAs(snap); d != "" {
				h.tb.Fatalf("op %d %+v failed (%v) but the tables changed: %s", h.ops, o, err, d)
			}
		}
		checkFake(h.tb, h.f, h.e)
		h.checkRegion(o.gpa, o.size)
		return
	}

	// Success: update the model.
	for a := o.gpa; a < o.gpa+o.size; a += PageSize4K {
		p := h.page(a)
		switch o.kind {
		case opMap:
			*p = mpage{hpa: o.hpa + (a - o.gpa), perm: o.perm, mt: o.mt}
			h.count++
		case opUnmap:
			*p = mpage{}
			h.count--
		case opProtect:
			p.perm = o.perm
		}
	}
	checkFake(h.tb, h.f, h.e)
	if o.kind == opMap {
		h.checkLargest(o)
	} else if h.e.TableFrames() > frames {
		h.splits++
	}
	h.checkRegion(o.gpa, o.size)
}

// checkPage compares the translation of one address with the model.
func (h *harness) checkPage(a uint64) {
	off := (a >> 12 * 0x238) & (PageSize4K - 1) // some offset within the page
	m, ok := h.e.Translate(a + off)
	p := h.page(a)
	if p.perm == 0 {
		if ok {
			h.tb.Fatalf("after op %d: GPA %#x translates to %v, want nothing", h.ops, a+off, m)
		}
		return
	}
	if !ok || m.HPA != p.hpa+off || m.Perm != p.perm || m.MemType != p.mt || m.GPA != a+off {
		h.tb.Fatalf("after op %d: GPA %#x translates to %v (ok %v), want HPA %#x %v %v",
			h.ops, a+off, m, ok, p.hpa+off, p.perm, p.mt)
	}
	switch m.PageSize {
	case PageSize4K:
	case PageSize2M:
		if !h.opt.Pages2M {
			h.tb.Fatalf("after op %d: GPA %#x in a 2 MiB page without Pages2M", h.ops, a)
		}
	case PageSize1G:
		if !h.opt.Pages1G {
			h.tb.Fatalf("after op %d: GPA %#x in a 1 GiB page without Pages1G", h.ops, a)
		}
	default:
		h.tb.Fatalf("after op %d: GPA %#x: page size %#x", h.ops, a, m.PageSize)
	}
}

// checkRegion compares the translations around [gpa, gpa+size) with the
// model: every page if there are not too many, else the edges and a sample.
func (h *harness) checkRegion(gpa, size uint64) {
	lo := max(h.base, gpa-min(gpa, PageSize2M))
	hi := min(h.end(), gpa+size+PageSize2M)
	n := (hi - lo) / PageSize4K
	if n <= 8192 {
		for a := lo; a < hi; a += PageSize4K {
			h.checkPage(a)
		}
		return
	}
	for i := uint64(0); i < 1024; i++ {
		h.checkPage(lo + i*PageSize4K)
		h.checkPage(hi - (i+1)*PageSize4K)
	}
	r := rand.New(rand.NewPCG(gpa, size))
	for range 2048 {
		h.checkPage(lo + r.Uint64N(n)*PageSize4K)
	}
}

// checkLargest checks, right after a Map, that it used the largest page the
// options allow wherever both addresses are aligned and the range covers the
// page.
func (h *harness) checkLargest(o op) {
	step := PageSize4K
	if o.size > 1<<26 {
		step = PageSize2M // every 2 MiB: a 4 KiB page inside is decided with its 2 MiB block
	}
	for a := o.gpa; a < o.gpa+o.size; a += step {
		want := PageSize4K
		for _, s := range []uint64{PageSize1G, PageSize2M} {
			if s == PageSize1G && !h.opt.Pages1G || s == PageSize2M && !h.opt.Pages2M {
				continue
			}
			blk := a &^ (s - 1)
			if blk >= o.gpa && blk+s <= o.gpa+o.size && (o.hpa+(blk-o.gpa))%s == 0 {
				want = s
				break
			}
		}
		m, ok := h.e.Translate(a)
		if !ok || m.PageSize != want {
			h.tb.Fatalf("after op %d %+v: GPA %#x in a %#x page, want %#x", h.ops, o, a, m.PageSize, want)
		}
		if a&(m.PageSize-1) == 0 || a == o.gpa {
			h.leaves[m.PageSize]++
		}
	}
}

// checkAll compares the whole EPT with the model and audits it.
func (h *harness) checkAll() {
	h.tb.Helper()
	if err := h.e.Verify(); err != nil {
		h.tb.Fatalf("after op %d: Verify: %v", h.ops, err)
	}
	checkFake(h.tb, h.f, h.e)
	n := 0
	last := uint64(0)
	h.e.Walk(func(m Mapping) bool {
		if m.GPA < last {
			h.tb.Fatalf("Walk out of order: %#x after %#x", m.GPA, last)
		}
		last = m.GPA + m.PageSize
		if m.GPA < h.base || m.GPA+m.PageSize > h.end() {
			h.tb.Fatalf("after op %d: leaf %v outside the window", h.ops, m)
		}
		for a := m.GPA; a < m.GPA+m.PageSize; a += PageSize4K {
			p := h.page(a)
			if p.perm != m.Perm || p.mt != m.MemType || p.hpa != m.HPA+(a-m.GPA) {
				h.tb.Fatalf("after op %d: leaf %v: page %#x is %+v in the model", h.ops, m, a, *p)
			}
			n++
		}
		return true
	})
	if n != h.count {
		h.tb.Fatalf("after op %d: EPT maps %d pages, model %d", h.ops, n, h.count)
	}
}

// unmapAll unmaps everything, in pieces, and checks that only the PML4 is
// left.
func (h *harness) unmapAll(r *rand.Rand) {
	h.tb.Helper()
	var runs [][2]uint64
	h.e.Walk(func(m Mapping) bool {
		if k := len(runs) - 1; k >= 0 && runs[k][0]+runs[k][1] == m.GPA {
			runs[k][1] += m.PageSize
		} else {
			runs = append(runs, [2]uint64{m.GPA, m.PageSize})
		}
		return true
	})
	r.Shuffle(len(runs), func(i, j int) { runs[i], runs[j] = runs[j], runs[i] })
	for _, run := range runs {
		// Cut each run at a random page into two unmaps.
		cut := r.Uint64N(run[1]/PageSize4K) * PageSize4K
		if cut > 0 {
			h.apply(op{kind: opUnmap, gpa: run[0], size: cut, failAfter: -1})
		}
		h.apply(op{kind: opUnmap, gpa: run[0] + cut, size: run[1] - cut, failAfter: -1})
	}
	h.checkAll()
	if h.e.TableFrames() != 1 || h.count != 0 {
		h.tb.Fatalf("after unmapping everything: %d table frames, %d pages in the model", h.e.TableFrames(), h.count)
	}
}

var validPerms = []Perm{Read, RW, RX, RWX}
var memTypes = []MemType{UC, WC, WT, WP, WB}

func (h *harness) perms() []Perm {
	if h.opt.ExecuteOnly {
		return append(validPerms[:len(validPerms):len(validPerms)], Exec)
	}
	return validPerms
}

// randomOp draws an operation: a range of one of several size classes,
// mostly starting in (and keeping to) unmapped space for Map and mapped space
// for Unmap and Protect, so that most calls succeed and large pages get
// split; host addresses with the guest address's alignment or none.
func (h *harness) randomOp(r *rand.Rand) op {
	o := op{kind: opKind(r.IntN(3)), failAfter: -1}
	np := uint64(len(h.pages))
	var pages uint64
	huge := false
	switch c := r.IntN(100); {
	case c < 50:
		pages = 1 + r.Uint64N(16)
	case c < 75:
		pages = 1 + r.Uint64N(1024)
	case c < 92:
		pages = 512 * (1 + r.Uint64N(32))
	default:
		pages = 1 << 18 * (1 + r.Uint64N(2)) // 1 or 2 GiB
		huge = true
	}
	off := r.Uint64N(np) // in pages
	switch {
	case huge && o.kind == opMap:
		// A 1 GiB-aligned block, cleared by the caller (clearFirst).
		off = r.Uint64N(np>>18) << 18
	case r.IntN(4) != 0:
		// Start where the operation can succeed, and keep to the run.
		want := o.kind != opMap // mapped pages for Unmap and Protect
		for range 64 {
			if (h.pages[off].perm != 0) == want {
				break
			}
			off = r.Uint64N(np)
		}
		if r.IntN(4) != 0 {
			n := uint64(0)
			for n < pages && off+n < np && (h.pages[off+n].perm != 0) == want {
				n++
			}
			if n > 0 {
				pages = n
			}
		}
	default:
		switch r.IntN(3) {
		case 0:
			off &^= 511
		case 1:
			off &^= 1<<18 - 1
		}
	}
	pages = min(pages, np-off)
	o.gpa, o.size = h.base+off*PageSize4K, pages*PageSize4K
	goff := off * PageSize4K // the window starts 1 GiB aligned
	switch r.IntN(3) {
	case 0: // same alignment as the GPA up to 1 GiB
		o.hpa = goff + (1+r.Uint64N(64))*PageSize1G
	case 1: // same alignment up to 2 MiB
		o.hpa = goff + (1+r.Uint64N(64))*PageSize1G + (1+r.Uint64N(511))*PageSize2M
	default:
		o.hpa = r.Uint64N(1<<27) * PageSize4K
	}
	if huge && r.IntN(4) != 0 {
		o.hpa = goff + (1+r.Uint64N(64))*PageSize1G
	}
	ps := h.perms()
	o.perm = ps[r.IntN(len(ps))]
	o.mt = memTypes[r.IntN(len(memTypes))]
	if r.IntN(20) == 0 {
		o.failAfter = r.IntN(4)
	}
	o.clearFirst = huge && o.kind == opMap && r.IntN(3) != 0
	return o
}

// clear unmaps everything in [gpa, gpa+size), run by run.
func (h *harness) clear(gpa, size uint64) {
	for a := gpa; a < gpa+size; {
		if h.page(a).perm == 0 {
			a += PageSize4K
			continue
		}
		b := a
		for b < gpa+size && h.page(b).perm != 0 {
			b += PageSize4K
		}
		h.apply(op{kind: opUnmap, gpa: a, size: b - a, failAfter: -1})
		a = b
	}
}

// TestRandomOps performs thousands of random Map, Unmap and Protect calls,
// some with allocation failures, on a 4 GiB window that straddles the 512 GiB
// boundary (two PML4 entries), and checks every outcome and translation
// against the page model.
func TestRandomOps(t *testing.T) {
	n := 4000
	if testing.Short() {
		n = 800
	}
	var pages []mpage
	for i, c := range allOpts {
		t.Run(c.name, func(t *testing.T) {
			h := newHarness(t, c.opt, 511<<30, 4<<30, pages)
			pages = h.pages
			r := rand.New(rand.NewPCG(uint64(i), 0x9e3779b97f4a7c15))
			for k := range n {
				o := h.randomOp(r)
				if o.clearFirst {
					h.clear(o.gpa, o.size)
				}
				h.apply(o)
				switch {
				case k%1000 == 999:
					t.Logf("after %d ops: %d pages mapped, %d table frames, leaves %v", k+1, h.count, h.e.TableFrames(), leafSizes(h.e))
					h.unmapAll(r) // checks that only the PML4 is left
				case k%250 == 249:
					h.checkAll()
				}
			}
			t.Logf("leaves created by Map %v, %d splitting unmaps or protects, %d failed calls", h.leaves, h.splits, h.fails)
			h.unmapAll(r)
			h.e.Destroy()
			if h.f.live() != 0 || len(h.f.misuse) > 0 {
				t.Fatalf("after Destroy: %d live frames, misuse %v", h.f.live(), h.f.misuse)
			}
		})
	}
}
