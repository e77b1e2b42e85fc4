package hv

import (
	"tamavisor/abi"
	"tamavisor/xen"
)

// CPUIDView is what a vCPU's CPUID answers depend on besides the CPU.
type CPUIDView struct {
	TSCKHz   uint32 // the TSC frequency announced in tamavisor's timing leaf
	APICID   uint32 // the vCPU's number
	OSXSAVE  bool   // the guest's CR4.OSXSAVE, which CPUID.1:ECX[27] mirrors
	RDTSCP   bool   // RDTSCP is enabled in the VMCS
	INVPCID  bool   // INVPCID is enabled in the VMCS
	XCR0     uint64 // the XCR0 guests run with (0: no XSAVE)
	XenLeaf0 uint32 // Xen's first leaf (xen.CPUIDBase)
}

// GuestCPUID computes what CPUID returns to a guest: the host's answer
// (raw), with what tamavisor does not virtualize hidden (VMX, SMX, MONITOR,
// the local APIC and its timer modes, thermal and performance monitoring,
// topology, speculation-control MSRs), the hypervisor bit set, and
// tamavisor's and Xen's leaves (SDM Vol. 2A "CPUID"; Xen public
// arch-x86/cpuid.h).
func GuestCPUID(leaf, sub uint32, raw func(leaf, sub uint32) [4]uint32, c CPUIDView) [4]uint32 {
	const (
		eax = iota
		ebx
		ecx
		edx
	)
	switch {
	case leaf == abi.CPUIDSignatureLeaf:
		return [4]uint32{abi.CPUIDTimingLeaf, abi.CPUIDSignatureEBX, abi.CPUIDSignatureECX, abi.CPUIDSignatureEDX}
	case leaf == abi.CPUIDTimingLeaf:
		return [4]uint32{c.TSCKHz, 0, 0, 0}
	case leaf == c.XenLeaf0:
		return [4]uint32{c.XenLeaf0 + xen.CPUIDLeaves - 1, xen.CPUIDSignatureEBX, xen.CPUIDSignatureECX, xen.CPUIDSignatureEDX}
	case leaf == c.XenLeaf0+xen.CPUIDLeafVersion:
		return [4]uint32{xen.Version, 0, 0, 0}
	case leaf == c.XenLeaf0+xen.CPUIDLeafHypercall:
		return [4]uint32{1, xen.HypercallMSR, 0, 0} // one hypercall page, installed through this MSR
	case leaf == c.XenLeaf0+xen.CPUIDLeafTime && sub == 0:
		return [4]uint32{0, 0, c.TSCKHz, 0} // TSC mode 0, guest TSC frequency in kHz
	case leaf >= 0x4000_0000 && leaf < 0x5000_0000:
		return [4]uint32{}
	}

	r := raw(leaf, sub)
	switch leaf {
	case 0x1:
		// ECX: clear MONITOR (3), DS-CPL (4), VMX (5), SMX (6), EST (7),
		// TM2 (8), PDCM (15), x2APIC (21), TSC-deadline (24); set the
		// hypervisor bit (31); OSXSAVE (27) mirrors the guest's CR4.
		r[ecx] &^= 1<<3 | 1<<4 | 1<<5 | 1<<6 | 1<<7 | 1<<8 | 1<<15 | 1<<21 | 1<<24 | 1<<27
		r[ecx] |= 1 << 31
		if c.OSXSAVE {
			r[ecx] |= 1 << 27
		}
		// EDX: clear the local APIC (9), DS (21), ACPI thermal (22),
		// HTT (28), TM (29), PBE (31).
		r[edx] &^= 1<<9 | 1<<21 | 1<<22 | 1<<28 | 1<<29 | 1<<31
		// EBX: initial APIC ID (31:24), one logical processor (23:16).
		r[ebx] = r[ebx]&0xffff | 1<<16 | c.APICID<<24
	case 0x5, 0x6, 0xa, 0xb, 0x1f:
		// MONITOR/MWAIT, thermal and power, performance monitoring,
		// topology: not virtualized.
		return [4]uint32{}
	case 0x7:
		if sub == 0 {
			// EBX: SGX (2), HLE (4), RTM (11), INVPCID (10) unless enabled.
			r[ebx] &^= 1<<2 | 1<<4 | 1<<11
			if !c.INVPCID {
				r[ebx] &^= 1 << 10
			}
			// ECX: WAITPKG (5). EDX: IBRS/IBPB (26), STIBP (27),
			// L1D_FLUSH (28), ARCH_CAPABILITIES (29), CORE_CAPABILITIES
			// (30), SSBD (31): their MSRs are not emulated.
			r[ecx] &^= 1 << 5
			r[edx] &^= 0xfc00_0000
		}
	case 0xd:
		if sub == 0 {
			// The XSAVE components a guest may enable: those the
			// hypervisor switches (XSETBV accepts exactly that XCR0).
			r[eax], r[edx] = uint32(c.XCR0), uint32(c.XCR0>>32)
			// ECX: the area size for every offered component, which is
			// the size for the XCR0 guests run with (EBX).
			r[ecx] = r[ebx]
		}
	case 0x8000_0001:
		// ECX: SVM (2), SKINIT (12). EDX: RDTSCP (27) unless enabled.
		r[ecx] &^= 1<<2 | 1<<12
		if !c.RDTSCP {
			r[edx] &^= 1 << 27
		}
	case 0x8000_000a:
		return [4]uint32{} // SVM features
	}
	return r
}
