// Privileged x86-64 instructions. Encodings: Intel SDM Vol. 2 (instruction
// set reference); semantics: Intel SDM Vol. 3A.

#include "textflag.h"

// func In8(port uint16) uint8
TEXT ·In8(SB),NOSPLIT,$0-9
	MOVW	port+0(FP), DX
	BYTE	$0xec			// IN AL, DX (SDM Vol. 2A "IN")
	MOVB	AX, ret+8(FP)
	RET

// func Out8(port uint16, val uint8)
TEXT ·Out8(SB),NOSPLIT,$0-3
	MOVW	port+0(FP), DX
	MOVB	val+2(FP), AX
	BYTE	$0xee			// OUT DX, AL (SDM Vol. 2B "OUT")
	RET

// func In16(port uint16) uint16
TEXT ·In16(SB),NOSPLIT,$0-10
	MOVW	port+0(FP), DX
	BYTE	$0x66; BYTE $0xed	// IN AX, DX
	MOVW	AX, ret+8(FP)
	RET

// func Out16(port uint16, val uint16)
TEXT ·Out16(SB),NOSPLIT,$0-4
	MOVW	port+0(FP), DX
	MOVW	val+2(FP), AX
	BYTE	$0x66; BYTE $0xef	// OUT DX, AX
	RET

// func In32(port uint16) uint32
TEXT ·In32(SB),NOSPLIT,$0-12
	MOVW	port+0(FP), DX
	BYTE	$0xed			// IN EAX, DX
	MOVL	AX, ret+8(FP)
	RET

// func Out32(port uint16, val uint32)
TEXT ·Out32(SB),NOSPLIT,$0-8
	MOVW	port+0(FP), DX
	MOVL	val+4(FP), AX
	BYTE	$0xef			// OUT DX, EAX
	RET

// func CPUID(leaf, subleaf uint32) (eax, ebx, ecx, edx uint32)
TEXT ·CPUID(SB),NOSPLIT,$0-24
	MOVL	leaf+0(FP), AX
	MOVL	subleaf+4(FP), CX
	CPUID
	MOVL	AX, eax+8(FP)
	MOVL	BX, ebx+12(FP)
	MOVL	CX, ecx+16(FP)
	MOVL	DX, edx+20(FP)
	RET

// func RDTSC() uint64
TEXT ·RDTSC(SB),NOSPLIT,$0-8
	RDTSC				// EDX:EAX = TSC (SDM Vol. 2B "RDTSC")
	SHLQ	$32, DX
	ORQ	DX, AX
	MOVQ	AX, ret+0(FP)
	RET

// func ReadMSR(msr uint32) uint64
TEXT ·ReadMSR(SB),NOSPLIT,$0-16
	MOVL	msr+0(FP), CX
	RDMSR				// EDX:EAX = MSR[ECX] (SDM Vol. 2B "RDMSR")
	SHLQ	$32, DX
	ORQ	DX, AX
	MOVQ	AX, ret+8(FP)
	RET

// func WriteMSR(msr uint32, val uint64)
TEXT ·WriteMSR(SB),NOSPLIT,$0-16
	MOVL	msr+0(FP), CX
	MOVQ	val+8(FP), AX
	MOVQ	AX, DX
	SHRQ	$32, DX
	WRMSR				// MSR[ECX] = EDX:EAX (SDM Vol. 2B "WRMSR")
	RET

// func ReadCR0() uint64
TEXT ·ReadCR0(SB),NOSPLIT,$0-8
	MOVQ	CR0, AX
	MOVQ	AX, ret+0(FP)
	RET

// func WriteCR0(val uint64)
TEXT ·WriteCR0(SB),NOSPLIT,$0-8
	MOVQ	val+0(FP), AX
	MOVQ	AX, CR0
	RET

// func ReadCR2() uint64
TEXT ·ReadCR2(SB),NOSPLIT,$0-8
	MOVQ	CR2, AX
	MOVQ	AX, ret+0(FP)
	RET

// func ReadCR3() uint64
TEXT ·ReadCR3(SB),NOSPLIT,$0-8
	MOVQ	CR3, AX
	MOVQ	AX, ret+0(FP)
	RET

// func WriteCR3(val uint64)
TEXT ·WriteCR3(SB),NOSPLIT,$0-8
	MOVQ	val+0(FP), AX
	MOVQ	AX, CR3
	RET

// func ReadCR4() uint64
TEXT ·ReadCR4(SB),NOSPLIT,$0-8
	MOVQ	CR4, AX
	MOVQ	AX, ret+0(FP)
	RET

// func WriteCR4(val uint64)
TEXT ·WriteCR4(SB),NOSPLIT,$0-8
	MOVQ	val+0(FP), AX
	MOVQ	AX, CR4
	RET

// func XGETBV(xcr uint32) uint64
TEXT ·XGETBV(SB),NOSPLIT,$0-16
	MOVL	xcr+0(FP), CX
	BYTE	$0x0f; BYTE $0x01; BYTE $0xd0	// XGETBV (SDM Vol. 2C "XGETBV")
	SHLQ	$32, DX
	ORQ	DX, AX
	MOVQ	AX, ret+8(FP)
	RET

// func XSETBV(xcr uint32, val uint64)
TEXT ·XSETBV(SB),NOSPLIT,$0-16
	MOVL	xcr+0(FP), CX
	MOVQ	val+8(FP), AX
	MOVQ	AX, DX
	SHRQ	$32, DX
	BYTE	$0x0f; BYTE $0x01; BYTE $0xd1	// XSETBV (SDM Vol. 2C "XSETBV")
	RET

// func SGDT() (base uint64, limit uint16)
TEXT ·SGDT(SB),NOSPLIT,$16-10
	// SGDT stores 2 bytes of limit then 8 bytes of base (SDM Vol. 2B "SGDT").
	LEAQ	tmp-16(SP), AX
	BYTE	$0x0f; BYTE $0x01; BYTE $0x00	// SGDT (RAX)
	MOVW	0(AX), BX
	MOVQ	2(AX), CX
	MOVQ	CX, base+0(FP)
	MOVW	BX, limit+8(FP)
	RET

// func SIDT() (base uint64, limit uint16)
TEXT ·SIDT(SB),NOSPLIT,$16-10
	LEAQ	tmp-16(SP), AX
	BYTE	$0x0f; BYTE $0x01; BYTE $0x08	// SIDT (RAX)
	MOVW	0(AX), BX
	MOVQ	2(AX), CX
	MOVQ	CX, base+0(FP)
	MOVW	BX, limit+8(FP)
	RET

// func LTR(sel uint16)
TEXT ·LTR(SB),NOSPLIT,$0-2
	MOVW	sel+0(FP), AX
	BYTE	$0x0f; BYTE $0x00; BYTE $0xd8	// LTR AX (SDM Vol. 2A "LTR")
	RET

// func STR() uint16
TEXT ·STR(SB),NOSPLIT,$0-2
	BYTE	$0x0f; BYTE $0x00; BYTE $0xc8	// STR AX (SDM Vol. 2B "STR")
	MOVW	AX, ret+0(FP)
	RET

// func Segments() (cs, ss, ds, es, fs, gs uint16)
TEXT ·Segments(SB),NOSPLIT,$0-12
	BYTE	$0x8c; BYTE $0xc8	// MOV EAX, CS (SDM Vol. 2B "MOV—Move" 8C /r)
	MOVW	AX, cs+0(FP)
	BYTE	$0x8c; BYTE $0xd0	// MOV EAX, SS
	MOVW	AX, ss+2(FP)
	BYTE	$0x8c; BYTE $0xd8	// MOV EAX, DS
	MOVW	AX, ds+4(FP)
	BYTE	$0x8c; BYTE $0xc0	// MOV EAX, ES
	MOVW	AX, es+6(FP)
	BYTE	$0x8c; BYTE $0xe0	// MOV EAX, FS
	MOVW	AX, fs+8(FP)
	BYTE	$0x8c; BYTE $0xe8	// MOV EAX, GS
	MOVW	AX, gs+10(FP)
	RET

// func Halt()
TEXT ·Halt(SB),NOSPLIT,$0
	CLI
again:
	HLT
	JMP	again

// func Pause()
TEXT ·Pause(SB),NOSPLIT,$0
	PAUSE
	RET

// func WBINVD()
TEXT ·WBINVD(SB),NOSPLIT,$0
	BYTE	$0x0f; BYTE $0x09	// WBINVD (SDM Vol. 2D "WBINVD")
	RET

// func WaitInterrupt()
TEXT ·WaitInterrupt(SB),NOSPLIT,$0
	PUSHFQ
	STI
	HLT
	POPFQ
	RET

// TakeInterrupts opens a one-instruction window for pending interrupts:
// STI takes effect after the next instruction (SDM Vol. 2B "STI"), so they
// are delivered after the NOP, before CLI.
TEXT ·TakeInterrupts(SB),NOSPLIT,$0
	STI
	NOP
	CLI
	RET

// wakeInterrupt is the handler of every interrupt vector (32-255): the
// local APIC deadline timer's wake-up, and any other the host is sent. It
// counts the interrupt, signals end-of-interrupt to the local APIC (a
// write of 0 to its EOI register, SDM Vol. 3A 11.8.5: at lapicEOI in xAPIC
// mode, to MSR 0x80B in x2APIC mode, 11.12.1.2) and returns from the
// interrupt.
TEXT ·wakeInterrupt(SB),NOSPLIT|NOFRAME,$0
	PUSHQ	AX
	INCQ	·interrupts(SB)
	MOVQ	·lapicEOI(SB), AX
	TESTQ	AX, AX
	JEQ	x2apic
	MOVL	$0, (AX)
	POPQ	AX
	IRETQ
x2apic:
	CMPB	·lapicX2(SB), $0
	JEQ	done
	PUSHQ	CX
	PUSHQ	DX
	MOVL	$0x80b, CX			// IA32_X2APIC_EOI
	XORL	AX, AX
	XORL	DX, DX
	WRMSR
	POPQ	DX
	POPQ	CX
done:
	POPQ	AX
	IRETQ

// func wakeInterruptAddr() uint64
TEXT ·wakeInterruptAddr(SB),NOSPLIT,$0-8
	MOVQ	$·wakeInterrupt(SB), AX
	MOVQ	AX, ret+0(FP)
	RET
