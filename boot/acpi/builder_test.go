package acpi

import (
	"encoding/binary"
	"io"
	"sort"
	"testing"
)

// This file holds the test helpers: a builder for ACPI byte images with
// correct lengths and checksums, and a fake physical memory.

// fakeMem is a sparse physical memory of size bytes: the regions map holds
// byte images by physical address, everything else below size reads as zero,
// and reads at or past size stop with io.EOF (like the end of RAM).
type fakeMem struct {
	size    uint64
	regions map[uint64][]byte
}

func newMem(size uint64) *fakeMem {
	return &fakeMem{size: size, regions: make(map[uint64][]byte)}
}

// put places b at physical address addr.
func (m *fakeMem) put(addr uint64, b []byte) { m.regions[addr] = b }

// ReadAt implements io.ReaderAt over physical addresses.
func (m *fakeMem) ReadAt(p []byte, off int64) (int, error) {
	if off < 0 {
		return 0, io.ErrUnexpectedEOF
	}
	start := uint64(off)
	if start >= m.size {
		return 0, io.EOF
	}
	n := uint64(len(p))
	if n > m.size-start {
		n = m.size - start
	}
	clear(p[:n])
	end := start + n
	// Overlay the regions in address order so that overlaps are
	// deterministic (later addresses win).
	addrs := make([]uint64, 0, len(m.regions))
	for a := range m.regions {
		addrs = append(addrs, a)
	}
	sort.Slice(addrs, func(i, j int) bool { return addrs[i] < addrs[j] })
	for _, a := range addrs {
		r := m.regions[a]
		rEnd := a + uint64(len(r))
		if rEnd <= start || a >= end {
			continue
		}
		lo, hi := max(a, start), min(rEnd, end)
		copy(p[lo-start:hi-start], r[lo-a:hi-a])
	}
	if n < uint64(len(p)) {
		return int(n), io.EOF
	}
	return int(n), nil
}

// fixChecksum sets the byte at off so that b sums to zero.
func fixChecksum(b []byte, off int) {
	b[off] = 0
	b[off] = -checksum(b)
}

// le helpers append little-endian values.
func le16(v uint16) []byte { return binary.LittleEndian.AppendUint16(nil, v) }
func le32(v uint32) []byte { return binary.LittleEndian.AppendUint32(nil, v) }
func le64(v uint64) []byte { return binary.LittleEndian.AppendUint64(nil, v) }

func cat(parts ...[]byte) []byte {
	var b []byte
	for _, p := range parts {
		b = append(b, p...)
	}
	return b
}

// pad returns s padded with spaces (or cut) to n bytes.
func pad(s string, n int) []byte {
	b := []byte(s)
	for len(b) < n {
		b = append(b, ' ')
	}
	return b[:n]
}

// sdt builds a table: header with signature sig, revision rev, OEM ID oem,
// then body; Length and Checksum are filled in.
func sdt(sig string, rev uint8, oem string, body []byte) []byte {
	b := make([]byte, HeaderLength, HeaderLength+len(body))
	copy(b[0:4], pad(sig, 4))
	binary.LittleEndian.PutUint32(b[4:], uint32(HeaderLength+len(body)))
	b[8] = rev
	copy(b[10:16], pad(oem, 6))
	copy(b[16:24], pad("TESTTBL", 8))
	binary.LittleEndian.PutUint32(b[24:], 1)
	copy(b[28:32], "TEST")
	binary.LittleEndian.PutUint32(b[32:], 1)
	b = append(b, body...)
	fixChecksum(b, 9)
	return b
}

// rsdpV1 builds a revision 0 RSDP.
func rsdpV1(oem string, rsdt uint32) []byte {
	b := cat([]byte(RSDPSignature), []byte{0}, pad(oem, 6), []byte{0}, le32(rsdt))
	fixChecksum(b, 8)
	return b
}

// rsdpV2 builds a revision 2 RSDP.
func rsdpV2(oem string, rsdt uint32, xsdt uint64) []byte {
	b := cat([]byte(RSDPSignature), []byte{0}, pad(oem, 6), []byte{2}, le32(rsdt),
		le32(RSDPv2Length), le64(xsdt), []byte{0, 0, 0, 0})
	fixChecksum(b[:RSDPv1Length], 8)
	fixChecksum(b, 32)
	return b
}

func xsdtTable(addrs ...uint64) []byte {
	var body []byte
	for _, a := range addrs {
		body = append(body, le64(a)...)
	}
	return sdt(SigXSDT, 1, "BOCHS", body)
}

func rsdtTable(addrs ...uint32) []byte {
	var body []byte
	for _, a := range addrs {
		body = append(body, le32(a)...)
	}
	return sdt(SigRSDT, 1, "BOCHS", body)
}

// MADT entries.

func lapic(uid, id uint8, flags uint32) []byte {
	return cat([]byte{MADTLocalAPIC, 8, uid, id}, le32(flags))
}

func x2apic(id, flags, uid uint32) []byte {
	return cat([]byte{MADTLocalX2APIC, 16, 0, 0}, le32(id), le32(flags), le32(uid))
}

func ioapicEntry(id uint8, addr, gsiBase uint32) []byte {
	return cat([]byte{MADTIOAPIC, 12, id, 0}, le32(addr), le32(gsiBase))
}

func isoEntry(src uint8, gsi uint32, flags uint16) []byte {
	return cat([]byte{MADTInterruptOverride, 10, 0, src}, le32(gsi), le16(flags))
}

func lapicNMIEntry(uid uint8, flags uint16, lint uint8) []byte {
	return cat([]byte{MADTLocalAPICNMI, 6, uid}, le16(flags), []byte{lint})
}

func lapicOverrideEntry(addr uint64) []byte {
	return cat([]byte{MADTLocalAPICOverride, 12, 0, 0}, le64(addr))
}

// madtTable builds a MADT of revision rev with the given entries.
func madtTable(rev uint8, entries ...[]byte) []byte {
	body := cat(le32(0xfee00000), le32(MADTPCATCompat))
	for _, e := range entries {
		body = append(body, e...)
	}
	return sdt(SigMADT, rev, "BOCHS", body)
}

// fadtTable builds a FADT of the given revision and total length (116 for
// revision 1, 244 for 3, 276 for 6); set writes fields into the full
// 276-byte layout before it is cut to length.
func fadtTable(rev uint8, length int, set func(b []byte)) []byte {
	body := make([]byte, 276)
	if set != nil {
		set(body)
	}
	b := sdt(SigFADT, rev, "BOCHS", body[HeaderLength:length])
	return b
}

// Field setters for fadtTable.
func put16(b []byte, off int, v uint16) { binary.LittleEndian.PutUint16(b[off:], v) }
func put32(b []byte, off int, v uint32) { binary.LittleEndian.PutUint32(b[off:], v) }
func put64(b []byte, off int, v uint64) { binary.LittleEndian.PutUint64(b[off:], v) }
func putGAS(b []byte, off int, g GAS) {
	b[off], b[off+1], b[off+2], b[off+3] = g.SpaceID, g.BitWidth, g.BitOffset, g.AccessSize
	put64(b, off+4, g.Address)
}

// qemuFADT sets the fields QEMU's PIIX4 FADT (revision 1) has: PM base
// 0x600, PM1a_CNT 0x604, PM timer 0x608, DSDT at dsdt.
func qemuFADT(dsdt uint32) func(b []byte) {
	return func(b []byte) {
		put32(b, fadtDSDT, dsdt)
		put16(b, fadtSCIInt, 9)
		put32(b, fadtSMICmd, 0xb2)
		b[fadtACPIEnable], b[fadtACPIDisable] = 0xf1, 0xf0
		put32(b, fadtPM1aEvtBlk, 0x600)
		put32(b, fadtPM1aCntBlk, 0x604)
		put32(b, fadtPMTmrBlk, 0x608)
		b[88], b[fadtPM1CntLen], b[fadtPMTmrLen] = 4, 2, 4
		put32(b, fadtFlags, 1<<0|1<<4|1<<5|FADTTmrValExt)
	}
}

// dsdtTable wraps AML in a DSDT.
func dsdtTable(aml []byte) []byte { return sdt(SigDSDT, 1, "BOCHS", aml) }

// machine is a synthetic firmware image: RSDP, root table, MADT, FADT,
// DSDT, each at a fixed address in a 256 MiB fake memory.
type machine struct {
	mem        *fakeMem
	rsdpAddr   uint64
	rootAddr   uint64
	madtAddr   uint64
	fadtAddr   uint64
	dsdtAddr   uint64
	rsdp       []byte
	madt, fadt []byte
	dsdt       []byte
}

const (
	testMemSize  = 256 << 20
	testRSDPAddr = 0xf5a10
	testRSDTAddr = 0x0ffe0000
	testXSDTAddr = 0x0ffe0100
	testMADTAddr = 0x0ffe1000
	testFADTAddr = 0x0ffe2000
	testDSDTAddr = 0x0ffe3000
	testSSDTAddr = 0x0ffe8000
)

// qemuDSDT is a small DSDT with QEMU's \_S5_ package.
var qemuDSDT = dsdtTable([]byte{
	0x08, '_', 'S', '3', '_', 0x12, 0x06, 0x04, 0x01, 0x01, 0x00, 0x00,
	0x08, '_', 'S', '5', '_', 0x12, 0x06, 0x04, 0x00, 0x00, 0x00, 0x00,
})

// testMADT has 2 enabled CPUs, 1 disabled and 1 online capable (revision
// 5), an I/O APIC, an override of IRQ0 to GSI 2 and a LINT1 NMI.
var testMADT = madtTable(5,
	lapic(0, 0, LocalAPICEnabled),
	lapic(1, 1, LocalAPICEnabled),
	lapic(2, 2, 0),
	lapic(3, 3, LocalAPICOnlineCapable),
	ioapicEntry(0, 0xfec00000, 0),
	isoEntry(0, 2, 0),
	isoEntry(9, 9, 0xd),
	lapicNMIEntry(0xff, 0, 1),
)

// newMachine builds an RSDT-only (revision 0) or XSDT (revision 2)
// machine with testMADT, a QEMU-like revision 1 FADT and qemuDSDT.
func newMachine(t *testing.T, xsdt bool) *machine {
	t.Helper()
	m := &machine{
		mem:      newMem(testMemSize),
		rsdpAddr: testRSDPAddr,
		madtAddr: testMADTAddr,
		fadtAddr: testFADTAddr,
		dsdtAddr: testDSDTAddr,
		madt:     testMADT,
		fadt:     fadtTable(1, FADTv1Length, qemuFADT(testDSDTAddr)),
		dsdt:     qemuDSDT,
	}
	if xsdt {
		m.rootAddr = testXSDTAddr
		m.rsdp = rsdpV2("BOCHS", testRSDTAddr, testXSDTAddr)
		m.mem.put(testXSDTAddr, xsdtTable(testMADTAddr, testFADTAddr))
		// An RSDT that would give a different answer, to show it is not
		// used.
		m.mem.put(testRSDTAddr, rsdtTable(testFADTAddr))
	} else {
		m.rootAddr = testRSDTAddr
		m.rsdp = rsdpV1("BOCHS", testRSDTAddr)
		m.mem.put(testRSDTAddr, rsdtTable(testMADTAddr, testFADTAddr))
	}
	m.mem.put(m.rsdpAddr, m.rsdp)
	m.mem.put(m.madtAddr, m.madt)
	m.mem.put(m.fadtAddr, m.fadt)
	m.mem.put(m.dsdtAddr, m.dsdt)
	return m
}

// parsedRSDP parses m.rsdp or fails the test.
func (m *machine) parsedRSDP(t *testing.T) *RSDP {
	t.Helper()
	r, err := ParseRSDP(m.rsdp)
	if err != nil {
		t.Fatalf("ParseRSDP: %v", err)
	}
	return r
}

func TestFakeMem(t *testing.T) {
	m := newMem(0x100)
	m.put(0x10, []byte{1, 2, 3})
	m.put(0xfe, []byte{7, 8, 9})
	p := make([]byte, 4)
	if n, err := m.ReadAt(p, 0xf); n != 4 || err != nil || p[0] != 0 || p[1] != 1 || p[3] != 3 {
		t.Errorf("ReadAt(0xf) = %d, %v, %v", n, err, p)
	}
	if n, err := m.ReadAt(p, 0xfd); n != 3 || err != io.EOF || p[1] != 7 || p[2] != 8 {
		t.Errorf("ReadAt(0xfd) = %d, %v, %v", n, err, p)
	}
	if n, err := m.ReadAt(p, 0x100); n != 0 || err != io.EOF {
		t.Errorf("ReadAt(0x100) = %d, %v", n, err)
	}
	if s := checksum(sdt("TEST", 1, "X", []byte{1, 2, 3})); s != 0 {
		t.Errorf("sdt checksum %#x", s)
	}
	if s := checksum(rsdpV2("X", 1, 2)); s != 0 {
		t.Errorf("rsdpV2 checksum %#x", s)
	}
}
