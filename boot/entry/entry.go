//go:build tamago

package entry

// Sizes of the buffers the entry code uses before the Go runtime runs.
const (
	// SnapshotSize bounds the copy of the boot loader's information.
	SnapshotSize = 256 << 10
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
	snapshotData     [SnapshotSize]byte
	snapshotUsed     uint64
	snapshotOverflow uint32

	bootStack  [bootStackSize]byte
	pageTables [pageTableSize]byte

	// pml4 is the physical address of the PML4 the entry code built.
	pml4 uint64

	// entryTSC is the TSC when the boot loader jumped to the image.
	entryTSC uint64
)

// Messages the entry code prints before Go runs: NUL-terminated, CRLF.
var (
	msgNoLongMode = "boot: this CPU has no 64-bit long mode (CPUID.80000001H:EDX.LM[bit 29] = 0); tamavisor needs an x86-64 CPU. Halted.\r\n\x00"
	msgNoRDRAND   = "boot: this CPU has no RDRAND (CPUID.01H:ECX.RDRAND[bit 30] = 0), which the Go runtime needs for its random seed. Halted.\r\n\x00"
	msgNoMap      = "boot: the Go runtime's region is to be sized from the PVH memory map, but start_info gives no RAM at RamStart that leaves a 4 MiB heap arena above the image (below any module and the g0 stack): give the domain more memory. Halted.\r\n\x00"
	msgNoRAM      = "boot: too little memory: no RAM answers at 0x\x00"
	msgNoRAM2     = ", the top of the Go runtime's region (for the hypervisor: boot/layout.go). Halted.\r\n\x00"
)

// SizeFromMemoryMap, as runtime/goos.RamSize, has the entry code size the
// Go runtime's region from the PVH start_info memory map: from RamStart to
// the end of the RAM region that holds it, or to the lowest boot module
// above RamStart if that is lower, in whole MiB, below 3 GiB (Go domains).
// A region with no room for a 4 MiB heap arena halts with a message.
const SizeFromMemoryMap = ^uint64(0)

// cpuinit is the image's first instruction (entry_amd64.s).
func cpuinit()

// Magic returns EAX at entry: the Multiboot magic, or anything under PVH.
func Magic() uint32 { return bootMagic }

// Info returns EBX at entry: the physical address of the boot information.
func Info() uint32 { return bootInfo }

// Snapshot returns the boot information the entry code copied, in the
// record format that bootinfo.ParseSnapshot reads.
func Snapshot() []byte { return snapshotData[:snapshotUsed] }

// Overflow returns the snapshot's overflow bits: 1 when some boot
// information did not fit, 2 when some lay above 4 GiB.
func Overflow() uint32 { return snapshotOverflow }

// PML4 returns the physical address of the page tables the entry code built:
// PML4 at +0, PDPT at +0x1000, the four page directories at +0x2000.
func PML4() uint64 { return pml4 }

// EntryTSC returns the TSC at the image's first instruction. Under Bochs,
// whose TSC counts emulated instructions, TSC deltas are path lengths.
func EntryTSC() uint64 { return entryTSC }
