package hv

import (
	"encoding/binary"
	"errors"
	"fmt"

	"tamavisor/ept"
	"tamavisor/mem"
)

// PhysMem is host-physical memory (a *mem.Phys in the hypervisor).
type PhysMem interface {
	Slice(addr, n uint64) ([]byte, error)
}

// GuestMemory is a domain's guest-physical memory, reached only through the
// domain's own EPT: a GPA the EPT does not map, or maps without the needed
// permission, is an error, never another domain's memory.
type GuestMemory struct {
	EPT  *ept.EPT
	Phys PhysMem

	// tlb caches the EPT's answers for a few guest pages, with the host
	// page's bytes (a hypercall reads its arguments and the guest's page
	// tables from the same few pages); it is dropped whenever the EPT's
	// generation moves.
	tlb     [8]tlbEntry
	tlbGen  uint64
	tlbNext int
}

type tlbEntry struct {
	valid bool
	page  uint64 // guest page address
	perm  ept.Perm
	data  []byte // the host page's bytes
}

// translate finds the host page behind a guest page, through the cache.
func (g *GuestMemory) translate(gpa uint64) (*tlbEntry, error) {
	page := gpa &^ (mem.PageSize - 1)
	if gen := g.EPT.Generation(); gen != g.tlbGen {
		g.tlb = [len(g.tlb)]tlbEntry{}
		g.tlbGen = gen
	}
	for i := range g.tlb {
		if e := &g.tlb[i]; e.valid && e.page == page {
			return e, nil
		}
	}
	m, ok := g.EPT.Translate(page)
	if !ok {
		return nil, fmt.Errorf("%w: GPA 0x%x is not mapped", ErrFault, gpa)
	}
	data, err := g.Phys.Slice(m.HPA&^(mem.PageSize-1), mem.PageSize)
	if err != nil {
		return nil, fmt.Errorf("GPA 0x%x: %w", gpa, err)
	}
	e := &g.tlb[g.tlbNext]
	*e = tlbEntry{valid: true, page: page, perm: m.Perm, data: data}
	g.tlbNext = (g.tlbNext + 1) % len(g.tlb)
	return e, nil
}

// ErrFault is matched by every error of a guest memory access the guest's
// own mappings do not allow (Xen answers -EFAULT).
var ErrFault = errors.New("bad guest address")

// page returns the bytes of the guest page holding gpa, from gpa to the end
// of the page (at most n), checking the EPT permission need.
func (g *GuestMemory) page(gpa, n uint64, need ept.Perm) ([]byte, error) {
	e, err := g.translate(gpa)
	if err != nil {
		return nil, err
	}
	if e.perm&need != need {
		return nil, fmt.Errorf("%w: GPA 0x%x is mapped %v, the access needs %v", ErrFault, gpa, e.perm, need)
	}
	off := gpa % mem.PageSize
	n = min(n, mem.PageSize-off)
	return e.data[off : off+n : off+n], nil
}

// load64 reads the 8-byte-aligned little-endian word at gpa (a paging
// entry) in place, without ReadGPA's copy.
func (g *GuestMemory) load64(gpa uint64) (uint64, error) {
	s, err := g.page(gpa, 8, ept.Read)
	if err != nil {
		return 0, err
	}
	if len(s) < 8 {
		return 0, fmt.Errorf("%w: GPA 0x%x: an 8-byte entry crosses a page", ErrFault, gpa)
	}
	return binary.LittleEndian.Uint64(s), nil
}

// ReadGPA copies guest-physical memory at gpa into b, page by page.
func (g *GuestMemory) ReadGPA(gpa uint64, b []byte) error {
	for len(b) > 0 {
		s, err := g.page(gpa, uint64(len(b)), ept.Read)
		if err != nil {
			return err
		}
		n := copy(b, s)
		b, gpa = b[n:], gpa+uint64(n)
	}
	return nil
}

// WriteGPA copies b into guest-physical memory at gpa, page by page.
func (g *GuestMemory) WriteGPA(gpa uint64, b []byte) error {
	for len(b) > 0 {
		s, err := g.page(gpa, uint64(len(b)), ept.Write)
		if err != nil {
			return err
		}
		n := copy(s, b)
		b, gpa = b[n:], gpa+uint64(n)
	}
	return nil
}

// WriteAt implements io.WriterAt over GPAs (the loader writes images with it).
func (g *GuestMemory) WriteAt(b []byte, off int64) (int, error) {
	if err := g.WriteGPA(uint64(off), b); err != nil {
		return 0, err
	}
	return len(b), nil
}

// Paging is the guest's paging state, from its VMCS.
type Paging struct {
	CR0, CR3, CR4, EFER uint64
}

// Paging-related control bits (SDM Vol. 3A 2.5, 4.1.1).
const (
	cr0PG   = 1 << 31
	cr0WP   = 1 << 16
	cr4PAE  = 1 << 5
	cr4LA57 = 1 << 12
	eferLMA = 1 << 10
)

// Linear translates a guest linear address to a GPA the way the guest's
// MMU would for a supervisor access (SDM Vol. 3A 4.5 "4-Level Paging"):
// paging off means linear = physical; 4-level paging is walked through the
// guest's own page tables, which are themselves read through the EPT.
// 32-bit paging modes are not supported yet.
func (g *GuestMemory) Linear(p Paging, gva uint64, write bool) (uint64, error) {
	gpa, _, err := g.walk(p, gva, write)
	return gpa, err
}

// walk is Linear, also telling whether the translation allows a supervisor
// write (CR0.WP clear, or every level's R/W set: SDM Vol. 3A 4.6.1), so that
// a cached translation answers reads and writes alike.
func (g *GuestMemory) walk(p Paging, gva uint64, write bool) (gpa uint64, writable bool, err error) {
	if p.CR0&cr0PG == 0 {
		if p.EFER&eferLMA == 0 {
			gva &= 0xffff_ffff
		}
		return gva, true, nil
	}
	if p.EFER&eferLMA == 0 || p.CR4&cr4PAE == 0 {
		return 0, false, fmt.Errorf("%w: linear 0x%x: the guest uses 32-bit paging, which tamavisor does not walk", ErrFault, gva)
	}
	if p.CR4&cr4LA57 != 0 {
		return 0, false, fmt.Errorf("%w: linear 0x%x: the guest uses 5-level paging, which tamavisor does not walk", ErrFault, gva)
	}
	if !canonical(gva) {
		return 0, false, fmt.Errorf("%w: linear 0x%x is not canonical", ErrFault, gva)
	}
	const (
		present = 1 << 0
		rw      = 1 << 1
		ps      = 1 << 7
		addr    = 0x000f_ffff_ffff_f000
	)
	writable = true
	table := p.CR3 & addr
	for level := 3; level >= 0; level-- {
		shift := 12 + 9*uint(level)
		idx := (gva >> shift) & 511
		ent, err := g.load64(table + idx*8)
		if err != nil {
			return 0, false, fmt.Errorf("linear 0x%x: reading the level-%d paging entry: %w", gva, level+1, err)
		}
		if ent&present == 0 {
			return 0, false, fmt.Errorf("%w: linear 0x%x is not mapped (level-%d entry %#x)", ErrFault, gva, level+1, ent)
		}
		if ent&rw == 0 && p.CR0&cr0WP != 0 {
			writable = false
		}
		if write && !writable {
			return 0, false, fmt.Errorf("%w: linear 0x%x is read-only", ErrFault, gva)
		}
		if level == 3 && ent&ps != 0 {
			return 0, false, fmt.Errorf("%w: linear 0x%x: PS set in a PML4 entry", ErrFault, gva)
		}
		if level == 0 || ent&ps != 0 {
			size := uint64(1) << shift
			return ent&addr&^(size-1) | gva&(size-1), writable, nil
		}
		table = ent & addr
	}
	panic("unreachable")
}
