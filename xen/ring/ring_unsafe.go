package ring

// This file holds the package's only use of unsafe. Go's sync/atomic works on
// *uint32, while the shared page reaches us as a []byte (the caller's mapping
// of a frame another domain also maps), so there is no other way to load and
// store its 32-bit indices atomically: encoding/binary would tear and would
// order nothing. The conversions are checked (bounds, 4-byte alignment of the
// page, checked by NewPage, and of the offset), so they never reach outside
// the slice.

import (
	"fmt"
	"sync/atomic"
	"unsafe"
)

// aligned4 reports whether b starts at a 4-byte aligned address.
func aligned4(b []byte) bool {
	return uintptr(unsafe.Pointer(unsafe.SliceData(b)))&3 == 0
}

// word returns the address of the aligned 32-bit word at off. An offset
// outside the page, or unaligned, is a programming error (the rings check
// their layout when made, and mask every index), hence a panic.
func (p *Page) word(off int) *uint32 {
	if off < 0 || off > len(p.b)-4 || off&3 != 0 {
		panic(fmt.Sprintf("ring: 32-bit access at offset %d of a %d-byte page", off, len(p.b)))
	}
	return (*uint32)(unsafe.Pointer(&p.b[off]))
}

// Load32 atomically loads the native-endian 32-bit word at off.
func (p *Page) Load32(off int) uint32 { return atomic.LoadUint32(p.word(off)) }

// Store32 atomically stores v as the native-endian 32-bit word at off.
func (p *Page) Store32(off int, v uint32) { atomic.StoreUint32(p.word(off), v) }
