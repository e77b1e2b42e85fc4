// Package loader turns a guest kernel image into a domain's initial state:
// it owns everything between "here are the bytes of an ELF file" and "the
// vCPU may now be launched".
//
//   - Parse reads an ELF64 x86-64 executable with a small, strict reader of
//     its own (the image is untrusted input and this code runs inside the
//     hypervisor, so debug/elf is not used), checks every PT_LOAD segment
//     against the domain's memory and the ranges the hypervisor reserves,
//     and finds the entry point: the PVH one from the Xen
//     XEN_ELFNOTE_PHYS32_ENTRY note, else e_entry. Image.Load then copies
//     the segments into guest memory through an io.WriterAt (the caller's
//     EPT-backed view of the domain) and zero-fills their tails.
//   - BuildStartInfo lays out the PVH struct hvm_start_info, with its memory
//     map, module list and strings, in one page of guest memory;
//     DefaultMemoryMap is the memory map tamavisor gives a domain.
//   - EntryState is the register state a PVH guest expects at its entry
//     point (Xen docs/misc/pvh.pandoc, "x86/HVM direct boot ABI"), in the
//     form the VMX layer writes into the guest-state area of a VMCS.
//
// The package is pure Go: it does no I/O of its own, uses no unsafe, and
// builds for the host (tests) and for GOOS=tamago alike.
//
// References: ELF-64 Object File Format, version 1.5 (HP/Intel), and the
// System V ABI generic chapters ("gABI") 4 and 5; Xen public headers
// xen/include/public/elfnote.h and arch-x86/hvm/start_info.h; Xen
// docs/misc/pvh.pandoc; Intel SDM Vol. 3C §25.4.1 (guest register state).
package loader
