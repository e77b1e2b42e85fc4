// Package abi holds what tamavisor itself promises its domains beyond Xen's
// ABI (package xen): its CPUID leaves, the domain memory layout and the
// upcall vector its Go guests use. The hypervisor and the guest library both
// import it, so the two sides cannot disagree.
package abi

// tamavisor's CPUID leaves (Xen's move to 0x40000100; see xen.CPUIDBase).
const (
	// CPUIDSignatureLeaf: EAX = the largest tamavisor leaf,
	// EBX:ECX:EDX = "tamavisor\0\0\0".
	CPUIDSignatureLeaf = 0x4000_0000
	// CPUIDTimingLeaf: EAX = TSC frequency in kHz, EBX = 0 (the
	// "timing information" leaf that VMware and KVM also place here).
	CPUIDTimingLeaf = 0x4000_0010

	CPUIDSignatureEBX = 0x616d6174 // "tama"
	CPUIDSignatureECX = 0x6f736976 // "viso"
	CPUIDSignatureEDX = 0x00000072 // "r\0\0\0"
)

// Signature is the tamavisor CPUID signature as a string.
const Signature = "tamavisor"

// UpcallVector is the interrupt vector tamavisor's Go guests register with
// HVM_PARAM_CALLBACK_IRQ for event upcalls and timer wake-ups (the vector
// Linux uses for Xen's callback, HYPERVISOR_CALLBACK_VECTOR).
const UpcallVector = 0xf3
