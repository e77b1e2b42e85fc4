package hv

import (
	"errors"
	"strings"

	"tamavisor/abi"
	"tamavisor/hv/sched"
	"tamavisor/mem"
	"tamavisor/xen"
)

// domctl implements tamavisor's domain-control operations (abi.Op*; the
// table is in docs/hypercalls.md). Only the privileged domain may use them:
// anyone else gets -EPERM. Every argument is checked; a bad one is an errno
// for dom0, never a fault of the hypervisor.
func (h *Hypervisor) domctl(v *VCPU, op uint64, a [5]uint64) int64 {
	if !v.Dom.Privileged {
		return errno(xen.EPERM)
	}
	target := func() (*Domain, int64) {
		if a[1] > 0xffff {
			return nil, errno(xen.ESRCH)
		}
		if d := h.Domain(uint16(a[1])); d != nil && d.State < DomainDying {
			return d, 0
		}
		return nil, errno(xen.ESRCH)
	}
	switch op {
	case abi.OpVersion:
		return abi.ControlVersion
	case abi.OpDomainCreate:
		return h.domctlCreate(v, a[1])
	case abi.OpDomainDestroy:
		d, e := target()
		if d == nil {
			return e
		}
		if d == v.Dom {
			return errno(xen.EINVAL) // dom0 ends itself with SCHEDOP_shutdown
		}
		h.Kill(d, "destroyed by %s", v.Dom.Label())
		d.Crashed = false
		return 0
	case abi.OpDomainPause, abi.OpDomainUnpause:
		d, e := target()
		if d == nil {
			return e
		}
		if d == v.Dom {
			return errno(xen.EINVAL)
		}
		if d.Paused = op == abi.OpDomainPause; d.Paused {
			h.pause(d)
		} else {
			h.unpause(d)
		}
		return 0
	case abi.OpDomainSched:
		d, e := target()
		if d == nil {
			return e
		}
		// The scheduler judges the values; the domain keeps them only
		// once it took them.
		if a[2] > sched.MaxWeight || a[3] > 100 {
			return errno(xen.EINVAL)
		}
		if err := h.Sched.SetParams(sched.DomID(d.ID), int(a[2]), int(a[3])); err != nil {
			return errno(xen.EINVAL)
		}
		d.Weight, d.Cap = int(a[2]), int(a[3])
		return 0
	case abi.OpDomainList:
		if a[2] > 4096 {
			return errno(xen.EINVAL)
		}
		n := min(int(a[2]), len(h.domains))
		out := make([]byte, 0, n*abi.DomainInfoSize)
		for _, d := range h.domains[:n] {
			info := h.info(d)
			out = append(out, info.Encode()...)
		}
		if err := v.writeLinear(a[1], out); err != nil {
			return faultErrno(err)
		}
		return int64(n)
	case abi.OpFreeFrames:
		return int64(h.Frames.FreeFrames())
	case abi.OpConsoleWrite:
		d, e := target()
		if d == nil {
			return e
		}
		if a[3] > maxConsoleWrite {
			return errno(xen.EINVAL)
		}
		b, err := v.copyIn(a[2], int(a[3]))
		if err != nil {
			return faultErrno(err)
		}
		// The domain's output, relayed: its share of the console's
		// queue applies as to its own console_io writes. dom0 keeps
		// the bytes and tries again (it must not wait: it serves every
		// domain).
		if _, ok := h.consoleWrite(d, b); !ok {
			return errno(xen.EAGAIN)
		}
		return int64(a[3])
	}
	return errno(xen.ENOSYS)
}

// domctlCreate creates a domain from an image the hypervisor carries or one
// in dom0's memory, and starts it.
func (h *Hypervisor) domctlCreate(v *VCPU, arg uint64) int64 {
	b, err := v.copyIn(arg, abi.DomainCreateSize)
	if err != nil {
		return faultErrno(err)
	}
	c, err := abi.DecodeDomainCreate(b)
	if err != nil {
		h.Log.Printf("%s: %v", v.Dom.Label(), err)
		return errno(xen.EINVAL)
	}
	sp := Spec{Image: c.Image, Name: c.Name, MemMiB: int(c.MemMiB), Weight: int(c.Weight), Cap: int(c.Cap)}
	if sp.MemMiB == 0 {
		sp.MemMiB = DefaultMemMiB
	}
	if sp.MemMiB < 2 || sp.MemMiB > MaxMemMiB {
		return errno(xen.EINVAL)
	}
	if c.ArgsLen > 0 {
		args, err := v.copyIn(c.Args, int(c.ArgsLen))
		if err != nil {
			return faultErrno(err)
		}
		sp.Args = strings.TrimRight(string(args), "\x00")
	}
	if c.ELF != 0 {
		if sp.ELF, err = v.copyIn(c.ELF, int(c.ELFLen)); err != nil {
			return faultErrno(err)
		}
		if sp.Image == "" {
			sp.Image = sp.Name
		}
	}
	d, err := h.CreateDomain(sp)
	if err != nil {
		h.Log.Printf("%s: cannot create a domain: %v", v.Dom.Label(), err)
		if errors.Is(err, mem.ErrNoMemory) {
			return errno(xen.ENOMEM)
		}
		return errno(xen.EINVAL)
	}
	return int64(d.ID)
}

// info describes a domain for OpDomainList.
func (h *Hypervisor) info(d *Domain) abi.DomainInfo {
	st := abi.StateRunnable
	switch {
	case d.State == DomainCreated:
		st = abi.StateCreated
	case d.State >= DomainDying:
		st = abi.StateDying
	case d.Paused:
		st = abi.StatePaused
	case d.VCPU != nil && d.VCPU.State == VCPUBlocked:
		st = abi.StateBlocked
	case d.VCPU != nil && h.running == d.VCPU:
		st = abi.StateRunning
	}
	return abi.DomainInfo{
		ID: d.ID, State: uint8(st), Privileged: d.Privileged, VCPUs: 1, Name: d.Name, Mem: d.MemSize,
		Weight: uint32(d.Weight), Cap: uint32(d.Cap), CPUNanos: h.Clock.Nanos(d.Stats.GuestTicks),
		Exits: d.Stats.Total(), Hypercall: d.Stats.Hypercalls,
		ConsoleGFN: d.ConsoleGPA >> 12, StoreGFN: d.StoreGPA >> 12,
		ConsolePort: uint32(d.consolePort), StorePort: uint32(d.storePort),
	}
}
