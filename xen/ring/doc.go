// Package ring implements Xen's shared-memory rings for both ends of a split
// driver: the request/response rings of io/ring.h (DEFINE_RING_TYPES, used by
// block, network and most other PV devices) and the byte-stream rings of the
// console (io/console.h) and of XenStore (io/xs_wire.h).
//
// The package owns the ring protocol only: the layout of the shared page,
// the producer and consumer indices, the notification hold-off (req_event,
// rsp_event) and the checks against a hostile peer. It does not own the
// memory (the caller maps or grants it and hands it over as a Mem), the event
// channel (Push* and FinalCheck* only say whether to notify, or whether work
// remains), nor the contents of a request or response (a slot is a byte
// slice of the size the caller names).
//
// # The peer is not trusted
//
// The page is shared with another domain, which may write any value into any
// field at any time. Every index read from the page is checked before use:
// a producer index more than a ring's worth ahead of what has been consumed,
// or one that moves backwards, or responses to requests never made, break
// the ring. A broken ring returns an error wrapping ErrBroken, from then on
// (the error is sticky), and the caller disconnects. Every offset is masked
// into the ring, so no value in the page can make the package read or write
// outside it; the package never panics on the peer's account. Requests and
// responses are consumed by copying the slot out of the page once (CopyRequest,
// CopyResponse, and the Next* consumers, which return private copies), so
// that the peer cannot change them between validation and use.
//
// # Ordering
//
// Indices are read and written with sync/atomic 32-bit operations, which Go
// orders sequentially consistently: a store of a producer index is a release
// of the slots written before it (ring.h's xen_wmb), a load of it an acquire
// of the slots read after (xen_rmb), and a store followed by a load of
// another index is ordered as ring.h's xen_mb requires.
//
// Fronts, backs and byte rings are not safe for concurrent use: each end is
// driven by one goroutine at a time.
package ring
