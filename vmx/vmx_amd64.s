// VMX instructions, hand-encoded: the Go assembler has no VMX mnemonics.
// Encodings: Intel SDM Vol. 2 and Vol. 3C chapter 32 "VMX Instruction
// Reference" (31 in older editions). Every VMX instruction reports through
// RFLAGS (SDM Vol. 3C 32.2 "Conventions"): CF=1 VMfailInvalid (no current
// VMCS), ZF=1 VMfailValid (error number in VM_INSTRUCTION_ERROR), both clear
// VMsucceed. The functions return 0, 1 (VMfailInvalid) or 2 (VMfailValid).

#include "go_asm.h"
#include "textflag.h"

// status sets AL to the VMX outcome from RFLAGS.
#define STATUS \
	SETCS	BL; \
	SETEQ	CL; \
	SHLB	$1, CL; \
	ORB	CL, BL; \
	MOVB	BL, AL

// CF wins over ZF: VMfailInvalid leaves ZF clear, VMfailValid leaves CF clear.

// VMWRITE RAX, RBX: the field in RAX gets RBX (0F 79 /r).
#define VMWRITE_AX_BX BYTE $0x0f; BYTE $0x79; BYTE $0xc3
// VMREAD RBX, RAX: RBX gets the field in RAX (0F 78 /r). With a current
// VMCS and a field that exists, neither fails.
#define VMREAD_BX_AX BYTE $0x0f; BYTE $0x78; BYTE $0xc3
// The FPU state instructions on the area at RSI, EDX:EAX the component
// mask for the XSAVE forms (SDM Vol. 2 "XSAVE", "XRSTOR", "FXSAVE",
// "FXRSTOR": REX.W 0F AE /4, /5, /0, /1).
#define XSAVE64_SI BYTE $0x48; BYTE $0x0f; BYTE $0xae; BYTE $0x26
#define XRSTOR64_SI BYTE $0x48; BYTE $0x0f; BYTE $0xae; BYTE $0x2e
#define FXSAVE64_SI BYTE $0x48; BYTE $0x0f; BYTE $0xae; BYTE $0x06
#define FXRSTOR64_SI BYTE $0x48; BYTE $0x0f; BYTE $0xae; BYTE $0x0e
// TSC_TO stores the time-stamp counter at dst (clobbers AX, DX).
#define TSC_TO(dst) RDTSC; SHLQ $32, DX; ORQ DX, AX; MOVQ AX, dst
// VMREAD_TO stores the field whose encoding is enc at dst (clobbers AX, BX).
#define VMREAD_TO(enc, dst) MOVQ $enc, AX; VMREAD_BX_AX; MOVQ BX, dst

// LOAD_GUEST_GPRS loads the guest's registers from regs (DI), DI last.
// MOVs leave the flags alone.
#define LOAD_GUEST_GPRS \
	MOVQ	G_RAX, AX; \
	MOVQ	G_RCX, CX; \
	MOVQ	G_RDX, DX; \
	MOVQ	G_RBX, BX; \
	MOVQ	G_RBP, BP; \
	MOVQ	G_RSI, SI; \
	MOVQ	G_R8, R8; \
	MOVQ	G_R9, R9; \
	MOVQ	G_R10, R10; \
	MOVQ	G_R11, R11; \
	MOVQ	G_R12, R12; \
	MOVQ	G_R13, R13; \
	MOVQ	G_R14, R14; \
	MOVQ	G_R15, R15; \
	MOVQ	G_RDI, DI

// ENTRY_FAILED ends vmrun when its VMLAUNCH or VMRESUME, or a fast path's
// VMRESUME, fails: still in the host, in vmrun's frame, with the
// guest's GPRs loaded and the flags the instruction set. It gives the host
// a clean FPU and returns the outcome from vmrun (8(SP) regs, 16(SP) the
// caller's BP, then the return address and vmrun's result at 24(SP) once
// the frame is popped); the Go side ends the domain.
#define ENTRY_FAILED \
	STATUS; \
	MOVQ	8(SP), DI; \
	MOVQ	AX, BX; \
	CALL	·hostFPU<>(SB); \
	MOVQ	BX, AX; \
	MOVQ	16(SP), BP; \
	LEAQ	24(SP), SP; \
	MOVB	AX, 24(SP); \
	RET

// func vmxon(pa uint64) uint8
TEXT ·vmxon(SB),NOSPLIT,$0-9
	LEAQ	pa+0(FP), AX
	BYTE $0xf3; BYTE $0x0f; BYTE $0xc7; BYTE $0x30	// VMXON [RAX] (F3 0F C7 /6)
	STATUS
	MOVB	AX, ret+8(FP)
	RET

// func vmxoff() uint8
TEXT ·vmxoff(SB),NOSPLIT,$0-1
	BYTE $0x0f; BYTE $0x01; BYTE $0xc4			// VMXOFF (0F 01 C4)
	STATUS
	MOVB	AX, ret+0(FP)
	RET

// func vmclear(pa uint64) uint8
TEXT ·vmclear(SB),NOSPLIT,$0-9
	LEAQ	pa+0(FP), AX
	BYTE $0x66; BYTE $0x0f; BYTE $0xc7; BYTE $0x30	// VMCLEAR [RAX] (66 0F C7 /6)
	STATUS
	MOVB	AX, ret+8(FP)
	RET

// func vmptrld(pa uint64) uint8
TEXT ·vmptrld(SB),NOSPLIT,$0-9
	LEAQ	pa+0(FP), AX
	BYTE $0x0f; BYTE $0xc7; BYTE $0x30			// VMPTRLD [RAX] (0F C7 /6)
	STATUS
	MOVB	AX, ret+8(FP)
	RET

// func vmread(field uint32) (val uint64, st uint8)
TEXT ·vmread(SB),NOSPLIT,$0-17
	MOVL	field+0(FP), AX
	XORQ	BX, BX
	BYTE $0x0f; BYTE $0x78; BYTE $0xc3			// VMREAD RBX, RAX (0F 78 /r)
	MOVQ	BX, DX
	STATUS
	MOVQ	DX, val+8(FP)
	MOVB	AX, st+16(FP)
	RET

// func vmwrite(field uint32, val uint64) uint8
TEXT ·vmwrite(SB),NOSPLIT,$0-17
	MOVL	field+0(FP), AX
	MOVQ	val+8(FP), BX
	BYTE $0x0f; BYTE $0x79; BYTE $0xc3			// VMWRITE RAX, RBX (0F 79 /r)
	STATUS
	MOVB	AX, ret+16(FP)
	RET

// func readGuestPaging() (cr0, cr3, cr4, efer uint64)
TEXT ·readGuestPaging(SB),NOSPLIT,$0-32
	VMREAD_TO(const_GuestCR0, cr0+0(FP))
	VMREAD_TO(const_GuestCR3, cr3+8(FP))
	VMREAD_TO(const_GuestCR4, cr4+16(FP))
	VMREAD_TO(const_GuestIA32EFER, efer+24(FP))
	RET

// func invept(typ uint64, eptp uint64) uint8
TEXT ·invept(SB),NOSPLIT,$16-17
	// The INVEPT descriptor: EPTP, then 64 reserved zero bits (SDM Vol. 3C
	// 32.3 "INVEPT", Figure 32-1).
	MOVQ	eptp+8(FP), AX
	MOVQ	AX, desc-16(SP)
	MOVQ	$0, desc-8(SP)
	MOVQ	typ+0(FP), AX
	LEAQ	desc-16(SP), BX
	BYTE $0x66; BYTE $0x0f; BYTE $0x38; BYTE $0x80; BYTE $0x03	// INVEPT RAX, [RBX]
	STATUS
	MOVB	AX, ret+16(FP)
	RET

// func invvpid(typ uint64, vpid uint64, addr uint64) uint8
TEXT ·invvpid(SB),NOSPLIT,$16-25
	// The INVVPID descriptor: VPID in bits 15:0, then the linear address
	// (SDM Vol. 3C 32.3 "INVVPID", Figure 32-2).
	MOVQ	vpid+8(FP), AX
	ANDQ	$0xffff, AX
	MOVQ	AX, desc-16(SP)
	MOVQ	addr+16(FP), AX
	MOVQ	AX, desc-8(SP)
	MOVQ	typ+0(FP), AX
	LEAQ	desc-16(SP), BX
	BYTE $0x66; BYTE $0x0f; BYTE $0x38; BYTE $0x81; BYTE $0x03	// INVVPID RAX, [RBX]
	STATUS
	MOVB	AX, ret+24(FP)
	RET

// func xsave(area uintptr, mask uint64)
TEXT ·xsave(SB),NOSPLIT,$0-16
	MOVQ	area+0(FP), SI
	MOVQ	mask+8(FP), AX
	MOVQ	AX, DX
	SHRQ	$32, DX
	XSAVE64_SI
	RET

// func fxsave(area uintptr)
TEXT ·fxsave(SB),NOSPLIT,$0-8
	MOVQ	area+0(FP), SI
	FXSAVE64_SI
	RET

// func fpuInit()
TEXT ·fpuInit(SB),NOSPLIT,$8-0
	// The state Go code expects: x87 initialized, MXCSR at its power-up
	// value 0x1F80 (SDM Vol. 1 10.2.3.1), all SSE exceptions masked.
	BYTE $0xdb; BYTE $0xe3					// FNINIT
	MOVL	$0x1f80, tmp-8(SP)
	LDMXCSR	tmp-8(SP)
	RET

// Offsets of the guest's general-purpose registers in GuestRegs.GPR, in the
// SDM's register numbering (SDM Vol. 3C Table 28-3: 0 RAX, 1 RCX, 2 RDX,
// 3 RBX, 4 RSP, 5 RBP, 6 RSI, 7 RDI, 8-15 R8-R15). RSP lives in the VMCS.
#define G_RAX (GuestRegs_GPR+0*8)(DI)
#define G_RCX (GuestRegs_GPR+1*8)(DI)
#define G_RDX (GuestRegs_GPR+2*8)(DI)
#define G_RBX (GuestRegs_GPR+3*8)(DI)
#define G_RBP (GuestRegs_GPR+5*8)(DI)
#define G_RSI (GuestRegs_GPR+6*8)(DI)
#define G_RDI (GuestRegs_GPR+7*8)(DI)
#define G_R8 (GuestRegs_GPR+8*8)(DI)
#define G_R9 (GuestRegs_GPR+9*8)(DI)
#define G_R10 (GuestRegs_GPR+10*8)(DI)
#define G_R11 (GuestRegs_GPR+11*8)(DI)
#define G_R12 (GuestRegs_GPR+12*8)(DI)
#define G_R13 (GuestRegs_GPR+13*8)(DI)
#define G_R14 (GuestRegs_GPR+14*8)(DI)
#define G_R15 (GuestRegs_GPR+15*8)(DI)

// func vmrun(regs *GuestRegs, launched bool) uint8
//
// vmrun enters the guest of the current VMCS and returns at its next VM exit
// (0), or at once if the entry fails (1 VMfailInvalid, 2 VMfailValid; a
// failure of the guest state is a VM exit with reason 33 or 34 instead).
// HOST_RIP must be vmexitAddr(). HOST_RSP is written here, because a
// goroutine's stack moves. The guest's FPU/SSE/AVX state is swapped with
// XSAVE/XRSTOR (or FXSAVE/FXRSTOR when regs.XSaveMask is 0), and the host
// gets a clean state back, so no guest register reaches Go code.
TEXT ·vmrun(SB),NOSPLIT|NOFRAME,$0-17
	MOVQ	regs+0(FP), DI
	MOVB	launched+8(FP), CL
	// Three words below the return address, the same at entry and at
	// exit (HOST_RSP): 0(SP) scratch, 8(SP) regs, 16(SP) the caller's BP.
	// LEAQ rather than PUSH: the exit path pops what this path pushed.
	LEAQ	-24(SP), SP
	MOVQ	DI, 8(SP)
	MOVQ	BP, 16(SP)
	MOVQ	$const_HostRSP, AX
	BYTE $0x0f; BYTE $0x79; BYTE $0xc4			// VMWRITE RAX, RSP: HOST_RSP = RSP
	JCS	early
	JEQ	early

	// Fields the Go side changed, and the time slice.
	MOVQ	GuestRegs_Dirty(DI), SI
	TESTQ	$const_RIPDirty, SI
	JEQ	rip
	MOVQ	$const_GuestRIP, AX
	MOVQ	GuestRegs_RIP(DI), BX
	VMWRITE_AX_BX
rip:
	TESTQ	$const_IntrDirty, SI
	JEQ	intr
	MOVQ	$const_GuestInterruptibilityInfo, AX
	MOVQ	GuestRegs_Intr(DI), BX
	VMWRITE_AX_BX
intr:
	TESTQ	$(const_RFLAGSDirty|const_PendingDbgDirty), SI
	JNE	step
stepped:
	MOVQ	$0, GuestRegs_Dirty(DI)
	MOVQ	$const_VMXPreemptionTimerValue, AX
	MOVQ	GuestRegs_Timer(DI), BX
	VMWRITE_AX_BX

	// Guest FPU state.
	MOVQ	GuestRegs_GuestXSave(DI), SI
	MOVQ	GuestRegs_XSaveMask(DI), AX
	TESTQ	AX, AX
	JEQ	fxrstor
	MOVQ	AX, DX
	SHRQ	$32, DX
	XRSTOR64_SI
	JMP	gprs
fxrstor:
	FXRSTOR64_SI
gprs:
	// MOV to CR2 serializes (SDM Vol. 3A "Serializing
	// Instructions"): only when the guest's differs, which it does only
	// after another vCPU ran (the host takes no page faults).
	MOVQ	GuestRegs_CR2(DI), AX
	MOVQ	CR2, BX
	CMPQ	AX, BX
	JEQ	cr2
	MOVQ	AX, CR2
cr2:
	TSC_TO(GuestRegs_EntryTSC(DI))
	TESTB	CL, CL				// MOVs below leave the flags alone
	LOAD_GUEST_GPRS
	JNE	resume
	BYTE $0x0f; BYTE $0x01; BYTE $0xc2			// VMLAUNCH
	JMP	failed
resume:
	BYTE $0x0f; BYTE $0x01; BYTE $0xc3			// VMRESUME
failed:
	ENTRY_FAILED
early:
	STATUS
out:
	MOVQ	16(SP), BP
	LEAQ	24(SP), SP
	MOVB	AX, ret+16(FP)
	RET
step:
	// An emulated instruction's end under RFLAGS.TF or RF (rare: out of
	// the common path).
	TESTQ	$const_RFLAGSDirty, SI
	JEQ	pending
	MOVQ	$const_GuestRFLAGS, AX
	MOVQ	GuestRegs_RFLAGS(DI), BX
	VMWRITE_AX_BX
pending:
	TESTQ	$const_PendingDbgDirty, SI
	JEQ	stepped
	MOVQ	$const_GuestPendingDbgExceptions, AX
	MOVQ	GuestRegs_PendingDbg(DI), BX
	VMWRITE_AX_BX
	JMP	stepped

// vmexit is HOST_RIP: the CPU arrives here at a VM exit with RSP = HOST_RSP,
// that is, inside vmrun's frame, and returns to vmrun's caller. A VM exit
// leaves RFLAGS clear but for bit 1 (SDM Vol. 3C 28.5.3), so host
// interrupts stay off until Go runs again.
TEXT ·vmexit(SB),NOSPLIT|NOFRAME,$0
	MOVQ	DI, 0(SP)
	MOVQ	8(SP), DI			// regs
	MOVQ	AX, G_RAX
	MOVQ	CX, G_RCX
	MOVQ	DX, G_RDX
	MOVQ	BX, G_RBX
	MOVQ	BP, G_RBP
	MOVQ	SI, G_RSI
	MOVQ	R8, G_R8
	MOVQ	R9, G_R9
	MOVQ	R10, G_R10
	MOVQ	R11, G_R11
	MOVQ	R12, G_R12
	MOVQ	R13, G_R13
	MOVQ	R14, G_R14
	MOVQ	R15, G_R15
	MOVQ	0(SP), AX
	MOVQ	AX, G_RDI
	TSC_TO(GuestRegs_ExitTSC(DI))
	MOVQ	AX, R8				// now
	MOVQ	$const_VMExitReason, AX
	VMREAD_BX_AX
	MOVQ	BX, GuestRegs_ExitReason(DI)
	CMPQ	BX, $const_ExitReasonCPUID
	JEQ	cpuid
	CMPQ	BX, $const_ExitReasonVMCALL
	JEQ	vmcall

slow:
	// The exit information every handler needs.
	MOVQ	CR2, AX
	MOVQ	AX, GuestRegs_CR2(DI)
	VMREAD_TO(const_ExitQualification, GuestRegs_ExitQual(DI))
	VMREAD_TO(const_GuestRIP, GuestRegs_RIP(DI))
	VMREAD_TO(const_VMExitInstructionLen, GuestRegs_InsnLen(DI))
	VMREAD_TO(const_GuestInterruptibilityInfo, GuestRegs_Intr(DI))
	VMREAD_TO(const_GuestCSAccessRights, GuestRegs_CSAccessRights(DI))
	VMREAD_TO(const_GuestSSAccessRights, GuestRegs_SSAccessRights(DI))
	VMREAD_TO(const_GuestRFLAGS, GuestRegs_RFLAGS(DI))

	// The guest's FPU state out, the host's clean one in, with the same
	// component mask in EDX:EAX (hostFPU, inlined).
	MOVQ	GuestRegs_GuestXSave(DI), SI
	MOVQ	GuestRegs_XSaveMask(DI), AX
	TESTQ	AX, AX
	JEQ	fxsave
	MOVQ	AX, DX
	SHRQ	$32, DX
	XSAVE64_SI
	MOVQ	GuestRegs_HostXSave(DI), SI
	XRSTOR64_SI
	JMP	saved
fxsave:
	FXSAVE64_SI
	MOVQ	GuestRegs_HostXSave(DI), SI
	FXRSTOR64_SI
saved:
	MOVQ	16(SP), BP
	LEAQ	24(SP), SP
	MOVB	$0, 24(SP)			// vmrun's result: 8(SP) regs, 16(SP) launched, 24(SP) ret
	RET

vmcall:
	// The VMCALL fast path: a hypercall whose answer never changes
	// (vmx.HypercallCache), in Xen's x86-64 convention, number in RAX and
	// first argument in RDI (public/xen.h). Hypercalls from CPL > 0 are
	// Go's to refuse: the CPL is SS.DPL (SDM Vol. 3C 25.4.1, bits 6:5 of
	// the access rights). 64-bit mode is checked with the RIP step below
	// (other modes use the x86-32 convention). The slot: (RAX ^ RDI) & 3
	// (vmx.HypercallSlot), 32 bytes each. A miss (most hypercalls) is
	// known first.
	MOVQ	G_RAX, AX
	MOVQ	G_RDI, CX
	MOVQ	AX, DX
	XORQ	CX, DX
	ANDQ	$(const_HypercallCacheSlots-1), DX
	SHLQ	$const_hypercallEntryShift, DX
	LEAQ	GuestRegs_HypercallCache(DI)(DX*1), SI
	CMPQ	HypercallEntry_Nr(SI), AX
	JNE	slow
	CMPQ	HypercallEntry_Arg(SI), CX
	JNE	slow
	CMPQ	HypercallEntry_Valid(SI), $0
	JEQ	slow
	MOVQ	$const_GuestSSAccessRights, AX
	VMREAD_BX_AX
	TESTL	$(3<<5), BX
	JNE	slow
	JMP	emulate

cpuid:
	// The CPUID fast path: a cached answer goes straight back to the
	// guest, which never left VMX non-root operation as far as its FPU,
	// CR2 and the Go side are concerned (none of them changed). Anything
	// unusual takes the slow path: a miss, the end of the slice, or an
	// STI or MOV SS shadow to clear. The slot: (leaf ^ leaf>>29 ^ sub*5)
	// & 15 (vmx.CPUIDSlot), 32 bytes each.
	MOVL	G_RAX, AX			// leaf: CPUID reads EAX and ECX only
	MOVL	G_RCX, CX			// (SDM Vol. 2A "CPUID")
	MOVL	AX, DX
	SHRL	$29, DX
	XORL	AX, DX
	LEAL	(CX)(CX*4), SI
	XORL	SI, DX
	ANDL	$(const_CPUIDCacheSlots-1), DX
	SHLL	$const_cpuidEntryShift, DX
	LEAQ	GuestRegs_CPUIDCache(DI)(DX*1), SI
	CMPL	CPUIDEntry_Leaf(SI), AX
	JNE	slow
	CMPL	CPUIDEntry_Sub(SI), CX
	JNE	slow
	CMPL	CPUIDEntry_Valid(SI), $0
	JEQ	slow

emulate:
	// Both fast paths from here, SI the cached answer, R8 the exit's
	// TSC. Emulating an instruction ends blocking by STI and by MOV SS
	// (SDM Vol. 3C 25.4.2, Table 25-3): the slow path clears it.
	MOVQ	$const_GuestInterruptibilityInfo, AX
	VMREAD_BX_AX
	TESTL	$3, BX
	JNE	slow
	// So does a single-step trap due after it (RFLAGS.TF, SDM Vol. 3B
	// 17.3.1.4) or a resume flag to clear (RF, 17.3.1.1).
	MOVQ	$const_GuestRFLAGS, AX
	VMREAD_BX_AX
	TESTL	$(1<<8 | 1<<16), BX
	JNE	slow
	// The rest of the slice, in preemption-timer ticks: the timer counts
	// down at the TSC rate >> IA32_VMX_MISC[4:0] (SDM Vol. 3C 26.5.1).
	// The Go side keeps Deadline-now within the 32-bit field.
	MOVQ	GuestRegs_Deadline(DI), R9
	SUBQ	R8, R9
	JBE	slow				// the slice is over (or Deadline is 0)
	MOVQ	GuestRegs_TimerShift(DI), CX
	SHRQ	CX, R9
	MOVQ	R9, BX
	MOVQ	$const_VMXPreemptionTimerValue, AX
	VMWRITE_AX_BX
	// Past the instruction: GUEST_RIP += VM_EXIT_INSTRUCTION_LEN, which
	// CPUID and VMCALL exits report (SDM Vol. 3C 28.2.5).
	// RIP wraps with the code size: 64-bit code (CS.L) does not, 32-bit
	// code (CS.D) wraps at 4 GiB, 16-bit code at 64 KiB, which the slow
	// path handles (SDM Vol. 3A 3.4.5, "L" and "D/B" flags).
	MOVQ	$const_GuestRIP, AX
	VMREAD_BX_AX
	MOVQ	BX, R9
	MOVQ	$const_VMExitInstructionLen, AX
	VMREAD_BX_AX
	ADDQ	BX, R9
	MOVQ	$const_GuestCSAccessRights, AX
	VMREAD_BX_AX
	TESTL	$(1<<13), BX			// CS.L
	JEQ	compat
	MOVQ	$const_GuestIA32EFER, AX	// L counts in IA-32e mode only
	VMREAD_BX_AX
	TESTL	$(1<<10), BX			// EFER.LMA
	JNE	rip
	JMP	slow				// reserved L outside it: Go decides
compat:
	CMPQ	GuestRegs_ExitReason(DI), $const_ExitReasonVMCALL
	JEQ	slow				// the x86-32 hypercall convention: Go
	TESTL	$(1<<14), BX			// CS.D
	JEQ	slow
	MOVL	R9, R9				// 32-bit code: zero-extend
rip:
	MOVQ	R9, BX
	MOVQ	$const_GuestRIP, AX
	VMWRITE_AX_BX
	CMPQ	GuestRegs_ExitReason(DI), $const_ExitReasonVMCALL
	JEQ	answered
	// The answer: 32-bit results clear the upper halves (SDM Vol. 1
	// 3.4.1.1), as CPUID does.
	MOVL	(CPUIDEntry_Out+0)(SI), AX
	MOVQ	AX, G_RAX
	MOVL	(CPUIDEntry_Out+4)(SI), AX
	MOVQ	AX, G_RBX
	MOVL	(CPUIDEntry_Out+8)(SI), AX
	MOVQ	AX, G_RCX
	MOVL	(CPUIDEntry_Out+12)(SI), AX
	MOVQ	AX, G_RDX
	// Accounting: one more exit, and the guest time since the last entry.
	INCQ	GuestRegs_FastCPUID(DI)
	JMP	resume
answered:
	// The hypercall's result in RAX, and one more exit.
	MOVQ	HypercallEntry_Ret(SI), AX
	MOVQ	AX, G_RAX
	INCQ	GuestRegs_FastVMCALL(DI)
resume:
	SUBQ	GuestRegs_EntryTSC(DI), R8
	ADDQ	R8, GuestRegs_FastGuestTicks(DI)
	TSC_TO(GuestRegs_EntryTSC(DI))
	LOAD_GUEST_GPRS
	BYTE $0x0f; BYTE $0x01; BYTE $0xc3			// VMRESUME
	ENTRY_FAILED


// hostFPU loads the host's clean FPU state from regs (DI). Clobbers AX, DX, SI.
TEXT ·hostFPU<>(SB),NOSPLIT|NOFRAME,$0
	MOVQ	GuestRegs_HostXSave(DI), SI
	MOVQ	GuestRegs_XSaveMask(DI), AX
	TESTQ	AX, AX
	JEQ	fx
	MOVQ	AX, DX
	SHRQ	$32, DX
	XRSTOR64_SI
	RET
fx:
	FXRSTOR64_SI
	RET

// func vmexitAddr() uintptr
TEXT ·vmexitAddr(SB),NOSPLIT,$0-8
	MOVQ	$·vmexit(SB), AX
	MOVQ	AX, ret+0(FP)
	RET
