package hv

import (
	"encoding/binary"
	"fmt"

	"tamavisor/ept"
	"tamavisor/hv/grant"
	"tamavisor/mem"
	"tamavisor/xen"
)

// GrantFrames is the size of every domain's grant table, in frames (512
// entries each); the frames are allocated when the domain is created.
const GrantFrames = 4

// MaxGrantMappings bounds the grants a domain maps at once (a back end
// maps a few rings and their data pages per front end).
const MaxGrantMappings = 1024

// grantTable is a domain's grant table: frames the hypervisor owns, which
// the domain maps into its physical space (XENMAPSPACE_grant_table).
type grantTable struct {
	frames []uint64 // HPAs
	gpas   []uint64 // where the domain mapped each frame (0: nowhere)
	pages  [][]byte
}

func (t *grantTable) Len() int { return len(t.frames) * grant.EntriesPerFrame }

func (t *grantTable) entry(ref uint32) []byte {
	return t.pages[ref/grant.EntriesPerFrame][ref%grant.EntriesPerFrame*grant.EntrySize:]
}

func (t *grantTable) LoadHeader(ref uint32) uint32 { return load32(t.entry(ref)) }

func (t *grantTable) CompareAndSwapHeader(ref uint32, old, new uint32) bool {
	return cas32(t.entry(ref), old, new)
}

func (t *grantTable) LoadFrame(ref uint32) uint32 { return load32(t.entry(ref)[4:]) }

// grantMemory is a domain's memory as the grant package sees it.
type grantMemory struct{ d *Domain }

func (m grantMemory) ReadGPA(gpa uint64, b []byte) error  { return m.d.Mem.ReadGPA(gpa, b) }
func (m grantMemory) WriteGPA(gpa uint64, b []byte) error { return m.d.Mem.WriteGPA(gpa, b) }

// Owns says whether gpa is the domain's own RAM: inside its memory and not
// a page the hypervisor mapped there (shared_info, grant frames, other
// domains' grants).
func (m grantMemory) Owns(gpa uint64) bool {
	_, ok := m.d.ramFrame(gpa)
	return ok
}

// addGrants gives a new domain its grant table and, for a domain a
// privileged domain serves, the reserved entries that grant its console
// and store pages to that domain (GNTTAB_RESERVED_CONSOLE and
// GNTTAB_RESERVED_XENSTORE, as Xen's domain builder writes them).
func (h *Hypervisor) addGrants(d *Domain) error {
	t := &d.grants
	for i := 0; i < GrantFrames; i++ {
		pa, err := h.Frames.Alloc()
		if err != nil {
			return fmt.Errorf("no frame for the grant table: %w", err)
		}
		t.frames = append(t.frames, pa)
		t.gpas = append(t.gpas, 0)
		b, err := h.Phys.Slice(pa, mem.PageSize)
		if err != nil {
			return err
		}
		clear(b)
		t.pages = append(t.pages, b)
	}
	if dom0 := h.Privileged(); dom0 != nil && !d.Privileged {
		// The frame first, then the flags that make the entry valid.
		for ref, gpa := range map[uint32]uint64{grant.ReservedConsole: d.ConsoleGPA, grant.ReservedStore: d.StoreGPA} {
			binary.LittleEndian.PutUint32(t.entry(ref)[4:], uint32(gpa>>12))
			cas32(t.entry(ref), 0, grant.Header(grant.GTFPermitAccess, grant.DomID(dom0.ID)))
		}
	}
	return h.Grants.AddDomain(grant.DomID(d.ID), t, grantMemory{d})
}

// grantFrame returns a domain's grant-table frame idx for add_to_physmap.
func (h *Hypervisor) grantFrame(d *Domain, idx uint64) (hpa uint64, gpa *uint64, ok bool) {
	if idx >= uint64(len(d.grants.frames)) {
		return 0, nil, false
	}
	return d.grants.frames[idx], &d.grants.gpas[idx], true
}

// maxGrantOps bounds the operations of one grant_table_op call.
const maxGrantOps = 512

// grantTableOp is the grant_table_op hypercall (public/grant_table.h):
// count operations of one kind, each with its own status.
func (h *Hypervisor) grantTableOp(v *VCPU, cmd, uop, count uint64) int64 {
	if count > maxGrantOps {
		return errno(xen.EINVAL)
	}
	var size int
	switch cmd {
	case grant.OpMapGrantRef:
		size = grant.MapGrantRefSize
	case grant.OpUnmapGrantRef:
		size = grant.UnmapGrantRefSize
	case grant.OpSetupTable:
		size = grant.SetupTableSize
	case grant.OpQuerySize:
		size = grant.QuerySizeSize
	case grant.OpCopy:
		size = grant.CopyOpSize
	default:
		return errno(xen.ENOSYS)
	}
	mark := v.scratchUsed
	for i := uint64(0); i < count; i++ {
		at := uop + i*uint64(size)
		b, err := v.argIn(at, size)
		if err != nil {
			return faultErrno(err)
		}
		h.grantOne(v, cmd, b)
		if err := v.writeLinear(at, b); err != nil {
			return faultErrno(err)
		}
		v.scratchUsed = mark // b is done with: the next operation reuses its bytes
	}
	return 0
}

// grantOne performs one operation, writing its status (and results) into b.
func (h *Hypervisor) grantOne(v *VCPU, cmd uint64, b []byte) {
	d := v.Dom
	self := grant.DomID(d.ID)
	switch cmd {
	case grant.OpMapGrantRef:
		m, _ := grant.DecodeMapGrantRef(b)
		m.Status = h.grantMap(d, &m)
		m.Encode(b)
	case grant.OpUnmapGrantRef:
		u, _ := grant.DecodeUnmapGrantRef(b)
		u.Status = h.grantUnmap(d, &u)
		u.Encode(b)
	case grant.OpSetupTable:
		s, _ := grant.DecodeSetupTable(b)
		s.Status = grant.Okay
		if !d.isSelf(uint16(s.Dom)) {
			s.Status = grant.PermissionDenied
		} else if _, err := h.Grants.SetupTable(self, s.NrFrames); err != nil {
			s.Status = grant.StatusOf(err) // beyond GrantFrames: the system's limit
		}
		s.Encode(b)
	case grant.OpQuerySize:
		q, _ := grant.DecodeQuerySize(b)
		q.Status = grant.Okay
		if !d.isSelf(uint16(q.Dom)) {
			q.Status = grant.PermissionDenied
		} else if n, max, err := h.Grants.Query(self); err != nil {
			q.Status = grant.StatusOf(err)
		} else {
			q.NrFrames, q.MaxNrFrames = n, max
		}
		q.Encode(b)
	case grant.OpCopy:
		c, _ := grant.DecodeCopyOp(b)
		c.Status = grant.StatusOf(h.Grants.Copy(self, c))
		c.Encode(b)
	}
}

// grantMap maps another domain's grant at a guest-physical page of d above
// its RAM (GNTMAP_host_map; host_addr is a GPA for HVM and PVH guests).
func (h *Hypervisor) grantMap(d *Domain, m *grant.MapGrantRef) grant.Status {
	readonly, err := grant.ParseMapFlags(m.Flags)
	if err != nil {
		return grant.StatusOf(err)
	}
	gpa := m.HostAddr
	if gpa%mem.PageSize != 0 || gpa < d.MemSize || gpa >= maxPhysmapGPA {
		return grant.BadVirtAddr
	}
	if _, ok := d.EPT.Translate(gpa); ok {
		return grant.BadVirtAddr // something is mapped there already
	}
	granter := h.Domain(uint16(m.Dom))
	if granter == nil || granter.State >= DomainDying {
		return grant.BadDomain
	}
	handle, gfn, err := h.Grants.Map(grant.DomID(d.ID), grant.DomID(m.Dom), m.Ref, readonly, gpa)
	if err != nil {
		return grant.StatusOf(err)
	}
	// Only the granter's own RAM is granted: a page the hypervisor mapped
	// over it (shared_info, a grant-table frame, another domain's grant)
	// is not the granter's to give.
	src, ok := granter.ramFrame(gfn << 12)
	perm := ept.RW
	if readonly {
		perm = ept.Read
	}
	if ok {
		err = h.mapPage(d, gpa, src, perm)
	}
	if !ok || err != nil {
		h.Grants.Unmap(grant.DomID(d.ID), handle)
		return grant.BadPage
	}
	d.grantHPA[handle] = src
	d.grantAt[gpa] = handle
	m.Handle = handle
	return grant.Okay
}

// grantMappedAt says whether d maps another domain's grant at gpa.
func (h *Hypervisor) grantMappedAt(d *Domain, gpa uint64) bool {
	_, ok := d.grantAt[gpa]
	return ok
}

// grantUnmap removes a grant mapping: from the EPT, then from the books;
// the frame of a granter that has since died is freed with its last
// mapping.
func (h *Hypervisor) grantUnmap(d *Domain, u *grant.UnmapGrantRef) grant.Status {
	m, err := h.Grants.Lookup(grant.DomID(d.ID), u.Handle)
	if err != nil {
		return grant.StatusOf(err)
	}
	if u.HostAddr != 0 && u.HostAddr != m.HostAddr {
		return grant.GeneralError
	}
	if err := h.unmapPage(d, m.HostAddr); err != nil {
		return grant.GeneralError
	}
	m, err = h.Grants.Unmap(grant.DomID(d.ID), u.Handle)
	if err != nil {
		return grant.StatusOf(err)
	}
	h.grantReleased(d, m)
	return grant.Okay
}

// grantReleased forgets a mapping and frees a dead granter's frame whose
// last mapping it was.
func (h *Hypervisor) grantReleased(d *Domain, m grant.Mapping) {
	hpa := d.grantHPA[m.Handle]
	delete(d.grantHPA, m.Handle)
	delete(d.grantAt, m.HostAddr)
	if m.FreeFrame && h.pinned[hpa] {
		delete(h.pinned, hpa)
		h.Frames.Free(hpa)
	}
}

// removeGrants takes a dying domain out of the grant system: its mappings
// of others' grants end, and the frames of its grants that others still map
// stay allocated (pinned) until their last mapping ends.
func (h *Hypervisor) removeGrants(d *Domain) {
	released, pinned, err := h.Grants.RemoveDomain(grant.DomID(d.ID))
	if err != nil {
		return
	}
	for _, m := range released {
		h.grantReleased(d, m)
	}
	// The frames mapped were the domain's RAM (grantMap maps nothing
	// else), whatever its EPT shows at those pages now.
	for _, p := range pinned {
		if hpa, ok := d.ramHPA(p.Frame << 12); ok {
			h.pinned[hpa] = true
		}
	}
}

// freeGrantTable returns a domain's grant-table frames.
func (h *Hypervisor) freeGrantTable(d *Domain) (n int, err error) {
	for _, pa := range d.grants.frames {
		if e := h.Frames.Free(pa); e != nil && err == nil {
			err = e
		}
		n++
	}
	d.grants = grantTable{}
	return n, err
}
