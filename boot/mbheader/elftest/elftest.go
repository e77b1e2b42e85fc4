// Package elftest builds minimal ELF64 images for the tests of
// tamavisor/boot/mbheader and cmd/mkboot. It is test support: no code that
// ships imports it.
package elftest

import (
	"debug/elf"
	"encoding/binary"
)

var le = binary.LittleEndian

// Prog is one program header.
type Prog struct {
	Type                                    elf.ProgType
	Flags                                   elf.ProgFlag
	Off, Vaddr, Paddr, Filesz, Memsz, Align uint64
}

// Section is one section header; Build adds the null section 0 and
// .shstrtab.
type Section struct {
	Name            string
	Type            elf.SectionType
	Flags           elf.SectionFlag
	Addr, Off, Size uint64
}

// Spec describes an image. Zero fields take the value of a valid x86-64
// executable: ELFCLASS64, ELFDATA2LSB, EM_X86_64, ET_EXEC.
type Spec struct {
	Machine elf.Machine
	Type    elf.Type
	Entry   uint64
	// PhOff is the program header table's offset; 0 means 64, right after
	// the ELF header.
	PhOff uint64
	Progs []Prog
	// ShOff is the section header table's offset, if there are Sections;
	// 0 means at the end of the file.
	ShOff    uint64
	Sections []Section
	// Size is the least file size.
	Size int
	// ZeroData leaves section and segment contents zero; otherwise Build
	// fills the sections' file ranges, or without sections the program
	// headers' file ranges, with 0x90 (NOP).
	ZeroData bool
	// Contents are written at their file offsets after the fill.
	Contents map[uint64][]byte
}

// Build returns the image.
func (s Spec) Build() []byte {
	if s.Machine == 0 {
		s.Machine = elf.EM_X86_64
	}
	if s.Type == 0 {
		s.Type = elf.ET_EXEC
	}
	if s.PhOff == 0 {
		s.PhOff = 64
	}
	size := uint64(s.Size)
	size = max(size, s.PhOff+uint64(56*len(s.Progs)))
	for _, p := range s.Progs {
		size = max(size, p.Off+p.Filesz)
	}
	for _, sec := range s.Sections {
		if sec.Type != elf.SHT_NOBITS {
			size = max(size, sec.Off+sec.Size)
		}
	}

	// .shstrtab after the data, then the section header table.
	var strtab []byte
	var names []uint32
	var strOff, shOff uint64
	nsec := 0
	if len(s.Sections) > 0 {
		strtab = []byte{0}
		for _, sec := range s.Sections {
			names = append(names, uint32(len(strtab)))
			strtab = append(append(strtab, sec.Name...), 0)
		}
		names = append(names, uint32(len(strtab)))
		strtab = append(append(strtab, ".shstrtab"...), 0)
		strOff = size
		size += uint64(len(strtab))
		nsec = len(s.Sections) + 2
		shOff = s.ShOff
		if shOff == 0 {
			shOff = (size + 7) &^ 7
		}
		size = max(size, shOff+uint64(64*nsec))
	}

	b := make([]byte, size)
	if !s.ZeroData {
		fill := func(off, n uint64) {
			for i := off; i < off+n; i++ {
				b[i] = 0x90
			}
		}
		if len(s.Sections) > 0 {
			for _, sec := range s.Sections {
				if sec.Type != elf.SHT_NOBITS {
					fill(sec.Off, sec.Size)
				}
			}
		} else {
			for _, p := range s.Progs {
				fill(p.Off, p.Filesz)
			}
		}
	}

	for off, c := range s.Contents {
		copy(b[off:], c)
	}

	if len(s.Sections) > 0 {
		copy(b[strOff:], strtab)
		sh := b[shOff+64:] // section 0 stays null
		put := func(name uint32, typ elf.SectionType, flags elf.SectionFlag, addr, off, size uint64) {
			le.PutUint32(sh[0:], name)
			le.PutUint32(sh[4:], uint32(typ))
			le.PutUint64(sh[8:], uint64(flags))
			le.PutUint64(sh[16:], addr)
			le.PutUint64(sh[24:], off)
			le.PutUint64(sh[32:], size)
			le.PutUint64(sh[48:], 1) // sh_addralign
			sh = sh[64:]
		}
		for i, sec := range s.Sections {
			put(names[i], sec.Type, sec.Flags, sec.Addr, sec.Off, sec.Size)
		}
		put(names[len(names)-1], elf.SHT_STRTAB, 0, 0, strOff, uint64(len(strtab)))
	}

	copy(b, elf.ELFMAG)
	b[elf.EI_CLASS] = byte(elf.ELFCLASS64)
	b[elf.EI_DATA] = byte(elf.ELFDATA2LSB)
	b[elf.EI_VERSION] = byte(elf.EV_CURRENT)
	le.PutUint16(b[16:], uint16(s.Type))
	le.PutUint16(b[18:], uint16(s.Machine))
	le.PutUint32(b[20:], uint32(elf.EV_CURRENT))
	le.PutUint64(b[24:], s.Entry)
	le.PutUint64(b[32:], s.PhOff)
	le.PutUint64(b[40:], shOff)
	le.PutUint16(b[52:], 64)
	le.PutUint16(b[54:], 56)
	le.PutUint16(b[56:], uint16(len(s.Progs)))
	le.PutUint16(b[58:], 64)
	le.PutUint16(b[60:], uint16(nsec))
	if nsec > 0 {
		le.PutUint16(b[62:], uint16(nsec-1))
	}
	for i, p := range s.Progs {
		ph := b[s.PhOff+uint64(56*i):]
		le.PutUint32(ph[0:], uint32(p.Type))
		le.PutUint32(ph[4:], uint32(p.Flags))
		le.PutUint64(ph[8:], p.Off)
		le.PutUint64(ph[16:], p.Vaddr)
		le.PutUint64(ph[24:], p.Paddr)
		le.PutUint64(ph[32:], p.Filesz)
		le.PutUint64(ph[40:], p.Memsz)
		le.PutUint64(ph[48:], p.Align)
	}
	return b
}

// Link is where Simple and GoLike put .text, as the hypervisor's Makefile
// does (boot.LinkAddress).
const Link = 0x0101_0000

// Simple is the smallest valid image: the ELF header and one program
// header, zero padding, then one executable PT_LOAD at file offset 0x1000
// holding the entry point. It has no section headers.
func Simple() Spec {
	return Spec{
		Entry: Link,
		Progs: []Prog{
			{Type: elf.PT_LOAD, Flags: elf.PF_R | elf.PF_X, Off: 0x1000, Vaddr: Link, Paddr: Link, Filesz: 0x1000, Memsz: 0x1000, Align: 0x1000},
		},
	}
}

// GoLike lays an image out as the TamaGo linker does with -T Link -R 0x1000:
// program headers at 0x40, the section header table right after them, the
// PVH and build ID notes at the end of the first page, and a first PT_LOAD
// that starts at file offset 0 (so it covers the ELF header, the header
// tables and the padding), then read-only and read-write segments, and
// non-allocated debug and symbol sections. The PVH note holds the entry
// point, as the TamaGo linker writes it.
func GoLike() Spec {
	const base = Link - 0x1000
	return Spec{
		Entry:    Link + 0x180,
		ShOff:    0x190,
		Contents: map[uint64][]byte{0xf60: PVHNote(Link + 0x180)},
		Progs: []Prog{
			{Type: elf.PT_PHDR, Flags: elf.PF_R, Off: 0x40, Vaddr: base + 0x40, Paddr: base + 0x40, Filesz: 6 * 56, Memsz: 6 * 56, Align: 0x1000},
			{Type: elf.PT_NOTE, Flags: elf.PF_R, Off: 0xf60, Vaddr: base + 0xf60, Paddr: base + 0xf60, Filesz: 0x18, Memsz: 0x18, Align: 4},
			{Type: elf.PT_LOAD, Flags: elf.PF_R | elf.PF_X, Off: 0, Vaddr: base, Paddr: base, Filesz: 0x3000, Memsz: 0x3000, Align: 0x1000},
			{Type: elf.PT_LOAD, Flags: elf.PF_R, Off: 0x3000, Vaddr: base + 0x3000, Paddr: base + 0x3000, Filesz: 0x800, Memsz: 0x800, Align: 0x1000},
			{Type: elf.PT_LOAD, Flags: elf.PF_R | elf.PF_W, Off: 0x4000, Vaddr: base + 0x4000, Paddr: base + 0x4000, Filesz: 0x400, Memsz: 0x10000, Align: 0x1000},
			{Type: elf.PT_GNU_STACK, Flags: elf.PF_R | elf.PF_W, Align: 8},
		},
		Sections: []Section{
			{Name: ".note.go.pvh", Type: elf.SHT_NOTE, Flags: elf.SHF_ALLOC, Addr: base + 0xf60, Off: 0xf60, Size: 0x18},
			{Name: ".note.go.buildid", Type: elf.SHT_NOTE, Flags: elf.SHF_ALLOC, Addr: base + 0xf78, Off: 0xf78, Size: 0x64},
			{Name: ".text", Type: elf.SHT_PROGBITS, Flags: elf.SHF_ALLOC | elf.SHF_EXECINSTR, Addr: Link, Off: 0x1000, Size: 0x2000},
			{Name: ".rodata", Type: elf.SHT_PROGBITS, Flags: elf.SHF_ALLOC, Addr: base + 0x3000, Off: 0x3000, Size: 0x800},
			{Name: ".data", Type: elf.SHT_PROGBITS, Flags: elf.SHF_ALLOC | elf.SHF_WRITE, Addr: base + 0x4000, Off: 0x4000, Size: 0x400},
			{Name: ".bss", Type: elf.SHT_NOBITS, Flags: elf.SHF_ALLOC | elf.SHF_WRITE, Addr: base + 0x4400, Off: 0x4400, Size: 0xfc00},
			{Name: ".debug_info", Type: elf.SHT_PROGBITS, Off: 0x4400, Size: 0x100},
			{Name: ".symtab", Type: elf.SHT_SYMTAB, Off: 0x4500, Size: 0x60},
		},
	}
}

// PVHNote returns a Xen PVH entry note (XEN_ELFNOTE_PHYS32_ENTRY) for
// entry, laid out as the TamaGo linker writes it: name "Xen", 8-byte
// descriptor.
func PVHNote(entry uint64) []byte {
	b := le.AppendUint32(nil, 4) // namesz
	b = le.AppendUint32(b, 8)    // descsz
	b = le.AppendUint32(b, 18)   // type
	b = append(b, "Xen\x00"...)
	return le.AppendUint64(b, entry)
}
