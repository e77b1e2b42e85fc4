package mbheader

import (
	"bytes"
	"errors"
	"fmt"
	"slices"
)

// ErrNoRoom reports that the first SlotLimit bytes of the file hold no zero
// padding large enough for a header.
var ErrNoRoom = errors.New("no room for the multiboot headers")

// Options adjust Patch.
type Options struct {
	// OmitMultiboot1 leaves the Multiboot (v1) header out (and clears one
	// an earlier run left in the padding). QEMU's -kernel loader looks for
	// a Multiboot (v1) header before the PVH note and refuses an ELF64
	// image whose header does not set flag 16 ("Cannot load x86-64 image,
	// give a 32bit one."), so an image QEMU boots through PVH must not have
	// one. QEMU does not know Multiboot2.
	OmitMultiboot1 bool
}

// Placement says where Patch put one header.
type Placement struct {
	// Offset and Size give the header's file range; Offset is -1 for a
	// header Patch did not write.
	Offset, Size int
	// Phys is the physical address at which the boot loader loads the
	// header with the image, if Loaded: a PT_LOAD's file data covers it.
	Phys   uint64
	Loaded bool
}

// Result says what Patch did.
type Result struct {
	MB1, MB2 Placement
	// PVH reports that the image has a PVH entry note (see Options).
	PVH bool
	// Unchanged reports that the file already held exactly these headers
	// at these offsets, valid: Patch rewrote them identically.
	Unchanged bool
}

// Patch validates the ELF image in file (see Validate) and writes the
// Multiboot2 header (Multiboot2Header) and, unless opts.OmitMultiboot1, the
// Multiboot header (Multiboot1Header) into its zero padding, in place. Only
// bytes in the first SlotLimit bytes change, and only if Patch succeeds.
//
// Padding is the bytes of the first SlotLimit that are zero and lie outside
// the ELF header, the program and section header tables, every section with
// file data, every program header's file range other than a PT_LOAD's, and
// every PT_LOAD's file range whose contents no section describes. Patch puts
// the Multiboot2 header at the first 8-byte aligned offset (MB2 §3.1.1)
// where both headers fit back to back, the Multiboot header right after it
// at a 4-byte boundary (MB1 §3.1.1); failing that, each header at the first
// place where it fits alone; failing that, it returns an error wrapping
// ErrNoRoom.
//
// Headers already in the padding (from an earlier run, or another tool) are
// cleared first, so Patch is idempotent: on an image it patched before it
// writes the same bytes at the same offsets and reports Unchanged.
//
// Finally Patch checks the result as a boot loader would: Scan must find the
// new headers and nothing before them, and no Multiboot or Multiboot2 magic
// may come before them either (some loaders stop at the first magic, checksum
// or not); with OmitMultiboot1, Scan must find no Multiboot header at all.
func Patch(file []byte, opts Options) (Result, error) {
	img, err := parse(file)
	if err != nil {
		return Result{}, err
	}
	limit := min(len(file), SlotLimit)

	// padding[i]: byte i is outside everything the image uses.
	padding := make([]bool, limit)
	for i := range padding {
		padding[i] = true
	}
	for _, s := range img.reserved {
		for i := s.start; i < s.end && i < uint64(limit); i++ {
			padding[i] = false
		}
	}
	inPadding := func(off, n int) bool {
		return off >= 0 && n >= 0 && off <= limit-n && !slices.Contains(padding[off:off+n], false)
	}

	// Clear earlier headers found in the padding.
	work := slices.Clone(file[:limit])
	for off := 0; off+MB1HeaderSize <= limit; off += MB1Align {
		if !isMB1(file, off) {
			continue
		}
		n := MB1HeaderSize
		if flags := le.Uint32(file[off+4:]); flags&MB1FlagVideoMode != 0 {
			n = 48
		} else if flags&MB1FlagAddress != 0 {
			n = 32
		}
		if inPadding(off, n) {
			clear(work[off : off+n])
		}
	}
	for off := 0; off+MB2FixedSize <= limit; off += MB2Align {
		if !isMB2(file, off) {
			continue
		}
		if n := int(le.Uint32(file[off+8:])); n >= MB2FixedSize && inPadding(off, n) {
			clear(work[off : off+n])
		}
	}

	mb2, mb1 := Multiboot2Header(), Multiboot1Header()
	if opts.OmitMultiboot1 {
		mb1 = nil
	}
	fits := func(off, n int) bool {
		return inPadding(off, n) && !slices.ContainsFunc(work[off:off+n], func(b byte) bool { return b != 0 })
	}
	first := func(align, n int, skip span) int {
		for off := 0; off+n <= limit; off += align {
			if uint64(off+n) <= skip.start || uint64(off) >= skip.end {
				if fits(off, n) {
					return off
				}
			}
		}
		return -1
	}
	o2, o1 := -1, -1
	if mb1 != nil {
		// Back to back; len(mb2) keeps the Multiboot header 4-byte aligned.
		for off := 0; off+len(mb2)+len(mb1) <= limit; off += MB2Align {
			if fits(off, len(mb2)+len(mb1)) {
				o2, o1 = off, off+len(mb2)
				break
			}
		}
	}
	if o2 < 0 {
		if o2 = first(MB2Align, len(mb2), span{}); o2 < 0 {
			return Result{}, fmt.Errorf("%w: the first %d bytes hold no run of %d zero bytes, 8-byte aligned, for the multiboot2 header outside the ELF header, the program and section header tables, the sections and the segments", ErrNoRoom, limit, len(mb2))
		}
		if mb1 != nil {
			if o1 = first(MB1Align, len(mb1), span{uint64(o2), uint64(o2 + len(mb2))}); o1 < 0 {
				return Result{}, fmt.Errorf("%w: the first %d bytes hold no run of %d zero bytes, 4-byte aligned, for the multiboot header outside the ELF header, the program and section header tables, the sections, the segments and the multiboot2 header at %#x", ErrNoRoom, limit, len(mb1), o2)
			}
		}
	}
	copy(work[o2:], mb2)
	if o1 >= 0 {
		copy(work[o1:], mb1)
	}

	if err := check(work, file, o1, o2); err != nil {
		return Result{}, err
	}
	res := Result{
		MB1:       Placement{Offset: o1, Size: len(mb1)},
		MB2:       Placement{Offset: o2, Size: len(mb2)},
		PVH:       img.pvh,
		Unchanged: bytes.Equal(work, file[:limit]),
	}
	if o1 >= 0 {
		res.MB1.Phys, res.MB1.Loaded = img.loadAddress(uint64(o1))
	}
	res.MB2.Phys, res.MB2.Loaded = img.loadAddress(uint64(o2))
	copy(file, work)
	return res, nil
}

// check verifies that a loader reading the patched file (prefix work, then
// the rest of file) finds the headers at o1 and o2, or no Multiboot header
// if o1 is -1.
func check(work, file []byte, o1, o2 int) error {
	b := append(slices.Clone(work), file[len(work):min(len(file), MB2Search)]...)
	if o1 < 0 {
		if off := findMB1(b[:min(len(b), MB1Search)]); off >= 0 {
			return fmt.Errorf("file offset %#x holds a multiboot header outside padding, which QEMU and GRUB would use", off)
		}
	}
	for off := 0; off < o1; off += MB1Align {
		if le.Uint32(b[off:]) == MB1Magic {
			return fmt.Errorf("file offset %#x holds the multiboot magic %#x outside padding, before the new header at %#x: a boot loader would take it for the header", off, uint32(MB1Magic), o1)
		}
	}
	for off := 0; off < o2; off += MB2Align {
		if le.Uint32(b[off:]) == MB2Magic {
			return fmt.Errorf("file offset %#x holds the multiboot2 magic %#x outside padding, before the new header at %#x: a boot loader would take it for the header", off, uint32(MB2Magic), o2)
		}
	}
	s1, s2, err := Scan(b)
	if o1 < 0 && errors.Is(err, ErrNoMultiboot1) && s2 >= 0 {
		err = nil // only the Multiboot header is missing, as asked
	}
	if err != nil || s1 != o1 || s2 != o2 {
		// Unreachable unless the header builders are wrong.
		return fmt.Errorf("internal error: patched image scans as multiboot at %d, multiboot2 at %d (want %#x, %#x): %v", s1, s2, o1, o2, err)
	}
	return nil
}
