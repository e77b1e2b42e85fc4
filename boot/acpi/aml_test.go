package acpi

import (
	"errors"
	"strings"
	"testing"
)

// aml concatenates AML fragments; strings are copied as bytes.
func aml(parts ...any) []byte {
	var b []byte
	for _, p := range parts {
		switch v := p.(type) {
		case string:
			b = append(b, v...)
		case []byte:
			b = append(b, v...)
		case int:
			b = append(b, byte(v))
		default:
			panic("aml: bad part")
		}
	}
	return b
}

// scopeSB is the start of a Scope(\_SB) with some content, to put before
// the \_S5_ object as real DSDTs do.
var scopeSB = aml(0x10, 0x0b, `\`, "_SB_", 0x08, "PCI0", 0x0a, 0x01)

func TestFindS5(t *testing.T) {
	tests := []struct {
		name string
		aml  []byte
		a, b uint8
	}{
		{"QEMU", aml(0x08, "_S5_", 0x12, 0x06, 0x04, 0x00, 0x00, 0x00, 0x00), 0, 0},
		{"SeaBIOS-style ByteConst", aml(0x08, "_S5_", 0x12, 0x08, 0x04, 0x0a, 0x07, 0x0a, 0x07, 0x00, 0x00), 7, 7},
		{"root prefix", aml(scopeSB, 0x08, `\`, "_S5_", 0x12, 0x08, 0x04, 0x0a, 0x05, 0x0a, 0x06, 0x00, 0x00), 5, 6},
		{"parent prefix", aml(0x08, "^^_S5_", 0x12, 0x06, 0x04, 0x01, 0x01, 0x00, 0x00), 1, 1},
		{"OneOp and ByteConst", aml(0x08, "_S5_", 0x12, 0x07, 0x04, 0x01, 0x0a, 0x03, 0x00, 0x00), 1, 3},
		{"bare bytes", aml(0x08, "_S5_", 0x12, 0x06, 0x04, 0x05, 0x05, 0x00, 0x00), 5, 5},
		{"two elements", aml(0x08, "_S5_", 0x12, 0x05, 0x02, 0x0a, 0x07, 0x00), 7, 0},
		{"WordConst and DWordConst", aml(0x08, "_S5_", 0x12, 0x0a, 0x02, 0x0b, 0x06, 0x00, 0x0c, 0x02, 0, 0, 0), 6, 2},
		{"QWordConst", aml(0x08, "_S5_", 0x12, 0x0c, 0x02, 0x0e, 0x07, 0, 0, 0, 0, 0, 0, 0, 0x00), 7, 0},
		{"two-byte PkgLength", aml(0x08, "_S5_", 0x12, 0x49, 0x00, 0x04, 0x0a, 0x05, 0x0a, 0x05, 0x00, 0x00), 5, 5},
		{"four-byte PkgLength", aml(0x08, "_S5_", 0x12, 0xcb, 0x00, 0x00, 0x00, 0x04, 0x0a, 0x03, 0x0a, 0x04, 0x00, 0x00), 3, 4},
		{"one integer: SLP_TYPb in the high byte", aml(0x08, "_S5_", 0x12, 0x05, 0x01, 0x0b, 0x05, 0x06), 5, 6},
		{"VarPackage", aml(0x08, "_S5_", 0x13, 0x08, 0x0a, 0x04, 0x0a, 0x07, 0x00, 0x00, 0x00), 7, 0},
		{"after _S3_ and references to \\_S5_",
			aml(scopeSB,
				0x08, "_S3_", 0x12, 0x06, 0x04, 0x01, 0x01, 0x00, 0x00,
				0x0d, "_S5_", 0x00, // a string
				0x70, `\`, "_S5_", "LOCL", // Store (\_S5_, LOCL)
				0x08, "_S5_", 0x12, 0x06, 0x04, 0x00, 0x00, 0x00, 0x00), 0, 0},
		{"first malformed, second well-formed",
			aml(0x08, "_S5_", 0x0a, 0x05, // Name(_S5_, 5): not a package
				0x08, "_S5_", 0x12, 0x06, 0x04, 0x0a, 0x02, 0x00, 0x00), 2, 0},
		{"at the very end", aml(0x08, "_S5_", 0x12, 0x04, 0x02, 0x01, 0x01), 1, 1},
	}
	for _, tt := range tests {
		a, b, err := FindS5(dsdtTable(tt.aml))
		if err != nil || a != tt.a || b != tt.b {
			t.Errorf("%s: FindS5 = %d, %d, %v; want %d, %d", tt.name, a, b, err, tt.a, tt.b)
		}
	}

	// An SSDT is accepted too.
	if a, b, err := FindS5(sdt("SSDT", 1, "BOCHS", tests[1].aml)); err != nil || a != 7 || b != 7 {
		t.Errorf("SSDT: %d, %d, %v", a, b, err)
	}
}

func TestFindS5Errors(t *testing.T) {
	badSum := dsdtTable(aml(0x08, "_S5_", 0x12, 0x06, 0x04, 0x00, 0x00, 0x00, 0x00))
	badSum[40]++

	tests := []struct {
		name     string
		table    []byte
		want     string
		sentinel error
	}{
		{"absent", dsdtTable(aml(scopeSB, 0x08, "_S3_", 0x12, 0x06, 0x04, 0x01, 0x01, 0x00, 0x00)),
			"acpi: DSDT: no \\_S5_ object", ErrNotFound},
		{"only referenced", dsdtTable(aml(0x70, `\`, "_S5_", "LOCL")), "no \\_S5_ object", ErrNotFound},
		{"empty DSDT", dsdtTable(nil), "no \\_S5_ object", ErrNotFound},
		{"not a package", dsdtTable(aml(0x08, "_S5_", 0x0a, 0x05)),
			"acpi: DSDT: \\_S5_ at offset 0x25: object at offset 0x29 is opcode 0x0a, not a Package", nil},
		{"ends after the name", dsdtTable(aml(0x08, "_S5_")),
			"\\_S5_ at offset 0x25: the table ends before the object", ErrTruncated},
		{"ends after PackageOp", dsdtTable(aml(0x08, "_S5_", 0x12)),
			"PkgLength at offset 0x2a is past the end of the table", ErrTruncated},
		{"PkgLength bytes missing", dsdtTable(aml(0x08, "_S5_", 0x12, 0xc6, 0x00)),
			"PkgLength at offset 0x2a needs 2 more bytes than the table has", ErrTruncated},
		{"PkgLength past the end", dsdtTable(aml(0x08, "_S5_", 0x12, 0x3f, 0x04, 0x00, 0x00, 0x00, 0x00)),
			"PkgLength 0x3f at offset 0x2a extends past the end of the table at 0x30", ErrTruncated},
		{"huge PkgLength", dsdtTable(aml(0x08, "_S5_", 0x12, 0xff, 0xff, 0xff, 0xff, 0x04, 0x00, 0x00)),
			"PkgLength 0xfffffff at offset 0x2a extends past the end", ErrTruncated},
		{"PkgLength too short", dsdtTable(aml(0x08, "_S5_", 0x12, 0x01, 0x04, 0x00, 0x00)),
			"PkgLength 0x1 at offset 0x2a is too short for NumElements", nil},
		{"no elements", dsdtTable(aml(0x08, "_S5_", 0x12, 0x02, 0x00)), "package has no elements", nil},
		{"elements past the package", dsdtTable(aml(0x08, "_S5_", 0x12, 0x03, 0x04, 0x00, 0x00, 0x00, 0x00)),
			"element 1: offset 0x2d is past the end of the package at 0x2d", nil},
		{"ByteConst cut", dsdtTable(aml(0x08, "_S5_", 0x12, 0x03, 0x04, 0x0a)),
			"element 0: 1-byte constant at offset 0x2c runs past the end of the package", nil},
		{"name as element", dsdtTable(aml(0x08, "_S5_", 0x12, 0x0a, 0x02, "SLPA", "SLPB")),
			"element 0: opcode 0x53 at offset 0x2c is not an integer constant", nil},
		{"OnesOp", dsdtTable(aml(0x08, "_S5_", 0x12, 0x04, 0x02, 0x00, 0xff)),
			"element 1: OnesOp at offset 0x2d is not a sleep type", nil},
		{"value too big", dsdtTable(aml(0x08, "_S5_", 0x12, 0x05, 0x02, 0x0a, 0x08, 0x00)),
			"SLP_TYPa 0x8, SLP_TYPb 0x0: a value does not fit the 3-bit SLP_TYP field", nil},
		{"one integer too big", dsdtTable(aml(0x08, "_S5_", 0x12, 0x05, 0x01, 0x0b, 0x05, 0x10)),
			"SLP_TYPa 0x5, SLP_TYPb 0x10", nil},
		{"VarNumElements not an integer", dsdtTable(aml(0x08, "_S5_", 0x13, 0x05, 0x70, 0x00, 0x00, 0x00)),
			"VarNumElements: opcode 0x70", nil},
		{"checksum", badSum, "acpi: DSDT: checksum", ErrChecksum},
		{"not a table", aml(0x08, "_S5_", 0x12, 0x06, 0x04, 0x00, 0x00, 0x00, 0x00),
			"acpi: DSDT: 12 bytes, need at least the 36-byte header", ErrTruncated},
		{"wrong signature", testMADT, `acpi: DSDT: signature is "APIC", not "DSDT"`, nil},
	}
	for _, tt := range tests {
		_, _, err := FindS5(tt.table)
		if err == nil {
			t.Errorf("%s: no error", tt.name)
			continue
		}
		if !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: error %q, want %q", tt.name, err, tt.want)
		}
		if tt.sentinel != nil && !errors.Is(err, tt.sentinel) {
			t.Errorf("%s: error %q is not %v", tt.name, err, tt.sentinel)
		}
	}
}

func TestFindS5ManyOccurrences(t *testing.T) {
	// A DSDT full of "^^^^_S5_" (and NameOp before some) is scanned in
	// bounded time and without a match.
	var body []byte
	for len(body) < 200_000 {
		body = append(body, "^^^^^^^^^^^^^^^^^^^^_S5_"...)
		body = append(body, 0x08, '^', '_', 'S', '5', '_', 0x0a, 0x01)
	}
	_, _, err := FindS5(dsdtTable(body))
	if err == nil || !strings.Contains(err.Error(), "not a Package") {
		t.Errorf("FindS5: %v", err)
	}
}

func TestPkgLength(t *testing.T) {
	tests := []struct {
		b      []byte
		length int
		n      int
	}{
		{[]byte{0x06}, 6, 1},
		{[]byte{0x3f}, 63, 1},
		{[]byte{0x4a, 0x01}, 0x1a, 2},
		{[]byte{0x8f, 0xff, 0x01}, 0x1fff, 3},
		{[]byte{0xcf, 0xff, 0xff, 0xff}, 0xfffffff, 4},
	}
	for _, tt := range tests {
		length, n, err := pkgLength(tt.b, 0)
		if err != nil || length != tt.length || n != tt.n {
			t.Errorf("pkgLength(% x) = %#x, %d, %v; want %#x, %d", tt.b, length, n, err, tt.length, tt.n)
		}
	}
}
