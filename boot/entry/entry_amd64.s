//go:build tamago

// The image's entry point (see doc.go), shared by three boot protocols. All of them enter
// at the ELF entry point in 32-bit protected mode with paging off:
//   - PVH (QEMU -kernel, Xen): EBX = physical address of struct hvm_start_info
//     (Xen public arch-x86/hvm/start_info.h; docs/misc/pvh.pandoc).
//   - Multiboot (GRUB): EAX = 0x2BADB002, EBX = multiboot_info
//     (Multiboot Specification 0.6.96, 3.2 "Machine state").
//   - Multiboot2 (GRUB): EAX = 0x36D76289, EBX = the MBI
//     (Multiboot2 Specification 1.0, 3.3 "I386 machine state").
// None of them gives a stack. This code saves EAX/EBX, masks the 8259 PICs,
// programs COM1, checks the CPU, builds page tables in the image's BSS,
// enters 64-bit long mode, snapshots the boot information (which may lie
// where the Go heap will grow), checks that RAM reaches the top of the Go
// region, and jumps to the TamaGo runtime on the g0 stack.
//
// The 32-bit half is assembled by the Go amd64 assembler, so it uses only
// instructions whose encoding means the same in both modes: no REX prefixes,
// no RIP-relative operands. A symbol's absolute address comes from ABS32.

#include "go_asm.h"
#include "textflag.h"

#define MB1_MAGIC 0x2badb002	// Multiboot 0.6.96, 3.2
#define MB2_MAGIC 0x36d76289	// Multiboot2 1.0, 3.3
#define PVH_MAGIC 0x336ec578	// start_info.h, XEN_HVM_START_MAGIC_VALUE

#define COM1 0x3f8		// PC16550D UART: THR/DLL +0, IER/DLM +1, FCR +2, LCR +3, MCR +4, LSR +5

// Paging-structure entry bits: SDM Vol. 3A 4.5 "4-Level Paging", Tables 4-15, 4-17, 4-19, 4-20.
#define PTE_P   0x001
#define PTE_RW  0x002
#define PTE_PWT 0x008
#define PTE_PCD 0x010
#define PTE_PS  0x080

#define CR0_PE (1<<0)
#define CR0_MP (1<<1)
#define CR0_EM (1<<2)
#define CR0_TS (1<<3)
#define CR0_NE (1<<5)		// required by VMXON: IA32_VMX_CR0_FIXED0 (SDM Vol. 3C 24.8)
#define CR0_WP (1<<16)
#define CR0_NW (1<<29)
#define CR0_CD (1<<30)
#define CR0_PG (1<<31)
#define CR4_PAE (1<<5)
#define CR4_PGE (1<<7)
#define CR4_OSFXSR (1<<9)
#define CR4_OSXMMEXCPT (1<<10)
#define MSR_EFER 0xc0000080	// SDM Vol. 4 Table 2-2: LME is bit 8
#define EFER_LME (1<<8)

#define OUTB BYTE $0xee		// OUT DX, AL
#define INB  BYTE $0xec		// IN AL, DX
#define PORT(p, v) MOVL $(p), DX; MOVL $(v), AX; OUTB

// ABS32(sym, reg) sets reg (not AX) to sym's absolute address in 32-bit mode.
// The amd64 assembler encodes MOVL $sym(SB), reg as a 6-byte RIP-relative
// LEAL; 32-bit mode reads the same bytes as LEA reg, [disp32], so reg gets
// disp32 = sym - (address of the LEAL + 6). getpc returns the LEAL's address
// (the CALL's return address), and the sum is sym.
#define ABS32(sym, reg) CALL getpc<>(SB); MOVL $sym, reg; ADDL AX, reg; ADDL $6, reg

// Global Descriptor Table (SDM Vol. 3A 3.4.5 "Segment Descriptors"; 5.2.1
// "Code-Segment Descriptor in 64-bit Mode"). Entries 3-4 (selector 0x18) are
// room for a 64-bit TSS descriptor, which VM entry requires of the host
// (SDM Vol. 3C 27.2.3: host TR must not be 0); Go fills it in.
DATA	·gdt+0x00(SB)/8, $0x0000000000000000	// null
DATA	·gdt+0x08(SB)/8, $0x00209a0000000000	// 0x08: code, 64-bit (L=1), DPL 0
DATA	·gdt+0x10(SB)/8, $0x00cf92000000ffff	// 0x10: data, flat, writable
DATA	·gdt+0x18(SB)/8, $0x0000000000000000	// 0x18: TSS (low)
DATA	·gdt+0x20(SB)/8, $0x0000000000000000	//       TSS (high)
GLOBL	·gdt(SB),NOPTR,$40

DATA	·gdtptr+0x00(SB)/2, $(5*8-1)
DATA	·gdtptr+0x02(SB)/8, $·gdt(SB)
GLOBL	·gdtptr(SB),NOPTR,$10

// Interrupt Descriptor Table: 256 empty 16-byte gates (SDM Vol. 3A 6.14.1
// "64-Bit Mode IDT"), loaded before Go runs so that TamaGo's amd64 package,
// which fills the IDT it finds (amd64/irq.s load_idt, since this GDT is not
// its own), fills a table with room for every vector. Without it, the
// boot loader's IDT (whose limit may end before vector 255, the local APIC
// timer's) would be used.
GLOBL	·idt(SB),NOPTR,$4096

DATA	·idtptr+0x00(SB)/2, $(256*16-1)
DATA	·idtptr+0x02(SB)/8, $·idt(SB)
GLOBL	·idtptr(SB),NOPTR,$10

// cpuinit is jumped to by runtime/goos.CPUInit, the ELF entry point's target.
TEXT cpuinit(SB),NOSPLIT|NOFRAME,$0
	CLI
	CLD
	MOVL	AX, BP				// boot magic
	MOVL	BX, SI				// boot information
	// A stack for getpc's CALL: the 4 bytes below 0x400 hold real-mode
	// interrupt vector 0xff, which nothing uses once in protected mode and
	// where no boot loader puts its information.
	MOVL	$0x400, SP
	ABS32(·bootMagic(SB), BX)
	MOVL	BP, (BX)
	ABS32(·bootInfo(SB), BX)
	MOVL	SI, (BX)
	ABS32(·bootStack+const_bootStackSize(SB), BX)
	MOVL	BX, SP
	ABS32(·entryTSC(SB), BX)
	RDTSC
	MOVL	AX, 0(BX)
	MOVL	DX, 4(BX)

	// Mask both 8259 PICs before anything can enable interrupts: a pending
	// PIT tick would otherwise arrive before an IDT exists.
	// (8259A datasheet: OCW1 is a write to the odd port.)
	PORT(0x21, 0xff)
	PORT(0xa1, 0xff)

	// COM1: 115200 baud 8N1, FIFOs on, no interrupts (PC16550D datasheet).
	PORT(COM1+1, 0x00)			// IER: no interrupts
	PORT(COM1+3, 0x80)			// LCR: DLAB
	PORT(COM1+0, 0x01)			// DLL: divisor 1 = 115200 baud
	PORT(COM1+1, 0x00)			// DLM
	PORT(COM1+3, 0x03)			// LCR: 8 bits, no parity, 1 stop
	PORT(COM1+2, 0xc7)			// FCR: enable and clear FIFOs
	PORT(COM1+4, 0x03)			// MCR: DTR, RTS

	// Long mode: CPUID.80000001H:EDX.LM[bit 29] (SDM Vol. 2A "CPUID").
	MOVL	$0x80000000, AX
	CPUID
	CMPL	AX, $0x80000001
	JCS	nolongmode
	MOVL	$0x80000001, AX
	CPUID
	BTL	$29, DX
	JCC	nolongmode

	// RDRAND: CPUID.01H:ECX.RDRAND[bit 30]; TamaGo seeds Go's runtime with it.
	MOVL	$1, AX
	CPUID
	BTL	$30, CX
	JCC	nordrand

	// Page tables, aligned up to 4 KiB inside ·pageTables:
	//   +0x0000 PML4, +0x1000 PDPT, +0x2000..+0x5fff four page directories
	//   mapping 0-4 GiB with 2 MiB pages, +0x6000 a page table for 0-2 MiB.
	ABS32(·pageTables+4095(SB), DI)
	ANDL	$~4095, DI
	MOVL	DI, BP
	XORL	AX, AX
	MOVL	$(7*4096/4), CX
	REP;	STOSL

	LEAL	(0x1000+PTE_RW+PTE_P)(BP), AX	// PML4[0] -> PDPT
	MOVL	AX, (BP)
	LEAL	(0x2000+PTE_RW+PTE_P)(BP), AX	// PDPT[0..3] -> PD0..PD3
	MOVL	AX, 0x1000(BP)
	LEAL	(0x3000+PTE_RW+PTE_P)(BP), AX
	MOVL	AX, 0x1008(BP)
	LEAL	(0x4000+PTE_RW+PTE_P)(BP), AX
	MOVL	AX, 0x1010(BP)
	LEAL	(0x5000+PTE_RW+PTE_P)(BP), AX
	MOVL	AX, 0x1018(BP)

	// PD entries: identity, 2 MiB pages. 3-4 GiB holds the LAPIC, I/O APIC
	// and PCI MMIO: mapped uncacheable (PCD|PWT, SDM Vol. 3A 11.12.3).
	LEAL	0x2000(BP), DI
	XORL	SI, SI
pd:
	MOVL	SI, AX
	ORL	$(PTE_PS+PTE_RW+PTE_P), AX
	CMPL	SI, $0xc0000000
	JCS	pdwb
	ORL	$(PTE_PCD+PTE_PWT), AX
pdwb:
	MOVL	AX, (DI)
	ADDL	$8, DI
	ADDL	$(1<<21), SI
	JNE	pd				// SI wraps to 0 after 4 GiB

	// PD0[0] -> a page table for 0-2 MiB, so that page 0 can be unmapped
	// once the boot information (which may lie in it) has been copied.
	LEAL	(0x6000+PTE_RW+PTE_P)(BP), AX
	MOVL	AX, 0x2000(BP)
	LEAL	0x6000(BP), DI
	MOVL	$(PTE_RW+PTE_P), AX
pt:
	MOVL	AX, (DI)
	ADDL	$8, DI
	ADDL	$0x1000, AX
	CMPL	AX, $(0x200000+PTE_RW+PTE_P)
	JNE	pt

	// Enter IA-32e mode: SDM Vol. 3A 9.8.5 "Initializing IA-32e Mode".
	MOVL	BP, CR3
	MOVL	CR4, AX
	ORL	$(CR4_PAE+CR4_PGE), AX
	MOVL	AX, CR4
	MOVL	$MSR_EFER, CX
	RDMSR
	ORL	$EFER_LME, AX
	WRMSR
	// Caches on (boot loaders may leave CR0.CD/NW set), x87 native errors
	// (CR0.NE, which VMXON requires), write protection on.
	MOVL	CR0, AX
	ANDL	$~(CR0_CD+CR0_NW+CR0_EM+CR0_TS), AX
	ORL	$(CR0_PG+CR0_WP+CR0_NE+CR0_MP+CR0_PE), AX
	MOVL	AX, CR0

	ABS32(·gdtptr(SB), BX)
	LGDT	(BX)
	ABS32(·start64(SB), BX)
	PUSHQ	$0x08				// 32-bit mode: push imm8 as a doubleword
	PUSHQ	BX				// 32-bit mode: push EBX
	BYTE	$0xcb				// RETF: pops EIP and CS (selector 0x08, 64-bit code)

nolongmode:
	ABS32(·msgNoLongMode(SB), BX)
	JMP	fatal32
nordrand:
	ABS32(·msgNoRDRAND(SB), BX)
fatal32:
	MOVL	(BX), SI			// the string's data pointer (below 4 GiB)
	CALL	earlyputs<>(SB)
	JMP	halt<>(SB)

// start64 runs in 64-bit mode on the boot stack.
TEXT ·start64(SB),NOSPLIT|NOFRAME,$0
	MOVL	$0x10, AX
	BYTE	$0x8e; BYTE $0xd8		// MOV DS, AX (SDM Vol. 2B "MOV" 8E /r)
	BYTE	$0x8e; BYTE $0xc0		// MOV ES, AX
	BYTE	$0x8e; BYTE $0xd0		// MOV SS, AX
	XORL	AX, AX
	BYTE	$0x8e; BYTE $0xe0		// MOV FS, AX (Go sets FS.base by MSR)
	BYTE	$0x8e; BYTE $0xe8		// MOV GS, AX
	LEAQ	·bootStack+const_bootStackSize(SB), SP
	LIDT	·idtptr(SB)

	// SSE for Go code: CR4.OSFXSR, CR4.OSXMMEXCPT (SDM Vol. 3A 13.1.3).
	MOVQ	CR4, AX
	ORQ	$(CR4_OSFXSR+CR4_OSXMMEXCPT), AX
	MOVQ	AX, CR4

	MOVQ	CR3, AX
	MOVQ	AX, ·pml4(SB)

	CALL	snapshot<>(SB)

	// Unmap page 0 so that a nil pointer dereference faults, as Go expects.
	MOVQ	·pml4(SB), DI
	MOVQ	$0, 0x6000(DI)
	MOVQ	DI, CR3				// flush the TLB

	// RamSize SizeFromMemoryMap (all ones; a Go domain's board sets it):
	// the region runs from RamStart to the end of the RAM region that
	// holds RamStart in the PVH memory map (start_info.h: memmap_paddr at
	// +40, memmap_entries at +48, version 1; entries {addr, size, type}
	// of 24 bytes, type 1 RAM), or to the lowest module above RamStart
	// (modlist_paddr at +16, nr_modules at +12; entries of 32 bytes,
	// paddr first) if that is lower, in whole MiB, below 3 GiB (where the
	// identity map turns uncacheable, for MMIO). It must leave a 4 MiB
	// heap arena, 4 MiB aligned, between the image's end and the g0
	// stack (runtime/malloc.go heapArenaBytes; the stack RamStackOffset
	// below the region's end, 64 KiB deep).
	CMPQ	runtime∕goos·RamSize(SB), $-1
	JNE	sized
	MOVL	·bootInfo(SB), BX
	CMPL	(BX), $PVH_MAGIC
	JNE	nomap
	CMPL	4(BX), $1
	JCS	nomap
	MOVQ	runtime∕goos·RamStart(SB), R8
	XORQ	R9, R9				// the region's end; 0 until found
	MOVQ	40(BX), SI
	MOVL	48(BX), CX
region:
	TESTL	CX, CX
	JEQ	regiondone
	CMPL	16(SI), $1
	JNE	nextregion
	MOVQ	0(SI), AX
	CMPQ	AX, R8
	JHI	nextregion			// starts above RamStart
	ADDQ	8(SI), AX
	CMPQ	AX, R8
	JLS	nextregion			// ends at or below it
	MOVQ	AX, R9
nextregion:
	ADDQ	$24, SI
	DECL	CX
	JMP	region
regiondone:
	TESTQ	R9, R9
	JEQ	nomap
	MOVQ	16(BX), SI
	MOVL	12(BX), CX
module:
	TESTL	CX, CX
	JEQ	modulesdone
	MOVQ	0(SI), AX
	CMPQ	AX, R8
	JCS	nextmodule			// below RamStart
	CMPQ	AX, R9
	JCC	nextmodule
	MOVQ	AX, R9
nextmodule:
	ADDQ	$32, SI
	DECL	CX
	JMP	module
modulesdone:
	MOVQ	$0xc0000000, AX
	CMPQ	R9, AX
	JLS	under3g
	MOVQ	AX, R9
under3g:
	ANDQ	$~0xfffff, R9
	MOVQ	R9, AX
	SUBQ	runtime∕goos·RamStackOffset(SB), AX
	SUBQ	$0x10000, AX			// the g0 stack's bottom
	MOVQ	$runtime·end(SB), DX
	ADDQ	$(4<<20-1), DX
	ANDQ	$~(4<<20-1), DX
	ADDQ	$(4<<20), DX			// the first arena's end
	CMPQ	AX, DX
	JCS	nomap
	SUBQ	R8, R9
	MOVQ	R9, runtime∕goos·RamSize(SB)
sized:
	// RAM must answer at the top of the Go region, where the g0 stack goes.
	MOVQ	runtime∕goos·RamStart(SB), DI
	ADDQ	runtime∕goos·RamSize(SB), DI
	SUBQ	$8, DI
	MOVQ	$0x5a5aa5a50ff0f00f, AX
	MOVQ	AX, (DI)
	MOVQ	(DI), BX
	CMPQ	AX, BX
	JNE	noram
	NOTQ	AX
	MOVQ	AX, (DI)
	MOVQ	(DI), BX
	CMPQ	AX, BX
	JNE	noram
	MOVQ	$0, (DI)

	// The g0 stack, as TamaGo's own cpuinit sets it.
	MOVQ	runtime∕goos·RamStart(SB), SP
	ADDQ	runtime∕goos·RamSize(SB), SP
	SUBQ	runtime∕goos·RamStackOffset(SB), SP
	JMP	_rt0_tamago_start(SB)

nomap:
	MOVQ	·msgNoMap(SB), SI
	CALL	earlyputs<>(SB)
	JMP	halt<>(SB)

noram:
	MOVQ	DI, R12
	MOVQ	·msgNoRAM(SB), SI
	CALL	earlyputs<>(SB)
	ADDQ	$8, R12
	CALL	earlyhex<>(SB)
	MOVQ	·msgNoRAM2(SB), SI
	CALL	earlyputs<>(SB)
	JMP	halt<>(SB)

// snapshot copies every boot information structure into ·snapshotData.
// Pointers inside them are physical; each is copied as its own record.
// R15 is the cursor, RBX the info pointer, R12-R14 loop state.
TEXT snapshot<>(SB),NOSPLIT|NOFRAME,$0
	XORQ	R15, R15
	// The BIOS data area: its EBDA pointer (0x40e) leads to the ACPI RSDP
	// on BIOS machines, and page 0 is unmapped once Go runs.
	MOVQ	$0x400, SI
	MOVL	$0x100, CX
	CALL	snap<>(SB)
	MOVL	·bootMagic(SB), AX
	MOVL	·bootInfo(SB), BX		// zero-extends into RBX
	// PVH leaves EAX undefined (QEMU's microvm passes 0x2badb002): its
	// magic is start_info's first field, so it is checked first (as in
	// bootinfo.Parse).
	CMPQ	BX, $0x500
	JCS	bymagic
	CMPL	(BX), $PVH_MAGIC
	JEQ	pvh
bymagic:
	CMPL	AX, $MB2_MAGIC
	JEQ	mb2
	CMPL	AX, $MB1_MAGIC
	JEQ	mb1
	JMP	done

mb2:
	// The MBI is one block: total_size (u32) at offset 0 (Multiboot2 3.6.1).
	MOVQ	BX, SI
	MOVL	(BX), CX
	CALL	snap<>(SB)
	JMP	done

mb1:
	// struct multiboot_info is 116 bytes; its pointers are valid when the
	// matching flags bit is set (Multiboot 0.6.96, 3.3).
	MOVQ	BX, SI
	MOVL	$116, CX
	CALL	snap<>(SB)
	MOVL	(BX), R12			// flags
	BTL	$2, R12				// cmdline at +16
	JCC	mb1mods
	MOVL	16(BX), SI
	CALL	snapstr<>(SB)
mb1mods:
	BTL	$3, R12				// mods_count at +20, mods_addr at +24
	JCC	mb1mmap
	MOVL	20(BX), R13
	CMPL	R13, $64
	JLS	mb1modsok
	MOVL	$64, R13
mb1modsok:
	MOVL	24(BX), SI
	MOVL	R13, CX
	SHLL	$4, CX				// 16 bytes a module
	CALL	snap<>(SB)
	MOVL	24(BX), R14
mb1mod:
	TESTL	R13, R13
	JEQ	mb1mmap
	MOVL	8(R14), SI			// module string
	TESTL	SI, SI
	JEQ	mb1next
	CALL	snapstr<>(SB)
mb1next:
	ADDQ	$16, R14
	DECL	R13
	JMP	mb1mod
mb1mmap:
	BTL	$6, R12				// mmap_length at +44, mmap_addr at +48
	JCC	mb1name
	MOVL	48(BX), SI
	MOVL	44(BX), CX
	CALL	snap<>(SB)
mb1name:
	BTL	$9, R12				// boot_loader_name at +64
	JCC	done
	MOVL	64(BX), SI
	CALL	snapstr<>(SB)
	JMP	done

pvh:
	// struct hvm_start_info: 56 bytes (start_info.h).
	MOVQ	BX, SI
	MOVL	$56, CX
	CALL	snap<>(SB)
	MOVQ	24(BX), SI			// cmdline_paddr
	TESTQ	SI, SI
	JEQ	pvhmods
	CALL	snapstr<>(SB)
pvhmods:
	MOVL	12(BX), R13			// nr_modules
	CMPL	R13, $64
	JLS	pvhmodsok
	MOVL	$64, R13
pvhmodsok:
	TESTL	R13, R13
	JEQ	pvhmmap
	MOVQ	16(BX), SI			// modlist_paddr
	MOVL	R13, CX
	SHLL	$5, CX				// struct hvm_modlist_entry: 32 bytes
	CALL	snap<>(SB)
	MOVQ	16(BX), R14
pvhmod:
	TESTL	R13, R13
	JEQ	pvhmmap
	MOVQ	16(R14), SI			// cmdline_paddr
	TESTQ	SI, SI
	JEQ	pvhnext
	CALL	snapstr<>(SB)
pvhnext:
	ADDQ	$32, R14
	DECL	R13
	JMP	pvhmod
pvhmmap:
	CMPL	4(BX), $1			// version 1 added the memory map
	JCS	done
	MOVQ	40(BX), SI			// memmap_paddr
	MOVL	48(BX), CX			// memmap_entries
	CMPL	CX, $1024
	JLS	pvhmmapok
	MOVL	$1024, CX
pvhmmapok:
	IMULL	$24, CX				// struct hvm_memmap_table_entry: 24 bytes
	CALL	snap<>(SB)

done:
	MOVQ	R15, ·snapshotUsed(SB)
	RET

// snapstr snapshots the NUL-terminated string at RSI (at most 4 KiB).
TEXT snapstr<>(SB),NOSPLIT|NOFRAME,$0
	MOVQ	SI, AX
	ADDQ	$4096, AX
	MOVQ	$0x100000000, DX
	CMPQ	AX, DX
	JHI	far
	XORQ	CX, CX
len:
	CMPQ	CX, $4096
	JEQ	found
	MOVB	(SI)(CX*1), AL
	INCQ	CX
	TESTB	AL, AL
	JNE	len
found:
	JMP	snap<>(SB)
far:
	ORL	$2, ·snapshotOverflow(SB)
	RET

// snap appends the record {addr=RSI, len=RCX, data} to ·snapshotData,
// padded to 8 bytes. Clobbers AX, CX, DX, SI, DI.
TEXT snap<>(SB),NOSPLIT|NOFRAME,$0
	MOVQ	SI, AX
	ADDQ	CX, AX
	MOVQ	$0x100000000, DX
	CMPQ	AX, DX
	JHI	far				// only 0-4 GiB is mapped yet
	MOVQ	CX, AX
	ADDQ	$(16+7), AX
	ANDQ	$~7, AX				// record size
	MOVQ	R15, DX
	ADDQ	AX, DX
	CMPQ	DX, $const_SnapshotSize
	JHI	full
	LEAQ	·snapshotData(SB), DI
	ADDQ	R15, DI
	MOVQ	DX, R15
	MOVQ	SI, 0(DI)
	MOVQ	CX, 8(DI)
	ADDQ	$16, DI
	REP;	MOVSB
	RET
full:
	ORL	$1, ·snapshotOverflow(SB)
	RET
far:
	ORL	$2, ·snapshotOverflow(SB)
	RET

// earlyputs writes the NUL-terminated string at SI to COM1. It encodes the
// same in 32-bit and 64-bit mode, so both halves of cpuinit call it.
TEXT earlyputs<>(SB),NOSPLIT|NOFRAME,$0
next:
	MOVB	(SI), AL
	TESTB	AL, AL
	JEQ	end
	MOVL	AX, BX
	MOVL	$(COM1+5), DX			// LSR
wait:
	INB
	TESTB	$0x20, AL			// THRE: transmit holding register empty
	JEQ	wait
	MOVL	BX, AX
	MOVL	$COM1, DX
	OUTB
	ADDL	$1, SI
	JMP	next
end:
	RET

// earlyhex writes R12 as 16 hexadecimal digits to COM1 (64-bit mode).
TEXT earlyhex<>(SB),NOSPLIT|NOFRAME,$0
	MOVQ	$16, R13
digit:
	ROLQ	$4, R12
	MOVQ	R12, AX
	ANDQ	$0xf, AX
	ADDQ	$'0', AX
	CMPQ	AX, $'9'
	JLS	put
	ADDQ	$('a'-'9'-1), AX
put:
	MOVQ	AX, BX
	MOVL	$(COM1+5), DX
hwait:
	INB
	TESTB	$0x20, AL
	JEQ	hwait
	MOVQ	BX, AX
	MOVL	$COM1, DX
	OUTB
	DECQ	R13
	JNE	digit
	RET

// getpc returns in AX the address its caller returns to.
TEXT getpc<>(SB),NOSPLIT|NOFRAME,$0
	MOVL	(SP), AX
	RET

TEXT halt<>(SB),NOSPLIT|NOFRAME,$0
	CLI
stop:
	HLT
	JMP	stop
