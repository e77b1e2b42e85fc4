package evtchn

import (
	"fmt"
	"sync/atomic"
)

// Shared is a domain's shared_info page (or a vcpu_info placed elsewhere)
// as 64-bit words with atomic operations; the hypervisor implements it on
// the real frame, tests on a []uint64 (Mem). The guest changes the same
// words concurrently, so Or and AndNot must be atomic read-modify-writes
// (LOCK OR / LOCK AND on x86) and return the word's previous value.
// Offsets are byte offsets in the page, 8-aligned for the word operations;
// bytes are numbered little-endian within a word, as on x86.
type Shared interface {
	Load(off int) uint64
	Or(off int, bits uint64) (old uint64)
	AndNot(off int, bits uint64) (old uint64)
	LoadByte(off int) byte
	StoreByte(off int, v byte)
}

// VCPUInfo locates one vCPU's struct vcpu_info: in the shared_info page at
// vCPU*64 for the first 32 vCPUs, or wherever the guest registered it
// (VCPUOP_register_vcpu_info). A nil Page stands for Xen's dummy_vcpu_info
// (a vCPU beyond 32 that registered none): events still become pending, but
// no selector bit, upcall_pending or upcall reaches the guest.
type VCPUInfo struct {
	Page Shared
	Off  int // byte offset of the vcpu_info in Page, 8-aligned
}

// DefaultVCPUInfo returns vCPU v's slot in shared_info (public/xen.h,
// shared_info.vcpu_info[v]), or a nil Page for v >= LegacyMaxVCPUs.
func DefaultVCPUInfo(sh Shared, v uint32) VCPUInfo {
	if v >= LegacyMaxVCPUs {
		return VCPUInfo{}
	}
	return VCPUInfo{Page: sh, Off: SharedVCPUInfo + int(v)*VCPUInfoSize}
}

// wordBit returns the byte offset of port p's word within evtchn_pending (or
// evtchn_mask), its index (the selector bit) and its bit.
func wordBit(p Port) (off int, word uint, bit uint64) {
	word = uint(p) / 64
	return int(word) * 8, word, 1 << (uint(p) % 64)
}

// SetPending is the 2-level ABI's delivery of an event on port p of the
// domain whose shared_info is sh, to the vCPU whose vcpu_info is vi
// (evtchn_2l_set_pending, common/event_2l.c), in Xen's strict order:
// test-and-set the pending bit, and only on its 0→1 transition with the
// port unmasked, test-and-set the port's word in evtchn_pending_sel, and
// only on that 0→1, mark events pending (MarkEventsPending).
//
// edge reports the pending bit's 0→1 transition (Xen then wakes vCPUs
// polling the port, evtchn_check_pollers); upcall reports that the vCPU now
// needs an upcall injected. Ports beyond NumPorts are ignored.
func SetPending(sh Shared, vi VCPUInfo, p Port) (edge, upcall bool) {
	if p >= NumPorts {
		return false, false
	}
	off, word, bit := wordBit(p)
	if sh.Or(SharedEvtchnPending+off, bit)&bit != 0 {
		return false, false
	}
	if sh.Load(SharedEvtchnMask+off)&bit != 0 {
		return true, false
	}
	return true, selectWord(vi, word)
}

// selectWord sets the selector bit of word and, if that was a 0→1
// transition, marks events pending on the vCPU.
func selectWord(vi VCPUInfo, word uint) bool {
	if vi.Page == nil {
		return false
	}
	sel := uint64(1) << word
	if vi.Page.Or(vi.Off+VCPUInfoPendingSel, sel)&sel != 0 {
		return false
	}
	return MarkEventsPending(vi)
}

// MarkEventsPending is Xen's vcpu_mark_events_pending (arch/x86/domain.c):
// it sets evtchn_upcall_pending (an atomic test-and-set of bit 0 of the
// word at the start of vcpu_info, as Xen does) and reports whether the vCPU
// must now receive an upcall: upcall_pending went 0→1 and the vCPU's
// evtchn_upcall_mask is clear ("a non-zero mask guarantees that the VCPU
// will not receive an upcall activation", public/xen.h). With the mask set
// the guest finds upcall_pending itself when it clears the mask.
func MarkEventsPending(vi VCPUInfo) bool {
	if vi.Page == nil {
		return false
	}
	if vi.Page.Or(vi.Off+VCPUInfoUpcallPending, 1)&1 != 0 {
		return false
	}
	return vi.Page.LoadByte(vi.Off+VCPUInfoUpcallMask) == 0
}

// EnableUpcalls clears vi's evtchn_upcall_mask, as Xen's do_block does
// before it blocks the vCPU (common/schedule.c: local_event_delivery_enable),
// and reports whether an upcall is already pending (the vCPU must not
// block then).
func EnableUpcalls(vi VCPUInfo) (pending bool) {
	if vi.Page == nil {
		return false
	}
	vi.Page.StoreByte(vi.Off+VCPUInfoUpcallMask, 0)
	return vi.Page.LoadByte(vi.Off+VCPUInfoUpcallPending) != 0
}

// Unmask is the 2-level ABI's EVTCHNOP_unmask (evtchn_2l_unmask,
// common/event_2l.c): test-and-clear the mask bit; if it was set and the
// port is pending, redo the selector step for vi's vCPU. It reports whether
// an upcall is now needed. Ports beyond NumPorts are ignored.
func Unmask(sh Shared, vi VCPUInfo, p Port) (upcall bool) {
	if p >= NumPorts {
		return false
	}
	off, word, bit := wordBit(p)
	if sh.AndNot(SharedEvtchnMask+off, bit)&bit == 0 {
		return false
	}
	if sh.Load(SharedEvtchnPending+off)&bit == 0 {
		return false
	}
	return selectWord(vi, word)
}

// ClearPending clears port p's pending bit (evtchn_2l_clear_pending), as
// Xen does when it frees a port.
func ClearPending(sh Shared, p Port) {
	if p >= NumPorts {
		return
	}
	off, _, bit := wordBit(p)
	sh.AndNot(SharedEvtchnPending+off, bit)
}

// IsPending reports port p's pending bit (evtchn_2l_is_pending); false
// beyond NumPorts.
func IsPending(sh Shared, p Port) bool {
	if p >= NumPorts {
		return false
	}
	off, _, bit := wordBit(p)
	return sh.Load(SharedEvtchnPending+off)&bit != 0
}

// IsMasked reports port p's mask bit (evtchn_2l_is_masked); true beyond
// NumPorts, as in Xen.
func IsMasked(sh Shared, p Port) bool {
	if p >= NumPorts {
		return true
	}
	off, _, bit := wordBit(p)
	return sh.Load(SharedEvtchnMask+off)&bit != 0
}

// Mem is a Shared on ordinary memory, one uint64 per 8 bytes, with
// sync/atomic operations: for tests, and for hypervisor-private pages.
// Word operations panic on a misaligned or out-of-range offset.
type Mem []uint64

// NewMem returns a zeroed Mem of size bytes (rounded up to 8).
func NewMem(size int) Mem { return make(Mem, (size+7)/8) }

func (m Mem) word(off int) *uint64 {
	if off&7 != 0 {
		panic(fmt.Sprintf("evtchn: misaligned word offset %#x", off))
	}
	return &m[off>>3]
}

// Load atomically reads the word at off.
func (m Mem) Load(off int) uint64 { return atomic.LoadUint64(m.word(off)) }

// Or atomically sets bits in the word at off and returns its old value.
func (m Mem) Or(off int, bits uint64) uint64 { return atomic.OrUint64(m.word(off), bits) }

// AndNot atomically clears bits in the word at off and returns its old
// value.
func (m Mem) AndNot(off int, bits uint64) uint64 { return atomic.AndUint64(m.word(off), ^bits) }

// LoadByte atomically reads the byte at off.
func (m Mem) LoadByte(off int) byte {
	return byte(atomic.LoadUint64(&m[off>>3]) >> (8 * uint(off&7)))
}

// StoreByte atomically writes the byte at off, leaving the rest of its word
// alone.
func (m Mem) StoreByte(off int, v byte) {
	w := &m[off>>3]
	shift := 8 * uint(off&7)
	for {
		old := atomic.LoadUint64(w)
		nw := old&^(0xff<<shift) | uint64(v)<<shift
		if atomic.CompareAndSwapUint64(w, old, nw) {
			return
		}
	}
}
