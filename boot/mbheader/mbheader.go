// Package mbheader owns the Multiboot (v1) and Multiboot2 headers of the
// hypervisor image: their contents, where in the ELF file they may go, and
// how a boot loader finds them. cmd/mkboot patches the linked image with
// Patch; tests and tools check an image with Scan.
//
// The TamaGo linker writes no Multiboot header, but the image's first page
// (ELF header, program and section header tables, PVH note, then the start of
// .text at file offset 0x1000) holds zero padding that no section and no
// header table uses. Patch checks that GRUB can load the ELF by its program
// headers and writes both headers into that padding. Neither header asks for
// explicit load addresses (no Multiboot flag 16, no Multiboot2 address or
// entry tag), so GRUB loads the image by its program headers and enters at
// e_entry in 32-bit protected mode with paging off, EAX holding MB1BootMagic
// or MB2BootMagic and EBX the boot information.
//
// QEMU's -kernel loader looks for a Multiboot (v1) header before the PVH
// note and refuses an ELF64 image whose header leaves flag 16 clear, so an
// image that QEMU boots through PVH must carry the Multiboot2 header only
// (Options.OmitMultiboot1); QEMU does not know Multiboot2.
//
// References: Multiboot Specification 0.6.96 (cited "MB1 §"), Multiboot2
// Specification 1.0 (cited "MB2 §"), and GRUB's loader
// (grub-core/loader/multiboot*.c), whose behaviour Scan mirrors.
package mbheader

import (
	"encoding/binary"
	"slices"
)

var le = binary.LittleEndian

// Multiboot (v1).
const (
	// MB1Magic is the header magic (MB1 §3.1.2).
	MB1Magic = 0x1BADB002
	// MB1BootMagic is the value a Multiboot loader leaves in EAX (MB1 §3.2).
	MB1BootMagic = 0x2BADB002

	// MB1FlagPageAlign asks for modules aligned on 4 KiB (MB1 §3.1.2, bit 0).
	MB1FlagPageAlign = 1 << 0
	// MB1FlagMemInfo asks for mem_* and mmap_* (MB1 §3.1.2, bit 1).
	MB1FlagMemInfo = 1 << 1
	// MB1FlagVideoMode asks for a video mode (MB1 §3.1.2, bit 2; §3.1.4).
	MB1FlagVideoMode = 1 << 2
	// MB1FlagAddress says the address fields are valid (MB1 §3.1.2 bit 16,
	// §3.1.3). The hypervisor never sets it: GRUB then loads by ELF.
	MB1FlagAddress = 1 << 16
	// MB1Flags are the flags of the hypervisor's header.
	MB1Flags = MB1FlagPageAlign | MB1FlagMemInfo
	// MB1Unsupported are the required-feature bits (0-15) GRUB does not
	// know; GRUB refuses a header that sets one.
	MB1Unsupported = 0x0000FFF8

	// MB1Search is how far into the file the header may reach (MB1 §3.1.1).
	MB1Search = 8192
	// MB1Align is the header's alignment in the file (MB1 §3.1.1).
	MB1Align = 4
	// MB1HeaderSize is the size of a header without address or video
	// fields (MB1 §3.1.1: magic, flags, checksum).
	MB1HeaderSize = 12
)

// Multiboot2.
const (
	// MB2Magic is the header magic (MB2 §3.1.2).
	MB2Magic = 0xE85250D6
	// MB2BootMagic is the value a Multiboot2 loader leaves in EAX (MB2 §3.3).
	MB2BootMagic = 0x36D76289
	// MB2ArchI386 is architecture 0: 32-bit protected mode i386 (MB2 §3.1.2).
	MB2ArchI386 = 0

	// MB2Search is how far into the file the header may reach (MB2 §3.1.1).
	MB2Search = 32768
	// MB2Align is the header's alignment in the file (MB2 §3.1.1).
	MB2Align = 8
	// MB2FixedSize is the size of the magic fields (MB2 §3.1.2).
	MB2FixedSize = 16
	// MB2TagAlign is every header tag's alignment (MB2 §3.1.3).
	MB2TagAlign = 8
	// MB2TagOptional is flags bit 0 of a header tag: a loader that does not
	// understand the tag may ignore it (MB2 §3.1.3).
	MB2TagOptional = 1
)

// Multiboot2 header tag types (MB2 §3.1.3-§3.1.13).
const (
	TagEnd                = 0  // §3.1.3
	TagInformationRequest = 1  // §3.1.4
	TagAddress            = 2  // §3.1.5
	TagEntryAddress       = 3  // §3.1.6
	TagConsoleFlags       = 4  // §3.1.9
	TagFramebuffer        = 5  // §3.1.10
	TagModuleAlign        = 6  // §3.1.11
	TagEFIBootServices    = 7  // §3.1.12
	TagEntryAddressEFI32  = 8  // §3.1.7
	TagEntryAddressEFI64  = 9  // §3.1.8
	TagRelocatable        = 10 // §3.1.13
)

// Multiboot2 boot information tag types (MB2 §3.6) that the header requests.
const (
	InfoCmdline        = 1  // boot command line
	InfoBootLoaderName = 2  // boot loader name
	InfoModules        = 3  // modules
	InfoMemoryMap      = 6  // memory map
	InfoACPIOld        = 14 // ACPI 1.0 RSDP copy
	InfoACPINew        = 15 // ACPI 2.0+ RSDP copy

	// infoMaxKnown is the highest information type GRUB accepts in a
	// required information request (LOAD_BASE_ADDR).
	infoMaxKnown = 21
)

// SlotLimit bounds where Patch puts the headers: the first SlotLimit bytes
// of the file satisfy both MB1Search and MB2Search.
const SlotLimit = MB1Search

var requests = [...]uint32{InfoCmdline, InfoBootLoaderName, InfoModules, InfoMemoryMap, InfoACPIOld, InfoACPINew}

// Requests returns the boot information types the Multiboot2 header's
// information request tag asks for, in order.
func Requests() []uint32 { return slices.Clone(requests[:]) }

// Multiboot1Header returns the hypervisor's Multiboot (v1) header: magic,
// flags MB1Flags and checksum with magic+flags+checksum == 0 mod 2^32
// (MB1 §3.1.2).
func Multiboot1Header() []byte {
	magic, flags := uint32(MB1Magic), uint32(MB1Flags)
	b := make([]byte, 0, MB1HeaderSize)
	b = le.AppendUint32(b, magic)
	b = le.AppendUint32(b, flags)
	return le.AppendUint32(b, -(magic + flags))
}

// Multiboot2Header returns the hypervisor's Multiboot2 header (MB2 §3.1):
//
//   - the magic fields for architecture MB2ArchI386 (§3.1.2);
//   - an optional information request tag for Requests() (§3.1.4), optional
//     so that a loader lacking one of them still boots the image;
//   - a module alignment tag (§3.1.11): modules page-aligned;
//   - the end tag (§3.1.3).
//
// There is no address or entry tag (the ELF program headers and e_entry
// define the load) and no framebuffer tag (the hypervisor keeps the text
// console and talks over serial).
func Multiboot2Header() []byte {
	b := make([]byte, 0, 64)
	b = le.AppendUint32(b, MB2Magic)
	b = le.AppendUint32(b, MB2ArchI386)
	b = le.AppendUint32(b, 0) // header_length, below
	b = le.AppendUint32(b, 0) // checksum, below

	b = appendTag(b, TagInformationRequest, MB2TagOptional, 8+4*len(requests))
	for _, r := range requests {
		b = le.AppendUint32(b, r)
	}
	b = padTag(b)
	b = appendTag(b, TagModuleAlign, 0, 8)
	b = appendTag(b, TagEnd, 0, 8)

	length := uint32(len(b))
	le.PutUint32(b[8:], length)
	le.PutUint32(b[12:], -(uint32(MB2Magic) + MB2ArchI386 + length))
	return b
}

func appendTag(b []byte, typ, flags uint16, size int) []byte {
	b = le.AppendUint16(b, typ)
	b = le.AppendUint16(b, flags)
	return le.AppendUint32(b, uint32(size))
}

// padTag pads b to the next tag boundary (MB2 §3.1.3).
func padTag(b []byte) []byte {
	for len(b)%MB2TagAlign != 0 {
		b = append(b, 0)
	}
	return b
}
