package ept

import (
	"fmt"
	"slices"
	"sync/atomic"
)

// Tables provides the memory that paging structures live in: 4 KiB host
// frames, each holding a table of 512 64-bit entries (SDM Vol. 3C 29.3.2 "EPT
// Translation Mechanism": every EPT paging structure is a 4-KByte naturally
// aligned table of 512 entries).
type Tables interface {
	// AllocTable returns the host-physical address of a 4 KiB aligned
	// frame for a table; its contents do not matter: the EPT zeroes it
	// before use (which costs less than checking that it is zero). New,
	// Map, Unmap and Protect check the frame (aligned, below the
	// physical-address width, not already a table of this EPT) and fail
	// with ErrTable otherwise, without giving the frame back.
	AllocTable() (hpa uint64, err error)
	// FreeTable gives back a frame AllocTable returned, once the EPT no
	// longer references it. The processor may still hold cached
	// translations through it: the implementation must not let the frame be
	// reused until INVEPT has been executed for this EPT (for instance by
	// queueing it until then).
	FreeTable(hpa uint64)
	// Table returns the 512 entries of a table frame AllocTable returned.
	Table(hpa uint64) *[512]uint64
}

// Options describe the processor the EPT is built for. Read them from
// IA32_VMX_EPT_VPID_CAP (SDM Vol. 3D Appendix A.10 "VPID and EPT
// Capabilities") and CPUID.80000008H:EAX[7:0].
type Options struct {
	// Pages2M allows 2-MByte pages (EPT PDEs with bit 7 set);
	// IA32_VMX_EPT_VPID_CAP bit 16.
	Pages2M bool
	// Pages1G allows 1-GByte pages (EPT PDPTEs with bit 7 set);
	// IA32_VMX_EPT_VPID_CAP bit 17.
	Pages1G bool
	// ExecuteOnly allows the permission Exec alone (bits 2:0 = 100b);
	// IA32_VMX_EPT_VPID_CAP bit 0. Without it such an entry is an EPT
	// misconfiguration (SDM Vol. 3C 29.3.3.1).
	ExecuteOnly bool
	// PhysAddrBits is the processor's physical-address width MAXPHYADDR,
	// from 36 to 52; 0 means DefaultPhysAddrBits. Host-physical addresses
	// must lie below 1<<PhysAddrBits: entry bits 51:PhysAddrBits are
	// reserved (SDM Vol. 3C 29.3.2).
	PhysAddrBits int
}

// largeOK reports whether a leaf entry may map a page at level l.
func (o *Options) largeOK(l int) bool {
	switch l {
	case levelPD:
		return o.Pages2M
	case levelPDPT:
		return o.Pages1G
	}
	return false
}

// Mapping is one translation: the page mapping guest-physical address GPA.
// From Translate, GPA and HPA are the address asked for and its translation;
// from Walk, they are the first addresses of the page.
type Mapping struct {
	GPA      uint64
	HPA      uint64
	PageSize uint64  // PageSize4K, PageSize2M or PageSize1G
	Perm     Perm    // effective access rights: the AND along the walk
	MemType  MemType // the leaf's EPT memory type
	// Accessed and Dirty are the leaf's accessed and dirty flags (bits 8
	// and 9), which the processor sets when EPTP bit 6 enables them (SDM
	// Vol. 3C 29.3.5 "Accessed and Dirty Flags for EPT").
	Accessed bool
	Dirty    bool
}

func (m Mapping) String() string {
	return fmt.Sprintf("GPA %#x -> HPA %#x (%s page, %s, %s)", m.GPA, m.HPA, sizeName(m.PageSize), m.Perm, m.MemType)
}

// EPT is the extended-page-table hierarchy of one domain: a 4-level tree
// (page-walk length 4) rooted at a PML4 table.
type EPT struct {
	t         Tables
	opt       Options
	hpaLimit  uint64              // 1 << opt.PhysAddrBits
	root      uint64              // HPA of the PML4 table
	tables    map[uint64]struct{} // every table frame held, root included
	destroyed bool
	gen       uint64 // counts calls that may change translations
}

// Generation changes whenever a translation Translate gave may have changed
// or gone (Unmap, Protect, Destroy), so that a caller may cache Translate's
// answers and drop them when it moves. Map does not move it: it never
// replaces a mapping, so it only turns "not mapped" answers into mappings,
// and a cache of answers holds no "not mapped" ones.
func (e *EPT) Generation() uint64 { return e.gen }

// New returns an empty EPT for a processor described by opt, with its PML4
// table allocated from t.
func New(t Tables, opt Options) (*EPT, error) {
	if t == nil {
		return nil, fmt.Errorf("ept: %w: no Tables", ErrOptions)
	}
	if opt.PhysAddrBits == 0 {
		opt.PhysAddrBits = DefaultPhysAddrBits
	}
	if opt.PhysAddrBits < minPhysAddrBits || opt.PhysAddrBits > maxPhysAddrBits {
		return nil, fmt.Errorf("ept: %w: PhysAddrBits %d outside %d..%d",
			ErrOptions, opt.PhysAddrBits, minPhysAddrBits, maxPhysAddrBits)
	}
	e := &EPT{
		t:        t,
		opt:      opt,
		hpaLimit: 1 << opt.PhysAddrBits,
		tables:   make(map[uint64]struct{}),
	}
	res, err := e.reserve(1)
	if err != nil {
		return nil, fmt.Errorf("ept: allocating the PML4 table: %w", err)
	}
	e.root = e.take(&res)
	return e, nil
}

// Options returns the options the EPT was built with, PhysAddrBits filled in.
func (e *EPT) Options() Options { return e.opt }

// Root returns the host-physical address of the PML4 table.
func (e *EPT) Root() uint64 { return e.root }

// TableFrames returns how many table frames the EPT holds, the PML4 included
// (0 after Destroy).
func (e *EPT) TableFrames() int { return len(e.tables) }

// Pointer returns the extended-page-table pointer (EPTP) to write into the
// VMCS for this EPT (SDM Vol. 3C 25.6.11 "Extended-Page-Table Pointer
// (EPTP)", table "Format of Extended-Page-Table Pointer"): write-back paging
// structures, page-walk length 4, the PML4 address, and the accessed and
// dirty flags enabled if accessedDirty is set (only if IA32_VMX_EPT_VPID_CAP
// bit 21 reports them). Write-back paging structures need
// IA32_VMX_EPT_VPID_CAP bit 14, which every processor with EPT known to date
// reports. It returns 0 after Destroy.
func (e *EPT) Pointer(accessedDirty bool) uint64 {
	if e.destroyed {
		return 0
	}
	p := e.root                // SDM Vol. 3C 25.6.11: bits N-1:12, PML4 table address
	p |= uint64(WB)            // bits 2:0: memory type of the paging structures, 6 = WB
	p |= uint64(levels-1) << 3 // bits 5:3: page-walk length minus 1
	if accessedDirty {
		p |= 1 << 6 // bit 6: enable accessed and dirty flags for EPT
	}
	return p
}

// Map maps the guest-physical range [gpa, gpa+size) to the host-physical
// range [hpa, hpa+size) with access rights perm and memory type mt, using the
// largest pages the options allow wherever both addresses are aligned to them
// and the range covers them whole.
//
// gpa, hpa and size must be multiples of 4 KiB, size must not be 0, the
// guest-physical range must lie below 1<<GPABits and the host-physical range
// below 1<<PhysAddrBits. perm must include Read if it includes Write (SDM
// Vol. 3C 29.3.3.1: write-only and write/execute entries are
// misconfigurations), must not be 0, and may be Exec alone only with
// Options.ExecuteOnly. mt must be a valid memory type.
//
// Map never replaces a mapping: if any page of the guest-physical range is
// already mapped it fails with an *AddrError for ErrMapped naming the first
// such address. On any error the EPT is unchanged.
func (e *EPT) Map(gpa, hpa, size uint64, perm Perm, mt MemType) error {
	const op = "map"
	if err := e.checkRange(op, gpa, size); err != nil {
		return err
	}
	if hpa%PageSize4K != 0 {
		return &AddrError{op, gpa, fmt.Errorf("HPA %#x: %w", hpa, ErrAlign)}
	}
	if hpa+size < hpa || hpa+size > e.hpaLimit {
		return &AddrError{op, gpa, fmt.Errorf("HPA range %#x-%#x beyond MAXPHYADDR %d: %w",
			hpa, hpa+size-1, e.opt.PhysAddrBits, ErrRange)}
	}
	if err := e.checkPerm(perm); err != nil {
		return &AddrError{op, gpa, err}
	}
	if !mt.Valid() {
		return &AddrError{op, gpa, fmt.Errorf("%w: %v", ErrMemType, mt)}
	}
	root := e.t.Table(e.root)
	need, at, mapped, err := e.mapScan(levelPML4, root, e.root, gpa, gpa+size, hpa)
	if err != nil {
		return err
	}
	if mapped {
		return &AddrError{op, at, ErrMapped}
	}
	res, err := e.reserve(need)
	if err != nil {
		return &AddrError{op, gpa, fmt.Errorf("allocating %d table frames: %w", need, err)}
	}
	e.mapApply(levelPML4, root, gpa, gpa+size, hpa, perm, mt, &res)
	e.release(res)
	return nil
}

// Unmap removes the mappings of the guest-physical range [gpa, gpa+size)
// (gpa and size multiples of 4 KiB, size not 0). A large page that lies only
// partly inside the range is first split into smaller pages, so that the rest
// of it stays mapped exactly as before; table frames that become empty are
// freed.
//
// Every page of the range must be mapped: otherwise Unmap fails with an
// *AddrError for ErrNotMapped naming the first unmapped address. On any error
// the EPT is unchanged. The caller must execute INVEPT before it reuses the
// memory that was mapped (see the package documentation).
func (e *EPT) Unmap(gpa, size uint64) error {
	return e.modify("unmap", gpa, size, modOp{unmap: true})
}

// Protect sets the access rights of every page of the guest-physical range
// [gpa, gpa+size) to perm (with the rules of Map; to remove access, Unmap),
// keeping addresses and memory types. A large page that lies only partly
// inside the range and does not already have these rights is first split into
// smaller pages. Every page of the range must be mapped: otherwise Protect
// fails with an *AddrError for ErrNotMapped naming the first unmapped address.
// On any error the EPT is unchanged. Removed rights take effect once the
// caller has executed INVEPT.
func (e *EPT) Protect(gpa, size uint64, perm Perm) error {
	const op = "protect"
	if e.destroyed {
		return &AddrError{op, gpa, ErrDestroyed}
	}
	if err := e.checkPerm(perm); err != nil {
		return &AddrError{op, gpa, err}
	}
	return e.modify(op, gpa, size, modOp{perm: perm})
}

// Translate translates gpa as the processor does with this EPT (SDM Vol. 3C
// 29.3.2 "EPT Translation Mechanism"): it walks from the PML4 and reports
// the mapping if every entry on the way is present and none would cause an
// EPT misconfiguration. The permissions reported are the logical AND of the
// access bits along the walk (SDM Vol. 3C 29.3.3.2 "EPT Violations").
func (e *EPT) Translate(gpa uint64) (m Mapping, ok bool) {
	if e.destroyed || gpa >= maxGPA {
		return Mapping{}, false
	}
	tbl := e.t.Table(e.root)
	perm := permMask
	for l := levelPML4; ; l-- {
		ent := atomic.LoadUint64(&tbl[index(gpa, l)])
		if !present(ent) || e.opt.misconfig(ent, l) != "" {
			return Mapping{}, false
		}
		perm &= ent
		if isLeaf(ent, l) {
			return Mapping{
				GPA:      gpa,
				HPA:      leafAddr(ent, l) | gpa&(span(l)-1),
				PageSize: span(l),
				Perm:     Perm(perm),
				MemType:  entryMemType(ent),
				Accessed: ent&bitAccessed != 0,
				Dirty:    ent&bitDirty != 0,
			}, true
		}
		tbl = e.t.Table(tableAddr(ent))
	}
}

// Walk calls f with every leaf mapping, in increasing guest-physical order,
// until f returns false. Each page appears once, with GPA and HPA its first
// addresses. Walk reports every present leaf entry, including one that would
// be an EPT misconfiguration (Verify finds those), so that an audit of the
// host frames a domain can reach misses nothing. f must not modify the EPT.
func (e *EPT) Walk(f func(m Mapping) bool) {
	if e.destroyed {
		return
	}
	e.walk(levelPML4, e.t.Table(e.root), 0, permMask, f)
}

func (e *EPT) walk(l int, tbl *[512]uint64, base, perm uint64, f func(Mapping) bool) bool {
	for i := range tbl {
		ent := atomic.LoadUint64(&tbl[i])
		if !present(ent) {
			continue
		}
		a := base + uint64(i)<<shift(l)
		p := perm & ent
		if isLeaf(ent, l) {
			m := Mapping{
				GPA:      a,
				HPA:      leafAddr(ent, l),
				PageSize: span(l),
				Perm:     Perm(p & permMask),
				MemType:  entryMemType(ent),
				Accessed: ent&bitAccessed != 0,
				Dirty:    ent&bitDirty != 0,
			}
			if !f(m) {
				return false
			}
			continue
		}
		if _, ok := e.tables[tableAddr(ent)]; !ok {
			continue // not one of ours: Verify reports it
		}
		if !e.walk(l-1, e.t.Table(tableAddr(ent)), a, p, f) {
			return false
		}
	}
	return true
}

// Destroy gives every table frame back through Tables.FreeTable; the memory
// the EPT mapped is the caller's and is not touched. Afterwards TableFrames
// is 0, Translate finds nothing, Pointer returns 0 and the other methods fail
// with ErrDestroyed. The caller must have stopped every processor using the
// EPT and executed INVEPT before the frames are reused.
func (e *EPT) Destroy() {
	if e.destroyed {
		return
	}
	e.gen++
	frames := make([]uint64, 0, len(e.tables))
	for f := range e.tables {
		frames = append(frames, f)
	}
	slices.Sort(frames)
	for _, f := range frames {
		e.t.FreeTable(f)
	}
	e.tables = nil
	e.root = 0
	e.destroyed = true
}

// Check walks the EPT for gpa as the processor does and reports the first
// entry on the way that would cause an EPT misconfiguration (SDM Vol. 3C
// 29.3.3.1 "EPT Misconfigurations": write access without read access,
// execute-only access the processor does not support, a reserved bit set,
// address bits beyond MAXPHYADDR, a large page the processor does not
// support, a reserved memory type) as a *MisconfigError for ErrMisconfig, or
// an entry referencing a frame that is not one of this EPT's tables as one
// for ErrCorrupt. It returns nil if the walk ends at a non-present entry (an
// EPT violation, not a misconfiguration) or at a valid leaf. Call it on an
// EPT-misconfiguration VM exit with the guest-physical address the VMCS
// reports (SDM Vol. 3C 28.2.1 "Basic VM-Exit Information").
func (e *EPT) Check(gpa uint64) error {
	if e.destroyed {
		return &AddrError{"check", gpa, ErrDestroyed}
	}
	if gpa >= maxGPA {
		return &AddrError{"check", gpa, ErrRange}
	}
	tblAddr := e.root
	for l := levelPML4; ; l-- {
		tbl := e.t.Table(tblAddr)
		i := index(gpa, l)
		ent := atomic.LoadUint64(&tbl[i])
		if !present(ent) {
			return nil
		}
		if r := e.opt.misconfig(ent, l); r != "" {
			return &MisconfigError{GPA: gpa &^ (span(l) - 1), Level: l, Table: tblAddr, Index: i, Entry: ent, Reason: r}
		}
		if isLeaf(ent, l) {
			return nil
		}
		next := tableAddr(ent)
		if _, ok := e.tables[next]; !ok {
			return &MisconfigError{GPA: gpa &^ (span(l) - 1), Level: l, Table: tblAddr, Index: i, Entry: ent,
				Reason: "references a frame that is not one of this EPT's tables", Corrupt: true}
		}
		tblAddr = next
	}
}

// Verify audits the whole EPT and returns the first problem found, or nil:
// an entry that would cause an EPT misconfiguration (ErrMisconfig); or one
// this package would not have written (ErrCorrupt): a non-present entry that
// is not zero, bits other than the address, access rights, memory type, bit 7
// and the accessed and dirty flags, a non-leaf entry without all access
// rights, a reference to a frame that is not one of the EPT's tables, to a
// table already referenced, or to an empty table; or table frames held but
// unreachable (ErrCorrupt).
func (e *EPT) Verify() error {
	if e.destroyed {
		return fmt.Errorf("ept: verify: %w", ErrDestroyed)
	}
	seen := map[uint64]bool{e.root: true}
	if err := e.verify(levelPML4, e.root, 0, seen); err != nil {
		return err
	}
	if len(seen) != len(e.tables) {
		return fmt.Errorf("ept: %w: %d table frames held, %d reachable", ErrCorrupt, len(e.tables), len(seen))
	}
	return nil
}

func (e *EPT) verify(l int, tblAddr, base uint64, seen map[uint64]bool) error {
	tbl := e.t.Table(tblAddr)
	for i := range tbl {
		ent := atomic.LoadUint64(&tbl[i])
		if ent == 0 {
			continue
		}
		bad := func(reason string, corrupt bool) error {
			return &MisconfigError{GPA: base + uint64(i)<<shift(l), Level: l, Table: tblAddr, Index: i,
				Entry: ent, Reason: reason, Corrupt: corrupt}
		}
		if !present(ent) {
			return bad("not present but not zero", true)
		}
		if r := e.opt.misconfig(ent, l); r != "" {
			return bad(r, false)
		}
		if isLeaf(ent, l) {
			allowed := addrBits | permMask | memTypeMask | bitAccessed | bitDirty
			if l != levelPT {
				allowed |= bitLarge
			}
			if x := ent &^ allowed; x != 0 {
				return bad(fmt.Sprintf("unexpected bits %#x", x), true)
			}
			continue
		}
		if x := ent &^ (addrBits | permMask | bitAccessed); x != 0 {
			return bad(fmt.Sprintf("unexpected bits %#x", x), true)
		}
		if ent&permMask != tablePerm {
			return bad("non-leaf entry without all access rights", true)
		}
		child := tableAddr(ent)
		if _, ok := e.tables[child]; !ok {
			return bad("references a frame that is not one of this EPT's tables", true)
		}
		if seen[child] {
			return bad("references a table already referenced", true)
		}
		seen[child] = true
		if isEmpty(e.t.Table(child)) {
			return bad("references an empty table", true)
		}
		if err := e.verify(l-1, child, base+uint64(i)<<shift(l), seen); err != nil {
			return err
		}
	}
	return nil
}

// checkRange validates a guest-physical range argument.
func (e *EPT) checkRange(op string, gpa, size uint64) error {
	switch {
	case e.destroyed:
		return &AddrError{op, gpa, ErrDestroyed}
	case gpa%PageSize4K != 0:
		return &AddrError{op, gpa, ErrAlign}
	case size%PageSize4K != 0:
		return &AddrError{op, gpa, fmt.Errorf("size %#x: %w", size, ErrAlign)}
	case size == 0:
		return &AddrError{op, gpa, fmt.Errorf("size 0: %w", ErrRange)}
	case gpa+size < gpa || gpa+size > maxGPA:
		return &AddrError{op, gpa, fmt.Errorf("size %#x reaches beyond the %d-bit guest-physical space: %w",
			size, GPABits, ErrRange)}
	}
	return nil
}

// checkPerm validates the access rights of a leaf entry.
func (e *EPT) checkPerm(p Perm) error {
	switch {
	case p&^RWX != 0:
		return fmt.Errorf("%w: %v has bits other than read, write and execute", ErrPerm, p)
	case p == 0:
		return fmt.Errorf("%w: no access is not a mapping", ErrPerm)
	case p&Write != 0 && p&Read == 0:
		// SDM Vol. 3C 29.3.3.1: bits 2:0 = 010b or 110b.
		return fmt.Errorf("%w: %v: write access requires read access", ErrPerm, p)
	case p == Exec && !e.opt.ExecuteOnly:
		// SDM Vol. 3C 29.3.3.1: bits 2:0 = 100b unless
		// IA32_VMX_EPT_VPID_CAP bit 0.
		return fmt.Errorf("%w: %v: execute-only not supported", ErrPerm, p)
	}
	return nil
}

// leafFits reports whether the chunk [a, next) of a level-l table, mapped
// to hpa, can be one leaf entry of that level.
func (e *EPT) leafFits(l int, a, next, hpa uint64) bool {
	if l == levelPT {
		return true
	}
	return e.opt.largeOK(l) && covers(l, a, next) && hpa%span(l) == 0
}

// covers reports whether [a, next) is the whole range of a level-l entry.
func covers(l int, a, next uint64) bool {
	return a%span(l) == 0 && next-a == span(l)
}

// chunkEnd is the end of the part of [a, end) that the level-l entry
// translating a controls.
func chunkEnd(l int, a, end uint64) uint64 {
	return min(a&^(span(l)-1)+span(l), end)
}

// child returns the table a present non-leaf entry references, or a
// *MisconfigError for ErrCorrupt if it is not one of this EPT's tables.
func (e *EPT) child(l int, tblAddr uint64, i int, a, ent uint64) (*[512]uint64, error) {
	c := tableAddr(ent)
	if _, ok := e.tables[c]; !ok {
		return nil, &MisconfigError{GPA: a &^ (span(l) - 1), Level: l, Table: tblAddr, Index: i, Entry: ent,
			Reason: "references a frame that is not one of this EPT's tables", Corrupt: true}
	}
	return e.t.Table(c), nil
}

// mapScan is Map's first pass over [a, end) of the level-l table tbl at
// tblAddr (nil for a table yet to be created, all of whose entries are
// absent): it finds the first mapped address and counts the tables mapApply
// will create. It writes nothing.
func (e *EPT) mapScan(l int, tbl *[512]uint64, tblAddr, a, end, hpa uint64) (need int, at uint64, mapped bool, err error) {
	if tbl == nil && l == levelPT {
		return 0, 0, false, nil
	}
	for a < end {
		next := chunkEnd(l, a, end)
		var ent uint64
		i := index(a, l)
		if tbl != nil {
			ent = atomic.LoadUint64(&tbl[i])
		}
		switch {
		case ent == 0:
			if !e.leafFits(l, a, next, hpa) {
				n, _, _, _ := e.mapScan(l-1, nil, 0, a, next, hpa)
				need += 1 + n
			}
		case !present(ent):
			return 0, 0, false, &MisconfigError{GPA: a &^ (span(l) - 1), Level: l, Table: tblAddr, Index: i,
				Entry: ent, Reason: "not present but not zero", Corrupt: true}
		case isLeaf(ent, l):
			return need, a, true, nil
		default:
			c, err := e.child(l, tblAddr, i, a, ent)
			if err != nil {
				return 0, 0, false, err
			}
			n, at, mapped, err := e.mapScan(l-1, c, tableAddr(ent), a, next, hpa)
			if err != nil || mapped {
				return 0, at, mapped, err
			}
			need += n
		}
		hpa += next - a
		a = next
	}
	return need, 0, false, nil
}

// mapApply is Map's second pass: it writes the entries mapping [a, end) to
// hpa in the level-l table tbl, taking new tables from res. mapScan has
// checked that nothing in the range is mapped and counted the tables.
func (e *EPT) mapApply(l int, tbl *[512]uint64, a, end, hpa uint64, perm Perm, mt MemType, res *[]uint64) {
	for a < end {
		next := chunkEnd(l, a, end)
		i := index(a, l)
		ent := atomic.LoadUint64(&tbl[i])
		switch {
		case ent != 0:
			e.mapApply(l-1, e.t.Table(tableAddr(ent)), a, next, hpa, perm, mt, res)
		case e.leafFits(l, a, next, hpa):
			atomic.StoreUint64(&tbl[i], leafEntry(l, hpa, perm, mt))
		default:
			t := e.take(res)
			e.mapApply(l-1, e.t.Table(t), a, next, hpa, perm, mt, res)
			atomic.StoreUint64(&tbl[i], t|tablePerm) // link the table once filled
		}
		hpa += next - a
		a = next
	}
}

// modOp is what Unmap or Protect does to the pages of its range.
type modOp struct {
	unmap bool
	perm  Perm // Protect's new access rights
}

// modify runs Unmap or Protect.
func (e *EPT) modify(op string, gpa, size uint64, m modOp) error {
	e.gen++
	if err := e.checkRange(op, gpa, size); err != nil {
		return err
	}
	root := e.t.Table(e.root)
	need, at, missing, err := e.modScan(levelPML4, root, e.root, gpa, gpa+size, m)
	if err != nil {
		return err
	}
	if missing {
		return &AddrError{op, at, ErrNotMapped}
	}
	res, err := e.reserve(need)
	if err != nil {
		return &AddrError{op, gpa, fmt.Errorf("allocating %d table frames to split large pages: %w", need, err)}
	}
	e.modApply(levelPML4, root, gpa, gpa+size, m, &res)
	e.release(res)
	return nil
}

// needsSplit reports whether the leaf ent of level l, of which [a, next) is
// to be unmapped or reprotected, must first be split.
func needsSplit(l int, ent, a, next uint64, m modOp) bool {
	if covers(l, a, next) {
		return false
	}
	return m.unmap || entryPerm(ent) != m.perm
}

// modScan is the first pass of Unmap and Protect over [a, end) of the
// level-l table tbl at tblAddr: it finds the first unmapped address and
// counts the tables modApply will create to split large pages. It writes
// nothing.
func (e *EPT) modScan(l int, tbl *[512]uint64, tblAddr, a, end uint64, m modOp) (need int, at uint64, missing bool, err error) {
	for a < end {
		next := chunkEnd(l, a, end)
		i := index(a, l)
		ent := atomic.LoadUint64(&tbl[i])
		switch {
		case ent == 0:
			return need, a, true, nil
		case !present(ent):
			return 0, 0, false, &MisconfigError{GPA: a &^ (span(l) - 1), Level: l, Table: tblAddr, Index: i,
				Entry: ent, Reason: "not present but not zero", Corrupt: true}
		case isLeaf(ent, l):
			if needsSplit(l, ent, a, next, m) {
				need += e.splitNeed(l-1, a, next)
			}
		default:
			c, err := e.child(l, tblAddr, i, a, ent)
			if err != nil {
				return 0, 0, false, err
			}
			n, at, missing, err := e.modScan(l-1, c, tableAddr(ent), a, next, m)
			if err != nil || missing {
				return 0, at, missing, err
			}
			need += n
		}
		a = next
	}
	return need, 0, false, nil
}

// splitNeed counts the tables needed to split a large page into a new
// level-l table, and recursively, so that [a, end) is made of whole entries:
// only the first and the last new entries can be partly covered. If level l
// cannot hold leaves, the new table's entries all reference tables
// (fullNeed).
func (e *EPT) splitNeed(l int, a, end uint64) int {
	if l == levelPT {
		return 1
	}
	if !e.opt.largeOK(l) {
		return e.fullNeed(l)
	}
	n := 1
	if fe := chunkEnd(l, a, end); !covers(l, a, fe) {
		n += e.splitNeed(l-1, a, fe)
	}
	if ls := (end - 1) &^ (span(l) - 1); ls > a && !covers(l, ls, end) {
		n += e.splitNeed(l-1, ls, end)
	}
	return n
}

// fullNeed counts the tables of a level-l table that translates the whole
// range of a large page with pages of the sizes the options allow: 1 if level
// l can hold leaves, else that table and all those below it (only with
// Pages1G and not Pages2M: a PD of 512 PTs).
func (e *EPT) fullNeed(l int) int {
	if l == levelPT || e.opt.largeOK(l) {
		return 1
	}
	return 1 + 512*e.fullNeed(l-1)
}

// modApply is the second pass of Unmap and Protect over [a, end) of the
// level-l table tbl: it splits the large pages modScan found partly covered
// (taking tables from res), clears or reprotects the covered leaves, and
// frees the tables Unmap empties.
func (e *EPT) modApply(l int, tbl *[512]uint64, a, end uint64, m modOp, res *[]uint64) {
	for a < end {
		next := chunkEnd(l, a, end)
		i := index(a, l)
		ent := atomic.LoadUint64(&tbl[i])
		switch {
		case !isLeaf(ent, l):
			c := tableAddr(ent)
			ct := e.t.Table(c)
			e.modApply(l-1, ct, a, next, m, res)
			if m.unmap && isEmpty(ct) {
				atomic.StoreUint64(&tbl[i], 0)
				e.free(c)
			}
		case needsSplit(l, ent, a, next, m):
			t := e.take(res)
			ct := e.t.Table(t)
			e.split(&tbl[i], ent, l, t, ct, res)
			e.modApply(l-1, ct, a, next, m, res)
		case !covers(l, a, next):
			// Protect of part of a page that already has the rights.
		case m.unmap:
			atomic.StoreUint64(&tbl[i], 0)
		default:
			// Keep accessed and dirty flags the processor may be setting.
			for !atomic.CompareAndSwapUint64(&tbl[i], ent, ent&^permMask|uint64(m.perm)) {
				ent = atomic.LoadUint64(&tbl[i])
			}
		}
		a = next
	}
}

// split replaces the level-l leaf at *p, whose value was ent, by the new
// table t (ct) translating exactly as it does, taking tables from res if
// needed. The table is filled before it is linked, so a processor walking
// the EPT meanwhile sees the same translation throughout; accessed and dirty
// flags it sets in the leaf meanwhile are carried over.
func (e *EPT) split(p *uint64, ent uint64, l int, t uint64, ct *[512]uint64, res *[]uint64) {
	e.fillSplit(ct, ent, l, res)
	for !atomic.CompareAndSwapUint64(p, ent, t|tablePerm) {
		cur := atomic.LoadUint64(p)
		e.orFlags(ct, l-1, cur&^ent&(bitAccessed|bitDirty))
		ent = cur
	}
}

// orFlags sets flags in every leaf of the level-l table ct and the tables
// below it, none of them linked yet.
func (e *EPT) orFlags(ct *[512]uint64, l int, flags uint64) {
	for j, c := range ct {
		if isLeaf(c, l) {
			ct[j] = c | flags
		} else {
			e.orFlags(e.t.Table(tableAddr(c)), l-1, flags)
		}
	}
}

// fillSplit fills the new level-(l-1) table ct with 512 entries that
// translate exactly as the level-l leaf ent does: same access rights, memory
// type and flags, consecutive host-physical addresses. They are leaves if
// level l-1 can hold leaves, else references to tables (taken from res)
// filled the same way.
func (e *EPT) fillSplit(ct *[512]uint64, ent uint64, l int, res *[]uint64) {
	cl := l - 1
	base := leafAddr(ent, l)
	attrs := ent &^ (addrBits | bitLarge)
	for j := range ct {
		hpa := base + uint64(j)<<shift(cl)
		switch {
		case cl == levelPT:
			ct[j] = hpa | attrs
		case e.opt.largeOK(cl):
			ct[j] = hpa | attrs | bitLarge
		default:
			t := e.take(res)
			e.fillSplit(e.t.Table(t), hpa|attrs|bitLarge, cl, res)
			ct[j] = t | tablePerm
		}
	}
}

// isEmpty says whether every entry of t is zero. One comparison of the
// whole array (runtime memequal, vector loads): the loop of atomic loads it
// replaces cost some 3,000 instructions, paid twice per grant map and
// unmap. The EPT is the only writer of its tables (no accessed/dirty
// flags), so plain loads see what it wrote.
func isEmpty(t *[512]uint64) bool {
	return *t == [512]uint64{}
}

// reserve allocates n table frames up front, so that the operation that
// needs them cannot fail half-way. On error it gives back those it got.
func (e *EPT) reserve(n int) ([]uint64, error) {
	if n == 0 {
		return nil, nil
	}
	frames := make([]uint64, 0, n)
	for len(frames) < n {
		hpa, err := e.t.AllocTable()
		if err == nil {
			err = e.checkFrame(hpa, frames)
		}
		if err != nil {
			e.release(frames)
			return nil, err
		}
		frames = append(frames, hpa)
	}
	return frames, nil
}

// checkFrame checks a frame AllocTable returned and zeroes it.
func (e *EPT) checkFrame(hpa uint64, reserved []uint64) error {
	switch {
	case hpa%PageSize4K != 0:
		return fmt.Errorf("%w: %#x not 4 KiB aligned", ErrTable, hpa)
	case hpa >= e.hpaLimit:
		return fmt.Errorf("%w: %#x beyond MAXPHYADDR %d", ErrTable, hpa, e.opt.PhysAddrBits)
	case slices.Contains(reserved, hpa):
		return fmt.Errorf("%w: %#x allocated twice", ErrTable, hpa)
	}
	if _, ok := e.tables[hpa]; ok {
		return fmt.Errorf("%w: %#x is already a table of this EPT", ErrTable, hpa)
	}
	t := e.t.Table(hpa)
	if t == nil {
		return fmt.Errorf("%w: %#x has no table", ErrTable, hpa)
	}
	*t = [512]uint64{} // not present, all of it
	return nil
}

// take hands out a reserved frame and records it as a table of the EPT.
func (e *EPT) take(res *[]uint64) uint64 {
	r := *res
	if len(r) == 0 {
		// The scans count exactly what the applies take.
		panic("ept: internal error: table reservation exhausted")
	}
	t := r[0]
	*res = r[1:]
	e.tables[t] = struct{}{}
	return t
}

// release gives back reserved frames an operation did not use.
func (e *EPT) release(frames []uint64) {
	for _, f := range frames {
		e.t.FreeTable(f)
	}
}

// free gives back a table frame the EPT no longer references.
func (e *EPT) free(t uint64) {
	delete(e.tables, t)
	e.t.FreeTable(t)
}
