package hv

import (
	"fmt"

	"tamavisor/vmx"
	"tamavisor/xen"
)

// MSRs a guest may use (SDM Vol. 4 Table 2-2). Every RDMSR and WRMSR exits
// (no MSR bitmap); those not below raise #GP, as on a CPU without them.
const (
	msrTSC            = 0x10
	msrAPICBase       = 0x1b
	msrFeatureControl = 0x3a
	msrBIOSSignID     = 0x8b
	msrMTRRCap        = 0xfe
	msrSysenterCS     = 0x174
	msrSysenterESP    = 0x175
	msrSysenterEIP    = 0x176
	msrMiscEnable     = 0x1a0
	msrDebugCtl       = 0x1d9
	msrPAT            = 0x277
	msrMTRRDefType    = 0x2ff
	msrEFER           = 0xc000_0080
	msrSTAR           = 0xc000_0081
	msrLSTAR          = 0xc000_0082
	msrCSTAR          = 0xc000_0083
	msrSFMASK         = 0xc000_0084
	msrFSBase         = 0xc000_0100
	msrGSBase         = 0xc000_0101
	msrKernelGSBase   = 0xc000_0102
	msrTSCAux         = 0xc000_0103
)

// SyscallMSRs are the MSRs a guest may write that the VMCS does not switch:
// each vCPU keeps its own values, which the hypervisor loads into the CPU
// before running it, so no domain sees another's (or the host's).
type SyscallMSRs struct {
	STAR, LSTAR, CSTAR, SFMASK, KernelGSBase, TSCAux uint64
}

// msrFault is a #GP the guest earns, with the reason for the log.
type msrFault struct{ why string }

func (f *msrFault) Error() string { return f.why }

func canonical(v uint64) bool {
	top := int64(v) >> 47
	return top == 0 || top == -1
}

// readMSR returns the value RDMSR gives the guest, or a fault.
func (v *VCPU) readMSR(msr uint32, tsc uint64) (uint64, error) {
	s := v.vmcs
	switch msr {
	case msrTSC:
		return tsc, nil
	case msrAPICBase:
		// The bootstrap processor, APIC disabled: tamavisor does not
		// emulate a local APIC (bit 8 BSP, bit 11 enable).
		return 0xfee0_0000 | 1<<8, nil
	case msrFeatureControl:
		return 1, nil // locked, VMX off: CPUID hides VMX too
	case msrBIOSSignID, msrMTRRCap:
		return 0, nil
	case msrMTRRDefType:
		return 6, nil // MTRRs off, default type write-back
	case msrMiscEnable:
		return 1, nil // fast strings
	case msrSysenterCS:
		return uint64(s.Read32(vmx.GuestSysenterCS)), nil
	case msrSysenterESP:
		return s.ReadNat(vmx.GuestSysenterESP), nil
	case msrSysenterEIP:
		return s.ReadNat(vmx.GuestSysenterEIP), nil
	case msrDebugCtl:
		return s.Read64(vmx.GuestIA32DebugCtl), nil
	case msrPAT:
		return s.Read64(vmx.GuestIA32PAT), nil
	case msrEFER:
		return s.Read64(vmx.GuestIA32EFER), nil
	case msrFSBase:
		return s.ReadNat(vmx.GuestFSBase), nil
	case msrGSBase:
		return s.ReadNat(vmx.GuestGSBase), nil
	case msrSTAR:
		return v.msrs.STAR, nil
	case msrLSTAR:
		return v.msrs.LSTAR, nil
	case msrCSTAR:
		return v.msrs.CSTAR, nil
	case msrSFMASK:
		return v.msrs.SFMASK, nil
	case msrKernelGSBase:
		return v.msrs.KernelGSBase, nil
	case msrTSCAux:
		return v.msrs.TSCAux, nil
	}
	return 0, &msrFault{fmt.Sprintf("RDMSR 0x%x: not an MSR tamavisor offers", msr)}
}

// writeMSR applies WRMSR for the guest, or returns a fault. The Xen
// hypercall-page MSR is the hypervisor's business (see Hypervisor.wrmsr).
func (v *VCPU) writeMSR(msr uint32, val uint64) error {
	s := v.vmcs
	bad := func(why string) error {
		return &msrFault{fmt.Sprintf("WRMSR 0x%x = 0x%x: %s", msr, val, why)}
	}
	switch msr {
	case msrSysenterCS:
		return s.Write32(vmx.GuestSysenterCS, uint32(val))
	case msrSysenterESP, msrSysenterEIP, msrFSBase, msrGSBase, msrLSTAR, msrCSTAR, msrKernelGSBase:
		if !canonical(val) {
			return bad("not a canonical address")
		}
	}
	switch msr {
	case msrSysenterESP:
		return s.WriteNat(vmx.GuestSysenterESP, val)
	case msrSysenterEIP:
		return s.WriteNat(vmx.GuestSysenterEIP, val)
	case msrFSBase:
		return s.WriteNat(vmx.GuestFSBase, val)
	case msrGSBase:
		return s.WriteNat(vmx.GuestGSBase, val)
	case msrDebugCtl:
		if val != 0 {
			return bad("debug controls are not virtualized")
		}
		return s.Write64(vmx.GuestIA32DebugCtl, 0)
	case msrPAT:
		// Each byte must be a valid memory type (SDM Vol. 3A 12.12.2).
		for i := 0; i < 8; i++ {
			if t := val >> (8 * i) & 0xff; t == 2 || t == 3 || t > 7 {
				return bad("invalid memory type in IA32_PAT")
			}
		}
		if v.hv != nil && v.hv.CPU != nil && v.hv.CPU.Controls.Entry&vmx.EntryLoadPAT == 0 {
			return bad("IA32_PAT switching is not available on this CPU")
		}
		return s.Write64(vmx.GuestIA32PAT, val)
	case msrEFER:
		// SCE (0), LME (8), LMA (10, read-only: kept), NXE (11)
		// (SDM Vol. 3A 2.2.1, Table 2-1).
		const writable = 1<<0 | 1<<8 | 1<<11
		old := s.Read64(vmx.GuestIA32EFER)
		if val&^(writable|eferLMA) != 0 {
			return bad("reserved IA32_EFER bits")
		}
		if (val^old)&(1<<8) != 0 && s.ReadNat(vmx.GuestCR0)&cr0PG != 0 {
			return bad("IA32_EFER.LME changes while paging is on")
		}
		return s.Write64(vmx.GuestIA32EFER, val&writable|old&eferLMA)
	case msrSTAR:
		v.msrs.STAR = val
	case msrLSTAR:
		v.msrs.LSTAR = val
	case msrCSTAR:
		v.msrs.CSTAR = val
	case msrSFMASK:
		v.msrs.SFMASK = val & 0xffff_ffff
	case msrKernelGSBase:
		v.msrs.KernelGSBase = val
	case msrTSCAux:
		v.msrs.TSCAux = val & 0xffff_ffff
	case xen.HypercallMSR:
		return bad("handled by the hypervisor") // see Hypervisor.wrmsr
	default:
		return bad("not an MSR tamavisor offers")
	}
	v.msrsDirty = true
	return nil
}
