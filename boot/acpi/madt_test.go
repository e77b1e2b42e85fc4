package acpi

import (
	"errors"
	"reflect"
	"strings"
	"testing"
)

func TestParseMADT(t *testing.T) {
	m, err := ParseMADT(testMADT)
	if err != nil {
		t.Fatal(err)
	}
	if m.Revision != 5 || m.LocalAPICAddress != 0xfee00000 || m.Flags != MADTPCATCompat || m.Unknown != 0 {
		t.Errorf("MADT %+v", m)
	}
	if len(m.Processors) != 4 {
		t.Fatalf("%d processors, want 4", len(m.Processors))
	}
	want := []CPU{
		{APICID: 0, ProcessorUID: 0, Flags: 1, Enabled: true},
		{APICID: 1, ProcessorUID: 1, Flags: 1, Enabled: true},
		{APICID: 3, ProcessorUID: 3, Flags: 2, OnlineCapable: true},
	}
	if got := m.CPUs(); !reflect.DeepEqual(got, want) {
		t.Errorf("CPUs() = %+v\nwant %+v", got, want)
	}
	if e, o := m.CPUCount(); e != 2 || o != 1 {
		t.Errorf("CPUCount() = %d enabled, %d online capable; want 2, 1", e, o)
	}
	if !reflect.DeepEqual(m.IOAPICs, []IOAPIC{{ID: 0, Address: 0xfec00000, GSIBase: 0}}) {
		t.Errorf("IOAPICs %+v", m.IOAPICs)
	}
	if !reflect.DeepEqual(m.Overrides, []InterruptOverride{{Source: 0, GSI: 2}, {Source: 9, GSI: 9, Flags: 0xd}}) {
		t.Errorf("Overrides %+v", m.Overrides)
	}
	if !reflect.DeepEqual(m.LocalNMIs, []LocalAPICNMI{{ProcessorUID: 0xff, LINT: 1}}) {
		t.Errorf("LocalNMIs %+v", m.LocalNMIs)
	}
}

func TestMADTOnlineCapableNeedsRevision5(t *testing.T) {
	// In an MADT before revision 5 (ACPI 6.3) bit 1 is reserved.
	m, err := ParseMADT(madtTable(4,
		lapic(0, 0, LocalAPICEnabled),
		lapic(1, 1, LocalAPICOnlineCapable),
	))
	if err != nil {
		t.Fatal(err)
	}
	if e, o := m.CPUCount(); e != 1 || o != 0 {
		t.Errorf("CPUCount() = %d, %d; want 1, 0", e, o)
	}
	// Enabled and Online Capable: Online Capable is reserved, the CPU
	// counts as enabled.
	m, err = ParseMADT(madtTable(5, lapic(0, 0, LocalAPICEnabled|LocalAPICOnlineCapable)))
	if err != nil {
		t.Fatal(err)
	}
	if c := m.CPUs(); len(c) != 1 || !c[0].Enabled || c[0].OnlineCapable {
		t.Errorf("CPUs() = %+v", c)
	}
}

func TestMADTX2APIC(t *testing.T) {
	m, err := ParseMADT(madtTable(5,
		lapic(0, 0, LocalAPICEnabled),
		lapic(1, 1, LocalAPICEnabled),
		lapic(2, 0xff, LocalAPICEnabled), // invalid xAPIC ID
		x2apic(1, LocalAPICEnabled, 1),   // same CPU as the second type 0 entry
		x2apic(0x100, LocalAPICEnabled, 0x100),
		x2apic(0x101, 0, 0x101),
		x2apic(0x102, LocalAPICOnlineCapable, 0x102),
		x2apic(0xffffffff, LocalAPICEnabled, 7), // invalid x2APIC ID
		x2apic(0x100, LocalAPICEnabled, 0x100),  // listed twice
		cat([]byte{MADTLocalX2APICNMI, 12}, le16(5), le32(0xffffffff), []byte{1, 0, 0, 0}),
		[]byte{0x7f, 4, 0, 0}, // unknown type: skipped
	))
	if err != nil {
		t.Fatal(err)
	}
	if len(m.Processors) != 9 {
		t.Errorf("%d processors, want 9", len(m.Processors))
	}
	want := []CPU{
		{APICID: 0, ProcessorUID: 0, Flags: 1, Enabled: true},
		{APICID: 1, ProcessorUID: 1, Flags: 1, Enabled: true},
		{APICID: 0x100, ProcessorUID: 0x100, Flags: 1, X2APIC: true, Enabled: true},
		{APICID: 0x102, ProcessorUID: 0x102, Flags: 2, X2APIC: true, OnlineCapable: true},
	}
	if got := m.CPUs(); !reflect.DeepEqual(got, want) {
		t.Errorf("CPUs() = %+v\nwant %+v", got, want)
	}
	if e, o := m.CPUCount(); e != 3 || o != 1 {
		t.Errorf("CPUCount() = %d, %d", e, o)
	}
	if !reflect.DeepEqual(m.LocalNMIs, []LocalAPICNMI{{ProcessorUID: 0xffffffff, Flags: 5, LINT: 1, X2APIC: true}}) {
		t.Errorf("LocalNMIs %+v", m.LocalNMIs)
	}
	if m.Unknown != 1 {
		t.Errorf("Unknown = %d", m.Unknown)
	}
}

func TestMADTLocalAPICOverride(t *testing.T) {
	m, err := ParseMADT(madtTable(1, lapic(0, 0, 1), lapicOverrideEntry(0x1_fee0_0000), lapicOverrideEntry(0x1234)))
	if err != nil {
		t.Fatal(err)
	}
	if m.LocalAPICAddress != 0x1_fee0_0000 {
		t.Errorf("LocalAPICAddress %#x", m.LocalAPICAddress)
	}
}

func TestMADTLongerEntries(t *testing.T) {
	// A future revision may lengthen a structure: the extra bytes are
	// skipped.
	long := cat(lapic(4, 5, 1), []byte{0xaa, 0xbb})
	long[1] = 10
	m, err := ParseMADT(madtTable(1, long, lapic(6, 7, 1)))
	if err != nil {
		t.Fatal(err)
	}
	if c := m.CPUs(); len(c) != 2 || c[0].APICID != 5 || c[1].APICID != 7 {
		t.Errorf("CPUs() = %+v", c)
	}
}

func TestParseMADTErrors(t *testing.T) {
	badSum := madtTable(1, lapic(0, 0, 1))
	badSum[len(badSum)-1]++

	tests := []struct {
		name     string
		b        []byte
		want     string
		sentinel error
	}{
		{"zero length", madtTable(1, lapic(0, 0, 1), []byte{MADTLocalAPIC, 0, 0, 0, 0, 0, 0, 0}),
			"acpi: MADT: entry 1 at offset 0x34 has length 0", nil},
		{"length 1", madtTable(1, []byte{MADTIOAPIC, 1}),
			"acpi: MADT: entry 0 at offset 0x2c has length 1", nil},
		{"past the end", madtTable(1, lapic(0, 0, 1), []byte{MADTIOAPIC, 12, 0, 0}),
			"acpi: MADT: entry 1 at offset 0x34: length 12 extends past the end of the table at 0x38", ErrTruncated},
		{"one stray byte", madtTable(1, lapic(0, 0, 1), []byte{MADTIOAPIC}),
			"acpi: MADT: entry 1 at offset 0x34: only 1 byte left", ErrTruncated},
		{"short type 0", madtTable(1, []byte{MADTLocalAPIC, 6, 0, 0, 1, 0}),
			"acpi: MADT: entry 0 at offset 0x2c: type 0 has length 6, want at least 8", nil},
		{"short type 9", madtTable(1, cat([]byte{MADTLocalX2APIC, 12, 0, 0}, le32(1), le32(1))),
			"acpi: MADT: entry 0 at offset 0x2c: type 9 has length 12, want at least 16", nil},
		{"short type 5", madtTable(1, []byte{MADTLocalAPICOverride, 8, 0, 0, 0, 0, 0, 0}),
			"type 5 has length 8, want at least 12", nil},
		{"checksum", badSum, "acpi: MADT: checksum", ErrChecksum},
		{"signature", fadtTable(1, FADTv1Length, nil), `acpi: MADT: signature is "FACP", not "APIC"`, nil},
		{"no fixed fields", sdt(SigMADT, 1, "BOCHS", []byte{0, 0, 0xe0, 0xfe}), "acpi: MADT: length 0x28 is less than the minimum 0x2c", ErrTruncated},
		{"length past the bytes", madtTable(1, lapic(0, 0, 1))[:50], "acpi: MADT: length 0x34 is past the end of the 0x32 bytes given", ErrTruncated},
		{"empty", nil, "acpi: MADT: 0 bytes", ErrTruncated},
	}
	for _, tt := range tests {
		_, err := ParseMADT(tt.b)
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

func TestParseMADTIgnoresBytesPastLength(t *testing.T) {
	b := append(madtTable(1, lapic(0, 0, 1)), 0, 0, 0) // zero-length junk past Length
	m, err := ParseMADT(b)
	if err != nil || len(m.CPUs()) != 1 {
		t.Errorf("ParseMADT = %+v, %v", m, err)
	}
}
