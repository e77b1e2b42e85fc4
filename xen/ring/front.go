package ring

// Front is the front end of a request/response ring: it produces requests
// and consumes responses (struct __name##_front_ring in io/ring.h, with
// req_prod_pvt and rsp_cons).
type Front struct {
	sh         *Shared
	reqProdPvt uint32 // next request slot to fill
	reqPushed  uint32 // last value stored into req_prod
	rspCons    uint32 // next response to consume
	rspSeen    uint32 // last validated rsp_prod
	buf        []byte // NextResponse's copy
	err        error  // sticky: the ring is broken
}

// NewFront returns the front end of a ring of slotSize-byte slots over m,
// with its private indices at 0 (FRONT_RING_INIT). It does not touch the
// page: call Init to initialise it (SHARED_RING_INIT), unless the ring is
// already set up.
func NewFront(m Mem, slotSize int) (*Front, error) {
	sh, err := NewShared(m, slotSize)
	if err != nil {
		return nil, err
	}
	return &Front{sh: sh, buf: make([]byte, slotSize)}, nil
}

// Shared returns the view of the shared page.
func (f *Front) Shared() *Shared { return f.sh }

// Size returns the number of slots (RING_SIZE).
func (f *Front) Size() int { return int(f.sh.size) }

// Attach sets the private indices to idx (FRONT_RING_ATTACH) and forgets
// any error.
func (f *Front) Attach(idx uint32) {
	f.reqProdPvt, f.reqPushed, f.rspCons, f.rspSeen = idx, idx, idx, idx
	f.err = nil
}

// Init initialises the shared page (SHARED_RING_INIT) and attaches at 0.
func (f *Front) Init() { f.InitAt(0) }

// InitAt initialises the shared page with its indices at idx (see
// Shared.InitAt) and attaches at idx.
func (f *Front) InitAt(idx uint32) {
	f.sh.InitAt(idx)
	f.Attach(idx)
}

// Err returns the error that broke the ring, if any.
func (f *Front) Err() error { return f.err }

func (f *Front) fail(err error) error {
	f.err = err
	return err
}

// Free returns the number of slots free for requests (RING_FREE_REQUESTS).
func (f *Front) Free() int {
	return int(f.sh.size - (f.reqProdPvt - f.rspCons))
}

// NextRequest returns the next slot to fill with a request, aliasing the
// shared page, and counts it as produced; PushRequests publishes it. It
// returns ErrFull if no slot is free, or the error that broke the ring.
func (f *Front) NextRequest() ([]byte, error) {
	if f.err != nil {
		return nil, f.err
	}
	if f.Free() == 0 {
		return nil, ErrFull
	}
	s := f.sh.Slot(f.reqProdPvt)
	f.reqProdPvt++
	return s, nil
}

// PushRequests publishes the requests produced since the last push and
// reports whether the back end wants an event for them
// (RING_PUSH_REQUESTS_AND_CHECK_NOTIFY; the old producer index is the one
// this end last published, not what the page now holds).
func (f *Front) PushRequests() (notify bool) {
	old, cur := f.reqPushed, f.reqProdPvt
	if old == cur {
		return false
	}
	f.sh.SetReqProd(cur) // release: the slots before the index
	f.reqPushed = cur
	return NeedNotify(old, cur, f.sh.ReqEvent())
}

// Responses returns the number of responses published and not yet consumed
// (RING_HAS_UNCONSUMED_RESPONSES). The back end may answer only requests
// that were pushed: rsp_prod more than that ahead of rsp_cons, past a ring's
// worth (RING_RESPONSE_PROD_OVERFLOW), or behind what it was, breaks the
// ring.
func (f *Front) Responses() (n int, err error) {
	if f.err != nil {
		return 0, f.err
	}
	prod := f.sh.RspProd() // acquire: the slots before the index
	if prod-f.rspCons > f.sh.size {
		return 0, f.fail(broken("rsp_prod %#x overflows the ring: rsp_cons %#x, %d slots (RING_RESPONSE_PROD_OVERFLOW)", prod, f.rspCons, f.sh.size))
	}
	if out := f.reqPushed - f.rspCons; prod-f.rspCons > out {
		return 0, f.fail(broken("rsp_prod %#x answers requests never made: rsp_cons %#x, req_prod %#x", prod, f.rspCons, f.reqPushed))
	}
	if prod-f.rspCons < f.rspSeen-f.rspCons {
		return 0, f.fail(broken("rsp_prod went back from %#x to %#x", f.rspSeen, prod))
	}
	f.rspSeen = prod
	return int(prod - f.rspCons), nil
}

// CopyResponse copies the next response into dst (at most a slot's bytes)
// and consumes it. It reports false if there is none.
func (f *Front) CopyResponse(dst []byte) (bool, error) {
	if f.err != nil {
		return false, f.err
	}
	if f.rspCons == f.rspSeen {
		n, err := f.Responses()
		if n == 0 || err != nil {
			return false, err
		}
	}
	copy(dst, f.sh.Slot(f.rspCons))
	f.rspCons++
	return true, nil
}

// NextResponse consumes the next response and returns a private copy of its
// slot, valid until the next call of NextResponse. It reports false if there
// is none.
func (f *Front) NextResponse() ([]byte, bool, error) {
	ok, err := f.CopyResponse(f.buf)
	if !ok {
		return nil, false, err
	}
	return f.buf, true, nil
}

// FinalCheckForResponses reports whether responses are waiting; if none
// are, it first asks the back end for an event on the next one (rsp_event =
// rsp_cons + 1) and checks again, closing the race with a response pushed
// meanwhile (RING_FINAL_CHECK_FOR_RESPONSES). With false, the front end may
// sleep until the event.
func (f *Front) FinalCheckForResponses() (bool, error) {
	n, err := f.Responses()
	if n > 0 || err != nil {
		return n > 0, err
	}
	f.sh.SetRspEvent(f.rspCons + 1) // ordered before the load below (xen_mb)
	n, err = f.Responses()
	return n > 0, err
}
