//go:build tamago

#include "textflag.h"

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
