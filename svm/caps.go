package svm

import (
	"fmt"
	"strings"
)

// CPUIDSVM is the SVM bit of CPUID Fn8000_0001_ECX. AMD APM Vol. 3
// Appendix E, CPUID Fn8000_0001_ECX: bit 2 "SVM"; Vol. 2 §15.4.
const CPUIDSVM = 1 << 2

// MSRVMCR is the index of the VM_CR MSR. AMD APM Vol. 2 §15.30.1 "VM_CR MSR
// (C001_0114h)".
const MSRVMCR uint32 = 0xC001_0114

// VM_CR bits.
const (
	// VMCRLock makes LOCK and SVMDIS read-only until unlocked with the
	// SVM_KEY MSR. AMD APM Vol. 2 §15.30.1: bit 3 "LOCK".
	VMCRLock = 1 << 3
	// VMCRSVMDis makes EFER.SVME must-be-zero. AMD APM Vol. 2 §15.30.1:
	// bit 4 "SVMDIS".
	VMCRSVMDis = 1 << 4
)

// Features are the SVM feature flags of CPUID Fn8000_000A_EDX (AMD APM
// Vol. 3 Appendix E, CPUID Fn8000_000A "SVM Features").
type Features uint32

// SVM feature flags in CPUID Fn8000_000A_EDX.
const (
	FeatNPT                  Features = 1 << 0  // AMD APM Vol. 3 App. E, Fn8000_000A_EDX bit 0 "NP": nested paging (Vol. 2 §15.25)
	FeatLbrVirt              Features = 1 << 1  // AMD APM Vol. 3 App. E, Fn8000_000A_EDX bit 1 "LbrVirt": LBR virtualization
	FeatSVML                 Features = 1 << 2  // AMD APM Vol. 3 App. E, Fn8000_000A_EDX bit 2 "SVML": SVM lock (SVM_KEY)
	FeatNRIPS                Features = 1 << 3  // AMD APM Vol. 3 App. E, Fn8000_000A_EDX bit 3 "NRIPS": next RIP saved on #VMEXIT
	FeatTscRateMsr           Features = 1 << 4  // AMD APM Vol. 3 App. E, Fn8000_000A_EDX bit 4 "TscRateMsr": TSC ratio MSR
	FeatVmcbClean            Features = 1 << 5  // AMD APM Vol. 3 App. E, Fn8000_000A_EDX bit 5 "VmcbClean": VMCB clean bits
	FeatFlushByAsid          Features = 1 << 6  // AMD APM Vol. 3 App. E, Fn8000_000A_EDX bit 6 "FlushByAsid": TLB flush by ASID
	FeatDecodeAssists        Features = 1 << 7  // AMD APM Vol. 3 App. E, Fn8000_000A_EDX bit 7 "DecodeAssists"
	FeatPauseFilter          Features = 1 << 10 // AMD APM Vol. 3 App. E, Fn8000_000A_EDX bit 10 "PauseFilter": PAUSE intercept filter count
	FeatPauseFilterThreshold Features = 1 << 12 // AMD APM Vol. 3 App. E, Fn8000_000A_EDX bit 12 "PauseFilterThreshold"
	FeatAVIC                 Features = 1 << 13 // AMD APM Vol. 3 App. E, Fn8000_000A_EDX bit 13 "AVIC": advanced virtual interrupt controller
	FeatVMSAVEvirt           Features = 1 << 15 // AMD APM Vol. 3 App. E, Fn8000_000A_EDX bit 15 "VMSAVEvirt": VMSAVE/VMLOAD virtualization
	FeatVGIF                 Features = 1 << 16 // AMD APM Vol. 3 App. E, Fn8000_000A_EDX bit 16 "VGIF": virtualized GIF
	FeatX2AVIC               Features = 1 << 18 // AMD APM Vol. 3 App. E, Fn8000_000A_EDX bit 18 "x2AVIC"
	FeatSpecCtrl             Features = 1 << 20 // AMD APM Vol. 3 App. E, Fn8000_000A_EDX bit 20 "SpecCtrl": guest SPEC_CTRL in the VMCB
	FeatVNMI                 Features = 1 << 25 // AMD APM Vol. 3 App. E, Fn8000_000A_EDX bit 25 "VNMI": NMI virtualization
	FeatSvmeAddrChk          Features = 1 << 28 // AMD APM Vol. 3 App. E, Fn8000_000A_EDX bit 28: SVM instructions' address check before #GP
)

var featureNames = []struct {
	f    Features
	name string
}{
	{FeatNPT, "NPT"}, {FeatLbrVirt, "LbrVirt"}, {FeatSVML, "SVML"}, {FeatNRIPS, "NRIPS"},
	{FeatTscRateMsr, "TscRateMsr"}, {FeatVmcbClean, "VmcbClean"}, {FeatFlushByAsid, "FlushByAsid"},
	{FeatDecodeAssists, "DecodeAssists"}, {FeatPauseFilter, "PauseFilter"},
	{FeatPauseFilterThreshold, "PauseFilterThreshold"}, {FeatAVIC, "AVIC"}, {FeatVMSAVEvirt, "VMSAVEvirt"},
	{FeatVGIF, "VGIF"}, {FeatX2AVIC, "x2AVIC"}, {FeatSpecCtrl, "SpecCtrl"}, {FeatVNMI, "VNMI"},
	{FeatSvmeAddrChk, "SvmeAddrChk"},
}

// Has reports whether every feature in mask is present.
func (f Features) Has(mask Features) bool { return f&mask == mask }

// String names the known features present, in bit order, comma-separated.
func (f Features) String() string {
	var names []string
	for _, n := range featureNames {
		if f.Has(n.f) {
			names = append(names, n.name)
		}
	}
	return strings.Join(names, ", ")
}

// Caps are the SVM capabilities of one processor.
type Caps struct {
	// Present is CPUID Fn8000_0001_ECX[SVM]; when false, every other
	// field is zero.
	Present bool
	// Revision is the SVM revision number. AMD APM Vol. 3 App. E,
	// Fn8000_000A_EAX bits 7:0 "SvmRev".
	Revision uint8
	// ASIDs is the number of address space identifiers. AMD APM Vol. 3
	// App. E, Fn8000_000A_EBX "NASID".
	ASIDs uint32
	// Features is Fn8000_000A_EDX.
	Features Features
	// VMCR is the value of the VM_CR MSR, when VMCRErr is nil.
	VMCR uint64
	// VMCRErr is the error reading VM_CR, if any.
	VMCRErr error
}

// Decode decodes the SVM capabilities. cpuidSVM is CPUID
// Fn8000_0001_ECX[SVM] (bit 2); fn8000000A is CPUID Fn8000_000A as EAX, EBX,
// ECX, EDX; vmcr and vmcrErr are the result of reading VM_CR (MSR
// 0xC001_0114). Without SVM the other arguments are ignored.
func Decode(cpuidSVM bool, fn8000000A [4]uint32, vmcr uint64, vmcrErr error) Caps {
	if !cpuidSVM {
		return Caps{}
	}
	c := Caps{
		Present:  true,
		Revision: uint8(fn8000000A[0]), // AMD APM Vol. 3 App. E: Fn8000_000A_EAX bits 7:0
		ASIDs:    fn8000000A[1],        // AMD APM Vol. 3 App. E: Fn8000_000A_EBX
		Features: Features(fn8000000A[3]),
		VMCRErr:  vmcrErr,
	}
	if vmcrErr == nil {
		c.VMCR = vmcr
	}
	return c
}

// Status is whether SVM can be used.
type Status int

const (
	// StatusAbsent: CPUID Fn8000_0001_ECX[SVM] = 0.
	StatusAbsent Status = iota
	// StatusDisabledByFirmware: VM_CR.SVMDIS = 1 and VM_CR.LOCK = 1; only
	// the firmware setup (or, with SVML, the firmware's key) can change it.
	StatusDisabledByFirmware
	// StatusDisabledUnlocked: VM_CR.SVMDIS = 1 but VM_CR.LOCK = 0; the
	// hypervisor must clear SVMDIS (see VMCRWrite) before setting
	// EFER.SVME.
	StatusDisabledUnlocked
	// StatusUsable: EFER.SVME can be set.
	StatusUsable
)

func (s Status) String() string {
	switch s {
	case StatusAbsent:
		return "absent"
	case StatusDisabledByFirmware:
		return "disabled by firmware"
	case StatusDisabledUnlocked:
		return "disabled, unlocked"
	case StatusUsable:
		return "usable"
	}
	return fmt.Sprintf("Status(%d)", int(s))
}

// Status follows AMD APM Vol. 2 §15.4 "Enabling SVM": SVM is allowed when
// VM_CR.SVMDIS is 0. When SVMDIS is 1 and VM_CR.LOCK is 1, the firmware
// disabled it (§15.30.1: writes to SVMDIS are then ignored). When SVMDIS is
// 1 and LOCK is 0, software may clear SVMDIS itself. A VM_CR that cannot be
// read is taken as SVMDIS = 0 (setting EFER.SVME would then #GP if it was
// not).
func (c Caps) Status() Status {
	switch {
	case !c.Present:
		return StatusAbsent
	case c.VMCRErr != nil || c.VMCR&VMCRSVMDis == 0:
		return StatusUsable
	case c.VMCR&VMCRLock != 0:
		return StatusDisabledByFirmware
	default:
		return StatusDisabledUnlocked
	}
}

// VMCRWrite returns the value to write to VM_CR to enable SVM, for
// StatusDisabledUnlocked only: VM_CR with SVMDIS cleared.
func (c Caps) VMCRWrite() (uint64, bool) {
	if c.Status() != StatusDisabledUnlocked {
		return 0, false
	}
	return c.VMCR &^ VMCRSVMDis, true
}

// Message explains Status in one line for the console.
func (c Caps) Message() string {
	switch c.Status() {
	case StatusAbsent:
		return "AMD-V is not present: CPUID Fn8000_0001_ECX[SVM] (bit 2) = 0"
	case StatusDisabledByFirmware:
		if c.Features.Has(FeatSVML) {
			// AMD APM Vol. 2 §15.4: SVM_DISABLED_WITH_KEY.
			return fmt.Sprintf("AMD-V is disabled by the firmware and locked with a key (VM_CR = %#x, SVMDIS=1, LOCK=1): enable SVM Mode in the firmware setup", c.VMCR)
		}
		// AMD APM Vol. 2 §15.4: SVM_DISABLED_AT_BIOS_NOT_UNLOCKABLE.
		return fmt.Sprintf("AMD-V is disabled by the firmware (VM_CR = %#x, SVMDIS=1, LOCK=1): enable SVM Mode in the firmware setup", c.VMCR)
	case StatusDisabledUnlocked:
		w, _ := c.VMCRWrite()
		return fmt.Sprintf("AMD-V is disabled but not locked (VM_CR = %#x, SVMDIS=1, LOCK=0): clearing VM_CR.SVMDIS (writing %#x)", c.VMCR, w)
	default:
		if c.VMCRErr != nil {
			return fmt.Sprintf("AMD-V is usable: VM_CR (MSR %#x) cannot be read (%v); assuming SVMDIS=0", MSRVMCR, c.VMCRErr)
		}
		return fmt.Sprintf("AMD-V is usable (VM_CR = %#x)", c.VMCR)
	}
}

// Summary is a one-line description for the boot banner, e.g.
//
//	SVM rev 1, 16 ASIDs, NPT, NRIPS
//
// listing the known features present in bit order; "no SVM" without SVM.
func (c Caps) Summary() string {
	if !c.Present {
		return "no SVM"
	}
	s := fmt.Sprintf("SVM rev %d, %d ASIDs", c.Revision, c.ASIDs)
	if f := c.Features.String(); f != "" {
		s += ", " + f
	}
	return s
}

// HasNPT reports nested paging (AMD APM Vol. 2 §15.25).
func (c Caps) HasNPT() bool { return c.Features.Has(FeatNPT) }

// HasNRIPS reports that #VMEXIT saves the next sequential instruction
// pointer in the VMCB.
func (c Caps) HasNRIPS() bool { return c.Features.Has(FeatNRIPS) }

// HasDecodeAssists reports the decode assists.
func (c Caps) HasDecodeAssists() bool { return c.Features.Has(FeatDecodeAssists) }

// HasVMCBClean reports the VMCB clean bits.
func (c Caps) HasVMCBClean() bool { return c.Features.Has(FeatVmcbClean) }

// HasFlushByASID reports the TLB-flush-by-ASID control.
func (c Caps) HasFlushByASID() bool { return c.Features.Has(FeatFlushByAsid) }

// HasLBRVirt reports LBR virtualization.
func (c Caps) HasLBRVirt() bool { return c.Features.Has(FeatLbrVirt) }

// HasSVMLock reports the SVM lock (SVM_KEY MSR).
func (c Caps) HasSVMLock() bool { return c.Features.Has(FeatSVML) }

// HasTSCRateMSR reports the TSC ratio MSR.
func (c Caps) HasTSCRateMSR() bool { return c.Features.Has(FeatTscRateMsr) }

// HasPauseFilter reports the PAUSE intercept filter.
func (c Caps) HasPauseFilter() bool { return c.Features.Has(FeatPauseFilter) }

// HasAVIC reports the advanced virtual interrupt controller.
func (c Caps) HasAVIC() bool { return c.Features.Has(FeatAVIC) }

// HasVGIF reports the virtualized global interrupt flag.
func (c Caps) HasVGIF() bool { return c.Features.Has(FeatVGIF) }

// HasVMSAVEVirt reports VMSAVE/VMLOAD virtualization.
func (c Caps) HasVMSAVEVirt() bool { return c.Features.Has(FeatVMSAVEvirt) }
