package svm

import (
	"errors"
	"testing"
)

// Recorded CPUID Fn8000_000A values (EAX, EBX, ECX, EDX) and VM_CR.
var (
	// QEMU TCG (no KVM) with every SVM feature TCG emulates, e.g.
	// "-cpu max": target/i386/cpu.c answers CPUID 0x8000000A with
	// EAX = 1 ("SVM Revision"), EBX = 0x10 ("nr of ASIDs"), ECX = 0 and
	// EDX = env->features[FEAT_SVM], which TCG limits to
	// TCG_SVM_FEATURES = CPUID_SVM_NPT | CPUID_SVM_VGIF |
	// CPUID_SVM_SVME_ADDR_CHK (bits 0, 16, 28). TCG's RDMSR has no case
	// for VM_CR and returns 0 for it.
	qemuTCG     = [4]uint32{0x1, 0x10, 0, 0x1001_0001}
	qemuTCGVMCR = uint64(0)

	// AMD FX-8150 (Bulldozer), bare metal: VirtualBox source tree,
	// src/VBox/VMM/VMMR3/cpus/AMD_FX_8150_Eight_Core.h, "Generated at
	// 2013-12-09T11:27:04Z by VBoxCpuReport v4.3.51r91084 on win.amd64":
	// CPUID leaf 0x8000000a and MSR 0xc0010114 (AMD_K8_VM_CR, value=0x8);
	// CPUID Fn8000_0001_ECX = 0x01c9bfff (SVM set).
	fx8150     = [4]uint32{0x1, 0x10000, 0, 0x14ff}
	fx8150VMCR = uint64(0x8)

	// AMD Ryzen 7 1800X (Zen), bare metal: VirtualBox source tree,
	// src/VBox/VMM/VMMR3/cpus/AMD_Ryzen_7_1800X_Eight_Core.h, "Generated
	// at 2020-07-15T16:30:16Z by VBoxCpuReport v6.1.97r139174 on
	// linux.amd64": CPUID leaf 0x8000000a; Fn8000_0001_ECX = 0x35c233ff
	// (SVM set). The report has no VM_CR entry.
	ryzen1800X = [4]uint32{0x1, 0x8000, 0, 0x1_bcff}
)

func TestQEMUTCG(t *testing.T) {
	c := Decode(true, qemuTCG, qemuTCGVMCR, nil)
	if !c.HasNPT() {
		t.Error("QEMU TCG: no NPT")
	}
	for name, has := range map[string]bool{
		"NRIPS": c.HasNRIPS(), "DecodeAssists": c.HasDecodeAssists(), "VmcbClean": c.HasVMCBClean(),
		"FlushByAsid": c.HasFlushByASID(), "LbrVirt": c.HasLBRVirt(), "SVML": c.HasSVMLock(),
		"TscRateMsr": c.HasTSCRateMSR(), "PauseFilter": c.HasPauseFilter(), "AVIC": c.HasAVIC(),
		"VMSAVEvirt": c.HasVMSAVEVirt(),
	} {
		if has {
			t.Errorf("QEMU TCG reports %s", name)
		}
	}
	if !c.HasVGIF() || !c.Features.Has(FeatSvmeAddrChk) {
		t.Error("QEMU TCG: VGIF or SVME address check missing")
	}
	if c.Revision != 1 || c.ASIDs != 16 {
		t.Errorf("revision %d, %d ASIDs", c.Revision, c.ASIDs)
	}
	if c.Status() != StatusUsable || c.Message() != "AMD-V is usable (VM_CR = 0x0)" {
		t.Errorf("Status = %v, %q", c.Status(), c.Message())
	}
	if got, want := c.Summary(), "SVM rev 1, 16 ASIDs, NPT, VGIF, SvmeAddrChk"; got != want {
		t.Errorf("Summary = %q, want %q", got, want)
	}
	// A TCG CPU model that asks only for NPT and NRIPS gets NPT alone.
	c = Decode(true, [4]uint32{1, 0x10, 0, uint32(FeatNPT)}, 0, nil)
	if got, want := c.Summary(), "SVM rev 1, 16 ASIDs, NPT"; got != want {
		t.Errorf("Summary = %q, want %q", got, want)
	}
}

func TestRecordedAMD(t *testing.T) {
	c := Decode(true, fx8150, fx8150VMCR, nil)
	if got, want := c.Summary(), "SVM rev 1, 65536 ASIDs, NPT, LbrVirt, SVML, NRIPS, TscRateMsr, VmcbClean, FlushByAsid, DecodeAssists, PauseFilter, PauseFilterThreshold"; got != want {
		t.Errorf("FX-8150 Summary:\n %s\nwant\n %s", got, want)
	}
	if c.Status() != StatusUsable || c.Message() != "AMD-V is usable (VM_CR = 0x8)" {
		t.Errorf("FX-8150: %v, %q", c.Status(), c.Message())
	}
	if !c.HasNPT() || !c.HasNRIPS() || !c.HasDecodeAssists() || !c.HasVMCBClean() || !c.HasFlushByASID() || c.HasAVIC() || c.HasVGIF() {
		t.Errorf("FX-8150 features %#x", uint32(c.Features))
	}

	readErr := errors.New("not recorded")
	c = Decode(true, ryzen1800X, 0, readErr)
	if got, want := c.Summary(), "SVM rev 1, 32768 ASIDs, NPT, LbrVirt, SVML, NRIPS, TscRateMsr, VmcbClean, FlushByAsid, DecodeAssists, PauseFilter, PauseFilterThreshold, AVIC, VMSAVEvirt, VGIF"; got != want {
		t.Errorf("Ryzen Summary:\n %s\nwant\n %s", got, want)
	}
	if c.Status() != StatusUsable || c.Message() != "AMD-V is usable: VM_CR (MSR 0xc0010114) cannot be read (not recorded); assuming SVMDIS=0" {
		t.Errorf("Ryzen: %v, %q", c.Status(), c.Message())
	}
	if !errors.Is(c.VMCRErr, readErr) {
		t.Error("VMCRErr lost")
	}
}

func TestStatus(t *testing.T) {
	for _, tc := range []struct {
		name     string
		cpuidSVM bool
		leaf     [4]uint32
		vmcr     uint64
		err      error
		st       Status
		msg      string
		write    uint64
		canWrite bool
	}{
		{name: "absent", leaf: fx8150, vmcr: 0x18, st: StatusAbsent,
			msg: "AMD-V is not present: CPUID Fn8000_0001_ECX[SVM] (bit 2) = 0"},
		{name: "disabled by firmware", cpuidSVM: true, leaf: [4]uint32{1, 16, 0, uint32(FeatNPT)}, vmcr: 0x18,
			st:  StatusDisabledByFirmware,
			msg: "AMD-V is disabled by the firmware (VM_CR = 0x18, SVMDIS=1, LOCK=1): enable SVM Mode in the firmware setup"},
		{name: "disabled by firmware with a key", cpuidSVM: true, leaf: fx8150, vmcr: 0x18,
			st:  StatusDisabledByFirmware,
			msg: "AMD-V is disabled by the firmware and locked with a key (VM_CR = 0x18, SVMDIS=1, LOCK=1): enable SVM Mode in the firmware setup"},
		{name: "disabled, unlocked", cpuidSVM: true, leaf: fx8150, vmcr: 0x10, st: StatusDisabledUnlocked,
			msg:   "AMD-V is disabled but not locked (VM_CR = 0x10, SVMDIS=1, LOCK=0): clearing VM_CR.SVMDIS (writing 0x0)",
			write: 0, canWrite: true},
		{name: "disabled, unlocked, other bits kept", cpuidSVM: true, leaf: fx8150, vmcr: 0x13, st: StatusDisabledUnlocked,
			msg:   "AMD-V is disabled but not locked (VM_CR = 0x13, SVMDIS=1, LOCK=0): clearing VM_CR.SVMDIS (writing 0x3)",
			write: 0x3, canWrite: true},
		{name: "usable, locked on", cpuidSVM: true, leaf: fx8150, vmcr: 0x8, st: StatusUsable,
			msg: "AMD-V is usable (VM_CR = 0x8)"},
		{name: "usable, unlocked", cpuidSVM: true, leaf: fx8150, vmcr: 0x0, st: StatusUsable,
			msg: "AMD-V is usable (VM_CR = 0x0)"},
		{name: "VM_CR unreadable", cpuidSVM: true, leaf: qemuTCG, vmcr: 0x18, err: errors.New("#GP"), st: StatusUsable,
			msg: "AMD-V is usable: VM_CR (MSR 0xc0010114) cannot be read (#GP); assuming SVMDIS=0"},
	} {
		c := Decode(tc.cpuidSVM, tc.leaf, tc.vmcr, tc.err)
		if c.Status() != tc.st || c.Message() != tc.msg {
			t.Errorf("%s: %v, %q\nwant %v, %q", tc.name, c.Status(), c.Message(), tc.st, tc.msg)
		}
		if w, ok := c.VMCRWrite(); ok != tc.canWrite || w != tc.write {
			t.Errorf("%s: VMCRWrite = %#x, %v", tc.name, w, ok)
		}
	}
	if c := Decode(false, fx8150, 0x18, nil); c != (Caps{}) || c.Summary() != "no SVM" {
		t.Errorf("absent SVM decodes to %+v, %q", c, c.Summary())
	}
	for st, s := range map[Status]string{StatusAbsent: "absent", StatusDisabledByFirmware: "disabled by firmware",
		StatusDisabledUnlocked: "disabled, unlocked", StatusUsable: "usable", Status(9): "Status(9)"} {
		if st.String() != s {
			t.Errorf("%d: %q, want %q", int(st), st.String(), s)
		}
	}
}

func TestFeatureBits(t *testing.T) {
	// Bit positions from AMD APM Vol. 3 Appendix E, Fn8000_000A_EDX.
	for f, bit := range map[Features]int{FeatNPT: 0, FeatLbrVirt: 1, FeatSVML: 2, FeatNRIPS: 3, FeatTscRateMsr: 4,
		FeatVmcbClean: 5, FeatFlushByAsid: 6, FeatDecodeAssists: 7, FeatPauseFilter: 10,
		FeatPauseFilterThreshold: 12, FeatAVIC: 13, FeatVMSAVEvirt: 15, FeatVGIF: 16, FeatX2AVIC: 18,
		FeatSpecCtrl: 20, FeatVNMI: 25, FeatSvmeAddrChk: 28} {
		if f != 1<<bit {
			t.Errorf("%s = %#x, want bit %d", f, uint32(f), bit)
		}
	}
	if got := Features(0xffffffff).String(); got != "NPT, LbrVirt, SVML, NRIPS, TscRateMsr, VmcbClean, FlushByAsid, DecodeAssists, PauseFilter, PauseFilterThreshold, AVIC, VMSAVEvirt, VGIF, x2AVIC, SpecCtrl, VNMI, SvmeAddrChk" {
		t.Errorf("all features: %q", got)
	}
	if Features(1<<11).String() != "" || !Features(0x9).Has(FeatNPT|FeatNRIPS) || Features(0x1).Has(FeatNPT|FeatNRIPS) {
		t.Error("Features.Has/String")
	}
}

func FuzzDecode(f *testing.F) {
	f.Add(true, qemuTCG[0], qemuTCG[1], qemuTCG[2], qemuTCG[3], qemuTCGVMCR, false)
	f.Add(true, fx8150[0], fx8150[1], fx8150[2], fx8150[3], fx8150VMCR, false)
	f.Add(true, ryzen1800X[0], ryzen1800X[1], ryzen1800X[2], ryzen1800X[3], uint64(0x18), true)
	f.Fuzz(func(t *testing.T, svm bool, a, b, c, d uint32, vmcr uint64, fail bool) {
		var err error
		if fail {
			err = errors.New("#GP")
		}
		caps := Decode(svm, [4]uint32{a, b, c, d}, vmcr, err)
		st := caps.Status()
		if (st == StatusAbsent) != !svm {
			t.Fatalf("status %v with cpuidSVM %v", st, svm)
		}
		if w, ok := caps.VMCRWrite(); ok && w&VMCRSVMDis != 0 {
			t.Fatalf("VMCRWrite %#x keeps SVMDIS", w)
		}
		_ = caps.Message() + caps.Summary() + st.String()
	})
}
