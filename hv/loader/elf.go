package loader

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"strings"
)

// ELF64 layout and constants. Offsets follow the ELF-64 Object File Format
// v1.5, §3 "ELF Header" (Figure 2) and §6 "Program Header Table" (Figure 6);
// values are the System V gABI ones (ch. 4 "ELF Header", ch. 5 "Program
// Header").
const (
	ehdrSize = 64 // sizeof(Elf64_Ehdr)
	phdrSize = 56 // sizeof(Elf64_Phdr)

	// e_ident indexes and values (gABI ch. 4, "ELF Identification").
	eiClass     = 4
	eiData      = 5
	eiVersion   = 6
	elfClass64  = 2 // ELFCLASS64
	elfData2LSB = 1 // ELFDATA2LSB
	evCurrent   = 1 // EV_CURRENT

	// Elf64_Ehdr field offsets.
	offType      = 16 // e_type (Elf64_Half)
	offMachine   = 18 // e_machine (Elf64_Half)
	offVersion   = 20 // e_version (Elf64_Word)
	offEntry     = 24 // e_entry (Elf64_Addr)
	offPhoff     = 32 // e_phoff (Elf64_Off)
	offEhsize    = 52 // e_ehsize (Elf64_Half)
	offPhentsize = 54 // e_phentsize (Elf64_Half)
	offPhnum     = 56 // e_phnum (Elf64_Half)

	etExec   = 2  // ET_EXEC
	emX86_64 = 62 // EM_X86_64

	// p_type values (gABI ch. 5, "Segment Types").
	ptLoad    = 1 // PT_LOAD
	ptDynamic = 2 // PT_DYNAMIC
	ptInterp  = 3 // PT_INTERP
	ptNote    = 4 // PT_NOTE

	// Note entry header: namesz, descsz, type, each an Elf64_Word (gABI
	// ch. 5, "Note Section").
	noteHdrSize = 12

	// XEN_ELFNOTE_PHYS32_ENTRY (xen/include/public/elfnote.h): "32bit
	// entry point into the kernel. When requested to launch the guest
	// kernel in a HVM container, Xen will use this entry point to launch
	// the guest in 32bit protected mode with paging disabled."
	xenElfnotePhys32Entry = 18
	xenNoteName           = "Xen\x00"
)

// MaxProgramHeaders bounds e_phnum. Real kernels have a handful (the TamaGo
// linker writes 6); the bound keeps parsing cheap on hostile input and
// rules out PN_XNUM (0xffff) extended numbering.
const MaxProgramHeaders = 64

// SegmentFlags are an ELF segment's p_flags (gABI ch. 5, "Segment
// Permissions").
type SegmentFlags uint32

const (
	FlagExec  SegmentFlags = 1 << 0 // PF_X
	FlagWrite SegmentFlags = 1 << 1 // PF_W
	FlagRead  SegmentFlags = 1 << 2 // PF_R
)

// String gives the flags as readelf-like "rwx" letters, e.g. "r-x".
func (f SegmentFlags) String() string {
	b := []byte("---")
	if f&FlagRead != 0 {
		b[0] = 'r'
	}
	if f&FlagWrite != 0 {
		b[1] = 'w'
	}
	if f&FlagExec != 0 {
		b[2] = 'x'
	}
	s := string(b)
	if rest := f &^ (FlagRead | FlagWrite | FlagExec); rest != 0 {
		s += fmt.Sprintf("+%#x", uint32(rest))
	}
	return s
}

// Range is a range of guest-physical addresses [Addr, Addr+Size).
type Range struct {
	Addr, Size uint64
}

// Limits describe where an image may be loaded.
type Limits struct {
	// MemorySize is the domain's RAM: the image must lie in GPAs
	// [0, MemorySize).
	MemorySize uint64
	// Reserved are GPA ranges the image must not touch, e.g. the
	// start_info page (StartInfoGPA) or the legacy hole the caller
	// chooses to keep free.
	Reserved []Range
}

// Segment is one PT_LOAD segment with a non-zero p_memsz, placed by its
// physical address.
type Segment struct {
	// Index is the segment's program header index, as "readelf -l"
	// numbers them; error messages say "segment <Index>".
	Index int
	// GPA is p_paddr: the PVH loader loads by physical address (the guest
	// runs with paging off at its PVH entry point).
	GPA uint64
	// VAddr is p_vaddr, kept for a future 64-bit entry whose page tables
	// must map VAddr to GPA.
	VAddr uint64
	// MemSize is p_memsz: the segment occupies [GPA, GPA+MemSize).
	MemSize uint64
	// Data is the segment's file bytes (p_filesz of them), a sub-slice of
	// the image given to Parse. [GPA+len(Data), GPA+MemSize) is
	// zero-filled by Load.
	Data  []byte
	Flags SegmentFlags
}

// End is the first GPA after the segment.
func (s *Segment) End() uint64 { return s.GPA + s.MemSize }

// EntryMode says how the guest is entered.
type EntryMode int

const (
	// Entry32PVH is the PVH entry (Xen docs/misc/pvh.pandoc): 32-bit
	// protected mode, paging off, EBX = the start_info GPA. EntryState
	// builds this state.
	Entry32PVH EntryMode = iota + 1
	// Entry64 is a 64-bit entry at e_entry, for an image without the
	// XEN_ELFNOTE_PHYS32_ENTRY note. Long mode needs paging, so the
	// hypervisor would have to build page tables for the guest first;
	// EntryState does not support it yet. tamavisor's own Go guests always
	// carry the PVH note, which the TamaGo linker writes.
	Entry64
)

func (m EntryMode) String() string {
	switch m {
	case Entry32PVH:
		return "32-bit PVH"
	case Entry64:
		return "64-bit"
	}
	return fmt.Sprintf("EntryMode(%d)", int(m))
}

// Entry is where the guest starts.
type Entry struct {
	// Addr is a GPA. For Entry32PVH it is the note's physical address
	// (below 4 GiB); for Entry64 it is e_entry translated from the
	// virtual address through the segment that contains it
	// (GPA + e_entry - VAddr).
	Addr uint64
	Mode EntryMode
}

// Image is a validated load plan: Parse has checked that the segments lie in
// the domain's memory, outside the reserved ranges and apart from each
// other, and that the entry point lies in the file bytes of an executable
// segment.
type Image struct {
	// Segments are the PT_LOAD segments with p_memsz > 0, in program
	// header order.
	Segments []Segment
	Entry    Entry
	// Low is the lowest GPA the segments use and High the first GPA above
	// them: every segment lies in [Low, High).
	Low, High uint64
}

// phdr is a decoded Elf64_Phdr.
type phdr struct {
	typ, flags                                 uint32
	offset, vaddr, paddr, filesz, memsz, align uint64
}

var le = binary.LittleEndian

// Parse validates an ELF64 little-endian x86-64 ET_EXEC image and returns
// its load plan. Only the ELF header and the program headers are read:
// section headers play no part in loading and are ignored.
//
// Segments must not overlap each other, compared by exact byte ranges
// [p_paddr, p_paddr+p_memsz): Load writes byte-exact ranges, so two
// segments may share a page as long as they share no byte. The same
// byte-exact rule applies to Limits.Reserved.
//
// The entry point is taken from a "Xen" note of type
// XEN_ELFNOTE_PHYS32_ENTRY in a PT_NOTE segment (a 4- or 8-byte value below
// 4 GiB; the TamaGo linker writes 8 bytes) with Mode Entry32PVH, else from
// e_entry with Mode Entry64.
func Parse(image []byte, limits Limits) (*Image, error) {
	if err := checkHeader(image); err != nil {
		return nil, err
	}
	for i, r := range limits.Reserved {
		if r.Addr+r.Size < r.Addr {
			return nil, fmt.Errorf("loader: reserved range %d at %#x with size %#x wraps around the address space", i, r.Addr, r.Size)
		}
	}

	phoff := le.Uint64(image[offPhoff:])
	phnum := uint64(le.Uint16(image[offPhnum:]))
	if phnum == 0 {
		return nil, errors.New("loader: the image has no program headers (e_phnum is 0)")
	}
	if phnum > MaxProgramHeaders {
		return nil, fmt.Errorf("loader: e_phnum is %d, more than the limit of %d program headers", phnum, MaxProgramHeaders)
	}
	if phoff < ehdrSize {
		return nil, fmt.Errorf("loader: the program header table at offset %#x overlaps the ELF header (e_phoff must be at least %#x)", phoff, ehdrSize)
	}
	// phnum*phdrSize is at most 64*56, so only phoff can overflow.
	phend := phoff + phnum*phdrSize
	if phend < phoff {
		return nil, fmt.Errorf("loader: the program header table at offset %#x with %d entries wraps around", phoff, phnum)
	}
	if phend > uint64(len(image)) {
		return nil, fmt.Errorf("loader: image truncated: the program header table needs file bytes %#x-%#x, the file has %#x", phoff, phend, len(image))
	}

	img := &Image{}
	var (
		noteEntry uint64
		haveNote  bool
		noteIndex int
	)
	for i := 0; i < int(phnum); i++ {
		p := readPhdr(image[phoff+uint64(i)*phdrSize:])
		switch p.typ {
		case ptInterp, ptDynamic:
			name := "PT_INTERP"
			if p.typ == ptDynamic {
				name = "PT_DYNAMIC"
			}
			return nil, fmt.Errorf("loader: program header %d is %s: the image needs a dynamic linker, and a guest kernel must be statically linked", i, name)
		case ptNote:
			addr, found, err := parseNotes(image, i, p)
			if err != nil {
				return nil, err
			}
			if !found {
				continue
			}
			if haveNote && addr != noteEntry {
				return nil, fmt.Errorf("loader: XEN_ELFNOTE_PHYS32_ENTRY notes disagree: %#x (segment %d) and %#x (segment %d)", noteEntry, noteIndex, addr, i)
			}
			noteEntry, haveNote, noteIndex = addr, true, i
		case ptLoad:
			s, err := checkLoad(image, i, p, limits)
			if err != nil {
				return nil, err
			}
			if s != nil {
				img.Segments = append(img.Segments, *s)
			}
		}
	}
	if len(img.Segments) == 0 {
		return nil, errors.New("loader: the image has no loadable segment (no PT_LOAD with p_memsz > 0)")
	}

	// Pairwise overlap check: at most MaxProgramHeaders segments.
	for a := range img.Segments {
		sa := &img.Segments[a]
		for b := a + 1; b < len(img.Segments); b++ {
			sb := &img.Segments[b]
			if sa.GPA < sb.End() && sb.GPA < sa.End() {
				return nil, fmt.Errorf("loader: segments %d and %d overlap at %#x", sa.Index, sb.Index, max(sa.GPA, sb.GPA))
			}
		}
	}

	img.Low, img.High = math.MaxUint64, 0
	for i := range img.Segments {
		img.Low = min(img.Low, img.Segments[i].GPA)
		img.High = max(img.High, img.Segments[i].End())
	}

	if haveNote {
		img.Entry = Entry{Addr: noteEntry, Mode: Entry32PVH}
		if err := img.checkEntry(noteEntry, "the PVH entry from XEN_ELFNOTE_PHYS32_ENTRY"); err != nil {
			return nil, err
		}
	} else {
		e := le.Uint64(image[offEntry:])
		gpa, ok := img.virtToGPA(e)
		if !ok {
			return nil, fmt.Errorf("loader: entry point %#x is outside every executable segment (e_entry; the image has no XEN_ELFNOTE_PHYS32_ENTRY note)", e)
		}
		img.Entry = Entry{Addr: gpa, Mode: Entry64}
		if err := img.checkEntry(gpa, fmt.Sprintf("e_entry %#x; the image has no XEN_ELFNOTE_PHYS32_ENTRY note", e)); err != nil {
			return nil, err
		}
	}
	return img, nil
}

// checkHeader validates the ELF identification and the Elf64_Ehdr fields
// the loader depends on (gABI ch. 4).
func checkHeader(image []byte) error {
	if len(image) < ehdrSize {
		return fmt.Errorf("loader: image truncated: the ELF header needs %#x bytes, the file has %#x", ehdrSize, len(image))
	}
	if string(image[:4]) != "\x7fELF" {
		return fmt.Errorf("loader: not an ELF image: the magic is % x, want 7f 45 4c 46", image[:4])
	}
	if c := image[eiClass]; c != elfClass64 {
		return fmt.Errorf("loader: ELF class is %d (%s), want 2 (ELFCLASS64)", c, lookup(c, map[byte]string{1: "ELFCLASS32"}))
	}
	if d := image[eiData]; d != elfData2LSB {
		return fmt.Errorf("loader: ELF data encoding is %d (%s), want 1 (ELFDATA2LSB, little endian)", d, lookup(d, map[byte]string{2: "ELFDATA2MSB, big endian"}))
	}
	if v := image[eiVersion]; v != evCurrent {
		return fmt.Errorf("loader: ELF identification version is %d, want 1 (EV_CURRENT)", v)
	}
	// EI_OSABI and EI_ABIVERSION are not checked: they mean nothing to a
	// freestanding kernel.
	if t := le.Uint16(image[offType:]); t != etExec {
		return fmt.Errorf("loader: ELF type is %d (%s), want 2 (ET_EXEC)", t, lookup(t, map[uint16]string{0: "ET_NONE", 1: "ET_REL", 3: "ET_DYN", 4: "ET_CORE"}))
	}
	if m := le.Uint16(image[offMachine:]); m != emX86_64 {
		return fmt.Errorf("loader: ELF machine is %d (%s), want 62 (EM_X86_64)", m, lookup(m, map[uint16]string{3: "EM_386", 40: "EM_ARM", 183: "EM_AARCH64", 243: "EM_RISCV"}))
	}
	if v := le.Uint32(image[offVersion:]); v != evCurrent {
		return fmt.Errorf("loader: e_version is %d, want 1 (EV_CURRENT)", v)
	}
	if s := le.Uint16(image[offEhsize:]); s != ehdrSize {
		return fmt.Errorf("loader: e_ehsize is %d, want %d (Elf64_Ehdr)", s, ehdrSize)
	}
	if s := le.Uint16(image[offPhentsize:]); s != phdrSize {
		return fmt.Errorf("loader: e_phentsize is %d, want %d (Elf64_Phdr)", s, phdrSize)
	}
	return nil
}

func lookup[K comparable](k K, names map[K]string) string {
	if n, ok := names[k]; ok {
		return n
	}
	return "unknown"
}

// readPhdr decodes an Elf64_Phdr (ELF-64 §6, Figure 6); b has at least
// phdrSize bytes.
func readPhdr(b []byte) phdr {
	return phdr{
		typ:    le.Uint32(b[0:]),
		flags:  le.Uint32(b[4:]),
		offset: le.Uint64(b[8:]),
		vaddr:  le.Uint64(b[16:]),
		paddr:  le.Uint64(b[24:]),
		filesz: le.Uint64(b[32:]),
		memsz:  le.Uint64(b[40:]),
		align:  le.Uint64(b[48:]),
	}
}

// fileRange checks that p's file bytes lie in the image and returns them.
func fileRange(image []byte, i int, p phdr) ([]byte, error) {
	end := p.offset + p.filesz
	if end < p.offset {
		return nil, fmt.Errorf("loader: segment %d: p_offset %#x + p_filesz %#x wraps around", i, p.offset, p.filesz)
	}
	if end > uint64(len(image)) {
		return nil, fmt.Errorf("loader: image truncated: segment %d needs file bytes %#x-%#x, the file has %#x", i, p.offset, end, len(image))
	}
	return image[p.offset:end:end], nil
}

// checkLoad validates PT_LOAD program header i. It returns nil, nil for a
// segment with p_memsz 0, which occupies no memory.
func checkLoad(image []byte, i int, p phdr, limits Limits) (*Segment, error) {
	if p.filesz > p.memsz {
		return nil, fmt.Errorf("loader: segment %d has p_filesz %#x larger than p_memsz %#x", i, p.filesz, p.memsz)
	}
	var data []byte
	if p.filesz > 0 {
		var err error
		if data, err = fileRange(image, i, p); err != nil {
			return nil, err
		}
	}
	// gABI ch. 5: "Values 0 and 1 mean no alignment is required.
	// Otherwise, p_align should be a positive, integral power of 2, and
	// p_vaddr should equal p_offset, modulo p_align."
	if p.align > 1 {
		if p.align&(p.align-1) != 0 {
			return nil, fmt.Errorf("loader: segment %d has p_align %#x, which is not a power of two", i, p.align)
		}
		if p.vaddr&(p.align-1) != p.offset&(p.align-1) {
			return nil, fmt.Errorf("loader: segment %d: p_vaddr %#x and p_offset %#x differ modulo p_align %#x", i, p.vaddr, p.offset, p.align)
		}
	}
	if p.memsz == 0 {
		return nil, nil
	}
	end := p.paddr + p.memsz
	if end < p.paddr {
		return nil, fmt.Errorf("loader: segment %d at %#x with p_memsz %#x wraps around the address space", i, p.paddr, p.memsz)
	}
	if p.vaddr+p.memsz < p.vaddr {
		return nil, fmt.Errorf("loader: segment %d at virtual address %#x with p_memsz %#x wraps around the address space", i, p.vaddr, p.memsz)
	}
	if end > limits.MemorySize {
		return nil, fmt.Errorf("loader: segment %d [%#x-%#x) does not fit in the domain's memory (%s)", i, p.paddr, end, sizeString(limits.MemorySize))
	}
	for _, r := range limits.Reserved {
		if r.Size > 0 && p.paddr < r.Addr+r.Size && r.Addr < end {
			return nil, fmt.Errorf("loader: segment %d [%#x-%#x) overlaps the reserved range [%#x-%#x) at %#x", i, p.paddr, end, r.Addr, r.Addr+r.Size, max(p.paddr, r.Addr))
		}
	}
	return &Segment{
		Index:   i,
		GPA:     p.paddr,
		VAddr:   p.vaddr,
		MemSize: p.memsz,
		Data:    data,
		Flags:   SegmentFlags(p.flags),
	}, nil
}

// parseNotes walks the notes of PT_NOTE program header i and returns the
// value of its XEN_ELFNOTE_PHYS32_ENTRY note, if any.
//
// Note layout (gABI ch. 5, "Note Section"): namesz, descsz, type (4 bytes
// each), then the name (namesz bytes including its NUL) and the descriptor
// (descsz bytes), each padded to the note alignment. That alignment is 4
// bytes, as the gABI and Xen's own ELFNOTE macro use; a segment with
// p_align 8 (as GNU property notes use) is walked with 8. Other notes are
// skipped; a missing final padding is tolerated, anything running past the
// segment is not.
func parseNotes(image []byte, i int, p phdr) (entry uint64, found bool, err error) {
	if p.filesz == 0 {
		return 0, false, nil
	}
	data, err := fileRange(image, i, p)
	if err != nil {
		return 0, false, err
	}
	align := uint64(4)
	if p.align == 8 {
		align = 8
	}
	n := uint64(len(data))
	for off := uint64(0); off < n; {
		if n-off < noteHdrSize {
			return 0, false, fmt.Errorf("loader: note segment %d: truncated note header at offset %#x (%d bytes left, a header needs %d)", i, off, n-off, noteHdrSize)
		}
		namesz := uint64(le.Uint32(data[off:]))
		descsz := uint64(le.Uint32(data[off+4:]))
		typ := le.Uint32(data[off+8:])
		// namesz and descsz are below 2^32: none of these sums overflow.
		nameOff := off + noteHdrSize
		descOff := alignUp(nameOff+namesz, align)
		descEnd := descOff + descsz
		if descEnd > n {
			return 0, false, fmt.Errorf("loader: note segment %d: the note at offset %#x (namesz %#x, descsz %#x) runs past the end of the segment (%#x bytes)", i, off, namesz, descsz, n)
		}
		if string(data[nameOff:nameOff+namesz]) == xenNoteName && typ == xenElfnotePhys32Entry {
			desc := data[descOff:descEnd]
			var v uint64
			switch descsz {
			case 4:
				v = uint64(le.Uint32(desc))
			case 8:
				v = le.Uint64(desc)
			default:
				return 0, false, fmt.Errorf("loader: note segment %d: the XEN_ELFNOTE_PHYS32_ENTRY note at offset %#x has a %d-byte value, want 4 or 8", i, off, descsz)
			}
			// The PVH entry runs in 32-bit mode with paging off.
			if v > math.MaxUint32 {
				return 0, false, fmt.Errorf("loader: note segment %d: the XEN_ELFNOTE_PHYS32_ENTRY entry point %#x is above 4 GiB", i, v)
			}
			if found && v != entry {
				return 0, false, fmt.Errorf("loader: note segment %d: XEN_ELFNOTE_PHYS32_ENTRY notes disagree: %#x and %#x", i, entry, v)
			}
			entry, found = v, true
		}
		off = min(alignUp(descEnd, align), n)
	}
	return entry, found, nil
}

func alignUp(v, a uint64) uint64 { return (v + a - 1) &^ (a - 1) }

// virtToGPA translates a virtual address through the executable segment
// whose [VAddr, VAddr+MemSize) contains it.
func (img *Image) virtToGPA(va uint64) (uint64, bool) {
	for i := range img.Segments {
		s := &img.Segments[i]
		if s.Flags&FlagExec != 0 && va >= s.VAddr && va-s.VAddr < s.MemSize {
			return s.GPA + (va - s.VAddr), true
		}
	}
	return 0, false
}

// checkEntry checks that gpa lies in the file bytes of an executable
// segment; what says where the address came from.
func (img *Image) checkEntry(gpa uint64, what string) error {
	for i := range img.Segments {
		s := &img.Segments[i]
		if gpa < s.GPA || gpa >= s.End() {
			continue
		}
		if s.Flags&FlagExec == 0 {
			return fmt.Errorf("loader: entry point %#x lies in segment %d [%#x-%#x), which is not executable: flags %v (%s)", gpa, s.Index, s.GPA, s.End(), s.Flags, what)
		}
		if gpa-s.GPA >= uint64(len(s.Data)) {
			return fmt.Errorf("loader: entry point %#x lies in the zero-filled tail of segment %d [%#x-%#x), past its %#x file bytes (%s)", gpa, s.Index, s.GPA, s.End(), len(s.Data), what)
		}
		return nil
	}
	return fmt.Errorf("loader: entry point %#x is outside every executable segment (%s)", gpa, what)
}

// sizeString formats a memory size for error messages, e.g. "16 MiB".
func sizeString(n uint64) string {
	const kiB, miB, giB = 1 << 10, 1 << 20, 1 << 30
	switch {
	case n >= giB && n%giB == 0:
		return fmt.Sprintf("%d GiB", n/giB)
	case n >= miB && n%miB == 0:
		return fmt.Sprintf("%d MiB", n/miB)
	case n >= kiB && n%kiB == 0:
		return fmt.Sprintf("%d KiB", n/kiB)
	}
	return fmt.Sprintf("%#x bytes", n)
}

// zeroPage is the source of Load's zero-fill. io.WriterAt implementations
// must not modify the slice they are given, so one shared page suffices.
var zeroPage [4096]byte

// Load writes each segment's file bytes at its GPA and zero-fills the rest
// of the segment, [GPA+len(Data), GPA+MemSize): guest memory is not assumed
// to be zeroed. w is the caller's view of the domain's memory, addressed by
// GPA (typically writing through the domain's EPT).
func (img *Image) Load(w io.WriterAt) error {
	for i := range img.Segments {
		s := &img.Segments[i]
		if s.End() < s.GPA || s.End() > math.MaxInt64 || uint64(len(s.Data)) > s.MemSize {
			return fmt.Errorf("loader: segment %d [%#x+%#x) cannot be loaded: not a valid load plan", s.Index, s.GPA, s.MemSize)
		}
		if err := writeFull(w, s.Data, s.GPA); err != nil {
			return fmt.Errorf("loader: loading segment %d at %#x: %w", s.Index, s.GPA, err)
		}
		for a := s.GPA + uint64(len(s.Data)); a < s.End(); {
			n := min(s.End()-a, uint64(len(zeroPage)))
			if err := writeFull(w, zeroPage[:n], a); err != nil {
				return fmt.Errorf("loader: zero-filling segment %d at %#x: %w", s.Index, a, err)
			}
			a += n
		}
	}
	return nil
}

func writeFull(w io.WriterAt, b []byte, at uint64) error {
	if len(b) == 0 {
		return nil
	}
	n, err := w.WriteAt(b, int64(at))
	if err == nil && n != len(b) {
		err = io.ErrShortWrite
	}
	return err
}

// String summarises the load plan, one segment a line.
func (img *Image) String() string {
	var sb strings.Builder
	fmt.Fprintf(&sb, "entry %#x (%v), GPAs [%#x-%#x)", img.Entry.Addr, img.Entry.Mode, img.Low, img.High)
	for _, s := range img.Segments {
		fmt.Fprintf(&sb, "\n  segment %d [%#x-%#x) %v file %#x", s.Index, s.GPA, s.End(), s.Flags, len(s.Data))
	}
	return sb.String()
}
