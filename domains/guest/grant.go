//go:build tamago

package guest

import (
	"encoding/binary"
	"fmt"
	"sync"

	"tamavisor/domains/board"
	"tamavisor/hv/grant"
	"tamavisor/xen"
)

// GrantTable is the domain's grant table (public/grant_table.h, version 1):
// its frames mapped into the domain (XENMAPSPACE_grant_table), entries the
// domain writes to share its pages with other domains.
type GrantTable struct {
	mu      sync.Mutex
	entries []byte
	used    []bool
}

var (
	grants     *GrantTable
	grantsErr  error
	grantsOnce sync.Once
	// grantMem holds the page-aligned frames where the table appears.
	grantMem [(maxGrantFrames + 1) * 4096]byte
)

const maxGrantFrames = 4

// Grants maps the domain's grant table, once.
func Grants() (*GrantTable, error) {
	grantsOnce.Do(func() {
		var q [grant.QuerySizeSize]byte
		binary.LittleEndian.PutUint16(q[0:], xen.DomIDSelf)
		if err := grantOp(grant.OpQuerySize, q[:], 1); err != nil {
			grantsErr = err
			return
		}
		qs, _ := grant.DecodeQuerySize(q[:])
		if qs.Status != grant.Okay {
			grantsErr = fmt.Errorf("guest: query_size: %v", qs.Status)
			return
		}
		frames := min(int(qs.NrFrames), maxGrantFrames)
		base := (bufAddr(grantMem[:]) + 4095) &^ 4095
		for i := 0; i < frames; i++ {
			if r := addToPhysmap(xen.MapSpaceGrantTable, uint64(i), uint64(base>>12)+uint64(i)); r < 0 {
				grantsErr = &Error{Op: "add_to_physmap(grant_table)", Errno: int(-r)}
				return
			}
		}
		g := &GrantTable{entries: board.PagesAt(base, frames), used: make([]bool, frames*grant.EntriesPerFrame)}
		for i := 0; i < grant.ReservedEntries; i++ {
			g.used[i] = true // GNTTAB_NR_RESERVED_ENTRIES belong to the toolstack
		}
		grants = g
	})
	return grants, grantsErr
}

// grantOp runs grant_table_op with count structures at b.
func grantOp(cmd uint32, b []byte, count int) error {
	if r := board.Hypercall(xen.HypercallGrantTableOp, uint64(cmd), addr(&b[0]), uint64(count), 0, 0); r < 0 {
		return &Error{Op: fmt.Sprintf("grant_table_op %d", cmd), Errno: int(-r)} // named only on failure
	}
	return nil
}

// Grant lets domain dom access the page holding frame (a guest frame
// number of this domain), read-only or not, and returns the reference to
// tell dom.
func (g *GrantTable) Grant(dom DomID, frame uint64, readonly bool) (uint32, error) {
	g.mu.Lock()
	defer g.mu.Unlock()
	for ref := range g.used {
		if g.used[ref] {
			continue
		}
		g.used[ref] = true
		e := g.entries[ref*grant.EntrySize:]
		binary.LittleEndian.PutUint32(e[4:], uint32(frame))
		flags := uint16(grant.GTFPermitAccess)
		if readonly {
			flags |= grant.GTFReadonly
		}
		storeHeader(e, grant.Header(flags, grant.DomID(dom)))
		return uint32(ref), nil
	}
	return 0, fmt.Errorf("guest: the grant table is full")
}

// Revoke ends a grant. It fails while the other domain still maps or copies
// the page (GTF_reading/GTF_writing set): the entry is changed with a
// compare-and-swap, so the hypervisor and this domain cannot race.
func (g *GrantTable) Revoke(ref uint32) error {
	g.mu.Lock()
	defer g.mu.Unlock()
	if int(ref) >= len(g.used) || !g.used[ref] || ref < grant.ReservedEntries {
		return fmt.Errorf("guest: grant %d is not ours", ref)
	}
	e := g.entries[ref*grant.EntrySize:]
	h := loadHeader(e)
	if flags, _ := grant.SplitHeader(h); flags&(grant.GTFReading|grant.GTFWriting) != 0 {
		return fmt.Errorf("guest: grant %d is in use by its grantee", ref)
	}
	if !casHeader(e, h, 0) {
		return fmt.Errorf("guest: grant %d changed while revoking; try again", ref)
	}
	g.used[ref] = false
	return nil
}

// MapGrant maps another domain's grant at guest-physical address gpa (a
// page above this domain's RAM, below 4 GiB so that the identity map
// reaches it). It returns the handle that unmaps it.
func MapGrant(dom DomID, ref uint32, gpa uint64, readonly bool) (uint32, error) {
	m := grant.MapGrantRef{HostAddr: gpa, Flags: grant.MapHostMap, Ref: ref, Dom: grant.DomID(dom)}
	if readonly {
		m.Flags |= grant.MapReadonly
	}
	b := make([]byte, grant.MapGrantRefSize)
	m.Encode(b)
	if err := grantOp(grant.OpMapGrantRef, b, 1); err != nil {
		return 0, err
	}
	m, _ = grant.DecodeMapGrantRef(b)
	if m.Status != grant.Okay {
		return 0, &GrantError{Op: "map", Status: m.Status}
	}
	return m.Handle, nil
}

// UnmapGrant removes a mapping MapGrant made.
func UnmapGrant(handle uint32, gpa uint64) error {
	u := grant.UnmapGrantRef{HostAddr: gpa, Handle: handle}
	b := make([]byte, grant.UnmapGrantRefSize)
	u.Encode(b)
	if err := grantOp(grant.OpUnmapGrantRef, b, 1); err != nil {
		return err
	}
	u, _ = grant.DecodeUnmapGrantRef(b)
	if u.Status != grant.Okay {
		return &GrantError{Op: "unmap", Status: u.Status}
	}
	return nil
}

// CopyFromGrant copies len(dst) bytes at offset off of another domain's
// granted page into this domain's frame dstFrame at dstOff (GNTTABOP_copy).
func CopyFromGrant(dom DomID, ref uint32, off uint16, dstFrame uint64, dstOff uint16, n uint16) error {
	c := grant.CopyOp{
		Source: grant.CopyPtr{Ref: ref, Dom: grant.DomID(dom), Offset: off},
		Dest:   grant.CopyPtr{GFN: dstFrame, Dom: grant.DomIDSelf, Offset: dstOff},
		Len:    n, Flags: grant.CopySourceGref,
	}
	b := make([]byte, grant.CopyOpSize)
	c.Encode(b)
	if err := grantOp(grant.OpCopy, b, 1); err != nil {
		return err
	}
	c, _ = grant.DecodeCopyOp(b)
	if c.Status != grant.Okay {
		return &GrantError{Op: "copy", Status: c.Status}
	}
	return nil
}

// GrantError is a grant operation the hypervisor refused (a GNTST_* status).
type GrantError struct {
	Op     string
	Status grant.Status
}

func (e *GrantError) Error() string { return fmt.Sprintf("grant %s: %v", e.Op, e.Status) }

// Frame returns the guest frame number of the page holding p's first byte.
func Frame(p *byte) uint64 { return addr(p) >> 12 }

// Page returns the 4 KiB page at a guest-physical address (identity-mapped).
func Page(gpa uint64) []byte { return board.PagesAt(uintptr(gpa), 1) }

// AllocPages returns n zeroed, page-aligned pages from the Go heap, to share
// by grant. The domain identity-maps its RAM, so their addresses are their
// guest-physical addresses; Go's collector does not move objects, and the
// slice keeps them alive for as long as the caller holds it.
func AllocPages(n int) []byte {
	b := make([]byte, (n+1)*4096)
	off := (4096 - int(bufAddr(b)%4096)) % 4096
	return b[off : off+n*4096 : off+n*4096]
}
