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
