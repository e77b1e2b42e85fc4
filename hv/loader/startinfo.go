package loader

import (
	"fmt"
	"strings"

	"tamavisor/boot/bootinfo"
)

// Where tamavisor puts a domain's start_info: the page at GPA 0x1000, which
// the caller passes to Parse in Limits.Reserved so that no segment lands
// there. (Page 0 is avoided because start_info.h treats a 0 address as "not
// present".) BuildStartInfo writes all of struct hvm_start_info, its tables
// and its strings into this one page.
const (
	StartInfoGPA  = 0x1000
	StartInfoSize = 4096
)

// StartInfoMagic is XEN_HVM_START_MAGIC_VALUE (arch-x86/hvm/start_info.h):
// "xEn3" with the 0x80 bit of the "E" set; the PVH reader's constant.
const StartInfoMagic = bootinfo.PVHMagic

// Memory map entry types (start_info.h XEN_HVM_MEMMAP_TYPE_*, which match
// the ACPI address range types).
const (
	MemmapTypeRAM      = 1 // XEN_HVM_MEMMAP_TYPE_RAM
	MemmapTypeReserved = 2 // XEN_HVM_MEMMAP_TYPE_RESERVED
	MemmapTypeACPI     = 3 // XEN_HVM_MEMMAP_TYPE_ACPI
	MemmapTypeNVS      = 4 // XEN_HVM_MEMMAP_TYPE_NVS
	MemmapTypeUnusable = 5 // XEN_HVM_MEMMAP_TYPE_UNUSABLE
	MemmapTypeDisabled = 6 // XEN_HVM_MEMMAP_TYPE_DISABLED
	MemmapTypePMEM     = 7 // XEN_HVM_MEMMAP_TYPE_PMEM
)

// Start info flags (SIF_* in xen/include/public/xen.h, shared with the PV
// start_info).
const (
	SIFPrivileged = 1 << 0 // SIF_PRIVILEGED: the domain is privileged
	SIFInitDomain = 1 << 1 // SIF_INITDOMAIN: the initial control domain
)

// struct hvm_start_info version 1 and its tables (start_info.h): all fields
// little endian.
const (
	startInfoVersion  = 1
	siHeaderSize      = 56 // through memmap_paddr, memmap_entries, reserved
	siOffVersion      = 4
	siOffFlags        = 8
	siOffNrModules    = 12
	siOffModlist      = 16
	siOffCmdline      = 24
	siOffRSDP         = 32
	siOffMemmap       = 40
	siOffMemmapN      = 48
	memmapEntrySize   = 24 // hvm_memmap_table_entry: addr, size, type, reserved
	modlistEntrySize  = 32 // hvm_modlist_entry: paddr, size, cmdline_paddr, reserved
	startInfoMaxLimit = 1 << 32
)

// MemoryRegion is one hvm_memmap_table_entry.
type MemoryRegion struct {
	Addr, Size uint64
	Type       uint32 // MemmapType*
}

// Module is one hvm_modlist_entry: a blob the caller has placed in guest
// memory at Addr, with an optional command line.
type Module struct {
	Addr, Size uint64
	Cmdline    string
}

// StartInfo is the content of a domain's hvm_start_info.
type StartInfo struct {
	Flags     uint32 // SIF*
	Cmdline   string
	MemoryMap []MemoryRegion
	Modules   []Module
	// RSDP is the GPA of the ACPI RSDP, 0 if the domain has none.
	RSDP uint64
}

// BuildStartInfo lays out si as the StartInfoSize bytes (one page, zero
// padded: guest memory is not assumed to be zeroed) to be written at GPA
// gpa, which EBX then points at (EntryState). The layout is struct
// hvm_start_info version 1 (start_info.h) at offset 0, then the memory map
// table, the module list and the NUL-terminated strings; every pointer in
// them is a GPA inside the same page.
//
// An empty Cmdline, module command line, module list or memory map is given
// as a 0 address (start_info.h: "a 0 value in any of the address fields
// should be treated as not present"; memmap_entries is then 0). tamavisor
// guests need a memory map: pass DefaultMemoryMap or another non-empty one.
//
// gpa must be page aligned, non-zero and the page below 4 GiB (EBX is a
// 32-bit register). The memory map is written as given; its entries must
// not wrap around and must have a non-zero size and type.
func BuildStartInfo(gpa uint64, si StartInfo) ([]byte, error) {
	if gpa == 0 || gpa%StartInfoSize != 0 || gpa+StartInfoSize > startInfoMaxLimit {
		return nil, fmt.Errorf("loader: start_info GPA %#x must be a non-zero, page-aligned address with the page below 4 GiB", gpa)
	}
	for i, r := range si.MemoryMap {
		if r.Size == 0 || r.Addr+r.Size < r.Addr {
			return nil, fmt.Errorf("loader: start_info: memory map entry %d [%#x+%#x) is empty or wraps around", i, r.Addr, r.Size)
		}
		if r.Type == 0 {
			return nil, fmt.Errorf("loader: start_info: memory map entry %d [%#x-%#x) has type 0, which XEN_HVM_MEMMAP_TYPE_* does not define", i, r.Addr, r.Addr+r.Size)
		}
	}
	if err := checkString("the command line", si.Cmdline); err != nil {
		return nil, err
	}
	for i, m := range si.Modules {
		if m.Addr == 0 || m.Addr+m.Size < m.Addr {
			return nil, fmt.Errorf("loader: start_info: module %d [%#x+%#x) is at address 0 (which means absent) or wraps around", i, m.Addr, m.Size)
		}
		if err := checkString(fmt.Sprintf("module %d's command line", i), m.Cmdline); err != nil {
			return nil, err
		}
	}

	// Sizes, all bounded by what fits in an int: len() values.
	memmapOff := siHeaderSize
	modlistOff := memmapOff + len(si.MemoryMap)*memmapEntrySize
	stringsOff := modlistOff + len(si.Modules)*modlistEntrySize
	strSize := strLen(si.Cmdline)
	for _, m := range si.Modules {
		strSize += strLen(m.Cmdline)
	}
	if len(si.MemoryMap) > StartInfoSize || len(si.Modules) > StartInfoSize || stringsOff+strSize > StartInfoSize {
		return nil, fmt.Errorf("loader: start_info does not fit in one page: it needs %d bytes (header %d, memory map %d, module list %d, strings %d), the page has %d",
			siHeaderSize+len(si.MemoryMap)*memmapEntrySize+len(si.Modules)*modlistEntrySize+strSize,
			siHeaderSize, len(si.MemoryMap)*memmapEntrySize, len(si.Modules)*modlistEntrySize, strSize, StartInfoSize)
	}

	page := make([]byte, StartInfoSize)
	next := stringsOff
	// putString copies s and its NUL to the string area and returns its
	// GPA, or 0 for an empty string.
	putString := func(s string) uint64 {
		if s == "" {
			return 0
		}
		at := next
		copy(page[at:], s)
		next += len(s) + 1 // the NUL is already there
		return gpa + uint64(at)
	}

	le.PutUint32(page[0:], StartInfoMagic)
	le.PutUint32(page[siOffVersion:], startInfoVersion)
	le.PutUint32(page[siOffFlags:], si.Flags)
	le.PutUint32(page[siOffNrModules:], uint32(len(si.Modules)))
	if len(si.Modules) > 0 {
		le.PutUint64(page[siOffModlist:], gpa+uint64(modlistOff))
	}
	le.PutUint64(page[siOffCmdline:], putString(si.Cmdline))
	le.PutUint64(page[siOffRSDP:], si.RSDP)
	if len(si.MemoryMap) > 0 {
		le.PutUint64(page[siOffMemmap:], gpa+uint64(memmapOff))
		le.PutUint32(page[siOffMemmapN:], uint32(len(si.MemoryMap)))
	}
	// The reserved field at 52 stays 0 ("Must be zero").

	for i, r := range si.MemoryMap {
		e := page[memmapOff+i*memmapEntrySize:]
		le.PutUint64(e[0:], r.Addr)
		le.PutUint64(e[8:], r.Size)
		le.PutUint32(e[16:], r.Type)
		// reserved at 20: "Must be zero for Version 1."
	}
	for i, m := range si.Modules {
		e := page[modlistOff+i*modlistEntrySize:]
		le.PutUint64(e[0:], m.Addr)
		le.PutUint64(e[8:], m.Size)
		le.PutUint64(e[16:], putString(m.Cmdline))
		// reserved at 24 stays 0.
	}
	return page, nil
}

func strLen(s string) int {
	if s == "" {
		return 0
	}
	return len(s) + 1
}

func checkString(what, s string) error {
	if i := strings.IndexByte(s, 0); i >= 0 {
		return fmt.Errorf("loader: start_info: %s has a NUL byte at offset %d, which would cut it short", what, i)
	}
	if len(s) >= StartInfoSize {
		return fmt.Errorf("loader: start_info does not fit in one page: %s alone has %d bytes, the page has %d", what, len(s), StartInfoSize)
	}
	return nil
}

// Legacy PC layout below 1 MiB.
const (
	legacyHoleStart = 0xA0000  // VGA memory, then option ROMs and the BIOS
	legacyHoleEnd   = 0x100000 // 1 MiB
)

// DefaultMemoryMap is the memory map tamavisor gives a domain with
// memorySize bytes of RAM at GPAs [0, memorySize):
//
//   - RAM [0, 0xA0000)
//   - reserved [0xA0000, 0x100000): the PC's legacy VGA, option ROM and BIOS
//     range, marked reserved so that guests written for PCs leave it alone.
//     Whether the domain's memory backs this range is the caller's
//     decision; the map only describes it.
//   - RAM [0x100000, memorySize)
//
// The RAM ranges are clipped to memorySize; the hole is listed whole
// whenever memorySize reaches past 0xA0000. memorySize 0 gives nil.
//
// The start_info page (StartInfoGPA) stays in the first RAM range, as Xen
// leaves it: the guest must read its start_info, memory map, module list
// and command lines before it reuses that page.
func DefaultMemoryMap(memorySize uint64) []MemoryRegion {
	if memorySize == 0 {
		return nil
	}
	m := []MemoryRegion{{Addr: 0, Size: min(memorySize, legacyHoleStart), Type: MemmapTypeRAM}}
	if memorySize > legacyHoleStart {
		m = append(m, MemoryRegion{Addr: legacyHoleStart, Size: legacyHoleEnd - legacyHoleStart, Type: MemmapTypeReserved})
	}
	if memorySize > legacyHoleEnd {
		m = append(m, MemoryRegion{Addr: legacyHoleEnd, Size: memorySize - legacyHoleEnd, Type: MemmapTypeRAM})
	}
	return m
}
