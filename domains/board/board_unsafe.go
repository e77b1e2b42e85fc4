//go:build tamago

package board

import "unsafe"

// The domain identity-maps its memory, so a guest-physical address is also
// a pointer; these are the board's only conversions.

func pageAt(gpa uintptr) []byte {
	return unsafe.Slice((*byte)(*(*unsafe.Pointer)(unsafe.Pointer(&gpa))), 4096)
}

func wordAt(b []byte, off int) unsafe.Pointer { return unsafe.Pointer(&b[off]) }

func bufAddr(b []byte) uintptr { return uintptr(unsafe.Pointer(&b[0])) }
