package bootinfo

import (
	"encoding/binary"
	"fmt"
)

// struct hvm_start_info and its tables (Xen public header
// arch-x86/hvm/start_info.h). All fields are little endian; a 0 address
// field means "not present" ("nothing will be loaded at physical address
// 0").
const (
	pvhV0Size        = 40 // magic, version, flags, nr_modules, modlist_paddr, cmdline_paddr, rsdp_paddr
	pvhV1Size        = 56 // + memmap_paddr, memmap_entries, reserved (version >= 1)
	pvhOffVersion    = 4
	pvhOffNrModules  = 12
	pvhOffModlist    = 16
	pvhOffCmdline    = 24
	pvhOffRSDP       = 32
	pvhOffMemmap     = 40
	pvhOffMemmapN    = 48
	pvhModEntrySize  = 32 // struct hvm_modlist_entry: paddr, size, cmdline_paddr, reserved
	pvhMemmapEntSize = 24 // struct hvm_memmap_table_entry: addr, size, type, reserved
)

// parsePVH decodes the hvm_start_info at physical address base, whose magic
// the caller has checked.
func parsePVH(base uint64, m physMem) (*Info, error) {
	info := &Info{Protocol: PVH}
	le := binary.LittleEndian
	raw, err := m.read(base, pvhV0Size)
	if err != nil {
		return nil, fmt.Errorf("pvh: start_info at %#x: %w", base, err)
	}
	// start_info.h: "New versions are guaranteed to be
	// backwards-compatible", so version >= 1 has the version 1 layout.
	version := le.Uint32(raw[pvhOffVersion:])
	if version >= 1 {
		if raw, err = m.read(base, pvhV1Size); err != nil {
			return nil, fmt.Errorf("pvh: start_info version %d at %#x: %w", version, base, err)
		}
	}
	nrModules := le.Uint32(raw[pvhOffNrModules:])
	modlist := le.Uint64(raw[pvhOffModlist:])
	cmdline := le.Uint64(raw[pvhOffCmdline:])
	info.RSDPAddr = le.Uint64(raw[pvhOffRSDP:])

	if cmdline != 0 {
		if info.Cmdline, err = m.cstring(cmdline); err != nil {
			return nil, fmt.Errorf("pvh: command line: %w", err)
		}
	}
	if info.Modules, err = pvhModules(m, nrModules, modlist); err != nil {
		return nil, err
	}

	// Version 0 has no memory map: the guest was meant to ask Xen for it
	// (XENMEM_memory_map), which this hypervisor cannot do.
	if version == 0 {
		return nil, fmt.Errorf("pvh: %w: start_info at %#x is version 0, which has no memmap fields (added in version 1)", ErrNoMemoryMap, base)
	}
	memmap := le.Uint64(raw[pvhOffMemmap:])
	entries := le.Uint32(raw[pvhOffMemmapN:])
	// start_info.h: "guests ... must check that memmap_entries is non-zero
	// before trying to read the memory map".
	if entries == 0 || memmap == 0 {
		return nil, fmt.Errorf("pvh: %w: start_info version %d at %#x has memmap_paddr %#x and memmap_entries %d", ErrNoMemoryMap, version, base, memmap, entries)
	}
	if entries > MaxRegions {
		return nil, fmt.Errorf("pvh: memmap_entries %d exceeds the limit of %d", entries, MaxRegions)
	}
	tab, err := m.read(memmap, uint64(entries)*pvhMemmapEntSize)
	if err != nil {
		return nil, fmt.Errorf("pvh: memory map (%d entries at %#x): %w", entries, memmap, err)
	}
	info.MemoryMap = make([]Region, 0, entries)
	for i := range int(entries) {
		e := tab[i*pvhMemmapEntSize:]
		info.MemoryMap = append(info.MemoryMap, Region{
			Start: le.Uint64(e[0:]),
			Size:  le.Uint64(e[8:]),
			Type:  RegionType(le.Uint32(e[16:])), // XEN_HVM_MEMMAP_TYPE_*
		})
	}
	info.MemorySource = "PVH memmap"
	checkMemoryMap(info, "pvh")
	return info, nil
}

// pvhModules reads the hvm_modlist_entry array (Xen start_info.h).
func pvhModules(m physMem, n uint32, list uint64) ([]Module, error) {
	if n == 0 {
		return nil, nil
	}
	if n > MaxModules {
		return nil, fmt.Errorf("pvh: nr_modules %d exceeds the limit of %d", n, MaxModules)
	}
	if list == 0 {
		return nil, fmt.Errorf("pvh: nr_modules is %d but modlist_paddr is 0", n)
	}
	raw, err := m.read(list, uint64(n)*pvhModEntrySize)
	if err != nil {
		return nil, fmt.Errorf("pvh: %d module entries at %#x: %w", n, list, err)
	}
	le := binary.LittleEndian
	mods := make([]Module, 0, n)
	for i := range int(n) {
		e := raw[i*pvhModEntrySize:]
		mod := Module{Start: le.Uint64(e[0:]), Size: le.Uint64(e[8:])}
		at := list + uint64(i)*pvhModEntrySize
		if mod.Start == 0 {
			return nil, fmt.Errorf("pvh: module %d at %#x: paddr is 0 (not present)", i, at)
		}
		if mod.Size > ^uint64(0)-mod.Start {
			return nil, fmt.Errorf("pvh: module %d at %#x: paddr %#x + size %#x wraps past the top of the address space", i, at, mod.Start, mod.Size)
		}
		if p := le.Uint64(e[16:]); p != 0 {
			if mod.Cmdline, err = m.cstring(p); err != nil {
				return nil, fmt.Errorf("pvh: module %d command line: %w", i, err)
			}
		}
		mods = append(mods, mod)
	}
	return mods, nil
}
