package bootinfo

import (
	"testing"
)

// fuzzSeeds returns well-formed boot information for each protocol as one
// blob starting at the structure EBX points at.
func fuzzSeeds() []struct {
	kind uint8
	base uint64
	blob []byte
} {
	var out []struct {
		kind uint8
		base uint64
		blob []byte
	}
	add := func(kind uint8, recs []Record) {
		base, blob := flatten(recs)
		out = append(out, struct {
			kind uint8
			base uint64
			blob []byte
		}{kind, base, blob})
	}
	add(0, (&mb1{
		flags: mbFlagMem | mbFlagCmdline | mbFlagMods | mbFlagMmap | mbFlagLoaderName, memLower: 639, memUpper: 1 << 16,
		cmdline: strp("console=com1"), loader: strp("GRUB"), mods: []mbModSpec{{0x200000, 0x300000, "m"}},
		mmap: cat(mb1Map(20, qemuMap[:3]...), mb1Entry(28, qemuMap[3])),
	}).records(fuzzBase))
	add(0, (&mb1{flags: mbFlagMem, memUpper: 1024, structLen: 12}).records(fuzzBase))
	add(1, new(mb2).
		add(mb2TagCmdline, cstr("console=com1")).
		add(mb2TagLoaderName, cstr("GRUB 2")).
		add(mb2TagModule, mb2Module(0x200000, 0x280000, "linux")).
		add(mb2TagBasicMeminfo, le32(639), le32(1<<16)).
		add(mb2TagMmap, mb2Mmap(32, qemuMap...)).
		add(mb2TagACPIOld, rsdp(20, 0)).
		add(mb2TagACPINew, rsdp(36, 2)).
		add(mb2TagEFIMmap, le32(48), le32(1)).
		records(fuzzBase))
	add(2, (&pvh{
		version: 1, cmdline: strp("console=com1"), rsdp: 0xf5a40,
		mods: []pvhMod{{0x1000000, 0x1000, "linux"}}, memmap: qemuMap,
	}).records(fuzzBase))
	add(2, (&pvh{version: 0}).records(fuzzBase))
	return out
}

const fuzzBase = 0x9000

// FuzzParse feeds arbitrary bytes to Parse as the boot information of each
// protocol, captured at the address EBX points at, and checks that Parse
// neither panics nor returns a result that breaks the documented bounds.
func FuzzParse(f *testing.F) {
	for _, s := range fuzzSeeds() {
		f.Add(s.kind, s.blob)
	}
	f.Fuzz(func(t *testing.T, kind uint8, blob []byte) {
		s, err := ParseSnapshot(EncodeSnapshot([]Record{{fuzzBase, blob}}))
		if err != nil {
			t.Fatalf("ParseSnapshot: %v", err)
		}
		magic := [...]uint32{MultibootMagic, Multiboot2Magic, 0}[kind%3]
		for _, mem := range []interface {
			ReadAt([]byte, int64) (int, error)
		}{s, &strictReader{s: s}} {
			info, err := Parse(magic, fuzzBase, mem)
			if err != nil {
				if info != nil {
					t.Fatalf("Parse returned both %+v and %v", info, err)
				}
				continue
			}
			checkInfo(t, info)
		}
	})
}

// FuzzSnapshot feeds arbitrary bytes to ParseSnapshot, and what parses to
// Parse and ReadAt.
func FuzzSnapshot(f *testing.F) {
	for _, s := range fuzzSeeds() {
		buf := EncodeSnapshot([]Record{{s.base, s.blob}, {s.base + 0x10, s.blob[:min(len(s.blob), 8)]}})
		f.Add(buf, [...]uint32{MultibootMagic, Multiboot2Magic, 0}[s.kind], uint32(s.base), int64(s.base), uint16(64))
	}
	f.Fuzz(func(t *testing.T, buf []byte, magic, ebx uint32, off int64, n uint16) {
		s, err := ParseSnapshot(buf)
		if err != nil {
			return
		}
		p := make([]byte, n)
		got, err := s.ReadAt(p, off)
		if got < 0 || got > len(p) || (got < len(p) && err == nil) {
			t.Fatalf("ReadAt(%d, %#x) = %d, %v", n, off, got, err)
		}
		if info, err := Parse(magic, ebx, s); err == nil {
			checkInfo(t, info)
		}
	})
}

func checkInfo(t *testing.T, info *Info) {
	t.Helper()
	if len(info.MemoryMap) == 0 || len(info.MemoryMap) > MaxRegions {
		t.Fatalf("MemoryMap has %d entries", len(info.MemoryMap))
	}
	if info.MemorySource == "" {
		t.Fatal("MemorySource is empty")
	}
	if len(info.Modules) > MaxModules {
		t.Fatalf("%d modules", len(info.Modules))
	}
	if len(info.Cmdline) >= MaxString || len(info.Loader) >= MaxString {
		t.Fatalf("string too long: %d, %d", len(info.Cmdline), len(info.Loader))
	}
	if len(info.Warnings) > maxWarnings+1 {
		t.Fatalf("%d warnings", len(info.Warnings))
	}
	var sum uint64
	for _, r := range info.AvailableRegions() {
		if r.Size == 0 || r.Type != RegionAvailable {
			t.Fatalf("AvailableRegions has %v", r)
		}
		sum += r.Size
	}
	if sum != info.AvailableBytes() {
		t.Fatalf("AvailableBytes %#x != sum of AvailableRegions %#x", info.AvailableBytes(), sum)
	}
}
