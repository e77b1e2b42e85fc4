package acpi

import (
	"errors"
	"fmt"
	"io"
	"strings"
)

// RSDP structure layout, ACPI 6.5 §5.2.5.3 Root System Description Pointer
// (RSDP) Structure.
const (
	// RSDPSignature is the RSDP's 8-byte signature (note the trailing
	// space).
	RSDPSignature = "RSD PTR "

	// RSDPv1Length is the size of the ACPI 1.0 RSDP (revision 0), which the
	// checksum field covers.
	RSDPv1Length = 20
	// RSDPv2Length is the size of the ACPI 2.0+ RSDP (revision >= 2), which
	// the extended checksum covers (its Length field says so).
	RSDPv2Length = 36

	// maxRSDPLength bounds the RSDP's Length field: the structure is 36
	// bytes in every revision so far; allow growth but not absurdity.
	maxRSDPLength = 4096
)

// Legacy BIOS search areas, ACPI 6.5 §5.2.5.1 Finding the RSDP on IA-PC
// Systems.
const (
	// EBDAPointer is the physical address of the 16-bit real-mode segment
	// of the Extended BIOS Data Area (in the BIOS Data Area, 40:0Eh).
	EBDAPointer = 0x40e
	// EBDASearchLength is how much of the EBDA is searched: its first KiB.
	EBDASearchLength = 1024
	// BIOSAreaStart and BIOSAreaEnd bound the BIOS read-only memory area
	// that is searched, [0xE0000, 0xFFFFF] inclusive.
	BIOSAreaStart = 0xe0000
	BIOSAreaEnd   = 0x100000 // exclusive
	// rsdpAlign is the alignment of the RSDP in the search areas.
	rsdpAlign = 16
	// maxRejected bounds how many rejected candidates FindRSDP's error
	// lists.
	maxRejected = 8
)

// OEMIDBochs is the OEM ID that the Bochs BIOS, SeaBIOS and QEMU's own ACPI
// tables put in the RSDP and in every table header (QEMU's default; it can be
// changed with -machine oem-id=).
const OEMIDBochs = "BOCHS "

// RSDP is the decoded Root System Description Pointer, ACPI 6.5 §5.2.5.3.
type RSDP struct {
	// OEMID is the 6-byte OEM identifier, as is (space padded), e.g.
	// "BOCHS ".
	OEMID string
	// Revision is 0 for ACPI 1.0 (RSDT only) and 2 for ACPI 2.0 and later
	// (adds Length and XSDTAddress).
	Revision uint8
	// RSDTAddress is the 32-bit physical address of the RSDT.
	RSDTAddress uint32
	// Length is the size of the whole structure (36 when Revision >= 2,
	// 20 for revision 0, for which the field does not exist).
	Length uint32
	// XSDTAddress is the 64-bit physical address of the XSDT, or 0 when
	// Revision < 2.
	XSDTAddress uint64
}

// ParseRSDP decodes an RSDP from a copy of its bytes, such as the one a
// Multiboot2 loader puts in its "ACPI old RSDP" (20 bytes) or "ACPI new RSDP"
// (36 bytes) tag. It checks the signature, the checksum over the first 20
// bytes and, when the revision is 2 or more, the Length field and the
// extended checksum over Length bytes. Bytes past the structure are ignored.
func ParseRSDP(b []byte) (*RSDP, error) {
	if len(b) < RSDPv1Length {
		return nil, newErr("RSDP", ErrTruncated, "%d bytes, need at least %d", len(b), RSDPv1Length)
	}
	if string(b[:8]) != RSDPSignature {
		return nil, newErr("RSDP", nil, "signature %q is not %q", b[:8], RSDPSignature)
	}
	if s := checksum(b[:RSDPv1Length]); s != 0 {
		return nil, newErr("RSDP", ErrChecksum, "checksum of the first %d bytes is %#02x, not 0", RSDPv1Length, s)
	}
	r := &RSDP{
		OEMID:       string(b[9:15]),
		Revision:    b[15],
		RSDTAddress: u32(b, 16),
		Length:      RSDPv1Length,
	}
	if r.Revision < 2 {
		// Revision 1 was never defined; treat it as ACPI 1.0, whose
		// structure ends at offset 20.
		return r, nil
	}
	if len(b) < RSDPv2Length {
		return nil, newErr("RSDP", ErrTruncated, "revision %d needs %d bytes, have %d", r.Revision, RSDPv2Length, len(b))
	}
	r.Length = u32(b, 20)
	if r.Length < RSDPv2Length || r.Length > maxRSDPLength {
		return nil, newErr("RSDP", nil, "revision %d has length %d, want %d to %d", r.Revision, r.Length, RSDPv2Length, maxRSDPLength)
	}
	if int(r.Length) > len(b) {
		return nil, newErr("RSDP", ErrTruncated, "length %d is past the end of the %d bytes given", r.Length, len(b))
	}
	if s := checksum(b[:r.Length]); s != 0 {
		return nil, newErr("RSDP", ErrChecksum, "extended checksum of %d bytes is %#02x, not 0", r.Length, s)
	}
	r.XSDTAddress = u64(b, 24)
	return r, nil
}

// ReadRSDP reads and decodes the RSDP at physical address addr (see
// ParseRSDP for the checks).
func ReadRSDP(mem io.ReaderAt, addr uint64) (*RSDP, error) {
	b := make([]byte, RSDPv2Length)
	if err := readPhys(mem, addr, b[:RSDPv1Length]); err != nil {
		return nil, newErrAt("RSDP", addr, err, "cannot read %d bytes: %v", RSDPv1Length, err)
	}
	if b[15] >= 2 {
		if err := readPhys(mem, addr, b); err != nil {
			return nil, newErrAt("RSDP", addr, err, "revision %d: cannot read %d bytes: %v", b[15], RSDPv2Length, err)
		}
		if n := u32(b, 20); n > RSDPv2Length && n <= maxRSDPLength {
			b = make([]byte, n)
			if err := readPhys(mem, addr, b); err != nil {
				return nil, newErrAt("RSDP", addr, err, "length %d: %v", n, err)
			}
		}
	}
	r, err := ParseRSDP(b)
	if err != nil {
		return nil, withAddr(err, addr)
	}
	return r, nil
}

// FindRSDP searches the legacy BIOS areas for the RSDP as ACPI 6.5 §5.2.5.1
// prescribes for IA-PC systems: first the first KiB of the Extended BIOS Data
// Area (whose real-mode segment is the 16-bit word at physical 0x40E), then
// the BIOS area 0xE0000-0xFFFFF, on 16-byte boundaries. A candidate must have
// the "RSD PTR " signature and a valid checksum (and extended checksum when
// its revision is 2 or more); candidates failing these checks are skipped.
// It returns the physical address of the first valid RSDP. On UEFI systems
// the RSDP need not be in these areas; there the loader must pass it.
func FindRSDP(mem io.ReaderAt) (addr uint64, err error) {
	var rejected []string // the first maxRejected candidates that failed
	nRejected := 0
	var readErrs []string

	type area struct {
		name       string
		start, end uint64
	}
	var areas []area
	var seg [2]byte
	if err := readPhys(mem, EBDAPointer, seg[:]); err != nil {
		readErrs = append(readErrs, fmt.Sprintf("EBDA pointer at %#x: %v", EBDAPointer, err))
	} else {
		ebda := uint64(u16(seg[:], 0)) << 4
		// Like ACPICA, only trust an EBDA between the BIOS Data Area and
		// the start of the video memory at 0xA0000.
		if ebda > 0x400 && ebda < 0xa0000 {
			areas = append(areas, area{"EBDA", ebda, min(ebda+EBDASearchLength, 0xa0000)})
		}
	}
	areas = append(areas, area{"BIOS area", BIOSAreaStart, BIOSAreaEnd})

	for _, a := range areas {
		start := (a.start + rsdpAlign - 1) &^ (rsdpAlign - 1)
		if start >= a.end {
			continue
		}
		buf := make([]byte, a.end-start)
		n, rerr := mem.ReadAt(buf, int64(start))
		if n < 0 || n > len(buf) {
			n = 0 // a misbehaving ReaderAt must not make us panic
		}
		if n < len(buf) && rerr != nil {
			// Search what could be read, and say what could not.
			readErrs = append(readErrs, fmt.Sprintf("%s %#x-%#x: read %#x bytes: %v", a.name, start, a.end-1, n, rerr))
		}
		buf = buf[:n]
		for off := 0; off+len(RSDPSignature) <= len(buf); off += rsdpAlign {
			if string(buf[off:off+len(RSDPSignature)]) != RSDPSignature {
				continue
			}
			// The structure may extend past the area (an RSDP at
			// 0xFFFF0): ReadRSDP reads it from mem.
			cand := start + uint64(off)
			if _, err := ReadRSDP(mem, cand); err != nil {
				nRejected++
				if len(rejected) < maxRejected {
					var e *Error
					if errors.As(err, &e) {
						rejected = append(rejected, fmt.Sprintf("%#x: %s", cand, e.Msg))
					} else {
						rejected = append(rejected, fmt.Sprintf("%#x: %v", cand, err))
					}
				}
				continue
			}
			return cand, nil
		}
	}

	msg := fmt.Sprintf("no valid %q signature in the EBDA or at %#x-%#x", RSDPSignature, BIOSAreaStart, BIOSAreaEnd-1)
	if nRejected > len(rejected) {
		rejected = append(rejected, fmt.Sprintf("and %d more", nRejected-len(rejected)))
	}
	if len(rejected) > 0 {
		msg += "; rejected " + strings.Join(rejected, ", ")
	}
	if len(readErrs) > 0 {
		msg += "; " + strings.Join(readErrs, "; ")
	}
	return 0, newErr("RSDP", ErrNotFound, "%s", msg)
}
