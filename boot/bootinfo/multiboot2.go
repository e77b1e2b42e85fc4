package bootinfo

import (
	"encoding/binary"
	"fmt"
	"strings"
)

// Multiboot2 tag types (Multiboot2 spec §3.6.3-§3.6.23 and the multiboot2.h
// example header in the spec).
const (
	mb2TagEnd           = 0  // §3.6.2
	mb2TagCmdline       = 1  // §3.6.5
	mb2TagLoaderName    = 2  // §3.6.9
	mb2TagModule        = 3  // §3.6.6
	mb2TagBasicMeminfo  = 4  // §3.6.3
	mb2TagBootDev       = 5  // §3.6.4
	mb2TagMmap          = 6  // §3.6.8
	mb2TagVBE           = 7  // §3.6.11
	mb2TagFramebuffer   = 8  // §3.6.12
	mb2TagELFSections   = 9  // §3.6.7
	mb2TagAPM           = 10 // §3.6.10
	mb2TagEFI32         = 11 // §3.6.13
	mb2TagEFI64         = 12 // §3.6.14
	mb2TagSMBIOS        = 13 // §3.6.15
	mb2TagACPIOld       = 14 // §3.6.16
	mb2TagACPINew       = 15 // §3.6.17
	mb2TagNetwork       = 16 // §3.6.18
	mb2TagEFIMmap       = 17 // §3.6.19
	mb2TagEFIBS         = 18 // §3.6.20
	mb2TagEFI32IH       = 19 // §3.6.21
	mb2TagEFI64IH       = 20 // §3.6.22
	mb2TagLoadBaseAddr  = 21 // §3.6.23
	mb2HeaderSize       = 8  // §3.6.2: total_size u32, reserved u32
	mb2TagHeaderSize    = 8  // §3.6.2: type u32, size u32
	mb2MmapEntryMinSize = 24 // §3.6.8: base_addr u64, length u64, type u32, reserved u32
	rsdpV1Size          = 20 // ACPI 1.0 RSDP, copied whole into tag 14 (§3.6.16)
	rsdpV2Size          = 36 // ACPI 2.0+ XSDP, copied into tag 15 (§3.6.17)
)

var mb2TagNames = map[uint32]string{
	mb2TagEnd:          "end",
	mb2TagCmdline:      "command line",
	mb2TagLoaderName:   "boot loader name",
	mb2TagModule:       "module",
	mb2TagBasicMeminfo: "basic meminfo",
	mb2TagBootDev:      "BIOS boot device",
	mb2TagMmap:         "memory map",
	mb2TagVBE:          "VBE info",
	mb2TagFramebuffer:  "framebuffer info",
	mb2TagELFSections:  "ELF symbols",
	mb2TagAPM:          "APM table",
	mb2TagEFI32:        "EFI 32-bit system table",
	mb2TagEFI64:        "EFI 64-bit system table",
	mb2TagSMBIOS:       "SMBIOS tables",
	mb2TagACPIOld:      "ACPI old RSDP",
	mb2TagACPINew:      "ACPI new RSDP",
	mb2TagNetwork:      "networking information",
	mb2TagEFIMmap:      "EFI memory map",
	mb2TagEFIBS:        "EFI boot services not terminated",
	mb2TagEFI32IH:      "EFI 32-bit image handle",
	mb2TagEFI64IH:      "EFI 64-bit image handle",
	mb2TagLoadBaseAddr: "image load base address",
}

func mb2TagName(t uint32) string {
	if n, ok := mb2TagNames[t]; ok {
		return n
	}
	return "unknown"
}

// parseMultiboot2 decodes the Multiboot2 information structure at physical
// address base (Multiboot2 spec §3.6 "Boot information").
func parseMultiboot2(base uint64, m physMem) (*Info, error) {
	info := &Info{Protocol: Multiboot2}
	// §3.6.2: "Its start is 8-bytes aligned."
	if base%8 != 0 {
		info.warnf("multiboot2: boot information at %#x is not 8-byte aligned", base)
	}
	hdr, err := m.read(base, mb2HeaderSize)
	if err != nil {
		return nil, fmt.Errorf("multiboot2: boot information header at %#x: %w", base, err)
	}
	// §3.6.2: total_size includes the fixed part and the end tag.
	total := uint64(binary.LittleEndian.Uint32(hdr[0:]))
	if total < mb2HeaderSize+mb2TagHeaderSize {
		return nil, fmt.Errorf("multiboot2: boot information at %#x: total_size %d is smaller than %d (the fixed part and an end tag)", base, total, mb2HeaderSize+mb2TagHeaderSize)
	}
	if total > MaxMultiboot2Size {
		return nil, fmt.Errorf("multiboot2: boot information at %#x: total_size %#x is larger than the %#x limit", base, total, MaxMultiboot2Size)
	}
	buf, err := m.read(base, total)
	if err != nil {
		return nil, fmt.Errorf("multiboot2: boot information at %#x (total_size %#x): %w", base, total, err)
	}

	var (
		seen            = map[uint32]bool{}
		seenOrder       []uint32
		haveMmap        bool
		haveMeminfo     bool
		memLower, memUp uint32
		rsdpTag         uint32
		endSeen         bool
	)
	off := uint64(mb2HeaderSize)
	for off < total {
		if total-off < mb2TagHeaderSize {
			return nil, fmt.Errorf("multiboot2: tag header at offset %#x runs past total_size %#x", off, total)
		}
		typ := binary.LittleEndian.Uint32(buf[off:])
		size := uint64(binary.LittleEndian.Uint32(buf[off+4:]))
		tagErr := func(format string, args ...any) error {
			return fmt.Errorf("multiboot2: tag %d (%s) at offset %#x: %s", typ, mb2TagName(typ), off, fmt.Sprintf(format, args...))
		}
		// §3.6.2: size counts the tag header but not the padding.
		if size < mb2TagHeaderSize {
			return nil, tagErr("size %d is smaller than the %d-byte tag header", size, mb2TagHeaderSize)
		}
		if size > total-off {
			return nil, tagErr("size %#x runs past total_size %#x", size, total)
		}
		body := buf[off+mb2TagHeaderSize : off+size]
		if !seen[typ] && len(seenOrder) < 64 {
			seenOrder = append(seenOrder, typ)
		}
		dup := seen[typ]
		seen[typ] = true
		dupWarn := func() {
			info.warnf("multiboot2: duplicate tag %d (%s) at offset %#x ignored", typ, mb2TagName(typ), off)
		}

		switch typ {
		case mb2TagEnd:
			// §3.6.2: "Tags are terminated by a tag of type '0' and size '8'."
			if size != mb2TagHeaderSize {
				info.warnf("multiboot2: end tag at offset %#x has size %d, not 8", off, size)
			}
			endSeen = true

		case mb2TagCmdline, mb2TagLoaderName: // §3.6.5, §3.6.9: NUL-terminated UTF-8
			s, err := cstringIn(body)
			if err != nil {
				return nil, tagErr("%v", err)
			}
			switch {
			case dup:
				dupWarn()
			case typ == mb2TagCmdline:
				info.Cmdline = s
			default:
				info.Loader = s
			}

		case mb2TagModule: // §3.6.6: mod_start u32, mod_end u32, string
			if len(body) < 8 {
				return nil, tagErr("size %d is smaller than %d", size, mb2TagHeaderSize+8)
			}
			start := uint64(binary.LittleEndian.Uint32(body[0:]))
			end := uint64(binary.LittleEndian.Uint32(body[4:]))
			if end < start {
				return nil, tagErr("mod_end %#x is below mod_start %#x", end, start)
			}
			s, err := cstringIn(body[8:])
			if err != nil {
				return nil, tagErr("module string: %v", err)
			}
			if len(info.Modules) >= MaxModules {
				return nil, tagErr("more than %d modules", MaxModules)
			}
			info.Modules = append(info.Modules, Module{Start: start, Size: end - start, Cmdline: s})

		case mb2TagBasicMeminfo: // §3.6.3: mem_lower u32, mem_upper u32 (KiB)
			if len(body) < 8 {
				return nil, tagErr("size %d is smaller than %d", size, mb2TagHeaderSize+8)
			}
			if dup {
				dupWarn()
				break
			}
			haveMeminfo = true
			memLower = binary.LittleEndian.Uint32(body[0:])
			memUp = binary.LittleEndian.Uint32(body[4:])

		case mb2TagMmap: // §3.6.8
			if dup {
				dupWarn()
				break
			}
			regions, err := mb2MemoryMap(info, body, off)
			if err != nil {
				return nil, tagErr("%v", err)
			}
			if len(regions) == 0 {
				info.warnf("multiboot2: memory map tag at offset %#x has no entries", off)
				break
			}
			haveMmap = true
			info.MemoryMap = regions

		case mb2TagACPIOld, mb2TagACPINew:
			// §3.6.16: a copy of the RSDPv1; §3.6.17: a copy of the
			// RSDPv2 (XSDP). The new one wins over the old one.
			need := rsdpV1Size
			if typ == mb2TagACPINew {
				need = rsdpV2Size
			}
			if len(body) < need {
				return nil, tagErr("size %d is smaller than %d (an RSDP of %d bytes)", size, mb2TagHeaderSize+need, need)
			}
			switch {
			case dup:
				dupWarn()
			case rsdpTag == mb2TagACPINew:
				// keep the new RSDP
			default:
				n := len(body)
				if typ == mb2TagACPIOld {
					n = rsdpV1Size
				}
				info.RSDP = append([]byte(nil), body[:n]...)
				rsdpTag = typ
			}

		case mb2TagEFIMmap: // §3.6.19: noted, not decoded
			info.EFIMemoryMap = true

		case mb2TagEFIBS: // §3.6.20
			info.warnf("multiboot2: EFI boot services were not terminated (tag 18)")

		case mb2TagBootDev, mb2TagVBE, mb2TagFramebuffer, mb2TagELFSections,
			mb2TagAPM, mb2TagEFI32, mb2TagEFI64, mb2TagSMBIOS, mb2TagNetwork,
			mb2TagEFI32IH, mb2TagEFI64IH, mb2TagLoadBaseAddr:
			// Known, not used by the hypervisor.

		default:
			// §3.6.2: the OS image skips tags it does not know.
			info.warnf("multiboot2: unknown tag %d at offset %#x skipped", typ, off)
		}
		if endSeen {
			break
		}
		off = (off + size + 7) &^ 7 // §3.6.2: tags are 8-byte aligned
	}
	if !endSeen {
		info.warnf("multiboot2: no end tag (type 0) within total_size %#x", total)
	}

	switch {
	case haveMmap:
		info.MemorySource = "multiboot2 memory map tag"
		checkMemoryMap(info, "multiboot2")
	case haveMeminfo && len(basicMeminfo(memLower, memUp)) > 0:
		info.MemoryMap = basicMeminfo(memLower, memUp)
		info.MemorySource = "multiboot2 basic meminfo tag (no memory map)"
		info.warnf("multiboot2: no memory map tag; memory map built from basic meminfo (mem_lower %d KiB, mem_upper %d KiB)", memLower, memUp)
	default:
		return nil, fmt.Errorf("multiboot2: %w: no usable memory map tag (6) or basic meminfo tag (4)%s; tags present: %s",
			ErrNoMemoryMap, efiNote(info.EFIMemoryMap), mb2TagList(seenOrder))
	}
	return info, nil
}

// mb2MemoryMap decodes the body of a memory map tag (Multiboot2 spec §3.6.8):
// entry_size u32, entry_version u32, then entries of entry_size bytes.
func mb2MemoryMap(info *Info, body []byte, off uint64) ([]Region, error) {
	if len(body) < 8 {
		return nil, fmt.Errorf("size %d is smaller than %d", len(body)+mb2TagHeaderSize, mb2TagHeaderSize+8)
	}
	entrySize := uint64(binary.LittleEndian.Uint32(body[0:]))
	version := binary.LittleEndian.Uint32(body[4:])
	if entrySize < mb2MmapEntryMinSize {
		return nil, fmt.Errorf("entry_size %d is smaller than %d", entrySize, mb2MmapEntryMinSize)
	}
	// §3.6.8: "entry_version is set to '0' ... future versions increment
	// this field" and stay compatible; entry_size is a multiple of 8.
	if version != 0 {
		info.warnf("multiboot2: memory map tag at offset %#x has entry_version %d (expected 0)", off, version)
	}
	entries := body[8:]
	n := uint64(len(entries)) / entrySize
	if rem := uint64(len(entries)) % entrySize; rem != 0 {
		info.warnf("multiboot2: memory map tag at offset %#x has %d trailing bytes after %d entries of %d bytes", off, rem, n, entrySize)
	}
	if n > MaxRegions {
		return nil, fmt.Errorf("%d entries exceed the limit of %d", n, MaxRegions)
	}
	regions := make([]Region, 0, n)
	for i := uint64(0); i < n; i++ {
		e := entries[i*entrySize:]
		regions = append(regions, Region{
			Start: binary.LittleEndian.Uint64(e[0:]),
			Size:  binary.LittleEndian.Uint64(e[8:]),
			Type:  RegionType(binary.LittleEndian.Uint32(e[16:])),
		})
	}
	return regions, nil
}

func efiNote(efi bool) string {
	if efi {
		return " (an EFI memory map tag (17) is present but not decoded)"
	}
	return ""
}

func mb2TagList(types []uint32) string {
	if len(types) == 0 {
		return "none"
	}
	var b strings.Builder
	for i, t := range types {
		if i > 0 {
			b.WriteString(", ")
		}
		fmt.Fprintf(&b, "%d (%s)", t, mb2TagName(t))
	}
	return b.String()
}
