package hv

import (
	"encoding/binary"
	"fmt"

	"tamavisor/ept"
	"tamavisor/hv/grant"
	"tamavisor/mem"
	"tamavisor/xen"
)

const (
	// An e820 entry as XENMEM_memory_map returns it: uint64 addr, uint64
	// size, uint32 type, packed (20 bytes).
	e820EntrySize = 20

	// maxPhysmapGPA bounds where a guest may place a page (the EPT walks
	// 48 bits; nothing a domain needs lies above 64 GiB).
	maxPhysmapGPA = 64 << 30
)

// memoryOp implements the memory_op sub-operations a PVH guest uses.
func (h *Hypervisor) memoryOp(v *VCPU, cmd, arg uint64) int64 {
	switch cmd {
	case xen.MemOpAddToPhysmap:
		b, err := v.argIn(arg, xen.AddToPhysmapSize)
		if err != nil {
			return faultErrno(err)
		}
		le := binary.LittleEndian
		dom := le.Uint16(b[0:])
		space := le.Uint32(b[4:])
		idx := le.Uint64(b[8:])
		gpfn := le.Uint64(b[16:])
		if !v.Dom.isSelf(dom) {
			return errno(xen.EPERM)
		}
		return h.addToPhysmap(v.Dom, space, idx, gpfn)
	case xen.MemOpMemoryMap:
		b, err := v.argIn(arg, xen.MemoryMapSize)
		if err != nil {
			return faultErrno(err)
		}
		max := binary.LittleEndian.Uint32(b[0:])
		buf := binary.LittleEndian.Uint64(b[8:])
		m := v.Dom.memoryMap
		n := min(int(max), len(m))
		out := make([]byte, n*e820EntrySize)
		for i := 0; i < n; i++ {
			e := out[i*e820EntrySize:]
			binary.LittleEndian.PutUint64(e[0:], m[i].Addr)
			binary.LittleEndian.PutUint64(e[8:], m[i].Size)
			binary.LittleEndian.PutUint32(e[16:], m[i].Type)
		}
		if err := v.writeLinear(buf, out); err != nil {
			return faultErrno(err)
		}
		binary.LittleEndian.PutUint32(b[0:], uint32(n))
		if err := v.writeLinear(arg, b[:4]); err != nil {
			return faultErrno(err)
		}
		return 0
	case xen.MemOpCurrentReservation, xen.MemOpMaximumReservation:
		b, err := v.argIn(arg, 2)
		if err != nil {
			return faultErrno(err)
		}
		if dom := binary.LittleEndian.Uint16(b); !v.Dom.isSelf(dom) {
			return errno(xen.EPERM)
		}
		return int64(v.Dom.MemSize / mem.PageSize)
	}
	return errno(xen.ENOSYS)
}

// addToPhysmap maps one of the hypervisor's pages for a domain (its
// shared_info, or a frame of its grant table) at a guest frame the domain
// chooses, replacing what was there (Xen's XENMEM_add_to_physmap): the RAM
// frame it hides stays the domain's and is freed with it.
func (h *Hypervisor) addToPhysmap(d *Domain, space uint32, idx, gpfn uint64) int64 {
	gpa := gpfn << 12
	if gpfn >= maxPhysmapGPA>>12 {
		return errno(xen.EINVAL)
	}
	var hpa uint64
	var old *uint64
	switch space {
	case xen.MapSpaceSharedInfo:
		if idx != 0 {
			return errno(xen.EINVAL)
		}
		hpa, old = d.sharedInfo, &d.sharedGPA
	case xen.MapSpaceGrantTable:
		var ok bool
		if hpa, old, ok = h.grantFrame(d, idx); !ok {
			return errno(xen.EINVAL)
		}
	default:
		return errno(xen.EINVAL)
	}
	if h.grantMappedAt(d, gpa) {
		// Replacing a grant mapping behind the grant system's back
		// would leave its handle, and the granter's in-use flags, stuck.
		return errno(xen.EBUSY)
	}
	if h.Grants.IsPinned(grant.DomID(d.ID), gpfn) {
		// A page of the domain's that another domain has mapped or is
		// copying through a grant keeps its frame while pinned (the
		// grant system's promise): the grant must not start to reach
		// the hypervisor's page put here.
		return errno(xen.EBUSY)
	}
	if err := h.mapPage(d, gpa, hpa, ept.RW); err != nil {
		h.warn(d, "add_to_physmap space %d index %d at GPA 0x%x: %v", space, idx, gpa, err)
		return errno(xen.EINVAL)
	}
	// The page leaves its old place, if it is still there: another page
	// may have been put over it since (its record then still names the
	// place, but the EPT does not).
	if *old != 0 && *old != gpa {
		if m, ok := d.EPT.Translate(*old); ok && m.HPA == hpa {
			h.unmapPage(d, *old)
		}
	}
	*old = gpa
	return 0
}

// mapPage maps a host frame at a guest-physical page, replacing whatever
// the domain had there, and flushes the domain's EPT translations.
func (h *Hypervisor) mapPage(d *Domain, gpa, hpa uint64, perm ept.Perm) error {
	if _, ok := d.EPT.Translate(gpa); ok {
		if err := d.EPT.Unmap(gpa, mem.PageSize); err != nil {
			return err
		}
	}
	if err := d.EPT.Map(gpa, hpa, mem.PageSize, perm, ept.WB); err != nil {
		return err
	}
	return h.flush(d)
}

// unmapPage removes a guest-physical page, leaving a hole.
func (h *Hypervisor) unmapPage(d *Domain, gpa uint64) error {
	if err := d.EPT.Unmap(gpa, mem.PageSize); err != nil {
		return err
	}
	return h.flush(d)
}

// flush invalidates the domain's cached EPT translations, and only then
// returns the EPT tables it freed.
func (h *Hypervisor) flush(d *Domain) error {
	if err := h.flushEPT(d.EPT.Pointer(false)); err != nil {
		return fmt.Errorf("INVEPT: %w", err)
	}
	if d.tables != nil {
		d.tables.release()
	}
	return nil
}
