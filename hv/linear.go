package hv

import "tamavisor/mem"

// A hypercall's arguments often sit on one or two guest pages (an argument
// structure and the array it points to, both on the guest's stack), and a
// guest cannot run, so cannot change its page tables, while its hypercall is
// handled. So the vCPU keeps the last few linear-to-physical translations
// for the length of one hypercall (inHypercall), as a TLB would; every
// access still goes through the domain's EPT.

// linearEntry is one cached translation of a guest linear page.
type linearEntry struct {
	valid    bool
	writable bool   // the translation allows a supervisor write (CR0.WP honoured)
	page     uint64 // linear page address
	gpa      uint64 // guest-physical page address
}

// linearCache holds a vCPU's translations during one hypercall.
type linearCache struct {
	e    [2]linearEntry
	next int
}

// gpa translates a guest linear address for an access of the vCPU's
// current hypercall (or, outside one, without caching).
func (v *VCPU) gpa(gva uint64, write bool) (uint64, error) {
	page, off := gva&^(mem.PageSize-1), gva&(mem.PageSize-1)
	c := &v.linear
	if v.inHypercall {
		for i := range c.e {
			if e := &c.e[i]; e.valid && e.page == page && (e.writable || !write) {
				return e.gpa | off, nil
			}
		}
	}
	g, writable, err := v.Dom.Mem.walk(v.paging(), gva, write)
	if err != nil {
		return 0, err
	}
	if v.inHypercall {
		c.e[c.next] = linearEntry{valid: true, writable: writable, page: page, gpa: g &^ (mem.PageSize - 1)}
		c.next = (c.next + 1) % len(c.e)
	}
	return g, nil
}

// dropLinear forgets the hypercall's translations.
func (v *VCPU) dropLinear() { v.linear = linearCache{} }

// readLinear copies guest memory at a linear address into b.
func (v *VCPU) readLinear(gva uint64, b []byte) error { return v.copyLinear(gva, b, false) }

// writeLinear copies b to guest memory at a linear address.
func (v *VCPU) writeLinear(gva uint64, b []byte) error { return v.copyLinear(gva, b, true) }

// copyLinear copies between b and guest memory at a linear address, page by
// page (each page is translated on its own: a buffer may cross pages).
func (v *VCPU) copyLinear(gva uint64, b []byte, write bool) error {
	for len(b) > 0 {
		gpa, err := v.gpa(gva, write)
		if err != nil {
			return err
		}
		n := min(uint64(len(b)), mem.PageSize-gva%mem.PageSize)
		if write {
			err = v.Dom.Mem.WriteGPA(gpa, b[:n])
		} else {
			err = v.Dom.Mem.ReadGPA(gpa, b[:n])
		}
		if err != nil {
			return err
		}
		b, gva = b[n:], gva+n
	}
	return nil
}
