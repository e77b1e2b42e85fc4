package ring

import (
	"errors"
	"testing"
)

// maxOps bounds the operations of one fuzz input, to keep runs fast.
const maxOps = 256

func brokenOrNil(t *testing.T, err error) {
	t.Helper()
	if err != nil && !errors.Is(err, ErrBroken) && !errors.Is(err, ErrFull) {
		t.Fatalf("unexpected error %v", err)
	}
}

// FuzzBack runs a back end (and, beside it, a front end on the same page)
// over random page contents, with a peer that writes random values into the
// page between any two accesses. Nothing may panic or reach outside the page,
// and the private indices must stay within the ring.
func FuzzBack(f *testing.F) {
	f.Add([]byte{}, []byte{0, 1, 2, 3, 4, 5}, []byte{}, uint16(112), uint32(0))
	f.Add([]byte{0xff, 0xff, 0xff, 0xff}, []byte{6, 6, 0, 1, 2, 3, 4, 7, 8, 9}, []byte{0, 0, 1, 2, 3, 4}, uint16(12), uint32(0xfffffff0))
	f.Add(make([]byte, 64), []byte{6, 6, 6, 6, 1, 1, 1, 3, 3, 4, 8, 8, 9, 5}, []byte{4, 0, 0xff, 0, 0, 0, 12, 2, 5}, uint16(64), uint32(0xffffffff))
	f.Fuzz(func(t *testing.T, page, ops, scribble []byte, slot uint16, start uint32) {
		if len(ops) > maxOps {
			ops = ops[:maxOps]
		}
		size := 1 + int(slot)%256 // mostly small slots, for many of them
		if slot&0x8000 != 0 {
			size = int(slot&0x7fff) % (PageSize + 8) // up to impossible ones
		}
		g := newGuarded(t, PageSize)
		copy(g.page.b, page)
		c := &checked{p: g.page, scribble: scribble}
		b, err := NewBack(c, size)
		if err != nil {
			if RingSize(PageSize, size) != 0 {
				t.Fatal(err)
			}
			return
		}
		fr, _ := NewFront(c, size)
		b.Attach(start)
		fr.Attach(start)
		dst := make([]byte, size/2+1)
		for i, op := range ops {
			switch op % 10 {
			case 0:
				n, err := b.Requests()
				brokenOrNil(t, err)
				if n < 0 || n > b.Size() {
					t.Fatalf("Requests() = %d", n)
				}
			case 1:
				req, ok, err := b.NextRequest()
				brokenOrNil(t, err)
				if ok && len(req) != size {
					t.Fatalf("request of %d bytes", len(req))
				}
			case 2:
				_, err := b.CopyRequest(dst)
				brokenOrNil(t, err)
			case 3:
				if s := b.NextResponse(); s != nil {
					fill(s, uint64(i), 3)
				}
			case 4:
				b.PushResponses()
			case 5:
				_, err := b.FinalCheckForRequests()
				brokenOrNil(t, err)
			case 6: // the front end, produced honestly
				if s, err := fr.NextRequest(); err == nil {
					fill(s, uint64(i), 1)
				}
			case 7:
				fr.PushRequests()
			case 8:
				_, _, err := fr.NextResponse()
				brokenOrNil(t, err)
			case 9:
				_, err := fr.FinalCheckForResponses()
				brokenOrNil(t, err)
			}
			if p := b.Pending(); p < 0 || p > b.Size() {
				t.Fatalf("Pending() = %d", p)
			}
			if n := fr.Free(); n < 0 || n > fr.Size() {
				t.Fatalf("Free() = %d", n)
			}
		}
		c.check(t)
		g.check(t)
	})
}

// FuzzByteRing runs a byte ring's producer and consumer over random page
// contents with a peer writing random values between accesses. Nothing may
// panic or reach outside the page; while the peer keeps off, the bytes read
// are the bytes written.
func FuzzByteRing(f *testing.F) {
	f.Add([]byte{}, []byte{10, 20, 30, 200, 255}, []byte{}, uint8(0), uint32(0))
	f.Add([]byte{1, 2, 3}, []byte{1, 2, 3, 4, 5, 6, 7, 8}, []byte{0, 2, 1, 0, 0, 0}, uint8(1), uint32(0xfffffffe))
	f.Add(make([]byte, 3100), []byte{0xff, 0xfe, 0x7f, 0x80}, []byte{4, 0, 0, 0, 0, 8}, uint8(2), uint32(0x7fffffff))
	f.Fuzz(func(t *testing.T, page, ops, scribble []byte, kind uint8, start uint32) {
		if len(ops) > maxOps {
			ops = ops[:maxOps]
		}
		g := newGuarded(t, PageSize)
		copy(g.page.b, page)
		c := &checked{p: g.page}
		var r *ByteRing
		var err error
		switch kind % 4 {
		case 0:
			r, err = StoreRequests(c)
		case 1:
			r, err = ConsoleOut(c)
		case 2:
			r, err = ConsoleIn(c)
		case 3:
			r, err = NewByteRing(c, 4000, 64, 4092, 64) // index words around the data
		}
		if err != nil {
			t.Fatal(err)
		}
		honest := len(scribble) == 0
		if honest {
			c.p.Store32(r.consOff, start)
			c.p.Store32(r.prodOff, start)
		}
		c.scribble = scribble
		var queue []byte // written, not yet read (honest runs)
		buf := make([]byte, 4096)
		for i, op := range ops {
			n := int(op) * 16 % (2*r.Size() + 1)
			if op&1 == 0 {
				for j := range buf[:n] {
					buf[j] = byte(i + j)
				}
				m, err := r.Write(buf[:n])
				brokenOrNil(t, err)
				if m < 0 || m > n || (honest && m != min(n, r.Size()-len(queue))) {
					t.Fatalf("Write of %d with %d queued: %d", n, len(queue), m)
				}
				queue = append(queue, buf[:m]...)
			} else {
				m, err := r.Read(buf[:n])
				brokenOrNil(t, err)
				if m < 0 || m > n {
					t.Fatalf("Read of %d: %d", n, m)
				}
				if honest {
					if m != min(n, len(queue)) || string(buf[:m]) != string(queue[:m]) {
						t.Fatalf("read %d of %d queued: wrong bytes", m, len(queue))
					}
					queue = queue[m:]
				}
			}
			if honest && r.Err() != nil {
				t.Fatalf("honest ring broken: %v", r.Err())
			}
		}
		c.check(t)
		g.check(t)
	})
}
