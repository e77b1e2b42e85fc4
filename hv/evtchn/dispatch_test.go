package evtchn

import (
	"bytes"
	"testing"

	"tamavisor/xen"
)

func TestArgSize(t *testing.T) {
	want := map[uint32]int{
		OpBindInterdomain: 12, OpBindVIRQ: 12, OpClose: 4, OpSend: 4, OpStatus: 24,
		OpAllocUnbound: 8, OpBindIPI: 8, OpBindVCPU: 8, OpUnmask: 4, OpReset: 2,
	}
	for cmd := uint32(0); cmd < 20; cmd++ {
		n, ok := ArgSize(cmd)
		if w, has := want[cmd]; ok != has || n != w {
			t.Errorf("ArgSize(%d) = %d, %v; want %d, %v", cmd, n, ok, w, has)
		}
	}
}

// TestDo drives a whole session through the byte-level dispatcher, as the
// hypercall handler will.
func TestDo(t *testing.T) {
	e := newEnv(t, map[DomID]int{1: 2, 2: 1})
	s := e.s
	do := func(caller DomID, cmd uint32, arg []byte) Delivery {
		t.Helper()
		dl, err := s.Do(caller, cmd, arg)
		if err != nil {
			t.Fatalf("cmd %d: %v", cmd, err)
		}
		return dl
	}
	buf := func(n int, enc func([]byte) error) []byte {
		b := make([]byte, n)
		if err := enc(b); err != nil {
			t.Fatal(err)
		}
		return b
	}

	au := buf(AllocUnboundSize, AllocUnboundArgs{Dom: DomIDSelf, RemoteDom: 2}.Encode)
	do(1, OpAllocUnbound, au)
	a, _ := DecodeAllocUnbound(au)
	if a.Port != 1 || a.Dom != DomIDSelf || a.RemoteDom != 2 {
		t.Fatalf("alloc_unbound OUT %+v", a)
	}

	bi := buf(BindInterdomainSize, BindInterdomainArgs{RemoteDom: 1, RemotePort: a.Port}.Encode)
	dl := do(2, OpBindInterdomain, bi)
	b, _ := DecodeBindInterdomain(bi)
	if b.LocalPort != 1 || dl != (Delivery{Dom: 2, Upcall: true, Edge: true, Port: 1}) {
		t.Fatalf("bind_interdomain OUT %+v, %+v", b, dl)
	}
	guestAck(e.pages[2], 0)

	if dl := do(1, OpSend, buf(SendSize, PortArgs{Port: a.Port}.Encode)); noPort(dl) != (Delivery{Dom: 2, Upcall: true, Edge: true}) {
		t.Fatalf("send %+v", dl)
	}

	st := buf(StatusSize, StatusArgs{Dom: DomIDSelf, Port: b.LocalPort}.Encode)
	do(2, OpStatus, st)
	want := StatusArgs{Dom: DomIDSelf, Port: 1, Status: StateInterdomain, RemoteDom: 1, RemotePort: 1}
	if got, _ := DecodeStatus(st); got != want {
		t.Fatalf("status OUT %+v, want %+v", got, want)
	}

	bv := buf(BindVIRQSize, BindVIRQArgs{VIRQ: VIRQTimer, VCPU: 1}.Encode)
	do(1, OpBindVIRQ, bv)
	if v, _ := DecodeBindVIRQ(bv); v.Port != 2 || v.VCPU != 1 {
		t.Fatalf("bind_virq OUT %+v", v)
	}
	ip := buf(BindIPISize, BindIPIArgs{VCPU: 1}.Encode)
	do(1, OpBindIPI, ip)
	if v, _ := DecodeBindIPI(ip); v.Port != 3 {
		t.Fatalf("bind_ipi OUT %+v", v)
	}
	do(1, OpBindVCPU, buf(BindVCPUSize, BindVCPUArgs{Port: a.Port, VCPU: 1}.Encode))
	if c := e.status(t, 1, a.Port); c.VCPU != 1 {
		t.Fatalf("bind_vcpu: %+v", c)
	}

	mask(e.pages[2], b.LocalPort)
	ClearPending(e.pages[2], b.LocalPort)
	do(1, OpSend, buf(SendSize, PortArgs{Port: a.Port}.Encode))
	guestAck(e.pages[2], 0) // masked: nothing found, bit stays
	if dl := do(2, OpUnmask, buf(UnmaskSize, PortArgs{Port: b.LocalPort}.Encode)); !dl.Upcall {
		t.Fatalf("unmask %+v", dl)
	}

	do(2, OpClose, buf(CloseSize, PortArgs{Port: b.LocalPort}.Encode))
	if c := e.status(t, 1, a.Port); c != (Channel{State: StateUnbound, Remote: 2, VCPU: 1}) {
		t.Fatalf("after close %+v", c)
	}

	rs := []byte{0xf0, 0x7f}
	do(1, OpReset, rs)
	for p := Port(1); p < 4; p++ {
		if c := e.status(t, 1, p); c != (Channel{}) {
			t.Fatalf("after reset port %d: %+v", p, c)
		}
	}
	if _, ok := s.RaiseVIRQ(1, VIRQTimer, 1); ok {
		t.Fatal("VIRQ bound after reset")
	}
}

func TestDoErrors(t *testing.T) {
	e := newEnv(t, map[DomID]int{1: 1, 2: 1})
	s := e.s
	for _, cmd := range []uint32{OpBindPIRQ, OpInitControl, OpExpandArray, OpSetPriority, 14, 1 << 31} {
		_, err := s.Do(1, cmd, make([]byte, 64))
		wantErrno(t, err, xen.ENOSYS)
	}
	for cmd := uint32(0); cmd <= OpReset; cmd++ {
		if n, ok := ArgSize(cmd); ok {
			_, err := s.Do(1, cmd, make([]byte, n-1))
			wantErrno(t, err, xen.EFAULT)
		}
	}
	// a failed operation leaves the argument alone
	au := make([]byte, AllocUnboundSize)
	AllocUnboundArgs{Dom: 2, RemoteDom: 1, Port: 0x1234}.Encode(au)
	orig := append([]byte(nil), au...)
	_, err := s.Do(1, OpAllocUnbound, au)
	wantErrno(t, err, xen.EPERM)
	if !bytes.Equal(au, orig) {
		t.Fatalf("argument written on failure: % x", au)
	}
	for _, c := range []struct {
		cmd   uint32
		arg   []byte
		errno int
	}{
		{OpBindInterdomain, make([]byte, BindInterdomainSize), xen.ESRCH}, // domain 0 does not exist
		{OpBindVIRQ, []byte{24, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0}, xen.EINVAL},
		{OpBindIPI, []byte{1, 0, 0, 0, 0, 0, 0, 0}, xen.ENOENT},
		{OpStatus, []byte{2, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0}, xen.EPERM},
		{OpSend, []byte{1, 0, 0, 0}, xen.EINVAL},
		{OpReset, []byte{9, 0}, xen.ESRCH},
		{OpReset, []byte{2, 0}, xen.EPERM},
	} {
		orig := append([]byte(nil), c.arg...)
		_, err := s.Do(1, c.cmd, c.arg)
		wantErrno(t, err, c.errno)
		if !bytes.Equal(c.arg, orig) {
			t.Fatalf("cmd %d: argument written on failure", c.cmd)
		}
	}
	// a privileged domain may not reset a running domain
	if err := s.SetPrivileged(1, true); err != nil {
		t.Fatal(err)
	}
	wantErrno(t, s.Reset(1, 2), xen.EINVAL)
	wantErrno(t, s.Reset(1, DomIDSelf), 0)
}

// noPort drops the port a Delivery names, for tests about the rest of it.
func noPort(d Delivery) Delivery {
	d.Port = 0
	return d
}

// The commands with output fields, and only those, write back.
func TestWritesBack(t *testing.T) {
	out := map[uint32]bool{OpAllocUnbound: true, OpBindInterdomain: true, OpBindVIRQ: true, OpBindIPI: true, OpStatus: true}
	for _, cmd := range []uint32{OpAllocUnbound, OpBindInterdomain, OpBindVIRQ, OpBindIPI, OpStatus, OpClose, OpSend, OpUnmask, OpBindVCPU, OpReset} {
		if WritesBack(cmd) != out[cmd] {
			t.Errorf("WritesBack(%d) = %v", cmd, WritesBack(cmd))
		}
	}
}
