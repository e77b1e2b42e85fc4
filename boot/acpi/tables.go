package acpi

import (
	"fmt"
	"io"
	"strings"
)

// Limits on what Load accepts from firmware. Real firmware stays far below
// them: a PC has a few dozen tables, and its largest, the DSDT, is some
// hundred KiB.
const (
	// MaxTables is the most root-table entries Load follows; later ones are
	// ignored with a warning.
	MaxTables = 256
	// MaxTableLength is the largest table Load accepts.
	MaxTableLength = 1 << 20
	// MaxTotalLength bounds the bytes Load copies for all tables together,
	// since they are kept on the hypervisor's heap.
	MaxTotalLength = 8 << 20
)

// HeaderLength is the size of the System Description Table Header.
const HeaderLength = 36

// Table signatures used by this package (ACPI 6.5 §5.2.6, DESCRIPTION_HEADER
// Signatures for tables defined by ACPI).
const (
	SigRSDT = "RSDT" // §5.2.7 Root System Description Table
	SigXSDT = "XSDT" // §5.2.8 Extended System Description Table
	SigFADT = "FACP" // §5.2.9 Fixed ACPI Description Table
	SigDSDT = "DSDT" // §5.2.11.1 Differentiated System Description Table
	SigMADT = "APIC" // §5.2.12 Multiple APIC Description Table
)

// Header is the System Description Table Header that starts every table but
// the RSDP and the FACS, ACPI 6.5 §5.2.6.
type Header struct {
	// Signature is the 4-byte table signature, e.g. "APIC" for the MADT.
	Signature string
	// Length is the size of the whole table, header included.
	Length uint32
	// Revision is the revision of the table's structure.
	Revision uint8
	// Checksum makes the whole table sum to zero.
	Checksum uint8
	// OEMID is the 6-byte OEM identifier, as is (space padded).
	OEMID string
	// OEMTableID is the OEM's 8-byte name for the table.
	OEMTableID string
	// OEMRevision is the OEM's revision of the table.
	OEMRevision uint32
	// CreatorID is the vendor ID of the tool that created the table.
	CreatorID string
	// CreatorRevision is the revision of that tool.
	CreatorRevision uint32
}

// ParseHeader decodes the System Description Table Header at the start of
// b. It checks only that b holds the 36 header bytes; it does not check the
// length or the checksum.
func ParseHeader(b []byte) (Header, error) {
	if len(b) < HeaderLength {
		return Header{}, newErr("table header", ErrTruncated, "%d bytes, need %d", len(b), HeaderLength)
	}
	return Header{
		Signature:       string(b[0:4]),
		Length:          u32(b, 4),
		Revision:        b[8],
		Checksum:        b[9],
		OEMID:           string(b[10:16]),
		OEMTableID:      string(b[16:24]),
		OEMRevision:     u32(b, 24),
		CreatorID:       string(b[28:32]),
		CreatorRevision: u32(b, 32),
	}, nil
}

// checkTable verifies that b starts with a complete table whose signature
// is sig: header present, Length at least minLen and within b, and checksum
// over Length bytes. It returns the header and b cut to Length. Errors name
// the table by name (e.g. "MADT" for signature "APIC") and have no address.
func checkTable(b []byte, sig, name string, minLen int) (Header, []byte, error) {
	h, err := ParseHeader(b)
	if err != nil {
		return Header{}, nil, newErr(name, ErrTruncated, "%d bytes, need at least the %d-byte header", len(b), HeaderLength)
	}
	if h.Signature != sig {
		return Header{}, nil, newErr(name, nil, "signature is %q, not %q", h.Signature, sig)
	}
	if uint64(h.Length) < uint64(minLen) {
		return Header{}, nil, newErr(name, ErrTruncated, "length %#x is less than the minimum %#x", h.Length, minLen)
	}
	if uint64(h.Length) > uint64(len(b)) {
		return Header{}, nil, newErr(name, ErrTruncated, "length %#x is past the end of the %#x bytes given", h.Length, len(b))
	}
	b = b[:h.Length]
	if s := checksum(b); s != 0 {
		return Header{}, nil, newErr(name, ErrChecksum, "checksum: the %#x bytes sum to %#02x, not 0", h.Length, s)
	}
	return h, b, nil
}

// Table is one ACPI table found by Load.
type Table struct {
	// Header is the table's decoded header.
	Header
	// Addr is the table's physical address.
	Addr uint64
	// data is the verified copy of the table (Length bytes).
	data []byte
}

// Bytes returns the table's bytes, header included, as copied and verified
// by Load. The slice is shared: callers must not modify it.
func (t *Table) Bytes() []byte { return t.data }

// String describes the table for a boot log, e.g.
// "APIC at 0x7fe1234 length 0x78 rev 1 OEM BOCHS  BXPCAPIC".
func (t *Table) String() string {
	return fmt.Sprintf("%s at %#x length %#x rev %d OEM %s %s",
		sigString(t.Signature), t.Addr, t.Length, t.Revision, sigString(t.OEMID), sigString(t.OEMTableID))
}

// Tables is the set of ACPI tables that Load found and verified.
type Tables struct {
	// RSDP is the Root System Description Pointer the tables came from.
	RSDP *RSDP
	// Root is the signature of the root table that was walked: SigXSDT, or
	// SigRSDT when the RSDP has no XSDT (revision 0, or an XSDT address of
	// 0, in which case Warnings says so).
	Root string
	// RootAddr is the root table's physical address.
	RootAddr uint64
	// List holds the verified tables in the root table's order, followed by
	// the DSDT (which the FADT, not the root table, points to).
	List []Table
	// Warnings lists the problems that made Load leave a table out or
	// ignore part of the data, one message each (same format as *Error).
	Warnings []string
}

// Lookup returns the first table with signature sig.
func (t *Tables) Lookup(sig string) (*Table, bool) {
	for i := range t.List {
		if t.List[i].Signature == sig {
			return &t.List[i], true
		}
	}
	return nil, false
}

// Find returns the bytes, header included, of the first table with
// signature sig (e.g. "APIC", "FACP", "DSDT"). The slice is shared: callers
// must not modify it. If there is no such table, the error wraps
// ErrNotFound.
func (t *Tables) Find(sig string) ([]byte, error) {
	if tb, ok := t.Lookup(sig); ok {
		return tb.data, nil
	}
	sigs := make([]string, 0, len(t.List))
	for i := range t.List {
		sigs = append(sigs, sigString(t.List[i].Signature))
	}
	return nil, newErr(sigString(sig), ErrNotFound, "no such table (have %s)", strings.Join(sigs, " "))
}

// OEMID returns the OEM ID from the RSDP, e.g. OEMIDBochs under QEMU and
// Bochs.
func (t *Tables) OEMID() string {
	if t.RSDP == nil {
		return ""
	}
	return t.RSDP.OEMID
}

// MADT finds and decodes the MADT ("APIC"); errors carry its address.
func (t *Tables) MADT() (*MADT, error) {
	tb, ok := t.Lookup(SigMADT)
	if !ok {
		_, err := t.Find(SigMADT)
		return nil, err
	}
	m, err := ParseMADT(tb.data)
	if err != nil {
		return nil, withAddr(err, tb.Addr)
	}
	return m, nil
}

// FADT finds and decodes the FADT ("FACP"); errors carry its address.
func (t *Tables) FADT() (*FADT, error) {
	tb, ok := t.Lookup(SigFADT)
	if !ok {
		_, err := t.Find(SigFADT)
		return nil, err
	}
	f, err := ParseFADT(tb.data)
	if err != nil {
		return nil, withAddr(err, tb.Addr)
	}
	return f, nil
}

// S5 runs FindS5 on the DSDT; errors carry its address.
func (t *Tables) S5() (slpTypA, slpTypB uint8, err error) {
	tb, ok := t.Lookup(SigDSDT)
	if !ok {
		_, err := t.Find(SigDSDT)
		return 0, 0, err
	}
	a, b, err := FindS5(tb.data)
	if err != nil {
		return 0, 0, withAddr(err, tb.Addr)
	}
	return a, b, nil
}

// loader carries Load's state.
type loader struct {
	mem   io.ReaderAt
	t     *Tables
	total int
	seen  map[uint64]bool
}

func (l *loader) warn(err error) {
	l.t.Warnings = append(l.t.Warnings, err.Error())
}

// readTable reads and verifies the table at addr: header readable, length
// between HeaderLength and MaxTableLength, the whole table readable, and a
// valid checksum. If want is not empty the signature must be want. name
// identifies the table in errors until its signature is known.
func (l *loader) readTable(addr uint64, name, want string) (*Table, error) {
	var hb [HeaderLength]byte
	if err := readPhys(l.mem, addr, hb[:]); err != nil {
		return nil, newErrAt(name, addr, err, "cannot read the %d-byte header: %v", HeaderLength, err)
	}
	h, _ := ParseHeader(hb[:])
	sig := sigString(h.Signature)
	if want != "" && h.Signature != want {
		return nil, newErrAt(name, addr, nil, "signature is %q, not %q", h.Signature, want)
	}
	if h.Length < HeaderLength {
		return nil, newErrAt(sig, addr, ErrTruncated, "length %#x is shorter than the %d-byte header", h.Length, HeaderLength)
	}
	if h.Length > MaxTableLength {
		return nil, newErrAt(sig, addr, nil, "length %#x exceeds the %#x-byte limit", h.Length, MaxTableLength)
	}
	if l.total+int(h.Length) > MaxTotalLength {
		return nil, newErrAt(sig, addr, nil, "length %#x would take the tables past the %#x-byte total limit", h.Length, MaxTotalLength)
	}
	// Probe the last byte before allocating, so that a bogus length
	// costs no allocation.
	var last [1]byte
	if err := readPhys(l.mem, addr+uint64(h.Length)-1, last[:]); err != nil {
		return nil, newErrAt(sig, addr, err, "length %#x extends past readable memory: its last byte at %#x cannot be read", h.Length, addr+uint64(h.Length)-1)
	}
	data := make([]byte, h.Length)
	if err := readPhys(l.mem, addr, data); err != nil {
		return nil, newErrAt(sig, addr, err, "length %#x extends past readable memory: %v", h.Length, err)
	}
	// Decode the header from the copy that is kept, in case the memory
	// changed between the two reads.
	h, _ = ParseHeader(data)
	if h.Length != uint32(len(data)) || (want != "" && h.Signature != want) {
		return nil, newErrAt(sig, addr, nil, "header changed while the table was read")
	}
	if s := checksum(data); s != 0 {
		return nil, newErrAt(sig, addr, ErrChecksum, "checksum: the %#x bytes sum to %#02x, not 0", h.Length, s)
	}
	l.total += len(data)
	return &Table{Header: h, Addr: addr, data: data}, nil
}

// add reads the table at addr and appends it to the list, or records a
// warning. name identifies the table in messages until its signature is
// known; want, if not empty, is the required signature.
func (l *loader) add(addr uint64, name, want string) {
	if l.seen[addr] {
		l.warn(newErrAt(name, addr, nil, "table already listed; ignored"))
		return
	}
	l.seen[addr] = true
	tb, err := l.readTable(addr, name, want)
	if err != nil {
		l.warn(fmt.Errorf("%w; table ignored", err))
		return
	}
	l.t.List = append(l.t.List, *tb)
}

// Load walks the ACPI tables from rsdp (ACPI 6.5 §5.2.5-§5.2.8): the XSDT
// when the RSDP has one (revision >= 2 and a non-zero XSDT address),
// otherwise the RSDT, then every table the root lists, then the DSDT that the
// FADT points to. Every table is copied out of mem and its length and
// checksum verified.
//
// A problem with the root table is an error. A problem with any other table
// (unreadable, too long, bad checksum, null or duplicate address) leaves that
// table out and adds a message to Tables.Warnings. An XSDT that is present but
// invalid is an error: Load does not fall back to the RSDT in that case.
func Load(mem io.ReaderAt, rsdp *RSDP) (*Tables, error) {
	if rsdp == nil {
		return nil, newErr("RSDP", nil, "no RSDP given")
	}
	t := &Tables{RSDP: rsdp}
	l := &loader{mem: mem, t: t, seen: make(map[uint64]bool)}

	entrySize := 8
	switch {
	case rsdp.Revision >= 2 && rsdp.XSDTAddress != 0:
		t.Root, t.RootAddr = SigXSDT, rsdp.XSDTAddress
	case rsdp.RSDTAddress != 0:
		t.Root, t.RootAddr, entrySize = SigRSDT, uint64(rsdp.RSDTAddress), 4
		if rsdp.Revision >= 2 {
			l.warn(newErr("RSDP", nil, "revision %d has a null XSDT address; using the RSDT at %#x", rsdp.Revision, rsdp.RSDTAddress))
		}
	default:
		return nil, newErr("RSDP", nil, "revision %d gives neither an XSDT nor an RSDT address", rsdp.Revision)
	}

	root, err := l.readTable(t.RootAddr, t.Root, t.Root)
	if err != nil {
		return nil, err
	}
	body := root.data[HeaderLength:]
	n := len(body) / entrySize
	if rem := len(body) % entrySize; rem != 0 {
		l.warn(newErrAt(t.Root, t.RootAddr, nil, "length %#x leaves %d bytes after the last %d-byte entry; ignored", root.Length, rem, entrySize))
	}
	if n > MaxTables {
		l.warn(newErrAt(t.Root, t.RootAddr, nil, "%d entries; only the first %d are read", n, MaxTables))
		n = MaxTables
	}
	l.seen[t.RootAddr] = true

	for i := 0; i < n; i++ {
		off := HeaderLength + i*entrySize
		var addr uint64
		if entrySize == 8 {
			addr = u64(root.data, off)
		} else {
			addr = uint64(u32(root.data, off))
		}
		if addr == 0 {
			l.warn(newErrAt(t.Root, t.RootAddr, nil, "entry %d at offset %#x is a null address; ignored", i, off))
			continue
		}
		l.add(addr, fmt.Sprintf("%s entry %d", t.Root, i), "")
	}

	// The DSDT is listed by the FADT, not by the root table.
	if _, ok := t.Lookup(SigDSDT); !ok {
		if fadt, ok := t.Lookup(SigFADT); ok {
			f, err := ParseFADT(fadt.data)
			switch {
			case err != nil:
				l.warn(fmt.Errorf("%w; DSDT not loaded", withAddr(err, fadt.Addr)))
			case f.DSDT == 0:
				l.warn(newErrAt("FADT", fadt.Addr, nil, "no DSDT address"))
			default:
				l.add(f.DSDT, SigDSDT, SigDSDT)
			}
		}
	}
	return t, nil
}
