// Package xenstore implements the XenStore protocol and a XenStore: the
// tree of nodes that Xen domains use to exchange configuration and to
// rendezvous (frontends and backends), served by the privileged domain to the
// other domains over their store rings.
//
// The wire format and constants are Xen's public guest ABI,
// xen/include/public/io/xs_wire.h; the semantics of each request follow
// docs/misc/xenstore.txt and, where that document is silent, the reference
// daemon (tools/xenstored: core.c, domain.c, watch.c, transaction.c). This
// package restates those facts in Go; it shares no code with them.
//
// The package has two halves:
//
//   - the wire protocol: [Msg], [Decode], [Encode] and the streaming
//     [Reader] that reassembles messages from bytes taken off a ring;
//   - the store: [Store] holds the tree, the watches, the transactions and
//     the per-domain quotas; [Conn] is one domain's connection to it, and
//     [Conn.Handle] answers one request.
//
// The store has no goroutines and no clocks: everything happens inside
// Handle (and the few Store methods), under one mutex, in a deterministic
// order. Watch events for the connection that made a request come back from
// Handle after the reply; events for other connections are queued on them and
// drained with [Conn.Pending].
//
// A server loop, per domain, in outline:
//
//	conn := store.Connect(domid, false)
//	var rd xenstore.Reader
//	// whenever the domain signals its event channel:
//	rd.Write(bytesTakenFromTheReqRing)
//	for {
//		m, ok, err := rd.Next()
//		if err != nil {
//			// protocol violation: stop serving the ring
//		}
//		if !ok {
//			break
//		}
//		for _, out := range conn.Handle(m) {
//			putOnTheRspRing(xenstore.Encode(out))
//		}
//	}
//	// and, for every connection, after any request:
//	for _, ev := range conn.Pending() {
//		putOnTheRspRing(xenstore.Encode(ev))
//	}
//
// The store does not map rings or bind event channels; INTRODUCE only makes
// the domain known (ParseIntroduce gives the server loop the ring's gfn and
// event channel), and Store.Introduce and Store.Release let the hypervisor
// do the same without a request.
package xenstore
