//go:build tamago

#include "textflag.h"

// GPR_SET(reg, n) loads reg with pattern ^ n<<56; GPR_CHECK compares it and
// sets bit n of bad on a mismatch. YMM_SET fills every lane of a YMM
// register with pattern+n+1; YMM_CHECK compares them and sets bit 16+n.
#define GPR_SET(reg, n) MOVQ $(n<<56), reg; XORQ pattern+0(FP), reg
#define GPR_CHECK(reg, n) MOVQ $(n<<56), AX; XORQ pattern+0(FP), AX; CMPQ AX, reg; JEQ 2(PC); BTSQ $n, bad-48(SP)
#define YMM_SET(reg, n) MOVQ pattern+0(FP), AX; ADDQ $(n+1), AX; MOVQ AX, tmp-40(SP); VPBROADCASTQ tmp-40(SP), reg
#define YMM_LANE(off) MOVQ off(SP), DX; XORQ AX, DX; ORQ DX, CX
#define YMM_CHECK(reg, n) VMOVDQU reg, lanes-104(SP); MOVQ pattern+0(FP), AX; ADDQ $(n+1), AX; XORQ CX, CX; YMM_LANE(lanes-104); YMM_LANE(lanes-96); YMM_LANE(lanes-88); YMM_LANE(lanes-80); JEQ 2(PC); BTSQ $(16+n), bad-48(SP)

// func peek(addr uint64) uint64
TEXT ·peek(SB),NOSPLIT,$0-16
	MOVQ	addr+0(FP), AX
	MOVQ	(AX), AX
	MOVQ	AX, ret+8(FP)
	RET

// func poke(addr, val uint64)
TEXT ·poke(SB),NOSPLIT,$0-16
	MOVQ	addr+0(FP), AX
	MOVQ	val+8(FP), BX
	MOVQ	BX, (AX)
	RET

// func vmxon()
TEXT ·vmxon(SB),NOSPLIT,$8-0
	MOVQ	$0, x-8(SP)
	LEAQ	x-8(SP), AX
	BYTE $0xf3; BYTE $0x0f; BYTE $0xc7; BYTE $0x30	// VMXON [RAX] (SDM Vol. 3C "VMXON")
	RET

// func vmcall(nr uint64) int64
TEXT ·vmcall(SB),NOSPLIT,$0-16
	MOVQ	nr+0(FP), AX
	XORQ	DI, DI
	XORQ	SI, SI
	XORQ	DX, DX
	BYTE $0x0f; BYTE $0x01; BYTE $0xc1	// VMCALL (SDM Vol. 2C "VMCALL")
	MOVQ	AX, ret+8(FP)
	RET

// func stepCPUID()
// stepCPUID sets RFLAGS.TF and executes CPUID as the very next
// instruction: the single-step trap (#DB) is due right after CPUID, 16
// bytes into the function (SDM Vol. 3B 17.3.1.4: a POPF that sets TF traps
// after the instruction that follows it).
TEXT ·stepCPUID(SB),NOSPLIT,$0-0
	XORL	AX, AX				// 31 c0
	XORL	CX, CX				// 31 c9
	PUSHFQ					// 9c
	ORQ	$0x100, 0(SP)			// 48 81 0c 24 00 01 00 00
	POPFQ					// 9d
	CPUID					// 0f a2
	RET					// offset 16: the trap is due here

// func stepCPUIDEndAddr() uint64
TEXT ·stepCPUIDEndAddr(SB),NOSPLIT,$0-8
	MOVQ	$·stepCPUID+16(SB), AX
	MOVQ	AX, ret+0(FP)
	RET

// func sgdt() (base uint64, limit uint16)
TEXT ·sgdt(SB),NOSPLIT,$16-10
	SGDT	0(SP)				// limit (2 bytes), then base (8)
	MOVW	0(SP), AX
	MOVW	AX, limit+8(FP)
	MOVQ	2(SP), AX
	MOVQ	AX, base+0(FP)
	RET

// func lgdt(base uint64, limit uint16)
TEXT ·lgdt(SB),NOSPLIT,$16-10
	MOVW	limit+8(FP), AX
	MOVW	AX, 0(SP)
	MOVQ	base+0(FP), AX
	MOVQ	AX, 2(SP)
	LGDT	0(SP)
	RET

// func userCall(nr, arg uint64) int64
// userCall drops to CPL 3 with SYSRET (SDM Vol. 2B "SYSRET": CS from
// IA32_STAR[63:48]+16, SS from +8, both with RPL 3; RIP from RCX, RFLAGS
// from R11), where userStub makes the hypercall and comes back with
// SYSCALL to userReturn (IA32_LSTAR), at CPL 0 on the same stack. It
// returns from there, with the interrupt flag as it was.
TEXT ·userCall(SB),NOSPLIT|NOFRAME,$0-24
	PUSHFQ
	POPQ	AX
	MOVQ	AX, ·userFlags(SB)
	CLI
	MOVQ	8(SP), R12			// nr
	MOVQ	16(SP), R13			// arg
	MOVQ	$·userStub(SB), CX
	MOVQ	$0x2, R11			// RFLAGS: reserved bit 1 only (IF clear)
	BYTE $0x48; BYTE $0x0f; BYTE $0x07	// SYSRETQ

// userStub runs at CPL 3: the hypercall, then SYSCALL back.
TEXT ·userStub(SB),NOSPLIT|NOFRAME,$0
	MOVQ	R12, AX
	MOVQ	R13, DI
	XORQ	SI, SI
	XORQ	DX, DX
	BYTE $0x0f; BYTE $0x01; BYTE $0xc1	// VMCALL
	MOVQ	AX, R12
	BYTE $0x0f; BYTE $0x05			// SYSCALL

// userReturn is IA32_LSTAR: CPL 0 again (CS from IA32_STAR[47:32], SS
// from +8), RSP still userCall's, whose return address is at 0(SP).
TEXT ·userReturn(SB),NOSPLIT|NOFRAME,$0
	MOVQ	R12, 24(SP)			// userCall's result
	MOVQ	·userFlags(SB), AX
	PUSHQ	AX
	POPFQ
	RET

// func userStubAddr() uint64
TEXT ·userStubAddr(SB),NOSPLIT,$0-8
	MOVQ	$·userStub(SB), AX
	MOVQ	AX, ret+0(FP)
	RET

// func userReturnAddr() uint64
TEXT ·userReturnAddr(SB),NOSPLIT,$0-8
	MOVQ	$·userReturn(SB), AX
	MOVQ	AX, ret+0(FP)
	RET

// func regsRound(pattern, spins uint64, call uint8) (bad uint64)
// regsRound fills RCX, RDX, RBX, RBP, RSI, RDI and R8-R15 with pattern ^
// n<<56 (n the register's number, SDM Vol. 3C Table 28-3) and YMM0-15 with
// pattern+n+1 in every lane; makes a hypercall if call says so (1:
// xen_version with RDI as its command, -ENOSYS from the hypervisor's Go
// side after its XSAVE switch; 2: RDI 0, XENVER_version, which the exit
// assembly answers without Go); spins with interrupts off (the VMX
// preemption timer still gives the CPU to other domains); then checks
// every one of them. bad has bit n set for GPR n and bit 16+n for YMMn
// that changed. RAX (the hypercall's result and the counter) and RSP are
// not checked. It needs CR4.OSXSAVE and AVX2.
TEXT ·regsRound(SB),NOSPLIT,$104-32
	MOVQ	BP, saveBP-8(SP)
	MOVQ	R12, save12-16(SP)
	MOVQ	R13, save13-24(SP)
	MOVQ	R14, save14-32(SP)
	MOVQ	R15, save15-56(SP)
	MOVQ	$0, bad-48(SP)
	PUSHFQ
	POPQ	AX
	MOVQ	AX, flags-64(SP)
	CLI
	YMM_SET(Y0, 0)
	YMM_SET(Y1, 1)
	YMM_SET(Y2, 2)
	YMM_SET(Y3, 3)
	YMM_SET(Y4, 4)
	YMM_SET(Y5, 5)
	YMM_SET(Y6, 6)
	YMM_SET(Y7, 7)
	YMM_SET(Y8, 8)
	YMM_SET(Y9, 9)
	YMM_SET(Y10, 10)
	YMM_SET(Y11, 11)
	YMM_SET(Y12, 12)
	YMM_SET(Y13, 13)
	YMM_SET(Y14, 14)
	YMM_SET(Y15, 15)
	GPR_SET(CX, 1)
	GPR_SET(DX, 2)
	GPR_SET(BX, 3)
	GPR_SET(BP, 5)
	GPR_SET(SI, 6)
	GPR_SET(DI, 7)
	GPR_SET(R8, 8)
	GPR_SET(R9, 9)
	GPR_SET(R10, 10)
	GPR_SET(R11, 11)
	GPR_SET(R12, 12)
	GPR_SET(R13, 13)
	GPR_SET(R14, 14)
	GPR_SET(R15, 15)
	CMPB	call+16(FP), $0
	JEQ	spin
	CMPB	call+16(FP), $2
	JNE	2(PC)
	XORQ	DI, DI				// XENVER_version (public/version.h)
	MOVQ	$17, AX				// xen_version (public/xen.h), command RDI
	BYTE $0x0f; BYTE $0x01; BYTE $0xc1	// VMCALL
spin:
	MOVQ	spins+8(FP), AX
loop:
	DECQ	AX
	JNE	loop
	GPR_CHECK(CX, 1)
	GPR_CHECK(DX, 2)
	GPR_CHECK(BX, 3)
	GPR_CHECK(BP, 5)
	GPR_CHECK(SI, 6)
	CMPB	call+16(FP), $2
	JEQ	rdi0
	GPR_CHECK(DI, 7)
	JMP	rdidone
rdi0:
	TESTQ	DI, DI				// the fast path's call left RDI 0
	JEQ	rdidone
	BTSQ	$7, bad-48(SP)
rdidone:
	GPR_CHECK(R8, 8)
	GPR_CHECK(R9, 9)
	GPR_CHECK(R10, 10)
	GPR_CHECK(R11, 11)
	GPR_CHECK(R12, 12)
	GPR_CHECK(R13, 13)
	GPR_CHECK(R14, 14)
	GPR_CHECK(R15, 15)
	YMM_CHECK(Y0, 0)
	YMM_CHECK(Y1, 1)
	YMM_CHECK(Y2, 2)
	YMM_CHECK(Y3, 3)
	YMM_CHECK(Y4, 4)
	YMM_CHECK(Y5, 5)
	YMM_CHECK(Y6, 6)
	YMM_CHECK(Y7, 7)
	YMM_CHECK(Y8, 8)
	YMM_CHECK(Y9, 9)
	YMM_CHECK(Y10, 10)
	YMM_CHECK(Y11, 11)
	YMM_CHECK(Y12, 12)
	YMM_CHECK(Y13, 13)
	YMM_CHECK(Y14, 14)
	YMM_CHECK(Y15, 15)
	VZEROUPPER
	XORPS	X15, X15			// Go's zero register (ABIInternal)
	MOVQ	flags-64(SP), AX
	PUSHQ	AX
	POPFQ
	MOVQ	save15-56(SP), R15
	MOVQ	save14-32(SP), R14
	MOVQ	save13-24(SP), R13
	MOVQ	save12-16(SP), R12
	MOVQ	saveBP-8(SP), BP
	MOVQ	bad-48(SP), AX
	MOVQ	AX, bad+24(FP)
	RET
