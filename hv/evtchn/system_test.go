package evtchn

import (
	"errors"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"tamavisor/xen"
)

type env struct {
	s     *System
	pages map[DomID]Mem
}

// newEnv registers domains with the given vCPU counts.
func newEnv(t testing.TB, vcpus map[DomID]int) *env {
	t.Helper()
	e := &env{s: new(System), pages: map[DomID]Mem{}}
	for d, n := range vcpus {
		m := NewMem(pageSize)
		if err := e.s.AddDomain(d, m, n); err != nil {
			t.Fatal(err)
		}
		e.pages[d] = m
	}
	return e
}

func wantErrno(t testing.TB, err error, errno int) {
	t.Helper()
	if Errno(err) != errno {
		t.Fatalf("error %v, want errno %d", err, errno)
	}
	if errno != 0 {
		var e *Error
		if !errors.As(err, &e) || e.Op == "" || !strings.HasPrefix(err.Error(), "evtchn: ") {
			t.Fatalf("error %#v is not a described *Error", err)
		}
	}
}

// must(t)(p, err) fails t on err or a port outside 1..NumPorts-1.
func must(t testing.TB) func(Port, error) Port {
	return func(p Port, err error) Port {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		if p == 0 || p >= NumPorts {
			t.Fatalf("port %d out of 1..%d", p, NumPorts-1)
		}
		return p
	}
}

func (e *env) status(t testing.TB, d DomID, p Port) Channel {
	t.Helper()
	c, err := e.s.Status(d, d, p)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestAddDomain(t *testing.T) {
	var s System
	m := NewMem(pageSize)
	cases := []struct {
		name  string
		d     DomID
		sh    Shared
		vcpus int
		errno int
	}{
		{"ok", 1, m, 1, 0},
		{"again", 1, m, 1, xen.EEXIST},
		{"DOMID_SELF", DomIDSelf, m, 1, xen.EINVAL},
		{"reserved", 0x7ff2, m, 1, xen.EINVAL},
		{"nil page", 2, nil, 1, xen.EINVAL},
		{"no vCPUs", 2, m, 0, xen.EINVAL},
		{"too many vCPUs", 2, m, MaxVCPUs + 1, xen.EINVAL},
		{"max vCPUs", 3, m, MaxVCPUs, 0},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			wantErrno(t, s.AddDomain(c.d, c.sh, c.vcpus), c.errno)
		})
	}
	s.RemoveDomain(1)
	s.RemoveDomain(1) // unknown: ignored
	wantErrno(t, s.AddDomain(1, m, 1), 0)
}

// TestErrors exercises every operation's errors, in Xen's order where
// several apply.
func TestErrors(t *testing.T) {
	const (
		dom0 DomID = 0 // privileged, default global VIRQ handler
		d1   DomID = 1 // 2 vCPUs
		d2   DomID = 2 // 1 vCPU
		none DomID = 9
	)
	setup := func(t *testing.T) *env {
		e := newEnv(t, map[DomID]int{dom0: 1, d1: 2, d2: 1})
		if err := e.s.SetPrivileged(dom0, true); err != nil {
			t.Fatal(err)
		}
		return e
	}
	fill := func(t *testing.T, e *env, d DomID) {
		for i := 1; i < NumPorts; i++ {
			must(t)(e.s.BindIPI(d, 0))
		}
	}
	cases := []struct {
		name  string
		op    func(t *testing.T, e *env) error
		errno int
	}{
		// alloc_unbound
		{"alloc_unbound self", func(t *testing.T, e *env) error {
			_, err := e.s.AllocUnbound(d1, DomIDSelf, d2)
			return err
		}, 0},
		{"alloc_unbound unknown dom", func(t *testing.T, e *env) error {
			_, err := e.s.AllocUnbound(d1, none, d2)
			return err
		}, xen.ESRCH},
		{"alloc_unbound in another domain", func(t *testing.T, e *env) error {
			_, err := e.s.AllocUnbound(d1, d2, d1)
			return err
		}, xen.EPERM},
		{"alloc_unbound privileged in another domain", func(t *testing.T, e *env) error {
			_, err := e.s.AllocUnbound(dom0, d2, d1)
			return err
		}, 0},
		{"alloc_unbound unknown remote is fine", func(t *testing.T, e *env) error {
			_, err := e.s.AllocUnbound(d1, d1, none)
			return err
		}, 0},
		{"alloc_unbound full", func(t *testing.T, e *env) error {
			fill(t, e, d1)
			_, err := e.s.AllocUnbound(d1, d1, d2)
			return err
		}, xen.ENOSPC},
		{"alloc_unbound full before EPERM", func(t *testing.T, e *env) error {
			fill(t, e, d2)
			_, err := e.s.AllocUnbound(d1, d2, d1)
			return err
		}, xen.ENOSPC},
		// bind_interdomain
		{"bind_interdomain unknown remote", func(t *testing.T, e *env) error {
			_, _, err := e.s.BindInterdomain(d1, none, 1)
			return err
		}, xen.ESRCH},
		{"bind_interdomain unknown caller", func(t *testing.T, e *env) error {
			_, _, err := e.s.BindInterdomain(none, d1, 1)
			return err
		}, xen.ESRCH},
		{"bind_interdomain port 0", func(t *testing.T, e *env) error {
			_, _, err := e.s.BindInterdomain(d1, d2, 0)
			return err
		}, xen.EINVAL},
		{"bind_interdomain out of range", func(t *testing.T, e *env) error {
			_, _, err := e.s.BindInterdomain(d1, d2, NumPorts)
			return err
		}, xen.EINVAL},
		{"bind_interdomain closed port", func(t *testing.T, e *env) error {
			_, _, err := e.s.BindInterdomain(d1, d2, 5)
			return err
		}, xen.EINVAL},
		{"bind_interdomain port reserved for another domain", func(t *testing.T, e *env) error {
			p := must(t)(e.s.AllocUnbound(d2, d2, dom0))
			_, _, err := e.s.BindInterdomain(d1, d2, p)
			return err
		}, xen.EINVAL},
		{"bind_interdomain port already bound", func(t *testing.T, e *env) error {
			p := must(t)(e.s.AllocUnbound(d2, d2, d1))
			if _, _, err := e.s.BindInterdomain(d1, d2, p); err != nil {
				t.Fatal(err)
			}
			_, _, err := e.s.BindInterdomain(d1, d2, p)
			return err
		}, xen.EINVAL},
		{"bind_interdomain IPI port", func(t *testing.T, e *env) error {
			p := must(t)(e.s.BindIPI(d2, 0))
			_, _, err := e.s.BindInterdomain(d1, d2, p)
			return err
		}, xen.EINVAL},
		{"bind_interdomain no local port", func(t *testing.T, e *env) error {
			fill(t, e, d1)
			_, _, err := e.s.BindInterdomain(d1, d2, 5000)
			return err
		}, xen.ENOSPC},
		// bind_virq
		{"bind_virq timer vCPU 1", func(t *testing.T, e *env) error {
			_, err := e.s.BindVIRQ(d1, VIRQTimer, 1)
			return err
		}, 0},
		{"bind_virq NR_VIRQS", func(t *testing.T, e *env) error {
			_, err := e.s.BindVIRQ(d1, NumVIRQs, 0)
			return err
		}, xen.EINVAL},
		{"bind_virq huge", func(t *testing.T, e *env) error {
			_, err := e.s.BindVIRQ(d1, 0xffffffff, 0)
			return err
		}, xen.EINVAL},
		{"bind_virq global on vCPU 1", func(t *testing.T, e *env) error {
			_, err := e.s.BindVIRQ(dom0, VIRQConsole, 1)
			return err
		}, xen.EINVAL},
		{"bind_virq per-domain on vCPU 1", func(t *testing.T, e *env) error {
			_, err := e.s.BindVIRQ(d1, VIRQArgo, 1)
			return err
		}, xen.EINVAL},
		{"bind_virq no vCPU", func(t *testing.T, e *env) error {
			_, err := e.s.BindVIRQ(d1, VIRQTimer, 2)
			return err
		}, xen.ENOENT},
		{"bind_virq huge vCPU", func(t *testing.T, e *env) error {
			_, err := e.s.BindVIRQ(d1, VIRQTimer, 0xffffffff)
			return err
		}, xen.ENOENT},
		{"bind_virq unknown domain", func(t *testing.T, e *env) error {
			_, err := e.s.BindVIRQ(none, VIRQTimer, 0)
			return err
		}, xen.ESRCH},
		{"bind_virq global, not the handler", func(t *testing.T, e *env) error {
			_, err := e.s.BindVIRQ(d1, VIRQDomExc, 0)
			return err
		}, xen.EBUSY},
		{"bind_virq global, the default handler", func(t *testing.T, e *env) error {
			_, err := e.s.BindVIRQ(dom0, VIRQDomExc, 0)
			return err
		}, 0},
		{"bind_virq twice on a vCPU", func(t *testing.T, e *env) error {
			must(t)(e.s.BindVIRQ(d1, VIRQTimer, 1))
			_, err := e.s.BindVIRQ(d1, VIRQTimer, 1)
			return err
		}, xen.EEXIST},
		{"bind_virq per-domain twice", func(t *testing.T, e *env) error {
			must(t)(e.s.BindVIRQ(d1, VIRQArgo, 0))
			_, err := e.s.BindVIRQ(d1, VIRQArgo, 0)
			return err
		}, xen.EEXIST},
		{"bind_virq full", func(t *testing.T, e *env) error {
			fill(t, e, d1)
			_, err := e.s.BindVIRQ(d1, VIRQTimer, 0)
			return err
		}, xen.ENOSPC},
		// bind_ipi
		{"bind_ipi no vCPU", func(t *testing.T, e *env) error {
			_, err := e.s.BindIPI(d2, 1)
			return err
		}, xen.ENOENT},
		{"bind_ipi unknown domain", func(t *testing.T, e *env) error {
			_, err := e.s.BindIPI(none, 0)
			return err
		}, xen.ESRCH},
		{"bind_ipi full", func(t *testing.T, e *env) error {
			fill(t, e, d1)
			_, err := e.s.BindIPI(d1, 0)
			return err
		}, xen.ENOSPC},
		// bind_vcpu
		{"bind_vcpu no vCPU", func(t *testing.T, e *env) error {
			p := must(t)(e.s.AllocUnbound(d1, d1, d2))
			return e.s.BindVCPU(d1, p, 2)
		}, xen.ENOENT},
		{"bind_vcpu unknown domain", func(t *testing.T, e *env) error { return e.s.BindVCPU(none, 1, 0) }, xen.ESRCH},
		{"bind_vcpu closed", func(t *testing.T, e *env) error { return e.s.BindVCPU(d1, 3, 1) }, xen.EINVAL},
		{"bind_vcpu port 0", func(t *testing.T, e *env) error { return e.s.BindVCPU(d1, 0, 1) }, xen.EINVAL},
		{"bind_vcpu out of range", func(t *testing.T, e *env) error { return e.s.BindVCPU(d1, NumPorts, 1) }, xen.EINVAL},
		{"bind_vcpu IPI", func(t *testing.T, e *env) error {
			p := must(t)(e.s.BindIPI(d1, 0))
			return e.s.BindVCPU(d1, p, 1)
		}, xen.EINVAL},
		{"bind_vcpu per-vCPU VIRQ", func(t *testing.T, e *env) error {
			p := must(t)(e.s.BindVIRQ(d1, VIRQTimer, 0))
			return e.s.BindVCPU(d1, p, 1)
		}, xen.EINVAL},
		{"bind_vcpu per-domain VIRQ", func(t *testing.T, e *env) error {
			p := must(t)(e.s.BindVIRQ(d1, VIRQArgo, 0))
			return e.s.BindVCPU(d1, p, 1)
		}, 0},
		{"bind_vcpu unbound", func(t *testing.T, e *env) error {
			p := must(t)(e.s.AllocUnbound(d1, d1, d2))
			return e.s.BindVCPU(d1, p, 1)
		}, 0},
		// close
		{"close port 0", func(t *testing.T, e *env) error { return e.s.Close(d1, 0) }, xen.EINVAL},
		{"close closed", func(t *testing.T, e *env) error { return e.s.Close(d1, 1) }, xen.EINVAL},
		{"close out of range", func(t *testing.T, e *env) error { return e.s.Close(d1, NumPorts) }, xen.EINVAL},
		{"close twice", func(t *testing.T, e *env) error {
			p := must(t)(e.s.BindIPI(d1, 0))
			if err := e.s.Close(d1, p); err != nil {
				t.Fatal(err)
			}
			return e.s.Close(d1, p)
		}, xen.EINVAL},
		{"close unknown domain", func(t *testing.T, e *env) error { return e.s.Close(none, 1) }, xen.ESRCH},
		// send
		{"send closed", func(t *testing.T, e *env) error { _, err := e.s.Send(d1, 1); return err }, xen.EINVAL},
		{"send port 0", func(t *testing.T, e *env) error { _, err := e.s.Send(d1, 0); return err }, xen.EINVAL},
		{"send out of range", func(t *testing.T, e *env) error { _, err := e.s.Send(d1, 1<<31); return err }, xen.EINVAL},
		{"send VIRQ", func(t *testing.T, e *env) error {
			p := must(t)(e.s.BindVIRQ(d1, VIRQTimer, 0))
			_, err := e.s.Send(d1, p)
			return err
		}, xen.EINVAL},
		{"send unbound is dropped", func(t *testing.T, e *env) error {
			p := must(t)(e.s.AllocUnbound(d1, d1, d2))
			dl, err := e.s.Send(d1, p)
			if dl.Edge || dl.Upcall || IsPending(e.pages[d1], p) {
				t.Fatalf("unbound send delivered %+v", dl)
			}
			return err
		}, 0},
		{"send unknown domain", func(t *testing.T, e *env) error { _, err := e.s.Send(none, 1); return err }, xen.ESRCH},
		// unmask
		{"unmask closed port", func(t *testing.T, e *env) error { _, err := e.s.Unmask(d1, 17); return err }, 0},
		{"unmask out of range", func(t *testing.T, e *env) error { _, err := e.s.Unmask(d1, NumPorts); return err }, xen.EINVAL},
		{"unmask unknown domain", func(t *testing.T, e *env) error { _, err := e.s.Unmask(none, 1); return err }, xen.ESRCH},
		// status
		{"status self closed", func(t *testing.T, e *env) error { _, err := e.s.Status(d1, DomIDSelf, 4095); return err }, 0},
		{"status port 0", func(t *testing.T, e *env) error { _, err := e.s.Status(d1, d1, 0); return err }, 0},
		{"status unknown domain", func(t *testing.T, e *env) error { _, err := e.s.Status(d1, none, 1); return err }, xen.ESRCH},
		{"status out of range", func(t *testing.T, e *env) error { _, err := e.s.Status(d1, d2, NumPorts); return err }, xen.EINVAL},
		{"status other domain", func(t *testing.T, e *env) error { _, err := e.s.Status(d1, d2, 1); return err }, xen.EPERM},
		{"status other domain, privileged", func(t *testing.T, e *env) error { _, err := e.s.Status(dom0, d2, 1); return err }, 0},
		// the rest
		{"set_privileged unknown", func(t *testing.T, e *env) error { return e.s.SetPrivileged(none, true) }, xen.ESRCH},
		{"global handler not global", func(t *testing.T, e *env) error { return e.s.SetGlobalVIRQHandler(d1, VIRQTimer) }, xen.EINVAL},
		{"global handler per-domain", func(t *testing.T, e *env) error { return e.s.SetGlobalVIRQHandler(d1, VIRQArgo) }, xen.EINVAL},
		{"global handler NR_VIRQS", func(t *testing.T, e *env) error { return e.s.SetGlobalVIRQHandler(d1, NumVIRQs) }, xen.EINVAL},
		{"global handler unknown", func(t *testing.T, e *env) error { return e.s.SetGlobalVIRQHandler(none, VIRQConsole) }, xen.ESRCH},
		{"global handler then bind", func(t *testing.T, e *env) error {
			if err := e.s.SetGlobalVIRQHandler(d1, VIRQConsole); err != nil {
				t.Fatal(err)
			}
			_, err := e.s.BindVIRQ(d1, VIRQConsole, 0)
			return err
		}, 0},
		{"register_vcpu_info unknown", func(t *testing.T, e *env) error {
			_, err := e.s.SetVCPUInfo(none, 0, NewMem(pageSize), 0)
			return err
		}, xen.ESRCH},
		{"register_vcpu_info no vCPU", func(t *testing.T, e *env) error {
			_, err := e.s.SetVCPUInfo(d1, 2, NewMem(pageSize), 0)
			return err
		}, xen.ENOENT},
		{"register_vcpu_info misaligned", func(t *testing.T, e *env) error {
			_, err := e.s.SetVCPUInfo(d1, 0, NewMem(pageSize), 4)
			return err
		}, xen.EINVAL},
		{"register_vcpu_info past the page", func(t *testing.T, e *env) error {
			_, err := e.s.SetVCPUInfo(d1, 0, NewMem(pageSize), pageSize-56)
			return err
		}, xen.EINVAL},
		{"register_vcpu_info nil page", func(t *testing.T, e *env) error {
			_, err := e.s.SetVCPUInfo(d1, 0, nil, 0)
			return err
		}, xen.EINVAL},
		{"register_vcpu_info twice", func(t *testing.T, e *env) error {
			if _, err := e.s.SetVCPUInfo(d1, 0, NewMem(pageSize), 64); err != nil {
				t.Fatal(err)
			}
			_, err := e.s.SetVCPUInfo(d1, 0, NewMem(pageSize), 0)
			return err
		}, xen.EBUSY},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			e := setup(t)
			wantErrno(t, c.op(t, e), c.errno)
		})
	}
}

func TestErrnoOfOtherErrors(t *testing.T) {
	if Errno(nil) != 0 || Errno(errors.New("x")) != xen.EINVAL {
		t.Fatal("Errno of nil or a foreign error")
	}
	err := errorf("send", xen.EINVAL, "port %d", 3)
	if got := err.Error(); got != "evtchn: send: port 3 (errno 22)" {
		t.Fatalf("message %q", got)
	}
}

func TestPortAllocation(t *testing.T) {
	e := newEnv(t, map[DomID]int{1: 1})
	s := e.s
	// lowest free port first, starting at 1
	for want := Port(1); want < NumPorts; want++ {
		if p := must(t)(s.BindIPI(1, 0)); p != want {
			t.Fatalf("port %d, want %d", p, want)
		}
	}
	_, err := s.BindIPI(1, 0)
	wantErrno(t, err, xen.ENOSPC)
	for _, p := range []Port{4095, 64, 63, 1} {
		if err := s.Close(1, p); err != nil {
			t.Fatal(err)
		}
	}
	for _, want := range []Port{1, 63, 64, 4095} {
		if p := must(t)(s.BindIPI(1, 0)); p != want {
			t.Fatalf("reused port %d, want %d", p, want)
		}
	}
}

func TestInterdomainLifecycle(t *testing.T) {
	e := newEnv(t, map[DomID]int{1: 1, 2: 2})
	s, m1, m2 := e.s, e.pages[1], e.pages[2]

	// 1 offers a port to 2
	p1 := must(t)(s.AllocUnbound(1, DomIDSelf, 2))
	if c := e.status(t, 1, p1); c != (Channel{State: StateUnbound, Remote: 2}) {
		t.Fatalf("unbound: %+v", c)
	}
	// 2 binds it; its new port is made pending (Xen's conservative
	// notification on bind)
	p2, dl, err := s.BindInterdomain(2, 1, p1)
	must(t)(p2, err)
	if dl != (Delivery{Dom: 2, VCPU: 0, Upcall: true, Edge: true, Port: p2}) {
		t.Fatalf("bind delivery %+v", dl)
	}
	if got := guestAck(m2, 0); len(got) != 1 || got[0] != p2 {
		t.Fatalf("2 found %v pending after bind", got)
	}
	if c := e.status(t, 1, p1); c != (Channel{State: StateInterdomain, Remote: 2, RemotePort: p2}) {
		t.Fatalf("1's end: %+v", c)
	}
	if c := e.status(t, 2, p2); c != (Channel{State: StateInterdomain, Remote: 1, RemotePort: p1}) {
		t.Fatalf("2's end: %+v", c)
	}

	// both ways
	dl, err = s.Send(1, p1)
	if err != nil || noPort(dl) != (Delivery{Dom: 2, VCPU: 0, Upcall: true, Edge: true}) {
		t.Fatalf("1→2: %+v, %v", dl, err)
	}
	dl, err = s.Send(2, p2)
	if err != nil || noPort(dl) != (Delivery{Dom: 1, VCPU: 0, Upcall: true, Edge: true}) {
		t.Fatalf("2→1: %+v, %v", dl, err)
	}
	if !s.Pending(1, p1) || !s.Pending(2, p2) {
		t.Fatalf("not pending")
	}
	// a second send before the guest looks: no new edge
	if dl, _ := s.Send(1, p1); dl.Edge || dl.Upcall {
		t.Fatalf("second send %+v", dl)
	}
	guestAck(m1, 0)
	guestAck(m2, 0)

	// 2 moves its end to vCPU 1; 1's sends follow
	if err := s.BindVCPU(2, p2, 1); err != nil {
		t.Fatal(err)
	}
	if dl, _ := s.Send(1, p1); noPort(dl) != (Delivery{Dom: 2, VCPU: 1, Upcall: true, Edge: true}) {
		t.Fatalf("to vCPU 1: %+v", dl)
	}
	if selBits(m2, 1) != 1<<(p2/64) || selBits(m2, 0) != 0 {
		t.Fatalf("selector of the wrong vCPU")
	}
	guestAck(m2, 1)

	// 1 closes: 2's end is unbound, reserved for 1, still on vCPU 1
	if err := s.Close(1, p1); err != nil {
		t.Fatal(err)
	}
	if c := e.status(t, 1, p1); c != (Channel{}) {
		t.Fatalf("closed end: %+v", c)
	}
	if c := e.status(t, 2, p2); c != (Channel{State: StateUnbound, Remote: 1, VCPU: 1}) {
		t.Fatalf("other end after close: %+v", c)
	}
	// sending on it is silently dropped
	if dl, err := s.Send(2, p2); err != nil || noPort(dl) != (Delivery{}) {
		t.Fatalf("send on unbound: %+v, %v", dl, err)
	}
	// 1 rebinds to the same remote port
	q1, dl, err := s.BindInterdomain(1, 2, p2)
	must(t)(q1, err)
	if dl.Dom != 1 || !dl.Edge {
		t.Fatalf("rebind delivery %+v", dl)
	}
	if c := e.status(t, 2, p2); c != (Channel{State: StateInterdomain, Remote: 1, RemotePort: q1, VCPU: 1}) {
		t.Fatalf("rebound: %+v", c)
	}
	guestAck(m1, 0)
	if dl, _ := s.Send(2, p2); noPort(dl) != (Delivery{Dom: 1, VCPU: 0, Upcall: true, Edge: true}) {
		t.Fatalf("after rebind 2→1: %+v", dl)
	}
}

// Closing a port clears its pending bit and resets its vCPU: a reused port
// notifies vCPU 0 and starts clean.
func TestCloseClearsPending(t *testing.T) {
	e := newEnv(t, map[DomID]int{1: 2})
	s := e.s
	p := must(t)(s.BindIPI(1, 1))
	if dl, _ := s.Send(1, p); dl != (Delivery{Dom: 1, VCPU: 1, Upcall: true, Edge: true, Port: p}) {
		t.Fatalf("IPI delivery %+v", dl)
	}
	if err := s.Close(1, p); err != nil {
		t.Fatal(err)
	}
	if s.Pending(1, p) {
		t.Fatal("closed port still pending")
	}
	q := must(t)(s.AllocUnbound(1, 1, 1))
	if q != p || e.status(t, 1, q).VCPU != 0 {
		t.Fatalf("reused port %d: %+v", q, e.status(t, 1, q))
	}
}

func TestLoopback(t *testing.T) {
	e := newEnv(t, map[DomID]int{3: 1})
	s := e.s
	a := must(t)(s.AllocUnbound(3, DomIDSelf, DomIDSelf))
	b, _, err := s.BindInterdomain(3, DomIDSelf, a)
	must(t)(b, err)
	if a == b {
		t.Fatalf("both ends on port %d", a)
	}
	guestAck(e.pages[3], 0)
	if dl, _ := s.Send(3, a); dl.Dom != 3 || !dl.Edge || !s.Pending(3, b) || s.Pending(3, a) {
		t.Fatalf("loopback a→b: %+v", dl)
	}
	if err := s.Close(3, a); err != nil {
		t.Fatal(err)
	}
	if c := e.status(t, 3, b); c != (Channel{State: StateUnbound, Remote: 3}) {
		t.Fatalf("after closing a: %+v", c)
	}
}

func TestRemoveDomain(t *testing.T) {
	e := newEnv(t, map[DomID]int{1: 1, 2: 1, 3: 1})
	s := e.s
	// 1—2 and 1—3 channels, a 2—3 channel, and 2 holding an unbound port
	// for 1
	p12 := must(t)(s.AllocUnbound(1, 1, 2))
	p21, _, err := s.BindInterdomain(2, 1, p12)
	must(t)(p21, err)
	p31 := must(t)(s.AllocUnbound(3, 3, 1))
	p13, _, err := s.BindInterdomain(1, 3, p31)
	must(t)(p13, err)
	p23 := must(t)(s.AllocUnbound(2, 2, 3))
	p32, _, err := s.BindInterdomain(3, 2, p23)
	must(t)(p32, err)
	pu := must(t)(s.AllocUnbound(2, 2, 1))
	must(t)(s.BindVIRQ(1, VIRQTimer, 0))
	if err := s.SetGlobalVIRQHandler(1, VIRQConsole); err != nil {
		t.Fatal(err)
	}
	must(t)(s.BindVIRQ(1, VIRQConsole, 0))

	before := append(Mem(nil), e.pages[1]...)
	s.RemoveDomain(1)

	for _, c := range []struct {
		d    DomID
		p    Port
		want Channel
	}{
		{2, p21, Channel{State: StateUnbound, Remote: 1}},
		{3, p31, Channel{State: StateUnbound, Remote: 1}},
		{2, p23, Channel{State: StateInterdomain, Remote: 3, RemotePort: p32}},
		{3, p32, Channel{State: StateInterdomain, Remote: 2, RemotePort: p23}},
		{2, pu, Channel{State: StateUnbound, Remote: 1}},
	} {
		if got := e.status(t, c.d, c.p); got != c.want {
			t.Errorf("domain %d port %d: %+v, want %+v", c.d, c.p, got, c.want)
		}
	}
	for i := range before {
		if before[i] != e.pages[1][i] {
			t.Fatalf("removed domain's page written at word %d", i)
		}
	}
	if _, err := s.Status(2, 1, 1); Errno(err) != xen.ESRCH {
		t.Fatalf("removed domain still answers: %v", err)
	}
	if _, ok := s.RaiseVIRQ(1, VIRQTimer, 0); ok {
		t.Fatal("VIRQ raised on a removed domain")
	}
	if s.Pending(1, 1) {
		t.Fatal("removed domain has a pending port")
	}
	if _, ok := s.SendGlobalVIRQ(VIRQConsole); ok {
		t.Fatal("global VIRQ still handled by the removed domain")
	}
	if _, err := s.Send(2, p21); err != nil {
		t.Fatalf("send to the dead peer: %v", err)
	}
	// the same id comes back and reconnects to the waiting port
	if err := s.AddDomain(1, NewMem(pageSize), 1); err != nil {
		t.Fatal(err)
	}
	q, _, err := s.BindInterdomain(1, 2, p21)
	must(t)(q, err)
	if q != 1 {
		t.Fatalf("fresh domain's first port %d", q)
	}
}

func TestVIRQ(t *testing.T) {
	e := newEnv(t, map[DomID]int{0: 1, 1: 3})
	s, m := e.s, e.pages[1]
	var timer [3]Port
	for v := uint32(0); v < 3; v++ {
		timer[v] = must(t)(s.BindVIRQ(1, VIRQTimer, v))
		if c := e.status(t, 1, timer[v]); c != (Channel{State: StateVIRQ, VIRQ: VIRQTimer, VCPU: v}) {
			t.Fatalf("timer on vCPU %d: %+v", v, c)
		}
	}
	for v := uint32(0); v < 3; v++ {
		dl, ok := s.RaiseVIRQ(1, VIRQTimer, v)
		if !ok || dl != (Delivery{Dom: 1, VCPU: v, Upcall: true, Edge: true, Port: timer[v]}) {
			t.Fatalf("timer vCPU %d: %+v %v", v, dl, ok)
		}
		if got := guestAck(m, v); len(got) != 1 || got[0] != timer[v] {
			t.Fatalf("vCPU %d found %v", v, got)
		}
	}
	// not bound / unknown
	for _, c := range []struct {
		d       DomID
		virq, v uint32
	}{{1, VIRQDebug, 0}, {1, VIRQTimer, 3}, {1, NumVIRQs, 0}, {7, VIRQTimer, 0}} {
		if _, ok := s.RaiseVIRQ(c.d, c.virq, c.v); ok {
			t.Fatalf("raise %+v reported bound", c)
		}
	}
	// upcall mask: pending bits set, no Upcall
	setUpcallMask(m, 2, true)
	dl, ok := s.RaiseVIRQ(1, VIRQTimer, 2)
	if !ok || dl.Upcall || !dl.Edge || !s.Pending(1, timer[2]) || upcallPending(m, 2) != 1 {
		t.Fatalf("masked vCPU: %+v", dl)
	}
	setUpcallMask(m, 2, false)
	guestAck(m, 2)

	// close and rebind on vCPU 1
	if err := s.Close(1, timer[1]); err != nil {
		t.Fatal(err)
	}
	if _, ok := s.RaiseVIRQ(1, VIRQTimer, 1); ok {
		t.Fatal("closed VIRQ still raised")
	}
	p := must(t)(s.BindVIRQ(1, VIRQTimer, 1))
	if p != timer[1] {
		t.Fatalf("rebind got port %d, want %d", p, timer[1])
	}

	// per-domain VIRQ, moved to vCPU 2; raise ignores the vCPU argument
	pa := must(t)(s.BindVIRQ(1, VIRQArgo, 0))
	if err := s.BindVCPU(1, pa, 2); err != nil {
		t.Fatal(err)
	}
	if dl, ok := s.RaiseVIRQ(1, VIRQArgo, 1); !ok || noPort(dl) != (Delivery{Dom: 1, VCPU: 2, Upcall: true, Edge: true}) {
		t.Fatalf("ARGO: %+v %v", dl, ok)
	}
	guestAck(m, 2)
	if err := s.Close(1, pa); err != nil {
		t.Fatal(err)
	}
	must(t)(s.BindVIRQ(1, VIRQArgo, 0)) // unbound by the close

	// global VIRQ: domain 0 by default, then domain 1
	if _, ok := s.SendGlobalVIRQ(VIRQDomExc); ok {
		t.Fatal("unbound global VIRQ delivered")
	}
	p0 := must(t)(s.BindVIRQ(0, VIRQDomExc, 0))
	if dl, ok := s.SendGlobalVIRQ(VIRQDomExc); !ok || dl.Dom != 0 || !s.Pending(0, p0) {
		t.Fatalf("global to dom0: %+v %v", dl, ok)
	}
	if err := s.SetGlobalVIRQHandler(1, VIRQDomExc); err != nil {
		t.Fatal(err)
	}
	p1 := must(t)(s.BindVIRQ(1, VIRQDomExc, 0))
	if err := s.BindVCPU(1, p1, 1); err != nil {
		t.Fatal(err)
	}
	if dl, ok := s.SendGlobalVIRQ(VIRQDomExc); !ok || noPort(dl) != (Delivery{Dom: 1, VCPU: 1, Upcall: true, Edge: true}) {
		t.Fatalf("global to dom1: %+v %v", dl, ok)
	}
	if _, ok := s.SendGlobalVIRQ(VIRQTimer); ok {
		t.Fatal("SendGlobalVIRQ of a per-vCPU VIRQ")
	}
	if err := s.Close(1, p1); err != nil {
		t.Fatal(err)
	}
	if _, ok := s.SendGlobalVIRQ(VIRQDomExc); ok {
		t.Fatal("closed global VIRQ delivered")
	}
}

func TestIPIAndUnmask(t *testing.T) {
	e := newEnv(t, map[DomID]int{1: 2})
	s, m := e.s, e.pages[1]
	p := must(t)(s.BindIPI(1, 1))
	if c := e.status(t, 1, p); c != (Channel{State: StateIPI, VCPU: 1}) {
		t.Fatalf("IPI status %+v", c)
	}
	mask(m, p)
	if dl, _ := s.Send(1, p); dl != (Delivery{Dom: 1, VCPU: 1, Edge: true, Port: p}) {
		t.Fatalf("masked IPI %+v", dl)
	}
	if selBits(m, 1) != 0 {
		t.Fatal("selector set for a masked port")
	}
	dl, err := s.Unmask(1, p)
	if err != nil || noPort(dl) != (Delivery{Dom: 1, VCPU: 1, Upcall: true}) {
		t.Fatalf("unmask %+v, %v", dl, err)
	}
	if selBits(m, 1) != 1<<(p/64) || upcallPending(m, 1) != 1 {
		t.Fatal("unmask did not select")
	}
	if dl, _ := s.Unmask(1, p); dl.Upcall {
		t.Fatal("second unmask upcalled")
	}
}

func TestSetVCPUInfo(t *testing.T) {
	e := newEnv(t, map[DomID]int{1: 40})
	s, sh := e.s, e.pages[1]
	// vCPU 35 has no vcpu_info: events pend, nothing more
	p := must(t)(s.BindIPI(1, 35))
	if dl, _ := s.Send(1, p); noPort(dl) != (Delivery{Dom: 1, VCPU: 35, Edge: true}) {
		t.Fatalf("dummy vcpu_info delivery %+v", dl)
	}
	if vi, ok := s.VCPUInfoOf(1, 35); !ok || vi.Page != nil {
		t.Fatalf("vCPU 35 info %+v %v", vi, ok)
	}
	page := NewMem(pageSize)
	dl, err := s.SetVCPUInfo(1, 35, page, 192)
	if err != nil || noPort(dl) != (Delivery{Dom: 1, VCPU: 35, Upcall: true}) {
		t.Fatalf("register: %+v, %v", dl, err)
	}
	if page.Load(192+VCPUInfoPendingSel) != ^uint64(0) || page.LoadByte(192) != 1 {
		t.Fatal("registration did not mark everything pending")
	}
	if vi, ok := s.VCPUInfoOf(1, 35); !ok || vi.Off != 192 {
		t.Fatalf("vCPU 35 info %+v", vi)
	}
	// the guest handles it; a new event arrives through the new place
	page.StoreByte(192, 0)
	page.AndNot(192+VCPUInfoPendingSel, ^uint64(0))
	ClearPending(sh, p)
	if dl, _ := s.Send(1, p); noPort(dl) != (Delivery{Dom: 1, VCPU: 35, Upcall: true, Edge: true}) {
		t.Fatalf("after register %+v", dl)
	}
	if page.Load(192+VCPUInfoPendingSel) != 1<<(p/64) {
		t.Fatal("selector not in the registered vcpu_info")
	}
	// vCPU 0 moves too; its vcpu_info in shared_info, upcall mask set,
	// is copied to the new place, so the registration gives no upcall
	sh.StoreByte(VCPUInfoUpcallMask, 1)
	page2 := NewMem(pageSize)
	if dl, err := s.SetVCPUInfo(1, 0, page2, 0); err != nil || dl.Upcall {
		t.Fatalf("masked registration %+v, %v", dl, err)
	}
	if page2.LoadByte(VCPUInfoUpcallMask) != 1 {
		t.Error("the old vcpu_info was not copied to the new place")
	}
	// A second registration is refused and leaves the page alone.
	page3 := NewMem(pageSize)
	if _, err := s.SetVCPUInfo(1, 0, page3, 0); err == nil || page3.LoadByte(VCPUInfoUpcallMask) != 0 {
		t.Errorf("second registration: %v, page written %v", err, page3.LoadByte(VCPUInfoUpcallMask) != 0)
	}
	if _, ok := s.VCPUInfoOf(1, 40); ok {
		t.Fatal("vCPU 40 exists")
	}
	if _, ok := s.VCPUInfoOf(2, 0); ok {
		t.Fatal("domain 2 exists")
	}
}

// TestPingPong sends 10,000 events each way between two domains, each
// guest clearing its bit before answering: every send is an edge and an
// upcall, and each side finds exactly one pending port each time.
func TestPingPong(t *testing.T) {
	e := newEnv(t, map[DomID]int{1: 1, 2: 1})
	s, m1, m2 := e.s, e.pages[1], e.pages[2]
	pa := must(t)(s.AllocUnbound(1, 1, 2))
	pb, _, err := s.BindInterdomain(2, 1, pa)
	must(t)(pb, err)
	guestAck(m2, 0)

	const n = 10000
	var edges, upcalls, found [3]int
	for i := 0; i < n; i++ {
		dl, err := s.Send(1, pa)
		if err != nil {
			t.Fatal(err)
		}
		if dl.Edge {
			edges[dl.Dom]++
		}
		if dl.Upcall {
			upcalls[dl.Dom]++
		}
		got := guestAck(m2, 0)
		found[2] += len(got)
		if len(got) != 1 || got[0] != pb {
			t.Fatalf("round %d: 2 found %v", i, got)
		}
		if dl, err = s.Send(2, pb); err != nil {
			t.Fatal(err)
		}
		if dl.Edge {
			edges[dl.Dom]++
		}
		if dl.Upcall {
			upcalls[dl.Dom]++
		}
		got = guestAck(m1, 0)
		found[1] += len(got)
		if len(got) != 1 || got[0] != pa {
			t.Fatalf("round %d: 1 found %v", i, got)
		}
	}
	for d := 1; d <= 2; d++ {
		if edges[d] != n || upcalls[d] != n || found[d] != n {
			t.Fatalf("domain %d: %d edges, %d upcalls, %d found; want %d", d, edges[d], upcalls[d], found[d], n)
		}
	}
	// without the guest clearing, n sends give one edge
	edges[2] = 0
	for i := 0; i < n; i++ {
		if dl, _ := s.Send(1, pa); dl.Edge {
			edges[2]++
		}
	}
	if edges[2] != 1 {
		t.Fatalf("%d edges without clearing", edges[2])
	}
}

// TestConcurrentSends has several goroutines send on channels into one
// domain while its "guest" clears bits; for every port, the edges the
// senders saw equal the bits the guest cleared plus the bit still set.
func TestConcurrentSends(t *testing.T) {
	const (
		senders = 8
		sends   = 2000
	)
	vcpus := map[DomID]int{100: 2}
	for i := 0; i < senders; i++ {
		vcpus[DomID(i+1)] = 1
	}
	e := newEnv(t, vcpus)
	s, m := e.s, e.pages[100]
	local := make([]Port, senders)  // ports in domain 100
	remote := make([]Port, senders) // the senders' ends
	for i := range local {
		local[i] = must(t)(s.AllocUnbound(100, 100, DomID(i+1)))
		var err error
		remote[i], _, err = s.BindInterdomain(DomID(i+1), 100, local[i])
		must(t)(remote[i], err)
		if i%2 == 1 {
			if err := s.BindVCPU(100, local[i], 1); err != nil {
				t.Fatal(err)
			}
		}
	}
	guestAck(m, 0)
	guestAck(m, 1)

	var edges [senders]atomic.Int64
	var cleared [NumPorts]int64
	stop := make(chan struct{})
	var guest sync.WaitGroup
	guest.Add(1)
	go func() { // the guest, on both vCPUs
		defer guest.Done()
		for {
			for v := uint32(0); v < 2; v++ {
				for _, p := range guestAck(m, v) {
					cleared[p]++
				}
			}
			select {
			case <-stop:
				return
			default:
			}
		}
	}()
	var wg sync.WaitGroup
	for i := 0; i < senders; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			for j := 0; j < sends; j++ {
				dl, err := s.Send(DomID(i+1), remote[i])
				if err != nil {
					t.Error(err)
					return
				}
				if dl.Dom != 100 || dl.VCPU != uint32(i%2) {
					t.Errorf("delivery %+v", dl)
					return
				}
				if dl.Edge {
					edges[i].Add(1)
				}
				if j%100 == 0 { // also race a VIRQ-free status read
					s.Status(DomID(i+1), DomIDSelf, remote[i])
				}
			}
		}(i)
	}
	wg.Wait()
	close(stop)
	guest.Wait()
	var total int64
	for i, p := range local {
		still := int64(0)
		if IsPending(m, p) {
			still = 1
		}
		if got := edges[i].Load(); got != cleared[p]+still {
			t.Errorf("port %d: %d edges, %d cleared + %d pending", p, got, cleared[p], still)
		}
		total += edges[i].Load()
	}
	if total == 0 {
		t.Fatal("no edges at all")
	}
}
