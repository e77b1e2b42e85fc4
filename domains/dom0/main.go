//go:build tamago

// Command dom0 is tamavisor's privileged domain. It serves the other
// domains' XenStore (the io/xs_wire.h protocol over each domain's store
// ring) and consoles (io/console.h rings, printed under each domain's name),
// and offers a control console in the manner of Xen's xl:
//
//	list                          the domains, their state, memory, CPU time
//	create IMAGE NAME [MiB] [WEIGHT] [CAP] [ARGS...]
//	destroy ID | pause ID | unpause ID
//	sched ID WEIGHT CAP           weight 1-65535, cap in percent (0: none)
//	top                           exits and CPU time per domain
//	sleep MS                      wait
//	wait NAME                     wait until domain NAME has ended
//	cycle N IMAGE MiB             create and destroy N domains; report frames
//	read PATH | write PATH VALUE  the store, as dom0
//	frames                        the hypervisor's free frames
//	help                          the commands
//	shutdown                      end dom0
//
// Its command line is a script: commands separated by ':' (store paths
// contain '/'; in a domain spec '~' stands for a space). Without one, the
// commands come from the hypervisor's console (CONSOLEIO_read, announced by
// VIRQ_CONSOLE), a line at a time.
package main

import (
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"

	"tamavisor/abi"
	"tamavisor/domains/board"
	"tamavisor/domains/guest"
	"tamavisor/hv/evtchn"
	"tamavisor/hv/grant"
	"tamavisor/xen"
	"tamavisor/xen/ring"
	"tamavisor/xen/xenstore"
)

// mapBase is where dom0 maps other domains' pages by grant: above its RAM,
// below 4 GiB (its identity map's reach).
const mapBase = 0x8000_0000

type backend struct {
	info        abi.DomainInfo
	storeGPA    uint64
	storeHandle uint32
	storePort   guest.Port
	store       ring.Duplex
	conn        *xenstore.Conn
	consGPA     uint64
	consHandle  uint32
	consPort    guest.Port
	console     ring.Duplex
	kick        chan struct{} // watch events wait (xenstore.Conn.SetWake)
	stop        chan struct{}
	done        sync.WaitGroup
}

type dom0 struct {
	ev        *guest.EventChannels
	store     *xenstore.Store // safe for concurrent use
	local     *xenstore.Conn
	refreshMu sync.Mutex
	mu        sync.Mutex // backends and the GPA allocator
	backends  map[uint16]*backend
	nextGPA   uint64
	freeGPAs  []uint64
}

func main() {
	ev, err := guest.Events()
	if err != nil {
		fmt.Printf("dom0: no event channels: %v\n", err)
		os.Exit(1)
	}
	d := &dom0{ev: ev, store: xenstore.NewStore(), backends: map[uint16]*backend{}, nextGPA: mapBase}
	// Tighter than xenstored's defaults for transactions, which hold
	// copies of the nodes they touch: dom0 has tens of MiB, not GiB, and a
	// domain's open transactions should cost it a few MiB at most.
	q := xenstore.DefaultQuotas
	q.Transactions, q.TransactionNodes = 4, 256
	d.store.SetQuotas(q)
	d.local = d.store.Connect(0, true)
	// /rendezvous is open to every domain ("b0": dom0 owns it, the others
	// read and write), so that sample and test domains that know only a
	// shared tag can find each other (domains/peer).
	d.write("/rendezvous", "")
	d.setPerms("/rendezvous", "b0")
	domExc, err := ev.BindVIRQ(evtchn.VIRQDomExc)
	if err != nil {
		fmt.Printf("dom0: cannot bind VIRQ_DOM_EXC: %v\n", err)
		os.Exit(1)
	}
	d.refresh()
	go func() {
		for {
			ev.Wait(domExc, 50*time.Millisecond)
			d.refresh()
		}
	}()
	fmt.Println("dom0: serving the store and consoles")

	script := strings.TrimSpace(board.Cmdline())
	if script == "" {
		d.interactive()
	}
	for _, cmd := range strings.Split(script, ":") {
		if f := strings.Fields(cmd); len(f) > 0 {
			d.run(f)
		}
	}
	fmt.Println("dom0: script done")
	os.Exit(0)
}

// refresh compares the hypervisor's domains with the backends: new domains
// are connected, vanished ones released.
func (d *dom0) refresh() {
	d.refreshMu.Lock()
	defer d.refreshMu.Unlock()
	list, err := guest.ListDomains()
	if err != nil {
		fmt.Printf("dom0: domain list: %v\n", err)
		return
	}
	live := map[uint16]bool{}
	var fresh []abi.DomainInfo
	d.mu.Lock()
	for _, info := range list {
		live[info.ID] = true
		if info.Privileged || d.backends[info.ID] != nil || info.State == abi.StateDying {
			continue
		}
		if info.StorePort == 0 || info.ConsolePort == 0 {
			continue // created before dom0: it uses console_io and has no store
		}
		fresh = append(fresh, info)
	}
	var gone []*backend
	for id, b := range d.backends {
		if !live[id] {
			gone = append(gone, b)
			delete(d.backends, id)
		}
	}
	d.mu.Unlock()
	for _, b := range gone {
		d.release(b)
	}
	for _, info := range fresh {
		b, err := d.connect(info)
		if err != nil {
			if d.alive(info.ID) {
				fmt.Printf("dom0: d%d.%s: cannot connect its back ends: %v\n", info.ID, info.Name, err)
			}
			continue
		}
		d.mu.Lock()
		d.backends[info.ID] = b
		d.mu.Unlock()
	}
}

// settle waits until no domain is dying (the hypervisor frees a destroyed
// domain when it next schedules) and dom0 has let go of the ones that are
// gone, so that the free frame count means something.
func (d *dom0) settle() {
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(time.Millisecond) {
		list, err := guest.ListDomains()
		if err != nil {
			break
		}
		dying := false
		for _, x := range list {
			dying = dying || x.State == abi.StateDying
		}
		if !dying {
			break
		}
	}
	d.refresh()
}

// alive says whether a domain still exists (a domain that ended while dom0
// connected to it is no error).
func (d *dom0) alive(id uint16) bool {
	list, err := guest.ListDomains()
	if err != nil {
		return true
	}
	for _, x := range list {
		if x.ID == id && x.State != abi.StateDying {
			return true
		}
	}
	return false
}

func (d *dom0) gpa() uint64 {
	d.mu.Lock()
	defer d.mu.Unlock()
	if n := len(d.freeGPAs); n > 0 {
		g := d.freeGPAs[n-1]
		d.freeGPAs = d.freeGPAs[:n-1]
		return g
	}
	g := d.nextGPA
	d.nextGPA += 4096
	return g
}

// connect maps a domain's store and console pages (its reserved grants 0
// and 1), binds their event channels, introduces it to the store and starts
// serving it.
func (d *dom0) connect(info abi.DomainInfo) (_ *backend, err error) {
	b := &backend{info: info, kick: make(chan struct{}, 1), stop: make(chan struct{})}
	b.storeGPA, b.consGPA = d.gpa(), d.gpa()
	b.storeHandle, b.consHandle = noHandle, noHandle
	defer func() {
		if err != nil {
			d.undo(b)
		}
	}()
	if b.storeHandle, err = guest.MapGrant(guest.DomID(info.ID), grant.ReservedStore, b.storeGPA, false); err != nil {
		b.storeHandle = noHandle
		return nil, err
	}
	if b.consHandle, err = guest.MapGrant(guest.DomID(info.ID), grant.ReservedConsole, b.consGPA, false); err != nil {
		b.consHandle = noHandle
		return nil, err
	}
	spage, _ := ring.NewPage(guest.Page(b.storeGPA))
	cpage, _ := ring.NewPage(guest.Page(b.consGPA))
	if b.store, err = ring.StoreServer(spage); err != nil {
		return nil, err
	}
	if b.console, err = ring.ConsoleBack(cpage); err != nil {
		return nil, err
	}
	if b.storePort, err = d.ev.BindInterdomain(guest.DomID(info.ID), guest.Port(info.StorePort)); err != nil {
		return nil, err
	}
	if b.consPort, err = d.ev.BindInterdomain(guest.DomID(info.ID), guest.Port(info.ConsolePort)); err != nil {
		return nil, err
	}
	if err := d.store.Introduce(info.ID); err != nil {
		return nil, err
	}
	base := fmt.Sprintf("/local/domain/%d", info.ID)
	d.write(base+"/name", info.Name)
	d.write(base+"/domid", fmt.Sprint(info.ID))
	b.conn = d.store.Connect(info.ID, false)
	// Another domain's request (or dom0's own store operations) can queue
	// watch events for this one: the store wakes its server.
	b.conn.SetWake(func() {
		select {
		case b.kick <- struct{}{}:
		default:
		}
	})
	b.done.Add(2)
	go d.serveStore(b)
	go d.serveConsole(b)
	fmt.Printf("dom0: d%d.%s: store and console connected\n", info.ID, info.Name)
	return b, nil
}

// noHandle marks a grant mapping not made.
const noHandle = ^uint32(0)

// undo takes back what a connect that failed half-way did: its ports, its
// mappings and their addresses.
func (d *dom0) undo(b *backend) {
	for _, p := range []guest.Port{b.storePort, b.consPort} {
		if p != 0 {
			d.ev.Close(p)
		}
	}
	if b.storeHandle != noHandle {
		guest.UnmapGrant(b.storeHandle, b.storeGPA)
	}
	if b.consHandle != noHandle {
		guest.UnmapGrant(b.consHandle, b.consGPA)
	}
	d.mu.Lock()
	d.freeGPAs = append(d.freeGPAs, b.storeGPA, b.consGPA)
	d.mu.Unlock()
}

// release stops serving a domain that went away and unmaps its pages.
func (d *dom0) release(b *backend) {
	close(b.stop)
	b.done.Wait()
	d.ev.Close(b.storePort)
	d.ev.Close(b.consPort)
	if err := guest.UnmapGrant(b.storeHandle, b.storeGPA); err != nil {
		fmt.Printf("dom0: d%d: unmapping its store page: %v\n", b.info.ID, err)
	}
	if err := guest.UnmapGrant(b.consHandle, b.consGPA); err != nil {
		fmt.Printf("dom0: d%d: unmapping its console page: %v\n", b.info.ID, err)
	}
	d.mu.Lock()
	d.freeGPAs = append(d.freeGPAs, b.storeGPA, b.consGPA)
	d.mu.Unlock()
	d.store.Disconnect(b.conn)
	d.store.Release(b.info.ID)
}

// serveStore answers a domain's store requests. It takes requests off the
// ring only while its replies have room to wait (about a ring's worth): a
// domain that does not read its replies is served no further, rather than
// growing dom0's memory; its requests stay in its own ring.
func (d *dom0) serveStore(b *backend) {
	defer b.done.Done()
	// On a broken ring, stop serving the connection too: its watch events
	// would otherwise queue for nobody.
	defer d.store.Disconnect(b.conn)
	var in xenstore.Reader
	var out []byte
	buf := make([]byte, xenstore.RingSize)
	broken := func(err error) {
		fmt.Printf("dom0: d%d: its store ring is broken: %v\n", b.info.ID, err)
	}
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	for {
		select {
		case <-b.stop:
			return
		case <-b.kick:
		case <-d.ev.Notify(b.storePort):
		case <-tick.C:
		}
		moved := false // the guest is told only when its rings moved
		for len(out) < xenstore.RingSize {
			m, ok, err := in.Next()
			if err != nil {
				fmt.Printf("dom0: d%d: bad store request: %v\n", b.info.ID, err)
				return
			}
			if !ok {
				// No whole request buffered: take more from the ring.
				n, err := b.store.Read(buf[:min(len(buf), max(in.Need(), 1))])
				if err != nil {
					broken(err)
					return
				}
				if n == 0 {
					break
				}
				in.Write(buf[:n])
				moved = true
				continue
			}
			for _, r := range b.conn.Handle(m) {
				out = append(out, xenstore.Encode(r)...)
			}
		}
		// Watch events too, while the replies have room: the rest stay
		// queued in the store, which bounds them (MaxPending).
		for len(out) < xenstore.RingSize {
			evs := b.conn.PendingUpTo(8)
			if len(evs) == 0 {
				break
			}
			for _, r := range evs {
				out = append(out, xenstore.Encode(r)...)
			}
		}
		if len(out) > 0 {
			n, err := b.store.Write(out)
			if err != nil {
				broken(err)
				return
			}
			out = out[n:]
			moved = moved || n > 0
		}
		if moved {
			d.ev.Send(b.storePort)
		}
	}
}

// serveConsole prints what a domain writes to its console ring.
func (d *dom0) serveConsole(b *backend) {
	defer b.done.Done()
	buf := make([]byte, 2048)
	var pending []byte // read from the ring, not yet printed
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	for {
		select {
		case <-b.stop:
			return
		case <-d.ev.Notify(b.consPort):
		case <-tick.C:
		}
		for {
			if len(pending) == 0 {
				n, err := b.console.Read(buf)
				if err != nil {
					fmt.Printf("dom0: d%d: its console ring is broken: %v\n", b.info.ID, err)
					return
				}
				if n == 0 {
					break
				}
				pending = buf[:n]
				d.ev.Send(b.consPort) // room again
			}
			if err := guest.ConsoleWriteFor(guest.DomID(b.info.ID), pending); err != nil {
				var e *guest.Error
				if errors.As(err, &e) && e.Errno == xen.EAGAIN {
					break // the serial line is behind: the same bytes at the next tick
				}
				fmt.Printf("dom0: d%d: printing its console: %v\n", b.info.ID, err)
			}
			pending = nil
		}
	}
}

func (d *dom0) write(path, value string) {
	for _, r := range d.local.Handle(xenstore.Msg{Type: xenstore.TypeWrite, Payload: append(append([]byte(path), 0), value...)}) {
		if r.Type == xenstore.TypeError {
			fmt.Printf("dom0: store write %s: %s\n", path, xenstore.ParseError(r.Payload))
		}
	}
}

func (d *dom0) setPerms(path string, perms ...string) {
	p := append([]byte(path), 0)
	for _, x := range perms {
		p = append(append(p, x...), 0)
	}
	for _, r := range d.local.Handle(xenstore.Msg{Type: xenstore.TypeSetPerms, Payload: p}) {
		if r.Type == xenstore.TypeError {
			fmt.Printf("dom0: store set_perms %s: %s\n", path, xenstore.ParseError(r.Payload))
		}
	}
}

func (d *dom0) read(path string) (string, error) {
	r := d.local.Handle(xenstore.Msg{Type: xenstore.TypeRead, Payload: append([]byte(path), 0)})
	if r[0].Type == xenstore.TypeError {
		return "", xenstore.ParseError(r[0].Payload)
	}
	return string(r[0].Payload), nil
}

// interactive reads commands from the hypervisor's console, a line at a
// time, and runs them. The serial console does not echo: each command is
// printed back before it runs.
func (d *dom0) interactive() {
	port, err := d.ev.BindVIRQ(evtchn.VIRQConsole)
	if err != nil {
		fmt.Printf("dom0: no console input (VIRQ_CONSOLE: %v); serving\n", err)
		select {}
	}
	fmt.Println("dom0: control console: type a command and Enter (help lists them)")
	var line []byte
	buf := make([]byte, 256)
	for {
		d.ev.Wait(port, time.Second)
		for n := guest.ConsoleRead(buf); n > 0; n = guest.ConsoleRead(buf) {
			for _, c := range buf[:n] {
				switch {
				case c == '\r' || c == '\n':
					if f := strings.Fields(string(line)); len(f) > 0 {
						fmt.Printf("dom0> %s\n", line)
						d.run(f)
					}
					line = line[:0]
				case c == 0x7f || c == 0x08: // DEL, BS
					if len(line) > 0 {
						line = line[:len(line)-1]
					}
				case c >= 0x20 && c < 0x7f && len(line) < 256:
					line = append(line, c)
				}
			}
		}
	}
}

const help = `
list                          the domains, their state, memory, CPU time
create IMAGE NAME [MiB] [WEIGHT] [CAP] [ARGS...]
destroy ID | pause ID | unpause ID
sched ID WEIGHT CAP           weight 1-65535, cap in percent (0: none)
top                           exits and CPU time per domain
sleep MS | wait NAME          wait, or until domain NAME has ended
cycle N IMAGE MiB             create and destroy N domains; report frames
read PATH | write PATH VALUE  the store, as dom0
frames                        the hypervisor's free frames
shutdown                      end dom0 (and, with it the last, the machine)
`

// run executes one control-console command.
func (d *dom0) run(f []string) {
	num := func(i int, def uint64) uint64 {
		if i >= len(f) {
			return def
		}
		v, err := strconv.ParseUint(f[i], 10, 64)
		if err != nil {
			fmt.Printf("dom0: %s: %q is not a number\n", f[0], f[i])
			return def
		}
		return v
	}
	id := func() guest.DomID { return guest.DomID(num(1, 0xffff)) }
	report := func(err error) {
		if err != nil {
			fmt.Printf("dom0: %s: %v\n", strings.Join(f, " "), err)
		} else {
			fmt.Printf("dom0: %s: ok\n", strings.Join(f, " "))
		}
	}
	switch f[0] {
	case "list":
		list, err := guest.ListDomains()
		if err != nil {
			report(err)
			return
		}
		fmt.Printf("dom0: %-4s %-12s %-8s %6s %6s %4s %10s\n", "ID", "NAME", "STATE", "MiB", "WEIGHT", "CAP", "CPU(ms)")
		for _, x := range list {
			fmt.Printf("dom0: %-4d %-12s %-8s %6d %6d %4d %10d\n", x.ID, x.Name, abi.StateName(x.State), x.Mem>>20, x.Weight, x.Cap, x.CPUNanos/1_000_000)
		}
	case "top":
		list, err := guest.ListDomains()
		if err != nil {
			report(err)
			return
		}
		for _, x := range list {
			fmt.Printf("dom0: top: d%d.%s cpu %d ms, %d exits, %d hypercalls\n", x.ID, x.Name, x.CPUNanos/1_000_000, x.Exits, x.Hypercall)
		}
	case "create":
		if len(f) < 3 {
			fmt.Println("dom0: create IMAGE NAME [MiB] [WEIGHT] [CAP] [ARGS...]")
			return
		}
		args := ""
		if len(f) > 6 {
			args = strings.Join(f[6:], " ")
		}
		nd, err := guest.CreateDomain(f[1], f[2], uint32(num(3, 0)), uint32(num(4, 0)), uint32(num(5, 0)), args)
		if err != nil {
			report(err)
			return
		}
		fmt.Printf("dom0: created d%d.%s\n", nd, f[2])
		d.refresh()
	case "destroy":
		report(guest.DestroyDomain(id()))
	case "pause":
		report(guest.PauseDomain(id()))
	case "unpause":
		report(guest.UnpauseDomain(id()))
	case "sched":
		report(guest.SetSchedule(id(), uint32(num(2, 256)), uint32(num(3, 0))))
	case "sleep":
		time.Sleep(time.Duration(num(1, 0)) * time.Millisecond)
	case "wait":
		for deadline := time.Now().Add(60 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
			list, _ := guest.ListDomains()
			found := false
			for _, x := range list {
				found = found || len(f) > 1 && x.Name == f[1]
			}
			if !found {
				fmt.Printf("dom0: %s has ended\n", strings.Join(f[1:], " "))
				return
			}
		}
		fmt.Printf("dom0: %s: still running after 60 s\n", strings.Join(f, " "))
	case "cycle":
		n, mib := int(num(1, 0)), uint32(num(3, 2))
		if len(f) < 3 {
			fmt.Println("dom0: cycle N IMAGE MiB")
			return
		}
		d.settle()
		before, _ := guest.FreeFrames()
		for i := 0; i < n; i++ {
			nd, err := guest.CreateDomain(f[2], fmt.Sprintf("cycle%d", i), mib, 0, 0, "")
			if err == nil {
				err = guest.DestroyDomain(nd)
			}
			if err != nil {
				fmt.Printf("dom0: cycle %d: %v\n", i, err)
				return
			}
			// The hypervisor frees a destroyed domain's memory when
			// it next schedules; let it run.
			time.Sleep(time.Millisecond)
		}
		d.settle()
		after, _ := guest.FreeFrames()
		fmt.Printf("dom0: cycle: %d domains created and destroyed; free frames %d before, %d after\n", n, before, after)
	case "read":
		v, err := d.read(strings.Join(f[1:], " "))
		if err != nil {
			report(err)
			return
		}
		fmt.Printf("dom0: read %s = %q\n", strings.Join(f[1:], " "), v)
	case "write":
		if len(f) < 3 {
			fmt.Println("dom0: write PATH VALUE")
			return
		}
		d.write(f[1], strings.Join(f[2:], " "))
		fmt.Printf("dom0: wrote %s\n", f[1])
	case "frames":
		d.settle()
		n, err := guest.FreeFrames()
		if err != nil {
			report(err)
			return
		}
		fmt.Printf("dom0: free frames: %d\n", n)
	case "help":
		for _, l := range strings.Split(strings.TrimSpace(help), "\n") {
			fmt.Printf("dom0: %s\n", l)
		}
	case "shutdown":
		fmt.Println("dom0: shutting down")
		os.Exit(0)
	default:
		fmt.Printf("dom0: unknown command %q (help lists them)\n", f[0])
	}
}
