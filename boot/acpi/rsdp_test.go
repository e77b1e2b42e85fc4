package acpi

import (
	"errors"
	"strings"
	"testing"
)

func TestParseRSDP(t *testing.T) {
	r, err := ParseRSDP(rsdpV1("BOCHS", 0x7fe14d2))
	if err != nil {
		t.Fatal(err)
	}
	if r.OEMID != OEMIDBochs || r.Revision != 0 || r.RSDTAddress != 0x7fe14d2 || r.XSDTAddress != 0 || r.Length != 20 {
		t.Errorf("v1: %+v", r)
	}

	// A Multiboot2 tag may be padded past the structure.
	r, err = ParseRSDP(append(rsdpV2("ALASKA", 0x1000, 0x1_2345_6000), 0xaa, 0xbb, 0xcc, 0xdd))
	if err != nil {
		t.Fatal(err)
	}
	if r.OEMID != "ALASKA" || r.Revision != 2 || r.RSDTAddress != 0x1000 || r.XSDTAddress != 0x1_2345_6000 || r.Length != 36 {
		t.Errorf("v2: %+v", r)
	}
}

func TestParseRSDPErrors(t *testing.T) {
	badSig := rsdpV1("BOCHS", 1)
	badSig[0] = 'X'
	fixChecksum(badSig, 8)

	badSum := rsdpV1("BOCHS", 1)
	badSum[16]++

	badExt := rsdpV2("BOCHS", 1, 2)
	badExt[24]++

	badLen := rsdpV2("BOCHS", 1, 2)
	copy(badLen[20:], le32(1<<20))
	fixChecksum(badLen, 32)

	shortLen := rsdpV2("BOCHS", 1, 2)
	copy(shortLen[20:], le32(20))
	fixChecksum(shortLen, 32)

	tests := []struct {
		name     string
		b        []byte
		sentinel error
		want     string
	}{
		{"empty", nil, ErrTruncated, "0 bytes"},
		{"short", rsdpV1("BOCHS", 1)[:19], ErrTruncated, "19 bytes"},
		{"signature", badSig, nil, "signature"},
		{"checksum", badSum, ErrChecksum, "checksum of the first 20 bytes"},
		{"extended checksum", badExt, ErrChecksum, "extended checksum"},
		{"v2 copy of 20 bytes", rsdpV2("BOCHS", 1, 2)[:20], ErrTruncated, "revision 2 needs 36 bytes"},
		{"huge length", badLen, nil, "length 1048576"},
		{"short length", shortLen, nil, "length 20"},
	}
	for _, tt := range tests {
		_, err := ParseRSDP(tt.b)
		if err == nil {
			t.Errorf("%s: no error", tt.name)
			continue
		}
		if !strings.HasPrefix(err.Error(), "acpi: RSDP: ") || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: error %q does not say %q", tt.name, err, tt.want)
		}
		if tt.sentinel != nil && !errors.Is(err, tt.sentinel) {
			t.Errorf("%s: error %q is not %v", tt.name, err, tt.sentinel)
		}
	}
}

func TestReadRSDP(t *testing.T) {
	m := newMem(0x100000)
	m.put(0xf0000, rsdpV2("BOCHS", 0x1000, 0x2000))
	r, err := ReadRSDP(m, 0xf0000)
	if err != nil || r.XSDTAddress != 0x2000 {
		t.Fatalf("ReadRSDP = %+v, %v", r, err)
	}

	// A revision 2 RSDP whose second half is past the end of memory.
	m.put(0xfffe0, rsdpV2("BOCHS", 0x1000, 0x2000))
	_, err = ReadRSDP(m, 0xfffe0)
	if err == nil || !errors.Is(err, ErrTruncated) || !strings.HasPrefix(err.Error(), "acpi: RSDP at 0xfffe0: ") {
		t.Errorf("RSDP past the end of memory: %v", err)
	}

	// Checksum errors carry the address.
	_, err = ReadRSDP(m, 0x1234)
	if err == nil || !strings.HasPrefix(err.Error(), "acpi: RSDP at 0x1234: signature") {
		t.Errorf("no RSDP: %v", err)
	}

	// Addresses that don't fit an io.ReaderAt offset.
	if _, err := ReadRSDP(m, 1<<63); !errors.Is(err, ErrTruncated) {
		t.Errorf("ReadRSDP(1<<63): %v", err)
	}
}

// biosMem returns a 1 MiB memory with the EBDA segment at 0x40E set to seg.
func biosMem(seg uint16) *fakeMem {
	m := newMem(0x100000)
	m.put(EBDAPointer, le16(seg))
	return m
}

func TestFindRSDPInEBDA(t *testing.T) {
	m := biosMem(0x9fc0) // EBDA at 0x9fc00
	m.put(0x9fc00+0x40, rsdpV1("BOCHS", 0x7fe0000))
	// A valid one in the BIOS area too: the EBDA is searched first.
	m.put(0xf0000, rsdpV1("OTHER", 0x7fe0000))
	addr, err := FindRSDP(m)
	if err != nil || addr != 0x9fc40 {
		t.Fatalf("FindRSDP = %#x, %v; want 0x9fc40", addr, err)
	}
	r, err := ReadRSDP(m, addr)
	if err != nil || r.OEMID != "BOCHS " {
		t.Errorf("ReadRSDP = %+v, %v", r, err)
	}
}

func TestFindRSDPOnlyFirstKiBOfEBDA(t *testing.T) {
	m := biosMem(0x9f00) // EBDA at 0x9f000
	m.put(0x9f000+1024, rsdpV1("BOCHS", 0x7fe0000))
	if addr, err := FindRSDP(m); err == nil {
		t.Errorf("found an RSDP at %#x past the first KiB of the EBDA", addr)
	}
}

func TestFindRSDPInBIOSArea(t *testing.T) {
	m := biosMem(0) // no EBDA

	bad := rsdpV1("BAD", 1)
	bad[8]++ // wrong checksum: skipped
	m.put(0xe0000, bad)

	badExt := rsdpV2("BADEXT", 1, 2)
	badExt[33]++ // valid 20-byte checksum, wrong extended checksum
	m.put(0xe1000, badExt)

	m.put(0xf5a08, rsdpV1("MISAL", 1)) // not on a 16-byte boundary

	m.put(testRSDPAddr, rsdpV2("BOCHS", 0x7fe0000, 0x7fe0100))
	addr, err := FindRSDP(m)
	if err != nil || addr != testRSDPAddr {
		t.Fatalf("FindRSDP = %#x, %v; want %#x", addr, err, testRSDPAddr)
	}

	// At the very end of the area, extending past it.
	m = biosMem(0)
	m.size = 0x200000
	m.put(0xffff0, rsdpV1("BOCHS", 1))
	if addr, err := FindRSDP(m); err != nil || addr != 0xffff0 {
		t.Errorf("FindRSDP at 0xffff0 = %#x, %v", addr, err)
	}
}

func TestFindRSDPNotFound(t *testing.T) {
	m := biosMem(0x9fc0)
	bad := rsdpV1("BAD", 1)
	bad[8]++
	m.put(0xe0000, bad)
	m.put(0xf5a08, rsdpV1("MISAL", 1))
	_, err := FindRSDP(m)
	if !errors.Is(err, ErrNotFound) {
		t.Fatalf("FindRSDP: %v, want ErrNotFound", err)
	}
	if !strings.Contains(err.Error(), "0xe0000: checksum of the first 20 bytes is") {
		t.Errorf("error %q does not name the rejected candidate", err)
	}

	// Memory smaller than the BIOS area: search what can be read, and
	// say what could not.
	m = newMem(0xf0000)
	m.put(0xe8000, rsdpV1("BOCHS", 1))
	if addr, err := FindRSDP(m); err != nil || addr != 0xe8000 {
		t.Errorf("FindRSDP in a short memory = %#x, %v", addr, err)
	}
	m = newMem(0x400)
	if _, err := FindRSDP(m); !errors.Is(err, ErrNotFound) || !strings.Contains(err.Error(), "EBDA pointer") {
		t.Errorf("FindRSDP in a tiny memory: %v", err)
	}
}

func TestFindRSDPManyRejected(t *testing.T) {
	m := biosMem(0)
	bad := rsdpV1("BAD", 1)
	bad[8]++
	for a := uint64(BIOSAreaStart); a < BIOSAreaStart+20*32; a += 32 {
		m.put(a, bad)
	}
	_, err := FindRSDP(m)
	if !errors.Is(err, ErrNotFound) || !strings.Contains(err.Error(), "and 12 more") {
		t.Errorf("FindRSDP: %v", err)
	}
}
