package acpi

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
)

// Sentinel errors, wrapped by *Error so that callers can test for them with
// errors.Is.
var (
	// ErrNotFound reports that something looked for is absent: no RSDP in
	// the BIOS areas, no table with a signature, no \_S5_ object.
	ErrNotFound = errors.New("not found")
	// ErrChecksum reports that a structure's bytes do not sum to zero.
	ErrChecksum = errors.New("bad checksum")
	// ErrTruncated reports that a structure extends past the bytes that
	// could be read: past the end of a table, of a copy or of memory.
	ErrTruncated = errors.New("truncated")
)

// Error describes a problem with the firmware's ACPI data. Its message names
// the structure, its physical address when known, and what is wrong:
//
//	acpi: MADT at 0x7fe1234: entry 5 at offset 0x5c has length 0
//	acpi: MADT: entry 5 at offset 0x5c has length 0   (address unknown)
type Error struct {
	// Table is the signature of the structure ("RSDP", "XSDT", "MADT",
	// "FACP", "DSDT", ...), or its name when it has no signature.
	Table string
	// Addr is the structure's physical address; valid when HasAddr.
	Addr uint64
	// HasAddr tells whether Addr is known: the Parse functions work on
	// copies and do not know where the bytes came from.
	HasAddr bool
	// Msg says what is wrong, with offsets relative to the structure.
	Msg string
	// Err is the sentinel or underlying I/O error, if any (see Unwrap).
	Err error
}

// Error implements error.
func (e *Error) Error() string {
	if e.HasAddr {
		return fmt.Sprintf("acpi: %s at %#x: %s", e.Table, e.Addr, e.Msg)
	}
	return fmt.Sprintf("acpi: %s: %s", e.Table, e.Msg)
}

// Unwrap returns the sentinel (ErrNotFound, ErrChecksum, ErrTruncated) or the
// underlying I/O error.
func (e *Error) Unwrap() error { return e.Err }

// newErr returns an *Error without an address.
func newErr(table string, sentinel error, format string, args ...any) *Error {
	return &Error{Table: table, Msg: fmt.Sprintf(format, args...), Err: sentinel}
}

// newErrAt returns an *Error for the structure at addr.
func newErrAt(table string, addr uint64, sentinel error, format string, args ...any) *Error {
	return &Error{Table: table, Addr: addr, HasAddr: true, Msg: fmt.Sprintf(format, args...), Err: sentinel}
}

// withAddr returns err with the structure's address filled in if err is an
// *Error without one; other errors are returned unchanged.
func withAddr(err error, addr uint64) error {
	var e *Error
	if errors.As(err, &e) && !e.HasAddr {
		c := *e
		c.Addr, c.HasAddr = addr, true
		return &c
	}
	return err
}

// sigString renders a signature or other identifier from firmware for a
// message: quoted, with unprintable bytes escaped.
func sigString(s string) string {
	for i := 0; i < len(s); i++ {
		if s[i] < 0x20 || s[i] > 0x7e {
			return fmt.Sprintf("%q", s)
		}
	}
	return s
}

// readPhys reads exactly len(p) bytes at physical address addr. It returns
// an error wrapping ErrTruncated when fewer bytes can be read, including when
// the range does not fit in an io.ReaderAt offset (int64).
func readPhys(mem io.ReaderAt, addr uint64, p []byte) error {
	n := uint64(len(p))
	if addr > math.MaxInt64 || n > math.MaxInt64-addr {
		return fmt.Errorf("%w: %#x bytes at %#x are beyond the addressable range", ErrTruncated, n, addr)
	}
	got, err := mem.ReadAt(p, int64(addr))
	if got == len(p) {
		// io.ReaderAt may return io.EOF with a full read.
		return nil
	}
	if err == nil || err == io.EOF || err == io.ErrUnexpectedEOF {
		return fmt.Errorf("%w: only %#x of %#x bytes readable", ErrTruncated, got, n)
	}
	return fmt.Errorf("%w: only %#x of %#x bytes read: %w", ErrTruncated, got, n, err)
}

// checksum returns the 8-bit sum of b; valid ACPI structures sum to 0.
func checksum(b []byte) uint8 {
	var s uint8
	for _, c := range b {
		s += c
	}
	return s
}

// Little-endian field readers. Callers check bounds first.

func u16(b []byte, off int) uint16 { return binary.LittleEndian.Uint16(b[off:]) }
func u32(b []byte, off int) uint32 { return binary.LittleEndian.Uint32(b[off:]) }
func u64(b []byte, off int) uint64 { return binary.LittleEndian.Uint64(b[off:]) }
