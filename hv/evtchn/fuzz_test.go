package evtchn

import (
	"errors"
	"testing"

	"tamavisor/xen"
)

// fuzzer runs random operation sequences on three domains (0 privileged,
// 1 with 2 vCPUs, 2 with 34 vCPUs so that two have no vcpu_info) and a
// simulated guest, checking the tables' invariants as it goes.
type fuzzer struct {
	t     *testing.T
	e     *env
	ports []Port // ports handed out, to aim at live ones
	data  []byte
}

var fuzzVCPUs = map[DomID]int{0: 1, 1: 2, 2: 34}

func (f *fuzzer) byte() byte {
	if len(f.data) == 0 {
		return 0
	}
	b := f.data[0]
	f.data = f.data[1:]
	return b
}

func (f *fuzzer) dom() DomID {
	b := f.byte()
	switch {
	case b < 0x50:
		return DomID(b % 3)
	case b < 0x60:
		return DomIDSelf
	case b < 0x64:
		return 3 // never registered
	}
	return DomID(b % 3)
}

func (f *fuzzer) port() Port {
	b := f.byte()
	switch {
	case b < 0xc0 && len(f.ports) > 0:
		return f.ports[int(b)%len(f.ports)]
	case b < 0xd0:
		return Port(b & 7)
	case b < 0xe0:
		return NumPorts - 1 - Port(b&1)
	case b < 0xf0:
		return NumPorts + Port(b&3)
	}
	return 1<<32 - 1
}

func (f *fuzzer) small(n byte) uint32 { return uint32(f.byte() % n) }

func (f *fuzzer) got(op string, p Port, err error) {
	f.check(op, err)
	if err == nil {
		if p == 0 || p >= NumPorts {
			f.t.Fatalf("%s returned port %d", op, p)
		}
		f.ports = append(f.ports, p)
	}
}

var knownErrnos = map[int]bool{
	xen.EPERM: true, xen.ENOENT: true, xen.ESRCH: true, xen.EBUSY: true, xen.EEXIST: true,
	xen.EINVAL: true, xen.ENOSPC: true, xen.ENOSYS: true, xen.EFAULT: true,
}

func (f *fuzzer) check(op string, err error) {
	if err == nil {
		return
	}
	var e *Error
	if !errors.As(err, &e) || !knownErrnos[e.Errno] {
		f.t.Fatalf("%s: unexpected error %#v", op, err)
	}
}

func (f *fuzzer) delivery(op string, dl Delivery) {
	if dl.Upcall || dl.Edge {
		if _, ok := fuzzVCPUs[dl.Dom]; !ok || int(dl.VCPU) >= fuzzVCPUs[dl.Dom] {
			f.t.Fatalf("%s: delivery to %+v", op, dl)
		}
	}
	if dl.Upcall && dl.VCPU >= LegacyMaxVCPUs {
		if vi, _ := f.e.s.VCPUInfoOf(dl.Dom, dl.VCPU); vi.Page == nil {
			f.t.Fatalf("%s: upcall through a dummy vcpu_info", op)
		}
	}
}

func (f *fuzzer) step() {
	s := f.e.s
	switch op := f.byte() % 19; op {
	case 0:
		p, err := s.AllocUnbound(f.dom(), f.dom(), f.dom())
		f.got("alloc_unbound", p, err)
	case 1:
		p, dl, err := s.BindInterdomain(f.dom(), f.dom(), f.port())
		f.got("bind_interdomain", p, err)
		f.delivery("bind_interdomain", dl)
	case 2:
		p, err := s.BindVIRQ(f.dom(), f.small(26), f.small(4))
		f.got("bind_virq", p, err)
	case 3:
		p, err := s.BindIPI(f.dom(), f.small(36))
		f.got("bind_ipi", p, err)
	case 4:
		f.check("close", s.Close(f.dom(), f.port()))
	case 5:
		dl, err := s.Send(f.dom(), f.port())
		f.check("send", err)
		f.delivery("send", dl)
	case 6:
		dl, _ := s.RaiseVIRQ(f.dom(), f.small(26), f.small(36))
		f.delivery("raise_virq", dl)
	case 7:
		dl, err := s.Unmask(f.dom(), f.port())
		f.check("unmask", err)
		f.delivery("unmask", dl)
	case 8:
		c, err := s.Status(f.dom(), f.dom(), f.port())
		f.check("status", err)
		if err == nil && c.State > StateIPI {
			f.t.Fatalf("status %+v", c)
		}
	case 9:
		f.check("bind_vcpu", s.BindVCPU(f.dom(), f.port(), f.small(36)))
	case 10:
		s.RemoveDomain(f.dom())
	case 11:
		d, m := DomID(f.small(3)), NewMem(pageSize)
		err := s.AddDomain(d, m, fuzzVCPUs[d])
		if err == nil {
			f.e.pages[d] = m
		}
		f.check("add_domain", err)
	case 12: // the guest toggles a mask bit
		d, p := DomID(f.small(3)), f.port()
		if m, ok := f.e.pages[d]; ok && p < NumPorts {
			if IsMasked(m, p) {
				m.AndNot(SharedEvtchnMask+int(p/64)*8, 1<<(p%64))
			} else {
				mask(m, p)
			}
		}
	case 13: // the guest handles its upcall on a vCPU
		d, v := DomID(f.small(3)), f.small(36)
		if vi, ok := s.VCPUInfoOf(d, v); ok && vi.Page != nil {
			vi.Page.StoreByte(vi.Off, 0)
			vi.Page.AndNot(vi.Off+VCPUInfoPendingSel, ^uint64(0))
			ClearPending(f.e.pages[d], f.port())
		}
	case 14:
		f.check("set_global_virq_handler", s.SetGlobalVIRQHandler(f.dom(), f.small(26)))
	case 15:
		dl, err := s.SetVCPUInfo(f.dom(), f.small(36), NewMem(pageSize), int(f.byte())*8)
		f.check("register_vcpu_info", err)
		f.delivery("register_vcpu_info", dl)
	case 16:
		f.check("set_privileged", s.SetPrivileged(f.dom(), f.byte()&1 == 1))
	case 17:
		f.check("reset", s.Reset(f.dom(), f.dom()))
	case 18: // raw hypercall bytes
		caller, cmd := f.dom(), f.small(16)
		arg := make([]byte, f.small(StatusSize+1))
		for i := range arg {
			arg[i] = f.byte()
		}
		dl, err := s.Do(caller, cmd, arg)
		f.check("event_channel_op", err)
		f.delivery("event_channel_op", dl)
	}
}

// invariants checks every domain's table: port 0 and closed ports are
// zero and not pending, counts agree, each interdomain port's peer points
// back, VIRQ ports and the per-vCPU VIRQ tables agree, every notified vCPU
// exists.
func (f *fuzzer) invariants() {
	s := f.e.s
	s.mu.Lock()
	defer s.mu.Unlock()
	for id, d := range s.doms {
		if d.ports[0] != (Channel{}) {
			f.t.Fatalf("domain %d: port 0 is %+v", id, d.ports[0])
		}
		used := 0
		for p := Port(1); p < NumPorts; p++ {
			c := d.ports[p]
			if c.State == StateClosed {
				if c != (Channel{}) {
					f.t.Fatalf("domain %d port %d: closed but %+v", id, p, c)
				}
				if IsPending(d.shared, p) {
					f.t.Fatalf("domain %d port %d: closed but pending", id, p)
				}
				continue
			}
			used++
			if int64(c.VCPU) >= int64(len(d.vcpus)) {
				f.t.Fatalf("domain %d port %d: vCPU %d of %d", id, p, c.VCPU, len(d.vcpus))
			}
			switch c.State {
			case StateInterdomain:
				rd := s.doms[c.Remote]
				if rd == nil || c.RemotePort == 0 || c.RemotePort >= NumPorts {
					f.t.Fatalf("domain %d port %d: dangling %+v", id, p, c)
				}
				rc := rd.ports[c.RemotePort]
				if rc.State != StateInterdomain || rc.Remote != id || rc.RemotePort != p {
					f.t.Fatalf("domain %d port %d → %d:%d, which is %+v", id, p, c.Remote, c.RemotePort, rc)
				}
			case StateVIRQ:
				v := uint32(0)
				if KindOfVIRQ(c.VIRQ) == VIRQPerVCPU {
					v = c.VCPU
				}
				if c.VIRQ >= NumVIRQs || d.vcpus[v].virq[c.VIRQ] != p {
					f.t.Fatalf("domain %d port %d: VIRQ %+v not in vCPU %d's table", id, p, c, v)
				}
			case StateUnbound, StateIPI:
			default:
				f.t.Fatalf("domain %d port %d: state %v", id, p, c.State)
			}
		}
		if used != d.used {
			f.t.Fatalf("domain %d: %d ports used, count says %d", id, used, d.used)
		}
		for v := range d.vcpus {
			for virq, p := range d.vcpus[v].virq {
				if p == 0 {
					continue
				}
				c := d.ports[p]
				if c.State != StateVIRQ || c.VIRQ != uint32(virq) {
					f.t.Fatalf("domain %d vCPU %d VIRQ %d → port %d, which is %+v", id, v, virq, p, c)
				}
				if k := KindOfVIRQ(uint32(virq)); (k == VIRQPerVCPU && c.VCPU != uint32(v)) || (k != VIRQPerVCPU && v != 0) {
					f.t.Fatalf("domain %d vCPU %d VIRQ %d: bound as %+v", id, v, virq, c)
				}
			}
		}
	}
}

func FuzzOps(f *testing.F) {
	f.Add([]byte{0, 1, 1, 2, 1, 2, 1, 0, 5, 1, 0, 4, 1, 0})
	f.Add([]byte{0, 0x55, 0x55, 2, 1, 2, 0x55, 0, 5, 2, 0, 10, 1, 5, 2, 0, 4, 2, 0, 1, 1, 2, 0})
	f.Add([]byte{2, 1, 0, 0, 2, 1, 0, 1, 6, 1, 0, 1, 12, 1, 0, 6, 1, 0, 0, 13, 1, 0, 0, 7, 1, 0})
	f.Add([]byte{14, 2, 3, 2, 2, 3, 0, 9, 2, 0, 1, 10, 2, 11, 2, 15, 2, 33, 4, 3, 2, 33, 5, 2, 1})
	f.Add([]byte{0, 0x55, 0x55, 0x55, 1, 0x55, 0x55, 0, 4, 0x55, 0, 8, 0x55, 0x55, 0, 16, 1, 1})
	f.Add([]byte{18, 1, 6, 8, 0xf0, 0x7f, 2, 0, 0, 0, 0, 0, 18, 2, 0, 12, 1, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 17, 1, 1})
	f.Fuzz(func(t *testing.T, data []byte) {
		if len(data) > 4096 {
			data = data[:4096]
		}
		fz := &fuzzer{t: t, e: newEnv(t, fuzzVCPUs), data: data}
		if err := fz.e.s.SetPrivileged(0, true); err != nil {
			t.Fatal(err)
		}
		for i := 0; len(fz.data) > 0; i++ {
			fz.step()
			if i%16 == 15 {
				fz.invariants()
			}
		}
		fz.invariants()
	})
}
