//go:build tamago

package guest

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math/bits"
	"sync"
	"time"

	"tamavisor/domains/board"
	"tamavisor/hv/evtchn"
	"tamavisor/xen"
)

// DomID names a domain; Port an event channel port.
type (
	DomID = evtchn.DomID
	Port  = evtchn.Port
)

// Error is a hypercall that failed with a Xen errno.
type Error struct {
	Op    string
	Errno int
}

func (e *Error) Error() string { return fmt.Sprintf("%s: Xen errno %d", e.Op, e.Errno) }

func check(op string, r int64) error {
	if r < 0 {
		return &Error{Op: op, Errno: int(-r)}
	}
	return nil
}

// EventChannels is the domain's event channels: its shared_info page (the
// pending and mask bitmaps, public/xen.h) and the ports it waits on.
type EventChannels struct {
	page    []byte
	mu      sync.Mutex
	waiters map[Port]chan struct{}
}

var (
	events     *EventChannels
	eventsErr  error
	eventsOnce sync.Once
	// sharedMem holds the page-aligned frame where shared_info appears.
	sharedMem [2 * 4096]byte
)

// Events maps shared_info (XENMEM_add_to_physmap, XENMAPSPACE_shared_info)
// and starts the event loop, once.
func Events() (*EventChannels, error) {
	eventsOnce.Do(func() {
		gpa := (bufAddr(sharedMem[:]) + 4095) &^ 4095
		if r := addToPhysmap(xen.MapSpaceSharedInfo, 0, uint64(gpa>>12)); r < 0 {
			eventsErr = &Error{Op: "add_to_physmap(shared_info)", Errno: int(-r)}
			return
		}
		events = &EventChannels{page: board.PagesAt(gpa, 1), waiters: map[Port]chan struct{}{}}
		go events.loop()
	})
	return events, eventsErr
}

// addToPhysmap places one of the hypervisor's pages for this domain at a
// guest frame (XENMEM_add_to_physmap, public/memory.h: struct
// xen_add_to_physmap { domid_t domid; uint16_t size; unsigned int space;
// xen_ulong_t idx; xen_pfn_t gpfn; }) and returns the hypercall's result.
func addToPhysmap(space uint32, idx, gpfn uint64) int64 {
	var a [xen.AddToPhysmapSize]byte
	binary.LittleEndian.PutUint16(a[0:], xen.DomIDSelf)
	binary.LittleEndian.PutUint32(a[4:], space)
	binary.LittleEndian.PutUint64(a[8:], idx)
	binary.LittleEndian.PutUint64(a[16:], gpfn)
	return board.Hypercall(xen.HypercallMemoryOp, xen.MemOpAddToPhysmap, addr(&a[0]), 0, 0, 0)
}

// loop turns upcalls into notifications. It also scans now and then, so
// that nothing is lost if an upcall came while it was busy.
func (e *EventChannels) loop() {
	for {
		// After an upcall, the selector says which words to look at;
		// after a quiet spell, every word is (a port unmasked without
		// EVTCHNOP_unmask sets no selector bit).
		e.scan(!board.WaitUpcall(20 * time.Millisecond))
	}
}

// Offsets in shared_info and vcpu_info[0] (public/xen.h, x86-64), as the
// hypervisor's event-channel code lays them out.
const (
	offUpcallPending = evtchn.VCPUInfoUpcallPending
	offPendingSel    = evtchn.VCPUInfoPendingSel
	offPending       = evtchn.SharedEvtchnPending
	offMask          = evtchn.SharedEvtchnMask
)

// scan clears and dispatches the pending, unmasked ports (the 2-level ABI:
// clear upcall_pending, then the selector, then the pending words it names,
// or all of them).
func (e *EventChannels) scan(all bool) {
	andNot64(e.page, offUpcallPending, 0xff) // the upcall_pending byte
	sel := swap64(e.page, offPendingSel, 0)
	if all {
		sel = ^uint64(0)
	}
	for ; sel != 0; sel &= sel - 1 {
		i := bits.TrailingZeros64(sel)
		w := load64(e.page, offPending+8*i) &^ load64(e.page, offMask+8*i)
		for w != 0 {
			b := bits.TrailingZeros64(w)
			w &^= 1 << b
			andNot64(e.page, offPending+8*i, 1<<b)
			e.fire(Port(i*64 + b))
		}
	}
}

func (e *EventChannels) fire(p Port) {
	e.mu.Lock()
	ch := e.waiters[p]
	e.mu.Unlock()
	if ch != nil {
		select {
		case ch <- struct{}{}:
		default: // already signalled
		}
	}
}

// Notify returns the channel that receives when port p fires.
func (e *EventChannels) Notify(p Port) <-chan struct{} {
	e.mu.Lock()
	defer e.mu.Unlock()
	ch := e.waiters[p]
	if ch == nil {
		ch = make(chan struct{}, 1)
		e.waiters[p] = ch
	}
	return ch
}

// Wait waits for port p to fire, at most timeout; it reports whether it did.
func (e *EventChannels) Wait(p Port, timeout time.Duration) bool {
	t := time.NewTimer(timeout)
	defer t.Stop()
	select {
	case <-e.Notify(p):
		return true
	case <-t.C:
		return false
	}
}

// Mask stops upcalls for port p: its bit in shared_info's evtchn_mask
// (public/xen.h). Events still mark it pending, which Poll waits for.
func (e *EventChannels) Mask(p Port) {
	or64(e.page, offMask+8*int(p/64), 1<<(p%64))
}

// Poll waits for a masked port without the event goroutine: it clears the
// port's pending bit if set, and otherwise blocks the vCPU in SCHEDOP_poll
// (public/sched.h) until the port is pending. It is the fast path for a
// port whose latency matters more than the other goroutines' progress:
// nothing else in the domain runs while it waits.
func (e *EventChannels) Poll(p Port) error {
	var ports [4]byte
	binary.LittleEndian.PutUint32(ports[:], uint32(p))
	var sp [24]byte // struct sched_poll { handle ports; uint nr_ports; uint64 timeout; }
	binary.LittleEndian.PutUint64(sp[0:], addr(&ports[0]))
	binary.LittleEndian.PutUint32(sp[8:], 1)
	for !testAndClear(e.page, offPending+8*int(p/64), 1<<(p%64)) {
		if r := board.Hypercall(xen.HypercallSchedOp, xen.SchedOpPoll, addr(&sp[0]), 0, 0, 0); r < 0 {
			return &Error{Op: "sched_op(poll)", Errno: int(-r)}
		}
	}
	return nil
}

// op runs an event_channel_op with its argument structure.
func (e *EventChannels) op(cmd uint32, b []byte) error {
	if r := board.Hypercall(xen.HypercallEventChannelOp, uint64(cmd), addr(&b[0]), 0, 0, 0); r < 0 {
		return &Error{Op: fmt.Sprintf("event_channel_op %d", cmd), Errno: int(-r)} // named only on failure
	}
	return nil
}

// AllocUnbound allocates a port that domain remote may bind.
func (e *EventChannels) AllocUnbound(remote DomID) (Port, error) {
	b := make([]byte, 8)
	if err := (evtchn.AllocUnboundArgs{Dom: evtchn.DomIDSelf, RemoteDom: remote}).Encode(b); err != nil {
		return 0, err
	}
	if err := e.op(evtchn.OpAllocUnbound, b); err != nil {
		return 0, err
	}
	a, err := evtchn.DecodeAllocUnbound(b)
	return a.Port, err
}

// BindInterdomain connects a local port to a port domain remote allocated
// for this domain.
func (e *EventChannels) BindInterdomain(remote DomID, rport Port) (Port, error) {
	b := make([]byte, 12)
	if err := (evtchn.BindInterdomainArgs{RemoteDom: remote, RemotePort: rport}).Encode(b); err != nil {
		return 0, err
	}
	if err := e.op(evtchn.OpBindInterdomain, b); err != nil {
		return 0, err
	}
	a, err := evtchn.DecodeBindInterdomain(b)
	return a.LocalPort, err
}

// BindVIRQ binds a virtual interrupt (evtchn.VIRQ*) on vCPU 0.
func (e *EventChannels) BindVIRQ(virq uint32) (Port, error) {
	b := make([]byte, 12)
	if err := (evtchn.BindVIRQArgs{VIRQ: virq}).Encode(b); err != nil {
		return 0, err
	}
	if err := e.op(evtchn.OpBindVIRQ, b); err != nil {
		return 0, err
	}
	a, err := evtchn.DecodeBindVIRQ(b)
	return a.Port, err
}

// Send notifies the other end of port p.
func (e *EventChannels) Send(p Port) error {
	if r := board.SendEvent(uint32(p)); r < 0 {
		return &Error{Op: "event_channel_op send", Errno: int(-r)}
	}
	return nil
}

// Close closes port p.
func (e *EventChannels) Close(p Port) error {
	b := make([]byte, 4)
	binary.LittleEndian.PutUint32(b, uint32(p))
	e.mu.Lock()
	delete(e.waiters, p)
	e.mu.Unlock()
	return e.op(evtchn.OpClose, b)
}

// HVMParam reads one of this domain's HVM parameters (HVMOP_get_param).
func HVMParam(index uint32) (uint64, error) {
	v, r := board.HVMParam(index)
	if r < 0 {
		return 0, &Error{Op: "hvm get_param", Errno: int(-r)}
	}
	return v, nil
}

// ErrTimeout is a wait that ran out.
var ErrTimeout = errors.New("guest: timed out")
