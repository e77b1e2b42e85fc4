package x86

import "errors"

// The local APIC's timer in TSC-deadline mode wakes a halted CPU at a TSC
// value (SDM Vol. 3A 11.5.4.1 "TSC-Deadline Mode"). The hypervisor uses it to
// halt when no vCPU can run, until the earliest vCPU timer.
const (
	msrAPICBase    = 0x1b  // IA32_APIC_BASE (SDM Vol. 3A 11.4.4)
	msrTSCDeadline = 0x6e0 // IA32_TSC_DEADLINE (SDM Vol. 3A 11.5.4.1)

	apicBaseEnable = 1 << 11 // APIC global enable
	apicBaseX2APIC = 1 << 10 // x2APIC mode: no MMIO registers

	lapicSVR      = 0x0f0 // spurious-interrupt vector register (SDM Vol. 3A 11.9)
	lapicLVTTimer = 0x320 // LVT timer register (SDM Vol. 3A 11.5.1)
	lapicEOIReg   = 0x0b0 // end-of-interrupt register (SDM Vol. 3A 11.8.5)

	svrEnable         = 1 << 8  // APIC software enable
	lvtTimerDeadline  = 2 << 17 // timer mode 10b: TSC-deadline
	cpuid1TSCDeadline = 1 << 24 // CPUID.01H:ECX[24]
)

// WakeVector is the vector of the deadline timer's interrupt. Its handler
// (wakeInterrupt) only signals end-of-interrupt and returns: the interrupt
// exists to end a HLT.
const WakeVector = 0xf0

// DeadlineTimer is the local APIC timer, armed in TSC-deadline mode.
type DeadlineTimer struct {
	base uintptr // the local APIC's MMIO base
}

// NewDeadlineTimer programs the local APIC timer of this CPU for
// TSC-deadline interrupts on WakeVector. It fails when the CPU lacks the
// mode or the local APIC is disabled or in x2APIC mode; the caller then
// polls instead of halting.
func NewDeadlineTimer() (*DeadlineTimer, error) {
	if _, _, ecx, _ := CPUID(1, 0); ecx&cpuid1TSCDeadline == 0 {
		return nil, errors.New("the CPU has no TSC-deadline timer (CPUID.01H:ECX[24])")
	}
	base := ReadMSR(msrAPICBase)
	switch {
	case base&apicBaseEnable == 0:
		return nil, errors.New("the local APIC is disabled (IA32_APIC_BASE[11])")
	case base&apicBaseX2APIC != 0:
		return nil, errors.New("the local APIC is in x2APIC mode, which this timer does not drive")
	}
	t := &DeadlineTimer{base: uintptr(base &^ 0xfff & (1<<52 - 1))}
	if err := setGate(WakeVector, wakeInterruptAddr()); err != nil {
		return nil, err
	}
	lapicEOI = uint64(t.base) + lapicEOIReg
	t.write(lapicSVR, t.read(lapicSVR)|svrEnable)
	// SDM Vol. 3A 11.5.4.1: the mode is set before IA32_TSC_DEADLINE is
	// written; the timer is disarmed until then.
	t.write(lapicLVTTimer, WakeVector|lvtTimerDeadline)
	WriteMSR(msrTSCDeadline, 0)
	return t, nil
}

// HaltUntil halts until the TSC reaches deadline (or another interrupt
// arrives), then disarms the timer. A deadline already past fires at once.
func (t *DeadlineTimer) HaltUntil(deadline uint64) {
	WriteMSR(msrTSCDeadline, max(deadline, 1))
	WaitInterrupt()
	WriteMSR(msrTSCDeadline, 0)
}

// lapicEOI is the address of the local APIC's EOI register, which
// wakeInterrupt writes.
var lapicEOI uint64

// wakeInterrupt is the handler of WakeVector: it writes the local APIC's
// EOI register and returns (IRETQ).
func wakeInterrupt()

// wakeInterruptAddr returns wakeInterrupt's address, for its IDT gate.
func wakeInterruptAddr() uint64

// setGate installs a 64-bit interrupt gate for vector in the IDT this CPU
// uses (SIDT): handler in the current code segment, DPL 0, no IST (SDM Vol.
// 3A 6.14.1 "64-Bit Mode IDT", figure 6-8).
func setGate(vector int, handler uint64) error {
	base, limit := SIDT()
	if uint64(limit) < uint64(vector)*16+15 {
		return errors.New("the IDT has no room for the wake-up vector")
	}
	cs, _, _, _, _, _ := Segments()
	lo := handler&0xffff | uint64(cs)<<16 | uint64(0x8e)<<40 | (handler>>16&0xffff)<<48 // P=1, DPL 0, type 0xE
	hi := handler >> 32
	writeGate(base+uint64(vector)*16, lo, hi)
	return nil
}
