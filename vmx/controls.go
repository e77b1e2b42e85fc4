package vmx

import "fmt"

// ControlSet holds the VM-execution, VM-exit and VM-entry controls of a
// VMCS (SDM Vol. 3C 25.6-25.8).
type ControlSet struct {
	Pin, Proc, Proc2, Exit, Entry uint32
}

// The controls tamavisor needs to run a domain at all. Everything a guest
// could use to reach the host or another domain exits: external interrupts
// and NMIs (so the host keeps them), HLT (the scheduler blocks the vCPU),
// MWAIT/MONITOR, RDPMC, CR8 (the host's TPR), debug registers (shared
// hardware), all port I/O and, with no MSR bitmap, every RDMSR/WRMSR. EPT and
// unrestricted guest run PVH guests from their 32-bit entry; the preemption
// timer enforces time slices.
const (
	requiredPin  = PinExternalInterruptExiting | PinNMIExiting | PinPreemptionTimer
	requiredProc = ProcHLTExiting | ProcMWAITExiting | ProcRDPMCExiting | ProcCR8LoadExiting |
		ProcCR8StoreExiting | ProcMOVDRExiting | ProcUnconditionalIOExiting | ProcMONITORExiting |
		ProcActivateSecondary
	requiredProc2 = Proc2EnableEPT | Proc2UnrestrictedGuest
	requiredExit  = ExitHostAddressSpaceSize | ExitSaveEFER | ExitLoadEFER
	requiredEntry = EntryLoadEFER
)

// Controls a domain benefits from where the CPU has them: virtual NMIs,
// VPID (no TLB flush at each switch), WBINVD exiting (a guest must not flush
// the host's caches at will), RDTSCP and INVPCID (else #UD in the guest),
// and switching IA32_PAT.
const (
	wantedPin   = PinVirtualNMIs
	wantedProc2 = Proc2EnableVPID | Proc2WBINVDExiting | Proc2EnableRDTSCP | Proc2EnableINVPCID
	wantedExit  = ExitSavePAT | ExitLoadPAT
	wantedEntry = EntryLoadPAT
)

// DomainControls computes the controls for a domain's VMCS from the CPU's
// capabilities: the required ones (an error names any the CPU lacks), the
// wanted ones it allows, and every bit the CPU forces to 1. Controls a CPU
// allows to be 0 are 0 (CR3-load/store exiting in particular, which EPT makes
// unnecessary).
func (c *Caps) DomainControls() (ControlSet, error) {
	var s ControlSet
	var err error
	if s.Pin, err = c.AdjustPinBased(wantedPin, requiredPin); err != nil {
		return s, fmt.Errorf("vmx: %w", err)
	}
	if s.Proc, err = c.AdjustProcBased(0, requiredProc); err != nil {
		return s, fmt.Errorf("vmx: %w", err)
	}
	if s.Proc2, err = c.AdjustProcBased2(wantedProc2, requiredProc2); err != nil {
		return s, fmt.Errorf("vmx: %w", err)
	}
	if s.Exit, err = c.AdjustExit(wantedExit, requiredExit); err != nil {
		return s, fmt.Errorf("vmx: %w", err)
	}
	if s.Entry, err = c.AdjustEntry(wantedEntry, requiredEntry); err != nil {
		return s, fmt.Errorf("vmx: %w", err)
	}
	if s.Proc2&Proc2EnableVPID != 0 && !c.HasINVVPIDSingle() {
		s.Proc2 &^= Proc2EnableVPID // VPIDs are only useful with single-context INVVPID
	}
	return s, nil
}

// Usable says whether tamavisor can run domains on this CPU, and if not,
// what is missing.
func (c *Caps) Usable() error {
	if _, err := c.DomainControls(); err != nil {
		return err
	}
	switch {
	case !c.HasEPT4Level():
		return fmt.Errorf("vmx: EPT lacks 4-level page walks (IA32_VMX_EPT_VPID_CAP bit 6)")
	case !c.HasEPTWB():
		return fmt.Errorf("vmx: EPT lacks the write-back memory type (IA32_VMX_EPT_VPID_CAP bit 14)")
	case !c.HasINVEPT() || !(c.HasINVEPTSingle() || c.HasINVEPTAll()):
		return fmt.Errorf("vmx: the CPU has no usable INVEPT (IA32_VMX_EPT_VPID_CAP bits 20, 25, 26)")
	case c.Basic.MemoryType() != MemTypeWB:
		return fmt.Errorf("vmx: VMCS memory type %d is not write-back (IA32_VMX_BASIC bits 53:50)", c.Basic.MemoryType())
	case c.Basic.PhysAddr32():
		return fmt.Errorf("vmx: VMX structures are limited to 32-bit physical addresses (IA32_VMX_BASIC bit 48)")
	}
	return nil
}
