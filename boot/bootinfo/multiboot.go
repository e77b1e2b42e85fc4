package bootinfo

import (
	"encoding/binary"
	"fmt"
)

// Multiboot information structure (Multiboot spec 0.6.96 §3.3 "Boot
// information format"): field offsets and the flags bit that makes each
// present. A loader may give a structure that ends after the last field its
// flags announce, so only announced fields are read.
const (
	mbFlagMem        = 1 << 0  // mem_lower @4, mem_upper @8
	mbFlagBootDevice = 1 << 1  // boot_device @12
	mbFlagCmdline    = 1 << 2  // cmdline @16
	mbFlagMods       = 1 << 3  // mods_count @20, mods_addr @24
	mbFlagAoutSyms   = 1 << 4  // syms @28..@40 (a.out)
	mbFlagELFSyms    = 1 << 5  // syms @28..@40 (ELF); excludes bit 4
	mbFlagMmap       = 1 << 6  // mmap_length @44, mmap_addr @48
	mbFlagDrives     = 1 << 7  // drives_length @52, drives_addr @56
	mbFlagConfig     = 1 << 8  // config_table @60
	mbFlagLoaderName = 1 << 9  // boot_loader_name @64
	mbFlagAPM        = 1 << 10 // apm_table @68
	mbFlagVBE        = 1 << 11 // vbe_* @72..@86
	mbFlagFramebuf   = 1 << 12 // framebuffer_* @88..@115
	mbKnownFlags     = 1<<13 - 1

	mbOffMemLower   = 4
	mbOffMemUpper   = 8
	mbOffCmdline    = 16
	mbOffModsCount  = 20
	mbOffModsAddr   = 24
	mbOffMmapLength = 44
	mbOffMmapAddr   = 48
	mbOffLoaderName = 64

	// §3.3 "Boot modules": mod_start, mod_end, string, reserved (u32 each).
	mbModSize = 16
	// §3.3 memory map entry: size u32 then base_addr u64, length u64,
	// type u32; "size" does not count itself and is at least 20.
	mbMmapEntryMin = 20
)

// parseMultiboot decodes the Multiboot information structure at physical
// address base (Multiboot spec §3.3).
func parseMultiboot(base uint64, m physMem) (*Info, error) {
	info := &Info{Protocol: Multiboot}
	flags, err := m.u32(base)
	if err != nil {
		return nil, fmt.Errorf("multiboot: boot information at %#x: flags: %w", base, err)
	}
	field := func(off uint64, name string) (uint32, error) {
		v, err := m.u32(base + off)
		if err != nil {
			return 0, fmt.Errorf("multiboot: boot information at %#x (flags %#x): field %s at offset %d: %w", base, flags, name, off, err)
		}
		return v, nil
	}
	if extra := flags &^ mbKnownFlags; extra != 0 {
		info.warnf("multiboot: unknown flags bits %#x ignored", extra)
	}
	// §3.3: "Bits 4 and 5 are mutually exclusive."
	if flags&(mbFlagAoutSyms|mbFlagELFSyms) == mbFlagAoutSyms|mbFlagELFSyms {
		info.warnf("multiboot: flags %#x set both bit 4 and bit 5, which are mutually exclusive", flags)
	}

	var memLower, memUpper uint32
	if flags&mbFlagMem != 0 {
		if memLower, err = field(mbOffMemLower, "mem_lower"); err != nil {
			return nil, err
		}
		if memUpper, err = field(mbOffMemUpper, "mem_upper"); err != nil {
			return nil, err
		}
	}

	if flags&mbFlagCmdline != 0 {
		p, err := field(mbOffCmdline, "cmdline")
		if err != nil {
			return nil, err
		}
		if info.Cmdline, err = mbString(info, m, p, "command line"); err != nil {
			return nil, err
		}
	}

	if flags&mbFlagLoaderName != 0 {
		p, err := field(mbOffLoaderName, "boot_loader_name")
		if err != nil {
			return nil, err
		}
		if info.Loader, err = mbString(info, m, p, "boot loader name"); err != nil {
			return nil, err
		}
	}

	if flags&mbFlagMods != 0 {
		count, err := field(mbOffModsCount, "mods_count")
		if err != nil {
			return nil, err
		}
		addr, err := field(mbOffModsAddr, "mods_addr")
		if err != nil {
			return nil, err
		}
		if info.Modules, err = mbModules(info, m, count, addr); err != nil {
			return nil, err
		}
	}

	haveMmap := false
	if flags&mbFlagMmap != 0 {
		length, err := field(mbOffMmapLength, "mmap_length")
		if err != nil {
			return nil, err
		}
		addr, err := field(mbOffMmapAddr, "mmap_addr")
		if err != nil {
			return nil, err
		}
		if info.MemoryMap, err = mbMemoryMap(m, uint64(addr), uint64(length)); err != nil {
			return nil, err
		}
		if len(info.MemoryMap) == 0 {
			info.warnf("multiboot: flags bit 6 set but the memory map at %#x is empty (mmap_length %d)", addr, length)
		}
		haveMmap = len(info.MemoryMap) > 0
	}

	switch {
	case haveMmap:
		info.MemorySource = "multiboot memory map"
		checkMemoryMap(info, "multiboot")
	case flags&mbFlagMem != 0 && len(basicMeminfo(memLower, memUpper)) > 0:
		info.MemoryMap = basicMeminfo(memLower, memUpper)
		info.MemorySource = "multiboot mem_lower/mem_upper (no memory map)"
		info.warnf("multiboot: no memory map; memory map built from mem_lower %d KiB and mem_upper %d KiB", memLower, memUpper)
	default:
		what := "flags bit 6 (memory map) is clear"
		if flags&mbFlagMmap != 0 {
			what = "the memory map is empty"
		}
		mem := "bit 0 (mem_lower/mem_upper) is clear"
		if flags&mbFlagMem != 0 {
			mem = "mem_lower and mem_upper are 0"
		}
		return nil, fmt.Errorf("multiboot: %w: flags %#x: %s and %s", ErrNoMemoryMap, flags, what, mem)
	}
	return info, nil
}

// mbString reads the string a Multiboot pointer field points at. The spec
// gives no meaning to a 0 pointer; it is read as "no string" with a warning.
func mbString(info *Info, m physMem, p uint32, what string) (string, error) {
	if p == 0 {
		info.warnf("multiboot: %s pointer is 0; treated as empty", what)
		return "", nil
	}
	s, err := m.cstring(uint64(p))
	if err != nil {
		return "", fmt.Errorf("multiboot: %s: %w", what, err)
	}
	return s, nil
}

// mbModules reads count module entries at physical address addr (Multiboot
// spec §3.3 "mods_count", "mods_addr").
func mbModules(info *Info, m physMem, count, addr uint32) ([]Module, error) {
	if count == 0 {
		return nil, nil
	}
	if count > MaxModules {
		return nil, fmt.Errorf("multiboot: mods_count %d exceeds the limit of %d", count, MaxModules)
	}
	raw, err := m.read(uint64(addr), uint64(count)*mbModSize)
	if err != nil {
		return nil, fmt.Errorf("multiboot: %d module entries at %#x: %w", count, addr, err)
	}
	mods := make([]Module, 0, count)
	for i := range int(count) {
		e := raw[i*mbModSize:]
		start := binary.LittleEndian.Uint32(e[0:])
		end := binary.LittleEndian.Uint32(e[4:])
		str := binary.LittleEndian.Uint32(e[8:])
		if end < start {
			return nil, fmt.Errorf("multiboot: module %d at %#x: mod_end %#x is below mod_start %#x", i, uint64(addr)+uint64(i)*mbModSize, end, start)
		}
		var s string
		if str != 0 {
			if s, err = m.cstring(uint64(str)); err != nil {
				return nil, fmt.Errorf("multiboot: module %d string: %w", i, err)
			}
		}
		mods = append(mods, Module{Start: uint64(start), Size: uint64(end - start), Cmdline: s})
	}
	return mods, nil
}

// mbMemoryMap walks the Multiboot memory map buffer (Multiboot spec §3.3
// "mmap_addr"): each entry is size u32 followed by size bytes, of which the
// first 20 are base_addr u64, length u64, type u32; the next entry starts at
// +size+4.
func mbMemoryMap(m physMem, addr, length uint64) ([]Region, error) {
	var regions []Region
	for off := uint64(0); off < length; {
		at := addr + off
		if length-off < 4 {
			return nil, fmt.Errorf("multiboot: memory map entry %d at %#x: %d bytes left before mmap_length %d, too few for its size field", len(regions), at, length-off, length)
		}
		size, err := m.u32(at)
		if err != nil {
			return nil, fmt.Errorf("multiboot: memory map entry %d at %#x: %w", len(regions), at, err)
		}
		if size < mbMmapEntryMin {
			return nil, fmt.Errorf("multiboot: memory map entry %d at %#x: size %d is smaller than %d", len(regions), at, size, mbMmapEntryMin)
		}
		if uint64(size)+4 > length-off {
			return nil, fmt.Errorf("multiboot: memory map entry %d at %#x: size %d runs past mmap_length %d", len(regions), at, size, length)
		}
		if len(regions) >= MaxRegions {
			return nil, fmt.Errorf("multiboot: memory map at %#x has more than %d entries", addr, MaxRegions)
		}
		e, err := m.read(at+4, mbMmapEntryMin)
		if err != nil {
			return nil, fmt.Errorf("multiboot: memory map entry %d at %#x: %w", len(regions), at, err)
		}
		regions = append(regions, Region{
			Start: binary.LittleEndian.Uint64(e[0:]),
			Size:  binary.LittleEndian.Uint64(e[8:]),
			Type:  RegionType(binary.LittleEndian.Uint32(e[16:])),
		})
		off += uint64(size) + 4
	}
	return regions, nil
}
