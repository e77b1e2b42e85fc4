package hv

import (
	"bytes"
	"maps"
	"slices"
	"testing"

	"tamavisor/ept"
	"tamavisor/hv/grant"
	"tamavisor/hv/sched"
	"tamavisor/xen"
)

// Event channels and grants between two domains, through the hypercalls as
// the guests make them (arguments in guest memory, Xen's layouts).

// wakeByTimer ends a blocked vCPU's wait the way the run loop does when
// the single-shot timer the guest set has passed.
func (w *world) wakeByTimer(tb testing.TB, e *testEnv) {
	tb.Helper()
	e.v.Timer = 1
	w.h.fireTimers(rdtsc())
	if e.v.State != VCPURunnable {
		tb.Fatalf("%s: vCPU %s after its timer", e.d.Label(), e.v.State)
	}
	e.ackUpcall(tb)
}

// noEvents checks that none of the domain's ports is pending and no upcall
// is marked.
func (e *testEnv) noEvents(tb testing.TB) {
	tb.Helper()
	if b := e.read(tb, sharedAt(e)+2048, 512); !bytes.Equal(b, make([]byte, 512)) {
		tb.Errorf("%s: ports pending: % x", e.d.Label(), bytes.TrimRight(b, "\x00"))
	}
	if e.upcallPending(tb) != 0 || e.pendingSel(tb) != 0 || e.v.UpcallPending {
		tb.Errorf("%s: upcall marked: upcall_pending %d, selector %#x, vCPU %v", e.d.Label(),
			e.upcallPending(tb), e.pendingSel(tb), e.v.UpcallPending)
	}
}

// d2 allocates an unbound port for d1, d1 binds it, d1 sends: d2's
// shared_info shows the port pending with the selector and upcall_pending
// set, and d2's vCPU, blocked in SCHEDOP_block, is runnable again, for the
// hypervisor and for the scheduler.
func TestEvtchnInterdomainSendWakes(t *testing.T) {
	w, d1, d2 := newTwoDomains(t)
	d1.mapShared(t)
	d2.mapShared(t)

	r, p2 := d2.allocUnbound(t, xen.DomIDSelf, 1)
	if r != 0 || p2 == 0 {
		t.Fatalf("alloc_unbound = %d, port %d", r, p2)
	}
	if r, st, rdom, _ := d2.portStatus(t, xen.DomIDSelf, p2); r != 0 || st != 1 || rdom != 1 {
		t.Errorf("status of the unbound port = %d: state %d, remote d%d; want unbound (1) for d1", r, st, rdom)
	}
	// d1 may not bind a port meant for someone else, nor a closed one.
	if r, _ := d2.allocUnbound(t, xen.DomIDSelf, 7); r != 0 {
		t.Fatalf("alloc_unbound for d7 = %d", r)
	}
	if r, _ := d1.bindInterdomain(t, 2, p2+1); r != einval {
		t.Errorf("bind_interdomain to a port unbound for d7 = %d, want -EINVAL", r)
	}
	if r, _ := d1.bindInterdomain(t, 2, 100); r != einval {
		t.Errorf("bind_interdomain to a closed port = %d, want -EINVAL", r)
	}
	if r, _ := d1.bindInterdomain(t, 9, p2); r != -xen.ESRCH {
		t.Errorf("bind_interdomain to d9 = %d, want -ESRCH", r)
	}
	r, p1 := d1.bindInterdomain(t, 2, p2)
	if r != 0 || p1 == 0 {
		t.Fatalf("bind_interdomain = %d, port %d", r, p1)
	}
	for _, c := range []struct {
		e          *testEnv
		port       uint32
		rdom       uint16
		rport      uint32
		what       string
		wantStatus uint32
	}{{d1, p1, 2, p2, "d1's end", 2}, {d2, p2, 1, p1, "d2's end", 2}} {
		r, st, rdom, rport := c.e.portStatus(t, xen.DomIDSelf, c.port)
		if r != 0 || st != c.wantStatus || rdom != c.rdom || rport != c.rport {
			t.Errorf("status of %s = %d: state %d, remote d%d port %d; want interdomain to d%d port %d",
				c.what, r, st, rdom, rport, c.rdom, c.rport)
		}
	}
	// Xen makes the binder's new port pending: notifications sent to the
	// unbound port before it was bound may have been lost.
	if !d1.pendingBit(t, p1) {
		t.Error("the new local port of bind_interdomain is not pending")
	}
	d2.noEvents(t)

	d2.block(t)
	if d2.v.State != VCPUBlocked || d2.schedState(t) != sched.Blocked {
		t.Fatalf("after SCHEDOP_block: vCPU %s, scheduler %s", d2.v.State, d2.schedState(t))
	}
	if r := d1.send(t, p1); r != 0 {
		t.Fatalf("send = %d", r)
	}
	d1.wantRunning(t)
	if !d2.pendingBit(t, p2) || d2.upcallPending(t) != 1 || d2.pendingSel(t) != 1<<(p2/64) {
		t.Errorf("d2's shared_info: port %d pending %v, upcall_pending %d, selector %#x",
			p2, d2.pendingBit(t, p2), d2.upcallPending(t), d2.pendingSel(t))
	}
	if d2.v.State != VCPURunnable || !d2.v.UpcallPending || d2.schedState(t) != sched.Runnable {
		t.Errorf("d2 after the send: vCPU %s, upcall %v, scheduler %s; want woken with an upcall",
			d2.v.State, d2.v.UpcallPending, d2.schedState(t))
	}

	// With the upcall not yet taken, SCHEDOP_block returns at once.
	d2.block(t)
	if d2.v.State != VCPURunnable {
		t.Errorf("SCHEDOP_block with an upcall pending blocked: %s", d2.v.State)
	}

	// A port that is still pending gives no new event: no wake (Xen's
	// evtchn_2l_set_pending stops at the pending bit).
	d2.ackUpcall(t)
	d2.block(t)
	if r := d1.send(t, p1); r != 0 {
		t.Fatalf("second send = %d", r)
	}
	if d2.v.State != VCPUBlocked || d2.upcallPending(t) != 0 {
		t.Errorf("a send to a port already pending: vCPU %s, upcall_pending %d; want still blocked, no upcall",
			d2.v.State, d2.upcallPending(t))
	}
	// Once the guest has cleared it, the next send wakes it again.
	w.wakeByTimer(t, d2)
	d2.clearPending(t, p2)
	d2.block(t)
	if r := d1.send(t, p1); r != 0 || d2.v.State != VCPURunnable || !d2.pendingBit(t, p2) {
		t.Errorf("send after the guest cleared the port = %d: vCPU %s, pending %v", r, d2.v.State, d2.pendingBit(t, p2))
	}
	// And the other way.
	d1.ackUpcall(t)
	d1.clearPending(t, p1)
	if r := d2.send(t, p2); r != 0 || !d1.pendingBit(t, p1) || d1.upcallPending(t) != 1 || !d1.v.UpcallPending {
		t.Errorf("send from d2 = %d: d1's port pending %v, upcall_pending %d", r, d1.pendingBit(t, p1), d1.upcallPending(t))
	}
	w.check(t)
}

// A masked port becomes pending but raises no upcall, so a vCPU blocked in
// SCHEDOP_block stays blocked (Xen: no selector, no evtchn_upcall_pending,
// no kick).
func TestEvtchnMaskedPortDoesNotWake(t *testing.T) {
	w, d1, d2 := newTwoDomains(t)
	d2.mapShared(t)
	p1, p2 := connect(t, d1, d2)
	d2.mask(t, p2)
	d2.block(t)
	if r := d1.send(t, p1); r != 0 {
		t.Fatalf("send = %d", r)
	}
	if !d2.pendingBit(t, p2) {
		t.Error("the masked port is not pending")
	}
	if d2.upcallPending(t) != 0 || d2.pendingSel(t) != 0 || d2.v.UpcallPending {
		t.Errorf("a masked port raised an upcall: upcall_pending %d, selector %#x", d2.upcallPending(t), d2.pendingSel(t))
	}
	if d2.v.State != VCPUBlocked || d2.schedState(t) != sched.Blocked {
		t.Errorf("a masked port woke the vCPU: %s, scheduler %s", d2.v.State, d2.schedState(t))
	}
	// EVTCHNOP_unmask of the pending port raises the upcall (evtchn_2l_unmask).
	w.wakeByTimer(t, d2)
	if r := d2.portOp(t, evtchnopUnmask, p2); r != 0 {
		t.Fatalf("unmask = %d", r)
	}
	if d2.upcallPending(t) != 1 || d2.pendingSel(t) != 1<<(p2/64) || !d2.v.UpcallPending {
		t.Errorf("unmask of a pending port: upcall_pending %d, selector %#x, vCPU upcall %v",
			d2.upcallPending(t), d2.pendingSel(t), d2.v.UpcallPending)
	}
	w.check(t)
}

// EVTCHNOP_send only reads its argument (Xen's do_event_channel_op copies
// nothing back for send, close or unmask): a send whose struct the guest
// keeps in a read-only page (const data, under guest paging with CR0.WP)
// succeeds, and the peer is woken.
func TestEvtchnSendFromReadOnlyArg(t *testing.T) {
	w, d1, d2 := newTwoDomains(t)
	d2.mapShared(t)
	p1, p2 := connect(t, d1, d2)
	// d1 turns on paging: its send argument at a linear address mapped
	// read-only.
	const ro = 0x4000_0000
	pt := d1.newGuestPT(t, 0x20_0000)
	pt.mapPage(ro, argGPA, mem4K, ptP)
	d1.longMode(pt.root)
	d1.write(t, argGPA, le.AppendUint32(nil, p1))
	d2.block(t)
	if r := d1.call(t, xen.HypercallEventChannelOp, evtchnopSend, ro); r != 0 {
		t.Errorf("send with a read-only argument = %d, want 0", r)
	}
	if !d2.pendingBit(t, p2) {
		t.Fatal("the port is not pending")
	}
	if d2.v.State != VCPURunnable || !d2.v.UpcallPending {
		t.Errorf("d2's port is pending but d2 is %s (upcall %v); want woken", d2.v.State, d2.v.UpcallPending)
	}
	w.check(t)
}

// SCHEDOP_block enables event delivery before it blocks (Xen's
// vcpu_block_enable_events: evtchn_upcall_mask = 0), so an event on an
// unmasked port wakes a vCPU that had masked upcalls (hv/hypercall.go's
// comment promises the same).
func TestSchedBlockEnablesEventDelivery(t *testing.T) {
	w, d1, d2 := newTwoDomains(t)
	d2.mapShared(t)
	p1, p2 := connect(t, d1, d2)
	d2.write(t, sharedAt(d2)+1, []byte{1}) // vcpu_info[0].evtchn_upcall_mask
	d2.block(t)
	if mask := d2.read(t, sharedAt(d2)+1, 1)[0]; mask != 0 {
		t.Errorf("SCHEDOP_block left evtchn_upcall_mask at %d", mask)
	}
	if r := d1.send(t, p1); r != 0 {
		t.Fatal(r)
	}
	if !d2.pendingBit(t, p2) || d2.upcallPending(t) != 1 || !d2.v.UpcallPending {
		t.Errorf("port pending %v, upcall_pending %d, upcall %v; want an upcall", d2.pendingBit(t, p2),
			d2.upcallPending(t), d2.v.UpcallPending)
	}
	if d2.v.State != VCPURunnable || d2.schedState(t) != sched.Runnable {
		t.Errorf("d2 after the send: vCPU %s, scheduler %s; want woken", d2.v.State, d2.schedState(t))
	}
	w.check(t)
}

// Sends on ports that are not the caller's open interdomain ports are
// -EINVAL (Xen's evtchn_send); the caller goes on, nobody is notified.
func TestEvtchnSendErrors(t *testing.T) {
	w, d1, d2 := newTwoDomains(t)
	d1.mapShared(t)
	d2.mapShared(t)
	p1, p2 := connect(t, d1, d2)
	// Ports d2 has and d1 has not.
	var theirs []uint32
	for range 3 {
		r, p := d2.allocUnbound(t, xen.DomIDSelf, 1)
		if r != 0 {
			t.Fatal(r)
		}
		theirs = append(theirs, p)
	}
	if r, st, _, _ := d1.portStatus(t, xen.DomIDSelf, theirs[2]); r != 0 || st != 0 {
		t.Fatalf("d1's port %d: status %d, state %d; want closed", theirs[2], r, st)
	}
	d1.ackUpcall(t)
	d1.clearPending(t, p1)
	d2.block(t)
	for _, tt := range []struct {
		name string
		port uint32
	}{
		{"port 0 (reserved)", 0},
		{"another domain's port", theirs[2]},
		{"a closed port", 100},
		{"the last port + 1 (4096)", 4096},
		{"port 2^31", 1 << 31},
		{"port 2^32-1", 0xffff_ffff},
	} {
		if r := d1.send(t, tt.port); r != einval {
			t.Errorf("send on %s = %d, want -EINVAL", tt.name, r)
		}
		d1.wantRunning(t)
		if d1.v.State != VCPURunnable {
			t.Errorf("send on %s: the caller's vCPU is %s", tt.name, d1.v.State)
		}
	}
	if d2.v.State != VCPUBlocked {
		t.Errorf("failed sends woke d2: %s", d2.v.State)
	}
	d2.noEvents(t)
	d1.noEvents(t)

	// Close, twice: the second is -EINVAL, and so is a send on it.
	if r := d1.closePort(t, p1); r != 0 {
		t.Fatalf("close = %d", r)
	}
	if r := d1.closePort(t, p1); r != einval {
		t.Errorf("second close = %d, want -EINVAL", r)
	}
	if r := d1.closePort(t, 0); r != einval {
		t.Errorf("close of port 0 = %d, want -EINVAL", r)
	}
	if r := d1.send(t, p1); r != einval {
		t.Errorf("send on a closed port = %d, want -EINVAL", r)
	}
	// d2's end is unbound again, for d1; a send on it is dropped.
	w.wakeByTimer(t, d2)
	if r, st, rdom, _ := d2.portStatus(t, xen.DomIDSelf, p2); r != 0 || st != 1 || rdom != 1 {
		t.Errorf("d2's end after d1's close = %d: state %d, remote d%d; want unbound for d1", r, st, rdom)
	}
	if r := d2.send(t, p2); r != 0 {
		t.Errorf("send on an unbound port = %d, want 0 (dropped)", r)
	}
	d1.noEvents(t)
	// d1 may bind it again.
	if r, q := d1.bindInterdomain(t, 2, p2); r != 0 || q == 0 {
		t.Errorf("bind_interdomain after close = %d, port %d", r, q)
	}
	w.check(t)
}

// SCHEDOP_poll returns at once when a polled port is pending, and blocks
// otherwise until one is: here masked ports, as the guest library's Poll
// uses, so that only the poll can wake the vCPU.
func TestSchedPollWakesOnPolledPort(t *testing.T) {
	w, d1, d2 := newTwoDomains(t)
	d2.mapShared(t)
	a1, a2 := connect(t, d1, d2)
	_, b2 := connect(t, d1, d2)
	d2.mask(t, a2)
	d2.mask(t, b2)

	if r := d1.send(t, a1); r != 0 {
		t.Fatal(r)
	}
	if r := d2.poll(t, 0, a2); r != 0 || d2.v.State != VCPURunnable || d2.schedState(t) != sched.Runnable || d2.v.polling {
		t.Errorf("poll of a pending port = %d: vCPU %s, scheduler %s, polling %v; want an immediate return",
			r, d2.v.State, d2.schedState(t), d2.v.polling)
	}
	if r := d2.poll(t, 0, b2, a2); r != 0 || d2.v.State != VCPURunnable {
		t.Errorf("poll of two ports, the second pending = %d: vCPU %s", r, d2.v.State)
	}
	if !d2.pendingBit(t, a2) {
		t.Error("poll cleared the pending bit (the guest does that)")
	}

	d2.clearPending(t, a2)
	if r := d2.poll(t, 0, a2); r != 0 || d2.v.State != VCPUBlocked || d2.schedState(t) != sched.Blocked || !d2.v.polling {
		t.Fatalf("poll of an idle port = %d: vCPU %s, scheduler %s, polling %v; want blocked",
			r, d2.v.State, d2.schedState(t), d2.v.polling)
	}
	if d2.v.Timer != 0 {
		t.Errorf("poll without a timeout set the timer: %d", d2.v.Timer)
	}
	if r := d1.send(t, a1); r != 0 {
		t.Fatal(r)
	}
	if d2.v.State != VCPURunnable || d2.schedState(t) != sched.Runnable || d2.v.polling {
		t.Errorf("the polled port fired: vCPU %s, scheduler %s, polling %v; want woken", d2.v.State, d2.schedState(t), d2.v.polling)
	}
	if !d2.pendingBit(t, a2) || d2.upcallPending(t) != 0 || d2.v.UpcallPending {
		t.Errorf("masked polled port: pending %v, upcall_pending %d; want pending, no upcall", d2.pendingBit(t, a2), d2.upcallPending(t))
	}

	// A timeout (absolute system time, ns) arms the poll's own deadline;
	// the guest's single-shot timer stays as it was, and an event ends the
	// poll and its timeout.
	d2.clearPending(t, a2)
	const ns, single = 5_000_000_000, 9_000_000_000
	d2.v.Timer = w.h.Clock.Ticks(single)
	if r := d2.poll(t, ns, a2); r != 0 || d2.v.State != VCPUBlocked || d2.v.pollDeadline != w.h.Clock.Ticks(ns) {
		t.Errorf("poll with a timeout = %d: vCPU %s, poll deadline %d, want %d", r, d2.v.State, d2.v.pollDeadline, w.h.Clock.Ticks(ns))
	}
	if d2.v.Timer != w.h.Clock.Ticks(single) {
		t.Errorf("the poll's timeout replaced the single-shot timer: %d, want %d", d2.v.Timer, w.h.Clock.Ticks(single))
	}
	if r := d1.send(t, a1); r != 0 {
		t.Fatal(r)
	}
	if d2.v.State != VCPURunnable || d2.v.pollDeadline != 0 || d2.v.Timer != w.h.Clock.Ticks(single) {
		t.Errorf("after the event: vCPU %s, poll deadline %d, timer %d", d2.v.State, d2.v.pollDeadline, d2.v.Timer)
	}

	// A poll that times out wakes the vCPU without VIRQ_TIMER or an
	// upcall.
	d2.clearPending(t, a2)
	d2.v.Timer = 0
	d2.poll(t, ns, a2)
	w.h.fireTimers(w.h.Clock.Ticks(ns))
	if d2.v.State != VCPURunnable || d2.v.UpcallPending {
		t.Errorf("poll timeout: vCPU %s, upcall pending %v; want woken, no upcall", d2.v.State, d2.v.UpcallPending)
	}
	w.check(t)
}

// Xen wakes a vCPU blocked in SCHEDOP_poll on one port only for that port
// (evtchn_check_pollers: v->poll_evtchn) or for an upcall; an event on
// another, masked, port that raises no upcall leaves it blocked.
func TestSchedPollIgnoresOtherMaskedPort(t *testing.T) {
	w, d1, d2 := newTwoDomains(t)
	d2.mapShared(t)
	a1, a2 := connect(t, d1, d2)
	b1, b2 := connect(t, d1, d2)
	d2.mask(t, a2)
	d2.mask(t, b2)
	if r := d2.poll(t, 0, a2); r != 0 || d2.v.State != VCPUBlocked {
		t.Fatalf("poll = %d: vCPU %s", r, d2.v.State)
	}
	if r := d1.send(t, b1); r != 0 || !d2.pendingBit(t, b2) {
		t.Fatalf("send on the other port = %d", r)
	}
	if d2.v.State != VCPUBlocked || !d2.v.polling || d2.schedState(t) != sched.Blocked {
		t.Errorf("an event on port %d (masked, not polled) woke the vCPU polling port %d: vCPU %s, scheduler %s",
			b2, a2, d2.v.State, d2.schedState(t))
	}
	if r := d1.send(t, a1); r != 0 || d2.v.State != VCPURunnable {
		t.Errorf("the polled port then: %d, vCPU %s", r, d2.v.State)
	}
	w.check(t)
}

func TestSchedPollErrors(t *testing.T) {
	w, d1, d2 := newTwoDomains(t)
	d2.mapShared(t)
	_, a2 := connect(t, d1, d2)
	ports := make([]uint32, 129)
	for i := range ports {
		ports[i] = a2
	}
	if r := d2.poll(t, 0, ports...); r != einval || d2.v.State != VCPURunnable {
		t.Errorf("poll of 129 ports = %d, vCPU %s; want -EINVAL", r, d2.v.State)
	}
	// The port list outside RAM.
	b := make([]byte, 24)
	le.PutUint64(b[0:], d2.d.MemSize)
	le.PutUint32(b[8:], 1)
	d2.write(t, argGPA, b)
	if r := d2.call(t, xen.HypercallSchedOp, xen.SchedOpPoll, argGPA); r != efault || d2.v.State != VCPURunnable {
		t.Errorf("poll with its port list outside RAM = %d, vCPU %s; want -EFAULT", r, d2.v.State)
	}
	// The structure outside RAM, or across its end.
	for _, at := range []uint64{d2.d.MemSize, d2.d.MemSize - 8} {
		if r := d2.call(t, xen.HypercallSchedOp, xen.SchedOpPoll, at); r != efault || d2.v.State != VCPURunnable {
			t.Errorf("poll with struct sched_poll at %#x = %d, vCPU %s; want -EFAULT", at, r, d2.v.State)
		}
	}
	w.check(t)
}

// Xen's do_poll: a port the domain cannot have (port_is_valid fails) is
// -EINVAL, and the vCPU does not block.
func TestSchedPollInvalidPort(t *testing.T) {
	w, _, d2 := newTwoDomains(t)
	d2.mapShared(t)
	for _, p := range []uint32{4096, 0xffff_ffff} {
		r := d2.poll(t, 0, p)
		if d2.v.State != VCPURunnable || r != einval {
			t.Errorf("poll on port %d = %d, vCPU %s; want -EINVAL, runnable", p, r, d2.v.State)
		}
		if d2.v.State == VCPUBlocked {
			w.wakeByTimer(t, d2)
		}
	}
	w.check(t)
}

// Grants.

const (
	gtfPermitAccess = 1 << 0
	gtfReadonly     = 1 << 2
	gtfReading      = 1 << 3
	gtfWriting      = 1 << 4
)

// grantedGFN is the page of d1's RAM the tests grant.
const grantedGFN = 0x123

// newGrantWorld is two domains where d1 has mapped its grant table frame 0
// and filled the page it grants with a pattern.
func newGrantWorld(tb testing.TB) (*world, *testEnv, *testEnv, []byte) {
	tb.Helper()
	w, d1, d2 := newTwoDomains(tb)
	d1.mapGrantTable(tb)
	pattern := make([]byte, 4096)
	for i := range pattern {
		pattern[i] = byte(i*7 + 1)
	}
	d1.write(tb, grantedGFN<<12, pattern)
	return w, d1, d2, pattern
}

// mapGranted has d1 grant d2 its page (ref 8, read and write) and d2 map it
// at grantMapAt(d2, 0); it returns where and the handle.
func mapGranted(tb testing.TB, d1, d2 *testEnv) (at uint64, handle uint32) {
	tb.Helper()
	d1.grantAccess(tb, 8, 2, grantedGFN, gtfPermitAccess)
	at = grantMapAt(d2, 0)
	st, handle := d2.mapGrant(tb, 1, 8, at, gntmapHostMap)
	if st != grant.Okay {
		tb.Fatalf("map_grant_ref = %v", st)
	}
	return at, handle
}

// d1 grants a page of its RAM to d2; d2 maps it above its RAM: both see
// the same frame, the grant entry shows it in use; unmap ends it, a second
// unmap is GNTST_bad_handle.
func TestGrantMapShares(t *testing.T) {
	w, d1, d2, pattern := newGrantWorld(t)
	g, h := mapGranted(t, d1, d2)
	if f := d1.grantFlags(t, 8); f != gtfPermitAccess|gtfReading|gtfWriting {
		t.Errorf("grant entry flags %#x while mapped writable, want permit_access|reading|writing", f)
	}
	frame := d1.hpa(t, grantedGFN<<12)
	m, ok := d2.d.EPT.Translate(g)
	if !ok || m.HPA != frame || m.Perm&ept.RW != ept.RW || m.Perm&ept.Exec != 0 {
		t.Fatalf("d2's EPT at %#x: %+v %v; want d1's frame %#x, read-write", g, m, ok, frame)
	}
	if got := d2.read(t, g, 4096); !bytes.Equal(got, pattern) {
		t.Error("d2 does not see d1's page")
	}
	d2.write(t, g+100, []byte("written by d2"))
	if got := d1.read(t, grantedGFN<<12+100, 13); string(got) != "written by d2" {
		t.Errorf("d1 sees %q", got)
	}
	if got := w.frame(frame)[100:113]; string(got) != "written by d2" {
		t.Errorf("the frame holds %q", got)
	}
	// The hypervisor writes there for d2 too: XENMEM_memory_map into the
	// mapped page.
	b := make([]byte, 16)
	le.PutUint32(b[0:], 1)
	le.PutUint64(b[8:], g+0x200)
	d2.write(t, argGPA, b)
	if r := d2.call(t, xen.HypercallMemoryOp, xen.MemOpMemoryMap, argGPA); r != 0 {
		t.Fatalf("memory_map into the grant mapping = %d", r)
	}
	if got := le.Uint64(d1.read(t, grantedGFN<<12+0x208, 8)); got != 0xa_0000 {
		t.Errorf("d1's page has the e820 entry's size %#x, want 0xa0000", got)
	}

	// A second mapping of the same grant, read-only.
	g2 := grantMapAt(d2, 1)
	st2, h2 := d2.mapGrant(t, 1, 8, g2, gntmapHostMap|gntmapReadonly)
	if st2 != grant.Okay || h2 == h {
		t.Fatalf("second map = %v, handle %#x (first %#x)", st2, h2, h)
	}
	if m, ok := d2.d.EPT.Translate(g2); !ok || m.HPA != frame || m.Perm&ept.Write != 0 {
		t.Errorf("read-only mapping: %+v %v", m, ok)
	}
	// Unmap the writable one: GTF_writing goes, GTF_reading stays.
	if st := d2.unmapGrant(t, g, h); st != grant.Okay {
		t.Fatalf("unmap = %v", st)
	}
	if f := d1.grantFlags(t, 8); f != gtfPermitAccess|gtfReading {
		t.Errorf("flags %#x with a read-only mapping left, want permit_access|reading", f)
	}
	if _, ok := d2.d.EPT.Translate(g); ok {
		t.Error("the unmapped page is still in d2's EPT")
	}
	if err := d2.d.Mem.ReadGPA(g, make([]byte, 1)); err == nil {
		t.Error("d2 reads the unmapped page")
	}
	if st := d2.unmapGrant(t, g, h); st != grant.BadHandle {
		t.Errorf("second unmap = %v, want GNTST_bad_handle", st)
	}
	if st := d2.unmapGrant(t, 0, h); st != grant.BadHandle {
		t.Errorf("second unmap without host_addr = %v, want GNTST_bad_handle", st)
	}
	if st := d2.unmapGrant(t, g2, h2); st != grant.Okay {
		t.Fatalf("unmap of the read-only mapping = %v", st)
	}
	if f := d1.grantFlags(t, 8); f != gtfPermitAccess {
		t.Errorf("flags %#x with nothing mapped, want permit_access", f)
	}
	if st := d2.unmapGrant(t, g2, h2); st != grant.BadHandle {
		t.Errorf("second unmap of the read-only mapping = %v, want GNTST_bad_handle", st)
	}
	if len(d2.d.grantHPA) != 0 {
		t.Errorf("d2 still records mappings: %v", d2.d.grantHPA)
	}
	// The handle is not reused for another mapping's benefit: a new
	// mapping gets a different handle, and the old one stays bad.
	st3, h3 := d2.mapGrant(t, 1, 8, g, gntmapHostMap)
	if st3 != grant.Okay || h3 == h {
		t.Errorf("new map = %v, handle %#x (the old one %#x)", st3, h3, h)
	}
	if st := d2.unmapGrant(t, g, h); st != grant.BadHandle {
		t.Errorf("unmap by the stale handle = %v, want GNTST_bad_handle", st)
	}
	if _, ok := d2.d.EPT.Translate(g); !ok {
		t.Error("the stale handle's unmap removed the new mapping")
	}
	w.check(t)
}

// Maps that are refused, with Xen's status (hypervisor pages in the
// granter's physical space are tamavisor's rule, grant.Memory.Owns, and
// GPAs in the grantee's RAM its rule for where grants go); nothing is
// mapped and the grant entries keep their flags.
func TestGrantMapRefused(t *testing.T) {
	const (
		refOther    = 9  // granted to d7
		refRO       = 10 // read-only grant to d2
		refInvalid  = 11 // flags 0
		refHole     = 12 // a frame above d1's RAM
		refShared   = 13 // the RAM frame d1 put its shared_info over
		refTable    = 14 // d1's own grant table frame
		refTransfer = 15 // GTF_accept_transfer
	)
	w, d1, d2, _ := newGrantWorld(t)
	sharedGFN := uint64(0x300)
	if r := d1.addToPhysmap(t, xen.DomIDSelf, xen.MapSpaceSharedInfo, 0, sharedGFN); r != 0 {
		t.Fatal(r)
	}
	d1.grantAccess(t, refOther, 7, grantedGFN, gtfPermitAccess)
	d1.grantAccess(t, refRO, 2, grantedGFN, gtfPermitAccess|gtfReadonly)
	d1.grantAccess(t, refInvalid, 2, grantedGFN, 0)
	d1.grantAccess(t, refHole, 2, d1.d.MemSize>>12+5, gtfPermitAccess)
	d1.grantAccess(t, refShared, 2, sharedGFN, gtfPermitAccess)
	d1.grantAccess(t, refTable, 2, grantTableAt(d1)>>12, gtfPermitAccess)
	d1.grantAccess(t, refTransfer, 2, grantedGFN, 2)
	g := grantMapAt(d2, 0)
	d2.mapShared(t)
	for _, tt := range []struct {
		name  string
		dom   uint16
		ref   uint32
		at    uint64
		flags uint32
		want  grant.Status
	}{
		{"a ref granted to another domain", 1, refOther, g, gntmapHostMap, grant.GeneralError},
		{"a read-only grant mapped writable", 1, refRO, g, gntmapHostMap, grant.GeneralError},
		{"an invalid entry", 1, refInvalid, g, gntmapHostMap, grant.GeneralError},
		{"an accept_transfer entry", 1, refTransfer, g, gntmapHostMap, grant.GeneralError},
		{"a ref never written", 1, 200, g, gntmapHostMap, grant.GeneralError},
		{"a ref beyond the table", 1, GrantFrames * 512, g, gntmapHostMap, grant.BadGntref},
		{"ref 2^32-1", 1, 0xffff_ffff, g, gntmapHostMap, grant.BadGntref},
		{"a frame outside the granter's RAM", 1, refHole, g, gntmapHostMap, grant.BadPage},
		{"the granter's shared_info", 1, refShared, g, gntmapHostMap, grant.BadPage},
		{"the granter's grant table", 1, refTable, g, gntmapHostMap, grant.BadPage},
		{"an unknown granter", 9, 8, g, gntmapHostMap, grant.BadDomain},
		{"DOMID_SELF as granter", xen.DomIDSelf, 8, g, gntmapHostMap, grant.BadDomain},
		{"at a GPA in the grantee's RAM", 1, refRO, 0x10_0000, gntmapHostMap | gntmapReadonly, grant.BadVirtAddr},
		{"at an unaligned GPA", 1, refRO, g + 8, gntmapHostMap | gntmapReadonly, grant.BadVirtAddr},
		{"over the grantee's shared_info", 1, refRO, sharedAt(d2), gntmapHostMap | gntmapReadonly, grant.BadVirtAddr},
		{"at 64 GiB", 1, refRO, 64 << 30, gntmapHostMap | gntmapReadonly, grant.BadVirtAddr},
		{"without GNTMAP_host_map", 1, refRO, g, gntmapReadonly, grant.BadGntref},
		{"GNTMAP_device_map", 1, refRO, g, 1 | gntmapHostMap | gntmapReadonly, grant.GeneralError},
		{"GNTMAP_application_map", 1, refRO, g, 1<<3 | gntmapHostMap | gntmapReadonly, grant.GeneralError},
	} {
		before := map[uint32]uint16{}
		for _, ref := range []uint32{refOther, refRO, refInvalid, refHole, refShared, refTable} {
			before[ref] = d1.grantFlags(t, ref)
		}
		st, _ := d2.mapGrant(t, tt.dom, tt.ref, tt.at, tt.flags)
		if st != tt.want {
			t.Errorf("map of %s = %v (%d), want %v (%d)", tt.name, st, st, tt.want, tt.want)
		}
		if _, ok := d2.d.EPT.Translate(g); ok {
			t.Fatalf("map of %s: mapped at %#x", tt.name, g)
		}
		if m, ok := d2.d.EPT.Translate(0x10_0000); !ok || m.HPA != d2.hpa(t, 0x10_0000) || m.Perm != ept.RWX {
			t.Fatalf("map of %s: d2's RAM changed", tt.name)
		}
		for ref, f := range before {
			if got := d1.grantFlags(t, ref); got != f {
				t.Errorf("map of %s: ref %d flags %#x -> %#x", tt.name, ref, f, got)
			}
		}
		d2.wantRunning(t)
	}
	if len(d2.d.grantHPA) != 0 {
		t.Errorf("refused maps left records: %v", d2.d.grantHPA)
	}
	// The read-only grant maps read-only: neither the guest nor the
	// hypervisor on its behalf writes through it.
	st, h := d2.mapGrant(t, 1, refRO, g, gntmapHostMap|gntmapReadonly)
	if st != grant.Okay {
		t.Fatalf("read-only map of a read-only grant = %v", st)
	}
	if f := d1.grantFlags(t, refRO); f != gtfPermitAccess|gtfReadonly|gtfReading {
		t.Errorf("read-only grant in use: flags %#x, want permit_access|readonly|reading", f)
	}
	before := d1.read(t, grantedGFN<<12, 4096)
	if err := d2.d.Mem.WriteGPA(g, []byte{1}); err == nil {
		t.Error("d2 wrote through a read-only grant mapping")
	}
	b := make([]byte, 16)
	le.PutUint32(b[0:], 4)
	le.PutUint64(b[8:], g)
	d2.write(t, argGPA, b)
	if r := d2.call(t, xen.HypercallMemoryOp, xen.MemOpMemoryMap, argGPA); r != efault {
		t.Errorf("memory_map into a read-only grant mapping = %d, want -EFAULT", r)
	}
	if !bytes.Equal(d1.read(t, grantedGFN<<12, 4096), before) {
		t.Error("d1's read-only granted page changed")
	}
	if st := d2.unmapGrant(t, g, h); st != grant.Okay {
		t.Errorf("unmap = %v", st)
	}
	w.check(t)
}

// Unmap requests that name the mapping wrongly.
func TestGrantUnmapErrors(t *testing.T) {
	w, d1, d2, _ := newGrantWorld(t)
	g, h := mapGranted(t, d1, d2)
	if st := d2.unmapGrant(t, g+mem4K, h); st != grant.GeneralError {
		t.Errorf("unmap at another address = %v, want GNTST_general_error", st)
	}
	for _, bad := range []uint32{h + 1, h ^ 1<<20, 0xffff_ffff} {
		if st := d2.unmapGrant(t, g, bad); st != grant.BadHandle {
			t.Errorf("unmap of handle %#x = %v, want GNTST_bad_handle", bad, st)
		}
	}
	// d1 cannot unmap d2's mapping: handles are the grantee's.
	if st := d1.unmapGrant(t, g, h); st != grant.BadHandle {
		t.Errorf("d1 unmapping d2's handle = %v, want GNTST_bad_handle", st)
	}
	if _, ok := d2.d.EPT.Translate(g); !ok {
		t.Fatal("a refused unmap removed the mapping")
	}
	if st := d2.unmapGrant(t, 0, h); st != grant.Okay {
		t.Errorf("unmap without host_addr = %v", st)
	}
	w.check(t)
}

// GNTTABOP_copy between a grant and the caller's own frame, within the
// page and across its end.
func TestGrantCopy(t *testing.T) {
	w, d1, d2, pattern := newGrantWorld(t)
	d1.grantAccess(t, 8, 2, grantedGFN, gtfPermitAccess)
	d1.grantAccess(t, 10, 2, grantedGFN, gtfPermitAccess|gtfReadonly)
	const own = 0x200 // d2's frame
	fill := bytes.Repeat([]byte{0xee}, 4096)
	d2.write(t, own<<12, fill)
	self := uint16(xen.DomIDSelf)
	const srcGref, dstGref = 1, 2

	// To the end of the page exactly.
	if st := d2.grantCopy(t, copySide{8, 1, 4000}, copySide{own, self, 96}, 96, srcGref); st != grant.Okay {
		t.Fatalf("copy of the last 96 bytes = %v", st)
	}
	got := d2.read(t, own<<12, 4096)
	if !bytes.Equal(got[96:192], pattern[4000:]) || !bytes.Equal(got[:96], fill[:96]) || !bytes.Equal(got[192:], fill[192:]) {
		t.Error("the copy landed wrong")
	}
	// One byte across the end, on either side: GNTST_bad_copy_arg, nothing
	// copied.
	d2.write(t, own<<12, fill)
	for _, tt := range []struct {
		src, dst copySide
		n        uint16
		flags    uint16
	}{
		{copySide{8, 1, 4000}, copySide{own, self, 0}, 97, srcGref},
		{copySide{8, 1, 0}, copySide{own, self, 4000}, 97, srcGref},
		{copySide{8, 1, 4095}, copySide{own, self, 0}, 2, srcGref},
		{copySide{own, self, 0}, copySide{8, 1, 4095}, 2, dstGref},
		{copySide{8, 1, 0}, copySide{own, self, 0}, 0xffff, srcGref},
		{copySide{8, 1, 0xffff}, copySide{own, self, 0}, 1, srcGref},
	} {
		if st := d2.grantCopy(t, tt.src, tt.dst, tt.n, tt.flags); st != grant.BadCopyArg {
			t.Errorf("copy of %d bytes from offset %d to %d = %v, want GNTST_bad_copy_arg", tt.n, tt.src.offset, tt.dst.offset, st)
		}
	}
	if !bytes.Equal(d2.read(t, own<<12, 4096), fill) || !bytes.Equal(d1.read(t, grantedGFN<<12, 4096), pattern) {
		t.Error("a refused copy wrote")
	}
	// Into the grant, a whole page.
	if st := d2.grantCopy(t, copySide{own, self, 0}, copySide{8, 1, 0}, 4096, dstGref); st != grant.Okay {
		t.Fatalf("copy into the grant = %v", st)
	}
	if !bytes.Equal(d1.read(t, grantedGFN<<12, 4096), fill) {
		t.Error("d1's page did not receive the copy")
	}
	// A read-only grant is a source, not a destination.
	if st := d2.grantCopy(t, copySide{10, 1, 0}, copySide{own, self, 0}, 8, srcGref); st != grant.Okay {
		t.Errorf("copy from a read-only grant = %v", st)
	}
	if st := d2.grantCopy(t, copySide{own, self, 0}, copySide{10, 1, 0}, 8, dstGref); st != grant.GeneralError {
		t.Errorf("copy into a read-only grant = %v, want GNTST_general_error", st)
	}
	// Frames are the caller's own only, and RAM only.
	if st := d2.grantCopy(t, copySide{grantedGFN, 1, 0}, copySide{own, self, 0}, 8, 0); st != grant.PermissionDenied {
		t.Errorf("copy from d1's frame by number = %v, want GNTST_permission_denied", st)
	}
	if st := d2.grantCopy(t, copySide{d2.d.MemSize >> 12, self, 0}, copySide{own, self, 0}, 8, 0); st != grant.BadPage {
		t.Errorf("copy from a frame above RAM = %v, want GNTST_bad_page", st)
	}
	// Copies pin only while they run.
	for _, ref := range []uint32{8, 10} {
		if f := d1.grantFlags(t, ref); f&(gtfReading|gtfWriting) != 0 {
			t.Errorf("ref %d flags %#x after the copies", ref, f)
		}
	}
	w.check(t)
}

// destroy ends a domain the way the run loop does: killed, then reaped.
func (w *world) destroy(tb testing.TB, e *testEnv) {
	tb.Helper()
	w.h.Kill(e.d, "destroyed by the test")
	w.h.reap()
	if e.d.State != DomainDead || w.h.Domain(e.d.ID) != nil {
		tb.Fatalf("%s: %s after reap", e.d.Label(), e.d.State)
	}
}

// isFree says whether the frame allocator would hand out the frame at hpa:
// it allocates every free frame, then gives them back.
func (w *world) isFree(hpa uint64) bool {
	var got []uint64
	found := false
	for {
		pa, err := w.frames.Alloc()
		if err != nil {
			break
		}
		got = append(got, pa)
		found = found || pa == hpa
	}
	for _, pa := range got {
		w.frames.Free(pa)
	}
	return found
}

// The granter dies while the grantee maps its page: the frame stays
// allocated (pinned) and mapped, with its contents, until the grantee
// unmaps it; every other frame returns at once.
func TestGrantGranterDestroyedWhileMapped(t *testing.T) {
	w, d1, d2, pattern := newGrantWorld(t)
	g, h := mapGranted(t, d1, d2)
	frame := d1.hpa(t, grantedGFN<<12)
	free := w.free()
	w.destroy(t, d1)
	if got, want := w.free(), free+domainFrames(4)-1; got != want {
		t.Errorf("free frames after d1's end: %d, want %d (all of d1's %d but the mapped one)", got, want, domainFrames(4))
	}
	if len(w.h.pinned) != 1 || !w.h.pinned[frame] {
		t.Errorf("pinned frames %v, want only %#x", w.h.pinned, frame)
	}
	if w.isFree(frame) {
		t.Fatal("the frame d2 maps is free")
	}
	if m, ok := d2.d.EPT.Translate(g); !ok || m.HPA != frame {
		t.Fatalf("d2's mapping: %+v %v", m, ok)
	}
	if !bytes.Equal(d2.read(t, g, 4096), pattern) {
		t.Error("the mapped page changed at d1's end")
	}
	d2.write(t, g, []byte("still mine"))
	// A new map of the dead domain's grant is refused.
	if st, _ := d2.mapGrant(t, 1, 8, grantMapAt(d2, 1), gntmapHostMap); st != grant.BadDomain {
		t.Errorf("map of a dead domain's grant = %v, want GNTST_bad_domain", st)
	}
	if st := d2.unmapGrant(t, g, h); st != grant.Okay {
		t.Fatalf("unmap = %v", st)
	}
	if got, want := w.free(), free+domainFrames(4); got != want {
		t.Errorf("free frames after the unmap: %d, want %d", got, want)
	}
	if len(w.h.pinned) != 0 || !w.isFree(frame) {
		t.Errorf("after the last unmap: pinned %v, frame free %v", w.h.pinned, w.isFree(frame))
	}
	if st := d2.unmapGrant(t, g, h); st != grant.BadHandle {
		t.Errorf("second unmap = %v, want GNTST_bad_handle", st)
	}
	if got, want := w.free(), free+domainFrames(4); got != want {
		t.Errorf("free frames after a second unmap: %d, want %d", got, want)
	}
	// The last domain goes: every frame is back.
	w.destroy(t, d2)
	if got, want := w.free(), w.frames.TotalFrames(); got != want {
		t.Errorf("free frames with no domain: %d of %d", got, want)
	}
	w.check(t)
}

// The grantee dies while it maps: the granter's entry is released
// (GTF_reading and GTF_writing cleared) and the grantee's frames return.
func TestGrantGranteeDestroyedWhileMapped(t *testing.T) {
	w, d1, d2, _ := newGrantWorld(t)
	d1.grantAccess(t, 8, 2, grantedGFN, gtfPermitAccess)
	for i := range 3 {
		if st, _ := d2.mapGrant(t, 1, 8, grantMapAt(d2, i), gntmapHostMap); st != grant.Okay {
			t.Fatal(st)
		}
	}
	free := w.free()
	w.destroy(t, d2)
	if got, want := w.free(), free+domainFrames(4); got != want {
		t.Errorf("free frames after d2's end: %d, want %d", got, want)
	}
	if f := d1.grantFlags(t, 8); f != gtfPermitAccess {
		t.Errorf("d1's entry after its grantee's end: flags %#x, want permit_access", f)
	}
	if len(w.h.pinned) != 0 || w.isFree(d1.hpa(t, grantedGFN<<12)) {
		t.Error("d1's own page was released")
	}
	w.check(t)
}

// Once d2 maps d1's grant, the frame d2 maps is pinned: whatever d1 then
// puts at that GFN (XENMEM_add_to_physmap of its shared_info or a grant
// table frame, which hides the RAM page), every mapping of the grant is of
// the frame the grant named when first mapped, and the frame is not freed
// with d1 while d2 maps it (Xen: the active entry keeps its frame and a
// reference to the page).
func TestGrantGranterHidesMappedFrame(t *testing.T) {
	for _, tt := range []struct {
		name  string
		space uint32
		idx   uint64
	}{{"shared_info", xen.MapSpaceSharedInfo, 0}, {"grant_table", xen.MapSpaceGrantTable, 1}} {
		t.Run(tt.name, func(t *testing.T) {
			w, d1, d2, pattern := newGrantWorld(t)
			d1.grantAccess(t, 8, 2, grantedGFN, gtfPermitAccess)
			g := grantMapAt(d2, 0)
			if st, _ := d2.mapGrant(t, 1, 8, g, gntmapHostMap); st != grant.Okay {
				t.Fatal(st)
			}
			frame := d1.hpa(t, grantedGFN<<12)
			if r := d1.addToPhysmap(t, xen.DomIDSelf, tt.space, tt.idx, grantedGFN); r != 0 {
				// Refusing to replace a granted, mapped frame is fine too
				// (then there is nothing more to check).
				t.Logf("add_to_physmap(%s) over a mapped grant = %d", tt.name, r)
				return
			}
			// A second mapping of the same, still pinned, grant.
			g2 := grantMapAt(d2, 1)
			if st, _ := d2.mapGrant(t, 1, 8, g2, gntmapHostMap); st == grant.Okay {
				if m, ok := d2.d.EPT.Translate(g2); !ok || m.HPA != frame {
					t.Errorf("a second map_grant_ref of the pinned grant maps host frame %#x (d1's %s page, "+
						"which the hypervisor owns) instead of the granted frame %#x", m.HPA, tt.name, frame)
				} else if !bytes.Equal(d2.read(t, g2, 4096), pattern) {
					t.Error("the second mapping shows other contents")
				}
			}
			free := w.free()
			w.destroy(t, d1)
			if m, ok := d2.d.EPT.Translate(g); !ok || m.HPA != frame {
				t.Fatalf("d2's first mapping moved: %+v %v", m, ok)
			}
			for handle, hpa := range d2.d.grantHPA {
				if w.isFree(hpa) {
					t.Errorf("after d1's end, host frame %#x that d2 still maps (handle %#x) is free: "+
						"the next allocation hands it to someone else", hpa, handle)
				}
			}
			if got, want := w.free(), free+domainFrames(4)-1; got != want {
				t.Errorf("%d frames free after d1's end, want %d (pinned: %#x)", got, want, slices.Sorted(maps.Keys(w.h.pinned)))
			}
			w.check(t)
		})
	}
}
