package hv

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"strings"
	"testing"

	"tamavisor/ept"
	"tamavisor/vmx"
	"tamavisor/xen"
)

func TestReadMSRFixed(t *testing.T) {
	e := newTestVCPU(t, 4)
	tests := []struct {
		msr  uint32
		want uint64
	}{
		{msrTSC, 0x1234_5678_9abc},
		{msrAPICBase, 0xfee0_0100}, // BSP, APIC disabled
		{msrFeatureControl, 1},     // locked, VMX off
		{msrBIOSSignID, 0},
		{msrMTRRCap, 0},
		{msrMTRRDefType, 6},
		{msrMiscEnable, 1},
	}
	for _, tt := range tests {
		got, err := e.v.readMSR(tt.msr, 0x1234_5678_9abc)
		if err != nil || got != tt.want {
			t.Errorf("readMSR(%#x) = %#x, %v; want %#x", tt.msr, got, err, tt.want)
		}
	}
}

// The MSRs the VMCS switches are read and written through its fields.
func TestMSRThroughVMCS(t *testing.T) {
	const addr = 0xffff_8000_1234_5000 // canonical
	tests := []struct {
		msr   uint32
		val   uint64
		field uint32
		want  uint64 // in the field
	}{
		{msrSysenterCS, 0xdead_0010, uint32(vmx.GuestSysenterCS), 0xdead_0010},
		{msrSysenterCS, 0x1_0000_0010, uint32(vmx.GuestSysenterCS), 0x10}, // 32 bits
		{msrSysenterESP, addr, uint32(vmx.GuestSysenterESP), addr},
		{msrSysenterEIP, addr, uint32(vmx.GuestSysenterEIP), addr},
		{msrFSBase, addr, uint32(vmx.GuestFSBase), addr},
		{msrGSBase, 0x7fff_ffff_f000, uint32(vmx.GuestGSBase), 0x7fff_ffff_f000},
		{msrDebugCtl, 0, uint32(vmx.GuestIA32DebugCtl), 0},
		{msrPAT, 0x0007_0406_0007_0406, uint32(vmx.GuestIA32PAT), 0x0007_0406_0007_0406},
		{msrPAT, 0x0001_0405_0607_0006, uint32(vmx.GuestIA32PAT), 0x0001_0405_0607_0006},
		{msrEFER, eferSCE | eferNXE, uint32(vmx.GuestIA32EFER), eferSCE | eferNXE},
		{msrEFER, eferLME, uint32(vmx.GuestIA32EFER), eferLME}, // paging off: LMA follows at CR0.PG
	}
	for _, tt := range tests {
		e := newTestVCPU(t, 4)
		if err := e.v.writeMSR(tt.msr, tt.val); err != nil {
			t.Errorf("writeMSR(%#x, %#x): %v", tt.msr, tt.val, err)
			continue
		}
		if got := e.vmcs[tt.field]; got != tt.want {
			t.Errorf("writeMSR(%#x, %#x): field %#x = %#x, want %#x", tt.msr, tt.val, tt.field, got, tt.want)
		}
		if got, err := e.v.readMSR(tt.msr, 0); err != nil || got != tt.want {
			t.Errorf("readMSR(%#x) = %#x, %v after writing %#x; want %#x", tt.msr, got, err, tt.val, tt.want)
		}
		if e.v.msrsDirty {
			t.Errorf("writeMSR(%#x): a VMCS-switched MSR marked the syscall MSRs dirty", tt.msr)
		}
	}
}

// The syscall MSRs go to the vCPU's own copy, which the hypervisor loads
// into the CPU before the vCPU runs again.
func TestSyscallMSRs(t *testing.T) {
	tests := []struct {
		msr  uint32
		val  uint64
		want uint64
		got  func(m *SyscallMSRs) uint64
	}{
		{msrSTAR, 0x0023_0010_0000_0000, 0x0023_0010_0000_0000, func(m *SyscallMSRs) uint64 { return m.STAR }},
		{msrLSTAR, 0xffff_ffff_8100_0000, 0xffff_ffff_8100_0000, func(m *SyscallMSRs) uint64 { return m.LSTAR }},
		{msrCSTAR, 0x40_1000, 0x40_1000, func(m *SyscallMSRs) uint64 { return m.CSTAR }},
		{msrSFMASK, 0xffff_ffff_0004_7700, 0x4_7700, func(m *SyscallMSRs) uint64 { return m.SFMASK }},
		{msrKernelGSBase, 0xffff_8880_0000_0000, 0xffff_8880_0000_0000, func(m *SyscallMSRs) uint64 { return m.KernelGSBase }},
		{msrTSCAux, 0x1_0000_0003, 3, func(m *SyscallMSRs) uint64 { return m.TSCAux }},
	}
	for _, tt := range tests {
		e := newTestVCPU(t, 4)
		before := fmt.Sprint(e.vmcs)
		if err := e.v.writeMSR(tt.msr, tt.val); err != nil {
			t.Errorf("writeMSR(%#x, %#x): %v", tt.msr, tt.val, err)
			continue
		}
		if got := tt.got(&e.v.msrs); got != tt.want {
			t.Errorf("writeMSR(%#x, %#x): shadow %#x, want %#x", tt.msr, tt.val, got, tt.want)
		}
		if !e.v.msrsDirty {
			t.Errorf("writeMSR(%#x): msrsDirty not set", tt.msr)
		}
		if got, err := e.v.readMSR(tt.msr, 0); err != nil || got != tt.want {
			t.Errorf("readMSR(%#x) = %#x, %v; want %#x", tt.msr, got, err, tt.want)
		}
		if fmt.Sprint(e.vmcs) != before {
			t.Errorf("writeMSR(%#x) wrote the VMCS", tt.msr)
		}
	}
}

func TestWriteMSRRefused(t *testing.T) {
	const nonCanonical = 0x0000_8000_0000_0000
	tests := []struct {
		name string
		msr  uint32
		val  uint64
		why  string
	}{
		{"TSC", msrTSC, 0, "not an MSR tamavisor offers"},
		{"APIC base", msrAPICBase, 0xfee0_0900, "not an MSR"},
		{"feature control", msrFeatureControl, 5, "not an MSR"},
		{"unknown", 0x1234, 1, "not an MSR"},
		{"hypercall MSR", xen.HypercallMSR, 0x1000, "handled by the hypervisor"},
		{"SYSENTER_ESP", msrSysenterESP, nonCanonical, "canonical"},
		{"SYSENTER_EIP", msrSysenterEIP, 0x1234_5678_9abc_def0, "canonical"},
		{"FS base", msrFSBase, nonCanonical, "canonical"},
		{"GS base", msrGSBase, 0xfffe_ffff_ffff_ffff, "canonical"},
		{"LSTAR", msrLSTAR, nonCanonical, "canonical"},
		{"CSTAR", msrCSTAR, nonCanonical, "canonical"},
		{"KERNEL_GS_BASE", msrKernelGSBase, nonCanonical, "canonical"},
		{"DEBUGCTL", msrDebugCtl, 1, "debug controls"},
		{"PAT type 2", msrPAT, 0x0007_0406_0007_0402, "memory type"},
		{"PAT type 3", msrPAT, 0x0307_0406_0007_0406, "memory type"},
		{"PAT type 8", msrPAT, 0x0007_0806_0007_0406, "memory type"},
		{"PAT high bits", msrPAT, 0x0007_0406_0007_0446, "memory type"},
		{"EFER bit 9", msrEFER, 1 << 9, "reserved IA32_EFER bits"},
		{"EFER bit 12", msrEFER, 1 << 12, "reserved IA32_EFER bits"},
		{"EFER bit 63", msrEFER, 1 << 63, "reserved IA32_EFER bits"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newTestVCPU(t, 4)
			before := fmt.Sprint(e.vmcs)
			err := e.v.writeMSR(tt.msr, tt.val)
			var f *msrFault
			if !errors.As(err, &f) {
				t.Fatalf("writeMSR(%#x, %#x) = %v, want an msrFault", tt.msr, tt.val, err)
			}
			want := fmt.Sprintf("WRMSR %#x = %#x", tt.msr, tt.val)
			if !strings.Contains(f.Error(), want) || !strings.Contains(f.Error(), tt.why) {
				t.Errorf("fault %q, want %q and %q", f, want, tt.why)
			}
			if fmt.Sprint(e.vmcs) != before || e.v.msrs != (SyscallMSRs{}) || e.v.msrsDirty {
				t.Error("a refused write changed the vCPU")
			}
		})
	}
}

func TestReadMSRRefused(t *testing.T) {
	e := newTestVCPU(t, 4)
	for _, msr := range []uint32{0x1234, 0x8b + 1, xen.HypercallMSR, 0xc000_0104, msrEFER + 0x1000_0000} {
		_, err := e.v.readMSR(msr, 0)
		var f *msrFault
		if !errors.As(err, &f) || !strings.Contains(f.Error(), fmt.Sprintf("RDMSR %#x", msr)) {
			t.Errorf("readMSR(%#x) = %v, want an msrFault naming it", msr, err)
		}
	}
}

func TestWriteEFER(t *testing.T) {
	// In long mode LMA is read-only: kept whatever the value written says.
	e := newTestVCPU(t, 4)
	e.longMode(0x1000)
	for _, val := range []uint64{eferSCE | eferLME | eferNXE, eferSCE | eferLME | eferNXE | eferLMA, eferLME} {
		if err := e.v.writeMSR(msrEFER, val); err != nil {
			t.Fatalf("writeMSR(EFER, %#x): %v", val, err)
		}
		if got := e.vmcs.Read64(vmx.GuestIA32EFER); got != val|eferLMA {
			t.Errorf("writeMSR(EFER, %#x) in long mode: EFER %#x, want LMA kept", val, got)
		}
	}
	// LME may not change while paging is on.
	if err := e.v.writeMSR(msrEFER, eferSCE); err == nil || !strings.Contains(err.Error(), "LME") {
		t.Errorf("clearing LME with paging on: %v", err)
	}
	// With paging off, LMA stays clear whatever is written.
	e = newTestVCPU(t, 4)
	if err := e.v.writeMSR(msrEFER, eferLME|eferLMA); err != nil {
		t.Fatal(err)
	}
	if got := e.vmcs.Read64(vmx.GuestIA32EFER); got != eferLME {
		t.Errorf("EFER %#x after writing LME|LMA with paging off, want LME", got)
	}
}

func TestWritePATNeedsPATSwitching(t *testing.T) {
	e := newTestVCPU(t, 4)
	if e.h.CPU.Controls.Entry&vmx.EntryLoadPAT == 0 {
		t.Fatal("the recorded CPU switches IA32_PAT: the test expects it")
	}
	e.h.CPU.Controls.Entry &^= vmx.EntryLoadPAT
	err := e.v.writeMSR(msrPAT, 0x0007_0406_0007_0406)
	if err == nil || !strings.Contains(err.Error(), "IA32_PAT switching") {
		t.Errorf("writeMSR(PAT) without PAT switching: %v", err)
	}
}

// rdmsr runs the RDMSR exit handler.
func (e *testEnv) rdmsr(msr uint64) {
	e.v.Regs.GPR[vmx.RCX] = msr
	e.v.Regs.GPR[vmx.RAX], e.v.Regs.GPR[vmx.RDX] = ^uint64(0), ^uint64(0)
	e.exit(vmx.ExitReasonRDMSR, 0)
}

// wrmsr runs the WRMSR exit handler with EDX:EAX = val, and garbage in the
// upper halves of RAX and RDX (which WRMSR ignores).
func (e *testEnv) wrmsr(msr, val uint64) {
	g := &e.v.Regs.GPR
	g[vmx.RCX] = msr
	g[vmx.RAX] = 0xbad0_0000_0000_0000 | val&0xffff_ffff
	g[vmx.RDX] = 0xbad0_0000_0000_0000 | val>>32
	e.exit(vmx.ExitReasonWRMSR, 0)
}

func TestHandleRDMSRWRMSR(t *testing.T) {
	e := newTestVCPU(t, 4)
	const val uint64 = 0xffff_8000_dead_b000
	e.wrmsr(0xffff_ffff_0000_0000|msrLSTAR, val) // RCX's upper half is ignored
	e.wantAdvanced(t)
	e.wantInjected(t, 0)
	if e.v.msrs.LSTAR != val {
		t.Fatalf("LSTAR %#x, want %#x", e.v.msrs.LSTAR, val)
	}
	e.v.Regs.RIP, e.v.Regs.Dirty = testRIP, 0
	e.rdmsr(msrLSTAR)
	e.wantAdvanced(t)
	if g := e.v.Regs.GPR; g[vmx.RAX] != val&0xffff_ffff || g[vmx.RDX] != val>>32 {
		t.Errorf("RDMSR LSTAR: EDX:EAX = %#x:%#x, want %#x", g[vmx.RDX], g[vmx.RAX], uint64(val))
	}
	// The TSC a guest reads is the host's.
	e.v.Regs.RIP = testRIP
	before := rdtsc()
	e.rdmsr(msrTSC)
	after := rdtsc()
	if tsc := e.v.Regs.GPR[vmx.RDX]<<32 | e.v.Regs.GPR[vmx.RAX]; tsc < before || tsc > after {
		t.Errorf("RDMSR TSC = %d, not between %d and %d", tsc, before, after)
	}
	if e.d.Stats.Exits[vmx.ExitReasonRDMSR] != 2 || e.d.Stats.Exits[vmx.ExitReasonWRMSR] != 1 {
		t.Errorf("exit counts: %d RDMSR, %d WRMSR", e.d.Stats.Exits[vmx.ExitReasonRDMSR], e.d.Stats.Exits[vmx.ExitReasonWRMSR])
	}
}

// A refused MSR access injects #GP(0), leaves RIP on the instruction and
// logs one line naming the MSR; the domain goes on.
func TestMSRFaultInjectsGP(t *testing.T) {
	tests := []struct {
		name string
		do   func(e *testEnv)
		msr  string
	}{
		{"WRMSR TSC", func(e *testEnv) { e.wrmsr(0x10, 5) }, "WRMSR 0x10 = 0x5"},
		{"RDMSR 0x1234", func(e *testEnv) { e.rdmsr(0x1234) }, "RDMSR 0x1234"},
		{"WRMSR 0x1234", func(e *testEnv) { e.wrmsr(0x1234, 0) }, "WRMSR 0x1234"},
		{"RDMSR hypercall", func(e *testEnv) { e.rdmsr(xen.HypercallMSR) }, "RDMSR 0x40000000"},
		{"WRMSR EFER reserved", func(e *testEnv) { e.wrmsr(msrEFER, 1<<9) }, "WRMSR 0xc0000080 = 0x200"},
		{"WRMSR LSTAR non-canonical", func(e *testEnv) { e.wrmsr(msrLSTAR, 1<<47) }, "WRMSR 0xc0000082"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newTestVCPU(t, 4)
			tt.do(e)
			e.wantNotAdvanced(t)
			e.wantInjected(t, injectGP)
			if ec := e.vmcs.Read32(vmx.VMEntryExceptionErrorCode); ec != 0 {
				t.Errorf("error code %#x, want 0", ec)
			}
			e.wantRunning(t)
			if strings.HasPrefix(tt.name, "RDMSR") {
				if g := e.v.Regs.GPR; g[vmx.RAX] != ^uint64(0) || g[vmx.RDX] != ^uint64(0) {
					t.Error("a refused RDMSR changed EDX:EAX")
				}
			}
			lines := e.lines("hv: ")
			if len(lines) != 1 || !strings.Contains(lines[0], tt.msr) || !strings.Contains(lines[0], "d1.test") ||
				!strings.HasSuffix(lines[0], "#GP") {
				t.Errorf("log %q, want one line from d1.test naming %q and #GP", lines, tt.msr)
			}
		})
	}
}

// A guest that keeps touching MSRs it may not gets #GP every time, but only
// its first few faults are logged.
func TestMSRFaultLogBounded(t *testing.T) {
	e := newTestVCPU(t, 4)
	for i := 0; i < 20; i++ {
		e.v.vmcs.Write32(vmx.VMEntryIntrInfoField, 0)
		e.rdmsr(uint64(0x1000 + i))
		e.wantInjected(t, injectGP)
	}
	if n := len(e.lines("hv: d1.test: RDMSR")); n != maxWarnings {
		t.Errorf("%d log lines for 20 faults, want %d", n, maxWarnings)
	}
	if n := len(e.lines("hv: d1.test: more refused requests; they are no longer printed")); n != 1 {
		t.Errorf("%d lines say the rest go unprinted, want 1", n)
	}
	// The bound is the domain's, across kinds of refusal.
	before := len(e.lines("hv: "))
	e.h.warn(e.d, "add_to_physmap refused")
	if n := len(e.lines("hv: ")); n != before {
		t.Errorf("a refusal after the bound was printed (%d lines, was %d)", n, before)
	}
}

// hypercallStub is entry nr of the hypercall page: MOV EAX, nr; VMCALL; RET.
func hypercallStub(nr int) []byte {
	b := []byte{0xb8, 0, 0, 0, 0, 0x0f, 0x01, 0xc1, 0xc3}
	binary.LittleEndian.PutUint32(b[1:], uint32(nr))
	return b
}

func TestHypercallPage(t *testing.T) {
	e := newTestVCPU(t, 4)
	const gpa = 0x20_3000 // in the second 2 MiB chunk
	e.write(t, gpa-1, []byte{0x55})
	e.write(t, gpa+mem4K, []byte{0x66})
	e.wrmsr(xen.HypercallMSR, gpa)
	e.wantAdvanced(t)
	e.wantInjected(t, 0)
	page := e.read(t, gpa, mem4K)
	for nr := 0; nr < mem4K/xen.HypercallEntrySize; nr++ {
		entry := page[nr*xen.HypercallEntrySize : (nr+1)*xen.HypercallEntrySize]
		stub := hypercallStub(nr)
		if !bytes.Equal(entry[:len(stub)], stub) {
			t.Fatalf("entry %d: % x, want % x", nr, entry[:len(stub)], stub)
		}
		if !bytes.Equal(entry[len(stub):], make([]byte, xen.HypercallEntrySize-len(stub))) {
			t.Fatalf("entry %d: padding % x", nr, entry[len(stub):])
		}
	}
	// The tamavisor hypercall and console_io, as a guest calls them.
	for _, nr := range []int{xen.HypercallConsoleIO, xen.HypercallTamavisor} {
		if got := e.read(t, gpa+uint64(nr)*32, 9); !bytes.Equal(got, hypercallStub(nr)) {
			t.Errorf("entry %d: % x", nr, got)
		}
	}
	if b := e.read(t, gpa-1, 1); b[0] != 0x55 {
		t.Error("the byte before the page changed")
	}
	if b := e.read(t, gpa+mem4K, 1); b[0] != 0x66 {
		t.Error("the byte after the page changed")
	}
	e.check(t)
}

func TestHypercallPageRefused(t *testing.T) {
	tests := []struct {
		name string
		val  uint64
		why  string
		prep func(t *testing.T, e *testEnv)
	}{
		{"page index 1", 0x5001, "only hypercall page 0", nil},
		{"page index 0xfff", 0x5fff, "only hypercall page 0", nil},
		{"page index 0x800", 0x5800, "only hypercall page 0", nil},
		{"GPA at the end of memory", 4 << 20, "not mapped", nil},
		{"GPA far outside", 0x7_0000_0000, "not mapped", nil},
		{"GPA beyond the EPT", 0xffff_ffff_ffff_f000, "not mapped", nil},
		{"read-only page", 0x6000, "mapped r", func(t *testing.T, e *testEnv) {
			if err := e.d.EPT.Protect(0x6000, mem4K, ept.RX); err != nil {
				t.Fatal(err)
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newTestVCPU(t, 4)
			if tt.prep != nil {
				tt.prep(t, e)
			}
			e.wrmsr(xen.HypercallMSR, tt.val)
			e.wantNotAdvanced(t)
			e.wantInjected(t, injectGP)
			e.wantRunning(t)
			lines := e.lines("hv: ")
			want := fmt.Sprintf("WRMSR 0x40000000 = %#x", tt.val)
			if len(lines) != 1 || !strings.Contains(lines[0], want) || !strings.Contains(lines[0], tt.why) {
				t.Errorf("log %q, want a line with %q and %q", lines, want, tt.why)
			}
			e.check(t)
		})
	}
}

// failingVMCS refuses every write, as VMWRITE would with a broken VMCS.
type failingVMCS struct{ fieldMap }

func (failingVMCS) Write16(vmx.Field16, uint16) error   { return errors.New("VMfailValid") }
func (failingVMCS) Write32(vmx.Field32, uint32) error   { return errors.New("VMfailValid") }
func (failingVMCS) Write64(vmx.Field64, uint64) error   { return errors.New("VMfailValid") }
func (failingVMCS) WriteNat(vmx.FieldNat, uint64) error { return errors.New("VMfailValid") }

// A WRMSR the hypervisor cannot carry out is its failure, not the guest's:
// the domain is ended rather than given #GP.
func TestWRMSRVMWriteFailure(t *testing.T) {
	e := newTestVCPU(t, 4)
	e.v.vmcs = failingVMCS{e.vmcs}
	e.wrmsr(msrFSBase, 0x1000)
	e.wantKilled(t, "MSR access", "VMfailValid")
	e.wantNotAdvanced(t)
}

func TestStateNames(t *testing.T) {
	for s, want := range map[DomainState]string{DomainCreated: "created", DomainRunning: "running", DomainDying: "dying", DomainDead: "dead"} {
		if s.String() != want {
			t.Errorf("DomainState(%d) = %q", int(s), s)
		}
	}
	for s, want := range map[VCPUState]string{VCPURunnable: "runnable", VCPUBlocked: "blocked", VCPUStopped: "stopped"} {
		if s.String() != want {
			t.Errorf("VCPUState(%d) = %q", int(s), s)
		}
	}
}
