package boot

import (
	"fmt"

	"tamavisor/boot/bootinfo"
	"tamavisor/mem"
)

// LowMemory is the first MiB: real-mode vectors, the BIOS data area, option
// ROMs and firmware tables. The frame allocator never hands it out (and a
// later SMP start-up trampoline needs a page there).
const LowMemory = 1 << 20

// MinDomainMemory is the least memory that must be left for domains after
// the hypervisor has taken its own region.
const MinDomainMemory = 32 << 20

// CheckRegion verifies that the hypervisor's own region, [RAMStart,
// RAMEnd), lies entirely in RAM that the boot loader reports as available.
// The entry code has already checked that RAM answers at its top; this
// catches firmware that reserves part of it.
func CheckRegion(avail []bootinfo.Region) error {
	need := mem.Range{Start: RAMStart, End: RAMEnd}
	var covered uint64
	for _, r := range avail {
		lo, hi := max(r.Start, need.Start), min(r.End(), need.End)
		if lo < hi {
			covered += hi - lo
		}
	}
	if covered == need.Size() {
		return nil
	}
	var top uint64
	for _, r := range avail {
		top = max(top, r.End())
	}
	if top < need.End {
		return fmt.Errorf("too little memory: RAM ends at 0x%x (%d MiB), but the hypervisor's own region is %s and at least %d MiB must remain for domains: give the machine at least %d MiB",
			top, top>>20, need, MinDomainMemory>>20, MinRAM>>20)
	}
	return fmt.Errorf("the memory map does not mark all of the hypervisor's region %s as available RAM (%d of %d KiB are): the firmware reserves part of it",
		need, covered>>10, need.Size()>>10)
}

// FrameRanges returns what the frame allocator manages: the RAM the boot
// loader reports as available below limit (the end of the hypervisor's
// identity map), and what must be kept out of it: the first MiB, the
// hypervisor's own region and the boot modules.
func FrameRanges(info *bootinfo.Info, limit uint64) (available, reserved []mem.Range) {
	for _, r := range info.AvailableRegions() {
		start, end := r.Start, min(r.End(), limit)
		if start < end {
			available = append(available, mem.Range{Start: start, End: end})
		}
	}
	reserved = []mem.Range{{Start: 0, End: LowMemory}, {Start: RAMStart, End: RAMEnd}}
	for _, m := range info.Modules {
		reserved = append(reserved, mem.Range{Start: m.Start, End: m.Start + m.Size})
	}
	return available, reserved
}

// NewFrameAllocator builds the frame allocator for a machine, or says why
// there is not enough memory for domains.
func NewFrameAllocator(info *bootinfo.Info, limit uint64) (*mem.Allocator, error) {
	avail, reserved := FrameRanges(info, limit)
	a, err := mem.New(avail, reserved)
	if err != nil {
		return nil, fmt.Errorf("too little memory: nothing is left for domains outside the hypervisor's region 0x%x-0x%x: %w", RAMStart, RAMEnd, err)
	}
	if free := uint64(a.FreeFrames()) * mem.PageSize; free < MinDomainMemory {
		return nil, fmt.Errorf("too little memory: %d MiB left for domains outside the hypervisor's region 0x%x-0x%x; tamavisor needs at least %d MiB for them (%d MiB of RAM in all)",
			free>>20, RAMStart, RAMEnd, MinDomainMemory>>20, MinRAM>>20)
	}
	return a, nil
}
