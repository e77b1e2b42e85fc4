//go:build tamago

#include "textflag.h"

// func peek(addr uint64) uint64
TEXT ·peek(SB),NOSPLIT,$0-16
	MOVQ	addr+0(FP), AX
	MOVQ	(AX), AX
	MOVQ	AX, ret+8(FP)
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
