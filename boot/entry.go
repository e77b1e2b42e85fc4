//go:build tamago

package boot

import (
	_ "unsafe"
)

// Sizes of the buffers the entry code uses before the Go runtime runs.
const (
	// snapshotSize bounds the copy of the boot loader's information.
	snapshotSize = 256 << 10
	// bootStackSize is the stack the entry code runs on.
	bootStackSize = 16 << 10
	// pageTableSize holds the early page tables: PML4, PDPT, four page
	// directories (0-4 GiB in 2 MiB pages), one page table for the first
	// 2 MiB (so that page 0 stays unmapped and nil dereferences fault), and
	// one page of slack to align them.
	pageTableSize = 8 << 12
)

// Written by cpuinit (entry_amd64.s) before the Go runtime starts. They live
// in the image's BSS, which no boot loader places anything in, and the Go
// heap never reaches.
var (
	// bootMagic and bootInfo are EAX and EBX at entry.
	bootMagic uint32
	bootInfo  uint32

	// snapshotData holds the boot information records (see
	// bootinfo.ParseSnapshot), snapshotUsed their total length and
	// snapshotOverflow bit 0 whether some did not fit, bit 1 whether some
	// lay above 4 GiB, out of the entry code's reach.
	snapshotData     [snapshotSize]byte
	snapshotUsed     uint64
	snapshotOverflow uint32

	bootStack  [bootStackSize]byte
	pageTables [pageTableSize]byte

	// pml4 is the physical address of the PML4 the entry code built.
	pml4 uint64

	// entryTSC is the TSC when the boot loader jumped to the image.
	entryTSC uint64
)

// EntryTSC returns the TSC at the image's first instruction. Under Bochs,
// whose TSC counts emulated instructions, TSC deltas are path lengths.
func EntryTSC() uint64 { return entryTSC }

// Messages the entry code prints before Go runs: NUL-terminated, CRLF.
var (
	msgNoLongMode = "boot: this CPU has no 64-bit long mode (CPUID.80000001H:EDX.LM[bit 29] = 0); tamavisor needs an x86-64 CPU. Halted.\r\n\x00"
	msgNoRDRAND   = "boot: this CPU has no RDRAND (CPUID.01H:ECX.RDRAND[bit 30] = 0), which the Go runtime needs for its random seed. Halted.\r\n\x00"
	msgNoRAM      = "boot: too little memory: no RAM answers at 0x\x00"
	msgNoRAM2     = ", the top of the hypervisor's own region (see boot/layout.go). Halted.\r\n\x00"
)

// Link-time settings of the TamaGo runtime (runtime/goos).

//go:linkname ramStart runtime/goos.RamStart
var ramStart uint64 = RAMStart

//go:linkname ramSize runtime/goos.RamSize
var ramSize uint64 = RAMSize

// cpuinit is the image's first instruction (entry_amd64.s).
func cpuinit()
