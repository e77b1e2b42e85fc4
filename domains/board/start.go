//go:build tamago

package board

import (
	"fmt"
	"os"
	"runtime"
	"runtime/debug"

	"tamavisor/boot/bootinfo"
	"tamavisor/boot/entry"
)

// info is the PVH start_info the hypervisor handed over, as the entry code
// captured it.
var info *bootinfo.Info

func init() {
	snap, err := bootinfo.ParseSnapshot(entry.Snapshot())
	if err == nil {
		info, err = bootinfo.Parse(entry.Magic(), entry.Info(), snap)
	}
	if err != nil {
		fmt.Printf("board: no usable start_info: %v\n", err)
		os.Exit(3)
	}
	// The Go runtime's region must be RAM the start_info memory map gives,
	// and no module may lie in it (the runtime would overwrite it).
	need, end := runtime.MemRegion()
	for i, m := range info.Modules {
		if m.Start < end && m.Start+m.Size > need {
			fmt.Printf("board: module %d (%q) at 0x%x-0x%x lies in the Go runtime's region 0x%x-0x%x: give the domain more memory\n",
				i, m.Cmdline, m.Start, m.Start+m.Size, need, end)
			os.Exit(3)
		}
	}
	for _, r := range info.AvailableRegions() {
		if r.Start <= need && r.End() >= end {
			setMemoryLimit(end)
			return
		}
	}
	fmt.Printf("board: the domain's memory map does not cover the Go runtime's region 0x%x-0x%x: give the domain more memory\n", need, end)
	os.Exit(3)
}

// setMemoryLimit tells the garbage collector how much memory the runtime
// can really have, so that it collects harder as the heap nears it rather
// than failing to grow. TamaGo's heap takes 4 MiB arenas, 4 MiB aligned,
// from the room between the image's data and the g0 stack below the
// region's end (runtime/mem_tamago.go sbrk, runtime/malloc.go
// heapArenaBytes); the runtime's own metadata comes from the same room. So
// the limit is the whole arenas that fit, less one arena for that metadata
// and alignment, and 3 MiB so that the collector, whose limit is soft,
// finishes its cycle before the heap needs another arena (9 MiB of a 24
// MiB region, the region of a 26 MiB domain).
func setMemoryLimit(end uint64) {
	const arena = 4 << 20
	_, dataEnd := runtime.DataRegion()
	top := end - ramStackOffset - 64<<10 // the g0 stack (runtime/sys_tamago_amd64.s)
	first := (dataEnd + arena - 1) &^ (arena - 1)
	if top < first+3*arena {
		return // too small a region for a limit to leave the runtime room
	}
	arenas := (top - first) / arena
	debug.SetMemoryLimit(int64((arenas-1)*arena - 3<<20))
}

// RuntimeRegion returns the Go runtime's region: from RAMStart to the end
// of the domain's RAM, as the start_info memory map gave it.
func RuntimeRegion() (start, end uint64) { return runtime.MemRegion() }

// Cmdline returns the domain's command line (PVH start_info cmdline).
func Cmdline() string { return info.Cmdline }

// Modules returns the modules start_info lists (hvm_modlist_entry): where
// each lies in the domain's memory, its size and its command line.
func Modules() []bootinfo.Module { return info.Modules }

// ModuleBytes returns a module's bytes, in place: the domain identity-maps
// its memory.
func ModuleBytes(m bootinfo.Module) []byte {
	off := m.Start & 0xfff
	return PagesAt(uintptr(m.Start-off), int((off+m.Size+0xfff)>>12))[off : off+m.Size]
}

// MemoryMap returns the domain's memory map (PVH start_info memmap).
func MemoryMap() []bootinfo.Region { return info.MemoryMap }
