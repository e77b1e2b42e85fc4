package x86

import (
	"errors"
	"fmt"
)

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
	lapicICRLow   = 0x300 // interrupt command register, bits 31:0 (SDM Vol. 3A 11.6.1)

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
// TSC-deadline interrupts on WakeVector, whose handler HandleInterrupts
// installed (call it first). It fails when the CPU lacks the mode or the
// local APIC is disabled or in x2APIC mode; the caller then polls instead of
// halting.
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
	if lapicEOI == 0 {
		return nil, errors.New("no handler for the timer's interrupt: HandleInterrupts has not run")
	}
	t := &DeadlineTimer{base: uintptr(lapicBase)}
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

// TakeInterrupts lets the CPU deliver the interrupts pending for it, with
// the timer as a backstop: it arms the timer for now, then halts with
// interrupts on (STI; HLT: the pending interrupts and the timer's wake
// it), then disarms. Unlike the package's TakeInterrupts it does not
// depend on an emulator delivering interrupts in STI's one-instruction
// window (Bochs delivers them at the HLT).
func (t *DeadlineTimer) TakeInterrupts() { t.HaltUntil(RDTSC()) }

// lapicEOI is the address of the local APIC's EOI register, which
// wakeInterrupt writes (0: not in xAPIC mode); lapicX2 says the local APIC
// is in x2APIC mode, where the EOI register is an MSR.
var (
	lapicEOI uint64
	lapicX2  bool
)

// lapicBase is the local APIC's MMIO base in xAPIC mode (HandleInterrupts).
var lapicBase uint64

// SelfIPI sends this CPU an interrupt on vector (SDM Vol. 3A 11.6.1: the
// ICR with the "self" destination shorthand, 01b in bits 19:18, fixed
// delivery; in x2APIC mode the SELF IPI register, MSR 0x83F, 11.12.11).
// With interrupts off it waits in the local APIC until they are taken.
func SelfIPI(vector uint8) error {
	switch {
	case lapicX2:
		WriteMSR(0x83f, uint64(vector))
	case lapicBase != 0:
		(&DeadlineTimer{base: uintptr(lapicBase)}).write(lapicICRLow, uint32(vector)|1<<18)
	default:
		return errors.New("no local APIC is enabled")
	}
	return nil
}

// interrupts counts the interrupts wakeInterrupt handled.
var interrupts uint64

// Interrupts returns how many interrupts the host has taken.
func Interrupts() uint64 { return interrupts }

// TakeInterrupts lets the CPU deliver the interrupts pending for it, then
// masks them again. After an external-interrupt VM exit without
// "acknowledge interrupt on exit" the interrupt still waits in the local
// APIC (SDM Vol. 3C 28.2.2): the host must take it through its IDT, or it
// ends the next VM entry at once.
func TakeInterrupts()

// HandleInterrupts points every interrupt vector (32-255) of this CPU's IDT
// at wakeInterrupt, which acknowledges the interrupt to the local APIC: no
// interrupt the host is sent can fault on an empty gate or stay in service.
func HandleInterrupts() error {
	switch base := ReadMSR(msrAPICBase); {
	case base&apicBaseEnable == 0:
	case base&apicBaseX2APIC != 0:
		lapicX2 = true
	default:
		lapicBase = base &^ 0xfff & (1<<52 - 1)
		lapicEOI = lapicBase + lapicEOIReg
	}
	for v := 32; v < 256; v++ {
		if err := setGate(v, wakeInterruptAddr()); err != nil {
			return err
		}
	}
	return nil
}

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
		return fmt.Errorf("the IDT has no room for vector %d", vector)
	}
	cs, _, _, _, _, _ := Segments()
	lo := handler&0xffff | uint64(cs)<<16 | uint64(0x8e)<<40 | (handler>>16&0xffff)<<48 // P=1, DPL 0, type 0xE
	hi := handler >> 32
	writeGate(base+uint64(vector)*16, lo, hi)
	return nil
}
