package mbheader

import (
	"bytes"
	"debug/elf"
	"encoding/binary"
	"errors"
	"os"
	"slices"
	"strings"
	"testing"

	"tamavisor/boot/mbheader/elftest"
)

// tag is a Multiboot2 header tag as the tests parse it, independently of
// the package's own parser.
type tag struct {
	off        int // from the header's start
	typ, flags uint16
	size       uint32
	payload    []byte
}

// parseTags re-parses a Multiboot2 header (MB2 §3.1.1-§3.1.3).
func parseTags(t *testing.T, h []byte) []tag {
	t.Helper()
	u32 := binary.LittleEndian.Uint32
	if len(h) < 16 {
		t.Fatalf("multiboot2 header is %d bytes", len(h))
	}
	if m := u32(h); m != 0xE85250D6 {
		t.Fatalf("magic %#x", m)
	}
	if a := u32(h[4:]); a != 0 {
		t.Fatalf("architecture %d, want 0 (i386)", a)
	}
	length := u32(h[8:])
	if int(length) != len(h) {
		t.Fatalf("header_length %d, header is %d bytes", length, len(h))
	}
	if sum := u32(h) + u32(h[4:]) + u32(h[8:]) + u32(h[12:]); sum != 0 {
		t.Fatalf("magic+architecture+header_length+checksum = %#x, want 0", sum)
	}
	var tags []tag
	for off := 16; ; {
		if off%8 != 0 {
			t.Fatalf("tag at %d is not 8-byte aligned", off)
		}
		if off+8 > len(h) {
			t.Fatalf("tags run past header_length without an end tag")
		}
		tg := tag{off: off, typ: binary.LittleEndian.Uint16(h[off:]), flags: binary.LittleEndian.Uint16(h[off+2:]), size: u32(h[off+4:])}
		if tg.size < 8 || off+int(tg.size) > len(h) {
			t.Fatalf("tag type %d at %d: bad size %d", tg.typ, off, tg.size)
		}
		tg.payload = h[off+8 : off+int(tg.size)]
		tags = append(tags, tg)
		if tg.typ == 0 {
			if tg.size != 8 {
				t.Fatalf("end tag size %d, want 8", tg.size)
			}
			if off+8 != len(h) {
				t.Fatalf("end tag ends at %d, header_length is %d", off+8, len(h))
			}
			return tags
		}
		off += (int(tg.size) + 7) &^ 7
	}
}

func TestMultiboot1Header(t *testing.T) {
	h := Multiboot1Header()
	u32 := binary.LittleEndian.Uint32
	if len(h) != 12 {
		t.Fatalf("header is %d bytes, want 12", len(h))
	}
	magic, flags, sum := u32(h), u32(h[4:]), u32(h[8:])
	if magic != 0x1BADB002 {
		t.Errorf("magic %#x", magic)
	}
	if flags != 1|2 {
		t.Errorf("flags %#x, want 0x3 (page-align modules, memory information)", flags)
	}
	if flags&(1<<16) != 0 {
		t.Errorf("flags %#x set bit 16 (address fields)", flags)
	}
	if magic+flags+sum != 0 {
		t.Errorf("magic+flags+checksum = %#x, want 0", magic+flags+sum)
	}
}

func TestMultiboot2Header(t *testing.T) {
	h := Multiboot2Header()
	tags := parseTags(t, h)
	if len(tags) != 3 {
		t.Fatalf("got %d tags, want information request, module alignment, end", len(tags))
	}
	req := tags[0]
	if req.typ != 1 || req.flags != 1 {
		t.Errorf("first tag: type %d flags %d, want information request (1) marked optional (1)", req.typ, req.flags)
	}
	var got []uint32
	for p := req.payload; len(p) >= 4; p = p[4:] {
		got = append(got, binary.LittleEndian.Uint32(p))
	}
	if want := []uint32{1, 2, 3, 6, 14, 15}; !slices.Equal(got, want) || len(req.payload) != 4*len(want) {
		t.Errorf("information request asks for %v, want %v", got, want)
	}
	if !slices.Equal(got, Requests()) {
		t.Errorf("Requests() = %v, header asks for %v", Requests(), got)
	}
	if m := tags[1]; m.typ != 6 || m.size != 8 || m.flags != 0 {
		t.Errorf("second tag: type %d flags %d size %d, want module alignment (6), required, size 8", m.typ, m.flags, m.size)
	}
	for _, tg := range tags {
		switch tg.typ {
		case 2, 3, 5, 8, 9, 10:
			t.Errorf("header has tag type %d; want no address, entry, framebuffer or relocatable tag", tg.typ)
		}
	}
	if len(h) != 64 {
		t.Errorf("header is %d bytes, want 64", len(h))
	}
}

// reservedRanges computes, with debug/elf, the file ranges a header must
// not overlap: the ELF header, the header tables, the sections with file
// data and the program headers (all of them if strict, else all but the
// PT_LOADs, whose contents the sections describe).
func reservedRanges(t *testing.T, b []byte, strict bool) [][2]uint64 {
	t.Helper()
	f, err := elf.NewFile(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	u16, u64 := binary.LittleEndian.Uint16, binary.LittleEndian.Uint64
	r := [][2]uint64{{0, 64}}
	phoff, shoff := u64(b[32:]), u64(b[40:])
	r = append(r, [2]uint64{phoff, phoff + uint64(u16(b[54:]))*uint64(u16(b[56:]))})
	if shoff != 0 {
		r = append(r, [2]uint64{shoff, shoff + uint64(u16(b[58:]))*uint64(u16(b[60:]))})
	}
	for _, s := range f.Sections {
		if s.Type != elf.SHT_NOBITS && s.Type != elf.SHT_NULL {
			r = append(r, [2]uint64{s.Offset, s.Offset + s.FileSize})
		}
	}
	for _, p := range f.Progs {
		if strict || p.Type != elf.PT_LOAD {
			r = append(r, [2]uint64{p.Off, p.Off + p.Filesz})
		}
	}
	return r
}

func checkPlacement(t *testing.T, before, after []byte, res Result, strict bool) {
	t.Helper()
	if len(after) != len(before) {
		t.Fatalf("file size changed from %d to %d", len(before), len(after))
	}
	o1, o2 := res.MB1.Offset, res.MB2.Offset
	if res.MB1.Size != 12 || res.MB2.Size != 64 {
		t.Errorf("sizes %d, %d, want 12, 64", res.MB1.Size, res.MB2.Size)
	}
	if o2%8 != 0 || o2 < 0 || o2+64 > 8192 {
		t.Errorf("multiboot2 header at %#x: not 8-byte aligned inside the first 8192 bytes", o2)
	}
	if o1%4 != 0 || o1 < 0 || o1+12 > 8192 {
		t.Errorf("multiboot header at %#x: not 4-byte aligned inside the first 8192 bytes", o1)
	}
	if o1 < o2+64 && o2 < o1+12 {
		t.Errorf("headers overlap: multiboot2 [%#x, %#x), multiboot [%#x, %#x)", o2, o2+64, o1, o1+12)
	}
	for _, h := range [][2]uint64{{uint64(o2), uint64(o2 + 64)}, {uint64(o1), uint64(o1 + 12)}} {
		for _, r := range reservedRanges(t, before, strict) {
			if h[0] < r[1] && r[0] < h[1] {
				t.Errorf("header [%#x, %#x) overlaps used file range [%#x, %#x)", h[0], h[1], r[0], r[1])
			}
		}
		if !slices.Equal(before[h[0]:h[1]], make([]byte, h[1]-h[0])) && !res.Unchanged {
			t.Errorf("header [%#x, %#x) overwrote non-zero bytes", h[0], h[1])
		}
	}
	if !bytes.Equal(after[o2:o2+64], Multiboot2Header()) || !bytes.Equal(after[o1:o1+12], Multiboot1Header()) {
		t.Errorf("file does not hold the headers at the reported offsets")
	}
	for i := range after {
		inHeader := (i >= o2 && i < o2+64) || (i >= o1 && i < o1+12)
		if !inHeader && after[i] != before[i] {
			t.Fatalf("byte %#x changed outside the headers", i)
		}
	}
	s1, s2, err := Scan(after)
	if err != nil || s1 != o1 || s2 != o2 {
		t.Errorf("Scan = %#x, %#x, %v; want %#x, %#x, nil", s1, s2, err, o1, o2)
	}
	if err := Validate(after); err != nil {
		t.Errorf("patched image no longer validates: %v", err)
	}
}

func TestPatch(t *testing.T) {
	for _, tc := range []struct {
		name   string
		spec   elftest.Spec
		strict bool
		mb2    int
		loaded bool
	}{
		// Program header table ends at 0x78: first 8-byte boundary.
		{"simple", elftest.Simple(), true, 0x78, false},
		// Section header table [0x190, 0x410), then padding to the notes at 0xf60.
		{"golike", elftest.GoLike(), false, 0x410, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := tc.spec.Build()
			b := slices.Clone(before)
			res, err := Patch(b, Options{})
			if err != nil {
				t.Fatal(err)
			}
			checkPlacement(t, before, b, res, tc.strict)
			if res.MB2.Offset != tc.mb2 || res.MB1.Offset != tc.mb2+64 {
				t.Errorf("headers at %#x and %#x, want %#x and %#x", res.MB2.Offset, res.MB1.Offset, tc.mb2, tc.mb2+64)
			}
			if res.Unchanged {
				t.Errorf("Unchanged on an image without headers")
			}
			if res.MB2.Loaded != tc.loaded || res.MB1.Loaded != tc.loaded {
				t.Errorf("Loaded = %v, %v; want %v", res.MB2.Loaded, res.MB1.Loaded, tc.loaded)
			}
			if tc.loaded {
				if want := uint64(elftest.Link - 0x1000 + tc.mb2); res.MB2.Phys != want || res.MB1.Phys != want+64 {
					t.Errorf("physical addresses %#x, %#x; want %#x, %#x", res.MB2.Phys, res.MB1.Phys, want, want+64)
				}
			}

			// Idempotent: the same bytes again, reported unchanged.
			again := slices.Clone(b)
			res2, err := Patch(again, Options{})
			if err != nil {
				t.Fatal(err)
			}
			if !res2.Unchanged || res2.MB1 != res.MB1 || res2.MB2 != res.MB2 || !bytes.Equal(again, b) {
				t.Errorf("second Patch: %+v, identical bytes %v; want %+v, unchanged", res2, bytes.Equal(again, b), res)
			}
		})
	}
}

// TestPatchOmitMultiboot1 checks the Multiboot2-only image QEMU's -kernel
// still boots through PVH, and switching between it and the full image.
func TestPatchOmitMultiboot1(t *testing.T) {
	clean := elftest.GoLike().Build()
	omit := Options{OmitMultiboot1: true}

	only2 := slices.Clone(clean)
	res, err := Patch(only2, omit)
	if err != nil {
		t.Fatal(err)
	}
	if res.MB1.Offset != -1 || res.MB2.Offset != 0x410 || !res.PVH || res.Unchanged {
		t.Errorf("Patch = %+v, want multiboot2 only at 0x410, PVH", res)
	}
	if o1, o2, err := Scan(only2); o1 != -1 || o2 != 0x410 || !errors.Is(err, ErrNoMultiboot1) || errors.Is(err, ErrNoMultiboot2) {
		t.Errorf("Scan = %d, %#x, %v; want only the multiboot header missing", o1, o2, err)
	}
	for i := range clean {
		if only2[i] != clean[i] && (i < 0x410 || i >= 0x450) {
			t.Fatalf("byte %#x changed outside the multiboot2 header", i)
		}
	}
	if again := slices.Clone(only2); func() bool { r, err := Patch(again, omit); return err != nil || !r.Unchanged }() || !bytes.Equal(again, only2) {
		t.Errorf("second Multiboot2-only Patch changed the image")
	}

	// Adding the Multiboot header, then removing it again.
	both := slices.Clone(only2)
	if res, err := Patch(both, Options{}); err != nil || res.Unchanged || res.MB2.Offset != 0x410 || res.MB1.Offset != 0x450 {
		t.Fatalf("Patch = %+v, %v", res, err)
	}
	direct := slices.Clone(clean)
	Patch(direct, Options{})
	if !bytes.Equal(both, direct) {
		t.Errorf("adding the multiboot header differs from patching the clean image")
	}
	if res, err := Patch(both, omit); err != nil || res.Unchanged || !bytes.Equal(both, only2) {
		t.Errorf("removing the multiboot header: %+v, %v, same as Multiboot2-only: %v", res, err, bytes.Equal(both, only2))
	}

	// A valid Multiboot header inside .text cannot be removed.
	stray := slices.Clone(clean)
	copy(stray[0x1000:], Multiboot1Header())
	if _, err := Patch(stray, omit); err == nil || !strings.Contains(err.Error(), "file offset 0x1000 holds a multiboot header outside padding") {
		t.Errorf("Patch = %v, want a stray multiboot header error", err)
	}
	// With both headers it is harmless: the new one comes first.
	if res, err := Patch(stray, Options{}); err != nil || res.MB1.Offset != 0x450 {
		t.Errorf("Patch = %+v, %v", res, err)
	}
}

func TestPVHNote(t *testing.T) {
	for name, want := range map[string]bool{"golike": true, "simple": false} {
		spec := elftest.Simple()
		if want {
			spec = elftest.GoLike()
		}
		res, err := Patch(spec.Build(), Options{})
		if err != nil || res.PVH != want {
			t.Errorf("%s: PVH = %v (%v), want %v", name, res.PVH, err, want)
		}
	}
	// Truncated and foreign notes.
	note := elftest.PVHNote(0x1000)
	for _, b := range [][]byte{note[:11], note[:15], note[:19], append(slices.Clone(note[:8]), 19, 0, 0, 0, 'X', 'e', 'n', 0)} {
		if hasPVHNote(b) {
			t.Errorf("hasPVHNote(% x) = true", b)
		}
	}
	if !hasPVHNote(append([]byte{0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0}, note...)) {
		t.Errorf("hasPVHNote misses a note after an empty one")
	}
}

// TestPatchReplaces checks that headers some earlier tool left in the
// padding give way to the canonical ones.
func TestPatchReplaces(t *testing.T) {
	b := elftest.Simple().Build()
	// A Multiboot header with other flags, and a bare Multiboot2 header, in
	// the padding, the latter where Patch would put its own.
	old1 := []byte{0x02, 0xb0, 0xad, 0x1b, 0x00, 0x00, 0x00, 0x00, 0xfe, 0x4f, 0x52, 0xe4}
	copy(b[0x800:], old1)
	old2 := make([]byte, 24)
	binary.LittleEndian.PutUint32(old2, MB2Magic)
	binary.LittleEndian.PutUint32(old2[8:], 24)
	binary.LittleEndian.PutUint32(old2[12:], -(magic2 + 24))
	binary.LittleEndian.PutUint32(old2[20:], 8) // end tag
	copy(b[0x78:], old2)
	if o1, o2, err := Scan(b); err != nil || o1 != 0x800 || o2 != 0x78 {
		t.Fatalf("test image: Scan = %#x, %#x, %v", o1, o2, err)
	}
	res, err := Patch(b, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if res.Unchanged || res.MB2.Offset != 0x78 || res.MB1.Offset != 0x78+64 {
		t.Errorf("Patch = %+v", res)
	}
	if !bytes.Equal(b[0x800:0x80c], make([]byte, 12)) {
		t.Errorf("old multiboot header not cleared: % x", b[0x800:0x80c])
	}
	if !bytes.Equal(b, func() []byte { c := elftest.Simple().Build(); Patch(c, Options{}); return c }()) {
		t.Errorf("result differs from patching a clean image")
	}
}

// TestPatchSplit checks the fallback when the headers do not fit back to
// back: each goes to the first place where it fits.
func TestPatchSplit(t *testing.T) {
	spec := elftest.Simple()
	b := spec.Build()
	for i := 0x78; i < 0x1000; i++ {
		b[i] = 0xee // not padding: Patch must not use it
	}
	clear(b[0x104:0x144]) // 64 bytes, but only 4-byte aligned
	clear(b[0x200:0x240]) // 64 bytes, 8-byte aligned: the multiboot2 header
	clear(b[0x300:0x30c]) // the multiboot header (0x104 comes first)
	before := slices.Clone(b)
	res, err := Patch(b, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if res.MB2.Offset != 0x200 || res.MB1.Offset != 0x104 {
		t.Errorf("headers at %#x and %#x, want 0x200 and 0x104", res.MB2.Offset, res.MB1.Offset)
	}
	checkPlacement(t, before, b, res, true)

	// Room for the multiboot2 header only.
	b = slices.Clone(before)
	for i := 0x104; i < 0x144; i++ {
		b[i] = 0xee
	}
	b[0x300] = 0xee
	unpatched := slices.Clone(b)
	if _, err := Patch(b, Options{}); !errors.Is(err, ErrNoRoom) || !strings.Contains(err.Error(), "12 zero bytes, 4-byte aligned, for the multiboot header") {
		t.Errorf("Patch = %v, want no room for the multiboot header", err)
	}
	if !bytes.Equal(b, unpatched) {
		t.Errorf("failed Patch modified the file")
	}
}

func TestPatchNoRoom(t *testing.T) {
	// A segment right after the ELF header, covering the program headers
	// and the rest of the first 8 KiB: even zero bytes in it are data.
	seg := elftest.Spec{
		Entry: elftest.Link,
		Progs: []elftest.Prog{
			{Type: elf.PT_LOAD, Flags: elf.PF_R | elf.PF_X, Off: 0x40, Vaddr: elftest.Link, Paddr: elftest.Link, Filesz: 0x3000, Memsz: 0x3000},
		},
		ZeroData: true,
	}
	// The Go linker's layout without section headers (stripped): the first
	// PT_LOAD starts at file offset 0 and nothing says which of its bytes
	// are padding.
	stripped := elftest.GoLike()
	stripped.Sections = nil
	stripped.ShOff = 0
	stripped.ZeroData = true
	// The Go layout with a section over the padding.
	full := elftest.GoLike()
	full.Sections = append(full.Sections, elftest.Section{Name: ".fill", Type: elf.SHT_PROGBITS, Off: 0x410, Size: 0xb50})

	for name, spec := range map[string]elftest.Spec{"segment at 0x40": seg, "stripped": stripped, "no padding": full} {
		t.Run(name, func(t *testing.T) {
			b := spec.Build()
			before := slices.Clone(b)
			_, err := Patch(b, Options{})
			if !errors.Is(err, ErrNoRoom) {
				t.Fatalf("Patch = %v, want ErrNoRoom", err)
			}
			if !strings.Contains(err.Error(), "no room") {
				t.Errorf("error %q does not say there is no room", err)
			}
			if !bytes.Equal(b, before) {
				t.Errorf("failed Patch modified the file")
			}
		})
	}
}

// TestPatchStrayMagic checks that Patch refuses an image where a magic
// number outside the padding precedes the new header: GRUB would skip it
// (bad checksum) but other loaders stop at the first magic.
func TestPatchStrayMagic(t *testing.T) {
	for _, tc := range []struct {
		name  string
		magic uint32
		at    int
	}{
		{"multiboot2", MB2Magic, 0xb8},
		{"multiboot", MB1Magic, 0xbc},
	} {
		t.Run(tc.name, func(t *testing.T) {
			spec := elftest.Simple()
			spec.Progs = append(spec.Progs, elftest.Prog{Type: elf.PT_NOTE, Off: 0xb0, Filesz: 0x60})
			b := spec.Build()
			binary.LittleEndian.PutUint32(b[tc.at:], tc.magic)
			_, err := Patch(b, Options{})
			if err == nil || !strings.Contains(err.Error(), "magic") || !strings.Contains(err.Error(), "before the new header") {
				t.Errorf("Patch = %v, want a stray magic error", err)
			}
		})
	}
}

func TestValidateErrors(t *testing.T) {
	simple := func(f func(s *elftest.Spec)) []byte {
		s := elftest.Simple()
		f(&s)
		return s.Build()
	}
	poke := func(b []byte, f func(b []byte)) []byte { f(b); return b }
	link := uint64(elftest.Link)
	for _, tc := range []struct {
		name string
		file []byte
		want string
	}{
		{"empty", nil, "not an ELF file"},
		{"not ELF", poke(simple(func(*elftest.Spec) {}), func(b []byte) { b[1] = 'X' }), "not an ELF file: magic 7f 58 4c 46"},
		{"ELF32", poke(simple(func(*elftest.Spec) {}), func(b []byte) { b[elf.EI_CLASS] = byte(elf.ELFCLASS32) }), "ELF class ELFCLASS32 (e_ident[EI_CLASS] = 1), want ELFCLASS64"},
		{"big endian", poke(simple(func(*elftest.Spec) {}), func(b []byte) { b[elf.EI_DATA] = byte(elf.ELFDATA2MSB) }), "ELF data encoding ELFDATA2MSB (e_ident[EI_DATA] = 2), want ELFDATA2LSB"},
		{"short", simple(func(*elftest.Spec) {})[:40], "file is 40 bytes, too short for an ELF64 header"},
		{"aarch64", simple(func(s *elftest.Spec) { s.Machine = elf.EM_AARCH64 }), "e_machine EM_AARCH64 (183), want EM_X86_64 (62)"},
		{"ET_DYN", simple(func(s *elftest.Spec) { s.Type = elf.ET_DYN }), "e_type ET_DYN (3), want ET_EXEC (2)"},
		{"version", poke(simple(func(*elftest.Spec) {}), func(b []byte) { b[20] = 0 }), "e_version 0, want EV_CURRENT (1)"},
		{"no PT_LOAD", simple(func(s *elftest.Spec) { s.Progs[0].Type = elf.PT_NOTE }), "no PT_LOAD segment among 1 program headers"},
		{"phdrs past 8 KiB", simple(func(s *elftest.Spec) { s.PhOff = 0x2000; s.Size = 0x3000 }), "program header table [0x2000, 0x2038) ends past the first 8192 bytes"},
		{"phdrs past EOF", poke(simple(func(*elftest.Spec) {}), func(b []byte) { binary.LittleEndian.PutUint16(b[56:], 200) }), "program header table at e_phoff 0x40 (200 entries) extends past end of file"},
		{"entry above 4 GiB", simple(func(s *elftest.Spec) { s.Entry = 1 << 32; s.Progs[0].Vaddr = 1 << 32 }), "entry point 0x100000000 is not below 4 GiB"},
		{"entry outside", simple(func(s *elftest.Spec) { s.Entry = 0x10010000 }), "entry point 0x10010000 is not inside any executable PT_LOAD segment"},
		{"entry in data", simple(func(s *elftest.Spec) { s.Progs[0].Flags = elf.PF_R | elf.PF_W }), "entry point 0x1010000 is not inside any executable PT_LOAD segment"},
		{"entry in bss", simple(func(s *elftest.Spec) { s.Progs[0].Memsz = 0x2000; s.Entry = link + 0x1000 }), "entry point 0x1011000 is not inside any executable PT_LOAD segment"},
		{"segment above 4 GiB", simple(func(s *elftest.Spec) {
			s.Progs = append(s.Progs, elftest.Prog{Type: elf.PT_LOAD, Flags: elf.PF_R, Off: 0x1000, Vaddr: 1 << 32, Paddr: 1 << 32, Filesz: 0x1000, Memsz: 0x1000})
		}), "program header 1 (PT_LOAD): physical range [0x100000000, 0x100001000) is not below 4 GiB"},
		{"segment reaching 4 GiB", simple(func(s *elftest.Spec) { s.Progs[0].Paddr = 0xffff_f000 }), "program header 0 (PT_LOAD): physical range [0xfffff000, 0x100000000) is not below 4 GiB"},
		{"segment wrapping", simple(func(s *elftest.Spec) { s.Progs[0].Memsz = 1<<64 - 1 }), "physical range [0x1010000, 0xffffffffffffffff) is not below 4 GiB"},
		{"segment past EOF", simple(func(s *elftest.Spec) { s.Progs[0].Filesz = 0x1000; s.Size = 0x1800 }), ""},
		{"filesz > memsz", simple(func(s *elftest.Spec) { s.Progs[0].Memsz = 0x800 }), "program header 0 (PT_LOAD): p_filesz 0x1000 exceeds p_memsz 0x800"},
		{"relocations", simple(func(s *elftest.Spec) {
			s.Sections = []elftest.Section{{Name: ".rela.dyn", Type: elf.SHT_RELA, Off: 0x1800, Size: 0x18}}
		}), "section 1 (.rela.dyn) has type SHT_RELA"},
		{"section past EOF", poke(simple(func(s *elftest.Spec) {
			s.Sections = []elftest.Section{{Name: ".text", Type: elf.SHT_PROGBITS, Off: 0x1000, Size: 0x1000}}
		}), func(b []byte) {
			shoff := binary.LittleEndian.Uint64(b[40:])
			binary.LittleEndian.PutUint64(b[shoff+64+32:], 0x100000)
		}), "section 1 (.text): file range [0x1000, 0x101000) extends past end of file"},
		{"entry translated elsewhere", simple(func(s *elftest.Spec) {
			// A PT_NOTE listed first whose addresses cover the entry
			// point with another physical address: GRUB would use it.
			s.Progs = append([]elftest.Prog{{Type: elf.PT_NOTE, Off: 0x1000, Vaddr: link, Paddr: 0x2000, Filesz: 0x10, Memsz: 0x10}}, s.Progs...)
		}), "entry point 0x1010000: GRUB would translate it through program header 0 (PT_NOTE) to physical 0x2000, not through program header 1 (PT_LOAD) to 0x1010000"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if tc.name == "segment past EOF" {
				tc.file = tc.file[:0x1800]
				tc.want = "program header 0 (PT_LOAD): file range [0x1000, 0x2000) extends past end of file (0x1800 bytes)"
			}
			err := Validate(tc.file)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("Validate = %v, want error containing %q", err, tc.want)
			}
			before := slices.Clone(tc.file)
			if _, perr := Patch(tc.file, Options{}); perr == nil || perr.Error() != err.Error() {
				t.Errorf("Patch = %v, want the Validate error", perr)
			}
			if !bytes.Equal(before, tc.file) {
				t.Errorf("failed Patch modified the file")
			}
		})
	}
}

func TestValidateOK(t *testing.T) {
	for name, spec := range map[string]elftest.Spec{"simple": elftest.Simple(), "golike": elftest.GoLike()} {
		if err := Validate(spec.Build()); err != nil {
			t.Errorf("%s: %v", name, err)
		}
	}
	// A segment ending just below 4 GiB is fine.
	s := elftest.Simple()
	s.Progs = append(s.Progs, elftest.Prog{Type: elf.PT_LOAD, Flags: elf.PF_R, Paddr: 0xffff_f000, Vaddr: 0xffff_f000, Memsz: 0xfff})
	if err := Validate(s.Build()); err != nil {
		t.Errorf("segment ending at 0xffffffff: %v", err)
	}
}

// TestRealImage patches a real TamaGo image named by MBHEADER_TEST_IMAGE,
// if set, and checks the result as TestPatch does.
func TestRealImage(t *testing.T) {
	path := os.Getenv("MBHEADER_TEST_IMAGE")
	if path == "" {
		t.Skip("MBHEADER_TEST_IMAGE not set")
	}
	before, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	b := slices.Clone(before)
	res, err := Patch(b, Options{})
	if err != nil {
		t.Fatal(err)
	}
	checkPlacement(t, before, b, res, false)
	t.Logf("multiboot2 at %#x (physical %#x), multiboot at %#x (physical %#x), unchanged %v",
		res.MB2.Offset, res.MB2.Phys, res.MB1.Offset, res.MB1.Phys, res.Unchanged)
}
