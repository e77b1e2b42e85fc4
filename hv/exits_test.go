package hv

import (
	"fmt"
	"strings"
	"testing"

	"tamavisor/vmx"
)

func TestHLT(t *testing.T) {
	tests := []struct {
		name    string
		ifOn    bool
		timer   uint64
		upcall  bool
		state   VCPUState
		killed  bool
		blocked bool
	}{
		{name: "interrupts on", ifOn: true, state: VCPUBlocked},
		{name: "interrupts on, timer", ifOn: true, timer: 1000, state: VCPUBlocked},
		{name: "interrupts off, timer", timer: 1000, state: VCPUBlocked},
		{name: "interrupts off, no timer", state: VCPUStopped, killed: true},
		{name: "upcall pending", upcall: true, state: VCPURunnable},
		{name: "upcall pending, interrupts on", ifOn: true, upcall: true, state: VCPURunnable},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newTestVCPU(t, 4)
			e.setIF(tt.ifOn)
			e.v.Timer, e.v.UpcallPending = tt.timer, tt.upcall
			e.v.Regs.Intr = uint64(vmx.BlockingBySTI) // STI; HLT
			e.exit(vmx.ExitReasonHLT, 0)
			e.wantAdvanced(t)
			if e.v.Regs.Intr != 0 {
				t.Error("blocking by STI survived the HLT")
			}
			if e.v.State != tt.state {
				t.Errorf("vCPU %s, want %s", e.v.State, tt.state)
			}
			if tt.killed {
				e.wantKilled(t, "halted with interrupts disabled and no timer set", "can never wake", "rip ")
			} else {
				e.wantRunning(t)
			}
			if e.v.Timer != tt.timer || e.v.UpcallPending != tt.upcall {
				t.Error("HLT changed the timer or the pending upcall")
			}
		})
	}
}

// crQual is the exit qualification of a control-register access.
func crQual(cr int, typ vmx.CRAccessType, reg int) uint64 {
	return uint64(cr) | uint64(typ)<<4 | uint64(reg)<<8
}

func TestMovToCR0LongMode(t *testing.T) {
	e := newTestVCPU(t, 4)
	// The PVH entry path: CR4.PAE, EFER.LME, then CR0.PG.
	e.vmcs.WriteNat(vmx.GuestCR4, cr4PAE|cr4VMXE)
	e.vmcs.Write64(vmx.GuestIA32EFER, eferLME)
	val := uint64(cr0PG | cr0WP | cr0ET | cr0PE)
	e.v.Regs.GPR[vmx.RBX] = val
	e.exit(vmx.ExitReasonCRAccess, crQual(0, vmx.CRAccessMovTo, vmx.RBX))
	e.wantAdvanced(t)
	e.wantInjected(t, 0)
	if got := e.vmcs.ReadNat(vmx.CR0ReadShadow); got != val {
		t.Errorf("CR0 read shadow %#x, want the guest's %#x", got, val)
	}
	if got := e.vmcs.ReadNat(vmx.GuestCR0); got != val|cr0NE {
		t.Errorf("CR0 %#x, want %#x with NE (VMX-fixed)", got, val|cr0NE)
	}
	if got := e.vmcs.Read64(vmx.GuestIA32EFER); got != eferLME|eferLMA {
		t.Errorf("EFER %#x, want LME|LMA", got)
	}
	if c := e.vmcs.Read32(vmx.VMEntryControls); c&vmx.EntryIA32eModeGuest == 0 || e.v.entryCtls != c {
		t.Errorf("VM-entry controls %#x (vCPU %#x): IA-32e mode guest not set", c, e.v.entryCtls)
	}
	// And back out of long mode: paging off clears LMA and the control.
	e.v.Regs.RIP = testRIP
	e.v.Regs.GPR[vmx.RBX] = cr0PE | cr0ET
	e.exit(vmx.ExitReasonCRAccess, crQual(0, vmx.CRAccessMovTo, vmx.RBX))
	if got := e.vmcs.Read64(vmx.GuestIA32EFER); got != eferLME {
		t.Errorf("EFER %#x after paging off, want LME", got)
	}
	if c := e.vmcs.Read32(vmx.VMEntryControls); c&vmx.EntryIA32eModeGuest != 0 {
		t.Errorf("VM-entry controls %#x: IA-32e mode guest still set", c)
	}
	// Paging without LME is 32-bit paging: no long mode.
	e.vmcs.Write64(vmx.GuestIA32EFER, 0)
	e.v.Regs.GPR[vmx.RBX] = val
	e.exit(vmx.ExitReasonCRAccess, crQual(0, vmx.CRAccessMovTo, vmx.RBX))
	if got := e.vmcs.Read64(vmx.GuestIA32EFER); got != 0 || e.vmcs.Read32(vmx.VMEntryControls)&vmx.EntryIA32eModeGuest != 0 {
		t.Errorf("EFER %#x, entry controls %#x after paging on without LME", got, e.vmcs.Read32(vmx.VMEntryControls))
	}
	e.wantRunning(t)
}

func TestMovToCR0FromRSP(t *testing.T) {
	e := newTestVCPU(t, 4)
	e.vmcs.WriteNat(vmx.GuestRSP, cr0PE|cr0ET|cr0WP)
	e.v.Regs.GPR[vmx.RSP] = 0xbad // GuestRegs does not hold RSP
	e.exit(vmx.ExitReasonCRAccess, crQual(0, vmx.CRAccessMovTo, vmx.RSP))
	if got := e.vmcs.ReadNat(vmx.CR0ReadShadow); got != cr0PE|cr0ET|cr0WP {
		t.Errorf("CR0 read shadow %#x, want the value in GUEST_RSP", got)
	}
}

func TestMovToCR0Refused(t *testing.T) {
	tests := []struct {
		name string
		cr4  uint64
		efer uint64
		val  uint64
	}{
		{"long mode without PAE", cr4VMXE, eferLME, cr0PG | cr0PE},
		{"paging without protection", cr4PAE | cr4VMXE, 0, cr0PG},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newTestVCPU(t, 4)
			e.vmcs.WriteNat(vmx.GuestCR4, tt.cr4)
			e.vmcs.Write64(vmx.GuestIA32EFER, tt.efer)
			before := fmt.Sprint(e.vmcs)
			e.v.Regs.GPR[vmx.RAX] = tt.val
			e.exit(vmx.ExitReasonCRAccess, crQual(0, vmx.CRAccessMovTo, vmx.RAX))
			e.wantNotAdvanced(t)
			e.wantInjected(t, injectGP)
			delete(e.vmcs, uint32(vmx.VMEntryIntrInfoField))
			delete(e.vmcs, uint32(vmx.VMEntryExceptionErrorCode))
			if fmt.Sprint(e.vmcs) != before {
				t.Error("the refused MOV to CR0 changed the VMCS")
			}
			e.wantRunning(t)
		})
	}
}

func TestMovToCR4(t *testing.T) {
	e := newTestVCPU(t, 4)
	val := uint64(cr4PAE | cr4OSXSAVE | 1<<9 | 1<<10) // PAE, OSXSAVE, OSFXSR, OSXMMEXCPT
	e.v.Regs.GPR[vmx.R12] = val
	e.exit(vmx.ExitReasonCRAccess, crQual(4, vmx.CRAccessMovTo, vmx.R12))
	e.wantAdvanced(t)
	if got := e.vmcs.ReadNat(vmx.CR4ReadShadow); got != val {
		t.Errorf("CR4 read shadow %#x, want the guest's %#x", got, val)
	}
	if got := e.vmcs.ReadNat(vmx.GuestCR4); got != val|cr4VMXE {
		t.Errorf("CR4 %#x, want %#x: VMXE stays set in the real CR4", got, val|cr4VMXE)
	}
	// Setting VMXE: #GP, nothing changes.
	e.v.Regs.RIP, e.v.Regs.Dirty = testRIP, 0
	e.v.Regs.GPR[vmx.R12] = val | cr4VMXE
	e.exit(vmx.ExitReasonCRAccess, crQual(4, vmx.CRAccessMovTo, vmx.R12))
	e.wantNotAdvanced(t)
	e.wantInjected(t, injectGP)
	if got := e.vmcs.ReadNat(vmx.CR4ReadShadow); got != val {
		t.Errorf("CR4 read shadow %#x after the refused write", got)
	}
	e.wantRunning(t)
}

func TestCR8(t *testing.T) {
	e := newTestVCPU(t, 4)
	e.v.Regs.GPR[vmx.RAX] = 0x1f // only bits 3:0 exist
	e.exit(vmx.ExitReasonCRAccess, crQual(8, vmx.CRAccessMovTo, vmx.RAX))
	e.wantAdvanced(t)
	for _, reg := range []int{vmx.RDX, vmx.R15} {
		e.v.Regs.GPR[reg] = ^uint64(0)
		e.exit(vmx.ExitReasonCRAccess, crQual(8, vmx.CRAccessMovFrom, reg))
		if got := e.v.Regs.GPR[reg]; got != 0xf {
			t.Errorf("MOV %s, CR8 = %#x, want 0xf", vmx.GPRNames[reg], got)
		}
	}
	e.exit(vmx.ExitReasonCRAccess, crQual(8, vmx.CRAccessMovFrom, vmx.RSP))
	if got := e.vmcs.ReadNat(vmx.GuestRSP); got != 0xf {
		t.Errorf("MOV RSP, CR8: GUEST_RSP = %#x", got)
	}
	e.vmcs.WriteNat(vmx.GuestRSP, 3)
	e.exit(vmx.ExitReasonCRAccess, crQual(8, vmx.CRAccessMovTo, vmx.RSP))
	e.exit(vmx.ExitReasonCRAccess, crQual(8, vmx.CRAccessMovFrom, vmx.RCX))
	if got := e.v.Regs.GPR[vmx.RCX]; got != 3 {
		t.Errorf("CR8 = %#x after MOV CR8, RSP (3)", got)
	}
	if e.vmcs.Read32(vmx.VMEntryIntrInfoField) != 0 {
		t.Error("an event was injected")
	}
}

func TestLMSW(t *testing.T) {
	for _, tt := range []struct {
		old  uint64
		src  uint16
		want uint64
	}{
		{cr0PE | cr0ET, 0xe, cr0PE | cr0ET | 0xe},
		{cr0PE | cr0ET | 0xe, 0, cr0PE | cr0ET}, // clears MP, EM, TS but not PE
		{cr0ET, 1, cr0ET | cr0PE},
		{cr0PG | cr0PE | cr0ET, 0xfff0, cr0PG | cr0PE | cr0ET},
	} {
		e := newTestVCPU(t, 4)
		e.vmcs.WriteNat(vmx.CR0ReadShadow, tt.old)
		e.exit(vmx.ExitReasonCRAccess, uint64(vmx.CRAccessLMSW)<<4|uint64(tt.src)<<16)
		if got := e.vmcs.ReadNat(vmx.CR0ReadShadow); got != tt.want {
			t.Errorf("LMSW %#x on CR0 %#x: %#x, want %#x", tt.src, tt.old, got, tt.want)
		}
		if got := e.vmcs.ReadNat(vmx.GuestCR0); got != tt.want|cr0NE {
			t.Errorf("LMSW %#x on CR0 %#x: real CR0 %#x", tt.src, tt.old, got)
		}
		e.wantAdvanced(t)
	}
}

func TestCRAccessUnexpected(t *testing.T) {
	for _, q := range []uint64{
		uint64(vmx.CRAccessCLTS) << 4,
		crQual(3, vmx.CRAccessMovTo, vmx.RAX),
		crQual(0, vmx.CRAccessMovFrom, vmx.RAX),
	} {
		e := newTestVCPU(t, 4)
		e.exit(vmx.ExitReasonCRAccess, q)
		e.wantKilled(t, "unexpected control-register exit", vmx.DecodeCRAccess(q).String())
		e.wantNotAdvanced(t)
	}
}

func TestDRAccess(t *testing.T) {
	e := newTestVCPU(t, 4)
	e.v.Regs.GPR[vmx.RSI] = 0x400
	e.exit(vmx.ExitReasonDRAccess, 7|uint64(vmx.RSI)<<8) // MOV DR7, RSI
	e.wantAdvanced(t)
	e.exit(vmx.ExitReasonDRAccess, 7|1<<4|uint64(vmx.R9)<<8) // MOV R9, DR7
	if got := e.v.Regs.GPR[vmx.R9]; got != 0x400 {
		t.Errorf("DR7 = %#x", got)
	}
	e.exit(vmx.ExitReasonDRAccess, 0|uint64(vmx.RSP)<<8)
	e.wantKilled(t, "MOV DR with RSP")
}

// ioQual is the exit qualification of an I/O instruction.
func ioQual(port uint16, size int, in bool) uint64 {
	q := uint64(port) << 16
	q |= map[int]uint64{1: 0, 2: 1, 4: 3}[size]
	if in {
		q |= 1 << 3
	}
	return q
}

func (e *testEnv) outb(port uint16, size int, val uint64) {
	e.v.Regs.GPR[vmx.RAX] = val
	e.v.Regs.RIP, e.v.Regs.Dirty = testRIP, 0
	e.exit(vmx.ExitReasonIOInstruction, ioQual(port, size, false))
}

func TestCOM1Output(t *testing.T) {
	e := newTestVCPU(t, 4)
	for _, c := range []byte("hi\n") {
		e.outb(0x3f8, 1, 0xffff_ff00|uint64(c))
	}
	e.wantAdvanced(t)
	if got := e.lines("d1.test: "); len(got) != 1 || got[0] != "d1.test: hi" {
		t.Errorf("console %q", got)
	}
	// DLAB set: 0x3f8 is the divisor latch, not the transmitter.
	e.outb(0x3fb, 1, 0x83)
	e.outb(0x3f8, 1, 'x')
	e.outb(0x3f9, 1, 0)
	e.outb(0x3fb, 1, 0x03)
	for _, c := range []byte("ok\n") {
		e.outb(0x3f8, 1, uint64(c))
	}
	if got := e.lines("d1.test: "); len(got) != 2 || got[1] != "d1.test: ok" {
		t.Errorf("console %q", got)
	}
	// Other ports drop what is written.
	e.outb(0x2f8, 1, 'z')
	e.outb(0x80, 1, 'z')
	e.d.Console.Flush()
	if strings.Contains(e.console(), "z") || strings.Contains(e.console(), "x") {
		t.Errorf("console %q", e.console())
	}
	e.wantRunning(t)
}

func TestIN(t *testing.T) {
	const rax = 0x1122_3344_5566_7788
	tests := []struct {
		port uint16
		size int
		want uint64
	}{
		{0x3fd, 1, 0x1122_3344_5566_7760}, // COM1 LSR: THRE and TEMT
		{0x60, 1, 0x1122_3344_5566_77ff},
		{0x3f8, 1, 0x1122_3344_5566_77ff},
		{0x1f0, 2, 0x1122_3344_5566_ffff},
		// A 32-bit IN writes EAX, which zero-extends into RAX (SDM Vol. 1
		// 3.4.1.1).
		{0xcfc, 4, 0x0000_0000_ffff_ffff},
	}
	for _, tt := range tests {
		e := newTestVCPU(t, 4)
		e.v.Regs.GPR[vmx.RAX] = rax
		e.exit(vmx.ExitReasonIOInstruction, ioQual(tt.port, tt.size, true)|1<<6)
		if got := e.v.Regs.GPR[vmx.RAX]; got != tt.want {
			t.Errorf("IN %d bytes from %#x: RAX %#x, want %#x", tt.size, tt.port, got, tt.want)
		}
		e.wantAdvanced(t)
		e.wantRunning(t)
	}
}

func TestStringIOKills(t *testing.T) {
	for _, q := range []uint64{
		ioQual(0x3f8, 1, false) | 1<<4,        // OUTSB
		ioQual(0x3f8, 1, false) | 1<<4 | 1<<5, // REP OUTSB
		ioQual(0x1f0, 2, true) | 1<<4 | 1<<5,  // REP INSW
	} {
		e := newTestVCPU(t, 4)
		e.exit(vmx.ExitReasonIOInstruction, q)
		e.wantKilled(t, "string port I/O", vmx.DecodeIOInstruction(q).String(), "not emulated")
		e.wantNotAdvanced(t)
	}
}

func TestEPTViolation(t *testing.T) {
	e := newTestVCPU(t, 4)
	e.vmcs.Write64(vmx.GuestPhysicalAddress, 0x1234_5678)
	e.vmcs.WriteNat(vmx.GuestLinearAddress, 0x40_5678)
	e.v.Regs.GPR[vmx.RBX] = 0xdead_beef
	e.exit(vmx.ExitReasonEPTViolation, 1<<1|1<<7|1<<8) // write, linear valid, to the translation
	e.wantKilled(t, "EPT violation", "write to GPA 0x12345678", "not mapped", "linear address 0x405678",
		"4 MiB", fmt.Sprintf("rbx %#016x", 0xdeadbeef), fmt.Sprintf("rip %#016x", testRIP))
	if e.d.Stats.Exits[vmx.ExitReasonEPTViolation] != 1 {
		t.Error("the exit was not counted")
	}

	e = newTestVCPU(t, 4)
	e.vmcs.Write64(vmx.GuestPhysicalAddress, 0x3000)
	e.exit(vmx.ExitReasonEPTViolation, 1<<2|5<<3) // fetch, the EPT allowing r-x
	e.wantKilled(t, "fetch to GPA 0x3000", "allowed r-x")
}

func TestEPTMisconfig(t *testing.T) {
	e := newTestVCPU(t, 4)
	e.vmcs.Write64(vmx.GuestPhysicalAddress, 0x3000)
	e.exit(vmx.ExitReasonEPTMisconfig, 0)
	e.wantKilled(t, "EPT misconfiguration at GPA 0x3000", "a hypervisor bug")
}

func TestTripleFault(t *testing.T) {
	e := newTestVCPU(t, 4)
	for i := range e.v.Regs.GPR {
		e.v.Regs.GPR[i] = 0x1111 * uint64(i+1)
	}
	e.vmcs.WriteNat(vmx.GuestRSP, 0x7ff0)
	e.vmcs.WriteNat(vmx.GuestCR3, 0xabc000)
	e.exit(vmx.ExitReasonTripleFault, 0)
	e.wantKilled(t, "triple fault",
		fmt.Sprintf("rip %#016x", testRIP), fmt.Sprintf("rsp %#016x", 0x7ff0), fmt.Sprintf("rax %#016x", 0x1111),
		fmt.Sprintf("r15 %#016x", 0x11110), fmt.Sprintf("rsp %#016x rbp", 0x7ff0),
		"cr3 0xabc000", "instruction length 3")
	if strings.Contains(e.d.EndReason, fmt.Sprintf("%#016x", 0x5555)) {
		t.Error("the dump shows GuestRegs' RSP slot instead of GUEST_RSP")
	}
}

func TestDispatchUnhandled(t *testing.T) {
	tests := []struct {
		reason uint64
		want   []string
	}{
		{uint64(vmx.ExitReasonRDTSC), []string{"unhandled VM exit: RDTSC"}},
		{uint64(vmx.ExitReasonPAUSE), []string{"unhandled VM exit: PAUSE"}},
		{uint64(vmx.ExitReasonAPICAccess), []string{"unhandled VM exit"}},
		{200, []string{"unhandled VM exit: exit reason 200"}},
		{0xffff, []string{"unhandled VM exit"}},
		{uint64(vmx.ExitReasonTaskSwitch), []string{"task switch", "is not supported"}},
		{uint64(vmx.ExitReasonEntryFailInvalidGuestState) | 1<<31, []string{"VM entry failed", "invalid guest state (exit qualification 0: the guest state breaks the checks of SDM Vol. 3C 27.3.1)"}},
		{uint64(vmx.ExitReasonEntryFailInvalidGuestState) | 1<<31 | 4<<32, []string{"invalid guest state (exit qualification 4: the VMCS link pointer is invalid)"}},
		{uint64(vmx.ExitReasonEntryFailMSRLoading) | 1<<31 | 3<<32, []string{"MSR loading (exit qualification 3: entry 3 of the VM-entry MSR-load area could not be loaded)"}},
	}
	for _, tt := range tests {
		e := newTestVCPU(t, 4)
		e.v.Regs.ExitReason = tt.reason & 0xffff_ffff
		e.v.Regs.ExitQual = tt.reason >> 32 // the qualification rides in the upper half
		e.h.dispatch(e.v)
		e.wantKilled(t, append(tt.want, "rip ")...)
		if e.d.Stats.Total() != 1 {
			t.Errorf("exit %#x: %d exits counted", tt.reason, e.d.Stats.Total())
		}
	}
}

func TestExitsThatResume(t *testing.T) {
	for _, tt := range []struct {
		reason  vmx.ExitReason
		advance bool
	}{
		{vmx.ExitReasonExternalInterrupt, false},
		{vmx.ExitReasonINITSignal, false},
		{vmx.ExitReasonSIPI, false},
		{vmx.ExitReasonPreemptionTimer, false},
		{vmx.ExitReasonINVD, true},
		{vmx.ExitReasonWBINVD, true},
	} {
		e := newTestVCPU(t, 4)
		e.exit(tt.reason, 0)
		if tt.advance {
			e.wantAdvanced(t)
		} else {
			e.wantNotAdvanced(t)
		}
		e.wantInjected(t, 0)
		e.wantRunning(t)
		if e.v.State != VCPURunnable {
			t.Errorf("%s: vCPU %s", tt.reason, e.v.State)
		}
		if tt.reason == vmx.ExitReasonPreemptionTimer && e.d.Stats.Preemptions != 1 {
			t.Error("the preemption was not counted")
		}
		// Only an external interrupt is the host's to take.
		want := 0
		if tt.reason == vmx.ExitReasonExternalInterrupt {
			want = 1
		}
		if e.interrupts != want {
			t.Errorf("%s: the host took its interrupts %d times, want %d", tt.reason, e.interrupts, want)
		}
	}
}

func TestExceptionNMIExit(t *testing.T) {
	e := newTestVCPU(t, 4)
	e.vmcs.Write32(vmx.VMExitIntrInfo, vmx.MakeInterruptionInfo(vmx.VectorNMI, vmx.IntrTypeNMI, false))
	e.exit(vmx.ExitReasonExceptionNMI, 0)
	e.wantRunning(t)
	e.wantInjected(t, 0)

	e = newTestVCPU(t, 4)
	e.vmcs.Write32(vmx.VMExitIntrInfo, vmx.MakeInterruptionInfo(vmx.VectorPF, vmx.IntrTypeHardwareException, true))
	e.exit(vmx.ExitReasonExceptionNMI, 0)
	e.wantKilled(t, "unexpected exception exit", "#PF")
}

func TestGuestInstructionsRefused(t *testing.T) {
	ud := []vmx.ExitReason{
		vmx.ExitReasonGETSEC, vmx.ExitReasonVMCLEAR, vmx.ExitReasonVMLAUNCH, vmx.ExitReasonVMPTRLD,
		vmx.ExitReasonVMPTRST, vmx.ExitReasonVMREAD, vmx.ExitReasonVMRESUME, vmx.ExitReasonVMWRITE,
		vmx.ExitReasonVMXOFF, vmx.ExitReasonVMXON, vmx.ExitReasonINVEPT, vmx.ExitReasonINVVPID,
		vmx.ExitReasonVMFUNC, vmx.ExitReasonENCLS, vmx.ExitReasonMWAIT, vmx.ExitReasonMONITOR,
	}
	for _, r := range ud {
		e := newTestVCPU(t, 4)
		e.exit(r, 0)
		e.wantInjected(t, injectUD)
		e.wantNotAdvanced(t)
		e.wantRunning(t)
		if _, ok := e.vmcs[uint32(vmx.VMEntryExceptionErrorCode)]; ok {
			t.Errorf("%s: #UD with an error code", r)
		}
	}
	e := newTestVCPU(t, 4)
	e.exit(vmx.ExitReasonRDPMC, 0)
	e.wantInjected(t, injectGP)
	e.wantNotAdvanced(t)
}

func TestXSETBV(t *testing.T) {
	for _, tt := range []struct {
		xcr uint64
		val uint64
		ok  bool
	}{
		{0, testXCR0, true},
		{0, 0x3, false},
		{0, 0xe7, false},
		{1, testXCR0, false},
	} {
		e := newTestVCPU(t, 4)
		e.v.Regs.GPR[vmx.RCX] = tt.xcr
		e.v.Regs.GPR[vmx.RAX] = 0xffff_ffff_0000_0000 | tt.val&0xffff_ffff
		e.v.Regs.GPR[vmx.RDX] = tt.val >> 32
		e.exit(vmx.ExitReasonXSETBV, 0)
		if tt.ok {
			e.wantAdvanced(t)
			e.wantInjected(t, 0)
		} else {
			e.wantNotAdvanced(t)
			e.wantInjected(t, injectGP)
		}
	}
	// A CPU without XSAVE: XSETBV always faults.
	e := newTestVCPU(t, 4)
	e.h.CPU.XSaveMask = 0
	e.exit(vmx.ExitReasonXSETBV, 0)
	e.wantInjected(t, injectGP)
}

func TestDeliverUpcall(t *testing.T) {
	const window = vmx.ProcInterruptWindowExiting
	ext := func(v uint8) uint32 { return 1<<31 | uint32(v) } // valid, external interrupt

	e := newTestVCPU(t, 4)
	e.d.CallbackVector = 0xf3
	e.v.UpcallPending = true
	ctl := e.v.procCtls
	if ctl&window != 0 {
		t.Fatal("interrupt-window exiting on from the start")
	}

	// Interrupts off: wait for the window.
	e.v.deliverUpcall()
	e.wantInjected(t, 0)
	if e.vmcs.Read32(vmx.CPUBasedVMExecControl) != ctl|window || e.v.procCtls != ctl|window || !e.v.UpcallPending {
		t.Fatalf("IF=0: controls %#x, pending %v: want interrupt-window exiting", e.v.procCtls, e.v.UpcallPending)
	}
	// Interrupts on, but in the STI shadow: still wait.
	e.setIF(true)
	e.v.Regs.Intr = uint64(vmx.BlockingBySTI)
	e.v.deliverUpcall()
	e.wantInjected(t, 0)
	if !e.v.UpcallPending {
		t.Fatal("injected in the STI shadow")
	}
	// The window opens.
	e.v.Regs.Intr = 0
	e.exit(vmx.ExitReasonInterruptWindow, 0)
	if e.vmcs.Read32(vmx.CPUBasedVMExecControl) != ctl || e.v.procCtls != ctl {
		t.Errorf("after the interrupt-window exit: controls %#x, want %#x", e.v.procCtls, ctl)
	}
	e.wantNotAdvanced(t)
	e.v.deliverUpcall()
	e.wantInjected(t, ext(0xf3))
	if e.v.UpcallPending {
		t.Error("still pending after injection")
	}

	// Injected at once when the guest can take it, and the window exit
	// requested earlier is turned off.
	e = newTestVCPU(t, 4)
	e.d.CallbackVector = 0x40
	e.v.UpcallPending = true
	e.setIF(true)
	e.v.setProcCtls(e.v.procCtls | window)
	e.v.deliverUpcall()
	e.wantInjected(t, ext(0x40))
	if e.v.procCtls&window != 0 || e.vmcs.Read32(vmx.CPUBasedVMExecControl)&window != 0 {
		t.Error("interrupt-window exiting left on")
	}

	// Nothing without a pending upcall or a registered vector.
	for _, tt := range []struct {
		vector  uint8
		pending bool
	}{{0xf3, false}, {0, true}} {
		e = newTestVCPU(t, 4)
		e.setIF(true)
		e.d.CallbackVector, e.v.UpcallPending = tt.vector, tt.pending
		e.v.deliverUpcall()
		e.wantInjected(t, 0)
		if e.v.procCtls&window != 0 {
			t.Errorf("vector %#x pending %v: interrupt window requested", tt.vector, tt.pending)
		}
	}
}
