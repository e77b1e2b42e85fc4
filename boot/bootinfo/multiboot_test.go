package bootinfo

import (
	"errors"
	"reflect"
	"strings"
	"testing"
)

const mb1Base = 0x9000

func mb1Map(size uint32, regions ...Region) []byte {
	var b []byte
	for _, r := range regions {
		b = append(b, mb1Entry(size, r)...)
	}
	return b
}

func TestMultibootHappyPath(t *testing.T) {
	// Mixed entry sizes: the size field decides where the next entry is.
	mmap := cat(
		mb1Entry(20, qemuMap[0]),
		mb1Entry(24, qemuMap[1]), // extended entry with 4 extra bytes
		mb1Map(20, qemuMap[2:]...),
	)
	b := &mb1{
		flags:    mbFlagMem | mbFlagBootDevice | mbFlagCmdline | mbFlagMods | mbFlagMmap | mbFlagLoaderName,
		memLower: 639,
		memUpper: 523136,
		cmdline:  strp("console=com1"),
		loader:   strp("GRUB 0.97"),
		mods: []mbModSpec{
			{0x200000, 0x280000, "linux root=/dev/vda"},
			{0x280000, 0x280800, ""},
		},
		mmap: mmap,
	}
	s := snap(t, b.records(mb1Base)...)
	for _, mem := range []struct {
		name string
		r    interface {
			ReadAt([]byte, int64) (int, error)
		}
	}{{"snapshot", s}, {"strict reader", &strictReader{s: s}}} {
		t.Run(mem.name, func(t *testing.T) {
			info, err := Parse(MultibootMagic, mb1Base, mem.r)
			if err != nil {
				t.Fatal(err)
			}
			want := &Info{
				Protocol:     Multiboot,
				Loader:       "GRUB 0.97",
				Cmdline:      "console=com1",
				MemoryMap:    qemuMap,
				MemorySource: "multiboot memory map",
				Modules: []Module{
					{0x200000, 0x80000, "linux root=/dev/vda"},
					{0x280000, 0x800, ""},
				},
			}
			if !reflect.DeepEqual(info, want) {
				t.Errorf("Parse =\n%+v\nwant\n%+v", info, want)
			}
		})
	}
}

func TestMultibootVariants(t *testing.T) {
	tests := []struct {
		name  string
		b     *mb1
		check func(t *testing.T, info *Info)
	}{
		{
			name: "short structure: only mem fields",
			b:    &mb1{flags: mbFlagMem, memLower: 640, memUpper: 64 << 10, structLen: 12},
			check: func(t *testing.T, info *Info) {
				want := []Region{{0, 640 << 10, RegionAvailable}, {1 << 20, 64 << 20, RegionAvailable}}
				if !reflect.DeepEqual(info.MemoryMap, want) {
					t.Errorf("MemoryMap = %v", info.MemoryMap)
				}
				if info.MemorySource != "multiboot mem_lower/mem_upper (no memory map)" || !hasWarning(info, "multiboot: no memory map") {
					t.Errorf("MemorySource %q, Warnings %q", info.MemorySource, info.Warnings)
				}
			},
		},
		{
			name: "short structure: up to mmap_addr",
			b:    &mb1{flags: mbFlagMmap, mmap: mb1Map(20, qemuMap...), structLen: 52},
			check: func(t *testing.T, info *Info) {
				if !reflect.DeepEqual(info.MemoryMap, qemuMap) || len(info.Warnings) != 0 {
					t.Errorf("got %+v", info)
				}
			},
		},
		{
			name: "empty memory map falls back to mem fields",
			b:    &mb1{flags: mbFlagMem | mbFlagMmap, memUpper: 1024, mmap: []byte{}},
			check: func(t *testing.T, info *Info) {
				if !hasWarning(info, "memory map at") || info.AvailableBytes() != 1<<20 {
					t.Errorf("got %+v", info)
				}
			},
		},
		{
			name: "zero string pointers",
			b:    &mb1{flags: mbFlagCmdline | mbFlagLoaderName | mbFlagMmap, mmap: mb1Map(20, qemuMap...)},
			check: func(t *testing.T, info *Info) {
				if info.Cmdline != "" || info.Loader != "" || !hasWarning(info, "command line pointer is 0") {
					t.Errorf("got %+v", info)
				}
			},
		},
		{
			name: "unknown and exclusive flags",
			b:    &mb1{flags: mbFlagMmap | mbFlagAoutSyms | mbFlagELFSyms | 1<<20, mmap: mb1Map(20, qemuMap...), structLen: 52},
			check: func(t *testing.T, info *Info) {
				if !hasWarning(info, "unknown flags bits 0x100000") || !hasWarning(info, "mutually exclusive") {
					t.Errorf("Warnings = %q", info.Warnings)
				}
			},
		},
		{
			name: "mods flag with zero modules",
			b:    &mb1{flags: mbFlagMods | mbFlagMmap, mods: []mbModSpec{}, mmap: mb1Map(20, qemuMap...)},
			check: func(t *testing.T, info *Info) {
				if info.Modules != nil {
					t.Errorf("Modules = %v", info.Modules)
				}
			},
		},
		{
			name: "long string read in chunks",
			b:    &mb1{flags: mbFlagCmdline | mbFlagMmap, cmdline: strp(strings.Repeat("0123456789", 409)), mmap: mb1Map(20, qemuMap...)},
			check: func(t *testing.T, info *Info) {
				if len(info.Cmdline) != 4090 {
					t.Errorf("len(Cmdline) = %d", len(info.Cmdline))
				}
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := snap(t, tt.b.records(mb1Base)...)
			info, err := Parse(MultibootMagic, mb1Base, &strictReader{s: s})
			if err != nil {
				t.Fatal(err)
			}
			tt.check(t, info)
		})
	}
}

func TestMultibootErrors(t *testing.T) {
	good := mb1Map(20, qemuMap...)
	tests := []struct {
		name string
		b    *mb1
		recs []Record
		want []string
		is   error
	}{
		{
			name: "flags not captured",
			recs: []Record{{0x8000, make([]byte, 8)}},
			want: []string{"multiboot: boot information at 0x9000: flags: bootinfo: physical 0x9000-0x9004 was not captured at boot"},
			is:   ErrNotCaptured,
		},
		{
			name: "structure shorter than its flags say",
			b:    &mb1{flags: mbFlagMmap, mmap: good, structLen: 48},
			want: []string{"field mmap_addr at offset 48: bootinfo: physical 0x9030-0x9034 was not captured"},
			is:   ErrNotCaptured,
		},
		{
			name: "memory map entry size too small",
			b:    &mb1{flags: mbFlagMmap, mmap: cat(mb1Entry(20, qemuMap[0]), mb1Entry(12, qemuMap[1]))},
			want: []string{"multiboot: memory map entry 1 at 0x9118: size 12 is smaller than 20"},
		},
		{
			name: "memory map entry past mmap_length",
			b:    &mb1{flags: mbFlagMmap, mmap: good, mmapLength: u32p(uint32(len(good)) - 4)},
			want: []string{"multiboot: memory map entry 5 at 0x9178: size 20 runs past mmap_length 140"},
		},
		{
			name: "memory map trailing bytes",
			b:    &mb1{flags: mbFlagMmap, mmap: cat(good, []byte{1, 2}), mmapLength: u32p(uint32(len(good)) + 2)},
			want: []string{"memory map entry 6 at 0x9190: 2 bytes left before mmap_length 146, too few for its size field"},
		},
		{
			name: "mmap_length beyond what was captured",
			b:    &mb1{flags: mbFlagMmap, mmap: good, mmapLength: u32p(uint32(len(good)) + 24)},
			want: []string{"multiboot: memory map entry 6 at 0x9190: bootinfo: physical 0x9190-0x9194 was not captured at boot"},
			is:   ErrNotCaptured,
		},
		{
			name: "memory map with too many entries",
			b:    &mb1{flags: mbFlagMmap, mmap: mb1Map(20, make([]Region, MaxRegions+1)...)},
			want: []string{"has more than 2048 entries"},
		},
		{
			name: "mods_count huge",
			b:    &mb1{flags: mbFlagMods | mbFlagMmap, mods: []mbModSpec{{1, 2, ""}}, modsCount: u32p(0xffffffff), mmap: good},
			want: []string{"multiboot: mods_count 4294967295 exceeds the limit of 256"},
		},
		{
			name: "mods_count larger than captured",
			b:    &mb1{flags: mbFlagMods | mbFlagMmap, mods: []mbModSpec{{1, 2, ""}}, modsCount: u32p(3), mmap: good},
			want: []string{"multiboot: 3 module entries at 0x9100: bootinfo: physical 0x9100-0x9130 was not captured"},
		},
		{
			name: "module end below start",
			b:    &mb1{flags: mbFlagMods | mbFlagMmap, mods: []mbModSpec{{0x2000, 0x1000, ""}}, mmap: good},
			want: []string{"multiboot: module 0 at 0x9100: mod_end 0x1000 is below mod_start 0x2000"},
		},
		{
			name: "command line unterminated at the limit",
			b: &mb1{flags: mbFlagCmdline | mbFlagMmap, mmap: good,
				cmdline: strp(strings.Repeat("x", MaxString))}, // NUL at byte 4097
			want: []string{"multiboot: command line: string at 0x9100 is not NUL-terminated within 4096 bytes"},
		},
		{
			name: "command line unterminated in capture",
			recs: []Record{
				{mb1Base, cat(le32(mbFlagCmdline|mbFlagMem), le32(0), le32(1024), le32(0), le32(0x9100))},
				{0x9100, []byte("console=com1")},
			},
			want: []string{"multiboot: command line: string at 0x9100 is not terminated within the captured bytes: bootinfo: physical 0x910c-0x910d was not captured at boot"},
			is:   ErrNotCaptured,
		},
		{
			name: "loader name pointer not captured",
			recs: []Record{{mb1Base, cat(le32(mbFlagLoaderName|mbFlagMem), le32(0), le32(1024), make([]byte, 52), le32(0x7000))}},
			want: []string{"multiboot: boot loader name: string at 0x7000 is not terminated within the captured bytes"},
		},
		{
			name: "no memory information",
			b:    &mb1{flags: mbFlagCmdline, cmdline: strp("x")},
			want: []string{"multiboot: no memory map: flags 0x4: flags bit 6 (memory map) is clear and bit 0 (mem_lower/mem_upper) is clear"},
			is:   ErrNoMemoryMap,
		},
		{
			name: "empty memory map and zero mem fields",
			b:    &mb1{flags: mbFlagMem | mbFlagMmap, mmap: []byte{}},
			want: []string{"multiboot: no memory map: flags 0x41: the memory map is empty and mem_lower and mem_upper are 0"},
			is:   ErrNoMemoryMap,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			recs := tt.recs
			if recs == nil {
				recs = tt.b.records(mb1Base)
			}
			info, err := Parse(MultibootMagic, mb1Base, snap(t, recs...))
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
