package hv

import (
	"encoding/binary"

	"tamavisor/hv/evtchn"
	"tamavisor/mem"
	"tamavisor/xen"
)

// addEvents gives a new domain its event channels, delivered through its
// shared_info frame, and the ports its console and store back ends will
// bind (HVM_PARAM_CONSOLE_EVTCHN, HVM_PARAM_STORE_EVTCHN) when there is a
// privileged domain to serve them.
func (h *Hypervisor) addEvents(d *Domain) error {
	b, err := h.Phys.Slice(d.sharedInfo, mem.PageSize)
	if err != nil {
		return err
	}
	id := evtchn.DomID(d.ID)
	if err := h.Events.AddDomain(id, sharedPage{b}, 1); err != nil {
		return err
	}
	if d.Privileged {
		return h.Events.SetPrivileged(id, true)
	}
	return h.allocBackEndPorts(d)
}

// allocBackEndPorts allocates the unbound ports a domain's console and
// store back ends in dom0 will bind, when there is a dom0, and tells the
// guest in its HVM params.
func (h *Hypervisor) allocBackEndPorts(d *Domain) error {
	dom0 := h.Privileged()
	if dom0 == nil {
		return nil
	}
	id := evtchn.DomID(d.ID)
	console, err := h.Events.AllocUnbound(id, id, evtchn.DomID(dom0.ID))
	if err != nil {
		return err
	}
	store, err := h.Events.AllocUnbound(id, id, evtchn.DomID(dom0.ID))
	if err != nil {
		return err
	}
	d.consolePort, d.storePort = console, store
	d.params[xen.HVMParamConsoleEvtchn] = uint64(console)
	d.params[xen.HVMParamStoreEvtchn] = uint64(store)
	return nil
}

// deliver acts on an event: the vCPU it notifies wakes, and gets the
// upcall vector when the event calls for one.
func (h *Hypervisor) deliver(dl evtchn.Delivery) {
	if !dl.Edge && !dl.Upcall {
		return
	}
	d := h.Domain(uint16(dl.Dom))
	if d == nil || d.VCPU == nil || d.State != DomainRunning {
		return
	}
	v := d.VCPU
	if dl.Upcall {
		v.UpcallPending = true
	}
	if v.State == VCPUBlocked && (dl.Upcall || dl.Edge && v.polls(dl.Port)) {
		h.wake(v)
	}
}

// polls says whether a vCPU blocked in SCHEDOP_poll waits for port p: one of
// the ports it polls (Xen's evtchn_check_pollers wakes a vCPU polling one
// port only for that port, and one polling several for any).
func (v *VCPU) polls(p evtchn.Port) bool {
	if !v.polling {
		return false
	}
	if len(v.pollPorts) != 1 {
		return true
	}
	return v.pollPorts[0] == p
}

// eventChannelOp is the event_channel_op hypercall (public/event_channel.h).
func (h *Hypervisor) eventChannelOp(v *VCPU, cmd, arg uint64) int64 {
	size, ok := evtchn.ArgSize(uint32(cmd))
	if !ok || cmd > 0xffff_ffff {
		return errno(xen.ENOSYS)
	}
	b, err := v.argIn(arg, size)
	if err != nil {
		return faultErrno(err)
	}
	dl, err := h.Events.Do(evtchn.DomID(v.Dom.ID), uint32(cmd), b)
	if err != nil {
		return -int64(evtchn.Errno(err))
	}
	h.deliver(dl)
	if evtchn.WritesBack(uint32(cmd)) {
		if err := v.writeLinear(arg, b); err != nil {
			return faultErrno(err)
		}
	}
	return 0
}

// schedPoll is SCHEDOP_poll: block until one of the ports is pending or the
// timeout (absolute system time in ns; 0 = none) passes (public/sched.h,
// struct sched_poll { handle ports; unsigned int nr_ports; uint64 timeout; }).
func (h *Hypervisor) schedPoll(v *VCPU, arg uint64) int64 {
	const maxPoll = 128
	b, err := v.argIn(arg, 24)
	if err != nil {
		return faultErrno(err)
	}
	ports := binary.LittleEndian.Uint64(b[0:])
	n := binary.LittleEndian.Uint32(b[8:])
	timeout := binary.LittleEndian.Uint64(b[16:])
	if n > maxPoll {
		return errno(xen.EINVAL)
	}
	list, err := v.argIn(ports, int(n)*4)
	if err != nil {
		return faultErrno(err)
	}
	polled := v.pollPorts[:0] // reuses the last poll's array
	for i := uint32(0); i < n; i++ {
		p := evtchn.Port(binary.LittleEndian.Uint32(list[i*4:]))
		if p >= evtchn.NumPorts {
			return errno(xen.EINVAL) // Xen's do_poll: a port beyond the domain's
		}
		if h.Events.Pending(evtchn.DomID(v.Dom.ID), p) {
			return 0
		}
		polled = append(polled, p)
	}
	if timeout != 0 {
		v.pollDeadline = max(h.Clock.Ticks(timeout), 1) // the single-shot timer stays as it is
	}
	v.polling, v.pollPorts = true, polled
	h.block(v)
	return 0
}
