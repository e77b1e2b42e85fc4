package vmx

import (
	"errors"
	"fmt"
	"strings"
	"testing"
)

// TestExitReasonNames checks every ExitReason constant declared in exit.go:
// in range, named, and named uniquely.
func TestExitReasonNames(t *testing.T) {
	consts := declaredConsts(t, "exit.go", "ExitReason")
	if len(consts) < 70 {
		t.Fatalf("found only %d ExitReason constants", len(consts))
	}
	names := make(map[string]string)
	values := make(map[uint64]string)
	var max uint64
	for _, c := range consts {
		if c.Value >= NumExitReasons {
			t.Errorf("%s = %d: not below NumExitReasons (%d)", c.Name, c.Value, NumExitReasons)
			continue
		}
		max = maxU64(max, c.Value)
		if prev, dup := values[c.Value]; dup {
			t.Errorf("%s and %s are both %d", prev, c.Name, c.Value)
		}
		values[c.Value] = c.Name
		s := ExitReason(c.Value).String()
		if s == "" || s == fmt.Sprintf("exit reason %d", c.Value) {
			t.Errorf("%s (%d) has no name: %q", c.Name, c.Value, s)
		}
		if prev, dup := names[s]; dup {
			t.Errorf("%s and %s are both named %q", prev, c.Name, s)
		}
		names[s] = c.Name
	}
	if max != NumExitReasons-1 {
		t.Errorf("largest exit reason %d, NumExitReasons %d", max, NumExitReasons)
	}
	// No name without a constant.
	for r := 0; r < NumExitReasons; r++ {
		if exitReasonNames[r] != "" && values[uint64(r)] == "" {
			t.Errorf("exit reason %d (%q) has a name but no constant", r, exitReasonNames[r])
		}
	}
}

func maxU64(a, b uint64) uint64 {
	if a > b {
		return a
	}
	return b
}

// TestExitReasonValues spot-checks numbers against SDM Vol. 3D Table C-1.
func TestExitReasonValues(t *testing.T) {
	for _, tc := range []struct {
		r    ExitReason
		want uint16
		name string
	}{
		{ExitReasonExceptionNMI, 0, "exception or NMI"},
		{ExitReasonExternalInterrupt, 1, "external interrupt"},
		{ExitReasonTripleFault, 2, "triple fault"},
		{ExitReasonInterruptWindow, 7, "interrupt window"},
		{ExitReasonTaskSwitch, 9, "task switch"},
		{ExitReasonCPUID, 10, "CPUID"},
		{ExitReasonHLT, 12, "HLT"},
		{ExitReasonVMCALL, 18, "VMCALL"},
		{ExitReasonVMXON, 27, "VMXON"},
		{ExitReasonCRAccess, 28, "control-register access"},
		{ExitReasonDRAccess, 29, "MOV DR"},
		{ExitReasonIOInstruction, 30, "I/O instruction"},
		{ExitReasonRDMSR, 31, "RDMSR"},
		{ExitReasonWRMSR, 32, "WRMSR"},
		{ExitReasonEntryFailInvalidGuestState, 33, "VM-entry failure due to invalid guest state"},
		{ExitReasonEntryFailMSRLoading, 34, "VM-entry failure due to MSR loading"},
		{ExitReasonMWAIT, 36, "MWAIT"},
		{ExitReasonMonitorTrapFlag, 37, "monitor trap flag"},
		{ExitReasonMONITOR, 39, "MONITOR"},
		{ExitReasonPAUSE, 40, "PAUSE"},
		{ExitReasonEntryFailMachineCheck, 41, "VM-entry failure due to machine-check event"},
		{ExitReasonTPRBelowThreshold, 43, "TPR below threshold"},
		{ExitReasonEPTViolation, 48, "EPT violation"},
		{ExitReasonEPTMisconfig, 49, "EPT misconfiguration"},
		{ExitReasonPreemptionTimer, 52, "VMX-preemption timer expired"},
		{ExitReasonXSETBV, 55, "XSETBV"},
		{ExitReasonXRSTORS, 64, "XRSTORS"},
		{ExitReasonENCLV, 70, "ENCLV"},
		{ExitReasonENQCMDPASIDFailure, 72, "ENQCMD PASID translation failure"},
		{ExitReasonBusLock, 74, "bus lock"},
		{ExitReasonNotify, 75, "instruction timeout"},
		{ExitReasonTDCALL, 77, "TDCALL"},
		{ExitReasonWRMSRNSImm, 85, "WRMSRNS (immediate)"},
		{35, 35, "exit reason 35"},
		{71, 71, "exit reason 71"},
		{99, 99, "exit reason 99"},
		{0xffff, 0xffff, "exit reason 65535"},
	} {
		if uint16(tc.r) != tc.want {
			t.Errorf("%q = %d, want %d", tc.name, uint16(tc.r), tc.want)
		}
		if got := tc.r.String(); got != tc.name {
			t.Errorf("ExitReason(%d).String() = %q, want %q", tc.want, got, tc.name)
		}
	}
}

func TestDecodeExitInfo(t *testing.T) {
	for _, tc := range []struct {
		v    uint32
		want ExitInfo
		str  string
	}{
		{0x0000_0030, ExitInfo{Reason: ExitReasonEPTViolation}, "EPT violation"},
		{0x0000_000A, ExitInfo{Reason: ExitReasonCPUID}, "CPUID"},
		// VM-entry failures set bit 31 (SDM Vol. 3C §27.8 "VM-Entry
		// Failures During or After Loading Guest State").
		{0x8000_0021, ExitInfo{Reason: ExitReasonEntryFailInvalidGuestState, EntryFailure: true},
			"VM-entry failure due to invalid guest state [VM-entry failure]"},
		{0x8000_0022, ExitInfo{Reason: ExitReasonEntryFailMSRLoading, EntryFailure: true},
			"VM-entry failure due to MSR loading [VM-entry failure]"},
		{0x8000_0029, ExitInfo{Reason: ExitReasonEntryFailMachineCheck, EntryFailure: true},
			"VM-entry failure due to machine-check event [VM-entry failure]"},
		{0x0800_0000, ExitInfo{Reason: ExitReasonExceptionNMI, EnclaveMode: true}, "exception or NMI [enclave mode]"},
		{0x0400_001E, ExitInfo{Reason: ExitReasonIOInstruction, BusLockDetected: true}, "I/O instruction [bus lock detected]"},
		// An SMM VM exit (dual-monitor treatment) from VMX root operation
		// with an MTF VM exit pending.
		{0x3000_0006, ExitInfo{Reason: ExitReasonOtherSMI, PendingMTF: true, FromVMXRoot: true},
			"other SMI [pending MTF, from VMX root operation]"},
		// Undefined bits 30 and 25:16 are ignored.
		{0x4003_0000 | 52, ExitInfo{Reason: ExitReasonPreemptionTimer}, "VMX-preemption timer expired"},
	} {
		got := DecodeExitInfo(tc.v)
		if got != tc.want {
			t.Errorf("DecodeExitInfo(%#x) = %+v, want %+v", tc.v, got, tc.want)
		}
		if s := got.String(); s != tc.str {
			t.Errorf("DecodeExitInfo(%#x).String() = %q, want %q", tc.v, s, tc.str)
		}
		if enc := got.Encode(); enc != tc.v&^0x43ff_0000 {
			t.Errorf("Encode(DecodeExitInfo(%#x)) = %#x", tc.v, enc)
		}
	}
}

func TestInstructionErrors(t *testing.T) {
	consts := declaredConsts(t, "exit.go", "InstructionError")
	if len(consts) != 25 {
		t.Errorf("%d InstructionError constants, want 25 (SDM Vol. 3C Table 31-1)", len(consts))
	}
	names := make(map[string]string)
	for _, c := range consts {
		e := InstructionError(c.Value)
		s := e.String()
		if s == "" || strings.HasPrefix(s, "VM-instruction error") {
			t.Errorf("%s (%d) has no name: %q", c.Name, c.Value, s)
		}
		if prev, dup := names[s]; dup {
			t.Errorf("%s and %s are both named %q", prev, c.Name, s)
		}
		names[s] = c.Name
		if want := fmt.Sprintf("vmx: VM-instruction error %d: %s", c.Value, s); e.Error() != want {
			t.Errorf("%s.Error() = %q, want %q", c.Name, e.Error(), want)
		}
	}
	for _, tc := range []struct {
		e    InstructionError
		want uint32
		str  string
	}{
		{InstrErrVMCALLInRoot, 1, "VMCALL executed in VMX root operation"},
		{InstrErrVMCLEARInvalidAddr, 2, "VMCLEAR with invalid physical address"},
		{InstrErrVMCLEARVMXONPointer, 3, "VMCLEAR with VMXON pointer"},
		{InstrErrVMLAUNCHNonClear, 4, "VMLAUNCH with non-clear VMCS"},
		{InstrErrVMRESUMENonLaunched, 5, "VMRESUME with non-launched VMCS"},
		{InstrErrVMRESUMEAfterVMXOFF, 6, "VMRESUME after VMXOFF"},
		{InstrErrEntryInvalidControl, 7, "VM entry with invalid control field(s)"},
		{InstrErrEntryInvalidHostState, 8, "VM entry with invalid host-state field(s)"},
		{InstrErrVMPTRLDInvalidAddr, 9, "VMPTRLD with invalid physical address"},
		{InstrErrVMPTRLDVMXONPointer, 10, "VMPTRLD with VMXON pointer"},
		{InstrErrVMPTRLDBadRevision, 11, "VMPTRLD with incorrect VMCS revision identifier"},
		{InstrErrUnsupportedComponent, 12, "VMREAD/VMWRITE from/to unsupported VMCS component"},
		{InstrErrVMWRITEReadOnly, 13, "VMWRITE to read-only VMCS component"},
		{InstrErrVMXONInRoot, 15, "VMXON executed in VMX root operation"},
		{InstrErrEntryInvalidExecVMCS, 16, "VM entry with invalid executive-VMCS pointer"},
		{InstrErrEntryNonLaunchedExecVMCS, 17, "VM entry with non-launched executive VMCS"},
		{InstrErrEntryBlockedByMOVSS, 26, "VM entry with events blocked by MOV SS"},
		{InstrErrInvalidINVEPTINVVPID, 28, "Invalid operand to INVEPT/INVVPID"},
		{0, 0, "VM-instruction error 0"},
		{14, 14, "VM-instruction error 14"},
		{29, 29, "VM-instruction error 29"},
		{1 << 31, 1 << 31, "VM-instruction error 2147483648"},
	} {
		if uint32(tc.e) != tc.want {
			t.Errorf("%q = %d, want %d", tc.str, uint32(tc.e), tc.want)
		}
		if got := tc.e.String(); got != tc.str {
			t.Errorf("InstructionError(%d).String() = %q, want %q", tc.want, got, tc.str)
		}
	}
	if got := InstructionError(27).Error(); got != "vmx: VM-instruction error 27" {
		t.Errorf("InstructionError(27).Error() = %q", got)
	}
	var err error = fmt.Errorf("vmlaunch: %w", InstrErrEntryInvalidHostState)
	var ie InstructionError
	if !errors.As(err, &ie) || ie != InstrErrEntryInvalidHostState {
		t.Errorf("errors.As: %v", ie)
	}
}

// The exit-qualification examples below are built bit by bit from the
// tables in SDM Vol. 3C §28.2.1.
func TestDecodeCRAccess(t *testing.T) {
	for _, tc := range []struct {
		q    uint64
		want CRAccess
		str  string
	}{
		// mov %rax, %cr3: CR 3, access type 0, GPR 0.
		{0x0003, CRAccess{CR: 3, Type: CRAccessMovTo, Reg: 0}, "MOV CR3, RAX"},
		// mov %rsp, %cr0.
		{0x0400, CRAccess{CR: 0, Type: CRAccessMovTo, Reg: 4}, "MOV CR0, RSP"},
		// mov %r13, %cr4.
		{0x0D04, CRAccess{CR: 4, Type: CRAccessMovTo, Reg: 13}, "MOV CR4, R13"},
		// mov %cr8, %rcx: access type 1.
		{0x0118, CRAccess{CR: 8, Type: CRAccessMovFrom, Reg: 1}, "MOV RCX, CR8"},
		// mov %cr3, %r15.
		{0x0F13, CRAccess{CR: 3, Type: CRAccessMovFrom, Reg: 15}, "MOV R15, CR3"},
		// clts: access type 2, everything else 0.
		{0x0020, CRAccess{Type: CRAccessCLTS}, "CLTS"},
		// lmsw %ax with AX = 1: access type 3, operand type 0, source data in 31:16.
		{0x0001_0030, CRAccess{Type: CRAccessLMSW, LMSWSource: 1}, "LMSW 0x1 (register)"},
		// lmsw (mem) with the word 0x0031: operand type 1.
		{0x0031_0070, CRAccess{Type: CRAccessLMSW, LMSWMemory: true, LMSWSource: 0x31}, "LMSW 0x31 (memory)"},
		// Bits 63:32 and the reserved bits 7 and 15:12 are ignored.
		{0xFFFF_FFFF_0000_F083, CRAccess{CR: 3, Type: CRAccessMovTo}, "MOV CR3, RAX"},
	} {
		got := DecodeCRAccess(tc.q)
		if got != tc.want {
			t.Errorf("DecodeCRAccess(%#x) = %+v, want %+v", tc.q, got, tc.want)
		}
		if s := got.String(); s != tc.str {
			t.Errorf("DecodeCRAccess(%#x).String() = %q, want %q", tc.q, s, tc.str)
		}
	}
	for typ, want := range []string{"MOV to CR", "MOV from CR", "CLTS", "LMSW"} {
		if got := CRAccessType(typ).String(); got != want {
			t.Errorf("CRAccessType(%d) = %q, want %q", typ, got, want)
		}
	}
}

func TestDecodeDRAccess(t *testing.T) {
	for _, tc := range []struct {
		q    uint64
		want DRAccess
		str  string
	}{
		{0x0007, DRAccess{DR: 7, Reg: 0}, "MOV DR7, RAX"},
		{0x0216, DRAccess{DR: 6, FromDR: true, Reg: 2}, "MOV RDX, DR6"},
		{0x0F00, DRAccess{DR: 0, Reg: 15}, "MOV DR0, R15"},
		{0x0813, DRAccess{DR: 3, FromDR: true, Reg: 8}, "MOV R8, DR3"},
		// Reserved bits 3, 7:5 and 63:12 are ignored.
		{0xFFFF_F0E9, DRAccess{DR: 1}, "MOV DR1, RAX"},
	} {
		got := DecodeDRAccess(tc.q)
		if got != tc.want {
			t.Errorf("DecodeDRAccess(%#x) = %+v, want %+v", tc.q, got, tc.want)
		}
		if s := got.String(); s != tc.str {
			t.Errorf("DecodeDRAccess(%#x).String() = %q, want %q", tc.q, s, tc.str)
		}
	}
}

func TestDecodeIOInstruction(t *testing.T) {
	for _, tc := range []struct {
		q    uint64
		want IOInstruction
		str  string
	}{
		// out %al, (%dx) with DX = 0x3f8: size 0 (1 byte), OUT, DX operand.
		{0x03F8_0000, IOInstruction{Size: 1, Port: 0x3F8}, "OUT port 0x3f8, 1 byte"},
		// in $0x60, %al: IN (bit 3), immediate operand (bit 6).
		{0x0060_0048, IOInstruction{Size: 1, In: true, Immediate: true, Port: 0x60}, "IN port 0x60, 1 byte, immediate"},
		// out %eax, (%dx) with DX = 0xcf8: size 3 (4 bytes).
		{0x0CF8_0003, IOInstruction{Size: 4, Port: 0xCF8}, "OUT port 0xcf8, 4 bytes"},
		// rep insw (%dx), %es:(%rdi) with DX = 0x1f0: size 1, IN, string, REP.
		{0x01F0_0039, IOInstruction{Size: 2, In: true, StringOp: true, Rep: true, Port: 0x1F0}, "REP INS port 0x1f0, 2 bytes"},
		// outsb without REP to port 0x80.
		{0x0080_0010, IOInstruction{Size: 1, StringOp: true, Port: 0x80}, "OUTS port 0x80, 1 byte"},
		// Size value 2 is not used by the SDM.
		{0xFFFF_0002, IOInstruction{Size: 0, Port: 0xFFFF}, "OUT port 0xffff, invalid size"},
		// Reserved bits 15:7 and 63:32 are ignored.
		{0xFFFF_FFFF_0070_FF81, IOInstruction{Size: 2, Port: 0x70}, "OUT port 0x70, 2 bytes"},
	} {
		got := DecodeIOInstruction(tc.q)
		if got != tc.want {
			t.Errorf("DecodeIOInstruction(%#x) = %+v, want %+v", tc.q, got, tc.want)
		}
		if s := got.String(); s != tc.str {
			t.Errorf("DecodeIOInstruction(%#x).String() = %q, want %q", tc.q, s, tc.str)
		}
	}
}

func TestDecodeTaskSwitch(t *testing.T) {
	for _, tc := range []struct {
		q    uint64
		want TaskSwitch
		str  string
	}{
		{0x0000_0028, TaskSwitch{Selector: 0x28, Source: TaskSwitchCALL}, "task switch by CALL to TSS selector 0x28"},
		{0x4000_0030, TaskSwitch{Selector: 0x30, Source: TaskSwitchIRET}, "task switch by IRET to TSS selector 0x30"},
		{0x8000_0058, TaskSwitch{Selector: 0x58, Source: TaskSwitchJMP}, "task switch by JMP to TSS selector 0x58"},
		{0xC000_0040, TaskSwitch{Selector: 0x40, Source: TaskSwitchIDT}, "task switch by task gate in IDT to TSS selector 0x40"},
		// Reserved bits 29:16 and 63:32 are ignored.
		{0xFFFF_FFFF_3FFF_0008, TaskSwitch{Selector: 0x8, Source: TaskSwitchCALL}, "task switch by CALL to TSS selector 0x8"},
	} {
		got := DecodeTaskSwitch(tc.q)
		if got != tc.want {
			t.Errorf("DecodeTaskSwitch(%#x) = %+v, want %+v", tc.q, got, tc.want)
		}
		if s := got.String(); s != tc.str {
			t.Errorf("DecodeTaskSwitch(%#x).String() = %q, want %q", tc.q, s, tc.str)
		}
	}
}

func TestDecodeInterruptionInfo(t *testing.T) {
	for _, tc := range []struct {
		v    uint32
		want InterruptionInfo
		str  string
	}{
		// A #PF with its error code.
		{0x8000_0B0E, InterruptionInfo{Vector: VectorPF, Type: IntrTypeHardwareException, ErrorCode: true, Valid: true},
			"hardware exception #PF, error code"},
		// A #GP that unblocked NMIs on its way out of an IRET.
		{0x8000_1B0D, InterruptionInfo{Vector: VectorGP, Type: IntrTypeHardwareException, ErrorCode: true, NMIUnblocking: true, Valid: true},
			"hardware exception #GP, error code, NMI unblocking due to IRET"},
		{0x8000_0202, InterruptionInfo{Vector: VectorNMI, Type: IntrTypeNMI, Valid: true}, "NMI"},
		{0x8000_0020, InterruptionInfo{Vector: 0x20, Type: IntrTypeExternal, Valid: true}, "external interrupt vector 0x20"},
		{0x8000_0480, InterruptionInfo{Vector: 0x80, Type: IntrTypeSoftwareInterrupt, Valid: true}, "software interrupt vector 0x80"},
		{0x8000_0603, InterruptionInfo{Vector: VectorBP, Type: IntrTypeSoftwareException, Valid: true}, "software exception #BP"},
		{0x8000_0501, InterruptionInfo{Vector: VectorDB, Type: IntrTypePrivilegedException, Valid: true}, "privileged software exception #DB"},
		{0x8000_0700, InterruptionInfo{Type: IntrTypeOther, Valid: true}, "other event"},
		{0x0000_0000, InterruptionInfo{}, "not valid"},
		// Reserved bits 30:13 are ignored.
		{0xFFFF_E306, InterruptionInfo{Vector: VectorUD, Type: IntrTypeHardwareException, Valid: true}, "hardware exception #UD"},
	} {
		got := DecodeInterruptionInfo(tc.v)
		if got != tc.want {
			t.Errorf("DecodeInterruptionInfo(%#x) = %+v, want %+v", tc.v, got, tc.want)
		}
		if s := got.String(); s != tc.str {
			t.Errorf("DecodeInterruptionInfo(%#x).String() = %q, want %q", tc.v, s, tc.str)
		}
	}
}

func TestMakeInterruptionInfo(t *testing.T) {
	for _, tc := range []struct {
		vector    uint8
		typ       InterruptionType
		errorCode bool
		want      uint32
	}{
		{VectorUD, IntrTypeHardwareException, false, 0x8000_0306},
		{VectorGP, IntrTypeHardwareException, true, 0x8000_0B0D},
		{VectorPF, IntrTypeHardwareException, true, 0x8000_0B0E},
		{VectorDF, IntrTypeHardwareException, true, 0x8000_0B08},
		{VectorNMI, IntrTypeNMI, false, 0x8000_0202},
		{0xF3, IntrTypeExternal, false, 0x8000_00F3}, // an upcall vector
		{VectorBP, IntrTypeSoftwareException, false, 0x8000_0603},
		{0x80, IntrTypeSoftwareInterrupt, false, 0x8000_0480},
		{0, IntrTypeOther, false, 0x8000_0700},
	} {
		got := MakeInterruptionInfo(tc.vector, tc.typ, tc.errorCode)
		if got != tc.want {
			t.Errorf("MakeInterruptionInfo(%d, %s, %v) = %#x, want %#x", tc.vector, tc.typ, tc.errorCode, got, tc.want)
		}
		// VM entry requires bits 30:12 to be 0 (SDM Vol. 3C §27.2.1.3).
		if got&0x7FFF_F000 != 0 {
			t.Errorf("MakeInterruptionInfo(%d, %s, %v) = %#x sets reserved bits", tc.vector, tc.typ, tc.errorCode, got)
		}
		d := DecodeInterruptionInfo(got)
		if d.Vector != tc.vector || d.Type != tc.typ || d.ErrorCode != tc.errorCode || !d.Valid || d.NMIUnblocking {
			t.Errorf("DecodeInterruptionInfo(MakeInterruptionInfo(%d, %s, %v)) = %+v", tc.vector, tc.typ, tc.errorCode, d)
		}
	}
}

// TestInterruptionInfoRoundTrip encodes and decodes every combination of
// the defined fields.
func TestInterruptionInfoRoundTrip(t *testing.T) {
	for v := 0; v < 256; v++ {
		for typ := InterruptionType(0); typ < 8; typ++ {
			for bits := 0; bits < 8; bits++ {
				i := InterruptionInfo{
					Vector:        uint8(v),
					Type:          typ,
					ErrorCode:     bits&1 != 0,
					NMIUnblocking: bits&2 != 0,
					Valid:         bits&4 != 0,
				}
				enc := i.Encode()
				if got := DecodeInterruptionInfo(enc); got != i {
					t.Fatalf("DecodeInterruptionInfo(%#x) = %+v, want %+v", enc, got, i)
				}
				if enc&0x7FFF_E000 != 0 {
					t.Fatalf("%+v encodes reserved bits: %#x", i, enc)
				}
				if i.Valid && !i.NMIUnblocking {
					if m := MakeInterruptionInfo(i.Vector, i.Type, i.ErrorCode); m != enc {
						t.Fatalf("MakeInterruptionInfo(%+v) = %#x, Encode = %#x", i, m, enc)
					}
				}
			}
		}
	}
	// And the other way round, on values with the reserved bits clear.
	for _, v := range []uint32{0, 0x8000_0B0E, 0x8000_1FFF, 0x0000_1FFF, 0x8000_0100} {
		if got := DecodeInterruptionInfo(v).Encode(); got != v {
			t.Errorf("Encode(DecodeInterruptionInfo(%#x)) = %#x", v, got)
		}
	}
}

func TestInterruptionTypeStrings(t *testing.T) {
	want := []string{"external interrupt", "interruption type 1", "NMI", "hardware exception",
		"software interrupt", "privileged software exception", "software exception", "other event"}
	for typ, w := range want {
		if got := InterruptionType(typ).String(); got != w {
			t.Errorf("InterruptionType(%d) = %q, want %q", typ, got, w)
		}
	}
}

func TestExceptionNames(t *testing.T) {
	want := map[uint8]string{
		0: "#DE", 1: "#DB", 2: "NMI", 3: "#BP", 4: "#OF", 5: "#BR", 6: "#UD", 7: "#NM", 8: "#DF",
		9: "coprocessor segment overrun", 10: "#TS", 11: "#NP", 12: "#SS", 13: "#GP", 14: "#PF",
		15: "vector 15", 16: "#MF", 17: "#AC", 18: "#MC", 19: "#XM", 20: "#VE", 21: "#CP",
		22: "vector 22", 32: "vector 32", 255: "vector 255",
	}
	for v, w := range want {
		if got := ExceptionName(v); got != w {
			t.Errorf("ExceptionName(%d) = %q, want %q", v, got, w)
		}
	}
	consts := map[string]uint8{"#DE": VectorDE, "#DB": VectorDB, "NMI": VectorNMI, "#BP": VectorBP,
		"#OF": VectorOF, "#BR": VectorBR, "#UD": VectorUD, "#NM": VectorNM, "#DF": VectorDF,
		"#TS": VectorTS, "#NP": VectorNP, "#SS": VectorSS, "#GP": VectorGP, "#PF": VectorPF,
		"#MF": VectorMF, "#AC": VectorAC, "#MC": VectorMC, "#XM": VectorXM, "#VE": VectorVE,
		"#CP": VectorCP}
	for name, v := range consts {
		if got := ExceptionName(v); got != name {
			t.Errorf("ExceptionName(Vector for %s = %d) = %q", name, v, got)
		}
	}
	withCode := map[uint8]bool{8: true, 10: true, 11: true, 12: true, 13: true, 14: true, 17: true, 21: true}
	for v := 0; v < 256; v++ {
		if got := ExceptionHasErrorCode(uint8(v)); got != withCode[uint8(v)] {
			t.Errorf("ExceptionHasErrorCode(%d) = %v", v, got)
		}
	}
}

func TestInterruptibility(t *testing.T) {
	for _, tc := range []struct {
		i    Interruptibility
		want string
	}{
		{0, "none"},
		{BlockingBySTI, "STI"},
		{BlockingByMOVSS, "MOV-SS"},
		{BlockingBySTI | BlockingByNMI, "STI|NMI"},
		{BlockingBySMI | EnclaveInterruption, "SMI|enclave interruption"},
		{1<<5 | 1<<31, "bit 5|bit 31"},
	} {
		if got := tc.i.String(); got != tc.want {
			t.Errorf("Interruptibility(%#x) = %q, want %q", uint32(tc.i), got, tc.want)
		}
	}
	// SDM Vol. 3C §25.4.2, table "Format of Interruptibility State".
	if BlockingBySTI != 1 || BlockingByMOVSS != 2 || BlockingBySMI != 4 || BlockingByNMI != 8 || EnclaveInterruption != 16 {
		t.Error("interruptibility bits moved")
	}
}

func TestActivityState(t *testing.T) {
	for _, tc := range []struct {
		a    ActivityState
		want uint32
		str  string
	}{
		{ActivityActive, 0, "active"},
		{ActivityHLT, 1, "HLT"},
		{ActivityShutdown, 2, "shutdown"},
		{ActivityWaitForSIPI, 3, "wait-for-SIPI"},
		{4, 4, "activity state 4"},
	} {
		if uint32(tc.a) != tc.want || tc.a.String() != tc.str {
			t.Errorf("activity state %d: %q, want %d %q", uint32(tc.a), tc.a.String(), tc.want, tc.str)
		}
	}
}

// SDM Vol. 3C 27.8: the exit qualification of a VM-entry failure.
func TestEntryFailureCause(t *testing.T) {
	for _, tt := range []struct {
		r    ExitReason
		q    uint64
		want string
	}{
		{ExitReasonEntryFailInvalidGuestState, 0, "the guest state breaks the checks of SDM Vol. 3C 27.3.1"},
		{ExitReasonEntryFailInvalidGuestState, 2, "loading the PDPTEs failed"},
		{ExitReasonEntryFailInvalidGuestState, 3, "an NMI was injected into a guest blocking events by STI"},
		{ExitReasonEntryFailInvalidGuestState, 4, "the VMCS link pointer is invalid"},
		{ExitReasonEntryFailMSRLoading, 1, "entry 1 of the VM-entry MSR-load area could not be loaded"},
		{ExitReasonEntryFailMachineCheck, 0, "a machine check arrived during VM entry"},
		{ExitReasonCPUID, 0, "not a VM-entry failure"},
	} {
		if got := EntryFailureCause(tt.r, tt.q); got != tt.want {
			t.Errorf("EntryFailureCause(%d, %d) = %q, want %q", tt.r, tt.q, got, tt.want)
		}
	}
}
