package acpi

import (
	"bytes"
	"errors"
	"fmt"
	"strings"
	"testing"
)

// sigs returns the signatures of t.List.
func sigs(t *Tables) string {
	var s []string
	for _, tb := range t.List {
		s = append(s, tb.Signature)
	}
	return strings.Join(s, " ")
}

// checkWarnings fails unless t has exactly one warning per substring in
// want, in order, each containing it.
func checkWarnings(t *testing.T, tabs *Tables, want ...string) {
	t.Helper()
	if len(tabs.Warnings) != len(want) {
		t.Errorf("warnings %q, want %d", tabs.Warnings, len(want))
		return
	}
	for i, w := range want {
		if !strings.Contains(tabs.Warnings[i], w) {
			t.Errorf("warning %d is %q, want it to contain %q", i, tabs.Warnings[i], w)
		}
	}
}

func TestLoadRSDTOnly(t *testing.T) {
	m := newMachine(t, false)
	tabs, err := Load(m.mem, m.parsedRSDP(t))
	if err != nil {
		t.Fatal(err)
	}
	checkWarnings(t, tabs)
	if tabs.Root != SigRSDT || tabs.RootAddr != testRSDTAddr {
		t.Errorf("root %s at %#x", tabs.Root, tabs.RootAddr)
	}
	if got := sigs(tabs); got != "APIC FACP DSDT" {
		t.Errorf("tables %q", got)
	}
	if tabs.OEMID() != OEMIDBochs {
		t.Errorf("OEMID %q", tabs.OEMID())
	}
	tb, ok := tabs.Lookup(SigMADT)
	if !ok || tb.Addr != testMADTAddr || tb.OEMID != OEMIDBochs || tb.Revision != 5 || tb.Length != uint32(len(testMADT)) {
		t.Errorf("MADT entry %+v", tb)
	}
	if s := tb.String(); !strings.HasPrefix(s, "APIC at 0xffe1000 length 0x") {
		t.Errorf("String() = %q", s)
	}
	b, err := tabs.Find(SigDSDT)
	if err != nil || !bytes.Equal(b, qemuDSDT) {
		t.Errorf("Find(DSDT) = %x, %v", b, err)
	}
	if _, err := tabs.Find("HPET"); !errors.Is(err, ErrNotFound) || !strings.Contains(err.Error(), "have APIC FACP DSDT") {
		t.Errorf("Find(HPET): %v", err)
	}

	madt, err := tabs.MADT()
	if err != nil {
		t.Fatal(err)
	}
	if e, o := madt.CPUCount(); e != 2 || o != 1 {
		t.Errorf("CPUCount = %d, %d", e, o)
	}
	fadt, err := tabs.FADT()
	if err != nil {
		t.Fatal(err)
	}
	if fadt.PMTimerPort != 0x608 || fadt.PM1aControlPort != 0x604 {
		t.Errorf("FADT %+v", fadt)
	}
	a, bb, err := tabs.S5()
	if err != nil || a != 0 || bb != 0 {
		t.Errorf("S5 = %d, %d, %v", a, bb, err)
	}
}

func TestLoadXSDT(t *testing.T) {
	m := newMachine(t, true)
	// An SSDT above 4 GiB, reachable only through the XSDT.
	ssdt := sdt("SSDT", 1, "BOCHS", []byte{0x10, 0x05, '_', 'S', 'B', '_'})
	m.mem.size = 8 << 30
	m.mem.put(0x1_0000_0000, ssdt)
	m.mem.put(testXSDTAddr, xsdtTable(testMADTAddr, testFADTAddr, 0x1_0000_0000))

	tabs, err := Load(m.mem, m.parsedRSDP(t))
	if err != nil {
		t.Fatal(err)
	}
	checkWarnings(t, tabs)
	if tabs.Root != SigXSDT || tabs.RootAddr != testXSDTAddr {
		t.Errorf("root %s at %#x", tabs.Root, tabs.RootAddr)
	}
	if got := sigs(tabs); got != "APIC FACP SSDT DSDT" {
		t.Errorf("tables %q", got)
	}
	if tb, _ := tabs.Lookup("SSDT"); tb == nil || tb.Addr != 0x1_0000_0000 {
		t.Errorf("SSDT %+v", tb)
	}
}

func TestLoadNullXSDTUsesRSDT(t *testing.T) {
	m := newMachine(t, false)
	m.rsdp = rsdpV2("BOCHS", testRSDTAddr, 0)
	tabs, err := Load(m.mem, m.parsedRSDP(t))
	if err != nil {
		t.Fatal(err)
	}
	if tabs.Root != SigRSDT {
		t.Errorf("root %s", tabs.Root)
	}
	checkWarnings(t, tabs, "acpi: RSDP: revision 2 has a null XSDT address; using the RSDT at 0xffe0000")
}

func TestLoadBadChecksum(t *testing.T) {
	m := newMachine(t, true)
	ssdt := sdt("SSDT", 1, "BOCHS", []byte{1, 2, 3, 4})
	ssdt[38]++
	m.mem.put(testSSDTAddr, ssdt)
	m.mem.put(testXSDTAddr, xsdtTable(testMADTAddr, testSSDTAddr, testFADTAddr))

	tabs, err := Load(m.mem, m.parsedRSDP(t))
	if err != nil {
		t.Fatal(err)
	}
	checkWarnings(t, tabs, "acpi: SSDT at 0xffe8000: checksum: the 0x28 bytes sum to 0x01, not 0; table ignored")
	if got := sigs(tabs); got != "APIC FACP DSDT" {
		t.Errorf("tables %q", got)
	}
	if _, err := tabs.Find("SSDT"); !errors.Is(err, ErrNotFound) {
		t.Errorf("Find(SSDT): %v", err)
	}
}

func TestLoadBadDSDT(t *testing.T) {
	m := newMachine(t, false)
	bad := bytes.Clone(qemuDSDT)
	bad[len(bad)-1] = 0x7
	m.mem.put(testDSDTAddr, bad)
	tabs, err := Load(m.mem, m.parsedRSDP(t))
	if err != nil {
		t.Fatal(err)
	}
	checkWarnings(t, tabs, "acpi: DSDT at 0xffe3000: checksum")
	if _, _, err := tabs.S5(); !errors.Is(err, ErrNotFound) {
		t.Errorf("S5 without a DSDT: %v", err)
	}

	// The FADT's DSDT pointer leads to another table.
	m.mem.put(testDSDTAddr, sdt("SSDT", 1, "BOCHS", nil))
	tabs, err = Load(m.mem, m.parsedRSDP(t))
	if err != nil {
		t.Fatal(err)
	}
	checkWarnings(t, tabs, `acpi: DSDT at 0xffe3000: signature is "SSDT", not "DSDT"`)
}

func TestLoadTruncatedTable(t *testing.T) {
	m := newMachine(t, false)
	// The SSDT's header is readable but its length goes past the end of
	// memory.
	ssdt := sdt("SSDT", 1, "BOCHS", make([]byte, 0x100))
	addr := uint64(testMemSize - 0x80)
	m.mem.put(addr, ssdt)
	// Another entry whose header itself is past the end of memory.
	m.mem.put(testRSDTAddr, rsdtTable(testMADTAddr, uint32(addr), testMemSize+0x1000, testFADTAddr))

	tabs, err := Load(m.mem, m.parsedRSDP(t))
	if err != nil {
		t.Fatal(err)
	}
	checkWarnings(t, tabs,
		"acpi: SSDT at 0xfffff80: length 0x124 extends past readable memory: its last byte at 0x100000a3 cannot be read; table ignored",
		"acpi: RSDT entry 2 at 0x10001000: cannot read the 36-byte header: truncated",
	)
	if got := sigs(tabs); got != "APIC FACP DSDT" {
		t.Errorf("tables %q", got)
	}
}

func TestLoadEntryProblems(t *testing.T) {
	m := newMachine(t, true)
	huge := sdt("BIG!", 1, "BOCHS", nil)
	copy(huge[4:], le32(MaxTableLength+1))
	fixChecksum(huge, 9)
	m.mem.put(0x0ffe9000, huge)
	short := sdt("SHRT", 1, "BOCHS", nil)
	copy(short[4:], le32(20))
	fixChecksum(short, 9)
	m.mem.put(0x0ffea000, short)

	x := xsdtTable(testMADTAddr, 0, testMADTAddr, 0x0ffe9000, 0x0ffea000, testFADTAddr)
	// Two stray bytes after the last entry.
	x = sdt(SigXSDT, 1, "BOCHS", append(x[HeaderLength:], 0xee, 0xee))
	m.mem.put(testXSDTAddr, x)

	tabs, err := Load(m.mem, m.parsedRSDP(t))
	if err != nil {
		t.Fatal(err)
	}
	checkWarnings(t, tabs,
		"acpi: XSDT at 0xffe0100: length 0x56 leaves 2 bytes after the last 8-byte entry; ignored",
		"acpi: XSDT at 0xffe0100: entry 1 at offset 0x2c is a null address; ignored",
		"acpi: XSDT entry 2 at 0xffe1000: table already listed; ignored",
		"acpi: BIG! at 0xffe9000: length 0x100001 exceeds the 0x100000-byte limit; table ignored",
		"acpi: SHRT at 0xffea000: length 0x14 is shorter than the 36-byte header; table ignored",
	)
	if got := sigs(tabs); got != "APIC FACP DSDT" {
		t.Errorf("tables %q", got)
	}
}

func TestLoadTableCap(t *testing.T) {
	m := newMachine(t, true)
	var addrs []uint64
	for i := 0; i < MaxTables+10; i++ {
		a := uint64(0x0f000000 + i*0x40)
		m.mem.put(a, sdt(fmt.Sprintf("T%03d", i), 1, "BOCHS", nil))
		addrs = append(addrs, a)
	}
	m.mem.put(testXSDTAddr, xsdtTable(addrs...))
	tabs, err := Load(m.mem, m.parsedRSDP(t))
	if err != nil {
		t.Fatal(err)
	}
	if len(tabs.List) != MaxTables {
		t.Errorf("%d tables, want %d", len(tabs.List), MaxTables)
	}
	checkWarnings(t, tabs, "266 entries; only the first 256 are read")
}

func TestLoadTotalCap(t *testing.T) {
	m := newMachine(t, true)
	var addrs []uint64
	// Ten tables of 1 MiB are more than MaxTotalLength.
	for i := 0; i < 10; i++ {
		a := uint64(0x08000000 + i*MaxTableLength)
		m.mem.put(a, sdt("SSDT", 1, "BOCHS", make([]byte, MaxTableLength-HeaderLength)))
		addrs = append(addrs, a)
	}
	m.mem.put(testXSDTAddr, xsdtTable(addrs...))
	tabs, err := Load(m.mem, m.parsedRSDP(t))
	if err != nil {
		t.Fatal(err)
	}
	total := 0
	for _, tb := range tabs.List {
		total += int(tb.Length)
	}
	if total > MaxTotalLength || len(tabs.List) != 7 {
		t.Errorf("%d tables of %#x bytes in all", len(tabs.List), total)
	}
	if len(tabs.Warnings) != 3 || !strings.Contains(tabs.Warnings[0], "total limit") {
		t.Errorf("warnings %q", tabs.Warnings)
	}
}

func TestLoadRootErrors(t *testing.T) {
	m := newMachine(t, true)
	badX := xsdtTable(testMADTAddr)
	badX[HeaderLength]++
	m.mem.put(0x0ffe0400, badX)
	m.mem.put(0x0ffe0500, rsdtTable(testMADTAddr)) // wrong signature for an XSDT

	tests := []struct {
		name string
		rsdp *RSDP
		want string
	}{
		{"nil", nil, "acpi: RSDP: no RSDP given"},
		{"no root", &RSDP{Revision: 2}, "acpi: RSDP: revision 2 gives neither an XSDT nor an RSDT address"},
		{"XSDT checksum", &RSDP{Revision: 2, RSDTAddress: testRSDTAddr, XSDTAddress: 0x0ffe0400}, "acpi: XSDT at 0xffe0400: checksum"},
		{"XSDT signature", &RSDP{Revision: 2, XSDTAddress: 0x0ffe0500}, `acpi: XSDT at 0xffe0500: signature is "RSDT", not "XSDT"`},
		{"RSDT past memory", &RSDP{RSDTAddress: 0xfffffff0}, "acpi: RSDT at 0xfffffff0: cannot read the 36-byte header: truncated"},
		{"XSDT out of range", &RSDP{Revision: 2, XSDTAddress: 1<<64 - 8}, "acpi: XSDT at 0xfffffffffffffff8: cannot read the 36-byte header: truncated"},
	}
	for _, tt := range tests {
		_, err := Load(m.mem, tt.rsdp)
		if err == nil || !strings.HasPrefix(err.Error(), tt.want) {
			t.Errorf("%s: error %v, want %q", tt.name, err, tt.want)
		}
	}
}

func TestLoadFADTProblems(t *testing.T) {
	// A FADT without a DSDT address.
	m := newMachine(t, false)
	m.mem.put(testFADTAddr, fadtTable(1, FADTv1Length, nil))
	tabs, err := Load(m.mem, m.parsedRSDP(t))
	if err != nil {
		t.Fatal(err)
	}
	checkWarnings(t, tabs, "acpi: FADT at 0xffe2000: no DSDT address")

	// A FADT too short to decode (but with a valid checksum).
	m.mem.put(testFADTAddr, sdt(SigFADT, 1, "BOCHS", make([]byte, 40)))
	tabs, err = Load(m.mem, m.parsedRSDP(t))
	if err != nil {
		t.Fatal(err)
	}
	checkWarnings(t, tabs, "acpi: FADT at 0xffe2000: length 0x4c is less than the minimum 0x74; DSDT not loaded")
	if _, err := tabs.FADT(); err == nil || !strings.HasPrefix(err.Error(), "acpi: FADT at 0xffe2000: length") {
		t.Errorf("Tables.FADT: %v", err)
	}

	// The DSDT through X_DSDT of a revision 6 FADT.
	m = newMachine(t, true)
	m.mem.put(testFADTAddr, fadtTable(6, 276, func(b []byte) {
		put32(b, fadtDSDT, 0x0ffe7000) // ignored: X_DSDT wins
		put64(b, fadtXDSDT, testDSDTAddr)
	}))
	tabs, err = Load(m.mem, m.parsedRSDP(t))
	if err != nil {
		t.Fatal(err)
	}
	checkWarnings(t, tabs)
	if tb, ok := tabs.Lookup(SigDSDT); !ok || tb.Addr != testDSDTAddr {
		t.Errorf("DSDT %+v", tb)
	}
}

func TestTablesMADTErrorHasAddress(t *testing.T) {
	m := newMachine(t, false)
	madt := madtTable(1, lapic(0, 0, 1), lapic(1, 1, 1), ioapicEntry(0, 0xfec00000, 0),
		isoEntry(0, 2, 0), isoEntry(9, 9, 0xd), []byte{MADTLocalAPICNMI, 0, 0, 0, 0, 0})
	m.mem.put(testMADTAddr, madt)
	tabs, err := Load(m.mem, m.parsedRSDP(t))
	if err != nil {
		t.Fatal(err)
	}
	_, err = tabs.MADT()
	want := "acpi: MADT at 0xffe1000: entry 5 at offset 0x5c has length 0"
	if err == nil || err.Error() != want {
		t.Errorf("Tables.MADT: %v, want %q", err, want)
	}
	var e *Error
	if !errors.As(err, &e) || e.Table != "MADT" || !e.HasAddr || e.Addr != testMADTAddr {
		t.Errorf("error fields %+v", e)
	}
}

func TestParseHeader(t *testing.T) {
	b := sdt("APIC", 3, "BOCHS", []byte{1, 2})
	h, err := ParseHeader(b)
	if err != nil {
		t.Fatal(err)
	}
	want := Header{Signature: "APIC", Length: 38, Revision: 3, Checksum: b[9], OEMID: "BOCHS ",
		OEMTableID: "TESTTBL ", OEMRevision: 1, CreatorID: "TEST", CreatorRevision: 1}
	if h != want {
		t.Errorf("ParseHeader = %+v, want %+v", h, want)
	}
	if _, err := ParseHeader(b[:35]); !errors.Is(err, ErrTruncated) {
		t.Errorf("short header: %v", err)
	}
}
