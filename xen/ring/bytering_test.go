package ring

import (
	"bytes"
	"errors"
	"math/rand/v2"
	"reflect"
	"sync"
	"testing"
)

// xenconsInterface mirrors struct xencons_interface (io/console.h).
type xenconsInterface struct {
	In               [1024]byte
	Out              [2048]byte
	InCons, InProd   uint32
	OutCons, OutProd uint32
	Connection       uint8
}

// xenstoreDomainInterface mirrors struct xenstore_domain_interface
// (io/xs_wire.h).
type xenstoreDomainInterface struct {
	Req, Rsp         [1024]byte
	ReqCons, ReqProd uint32
	RspCons, RspProd uint32
	ServerFeatures   uint32
	Connection       uint32
	Error            uint32
	EvtchnPort       uint32
}

func offsets(t *testing.T, v any, want map[string]int) {
	ty := reflect.TypeOf(v)
	for name, off := range want {
		f, ok := ty.FieldByName(name)
		if !ok || int(f.Offset) != off {
			t.Errorf("%s.%s at %d, want %d", ty.Name(), name, f.Offset, off)
		}
	}
}

func TestByteLayouts(t *testing.T) {
	offsets(t, xenconsInterface{}, map[string]int{
		"In": ConsoleInOff, "Out": ConsoleOutOff,
		"InCons": ConsoleInCons, "InProd": ConsoleInProd,
		"OutCons": ConsoleOutCons, "OutProd": ConsoleOutProd,
		"Connection": ConsoleConnection,
	})
	offsets(t, xenstoreDomainInterface{}, map[string]int{
		"Req": StoreReqOff, "Rsp": StoreRspOff,
		"ReqCons": StoreReqCons, "ReqProd": StoreReqProd,
		"RspCons": StoreRspCons, "RspProd": StoreRspProd,
		"ServerFeatures": StoreServerFeatures, "Connection": StoreConnection,
		"Error": StoreError, "EvtchnPort": StoreEvtchnPort,
	})
	if ConsoleInOff+ConsoleInSize != ConsoleOutOff || ConsoleOutOff+ConsoleOutSize != ConsoleInCons {
		t.Error("console sizes")
	}
}

func TestNewByteRingErrors(t *testing.T) {
	p, _ := NewPage(make([]byte, PageSize))
	for _, c := range []struct{ buf, size, cons, prod int }{
		{0, 1000, 2048, 2052},  // not a power of two
		{0, 0, 2048, 2052},     // empty
		{-1, 1024, 2048, 2052}, // before the page
		{3584, 1024, 0, 4},     // past the page
		{0, 1024, 2048, 2048},  // shared index
		{0, 1024, 2049, 2052},  // unaligned
		{0, 1024, 4096, 2052},  // index outside
		{0, 1024, 1020, 2052},  // index in the data
		{0, 1024, -4, 2052},    // negative index
	} {
		if _, err := NewByteRing(p, c.buf, c.size, c.cons, c.prod); err == nil {
			t.Errorf("NewByteRing(%+v) accepted", c)
		}
	}
	small, _ := NewPage(make([]byte, 2048))
	if _, err := ConsoleOut(small); err == nil {
		t.Error("console ring on a short page")
	}
	if _, err := StoreGuest(small); err == nil {
		t.Error("store rings on a short page")
	}
	if _, err := NewByteRing(nil, 0, 1024, 2048, 2052); err == nil {
		t.Error("no memory")
	}
}

// stream pushes n random bytes through w and r in random chunks, in one
// goroutine, checking them.
func stream(t *testing.T, w, r *ByteRing, n int, rng *rand.Rand) {
	data := make([]byte, n)
	for i := range data {
		data[i] = byte(rng.Uint32())
	}
	got := make([]byte, 0, n)
	buf := make([]byte, 3*w.Size())
	sent := 0
	for len(got) < n {
		k := min(rng.IntN(len(buf)), n-sent)
		m, err := w.Write(data[sent : sent+k])
		if err != nil {
			t.Fatal(err)
		}
		if free, _ := w.Free(); m < k && free != 0 {
			t.Fatalf("short write %d of %d with %d free", m, k, free)
		}
		sent += m
		m, err = r.Read(buf[:rng.IntN(len(buf))])
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, buf[:m]...)
	}
	if !bytes.Equal(got, data) {
		t.Fatal("stream corrupted")
	}
}

func TestByteRingStream(t *testing.T) {
	for _, start := range starts {
		g := newGuarded(t, PageSize)
		w, err := StoreRequests(g.page)
		if err != nil {
			t.Fatal(err)
		}
		g.page.Store32(StoreReqCons, start)
		g.page.Store32(StoreReqProd, start)
		stream(t, w, w, 3<<20, rand.New(rand.NewPCG(uint64(start), 1)))
		g.check(t)
		for _, off := range []int{StoreRspOff, StoreRspCons, StoreRspProd, StoreServerFeatures} {
			if g.page.b[off] != 0 {
				t.Fatalf("byte %d changed", off)
			}
		}
	}
}

func TestByteRingConcurrent(t *testing.T) {
	g := newGuarded(t, PageSize)
	g.page.Store32(ConsoleOutCons, 0xffff0000)
	g.page.Store32(ConsoleOutProd, 0xffff0000)
	guest, err := ConsoleGuest(g.page)
	if err != nil {
		t.Fatal(err)
	}
	back, err := ConsoleBack(g.page)
	if err != nil {
		t.Fatal(err)
	}
	const n = 4 << 20
	data := make([]byte, n)
	rng := rand.New(rand.NewPCG(3, 4))
	for i := range data {
		data[i] = byte(rng.Uint32())
	}
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		rng := rand.New(rand.NewPCG(5, 6))
		for sent := 0; sent < n; {
			m, err := guest.Write(data[sent:min(n, sent+1+rng.IntN(3000))])
			if err != nil {
				t.Error(err)
				return
			}
			sent += m
		}
	}()
	got := make([]byte, 0, n)
	buf := make([]byte, 4096)
	for len(got) < n {
		m, err := back.Read(buf[:1+rng.IntN(len(buf)-1)])
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, buf[:m]...)
	}
	wg.Wait()
	if !bytes.Equal(got, data) {
		t.Fatal("stream corrupted")
	}
	if end := uint32(0xffff0000) + uint32(len(data)); g.page.Load32(ConsoleOutCons) != end || g.page.Load32(ConsoleOutProd) != end {
		t.Error("console out indices")
	}
	// The other direction, and where the bytes land.
	if m, err := back.Write([]byte("hi")); m != 2 || err != nil {
		t.Fatal(m, err)
	}
	if string(g.page.b[ConsoleInOff:ConsoleInOff+2]) != "hi" || g.page.Load32(ConsoleInProd) != 2 {
		t.Error("console in ring")
	}
	b := make([]byte, 10)
	if m, err := guest.Read(b); m != 2 || err != nil || string(b[:2]) != "hi" {
		t.Fatal(m, err)
	}
	g.check(t)
}

func TestStoreDuplex(t *testing.T) {
	g := newGuarded(t, PageSize)
	guest, _ := StoreGuest(g.page)
	server, _ := StoreServer(g.page)
	guest.Write([]byte("req"))
	server.Write([]byte("rsp"))
	if string(g.page.b[StoreReqOff:StoreReqOff+3]) != "req" || string(g.page.b[StoreRspOff:StoreRspOff+3]) != "rsp" {
		t.Error("bytes in the wrong ring")
	}
	b := make([]byte, 8)
	if n, _ := server.Read(b); string(b[:n]) != "req" {
		t.Error(string(b[:n]))
	}
	if n, _ := guest.Read(b); string(b[:n]) != "rsp" {
		t.Error(string(b[:n]))
	}
	if n, err := guest.Read(b); n != 0 || err != nil {
		t.Error("read of an empty ring", n, err)
	}
	full := make([]byte, 2000)
	if n, err := guest.Write(full); n != StoreRingSize || err != nil {
		t.Error("write to an empty ring", n, err)
	}
	if n, err := guest.Write(full); n != 0 || err != nil {
		t.Error("write to a full ring", n, err)
	}
	g.check(t)
}

func TestByteRingHostile(t *testing.T) {
	rng := rand.New(rand.NewPCG(9, 9))
	for trial := range 2000 {
		g := newGuarded(t, PageSize)
		r, _ := StoreRequests(g.page)
		cons, prod := rng.Uint32(), rng.Uint32()
		switch trial % 4 {
		case 0:
			prod = cons + uint32(rng.IntN(2*StoreRingSize))
		case 1:
			prod = cons - uint32(rng.IntN(8))
		case 2:
			prod = cons + StoreRingSize + uint32(rng.IntN(2))
		}
		g.page.Store32(StoreReqCons, cons)
		g.page.Store32(StoreReqProd, prod)
		bad := prod-cons > StoreRingSize
		buf := make([]byte, rng.IntN(3000))
		var err error
		if trial%2 == 0 {
			_, err = r.Write(buf)
		} else {
			_, err = r.Read(buf)
		}
		if bad != errors.Is(err, ErrBroken) || (!bad && err != nil) {
			t.Fatalf("cons %#x prod %#x: %v", cons, prod, err)
		}
		if bad {
			g.page.Store32(StoreReqProd, cons) // repaired: still broken
			if _, err := r.Len(); !errors.Is(err, ErrBroken) || r.Err() == nil {
				t.Fatal("not sticky")
			}
		}
		g.check(t)
	}
}
