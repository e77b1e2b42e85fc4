package bootinfo

import (
	"bytes"
	"errors"
	"reflect"
	"strings"
	"testing"
)

const mb2Base = 0x9000

func TestMultiboot2HappyPath(t *testing.T) {
	b := new(mb2).
		add(mb2TagCmdline, cstr("console=com1 dom0=linux")).
		add(mb2TagLoaderName, cstr("GRUB 2.12")).
		add(mb2TagModule, mb2Module(0x200000, 0x280000, "linux console=ttyS0")).
		add(mb2TagModule, mb2Module(0x280000, 0x281000, "")).
		add(mb2TagBasicMeminfo, le32(639), le32(523136)).
		add(mb2TagBootDev, le32(0x80), le32(0), le32(0)).
		add(mb2TagMmap, mb2Mmap(24, qemuMap...)).
		add(mb2TagFramebuffer, make([]byte, 24)).
		add(mb2TagACPIOld, rsdp(20, 0)).
		add(mb2TagLoadBaseAddr, le32(0x1000000))
	info, err := Parse(Multiboot2Magic, mb2Base, snap(t, b.records(mb2Base)...))
	if err != nil {
		t.Fatal(err)
	}
	want := &Info{
		Protocol:     Multiboot2,
		Loader:       "GRUB 2.12",
		Cmdline:      "console=com1 dom0=linux",
		MemoryMap:    qemuMap,
		MemorySource: "multiboot2 memory map tag",
		RSDP:         rsdp(20, 0),
		Modules: []Module{
			{0x200000, 0x80000, "linux console=ttyS0"},
			{0x280000, 0x1000, ""},
		},
	}
	if !reflect.DeepEqual(info, want) {
		t.Errorf("Parse =\n%+v\nwant\n%+v", info, want)
	}
	if got := info.AvailableBytes(); got != qemuAvail {
		t.Errorf("AvailableBytes = %#x, want %#x", got, qemuAvail)
	}
	if info.Protocol.String() != "Multiboot2" {
		t.Errorf("Protocol.String() = %q", info.Protocol)
	}
}

// TestMultiboot2Variants covers inputs that decode, with what they should
// give.
func TestMultiboot2Variants(t *testing.T) {
	wide := mb2Mmap(32, qemuMap...) // entry_size > 24: 8 extra bytes per entry
	for i := range qemuMap {
		copy(wide[8+32*i+24:], "EXTRA!!!")
	}
	tests := []struct {
		name  string
		b     *mb2
		check func(t *testing.T, info *Info)
	}{
		{
			name: "entry_size 32",
			b:    new(mb2).add(mb2TagMmap, wide),
			check: func(t *testing.T, info *Info) {
				if !reflect.DeepEqual(info.MemoryMap, qemuMap) {
					t.Errorf("MemoryMap = %v", info.MemoryMap)
				}
			},
		},
		{
			name: "unaligned tag sizes",
			b: new(mb2).
				add(mb2TagCmdline, cstr("abcd")). // size 13
				add(mb2TagLoaderName, cstr("x")). // size 10
				add(mb2TagMmap, mb2Mmap(24, qemuMap...)),
			check: func(t *testing.T, info *Info) {
				if info.Cmdline != "abcd" || info.Loader != "x" || len(info.MemoryMap) != len(qemuMap) {
					t.Errorf("got %+v", info)
				}
			},
		},
		{
			name: "new RSDP wins over old, in either order",
			b: new(mb2).
				add(mb2TagACPINew, rsdp(36, 2)).
				add(mb2TagACPIOld, rsdp(20, 0)).
				add(mb2TagMmap, mb2Mmap(24, qemuMap...)),
			check: func(t *testing.T, info *Info) {
				if !bytes.Equal(info.RSDP, rsdp(36, 2)) {
					t.Errorf("RSDP = %x", info.RSDP)
				}
			},
		},
		{
			name: "old then new RSDP",
			b: new(mb2).
				add(mb2TagACPIOld, rsdp(20, 0)).
				add(mb2TagACPINew, rsdp(36, 2)).
				add(mb2TagMmap, mb2Mmap(24, qemuMap...)),
			check: func(t *testing.T, info *Info) {
				if !bytes.Equal(info.RSDP, rsdp(36, 2)) || len(info.Warnings) != 0 {
					t.Errorf("RSDP = %x, warnings %q", info.RSDP, info.Warnings)
				}
			},
		},
		{
			name: "unknown tag and EFI memory map",
			b: new(mb2).
				add(42, le64(0)).
				add(mb2TagEFIMmap, le32(48), le32(1)).
				add(mb2TagMmap, mb2Mmap(24, qemuMap...)),
			check: func(t *testing.T, info *Info) {
				if !hasWarning(info, "multiboot2: unknown tag 42 at offset 0x8 skipped") || len(info.Warnings) != 1 {
					t.Errorf("Warnings = %q", info.Warnings)
				}
				if !info.EFIMemoryMap {
					t.Error("EFIMemoryMap = false")
				}
			},
		},
		{
			name: "no memory map: basic meminfo",
			b:    new(mb2).add(mb2TagBasicMeminfo, le32(639), le32(130048)),
			check: func(t *testing.T, info *Info) {
				want := []Region{{0, 639 << 10, RegionAvailable}, {1 << 20, 130048 << 10, RegionAvailable}}
				if !reflect.DeepEqual(info.MemoryMap, want) {
					t.Errorf("MemoryMap = %v", info.MemoryMap)
				}
				if info.MemorySource != "multiboot2 basic meminfo tag (no memory map)" {
					t.Errorf("MemorySource = %q", info.MemorySource)
				}
				if !hasWarning(info, "memory map built from basic meminfo") {
					t.Errorf("Warnings = %q", info.Warnings)
				}
			},
		},
		{
			name: "empty memory map tag falls back to basic meminfo",
			b:    new(mb2).add(mb2TagMmap, mb2Mmap(24)).add(mb2TagBasicMeminfo, le32(0), le32(1024)),
			check: func(t *testing.T, info *Info) {
				if !hasWarning(info, "has no entries") || info.AvailableBytes() != 1<<20 {
					t.Errorf("got %+v", info)
				}
			},
		},
		{
			name: "no end tag",
			b:    &mb2{noEnd: true, tags: []mb2Tag{{typ: mb2TagMmap, body: mb2Mmap(24, qemuMap...)}}},
			check: func(t *testing.T, info *Info) {
				if !hasWarning(info, "no end tag") {
					t.Errorf("Warnings = %q", info.Warnings)
				}
			},
		},
		{
			name: "odd memory map entries",
			b: new(mb2).add(mb2TagMmap, mb2Mmap(24,
				Region{0x100000, 0x100000, RegionAvailable},
				Region{0x180000, 0x1000, RegionReserved},
				Region{0x300000, 0, RegionAvailable},
				Region{0x400000, 0x100000, RegionAvailable},
				Region{0x400000, 0x100000, RegionAvailable},
				Region{1 << 63, 1 << 63, 99},
			)),
			check: func(t *testing.T, info *Info) {
				for _, w := range []string{
					"multiboot2: memory map entry 2 has zero length",
					"entries 0 ([0x100000-0x200000) available) and 1 ([0x180000-0x181000) reserved) overlap",
					"entries 3 ",
					"entry 5 (base 0x8000000000000000, length 0x8000000000000000) wraps",
				} {
					if !hasWarning(info, w) {
						t.Errorf("no warning %q in %q", w, info.Warnings)
					}
				}
				if len(info.MemoryMap) != 6 {
					t.Errorf("MemoryMap has %d entries, want all 6 as given", len(info.MemoryMap))
				}
				if got := info.AvailableBytes(); got != 0x100000-0x1000+0x100000 {
					t.Errorf("AvailableBytes = %#x", got)
				}
			},
		},
		{
			name: "duplicates ignored",
			b: new(mb2).
				add(mb2TagCmdline, cstr("first")).
				add(mb2TagCmdline, cstr("second")).
				add(mb2TagMmap, mb2Mmap(24, qemuMap...)).
				add(mb2TagMmap, mb2Mmap(24, Region{0, 1, RegionAvailable})),
			check: func(t *testing.T, info *Info) {
				if info.Cmdline != "first" || len(info.MemoryMap) != len(qemuMap) || !hasWarning(info, "duplicate tag 6 (memory map)") {
					t.Errorf("got %+v", info)
				}
			},
		},
		{
			name: "memory map entry_version and trailing bytes",
			b: new(mb2).add(mb2TagMmap, func() []byte {
				m := mb2Mmap(24, qemuMap...)
				put32(m, 4, 1)
				return append(m, 1, 2, 3, 4, 5, 6, 7, 8)
			}()),
			check: func(t *testing.T, info *Info) {
				if !hasWarning(info, "entry_version 1 (expected 0)") || !hasWarning(info, "8 trailing bytes after 6 entries of 24 bytes") {
					t.Errorf("Warnings = %q", info.Warnings)
				}
				if !reflect.DeepEqual(info.MemoryMap, qemuMap) {
					t.Errorf("MemoryMap = %v", info.MemoryMap)
				}
			},
		},
		{
			name: "EFI boot services not terminated",
			b:    new(mb2).add(mb2TagEFIBS).add(mb2TagMmap, mb2Mmap(24, qemuMap...)),
			check: func(t *testing.T, info *Info) {
				if !hasWarning(info, "EFI boot services were not terminated") {
					t.Errorf("Warnings = %q", info.Warnings)
				}
			},
		},
		{
			name: "total_size larger than needed",
			b:    &mb2{total: 0x400, tags: []mb2Tag{{typ: mb2TagMmap, body: mb2Mmap(24, qemuMap...)}}},
			check: func(t *testing.T, info *Info) {
				if len(info.MemoryMap) != len(qemuMap) {
					t.Errorf("got %+v", info)
				}
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			recs := tt.b.records(mb2Base)
			if tt.b.total != 0 { // capture all of total_size
				recs[0].Data = append(recs[0].Data, make([]byte, int(tt.b.total)-len(recs[0].Data))...)
			}
			info, err := Parse(Multiboot2Magic, mb2Base, snap(t, recs...))
			if err != nil {
				t.Fatal(err)
			}
			tt.check(t, info)
		})
	}
}

func TestMultiboot2Errors(t *testing.T) {
	mmap := mb2Mmap(24, qemuMap...)
	huge := mb2Mmap(24, make([]Region, MaxRegions+1)...)
	tests := []struct {
		name string
		b    *mb2
		recs []Record // used instead of b when set
		want []string
		is   error
	}{
		{
			name: "entry_size too small",
			b:    new(mb2).add(mb2TagCmdline, cstr(strings.Repeat("c", 50))).add(mb2TagMmap, mb2Mmap(4)),
			want: []string{"multiboot2: tag 6 (memory map) at offset 0x48: entry_size 4 is smaller than 24"},
		},
		{
			name: "tag size past total_size",
			b:    &mb2{tags: []mb2Tag{{typ: mb2TagCmdline, body: cstr("hi"), size: 0x1000}}},
			want: []string{"multiboot2: tag 1 (command line) at offset 0x8: size 0x1000 runs past total_size 0x20"},
		},
		{
			name: "tag size below header",
			b:    &mb2{tags: []mb2Tag{{typ: 99, size: 4}}},
			want: []string{"tag 99 (unknown) at offset 0x8: size 4 is smaller than the 8-byte tag header"},
		},
		{
			name: "total_size too small",
			b:    &mb2{total: 8},
			want: []string{"total_size 8 is smaller than 16"},
		},
		{
			name: "total_size over the limit",
			b:    &mb2{total: 0xffffffff},
			want: []string{"total_size 0xffffffff is larger than the 0x100000 limit"},
		},
		{
			name: "total_size not captured",
			b:    &mb2{total: 0x1000, tags: []mb2Tag{{typ: mb2TagMmap, body: mmap}}},
			want: []string{"multiboot2: boot information at 0x9000 (total_size 0x1000): bootinfo: physical 0x9000-0xa000 was not captured at boot"},
			is:   ErrNotCaptured,
		},
		{
			name: "header not captured",
			recs: []Record{{mb2Base, []byte{1, 2, 3}}},
			want: []string{"multiboot2: boot information header at 0x9000: bootinfo: physical 0x9000-0x9008 was not captured"},
			is:   ErrNotCaptured,
		},
		{
			name: "tag header runs past total_size",
			// total_size 20: the end tag's header starts at 16 and is cut.
			recs: []Record{{mb2Base, cat(le32(20), le32(0), le32(mb2TagBootDev), le32(8), le32(0))}},
			want: []string{"tag header at offset 0x10 runs past total_size 0x14"},
		},
		{
			name: "unterminated command line",
			b:    new(mb2).add(mb2TagCmdline, []byte("no NUL here")).add(mb2TagMmap, mmap),
			want: []string{"tag 1 (command line) at offset 0x8: string is not NUL-terminated within its 11 bytes"},
		},
		{
			name: "command line too long",
			b:    new(mb2).add(mb2TagCmdline, cstr(strings.Repeat("x", MaxString))).add(mb2TagMmap, mmap),
			want: []string{"string of 4097 bytes is longer than 4096"},
		},
		{
			name: "module without string",
			b:    new(mb2).add(mb2TagModule, le32(0x1000), le32(0x2000)).add(mb2TagMmap, mmap),
			want: []string{"tag 3 (module) at offset 0x8: module string: string is missing"},
		},
		{
			name: "module truncated",
			b:    new(mb2).add(mb2TagModule, le32(0x1000)).add(mb2TagMmap, mmap),
			want: []string{"tag 3 (module) at offset 0x8: size 12 is smaller than 16"},
		},
		{
			name: "module end below start",
			b:    new(mb2).add(mb2TagModule, mb2Module(0x2000, 0x1000, "m")).add(mb2TagMmap, mmap),
			want: []string{"mod_end 0x1000 is below mod_start 0x2000"},
		},
		{
			name: "memory map too many entries",
			b:    new(mb2).add(mb2TagMmap, huge),
			want: []string{"tag 6 (memory map) at offset 0x8: 2049 entries exceed the limit of 2048"},
		},
		{
			name: "memory map header truncated",
			b:    new(mb2).add(mb2TagMmap, le32(24)),
			want: []string{"tag 6 (memory map) at offset 0x8: size 12 is smaller than 16"},
		},
		{
			name: "basic meminfo truncated",
			b:    new(mb2).add(mb2TagBasicMeminfo, le32(639)).add(mb2TagMmap, mmap),
			want: []string{"tag 4 (basic meminfo) at offset 0x8: size 12 is smaller than 16"},
		},
		{
			name: "old RSDP truncated",
			b:    new(mb2).add(mb2TagACPIOld, rsdp(16, 0)).add(mb2TagMmap, mmap),
			want: []string{"tag 14 (ACPI old RSDP) at offset 0x8: size 24 is smaller than 28"},
		},
		{
			name: "new RSDP truncated",
			b:    new(mb2).add(mb2TagACPINew, rsdp(20, 2)).add(mb2TagMmap, mmap),
			want: []string{"tag 15 (ACPI new RSDP) at offset 0x8: size 28 is smaller than 44"},
		},
		{
			name: "no memory map at all",
			b:    new(mb2).add(mb2TagCmdline, cstr("x")).add(mb2TagEFIMmap, le32(48), le32(1)),
			want: []string{"multiboot2: no memory map: no usable memory map tag (6) or basic meminfo tag (4) (an EFI memory map tag (17) is present but not decoded); tags present: 1 (command line), 17 (EFI memory map), 0 (end)"},
			is:   ErrNoMemoryMap,
		},
		{
			name: "basic meminfo all zero",
			b:    new(mb2).add(mb2TagBasicMeminfo, le32(0), le32(0)),
			want: []string{"no memory map"},
			is:   ErrNoMemoryMap,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			recs := tt.recs
			if recs == nil {
				recs = tt.b.records(mb2Base)
			}
			info, err := Parse(Multiboot2Magic, mb2Base, snap(t, recs...))
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

func TestMultiboot2Unaligned(t *testing.T) {
	b := new(mb2).add(mb2TagMmap, mb2Mmap(24, qemuMap...))
	info, err := Parse(Multiboot2Magic, mb2Base+4, snap(t, b.records(mb2Base+4)...))
	if err != nil {
		t.Fatal(err)
	}
	if !hasWarning(info, "not 8-byte aligned") {
		t.Errorf("Warnings = %q", info.Warnings)
	}
}

func TestWarningsBounded(t *testing.T) {
	b := new(mb2)
	for range 200 {
		b.add(1000)
	}
	b.add(mb2TagMmap, mb2Mmap(24, qemuMap...))
	info, err := Parse(Multiboot2Magic, mb2Base, snap(t, b.records(mb2Base)...))
	if err != nil {
		t.Fatal(err)
	}
	if len(info.Warnings) != maxWarnings+1 || info.Warnings[maxWarnings] != "further warnings suppressed" {
		t.Errorf("%d warnings, last %q", len(info.Warnings), info.Warnings[len(info.Warnings)-1])
	}
}
