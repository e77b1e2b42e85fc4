//go:build tamago

package board

import "unsafe"

// The domain identity-maps its memory, so a guest-physical address is also
// a pointer; these are the board's only conversions.

// PagesAt returns the n pages at a guest-physical address, for the board
// and the guest library (domains/guest). It is not inlined: Go 1.26's
// compiler fails (disjointTypes: "one of arguments is not a pointer") on a
// copy into its result once inlined.
//
//go:noinline
func PagesAt(gpa uintptr, n int) []byte {
	return unsafe.Slice((*byte)(*(*unsafe.Pointer)(unsafe.Pointer(&gpa))), n*4096)
}

func wordAt(b []byte, off int) unsafe.Pointer { return unsafe.Pointer(&b[off]) }

func bufAddr(b []byte) uintptr { return uintptr(unsafe.Pointer(&b[0])) }
