package hv

import (
	"tamavisor/hv/evtchn"
	"tamavisor/vmx"
	"tamavisor/x86"
)

// Run schedules the domains round-robin on this CPU until every one has
// ended. Each runs for a time slice that the VMX preemption timer enforces;
// a blocked vCPU waits for its timer; when nothing can run, the CPU waits
// for the earliest timer.
func (h *Hypervisor) Run() {
	next := 0
	for {
		h.reap()
		if len(h.domains) == 0 {
			return
		}
		now := rdtsc()
		var runnable []*VCPU
		var earliest uint64
		for _, d := range h.domains {
			v := d.VCPU
			if d.Paused {
				continue
			}
			if v.State == VCPUBlocked && v.Timer != 0 && v.Timer <= now {
				h.timerFired(v)
				v.State = VCPURunnable
			}
			switch v.State {
			case VCPURunnable:
				runnable = append(runnable, v)
			case VCPUBlocked:
				if v.Timer != 0 && (earliest == 0 || v.Timer < earliest) {
					earliest = v.Timer
				}
			}
		}
		if len(runnable) == 0 {
			if earliest == 0 {
				// Every domain waits for an event nothing will send.
				for _, d := range h.domains {
					if d.Paused {
						h.Kill(d, "paused, and no domain is left that could unpause it")
					} else {
						h.Kill(d, "blocked with no timer and no event to wait for: it can never wake")
					}
				}
				continue
			}
			for rdtsc() < earliest {
				x86.Pause()
			}
			continue
		}
		next %= len(runnable)
		h.runSlice(runnable[next])
		next++
	}
}

// reap destroys the domains that have ended.
func (h *Hypervisor) reap() {
	for i := 0; i < len(h.domains); {
		if d := h.domains[i]; d.State == DomainDying {
			h.destroy(d)
			continue
		}
		i++
	}
}

// runSlice runs a vCPU until its slice ends, it blocks or yields, or its
// domain ends.
func (h *Hypervisor) runSlice(v *VCPU) {
	d := v.Dom
	if h.current != v {
		if err := v.VMCS.Load(); err != nil {
			h.Kill(d, "%v", err)
			return
		}
		h.current = v
	}
	if h.loaded != v {
		h.loadMSRs(v)
	}
	r := &v.Regs
	start := rdtsc()
	sliceEnd := start + h.SliceTicks
	shift := h.CPU.Caps.PreemptionTimerShift()
	now := start
	// The loop is the exit path's Go half: it takes the TSC readings the
	// assembly made at entry and exit rather than reading the TSC again.
	for v.State == VCPURunnable && d.State == DomainRunning {
		if v.Timer != 0 && v.Timer <= now {
			h.timerFired(v)
		}
		if v.UpcallPending {
			v.deliverUpcall()
		}
		// The slice ends at the earlier of its end and the vCPU's timer.
		end := sliceEnd
		if v.Timer != 0 && v.Timer < end {
			end = v.Timer
		}
		if end <= now {
			break
		}
		r.Timer = min((end-now)>>shift, 0xffff_ffff)
		if v.msrsDirty {
			h.loadMSRs(v)
		}
		if err := vmx.Run(v.VMCS, r); err != nil {
			h.Kill(d, "refused: %v\n%s", err, h.dump(v))
			break
		}
		d.Stats.HostTicks += r.EntryTSC - now
		d.Stats.GuestTicks += r.ExitTSC - r.EntryTSC
		now = r.ExitTSC

		// Dispatch: the one table from exit reason to handler.
		reason := vmx.ExitReason(uint16(r.ExitReason))
		if int(reason) < len(exitHandlers) && exitHandlers[reason] != nil {
			d.Stats.Exits[reason]++
			exitHandlers[reason](h, v, reason)
		} else {
			h.dispatch(v)
		}
		if d.Budget != 0 && d.Stats.GuestTicks > d.Budget && d.State == DomainRunning {
			h.Kill(d, "stopped: it used its CPU budget of %d ms (preempted %d times)", d.Spec.BudgetMS, d.Stats.Preemptions)
		}
		if v.yield {
			v.yield = false
			break
		}
	}
	d.Stats.HostTicks += rdtsc() - now
}

// loadMSRs puts a vCPU's syscall MSRs in the CPU (the VMCS does not switch
// them). The host does not use them, so they stay until another vCPU runs.
func (h *Hypervisor) loadMSRs(v *VCPU) {
	m := &v.msrs
	x86.WriteMSR(msrSTAR, m.STAR)
	x86.WriteMSR(msrLSTAR, m.LSTAR)
	x86.WriteMSR(msrCSTAR, m.CSTAR)
	x86.WriteMSR(msrSFMASK, m.SFMASK)
	x86.WriteMSR(msrKernelGSBase, m.KernelGSBase)
	if h.CPU.Controls.Proc2&vmx.Proc2EnableRDTSCP != 0 {
		x86.WriteMSR(msrTSCAux, m.TSCAux)
	}
	v.msrsDirty = false
	h.loaded = v
}

// timerFired ends a vCPU's single-shot timer: VIRQ_TIMER if the domain bound
// it (public/xen.h), and the upcall in any case, which is how tamavisor's
// Go guests learn that their sleep is over.
func (h *Hypervisor) timerFired(v *VCPU) {
	v.Timer = 0
	v.polling = false
	dl, _ := h.Events.RaiseVIRQ(evtchn.DomID(v.Dom.ID), evtchn.VIRQTimer, v.ID)
	h.deliver(dl)
	v.UpcallPending = true
}
