package loader

import (
	"bytes"
	"testing"

	"tamavisor/boot/bootinfo"
)

// The start_info BuildStartInfo writes is what a PVH guest reads: here the
// hypervisor's own PVH reader (boot/bootinfo, which Go domains use too), so
// that the two restatements of start_info.h cannot drift apart.
func TestStartInfoRoundTrip(t *testing.T) {
	si := StartInfo{
		Cmdline:   "console=hvc0 quiet",
		MemoryMap: DefaultMemoryMap(64 << 20),
		Modules:   []Module{{Addr: 0x200_0000, Size: 0x1234, Cmdline: "initrd"}},
		RSDP:      0xe0000,
	}
	page, err := BuildStartInfo(StartInfoGPA, si)
	if err != nil {
		t.Fatal(err)
	}
	mem := make([]byte, StartInfoGPA+StartInfoSize)
	copy(mem[StartInfoGPA:], page)
	info, err := bootinfo.Parse(0, StartInfoGPA, bytes.NewReader(mem))
	if err != nil {
		t.Fatalf("bootinfo.Parse: %v", err)
	}
	if info.Protocol != bootinfo.PVH || info.Cmdline != si.Cmdline || info.RSDPAddr != si.RSDP {
		t.Errorf("parsed %v, cmdline %q, RSDP %#x", info.Protocol, info.Cmdline, info.RSDPAddr)
	}
	if len(info.MemoryMap) != len(si.MemoryMap) {
		t.Fatalf("%d memory regions, want %d", len(info.MemoryMap), len(si.MemoryMap))
	}
	for i, r := range si.MemoryMap {
		g := info.MemoryMap[i]
		if g.Start != r.Addr || g.Size != r.Size || uint32(g.Type) != r.Type {
			t.Errorf("region %d: %+v, want %+v", i, g, r)
		}
	}
	if len(info.Modules) != 1 || info.Modules[0].Start != 0x200_0000 || info.Modules[0].Size != 0x1234 || info.Modules[0].Cmdline != "initrd" {
		t.Errorf("modules %+v", info.Modules)
	}
}
