package grant

import (
	"math/rand/v2"
	"testing"
)

// fuzzState runs random operation sequences against a System and a model
// of what it must report.
type fuzzState struct {
	t        *testing.T
	w        *world
	handles  []fuzzHandle
	tampered map[*fakeTable]map[uint32]bool
	freeable map[fuzzFrame]bool // frames of removed granters still to be reported free
	stats    map[string]int     // outcomes, to check the harness reaches them
}

type fuzzHandle struct {
	grantee DomID
	h       uint32
	granter *domain
}

type fuzzFrame struct {
	g     *domain
	frame uint64
}

// fuzzInput is the fuzzer's bytes, read one at a time.
type fuzzInput struct {
	b []byte
	i int
}

// next returns the next byte of the input, or 0 past its end.
func (in *fuzzInput) next() byte {
	if in.i >= len(in.b) {
		in.i++
		return 0
	}
	in.i++
	return in.b[in.i-1]
}

func (in *fuzzInput) done() bool { return in.i >= len(in.b) }

func (f *fuzzState) dom(b byte) DomID { return DomID(b % 3) }

// anyDom picks a domain id, now and then one that does not exist.
func (f *fuzzState) anyDom(b byte) DomID {
	if b%8 == 7 {
		return 9
	}
	return DomID(b % 3)
}

// ref picks a grant reference: mostly one of the first few, so that maps
// and copies meet the grants, now and then any (or one beyond the table).
func ref(b byte) uint32 {
	if b&0xc0 == 0xc0 {
		return uint32(b) % (worldRefs + 2)
	}
	return uint32(b) % 4
}

func (f *fuzzState) isTampered(d DomID, ref uint32) bool {
	return f.tampered[f.w.tables[d]][ref]
}

func (f *fuzzState) setTampered(d DomID, ref uint32, v bool) {
	tb := f.w.tables[d]
	if f.tampered[tb] == nil {
		f.tampered[tb] = map[uint32]bool{}
	}
	f.tampered[tb][ref] = v
}

func (f *fuzzState) active(d DomID, ref uint32) bool {
	f.w.s.mu.Lock()
	defer f.w.s.mu.Unlock()
	return f.w.s.domains[d].active[ref] != nil
}

func (f *fuzzState) slotGranter(grantee DomID, h uint32) *domain {
	f.w.s.mu.Lock()
	defer f.w.s.mu.Unlock()
	return f.w.s.domains[grantee].slots[h&handleIndexMask].granter
}

func (f *fuzzState) want(what string, err error, ok ...Status) {
	st := StatusOf(err)
	for _, s := range ok {
		if st == s {
			f.stats[what+" "+st.String()]++
			return
		}
	}
	f.t.Fatalf("%s: unexpected status %v: %v", what, st, err)
}

// freed checks a mapping's FreeFrame: set exactly when the last mapping of
// a removed granter's pinned frame ends. self is set for the releases of
// RemoveDomain of the granter itself (its own pins go before it is dead).
func (f *fuzzState) freed(m Mapping, g *domain, self bool) {
	k := fuzzFrame{g, m.Frame}
	mapped := f.stillMapped(k)
	f.w.s.mu.Lock()
	dead := g.dead
	f.w.s.mu.Unlock()
	switch {
	case m.FreeFrame && (!f.freeable[k] || mapped):
		f.t.Fatalf("%+v: frame reported free (pinned by RemoveDomain: %v, still mapped: %v)", m, f.freeable[k], mapped)
	case m.FreeFrame:
		delete(f.freeable, k)
		f.stats["FreeFrame"]++
	case dead && !mapped && !self:
		f.t.Fatalf("%+v: the last mapping of a removed granter's frame, not reported free", m)
	}
}

// freedBatch is freed for mappings of one frame released together: at
// most one reports the frame free, and one must if the frame's granter is
// removed and no mapping of it remains.
func (f *fuzzState) freedBatch(ms []Mapping, g *domain, self bool) {
	var free []Mapping
	for _, m := range ms {
		if m.FreeFrame {
			free = append(free, m)
		}
	}
	switch len(free) {
	case 0:
		f.freed(ms[len(ms)-1], g, self)
	case 1:
		f.freed(free[0], g, self)
	default:
		f.t.Fatalf("%+v: the frame reported free %d times", ms, len(free))
	}
}

// stillMapped reports whether a pin of frame k remains.
func (f *fuzzState) stillMapped(k fuzzFrame) bool {
	f.w.s.mu.Lock()
	defer f.w.s.mu.Unlock()
	return k.g.frames[k.frame] > 0
}

func (f *fuzzState) dropHandle(grantee DomID, h uint32) (fuzzHandle, bool) {
	for i, x := range f.handles {
		if x.grantee == grantee && x.h == h {
			f.handles = append(f.handles[:i], f.handles[i+1:]...)
			return x, true
		}
	}
	return fuzzHandle{}, false
}

var (
	// fuzzOps weighs the operations of step: grants, maps and unmaps
	// most, removals least.
	fuzzOps = [32]byte{0, 0, 0, 0, 0, 0, 0, 1, 2, 3, 3, 3, 3, 3, 3, 3,
		3, 4, 4, 4, 4, 4, 5, 6, 6, 6, 6, 6, 6, 3, 0, 7}
	fuzzOffsets = []uint16{0, 1, 8, 2048, 4000, 4095, 4096, 0xffff}
	fuzzLens    = []uint16{0, 1, 64, 96, 2048, 4096}
)

func (f *fuzzState) step(in *fuzzInput) {
	w, s := f.w, f.w.s
	switch fuzzOps[in.next()%32] {
	case 0: // a correct granter writes an unused entry
		g, ref := f.dom(in.next()), ref(in.next())%worldRefs
		grantee, fl, frame := f.anyDom(in.next()), in.next(), uint32(in.next())%(worldPages+1)
		tb := w.tables[g]
		if tb.flags(ref)&(GTFReading|GTFWriting) != 0 {
			return
		}
		flags := uint16(GTFPermitAccess)
		if fl&1 != 0 {
			flags |= GTFReadonly
		}
		if fl&0x0e == 0x0e {
			flags |= GTFSubPage
		}
		if fl&0x70 == 0x70 {
			flags = GTFAcceptTransfer
		}
		tb.grant(ref, flags, grantee, frame)
		f.setTampered(g, ref, f.active(g, ref))
	case 1: // a correct granter revokes
		g, ref := f.dom(in.next()), ref(in.next())%worldRefs
		if w.tables[g].revoke(ref) && f.active(g, ref) {
			f.t.Fatalf("d%d revoked ref %d while in use", g, ref)
		}
	case 2: // a hostile granter writes anything
		g, ref := f.dom(in.next()), ref(in.next())%worldRefs
		h := uint32(in.next()) | uint32(in.next())<<8 | uint32(in.next()%4)<<16
		w.tables[g].headers[ref].Store(h)
		w.tables[g].frames[ref].Store(uint32(in.next()))
		f.setTampered(g, ref, true)
	case 3: // map, mostly by the domain the entry names
		granter, ref, c := f.anyDom(in.next()), ref(in.next()), in.next()
		grantee := f.anyDom(c >> 4)
		if tb := w.tables[granter]; c&0x18 != 0x18 && granter < 3 && ref < worldRefs {
			if _, d := SplitHeader(tb.headers[ref].Load()); d < 3 {
				grantee = d
			}
		}
		ro := c&1 == 1
		if c&6 == 6 && granter < 3 { // contention on the entry
			w.tables[granter].failCAS.Store(int32(c>>3) % 8)
		}
		h, frame, err := s.Map(grantee, granter, ref, ro, 0)
		f.want("Map", err, Okay, BadDomain, BadGntref, GeneralError, BadPage, EAgain, NoSpace)
		if err == nil {
			if !w.mems[granter].Owns(frame << PageShift) {
				f.t.Fatalf("mapped frame %#x is not d%d's", frame, granter)
			}
			f.handles = append(f.handles, fuzzHandle{grantee, h, f.slotGranter(grantee, h)})
		}
	case 4: // unmap a live handle
		if len(f.handles) == 0 {
			return
		}
		x := f.handles[int(in.next())%len(f.handles)]
		m, err := s.Unmap(x.grantee, x.h)
		if err != nil {
			f.t.Fatalf("Unmap of live handle %#x of d%d: %v", x.h, x.grantee, err)
		}
		f.dropHandle(x.grantee, x.h)
		f.freed(m, x.granter, false)
	case 5: // unmap any handle value
		grantee := f.anyDom(in.next())
		h := uint32(in.next()) | uint32(in.next()%4)<<handleIndexBits
		var g *domain
		for _, x := range f.handles {
			if x.grantee == grantee && x.h == h {
				g = x.granter
			}
		}
		m, err := s.Unmap(grantee, h)
		if err == nil {
			if g == nil {
				f.t.Fatalf("Unmap of unknown handle %#x of d%d succeeded", h, grantee)
			}
			f.dropHandle(grantee, h)
			f.freed(m, g, false)
		} else {
			if g != nil {
				f.t.Fatalf("Unmap of live handle %#x of d%d: %v", h, grantee, err)
			}
			f.want("Unmap", err, BadHandle, BadDomain)
		}
	case 6: // copy
		caller, fl := f.anyDom(in.next()), in.next()
		ptr := func(gref bool) CopyPtr {
			p := CopyPtr{Offset: fuzzOffsets[int(in.next())%len(fuzzOffsets)]}
			if d := in.next(); d%4 == 3 {
				p.Dom = DomIDSelf
			} else {
				p.Dom = f.anyDom(d)
			}
			v := in.next()
			p.Ref, p.GFN = ref(v), uint64(v)%(worldPages+1)
			if v == 255 {
				p.GFN = 1 << 60
			}
			if fl&0x10 == 0 && p.Dom < 3 && p.Ref < worldRefs { // usually the entry's grantee calls
				if _, d := SplitHeader(w.tables[p.Dom].headers[p.Ref].Load()); d < 3 {
					caller = d
				}
			}
			if !gref && fl&0x20 == 0 { // usually frames are named by DOMID_SELF
				p.Dom = DomIDSelf
			}
			return p
		}
		op := CopyOp{Source: ptr(fl&CopySourceGref != 0), Dest: ptr(fl&CopyDestGref != 0), Len: fuzzLens[int(in.next())%len(fuzzLens)], Flags: uint16(fl % 4)}
		err := s.Copy(caller, op)
		f.want("Copy", err, Okay, BadDomain, BadGntref, GeneralError, BadPage, BadCopyArg, PermissionDenied, EAgain)
	case 7: // remove a domain, then create one with its id
		d := f.dom(in.next())
		s.mu.Lock()
		zombie := s.domains[d]
		s.mu.Unlock()
		rel, pins := w.remove(f.t, d)
		var mine []fuzzHandle
		for _, x := range f.handles {
			if x.grantee == d {
				mine = append(mine, x)
			}
		}
		if len(rel) != len(mine) {
			f.t.Fatalf("RemoveDomain(d%d) released %d mappings, d%d held %d", d, len(rel), d, len(mine))
		}
		for _, p := range pins {
			f.freeable[fuzzFrame{zombie, p.Frame}] = true
			if p.Granter != d || p.Grantee == d || p.Readers+p.Writers == 0 {
				f.t.Fatalf("pin %+v", p)
			}
		}
		// RemoveDomain releases the mappings all at once: of those of one
		// frame, exactly the last reports it free, so the check is per
		// frame, on the whole batch.
		released := map[fuzzFrame][]Mapping{}
		var order []fuzzFrame
		for _, m := range rel {
			x, ok := f.dropHandle(d, m.Handle)
			if !ok {
				f.t.Fatalf("released unknown mapping %+v", m)
			}
			k := fuzzFrame{x.granter, m.Frame}
			if released[k] == nil {
				order = append(order, k)
			}
			released[k] = append(released[k], m)
		}
		for _, k := range order {
			f.freedBatch(released[k], k.g, k.g == zombie)
		}
		w.add(f.t, d)
	}
}

func FuzzOps(f *testing.F) {
	f.Add([]byte{0, 1, 3, 2, 0, 1, 3, 2, 1, 3, 0, 4, 0})
	f.Add([]byte{0, 0, 0, 1, 0, 2, 3, 1, 0, 0, 1, 3, 1, 0, 0, 0, 7, 0, 4, 0, 4, 0})
	f.Add([]byte{0, 1, 2, 0, 1, 3, 3, 0, 1, 2, 0, 6, 0, 1, 0, 3, 1, 2, 1, 2, 1, 2})
	f.Add([]byte{0, 2, 5, 1, 9, 2, 3, 1, 2, 5, 1, 2, 2, 5, 0, 0, 1, 4, 0, 7, 1, 5, 1, 0, 0})
	f.Fuzz(func(t *testing.T, data []byte) {
		if len(data) > 4096 {
			return
		}
		runOps(t, data)
	})
}

// runOps runs the operations data encodes, checking the invariants after
// each, then unmaps everything and checks that nothing stays pinned.
func runOps(t *testing.T, data []byte) *fuzzState {
	fs := &fuzzState{
		t:        t,
		w:        newWorld(t, Config{MaxMappings: 4, MaxFrames: 2}, 0, 1, 2),
		tampered: map[*fakeTable]map[uint32]bool{},
		freeable: map[fuzzFrame]bool{},
		stats:    map[string]int{},
	}
	in := &fuzzInput{b: data}
	for !in.done() {
		fs.step(in)
		for d := range DomID(3) {
			fs.w.tables[d].failCAS.Store(0) // contention ends with the operation
		}
		checkInvariants(t, fs.w.s, fs.isTampered)
	}
	// Everything unmapped: every frame of a removed granter is
	// reported free, and no entry stays marked in use.
	for len(fs.handles) > 0 {
		x := fs.handles[0]
		m, err := fs.w.s.Unmap(x.grantee, x.h)
		if err != nil {
			t.Fatal(err)
		}
		fs.dropHandle(x.grantee, x.h)
		fs.freed(m, x.granter, false)
	}
	if len(fs.freeable) != 0 {
		t.Fatalf("frames never reported free: %v", fs.freeable)
	}
	checkInvariants(t, fs.w.s, fs.isTampered)
	for d := range DomID(3) {
		for ref := range uint32(worldRefs) {
			if !fs.isTampered(d, ref) && fs.w.tables[d].flags(ref)&(GTFReading|GTFWriting) != 0 {
				t.Fatalf("d%d ref %d marked in use with no mapping", d, ref)
			}
		}
	}
	return fs
}

// TestFuzzHarness checks that random sequences reach the outcomes the fuzz
// test is meant to explore (and runs them under -race in ordinary tests).
func TestFuzzHarness(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	total := map[string]int{}
	for range 300 {
		data := make([]byte, 400)
		for i := range data {
			data[i] = byte(rng.Uint32())
		}
		for k, v := range runOps(t, data).stats {
			total[k] += v
		}
	}
	for _, k := range []string{
		"Map okay", "Map undefined error", "Map bad page", "Map operation not done; try again",
		"Map out of space", "Map invalid grant reference", "Map unrecognised domain id",
		"Copy okay", "Copy copy arguments cross page boundary", "Copy permission denied", "Copy bad page",
		"Unmap invalid mapping handle", "FreeFrame",
	} {
		if total[k] == 0 {
			t.Errorf("never reached %q; reached %v", k, total)
		}
	}
}
