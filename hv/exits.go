package hv

import (
	"errors"
	"fmt"
	"strings"

	"tamavisor/ept"
	"tamavisor/vmx"
	"tamavisor/xen"
)

// An exit handler deals with one VM exit of a vCPU. It may advance the
// guest, inject an event, block the vCPU, end the slice, or kill the domain.
type exitHandler func(h *Hypervisor, v *VCPU, reason vmx.ExitReason)

// exitHandlers is the one table from exit reason to handler. A reason
// without a handler ends the domain with a register dump.
var exitHandlers [vmx.NumExitReasons]exitHandler

func init() {
	t := &exitHandlers
	t[vmx.ExitReasonExceptionNMI] = handleExceptionNMI
	t[vmx.ExitReasonExternalInterrupt] = handleExternalInterrupt
	t[vmx.ExitReasonTripleFault] = handleTripleFault
	t[vmx.ExitReasonINITSignal] = handleIgnore
	t[vmx.ExitReasonSIPI] = handleIgnore
	t[vmx.ExitReasonInterruptWindow] = handleInterruptWindow
	t[vmx.ExitReasonTaskSwitch] = handleUnsupported
	t[vmx.ExitReasonCPUID] = handleCPUID
	t[vmx.ExitReasonHLT] = handleHLT
	t[vmx.ExitReasonINVD] = handleSkip
	t[vmx.ExitReasonWBINVD] = handleSkip
	t[vmx.ExitReasonRDPMC] = handleGP
	t[vmx.ExitReasonVMCALL] = handleVMCALL
	t[vmx.ExitReasonCRAccess] = handleCRAccess
	t[vmx.ExitReasonDRAccess] = handleDRAccess
	t[vmx.ExitReasonIOInstruction] = handleIO
	t[vmx.ExitReasonRDMSR] = handleRDMSR
	t[vmx.ExitReasonWRMSR] = handleWRMSR
	t[vmx.ExitReasonEntryFailInvalidGuestState] = handleEntryFailure
	t[vmx.ExitReasonEntryFailMSRLoading] = handleEntryFailure
	t[vmx.ExitReasonEntryFailMachineCheck] = handleEntryFailure
	t[vmx.ExitReasonEPTViolation] = handleEPTViolation
	t[vmx.ExitReasonEPTMisconfig] = handleEPTMisconfig
	t[vmx.ExitReasonPreemptionTimer] = handlePreemptionTimer
	t[vmx.ExitReasonXSETBV] = handleXSETBV
	// Instructions a guest may not use: VMX, SMX, SGX, MONITOR/MWAIT.
	for _, r := range []vmx.ExitReason{
		vmx.ExitReasonGETSEC, vmx.ExitReasonVMCLEAR, vmx.ExitReasonVMLAUNCH, vmx.ExitReasonVMPTRLD,
		vmx.ExitReasonVMPTRST, vmx.ExitReasonVMREAD, vmx.ExitReasonVMRESUME, vmx.ExitReasonVMWRITE,
		vmx.ExitReasonVMXOFF, vmx.ExitReasonVMXON, vmx.ExitReasonINVEPT, vmx.ExitReasonINVVPID,
		vmx.ExitReasonVMFUNC, vmx.ExitReasonENCLS, vmx.ExitReasonMWAIT, vmx.ExitReasonMONITOR,
	} {
		t[r] = handleUD
	}
}

// dispatch handles the exit the exit path recorded in v.Regs: the one table
// from basic exit reason (bits 15:0 of the exit reason, SDM Vol. 3C 28.2.1;
// bit 31 marks a failed VM entry) to handler.
func (h *Hypervisor) dispatch(v *VCPU) {
	reason := vmx.ExitReason(uint16(v.Regs.ExitReason))
	if int(reason) < len(exitHandlers) && exitHandlers[reason] != nil {
		v.Dom.Stats.Exits[reason]++
		exitHandlers[reason](h, v, reason)
		return
	}
	h.unhandled(v, reason)
}

// unhandled ends a domain whose exit has no handler, with a register dump.
func (h *Hypervisor) unhandled(v *VCPU, reason vmx.ExitReason) {
	v.Dom.Stats.Count(reason)
	h.Kill(v.Dom, "unhandled VM exit: %s\n%s", vmx.DecodeExitInfo(uint32(v.Regs.ExitReason)), h.dump(v))
}

// dump formats a vCPU's registers for a report.
func (h *Hypervisor) dump(v *VCPU) string {
	s := v.vmcs
	var b strings.Builder
	fmt.Fprintf(&b, "  rip %#016x rsp %#016x rflags %#x\n", v.Regs.RIP, s.ReadNat(vmx.GuestRSP), s.ReadNat(vmx.GuestRFLAGS))
	for i := 0; i < 16; i += 4 {
		b.WriteString(" ")
		for j := i; j < i+4; j++ {
			r := v.Regs.GPR[j]
			if j == vmx.RSP {
				r = s.ReadNat(vmx.GuestRSP)
			}
			fmt.Fprintf(&b, " %-3s %#016x", vmx.GPRNames[j], r)
		}
		b.WriteString("\n")
	}
	fmt.Fprintf(&b, "  cr0 %#x cr3 %#x cr4 %#x efer %#x cs %#x (ar %#x) ss %#x (ar %#x)\n",
		s.ReadNat(vmx.GuestCR0), s.ReadNat(vmx.GuestCR3), s.ReadNat(vmx.GuestCR4), s.Read64(vmx.GuestIA32EFER),
		s.Read16(vmx.GuestCSSelector), s.Read32(vmx.GuestCSAccessRights), s.Read16(vmx.GuestSSSelector), s.Read32(vmx.GuestSSAccessRights))
	fmt.Fprintf(&b, "  exit qualification %#x, instruction length %d, interruptibility %#x, activity %d, IDT vectoring %#x",
		v.Regs.ExitQual, v.Regs.InsnLen, v.Regs.Intr,
		s.Read32(vmx.GuestActivityState), s.Read32(vmx.IDTVectoringInfoField))
	return b.String()
}

func handleIgnore(h *Hypervisor, v *VCPU, r vmx.ExitReason) {}

func handleSkip(h *Hypervisor, v *VCPU, r vmx.ExitReason) { v.advance() }

func handleUD(h *Hypervisor, v *VCPU, r vmx.ExitReason) { v.inject(vmx.VectorUD) }

func handleGP(h *Hypervisor, v *VCPU, r vmx.ExitReason) { v.inject(vmx.VectorGP) }

func handleUnsupported(h *Hypervisor, v *VCPU, r vmx.ExitReason) {
	h.Kill(v.Dom, "%s is not supported\n%s", r, h.dump(v))
}

// handleExceptionNMI: the exception bitmap is empty, so this is an NMI that
// arrived while the guest ran (NMI exiting). The host has nothing to do
// with NMIs; it is counted and the guest resumes.
func handleExceptionNMI(h *Hypervisor, v *VCPU, r vmx.ExitReason) {
	info := vmx.DecodeInterruptionInfo(v.vmcs.Read32(vmx.VMExitIntrInfo))
	if info.Type != vmx.IntrTypeNMI {
		h.Kill(v.Dom, "unexpected exception exit: %s\n%s", info, h.dump(v))
	}
}

// handleExternalInterrupt: the interrupt is the host's. Without
// "acknowledge interrupt on exit" it still waits in the local APIC (SDM Vol.
// 3C 28.2.2), and would end the next VM entry at once: the host takes it
// through its IDT (x86.HandleInterrupts gives every vector a handler). Few
// are expected: the 8259s are masked, and the local APIC's timer runs only
// while the CPU idles.
func handleExternalInterrupt(h *Hypervisor, v *VCPU, r vmx.ExitReason) {
	h.TakeInterrupts()
}

func handleTripleFault(h *Hypervisor, v *VCPU, r vmx.ExitReason) {
	h.Kill(v.Dom, "triple fault: the guest hit an exception it could not deliver\n%s", h.dump(v))
}

func handleInterruptWindow(h *Hypervisor, v *VCPU, r vmx.ExitReason) {
	v.setProcCtls(v.procCtls &^ vmx.ProcInterruptWindowExiting)
}

// handleCPUID answers CPUID from the filtered view (GuestCPUID), through a
// small per-vCPU cache: guests ask the same few leaves again and again, and
// the exit path in assembly answers the cached ones without coming here
// (vmx.CPUIDCache).
func handleCPUID(h *Hypervisor, v *VCPU, r vmx.ExitReason) {
	leaf, sub := uint32(v.Regs.GPR[vmx.RAX]), uint32(v.Regs.GPR[vmx.RCX])
	out, ok := v.Regs.CPUIDCache.Get(leaf, sub)
	if !ok {
		view := h.cpuidView
		view.APICID = v.ID
		if leaf == 1 { // only leaf 1 mirrors the guest's CR4.OSXSAVE: never cached
			view.OSXSAVE = v.vmcs.ReadNat(vmx.GuestCR4)&(1<<18) != 0
		}
		out = GuestCPUID(leaf, sub, h.cpuid, view)
		if leaf != 1 {
			v.Regs.CPUIDCache.Put(leaf, sub, out)
		}
	}
	g := &v.Regs.GPR
	g[vmx.RAX], g[vmx.RBX], g[vmx.RCX], g[vmx.RDX] = uint64(out[0]), uint64(out[1]), uint64(out[2]), uint64(out[3])
	v.advance()
}

// handleHLT blocks the vCPU until its timer or an upcall. A guest that
// halts with interrupts off and no timer can never wake: it is ended.
func handleHLT(h *Hypervisor, v *VCPU, r vmx.ExitReason) {
	v.advance()
	if v.UpcallPending {
		return
	}
	if v.Timer == 0 && v.Regs.RFLAGS&rflagsIF == 0 {
		h.Kill(v.Dom, "halted with interrupts disabled and no timer set: it can never wake\n%s", h.dump(v))
		return
	}
	h.block(v)
}

func handlePreemptionTimer(h *Hypervisor, v *VCPU, r vmx.ExitReason) {
	v.Dom.Stats.Preemptions++
}

func handleEntryFailure(h *Hypervisor, v *VCPU, r vmx.ExitReason) {
	q := v.Regs.ExitQual
	h.Kill(v.Dom, "refused: VM entry failed: %s (exit qualification %d: %s)\n%s", r, q, vmx.EntryFailureCause(r, q), h.dump(v))
}

func handleEPTViolation(h *Hypervisor, v *VCPU, r vmx.ExitReason) {
	q := v.Regs.ExitQual
	gpa := v.vmcs.Read64(vmx.GuestPhysicalAddress)
	gla := v.vmcs.ReadNat(vmx.GuestLinearAddress)
	viol := ept.DecodeViolation(q)
	h.Kill(v.Dom, "EPT violation: %s (outside the domain's %d MiB, or not allowed there)\n%s",
		viol.Describe(gpa, gla), v.Dom.MemSize>>20, h.dump(v))
}

func handleEPTMisconfig(h *Hypervisor, v *VCPU, r vmx.ExitReason) {
	gpa := v.vmcs.Read64(vmx.GuestPhysicalAddress)
	h.Kill(v.Dom, "EPT misconfiguration at GPA 0x%x: %v (a hypervisor bug)\n%s", gpa, v.Dom.EPT.Check(gpa), h.dump(v))
}

// handleCRAccess emulates the control-register accesses that exit: writes
// to the CR0 and CR4 bits the hypervisor owns, and CR8.
func handleCRAccess(h *Hypervisor, v *VCPU, r vmx.ExitReason) {
	q := vmx.DecodeCRAccess(v.Regs.ExitQual)
	s := v.vmcs
	gpr := func() uint64 {
		if q.Reg == vmx.RSP {
			return s.ReadNat(vmx.GuestRSP)
		}
		return v.Regs.GPR[q.Reg]
	}
	switch {
	case q.Type == vmx.CRAccessMovTo && q.CR == 0:
		val := gpr()
		// Reserved bits, NW without CD, PG without PE: #GP (SDM Vol. 2A
		// "MOV—Move to/from Control Registers", Vol. 3A 2.5).
		const cr0NW, cr0CD = 1 << 29, 1 << 30
		if val>>32 != 0 || val&cr0NW != 0 && val&cr0CD == 0 {
			v.inject(vmx.VectorGP)
			return
		}
		if val&cr0PG != 0 && val&cr0PE == 0 {
			v.inject(vmx.VectorGP) // paging without protection (SDM Vol. 3A 2.5)
			return
		}
		// CR4.PAE is the guest's own bit (not in the CR4 mask): the
		// VMCS's CR4 holds it.
		if val&cr0PG != 0 && s.Read64(vmx.GuestIA32EFER)&eferLME != 0 && s.ReadNat(vmx.GuestCR4)&cr4PAE == 0 {
			v.inject(vmx.VectorGP) // long mode needs PAE (SDM Vol. 3A 9.8.5)
			return
		}
		s.WriteNat(vmx.CR0ReadShadow, val)
		s.WriteNat(vmx.GuestCR0, val|h.CPU.Caps.CR0.Fixed0&^(cr0PE|cr0PG))
		v.syncLongMode()
	case q.Type == vmx.CRAccessMovTo && q.CR == 4:
		val := gpr()
		if val&cr4VMXE != 0 {
			v.inject(vmx.VectorGP) // no VMX inside domains
			return
		}
		s.WriteNat(vmx.CR4ReadShadow, val)
		s.WriteNat(vmx.GuestCR4, val|h.CPU.Caps.CR4.Fixed0)
	case q.Type == vmx.CRAccessMovTo && q.CR == 8:
		v.tpr = gpr() & 0xf
	case q.Type == vmx.CRAccessMovFrom && q.CR == 8:
		if q.Reg == vmx.RSP {
			s.WriteNat(vmx.GuestRSP, v.tpr)
		} else {
			v.Regs.GPR[q.Reg] = v.tpr
		}
	case q.Type == vmx.CRAccessLMSW:
		// LMSW loads CR0 bits 3:0 but cannot clear PE (SDM Vol. 2A "LMSW").
		old := s.ReadNat(vmx.CR0ReadShadow)
		val := old&^0xe | uint64(q.LMSWSource)&0xf | old&cr0PE
		s.WriteNat(vmx.CR0ReadShadow, val)
		s.WriteNat(vmx.GuestCR0, val|h.CPU.Caps.CR0.Fixed0&^(cr0PE|cr0PG))
	default:
		h.Kill(v.Dom, "unexpected control-register exit: %s\n%s", q, h.dump(v))
		return
	}
	v.advance()
}

// handleDRAccess emulates the debug registers: a guest keeps values in
// them, but no breakpoint fires (the hardware registers stay the host's).
func handleDRAccess(h *Hypervisor, v *VCPU, r vmx.ExitReason) {
	q := vmx.DecodeDRAccess(v.Regs.ExitQual)
	if q.Reg == vmx.RSP {
		h.Kill(v.Dom, "MOV DR with RSP is not emulated\n%s", h.dump(v))
		return
	}
	if !q.FromDR {
		v.dr[q.DR] = v.Regs.GPR[q.Reg]
	} else {
		v.Regs.GPR[q.Reg] = v.dr[q.DR]
	}
	v.advance()
}

// COM1 as a domain sees it: a transmit register whose bytes go to the
// domain's console, and a line status register that is always ready. It
// catches what guests print before their console driver runs (the entry
// code's messages, for one).
const (
	com1    = 0x3f8
	com1LCR = com1 + 3
	com1LSR = com1 + 5
)

// com1Newline is the byte that needs the most room when written to COM1
// (consoleNeed): it may end a line of console.MaxLine bytes.
var com1Newline = []byte{'\n'}

// handleIO emulates port I/O for a domain that owns no device: COM1's
// output, and otherwise nothing (reads return all ones, as from an empty
// bus; writes are dropped).
func handleIO(h *Hypervisor, v *VCPU, r vmx.ExitReason) {
	q := vmx.DecodeIOInstruction(v.Regs.ExitQual)
	if q.StringOp || q.Rep {
		h.Kill(v.Dom, "string port I/O (%s) is not emulated\n%s", q, h.dump(v))
		return
	}
	d := v.Dom
	mask := uint64(1)<<(8*uint(q.Size)) - 1 // Size is 1, 2 or 4
	if q.In {
		val := mask
		if q.Port == com1LSR {
			// THRE and TEMT, ready to send (PC16550D LSR), while the
			// console's queue has room for a line; busy otherwise, as
			// a UART whose line is slow.
			val = 0
			if h.consoleFits(d, consoleNeed(d, com1Newline)) {
				val = 0x60
			}
		}
		if q.Size == 4 {
			v.Regs.GPR[vmx.RAX] = val // a 32-bit result zero-extends into RAX (SDM Vol. 1 3.4.1.1)
		} else {
			v.Regs.GPR[vmx.RAX] = v.Regs.GPR[vmx.RAX]&^mask | val
		}
	} else {
		val := byte(v.Regs.GPR[vmx.RAX])
		switch {
		case q.Port == com1 && d.lcr&0x80 == 0: // THR when DLAB is clear
			// Written while LSR said busy, the byte is lost, as a real
			// UART's overrun loses it.
			h.consoleWrite(d, []byte{val})
		case q.Port == com1LCR:
			d.lcr = val
		}
	}
	v.advance()
}

func handleRDMSR(h *Hypervisor, v *VCPU, r vmx.ExitReason) {
	msr := uint32(v.Regs.GPR[vmx.RCX])
	val, err := v.readMSR(msr, v.Dom.guestTSC())
	if err != nil {
		h.msrFault(v, err)
		return
	}
	v.Regs.GPR[vmx.RAX] = val & 0xffff_ffff
	v.Regs.GPR[vmx.RDX] = val >> 32
	v.advance()
}

func handleWRMSR(h *Hypervisor, v *VCPU, r vmx.ExitReason) {
	msr := uint32(v.Regs.GPR[vmx.RCX])
	val := v.Regs.GPR[vmx.RDX]<<32 | v.Regs.GPR[vmx.RAX]&0xffff_ffff
	var err error
	if msr == xen.HypercallMSR {
		err = h.installHypercallPage(v, val)
	} else {
		err = v.writeMSR(msr, val)
	}
	if err != nil {
		h.msrFault(v, err)
		return
	}
	v.advance()
}

// msrFault injects #GP for a refused MSR access and says so (warn).
func (h *Hypervisor) msrFault(v *VCPU, err error) {
	var f *msrFault
	if !errors.As(err, &f) {
		h.Kill(v.Dom, "MSR access: %v", err)
		return
	}
	h.warn(v.Dom, "%v: #GP", f)
	v.inject(vmx.VectorGP)
}

// maxWarnings bounds the lines the hypervisor prints about one domain's
// refused requests: a guest repeating one cannot fill the serial line,
// which every domain waits on.
const maxWarnings = 8

// warn prints a line about a domain's refused request, the first
// maxWarnings times, then says that the rest go unprinted.
func (h *Hypervisor) warn(d *Domain, format string, args ...any) {
	switch d.warnings++; {
	case d.warnings <= maxWarnings:
		h.Log.Printf("%s: %s", d.Label(), fmt.Sprintf(format, args...))
	case d.warnings == maxWarnings+1:
		h.Log.Printf("%s: more refused requests; they are no longer printed", d.Label())
	}
}

// handleXSETBV accepts an XCR0 equal to the one the host runs with (the
// guest's XSAVE state is switched with that mask), and injects #GP
// otherwise (SDM Vol. 2C "XSETBV").
func handleXSETBV(h *Hypervisor, v *VCPU, r vmx.ExitReason) {
	xcr := uint32(v.Regs.GPR[vmx.RCX])
	val := v.Regs.GPR[vmx.RDX]<<32 | v.Regs.GPR[vmx.RAX]&0xffff_ffff
	if xcr != 0 || val != h.CPU.XSaveMask || h.CPU.XSaveMask == 0 {
		v.inject(vmx.VectorGP)
		return
	}
	v.advance()
}

// guestTSC is the TSC a domain reads (no offset: domains share the host's).
func (d *Domain) guestTSC() uint64 { return rdtsc() }
