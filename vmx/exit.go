package vmx

import (
	"fmt"
	"strings"
)

// This file decodes what a VM exit leaves in the VM-exit information fields
// (SDM Vol. 3C §25.9 "VM-Exit Information Fields"): the exit reason, the
// exit qualification of the common exits, the interruption-information
// format, and the VM-instruction error numbers; and the guest
// interruptibility and activity states. The exit-qualification formats are
// in Vol. 3C §28.2.1 "Basic VM-Exit Information" (§29.2.1 in some later
// editions, §27.2.1 before 2023); the tables are cited by title.

// ExitReason is a basic exit reason: bits 15:0 of the VM_EXIT_REASON field
// (SDM Vol. 3D Appendix C "VMX Basic Exit Reasons", Table C-1 "Basic Exit
// Reasons").
type ExitReason uint16

// Basic exit reasons (SDM Vol. 3D Appendix C, Table C-1). Numbers the table
// does not list (35, 38, 42, 71, 82, 83) are not declared.
const (
	ExitReasonExceptionNMI               ExitReason = 0  // exception or non-maskable interrupt (NMI)
	ExitReasonExternalInterrupt          ExitReason = 1  // external interrupt
	ExitReasonTripleFault                ExitReason = 2  // triple fault
	ExitReasonINITSignal                 ExitReason = 3  // INIT signal
	ExitReasonSIPI                       ExitReason = 4  // start-up IPI (SIPI)
	ExitReasonIOSMI                      ExitReason = 5  // I/O system-management interrupt (SMI)
	ExitReasonOtherSMI                   ExitReason = 6  // other SMI
	ExitReasonInterruptWindow            ExitReason = 7  // interrupt window
	ExitReasonNMIWindow                  ExitReason = 8  // NMI window
	ExitReasonTaskSwitch                 ExitReason = 9  // task switch
	ExitReasonCPUID                      ExitReason = 10 // CPUID
	ExitReasonGETSEC                     ExitReason = 11 // GETSEC
	ExitReasonHLT                        ExitReason = 12 // HLT
	ExitReasonINVD                       ExitReason = 13 // INVD
	ExitReasonINVLPG                     ExitReason = 14 // INVLPG
	ExitReasonRDPMC                      ExitReason = 15 // RDPMC
	ExitReasonRDTSC                      ExitReason = 16 // RDTSC
	ExitReasonRSM                        ExitReason = 17 // RSM
	ExitReasonVMCALL                     ExitReason = 18 // VMCALL
	ExitReasonVMCLEAR                    ExitReason = 19 // VMCLEAR
	ExitReasonVMLAUNCH                   ExitReason = 20 // VMLAUNCH
	ExitReasonVMPTRLD                    ExitReason = 21 // VMPTRLD
	ExitReasonVMPTRST                    ExitReason = 22 // VMPTRST
	ExitReasonVMREAD                     ExitReason = 23 // VMREAD
	ExitReasonVMRESUME                   ExitReason = 24 // VMRESUME
	ExitReasonVMWRITE                    ExitReason = 25 // VMWRITE
	ExitReasonVMXOFF                     ExitReason = 26 // VMXOFF
	ExitReasonVMXON                      ExitReason = 27 // VMXON
	ExitReasonCRAccess                   ExitReason = 28 // control-register accesses
	ExitReasonDRAccess                   ExitReason = 29 // MOV DR
	ExitReasonIOInstruction              ExitReason = 30 // I/O instruction
	ExitReasonRDMSR                      ExitReason = 31 // RDMSR
	ExitReasonWRMSR                      ExitReason = 32 // WRMSR (or WRMSRNS)
	ExitReasonEntryFailInvalidGuestState ExitReason = 33 // VM-entry failure due to invalid guest state
	ExitReasonEntryFailMSRLoading        ExitReason = 34 // VM-entry failure due to MSR loading
	ExitReasonMWAIT                      ExitReason = 36 // MWAIT
	ExitReasonMonitorTrapFlag            ExitReason = 37 // monitor trap flag
	ExitReasonMONITOR                    ExitReason = 39 // MONITOR
	ExitReasonPAUSE                      ExitReason = 40 // PAUSE
	ExitReasonEntryFailMachineCheck      ExitReason = 41 // VM-entry failure due to machine-check event
	ExitReasonTPRBelowThreshold          ExitReason = 43 // TPR below threshold
	ExitReasonAPICAccess                 ExitReason = 44 // APIC access
	ExitReasonVirtualizedEOI             ExitReason = 45 // virtualized EOI
	ExitReasonGDTRIDTRAccess             ExitReason = 46 // access to GDTR or IDTR
	ExitReasonLDTRTRAccess               ExitReason = 47 // access to LDTR or TR
	ExitReasonEPTViolation               ExitReason = 48 // EPT violation
	ExitReasonEPTMisconfig               ExitReason = 49 // EPT misconfiguration
	ExitReasonINVEPT                     ExitReason = 50 // INVEPT
	ExitReasonRDTSCP                     ExitReason = 51 // RDTSCP
	ExitReasonPreemptionTimer            ExitReason = 52 // VMX-preemption timer expired
	ExitReasonINVVPID                    ExitReason = 53 // INVVPID
	ExitReasonWBINVD                     ExitReason = 54 // WBINVD (or WBNOINVD)
	ExitReasonXSETBV                     ExitReason = 55 // XSETBV
	ExitReasonAPICWrite                  ExitReason = 56 // APIC write
	ExitReasonRDRAND                     ExitReason = 57 // RDRAND
	ExitReasonINVPCID                    ExitReason = 58 // INVPCID
	ExitReasonVMFUNC                     ExitReason = 59 // VMFUNC
	ExitReasonENCLS                      ExitReason = 60 // ENCLS
	ExitReasonRDSEED                     ExitReason = 61 // RDSEED
	ExitReasonPMLFull                    ExitReason = 62 // page-modification log full
	ExitReasonXSAVES                     ExitReason = 63 // XSAVES
	ExitReasonXRSTORS                    ExitReason = 64 // XRSTORS
	ExitReasonPCONFIG                    ExitReason = 65 // PCONFIG
	ExitReasonSPPEvent                   ExitReason = 66 // SPP-related event
	ExitReasonUMWAIT                     ExitReason = 67 // UMWAIT
	ExitReasonTPAUSE                     ExitReason = 68 // TPAUSE
	ExitReasonLOADIWKEY                  ExitReason = 69 // LOADIWKEY
	ExitReasonENCLV                      ExitReason = 70 // ENCLV
	ExitReasonENQCMDPASIDFailure         ExitReason = 72 // ENQCMD PASID translation failure
	ExitReasonENQCMDSPASIDFailure        ExitReason = 73 // ENQCMDS PASID translation failure
	ExitReasonBusLock                    ExitReason = 74 // bus lock
	ExitReasonNotify                     ExitReason = 75 // instruction timeout ("notify VM exit")
	ExitReasonSEAMCALL                   ExitReason = 76 // SEAMCALL
	ExitReasonTDCALL                     ExitReason = 77 // TDCALL
	ExitReasonRDMSRLIST                  ExitReason = 78 // RDMSRLIST
	ExitReasonWRMSRLIST                  ExitReason = 79 // WRMSRLIST
	ExitReasonURDMSR                     ExitReason = 80 // URDMSR
	ExitReasonUWRMSR                     ExitReason = 81 // UWRMSR
	ExitReasonRDMSRImm                   ExitReason = 84 // RDMSR with an immediate operand
	ExitReasonWRMSRNSImm                 ExitReason = 85 // WRMSRNS with an immediate operand
)

// NumExitReasons is one more than the largest basic exit reason declared
// above: a table indexed by ExitReason needs this many entries.
const NumExitReasons = 86

var exitReasonNames = [NumExitReasons]string{
	ExitReasonExceptionNMI:               "exception or NMI",
	ExitReasonExternalInterrupt:          "external interrupt",
	ExitReasonTripleFault:                "triple fault",
	ExitReasonINITSignal:                 "INIT signal",
	ExitReasonSIPI:                       "start-up IPI",
	ExitReasonIOSMI:                      "I/O SMI",
	ExitReasonOtherSMI:                   "other SMI",
	ExitReasonInterruptWindow:            "interrupt window",
	ExitReasonNMIWindow:                  "NMI window",
	ExitReasonTaskSwitch:                 "task switch",
	ExitReasonCPUID:                      "CPUID",
	ExitReasonGETSEC:                     "GETSEC",
	ExitReasonHLT:                        "HLT",
	ExitReasonINVD:                       "INVD",
	ExitReasonINVLPG:                     "INVLPG",
	ExitReasonRDPMC:                      "RDPMC",
	ExitReasonRDTSC:                      "RDTSC",
	ExitReasonRSM:                        "RSM",
	ExitReasonVMCALL:                     "VMCALL",
	ExitReasonVMCLEAR:                    "VMCLEAR",
	ExitReasonVMLAUNCH:                   "VMLAUNCH",
	ExitReasonVMPTRLD:                    "VMPTRLD",
	ExitReasonVMPTRST:                    "VMPTRST",
	ExitReasonVMREAD:                     "VMREAD",
	ExitReasonVMRESUME:                   "VMRESUME",
	ExitReasonVMWRITE:                    "VMWRITE",
	ExitReasonVMXOFF:                     "VMXOFF",
	ExitReasonVMXON:                      "VMXON",
	ExitReasonCRAccess:                   "control-register access",
	ExitReasonDRAccess:                   "MOV DR",
	ExitReasonIOInstruction:              "I/O instruction",
	ExitReasonRDMSR:                      "RDMSR",
	ExitReasonWRMSR:                      "WRMSR",
	ExitReasonEntryFailInvalidGuestState: "VM-entry failure due to invalid guest state",
	ExitReasonEntryFailMSRLoading:        "VM-entry failure due to MSR loading",
	ExitReasonMWAIT:                      "MWAIT",
	ExitReasonMonitorTrapFlag:            "monitor trap flag",
	ExitReasonMONITOR:                    "MONITOR",
	ExitReasonPAUSE:                      "PAUSE",
	ExitReasonEntryFailMachineCheck:      "VM-entry failure due to machine-check event",
	ExitReasonTPRBelowThreshold:          "TPR below threshold",
	ExitReasonAPICAccess:                 "APIC access",
	ExitReasonVirtualizedEOI:             "virtualized EOI",
	ExitReasonGDTRIDTRAccess:             "access to GDTR or IDTR",
	ExitReasonLDTRTRAccess:               "access to LDTR or TR",
	ExitReasonEPTViolation:               "EPT violation",
	ExitReasonEPTMisconfig:               "EPT misconfiguration",
	ExitReasonINVEPT:                     "INVEPT",
	ExitReasonRDTSCP:                     "RDTSCP",
	ExitReasonPreemptionTimer:            "VMX-preemption timer expired",
	ExitReasonINVVPID:                    "INVVPID",
	ExitReasonWBINVD:                     "WBINVD",
	ExitReasonXSETBV:                     "XSETBV",
	ExitReasonAPICWrite:                  "APIC write",
	ExitReasonRDRAND:                     "RDRAND",
	ExitReasonINVPCID:                    "INVPCID",
	ExitReasonVMFUNC:                     "VMFUNC",
	ExitReasonENCLS:                      "ENCLS",
	ExitReasonRDSEED:                     "RDSEED",
	ExitReasonPMLFull:                    "page-modification log full",
	ExitReasonXSAVES:                     "XSAVES",
	ExitReasonXRSTORS:                    "XRSTORS",
	ExitReasonPCONFIG:                    "PCONFIG",
	ExitReasonSPPEvent:                   "SPP-related event",
	ExitReasonUMWAIT:                     "UMWAIT",
	ExitReasonTPAUSE:                     "TPAUSE",
	ExitReasonLOADIWKEY:                  "LOADIWKEY",
	ExitReasonENCLV:                      "ENCLV",
	ExitReasonENQCMDPASIDFailure:         "ENQCMD PASID translation failure",
	ExitReasonENQCMDSPASIDFailure:        "ENQCMDS PASID translation failure",
	ExitReasonBusLock:                    "bus lock",
	ExitReasonNotify:                     "instruction timeout",
	ExitReasonSEAMCALL:                   "SEAMCALL",
	ExitReasonTDCALL:                     "TDCALL",
	ExitReasonRDMSRLIST:                  "RDMSRLIST",
	ExitReasonWRMSRLIST:                  "WRMSRLIST",
	ExitReasonURDMSR:                     "URDMSR",
	ExitReasonUWRMSR:                     "UWRMSR",
	ExitReasonRDMSRImm:                   "RDMSR (immediate)",
	ExitReasonWRMSRNSImm:                 "WRMSRNS (immediate)",
}

// String describes the exit reason as Table C-1 does ("EPT violation"), or
// "exit reason N" for a number it does not list.
func (r ExitReason) String() string {
	if int(r) < len(exitReasonNames) && exitReasonNames[r] != "" {
		return exitReasonNames[r]
	}
	return fmt.Sprintf("exit reason %d", uint16(r))
}

// EntryFailureCause explains the exit qualification of a VM-entry failure
// (SDM Vol. 3C 27.8 "VM-Entry Failures During or After Loading Guest
// State"): for invalid guest state, 2 = loading the PDPTEs, 3 = an NMI
// injected into a guest blocking events by STI, 4 = the VMCS link pointer,
// otherwise (0) a check of the guest-state area (27.3.1); for MSR loading,
// the 1-based index of the VM-entry MSR-load entry that failed.
func EntryFailureCause(r ExitReason, qual uint64) string {
	switch r {
	case ExitReasonEntryFailInvalidGuestState:
		switch qual {
		case 2:
			return "loading the PDPTEs failed"
		case 3:
			return "an NMI was injected into a guest blocking events by STI"
		case 4:
			return "the VMCS link pointer is invalid"
		}
		return "the guest state breaks the checks of SDM Vol. 3C 27.3.1"
	case ExitReasonEntryFailMSRLoading:
		return fmt.Sprintf("entry %d of the VM-entry MSR-load area could not be loaded", qual)
	case ExitReasonEntryFailMachineCheck:
		return "a machine check arrived during VM entry"
	}
	return "not a VM-entry failure"
}

// Bits of the VM_EXIT_REASON field (SDM Vol. 3C §25.9.1 "Basic VM-Exit
// Information", table "Format of Exit Reason").
const (
	exitBusLock      = 1 << 26 // a bus lock was asserted in VMX non-root operation
	exitEnclaveMode  = 1 << 27 // the VM exit was incident to enclave mode
	exitPendingMTF   = 1 << 28 // pending MTF VM exit (SMM VM exits)
	exitFromVMXRoot  = 1 << 29 // VM exit from VMX root operation (SMM VM exits)
	exitEntryFailure = 1 << 31 // VM-entry failure (0 = true VM exit)
)

// ExitInfo is the decoded 32-bit VM_EXIT_REASON field (SDM Vol. 3C §25.9.1
// "Basic VM-Exit Information", table "Format of Exit Reason").
type ExitInfo struct {
	// Reason is the basic exit reason, bits 15:0.
	Reason ExitReason
	// BusLockDetected is bit 26: the guest asserted a bus lock (with the
	// "bus-lock detection" control), reported alongside a VM exit for
	// another reason.
	BusLockDetected bool
	// EnclaveMode is bit 27: the VM exit was incident to enclave mode.
	EnclaveMode bool
	// PendingMTF is bit 28: a monitor-trap-flag VM exit was pending (SMM
	// VM exits only).
	PendingMTF bool
	// FromVMXRoot is bit 29: the VM exit came from VMX root operation (SMM
	// VM exits only).
	FromVMXRoot bool
	// EntryFailure is bit 31: VM entry failed (exit reasons 33, 34 and 41)
	// rather than a true VM exit.
	EntryFailure bool
}

// DecodeExitInfo decodes the value of the VM_EXIT_REASON field.
func DecodeExitInfo(v uint32) ExitInfo {
	return ExitInfo{
		Reason:          ExitReason(v),
		BusLockDetected: v&exitBusLock != 0,
		EnclaveMode:     v&exitEnclaveMode != 0,
		PendingMTF:      v&exitPendingMTF != 0,
		FromVMXRoot:     v&exitFromVMXRoot != 0,
		EntryFailure:    v&exitEntryFailure != 0,
	}
}

// Encode is the inverse of DecodeExitInfo.
func (e ExitInfo) Encode() uint32 {
	v := uint32(e.Reason)
	v |= b2u(e.BusLockDetected, exitBusLock) | b2u(e.EnclaveMode, exitEnclaveMode) |
		b2u(e.PendingMTF, exitPendingMTF) | b2u(e.FromVMXRoot, exitFromVMXRoot) |
		b2u(e.EntryFailure, exitEntryFailure)
	return v
}

// String gives the basic exit reason and the flags that are set: "EPT
// violation", "VM-entry failure due to invalid guest state [VM-entry
// failure]".
func (e ExitInfo) String() string {
	var flags []string
	if e.EntryFailure {
		flags = append(flags, "VM-entry failure")
	}
	if e.BusLockDetected {
		flags = append(flags, "bus lock detected")
	}
	if e.EnclaveMode {
		flags = append(flags, "enclave mode")
	}
	if e.PendingMTF {
		flags = append(flags, "pending MTF")
	}
	if e.FromVMXRoot {
		flags = append(flags, "from VMX root operation")
	}
	if len(flags) == 0 {
		return e.Reason.String()
	}
	return e.Reason.String() + " [" + strings.Join(flags, ", ") + "]"
}

func b2u(b bool, bit uint32) uint32 {
	if b {
		return bit
	}
	return 0
}

// InstructionError is a VM-instruction error number, the value of the
// VM_INSTRUCTION_ERROR field after a VMX instruction ends in VMfailValid
// (SDM Vol. 3C §31.4 "VM Instruction Error Numbers", Table 31-1
// "VM-Instruction Error Numbers"; §30.4 and Table 30-1 before 2023).
type InstructionError uint32

// VM-instruction error numbers (SDM Vol. 3C §31.4, Table 31-1). Numbers 14,
// 21 and 27 are not used.
const (
	InstrErrVMCALLInRoot                InstructionError = 1  // VMCALL executed in VMX root operation
	InstrErrVMCLEARInvalidAddr          InstructionError = 2  // VMCLEAR with invalid physical address
	InstrErrVMCLEARVMXONPointer         InstructionError = 3  // VMCLEAR with VMXON pointer
	InstrErrVMLAUNCHNonClear            InstructionError = 4  // VMLAUNCH with non-clear VMCS
	InstrErrVMRESUMENonLaunched         InstructionError = 5  // VMRESUME with non-launched VMCS
	InstrErrVMRESUMEAfterVMXOFF         InstructionError = 6  // VMRESUME after VMXOFF
	InstrErrEntryInvalidControl         InstructionError = 7  // VM entry with invalid control field(s)
	InstrErrEntryInvalidHostState       InstructionError = 8  // VM entry with invalid host-state field(s)
	InstrErrVMPTRLDInvalidAddr          InstructionError = 9  // VMPTRLD with invalid physical address
	InstrErrVMPTRLDVMXONPointer         InstructionError = 10 // VMPTRLD with VMXON pointer
	InstrErrVMPTRLDBadRevision          InstructionError = 11 // VMPTRLD with incorrect VMCS revision identifier
	InstrErrUnsupportedComponent        InstructionError = 12 // VMREAD/VMWRITE from/to unsupported VMCS component
	InstrErrVMWRITEReadOnly             InstructionError = 13 // VMWRITE to read-only VMCS component
	InstrErrVMXONInRoot                 InstructionError = 15 // VMXON executed in VMX root operation
	InstrErrEntryInvalidExecVMCS        InstructionError = 16 // VM entry with invalid executive-VMCS pointer
	InstrErrEntryNonLaunchedExecVMCS    InstructionError = 17 // VM entry with non-launched executive VMCS
	InstrErrEntryExecVMCSNotVMXON       InstructionError = 18 // VM entry with executive-VMCS pointer not VMXON pointer
	InstrErrVMCALLNonClear              InstructionError = 19 // VMCALL with non-clear VMCS
	InstrErrVMCALLInvalidExitControl    InstructionError = 20 // VMCALL with invalid VM-exit control fields
	InstrErrVMCALLBadMSEGRevision       InstructionError = 22 // VMCALL with incorrect MSEG revision identifier
	InstrErrVMXOFFDualMonitor           InstructionError = 23 // VMXOFF under dual-monitor treatment of SMIs and SMM
	InstrErrVMCALLInvalidSMMMonitor     InstructionError = 24 // VMCALL with invalid SMM-monitor features
	InstrErrEntryInvalidExecVMCSControl InstructionError = 25 // VM entry with invalid VM-execution control fields in executive VMCS
	InstrErrEntryBlockedByMOVSS         InstructionError = 26 // VM entry with events blocked by MOV SS
	InstrErrInvalidINVEPTINVVPID        InstructionError = 28 // invalid operand to INVEPT/INVVPID
)

var instructionErrorNames = [...]string{
	InstrErrVMCALLInRoot:                "VMCALL executed in VMX root operation",
	InstrErrVMCLEARInvalidAddr:          "VMCLEAR with invalid physical address",
	InstrErrVMCLEARVMXONPointer:         "VMCLEAR with VMXON pointer",
	InstrErrVMLAUNCHNonClear:            "VMLAUNCH with non-clear VMCS",
	InstrErrVMRESUMENonLaunched:         "VMRESUME with non-launched VMCS",
	InstrErrVMRESUMEAfterVMXOFF:         "VMRESUME after VMXOFF",
	InstrErrEntryInvalidControl:         "VM entry with invalid control field(s)",
	InstrErrEntryInvalidHostState:       "VM entry with invalid host-state field(s)",
	InstrErrVMPTRLDInvalidAddr:          "VMPTRLD with invalid physical address",
	InstrErrVMPTRLDVMXONPointer:         "VMPTRLD with VMXON pointer",
	InstrErrVMPTRLDBadRevision:          "VMPTRLD with incorrect VMCS revision identifier",
	InstrErrUnsupportedComponent:        "VMREAD/VMWRITE from/to unsupported VMCS component",
	InstrErrVMWRITEReadOnly:             "VMWRITE to read-only VMCS component",
	InstrErrVMXONInRoot:                 "VMXON executed in VMX root operation",
	InstrErrEntryInvalidExecVMCS:        "VM entry with invalid executive-VMCS pointer",
	InstrErrEntryNonLaunchedExecVMCS:    "VM entry with non-launched executive VMCS",
	InstrErrEntryExecVMCSNotVMXON:       "VM entry with executive-VMCS pointer not VMXON pointer",
	InstrErrVMCALLNonClear:              "VMCALL with non-clear VMCS",
	InstrErrVMCALLInvalidExitControl:    "VMCALL with invalid VM-exit control fields",
	InstrErrVMCALLBadMSEGRevision:       "VMCALL with incorrect MSEG revision identifier",
	InstrErrVMXOFFDualMonitor:           "VMXOFF under dual-monitor treatment of SMIs and SMM",
	InstrErrVMCALLInvalidSMMMonitor:     "VMCALL with invalid SMM-monitor features",
	InstrErrEntryInvalidExecVMCSControl: "VM entry with invalid VM-execution control fields in executive VMCS",
	InstrErrEntryBlockedByMOVSS:         "VM entry with events blocked by MOV SS",
	InstrErrInvalidINVEPTINVVPID:        "Invalid operand to INVEPT/INVVPID",
}

// String describes the error as Table 31-1 does, or "VM-instruction error
// N" for a number the table does not list.
func (e InstructionError) String() string {
	if uint64(e) < uint64(len(instructionErrorNames)) && instructionErrorNames[e] != "" {
		return instructionErrorNames[e]
	}
	return fmt.Sprintf("VM-instruction error %d", uint32(e))
}

// Error makes an InstructionError usable as an error:
// "vmx: VM-instruction error 7: VM entry with invalid control field(s)".
func (e InstructionError) Error() string {
	if uint64(e) < uint64(len(instructionErrorNames)) && instructionErrorNames[e] != "" {
		return fmt.Sprintf("vmx: VM-instruction error %d: %s", uint32(e), instructionErrorNames[e])
	}
	return fmt.Sprintf("vmx: VM-instruction error %d", uint32(e))
}

// regName names a general-purpose register in the numbering the exit
// qualifications and the VM-exit instruction information use (Table 28-3
// "Exit Qualification for Control-Register Accesses", bits 11:8): GPRNames,
// in capitals.
func regName(r int) string {
	if r >= 0 && r < len(GPRNames) {
		return strings.ToUpper(GPRNames[r])
	}
	return fmt.Sprintf("GPR%d", r)
}

// CRAccessType is the access type of a control-register access, bits 5:4 of
// its exit qualification (Table 28-3 "Exit Qualification for
// Control-Register Accesses").
type CRAccessType uint8

// Control-register access types.
const (
	CRAccessMovTo   CRAccessType = 0 // MOV to CR
	CRAccessMovFrom CRAccessType = 1 // MOV from CR
	CRAccessCLTS    CRAccessType = 2 // CLTS
	CRAccessLMSW    CRAccessType = 3 // LMSW
)

func (t CRAccessType) String() string {
	switch t {
	case CRAccessMovTo:
		return "MOV to CR"
	case CRAccessMovFrom:
		return "MOV from CR"
	case CRAccessCLTS:
		return "CLTS"
	case CRAccessLMSW:
		return "LMSW"
	}
	return fmt.Sprintf("CR access type %d", uint8(t))
}

// CRAccess is the exit qualification of a control-register access (exit
// reason 28; Table 28-3 "Exit Qualification for Control-Register
// Accesses").
type CRAccess struct {
	// CR is the control register, bits 3:0: 0, 3, 4 or 8 (0 for CLTS and
	// LMSW, which act on CR0).
	CR int
	// Type is the access type, bits 5:4.
	Type CRAccessType
	// LMSWMemory is the LMSW operand type, bit 6: set when the operand is
	// in memory, clear when in a register (and for CLTS and MOV CR).
	LMSWMemory bool
	// Reg is the general-purpose register of a MOV CR, bits 11:8, in the
	// GuestRegs.GPR numbering (RAX, RCX, RDX, RBX, RSP, RBP, RSI, RDI,
	// R8-R15); 0 for CLTS and LMSW.
	Reg int
	// LMSWSource is the LMSW source data, bits 31:16; 0 for CLTS and
	// MOV CR.
	LMSWSource uint16
}

// DecodeCRAccess decodes the exit qualification of a control-register
// access.
func DecodeCRAccess(q uint64) CRAccess {
	return CRAccess{
		CR:         int(q & 0xf),
		Type:       CRAccessType(q>>4) & 3,
		LMSWMemory: q&(1<<6) != 0,
		Reg:        int(q>>8) & 0xf,
		LMSWSource: uint16(q >> 16),
	}
}

// String renders the access as an instruction: "MOV CR3, RAX",
// "MOV RCX, CR8", "CLTS", "LMSW 0x1 (register)".
func (c CRAccess) String() string {
	switch c.Type {
	case CRAccessMovTo:
		return fmt.Sprintf("MOV CR%d, %s", c.CR, regName(c.Reg))
	case CRAccessMovFrom:
		return fmt.Sprintf("MOV %s, CR%d", regName(c.Reg), c.CR)
	case CRAccessCLTS:
		return "CLTS"
	}
	op := "register"
	if c.LMSWMemory {
		op = "memory"
	}
	return fmt.Sprintf("LMSW %#x (%s)", c.LMSWSource, op)
}

// DRAccess is the exit qualification of a MOV DR (exit reason 29; Table 28-4
// "Exit Qualification for MOV DR").
type DRAccess struct {
	// DR is the debug register, bits 2:0.
	DR int
	// FromDR is the direction of access, bit 4: set for MOV from DR, clear
	// for MOV to DR.
	FromDR bool
	// Reg is the general-purpose register, bits 11:8, in the
	// GuestRegs.GPR numbering.
	Reg int
}

// DecodeDRAccess decodes the exit qualification of a MOV DR.
func DecodeDRAccess(q uint64) DRAccess {
	return DRAccess{
		DR:     int(q & 7),
		FromDR: q&(1<<4) != 0,
		Reg:    int(q>>8) & 0xf,
	}
}

// String renders the access as an instruction: "MOV DR7, RAX",
// "MOV RDX, DR6".
func (d DRAccess) String() string {
	if d.FromDR {
		return fmt.Sprintf("MOV %s, DR%d", regName(d.Reg), d.DR)
	}
	return fmt.Sprintf("MOV DR%d, %s", d.DR, regName(d.Reg))
}

// IOInstruction is the exit qualification of an I/O instruction (exit
// reason 30; Table 28-5 "Exit Qualification for I/O Instructions").
type IOInstruction struct {
	// Size is the size of the access in bytes: 1, 2 or 4 (bits 2:0 = 0, 1
	// or 3); 0 if bits 2:0 hold a value the SDM does not use.
	Size int
	// In is the direction, bit 3: set for IN/INS, clear for OUT/OUTS.
	In bool
	// StringOp is bit 4: INS or OUTS.
	StringOp bool
	// Rep is bit 5: the instruction has a REP prefix.
	Rep bool
	// Immediate is the operand encoding, bit 6: set when the port is an
	// immediate operand, clear when it is in DX.
	Immediate bool
	// Port is the port number, bits 31:16.
	Port uint16
}

// DecodeIOInstruction decodes the exit qualification of an I/O
// instruction.
func DecodeIOInstruction(q uint64) IOInstruction {
	io := IOInstruction{
		In:        q&(1<<3) != 0,
		StringOp:  q&(1<<4) != 0,
		Rep:       q&(1<<5) != 0,
		Immediate: q&(1<<6) != 0,
		Port:      uint16(q >> 16),
	}
	switch q & 7 {
	case 0:
		io.Size = 1
	case 1:
		io.Size = 2
	case 3:
		io.Size = 4
	}
	return io
}

// String renders the access: "OUT port 0x3f8, 1 byte",
// "REP INS port 0x1f0, 2 bytes", "IN port 0x60, 1 byte, immediate".
func (io IOInstruction) String() string {
	var b strings.Builder
	if io.Rep {
		b.WriteString("REP ")
	}
	if io.In {
		b.WriteString("IN")
	} else {
		b.WriteString("OUT")
	}
	if io.StringOp {
		b.WriteString("S")
	}
	fmt.Fprintf(&b, " port %#x, ", io.Port)
	switch io.Size {
	case 0:
		b.WriteString("invalid size")
	case 1:
		b.WriteString("1 byte")
	default:
		fmt.Fprintf(&b, "%d bytes", io.Size)
	}
	if io.Immediate {
		b.WriteString(", immediate")
	}
	return b.String()
}

// TaskSwitchSource is how a task switch was initiated, bits 31:30 of its
// exit qualification (Table 28-2 "Exit Qualification for Task Switch").
type TaskSwitchSource uint8

// Task-switch sources.
const (
	TaskSwitchCALL TaskSwitchSource = 0 // CALL instruction
	TaskSwitchIRET TaskSwitchSource = 1 // IRET instruction
	TaskSwitchJMP  TaskSwitchSource = 2 // JMP instruction
	TaskSwitchIDT  TaskSwitchSource = 3 // task gate in IDT
)

func (s TaskSwitchSource) String() string {
	switch s {
	case TaskSwitchCALL:
		return "CALL"
	case TaskSwitchIRET:
		return "IRET"
	case TaskSwitchJMP:
		return "JMP"
	case TaskSwitchIDT:
		return "task gate in IDT"
	}
	return fmt.Sprintf("task-switch source %d", uint8(s))
}

// TaskSwitch is the exit qualification of a task switch (exit reason 9;
// Table 28-2 "Exit Qualification for Task Switch").
type TaskSwitch struct {
	// Selector is the selector of the task-state segment (TSS) to which
	// the guest attempted to switch, bits 15:0.
	Selector uint16
	// Source is the source of the task switch, bits 31:30.
	Source TaskSwitchSource
}

// DecodeTaskSwitch decodes the exit qualification of a task switch.
func DecodeTaskSwitch(q uint64) TaskSwitch {
	return TaskSwitch{Selector: uint16(q), Source: TaskSwitchSource(q>>30) & 3}
}

// String: "task switch by JMP to TSS selector 0x28".
func (t TaskSwitch) String() string {
	return fmt.Sprintf("task switch by %s to TSS selector %#x", t.Source, t.Selector)
}

// InterruptionType is the type of an event in the interruption-information
// format, bits 10:8 (SDM Vol. 3C §25.8.3 "VM-Entry Controls for Event
// Injection", table "Format of the VM-Entry Interruption-Information Field";
// §25.9.2 "Information for VM Exits Due to Vectored Events", table "Format of
// the VM-Exit Interruption-Information Field"; §25.9.3 "Information for VM
// Exits That Occur During Event Delivery", table "Format of the
// IDT-Vectoring Information Field").
type InterruptionType uint8

// Interruption types. Type 1 is reserved.
const (
	IntrTypeExternal            InterruptionType = 0 // external interrupt
	IntrTypeNMI                 InterruptionType = 2 // non-maskable interrupt (NMI)
	IntrTypeHardwareException   InterruptionType = 3 // hardware exception (#DE, #UD, #GP, …; not #BP, #OF)
	IntrTypeSoftwareInterrupt   InterruptionType = 4 // software interrupt (INT n)
	IntrTypePrivilegedException InterruptionType = 5 // privileged software exception (INT1)
	IntrTypeSoftwareException   InterruptionType = 6 // software exception (INT3, INTO)
	IntrTypeOther               InterruptionType = 7 // other event (MTF injection)
)

func (t InterruptionType) String() string {
	switch t {
	case IntrTypeExternal:
		return "external interrupt"
	case IntrTypeNMI:
		return "NMI"
	case IntrTypeHardwareException:
		return "hardware exception"
	case IntrTypeSoftwareInterrupt:
		return "software interrupt"
	case IntrTypePrivilegedException:
		return "privileged software exception"
	case IntrTypeSoftwareException:
		return "software exception"
	case IntrTypeOther:
		return "other event"
	}
	return fmt.Sprintf("interruption type %d", uint8(t))
}

// Bits of the interruption-information format (same tables as
// InterruptionType).
const (
	intrVectorMask    = 0xff    // bits 7:0: vector
	intrTypeShift     = 8       // bits 10:8: interruption type
	intrErrorCode     = 1 << 11 // bit 11: deliver (or valid) error code
	intrNMIUnblocking = 1 << 12 // bit 12: NMI unblocking due to IRET (VM-exit interruption information only)
	intrValid         = 1 << 31 // bit 31: valid
)

// InterruptionInfo is the interruption-information format shared by
// VM_EXIT_INTR_INFO, IDT_VECTORING_INFO_FIELD and VM_ENTRY_INTR_INFO_FIELD.
type InterruptionInfo struct {
	// Vector is the vector of the interrupt or exception, bits 7:0 (2 for
	// an NMI, 0 for "other event").
	Vector uint8
	// Type is the interruption type, bits 10:8.
	Type InterruptionType
	// ErrorCode is bit 11: an error code is valid (on VM exit; the error
	// code is in VM_EXIT_INTR_ERROR_CODE or IDT_VECTORING_ERROR_CODE) or
	// is to be delivered (on VM entry; from
	// VM_ENTRY_EXCEPTION_ERROR_CODE).
	ErrorCode bool
	// NMIUnblocking is bit 12 of VM_EXIT_INTR_INFO: NMI unblocking due to
	// IRET. It is undefined in the IDT-vectoring information and must be 0
	// on VM entry (bits 30:12 are reserved there).
	NMIUnblocking bool
	// Valid is bit 31: the other fields are meaningful (on VM entry: an
	// event is to be injected).
	Valid bool
}

// DecodeInterruptionInfo decodes an interruption-information field. The
// reserved bits are ignored.
func DecodeInterruptionInfo(v uint32) InterruptionInfo {
	return InterruptionInfo{
		Vector:        uint8(v & intrVectorMask),
		Type:          InterruptionType(v>>intrTypeShift) & 7,
		ErrorCode:     v&intrErrorCode != 0,
		NMIUnblocking: v&intrNMIUnblocking != 0,
		Valid:         v&intrValid != 0,
	}
}

// Encode is the inverse of DecodeInterruptionInfo.
func (i InterruptionInfo) Encode() uint32 {
	return uint32(i.Vector) | uint32(i.Type&7)<<intrTypeShift |
		b2u(i.ErrorCode, intrErrorCode) | b2u(i.NMIUnblocking, intrNMIUnblocking) |
		b2u(i.Valid, intrValid)
}

// String: "hardware exception #GP, error code", "external interrupt vector
// 0x20", "not valid".
func (i InterruptionInfo) String() string {
	if !i.Valid {
		return "not valid"
	}
	var b strings.Builder
	b.WriteString(i.Type.String())
	switch i.Type {
	case IntrTypeHardwareException, IntrTypeSoftwareException, IntrTypePrivilegedException:
		b.WriteString(" ")
		b.WriteString(ExceptionName(i.Vector))
	case IntrTypeNMI:
		if i.Vector != VectorNMI {
			fmt.Fprintf(&b, " vector %d", i.Vector)
		}
	case IntrTypeOther:
		if i.Vector != 0 {
			fmt.Fprintf(&b, " vector %d", i.Vector)
		}
	default:
		fmt.Fprintf(&b, " vector %#x", i.Vector)
	}
	if i.ErrorCode {
		b.WriteString(", error code")
	}
	if i.NMIUnblocking {
		b.WriteString(", NMI unblocking due to IRET")
	}
	return b.String()
}

// MakeInterruptionInfo returns the value to write to
// VM_ENTRY_INTR_INFO_FIELD to inject an event on the next VM entry: the
// vector, the interruption type, the deliver-error-code bit (the error code
// goes in VM_ENTRY_EXCEPTION_ERROR_CODE) and the valid bit (SDM Vol. 3C
// §25.8.3, table "Format of the VM-Entry Interruption-Information Field").
// For a hardware exception, errorCode must be ExceptionHasErrorCode(vector)
// when the guest is in protected mode, or VM entry fails (§27.2.1.3
// "Checks on VM-Entry Control Fields").
func MakeInterruptionInfo(vector uint8, typ InterruptionType, errorCode bool) uint32 {
	return InterruptionInfo{Vector: vector, Type: typ, ErrorCode: errorCode, Valid: true}.Encode()
}

// Exception vectors (SDM Vol. 3A, table "Protected-Mode Exceptions and
// Interrupts", Table 6-1 in the editions up to 2023). Vectors 9 (coprocessor
// segment overrun, no longer generated) and 15 are reserved.
const (
	VectorDE  = 0  // #DE divide error
	VectorDB  = 1  // #DB debug exception
	VectorNMI = 2  // NMI interrupt
	VectorBP  = 3  // #BP breakpoint (INT3)
	VectorOF  = 4  // #OF overflow (INTO)
	VectorBR  = 5  // #BR BOUND range exceeded
	VectorUD  = 6  // #UD invalid opcode
	VectorNM  = 7  // #NM device not available
	VectorDF  = 8  // #DF double fault
	VectorTS  = 10 // #TS invalid TSS
	VectorNP  = 11 // #NP segment not present
	VectorSS  = 12 // #SS stack-segment fault
	VectorGP  = 13 // #GP general protection
	VectorPF  = 14 // #PF page fault
	VectorMF  = 16 // #MF x87 floating-point error
	VectorAC  = 17 // #AC alignment check
	VectorMC  = 18 // #MC machine check
	VectorXM  = 19 // #XM SIMD floating-point exception
	VectorVE  = 20 // #VE virtualization exception
	VectorCP  = 21 // #CP control protection exception
)

var exceptionNames = [...]string{
	VectorDE: "#DE", VectorDB: "#DB", VectorNMI: "NMI", VectorBP: "#BP", VectorOF: "#OF",
	VectorBR: "#BR", VectorUD: "#UD", VectorNM: "#NM", VectorDF: "#DF",
	9:        "coprocessor segment overrun",
	VectorTS: "#TS", VectorNP: "#NP", VectorSS: "#SS", VectorGP: "#GP", VectorPF: "#PF",
	VectorMF: "#MF", VectorAC: "#AC", VectorMC: "#MC", VectorXM: "#XM", VectorVE: "#VE",
	VectorCP: "#CP",
}

// ExceptionName returns the mnemonic of an exception vector ("#GP"),
// "NMI" for vector 2, or "vector N" for a reserved vector or one above 21.
func ExceptionName(vector uint8) string {
	if int(vector) < len(exceptionNames) && exceptionNames[vector] != "" {
		return exceptionNames[vector]
	}
	return fmt.Sprintf("vector %d", vector)
}

// ExceptionHasErrorCode reports whether the exception with this vector
// pushes an error code: #DF, #TS, #NP, #SS, #GP, #PF, #AC and #CP (SDM
// Vol. 3A, table "Protected-Mode Exceptions and Interrupts", column "Error
// Code").
func ExceptionHasErrorCode(vector uint8) bool {
	switch vector {
	case VectorDF, VectorTS, VectorNP, VectorSS, VectorGP, VectorPF, VectorAC, VectorCP:
		return true
	}
	return false
}

// Interruptibility is the value of GUEST_INTERRUPTIBILITY_INFO (SDM Vol. 3C
// §25.4.2 "Guest Non-Register State", table "Format of Interruptibility
// State").
type Interruptibility uint32

// Interruptibility-state bits. Bits 31:5 are reserved.
const (
	BlockingBySTI       Interruptibility = 1 << 0 // blocking by STI
	BlockingByMOVSS     Interruptibility = 1 << 1 // blocking by MOV SS (or POP SS)
	BlockingBySMI       Interruptibility = 1 << 2 // blocking by SMI
	BlockingByNMI       Interruptibility = 1 << 3 // blocking by NMI (virtual-NMI blocking with "virtual NMIs")
	EnclaveInterruption Interruptibility = 1 << 4 // the VM exit was incident to enclave mode
)

var interruptibilityNames = [...]string{"STI", "MOV-SS", "SMI", "NMI", "enclave interruption"}

// String lists the blocking bits that are set: "STI|NMI", or "none".
func (i Interruptibility) String() string {
	if i == 0 {
		return "none"
	}
	var parts []string
	for n := 0; n < 32; n++ {
		if i&(1<<n) == 0 {
			continue
		}
		if n < len(interruptibilityNames) {
			parts = append(parts, interruptibilityNames[n])
		} else {
			parts = append(parts, fmt.Sprintf("bit %d", n))
		}
	}
	return strings.Join(parts, "|")
}

// ActivityState is the value of GUEST_ACTIVITY_STATE (SDM Vol. 3C §25.4.2
// "Guest Non-Register State"). IA32_VMX_MISC bits 8:6 report which of the
// inactive states a processor supports (Misc.ActivityStates).
type ActivityState uint32

// Activity states.
const (
	ActivityActive      ActivityState = 0 // executing instructions normally
	ActivityHLT         ActivityState = 1 // halted by HLT
	ActivityShutdown    ActivityState = 2 // shut down after a triple fault or other serious error
	ActivityWaitForSIPI ActivityState = 3 // waiting for a start-up IPI
)

func (a ActivityState) String() string {
	switch a {
	case ActivityActive:
		return "active"
	case ActivityHLT:
		return "HLT"
	case ActivityShutdown:
		return "shutdown"
	case ActivityWaitForSIPI:
		return "wait-for-SIPI"
	}
	return fmt.Sprintf("activity state %d", uint32(a))
}
