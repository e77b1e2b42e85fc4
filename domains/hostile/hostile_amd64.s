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
