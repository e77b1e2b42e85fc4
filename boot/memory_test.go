package boot

import (
	"fmt"
	"os"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"tamavisor/boot/bootinfo"
	"tamavisor/mem"
)

func ram(regions ...bootinfo.Region) *bootinfo.Info {
	return &bootinfo.Info{MemoryMap: regions}
}

func avail(start, end uint64) bootinfo.Region {
	return bootinfo.Region{Start: start, Size: end - start, Type: bootinfo.RegionAvailable}
}

func TestCheckRegion(t *testing.T) {
	for _, tc := range []struct {
		name string
		info *bootinfo.Info
		want string // "" for no error
	}{
		{"512 MiB", ram(avail(0, 0x9f000), avail(1<<20, 512<<20)), ""},
		{"128 MiB", ram(avail(0, 0x9f000), avail(1<<20, 128<<20)),
			"too little memory: RAM ends at 0x8000000 (128 MiB), but the hypervisor's own region is 0x1000000-0x9000000 and at least 32 MiB must remain for domains: give the machine at least 192 MiB"},
		{"hole in the region", ram(avail(1<<20, 512<<20), bootinfo.Region{Start: 0x2000000, Size: 0x1000, Type: bootinfo.RegionReserved}),
			"the memory map does not mark all of the hypervisor's region 0x1000000-0x9000000 as available RAM (131068 of 131072 KiB are): the firmware reserves part of it"},
	} {
		err := CheckRegion(tc.info.AvailableRegions())
		if got := fmt.Sprint(err); (tc.want == "" && err != nil) || (tc.want != "" && got != tc.want) {
			t.Errorf("%s: CheckRegion = %v, want %q", tc.name, err, tc.want)
		}
	}
}

func TestFrameAllocator(t *testing.T) {
	info := ram(avail(0, 0x9f000), avail(1<<20, 512<<20), avail(4<<30, 5<<30))
	info.Modules = []bootinfo.Module{{Start: 0x10000000, Size: 0x5000}}
	a, err := NewFrameAllocator(info, 4<<30)
	if err != nil {
		t.Fatal(err)
	}
	want := []mem.Range{{Start: 1 << 20, End: RAMStart}, {Start: RAMEnd, End: 0x10000000}, {Start: 0x10005000, End: 512 << 20}}
	if got := a.Ranges(); fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("ranges %v, want %v (RAM above the identity map, the first MiB, the hypervisor and the module left out)", got, want)
	}

	// Just enough RAM for the hypervisor, not for domains.
	_, err = NewFrameAllocator(ram(avail(1<<20, RAMEnd+16<<20)), 4<<30)
	if err == nil || !strings.Contains(err.Error(), "too little memory: 31 MiB left for domains") {
		t.Errorf("NewFrameAllocator with %d MiB: %v", (RAMEnd+16<<20)>>20, err)
	}
	_, err = NewFrameAllocator(ram(avail(RAMStart, RAMEnd)), 4<<30)
	if err == nil || !strings.Contains(err.Error(), "too little memory: nothing is left for domains") {
		t.Errorf("NewFrameAllocator with only the hypervisor's region: %v", err)
	}
}

// The Makefile passes the link address to the linker; it must be the one
// layout.go decides.
func TestMakefileAgreesWithLayout(t *testing.T) {
	b, err := os.ReadFile("../Makefile")
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`(?m)^TEXT_ADDRESS := (0x[0-9a-fA-F]+)$`).FindSubmatch(b)
	if m == nil {
		t.Fatal("no TEXT_ADDRESS in the Makefile")
	}
	addr, err := strconv.ParseUint(string(m[1]), 0, 64)
	if err != nil || addr != LinkAddress {
		t.Errorf("Makefile TEXT_ADDRESS = %s, layout.go LinkAddress = %#x", m[1], LinkAddress)
	}
}

func TestCmdline(t *testing.T) {
	o := ParseCmdline("  tamavisor.dump=boot,acpi quiet x=1 x=2 ")
	if !o.Has("tamavisor.dump", "boot") || !o.Has("tamavisor.dump", "acpi") || o.Has("tamavisor.dump", "msr") {
		t.Errorf("dump option: %v", o)
	}
	if v, ok := o["quiet"]; !ok || v != "" || o["x"] != "2" {
		t.Errorf("options: %v", o)
	}
}

func TestCPUInfo(t *testing.T) {
	d := loadDump(t, "bochs-skylake-x-grub-multiboot2")
	c := IdentifyCPU(d.CPUIDFunc())
	want := `GenuineIntel "Intel(R) Core(TM) i7-7800X CPU @ 3.50GHz", family 6 model 85 stepping 4`
	if c.String() != want || !c.VMX || c.SVM || c.Hypervisor {
		t.Errorf("CPU %s (VMX %v SVM %v hypervisor %v), want %s", c, c.VMX, c.SVM, c.Hypervisor, want)
	}
	if _, ok := c.TSCFromCPUID(); ok {
		t.Errorf("Bochs enumerates a TSC crystal in CPUID 0x15: %+v", c)
	}
	c = CPUInfo{TSCDenominator: 2, TSCNumerator: 176, CrystalHz: 24_000_000}
	if hz, ok := c.TSCFromCPUID(); !ok || hz != 2_112_000_000 {
		t.Errorf("TSCFromCPUID = %d, %v", hz, ok)
	}
}
