package ring

// Back is the back end of a request/response ring: it consumes requests and
// produces responses (struct __name##_back_ring in io/ring.h, with
// rsp_prod_pvt and req_cons).
type Back struct {
	sh         *Shared
	rspProdPvt uint32 // next response slot to fill
	rspPushed  uint32 // last value stored into rsp_prod
	reqCons    uint32 // next request to consume
	reqSeen    uint32 // last validated req_prod
	buf        []byte // NextRequest's copy
	err        error  // sticky: the ring is broken
}

// NewBack returns the back end of a ring of slotSize-byte slots over m, with
// its private indices at 0 (BACK_RING_INIT). The back end never initialises
// the page: the front end does.
func NewBack(m Mem, slotSize int) (*Back, error) {
	sh, err := NewShared(m, slotSize)
	if err != nil {
		return nil, err
	}
	return &Back{sh: sh, buf: make([]byte, slotSize)}, nil
}

// Shared returns the view of the shared page.
func (b *Back) Shared() *Shared { return b.sh }

// Size returns the number of slots (RING_SIZE).
func (b *Back) Size() int { return int(b.sh.size) }

// Attach sets the private indices to idx (BACK_RING_ATTACH) and forgets any
// error.
func (b *Back) Attach(idx uint32) {
	b.rspProdPvt, b.rspPushed, b.reqCons, b.reqSeen = idx, idx, idx, idx
	b.err = nil
}

// Err returns the error that broke the ring, if any.
func (b *Back) Err() error { return b.err }

func (b *Back) fail(err error) error {
	b.err = err
	return err
}

// requestProdOverflow is RING_REQUEST_PROD_OVERFLOW: can there be this many
// requests?
func (b *Back) requestProdOverflow(prod uint32) bool {
	return prod-b.rspProdPvt > b.sh.size
}

// requestConsOverflow is RING_REQUEST_CONS_OVERFLOW: would consuming the
// request at cons overrun the responses not yet produced?
func (b *Back) requestConsOverflow(cons uint32) bool {
	return cons-b.rspProdPvt >= b.sh.size
}

// Requests returns the number of requests published and not yet consumed
// (RING_HAS_UNCONSUMED_REQUESTS). A req_prod more than a ring's worth ahead
// of the responses produced (RING_REQUEST_PROD_OVERFLOW), or behind what it
// was, breaks the ring.
func (b *Back) Requests() (int, error) {
	if b.err != nil {
		return 0, b.err
	}
	prod := b.sh.ReqProd() // acquire: the slots before the index
	if b.requestProdOverflow(prod) {
		return 0, b.fail(broken("req_prod %#x overflows the ring: rsp_prod_pvt %#x, %d slots (RING_REQUEST_PROD_OVERFLOW)", prod, b.rspProdPvt, b.sh.size))
	}
	// prod, reqCons and reqSeen are all within a ring's worth past
	// rspProdPvt, so their differences from it compare without wrapping.
	if prod-b.rspProdPvt < b.reqSeen-b.rspProdPvt {
		return 0, b.fail(broken("req_prod went back from %#x to %#x", b.reqSeen, prod))
	}
	b.reqSeen = prod
	return int(prod - b.reqCons), nil
}

// CopyRequest copies the next request into dst (at most a slot's bytes) and
// consumes it (RING_COPY_REQUEST): validate the copy, never the slot, which
// the front end can still change. It reports false if there is none.
func (b *Back) CopyRequest(dst []byte) (bool, error) {
	if b.err != nil {
		return false, b.err
	}
	if b.reqCons == b.reqSeen {
		n, err := b.Requests()
		if n == 0 || err != nil {
			return false, err
		}
	}
	if b.requestConsOverflow(b.reqCons) {
		// Unreachable after the checks of Requests; kept as ring.h's
		// loop guard.
		return false, b.fail(broken("req_cons %#x overruns rsp_prod_pvt %#x (RING_REQUEST_CONS_OVERFLOW)", b.reqCons, b.rspProdPvt))
	}
	copy(dst, b.sh.Slot(b.reqCons))
	b.reqCons++
	return true, nil
}

// NextRequest consumes the next request and returns a private copy of its
// slot, valid until the next call of NextRequest. It reports false if there
// is none.
func (b *Back) NextRequest() ([]byte, bool, error) {
	ok, err := b.CopyRequest(b.buf)
	if !ok {
		return nil, false, err
	}
	return b.buf, true, nil
}

// Pending returns the number of requests consumed and not yet answered.
func (b *Back) Pending() int { return int(b.reqCons - b.rspProdPvt) }

// NextResponse returns the next slot to fill with a response, aliasing the
// shared page, and counts it as produced; PushResponses publishes it.
// Responses answer consumed requests, one each, in the slots those requests
// held: with none left unanswered it returns nil.
func (b *Back) NextResponse() []byte {
	if b.Pending() == 0 {
		return nil
	}
	s := b.sh.Slot(b.rspProdPvt)
	b.rspProdPvt++
	return s
}

// PushResponses publishes the responses produced since the last push and
// reports whether the front end wants an event for them
// (RING_PUSH_RESPONSES_AND_CHECK_NOTIFY; the old producer index is the one
// this end last published, not what the page now holds).
func (b *Back) PushResponses() (notify bool) {
	old, cur := b.rspPushed, b.rspProdPvt
	if old == cur {
		return false
	}
	b.sh.SetRspProd(cur) // release: the slots before the index
	b.rspPushed = cur
	return NeedNotify(old, cur, b.sh.RspEvent())
}

// FinalCheckForRequests reports whether requests are waiting; if none are,
// it first asks the front end for an event on the next one (req_event =
// req_cons + 1) and checks again, closing the race with a request pushed
// meanwhile (RING_FINAL_CHECK_FOR_REQUESTS). With false, the back end may
// sleep until the event.
func (b *Back) FinalCheckForRequests() (bool, error) {
	n, err := b.Requests()
	if n > 0 || err != nil {
		return n > 0, err
	}
	b.sh.SetReqEvent(b.reqCons + 1) // ordered before the load below (xen_mb)
	n, err = b.Requests()
	return n > 0, err
}
