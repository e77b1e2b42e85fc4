package boot

// The hypervisor's memory layout. These numbers are the one place where the
// image's link address, the Go runtime's memory region and the early page
// tables are decided; the Makefile passes LinkAddress to the linker (-T) and a
// test checks that the two agree.
//
//	0x0000_0000 - 0x0010_0000  real-mode area, BIOS data, ROMs: never touched
//	0x0010_0000 - RAMStart     free: handed to the frame allocator
//	RAMStart    - RAMEnd       Go runtime: image (text, data, bss) then heap,
//	                           growing up to the g0 stack at RAMEnd-1 MiB.
//	                           The image is ~3 MiB of text and data; its BSS
//	                           is ~34 MiB, 32 MiB of which is a scratch buffer
//	                           of Go's FIPS DRBG that is never touched.
//	RAMEnd      - top of RAM   free: handed to the frame allocator
//
// The frame allocator owns every available page outside [RAMStart, RAMEnd):
// domain memory, EPT tables and VMCS regions never come from the Go heap, so
// the garbage collector never sees them and a domain never sees Go memory.
const (
	// RAMStart is the start of the Go runtime's region (runtime/goos.RamStart).
	RAMStart = 0x0100_0000 // 16 MiB: above ISA DMA and the legacy hole
	// RAMSize is the size of the Go runtime's region (runtime/goos.RamSize):
	// the image, the Go heap and the g0 stack.
	RAMSize = 0x0800_0000 // 128 MiB
	// RAMEnd is the first byte after the Go runtime's region.
	RAMEnd = RAMStart + RAMSize
	// LinkAddress is where the linker places the image's text (-T): 64 KiB
	// into the region, as TamaGo's own examples do.
	LinkAddress = RAMStart + 0x1_0000
	// MinRAM is the least RAM the hypervisor asks for: its own region plus
	// MinDomainMemory for domains, with room for the first MiB and firmware.
	MinRAM = RAMEnd + MinDomainMemory + 16<<20
)
