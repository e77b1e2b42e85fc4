package grant

import "sync"

// Entries is a granter's grant table, in frames the hypervisor owns and
// shares with the granter. The first word of each 8-byte entry (flags |
// domid<<16, see Header) must be accessed atomically, since the granter
// updates it concurrently with its own compare-and-swap.
type Entries interface {
	// Len is the number of entries (frames × EntriesPerFrame). It may
	// grow while the domain runs, never shrink.
	Len() int
	// LoadHeader atomically loads the first word of entry ref.
	LoadHeader(ref uint32) uint32
	// CompareAndSwapHeader atomically replaces the first word of entry
	// ref with new if it still holds old.
	CompareAndSwapHeader(ref uint32, old, new uint32) bool
	// LoadFrame reads the frame field of entry ref.
	LoadFrame(ref uint32) uint32
}

// Memory is a domain's guest-physical memory, for copies and frame checks.
type Memory interface {
	// ReadGPA copies guest-physical memory at gpa into b.
	ReadGPA(gpa uint64, b []byte) error
	// WriteGPA copies b into guest-physical memory at gpa.
	WriteGPA(gpa uint64, b []byte) error
	// Owns reports whether the page holding gpa is the domain's own RAM,
	// which it may grant: not a hole, MMIO, a hypervisor page or another
	// domain's page mapped by grant (Xen refuses foreign frames with
	// GNTST_bad_page).
	Owns(gpa uint64) bool
}

// Limits of a System.
const (
	// DefaultMaxFrames is the default limit of a domain's grant table, in
	// frames (Xen's gnttab_max_frames default, 64).
	DefaultMaxFrames = 64
	// DefaultMaxMappings is the default limit of the mappings one grantee
	// may hold at once.
	DefaultMaxMappings = 1 << 16
	// MaxMappings is the largest limit of mappings a handle can index.
	MaxMappings = 1<<handleIndexBits - 1
)

// Handles: the slot index in the low 20 bits, a 12-bit generation above it
// that changes each time the slot is freed, so that a stale or doubled
// handle is refused even after its slot is reused. The largest index is
// never used, so no handle is ~0 (Linux's INVALID_GRANT_HANDLE).
const (
	handleIndexBits = 20
	handleIndexMask = 1<<handleIndexBits - 1
	handleGenMask   = 1<<(32-handleIndexBits) - 1
)

// casRetries bounds the compare-and-swaps on one grant entry per operation
// (Xen gives up after five: grant_table.c, _set_status_v1).
const casRetries = 5

// clearRetries bounds the compare-and-swaps that clear GTF_reading and
// GTF_writing. Only the granter can make them fail, and then only its own
// entry stays marked in use.
const clearRetries = 64

// maxPins bounds one entry's pins (Xen refuses pins at risk of overflowing
// its 8-bit counters; ours are wider).
const maxPins = 1 << 24

// Config sets a System's limits; zero fields take the defaults.
type Config struct {
	MaxFrames   uint32 // grant-table frames per domain (DefaultMaxFrames)
	MaxMappings uint32 // live mappings per grantee (DefaultMaxMappings, at most MaxMappings)
}

// System is the grant bookkeeping of all domains. It is safe for
// concurrent use.
type System struct {
	mu          sync.Mutex
	idle        sync.Cond // signalled when a copy ends (RemoveDomain waits)
	domains     map[DomID]*domain
	maxFrames   uint32
	maxMappings uint32
	buffers     sync.Pool // *[PageSize]byte for copies
}

// domain is one domain's grant state, as granter and as grantee. A removed
// granter whose grants are still mapped lives on, dead, reachable only from
// its grantees' mappings.
type domain struct {
	id      DomID
	entries Entries
	mem     Memory
	dead    bool
	busy    int // copies in flight that use this domain

	active map[uint32]*active // granter: pinned entries by ref
	frames map[uint64]int     // granter: active entries per pinned frame

	slots []slot   // grantee: maptrack
	free  []uint32 // grantee: free slot indices
}

// live is how many mappings grantee d holds: its slots less the free ones.
func (d *domain) live() int { return len(d.slots) - len(d.free) }

// active is a pinned grant entry: what the hypervisor trusts while the
// entry is in use, whatever the granter writes to it meanwhile.
type active struct {
	grantee DomID
	frame   uint64 // the granter's GFN, read when first pinned
	ro, rw  uint32 // read-only and writable pins (mappings and copies)
}

// slot is a maptrack entry: one mapping held by a grantee.
type slot struct {
	granter  *domain
	act      *active
	ref      uint32
	hostAddr uint64
	gen      uint32
	readonly bool
	used     bool
}

// Mapping describes a grantee's mapping of a granted frame.
type Mapping struct {
	Handle   uint32 // the grantee's maptrack handle
	Granter  DomID
	Ref      uint32
	Frame    uint64 // the granter's GFN
	HostAddr uint64 // as given to Map
	Readonly bool
	// FreeFrame is set by the release of the last pin of Frame of a
	// granter that RemoveDomain has removed: the frame RemoveDomain
	// reported pinned is no longer used and may be freed.
	FreeFrame bool
}

// Pin is an entry of a removed granter that grantees still map: its frame
// must stay allocated to nobody else until the last mapping ends (reported
// by a Mapping with FreeFrame). Several pins can name the same frame.
type Pin struct {
	Granter DomID
	Ref     uint32
	Grantee DomID
	Frame   uint64 // the removed granter's GFN
	Readers uint32 // read-only mappings
	Writers uint32 // writable mappings
}

// NewSystem returns an empty System with the given limits.
func NewSystem(c Config) *System {
	s := &System{
		domains:     make(map[DomID]*domain),
		maxFrames:   c.MaxFrames,
		maxMappings: c.MaxMappings,
	}
	if s.maxFrames == 0 {
		s.maxFrames = DefaultMaxFrames
	}
	if s.maxMappings == 0 {
		s.maxMappings = DefaultMaxMappings
	}
	s.maxMappings = min(s.maxMappings, MaxMappings)
	s.idle.L = &s.mu
	s.buffers.New = func() any { return new([PageSize]byte) }
	return s
}

// AddDomain registers domain d with its grant table and memory. The
// package calls e and m from now until RemoveDomain(d) returns: Entries
// under its lock, Memory's ReadGPA and WriteGPA without it, from several
// copies at once. Their methods must not call back into s.
func (s *System) AddDomain(d DomID, e Entries, m Memory) error {
	if d >= DomIDFirstReserved {
		return fail(BadDomain, "d%d is a reserved domain id", d)
	}
	if e == nil || m == nil {
		return fail(GeneralError, "d%d: no grant table or memory", d)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.domains[d]; ok {
		return fail(GeneralError, "d%d already exists", d)
	}
	s.domains[d] = &domain{
		id:      d,
		entries: e,
		mem:     m,
		active:  make(map[uint32]*active),
		frames:  make(map[uint64]int),
	}
	return nil
}

// RemoveDomain unregisters domain d. Its own mappings of other domains'
// grants are released and returned, so that the hypervisor removes them
// from d's EPT. Its grants that other domains still map stay pinned and are
// returned: the hypervisor must keep those frames until their last mapping
// ends (Unmap or the grantee's removal reports it with Mapping.FreeFrame).
// RemoveDomain waits for copies under way that use d; once it returns, the
// package never calls d's Entries or Memory again.
func (s *System) RemoveDomain(d DomID) (released []Mapping, pinned []Pin, err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	dom, ok := s.domains[d]
	if !ok {
		return nil, nil, fail(BadDomain, "no d%d", d)
	}
	delete(s.domains, d)
	for dom.busy > 0 {
		s.idle.Wait()
	}
	// Mappings first: those of d's own grants then leave no pins.
	for i := range dom.slots {
		if dom.slots[i].used {
			released = append(released, s.release(dom, uint32(i)))
		}
	}
	dom.slots, dom.free = nil, nil
	dom.dead = true
	dom.entries, dom.mem = nil, nil
	for ref, a := range dom.active {
		pinned = append(pinned, Pin{
			Granter: d, Ref: ref, Grantee: a.grantee, Frame: a.frame,
			Readers: a.ro, Writers: a.rw,
		})
	}
	return released, pinned, nil
}

// Map maps grant ref of granter for grantee (GNTTABOP_map_grant_ref with
// GNTMAP_host_map): it checks the entry (in range, GTF_permit_access and
// not GTF_sub_page, naming grantee, not GTF_readonly for a writable
// mapping, its frame the granter's own RAM), sets GTF_reading, and
// GTF_writing for a writable mapping, and pins the entry. hostAddr is kept
// for the hypervisor (the grantee's GPA that gets the page) and returned in
// Mapping. The handle names the mapping for grantee only; frame is the
// granter's GFN to map.
func (s *System) Map(grantee, granter DomID, ref uint32, readonly bool, hostAddr uint64) (handle uint32, frame uint64, err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	ld, ok := s.domains[grantee]
	if !ok {
		return 0, 0, fail(BadDomain, "no grantee d%d", grantee)
	}
	rd, ok := s.domains[granter]
	if !ok {
		return 0, 0, fail(BadDomain, "no granter d%d", granter)
	}
	if len(ld.free) == 0 && uint32(len(ld.slots)) >= s.maxMappings {
		return 0, 0, fail(NoSpace, "d%d holds %d mappings, the limit", grantee, ld.live())
	}
	a, err := s.pin(rd, ref, grantee, readonly, true)
	if err != nil {
		return 0, 0, err
	}
	var i uint32
	if n := len(ld.free); n > 0 {
		i, ld.free = ld.free[n-1], ld.free[:n-1]
	} else {
		i = uint32(len(ld.slots))
		ld.slots = append(ld.slots, slot{})
	}
	sl := &ld.slots[i]
	sl.granter, sl.act, sl.ref, sl.hostAddr, sl.readonly, sl.used = rd, a, ref, hostAddr, readonly, true
	return sl.gen<<handleIndexBits | i, a.frame, nil
}

// Unmap releases grantee's mapping handle (GNTTABOP_unmap_grant_ref) and
// returns it. When the entry's last writable pin goes GTF_writing is
// cleared, and when its last pin goes GTF_reading. A handle that names no
// live mapping (never issued, already unmapped, or released by
// RemoveDomain) is BadHandle.
func (s *System) Unmap(grantee DomID, handle uint32) (Mapping, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	ld, i, err := s.lookup(grantee, handle)
	if err != nil {
		return Mapping{}, err
	}
	return s.release(ld, i), nil
}

// Lookup returns grantee's mapping handle without changing it (for the
// hypervisor's checks of an unmap request's host_addr, say).
func (s *System) Lookup(grantee DomID, handle uint32) (Mapping, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	ld, i, err := s.lookup(grantee, handle)
	if err != nil {
		return Mapping{}, err
	}
	return ld.mapping(i), nil
}

// mapping describes grantee ld's mapping slot i.
func (ld *domain) mapping(i uint32) Mapping {
	sl := &ld.slots[i]
	return Mapping{
		Handle: sl.gen<<handleIndexBits | i, Granter: sl.granter.id, Ref: sl.ref,
		Frame: sl.act.frame, HostAddr: sl.hostAddr, Readonly: sl.readonly,
	}
}

func (s *System) lookup(grantee DomID, handle uint32) (*domain, uint32, error) {
	ld, ok := s.domains[grantee]
	if !ok {
		return nil, 0, fail(BadDomain, "no grantee d%d", grantee)
	}
	i := handle & handleIndexMask
	if int(i) >= len(ld.slots) || !ld.slots[i].used || ld.slots[i].gen != handle>>handleIndexBits {
		return nil, 0, fail(BadHandle, "d%d has no mapping %#x", grantee, handle)
	}
	return ld, i, nil
}

// release ends mapping slot i of ld. The caller holds s.mu.
func (s *System) release(ld *domain, i uint32) Mapping {
	sl := &ld.slots[i]
	m := ld.mapping(i)
	m.FreeFrame = s.unpin(sl.granter, sl.ref, sl.act, sl.readonly)
	gen := (sl.gen + 1) & handleGenMask
	*sl = slot{gen: gen}
	ld.free = append(ld.free, i)
	return m
}

// pin validates entry ref of rd for grantee and takes a pin. The caller
// holds s.mu; rd is live.
func (s *System) pin(rd *domain, ref uint32, grantee DomID, readonly, mapping bool) (*active, error) {
	if uint64(ref) >= uint64(rd.entries.Len()) {
		return nil, fail(BadGntref, "d%d has no grant ref %#x", rd.id, ref)
	}
	a := rd.active[ref]
	if a != nil {
		if a.grantee != grantee {
			return nil, fail(GeneralError, "d%d ref %#x is in use by d%d", rd.id, ref, a.grantee)
		}
		if a.ro+a.rw >= maxPins {
			return nil, fail(GeneralError, "d%d ref %#x has too many pins", rd.id, ref)
		}
	}
	if err := setStatus(rd.entries, rd.id, ref, grantee, readonly, mapping); err != nil {
		return nil, err
	}
	if a == nil {
		// First pin: the frame is read after the flags are set, as the
		// granter wrote it before the flags (grant_table.h).
		frame := uint64(rd.entries.LoadFrame(ref))
		if !rd.mem.Owns(frame << PageShift) {
			clearFlags(rd.entries, ref, GTFReading|GTFWriting)
			return nil, fail(BadPage, "d%d ref %#x grants frame %#x, not its RAM", rd.id, ref, frame)
		}
		a = &active{grantee: grantee, frame: frame}
		rd.active[ref] = a
		rd.frames[frame]++
	}
	if readonly {
		a.ro++
	} else {
		a.rw++
	}
	return a, nil
}

// unpin drops a pin of entry ref of rd, clearing the flags no pin
// justifies any more, and reports whether a removed granter's frame was
// thereby freed. The caller holds s.mu.
func (s *System) unpin(rd *domain, ref uint32, a *active, readonly bool) (freed bool) {
	if readonly {
		a.ro--
	} else {
		a.rw--
	}
	if !rd.dead {
		var bits uint16
		if a.rw == 0 {
			bits |= GTFWriting
		}
		if a.ro+a.rw == 0 {
			bits |= GTFReading
		}
		if bits != 0 {
			clearFlags(rd.entries, ref, bits)
		}
	}
	if a.ro+a.rw > 0 {
		return false
	}
	delete(rd.active, ref)
	if rd.frames[a.frame]--; rd.frames[a.frame] > 0 {
		return false
	}
	delete(rd.frames, a.frame)
	return rd.dead
}

// setStatus checks entry ref of granter g for grantee and sets GTF_reading
// (and GTF_writing unless readonly) with a bounded compare-and-swap loop
// (grant_table.c, _set_status_v1). Mappings also refuse GTF_sub_page.
func setStatus(e Entries, g DomID, ref uint32, grantee DomID, readonly, mapping bool) error {
	mask := uint16(GTFTypeMask)
	if mapping {
		mask |= GTFSubPage
	}
	old := e.LoadHeader(ref)
	for try := 0; ; try++ {
		flags, dom := SplitHeader(old)
		if flags&mask != GTFPermitAccess {
			return fail(GeneralError, "d%d ref %#x is not a grant of access (flags %#x)", g, ref, flags)
		}
		if dom != grantee {
			return fail(GeneralError, "d%d ref %#x is granted to d%d, not d%d", g, ref, dom, grantee)
		}
		set := uint32(GTFReading)
		if !readonly {
			if flags&GTFReadonly != 0 {
				return fail(GeneralError, "d%d ref %#x is a read-only grant", g, ref)
			}
			set |= GTFWriting
		}
		if old&set == set {
			return nil
		}
		if e.CompareAndSwapHeader(ref, old, old|set) {
			return nil
		}
		if try+1 == casRetries {
			return fail(EAgain, "d%d ref %#x keeps changing", g, ref)
		}
		old = e.LoadHeader(ref)
	}
}

// clearFlags clears bits of entry ref's flags with a bounded
// compare-and-swap loop.
func clearFlags(e Entries, ref uint32, bits uint16) {
	for range clearRetries {
		old := e.LoadHeader(ref)
		if old&uint32(bits) == 0 || e.CompareAndSwapHeader(ref, old, old&^uint32(bits)) {
			return
		}
	}
}

// Copy performs one GNTTABOP_copy for caller. Each side is a grant
// reference of the domain it names (DOMID_SELF for the caller) when its
// GNTCOPY_*_gref flag is set, checked as for a mapping (the destination
// needs a writable grant), else a GFN of the caller's own RAM, with domid
// DOMID_SELF (another domid is PermissionDenied). offset+len must stay
// within the page on both sides (BadCopyArg). Grant pins, with GTF_reading
// and GTF_writing, are held only while the data moves.
func (s *System) Copy(caller DomID, op CopyOp) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	ld, ok := s.domains[caller]
	if !ok {
		return fail(BadDomain, "no caller d%d", caller)
	}
	srcGref, dstGref := op.Flags&CopySourceGref != 0, op.Flags&CopyDestGref != 0
	// Xen's order: the source's domain, the dest's domain
	// (gnttab_copy_lock_domain), then the claims and the page bounds;
	// tamavisor checks the bounds before taking any pin.
	src, err := s.copyDomain(ld, op.Source.Dom, srcGref, "source")
	if err != nil {
		return err
	}
	dst, err := s.copyDomain(ld, op.Dest.Dom, dstGref, "dest")
	if err != nil {
		return err
	}
	return s.copy(ld, src, dst, &op, srcGref, dstGref)
}

func (s *System) copyDomain(ld *domain, d DomID, gref bool, side string) (*domain, error) {
	if !gref && d != DomIDSelf {
		return nil, fail(PermissionDenied, "copy %s: a frame of d%d; only DOMID_SELF may name frames", side, d)
	}
	if d == DomIDSelf {
		return ld, nil
	}
	if rd, ok := s.domains[d]; ok {
		return rd, nil
	}
	return nil, fail(BadDomain, "copy %s: no d%d", side, d)
}

// copyEnd is one side of a copy under way.
type copyEnd struct {
	dom *domain
	act *active // nil for a frame of the caller
	ref uint32
	gpa uint64
}

// copy claims both sides, moves the data with s.mu released for the
// while, and releases them. The caller holds s.mu.
func (s *System) copy(ld, src, dst *domain, op *CopyOp, srcGref, dstGref bool) error {
	if int(op.Source.Offset)+int(op.Len) > PageSize || int(op.Dest.Offset)+int(op.Len) > PageSize {
		return fail(BadCopyArg, "copy of %d bytes from offset %d to offset %d", op.Len, op.Source.Offset, op.Dest.Offset)
	}
	from, err := s.claim(ld, src, &op.Source, srcGref, true)
	if err != nil {
		return err
	}
	to, err := s.claim(ld, dst, &op.Dest, dstGref, false)
	if err != nil {
		s.unclaim(from, true)
		return err
	}
	from.dom.busy++
	to.dom.busy++
	s.mu.Unlock()

	buf := s.buffers.Get().(*[PageSize]byte)
	b := buf[:op.Len]
	err = from.dom.mem.ReadGPA(from.gpa, b)
	if err == nil {
		err = to.dom.mem.WriteGPA(to.gpa, b)
	}
	s.buffers.Put(buf)

	s.mu.Lock()
	from.dom.busy--
	to.dom.busy--
	s.unclaim(from, true)
	s.unclaim(to, false)
	s.idle.Broadcast()
	if err != nil {
		return fail(GeneralError, "copy: %v", err)
	}
	return nil
}

func (s *System) claim(ld, d *domain, p *CopyPtr, gref, readonly bool) (copyEnd, error) {
	if gref {
		a, err := s.pin(d, p.Ref, ld.id, readonly, false)
		if err != nil {
			return copyEnd{}, err
		}
		return copyEnd{dom: d, act: a, ref: p.Ref, gpa: a.frame<<PageShift + uint64(p.Offset)}, nil
	}
	if p.GFN > maxGFN || !ld.mem.Owns(p.GFN<<PageShift) {
		return copyEnd{}, fail(BadPage, "copy: frame %#x is not d%d's RAM", p.GFN, ld.id)
	}
	return copyEnd{dom: ld, gpa: p.GFN<<PageShift + uint64(p.Offset)}, nil
}

func (s *System) unclaim(c copyEnd, readonly bool) {
	if c.act != nil {
		s.unpin(c.dom, c.ref, c.act, readonly)
	}
}

// SetupTable checks a request that d's grant table have at least nrFrames
// frames (GNTTABOP_setup_table; XENMAPSPACE_grant_table with index
// nrFrames-1 grows the table the same way) and returns the number of frames
// the table must have, max(current, nrFrames, InitialFrames): the
// hypervisor allocates the frames and grows d's Entries. Beyond the limit
// is GeneralError, as in Xen.
func (s *System) SetupTable(d DomID, nrFrames uint32) (frames uint32, err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	dom, ok := s.domains[d]
	if !ok {
		return 0, fail(BadDomain, "no d%d", d)
	}
	if nrFrames > s.maxFrames {
		return 0, fail(GeneralError, "d%d is limited to %d grant-table frames, not %d", d, s.maxFrames, nrFrames)
	}
	return max(tableFrames(dom.entries), nrFrames, InitialFrames), nil
}

// Query returns the current and the largest size of d's grant table, in
// frames (GNTTABOP_query_size).
func (s *System) Query(d DomID) (nrFrames, maxFrames uint32, err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	dom, ok := s.domains[d]
	if !ok {
		return 0, 0, fail(BadDomain, "no d%d", d)
	}
	return tableFrames(dom.entries), s.maxFrames, nil
}

func tableFrames(e Entries) uint32 {
	return uint32((uint64(e.Len()) + EntriesPerFrame - 1) / EntriesPerFrame)
}

// IsPinned reports whether a grant of registered domain d's frame gfn is
// in use (mapped, or being copied): the hypervisor must not free, move or
// unmap such a frame from d, whatever d asks (a balloon driver's
// XENMEM_decrease_reservation, say). For a removed domain, the pins
// RemoveDomain returned say the same.
func (s *System) IsPinned(d DomID, gfn uint64) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	dom, ok := s.domains[d]
	return ok && dom.frames[gfn] > 0
}
