package ring

import (
	"errors"
	"fmt"
)

// Console page, struct xencons_interface (io/console.h):
//
//	char in[1024];                          // offset 0: back end -> guest
//	char out[2048];                         // offset 1024: guest -> back end
//	XENCONS_RING_IDX in_cons, in_prod;      // offsets 3072, 3076
//	XENCONS_RING_IDX out_cons, out_prod;    // offsets 3080, 3084
//	uint8_t connection;                     // offset 3088 (newer headers)
//
// XENCONS_RING_IDX is uint32_t; MASK_XENCONS_IDX masks with sizeof(ring)-1.
const (
	ConsoleInOff        = 0
	ConsoleInSize       = 1024
	ConsoleOutOff       = 1024
	ConsoleOutSize      = 2048
	ConsoleInCons       = 3072
	ConsoleInProd       = 3076
	ConsoleOutCons      = 3080
	ConsoleOutProd      = 3084
	ConsoleConnection   = 3088 // uint8_t, set by the back end
	ConsoleConnected    = 0    // XENCONSOLE_CONNECTED
	ConsoleDisconnected = 1    // XENCONSOLE_DISCONNECTED
)

// XenStore page, struct xenstore_domain_interface (io/xs_wire.h):
//
//	char req[XENSTORE_RING_SIZE];           // offset 0: guest -> xenstored
//	char rsp[XENSTORE_RING_SIZE];           // offset 1024: xenstored -> guest
//	XENSTORE_RING_IDX req_cons, req_prod;   // offsets 2048, 2052
//	XENSTORE_RING_IDX rsp_cons, rsp_prod;   // offsets 2056, 2060
//	uint32_t server_features;               // offset 2064
//	uint32_t connection;                    // offset 2068
//	uint32_t error;                         // offset 2072
//	uint32_t evtchn_port;                   // offset 2076
//
// XENSTORE_RING_IDX is uint32_t.
const (
	StoreRingSize       = 1024 // XENSTORE_RING_SIZE
	StoreReqOff         = 0
	StoreRspOff         = 1024
	StoreReqCons        = 2048
	StoreReqProd        = 2052
	StoreRspCons        = 2056
	StoreRspProd        = 2060
	StoreServerFeatures = 2064
	StoreConnection     = 2068
	StoreError          = 2072
	StoreEvtchnPort     = 2076

	StorePayloadMax = 4096 // XENSTORE_PAYLOAD_MAX
	StoreAbsPathMax = 3072 // XENSTORE_ABS_PATH_MAX
	StoreRelPathMax = 2048 // XENSTORE_REL_PATH_MAX

	// server_features bits (XENSTORE_SERVER_FEATURE_*).
	StoreFeatureReconnection = 1
	StoreFeatureError        = 2
	StoreFeatureWatchDepth   = 4
	StoreFeatureDomidAny     = 8

	// connection values (XENSTORE_CONNECTED, XENSTORE_RECONNECT).
	StoreConnected = 0
	StoreReconnect = 1

	// error values (XENSTORE_ERROR_*).
	StoreErrorNone    = 0
	StoreErrorComm    = 1
	StoreErrorRingIdx = 2
	StoreErrorProto   = 3
)

// ByteRing is one direction of a byte-stream ring: a power-of-two data area
// and two free-running 32-bit indices, the consumer's and the producer's,
// each masked into the area on use (the console and XenStore rings). The
// producer calls Write, the consumer Read; both read both indices from the
// page on every call and check them: more than the ring's size between them
// (prod - cons > size, modulo 2^32) breaks the ring.
type ByteRing struct {
	mem              Mem
	buf, size        int
	consOff, prodOff int
	err              error // sticky: the ring is broken
}

// NewByteRing returns the ring whose data area is size bytes at offset buf
// of m (size a power of two), with its consumer index at offset cons and its
// producer index at prod (4-byte aligned, outside the data area).
func NewByteRing(m Mem, buf, size, cons, prod int) (*ByteRing, error) {
	if m == nil {
		return nil, errors.New("ring: no memory")
	}
	n := m.Len()
	switch {
	case size <= 0 || size&(size-1) != 0 || uint(size) > maxRingSize:
		return nil, fmt.Errorf("ring: byte ring size %d is not a power of two", size)
	case buf < 0 || buf > n-size:
		return nil, fmt.Errorf("ring: byte ring data [%d, %d) is outside the %d-byte page", buf, buf+size, n)
	}
	for _, off := range []int{cons, prod} {
		switch {
		case off < 0 || off > n-4 || off&3 != 0:
			return nil, fmt.Errorf("ring: byte ring index at %d is not an aligned word of the %d-byte page", off, n)
		case off+4 > buf && off < buf+size:
			return nil, fmt.Errorf("ring: byte ring index at %d is inside the data [%d, %d)", off, buf, buf+size)
		}
	}
	if cons == prod {
		return nil, fmt.Errorf("ring: byte ring indices share offset %d", cons)
	}
	return &ByteRing{mem: m, buf: buf, size: size, consOff: cons, prodOff: prod}, nil
}

// Size returns the size of the data area.
func (r *ByteRing) Size() int { return r.size }

// Err returns the error that broke the ring, if any.
func (r *ByteRing) Err() error { return r.err }

// indices loads and checks both indices, returning them with the number of
// bytes between them.
func (r *ByteRing) indices() (cons, prod, used uint32, err error) {
	if r.err != nil {
		return 0, 0, 0, r.err
	}
	cons = r.mem.Load32(r.consOff)
	prod = r.mem.Load32(r.prodOff)
	used = prod - cons
	if used > uint32(r.size) {
		r.err = broken("byte ring indices cons %#x, prod %#x are %d apart in a %d-byte ring", cons, prod, used, r.size)
		return 0, 0, 0, r.err
	}
	return cons, prod, used, nil
}

// Len returns the number of bytes written and not yet read.
func (r *ByteRing) Len() (int, error) {
	_, _, used, err := r.indices()
	return int(used), err
}

// Free returns the number of bytes that can be written.
func (r *ByteRing) Free() (int, error) {
	_, _, used, err := r.indices()
	if err != nil {
		return 0, err
	}
	return r.size - int(used), nil
}

// Write copies as much of p as fits into the ring and publishes it by
// advancing the producer index. It does not block: with the ring full it
// returns 0, nil.
func (r *ByteRing) Write(p []byte) (int, error) {
	_, prod, used, err := r.indices()
	if err != nil {
		return 0, err
	}
	n := min(len(p), r.size-int(used))
	if n == 0 {
		return 0, nil
	}
	pos := int(prod & uint32(r.size-1))
	k := min(n, r.size-pos)
	copy(r.mem.Bytes(r.buf+pos, k), p[:k])
	if k < n {
		copy(r.mem.Bytes(r.buf, n-k), p[k:n])
	}
	r.mem.Store32(r.prodOff, prod+uint32(n)) // release: the data before the index
	return n, nil
}

// Read copies as much as is available, up to len(p), out of the ring and
// frees it by advancing the consumer index. It does not block: with the ring
// empty it returns 0, nil.
func (r *ByteRing) Read(p []byte) (int, error) {
	cons, _, used, err := r.indices()
	if err != nil {
		return 0, err
	}
	n := min(len(p), int(used))
	if n == 0 {
		return 0, nil
	}
	pos := int(cons & uint32(r.size-1))
	k := min(n, r.size-pos)
	copy(p[:k], r.mem.Bytes(r.buf+pos, k))
	if k < n {
		copy(p[k:n], r.mem.Bytes(r.buf, n-k))
	}
	r.mem.Store32(r.consOff, cons+uint32(n)) // the data is copied out before the index frees it
	return n, nil
}

// Duplex is one end's pair of byte rings on a page: it writes Tx and reads
// Rx.
type Duplex struct {
	Tx, Rx *ByteRing
}

// Write writes to Tx.
func (d Duplex) Write(p []byte) (int, error) { return d.Tx.Write(p) }

// Read reads from Rx.
func (d Duplex) Read(p []byte) (int, error) { return d.Rx.Read(p) }

// ConsoleOut returns the console's out ring: the guest writes it, the
// back end reads it.
func ConsoleOut(m Mem) (*ByteRing, error) {
	return NewByteRing(m, ConsoleOutOff, ConsoleOutSize, ConsoleOutCons, ConsoleOutProd)
}

// ConsoleIn returns the console's in ring: the back end writes it, the
// guest reads it.
func ConsoleIn(m Mem) (*ByteRing, error) {
	return NewByteRing(m, ConsoleInOff, ConsoleInSize, ConsoleInCons, ConsoleInProd)
}

// StoreRequests returns XenStore's request ring: the guest writes it,
// xenstored reads it.
func StoreRequests(m Mem) (*ByteRing, error) {
	return NewByteRing(m, StoreReqOff, StoreRingSize, StoreReqCons, StoreReqProd)
}

// StoreResponses returns XenStore's response ring: xenstored writes it, the
// guest reads it.
func StoreResponses(m Mem) (*ByteRing, error) {
	return NewByteRing(m, StoreRspOff, StoreRingSize, StoreRspCons, StoreRspProd)
}

func duplex(tx, rx func(Mem) (*ByteRing, error), m Mem) (Duplex, error) {
	t, err := tx(m)
	if err != nil {
		return Duplex{}, err
	}
	r, err := rx(m)
	if err != nil {
		return Duplex{}, err
	}
	return Duplex{Tx: t, Rx: r}, nil
}

// ConsoleGuest returns the guest's view of a console page: it writes out
// and reads in.
func ConsoleGuest(m Mem) (Duplex, error) { return duplex(ConsoleOut, ConsoleIn, m) }

// ConsoleBack returns the back end's view of a console page: it writes in
// and reads out.
func ConsoleBack(m Mem) (Duplex, error) { return duplex(ConsoleIn, ConsoleOut, m) }

// StoreGuest returns the guest's view of a XenStore page: it writes
// requests and reads responses.
func StoreGuest(m Mem) (Duplex, error) { return duplex(StoreRequests, StoreResponses, m) }

// StoreServer returns xenstored's view of a XenStore page: it writes
// responses and reads requests.
func StoreServer(m Mem) (Duplex, error) { return duplex(StoreResponses, StoreRequests, m) }
