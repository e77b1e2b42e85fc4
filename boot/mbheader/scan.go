package mbheader

import (
	"errors"
	"fmt"
)

var (
	// ErrNoMultiboot1 reports that no Multiboot header with a valid
	// checksum lies 4-byte aligned in the first MB1Search bytes.
	ErrNoMultiboot1 = errors.New("no multiboot header in the first 8192 bytes")
	// ErrNoMultiboot2 reports that no Multiboot2 header for i386 with a
	// valid checksum lies 8-byte aligned in the first MB2Search bytes.
	ErrNoMultiboot2 = errors.New("no multiboot2 header in the first 32768 bytes")
)

// Scan finds the Multiboot and Multiboot2 headers of an image the way GRUB
// does and validates them.
//
// Multiboot: the first offset that is a multiple of 4, with the 12 bytes of
// magic, flags and checksum inside the first 8192 bytes, whose magic is
// MB1Magic and whose magic+flags+checksum is 0 (MB1 §3.1.1, §3.1.2). The
// header is valid if it sets no flag GRUB does not support (bits 3-15) and
// the fields its flags call for also lie inside the first 8192 bytes.
//
// Multiboot2: the first offset that is a multiple of 8, with the 16 magic
// bytes inside the first 32768 bytes, whose magic is MB2Magic, architecture
// MB2ArchI386 and magic+architecture+header_length+checksum 0 (MB2 §3.1.1,
// §3.1.2). The header is valid if header_length stays inside the first
// 32768 bytes and the tags are well formed (§3.1.3): each 8-byte aligned,
// at least 8 bytes, inside header_length, of a size right for its type, the
// last one an end tag of size 8, no required tag or required information
// request GRUB does not know, and no address tag without an entry tag.
//
// A header that is found is the one GRUB would use: an invalid one makes the
// image unbootable with that protocol, even if a valid header follows.
//
// Scan returns each header's file offset, or -1 if it is missing or invalid;
// err is nil only if both are present and valid, and otherwise joins
// ErrNoMultiboot1 or ErrNoMultiboot2 (test with errors.Is) and a description
// of each invalid header.
func Scan(file []byte) (mb1Offset, mb2Offset int, err error) {
	mb1Offset, err1 := scanMB1(file)
	mb2Offset, err2 := scanMB2(file)
	return mb1Offset, mb2Offset, errors.Join(err1, err2)
}

func scanMB1(file []byte) (int, error) {
	limit := min(len(file), MB1Search)
	off := findMB1(file[:limit])
	if off < 0 {
		return -1, ErrNoMultiboot1
	}
	if err := checkMB1(file[:limit], off); err != nil {
		return -1, fmt.Errorf("multiboot header at file offset %#x: %w", off, err)
	}
	return off, nil
}

// findMB1 returns the offset of the first candidate header in b, GRUB's
// way, or -1.
func findMB1(b []byte) int {
	for off := 0; off+MB1HeaderSize <= len(b); off += MB1Align {
		if isMB1(b, off) {
			return off
		}
	}
	return -1
}

// isMB1 reports whether b holds a Multiboot header magic with a valid
// checksum at off; off+MB1HeaderSize must not exceed len(b).
func isMB1(b []byte, off int) bool {
	magic, flags, sum := le.Uint32(b[off:]), le.Uint32(b[off+4:]), le.Uint32(b[off+8:])
	return magic == MB1Magic && magic+flags+sum == 0
}

// checkMB1 validates the header at off in b, the first MB1Search bytes.
func checkMB1(b []byte, off int) error {
	flags := le.Uint32(b[off+4:])
	if flags&MB1Unsupported != 0 {
		return fmt.Errorf("flags %#x require features GRUB does not support (bits %#x)", flags, flags&MB1Unsupported)
	}
	size := MB1HeaderSize
	if flags&MB1FlagAddress != 0 {
		size = 32 // header_addr .. entry_addr (MB1 §3.1.3)
	}
	if flags&MB1FlagVideoMode != 0 {
		size = 48 // mode_type .. depth (MB1 §3.1.4)
	}
	if off+size > len(b) {
		return fmt.Errorf("flags %#x need a %d-byte header, which does not fit in the first %d bytes of the file", flags, size, MB1Search)
	}
	return nil
}

func scanMB2(file []byte) (int, error) {
	limit := min(len(file), MB2Search)
	off := findMB2(file[:limit])
	if off < 0 {
		return -1, ErrNoMultiboot2
	}
	if err := checkMB2(file[:limit], off); err != nil {
		return -1, fmt.Errorf("multiboot2 header at file offset %#x: %w", off, err)
	}
	return off, nil
}

// findMB2 returns the offset of the first candidate header in b, GRUB's
// way, or -1.
func findMB2(b []byte) int {
	for off := 0; off+MB2FixedSize <= len(b); off += MB2Align {
		if isMB2(b, off) && le.Uint32(b[off+4:]) == MB2ArchI386 {
			return off
		}
	}
	return -1
}

// isMB2 reports whether b holds a Multiboot2 header magic with a valid
// checksum at off, for any architecture; off+MB2FixedSize must not exceed
// len(b).
func isMB2(b []byte, off int) bool {
	magic, arch, length, sum := le.Uint32(b[off:]), le.Uint32(b[off+4:]), le.Uint32(b[off+8:]), le.Uint32(b[off+12:])
	return magic == MB2Magic && magic+arch+length+sum == 0
}

// tagSizes gives the size of each fixed-size header tag (MB2 §3.1.3-§3.1.13).
var tagSizes = map[uint16]uint32{
	TagEnd:               8,
	TagAddress:           24,
	TagEntryAddress:      12,
	TagConsoleFlags:      12,
	TagFramebuffer:       20,
	TagModuleAlign:       8,
	TagEFIBootServices:   8,
	TagEntryAddressEFI32: 12,
	TagEntryAddressEFI64: 12,
	TagRelocatable:       24,
}

// checkMB2 validates the header at off in b, the first MB2Search bytes.
func checkMB2(b []byte, off int) error {
	length := uint64(le.Uint32(b[off+8:]))
	if length < MB2FixedSize+8 {
		return fmt.Errorf("header_length %d is too short for the magic fields and an end tag", length)
	}
	end := uint64(off) + length
	if end > uint64(len(b)) {
		return fmt.Errorf("header_length %d runs past file offset %#x (end of file or of the first %d bytes)", length, len(b), MB2Search)
	}
	var address, entry, efiBS, efiEntry bool
	for p := uint64(off) + MB2FixedSize; ; {
		if p+8 > end {
			return fmt.Errorf("no end tag within header_length %d", length)
		}
		typ, flags, size := le.Uint16(b[p:]), le.Uint16(b[p+2:]), le.Uint32(b[p+4:])
		if size < 8 {
			return fmt.Errorf("tag type %d at file offset %#x: size %d is less than 8", typ, p, size)
		}
		if p+uint64(size) > end {
			return fmt.Errorf("tag type %d at file offset %#x: size %d runs past header_length %d", typ, p, size, length)
		}
		if want, ok := tagSizes[typ]; ok && size != want {
			return fmt.Errorf("tag type %d at file offset %#x: size %d, want %d", typ, p, size, want)
		}
		required := flags&MB2TagOptional == 0
		switch typ {
		case TagEnd:
			if address && !entry && !(efiBS && efiEntry) {
				return errors.New("address tag without entry address tag")
			}
			return nil
		case TagInformationRequest:
			if (size-8)%4 != 0 {
				return fmt.Errorf("information request tag at file offset %#x: size %d is not 8 plus a multiple of 4", p, size)
			}
			if required {
				for q := p + 8; q < p+uint64(size); q += 4 {
					if t := le.Uint32(b[q:]); t > infoMaxKnown {
						return fmt.Errorf("required information request tag at file offset %#x asks for unknown information type %d", p, t)
					}
				}
			}
		case TagAddress:
			address = true
		case TagEntryAddress:
			entry = true
		case TagEFIBootServices:
			efiBS = true
		case TagEntryAddressEFI32, TagEntryAddressEFI64:
			efiEntry = true
		case TagConsoleFlags, TagFramebuffer, TagModuleAlign, TagRelocatable:
		default:
			if required {
				return fmt.Errorf("required tag at file offset %#x has unknown type %d", p, typ)
			}
		}
		p += (uint64(size) + MB2TagAlign - 1) &^ (MB2TagAlign - 1)
	}
}
