package loader

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"testing"
)

// A small ELF64 writer (ELF-64 Object File Format v1.5 §3 and §6) for
// building test images.

type progHeader struct {
	Type, Flags                             uint32
	Off, VAddr, PAddr, FileSz, MemSz, Align uint64
}

type elfSpec struct {
	Entry uint64
	Phdrs []progHeader
	Blobs map[uint64][]byte // file offset -> contents
	Size  int               // file size; grown to fit the headers and blobs
}

func (s *elfSpec) build() []byte {
	size := max(s.Size, ehdrSize+len(s.Phdrs)*phdrSize)
	for off, b := range s.Blobs {
		size = max(size, int(off)+len(b))
	}
	img := make([]byte, size)
	copy(img, "\x7fELF")
	img[eiClass], img[eiData], img[eiVersion] = elfClass64, elfData2LSB, evCurrent
	le := binary.LittleEndian
	le.PutUint16(img[offType:], etExec)
	le.PutUint16(img[offMachine:], emX86_64)
	le.PutUint32(img[offVersion:], evCurrent)
	le.PutUint64(img[offEntry:], s.Entry)
	le.PutUint64(img[offPhoff:], ehdrSize)
	le.PutUint16(img[offEhsize:], ehdrSize)
	le.PutUint16(img[offPhentsize:], phdrSize)
	le.PutUint16(img[offPhnum:], uint16(len(s.Phdrs)))
	for i, p := range s.Phdrs {
		b := img[ehdrSize+i*phdrSize:]
		le.PutUint32(b[0:], p.Type)
		le.PutUint32(b[4:], p.Flags)
		le.PutUint64(b[8:], p.Off)
		le.PutUint64(b[16:], p.VAddr)
		le.PutUint64(b[24:], p.PAddr)
		le.PutUint64(b[32:], p.FileSz)
		le.PutUint64(b[40:], p.MemSz)
		le.PutUint64(b[48:], p.Align)
	}
	for off, b := range s.Blobs {
		copy(img[off:], b)
	}
	return img
}

// note encodes one ELF note with 4-byte alignment (gABI ch. 5).
func note(name string, typ uint32, desc []byte) []byte {
	var b bytes.Buffer
	le := binary.LittleEndian
	var hdr [12]byte
	le.PutUint32(hdr[0:], uint32(len(name)+1))
	le.PutUint32(hdr[4:], uint32(len(desc)))
	le.PutUint32(hdr[8:], typ)
	b.Write(hdr[:])
	b.WriteString(name)
	b.WriteByte(0)
	for b.Len()%4 != 0 {
		b.WriteByte(0)
	}
	b.Write(desc)
	for b.Len()%4 != 0 {
		b.WriteByte(0)
	}
	return b.Bytes()
}

func u32(v uint32) []byte { return binary.LittleEndian.AppendUint32(nil, v) }
func u64(v uint64) []byte { return binary.LittleEndian.AppendUint64(nil, v) }

func pattern(n int, seed byte) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = seed + byte(i*7)
	}
	return b
}

const (
	textGPA  = 0x100000
	dataGPA  = 0x103000
	kernVirt = 0xffffffff80000000
	noteOff  = 0x200
	pvhEntry = textGPA + 0x10
	ptPhdr   = 6          // PT_PHDR
	ptStack  = 0x6474e551 // PT_GNU_STACK
)

var (
	textBytes = pattern(0x2000, 0x11)
	dataBytes = pattern(0x800, 0x5a)
)

// goodSpec is a kernel-like image: a PT_NOTE (segment 0) with a GNU note
// and the Xen PHYS32_ENTRY note, text r-x (segment 1), data rw- with bss
// (segment 2), and a PT_GNU_STACK (segment 3). Virtual addresses differ
// from physical ones, as in Linux, so the tests tell p_paddr from p_vaddr.
func goodSpec() *elfSpec {
	notes := append(note("GNU", 3, pattern(20, 1)), note("Xen", xenElfnotePhys32Entry, u32(pvhEntry))...)
	return &elfSpec{
		Entry: kernVirt + textGPA + 0x20,
		Phdrs: []progHeader{
			{Type: ptNote, Flags: 4, Off: noteOff, VAddr: kernVirt + textGPA - 0x1000 + noteOff, PAddr: textGPA - 0x1000 + noteOff, FileSz: uint64(len(notes)), MemSz: uint64(len(notes)), Align: 4},
			{Type: ptLoad, Flags: 5, Off: 0x1000, VAddr: kernVirt + textGPA, PAddr: textGPA, FileSz: 0x2000, MemSz: 0x2000, Align: 0x1000},
			{Type: ptLoad, Flags: 6, Off: 0x3000, VAddr: kernVirt + dataGPA, PAddr: dataGPA, FileSz: 0x800, MemSz: 0x2000, Align: 0x1000},
			{Type: ptStack, Flags: 6, Align: 0x10},
		},
		Blobs: map[uint64][]byte{noteOff: notes, 0x1000: textBytes, 0x3000: dataBytes},
	}
}

var goodLimits = Limits{MemorySize: 16 << 20, Reserved: []Range{{StartInfoGPA, StartInfoSize}}}

// fakeMem is guest memory as a []byte, failing writes outside it.
type fakeMem struct{ b []byte }

func (m *fakeMem) WriteAt(p []byte, off int64) (int, error) {
	if off < 0 || off > int64(len(m.b)) || int64(len(p)) > int64(len(m.b))-off {
		return 0, fmt.Errorf("fakeMem: write of %#x bytes at %#x is outside %#x bytes", len(p), off, len(m.b))
	}
	return copy(m.b[off:], p), nil
}

func TestParseAndLoad(t *testing.T) {
	img, err := Parse(goodSpec().build(), goodLimits)
	if err != nil {
		t.Fatal(err)
	}
	if want := (Entry{Addr: pvhEntry, Mode: Entry32PVH}); img.Entry != want {
		t.Errorf("Entry = %+v, want %+v", img.Entry, want)
	}
	if img.Low != textGPA || img.High != dataGPA+0x2000 {
		t.Errorf("Low, High = %#x, %#x, want %#x, %#x", img.Low, img.High, textGPA, dataGPA+0x2000)
	}
	if len(img.Segments) != 2 {
		t.Fatalf("%d segments, want 2:\n%v", len(img.Segments), img)
	}
	text, data := img.Segments[0], img.Segments[1]
	if text.Index != 1 || text.GPA != textGPA || text.VAddr != kernVirt+textGPA || text.MemSize != 0x2000 || text.Flags != FlagRead|FlagExec || !bytes.Equal(text.Data, textBytes) {
		t.Errorf("text segment = %+v", text)
	}
	if data.Index != 2 || data.GPA != dataGPA || data.MemSize != 0x2000 || data.Flags != FlagRead|FlagWrite || !bytes.Equal(data.Data, dataBytes) {
		t.Errorf("data segment = %+v", data)
	}
	if got := text.Flags.String() + " " + data.Flags.String() + " " + SegmentFlags(0x18).String(); got != "r-x rw- ---+0x18" {
		t.Errorf("flag strings = %q", got)
	}
	t.Logf("load plan: %v", img)

	mem := &fakeMem{b: bytes.Repeat([]byte{0xAA}, 2<<20)}
	if err := img.Load(mem); err != nil {
		t.Fatal(err)
	}
	check := func(what string, from, to uint64, want []byte) {
		t.Helper()
		if got := mem.b[from:to]; !bytes.Equal(got, want) {
			t.Errorf("%s [%#x-%#x) differs", what, from, to)
		}
	}
	check("text", textGPA, textGPA+0x2000, textBytes)
	check("data", dataGPA, dataGPA+0x800, dataBytes)
	check("bss", dataGPA+0x800, dataGPA+0x2000, make([]byte, 0x1800))
	check("below the image", textGPA-0x10, textGPA, bytes.Repeat([]byte{0xAA}, 0x10))
	check("between the segments", textGPA+0x2000, dataGPA, bytes.Repeat([]byte{0xAA}, 0x1000))
	check("above the image", dataGPA+0x2000, dataGPA+0x2010, bytes.Repeat([]byte{0xAA}, 0x10))

	// A memory too small for the image: Load reports the failing write.
	err = img.Load(&fakeMem{b: make([]byte, dataGPA+0x1000)})
	wantErr(t, err, "loader: zero-filling segment 2 at 0x103800", "outside")
}

func TestParseEntry64(t *testing.T) {
	s := goodSpec()
	n := note("GNU", 3, pattern(20, 1)) // no Xen note
	s.Blobs[noteOff] = n
	s.Phdrs[0].FileSz, s.Phdrs[0].MemSz = uint64(len(n)), uint64(len(n))
	img, err := Parse(s.build(), goodLimits)
	if err != nil {
		t.Fatal(err)
	}
	// e_entry is virtual: the entry GPA is translated through the text
	// segment.
	if want := (Entry{Addr: textGPA + 0x20, Mode: Entry64}); img.Entry != want {
		t.Errorf("Entry = %+v, want %+v", img.Entry, want)
	}
	if _, err := EntryState(img, StartInfoGPA); err == nil || !strings.Contains(err.Error(), "not supported yet") || !strings.Contains(err.Error(), "page tables") {
		t.Errorf("EntryState(Entry64) = %v, want a 'not supported yet ... page tables' error", err)
	}
}

// An 8-byte note value (as the TamaGo linker writes) and notes in a
// segment with 8-byte alignment.
func TestParseNoteForms(t *testing.T) {
	s := goodSpec()
	n := note("Xen", xenElfnotePhys32Entry, u64(pvhEntry+4))
	s.Blobs[noteOff] = n
	s.Phdrs[0].FileSz, s.Phdrs[0].MemSz = uint64(len(n)), uint64(len(n))
	img, err := Parse(s.build(), goodLimits)
	if err != nil {
		t.Fatal(err)
	}
	if img.Entry.Addr != pvhEntry+4 || img.Entry.Mode != Entry32PVH {
		t.Errorf("Entry = %+v", img.Entry)
	}

	// p_align 8: "Xen\0" (4 bytes) after the 12-byte header ends at 16,
	// already 8-aligned; a 5-byte name ("Xen2\0") from 12 pads to 24.
	var b []byte
	b = append(b, u32(5)...)
	b = append(b, u32(4)...)
	b = append(b, u32(1)...)
	b = append(b, "Xen2\x00\x00\x00\x00\x00\x00\x00\x00"...) // 12+12 = 24
	b = append(b, 1, 2, 3, 4, 0, 0, 0, 0)                    // desc padded to 8
	b = append(b, u32(4)...)
	b = append(b, u32(8)...)
	b = append(b, u32(xenElfnotePhys32Entry)...)
	b = append(b, "Xen\x00"...)
	b = append(b, u64(pvhEntry+8)...)
	s.Blobs[noteOff] = b
	s.Phdrs[0].FileSz, s.Phdrs[0].Align = uint64(len(b)), 8
	img, err = Parse(s.build(), goodLimits)
	if err != nil {
		t.Fatal(err)
	}
	if img.Entry.Addr != pvhEntry+8 {
		t.Errorf("Entry = %+v, want %#x", img.Entry, pvhEntry+8)
	}

	// A missing final padding is tolerated: a 4-byte name note "Xen" and a
	// 3-byte desc of another type at the very end.
	n = append(note("Xen", xenElfnotePhys32Entry, u32(pvhEntry)), note("Xen", 5, []byte("abc"))...)
	n = n[:len(n)-1]
	s.Blobs[noteOff] = n
	s.Phdrs[0].FileSz, s.Phdrs[0].Align = uint64(len(n)), 4
	if _, err := Parse(s.build(), goodLimits); err != nil {
		t.Errorf("note without final padding: %v", err)
	}
}

func wantErr(t *testing.T, err error, wants ...string) {
	t.Helper()
	if err == nil {
		t.Errorf("no error, want one containing %q", wants)
		return
	}
	for _, w := range wants {
		if !strings.Contains(err.Error(), w) {
			t.Errorf("error %q does not contain %q", err, w)
		}
	}
}

func TestParseErrors(t *testing.T) {
	le := binary.LittleEndian
	patch := func(f func(b []byte)) func() []byte {
		return func() []byte {
			b := goodSpec().build()
			f(b)
			return b
		}
	}
	spec := func(f func(s *elfSpec)) func() []byte {
		return func() []byte {
			s := goodSpec()
			f(s)
			return s.build()
		}
	}
	setNotes := func(s *elfSpec, b []byte) {
		s.Blobs[noteOff] = b
		s.Phdrs[0].FileSz, s.Phdrs[0].MemSz = uint64(len(b)), uint64(len(b))
	}
	fileSize := len(goodSpec().build())

	tests := []struct {
		name   string
		image  func() []byte
		limits *Limits
		want   []string
	}{
		{"empty", func() []byte { return nil }, nil,
			[]string{"loader: image truncated: the ELF header needs 0x40 bytes, the file has 0x0"}},
		{"truncated header", func() []byte { return goodSpec().build()[:40] }, nil,
			[]string{"loader: image truncated: the ELF header needs 0x40 bytes, the file has 0x28"}},
		{"bad magic", patch(func(b []byte) { b[3] = 'G' }), nil,
			[]string{"not an ELF image: the magic is 7f 45 4c 47"}},
		{"ELFCLASS32", patch(func(b []byte) { b[eiClass] = 1 }), nil,
			[]string{"ELF class is 1 (ELFCLASS32), want 2 (ELFCLASS64)"}},
		{"big endian", patch(func(b []byte) { b[eiData] = 2 }), nil,
			[]string{"ELF data encoding is 2 (ELFDATA2MSB, big endian)"}},
		{"ident version", patch(func(b []byte) { b[eiVersion] = 0 }), nil,
			[]string{"ELF identification version is 0"}},
		{"ET_DYN", patch(func(b []byte) { le.PutUint16(b[offType:], 3) }), nil,
			[]string{"ELF type is 3 (ET_DYN), want 2 (ET_EXEC)"}},
		{"ET_REL", patch(func(b []byte) { le.PutUint16(b[offType:], 1) }), nil,
			[]string{"ELF type is 1 (ET_REL)"}},
		{"EM_386", patch(func(b []byte) { le.PutUint16(b[offMachine:], 3) }), nil,
			[]string{"ELF machine is 3 (EM_386), want 62 (EM_X86_64)"}},
		{"EM_AARCH64", patch(func(b []byte) { le.PutUint16(b[offMachine:], 183) }), nil,
			[]string{"ELF machine is 183 (EM_AARCH64)"}},
		{"e_version", patch(func(b []byte) { le.PutUint32(b[offVersion:], 2) }), nil,
			[]string{"e_version is 2"}},
		{"e_ehsize", patch(func(b []byte) { le.PutUint16(b[offEhsize:], 52) }), nil,
			[]string{"e_ehsize is 52, want 64"}},
		{"e_phentsize", patch(func(b []byte) { le.PutUint16(b[offPhentsize:], 32) }), nil,
			[]string{"e_phentsize is 32, want 56"}},
		{"no program headers", patch(func(b []byte) { le.PutUint16(b[offPhnum:], 0) }), nil,
			[]string{"no program headers (e_phnum is 0)"}},
		{"e_phnum huge", patch(func(b []byte) { le.PutUint16(b[offPhnum:], 0xffff) }), nil,
			[]string{"e_phnum is 65535, more than the limit of 64"}},
		{"e_phnum 65", patch(func(b []byte) { le.PutUint16(b[offPhnum:], 65) }), nil,
			[]string{"e_phnum is 65"}},
		{"phdrs out of file", patch(func(b []byte) { le.PutUint64(b[offPhoff:], uint64(len(b))-phdrSize) }), nil,
			[]string{fmt.Sprintf("image truncated: the program header table needs file bytes %#x-%#x, the file has %#x", fileSize-phdrSize, fileSize-phdrSize+4*phdrSize, fileSize)}},
		{"phoff wraps", patch(func(b []byte) { le.PutUint64(b[offPhoff:], 0xffffffffffffff80) }), nil,
			[]string{"program header table at offset 0xffffffffffffff80 with 4 entries wraps around"}},
		{"phoff in header", patch(func(b []byte) { le.PutUint64(b[offPhoff:], 8) }), nil,
			[]string{"program header table at offset 0x8 overlaps the ELF header"}},
		{"segment out of file", spec(func(s *elfSpec) { s.Phdrs[2].FileSz = 0x1000 }), nil,
			[]string{fmt.Sprintf("loader: image truncated: segment 2 needs file bytes 0x3000-0x4000, the file has %#x", fileSize)}},
		{"segment offset wraps", spec(func(s *elfSpec) { s.Phdrs[2].Off = 0xfffffffffffff800; s.Phdrs[2].VAddr += 0x800 }), nil,
			[]string{"segment 2: p_offset 0xfffffffffffff800 + p_filesz 0x800 wraps around"}},
		{"filesz > memsz", spec(func(s *elfSpec) { s.Phdrs[2].FileSz = 0x3000 }), nil,
			[]string{"segment 2 has p_filesz 0x3000 larger than p_memsz 0x2000"}},
		{"paddr+memsz wraps", spec(func(s *elfSpec) { s.Phdrs[2].PAddr = 0xfffffffffffff000 }), nil,
			[]string{"segment 2 at 0xfffffffffffff000 with p_memsz 0x2000 wraps around the address space"}},
		{"vaddr+memsz wraps", spec(func(s *elfSpec) { s.Phdrs[2].VAddr = 0xfffffffffffff000 }), nil,
			[]string{"segment 2 at virtual address 0xfffffffffffff000 with p_memsz 0x2000 wraps around"}},
		{"segment beyond memory", spec(func(s *elfSpec) { s.Phdrs[2].PAddr, s.Phdrs[2].MemSz = textGPA, 0x2200000 }), nil,
			[]string{"loader: segment 2 [0x100000-0x2300000) does not fit in the domain's memory (16 MiB)"}},
		{"segment above memory", spec(func(s *elfSpec) { s.Phdrs[2].PAddr = 16 << 20 }), nil,
			[]string{"segment 2 [0x1000000-0x1002000) does not fit in the domain's memory (16 MiB)"}},
		{"segment in reserved", spec(func(s *elfSpec) {}), &Limits{MemorySize: 16 << 20, Reserved: []Range{{0x104000, 0x1000}}},
			[]string{"segment 2 [0x103000-0x105000) overlaps the reserved range [0x104000-0x105000) at 0x104000"}},
		{"segment on the start_info page", spec(func(s *elfSpec) { s.Phdrs[1].PAddr = 0 }), nil,
			[]string{"segment 1 [0x0-0x2000) overlaps the reserved range [0x1000-0x2000) at 0x1000"}},
		{"reserved range wraps", spec(func(s *elfSpec) {}), &Limits{MemorySize: 16 << 20, Reserved: []Range{{0xfffffffffffff000, 0x2000}}},
			[]string{"reserved range 0 at 0xfffffffffffff000 with size 0x2000 wraps around"}},
		{"overlapping segments", spec(func(s *elfSpec) { s.Phdrs[2].PAddr = 0x101000 }), nil,
			[]string{"loader: segments 1 and 2 overlap at 0x101000"}},
		{"overlap by one byte", spec(func(s *elfSpec) { s.Phdrs[1].MemSz = 0x3001 }), nil,
			[]string{"loader: segments 1 and 2 overlap at 0x103000"}},
		{"entry outside image", spec(func(s *elfSpec) { setNotes(s, note("Xen", xenElfnotePhys32Entry, u32(0x500000))) }), nil,
			[]string{"loader: entry point 0x500000 is outside every executable segment", "XEN_ELFNOTE_PHYS32_ENTRY"}},
		{"entry in data", spec(func(s *elfSpec) { setNotes(s, note("Xen", xenElfnotePhys32Entry, u32(dataGPA+0x10))) }), nil,
			[]string{"entry point 0x103010 lies in segment 2 [0x103000-0x105000), which is not executable: flags rw- (the PVH entry from XEN_ELFNOTE_PHYS32_ENTRY)"}},
		{"entry in text bss", spec(func(s *elfSpec) {
			s.Phdrs[1].MemSz = 0x2800
			setNotes(s, note("Xen", xenElfnotePhys32Entry, u32(textGPA+0x2400)))
		}), nil,
			[]string{"entry point 0x102400 lies in the zero-filled tail of segment 1 [0x100000-0x102800), past its 0x2000 file bytes"}},
		{"e_entry outside", spec(func(s *elfSpec) { setNotes(s, nil); s.Entry = 0x1234 }), nil,
			[]string{"entry point 0x1234 is outside every executable segment (e_entry; the image has no XEN_ELFNOTE_PHYS32_ENTRY note)"}},
		{"e_entry in data", spec(func(s *elfSpec) { setNotes(s, nil); s.Entry = kernVirt + dataGPA }), nil,
			[]string{"entry point 0xffffffff80103000 is outside every executable segment"}},
		{"note desc 3 bytes", spec(func(s *elfSpec) { setNotes(s, note("Xen", xenElfnotePhys32Entry, []byte{1, 2, 3})) }), nil,
			[]string{"note segment 0: the XEN_ELFNOTE_PHYS32_ENTRY note at offset 0x0 has a 3-byte value, want 4 or 8"}},
		{"note desc 16 bytes", spec(func(s *elfSpec) { setNotes(s, note("Xen", xenElfnotePhys32Entry, make([]byte, 16))) }), nil,
			[]string{"has a 16-byte value, want 4 or 8"}},
		{"note huge descsz", spec(func(s *elfSpec) {
			n := note("Xen", xenElfnotePhys32Entry, u32(pvhEntry))
			binary.LittleEndian.PutUint32(n[4:], 0xffffffff)
			setNotes(s, n)
		}), nil,
			[]string{"note segment 0: the note at offset 0x0 (namesz 0x4, descsz 0xffffffff) runs past the end of the segment (0x14 bytes)"}},
		{"note huge namesz", spec(func(s *elfSpec) {
			n := append(note("GNU", 3, nil), note("Xen", xenElfnotePhys32Entry, u32(pvhEntry))...)
			binary.LittleEndian.PutUint32(n[0:], 0xfffffff0)
			setNotes(s, n)
		}), nil,
			[]string{"note at offset 0x0 (namesz 0xfffffff0, descsz 0x0) runs past the end"}},
		{"second note runs past", spec(func(s *elfSpec) {
			n := append(note("GNU", 3, nil), note("Xen", xenElfnotePhys32Entry, u32(pvhEntry))...)
			setNotes(s, n[:len(n)-2])
		}), nil,
			[]string{"note at offset 0x10 (namesz 0x4, descsz 0x4) runs past the end of the segment (0x22 bytes)"}},
		{"note header truncated", spec(func(s *elfSpec) { setNotes(s, note("Xen", xenElfnotePhys32Entry, u32(pvhEntry))[:8]) }), nil,
			[]string{"note segment 0: truncated note header at offset 0x0 (8 bytes left, a header needs 12)"}},
		{"note entry above 4 GiB", spec(func(s *elfSpec) { setNotes(s, note("Xen", xenElfnotePhys32Entry, u64(1<<32|pvhEntry))) }), nil,
			[]string{"XEN_ELFNOTE_PHYS32_ENTRY entry point 0x100100010 is above 4 GiB"}},
		{"notes disagree", spec(func(s *elfSpec) {
			setNotes(s, append(note("Xen", xenElfnotePhys32Entry, u32(pvhEntry)), note("Xen", xenElfnotePhys32Entry, u32(pvhEntry+4))...))
		}), nil,
			[]string{"XEN_ELFNOTE_PHYS32_ENTRY notes disagree: 0x100010 and 0x100014"}},
		{"notes disagree across segments", spec(func(s *elfSpec) {
			n := note("Xen", xenElfnotePhys32Entry, u32(pvhEntry+4))
			s.Blobs[0x400] = n
			s.Phdrs[3] = progHeader{Type: ptNote, Off: 0x400, FileSz: uint64(len(n)), Align: 4}
		}), nil,
			[]string{"XEN_ELFNOTE_PHYS32_ENTRY notes disagree: 0x100010 (segment 0) and 0x100014 (segment 3)"}},
		{"note segment out of file", spec(func(s *elfSpec) { s.Phdrs[0].Off = 0x100000 }), nil,
			[]string{"image truncated: segment 0 needs file bytes 0x100000-"}},
		{"no PT_LOAD", spec(func(s *elfSpec) { s.Phdrs = s.Phdrs[:1] }), nil,
			[]string{"loader: the image has no loadable segment (no PT_LOAD with p_memsz > 0)"}},
		{"only empty PT_LOAD", spec(func(s *elfSpec) {
			s.Phdrs = []progHeader{s.Phdrs[0], {Type: ptLoad, Flags: 5, Off: 0x1000, PAddr: textGPA}}
		}), nil,
			[]string{"no loadable segment"}},
		{"PT_INTERP", spec(func(s *elfSpec) { s.Phdrs[3] = progHeader{Type: ptInterp, Off: 0x100, FileSz: 8} }), nil,
			[]string{"program header 3 is PT_INTERP: the image needs a dynamic linker"}},
		{"PT_DYNAMIC", spec(func(s *elfSpec) { s.Phdrs[3] = progHeader{Type: ptDynamic, Off: 0x100, FileSz: 8} }), nil,
			[]string{"program header 3 is PT_DYNAMIC"}},
		{"p_align not a power of two", spec(func(s *elfSpec) { s.Phdrs[1].Align = 0x3000 }), nil,
			[]string{"segment 1 has p_align 0x3000, which is not a power of two"}},
		{"p_vaddr and p_offset disagree", spec(func(s *elfSpec) { s.Phdrs[1].VAddr += 0x10 }), nil,
			[]string{"segment 1: p_vaddr 0xffffffff80100010 and p_offset 0x1000 differ modulo p_align 0x1000"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			limits := goodLimits
			if tc.limits != nil {
				limits = *tc.limits
			}
			img, err := Parse(tc.image(), limits)
			if err == nil {
				t.Fatalf("Parse succeeded:\n%v", img)
			}
			if img != nil {
				t.Errorf("Parse returned an image with its error")
			}
			if !strings.HasPrefix(err.Error(), "loader: ") {
				t.Errorf("error %q lacks the loader: prefix", err)
			}
			wantErr(t, err, tc.want...)
			t.Log(err)
		})
	}
}

// Segments sharing a page but no byte are fine; a zero-size PT_LOAD is
// skipped; p_align 0 and 1 mean no alignment.
func TestParseEdges(t *testing.T) {
	s := goodSpec()
	s.Phdrs[2].PAddr, s.Phdrs[2].VAddr = textGPA+0x2000, kernVirt+textGPA+0x2000
	s.Phdrs[1].Align, s.Phdrs[2].Align = 0, 1
	s.Phdrs[3] = progHeader{Type: ptLoad, Flags: 6, Off: 0x99999999, PAddr: 0xffffffffffffffff}
	img, err := Parse(s.build(), goodLimits)
	if err != nil {
		t.Fatal(err)
	}
	if len(img.Segments) != 2 || img.High != textGPA+0x4000 {
		t.Errorf("load plan:\n%v", img)
	}
	// A segment ending exactly at MemorySize fits.
	if _, err := Parse(s.build(), Limits{MemorySize: textGPA + 0x4000}); err != nil {
		t.Errorf("segment ending at MemorySize: %v", err)
	}
	// Load refuses a plan it cannot address with an int64 offset.
	bad := &Image{Segments: []Segment{{GPA: 1 << 63, MemSize: 1}}}
	if err := bad.Load(&fakeMem{}); err == nil {
		t.Error("Load of a GPA above MaxInt64 succeeded")
	}
	// A short write without an error is reported.
	if err := img.Load(shortWriter{}); !errors.Is(err, errShort) {
		t.Errorf("Load with a short writer = %v", err)
	}
	if err := img.Load(silentShortWriter{}); !errors.Is(err, io.ErrShortWrite) {
		t.Errorf("Load with a silently short writer = %v", err)
	}
}

var errShort = errors.New("short")

// silentShortWriter violates io.WriterAt: a short write without an error.
type silentShortWriter struct{}

func (silentShortWriter) WriteAt(p []byte, off int64) (int, error) { return len(p) - 1, nil }

type shortWriter struct{}

func (shortWriter) WriteAt(p []byte, off int64) (int, error) { return len(p) / 2, errShort }

// The hypervisor's own image, a TamaGo binary with a PVH note (linked at
// 0x01010000 or so), when the build has produced it.
func TestParseTamavisorImage(t *testing.T) {
	const path = "../../build/tamavisor.elf"
	b, err := os.ReadFile(path)
	if err != nil {
		t.Skipf("no %s: %v", path, err)
	}
	img, err := Parse(b, Limits{MemorySize: 256 << 20, Reserved: []Range{{StartInfoGPA, StartInfoSize}}})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("%s: %v", path, img)
	if img.Entry.Mode != Entry32PVH {
		t.Errorf("entry mode %v, want the PVH note", img.Entry.Mode)
	}
	// The TamaGo linker's note points at the same place as e_entry (its
	// kernel is linked with p_vaddr == p_paddr).
	if e := binary.LittleEndian.Uint64(b[offEntry:]); img.Entry.Addr != e {
		t.Errorf("PVH entry %#x, e_entry %#x", img.Entry.Addr, e)
	}
	if img.Low < 0x1000000 || img.High > 256<<20 {
		t.Errorf("image at [%#x-%#x)", img.Low, img.High)
	}
	var cw countWriter
	if err := img.Load(&cw); err != nil {
		t.Fatal(err)
	}
	var total uint64
	for _, s := range img.Segments {
		total += s.MemSize
	}
	if cw.n != total {
		t.Errorf("Load wrote %#x bytes, the segments have %#x", cw.n, total)
	}
	st, err := EntryState(img, StartInfoGPA)
	if err != nil {
		t.Fatal(err)
	}
	if st.RIP != img.Entry.Addr || st.GPR[RBX] != StartInfoGPA {
		t.Errorf("entry state RIP %#x RBX %#x", st.RIP, st.GPR[RBX])
	}
}

// countWriter counts bytes written and checks they stay in 256 MiB.
type countWriter struct{ n uint64 }

func (w *countWriter) WriteAt(p []byte, off int64) (int, error) {
	if off < 0 || off+int64(len(p)) > 256<<20 {
		return 0, fmt.Errorf("write at %#x outside 256 MiB", off)
	}
	w.n += uint64(len(p))
	return len(p), nil
}
