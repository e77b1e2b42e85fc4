//go:build tamago

// Command peer is a domain that exercises inter-domain communication with
// another instance of itself, meeting it through the store: each pair shares
// a tag, and the two ends write what the other needs (domain id, port, grant
// reference) as keys /rendezvous/<tag>-<name>, in the directory dom0 opens
// to all (guest.Rendezvous). Its
// command line names its part:
//
//	ping TAG N   send N event notifications to pong, one at a time, waiting
//	             for each answer; report the count and the round-trip cost
//	pong TAG N   answer N notifications from ping
//	granter TAG  grant a page to grantee and check what grantee does with it
//	grantee TAG  map, write, copy and unmap granter's pages, and try what
//	             must fail
//	burn         compute until destroyed (a CPU-bound domain)
//
// Every check prints a line; the last says PASS or FAIL, and the exit status
// is 0 only on PASS.
package main

import (
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"

	"tamavisor/domains/board"
	"tamavisor/domains/guest"
	"tamavisor/x86"
)

// timeout bounds every wait for the other end.
const timeout = 30 * time.Second

type peer struct {
	role, tag string
	ev        *guest.EventChannels
	st        *guest.Store
	me        guest.DomID
	rv        guest.Rendezvous
	failed    int
}

func main() {
	f := strings.Fields(board.Cmdline())
	if len(f) == 0 {
		fmt.Println("peer: no role (ping TAG N, pong TAG N, granter TAG, grantee TAG, burn)")
		os.Exit(1)
	}
	if f[0] == "burn" {
		burn()
	}
	if len(f) < 2 {
		fmt.Printf("peer: %s needs a TAG\n", f[0])
		os.Exit(1)
	}
	p := &peer{role: f[0], tag: f[1]}
	var err error
	if p.ev, err = guest.Events(); err != nil {
		p.fatal("event channels: %v", err)
	}
	if p.st, err = guest.OpenStore(p.ev); err != nil {
		p.fatal("store: %v", err)
	}
	if p.me, err = p.st.DomID(); err != nil {
		p.fatal("reading my domid: %v", err)
	}
	p.rv = guest.Rendezvous{Store: p.st, Tag: p.tag}
	count := 0
	if len(f) > 2 {
		count, _ = strconv.Atoi(f[2])
	}
	switch p.role {
	case "ping":
		p.ping(count)
	case "pong":
		p.pong(count)
	case "granter":
		p.granter()
	case "grantee":
		p.grantee()
	default:
		p.fatal("unknown role %q", p.role)
	}
	if p.failed > 0 {
		fmt.Printf("%s: FAIL: %d checks failed\n", p.role, p.failed)
		os.Exit(1)
	}
	fmt.Printf("%s: PASS\n", p.role)
	os.Exit(0)
}

func (p *peer) fatal(format string, a ...any) {
	fmt.Printf("%s: FAIL: %s\n", p.role, fmt.Sprintf(format, a...))
	os.Exit(1)
}

func (p *peer) check(ok bool, format string, a ...any) {
	if ok {
		fmt.Printf("%s: %s: ok\n", p.role, fmt.Sprintf(format, a...))
		return
	}
	p.failed++
	fmt.Printf("%s: %s: WRONG\n", p.role, fmt.Sprintf(format, a...))
}

// publish and await are the pair's rendezvous (guest.Rendezvous); a
// failure ends the domain.
func (p *peer) publish(name string, v ...uint64) {
	if err := p.rv.Publish(name, v...); err != nil {
		p.fatal("writing %s: %v", p.rv.Key(name), err)
	}
}

// expect makes a key the other end will publish this domain's
// (Rendezvous.Expect), so that it outlives the other end: needed for the
// last key each end reads, which the other publishes just before it ends.
func (p *peer) expect(name string, from uint64) {
	if err := p.rv.Expect(name, guest.DomID(from)); err != nil {
		p.fatal("making %s for d%d: %v", p.rv.Key(name), from, err)
	}
}

func (p *peer) await(name string) []uint64 {
	v, err := p.rv.Await(name, timeout)
	if err != nil {
		p.fatal("waiting for %s: %v", p.rv.Key(name), err)
	}
	return v
}

// ping publishes its id, binds to pong's port and bounces n notifications.
func (p *peer) ping(n int) {
	p.publish("ping", uint64(p.me))
	pong := p.await("pong") // domid port
	if len(pong) != 2 {
		p.fatal("pong published %v, not a domid and a port", pong)
	}
	p.expect("pong-count", pong[0])
	port, err := p.ev.BindInterdomain(guest.DomID(pong[0]), guest.Port(pong[1]))
	if err != nil {
		p.fatal("binding to d%d port %d: %v", pong[0], pong[1], err)
	}
	// Xen marks a port pending when it is bound, so that an event sent
	// before the bind is not lost (event_channel.h, bind_interdomain):
	// take that one first, or every answer would be counted one early.
	if !p.ev.Wait(port, timeout) {
		p.fatal("the port bound to d%d was not marked pending", pong[0])
	}
	fmt.Printf("ping: bound port %d to d%d port %d; %d round trips\n", port, pong[0], pong[1], n)
	done := 0
	t0 := x86.RDTSC()
	for ; done < n; done++ {
		if err := p.ev.Send(port); err != nil {
			p.fatal("send %d: %v", done, err)
		}
		if !p.ev.Wait(port, timeout) {
			p.fatal("no answer to notification %d", done)
		}
	}
	ticks := x86.RDTSC() - t0
	p.check(done == n, "%d notifications answered", done)
	if n > 0 {
		fmt.Printf("ping: event-channel round trip: %d TSC ticks\n", ticks/uint64(n))
	}
	p.publish("ping-count", uint64(done))
	got := p.await("pong-count")
	p.check(len(got) == 1 && got[0] == uint64(n), "pong counted %v notifications, %d sent", got, n)
}

// pong allocates a port for ping and answers each notification.
func (p *peer) pong(n int) {
	ping := p.await("ping")
	p.expect("ping-count", ping[0])
	port, err := p.ev.AllocUnbound(guest.DomID(ping[0]))
	if err != nil {
		p.fatal("alloc_unbound for d%d: %v", ping[0], err)
	}
	p.publish("pong", uint64(p.me), uint64(port))
	got := 0
	for got < n {
		if !p.ev.Wait(port, timeout) {
			p.fatal("waited %v for notification %d", timeout, got)
		}
		got++
		if err := p.ev.Send(port); err != nil {
			p.fatal("answer %d: %v", got, err)
		}
	}
	p.publish("pong-count", uint64(got))
	sent := p.await("ping-count")
	p.check(got == n && len(sent) == 1 && sent[0] == uint64(got), "%d notifications received, ping sent %v", got, sent)
}

// Where the grantee maps the granter's pages: above its RAM, below 4 GiB.
const mapGPA = 0x9000_0000

const (
	fromA = "written by the granter"
	fromB = "written by the grantee"
)

// granter shares two pages with the grantee, one writable and one read-only,
// and a third with dom0 only; then checks that the grantee's writes arrive
// and that a mapped grant cannot be revoked.
func (p *peer) granter() {
	gt, err := guest.Grants()
	if err != nil {
		p.fatal("grant table: %v", err)
	}
	peer := guest.DomID(p.await("grantee")[0])
	p.expect("done", uint64(peer))
	pages := guest.AllocPages(3)
	copy(pages, fromA)
	copy(pages[4096:], "read-only page of the granter")
	rw, err1 := gt.Grant(peer, guest.Frame(&pages[0]), false)
	ro, err2 := gt.Grant(peer, guest.Frame(&pages[4096]), true)
	other, err3 := gt.Grant(0, guest.Frame(&pages[8192]), false)
	if err1 != nil || err2 != nil || err3 != nil {
		p.fatal("granting: %v %v %v", err1, err2, err3)
	}
	p.publish("granter", uint64(p.me), uint64(rw), uint64(ro), uint64(other))

	p.await("mapped")
	got := string(pages[:len(fromB)])
	p.check(got == fromB, "the grantee's write arrived in my page (%q)", got)
	err = gt.Revoke(rw)
	p.check(err != nil, "revoking grant %d while it is mapped is refused (%v)", rw, err)
	p.publish("revoke-refused", 1)

	p.await("unmapped")
	err = gt.Revoke(rw)
	p.check(err == nil, "revoking grant %d after the unmap (%v)", rw, err)
	p.publish("revoked", 1)
	p.await("done")
}

func (p *peer) grantee() {
	p.publish("grantee", uint64(p.me))
	g := p.await("granter") // domid rw ro other
	if len(g) != 4 {
		p.fatal("granter published %v", g)
	}
	a, rw, ro, other := guest.DomID(g[0]), uint32(g[1]), uint32(g[2]), uint32(g[3])

	h, err := guest.MapGrant(a, rw, mapGPA, false)
	if err != nil {
		p.fatal("mapping d%d's grant %d: %v", a, rw, err)
	}
	page := guest.Page(mapGPA)
	got := string(page[:len(fromA)])
	p.check(got == fromA, "read the granter's page through the mapping (%q)", got)
	copy(page, fromB)

	_, err = guest.MapGrant(a, other, mapGPA+0x1000, false)
	p.check(err != nil, "mapping grant %d, given to dom0, is refused (%v)", other, err)
	_, err = guest.MapGrant(a, 1000, mapGPA+0x1000, false)
	p.check(err != nil, "mapping grant 1000, never given, is refused (%v)", err)
	_, err = guest.MapGrant(a, ro, mapGPA+0x1000, false)
	p.check(err != nil, "mapping read-only grant %d writable is refused (%v)", ro, err)
	hro, err := guest.MapGrant(a, ro, mapGPA+0x2000, true)
	p.check(err == nil, "mapping read-only grant %d read-only (%v)", ro, err)
	if err == nil {
		p.check(guest.UnmapGrant(hro, mapGPA+0x2000) == nil, "unmapping the read-only mapping")
	}

	dst := guest.AllocPages(1)
	err = guest.CopyFromGrant(a, ro, 0, guest.Frame(&dst[0]), 100, 29)
	p.check(err == nil && string(dst[100:129]) == "read-only page of the granter", "grant copy of %d bytes (%v, %q)", 29, err, dst[100:129])
	err = guest.CopyFromGrant(a, other, 0, guest.Frame(&dst[0]), 0, 16)
	p.check(err != nil, "grant copy from grant %d, given to dom0, is refused (%v)", other, err)
	err = guest.CopyFromGrant(a, ro, 4000, guest.Frame(&dst[0]), 0, 200)
	p.check(err != nil, "grant copy across the end of the page is refused (%v)", err)

	p.publish("mapped", 1)
	p.await("revoke-refused")
	err = guest.UnmapGrant(h, mapGPA)
	p.check(err == nil, "unmapping grant %d (%v)", rw, err)
	err = guest.UnmapGrant(h, mapGPA)
	p.check(err != nil, "unmapping it twice is refused (%v)", err)
	p.publish("unmapped", 1)
	p.await("revoked")
	_, err = guest.MapGrant(a, rw, mapGPA, false)
	p.check(err != nil, "mapping revoked grant %d is refused (%v)", rw, err)
	p.publish("done", 1)
}

// burn computes forever; the scheduler decides how much CPU it gets.
func burn() {
	fmt.Println("burn: computing")
	x := uint64(1)
	for {
		x = x*6364136223846793005 + 1442695040888963407
		if x == 0 {
			fmt.Println("burn: impossible")
		}
	}
}
