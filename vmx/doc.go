// Package vmx drives Intel VT-x: it decodes the VMX capability MSRs (Intel
// SDM Vol. 3D Appendix A), decides whether VMX operation can be entered on
// this processor (IA32_FEATURE_CONTROL, the CR0/CR4 fixed bits) and computes
// the VM-execution, VM-exit and VM-entry control values to program.
//
// The capability decoding is plain Go, tested on the host against recorded
// MSR values (testdata/); only the files with the tamago build tag execute
// privileged instructions.
//
// Section numbers cite the Intel SDM in its 2023 and later editions, where
// Vol. 3C chapter 24 is "Introduction to Virtual Machine Extensions" and
// chapter 25 "Virtual Machine Control Structures"; older editions number these
// VMX chapters one lower. Appendix A keeps its numbering across editions.
package vmx
