//go:build tamago

package guest

import (
	"sync/atomic"
	"unsafe"
)

// A domain identity-maps its memory: a guest-physical address is also a
// pointer. These helpers are the only place the library turns one into the
// other, and they touch only whole pages the library owns or was given.

func addr(p *byte) uint64 { return uint64(uintptr(unsafe.Pointer(p))) }

func bufAddr(b []byte) uintptr { return uintptr(unsafe.Pointer(&b[0])) }

func word(b []byte, off int) *uint64 { return (*uint64)(unsafe.Pointer(&b[off])) }

func load64(b []byte, off int) uint64           { return atomic.LoadUint64(word(b, off)) }
func swap64(b []byte, off int, v uint64) uint64 { return atomic.SwapUint64(word(b, off), v) }
func andNot64(b []byte, off int, bits uint64)   { atomic.AndUint64(word(b, off), ^bits) }
func or64(b []byte, off int, bits uint64)       { atomic.OrUint64(word(b, off), bits) }

// testAndClear clears bits and reports whether any was set.
func testAndClear(b []byte, off int, bits uint64) bool {
	return atomic.AndUint64(word(b, off), ^bits)&bits != 0
}

func loadHeader(e []byte) uint32 { return atomic.LoadUint32((*uint32)(unsafe.Pointer(&e[0]))) }

func storeHeader(e []byte, v uint32) { atomic.StoreUint32((*uint32)(unsafe.Pointer(&e[0])), v) }

func casHeader(e []byte, old, new uint32) bool {
	return atomic.CompareAndSwapUint32((*uint32)(unsafe.Pointer(&e[0])), old, new)
}
