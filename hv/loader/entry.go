package loader

import (
	"errors"
	"fmt"
)

// GPR indexes CPUState.GPR in the order the SDM numbers general-purpose
// registers (the register field of instruction encodings and of VM-exit
// qualifications).
type GPR int

const (
	RAX GPR = iota
	RCX
	RDX
	RBX
	RSP
	RBP
	RSI
	RDI
	R8
	R9
	R10
	R11
	R12
	R13
	R14
	R15
)

// SegmentRegister is a segment register's hidden state as the VMCS holds it.
type SegmentRegister struct {
	Selector uint16
	Base     uint64
	Limit    uint32 // byte granular: 0xFFFFFFFF for a 4 GiB flat segment
	// Access is in the VMX "access rights" format (Intel SDM Vol. 3C
	// §25.4.1, Table 25-2): bits 3:0 type, 4 S, 6:5 DPL, 7 P, 12 AVL, 13 L,
	// 14 D/B, 15 G, 16 unusable.
	Access uint32
}

// DescriptorTable is GDTR or IDTR.
type DescriptorTable struct {
	Base  uint64
	Limit uint32
}

// CPUState is a vCPU's architectural register state.
type CPUState struct {
	GPR                [16]uint64 // indexed by GPR (RAX, RCX, ...)
	RIP, RFLAGS        uint64
	CR0, CR3, CR4      uint64
	EFER               uint64
	CS, DS, ES, FS, GS SegmentRegister
	SS, TR, LDTR       SegmentRegister
	GDTR, IDTR         DescriptorTable
}

// VMX access rights bits (SDM Vol. 3C Table 25-2).
const (
	arS        = 1 << 4  // descriptor type: 1 = code or data
	arP        = 1 << 7  // present
	arDB       = 1 << 14 // default operation size: 1 = 32-bit
	arG        = 1 << 15 // granularity: 4 KiB units
	arUnusable = 1 << 16

	// Segment types (SDM Vol. 3A §3.4.5.1, Table 3-1; §3.5 Table 3-2).
	typeCodeXRA = 0xB // code, execute/read, accessed
	typeDataRWA = 0x3 // data, read/write, accessed
	typeTSSBusy = 0xB // system: 32-bit TSS (busy)

	cr0PE      = 1 << 0
	cr0ET      = 1 << 4
	rflagsRsvd = 1 << 1 // bit 1 always reads as 1

	// Selectors of the flat segments and the TSS tamavisor gives a PVH
	// guest. pvh.pandoc leaves them unspecified, and no GDT backs them:
	// the guest must load its own GDT before it reloads a segment
	// register.
	pvhCodeSelector = 0x10
	pvhDataSelector = 0x18
	pvhTSSSelector  = 0x20
	pvhTSSLimit     = 0x67
)

// EntryState returns the register state a PVH guest expects at its entry
// point (Xen docs/misc/pvh.pandoc, "x86/HVM direct boot ABI"):
//
//   - EBX: the GPA of the start_info (startInfoGPA, below 4 GiB);
//   - CR0: PE, plus ET (hard-wired to 1 since the i486; Xen's domain
//     builder also sets PE|ET); paging off;
//     CR4, EFER and CR3: 0;
//   - CS: 32-bit flat execute/read code, base 0, limit 0xFFFFFFFF;
//   - DS, ES (and SS, FS, GS, which pvh.pandoc leaves unspecified): 32-bit
//     flat read/write data;
//   - TR: a 32-bit busy TSS with base 0 and limit 0x67; LDTR unusable;
//   - EFLAGS: 0x2 (VM, IF and TF clear);
//   - GDTR and IDTR: base 0 and limit 0 (pvh.pandoc: "The OS is in charge of
//     setting up it's own stack, GDT and IDT"); ESP and the other GPRs: 0;
//   - RIP: the entry point.
//
// This is the state the guest observes; the VMX layer still has to meet
// the VMX fixed CR0/CR4 bits (unrestricted guest for PG=0, CR4.VMXE behind
// a read shadow).
//
// An Entry64 image is refused: a 64-bit entry needs page tables, which the
// loader does not build.
func EntryState(img *Image, startInfoGPA uint64) (CPUState, error) {
	if img == nil {
		return CPUState{}, errors.New("loader: entry state: no image")
	}
	switch img.Entry.Mode {
	case Entry32PVH:
	case Entry64:
		return CPUState{}, fmt.Errorf("loader: not supported yet: the 64-bit entry at %#x needs page tables, which the loader does not build (the image has no XEN_ELFNOTE_PHYS32_ENTRY note)", img.Entry.Addr)
	default:
		return CPUState{}, fmt.Errorf("loader: entry state: unknown entry mode %v", img.Entry.Mode)
	}
	if img.Entry.Addr > 0xFFFFFFFF {
		return CPUState{}, fmt.Errorf("loader: the PVH entry point %#x is above 4 GiB", img.Entry.Addr)
	}
	if startInfoGPA == 0 || startInfoGPA > 0xFFFFFFFF {
		return CPUState{}, fmt.Errorf("loader: start_info GPA %#x does not fit in EBX (it must be non-zero and below 4 GiB)", startInfoGPA)
	}

	code := SegmentRegister{Selector: pvhCodeSelector, Limit: 0xFFFFFFFF, Access: typeCodeXRA | arS | arP | arDB | arG}
	data := SegmentRegister{Selector: pvhDataSelector, Limit: 0xFFFFFFFF, Access: typeDataRWA | arS | arP | arDB | arG}
	var st CPUState
	st.GPR[RBX] = startInfoGPA
	st.RIP = img.Entry.Addr
	st.RFLAGS = rflagsRsvd
	st.CR0 = cr0PE | cr0ET
	st.CS = code
	st.DS, st.ES, st.FS, st.GS, st.SS = data, data, data, data, data
	// A TSS descriptor is a system descriptor: S = 0; its G is 0 (the limit
	// is in bytes).
	st.TR = SegmentRegister{Selector: pvhTSSSelector, Limit: pvhTSSLimit, Access: typeTSSBusy | arP}
	st.LDTR = SegmentRegister{Access: arUnusable}
	return st, nil
}
