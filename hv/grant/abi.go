package grant

import (
	"encoding/binary"
	"errors"
	"fmt"
	"tamavisor/xen"
)

// DomID is a Xen domain id (public/xen.h, domid_t: uint16_t).
type DomID uint16

// Special domain ids (public/xen.h).
const (
	// DomIDFirstReserved is the first id that names no real domain
	// (DOMID_FIRST_RESERVED).
	DomIDFirstReserved DomID = xen.DomIDFirstReserved
	// DomIDSelf names the calling domain (DOMID_SELF).
	DomIDSelf DomID = xen.DomIDSelf
)

// Page and table geometry (x86: 4 KiB pages; grant_entry_v1 is 8 bytes).
const (
	PageShift       = 12
	PageSize        = 1 << PageShift
	EntrySize       = 8                     // sizeof(grant_entry_v1_t)
	EntriesPerFrame = PageSize / EntrySize  // 512
	InitialFrames   = 1                     // INITIAL_NR_GRANT_FRAMES (Xen's asm-x86/grant_table.h)
	ReservedEntries = 8                     // GNTTAB_NR_RESERVED_ENTRIES
	ReservedConsole = 0                     // GNTTAB_RESERVED_CONSOLE
	ReservedStore   = 1                     // GNTTAB_RESERVED_XENSTORE
	maxGFN          = 1<<(64-PageShift) - 1 // the largest GFN whose address fits 64 bits
)

// Grant entry flags (grant_table.h, GTF_*), the low 16 bits of an entry's
// first word. Bits 1:0 are the type.
const (
	GTFInvalid        = 0 << 0 // grants no privileges
	GTFPermitAccess   = 1 << 0 // @domid may map/access @frame
	GTFAcceptTransfer = 2 << 0 // @domid may transfer a frame to the granter
	GTFTransitive     = 3 << 0 // v2 only; not mappable
	GTFTypeMask       = 3 << 0

	GTFReadonly = 1 << 2 // [GST] @domid gets read-only access only
	GTFReading  = 1 << 3 // [XEN] in use for reading by @domid
	GTFWriting  = 1 << 4 // [XEN] in use for writing by @domid
	GTFPWT      = 1 << 5 // [GST] x86 cache attribute
	GTFPCD      = 1 << 6 // [GST] x86 cache attribute
	GTFPAT      = 1 << 7 // [GST] x86 cache attribute
	GTFSubPage  = 1 << 8 // [GST] v2 sub-page grant: copy only, never map
)

// Header is the first 32-bit word of a grant_entry_v1 as read little-endian:
// flags in bits 15:0, domid in bits 31:16 (the pair Xen updates with one
// cmpxchg, grant_table.c "union grant_combo").
func Header(flags uint16, d DomID) uint32 { return uint32(flags) | uint32(d)<<16 }

// SplitHeader is the inverse of Header.
func SplitHeader(h uint32) (flags uint16, d DomID) { return uint16(h), DomID(h >> 16) }

// Grant-table operations: the first argument of HYPERVISOR_grant_table_op
// (grant_table.h, GNTTABOP_*). The third argument is the number of
// structures the second points to.
const (
	OpMapGrantRef      = 0
	OpUnmapGrantRef    = 1
	OpSetupTable       = 2
	OpDumpTable        = 3
	OpTransfer         = 4
	OpCopy             = 5
	OpQuerySize        = 6
	OpUnmapAndReplace  = 7
	OpSetVersion       = 8
	OpGetStatusFrames  = 9
	OpGetVersion       = 10
	OpSwapGrantRef     = 11
	OpCacheFlush       = 12
	OpContinuationMask = 1<<12 - 1 // GNTTABOP_CMD_MASK: higher bits carry continuation state (grant_table.c)
)

// Flags of gnttab_map_grant_ref.flags (grant_table.h, GNTMAP_*).
const (
	MapDeviceMap      = 1 << 0
	MapHostMap        = 1 << 1
	MapReadonly       = 1 << 2
	MapApplicationMap = 1 << 3
	MapContainsPTE    = 1 << 4
	MapCanFail        = 1 << 5
)

// Flags of gnttab_copy.flags (grant_table.h, GNTCOPY_*).
const (
	CopySourceGref = 1 << 0 // source is a grant reference, else a GFN of the caller
	CopyDestGref   = 1 << 1 // dest is a grant reference, else a GFN of the caller
	CopyCanFail    = 1 << 2
)

// Status is a GNTST_* status code (grant_table.h); all errors are negative.
type Status int16

// Status codes (grant_table.h, GNTST_*).
const (
	Okay             Status = 0   // GNTST_okay
	GeneralError     Status = -1  // GNTST_general_error
	BadDomain        Status = -2  // GNTST_bad_domain
	BadGntref        Status = -3  // GNTST_bad_gntref
	BadHandle        Status = -4  // GNTST_bad_handle
	BadVirtAddr      Status = -5  // GNTST_bad_virt_addr
	BadDevAddr       Status = -6  // GNTST_bad_dev_addr
	NoDeviceSpace    Status = -7  // GNTST_no_device_space
	PermissionDenied Status = -8  // GNTST_permission_denied
	BadPage          Status = -9  // GNTST_bad_page
	BadCopyArg       Status = -10 // GNTST_bad_copy_arg
	AddressTooBig    Status = -11 // GNTST_address_too_big
	EAgain           Status = -12 // GNTST_eagain
	NoSpace          Status = -13 // GNTST_no_space (Xen 4.15 and later)
)

// statusText is grant_table.h's GNTTABOP_error_msgs, indexed by -status.
var statusText = [...]string{
	"okay",
	"undefined error",
	"unrecognised domain id",
	"invalid grant reference",
	"invalid mapping handle",
	"invalid virtual address",
	"invalid device address",
	"no spare translation slot in the I/O MMU",
	"permission denied",
	"bad page",
	"copy arguments cross page boundary",
	"page address size too large",
	"operation not done; try again",
	"out of space",
}

// String is Xen's message for the status.
func (s Status) String() string {
	if s <= 0 && int(-s) < len(statusText) {
		return statusText[-s]
	}
	return fmt.Sprintf("status %d", int16(s))
}

// Error is a failed grant operation: the status the guest sees and why.
type Error struct {
	Status Status
	Msg    string
}

func (e *Error) Error() string { return "grant: " + e.Status.String() + ": " + e.Msg }

func fail(s Status, format string, a ...any) error {
	return &Error{Status: s, Msg: fmt.Sprintf(format, a...)}
}

// StatusOf is the status to report for err: Okay for nil, the Error's
// status, else GeneralError.
func StatusOf(err error) Status {
	if err == nil {
		return Okay
	}
	var e *Error
	if errors.As(err, &e) {
		return e.Status
	}
	return GeneralError
}

// ParseMapFlags checks gnttab_map_grant_ref.flags as Xen does for an HVM or
// PVH grantee (grant_table.c, map_grant_ref): neither GNTMAP_host_map nor
// GNTMAP_device_map is BadGntref; device, application or PTE mappings are
// GeneralError (Xen: "No device mapping in HVM domain"). It returns whether
// the mapping is read-only. For such a grantee host_addr is a
// guest-physical address whose frame (host_addr >> 12) receives the page.
func ParseMapFlags(flags uint32) (readonly bool, err error) {
	if flags&(MapDeviceMap|MapHostMap) == 0 {
		return false, fail(BadGntref, "map flags %#x ask for no mapping", flags)
	}
	if flags&(MapDeviceMap|MapApplicationMap|MapContainsPTE) != 0 {
		return false, fail(GeneralError, "map flags %#x: only host mappings in a translated domain", flags)
	}
	return flags&MapReadonly != 0, nil
}

var errShort = errors.New("grant: argument structure too short")

var le = binary.LittleEndian

// MapGrantRef is struct gnttab_map_grant_ref (grant_table.h). x86-64
// layout, 32 bytes: host_addr u64 @0, flags u32 @8, ref u32 @12, dom u16
// @16; out: status i16 @18, handle u32 @20, dev_bus_addr u64 @24. Xen
// writes the whole structure back.
type MapGrantRef struct {
	HostAddr   uint64
	Flags      uint32
	Ref        uint32
	Dom        DomID
	Status     Status
	Handle     uint32
	DevBusAddr uint64
}

// MapGrantRefSize is sizeof(struct gnttab_map_grant_ref) on x86-64.
const MapGrantRefSize = 32

// DecodeMapGrantRef reads a gnttab_map_grant_ref from b.
func DecodeMapGrantRef(b []byte) (MapGrantRef, error) {
	if len(b) < MapGrantRefSize {
		return MapGrantRef{}, errShort
	}
	return MapGrantRef{
		HostAddr:   le.Uint64(b[0:]),
		Flags:      le.Uint32(b[8:]),
		Ref:        le.Uint32(b[12:]),
		Dom:        DomID(le.Uint16(b[16:])),
		Status:     Status(le.Uint16(b[18:])),
		Handle:     le.Uint32(b[20:]),
		DevBusAddr: le.Uint64(b[24:]),
	}, nil
}

// Encode writes m into b[:MapGrantRefSize].
func (m *MapGrantRef) Encode(b []byte) error {
	if len(b) < MapGrantRefSize {
		return errShort
	}
	le.PutUint64(b[0:], m.HostAddr)
	le.PutUint32(b[8:], m.Flags)
	le.PutUint32(b[12:], m.Ref)
	le.PutUint16(b[16:], uint16(m.Dom))
	le.PutUint16(b[18:], uint16(m.Status))
	le.PutUint32(b[20:], m.Handle)
	le.PutUint64(b[24:], m.DevBusAddr)
	return nil
}

// UnmapGrantRef is struct gnttab_unmap_grant_ref (grant_table.h). x86-64
// layout, 24 bytes: host_addr u64 @0, dev_bus_addr u64 @8, handle u32 @16;
// out: status i16 @20 (Xen writes back only the status).
type UnmapGrantRef struct {
	HostAddr   uint64
	DevBusAddr uint64
	Handle     uint32
	Status     Status
}

// Sizes and status offsets of gnttab_unmap_grant_ref on x86-64.
const (
	UnmapGrantRefSize         = 24
	UnmapGrantRefStatusOffset = 20
)

// DecodeUnmapGrantRef reads a gnttab_unmap_grant_ref from b.
func DecodeUnmapGrantRef(b []byte) (UnmapGrantRef, error) {
	if len(b) < UnmapGrantRefSize {
		return UnmapGrantRef{}, errShort
	}
	return UnmapGrantRef{
		HostAddr:   le.Uint64(b[0:]),
		DevBusAddr: le.Uint64(b[8:]),
		Handle:     le.Uint32(b[16:]),
		Status:     Status(le.Uint16(b[20:])),
	}, nil
}

// Encode writes u into b[:UnmapGrantRefSize] (padding zeroed).
func (u *UnmapGrantRef) Encode(b []byte) error {
	if len(b) < UnmapGrantRefSize {
		return errShort
	}
	le.PutUint64(b[0:], u.HostAddr)
	le.PutUint64(b[8:], u.DevBusAddr)
	le.PutUint32(b[16:], u.Handle)
	le.PutUint16(b[20:], uint16(u.Status))
	le.PutUint16(b[22:], 0)
	return nil
}

// SetupTable is struct gnttab_setup_table (grant_table.h). x86-64 layout,
// 24 bytes: dom u16 @0, nr_frames u32 @4; out: status i16 @8; frame_list
// (XEN_GUEST_HANDLE(ulong), a pointer) @16, where Xen writes nr_frames
// 8-byte frame numbers. Xen writes back only the status (and the list).
type SetupTable struct {
	Dom       DomID
	NrFrames  uint32
	Status    Status
	FrameList uint64
}

// Sizes and offsets of gnttab_setup_table on x86-64.
const (
	SetupTableSize         = 24
	SetupTableStatusOffset = 8
	FrameListEntrySize     = 8 // unsigned long
)

// DecodeSetupTable reads a gnttab_setup_table from b.
func DecodeSetupTable(b []byte) (SetupTable, error) {
	if len(b) < SetupTableSize {
		return SetupTable{}, errShort
	}
	return SetupTable{
		Dom:       DomID(le.Uint16(b[0:])),
		NrFrames:  le.Uint32(b[4:]),
		Status:    Status(le.Uint16(b[8:])),
		FrameList: le.Uint64(b[16:]),
	}, nil
}

// Encode writes s into b[:SetupTableSize] (padding zeroed).
func (s *SetupTable) Encode(b []byte) error {
	if len(b) < SetupTableSize {
		return errShort
	}
	clear(b[:SetupTableSize])
	le.PutUint16(b[0:], uint16(s.Dom))
	le.PutUint32(b[4:], s.NrFrames)
	le.PutUint16(b[8:], uint16(s.Status))
	le.PutUint64(b[16:], s.FrameList)
	return nil
}

// QuerySize is struct gnttab_query_size (grant_table.h). x86-64 layout,
// 16 bytes: dom u16 @0; out: nr_frames u32 @4, max_nr_frames u32 @8, status
// i16 @12. Xen writes the whole structure back.
type QuerySize struct {
	Dom         DomID
	NrFrames    uint32
	MaxNrFrames uint32
	Status      Status
}

// QuerySizeSize is sizeof(struct gnttab_query_size) on x86-64.
const QuerySizeSize = 16

// DecodeQuerySize reads a gnttab_query_size from b.
func DecodeQuerySize(b []byte) (QuerySize, error) {
	if len(b) < QuerySizeSize {
		return QuerySize{}, errShort
	}
	return QuerySize{
		Dom:         DomID(le.Uint16(b[0:])),
		NrFrames:    le.Uint32(b[4:]),
		MaxNrFrames: le.Uint32(b[8:]),
		Status:      Status(le.Uint16(b[12:])),
	}, nil
}

// Encode writes q into b[:QuerySizeSize] (padding zeroed).
func (q *QuerySize) Encode(b []byte) error {
	if len(b) < QuerySizeSize {
		return errShort
	}
	clear(b[:QuerySizeSize])
	le.PutUint16(b[0:], uint16(q.Dom))
	le.PutUint32(b[4:], q.NrFrames)
	le.PutUint32(b[8:], q.MaxNrFrames)
	le.PutUint16(b[12:], uint16(q.Status))
	return nil
}

// CopyPtr is one side of a gnttab_copy (grant_table.h): a grant reference
// of domain Dom when the side's GNTCOPY_*_gref flag is set, else a GFN of
// the caller (Dom must then be DOMID_SELF), and a byte offset in the page.
// x86-64 layout, 16 bytes: union { grant_ref_t ref; xen_pfn_t gmfn; } u
// @0 (8 bytes, 8-aligned: xen_pfn_t is unsigned long), domid u16 @8,
// offset u16 @10, 4 bytes of padding.
type CopyPtr struct {
	Ref    uint32 // with the gref flag: the low 4 bytes of the union
	GFN    uint64 // without it: all 8 bytes of the union
	Dom    DomID
	Offset uint16
}

// CopyOp is struct gnttab_copy (grant_table.h). x86-64 layout, 40 bytes:
// source @0, dest @16 (each a CopyPtr), len u16 @32, flags u16 @34; out:
// status i16 @36 (Xen writes back only the status).
type CopyOp struct {
	Source, Dest CopyPtr
	Len          uint16
	Flags        uint16 // GNTCOPY_*
	Status       Status
}

// Sizes and offsets of gnttab_copy on x86-64.
const (
	CopyOpSize         = 40
	CopyPtrSize        = 16
	CopyOpStatusOffset = 36
)

func decodeCopyPtr(b []byte, gref bool) CopyPtr {
	p := CopyPtr{Dom: DomID(le.Uint16(b[8:])), Offset: le.Uint16(b[10:])}
	if gref {
		p.Ref = le.Uint32(b[0:])
	} else {
		p.GFN = le.Uint64(b[0:])
	}
	return p
}

func encodeCopyPtr(b []byte, p *CopyPtr, gref bool) {
	if gref {
		le.PutUint32(b[0:], p.Ref)
		le.PutUint32(b[4:], 0)
	} else {
		le.PutUint64(b[0:], p.GFN)
	}
	le.PutUint16(b[8:], uint16(p.Dom))
	le.PutUint16(b[10:], p.Offset)
	le.PutUint32(b[12:], 0)
}

// DecodeCopyOp reads a gnttab_copy from b; the flags decide which member
// of each side's union is read.
func DecodeCopyOp(b []byte) (CopyOp, error) {
	if len(b) < CopyOpSize {
		return CopyOp{}, errShort
	}
	flags := le.Uint16(b[34:])
	return CopyOp{
		Source: decodeCopyPtr(b[0:], flags&CopySourceGref != 0),
		Dest:   decodeCopyPtr(b[16:], flags&CopyDestGref != 0),
		Len:    le.Uint16(b[32:]),
		Flags:  flags,
		Status: Status(le.Uint16(b[36:])),
	}, nil
}

// Encode writes c into b[:CopyOpSize] (padding zeroed).
func (c *CopyOp) Encode(b []byte) error {
	if len(b) < CopyOpSize {
		return errShort
	}
	encodeCopyPtr(b[0:], &c.Source, c.Flags&CopySourceGref != 0)
	encodeCopyPtr(b[16:], &c.Dest, c.Flags&CopyDestGref != 0)
	le.PutUint16(b[32:], c.Len)
	le.PutUint16(b[34:], c.Flags)
	le.PutUint16(b[36:], uint16(c.Status))
	le.PutUint16(b[38:], 0)
	return nil
}
