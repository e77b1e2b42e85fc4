package evtchn

import "tamavisor/xen"

// ArgSize returns the size of the argument structure of EVTCHNOP cmd, and
// false for the commands Do does not implement.
func ArgSize(cmd uint32) (int, bool) {
	switch cmd {
	case OpAllocUnbound:
		return AllocUnboundSize, true
	case OpBindInterdomain:
		return BindInterdomainSize, true
	case OpBindVIRQ:
		return BindVIRQSize, true
	case OpBindIPI:
		return BindIPISize, true
	case OpBindVCPU:
		return BindVCPUSize, true
	case OpClose:
		return CloseSize, true
	case OpSend:
		return SendSize, true
	case OpUnmask:
		return UnmaskSize, true
	case OpStatus:
		return StatusSize, true
	case OpReset:
		return ResetSize, true
	}
	return 0, false
}

// WritesBack says whether a command has output fields that Do writes into
// its argument, for the caller to copy out: Xen copies nothing back for the
// others (close, send, unmask, bind_vcpu, reset), whose argument may even be
// read-only.
func WritesBack(cmd uint32) bool {
	switch cmd {
	case OpAllocUnbound, OpBindInterdomain, OpBindVIRQ, OpBindIPI, OpStatus:
		return true
	}
	return false
}

// Do performs __HYPERVISOR_event_channel_op(cmd, arg) for domain caller:
// arg holds the guest's argument structure (ArgSize(cmd) bytes, copied in
// by the caller); on success the OUT fields are written back into arg, for
// the caller to copy out, as Xen copies them only on success. The error's
// Errno, negated, is the hypercall's result. Commands without an
// implementation (bind_pirq, the FIFO ABI's init_control, expand_array,
// set_priority, unknown numbers) fail with -ENOSYS, so that guests fall
// back to the 2-level ABI; a short arg fails with -EFAULT.
func (s *System) Do(caller DomID, cmd uint32, arg []byte) (Delivery, error) {
	size, ok := ArgSize(cmd)
	if !ok {
		return Delivery{}, errorf("event_channel_op", xen.ENOSYS, "command %d not implemented", cmd)
	}
	if len(arg) < size {
		return Delivery{}, short("event_channel_op", len(arg), size)
	}
	switch cmd {
	case OpAllocUnbound:
		a, _ := DecodeAllocUnbound(arg)
		p, err := s.AllocUnbound(caller, a.Dom, a.RemoteDom)
		if err != nil {
			return Delivery{}, err
		}
		a.Port = p
		return Delivery{}, a.Encode(arg)
	case OpBindInterdomain:
		a, _ := DecodeBindInterdomain(arg)
		p, dl, err := s.BindInterdomain(caller, a.RemoteDom, a.RemotePort)
		if err != nil {
			return Delivery{}, err
		}
		a.LocalPort = p
		return dl, a.Encode(arg)
	case OpBindVIRQ:
		a, _ := DecodeBindVIRQ(arg)
		p, err := s.BindVIRQ(caller, a.VIRQ, a.VCPU)
		if err != nil {
			return Delivery{}, err
		}
		a.Port = p
		return Delivery{}, a.Encode(arg)
	case OpBindIPI:
		a, _ := DecodeBindIPI(arg)
		p, err := s.BindIPI(caller, a.VCPU)
		if err != nil {
			return Delivery{}, err
		}
		a.Port = p
		return Delivery{}, a.Encode(arg)
	case OpBindVCPU:
		a, _ := DecodeBindVCPU(arg)
		return Delivery{}, s.BindVCPU(caller, a.Port, a.VCPU)
	case OpClose:
		a, _ := DecodePort(arg)
		return Delivery{}, s.Close(caller, a.Port)
	case OpSend:
		a, _ := DecodePort(arg)
		return s.Send(caller, a.Port)
	case OpUnmask:
		a, _ := DecodePort(arg)
		return s.Unmask(caller, a.Port)
	case OpStatus:
		a, _ := DecodeStatus(arg)
		c, err := s.Status(caller, a.Dom, a.Port)
		if err != nil {
			return Delivery{}, err
		}
		return Delivery{}, StatusOf(a.Dom, a.Port, c).Encode(arg)
	default: // OpReset
		return Delivery{}, s.Reset(caller, DomID(le.Uint16(arg)))
	}
}

// Reset closes every port of domain dom (EVTCHNOP_reset, evtchn_reset);
// dom may be DOMID_SELF. Errors: -ESRCH unknown domain, -EPERM caller
// neither dom nor privileged, -EINVAL dom is not the caller (Xen allows
// that only while the controller has dom paused, which this package does
// not see).
func (s *System) Reset(caller, dom DomID) error {
	const op = "reset"
	s.mu.Lock()
	defer s.mu.Unlock()
	d, err := s.domain(op, self(caller, dom))
	if err != nil {
		return err
	}
	if !s.permitted(caller, d) {
		return errorf(op, xen.EPERM, "domain %d may not reset domain %d", caller, d.id)
	}
	if d.id != caller {
		return errorf(op, xen.EINVAL, "domain %d is not paused", d.id)
	}
	s.closeAll(d, true)
	return nil
}
