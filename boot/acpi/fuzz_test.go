package acpi

import (
	"bytes"
	"errors"
	"strings"
	"testing"
)

// The fuzz targets check that no input makes the package panic or loop, and
// that what it returns is consistent. To get past the checksums, each target
// also runs on a copy of its input whose lengths and checksums are fixed up.
//
//	go test -run='^$' -fuzz=FuzzLoad -fuzztime=15s ./boot/acpi/

// fixTableAt fixes the checksum of the table at b[off:] when its header and
// length lie within b.
func fixTableAt(b []byte, off uint64) {
	if off > uint64(len(b)) || uint64(len(b))-off < HeaderLength {
		return
	}
	t := b[off:]
	n := uint64(u32(t, 4))
	if n < HeaderLength || n > uint64(len(t)) {
		return
	}
	fixChecksum(t[:n], 9)
}

// checkErr fails unless err is nil or an acpi error with a message.
func checkErr(t *testing.T, err error) {
	t.Helper()
	if err == nil {
		return
	}
	var e *Error
	if !errors.As(err, &e) || !strings.HasPrefix(err.Error(), "acpi: ") || e.Msg == "" {
		t.Fatalf("error %q (%T) is not a described *Error", err, err)
	}
}

// checkMADT checks ParseMADT's result for consistency.
func checkMADT(t *testing.T, m *MADT, err error) {
	t.Helper()
	checkErr(t, err)
	if err != nil {
		if m != nil {
			t.Fatal("MADT and error")
		}
		return
	}
	cpus := m.CPUs()
	seen := map[uint32]bool{}
	for _, c := range cpus {
		if !c.Usable() || seen[c.APICID] {
			t.Fatalf("CPUs() has %+v twice or unusable", c)
		}
		if c.Enabled && c.OnlineCapable {
			t.Fatalf("CPU %+v both enabled and online capable", c)
		}
		seen[c.APICID] = true
	}
	if e, o := m.CPUCount(); e+o != len(cpus) {
		t.Fatalf("CPUCount %d+%d != %d CPUs", e, o, len(cpus))
	}
}

func FuzzParseMADT(f *testing.F) {
	f.Add(testMADT)
	f.Add(testMADT[HeaderLength:])
	f.Add(madtTable(5, x2apic(0x100, 1, 0x100), lapicOverrideEntry(0xfee00000), []byte{0x7f, 3, 0})[HeaderLength:])
	f.Add(madtTable(1, lapic(0, 0, 1), []byte{MADTLocalAPIC, 0})[HeaderLength:])
	f.Fuzz(func(t *testing.T, data []byte) {
		m, err := ParseMADT(data)
		checkMADT(t, m, err)
		m, err = ParseMADT(sdt(SigMADT, 5, "BOCHS", data))
		if errors.Is(err, ErrChecksum) {
			t.Fatalf("checksum error on a fixed-up table: %v", err)
		}
		checkMADT(t, m, err)
	})
}

func FuzzParseFADT(f *testing.F) {
	f.Add(fadtTable(1, FADTv1Length, qemuFADT(0x7fe0040)))
	f.Add(fadtTable(6, 276, qemuFADT(0x7fe0040))[HeaderLength:])
	f.Add(fadtTable(2, 129, qemuFADT(0x7fe0040))[HeaderLength:])
	f.Fuzz(func(t *testing.T, data []byte) {
		for _, b := range [][]byte{data, sdt(SigFADT, 6, "BOCHS", data)} {
			fadt, err := ParseFADT(b)
			checkErr(t, err)
			if err != nil {
				continue
			}
			if int(fadt.Length) > len(b) {
				t.Fatalf("FADT length %d > %d bytes", fadt.Length, len(b))
			}
			if fadt.ResetSupported && fadt.Length < fadtResetValue+1 {
				t.Fatalf("reset register in a %d-byte FADT", fadt.Length)
			}
		}
	})
}

func FuzzFindS5(f *testing.F) {
	f.Add([]byte{0x08, '_', 'S', '5', '_', 0x12, 0x06, 0x04, 0x00, 0x00, 0x00, 0x00})
	f.Add([]byte{0x08, '_', 'S', '5', '_', 0x12, 0x08, 0x04, 0x0a, 0x07, 0x0a, 0x07, 0x00, 0x00})
	f.Add([]byte{0x08, '\\', '_', 'S', '5', '_', 0x12, 0x49, 0x00, 0x04, 0x0a, 0x05, 0x0a, 0x05, 0x00, 0x00})
	f.Add([]byte{0x08, '_', 'S', '5', '_', 0x13, 0x08, 0x0a, 0x04, 0x0a, 0x07, 0x00, 0x00, 0x00})
	f.Add([]byte{0x08, '_', 'S', '5', '_', 0x12, 0x05, 0x01, 0x0b, 0x05, 0x06})
	f.Add(qemuDSDT)
	f.Fuzz(func(t *testing.T, data []byte) {
		for _, b := range [][]byte{data, dsdtTable(data)} {
			a, bb, err := FindS5(b)
			checkErr(t, err)
			if err == nil && (a > 7 || bb > 7) {
				t.Fatalf("FindS5 = %d, %d", a, bb)
			}
		}
	})
}

func FuzzParseRSDP(f *testing.F) {
	f.Add(rsdpV1("BOCHS", 0x7fe14d2))
	f.Add(rsdpV2("BOCHS", 0x7fe14d2, 0x7fe1500))
	f.Fuzz(func(t *testing.T, data []byte) {
		r, err := ParseRSDP(data)
		checkErr(t, err)
		if err == nil && (r.Revision < 2) != (r.XSDTAddress == 0 && r.Length == RSDPv1Length) {
			t.Fatalf("inconsistent %+v", r)
		}
		if err == nil && int(r.Length) > len(data) {
			t.Fatalf("RSDP length %d > %d bytes", r.Length, len(data))
		}
	})
}

func FuzzFindRSDP(f *testing.F) {
	f.Add(uint16(0), []byte(nil))
	f.Add(uint16(0x9fc0), append(make([]byte, 0x40), rsdpV1("BOCHS", 1)...))
	f.Add(uint16(0), append(make([]byte, 0x20), rsdpV2("BOCHS", 1, 2)...))
	f.Fuzz(func(t *testing.T, seg uint16, data []byte) {
		m := newMem(0x100000 + 0x10)
		m.put(EBDAPointer, le16(seg))
		// The same bytes in the EBDA (wherever seg says) and the BIOS
		// area.
		m.put(uint64(seg)<<4, data)
		m.put(BIOSAreaStart, data)
		addr, err := FindRSDP(m)
		checkErr(t, err)
		if err == nil {
			if addr%16 != 0 {
				t.Fatalf("RSDP at unaligned %#x", addr)
			}
			if _, err := ReadRSDP(m, addr); err != nil {
				t.Fatalf("FindRSDP found %#x but ReadRSDP says %v", addr, err)
			}
		}
	})
}

// flatImage lays out a machine's tables at small addresses in one byte
// slice, for FuzzLoad's seed corpus: RSDP at 0, root at 0x40, MADT at 0x100,
// FADT at 0x200, DSDT at 0x400.
func flatImage(xsdt bool) []byte {
	img := make([]byte, 0x480)
	if xsdt {
		copy(img, rsdpV2("BOCHS", 0, 0x40))
		copy(img[0x40:], xsdtTable(0x100, 0x200))
	} else {
		copy(img, rsdpV1("BOCHS", 0x40))
		copy(img[0x40:], rsdtTable(0x100, 0x200))
	}
	copy(img[0x100:], testMADT)
	copy(img[0x200:], fadtTable(1, FADTv1Length, qemuFADT(0x400)))
	copy(img[0x400:], qemuDSDT)
	return img
}

// fixImage makes the RSDP at the start of img valid and fixes the checksums
// of the root table, of the tables it lists and of the DSDT, where they lie
// within img.
func fixImage(img []byte) *RSDP {
	if len(img) < RSDPv2Length {
		return nil
	}
	copy(img, RSDPSignature)
	fixChecksum(img[:RSDPv1Length], 8)
	if img[15] >= 2 {
		copy(img[20:], le32(RSDPv2Length))
		fixChecksum(img[:RSDPv2Length], 32)
	}
	r, err := ParseRSDP(img)
	if err != nil {
		return nil
	}
	root, size := uint64(r.RSDTAddress), 4
	if r.Revision >= 2 && r.XSDTAddress != 0 {
		root, size = r.XSDTAddress, 8
	}
	if root >= uint64(len(img)) || uint64(len(img))-root < HeaderLength {
		return r
	}
	rt := img[root:]
	n := min(uint64(u32(rt, 4)), uint64(len(rt)))
	for off := uint64(HeaderLength); off+uint64(size) <= n && off < HeaderLength+MaxTables*8; off += uint64(size) {
		var addr uint64
		if size == 8 {
			addr = u64(rt, int(off))
		} else {
			addr = uint64(u32(rt, int(off)))
		}
		fixTableAt(img, addr)
		if addr < uint64(len(img)) && uint64(len(img))-addr >= fadtDSDT+4 && string(img[addr:addr+4]) == SigFADT {
			fixTableAt(img, uint64(u32(img, int(addr)+fadtDSDT)))
		}
	}
	fixTableAt(img, root)
	return r
}

func FuzzLoad(f *testing.F) {
	f.Add(flatImage(false))
	f.Add(flatImage(true))
	f.Fuzz(func(t *testing.T, data []byte) {
		if r, err := ParseRSDP(data); err == nil {
			tabs, err := Load(bytes.NewReader(data), r)
			checkLoad(t, tabs, err)
		}
		img := bytes.Clone(data)
		if r := fixImage(img); r != nil {
			tabs, err := Load(bytes.NewReader(img), r)
			checkLoad(t, tabs, err)
		}
	})
}

// checkLoad checks Load's result and runs the decoders on what it found.
func checkLoad(t *testing.T, tabs *Tables, err error) {
	t.Helper()
	checkErr(t, err)
	if err != nil {
		return
	}
	if len(tabs.List) > MaxTables+1 {
		t.Fatalf("%d tables", len(tabs.List))
	}
	total := 0
	for i := range tabs.List {
		tb := &tabs.List[i]
		if int(tb.Length) != len(tb.Bytes()) || checksum(tb.Bytes()) != 0 || tb.Length > MaxTableLength {
			t.Fatalf("table %v: %d bytes, checksum %#x", tb, len(tb.Bytes()), checksum(tb.Bytes()))
		}
		total += len(tb.Bytes())
		if _, err := tabs.Find(tb.Signature); err != nil {
			t.Fatalf("Find(%q): %v", tb.Signature, err)
		}
	}
	if total > MaxTotalLength {
		t.Fatalf("%d bytes of tables", total)
	}
	for _, w := range tabs.Warnings {
		if !strings.HasPrefix(w, "acpi: ") {
			t.Fatalf("warning %q", w)
		}
	}
	m, err := tabs.MADT()
	if !errors.Is(err, ErrNotFound) {
		checkMADT(t, m, err)
	}
	_, err = tabs.FADT()
	checkErr(t, err)
	a, b, err := tabs.S5()
	checkErr(t, err)
	if err == nil && (a > 7 || b > 7) {
		t.Fatalf("S5 = %d, %d", a, b)
	}
}
