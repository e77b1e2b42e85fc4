package hv

import (
	"sync/atomic"
	"unsafe"
)

// sharedPage is a guest-visible page the hypervisor updates atomically
// (evtchn.Shared): a domain's shared_info. The guest's vCPU reads and
// writes the same words, so every read-modify-write is a locked operation.
type sharedPage struct{ b []byte }

func (p sharedPage) word(off int) *uint64 {
	return (*uint64)(unsafe.Pointer(&p.b[off&^7]))
}

func (p sharedPage) Load(off int) uint64 { return atomic.LoadUint64(p.word(off)) }

func (p sharedPage) Or(off int, bits uint64) (old uint64) {
	return atomic.OrUint64(p.word(off), bits)
}

func (p sharedPage) AndNot(off int, bits uint64) (old uint64) {
	return atomic.AndUint64(p.word(off), ^bits)
}

func (p sharedPage) LoadByte(off int) byte {
	return byte(atomic.LoadUint64(p.word(off)) >> (8 * (off & 7)))
}

func (p sharedPage) StoreByte(off int, v byte) {
	w := p.word(off)
	shift := 8 * uint(off&7)
	for {
		old := atomic.LoadUint64(w)
		if atomic.CompareAndSwapUint64(w, old, old&^(0xff<<shift)|uint64(v)<<shift) {
			return
		}
	}
}

// load32 and cas32 access the first 32-bit word of b atomically (grant
// entries' flags|domid, which the granter updates with its own
// compare-and-swap).
func load32(b []byte) uint32 { return atomic.LoadUint32((*uint32)(unsafe.Pointer(&b[0]))) }

func cas32(b []byte, old, new uint32) bool {
	return atomic.CompareAndSwapUint32((*uint32)(unsafe.Pointer(&b[0])), old, new)
}
