//go:build tamago

// Command bench measures, from inside a domain, what the hypervisor's paths
// cost. Under Bochs, whose TSC counts emulated instructions, the figures are
// path lengths in instructions. It prints "bench: NAME: VALUE" lines, which
// `make bench` collects. Its command line picks the measurement:
//
//	(none)         exits: the round trip of CPUID (which always exits), of
//	               a null hypercall (xen_version XENVER_version, which the
//	               exit path answers in assembly) and of one the hypervisor
//	               handles in Go (XENVER_extraversion without a buffer:
//	               -ENOSYS), and the time of a CPU-bound loop that makes no
//	               exits
//	evping TAG N   event-channel round trips with evpong (masked ports,
//	               SCHEDOP_poll: no goroutines involved)
//	evpong TAG N   the other end
//	yield TAG a N  N SCHEDOP_yield calls beside "yield TAG b N": each yield
//	               is a switch to the other domain (a reports the figure;
//	               each keeps yielding until the other is done)
//	gmap TAG N     map and unmap ggrant's page N times
//	ggrant TAG     grant a page to gmap
//
// The pairs meet through the store, as keys /rendezvous/TAG-NAME
// (guest.Rendezvous).
package main

import (
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"

	"tamavisor/domains/bench/work"
	"tamavisor/domains/board"
	"tamavisor/domains/guest"
	"tamavisor/x86"
	"tamavisor/xen"
)

const iterations = 2000

func main() {
	f := strings.Fields(board.Cmdline())
	if len(f) == 0 {
		exits()
		os.Exit(0)
	}
	n := 1000
	if len(f) > 1 {
		n, _ = strconv.Atoi(f[len(f)-1])
	}
	switch f[0] {
	case "evping", "evpong", "gmap", "ggrant", "yield":
		if len(f) < 2 {
			fail("%s needs a TAG", f[0])
		}
		p := connect(f[1])
		switch f[0] {
		case "evping":
			p.evping(n)
		case "evpong":
			p.evpong(n)
		case "gmap":
			p.gmap(n)
		case "ggrant":
			p.ggrant()
		case "yield":
			if len(f) < 4 {
				fail("yield TAG a|b N")
			}
			p.yield(f[2], n)
		}
	default:
		fail("unknown measurement %q", f[0])
	}
	os.Exit(0)
}

func fail(format string, a ...any) {
	fmt.Printf("bench: FAIL: %s\n", fmt.Sprintf(format, a...))
	os.Exit(1)
}

// exits measures exit round trips and the CPU-bound loop.
func exits() {
	// The boot's lines wait in the hypervisor's console queue, which it
	// feeds to the UART at VM exits: let them drain first, so that the
	// figures are the exit path's alone.
	time.Sleep(500 * time.Millisecond)

	// Warm up: the first exits of each kind fault in code and data.
	for i := 0; i < 100; i++ {
		x86.CPUID(0, 0)
		board.Hypercall(xen.HypercallXenVersion, xen.XenVerVersion, 0, 0, 0, 0)
		board.Hypercall(xen.HypercallXenVersion, xen.XenVerExtraVersion, 0, 0, 0, 0)
	}

	t0 := x86.RDTSC()
	for i := 0; i < iterations; i++ {
		x86.CPUID(0, 0)
	}
	t1 := x86.RDTSC()
	for i := 0; i < iterations; i++ {
		board.Hypercall(xen.HypercallXenVersion, xen.XenVerVersion, 0, 0, 0, 0)
	}
	t2 := x86.RDTSC()
	for i := 0; i < iterations; i++ {
		board.Hypercall(xen.HypercallXenVersion, xen.XenVerExtraVersion, 0, 0, 0, 0)
	}
	t3 := x86.RDTSC()
	// The loop overhead alone, to subtract.
	for i := 0; i < iterations; i++ {
		x86.RDTSC()
	}
	t4 := x86.RDTSC()
	overhead := (t4 - t3) / iterations

	fmt.Printf("bench: cpuid-roundtrip: %d TSC ticks\n", (t1-t0)/iterations-overhead)
	fmt.Printf("bench: null-hypercall-roundtrip: %d TSC ticks\n", (t2-t1)/iterations-overhead)
	fmt.Printf("bench: go-hypercall-roundtrip: %d TSC ticks\n", (t3-t2)/iterations-overhead)

	l0 := x86.RDTSC()
	sum := work.Loop(work.Rounds)
	l1 := x86.RDTSC()
	fmt.Printf("bench: domain-loop: %d TSC ticks (result %#x)\n", l1-l0, sum)
}

// yield measures a switch between two domains that each yield in turn: an
// iteration is this domain's yield, a switch to the other, its yield and a
// switch back, so half an iteration is one switch. The two start together
// and each keeps yielding until the other is done, so that every measured
// yield has the other domain to switch to.
func (p *pair) yield(role string, n int) {
	other := map[string]string{"a": "b", "b": "a"}[role]
	if other == "" {
		fail("yield role %q: a or b", role)
	}
	p.publish("ready-"+role, 1)
	p.await("ready-" + other)
	yield := func() { board.Hypercall(xen.HypercallSchedOp, xen.SchedOpYield, 0, 0, 0, 0) }
	for i := 0; i < 10; i++ {
		yield()
	}
	t0 := x86.RDTSC()
	for i := 0; i < n; i++ {
		yield()
	}
	per := (x86.RDTSC() - t0) / uint64(n) / 2
	p.publish("done-"+role, 1)
	for i := 0; ; i++ {
		yield()
		// The other is done, or gone: the store removes a domain's
		// keys with it, so its ready key vanishing means it ended.
		if i%64 == 0 && (p.rv.Done("done-"+other) || !p.rv.Done("ready-"+other)) {
			break
		}
	}
	if role != "a" {
		return
	}
	fmt.Printf("bench: domain-switch: %d TSC ticks\n", per)
	if per > 0 {
		fmt.Printf("bench: domain-switches-per-second: %d (at the %d kHz TSC)\n", uint64(board.TSCKHz())*1000/per, board.TSCKHz())
	}
}

type pair struct {
	ev *guest.EventChannels
	rv guest.Rendezvous
	me uint64
}

func connect(tag string) *pair {
	p := &pair{}
	ev, err := guest.Events()
	if err != nil {
		fail("event channels: %v", err)
	}
	st, err := guest.OpenStore(ev)
	if err != nil {
		fail("store: %v", err)
	}
	me, err := st.DomID()
	if err != nil {
		fail("my domid: %v", err)
	}
	p.ev, p.rv, p.me = ev, guest.Rendezvous{Store: st, Tag: tag}, uint64(me)
	return p
}

func (p *pair) publish(name string, v ...uint64) {
	if err := p.rv.Publish(name, v...); err != nil {
		fail("publishing %s: %v", name, err)
	}
}

func (p *pair) await(name string) []uint64 {
	v, err := p.rv.Await(name, 30*time.Second)
	if err != nil {
		fail("waiting for %s: %v", name, err)
	}
	return v
}

// evping measures event-channel round trips: notify, then poll for the
// answer.
func (p *pair) evping(n int) {
	p.publish("ping", p.me)
	pong := p.await("pong")
	port, err := p.ev.BindInterdomain(guest.DomID(pong[0]), guest.Port(pong[1]))
	if err != nil {
		fail("bind: %v", err)
	}
	p.ev.Mask(port)
	if err := p.ev.Poll(port); err != nil { // the pending bit a bind sets
		fail("poll: %v", err)
	}
	round := func() {
		if err := p.ev.Send(port); err != nil {
			fail("send: %v", err)
		}
		if err := p.ev.Poll(port); err != nil {
			fail("poll: %v", err)
		}
	}
	for i := 0; i < 10; i++ {
		round()
	}
	t0 := x86.RDTSC()
	for i := 0; i < n; i++ {
		round()
	}
	fmt.Printf("bench: event-roundtrip: %d TSC ticks\n", (x86.RDTSC()-t0)/uint64(n))
}

func (p *pair) evpong(n int) {
	ping := p.await("ping")
	port, err := p.ev.AllocUnbound(guest.DomID(ping[0]))
	if err != nil {
		fail("alloc_unbound: %v", err)
	}
	p.ev.Mask(port)
	p.publish("pong", p.me, uint64(port))
	for i := 0; i < n+10; i++ {
		if err := p.ev.Poll(port); err != nil {
			fail("poll: %v", err)
		}
		if err := p.ev.Send(port); err != nil {
			fail("send: %v", err)
		}
	}
}

// mapGPA is where gmap maps the granted page: above its RAM, below 4 GiB.
const mapGPA = 0x9000_0000

// gmap measures GNTTABOP_map_grant_ref and GNTTABOP_unmap_grant_ref.
func (p *pair) gmap(n int) {
	p.publish("gmap", p.me)
	g := p.await("ggrant") // domid ref
	dom, ref := guest.DomID(g[0]), uint32(g[1])
	var mapT, unmapT uint64
	for i := 0; i < n+10; i++ {
		t0 := x86.RDTSC()
		h, err := guest.MapGrant(dom, ref, mapGPA, false)
		t1 := x86.RDTSC()
		if err != nil {
			fail("map: %v", err)
		}
		if err := guest.UnmapGrant(h, mapGPA); err != nil {
			fail("unmap: %v", err)
		}
		t2 := x86.RDTSC()
		if i >= 10 {
			mapT += t1 - t0
			unmapT += t2 - t1
		}
	}
	fmt.Printf("bench: grant-map: %d TSC ticks\n", mapT/uint64(n))
	fmt.Printf("bench: grant-unmap: %d TSC ticks\n", unmapT/uint64(n))
	p.publish("gmap-done", 1)
}

func (p *pair) ggrant() {
	gt, err := guest.Grants()
	if err != nil {
		fail("grant table: %v", err)
	}
	peer := p.await("gmap")
	// gmap publishes gmap-done just before it ends, and a key goes with
	// the domain that owns it: make it this domain's (Rendezvous.Expect).
	if err := p.rv.Expect("gmap-done", guest.DomID(peer[0])); err != nil {
		fail("making gmap-done: %v", err)
	}
	page := guest.AllocPages(1)
	ref, err := gt.Grant(guest.DomID(peer[0]), guest.Frame(&page[0]), false)
	if err != nil {
		fail("grant: %v", err)
	}
	p.publish("ggrant", p.me, uint64(ref))
	p.await("gmap-done")
}
