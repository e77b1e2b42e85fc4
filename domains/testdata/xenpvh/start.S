/* The PVH entry (Xen docs/misc/pvh.pandoc): 32-bit protected mode, paging
 * off, EBX = the physical address of struct hvm_start_info. */

	/* XEN_ELFNOTE_PHYS32_ENTRY (public/elfnote.h): the entry point. */
	.section .note.Xen, "a", @note
	.align 4
	.long 4			/* namesz */
	.long 4			/* descsz */
	.long 18		/* type: XEN_ELFNOTE_PHYS32_ENTRY */
	.asciz "Xen"
	.long pvh_start

	.text
	.code32
	.globl pvh_start
pvh_start:
	cli
	movl	$stack_top, %esp
	pushl	%ebx
	call	xen_main
1:	hlt
	jmp	1b

	.bss
	.align 16
	.space 16384
stack_top:
	.section .note.GNU-stack, "", @progbits
