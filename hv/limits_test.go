package hv

import (
	"strings"
	"testing"

	"tamavisor/hv/grant"
	"tamavisor/xen"
)

// A domain's EPT tables are bounded: past its limit, AllocTable refuses
// without touching the frame pool.
func TestEPTTableLimit(t *testing.T) {
	tbl := &eptTables{held: 70, limit: 70}
	if _, err := tbl.AllocTable(); err == nil || !strings.Contains(err.Error(), "limit") {
		t.Errorf("AllocTable at the limit: %v", err)
	}
	if tbl.held != 70 {
		t.Errorf("held %d after a refused allocation", tbl.held)
	}
}

// add_to_physmap over a page where the domain maps a grant is refused
// (-EBUSY), and the grant mapping stays usable and unmappable.
func TestAddToPhysmapOverGrantMapping(t *testing.T) {
	w, d1, d2, _ := newGrantWorld(t)
	at, handle := mapGranted(t, d1, d2)
	if r := d2.addToPhysmap(t, xen.DomIDSelf, 0, 0, at>>12); r != -xen.EBUSY {
		t.Errorf("add_to_physmap(shared_info) over the grant mapping = %d, want %d", r, -xen.EBUSY)
	}
	if st := d2.unmapGrant(t, at, handle); st != grant.Okay {
		t.Errorf("unmap after the refused add_to_physmap: %v", st)
	}
	if r := d2.addToPhysmap(t, xen.DomIDSelf, 0, 0, at>>12); r != 0 {
		t.Errorf("add_to_physmap(shared_info) after the unmap = %d", r)
	}
	w.check(t)
}

// A page of the granter's that another domain maps through a grant stays
// where it is while pinned: add_to_physmap over it is refused, and allowed
// again once the grant is unmapped.
func TestAddToPhysmapOverPinnedGrant(t *testing.T) {
	w, d1, d2, _ := newGrantWorld(t)
	at, handle := mapGranted(t, d1, d2)
	if r := d1.addToPhysmap(t, xen.DomIDSelf, xen.MapSpaceSharedInfo, 0, grantedGFN); r != -xen.EBUSY {
		t.Errorf("add_to_physmap(shared_info) over a pinned granted page = %d, want %d", r, -xen.EBUSY)
	}
	if st := d2.unmapGrant(t, at, handle); st != grant.Okay {
		t.Fatalf("unmap: %v", st)
	}
	if r := d1.addToPhysmap(t, xen.DomIDSelf, xen.MapSpaceSharedInfo, 0, grantedGFN); r != 0 {
		t.Errorf("add_to_physmap(shared_info) once the grant is unmapped = %d", r)
	}
	w.check(t)
}
