package mbheader

import (
	"bytes"
	"debug/elf"
	"fmt"
	"math"
)

// ELF64 structure sizes (System V gABI).
const (
	ehdrSize = 64
	phdrSize = 56
	shdrSize = 64
	pnXNum   = 0xffff // e_phnum escape: the count is in section 0's sh_info
	shnXIdx  = 0xffff // e_shstrndx escape: the index is in section 0's sh_link
)

// fourGiB bounds what 32-bit protected mode with paging off can address.
const fourGiB = 1 << 32

// span is a half-open file range [start, end).
type span struct{ start, end uint64 }

type prog struct {
	typ                              elf.ProgType
	flags                            elf.ProgFlag
	off, vaddr, paddr, filesz, memsz uint64
}

type section struct {
	name      string
	typ       elf.SectionType
	off, size uint64
}

// occupiesFile reports whether the section has bytes in the file.
func (s *section) occupiesFile() bool {
	return s.typ != elf.SHT_NULL && s.typ != elf.SHT_NOBITS && s.size > 0
}

// image is what Patch needs to know about a valid ELF file.
type image struct {
	entry, physEntry uint64
	progs            []prog
	// pvh reports a Xen PVH entry note (XEN_ELFNOTE_PHYS32_ENTRY) in a
	// PT_NOTE segment: QEMU's -kernel boots the image through it.
	pvh bool
	// reserved lists the file ranges that are not padding: the ELF header,
	// the program and section header tables, every section with file data,
	// every program header's file range other than a PT_LOAD's, and every
	// PT_LOAD's file range unless sections describe its contents.
	reserved []span
}

// Validate checks that file is an image GRUB can load by its program headers
// (MB1 §3.1.3 with flag 16 clear, MB2 §3.1.5 without an address tag) and
// enter in 32-bit protected mode:
//
//   - ELF64, little-endian, EV_CURRENT, EM_X86_64, ET_EXEC;
//   - the program header table inside the file and inside the first 8192
//     bytes, where GRUB reads it;
//   - at least one PT_LOAD, each with p_filesz <= p_memsz, its file range
//     inside the file and its physical range [p_paddr, p_paddr+p_memsz)
//     below 4 GiB (GRUB refuses a segment reaching 4 GiB);
//   - e_entry below 4 GiB and inside the file data of an executable PT_LOAD,
//     and the first program header containing it (the one GRUB uses to
//     translate e_entry to a physical address) agreeing with that PT_LOAD;
//   - the section header table and every section with file data inside the
//     file, and no SHT_REL or SHT_RELA section (GRUB's multiboot2 loader
//     refuses relocations).
//
// The error, if any, names the first failing field and its value.
func Validate(file []byte) error {
	_, err := parse(file)
	return err
}

func parse(file []byte) (*image, error) {
	size := uint64(len(file))
	if len(file) < elf.EI_NIDENT || !bytes.Equal(file[:4], []byte(elf.ELFMAG)) {
		return nil, fmt.Errorf("not an ELF file: magic % x, want 7f 45 4c 46", file[:min(len(file), 4)])
	}
	if c := elf.Class(file[elf.EI_CLASS]); c != elf.ELFCLASS64 {
		return nil, fmt.Errorf("ELF class %v (e_ident[EI_CLASS] = %d), want ELFCLASS64", c, uint8(c))
	}
	if d := elf.Data(file[elf.EI_DATA]); d != elf.ELFDATA2LSB {
		return nil, fmt.Errorf("ELF data encoding %v (e_ident[EI_DATA] = %d), want ELFDATA2LSB", d, uint8(d))
	}
	if len(file) < ehdrSize {
		return nil, fmt.Errorf("file is %d bytes, too short for an ELF64 header", len(file))
	}
	if m := elf.Machine(le.Uint16(file[18:])); m != elf.EM_X86_64 {
		return nil, fmt.Errorf("e_machine %v (%d), want EM_X86_64 (%d)", m, uint16(m), uint16(elf.EM_X86_64))
	}
	if t := elf.Type(le.Uint16(file[16:])); t != elf.ET_EXEC {
		return nil, fmt.Errorf("e_type %v (%d), want ET_EXEC (%d)", t, uint16(t), uint16(elf.ET_EXEC))
	}
	if v := le.Uint32(file[20:]); v != uint32(elf.EV_CURRENT) {
		return nil, fmt.Errorf("e_version %d, want EV_CURRENT (1)", v)
	}
	entry := le.Uint64(file[24:])
	phoff, shoff := le.Uint64(file[32:]), le.Uint64(file[40:])
	ehsize, phentsize, phnum := le.Uint16(file[52:]), uint64(le.Uint16(file[54:])), uint64(le.Uint16(file[56:]))
	shentsize, shnum, shstrndx := uint64(le.Uint16(file[58:])), uint64(le.Uint16(file[60:])), uint64(le.Uint16(file[62:]))
	if ehsize != ehdrSize {
		return nil, fmt.Errorf("e_ehsize %d, want %d", ehsize, ehdrSize)
	}

	img := &image{entry: entry}
	img.reserved = append(img.reserved, span{0, ehdrSize})

	// Section header table (gABI "Sections"), read first: with more than
	// 0xfeff entries, section 0 holds the real counts.
	var sections []section
	if shoff != 0 {
		if shentsize < shdrSize {
			return nil, fmt.Errorf("e_shentsize %d, want at least %d", shentsize, shdrSize)
		}
		if shoff > size || size-shoff < shentsize {
			return nil, fmt.Errorf("e_shoff %#x: section header table starts past end of file (%#x bytes)", shoff, size)
		}
		sh0 := file[shoff:]
		if shnum == 0 {
			shnum = le.Uint64(sh0[32:]) // sh_size
		}
		if phnum == pnXNum {
			phnum = uint64(le.Uint32(sh0[44:])) // sh_info
		}
		if shstrndx == shnXIdx {
			shstrndx = uint64(le.Uint32(sh0[40:])) // sh_link
		}
		if shnum > (size-shoff)/shentsize {
			return nil, fmt.Errorf("section header table [%#x, %#x) extends past end of file (%#x bytes)", shoff, satAdd(shoff, satMul(shnum, shentsize)), size)
		}
		img.reserved = append(img.reserved, span{shoff, shoff + shnum*shentsize})
		for i := range shnum {
			sh := file[shoff+i*shentsize:]
			sections = append(sections, section{
				typ:  elf.SectionType(le.Uint32(sh[4:])),
				off:  le.Uint64(sh[24:]),
				size: le.Uint64(sh[32:]),
			})
		}
		nameSections(file, shoff, shentsize, shstrndx, sections)
		for i := range sections {
			s := &sections[i]
			if s.typ == elf.SHT_REL || s.typ == elf.SHT_RELA {
				return nil, fmt.Errorf("%s has type %v: GRUB's multiboot2 loader refuses relocations", sectionName(i, s), s.typ)
			}
			if !s.occupiesFile() {
				continue
			}
			if s.off > size || size-s.off < s.size {
				return nil, fmt.Errorf("%s: file range [%#x, %#x) extends past end of file (%#x bytes)", sectionName(i, s), s.off, satAdd(s.off, s.size), size)
			}
			img.reserved = append(img.reserved, span{s.off, s.off + s.size})
		}
	}

	// Program header table: GRUB reads it from the first MULTIBOOT_SEARCH
	// bytes it loaded ("program header at a too high offset").
	if phnum > 0 && phentsize < phdrSize {
		return nil, fmt.Errorf("e_phentsize %d, want at least %d", phentsize, phdrSize)
	}
	if phoff > size || phnum > (size-phoff)/max(phentsize, 1) {
		return nil, fmt.Errorf("program header table at e_phoff %#x (%d entries) extends past end of file (%#x bytes)", phoff, phnum, size)
	}
	phend := phoff + phnum*phentsize
	if phend > MB1Search {
		return nil, fmt.Errorf("program header table [%#x, %#x) ends past the first %d bytes, where GRUB reads it", phoff, phend, MB1Search)
	}
	img.reserved = append(img.reserved, span{phoff, phend})
	for i := range phnum {
		ph := file[phoff+i*phentsize:]
		img.progs = append(img.progs, prog{
			typ:    elf.ProgType(le.Uint32(ph[0:])),
			flags:  elf.ProgFlag(le.Uint32(ph[4:])),
			off:    le.Uint64(ph[8:]),
			vaddr:  le.Uint64(ph[16:]),
			paddr:  le.Uint64(ph[24:]),
			filesz: le.Uint64(ph[32:]),
			memsz:  le.Uint64(ph[40:]),
		})
	}

	loads := 0
	for i, p := range img.progs {
		if p.filesz > 0 && (p.off > size || size-p.off < p.filesz) {
			return nil, fmt.Errorf("program header %d (%v): file range [%#x, %#x) extends past end of file (%#x bytes)", i, p.typ, p.off, satAdd(p.off, p.filesz), size)
		}
		if p.typ != elf.PT_LOAD {
			if p.filesz > 0 {
				img.reserved = append(img.reserved, span{p.off, p.off + p.filesz})
			}
			if p.typ == elf.PT_NOTE && hasPVHNote(file[p.off:p.off+p.filesz]) {
				img.pvh = true
			}
			continue
		}
		loads++
		if p.filesz > p.memsz {
			return nil, fmt.Errorf("program header %d (PT_LOAD): p_filesz %#x exceeds p_memsz %#x", i, p.filesz, p.memsz)
		}
		if p.paddr >= fourGiB || p.memsz >= fourGiB-p.paddr {
			return nil, fmt.Errorf("program header %d (PT_LOAD): physical range [%#x, %#x) is not below 4 GiB", i, p.paddr, satAdd(p.paddr, p.memsz))
		}
		if p.filesz > 0 && !holdsSections(p, sections) {
			img.reserved = append(img.reserved, span{p.off, p.off + p.filesz})
		}
	}
	if loads == 0 {
		return nil, fmt.Errorf("no PT_LOAD segment among %d program headers", len(img.progs))
	}

	if entry >= fourGiB {
		return nil, fmt.Errorf("entry point %#x is not below 4 GiB (it runs in 32-bit protected mode)", entry)
	}
	exec := -1
	for i, p := range img.progs {
		if p.typ == elf.PT_LOAD && p.flags&elf.PF_X != 0 && entry >= p.vaddr && entry-p.vaddr < p.filesz {
			exec = i
			break
		}
	}
	if exec < 0 {
		return nil, fmt.Errorf("entry point %#x is not inside any executable PT_LOAD segment", entry)
	}
	p := img.progs[exec]
	img.physEntry = entry - p.vaddr + p.paddr
	// GRUB translates e_entry through the first program header of any type
	// whose [p_vaddr, p_vaddr+p_memsz) holds it.
	for i, q := range img.progs {
		if entry >= q.vaddr && entry-q.vaddr < q.memsz {
			if phys := entry - q.vaddr + q.paddr; phys != img.physEntry {
				return nil, fmt.Errorf("entry point %#x: GRUB would translate it through program header %d (%v) to physical %#x, not through program header %d (PT_LOAD) to %#x", entry, i, q.typ, phys, exec, img.physEntry)
			}
			break
		}
	}
	return img, nil
}

// holdsSections reports whether sections describe the file contents of the
// PT_LOAD p: at least one section with file data lies inside its file range.
// Then the bytes of p that belong to no section are linker padding (the Go
// linker's first PT_LOAD starts at file offset 0 and covers the ELF header,
// the header tables and the padding before .text); otherwise all of p is
// taken to be data.
func holdsSections(p prog, sections []section) bool {
	for i := range sections {
		s := &sections[i]
		if s.occupiesFile() && s.off >= p.off && s.off-p.off < p.filesz && s.size <= p.filesz-(s.off-p.off) {
			return true
		}
	}
	return false
}

// nameSections fills in section names from the section name string table,
// where it is well formed.
func nameSections(file []byte, shoff, shentsize, shstrndx uint64, sections []section) {
	if shstrndx == 0 || shstrndx >= uint64(len(sections)) {
		return
	}
	str := sections[shstrndx]
	if str.typ != elf.SHT_STRTAB || str.off > uint64(len(file)) || uint64(len(file))-str.off < str.size {
		return
	}
	tab := file[str.off : str.off+str.size]
	for i := range sections {
		name := uint64(le.Uint32(file[shoff+uint64(i)*shentsize:]))
		if name >= uint64(len(tab)) {
			continue
		}
		if n := bytes.IndexByte(tab[name:], 0); n >= 0 {
			sections[i].name = string(tab[name : name+uint64(n)])
		}
	}
}

func sectionName(i int, s *section) string {
	if s.name == "" {
		return fmt.Sprintf("section %d", i)
	}
	return fmt.Sprintf("section %d (%s)", i, s.name)
}

// loadAddress returns the physical address at which GRUB loads file offset
// off, if a PT_LOAD's file data covers it.
func (img *image) loadAddress(off uint64) (uint64, bool) {
	for _, p := range img.progs {
		if p.typ == elf.PT_LOAD && off >= p.off && off-p.off < p.filesz {
			return p.paddr + (off - p.off), true
		}
	}
	return 0, false
}

// xenPVHEntry is XEN_ELFNOTE_PHYS32_ENTRY, the note type of the PVH entry
// point (Xen's public/elfnote.h), which QEMU looks for in PT_NOTE segments.
const xenPVHEntry = 18

// hasPVHNote reports whether the notes in b (gABI "Note Section") include a
// Xen PVH entry note.
func hasPVHNote(b []byte) bool {
	for len(b) >= 12 {
		namesz, descsz, typ := uint64(le.Uint32(b)), uint64(le.Uint32(b[4:])), le.Uint32(b[8:])
		b = b[12:]
		n, d := (namesz+3)&^3, (descsz+3)&^3
		if n > uint64(len(b)) {
			return false
		}
		name := b[:namesz]
		b = b[n:]
		if d > uint64(len(b)) {
			return false
		}
		if typ == xenPVHEntry && string(name) == "Xen\x00" && descsz >= 4 {
			return true
		}
		b = b[d:]
	}
	return false
}

// satAdd and satMul compute file ranges for error messages without wrapping.
func satAdd(a, b uint64) uint64 {
	if a > math.MaxUint64-b {
		return math.MaxUint64
	}
	return a + b
}

func satMul(a, b uint64) uint64 {
	if b != 0 && a > math.MaxUint64/b {
		return math.MaxUint64
	}
	return a * b
}
