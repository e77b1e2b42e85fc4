package grant

import (
	"bytes"
	"sync"
	"testing"
	"time"
)

const (
	dA DomID = 1 // granter in most tests
	dB DomID = 2 // grantee
	dC DomID = 3 // a third domain
)

func TestMapStatus(t *testing.T) {
	tests := []struct {
		name     string
		setup    func(w *world)
		grantee  DomID
		granter  DomID
		ref      uint32
		readonly bool
		want     Status
	}{
		{"ok writable", func(w *world) { w.tables[dA].grant(3, GTFPermitAccess, dB, 2) }, dB, dA, 3, false, Okay},
		{"ok readonly", func(w *world) { w.tables[dA].grant(3, GTFPermitAccess, dB, 2) }, dB, dA, 3, true, Okay},
		{"ok readonly of readonly grant", func(w *world) { w.tables[dA].grant(3, GTFPermitAccess|GTFReadonly, dB, 2) }, dB, dA, 3, true, Okay},
		{"unknown grantee", func(w *world) { w.tables[dA].grant(3, GTFPermitAccess, 9, 2) }, 9, dA, 3, true, BadDomain},
		{"unknown granter", nil, dB, 9, 3, true, BadDomain},
		{"reserved granter", nil, dB, DomIDSelf, 3, true, BadDomain},
		{"ref beyond table", nil, dB, dA, worldRefs, true, BadGntref},
		{"ref far beyond table", nil, dB, dA, 0xffffffff, true, BadGntref},
		{"invalid entry", func(w *world) { w.tables[dA].grant(3, GTFInvalid, dB, 2) }, dB, dA, 3, true, GeneralError},
		{"accept_transfer entry", func(w *world) { w.tables[dA].grant(3, GTFAcceptTransfer, dB, 2) }, dB, dA, 3, true, GeneralError},
		{"transitive entry", func(w *world) { w.tables[dA].grant(3, GTFTransitive, dB, 2) }, dB, dA, 3, true, GeneralError},
		{"sub_page entry", func(w *world) { w.tables[dA].grant(3, GTFPermitAccess|GTFSubPage, dB, 2) }, dB, dA, 3, true, GeneralError},
		{"wrong domid", func(w *world) { w.tables[dA].grant(3, GTFPermitAccess, dC, 2) }, dB, dA, 3, true, GeneralError},
		{"writable map of readonly grant", func(w *world) { w.tables[dA].grant(3, GTFPermitAccess|GTFReadonly, dB, 2) }, dB, dA, 3, false, GeneralError},
		{"frame in a hole", func(w *world) { w.tables[dA].grant(3, GTFPermitAccess, dB, worldHole) }, dB, dA, 3, true, BadPage},
		{"frame beyond memory", func(w *world) { w.tables[dA].grant(3, GTFPermitAccess, dB, 1<<31) }, dB, dA, 3, false, BadPage},
		{"entry keeps changing", func(w *world) {
			w.tables[dA].grant(3, GTFPermitAccess, dB, 2)
			w.tables[dA].failCAS.Store(casRetries)
		}, dB, dA, 3, true, EAgain},
		{"entry changes a few times", func(w *world) {
			w.tables[dA].grant(3, GTFPermitAccess, dB, 2)
			w.tables[dA].failCAS.Store(casRetries - 1)
		}, dB, dA, 3, true, Okay},
		{"in use by another grantee", func(w *world) {
			w.tables[dA].grant(3, GTFPermitAccess, dC, 2)
			if _, _, err := w.s.Map(dC, dA, 3, true, 0); err != nil {
				panic(err)
			}
			w.tables[dA].grant(3, GTFPermitAccess|GTFReading, dB, 2) // hostile: re-granted while in use
		}, dB, dA, 3, true, GeneralError},
		{"self map", func(w *world) { w.tables[dA].grant(3, GTFPermitAccess, dA, 2) }, dA, dA, 3, false, Okay},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			w := newWorld(t, Config{}, dA, dB, dC)
			if tc.setup != nil {
				tc.setup(w)
			}
			before := w.tables[dA].headers[3].Load()
			h, frame, err := w.s.Map(tc.grantee, tc.granter, tc.ref, tc.readonly, 0x5000)
			wantStatus(t, "Map", err, tc.want)
			if tc.want != Okay {
				if after := w.tables[dA].headers[3].Load(); after != before {
					t.Errorf("failed Map changed the entry: %#x -> %#x", before, after)
				}
				checkInvariants(t, w.s, func(d DomID, ref uint32) bool { return d == dA && ref == 3 })
				return
			}
			if frame != 2 {
				t.Errorf("frame %d, want 2", frame)
			}
			m, err := w.s.Lookup(tc.grantee, h)
			if err != nil || m.Frame != 2 || m.Ref != 3 || m.Granter != tc.granter || m.Readonly != tc.readonly || m.HostAddr != 0x5000 {
				t.Errorf("Lookup = %+v, %v", m, err)
			}
			checkInvariants(t, w.s, nil)
		})
	}
}

func TestMapNoSpace(t *testing.T) {
	w := newWorld(t, Config{MaxMappings: 3}, dA, dB)
	w.tables[dA].grant(0, GTFPermitAccess, dB, 1)
	var hs []uint32
	for range 3 {
		h, _, err := w.s.Map(dB, dA, 0, true, 0)
		if err != nil {
			t.Fatal(err)
		}
		hs = append(hs, h)
	}
	_, _, err := w.s.Map(dB, dA, 0, true, 0)
	wantStatus(t, "Map beyond the limit", err, NoSpace)
	if _, err := w.s.Unmap(dB, hs[1]); err != nil {
		t.Fatal(err)
	}
	if _, _, err := w.s.Map(dB, dA, 0, true, 0); err != nil {
		t.Fatalf("Map after an unmap: %v", err)
	}
	checkInvariants(t, w.s, nil)
}

func TestUnmapStatus(t *testing.T) {
	w := newWorld(t, Config{}, dA, dB, dC)
	w.tables[dA].grant(0, GTFPermitAccess, dB, 1)
	h, _, err := w.s.Map(dB, dA, 0, false, 0)
	if err != nil {
		t.Fatal(err)
	}
	_, err = w.s.Unmap(9, h)
	wantStatus(t, "unknown grantee", err, BadDomain)
	_, err = w.s.Unmap(dC, h)
	wantStatus(t, "another domain's handle", err, BadHandle)
	_, err = w.s.Unmap(dB, h+1)
	wantStatus(t, "never issued", err, BadHandle)
	_, err = w.s.Unmap(dB, 0xffffffff)
	wantStatus(t, "~0", err, BadHandle)
	_, err = w.s.Unmap(dB, h^1<<handleIndexBits)
	wantStatus(t, "wrong generation", err, BadHandle)
	m, err := w.s.Unmap(dB, h)
	if err != nil || m.Handle != h || m.Frame != 1 || m.Readonly || m.FreeFrame {
		t.Fatalf("Unmap = %+v, %v", m, err)
	}
	_, err = w.s.Unmap(dB, h)
	wantStatus(t, "double unmap", err, BadHandle)
	_, err = w.s.Lookup(dB, h)
	wantStatus(t, "lookup after unmap", err, BadHandle)

	// The slot is reused: the stale handle still fails, the new one works.
	h2, _, err := w.s.Map(dB, dA, 0, true, 0)
	if err != nil {
		t.Fatal(err)
	}
	if h2&handleIndexMask != h&handleIndexMask || h2 == h {
		t.Fatalf("handles %#x then %#x: the slot should be reused with a new generation", h, h2)
	}
	_, err = w.s.Unmap(dB, h)
	wantStatus(t, "stale handle", err, BadHandle)
	if f := w.tables[dA].flags(0); f != GTFPermitAccess|GTFReading {
		t.Fatalf("stale unmap changed the flags: %#x", f)
	}
	if _, err := w.s.Unmap(dB, h2); err != nil {
		t.Fatal(err)
	}
	checkInvariants(t, w.s, nil)
}

func TestFlags(t *testing.T) {
	w := newWorld(t, Config{}, dA, dB)
	tb := w.tables[dA]
	tb.grant(5, GTFPermitAccess, dB, 3)
	r1, _, err := w.s.Map(dB, dA, 5, true, 0)
	if err != nil {
		t.Fatal(err)
	}
	r2, _, err := w.s.Map(dB, dA, 5, true, 0)
	if err != nil {
		t.Fatal(err)
	}
	if f := tb.flags(5); f != GTFPermitAccess|GTFReading {
		t.Fatalf("two read mappings: flags %#x", f)
	}
	if _, err := w.s.Unmap(dB, r1); err != nil {
		t.Fatal(err)
	}
	if f := tb.flags(5); f != GTFPermitAccess|GTFReading {
		t.Fatalf("one read mapping left: flags %#x", f)
	}
	if _, err := w.s.Unmap(dB, r2); err != nil {
		t.Fatal(err)
	}
	if f := tb.flags(5); f != GTFPermitAccess {
		t.Fatalf("no mapping left: flags %#x", f)
	}

	wr, _, err := w.s.Map(dB, dA, 5, false, 0)
	if err != nil {
		t.Fatal(err)
	}
	if f := tb.flags(5); f != GTFPermitAccess|GTFReading|GTFWriting {
		t.Fatalf("writable mapping: flags %#x", f)
	}
	rd, _, err := w.s.Map(dB, dA, 5, true, 0)
	if err != nil {
		t.Fatal(err)
	}
	checkInvariants(t, w.s, nil)
	if _, err := w.s.Unmap(dB, wr); err != nil {
		t.Fatal(err)
	}
	if f := tb.flags(5); f != GTFPermitAccess|GTFReading {
		t.Fatalf("writable unmapped, read mapping left: flags %#x", f)
	}
	if _, err := w.s.Unmap(dB, rd); err != nil {
		t.Fatal(err)
	}
	if f := tb.flags(5); f != GTFPermitAccess {
		t.Fatalf("all unmapped: flags %#x", f)
	}
	if w.s.IsPinned(dA, 3) {
		t.Fatal("frame still pinned")
	}
	checkInvariants(t, w.s, nil)
}

// A granter revoking as a correct guest does (CMPXCHG only while neither
// GTF_reading nor GTF_writing is set) fails while the grant is mapped.
func TestRevoke(t *testing.T) {
	for _, readonly := range []bool{true, false} {
		w := newWorld(t, Config{}, dA, dB)
		tb := w.tables[dA]
		tb.grant(2, GTFPermitAccess, dB, 4)
		h, _, err := w.s.Map(dB, dA, 2, readonly, 0)
		if err != nil {
			t.Fatal(err)
		}
		if tb.revoke(2) {
			t.Fatalf("readonly %v: revoked while mapped", readonly)
		}
		if !w.s.IsPinned(dA, 4) {
			t.Fatal("mapped frame not pinned")
		}
		if _, err := w.s.Unmap(dB, h); err != nil {
			t.Fatal(err)
		}
		if !tb.revoke(2) {
			t.Fatalf("readonly %v: revoke failed after unmap (flags %#x)", readonly, tb.flags(2))
		}
		_, _, err = w.s.Map(dB, dA, 2, true, 0)
		wantStatus(t, "Map after revoke", err, GeneralError)
		checkInvariants(t, w.s, nil)
	}
}

// A hostile granter rewriting an entry in use changes nothing the
// hypervisor relies on.
func TestHostileGranter(t *testing.T) {
	w := newWorld(t, Config{}, dA, dB, dC)
	tb := w.tables[dA]
	tb.grant(1, GTFPermitAccess, dB, 2)
	h, _, err := w.s.Map(dB, dA, 1, false, 0x9000)
	if err != nil {
		t.Fatal(err)
	}
	// Clear everything and point the entry at another frame and domain.
	tb.grant(1, GTFPermitAccess, dC, 5)
	m, err := w.s.Lookup(dB, h)
	if err != nil || m.Frame != 2 || m.Readonly {
		t.Fatalf("mapping changed: %+v, %v", m, err)
	}
	if !w.s.IsPinned(dA, 2) || w.s.IsPinned(dA, 5) {
		t.Fatal("pins follow the guest's entry, not the bookkeeping")
	}
	// The new grantee named in the entry cannot use it while d2 holds it.
	_, _, err = w.s.Map(dC, dA, 1, true, 0)
	wantStatus(t, "Map by the entry's new grantee", err, GeneralError)
	// The holder cannot get more mappings of an entry no longer its own.
	_, _, err = w.s.Map(dB, dA, 1, true, 0)
	wantStatus(t, "Map after the entry was taken away", err, GeneralError)
	// Back to d2, but another frame: new mappings still get the pinned one.
	tb.grant(1, GTFPermitAccess, dB, 5)
	h2, frame, err := w.s.Map(dB, dA, 1, true, 0)
	if err != nil || frame != 2 {
		t.Fatalf("Map = frame %d, %v; want the pinned frame 2", frame, err)
	}
	// Hostile zeroing of the whole header while mapped.
	tb.headers[1].Store(0)
	if _, err := w.s.Unmap(dB, h); err != nil {
		t.Fatal(err)
	}
	if !w.s.IsPinned(dA, 2) {
		t.Fatal("frame unpinned with a mapping left")
	}
	m, err = w.s.Unmap(dB, h2)
	if err != nil || m.Frame != 2 {
		t.Fatalf("Unmap = %+v, %v", m, err)
	}
	if w.s.IsPinned(dA, 2) {
		t.Fatal("frame pinned after the last unmap")
	}
	if hd := tb.headers[1].Load(); hd != 0 {
		t.Fatalf("hypervisor wrote %#x into a zeroed entry", hd)
	}
	checkInvariants(t, w.s, nil)
}

func TestRemoveGrantee(t *testing.T) {
	w := newWorld(t, Config{}, dA, dB, dC)
	w.tables[dA].grant(0, GTFPermitAccess, dB, 1)
	w.tables[dA].grant(1, GTFPermitAccess, dB, 2)
	w.tables[dC].grant(0, GTFPermitAccess|GTFReadonly, dB, 3)
	w.tables[dB].grant(0, GTFPermitAccess, dB, 4) // its own grant, self-mapped
	w.tables[dB].grant(1, GTFPermitAccess, dC, 5) // mapped by d3
	var hs []uint32
	for _, m := range []struct {
		g   DomID
		ref uint32
		ro  bool
	}{{dA, 0, false}, {dA, 1, true}, {dA, 1, true}, {dC, 0, true}, {dB, 0, false}} {
		h, _, err := w.s.Map(dB, m.g, m.ref, m.ro, uint64(len(hs))<<12)
		if err != nil {
			t.Fatal(err)
		}
		hs = append(hs, h)
	}
	hC, _, err := w.s.Map(dC, dB, 1, false, 0)
	if err != nil {
		t.Fatal(err)
	}
	rel, pins := w.remove(t, dB)
	if len(rel) != len(hs) {
		t.Fatalf("released %d mappings, want %d: %+v", len(rel), len(hs), rel)
	}
	seen := map[uint32]bool{}
	for _, m := range rel {
		seen[m.Handle] = true
		if m.FreeFrame {
			t.Errorf("%+v: a live granter's frame reported free", m)
		}
	}
	for _, h := range hs {
		if !seen[h] {
			t.Errorf("handle %#x not released", h)
		}
	}
	if len(pins) != 1 || pins[0] != (Pin{Granter: dB, Ref: 1, Grantee: dC, Frame: 5, Writers: 1}) {
		t.Fatalf("pins %+v", pins)
	}
	for _, ref := range []uint32{0, 1} {
		if f := w.tables[dA].flags(ref); f != GTFPermitAccess {
			t.Errorf("d1 ref %d: flags %#x after its grantee left", ref, f)
		}
	}
	if f := w.tables[dC].flags(0); f != GTFPermitAccess|GTFReadonly {
		t.Errorf("d3 ref 0: flags %#x after its grantee left", f)
	}
	if w.s.IsPinned(dA, 1) || w.s.IsPinned(dA, 2) || w.s.IsPinned(dC, 3) {
		t.Error("frames still pinned after the grantee left")
	}
	_, err = w.s.Unmap(dB, hs[0])
	wantStatus(t, "Unmap by a removed domain", err, BadDomain)
	_, _, err = w.s.Map(dB, dA, 0, true, 0)
	wantStatus(t, "Map by a removed domain", err, BadDomain)
	_, _, err = w.s.RemoveDomain(dB)
	wantStatus(t, "RemoveDomain twice", err, BadDomain)
	m, err := w.s.Unmap(dC, hC)
	if err != nil || !m.FreeFrame || m.Frame != 5 || m.Granter != dB {
		t.Fatalf("last unmap of the removed granter's frame: %+v, %v", m, err)
	}
	checkInvariants(t, w.s, nil)
}

func TestRemoveGranter(t *testing.T) {
	w := newWorld(t, Config{}, dA, dB, dC)
	tb := w.tables[dA]
	tb.grant(0, GTFPermitAccess, dB, 2)
	tb.grant(1, GTFPermitAccess, dC, 2) // the same frame, to another domain
	tb.grant(2, GTFPermitAccess|GTFReadonly, dB, 3)
	tb.grant(3, GTFPermitAccess, dB, 4) // granted, never mapped
	hB0, _, _ := w.s.Map(dB, dA, 0, false, 0)
	hB0r, _, _ := w.s.Map(dB, dA, 0, true, 0)
	hC1, _, _ := w.s.Map(dC, dA, 1, true, 0)
	hB2, _, err := w.s.Map(dB, dA, 2, true, 0)
	if err != nil {
		t.Fatal(err)
	}
	rel, pins := w.remove(t, dA)
	if len(rel) != 0 {
		t.Fatalf("released %+v", rel)
	}
	want := map[uint32]Pin{
		0: {Granter: dA, Ref: 0, Grantee: dB, Frame: 2, Readers: 1, Writers: 1},
		1: {Granter: dA, Ref: 1, Grantee: dC, Frame: 2, Readers: 1},
		2: {Granter: dA, Ref: 2, Grantee: dB, Frame: 3, Readers: 1},
	}
	if len(pins) != len(want) {
		t.Fatalf("pins %+v", pins)
	}
	for _, p := range pins {
		if want[p.Ref] != p {
			t.Errorf("pin %+v, want %+v", p, want[p.Ref])
		}
	}
	// The granter's id may come back as a new domain meanwhile.
	w.add(t, dA)
	w.tables[dA].grant(0, GTFPermitAccess, dB, 2)
	hNew, _, err := w.s.Map(dB, dA, 0, true, 0)
	if err != nil {
		t.Fatal(err)
	}
	checkInvariants(t, w.s, nil)

	// The old frames stay in use until their last mappings end.
	steps := []struct {
		d    DomID
		h    uint32
		free bool
	}{{dB, hB0, false}, {dB, hB2, true}, {dB, hB0r, false}, {dC, hC1, true}, {dB, hNew, false}}
	for i, st := range steps {
		m, err := w.s.Unmap(st.d, st.h)
		if err != nil {
			t.Fatalf("step %d: %v", i, err)
		}
		if m.FreeFrame != st.free {
			t.Fatalf("step %d: %+v, FreeFrame want %v", i, m, st.free)
		}
		checkInvariants(t, w.s, nil)
	}
	if f := w.tables[dA].flags(0); f != GTFPermitAccess {
		t.Fatalf("new d1's entry: flags %#x", f)
	}
}

// A granter removed while its grantee is also removed: the grantee's
// release reports the freed frame.
func TestRemoveBoth(t *testing.T) {
	w := newWorld(t, Config{}, dA, dB)
	w.tables[dA].grant(0, GTFPermitAccess, dB, 2)
	if _, _, err := w.s.Map(dB, dA, 0, false, 0); err != nil {
		t.Fatal(err)
	}
	if _, pins := w.remove(t, dA); len(pins) != 1 {
		t.Fatalf("pins %+v", pins)
	}
	rel, pins := w.remove(t, dB)
	if len(rel) != 1 || !rel[0].FreeFrame || rel[0].Frame != 2 || len(pins) != 0 {
		t.Fatalf("released %+v, pins %+v", rel, pins)
	}
	checkInvariants(t, w.s, nil)
}

func TestCopy(t *testing.T) {
	gref := func(d DomID, ref uint32, off uint16) CopyPtr { return CopyPtr{Ref: ref, Dom: d, Offset: off} }
	frame := func(gfn uint64, off uint16) CopyPtr { return CopyPtr{GFN: gfn, Dom: DomIDSelf, Offset: off} }
	tests := []struct {
		name string
		op   CopyOp
		want Status
	}{
		{"gref to own frame", CopyOp{Source: gref(dA, 0, 100), Dest: frame(1, 200), Len: 300, Flags: CopySourceGref}, Okay},
		{"own frame to gref", CopyOp{Source: frame(1, 0), Dest: gref(dA, 0, 10), Len: 4086, Flags: CopyDestGref}, Okay},
		{"gref to gref", CopyOp{Source: gref(dA, 1, 0), Dest: gref(dA, 0, 0), Len: PageSize, Flags: CopySourceGref | CopyDestGref}, Okay},
		{"gref to same gref", CopyOp{Source: gref(dA, 0, 0), Dest: gref(dA, 0, 2048), Len: 2048, Flags: CopySourceGref | CopyDestGref}, Okay},
		{"own frame to own frame", CopyOp{Source: frame(1, 0), Dest: frame(2, 0), Len: 16}, Okay},
		{"gref of DOMID_SELF", CopyOp{Source: gref(DomIDSelf, 0, 0), Dest: frame(2, 0), Len: 16, Flags: CopySourceGref}, Okay},
		{"zero length", CopyOp{Source: gref(dA, 0, PageSize), Dest: frame(1, PageSize), Flags: CopySourceGref}, Okay},
		{"from readonly grant", CopyOp{Source: gref(dA, 1, 0), Dest: frame(1, 0), Len: 64, Flags: CopySourceGref}, Okay},
		{"to readonly grant", CopyOp{Source: frame(1, 0), Dest: gref(dA, 1, 0), Len: 64, Flags: CopyDestGref}, GeneralError},
		{"source crosses page", CopyOp{Source: gref(dA, 0, 4000), Dest: frame(1, 0), Len: 97, Flags: CopySourceGref}, BadCopyArg},
		{"dest crosses page", CopyOp{Source: frame(1, 0), Dest: gref(dA, 0, 1), Len: PageSize, Flags: CopyDestGref}, BadCopyArg},
		{"offset beyond page", CopyOp{Source: frame(1, 0xffff), Dest: frame(2, 0), Len: 1}, BadCopyArg},
		{"foreign frame source", CopyOp{Source: CopyPtr{GFN: 1, Dom: dA}, Dest: frame(1, 0), Len: 8}, PermissionDenied},
		{"foreign frame dest", CopyOp{Source: frame(1, 0), Dest: CopyPtr{GFN: 1, Dom: dA}, Len: 8}, PermissionDenied},
		{"own id is not DOMID_SELF", CopyOp{Source: CopyPtr{GFN: 1, Dom: dB}, Dest: frame(1, 0), Len: 8}, PermissionDenied},
		{"unknown source domain", CopyOp{Source: gref(9, 0, 0), Dest: frame(1, 0), Len: 8, Flags: CopySourceGref}, BadDomain},
		{"unknown dest domain", CopyOp{Source: frame(1, 0), Dest: gref(9, 0, 0), Len: 8, Flags: CopyDestGref}, BadDomain},
		{"bad source ref", CopyOp{Source: gref(dA, worldRefs, 0), Dest: frame(1, 0), Len: 8, Flags: CopySourceGref}, BadGntref},
		{"bad dest ref", CopyOp{Source: gref(dA, 0, 0), Dest: gref(dA, 99, 0), Len: 8, Flags: CopySourceGref | CopyDestGref}, BadGntref},
		{"ref granted to another", CopyOp{Source: gref(dA, 2, 0), Dest: frame(1, 0), Len: 8, Flags: CopySourceGref}, GeneralError},
		{"own frame is a hole", CopyOp{Source: frame(worldHole, 0), Dest: frame(1, 0), Len: 8}, BadPage},
		{"own frame beyond memory", CopyOp{Source: frame(1, 0), Dest: frame(1<<60, 0), Len: 8}, BadPage},
		{"granted frame is a hole", CopyOp{Source: gref(dA, 3, 0), Dest: frame(1, 0), Len: 8, Flags: CopySourceGref}, BadPage},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			w := newWorld(t, Config{}, dA, dB, dC)
			ta, ma, mb := w.tables[dA], w.mems[dA], w.mems[dB]
			ta.grant(0, GTFPermitAccess, dB, 2)
			ta.grant(1, GTFPermitAccess|GTFReadonly, dB, 3)
			ta.grant(2, GTFPermitAccess, dC, 4)
			ta.grant(3, GTFPermitAccess, dB, worldHole)
			w.tables[dB].grant(0, GTFPermitAccess, dB, 5)
			for gfn := range uint64(worldPages) {
				ma.fill(gfn, byte(gfn*16+1))
				mb.fill(gfn, byte(gfn*16+2))
			}
			memOf := func(p CopyPtr, gref bool) (*fakeMem, uint64) {
				if !gref {
					return mb, p.GFN
				}
				if p.Dom == DomIDSelf {
					return mb, 5
				}
				return ma, map[uint32]uint64{0: 2, 1: 3}[p.Ref]
			}
			srcM, srcGFN := memOf(tc.op.Source, tc.op.Flags&CopySourceGref != 0)
			var want []byte
			if tc.want == Okay {
				want = srcM.page(srcGFN)[tc.op.Source.Offset:][:tc.op.Len]
			}
			headers := [4]uint32{}
			for i := range headers {
				headers[i] = ta.headers[i].Load()
			}

			err := w.s.Copy(dB, tc.op)
			wantStatus(t, "Copy", err, tc.want)
			for i := range headers {
				if h := ta.headers[i].Load(); h != headers[i] {
					t.Errorf("entry %d: %#x after the copy, %#x before", i, h, headers[i])
				}
			}
			if tc.want == Okay {
				dstM, dstGFN := memOf(tc.op.Dest, tc.op.Flags&CopyDestGref != 0)
				if got := dstM.page(dstGFN)[tc.op.Dest.Offset:][:tc.op.Len]; !bytes.Equal(got, want) {
					t.Errorf("copied data differ")
				}
			}
			if w.s.IsPinned(dA, 2) || w.s.IsPinned(dA, 3) {
				t.Error("copy left a pin")
			}
			checkInvariants(t, w.s, nil)
		})
	}
	t.Run("unknown caller", func(t *testing.T) {
		w := newWorld(t, Config{}, dA)
		err := w.s.Copy(9, CopyOp{Source: CopyPtr{Dom: DomIDSelf}, Dest: CopyPtr{Dom: DomIDSelf}})
		wantStatus(t, "Copy", err, BadDomain)
	})
}

// A copy of a mapped grant leaves the mapping's flags and pins as they were.
func TestCopyWhileMapped(t *testing.T) {
	w := newWorld(t, Config{}, dA, dB)
	tb := w.tables[dA]
	tb.grant(0, GTFPermitAccess, dB, 2)
	h, _, err := w.s.Map(dB, dA, 0, true, 0)
	if err != nil {
		t.Fatal(err)
	}
	w.mems[dB].fill(1, 9)
	err = w.s.Copy(dB, CopyOp{Source: CopyPtr{GFN: 1, Dom: DomIDSelf}, Dest: CopyPtr{Ref: 0, Dom: dA}, Len: PageSize, Flags: CopyDestGref})
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(w.mems[dA].page(2), w.mems[dB].page(1)) {
		t.Fatal("data not copied")
	}
	if f := tb.flags(0); f != GTFPermitAccess|GTFReading {
		t.Fatalf("after a write copy of a read-mapped grant: flags %#x", f)
	}
	checkInvariants(t, w.s, nil)
	if _, err := w.s.Unmap(dB, h); err != nil {
		t.Fatal(err)
	}
	checkInvariants(t, w.s, nil)
}

// The flags are set while a copy is under way, and RemoveDomain waits for it.
func TestCopyInFlight(t *testing.T) {
	w := newWorld(t, Config{}, dA, dB)
	tb, ma := w.tables[dA], w.mems[dA]
	tb.grant(0, GTFPermitAccess, dB, 2)
	ma.block, ma.inRead = make(chan struct{}), make(chan struct{}, 1)
	done := make(chan error)
	go func() {
		done <- w.s.Copy(dB, CopyOp{Source: CopyPtr{Ref: 0, Dom: dA}, Dest: CopyPtr{GFN: 1, Dom: DomIDSelf}, Len: 8, Flags: CopySourceGref})
	}()
	<-ma.inRead
	if f := tb.flags(0); f != GTFPermitAccess|GTFReading {
		t.Fatalf("during the copy: flags %#x", f)
	}
	if !w.s.IsPinned(dA, 2) {
		t.Fatal("frame not pinned during the copy")
	}
	if tb.revoke(0) {
		t.Fatal("revoked during the copy")
	}
	removed := make(chan []Pin)
	go func() {
		_, pins, _ := w.s.RemoveDomain(dA)
		removed <- pins
	}()
	select {
	case <-removed:
		t.Fatal("RemoveDomain returned during a copy from the domain")
	case <-time.After(20 * time.Millisecond):
	}
	close(ma.block)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if pins := <-removed; len(pins) != 0 {
		t.Fatalf("pins %+v after the copy ended", pins)
	}
	checkInvariants(t, w.s, nil)
}

// A Memory failing mid-copy is a general error and releases the pins.
func TestCopyMemoryError(t *testing.T) {
	w := newWorld(t, Config{}, dA, dB)
	w.tables[dA].grant(0, GTFPermitAccess, dB, 2)
	w.mems[dB].failWrite = true
	err := w.s.Copy(dB, CopyOp{Source: CopyPtr{Ref: 0, Dom: dA}, Dest: CopyPtr{GFN: 1, Dom: DomIDSelf}, Len: 8, Flags: CopySourceGref})
	wantStatus(t, "Copy into failing memory", err, GeneralError)
	if f := w.tables[dA].flags(0); f != GTFPermitAccess {
		t.Fatalf("flags %#x after a failed copy", f)
	}
	checkInvariants(t, w.s, nil)
}

func TestSetupQuery(t *testing.T) {
	w := newWorld(t, Config{MaxFrames: 4}, dA)
	nr, mx, err := w.s.Query(dA)
	if err != nil || nr != 1 || mx != 4 { // worldRefs entries: one frame
		t.Fatalf("Query = %d, %d, %v", nr, mx, err)
	}
	_, _, err = w.s.Query(9)
	wantStatus(t, "Query", err, BadDomain)
	for _, tc := range []struct {
		nr, want uint32
		st       Status
	}{{0, 1, Okay}, {1, 1, Okay}, {3, 3, Okay}, {4, 4, Okay}, {5, 0, GeneralError}} {
		got, err := w.s.SetupTable(dA, tc.nr)
		wantStatus(t, "SetupTable", err, tc.st)
		if got != tc.want {
			t.Errorf("SetupTable(%d) = %d, want %d", tc.nr, got, tc.want)
		}
	}
	_, err = w.s.SetupTable(9, 1)
	wantStatus(t, "SetupTable", err, BadDomain)
	big := newTable(3*EntriesPerFrame + 1)
	if err := w.s.AddDomain(dB, big, newMem(1)); err != nil {
		t.Fatal(err)
	}
	if nr, _, _ := w.s.Query(dB); nr != 4 {
		t.Fatalf("a table of %d entries: %d frames", big.Len(), nr)
	}
	if got, _ := w.s.SetupTable(dB, 2); got != 4 {
		t.Fatalf("SetupTable shrinks to %d", got)
	}
}

func TestAddDomain(t *testing.T) {
	s := NewSystem(Config{})
	wantStatus(t, "reserved id", s.AddDomain(DomIDSelf, newTable(1), newMem(1)), BadDomain)
	wantStatus(t, "nil table", s.AddDomain(1, nil, newMem(1)), GeneralError)
	if err := s.AddDomain(1, newTable(1), newMem(1)); err != nil {
		t.Fatal(err)
	}
	wantStatus(t, "twice", s.AddDomain(1, newTable(1), newMem(1)), GeneralError)
}

// Several goroutines mapping, unmapping and copying, with a granter
// revoking and re-granting as a correct guest does.
func TestConcurrent(t *testing.T) {
	w := newWorld(t, Config{}, dA, dB, dC)
	ta := w.tables[dA]
	grantee := func(ref uint32) DomID { return []DomID{dB, dC}[ref%2] }
	for ref := range uint32(worldRefs) {
		ta.grant(ref, GTFPermitAccess, grantee(ref), ref%5)
	}
	var mappers, revoker sync.WaitGroup
	stop := make(chan struct{})
	revoker.Add(1)
	go func() { // the granter revokes and re-grants unused entries
		defer revoker.Done()
		for j := uint32(0); ; j++ {
			select {
			case <-stop:
				return
			default:
			}
			ref := j % worldRefs
			if ta.revoke(ref) {
				ta.grant(ref, GTFPermitAccess, grantee(ref), ref%5)
			}
		}
	}()
	for i := range 6 {
		d := []DomID{dB, dC}[i%2]
		mappers.Add(1)
		go func() {
			defer mappers.Done()
			var hs []uint32
			for j := range 2000 {
				ref := uint32(j*7+i) % worldRefs
				switch {
				case j%5 == 4:
					err := w.s.Copy(d, CopyOp{
						Source: CopyPtr{Ref: ref, Dom: dA}, Dest: CopyPtr{GFN: 1, Dom: DomIDSelf},
						Len: 64, Flags: CopySourceGref,
					})
					if st := StatusOf(err); st != Okay && st != GeneralError {
						t.Errorf("Copy: %v", err)
					}
				case len(hs) > 3 || (j%3 == 2 && len(hs) > 0):
					if _, err := w.s.Unmap(d, hs[0]); err != nil {
						t.Error(err)
						return
					}
					hs = hs[1:]
				default:
					h, _, err := w.s.Map(d, dA, ref, j%2 == 0, 0)
					if err == nil {
						hs = append(hs, h)
					} else if st := StatusOf(err); st != GeneralError {
						t.Errorf("Map: %v", err) // revoked or another's: general_error only
					}
				}
			}
			for _, h := range hs {
				if _, err := w.s.Unmap(d, h); err != nil {
					t.Error(err)
				}
			}
		}()
	}
	mappers.Wait()
	close(stop)
	revoker.Wait()
	checkInvariants(t, w.s, nil)
	for ref := range uint32(worldRefs) {
		if f := ta.flags(ref); f&(GTFReading|GTFWriting) != 0 {
			t.Errorf("ref %d: flags %#x at rest", ref, f)
		}
	}
}

func BenchmarkMapUnmap(b *testing.B) {
	w := newWorld(b, Config{}, dA, dB)
	w.tables[dA].grant(0, GTFPermitAccess, dB, 1)
	for b.Loop() {
		h, _, err := w.s.Map(dB, dA, 0, false, 0)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := w.s.Unmap(dB, h); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkMapUnmapParallel(b *testing.B) {
	w := newWorld(b, Config{}, dA, dB)
	w.tables[dA].grant(0, GTFPermitAccess, dB, 1)
	h0, _, err := w.s.Map(dB, dA, 0, false, 0) // keep the entry pinned: no flag changes
	if err != nil {
		b.Fatal(err)
	}
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			h, _, err := w.s.Map(dB, dA, 0, true, 0)
			if err != nil {
				b.Error(err)
				return
			}
			if _, err := w.s.Unmap(dB, h); err != nil {
				b.Error(err)
				return
			}
		}
	})
	if _, err := w.s.Unmap(dB, h0); err != nil {
		b.Fatal(err)
	}
}
