package loader

import (
	"bytes"
	"encoding/binary"
	"reflect"
	"strings"
	"testing"
)

// decodedStartInfo is struct hvm_start_info version 1 decoded following
// arch-x86/hvm/start_info.h, with its tables and strings resolved.
type decodedStartInfo struct {
	Magic, Version, Flags, NrModules uint32
	ModlistPaddr, CmdlinePaddr       uint64
	RSDPPaddr, MemmapPaddr           uint64
	MemmapEntries, Reserved          uint32

	Cmdline   string
	MemoryMap []MemoryRegion
	Modules   []Module
}

// decodeStartInfo reads the page as a guest would, given that it sits at
// GPA base; every pointer must point inside the page.
func decodeStartInfo(t *testing.T, page []byte, base uint64) decodedStartInfo {
	t.Helper()
	le := binary.LittleEndian
	var d decodedStartInfo
	d.Magic = le.Uint32(page[0:])
	d.Version = le.Uint32(page[4:])
	d.Flags = le.Uint32(page[8:])
	d.NrModules = le.Uint32(page[12:])
	d.ModlistPaddr = le.Uint64(page[16:])
	d.CmdlinePaddr = le.Uint64(page[24:])
	d.RSDPPaddr = le.Uint64(page[32:])
	d.MemmapPaddr = le.Uint64(page[40:])
	d.MemmapEntries = le.Uint32(page[48:])
	d.Reserved = le.Uint32(page[52:])

	// at checks that [gpa, gpa+n) lies in the page (and after the header)
	// and returns its bytes.
	at := func(what string, gpa, n uint64) []byte {
		t.Helper()
		if gpa < base+56 || gpa+n > base+uint64(len(page)) || gpa+n < gpa {
			t.Fatalf("%s [%#x+%#x) is outside the start_info page [%#x-%#x) or overlaps the header", what, gpa, n, base, base+uint64(len(page)))
		}
		return page[gpa-base : gpa-base+n]
	}
	cstr := func(what string, gpa uint64) string {
		t.Helper()
		if gpa == 0 {
			return ""
		}
		at(what, gpa, 1)
		rest := page[gpa-base:]
		i := bytes.IndexByte(rest, 0)
		if i < 0 {
			t.Fatalf("%s at %#x has no NUL in the page", what, gpa)
		}
		if i == 0 {
			t.Errorf("%s at %#x is an empty string, want a 0 pointer", what, gpa)
		}
		return string(rest[:i])
	}
	d.Cmdline = cstr("cmdline", d.CmdlinePaddr)
	if d.MemmapEntries > 0 {
		tab := at("memmap", d.MemmapPaddr, uint64(d.MemmapEntries)*24)
		for i := range int(d.MemmapEntries) {
			e := tab[i*24:]
			if r := le.Uint32(e[20:]); r != 0 {
				t.Errorf("memmap entry %d reserved = %#x", i, r)
			}
			d.MemoryMap = append(d.MemoryMap, MemoryRegion{Addr: le.Uint64(e[0:]), Size: le.Uint64(e[8:]), Type: le.Uint32(e[16:])})
		}
		if d.MemmapPaddr%8 != 0 {
			t.Errorf("memmap at %#x is not 8-aligned", d.MemmapPaddr)
		}
	} else if d.MemmapPaddr != 0 {
		t.Errorf("memmap_paddr %#x with 0 entries", d.MemmapPaddr)
	}
	if d.NrModules > 0 {
		tab := at("modlist", d.ModlistPaddr, uint64(d.NrModules)*32)
		for i := range int(d.NrModules) {
			e := tab[i*32:]
			if r := le.Uint64(e[24:]); r != 0 {
				t.Errorf("module %d reserved = %#x", i, r)
			}
			d.Modules = append(d.Modules, Module{Addr: le.Uint64(e[0:]), Size: le.Uint64(e[8:]), Cmdline: cstr("module cmdline", le.Uint64(e[16:]))})
		}
		if d.ModlistPaddr%8 != 0 {
			t.Errorf("modlist at %#x is not 8-aligned", d.ModlistPaddr)
		}
	} else if d.ModlistPaddr != 0 {
		t.Errorf("modlist_paddr %#x with 0 modules", d.ModlistPaddr)
	}
	return d
}

func TestBuildStartInfo(t *testing.T) {
	si := StartInfo{
		Flags:     SIFPrivileged | SIFInitDomain,
		Cmdline:   "console=hvc0 tamavisor.domain=dom0",
		MemoryMap: DefaultMemoryMap(64 << 20),
		Modules: []Module{
			{Addr: 0x2000000, Size: 0x12345, Cmdline: "initrd"},
			{Addr: 0x3000000, Size: 0x1000}, // no command line
			{Addr: 0x3001000, Size: 0, Cmdline: "empty module"},
		},
		RSDP: 0xe0000,
	}
	page, err := BuildStartInfo(StartInfoGPA, si)
	if err != nil {
		t.Fatal(err)
	}
	if len(page) != StartInfoSize {
		t.Fatalf("len = %d, want %d", len(page), StartInfoSize)
	}
	d := decodeStartInfo(t, page, StartInfoGPA)
	want := decodedStartInfo{
		Magic: 0x336ec578, Version: 1, Flags: 3, NrModules: 3,
		ModlistPaddr: d.ModlistPaddr, CmdlinePaddr: d.CmdlinePaddr, MemmapPaddr: d.MemmapPaddr,
		RSDPPaddr: 0xe0000, MemmapEntries: 3,
		Cmdline: si.Cmdline, MemoryMap: si.MemoryMap, Modules: si.Modules,
	}
	if !reflect.DeepEqual(d, want) {
		t.Errorf("decoded:\n%+v\nwant:\n%+v", d, want)
	}
	if d.MemmapPaddr != StartInfoGPA+56 {
		t.Errorf("memmap_paddr = %#x, want right after the header", d.MemmapPaddr)
	}

	// Everything empty: all pointers 0, still magic and version 1.
	page, err = BuildStartInfo(0x7000, StartInfo{})
	if err != nil {
		t.Fatal(err)
	}
	d = decodeStartInfo(t, page, 0x7000)
	if !reflect.DeepEqual(d, decodedStartInfo{Magic: StartInfoMagic, Version: 1}) {
		t.Errorf("empty start_info decoded as %+v", d)
	}
	if !bytes.Equal(page[56:], make([]byte, StartInfoSize-56)) {
		t.Error("empty start_info: the rest of the page is not zero")
	}
}

// The page fills exactly, and one byte more fails.
func TestBuildStartInfoFull(t *testing.T) {
	si := StartInfo{MemoryMap: DefaultMemoryMap(1 << 30), Modules: []Module{{Addr: 0x1000000, Size: 1}}}
	used := 56 + 3*24 + 32
	si.Cmdline = strings.Repeat("a", StartInfoSize-used-len("bcd")-1-1) // two NULs
	si.Modules[0].Cmdline = "bcd"
	page, err := BuildStartInfo(StartInfoGPA, si)
	if err != nil {
		t.Fatal(err)
	}
	d := decodeStartInfo(t, page, StartInfoGPA)
	if d.Cmdline != si.Cmdline || d.Modules[0].Cmdline != "bcd" {
		t.Errorf("full page decoded wrong")
	}
	if page[StartInfoSize-1] != 0 || page[StartInfoSize-2] != 'd' {
		t.Errorf("last bytes %q, want the module command line's end", page[StartInfoSize-4:])
	}
	si.Cmdline += "a"
	_, err = BuildStartInfo(StartInfoGPA, si)
	wantErr(t, err, "loader: start_info does not fit in one page: it needs 4097 bytes (header 56, memory map 72, module list 32, strings 3937), the page has 4096")
}

func TestBuildStartInfoErrors(t *testing.T) {
	many := make([]MemoryRegion, 200)
	for i := range many {
		many[i] = MemoryRegion{Addr: uint64(i) << 20, Size: 1 << 20, Type: MemmapTypeRAM}
	}
	mods := make([]Module, 200)
	for i := range mods {
		mods[i] = Module{Addr: 0x1000000, Size: 1}
	}
	tests := []struct {
		name string
		gpa  uint64
		si   StartInfo
		want string
	}{
		{"gpa 0", 0, StartInfo{}, "start_info GPA 0x0 must be a non-zero, page-aligned address"},
		{"gpa unaligned", 0x1008, StartInfo{}, "start_info GPA 0x1008"},
		{"gpa above 4 GiB", 1 << 32, StartInfo{}, "start_info GPA 0x100000000"},
		{"last page below 4 GiB", 0xFFFFF000, StartInfo{}, ""},
		{"too many memmap entries", StartInfoGPA, StartInfo{MemoryMap: many}, "does not fit in one page: it needs 4856 bytes (header 56, memory map 4800"},
		{"too many modules", StartInfoGPA, StartInfo{Modules: mods}, "does not fit in one page: it needs 6456 bytes"},
		{"huge cmdline", StartInfoGPA, StartInfo{Cmdline: strings.Repeat("x", 5000)}, "does not fit in one page: the command line alone has 5000 bytes"},
		{"NUL in cmdline", StartInfoGPA, StartInfo{Cmdline: "a\x00b"}, "the command line has a NUL byte at offset 1"},
		{"NUL in module cmdline", StartInfoGPA, StartInfo{Modules: []Module{{Addr: 0x100000, Cmdline: "\x00"}}}, "module 0's command line has a NUL byte at offset 0"},
		{"module at 0", StartInfoGPA, StartInfo{Modules: []Module{{Addr: 0, Size: 10}}}, "module 0 [0x0+0xa) is at address 0"},
		{"module wraps", StartInfoGPA, StartInfo{Modules: []Module{{Addr: 0x1000, Size: 0xfffffffffffff000}}}, "module 0 [0x1000+0xfffffffffffff000) is at address 0 (which means absent) or wraps around"},
		{"memmap empty entry", StartInfoGPA, StartInfo{MemoryMap: []MemoryRegion{{Addr: 0, Size: 0, Type: 1}}}, "memory map entry 0 [0x0+0x0) is empty or wraps around"},
		{"memmap wraps", StartInfoGPA, StartInfo{MemoryMap: []MemoryRegion{{Addr: 0x1000, Size: 0xfffffffffffff000, Type: 1}}}, "memory map entry 0 [0x1000+0xfffffffffffff000) is empty or wraps around"},
		{"memmap type 0", StartInfoGPA, StartInfo{MemoryMap: []MemoryRegion{{Addr: 0, Size: 0x1000}}}, "memory map entry 0 [0x0-0x1000) has type 0"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			page, err := BuildStartInfo(tc.gpa, tc.si)
			if tc.want == "" {
				if err != nil {
					t.Fatal(err)
				}
				decodeStartInfo(t, page, tc.gpa)
				return
			}
			if page != nil {
				t.Error("page returned with an error")
			}
			wantErr(t, err, "loader: ", tc.want)
		})
	}
}

func TestDefaultMemoryMap(t *testing.T) {
	ram, res := uint32(MemmapTypeRAM), uint32(MemmapTypeReserved)
	tests := []struct {
		size uint64
		want []MemoryRegion
	}{
		{0, nil},
		{0x8000, []MemoryRegion{{0, 0x8000, ram}}},
		{0xA0000, []MemoryRegion{{0, 0xA0000, ram}}},
		{0xC0000, []MemoryRegion{{0, 0xA0000, ram}, {0xA0000, 0x60000, res}}},
		{0x100000, []MemoryRegion{{0, 0xA0000, ram}, {0xA0000, 0x60000, res}}},
		{256 << 20, []MemoryRegion{{0, 0xA0000, ram}, {0xA0000, 0x60000, res}, {0x100000, 255 << 20, ram}}},
	}
	for _, tc := range tests {
		if got := DefaultMemoryMap(tc.size); !reflect.DeepEqual(got, tc.want) {
			t.Errorf("DefaultMemoryMap(%#x) = %+v, want %+v", tc.size, got, tc.want)
		}
	}
	// The constants are Xen's XEN_HVM_MEMMAP_TYPE_* values.
	if got := []int{MemmapTypeRAM, MemmapTypeReserved, MemmapTypeACPI, MemmapTypeNVS, MemmapTypeUnusable, MemmapTypeDisabled, MemmapTypePMEM}; !reflect.DeepEqual(got, []int{1, 2, 3, 4, 5, 6, 7}) {
		t.Errorf("memmap types = %v", got)
	}
}
