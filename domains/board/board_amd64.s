//go:build tamago

#include "go_asm.h"
#include "textflag.h"

#define TAMAVISOR_HYPERCALL 64		// xen.HypercallTamavisor
#define TAMAVISOR_GUEST_FAULT 1		// xen.TamavisorGuestFault
#define ENOSYS 38

// func hypercall(nr, a1, a2, a3, a4, a5 uint64) int64
TEXT ·hypercall(SB),NOSPLIT,$0-56
	MOVQ	·hypercallPage(SB), CX
	TESTQ	CX, CX
	JEQ	none
	MOVQ	nr+0(FP), AX
	MOVQ	a1+8(FP), DI
	MOVQ	a2+16(FP), SI
	MOVQ	a3+24(FP), DX
	MOVQ	a4+32(FP), R10
	MOVQ	a5+40(FP), R8
	SHLQ	$5, AX				// entry nr is 32 bytes into the page per number
	ADDQ	AX, CX
	CALL	CX				// the stub loads RAX and traps (Xen's hypercall page)
	MOVQ	AX, ret+48(FP)
	RET
none:
	MOVQ	$-ENOSYS, ret+48(FP)
	RET

// func rdrand() uint64
TEXT ·rdrand(SB),NOSPLIT,$0-8
again:
	BYTE	$0x48; BYTE $0x0f; BYTE $0xc7; BYTE $0xf0	// RDRAND RAX (SDM Vol. 2B "RDRAND")
	JCC	again				// CF=0: no random data ready yet
	MOVQ	AX, ret+0(FP)
	RET

// func haltUntilInterrupt()
TEXT ·haltUntilInterrupt(SB),NOSPLIT,$0
	STI				// takes effect after the next instruction (SDM Vol. 2B "STI")
	HLT
	CLI
	RET

// func lidt(base uintptr, limit uint16)
TEXT ·lidt(SB),NOSPLIT,$16-10
	MOVQ	base+0(FP), AX
	MOVW	limit+8(FP), BX
	MOVW	BX, idtr-16(SP)
	MOVQ	AX, idtr-14(SP)
	LIDT	idtr-16(SP)
	RET

// func exceptionStub(v int) uintptr
TEXT ·exceptionStub(SB),NOSPLIT,$0-16
	MOVQ	v+0(FP), AX
	IMULQ	$5, AX				// each entry is one 5-byte CALL rel32
	MOVQ	$·exceptionTable(SB), BX
	ADDQ	BX, AX
	MOVQ	AX, ret+8(FP)
	RET

// func upcallAddr() uintptr
TEXT ·upcallAddr(SB),NOSPLIT,$0-8
	MOVQ	$·upcall(SB), AX
	MOVQ	AX, ret+0(FP)
	RET

// func ignoreAddr() uintptr
TEXT ·ignoreAddr(SB),NOSPLIT,$0-8
	MOVQ	$·ignore(SB), AX
	MOVQ	AX, ret+0(FP)
	RET

// upcall handles the upcall vector: it notes the upcall for the idle hook
// (which wakes the goroutine waiting for events) and returns, ending the HLT
// that waited for it. No EOI: Xen's vector callback has no APIC behind it.
TEXT ·upcall(SB),NOSPLIT|NOFRAME,$0
	MOVL	$1, ·upcallSeen(SB)
	IRETQ

// ignore handles vectors nothing uses.
TEXT ·ignore(SB),NOSPLIT|NOFRAME,$0
	IRETQ

// exceptionTable has one CALL per exception vector 0-31; the return address
// it pushes tells exceptionFault the vector.
TEXT ·exceptionTable(SB),NOSPLIT|NOFRAME,$0
	CALL	·exceptionFault(SB)	// 0 #DE
	CALL	·exceptionFault(SB)	// 1 #DB
	CALL	·exceptionFault(SB)	// 2 NMI
	CALL	·exceptionFault(SB)	// 3 #BP
	CALL	·exceptionFault(SB)	// 4 #OF
	CALL	·exceptionFault(SB)	// 5 #BR
	CALL	·exceptionFault(SB)	// 6 #UD
	CALL	·exceptionFault(SB)	// 7 #NM
	CALL	·exceptionFault(SB)	// 8 #DF
	CALL	·exceptionFault(SB)	// 9
	CALL	·exceptionFault(SB)	// 10 #TS
	CALL	·exceptionFault(SB)	// 11 #NP
	CALL	·exceptionFault(SB)	// 12 #SS
	CALL	·exceptionFault(SB)	// 13 #GP
	CALL	·exceptionFault(SB)	// 14 #PF
	CALL	·exceptionFault(SB)	// 15
	CALL	·exceptionFault(SB)	// 16 #MF
	CALL	·exceptionFault(SB)	// 17 #AC
	CALL	·exceptionFault(SB)	// 18 #MC
	CALL	·exceptionFault(SB)	// 19 #XM
	CALL	·exceptionFault(SB)	// 20 #VE
	CALL	·exceptionFault(SB)	// 21 #CP
	CALL	·exceptionFault(SB)	// 22
	CALL	·exceptionFault(SB)	// 23
	CALL	·exceptionFault(SB)	// 24
	CALL	·exceptionFault(SB)	// 25
	CALL	·exceptionFault(SB)	// 26
	CALL	·exceptionFault(SB)	// 27
	CALL	·exceptionFault(SB)	// 28
	CALL	·exceptionFault(SB)	// 29
	CALL	·exceptionFault(SB)	// 30
	CALL	·exceptionFault(SB)	// 31

// exceptionFault reports an exception to tamavisor (tamavisor_op
// TamavisorGuestFault: vector, error code, RIP, CR2), which ends the domain.
// Go code cannot handle a fault here, so nothing returns to it.
TEXT ·exceptionFault(SB),NOSPLIT|NOFRAME,$0
	POPQ	AX				// exceptionTable + 5*(vector+1)
	MOVQ	$·exceptionTable(SB), BX
	SUBQ	BX, AX
	XORQ	DX, DX
	MOVQ	$5, CX
	DIVQ	CX
	DECQ	AX
	MOVQ	AX, SI				// vector
	// Vectors 8, 10-14, 17, 21, 29 and 30 push an error code
	// (SDM Vol. 3A 6.15 "Exception and Interrupt Reference").
	MOVQ	$0x60227d00, BX
	XORQ	DX, DX
	BTQ	SI, BX
	JCC	noerror
	POPQ	DX				// error code
noerror:
	MOVQ	0(SP), R10			// RIP of the interrupt frame
	MOVQ	CR2, R8
	MOVQ	$TAMAVISOR_HYPERCALL, AX
	MOVQ	$TAMAVISOR_GUEST_FAULT, DI
	MOVQ	·hypercallPage(SB), CX
	TESTQ	CX, CX
	JEQ	stop
	ADDQ	$(TAMAVISOR_HYPERCALL*32), CX
	CALL	CX
stop:
	CLI
	HLT
	JMP	stop
