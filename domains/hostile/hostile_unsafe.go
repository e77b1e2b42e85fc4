//go:build tamago

package main

import (
	"fmt"
	"unsafe"

	"tamavisor/x86"
)

// addr is the address of b: the domain identity-maps its memory, so it is
// also the guest-physical address the hypervisor translates.
func addr(b *byte) uint64 { return uint64(uintptr(unsafe.Pointer(b))) }

// userGDT is the domain's GDT with descriptors for CPL 3 added at 0x28
// (data) and 0x30 (64-bit code), where SYSRET looks for them with
// IA32_STAR[63:48] = 0x20 (SDM Vol. 2B "SYSRET").
var userGDT [7]uint64

// The MSRs SYSCALL and SYSRET use (SDM Vol. 4 Table 2-2).
const (
	msrEFER   = 0xc000_0080
	msrSTAR   = 0xc000_0081
	msrLSTAR  = 0xc000_0082
	msrSFMASK = 0xc000_0084
)

// enterUserMode prepares userCall: the GDT with user descriptors, SYSCALL
// enabled (EFER.SCE) with IA32_STAR's selectors (kernel CS 0x08, SS 0x10;
// user base 0x20) and IA32_LSTAR at userReturn, and the user bit (U/S, SDM
// Vol. 3A 4.6) on every paging level that maps userStub.
func enterUserMode() error {
	base, limit := sgdt()
	n := (int(limit) + 1) / 8
	if n > 5 {
		return fmt.Errorf("the GDT has %d descriptors; 0x28 and 0x30 are taken", n)
	}
	for i := 0; i < n; i++ {
		userGDT[i] = peek(base + uint64(i)*8)
	}
	userGDT[5] = 0x00cf_f200_0000_ffff // data, flat, writable, DPL 3
	userGDT[6] = 0x0020_fa00_0000_0000 // code, 64-bit (L=1), DPL 3
	lgdt(uint64(uintptr(unsafe.Pointer(&userGDT[0]))), uint16(len(userGDT)*8-1))
	x86.WriteMSR(msrSTAR, 0x0020_0008<<32)
	x86.WriteMSR(msrLSTAR, userReturnAddr())
	x86.WriteMSR(msrSFMASK, 0x300) // TF, IF
	x86.WriteMSR(msrEFER, x86.ReadMSR(msrEFER)|1)
	for _, va := range []uint64{userStubAddr(), userStubAddr() + 31} {
		table := x86.ReadCR3() &^ 0xfff
		for level := 3; level >= 0; level-- {
			pa := table + (va>>(12+9*level)&0x1ff)*8
			e := peek(pa) | 1<<2 // U/S
			poke(pa, e)
			if level == 0 || e&(1<<7) != 0 { // a 4 KiB page, or PS
				break
			}
			table = e & 0x000f_ffff_ffff_f000
		}
	}
	x86.WriteCR3(x86.ReadCR3()) // flush the TLB's copies
	return nil
}
