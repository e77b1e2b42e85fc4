package bootinfo

import (
	"errors"
	"reflect"
	"testing"
)

const pvhBase = 0x6000

func TestPVHHappyPath(t *testing.T) {
	b := &pvh{
		version: 1,
		cmdline: strp("console=com1 mem=2G"),
		rsdp:    0xf5a40,
		mods: []pvhMod{
			{0x1000000, 0x123456, "linux console=hvc0"},
			{0x2000000, 0x1000, ""},
		},
		memmap: qemuMap,
	}
	s := snap(t, b.records(pvhBase)...)
	// EAX is undefined for PVH; QEMU's microvm leaves the Multiboot magic
	// in it, so the start_info magic must win over EAX.
	for _, eax := range []uint32{0, 0xdeadbeef, PVHMagic, MultibootMagic, Multiboot2Magic} {
		info, err := Parse(eax, pvhBase, &strictReader{s: s})
		if err != nil {
			t.Fatal(err)
		}
		want := &Info{
			Protocol:     PVH,
			Cmdline:      "console=com1 mem=2G",
			MemoryMap:    qemuMap,
			MemorySource: "PVH memmap",
			RSDPAddr:     0xf5a40,
			Modules: []Module{
				{0x1000000, 0x123456, "linux console=hvc0"},
				{0x2000000, 0x1000, ""},
			},
		}
		if !reflect.DeepEqual(info, want) {
			t.Errorf("Parse(EAX=%#x) =\n%+v\nwant\n%+v", eax, info, want)
		}
	}
}

func TestPVHVariants(t *testing.T) {
	tests := []struct {
		name  string
		b     *pvh
		check func(t *testing.T, info *Info)
	}{
		{
			name: "minimal: no command line, modules or RSDP",
			b:    &pvh{version: 1, memmap: qemuMap[:1]},
			check: func(t *testing.T, info *Info) {
				if info.Cmdline != "" || info.Modules != nil || info.RSDPAddr != 0 || info.AvailableBytes() != 0x9fc00 {
					t.Errorf("got %+v", info)
				}
			},
		},
		{
			name: "newer version read as version 1",
			b:    &pvh{version: 7, memmap: qemuMap},
			check: func(t *testing.T, info *Info) {
				if !reflect.DeepEqual(info.MemoryMap, qemuMap) {
					t.Errorf("MemoryMap = %v", info.MemoryMap)
				}
			},
		},
		{
			name: "unnamed region types kept",
			b:    &pvh{version: 1, memmap: []Region{{0, 0x1000, 12}, {0x1000, 0x1000, RegionPersistentMemory}, {0x2000, 0x1000, RegionAvailable}}},
			check: func(t *testing.T, info *Info) {
				if info.MemoryMap[0].Type != 12 || info.MemoryMap[0].Type.String() != "type 12" || info.AvailableBytes() != 0x1000 {
					t.Errorf("got %+v", info)
				}
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			info, err := Parse(0, pvhBase, snap(t, tt.b.records(pvhBase)...))
			if err != nil {
				t.Fatal(err)
			}
			tt.check(t, info)
		})
	}
}

func TestPVHErrors(t *testing.T) {
	tests := []struct {
		name string
		b    *pvh
		want []string
		is   error
	}{
		{
			name: "version 0",
			b:    &pvh{version: 0, cmdline: strp("x")},
			want: []string{"pvh: no memory map: start_info at 0x6000 is version 0, which has no memmap fields (added in version 1)"},
			is:   ErrNoMemoryMap,
		},
		{
			name: "version 1 without a memory map",
			b:    &pvh{version: 1},
			want: []string{"pvh: no memory map: start_info version 1 at 0x6000 has memmap_paddr 0x0 and memmap_entries 0"},
			is:   ErrNoMemoryMap,
		},
		{
			name: "version 1 structure truncated",
			b:    &pvh{version: 1, memmap: qemuMap, structLen: 40},
			want: []string{"pvh: start_info version 1 at 0x6000: bootinfo: physical 0x6000-0x6038 was not captured at boot"},
			is:   ErrNotCaptured,
		},
		{
			name: "version 0 structure truncated",
			b:    &pvh{version: 0, structLen: 36},
			want: []string{"pvh: start_info at 0x6000: bootinfo: physical 0x6000-0x6028 was not captured"},
		},
		{
			name: "nr_modules huge",
			b:    &pvh{version: 1, memmap: qemuMap, nrModules: u32p(0xffffffff)},
			want: []string{"pvh: nr_modules 4294967295 exceeds the limit of 256"},
		},
		{
			name: "nr_modules larger than captured",
			b:    &pvh{version: 1, memmap: qemuMap, mods: []pvhMod{{0x100000, 1, ""}}, nrModules: u32p(2)},
			want: []string{"pvh: 2 module entries at 0x6100: bootinfo: physical 0x6100-0x6140 was not captured"},
		},
		{
			name: "modlist_paddr 0",
			b:    &pvh{version: 1, memmap: qemuMap, mods: []pvhMod{{0x100000, 1, ""}}, modlist0: true},
			want: []string{"pvh: nr_modules is 1 but modlist_paddr is 0"},
		},
		{
			name: "module at 0",
			b:    &pvh{version: 1, memmap: qemuMap, mods: []pvhMod{{0, 1, ""}}},
			want: []string{"pvh: module 0 at 0x6100: paddr is 0"},
		},
		{
			name: "module wraps",
			b:    &pvh{version: 1, memmap: qemuMap, mods: []pvhMod{{0x100000, 1 << 63, ""}, {^uint64(0), 2, ""}}},
			want: []string{"pvh: module 1 at 0x6120: paddr 0xffffffffffffffff + size 0x2 wraps"},
		},
		{
			name: "memmap_entries huge",
			b:    &pvh{version: 1, memmap: qemuMap, nrMemmap: u32p(0xffffffff)},
			want: []string{"pvh: memmap_entries 4294967295 exceeds the limit of 2048"},
		},
		{
			name: "memmap_entries larger than captured",
			b:    &pvh{version: 1, memmap: qemuMap, nrMemmap: u32p(7)},
			want: []string{"pvh: memory map (7 entries at 0x6100): bootinfo: physical 0x6100-0x61a8 was not captured"},
			is:   ErrNotCaptured,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			info, err := Parse(0, pvhBase, snap(t, tt.b.records(pvhBase)...))
			if info != nil {
				t.Errorf("got Info %+v along with the error", info)
			}
			wantErr(t, err, tt.want...)
			if tt.is != nil && !errors.Is(err, tt.is) {
				t.Errorf("errors.Is(%v, %v) = false", err, tt.is)
			}
		})
	}
}

func TestPVHUnterminatedCmdline(t *testing.T) {
	b := &pvh{version: 1, memmap: qemuMap}
	recs := b.records(pvhBase)
	put64(recs[0].Data, 24, 0x7000)
	recs = append(recs, Record{0x7000, make([]byte, MaxString)})
	for i := range recs[len(recs)-1].Data {
		recs[len(recs)-1].Data[i] = 'A'
	}
	_, err := Parse(0, pvhBase, snap(t, recs...))
	wantErr(t, err, "pvh: command line: string at 0x7000 is not NUL-terminated within 4096 bytes")
}
