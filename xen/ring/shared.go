package ring

import (
	"errors"
	"fmt"
	"math/bits"
)

// Layout of the shared ring page, struct __name##_sring in io/ring.h
// (DEFINE_RING_TYPES):
//
//	RING_IDX req_prod, req_event;   // offsets 0, 4
//	RING_IDX rsp_prod, rsp_event;   // offsets 8, 12
//	union { ...; uint8_t pvt_pad[4]; } pvt;  // offset 16
//	uint8_t __pad[44];              // offset 20
//	union __name##_sring_entry ring[];  // offset 64
//
// RING_IDX is a 32-bit unsigned int; the entries start at offset 64 on every
// architecture.
const (
	OffReqProd  = 0
	OffReqEvent = 4
	OffRspProd  = 8
	OffRspEvent = 12
	OffPvt      = 16
	PvtSize     = 4
	OffPad      = 20
	PadSize     = 44
	HeaderSize  = 64
)

// PageSize is the page size of Xen's ring protocols, 4 KiB on every
// architecture (XEN_PAGE_SHIFT 12 in io/ring.h).
const PageSize = 4096

// maxRingSize bounds a ring so that index differences (mod 2^32) stay
// meaningful.
const maxRingSize = 1 << 31

var (
	// ErrBroken is wrapped by every error that means the peer broke the
	// ring protocol (an impossible index): the caller should disconnect.
	ErrBroken = errors.New("ring: broken by the peer")
	// ErrFull is returned by Front.NextRequest when every slot holds a
	// request not yet answered.
	ErrFull = errors.New("ring: full")
)

func broken(format string, args ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{ErrBroken}, args...)...)
}

// RingSize is the number of slots of a ring of slotSize-byte entries in
// memLen bytes: the largest power of two that fits after the header
// (__CONST_RING_SIZE and __RING_SIZE in io/ring.h). It is 0 if not even one
// slot fits.
func RingSize(memLen, slotSize int) int {
	if slotSize <= 0 || memLen-HeaderSize < slotSize {
		return 0
	}
	n := uint((memLen - HeaderSize) / slotSize)
	if n > maxRingSize {
		n = maxRingSize
	}
	return 1 << (bits.Len(n) - 1)
}

// NeedNotify is the notification test of RING_PUSH_REQUESTS_AND_CHECK_NOTIFY
// and RING_PUSH_RESPONSES_AND_CHECK_NOTIFY (io/ring.h): having moved the
// producer index from oldProd to newProd, the consumer wants an event if it
// asked for one (event) at an index in (oldProd, newProd], modulo 2^32:
//
//	(RING_IDX)(__new - event) < (RING_IDX)(__new - __old)
func NeedNotify(oldProd, newProd, event uint32) bool {
	return newProd-event < newProd-oldProd
}

// Shared is a view of the shared ring page: its indices and slots. Front and
// Back keep their private state beside it; Shared itself trusts nothing and
// checks nothing but its layout.
type Shared struct {
	mem  Mem
	slot int
	size uint32
}

// NewShared returns the view of a ring of slotSize-byte slots (the size of
// the union of request and response) over m.
func NewShared(m Mem, slotSize int) (*Shared, error) {
	if m == nil {
		return nil, errors.New("ring: no memory")
	}
	n := RingSize(m.Len(), slotSize)
	if n == 0 {
		return nil, fmt.Errorf("ring: no %d-byte slot fits in %d bytes after the %d-byte header", slotSize, m.Len(), HeaderSize)
	}
	return &Shared{mem: m, slot: slotSize, size: uint32(n)}, nil
}

// Mem returns the shared memory.
func (s *Shared) Mem() Mem { return s.mem }

// Size returns the number of slots (RING_SIZE), a power of two.
func (s *Shared) Size() int { return int(s.size) }

// SlotSize returns the size of a slot in bytes.
func (s *Shared) SlotSize() int { return s.slot }

// Slot returns slot idx mod Size() (RING_GET_REQUEST, RING_GET_RESPONSE),
// aliasing the shared memory.
func (s *Shared) Slot(idx uint32) []byte {
	return s.mem.Bytes(HeaderSize+int(idx&(s.size-1))*s.slot, s.slot)
}

// ReqProd, ReqEvent, RspProd and RspEvent load the shared indices.
func (s *Shared) ReqProd() uint32  { return s.mem.Load32(OffReqProd) }
func (s *Shared) ReqEvent() uint32 { return s.mem.Load32(OffReqEvent) }
func (s *Shared) RspProd() uint32  { return s.mem.Load32(OffRspProd) }
func (s *Shared) RspEvent() uint32 { return s.mem.Load32(OffRspEvent) }

// SetReqProd, SetReqEvent, SetRspProd and SetRspEvent store the shared
// indices.
func (s *Shared) SetReqProd(v uint32)  { s.mem.Store32(OffReqProd, v) }
func (s *Shared) SetReqEvent(v uint32) { s.mem.Store32(OffReqEvent, v) }
func (s *Shared) SetRspProd(v uint32)  { s.mem.Store32(OffRspProd, v) }
func (s *Shared) SetRspEvent(v uint32) { s.mem.Store32(OffRspEvent, v) }

// Init initialises the shared header as SHARED_RING_INIT does: producer
// indices 0, event indices 1, the private union and the padding zeroed.
// Only the front end initialises the shared ring.
func (s *Shared) Init() { s.InitAt(0) }

// InitAt is Init with both producer indices at idx and both event indices at
// idx+1; InitAt(0) is SHARED_RING_INIT. (Xen's rings always start at 0;
// another start serves a ring re-attached at an index, and tests of the
// indices' wrap-around.)
func (s *Shared) InitAt(idx uint32) {
	s.SetReqProd(idx)
	s.SetRspProd(idx)
	s.SetReqEvent(idx + 1)
	s.SetRspEvent(idx + 1)
	clear(s.mem.Bytes(OffPvt, HeaderSize-OffPvt))
}
