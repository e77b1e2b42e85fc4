package ring

import (
	"errors"
	"math/rand/v2"
	"reflect"
	"sync"
	"testing"
	"time"
)

// sringHeader mirrors the header of struct __name##_sring (io/ring.h).
type sringHeader struct {
	ReqProd, ReqEvent uint32
	RspProd, RspEvent uint32
	Pvt               [4]uint8
	Pad               [44]uint8
	Ring              [1]uint64
}

func TestLayout(t *testing.T) {
	ty := reflect.TypeOf(sringHeader{})
	for _, c := range []struct {
		field string
		off   int
	}{
		{"ReqProd", OffReqProd}, {"ReqEvent", OffReqEvent},
		{"RspProd", OffRspProd}, {"RspEvent", OffRspEvent},
		{"Pvt", OffPvt}, {"Pad", OffPad}, {"Ring", HeaderSize},
	} {
		f, _ := ty.FieldByName(c.field)
		if int(f.Offset) != c.off {
			t.Errorf("%s at %d, want %d", c.field, f.Offset, c.off)
		}
	}
	if OffPvt+PvtSize != OffPad || OffPad+PadSize != HeaderSize {
		t.Error("pvt and __pad do not fill the header")
	}
}

func TestRingSize(t *testing.T) {
	for _, c := range []struct {
		name          string
		mem, slot, nr int
	}{
		{"blkif (112-byte request)", PageSize, 112, 32},      // BLK_RING_SIZE
		{"netif tx (12-byte request)", PageSize, 12, 256},    // NET_TX_RING_SIZE
		{"netif rx (12-byte response)", PageSize, 12, 256},   // NET_RX_RING_SIZE
		{"one 64-byte slot of 4032 bytes", PageSize, 64, 32}, // 63 -> 32
		{"exact power of two", HeaderSize + 16*8, 8, 16},
		{"one slot", HeaderSize + 10, 10, 1},
		{"no slot", HeaderSize + 9, 10, 0},
		{"nothing after the header", HeaderSize, 1, 0},
		{"less than a header", 10, 1, 0},
		{"zero slot", PageSize, 0, 0},
		{"negative slot", PageSize, -8, 0},
		{"blkif on 4 pages", 4 * PageSize, 112, 128},
	} {
		if got := RingSize(c.mem, c.slot); got != c.nr {
			t.Errorf("%s: RingSize(%d, %d) = %d, want %d", c.name, c.mem, c.slot, got, c.nr)
		}
	}
}

func TestNewErrors(t *testing.T) {
	p, _ := NewPage(make([]byte, PageSize))
	if _, err := NewFront(p, 5000); err == nil {
		t.Error("NewFront with a slot larger than the page")
	}
	if _, err := NewBack(p, 0); err == nil {
		t.Error("NewBack with a zero slot")
	}
	if _, err := NewFront(nil, 8); err == nil {
		t.Error("NewFront without memory")
	}
	if _, err := NewPage(nil); err == nil {
		t.Error("NewPage of nothing")
	}
	if _, err := NewPage(make([]byte, 64)[1:]); err == nil {
		t.Error("NewPage of an unaligned slice")
	}
}

func TestInit(t *testing.T) {
	g := newGuarded(t, PageSize)
	for i := range g.page.b {
		g.page.b[i] = 0xff
	}
	f, err := NewFront(g.page, 64)
	if err != nil {
		t.Fatal(err)
	}
	f.Init()
	s := f.Shared()
	if s.ReqProd() != 0 || s.RspProd() != 0 || s.ReqEvent() != 1 || s.RspEvent() != 1 {
		t.Errorf("indices after Init: %d %d %d %d", s.ReqProd(), s.ReqEvent(), s.RspProd(), s.RspEvent())
	}
	for i, b := range g.page.b[OffPvt:HeaderSize] {
		if b != 0 {
			t.Errorf("header byte %d is %#x after Init", OffPvt+i, b)
		}
	}
	if g.page.b[HeaderSize] != 0xff {
		t.Error("Init touched the slots")
	}
	if f.Free() != 32 || f.Size() != 32 {
		t.Errorf("Free %d, Size %d", f.Free(), f.Size())
	}
	g.check(t)
}

// pair makes a front and a back over one guarded page, initialised at idx.
func pair(t testing.TB, slot int, idx uint32) (*Front, *Back, *guarded) {
	g := newGuarded(t, PageSize)
	f, err := NewFront(g.page, slot)
	if err != nil {
		t.Fatal(err)
	}
	b, err := NewBack(g.page, slot)
	if err != nil {
		t.Fatal(err)
	}
	f.InitAt(idx)
	b.Attach(idx)
	return f, b, g
}

var starts = []uint32{0, 1, 0x7fffffff, 0xffffffff - 100, 0xffffffff - 3, 0xffffffff}

// TestExchange runs front and back in one goroutine, in random batches,
// through the wrap of the 32-bit indices.
func TestExchange(t *testing.T) {
	for _, slot := range []int{12, 64, 112, 2000} {
		for _, start := range starts {
			f, b, g := pair(t, slot, start)
			rng := rand.New(rand.NewPCG(uint64(slot), uint64(start)))
			const total = 5000
			var sent, recv, served uint64
			rsp := make([]byte, slot)
			for recv < total {
				// front: a batch of requests
				for k := rng.IntN(f.Size() + 1); k > 0 && sent < total; k-- {
					s, err := f.NextRequest()
					if errors.Is(err, ErrFull) {
						if f.Free() != 0 {
							t.Fatal("ErrFull with free slots")
						}
						break
					}
					if err != nil {
						t.Fatal(err)
					}
					fill(s, sent, 1)
					sent++
				}
				f.PushRequests()
				// back: consume some, answer some
				for k := rng.IntN(b.Size() + 1); k > 0; k-- {
					req, ok, err := b.NextRequest()
					if err != nil {
						t.Fatal(err)
					}
					if !ok {
						break
					}
					checkFill(t, req, served+uint64(b.Pending()-1), 1)
				}
				for k := rng.IntN(b.Size() + 1); k > 0; k-- {
					s := b.NextResponse()
					if s == nil {
						break
					}
					fill(s, served, 2)
					served++
				}
				if b.Pending() == 0 && b.NextResponse() != nil {
					t.Fatal("a response slot with no request pending")
				}
				b.PushResponses()
				// front: consume some
				for k := rng.IntN(f.Size() + 1); k > 0; k-- {
					ok, err := f.CopyResponse(rsp)
					if err != nil {
						t.Fatal(err)
					}
					if !ok {
						break
					}
					checkFill(t, rsp, recv, 2)
					recv++
				}
				if fr := f.Free(); fr < 0 || fr > f.Size() {
					t.Fatalf("Free() = %d", fr)
				}
			}
			if f.rspCons != start+total || b.reqCons != start+total {
				t.Errorf("slot %d start %#x: ended at rsp_cons %#x req_cons %#x", slot, start, f.rspCons, b.reqCons)
			}
			g.check(t)
		}
	}
}

// TestConcurrent runs front and back in two goroutines that sleep on
// simulated event channels whenever FinalCheck* says so: a notification
// the macros' logic would miss hangs it.
func TestConcurrent(t *testing.T) {
	for _, start := range []uint32{0, 0xffffffff - 3000} {
		f, b, g := pair(t, 16, start)
		const total = 30000
		toBack, toFront := make(chan struct{}, 1), make(chan struct{}, 1)
		kick := func(c chan struct{}) {
			select {
			case c <- struct{}{}:
			default:
			}
		}
		wait := func(c chan struct{}, who string) bool {
			select {
			case <-c:
				return true
			case <-time.After(10 * time.Second):
				t.Errorf("%s: lost wake-up: front %+v back %+v req_prod %#x req_event %#x rsp_prod %#x rsp_event %#x", who, *f, *b, f.sh.ReqProd(), f.sh.ReqEvent(), f.sh.RspProd(), f.sh.RspEvent())
				return false
			}
		}
		var wg sync.WaitGroup
		wg.Add(1)
		go func() { // back
			defer wg.Done()
			served := uint64(0)
			for served < total {
				for {
					req, ok, err := b.NextRequest()
					if err != nil {
						t.Error(err)
						return
					}
					if !ok {
						break
					}
					checkFill(t, req, served, 1)
					fill(b.NextResponse(), served, 2)
					served++
				}
				if b.PushResponses() {
					kick(toFront)
				}
				if more, err := b.FinalCheckForRequests(); err != nil {
					t.Error(err)
					return
				} else if !more && served < total && !wait(toBack, "back") {
					return
				}
			}
		}()
		sent, recv := uint64(0), uint64(0)
		for recv < total {
			for sent < total && f.Free() > 0 {
				s, err := f.NextRequest()
				if err != nil {
					t.Fatal(err)
				}
				fill(s, sent, 1)
				sent++
				if sent%7 == 0 && f.PushRequests() {
					kick(toBack)
				}
			}
			if f.PushRequests() {
				kick(toBack)
			}
			for {
				rsp, ok, err := f.NextResponse()
				if err != nil {
					t.Fatal(err)
				}
				if !ok {
					break
				}
				checkFill(t, rsp, recv, 2)
				recv++
			}
			if more, err := f.FinalCheckForResponses(); err != nil {
				t.Fatal(err)
			} else if !more && recv < total && (sent == total || f.Free() == 0) && !wait(toFront, "front") {
				break
			}
		}
		wg.Wait()
		g.check(t)
	}
}

func TestNeedNotify(t *testing.T) {
	const m = 0xffffffff
	for _, c := range []struct {
		old, new, event uint32
		want            bool
	}{
		{0, 1, 1, true},    // SHARED_RING_INIT's event 1, first request
		{0, 5, 1, true},    // a batch across the event
		{1, 5, 1, false},   // the event was already passed
		{5, 10, 6, true},   // just past old
		{5, 10, 10, true},  // exactly new
		{5, 10, 11, false}, // not reached yet
		{5, 10, 5, false},  // event == old: passed by the last push
		{5, 10, 4, false},  // far behind
		{100, 110, 50, false},
		{7, 7, 8, false}, // nothing pushed
		{7, 7, 7, false},
		{m - 1, 2, m, true}, // across the wrap
		{m - 1, 2, 0, true},
		{m - 1, 2, 2, true},
		{m - 1, 2, 3, false},
		{m - 1, 2, m - 1, false},
		{m, 0, 0, true},
		{m, 0, 1, false},
		{0, 0x80000000, 0x80000000, true},
		{0, 0x80000000, 0x80000001, false},
	} {
		if got := NeedNotify(c.old, c.new, c.event); got != c.want {
			t.Errorf("NeedNotify(%#x, %#x, %#x) = %v, want %v", c.old, c.new, c.event, got, c.want)
		}
		// ring.h's macro, literally, on 32-bit RING_IDX.
		if lit := uint32(c.new-c.event) < uint32(c.new-c.old); lit != c.want {
			t.Errorf("table row %+v disagrees with ring.h", c)
		}
		n := c.new - c.old
		if n == 0 || n > 32 {
			continue
		}
		// The same case through PushRequests and PushResponses.
		f, b, _ := pair(t, 64, c.old)
		f.Shared().SetReqEvent(c.event)
		for range n {
			if _, err := f.NextRequest(); err != nil {
				t.Fatal(err)
			}
		}
		if got := f.PushRequests(); got != c.want {
			t.Errorf("PushRequests %+v = %v", c, got)
		}
		for range n {
			if _, ok, err := b.NextRequest(); !ok || err != nil {
				t.Fatal(ok, err)
			}
			b.NextResponse()
		}
		f.Shared().SetRspEvent(c.event)
		if got := b.PushResponses(); got != c.want {
			t.Errorf("PushResponses %+v = %v", c, got)
		}
		if f.PushRequests() || b.PushResponses() {
			t.Error("a push of nothing notifies")
		}
	}
}

func TestFinalCheck(t *testing.T) {
	f, b, _ := pair(t, 64, 0xfffffff0)
	sh := f.Shared()
	if more, err := b.FinalCheckForRequests(); more || err != nil {
		t.Fatal(more, err)
	}
	if sh.ReqEvent() != 0xfffffff1 {
		t.Errorf("req_event %#x, want req_cons+1", sh.ReqEvent())
	}
	f.NextRequest()
	if !f.PushRequests() {
		t.Error("no notify for the request the back end waits for")
	}
	f.NextRequest()
	if f.PushRequests() {
		t.Error("notify for a second request the back end did not ask for")
	}
	if more, err := b.FinalCheckForRequests(); !more || err != nil {
		t.Fatal(more, err)
	}
	for range 2 {
		b.NextRequest()
		b.NextResponse()
	}
	if more, err := f.FinalCheckForResponses(); more || err != nil {
		t.Fatal(more, err)
	}
	if sh.RspEvent() != 0xfffffff1 {
		t.Errorf("rsp_event %#x, want rsp_cons+1", sh.RspEvent())
	}
	if !b.PushResponses() {
		t.Error("no notify for the responses the front end waits for")
	}
	if more, err := f.FinalCheckForResponses(); !more || err != nil {
		t.Fatal(more, err)
	}
	if n, err := f.Responses(); n != 2 || err != nil {
		t.Fatal(n, err)
	}
}

func TestBackResponseLimit(t *testing.T) {
	f, b, _ := pair(t, 64, 0)
	if b.NextResponse() != nil {
		t.Error("a response slot without a request")
	}
	f.NextRequest()
	f.PushRequests()
	b.NextRequest()
	if b.NextResponse() == nil || b.NextResponse() != nil {
		t.Error("one request must give exactly one response slot")
	}
}

func TestFrontFull(t *testing.T) {
	f, _, _ := pair(t, 64, 0xfffffff8)
	for i := range f.Size() {
		if _, err := f.NextRequest(); err != nil {
			t.Fatal(i, err)
		}
	}
	if _, err := f.NextRequest(); !errors.Is(err, ErrFull) {
		t.Fatal(err)
	}
	if f.Free() != 0 {
		t.Fatal(f.Free())
	}
}

// TestCopyStable shows that what the back end validates cannot change under
// it: the copy is taken once.
func TestCopyStable(t *testing.T) {
	f, b, _ := pair(t, 64, 0)
	for i := range 2 {
		fill(mustNext(t, f), uint64(i), 1)
	}
	f.PushRequests()
	req, ok, err := b.NextRequest()
	if !ok || err != nil {
		t.Fatal(ok, err)
	}
	fill(b.Shared().Slot(0), 666, 9) // the front end rewrites the slot
	checkFill(t, req, 0, 1)
	dst := make([]byte, 64)
	if ok, err := b.CopyRequest(dst); !ok || err != nil {
		t.Fatal(ok, err)
	}
	fill(b.Shared().Slot(1), 667, 9)
	checkFill(t, dst, 1, 1)
	checkFill(t, req, 0, 1) // the next copy went to dst, not req

	// The same for responses, against a hostile back end.
	fill(b.NextResponse(), 10, 2)
	fill(b.NextResponse(), 11, 2)
	b.PushResponses()
	rsp, ok, err := f.NextResponse()
	if !ok || err != nil {
		t.Fatal(ok, err)
	}
	fill(f.Shared().Slot(0), 668, 9)
	checkFill(t, rsp, 10, 2)
	short := make([]byte, 3) // a response smaller than the slot
	if ok, err := f.CopyResponse(short); !ok || err != nil {
		t.Fatal(ok, err)
	}
	if short[0] != 11 {
		t.Errorf("short copy % x", short)
	}
}

func mustNext(t *testing.T, f *Front) []byte {
	t.Helper()
	s, err := f.NextRequest()
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestHostileFront(t *testing.T) {
	for _, start := range starts {
		// req_prod more than a ring ahead.
		f, b, g := pair(t, 64, start)
		size := uint32(b.Size())
		f.Shared().SetReqProd(start + size + 1)
		if _, err := b.Requests(); !errors.Is(err, ErrBroken) {
			t.Errorf("%#x: req_prod a ring and one ahead: %v", start, err)
		}
		f.Shared().SetReqProd(start + 1) // repaired: the ring stays broken
		if _, _, err := b.NextRequest(); !errors.Is(err, ErrBroken) {
			t.Errorf("%#x: broken ring not sticky: %v", start, err)
		}
		if ok, more := b.FinalCheckForRequests(); ok || more == nil {
			t.Errorf("%#x: FinalCheck on a broken ring", start)
		}
		g.check(t)

		// Exactly a ring ahead is allowed.
		f, b, _ = pair(t, 64, start)
		f.Shared().SetReqProd(start + size)
		if n, err := b.Requests(); n != int(size) || err != nil {
			t.Errorf("%#x: a full ring: %d, %v", start, n, err)
		}
		// Answer all but 3: 3 + size would then be too many.
		for range size {
			b.NextRequest()
		}
		for range size - 3 {
			b.NextResponse()
		}
		f.Shared().SetReqProd(start + size + size - 3)
		if n, err := b.Requests(); n != int(size-3) || err != nil {
			t.Errorf("%#x: a ring past the responses: %d, %v", start, n, err)
		}
		f.Shared().SetReqProd(start + size + size - 2)
		if _, err := b.Requests(); !errors.Is(err, ErrBroken) {
			t.Errorf("%#x: a ring and one past the responses: %v", start, err)
		}

		// req_prod going back.
		f, b, _ = pair(t, 64, start)
		f.Shared().SetReqProd(start + 5)
		b.NextRequest()
		b.NextRequest()
		f.Shared().SetReqProd(start + 4)
		if _, err := b.Requests(); !errors.Is(err, ErrBroken) {
			t.Errorf("%#x: req_prod back by one: %v", start, err)
		}
		f, b, _ = pair(t, 64, start)
		f.Shared().SetReqProd(start + 5)
		b.Requests()
		f.Shared().SetReqProd(start - 1)
		if _, err := b.Requests(); !errors.Is(err, ErrBroken) {
			t.Errorf("%#x: req_prod behind everything: %v", start, err)
		}
	}
}

func TestHostileBack(t *testing.T) {
	for _, start := range starts {
		f, _, _ := pair(t, 64, start)
		for range 4 {
			mustNext(t, f)
		}
		f.PushRequests()
		mustNext(t, f) // produced, not pushed: cannot be answered
		sh := f.Shared()
		sh.SetRspProd(start + 4)
		if n, err := f.Responses(); n != 4 || err != nil {
			t.Errorf("%#x: 4 answers to 4 requests: %d %v", start, n, err)
		}
		sh.SetRspProd(start + 3)
		if _, err := f.Responses(); !errors.Is(err, ErrBroken) {
			t.Errorf("%#x: rsp_prod back: %v", start, err)
		}
		f, _, _ = pair(t, 64, start)
		for range 4 {
			mustNext(t, f)
		}
		f.PushRequests()
		f.Shared().SetRspProd(start + 5)
		if _, _, err := f.NextResponse(); !errors.Is(err, ErrBroken) {
			t.Errorf("%#x: 5 answers to 4 requests: %v", start, err)
		}
		if _, err := f.NextRequest(); !errors.Is(err, ErrBroken) {
			t.Errorf("%#x: NextRequest on a broken ring: %v", start, err)
		}
		if f.Free() < 0 || f.Free() > f.Size() {
			t.Errorf("Free() = %d", f.Free())
		}
		f.Attach(start)
		if f.Err() != nil {
			t.Error("Attach keeps the error")
		}
	}
}

// TestHostileRandom lets a peer write random values anywhere, at any time,
// while both ends run; the ends must end up broken or fine, never panic,
// and never touch anything outside the page.
func TestHostileRandom(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 7))
	for trial := range 300 {
		g := newGuarded(t, PageSize)
		scribble := make([]byte, 2000)
		for i := range scribble {
			scribble[i] = byte(rng.Uint32())
		}
		c := &checked{p: g.page, scribble: scribble}
		slot := 1 + rng.IntN(300)
		f, err := NewFront(c, slot)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := NewBack(c, slot)
		start := rng.Uint32()
		f.InitAt(start)
		b.Attach(start)
		dst := make([]byte, rng.IntN(2*slot))
		for range 500 {
			switch rng.IntN(6) {
			case 0:
				if s, err := f.NextRequest(); err == nil {
					fill(s, 1, 1)
				}
			case 1:
				f.PushRequests()
			case 2:
				b.CopyRequest(dst)
			case 3:
				if s := b.NextResponse(); s != nil {
					fill(s, 2, 2)
				}
				b.PushResponses()
			case 4:
				f.CopyResponse(dst)
			case 5:
				f.FinalCheckForResponses()
				b.FinalCheckForRequests()
			}
			if fr := f.Free(); fr < 0 || fr > f.Size() {
				t.Fatalf("trial %d: Free() = %d", trial, fr)
			}
			if p := b.Pending(); p < 0 || p > b.Size() {
				t.Fatalf("trial %d: Pending() = %d", trial, p)
			}
		}
		for _, err := range []error{f.Err(), b.Err()} {
			if err != nil && !errors.Is(err, ErrBroken) {
				t.Fatalf("trial %d: %v", trial, err)
			}
		}
		c.check(t)
		g.check(t)
	}
}

func BenchmarkRoundTrip(b *testing.B) {
	for _, batch := range []int{1, 32} {
		b.Run(map[int]string{1: "one", 32: "batch32"}[batch], func(b *testing.B) {
			f, bk, _ := pair(b, 112, 0) // blkif-sized slots: 32 of them
			req := make([]byte, 112)
			rsp := make([]byte, 112)
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i += batch {
				for range batch {
					s, err := f.NextRequest()
					if err != nil {
						b.Fatal(err)
					}
					s[0] = byte(i)
				}
				f.PushRequests()
				for range batch {
					if ok, err := bk.CopyRequest(req); !ok || err != nil {
						b.Fatal(ok, err)
					}
					bk.NextResponse()[0] = req[0]
				}
				bk.PushResponses()
				for range batch {
					if ok, err := f.CopyResponse(rsp); !ok || err != nil {
						b.Fatal(ok, err)
					}
				}
			}
		})
	}
}
