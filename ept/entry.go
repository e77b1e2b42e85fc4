package ept

import "fmt"

// Page sizes an EPT leaf entry can map.
const (
	PageSize4K uint64 = 1 << 12 // SDM Vol. 3C 29.3.2, Table 29-6: EPT PTE maps a 4-KByte page
	PageSize2M uint64 = 1 << 21 // SDM Vol. 3C 29.3.2, Table 29-4: EPT PDE with bit 7 set maps a 2-MByte page
	PageSize1G uint64 = 1 << 30 // SDM Vol. 3C 29.3.2, Table 29-2: EPT PDPTE with bit 7 set maps a 1-GByte page
)

// GPABits is the width of the guest-physical addresses a 4-level EPT
// translates: bits 47:39 index the PML4 (SDM Vol. 3C 29.3.2 "EPT Translation
// Mechanism": with a page-walk length of 4 the walk starts from a PML4 entry
// selected by GPA bits 47:39).
const GPABits = 48

// maxGPA is the first guest-physical address a 4-level EPT cannot translate.
const maxGPA = uint64(1) << GPABits

// DefaultPhysAddrBits is the physical-address width (MAXPHYADDR) assumed when
// Options.PhysAddrBits is 0.
const DefaultPhysAddrBits = 46

// Physical-address widths accepted in Options.PhysAddrBits. 52 is the
// architectural limit (SDM Vol. 3C 29.3.2: EPT entries hold addresses in bits
// 51:12, bits 51:N reserved); 36 is the width of a processor that does not
// report one (SDM Vol. 3A 4.1.4 "Enumeration of Paging Features by CPUID"),
// the smallest in use.
const (
	minPhysAddrBits = 36
	maxPhysAddrBits = 52
)

// Levels of the 4-level hierarchy. Level l's entries each control
// 1 << (12 + 9*l) bytes of guest-physical address space (SDM Vol. 3C 29.3.2
// "EPT Translation Mechanism").
const (
	levelPT   = 0 // EPT page table: PTEs, 4 KiB each
	levelPD   = 1 // EPT page directory: PDEs, 2 MiB each
	levelPDPT = 2 // EPT page-directory-pointer table: PDPTEs, 1 GiB each
	levelPML4 = 3 // EPT PML4 table: PML4Es, 512 GiB each
	levels    = 4 // page-walk length 4
)

// Bits of an EPT paging-structure entry. The entry formats are the tables of
// SDM Vol. 3C 29.3.2 "EPT Translation Mechanism":
//
//   - Table 29-1 "Format of an EPT PML4 Entry (PML4E) that References an EPT
//     Page-Directory-Pointer Table"
//   - Table 29-2 "Format of an EPT Page-Directory-Pointer-Table Entry (PDPTE)
//     that Maps a 1-GByte Page"
//   - Table 29-3 "Format of an EPT Page-Directory-Pointer-Table Entry (PDPTE)
//     that References an EPT Page Directory"
//   - Table 29-4 "Format of an EPT Page-Directory Entry (PDE) that Maps a
//     2-MByte Page"
//   - Table 29-5 "Format of an EPT Page-Directory Entry (PDE) that References
//     an EPT Page Table"
//   - Table 29-6 "Format of an EPT Page-Table Entry that Maps a 4-KByte Page"
const (
	// SDM Vol. 3C 29.3.2, Tables 29-1 to 29-6, bits 0-2: read, write and
	// execute access; the entry is present when any of them is set (with the
	// "mode-based execute control" off, which this package assumes).
	bitRead  uint64 = 1 << 0
	bitWrite uint64 = 1 << 1
	bitExec  uint64 = 1 << 2
	permMask        = bitRead | bitWrite | bitExec

	// SDM Vol. 3C 29.3.2, Tables 29-2, 29-4, 29-6, bits 5:3: EPT memory
	// type of the page a leaf entry maps (SDM Vol. 3C 29.3.7 "EPT and Memory
	// Typing").
	memTypeShift        = 3
	memTypeMask  uint64 = 7 << memTypeShift

	// SDM Vol. 3C 29.3.2, Tables 29-2, 29-4: bit 7 of a PDPTE or PDE is 1
	// when the entry maps a 1-GByte or 2-MByte page, 0 when it references a
	// table. It is reserved in a PML4E (Table 29-1) and ignored in a PTE
	// (Table 29-6).
	bitLarge uint64 = 1 << 7

	// SDM Vol. 3C 29.3.2, Tables 29-1 to 29-6, bits 8 and 9: accessed and
	// dirty flags, written by the processor when EPTP bit 6 enables them
	// (SDM Vol. 3C 29.3.5 "Accessed and Dirty Flags for EPT"; bit 9 exists
	// only in leaf entries).
	bitAccessed uint64 = 1 << 8
	bitDirty    uint64 = 1 << 9

	// SDM Vol. 3C 29.3.2: bits 51:12 hold the physical address of the table
	// or page the entry references; bits 51:N are reserved, N being the
	// physical-address width.
	addrBits uint64 = (1<<52 - 1) &^ (1<<12 - 1)

	// SDM Vol. 3C 29.3.2, Table 29-1: bits 7:3 of a PML4E are reserved.
	rsvdPML4E uint64 = 0x1f << 3
	// SDM Vol. 3C 29.3.2, Tables 29-3 and 29-5: bits 6:3 of a PDPTE or PDE
	// that references a table are reserved (bit 7 is 0 there).
	rsvdNonLeaf uint64 = 0xf << 3

	// tablePerm are the access bits of every non-leaf entry this package
	// writes: all of them, so that the leaf alone decides the permissions
	// (the processor uses the logical AND of the access bits along the walk,
	// SDM Vol. 3C 29.3.3.2 "EPT Violations").
	tablePerm = permMask
)

// Perm is a set of EPT access rights: bits 0 (Read), 1 (Write) and 2 (Exec)
// of an EPT paging-structure entry (SDM Vol. 3C 29.3.2, Tables 29-1 to 29-6).
type Perm uint8

// Access rights.
const (
	Read  Perm = 1 << 0 // SDM Vol. 3C Table 29-6 bit 0: reads allowed
	Write Perm = 1 << 1 // SDM Vol. 3C Table 29-6 bit 1: writes allowed
	Exec  Perm = 1 << 2 // SDM Vol. 3C Table 29-6 bit 2: instruction fetches allowed

	RW  = Read | Write
	RX  = Read | Exec
	RWX = Read | Write | Exec
)

// String returns the permissions in the style of ls: "rwx", "r-x", "---".
func (p Perm) String() string {
	b := []byte("---")
	if p&Read != 0 {
		b[0] = 'r'
	}
	if p&Write != 0 {
		b[1] = 'w'
	}
	if p&Exec != 0 {
		b[2] = 'x'
	}
	if p&^RWX != 0 {
		return fmt.Sprintf("%s+%#x", b, uint8(p&^RWX))
	}
	return string(b)
}

// MemType is an EPT memory type, bits 5:3 of a leaf entry (SDM Vol. 3C
// 29.3.7 "EPT and Memory Typing"; the encodings are those of the memory types
// of SDM Vol. 3A 12.3 "Methods of Caching Available").
type MemType uint8

// EPT memory types. SDM Vol. 3C 29.3.3.1 "EPT Misconfigurations": values 2, 3
// and 7 are reserved and cause an EPT misconfiguration in a leaf entry.
const (
	UC MemType = 0 // uncacheable
	WC MemType = 1 // write combining
	WT MemType = 4 // write through
	WP MemType = 5 // write protected
	WB MemType = 6 // write back
)

// Valid reports whether m is a memory type a leaf entry may hold.
func (m MemType) Valid() bool {
	switch m {
	case UC, WC, WT, WP, WB:
		return true
	}
	return false
}

// String returns the usual abbreviation ("WB"), or "MemType(n)" for a
// reserved value.
func (m MemType) String() string {
	switch m {
	case UC:
		return "UC"
	case WC:
		return "WC"
	case WT:
		return "WT"
	case WP:
		return "WP"
	case WB:
		return "WB"
	}
	return fmt.Sprintf("MemType(%d)", uint8(m))
}

// levelNames are the SDM's names for the entries of each level.
var levelNames = [levels]string{"PTE", "PDE", "PDPTE", "PML4E"}

func shift(l int) uint { return 12 + 9*uint(l) }

// span is the guest-physical address space one entry of level l controls.
func span(l int) uint64 { return 1 << shift(l) }

// index is the entry of a level-l table that translates gpa (SDM Vol. 3C
// 29.3.2: GPA bits 47:39, 38:30, 29:21 and 20:12 index the four levels).
func index(gpa uint64, l int) int { return int(gpa>>shift(l)) & 511 }

func present(ent uint64) bool { return ent&permMask != 0 }

// isLeaf reports whether a present entry of level l maps a page rather than
// referencing a table. A PML4E never maps a page: its bit 7 is reserved.
func isLeaf(ent uint64, l int) bool {
	return l == levelPT || (l != levelPML4 && ent&bitLarge != 0)
}

// leafAddr is the host-physical address of the page a leaf entry of level l
// maps (bits N-1:12, N-1:21 or N-1:30; SDM Vol. 3C Tables 29-2, 29-4, 29-6).
func leafAddr(ent uint64, l int) uint64 { return ent & addrBits &^ (span(l) - 1) }

// tableAddr is the host-physical address of the table a non-leaf entry
// references (bits N-1:12; SDM Vol. 3C Tables 29-1, 29-3, 29-5).
func tableAddr(ent uint64) uint64 { return ent & addrBits }

func entryPerm(ent uint64) Perm { return Perm(ent & permMask) }

func entryMemType(ent uint64) MemType { return MemType((ent & memTypeMask) >> memTypeShift) }

// leafEntry encodes a leaf entry of level l.
func leafEntry(l int, hpa uint64, p Perm, mt MemType) uint64 {
	ent := hpa | uint64(p) | uint64(mt)<<memTypeShift
	if l != levelPT {
		ent |= bitLarge
	}
	return ent
}

// misconfig returns why the present entry ent of level l would cause an EPT
// misconfiguration on a processor with the given options, or "" if it would
// not. SDM Vol. 3C 29.3.3.1 "EPT Misconfigurations".
func (o *Options) misconfig(ent uint64, l int) string {
	switch ent & permMask {
	case bitWrite, bitWrite | bitExec:
		// SDM Vol. 3C 29.3.3.1: bits 2:0 = 010b (write-only) or 110b
		// (write/execute).
		return "write access without read access"
	case bitExec:
		// SDM Vol. 3C 29.3.3.1: bits 2:0 = 100b (execute-only) when
		// IA32_VMX_EPT_VPID_CAP bit 0 does not report it.
		if !o.ExecuteOnly {
			return "execute-only access, not supported"
		}
	}
	// SDM Vol. 3C 29.3.3.1: a reserved bit set, including bits 51:N of
	// the address beyond the physical-address width N.
	if r := ent & addrBits &^ (uint64(1)<<o.PhysAddrBits - 1); r != 0 {
		return fmt.Sprintf("address bits beyond MAXPHYADDR %d set (%#x)", o.PhysAddrBits, r)
	}
	switch {
	case l == levelPML4:
		if ent&rsvdPML4E != 0 {
			return fmt.Sprintf("reserved bits 7:3 set (%#x)", ent&rsvdPML4E)
		}
		return ""
	case l == levelPT:
	case ent&bitLarge == 0:
		if ent&rsvdNonLeaf != 0 {
			return fmt.Sprintf("reserved bits 6:3 set (%#x)", ent&rsvdNonLeaf)
		}
		return ""
	default: // a 1-GByte or 2-MByte page
		// SDM Vol. 3C 29.3.2: bit 7 of a PDPTE (PDE) may be 1 only when
		// IA32_VMX_EPT_VPID_CAP bit 17 (16) reports 1-GByte (2-MByte)
		// pages; otherwise it is reserved.
		if !o.largeOK(l) {
			return fmt.Sprintf("bit 7 set but %s pages are not supported", sizeName(span(l)))
		}
		// SDM Vol. 3C Table 29-2 bits 29:12, Table 29-4 bits 20:12:
		// reserved.
		if r := ent & addrBits & (span(l) - 1); r != 0 {
			return fmt.Sprintf("reserved address bits %d:12 set (%#x)", shift(l)-1, r)
		}
	}
	// SDM Vol. 3C 29.3.3.1: the last entry of the walk with memory type 2,
	// 3 or 7.
	if mt := entryMemType(ent); !mt.Valid() {
		return fmt.Sprintf("reserved memory type %d", uint8(mt))
	}
	return ""
}

func sizeName(size uint64) string {
	switch size {
	case PageSize4K:
		return "4 KiB"
	case PageSize2M:
		return "2 MiB"
	case PageSize1G:
		return "1 GiB"
	}
	return fmt.Sprintf("%#x-byte", size)
}
