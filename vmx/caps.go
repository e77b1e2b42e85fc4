package vmx

import (
	"fmt"
	"strings"
)

// MSR indices of IA32_FEATURE_CONTROL and of the VMX capability MSRs
// (SDM Vol. 4 Table 2-2 "IA-32 Architectural MSRs"; Vol. 3D Appendix A).
const (
	MSRFeatureControl    uint32 = 0x03A // IA32_FEATURE_CONTROL: SDM Vol. 4 Table 2-2, address 3AH
	MSRBasic             uint32 = 0x480 // IA32_VMX_BASIC: SDM Vol. 3D Appendix A.1
	MSRPinBasedCtls      uint32 = 0x481 // IA32_VMX_PINBASED_CTLS: SDM Vol. 3D Appendix A.3.1
	MSRProcBasedCtls     uint32 = 0x482 // IA32_VMX_PROCBASED_CTLS: SDM Vol. 3D Appendix A.3.2
	MSRExitCtls          uint32 = 0x483 // IA32_VMX_EXIT_CTLS: SDM Vol. 3D Appendix A.4
	MSREntryCtls         uint32 = 0x484 // IA32_VMX_ENTRY_CTLS: SDM Vol. 3D Appendix A.5
	MSRMisc              uint32 = 0x485 // IA32_VMX_MISC: SDM Vol. 3D Appendix A.6
	MSRCR0Fixed0         uint32 = 0x486 // IA32_VMX_CR0_FIXED0: SDM Vol. 3D Appendix A.7
	MSRCR0Fixed1         uint32 = 0x487 // IA32_VMX_CR0_FIXED1: SDM Vol. 3D Appendix A.7
	MSRCR4Fixed0         uint32 = 0x488 // IA32_VMX_CR4_FIXED0: SDM Vol. 3D Appendix A.8
	MSRCR4Fixed1         uint32 = 0x489 // IA32_VMX_CR4_FIXED1: SDM Vol. 3D Appendix A.8
	MSRVMCSEnum          uint32 = 0x48A // IA32_VMX_VMCS_ENUM: SDM Vol. 3D Appendix A.9
	MSRProcBasedCtls2    uint32 = 0x48B // IA32_VMX_PROCBASED_CTLS2: SDM Vol. 3D Appendix A.3.3
	MSREPTVPIDCap        uint32 = 0x48C // IA32_VMX_EPT_VPID_CAP: SDM Vol. 3D Appendix A.10
	MSRTruePinBasedCtls  uint32 = 0x48D // IA32_VMX_TRUE_PINBASED_CTLS: SDM Vol. 3D Appendix A.3.1
	MSRTrueProcBasedCtls uint32 = 0x48E // IA32_VMX_TRUE_PROCBASED_CTLS: SDM Vol. 3D Appendix A.3.2
	MSRTrueExitCtls      uint32 = 0x48F // IA32_VMX_TRUE_EXIT_CTLS: SDM Vol. 3D Appendix A.4
	MSRTrueEntryCtls     uint32 = 0x490 // IA32_VMX_TRUE_ENTRY_CTLS: SDM Vol. 3D Appendix A.5
	MSRVMFunc            uint32 = 0x491 // IA32_VMX_VMFUNC: SDM Vol. 3D Appendix A.11
	MSRProcBasedCtls3    uint32 = 0x492 // IA32_VMX_PROCBASED_CTLS3: SDM Vol. 3D Appendix A.3.4
)

var msrNames = map[uint32]string{
	MSRFeatureControl:    "IA32_FEATURE_CONTROL",
	MSRBasic:             "IA32_VMX_BASIC",
	MSRPinBasedCtls:      "IA32_VMX_PINBASED_CTLS",
	MSRProcBasedCtls:     "IA32_VMX_PROCBASED_CTLS",
	MSRExitCtls:          "IA32_VMX_EXIT_CTLS",
	MSREntryCtls:         "IA32_VMX_ENTRY_CTLS",
	MSRMisc:              "IA32_VMX_MISC",
	MSRCR0Fixed0:         "IA32_VMX_CR0_FIXED0",
	MSRCR0Fixed1:         "IA32_VMX_CR0_FIXED1",
	MSRCR4Fixed0:         "IA32_VMX_CR4_FIXED0",
	MSRCR4Fixed1:         "IA32_VMX_CR4_FIXED1",
	MSRVMCSEnum:          "IA32_VMX_VMCS_ENUM",
	MSRProcBasedCtls2:    "IA32_VMX_PROCBASED_CTLS2",
	MSREPTVPIDCap:        "IA32_VMX_EPT_VPID_CAP",
	MSRTruePinBasedCtls:  "IA32_VMX_TRUE_PINBASED_CTLS",
	MSRTrueProcBasedCtls: "IA32_VMX_TRUE_PROCBASED_CTLS",
	MSRTrueExitCtls:      "IA32_VMX_TRUE_EXIT_CTLS",
	MSRTrueEntryCtls:     "IA32_VMX_TRUE_ENTRY_CTLS",
	MSRVMFunc:            "IA32_VMX_VMFUNC",
	MSRProcBasedCtls3:    "IA32_VMX_PROCBASED_CTLS3",
}

// MSRName returns the architectural name of one of the MSRs above, or
// "MSR 0x…" for any other index.
func MSRName(msr uint32) string {
	if n, ok := msrNames[msr]; ok {
		return n
	}
	return fmt.Sprintf("MSR %#x", msr)
}

// MSRReader reads a model-specific register. A read fails when the MSR does
// not exist on this processor: the hardware implementation turns the
// resulting #GP(0) into an error; tests use a map.
type MSRReader func(msr uint32) (uint64, error)

// MSRError reports a failed read of a capability MSR.
type MSRError struct {
	MSR uint32
	Err error
}

func (e *MSRError) Error() string {
	return fmt.Sprintf("vmx: reading %s (MSR %#x): %v", MSRName(e.MSR), e.MSR, e.Err)
}

func (e *MSRError) Unwrap() error { return e.Err }

// Basic is the value of IA32_VMX_BASIC (SDM Vol. 3D Appendix A.1 "Basic VMX
// Information").
type Basic uint64

// VMCS/VMXON memory types reported in IA32_VMX_BASIC bits 53:50.
const (
	MemTypeUC = 0 // SDM Vol. 3D Appendix A.1: bits 53:50 = 0, uncacheable
	MemTypeWB = 6 // SDM Vol. 3D Appendix A.1: bits 53:50 = 6, write back
)

// Revision is the VMCS revision identifier to write into the VMXON region
// and every VMCS. SDM Vol. 3D Appendix A.1: bits 30:0 (bit 31 is always 0).
func (b Basic) Revision() uint32 { return uint32(b) & 0x7fff_ffff }

// VMCSSize is the number of bytes to allocate for the VMXON region and each
// VMCS, 1 to 4096. SDM Vol. 3D Appendix A.1: bits 44:32.
func (b Basic) VMCSSize() int { return int(b>>32) & 0x1fff }

// PhysAddr32 reports that the VMXON region, the VMCSs and the structures
// they point to must lie below 4 GiB. SDM Vol. 3D Appendix A.1: bit 48
// (always 0 on processors that support Intel 64).
func (b Basic) PhysAddr32() bool { return b&(1<<48) != 0 }

// DualMonitor reports support for the dual-monitor treatment of SMIs and
// SMM. SDM Vol. 3D Appendix A.1: bit 49.
func (b Basic) DualMonitor() bool { return b&(1<<49) != 0 }

// MemoryType is the memory type the processor uses to access the VMCS and
// the structures it references (MemTypeUC or MemTypeWB). SDM Vol. 3D
// Appendix A.1: bits 53:50.
func (b Basic) MemoryType() uint8 { return uint8(b>>50) & 0xf }

// InsOutsInfo reports that VM exits due to INS and OUTS store information in
// the VM-exit instruction-information field. SDM Vol. 3D Appendix A.1: bit 54.
func (b Basic) InsOutsInfo() bool { return b&(1<<54) != 0 }

// TrueControls reports that the IA32_VMX_TRUE_*_CTLS MSRs exist and that the
// default1 controls may be cleared. SDM Vol. 3D Appendix A.1: bit 55.
func (b Basic) TrueControls() bool { return b&(1<<55) != 0 }

// AnyExceptionErrorCode reports that VM entry may deliver a hardware
// exception with or without an error code regardless of the vector.
// SDM Vol. 3D Appendix A.1: bit 56.
func (b Basic) AnyExceptionErrorCode() bool { return b&(1<<56) != 0 }

// Controls are the allowed settings of one 32-bit VMX control field, as
// reported by a capability MSR (SDM Vol. 3D Appendix A.3-A.5): bits 31:0 of
// the MSR are the allowed 0-settings (a 1 bit means the control must be 1)
// and bits 63:32 the allowed 1-settings (a 0 bit means the control must
// be 0).
type Controls struct{ Allowed0, Allowed1 uint32 }

// ControlsFromMSR splits a capability MSR value into its allowed 0-settings
// (low half) and allowed 1-settings (high half). SDM Vol. 3D Appendix A.3.1.
func ControlsFromMSR(v uint64) Controls {
	return Controls{Allowed0: uint32(v), Allowed1: uint32(v >> 32)}
}

// MSR is the inverse of ControlsFromMSR.
func (c Controls) MSR() uint64 { return uint64(c.Allowed1)<<32 | uint64(c.Allowed0) }

// CanSet reports whether every control in mask may be 1.
func (c Controls) CanSet(mask uint32) bool { return mask&^c.Allowed1 == 0 }

// MustSet reports whether every control in mask must be 1.
func (c Controls) MustSet(mask uint32) bool { return mask&^c.Allowed0 == 0 }

// Adjust returns the value to program into the control field: the wanted
// and required controls plus those that must be 1, less those that must be
// 0, that is (want | required | Allowed0) & Allowed1 (SDM Vol. 3D Appendix A.3-A.5; a wrong value
// makes VM entry fail, Vol. 3C §27.2.1.1 "VM-Execution Control Fields" and
// its siblings). Wanted controls that the processor does not support are
// dropped silently; a required control that is not allowed to be 1 is an
// error (*ControlError) naming the missing bits, and so is a capability MSR
// that demands a control be 1 while not allowing it to be 1.
func (c Controls) Adjust(want, required uint32) (uint32, error) {
	return c.adjust(want, required, "", nil)
}

func (c Controls) adjust(want, required uint32, class string, names *[32]string) (uint32, error) {
	if conflict := c.Allowed0 &^ c.Allowed1; conflict != 0 {
		return 0, &ControlError{Class: class, Conflict: conflict, Allowed1: c.Allowed1, names: names}
	}
	if missing := required &^ c.Allowed1; missing != 0 {
		return 0, &ControlError{Class: class, Missing: missing, Allowed1: c.Allowed1, names: names}
	}
	return (want | required | c.Allowed0) & c.Allowed1, nil
}

// ControlError reports controls that cannot be programmed.
type ControlError struct {
	// Class names the control field ("secondary processor-based
	// VM-execution controls"); empty when the error comes from
	// Controls.Adjust.
	Class string
	// Missing are the required controls that are not allowed to be 1.
	Missing uint32
	// Conflict are controls the capability MSR reports both as "must be
	// 1" and as "must be 0": the MSR value is inconsistent.
	Conflict uint32
	// Allowed1 are the allowed 1-settings.
	Allowed1 uint32

	names *[32]string
}

func (e *ControlError) Error() string {
	var b strings.Builder
	b.WriteString("vmx: ")
	if e.Class != "" {
		b.WriteString(e.Class)
		b.WriteString(": ")
	}
	if e.Conflict != 0 {
		fmt.Fprintf(&b, "inconsistent capability MSR: must-be-1 controls not allowed to be 1: %s", bitList(e.Conflict, e.names))
		return b.String()
	}
	fmt.Fprintf(&b, "required controls not supported (allowed 1-settings %#x): %s", e.Allowed1, bitList(e.Missing, e.names))
	return b.String()
}

// bitList names the set bits of m: `bit 7 "unrestricted guest", bit 9`.
func bitList(m uint32, names *[32]string) string {
	var parts []string
	for i := 0; i < 32; i++ {
		if m&(1<<i) == 0 {
			continue
		}
		if names != nil && names[i] != "" {
			parts = append(parts, fmt.Sprintf("bit %d %q", i, names[i]))
		} else {
			parts = append(parts, fmt.Sprintf("bit %d", i))
		}
	}
	return strings.Join(parts, ", ")
}

// Pin-based VM-execution controls (SDM Vol. 3C §25.6.1 "Pin-Based
// VM-Execution Controls").
const (
	PinExternalInterruptExiting = 1 << 0 // SDM Vol. 3C §25.6.1: bit 0
	PinNMIExiting               = 1 << 3 // SDM Vol. 3C §25.6.1: bit 3
	PinVirtualNMIs              = 1 << 5 // SDM Vol. 3C §25.6.1: bit 5
	PinPreemptionTimer          = 1 << 6 // SDM Vol. 3C §25.6.1: bit 6 "activate VMX-preemption timer"
	PinPostedInterrupts         = 1 << 7 // SDM Vol. 3C §25.6.1: bit 7 "process posted interrupts"
	// PinDefault1 is the default1 class: bits 1, 2 and 4 (SDM Vol. 3D
	// Appendix A.2 and A.3.1).
	PinDefault1 = 0x0000_0016
)

// Primary processor-based VM-execution controls (SDM Vol. 3C §25.6.2
// "Processor-Based VM-Execution Controls").
const (
	ProcInterruptWindowExiting = 1 << 2  // SDM Vol. 3C §25.6.2: bit 2
	ProcUseTSCOffsetting       = 1 << 3  // SDM Vol. 3C §25.6.2: bit 3
	ProcHLTExiting             = 1 << 7  // SDM Vol. 3C §25.6.2: bit 7
	ProcINVLPGExiting          = 1 << 9  // SDM Vol. 3C §25.6.2: bit 9
	ProcMWAITExiting           = 1 << 10 // SDM Vol. 3C §25.6.2: bit 10
	ProcRDPMCExiting           = 1 << 11 // SDM Vol. 3C §25.6.2: bit 11
	ProcRDTSCExiting           = 1 << 12 // SDM Vol. 3C §25.6.2: bit 12
	ProcCR3LoadExiting         = 1 << 15 // SDM Vol. 3C §25.6.2: bit 15
	ProcCR3StoreExiting        = 1 << 16 // SDM Vol. 3C §25.6.2: bit 16
	ProcActivateTertiary       = 1 << 17 // SDM Vol. 3C §25.6.2: bit 17 "activate tertiary controls"
	ProcCR8LoadExiting         = 1 << 19 // SDM Vol. 3C §25.6.2: bit 19
	ProcCR8StoreExiting        = 1 << 20 // SDM Vol. 3C §25.6.2: bit 20
	ProcUseTPRShadow           = 1 << 21 // SDM Vol. 3C §25.6.2: bit 21
	ProcNMIWindowExiting       = 1 << 22 // SDM Vol. 3C §25.6.2: bit 22
	ProcMOVDRExiting           = 1 << 23 // SDM Vol. 3C §25.6.2: bit 23
	ProcUnconditionalIOExiting = 1 << 24 // SDM Vol. 3C §25.6.2: bit 24
	ProcUseIOBitmaps           = 1 << 25 // SDM Vol. 3C §25.6.2: bit 25
	ProcMonitorTrapFlag        = 1 << 27 // SDM Vol. 3C §25.6.2: bit 27
	ProcUseMSRBitmaps          = 1 << 28 // SDM Vol. 3C §25.6.2: bit 28
	ProcMONITORExiting         = 1 << 29 // SDM Vol. 3C §25.6.2: bit 29
	ProcPAUSEExiting           = 1 << 30 // SDM Vol. 3C §25.6.2: bit 30
	ProcActivateSecondary      = 1 << 31 // SDM Vol. 3C §25.6.2: bit 31 "activate secondary controls"
	// ProcDefault1 is the default1 class: bits 1, 4-6, 8, 13-16 and 26
	// (SDM Vol. 3D Appendix A.2 and A.3.2).
	ProcDefault1 = 0x0401_e172
)

// Secondary processor-based VM-execution controls (SDM Vol. 3C §25.6.2
// "Processor-Based VM-Execution Controls", secondary controls table).
const (
	Proc2VirtualizeAPICAccesses = 1 << 0  // SDM Vol. 3C §25.6.2 (secondary): bit 0
	Proc2EnableEPT              = 1 << 1  // SDM Vol. 3C §25.6.2 (secondary): bit 1
	Proc2DescriptorTableExiting = 1 << 2  // SDM Vol. 3C §25.6.2 (secondary): bit 2
	Proc2EnableRDTSCP           = 1 << 3  // SDM Vol. 3C §25.6.2 (secondary): bit 3
	Proc2VirtualizeX2APIC       = 1 << 4  // SDM Vol. 3C §25.6.2 (secondary): bit 4
	Proc2EnableVPID             = 1 << 5  // SDM Vol. 3C §25.6.2 (secondary): bit 5
	Proc2WBINVDExiting          = 1 << 6  // SDM Vol. 3C §25.6.2 (secondary): bit 6
	Proc2UnrestrictedGuest      = 1 << 7  // SDM Vol. 3C §25.6.2 (secondary): bit 7
	Proc2APICRegisterVirt       = 1 << 8  // SDM Vol. 3C §25.6.2 (secondary): bit 8
	Proc2VirtualIntrDelivery    = 1 << 9  // SDM Vol. 3C §25.6.2 (secondary): bit 9
	Proc2PAUSELoopExiting       = 1 << 10 // SDM Vol. 3C §25.6.2 (secondary): bit 10
	Proc2RDRANDExiting          = 1 << 11 // SDM Vol. 3C §25.6.2 (secondary): bit 11
	Proc2EnableINVPCID          = 1 << 12 // SDM Vol. 3C §25.6.2 (secondary): bit 12
	Proc2EnableVMFunctions      = 1 << 13 // SDM Vol. 3C §25.6.2 (secondary): bit 13
	Proc2VMCSShadowing          = 1 << 14 // SDM Vol. 3C §25.6.2 (secondary): bit 14
	Proc2RDSEEDExiting          = 1 << 16 // SDM Vol. 3C §25.6.2 (secondary): bit 16
	Proc2EnablePML              = 1 << 17 // SDM Vol. 3C §25.6.2 (secondary): bit 17
	Proc2EPTViolationVE         = 1 << 18 // SDM Vol. 3C §25.6.2 (secondary): bit 18
	Proc2EnableXSAVES           = 1 << 20 // SDM Vol. 3C §25.6.2 (secondary): bit 20
	Proc2ModeBasedEPTExecute    = 1 << 22 // SDM Vol. 3C §25.6.2 (secondary): bit 22
	Proc2UseTSCScaling          = 1 << 25 // SDM Vol. 3C §25.6.2 (secondary): bit 25
)

// VM-exit controls (SDM Vol. 3C §25.7.1 "VM-Exit Controls").
const (
	ExitSaveDebugControls    = 1 << 2  // SDM Vol. 3C §25.7.1: bit 2
	ExitHostAddressSpaceSize = 1 << 9  // SDM Vol. 3C §25.7.1: bit 9
	ExitLoadPerfGlobalCtrl   = 1 << 12 // SDM Vol. 3C §25.7.1: bit 12
	ExitAckInterruptOnExit   = 1 << 15 // SDM Vol. 3C §25.7.1: bit 15
	ExitSavePAT              = 1 << 18 // SDM Vol. 3C §25.7.1: bit 18
	ExitLoadPAT              = 1 << 19 // SDM Vol. 3C §25.7.1: bit 19
	ExitSaveEFER             = 1 << 20 // SDM Vol. 3C §25.7.1: bit 20
	ExitLoadEFER             = 1 << 21 // SDM Vol. 3C §25.7.1: bit 21
	ExitSavePreemptionTimer  = 1 << 22 // SDM Vol. 3C §25.7.1: bit 22
	// ExitDefault1 is the default1 class: bits 0-8, 10, 11, 13, 14, 16
	// and 17 (SDM Vol. 3D Appendix A.2 and A.4).
	ExitDefault1 = 0x0003_6dff
)

// VM-entry controls (SDM Vol. 3C §25.8.1 "VM-Entry Controls").
const (
	EntryLoadDebugControls  = 1 << 2  // SDM Vol. 3C §25.8.1: bit 2
	EntryIA32eModeGuest     = 1 << 9  // SDM Vol. 3C §25.8.1: bit 9
	EntryToSMM              = 1 << 10 // SDM Vol. 3C §25.8.1: bit 10
	EntryDeactivateDualMon  = 1 << 11 // SDM Vol. 3C §25.8.1: bit 11
	EntryLoadPerfGlobalCtrl = 1 << 13 // SDM Vol. 3C §25.8.1: bit 13
	EntryLoadPAT            = 1 << 14 // SDM Vol. 3C §25.8.1: bit 14
	EntryLoadEFER           = 1 << 15 // SDM Vol. 3C §25.8.1: bit 15
	// EntryDefault1 is the default1 class: bits 0-8 and 12 (SDM Vol. 3D
	// Appendix A.2 and A.5).
	EntryDefault1 = 0x0000_11ff
)

// Control names, for error messages only (same sources as the constants).
var (
	// SDM Vol. 3C §25.6.1.
	pinNames = [32]string{0: "external-interrupt exiting", 3: "NMI exiting", 5: "virtual NMIs",
		6: "activate VMX-preemption timer", 7: "process posted interrupts"}
	// SDM Vol. 3C §25.6.2, primary controls.
	procNames = [32]string{2: "interrupt-window exiting", 3: "use TSC offsetting", 7: "HLT exiting",
		9: "INVLPG exiting", 10: "MWAIT exiting", 11: "RDPMC exiting", 12: "RDTSC exiting",
		15: "CR3-load exiting", 16: "CR3-store exiting", 17: "activate tertiary controls",
		19: "CR8-load exiting", 20: "CR8-store exiting", 21: "use TPR shadow", 22: "NMI-window exiting",
		23: "MOV-DR exiting", 24: "unconditional I/O exiting", 25: "use I/O bitmaps",
		27: "monitor trap flag", 28: "use MSR bitmaps", 29: "MONITOR exiting", 30: "PAUSE exiting",
		31: "activate secondary controls"}
	// SDM Vol. 3C §25.6.2, secondary controls.
	proc2Names = [32]string{0: "virtualize APIC accesses", 1: "enable EPT", 2: "descriptor-table exiting",
		3: "enable RDTSCP", 4: "virtualize x2APIC mode", 5: "enable VPID", 6: "WBINVD exiting",
		7: "unrestricted guest", 8: "APIC-register virtualization", 9: "virtual-interrupt delivery",
		10: "PAUSE-loop exiting", 11: "RDRAND exiting", 12: "enable INVPCID", 13: "enable VM functions",
		14: "VMCS shadowing", 15: "enable ENCLS exiting", 16: "RDSEED exiting", 17: "enable PML",
		18: "EPT-violation #VE", 19: "conceal VMX from PT", 20: "enable XSAVES/XRSTORS",
		22: "mode-based execute control for EPT", 23: "sub-page write permissions for EPT",
		24: "Intel PT uses guest physical addresses", 25: "use TSC scaling",
		26: "enable user wait and pause", 27: "enable PCONFIG", 28: "enable ENCLV exiting"}
	// SDM Vol. 3C §25.7.1.
	exitNames = [32]string{2: "save debug controls", 9: "host address-space size",
		12: "load IA32_PERF_GLOBAL_CTRL", 15: "acknowledge interrupt on exit", 18: "save IA32_PAT",
		19: "load IA32_PAT", 20: "save IA32_EFER", 21: "load IA32_EFER",
		22: "save VMX-preemption timer value", 23: "clear IA32_BNDCFGS", 24: "conceal VMX from PT",
		25: "clear IA32_RTIT_CTL"}
	// SDM Vol. 3C §25.8.1.
	entryNames = [32]string{2: "load debug controls", 9: "IA-32e mode guest", 10: "entry to SMM",
		11: "deactivate dual-monitor treatment", 13: "load IA32_PERF_GLOBAL_CTRL", 14: "load IA32_PAT",
		15: "load IA32_EFER", 16: "load IA32_BNDCFGS", 17: "conceal VMX from PT", 18: "load IA32_RTIT_CTL"}
)

// Misc is the value of IA32_VMX_MISC (SDM Vol. 3D Appendix A.6
// "Miscellaneous Data").
type Misc uint64

// PreemptionTimerRate is X such that the VMX-preemption timer counts down by
// one every time bit X of the TSC changes (timer = TSC >> X). SDM Vol. 3D
// Appendix A.6: bits 4:0.
func (m Misc) PreemptionTimerRate() uint { return uint(m & 0x1f) }

// StoresEFERLMA reports that VM exits store IA32_EFER.LMA into the "IA-32e
// mode guest" VM-entry control. SDM Vol. 3D Appendix A.6: bit 5.
func (m Misc) StoresEFERLMA() bool { return m&(1<<5) != 0 }

// ActivityStates is the bitmap of supported activity states besides active:
// 1<<0 HLT, 1<<1 shutdown, 1<<2 wait-for-SIPI. SDM Vol. 3D Appendix A.6:
// bits 8:6.
func (m Misc) ActivityStates() uint8 { return uint8(m>>6) & 7 }

// ActivityHLT reports support for activity state 1 (HLT). SDM Vol. 3D
// Appendix A.6: bit 6.
func (m Misc) ActivityHLT() bool { return m&(1<<6) != 0 }

// ActivityShutdown reports support for activity state 2 (shutdown). SDM
// Vol. 3D Appendix A.6: bit 7.
func (m Misc) ActivityShutdown() bool { return m&(1<<7) != 0 }

// ActivityWaitForSIPI reports support for activity state 3 (wait-for-SIPI).
// SDM Vol. 3D Appendix A.6: bit 8.
func (m Misc) ActivityWaitForSIPI() bool { return m&(1<<8) != 0 }

// PTInVMX reports that Intel PT can be used in VMX operation. SDM Vol. 3D
// Appendix A.6: bit 14.
func (m Misc) PTInVMX() bool { return m&(1<<14) != 0 }

// SMBaseRDMSR reports that RDMSR can read IA32_SMBASE in SMM. SDM Vol. 3D
// Appendix A.6: bit 15.
func (m Misc) SMBaseRDMSR() bool { return m&(1<<15) != 0 }

// CR3TargetCount is the number of CR3-target values supported. SDM Vol. 3D
// Appendix A.6: bits 24:16.
func (m Misc) CR3TargetCount() int { return int(m>>16) & 0x1ff }

// MaxMSRListLen is the recommended maximum number of MSRs in each of the
// VM-exit MSR-store, VM-exit MSR-load and VM-entry MSR-load lists:
// 512 * (N + 1) where N is bits 27:25. SDM Vol. 3D Appendix A.6.
func (m Misc) MaxMSRListLen() int { return 512 * (int(m>>25)&7 + 1) }

// SMMMonitorCtlBit2 reports that bit 2 of IA32_SMM_MONITOR_CTL can be set
// (VMXOFF unblocks SMIs). SDM Vol. 3D Appendix A.6: bit 28.
func (m Misc) SMMMonitorCtlBit2() bool { return m&(1<<28) != 0 }

// VMWriteAnyField reports that VMWRITE can write every VMCS field, including
// the VM-exit information fields. SDM Vol. 3D Appendix A.6: bit 29.
func (m Misc) VMWriteAnyField() bool { return m&(1<<29) != 0 }

// ZeroLengthInjection reports that VM entry may inject a software interrupt
// or exception with an instruction length of 0. SDM Vol. 3D Appendix A.6:
// bit 30.
func (m Misc) ZeroLengthInjection() bool { return m&(1<<30) != 0 }

// MSEGRevision is the MSEG revision identifier used by the processor. SDM
// Vol. 3D Appendix A.6: bits 63:32.
func (m Misc) MSEGRevision() uint32 { return uint32(m >> 32) }

// EPTVPIDCap is the value of IA32_VMX_EPT_VPID_CAP (SDM Vol. 3D Appendix A.10
// "VPID and EPT Capabilities").
type EPTVPIDCap uint64

func (e EPTVPIDCap) bit(n uint) bool { return e&(1<<n) != 0 }

// ExecuteOnly reports support for execute-only EPT translations. SDM Vol. 3D
// Appendix A.10: bit 0.
func (e EPTVPIDCap) ExecuteOnly() bool { return e.bit(0) }

// PageWalk4 reports support for an EPT page-walk length of 4. SDM Vol. 3D
// Appendix A.10: bit 6.
func (e EPTVPIDCap) PageWalk4() bool { return e.bit(6) }

// PageWalk5 reports support for an EPT page-walk length of 5. SDM Vol. 3D
// Appendix A.10: bit 7.
func (e EPTVPIDCap) PageWalk5() bool { return e.bit(7) }

// MemTypeUC reports that the EPT paging structures may be uncacheable. SDM
// Vol. 3D Appendix A.10: bit 8.
func (e EPTVPIDCap) MemTypeUC() bool { return e.bit(8) }

// MemTypeWB reports that the EPT paging structures may be write-back. SDM
// Vol. 3D Appendix A.10: bit 14.
func (e EPTVPIDCap) MemTypeWB() bool { return e.bit(14) }

// Pages2M reports support for 2-MByte EPT pages (PDE bit 7). SDM Vol. 3D
// Appendix A.10: bit 16.
func (e EPTVPIDCap) Pages2M() bool { return e.bit(16) }

// Pages1G reports support for 1-GByte EPT pages (PDPTE bit 7). SDM Vol. 3D
// Appendix A.10: bit 17.
func (e EPTVPIDCap) Pages1G() bool { return e.bit(17) }

// INVEPT reports support for the INVEPT instruction. SDM Vol. 3D
// Appendix A.10: bit 20.
func (e EPTVPIDCap) INVEPT() bool { return e.bit(20) }

// AccessedDirty reports support for accessed and dirty flags for EPT. SDM
// Vol. 3D Appendix A.10: bit 21.
func (e EPTVPIDCap) AccessedDirty() bool { return e.bit(21) }

// AdvancedExitInfo reports advanced VM-exit information for EPT violations.
// SDM Vol. 3D Appendix A.10: bit 22.
func (e EPTVPIDCap) AdvancedExitInfo() bool { return e.bit(22) }

// SupervisorShadowStack reports support for supervisor shadow-stack control
// in EPT entries. SDM Vol. 3D Appendix A.10: bit 23.
func (e EPTVPIDCap) SupervisorShadowStack() bool { return e.bit(23) }

// INVEPTSingle reports support for the single-context INVEPT type. SDM
// Vol. 3D Appendix A.10: bit 25.
func (e EPTVPIDCap) INVEPTSingle() bool { return e.bit(25) }

// INVEPTAll reports support for the all-context INVEPT type. SDM Vol. 3D
// Appendix A.10: bit 26.
func (e EPTVPIDCap) INVEPTAll() bool { return e.bit(26) }

// INVVPID reports support for the INVVPID instruction. SDM Vol. 3D
// Appendix A.10: bit 32.
func (e EPTVPIDCap) INVVPID() bool { return e.bit(32) }

// INVVPIDAddress reports support for the individual-address INVVPID type.
// SDM Vol. 3D Appendix A.10: bit 40.
func (e EPTVPIDCap) INVVPIDAddress() bool { return e.bit(40) }

// INVVPIDSingle reports support for the single-context INVVPID type. SDM
// Vol. 3D Appendix A.10: bit 41.
func (e EPTVPIDCap) INVVPIDSingle() bool { return e.bit(41) }

// INVVPIDAll reports support for the all-context INVVPID type. SDM Vol. 3D
// Appendix A.10: bit 42.
func (e EPTVPIDCap) INVVPIDAll() bool { return e.bit(42) }

// INVVPIDSingleRetainingGlobals reports support for the
// single-context-retaining-globals INVVPID type. SDM Vol. 3D Appendix A.10:
// bit 43.
func (e EPTVPIDCap) INVVPIDSingleRetainingGlobals() bool { return e.bit(43) }

// VMFuncEPTPSwitching is bit 0 of IA32_VMX_VMFUNC: VM function 0, EPTP
// switching. SDM Vol. 3D Appendix A.11.
const VMFuncEPTPSwitching = 1 << 0

// Fixed are the VMX-fixed bits of a control register (SDM Vol. 3D Appendix
// A.7 "VMX-Fixed Bits in CR0" and A.8 "VMX-Fixed Bits in CR4"): a bit set in
// Fixed0 must be 1 in VMX operation, a bit clear in Fixed1 must be 0.
type Fixed struct{ Fixed0, Fixed1 uint64 }

// Apply returns v with the fixed bits forced to their required values.
func (f Fixed) Apply(v uint64) uint64 { return (v | f.Fixed0) & f.Fixed1 }

// OK reports whether v already has every fixed bit at its required value.
func (f Fixed) OK(v uint64) bool { return f.Apply(v) == v }

// Caps holds the decoded VMX capability MSRs of one logical processor.
// Fields for MSRs that ReadCaps did not read (because the processor does not
// enumerate them) are zero.
type Caps struct {
	// Basic is IA32_VMX_BASIC.
	Basic Basic

	// PinBased, ProcBased, Exit and Entry are the allowed settings to
	// program against: the IA32_VMX_TRUE_*_CTLS MSRs when Basic reports
	// them (bit 55), the plain MSRs otherwise. SDM Vol. 3D Appendix
	// A.3.1, A.3.2, A.4, A.5.
	PinBased, ProcBased, Exit, Entry Controls

	// PinBasedMSR, ProcBasedMSR, ExitMSR and EntryMSR are the plain
	// IA32_VMX_{PINBASED,PROCBASED,EXIT,ENTRY}_CTLS MSRs, which report the
	// default1 controls as "must be 1" (SDM Vol. 3D Appendix A.2); equal to
	// the fields above when there are no true controls.
	PinBasedMSR, ProcBasedMSR, ExitMSR, EntryMSR Controls

	// ProcBased2 is IA32_VMX_PROCBASED_CTLS2 (SDM Vol. 3D Appendix A.3.3),
	// read only when the "activate secondary controls" control may be 1.
	ProcBased2 Controls

	// ProcBased3 is IA32_VMX_PROCBASED_CTLS3, the allowed 1-settings of
	// the 64-bit tertiary controls (SDM Vol. 3D Appendix A.3.4), read only
	// when the "activate tertiary controls" control may be 1.
	ProcBased3 uint64

	// Misc is IA32_VMX_MISC.
	Misc Misc

	// CR0 and CR4 are the VMX-fixed bits, from IA32_VMX_CR{0,4}_FIXED{0,1}.
	CR0, CR4 Fixed

	// VMCSEnum is IA32_VMX_VMCS_ENUM (SDM Vol. 3D Appendix A.9).
	VMCSEnum uint64

	// EPTVPID is IA32_VMX_EPT_VPID_CAP, read only when "enable EPT" or
	// "enable VPID" may be 1.
	EPTVPID EPTVPIDCap

	// VMFunc is IA32_VMX_VMFUNC (SDM Vol. 3D Appendix A.11), read only when
	// "enable VM functions" may be 1.
	VMFunc uint64
}

// ReadCaps reads and decodes the VMX capability MSRs. It reads
// IA32_VMX_BASIC first, then the MSRs that every VMX processor has (SDM
// Vol. 3D Appendix A.1-A.9), and then only the MSRs the processor
// enumerates:
//
//   - IA32_VMX_TRUE_*_CTLS when IA32_VMX_BASIC bit 55 is 1 (Appendix A.1);
//   - IA32_VMX_PROCBASED_CTLS2 when the primary processor-based controls
//     allow bit 31, "activate secondary controls" (Appendix A.3.3);
//   - IA32_VMX_PROCBASED_CTLS3 when they allow bit 17, "activate tertiary
//     controls" (Appendix A.3.4);
//   - IA32_VMX_EPT_VPID_CAP when the secondary controls allow bit 1,
//     "enable EPT", or bit 5, "enable VPID" (Appendix A.10);
//   - IA32_VMX_VMFUNC when the secondary controls allow bit 13, "enable VM
//     functions" (Appendix A.11).
//
// Callers must have checked CPUID.1:ECX.VMX[bit 5] first: without VMX none
// of these MSRs exist (SDM Vol. 3D Appendix A). A failed read is returned
// as an *MSRError.
func ReadCaps(rd MSRReader) (*Caps, error) {
	read := func(msr uint32) (uint64, error) {
		v, err := rd(msr)
		if err != nil {
			return 0, &MSRError{MSR: msr, Err: err}
		}
		return v, nil
	}
	var c Caps
	v, err := read(MSRBasic)
	if err != nil {
		return nil, err
	}
	c.Basic = Basic(v)
	if n := c.Basic.VMCSSize(); n == 0 || n > 4096 {
		// SDM Vol. 3D Appendix A.1: "a value greater than 0 and at most 4096".
		return nil, fmt.Errorf("vmx: IA32_VMX_BASIC %#x reports a VMCS size of %d bytes, not 1 to 4096", v, n)
	}

	var raw [5]uint64 // pinbased, procbased, exit, entry, misc
	for i, msr := range []uint32{MSRPinBasedCtls, MSRProcBasedCtls, MSRExitCtls, MSREntryCtls, MSRMisc} {
		if raw[i], err = read(msr); err != nil {
			return nil, err
		}
	}
	c.PinBasedMSR = ControlsFromMSR(raw[0])
	c.ProcBasedMSR = ControlsFromMSR(raw[1])
	c.ExitMSR = ControlsFromMSR(raw[2])
	c.EntryMSR = ControlsFromMSR(raw[3])
	c.Misc = Misc(raw[4])

	var fixed [4]uint64
	for i, msr := range []uint32{MSRCR0Fixed0, MSRCR0Fixed1, MSRCR4Fixed0, MSRCR4Fixed1} {
		if fixed[i], err = read(msr); err != nil {
			return nil, err
		}
	}
	c.CR0 = Fixed{Fixed0: fixed[0], Fixed1: fixed[1]}
	c.CR4 = Fixed{Fixed0: fixed[2], Fixed1: fixed[3]}
	for _, f := range []struct {
		name string
		f    Fixed
	}{{"CR0", c.CR0}, {"CR4", c.CR4}} {
		if bad := f.f.Fixed0 &^ f.f.Fixed1; bad != 0 {
			// SDM Vol. 3D Appendix A.7/A.8: a bit fixed to 1 is 1 in both MSRs.
			return nil, fmt.Errorf("vmx: IA32_VMX_%s_FIXED0 %#x and IA32_VMX_%s_FIXED1 %#x disagree on bits %#x",
				f.name, f.f.Fixed0, f.name, f.f.Fixed1, bad)
		}
	}
	if c.VMCSEnum, err = read(MSRVMCSEnum); err != nil {
		return nil, err
	}

	c.PinBased, c.ProcBased, c.Exit, c.Entry = c.PinBasedMSR, c.ProcBasedMSR, c.ExitMSR, c.EntryMSR
	if c.Basic.TrueControls() {
		var t [4]uint64
		for i, msr := range []uint32{MSRTruePinBasedCtls, MSRTrueProcBasedCtls, MSRTrueExitCtls, MSRTrueEntryCtls} {
			if t[i], err = read(msr); err != nil {
				return nil, err
			}
		}
		c.PinBased = ControlsFromMSR(t[0])
		c.ProcBased = ControlsFromMSR(t[1])
		c.Exit = ControlsFromMSR(t[2])
		c.Entry = ControlsFromMSR(t[3])
	}

	if c.ProcBased.CanSet(ProcActivateSecondary) {
		if v, err = read(MSRProcBasedCtls2); err != nil {
			return nil, err
		}
		c.ProcBased2 = ControlsFromMSR(v)
	}
	if c.ProcBased.CanSet(ProcActivateTertiary) {
		if c.ProcBased3, err = read(MSRProcBasedCtls3); err != nil {
			return nil, err
		}
	}
	if c.ProcBased2.Allowed1&(Proc2EnableEPT|Proc2EnableVPID) != 0 {
		if v, err = read(MSREPTVPIDCap); err != nil {
			return nil, err
		}
		c.EPTVPID = EPTVPIDCap(v)
	}
	if c.ProcBased2.CanSet(Proc2EnableVMFunctions) {
		if c.VMFunc, err = read(MSRVMFunc); err != nil {
			return nil, err
		}
	}
	return &c, nil
}

// AdjustPinBased computes the pin-based VM-execution controls to program.
func (c *Caps) AdjustPinBased(want, required uint32) (uint32, error) {
	return c.PinBased.adjust(want, required, "pin-based VM-execution controls", &pinNames)
}

// AdjustProcBased computes the primary processor-based VM-execution
// controls to program.
func (c *Caps) AdjustProcBased(want, required uint32) (uint32, error) {
	return c.ProcBased.adjust(want, required, "primary processor-based VM-execution controls", &procNames)
}

// AdjustProcBased2 computes the secondary processor-based VM-execution
// controls to program. Without secondary controls every required bit is
// missing.
func (c *Caps) AdjustProcBased2(want, required uint32) (uint32, error) {
	return c.ProcBased2.adjust(want, required, "secondary processor-based VM-execution controls", &proc2Names)
}

// AdjustExit computes the VM-exit controls to program.
func (c *Caps) AdjustExit(want, required uint32) (uint32, error) {
	return c.Exit.adjust(want, required, "VM-exit controls", &exitNames)
}

// AdjustEntry computes the VM-entry controls to program.
func (c *Caps) AdjustEntry(want, required uint32) (uint32, error) {
	return c.Entry.adjust(want, required, "VM-entry controls", &entryNames)
}

// HasSecondaryControls reports whether the secondary processor-based
// controls can be activated (primary bit 31 allowed-1).
func (c *Caps) HasSecondaryControls() bool { return c.ProcBased.CanSet(ProcActivateSecondary) }

// HasTertiaryControls reports whether the tertiary processor-based controls
// can be activated (primary bit 17 allowed-1).
func (c *Caps) HasTertiaryControls() bool { return c.ProcBased.CanSet(ProcActivateTertiary) }

func (c *Caps) secondary(bit uint32) bool {
	return c.HasSecondaryControls() && c.ProcBased2.CanSet(bit)
}

// HasEPT reports whether "enable EPT" may be 1.
func (c *Caps) HasEPT() bool { return c.secondary(Proc2EnableEPT) }

// HasVPID reports whether "enable VPID" may be 1.
func (c *Caps) HasVPID() bool { return c.secondary(Proc2EnableVPID) }

// HasUnrestrictedGuest reports whether "unrestricted guest" may be 1.
func (c *Caps) HasUnrestrictedGuest() bool { return c.secondary(Proc2UnrestrictedGuest) }

// HasRDTSCP reports whether "enable RDTSCP" may be 1 (without it a guest's
// RDTSCP raises #UD).
func (c *Caps) HasRDTSCP() bool { return c.secondary(Proc2EnableRDTSCP) }

// HasINVPCID reports whether "enable INVPCID" may be 1.
func (c *Caps) HasINVPCID() bool { return c.secondary(Proc2EnableINVPCID) }

// HasXSAVES reports whether "enable XSAVES/XRSTORS" may be 1.
func (c *Caps) HasXSAVES() bool { return c.secondary(Proc2EnableXSAVES) }

// HasVMFunc reports whether "enable VM functions" may be 1.
func (c *Caps) HasVMFunc() bool { return c.secondary(Proc2EnableVMFunctions) }

// HasEPTPSwitching reports whether VM function 0 (EPTP switching) exists.
func (c *Caps) HasEPTPSwitching() bool { return c.HasVMFunc() && c.VMFunc&VMFuncEPTPSwitching != 0 }

// HasPreemptionTimer reports whether "activate VMX-preemption timer" may
// be 1.
func (c *Caps) HasPreemptionTimer() bool { return c.PinBased.CanSet(PinPreemptionTimer) }

// PreemptionTimerShift is the TSC shift of the VMX-preemption timer
// (timer = TSC >> shift); meaningful only with HasPreemptionTimer.
func (c *Caps) PreemptionTimerShift() uint { return c.Misc.PreemptionTimerRate() }

// HasVirtualNMIs reports whether "virtual NMIs" may be 1.
func (c *Caps) HasVirtualNMIs() bool { return c.PinBased.CanSet(PinVirtualNMIs) }

// HasMSRBitmaps reports whether "use MSR bitmaps" may be 1.
func (c *Caps) HasMSRBitmaps() bool { return c.ProcBased.CanSet(ProcUseMSRBitmaps) }

// HasIOBitmaps reports whether "use I/O bitmaps" may be 1.
func (c *Caps) HasIOBitmaps() bool { return c.ProcBased.CanSet(ProcUseIOBitmaps) }

// HasEFERSwitch reports whether IA32_EFER can be loaded on VM entry and
// saved and loaded on VM exit.
func (c *Caps) HasEFERSwitch() bool {
	return c.Entry.CanSet(EntryLoadEFER) && c.Exit.CanSet(ExitSaveEFER|ExitLoadEFER)
}

// HasPATSwitch reports whether IA32_PAT can be loaded on VM entry and saved
// and loaded on VM exit.
func (c *Caps) HasPATSwitch() bool {
	return c.Entry.CanSet(EntryLoadPAT) && c.Exit.CanSet(ExitSavePAT|ExitLoadPAT)
}

func (c *Caps) ept(f func(EPTVPIDCap) bool) bool  { return c.HasEPT() && f(c.EPTVPID) }
func (c *Caps) vpid(f func(EPTVPIDCap) bool) bool { return c.HasVPID() && f(c.EPTVPID) }

// HasEPT4Level reports EPT with a 4-level page walk.
func (c *Caps) HasEPT4Level() bool { return c.ept(EPTVPIDCap.PageWalk4) }

// HasEPT5Level reports EPT with a 5-level page walk.
func (c *Caps) HasEPT5Level() bool { return c.ept(EPTVPIDCap.PageWalk5) }

// HasEPTWB reports EPT whose paging structures may be write-back.
func (c *Caps) HasEPTWB() bool { return c.ept(EPTVPIDCap.MemTypeWB) }

// HasEPTUC reports EPT whose paging structures may be uncacheable.
func (c *Caps) HasEPTUC() bool { return c.ept(EPTVPIDCap.MemTypeUC) }

// HasEPTExecuteOnly reports EPT with execute-only translations.
func (c *Caps) HasEPTExecuteOnly() bool { return c.ept(EPTVPIDCap.ExecuteOnly) }

// Has2MPages reports EPT with 2-MByte pages.
func (c *Caps) Has2MPages() bool { return c.ept(EPTVPIDCap.Pages2M) }

// Has1GPages reports EPT with 1-GByte pages.
func (c *Caps) Has1GPages() bool { return c.ept(EPTVPIDCap.Pages1G) }

// HasEPTAD reports EPT with accessed and dirty flags.
func (c *Caps) HasEPTAD() bool { return c.ept(EPTVPIDCap.AccessedDirty) }

// HasINVEPT reports the INVEPT instruction.
func (c *Caps) HasINVEPT() bool { return c.ept(EPTVPIDCap.INVEPT) }

// HasINVEPTSingle reports the single-context INVEPT type.
func (c *Caps) HasINVEPTSingle() bool {
	return c.ept(func(e EPTVPIDCap) bool { return e.INVEPT() && e.INVEPTSingle() })
}

// HasINVEPTAll reports the all-context INVEPT type.
func (c *Caps) HasINVEPTAll() bool {
	return c.ept(func(e EPTVPIDCap) bool { return e.INVEPT() && e.INVEPTAll() })
}

// HasINVVPID reports the INVVPID instruction.
func (c *Caps) HasINVVPID() bool { return c.vpid(EPTVPIDCap.INVVPID) }

// HasINVVPIDAddress reports the individual-address INVVPID type.
func (c *Caps) HasINVVPIDAddress() bool {
	return c.vpid(func(e EPTVPIDCap) bool { return e.INVVPID() && e.INVVPIDAddress() })
}

// HasINVVPIDSingle reports the single-context INVVPID type.
func (c *Caps) HasINVVPIDSingle() bool {
	return c.vpid(func(e EPTVPIDCap) bool { return e.INVVPID() && e.INVVPIDSingle() })
}

// HasINVVPIDAll reports the all-context INVVPID type.
func (c *Caps) HasINVVPIDAll() bool {
	return c.vpid(func(e EPTVPIDCap) bool { return e.INVVPID() && e.INVVPIDAll() })
}

// VMCSMaxIndex is the highest index value used in any VMCS field encoding
// supported by the processor. SDM Vol. 3D Appendix A.9: bits 9:1 of
// IA32_VMX_VMCS_ENUM.
func (c *Caps) VMCSMaxIndex() int { return int(c.VMCSEnum>>1) & 0x1ff }

// Summary is a one-line description for the boot banner, for example
//
//	VMX rev 0x4, VMCS 1024 B, true controls, EPT (4-level, WB, 2M, 1G, A/D, INVEPT single+all), VPID (INVVPID), unrestricted guest, preemption timer (TSC>>7)
func (c *Caps) Summary() string {
	parts := []string{fmt.Sprintf("VMX rev %#x", c.Basic.Revision()), fmt.Sprintf("VMCS %d B", c.Basic.VMCSSize())}
	switch t := c.Basic.MemoryType(); t {
	case MemTypeWB:
	case MemTypeUC:
		parts = append(parts, "VMCS UC")
	default:
		parts = append(parts, fmt.Sprintf("VMCS memory type %d", t))
	}
	if c.Basic.PhysAddr32() {
		parts = append(parts, "32-bit VMX addresses")
	}
	if c.Basic.TrueControls() {
		parts = append(parts, "true controls")
	}
	if c.HasEPT() {
		e := c.EPTVPID
		var f []string
		if e.PageWalk4() {
			f = append(f, "4-level")
		}
		if e.PageWalk5() {
			f = append(f, "5-level")
		}
		if e.MemTypeWB() {
			f = append(f, "WB")
		} else if e.MemTypeUC() {
			f = append(f, "UC")
		}
		if e.Pages2M() {
			f = append(f, "2M")
		}
		if e.Pages1G() {
			f = append(f, "1G")
		}
		if e.AccessedDirty() {
			f = append(f, "A/D")
		}
		switch {
		case !e.INVEPT():
			f = append(f, "no INVEPT")
		case e.INVEPTSingle() && e.INVEPTAll():
			f = append(f, "INVEPT single+all")
		case e.INVEPTSingle():
			f = append(f, "INVEPT single")
		case e.INVEPTAll():
			f = append(f, "INVEPT all")
		default:
			f = append(f, "INVEPT")
		}
		parts = append(parts, "EPT ("+strings.Join(f, ", ")+")")
	} else {
		parts = append(parts, "no EPT")
	}
	switch {
	case !c.HasVPID():
		parts = append(parts, "no VPID")
	case c.EPTVPID.INVVPID():
		parts = append(parts, "VPID (INVVPID)")
	default:
		parts = append(parts, "VPID (no INVVPID)")
	}
	if c.HasUnrestrictedGuest() {
		parts = append(parts, "unrestricted guest")
	}
	if c.HasPreemptionTimer() {
		parts = append(parts, fmt.Sprintf("preemption timer (TSC>>%d)", c.PreemptionTimerShift()))
	}
	return strings.Join(parts, ", ")
}

// Control-register bit names, for CRFix descriptions (SDM Vol. 3A §2.5
// "Control Registers").
var (
	cr0Names = map[int]string{0: "PE", 1: "MP", 2: "EM", 3: "TS", 4: "ET", 5: "NE", 16: "WP", 18: "AM",
		29: "NW", 30: "CD", 31: "PG"}
	cr4Names = map[int]string{0: "VME", 1: "PVI", 2: "TSD", 3: "DE", 4: "PSE", 5: "PAE", 6: "MCE",
		7: "PGE", 8: "PCE", 9: "OSFXSR", 10: "OSXMMEXCPT", 11: "UMIP", 12: "LA57", 13: "VMXE",
		14: "SMXE", 16: "FSGSBASE", 17: "PCIDE", 18: "OSXSAVE", 19: "KL", 20: "SMEP", 21: "SMAP",
		22: "PKE", 23: "CET", 24: "PKS", 25: "UINTR"}
)

// CRFix is the result of forcing CR0 and CR4 to values allowed in VMX
// operation.
type CRFix struct {
	// CR0 and CR4 are the values to load before VMXON.
	CR0, CR4 uint64
	// Changes describes each forced bit, e.g. "CR0.NE set", "CR4.VMXE
	// set", "CR4 bit 26 cleared"; empty when nothing had to change.
	Changes []string
}

// OK reports whether the input values were already allowed.
func (f CRFix) OK() bool { return len(f.Changes) == 0 }

func (f CRFix) String() string {
	if f.OK() {
		return "CR0 and CR4 already allowed in VMX operation"
	}
	return strings.Join(f.Changes, ", ")
}

// FixCRs forces the VMX-fixed bits of CR0 and CR4 (SDM Vol. 3C §24.8
// "Restrictions on VMX Operation"; Vol. 3D Appendix A.7, A.8): VMXON fails
// unless every bit fixed to 1 is 1 and every bit fixed to 0 is 0. CR4.VMXE
// is fixed to 1, so the result always enables VMX.
func (c *Caps) FixCRs(cr0, cr4 uint64) CRFix {
	f := CRFix{CR0: c.CR0.Apply(cr0), CR4: c.CR4.Apply(cr4)}
	f.Changes = append(diffBits("CR0", cr0, f.CR0, cr0Names), diffBits("CR4", cr4, f.CR4, cr4Names)...)
	return f
}

// FixedBitsOK reports whether cr0 and cr4 already satisfy the VMX-fixed
// bits, so that VMXON will not fail because of them.
func (c *Caps) FixedBitsOK(cr0, cr4 uint64) bool { return c.CR0.OK(cr0) && c.CR4.OK(cr4) }

func diffBits(reg string, from, to uint64, names map[int]string) []string {
	var out []string
	for i := 0; i < 64; i++ {
		m := uint64(1) << i
		if (from^to)&m == 0 {
			continue
		}
		name := fmt.Sprintf("%s bit %d", reg, i)
		if n, ok := names[i]; ok {
			name = reg + "." + n
		}
		if to&m != 0 {
			out = append(out, name+" set")
		} else {
			out = append(out, name+" cleared")
		}
	}
	return out
}

// IA32_FEATURE_CONTROL bits (SDM Vol. 4 Table 2-2, address 3AH; Vol. 3C
// §24.7 "Enabling and Entering VMX Operation").
const (
	FeatureControlLock          = 1 << 0 // SDM Vol. 4 Table 2-2 (3AH): bit 0, lock
	FeatureControlVMXInsideSMX  = 1 << 1 // SDM Vol. 4 Table 2-2 (3AH): bit 1, enable VMX inside SMX operation
	FeatureControlVMXOutsideSMX = 1 << 2 // SDM Vol. 4 Table 2-2 (3AH): bit 2, enable VMX outside SMX operation
)

// Status is whether VT-x can be used, as decided by FeatureControlState.
type Status int

const (
	// StatusNotPresent: CPUID.1:ECX.VMX[bit 5] = 0.
	StatusNotPresent Status = iota
	// StatusLockedOff: IA32_FEATURE_CONTROL is locked with VMX outside
	// SMX disabled; only the firmware setup can change it.
	StatusLockedOff
	// StatusUnlocked: IA32_FEATURE_CONTROL is not locked; the hypervisor
	// must write it (enable VMX outside SMX, lock) before VMXON.
	StatusUnlocked
	// StatusEnabled: locked with VMX outside SMX enabled; VMXON may run.
	StatusEnabled
	// StatusUnreadable: VMX is present but IA32_FEATURE_CONTROL could not
	// be read, so VMXON cannot be known to succeed.
	StatusUnreadable
)

func (s Status) String() string {
	switch s {
	case StatusNotPresent:
		return "not present"
	case StatusLockedOff:
		return "locked off"
	case StatusUnlocked:
		return "unlocked"
	case StatusEnabled:
		return "enabled"
	case StatusUnreadable:
		return "unreadable"
	}
	return fmt.Sprintf("Status(%d)", int(s))
}

// FeatureControlState decides whether VMX operation can be entered (SDM
// Vol. 3C §24.7 "Enabling and Entering VMX Operation": VMXON raises #GP
// unless IA32_FEATURE_CONTROL has the lock bit and, outside SMX, bit 2 set).
// cpuidVMX is CPUID.1:ECX.VMX[bit 5]; featureControl and readErr are the
// result of reading IA32_FEATURE_CONTROL (ignored when cpuidVMX is false).
//
// write is the value the hypervisor must write to IA32_FEATURE_CONTROL
// before VMXON, for StatusUnlocked only (the current value with bits 0 and 2
// set); msg is a one-line explanation for the console.
func FeatureControlState(cpuidVMX bool, featureControl uint64, readErr error) (st Status, write uint64, msg string) {
	if !cpuidVMX {
		return StatusNotPresent, 0, "VT-x is not present: CPUID.1:ECX.VMX[bit 5] = 0"
	}
	if readErr != nil {
		return StatusUnreadable, 0, fmt.Sprintf("VT-x is unusable: IA32_FEATURE_CONTROL (MSR %#x) cannot be read: %v", MSRFeatureControl, readErr)
	}
	v := featureControl
	switch {
	case v&FeatureControlLock == 0:
		w := v | FeatureControlLock | FeatureControlVMXOutsideSMX
		return StatusUnlocked, w, fmt.Sprintf("IA32_FEATURE_CONTROL = %#x is not locked: enabling VMX outside SMX and locking it (writing %#x)", v, w)
	case v&FeatureControlVMXOutsideSMX == 0 && v&FeatureControlVMXInsideSMX != 0:
		return StatusLockedOff, 0, fmt.Sprintf("VT-x is enabled by the firmware only inside SMX (Intel TXT) (IA32_FEATURE_CONTROL = %#x, locked): enable Intel VT-x in the firmware setup", v)
	case v&FeatureControlVMXOutsideSMX == 0:
		return StatusLockedOff, 0, fmt.Sprintf("VT-x is disabled by the firmware (IA32_FEATURE_CONTROL = %#x, locked): enable Intel VT-x in the firmware setup", v)
	default:
		return StatusEnabled, 0, fmt.Sprintf("VT-x is enabled by the firmware (IA32_FEATURE_CONTROL = %#x, locked)", v)
	}
}
