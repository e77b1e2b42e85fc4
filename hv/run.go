package hv

import (
	"tamavisor/hv/evtchn"
	"tamavisor/hv/sched"
	"tamavisor/vmx"
	"tamavisor/x86"
)

// consolePollNanos is how long an idle CPU waits at most before it looks
// for console input again.
const consolePollNanos = 20_000_000

// pumpNanos is how often the UART is fed while console bytes wait: a
// 16-byte transmit FIFO empties in 1.4 ms at 115,200 baud. Between feeds
// the exit path only compares the TSC.
const pumpNanos = 500_000

// pumpConsole feeds the serial line from the console's queue, once per
// pumpNanos at most, and wakes the vCPUs whose console_io write now fits
// (consoleFits); each makes its call again.
func (h *Hypervisor) pumpConsole(now uint64) {
	if h.Console.Queued() == 0 && h.consoleWaiters == 0 || now < h.nextPump {
		return
	}
	h.nextPump = now + h.pumpTicks
	h.Console.Pump()
	if h.consoleWaiters == 0 {
		return
	}
	h.consoleWaiters = 0
	for _, d := range h.domains {
		if v := d.VCPU; v != nil && v.consoleWait {
			if h.consoleFits(d, v.consoleNeed) {
				h.wake(v) // clears consoleWait
			} else {
				h.consoleWaiters++
			}
		}
	}
}

// cpu is the physical CPU the run loop schedules: the boot processor. With
// SMP each CPU runs the loop with its own index (hv/sched keeps a run queue
// per CPU).
const cpu = 0

// Run schedules the domains on this CPU until every one has ended. The
// credit scheduler (hv/sched) picks a vCPU and its slice, which the VMX
// preemption timer enforces; a vCPU that halts or blocks leaves the CPU
// until an event or its timer; when nothing can run, the CPU idles (Idle)
// until the earliest timer.
func (h *Hypervisor) Run() {
	for {
		h.reap()
		if len(h.domains) == 0 {
			return
		}
		now := rdtsc()
		h.pumpConsole(now)
		h.pollConsole(now)
		earliest := h.fireTimers(now)
		sid, slice, ok := h.Sched.Pick(cpu, now)
		if !ok {
			until := earliest
			if slice != 0 && (until == 0 || now+slice < until) {
				until = now + slice // a capped domain waits for the next period
			}
			if h.Console.Queued() > 0 || h.consoleWaiters > 0 {
				// The UART takes the next bytes, or a vCPU waiting for
				// room in the queue may go on: never a stall.
				next := max(h.nextPump, now+1)
				if until == 0 || next < until {
					until = next
				}
			}
			if until == 0 {
				h.stalled()
				continue
			}
			if h.ConsoleIn != nil {
				// Console input raises no interrupt: look again soon.
				until = min(until, now+h.Clock.Ticks(consolePollNanos))
			}
			h.Stats.IdleEntries++
			h.Idle(until)
			h.Stats.IdleTicks += rdtsc() - now
			continue
		}
		v := h.vcpus[sid]
		if v == nil || v.State != VCPURunnable || v.Dom.State != DomainRunning {
			// The scheduler and the vCPU disagree: hold it off rather
			// than run it (cannot happen unless a state change missed
			// the scheduler).
			h.Sched.Pause(sid)
			h.Sched.Charge(cpu, sid, 0, now)
			if v != nil {
				h.Log.Printf("%s: scheduler picked it while %s; held off", v.Dom.Label(), v.State)
			}
			continue
		}
		h.Stats.Switches++
		start := rdtsc()
		h.runSlice(v, slice)
		end := rdtsc()
		h.Sched.Charge(cpu, sid, end-start, end)
	}
}

// fireTimers ends the expired timers of blocked vCPUs, waking them, and
// returns the earliest timer still pending (0: none). A blocked vCPU has two:
// its single-shot timer, whose expiry raises VIRQ_TIMER, and the timeout of
// the SCHEDOP_poll it blocked in, whose expiry only wakes it (Xen keeps them
// apart: v->singleshot_timer and v->poll_timer).
func (h *Hypervisor) fireTimers(now uint64) (earliest uint64) {
	next := func(t uint64) {
		if t != 0 && (earliest == 0 || t < earliest) {
			earliest = t
		}
	}
	for _, d := range h.domains {
		v := d.VCPU
		if v == nil || v.State != VCPUBlocked {
			continue
		}
		if v.Timer != 0 && v.Timer <= now {
			h.timerFired(v)
			h.wake(v)
			continue
		}
		if v.pollDeadline != 0 && v.pollDeadline <= now {
			h.wake(v)
			continue
		}
		next(v.Timer)
		next(v.pollDeadline)
	}
	return earliest
}

// stalled ends the domains when none can run and nothing can wake one: every
// vCPU waits for an event no domain is left to send, or is paused with no
// domain left to unpause it.
func (h *Hypervisor) stalled() {
	for _, d := range h.domains {
		if d.Paused {
			h.Kill(d, "paused, and no domain is left that could unpause it")
		} else {
			h.Kill(d, "blocked with no timer and no event to wait for: it can never wake")
		}
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

// block takes a vCPU off the CPU until an event or its timer (HLT,
// SCHEDOP_block, SCHEDOP_poll).
func (h *Hypervisor) block(v *VCPU) {
	v.State = VCPUBlocked
	h.Sched.Block(v.sid, 0)
}

// wake makes a blocked vCPU runnable. When the scheduler says it should
// preempt the vCPU that is running (it woke with credit and is boosted, as
// Xen's credit scheduler does for I/O-bound domains), the running slice
// ends at its next exit.
func (h *Hypervisor) wake(v *VCPU) {
	if v.State != VCPUBlocked {
		return
	}
	v.State = VCPURunnable
	v.polling, v.pollDeadline = false, 0
	v.consoleWait = false // it makes its console_io call again
	if h.Sched.Wake(v.sid, rdtsc()) && h.running != nil && h.running != v {
		h.preempt = true
	}
}

// pause holds a domain's vCPU off the CPU (domain control, or its end).
func (h *Hypervisor) pause(d *Domain) {
	if d.VCPU != nil {
		h.Sched.Pause(d.VCPU.sid)
	}
}

// unpause lets a paused domain's vCPU run again.
func (h *Hypervisor) unpause(d *Domain) {
	if d.VCPU != nil && d.State == DomainRunning && h.Sched.Unpause(d.VCPU.sid) && h.running != nil {
		h.preempt = true
	}
}

// runSlice runs a vCPU until its slice ends, it blocks or yields, a woken
// vCPU preempts it, or its domain ends.
func (h *Hypervisor) runSlice(v *VCPU, slice uint64) {
	d := v.Dom
	if h.loaded != v {
		h.loadMSRs(v)
	}
	h.running = v
	defer func() { h.running = nil }()
	r := &v.Regs
	start := rdtsc()
	sliceEnd := start + slice
	shift := r.TimerShift // set once, by vmx.Processor.Regs
	now := start
	// The loop is the exit path's Go half: it takes the TSC readings the
	// assembly made at entry and exit rather than reading the TSC again.
	for v.State == VCPURunnable && d.State == DomainRunning {
		// The vCPU's VMCS must be current before the upcall step reads
		// and writes it: another vCPU ran last, or an exit handler made
		// another VMCS current (domain creation sets up the new
		// domain's).
		if h.current != v {
			if err := v.VMCS.Load(); err != nil {
				h.Kill(d, "%v", err)
				break
			}
			h.current = v
		}
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
		if h.Console.Queued() > 0 || h.consoleWaiters > 0 {
			// Feed the UART and wake its waiters when it is due, and
			// come back for it.
			if now >= h.nextPump {
				h.pumpConsole(now)
			}
			end = min(end, h.nextPump)
		}
		if end <= now {
			break
		}
		r.Timer = (end - now) >> shift
		r.Deadline = end // the fast paths re-arm the timer from it
		if r.Timer > 0xffff_ffff {
			r.Timer, r.Deadline = 0xffff_ffff, 0 // no fast path: Go re-arms it
		}
		if v.msrsDirty {
			h.loadMSRs(v)
		}
		if st := vmx.Run(v.VMCS, r); st != vmx.VMsucceed {
			err := v.VMCS.EntryFailure(r, st)
			// Exits a fast path answered before its VMRESUME failed
			// count; their time counts as the hypervisor's.
			r.FastGuestTicks = 0
			d.Stats.takeFast(r)
			h.Kill(d, "refused: %v\n%s", err, h.dump(v))
			break
		}
		// The exits the assembly answered (vmx.GuestRegs.Fast) count as
		// exits, their guest time as guest time.
		guest := r.ExitTSC - r.EntryTSC + r.FastGuestTicks
		d.Stats.GuestTicks += guest
		d.Stats.HostTicks += r.ExitTSC - now - guest
		if r.Fast() != 0 {
			r.FastGuestTicks = 0
			d.Stats.takeFast(r)
		}
		now = r.ExitTSC

		h.dispatch(v)
		if d.Budget != 0 && d.Stats.GuestTicks > d.Budget && d.State == DomainRunning {
			h.Kill(d, "stopped: it used its CPU budget of %d ms (preempted %d times)", d.Spec.BudgetMS, d.Stats.Preemptions)
		}
		if v.yield || h.preempt {
			v.yield, h.preempt = false, false
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

// schedID names a domain's vCPU to the scheduler: domain id and vCPU id.
func schedID(d *Domain, vcpu uint32) sched.VCPUID {
	return sched.VCPUID(uint32(d.ID)<<16 | vcpu&0xffff)
}

// pollIdle waits for a TSC deadline by spinning: the idle loop where the
// local APIC's deadline timer is unavailable.
func pollIdle(until uint64) {
	for rdtsc() < until {
		x86.Pause()
	}
}
