package vmx

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// parseMSRDump reads the testdata format described in testdata/README.md.
func parseMSRDump(r io.Reader) (map[uint32]uint64, error) {
	m := make(map[uint32]uint64)
	sc := bufio.NewScanner(r)
	for n := 1; sc.Scan(); n++ {
		line := sc.Text()
		if i := strings.IndexByte(line, '#'); i >= 0 {
			line = line[:i]
		}
		f := strings.Fields(line)
		if len(f) == 0 {
			continue
		}
		if len(f) != 2 || !strings.HasPrefix(f[0], "0x") || !strings.HasPrefix(f[1], "0x") {
			return nil, fmt.Errorf("line %d: want \"0x<index> 0x<value>\", got %q", n, sc.Text())
		}
		idx, err := strconv.ParseUint(f[0][2:], 16, 32)
		if err != nil {
			return nil, fmt.Errorf("line %d: index: %v", n, err)
		}
		val, err := strconv.ParseUint(f[1][2:], 16, 64)
		if err != nil {
			return nil, fmt.Errorf("line %d: value: %v", n, err)
		}
		if _, dup := m[uint32(idx)]; dup {
			return nil, fmt.Errorf("line %d: MSR %#x appears twice", n, idx)
		}
		m[uint32(idx)] = val
	}
	return m, sc.Err()
}

func loadMSRFile(t testing.TB, name string) map[uint32]uint64 {
	t.Helper()
	f, err := os.Open(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	m, err := parseMSRDump(f)
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	return m
}

// errNoMSR is what the fake reader returns for an MSR that is not in its
// map, as the hardware reader does for RDMSR's #GP(0).
type errNoMSR uint32

func (e errNoMSR) Error() string { return fmt.Sprintf("rdmsr %#x: #GP(0)", uint32(e)) }

// fakeMSRs is a map-backed MSRReader that records what was read.
type fakeMSRs struct {
	m     map[uint32]uint64
	reads []uint32
}

func (f *fakeMSRs) read(msr uint32) (uint64, error) {
	f.reads = append(f.reads, msr)
	v, ok := f.m[msr]
	if !ok {
		return 0, errNoMSR(msr)
	}
	return v, nil
}

func readCapsFile(t *testing.T, name string) (*Caps, *fakeMSRs) {
	t.Helper()
	f := &fakeMSRs{m: loadMSRFile(t, name)}
	c, err := ReadCaps(f.read)
	if err != nil {
		t.Fatalf("ReadCaps(%s): %v", name, err)
	}
	return c, f
}

func TestParseMSRDump(t *testing.T) {
	m, err := parseMSRDump(strings.NewReader("# comment\n\n0x480 0x00da040000000004 # BASIC\n\t0x3a\t0x5\n"))
	if err != nil {
		t.Fatal(err)
	}
	if want := map[uint32]uint64{0x480: 0xda040000000004, 0x3a: 5}; !reflect.DeepEqual(m, want) {
		t.Errorf("got %#v, want %#v", m, want)
	}
	for _, bad := range []string{"0x480", "480 0x1", "0x480 0x1 0x2", "0x480 0xzz", "0x480 0x1\n0x480 0x2", "0x100000000 0x1"} {
		if _, err := parseMSRDump(strings.NewReader(bad)); err == nil {
			t.Errorf("parseMSRDump(%q) succeeded", bad)
		}
	}
}

func TestControlsFromMSR(t *testing.T) {
	c := ControlsFromMSR(0xfff9fffe_0401e172)
	if c.Allowed0 != 0x0401e172 || c.Allowed1 != 0xfff9fffe {
		t.Errorf("ControlsFromMSR = %#x/%#x", c.Allowed0, c.Allowed1)
	}
	if c.MSR() != 0xfff9fffe_0401e172 {
		t.Errorf("MSR() = %#x", c.MSR())
	}
	if !c.CanSet(ProcActivateSecondary|ProcUseMSRBitmaps) || c.CanSet(ProcActivateTertiary) {
		t.Error("CanSet")
	}
	if !c.MustSet(ProcCR3LoadExiting) || c.MustSet(ProcHLTExiting) {
		t.Error("MustSet")
	}
}

func TestControlsAdjust(t *testing.T) {
	for _, tc := range []struct {
		name           string
		c              Controls
		want, required uint32
		out            uint32
		errHas         []string // substrings of the error; nil: no error
	}{
		{name: "nothing wanted, allowed0 forced on",
			c: Controls{0x16, 0x7f}, out: 0x16},
		{name: "wanted and allowed",
			c: Controls{0x16, 0x7f}, want: PinPreemptionTimer | PinNMIExiting, out: 0x16 | 0x40 | 0x08},
		{name: "wanted but not allowed is dropped",
			c: Controls{0x16, 0x7f}, want: PinPostedInterrupts | PinNMIExiting, out: 0x16 | 0x08},
		{name: "required and allowed",
			c: Controls{0x16, 0x7f}, required: PinPreemptionTimer, out: 0x56},
		{name: "required not allowed",
			c: Controls{0x16, 0x7f}, required: PinPostedInterrupts | PinNMIExiting,
			errHas: []string{"required controls not supported", "bit 7", "allowed 1-settings 0x7f"}},
		{name: "two required not allowed",
			c: Controls{0, 0x1}, required: 1<<3 | 1<<31,
			errHas: []string{"bit 3, bit 31"}},
		{name: "must-be-0 bit cleared from want",
			c: Controls{0x0401e172, 0xfff9fffe}, want: 1 | ProcHLTExiting, out: 0x0401e172 | ProcHLTExiting},
		{name: "true controls let default1 bits be 0",
			c: Controls{0x04006172, 0xfff9fffe}, out: 0x04006172},
		{name: "inconsistent MSR",
			c: Controls{0x3, 0x1}, errHas: []string{"inconsistent capability MSR", "bit 1"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := tc.c.Adjust(tc.want, tc.required)
			if tc.errHas == nil {
				if err != nil {
					t.Fatalf("Adjust: %v", err)
				}
				if got != tc.out {
					t.Errorf("Adjust = %#x, want %#x", got, tc.out)
				}
				if got&tc.c.Allowed0 != tc.c.Allowed0 || got&^tc.c.Allowed1 != 0 {
					t.Errorf("Adjust = %#x violates %#x/%#x", got, tc.c.Allowed0, tc.c.Allowed1)
				}
				return
			}
			if err == nil {
				t.Fatalf("Adjust = %#x, want an error", got)
			}
			var ce *ControlError
			if !errors.As(err, &ce) {
				t.Fatalf("error %T is not a *ControlError", err)
			}
			for _, s := range tc.errHas {
				if !strings.Contains(err.Error(), s) {
					t.Errorf("error %q lacks %q", err, s)
				}
			}
		})
	}
}

func TestAdjustNamesControls(t *testing.T) {
	skl, _ := readCapsFile(t, "intel-core-i7-6700k.msr")
	c2, _ := readCapsFile(t, "intel-core2-x6800.msr")
	for _, tc := range []struct {
		name string
		f    func(want, required uint32) (uint32, error)
		req  uint32
		msg  string
	}{
		{"pin", skl.AdjustPinBased, PinPostedInterrupts,
			`vmx: pin-based VM-execution controls: required controls not supported (allowed 1-settings 0x7f): bit 7 "process posted interrupts"`},
		{"proc", c2.AdjustProcBased, ProcActivateSecondary | ProcUseMSRBitmaps,
			`vmx: primary processor-based VM-execution controls: required controls not supported (allowed 1-settings 0x77b9fffe): bit 31 "activate secondary controls"`},
		{"proc2 without secondary controls", c2.AdjustProcBased2, Proc2EnableEPT | Proc2UnrestrictedGuest,
			`vmx: secondary processor-based VM-execution controls: required controls not supported (allowed 1-settings 0x0): bit 1 "enable EPT", bit 7 "unrestricted guest"`},
		{"proc2 APICv on a client part", skl.AdjustProcBased2, Proc2EnableEPT | Proc2VirtualIntrDelivery,
			`vmx: secondary processor-based VM-execution controls: required controls not supported (allowed 1-settings 0x1ffcff): bit 9 "virtual-interrupt delivery"`},
		{"exit", c2.AdjustExit, ExitLoadEFER,
			`vmx: VM-exit controls: required controls not supported (allowed 1-settings 0x3efff): bit 21 "load IA32_EFER"`},
		{"entry", c2.AdjustEntry, EntryLoadEFER,
			`vmx: VM-entry controls: required controls not supported (allowed 1-settings 0x1fff): bit 15 "load IA32_EFER"`},
	} {
		_, err := tc.f(0, tc.req)
		if err == nil || err.Error() != tc.msg {
			t.Errorf("%s: error\n %v\nwant\n %s", tc.name, err, tc.msg)
		}
	}
	// The working combination a 64-bit guest on Skylake needs.
	v, err := skl.AdjustProcBased2(0, Proc2EnableEPT|Proc2EnableVPID|Proc2UnrestrictedGuest|Proc2EnableRDTSCP)
	if err != nil || v != 0xaa {
		t.Errorf("AdjustProcBased2 = %#x, %v; want 0xaa", v, err)
	}
	v, err = skl.AdjustEntry(0, EntryIA32eModeGuest|EntryLoadEFER|EntryLoadPAT)
	if err != nil || v != 0x11fb|EntryIA32eModeGuest|EntryLoadEFER|EntryLoadPAT {
		t.Errorf("AdjustEntry = %#x, %v", v, err)
	}
}

func TestTrueControlsSelection(t *testing.T) {
	skl, _ := readCapsFile(t, "intel-core-i7-6700k.msr")
	if !skl.Basic.TrueControls() {
		t.Fatal("6700K: no true controls")
	}
	for _, tc := range []struct {
		name      string
		eff, msr  Controls
		wantEff   Controls
		wantMSR   Controls
		default1  uint32
		clearable uint32 // default1 controls that the true MSR lets be 0
	}{
		{"pin", skl.PinBased, skl.PinBasedMSR, Controls{0x16, 0x7f}, Controls{0x16, 0x7f}, PinDefault1, 0},
		{"proc", skl.ProcBased, skl.ProcBasedMSR, Controls{0x04006172, 0xfff9fffe}, Controls{0x0401e172, 0xfff9fffe}, ProcDefault1,
			ProcCR3LoadExiting | ProcCR3StoreExiting},
		{"exit", skl.Exit, skl.ExitMSR, Controls{0x36dfb, 0x1ffffff}, Controls{0x36dff, 0x1ffffff}, ExitDefault1, ExitSaveDebugControls},
		{"entry", skl.Entry, skl.EntryMSR, Controls{0x11fb, 0x3ffff}, Controls{0x11ff, 0x3ffff}, EntryDefault1, EntryLoadDebugControls},
	} {
		if tc.eff != tc.wantEff {
			t.Errorf("%s: effective %#x/%#x, want the TRUE MSR %#x/%#x", tc.name, tc.eff.Allowed0, tc.eff.Allowed1, tc.wantEff.Allowed0, tc.wantEff.Allowed1)
		}
		if tc.msr != tc.wantMSR {
			t.Errorf("%s: plain MSR %#x/%#x, want %#x/%#x", tc.name, tc.msr.Allowed0, tc.msr.Allowed1, tc.wantMSR.Allowed0, tc.wantMSR.Allowed1)
		}
		// SDM Vol. 3D A.2: the plain MSR reports every default1 control as must-be-1.
		if tc.msr.Allowed0&tc.default1 != tc.default1 {
			t.Errorf("%s: plain MSR allowed0 %#x lacks default1 %#x", tc.name, tc.msr.Allowed0, tc.default1)
		}
		if got := tc.msr.Allowed0 &^ tc.eff.Allowed0; got != tc.clearable {
			t.Errorf("%s: clearable default1 controls %#x, want %#x", tc.name, got, tc.clearable)
		}
	}

	// Without bit 55 the effective controls are the plain MSRs.
	c2, _ := readCapsFile(t, "intel-core2-x6800.msr")
	if c2.Basic.TrueControls() {
		t.Fatal("X6800: true controls")
	}
	if c2.PinBased != c2.PinBasedMSR || c2.ProcBased != c2.ProcBasedMSR || c2.Exit != c2.ExitMSR || c2.Entry != c2.EntryMSR {
		t.Error("X6800: effective controls differ from the plain MSRs")
	}
	if c2.ProcBased != (Controls{0x0401e172, 0x77b9fffe}) {
		t.Errorf("X6800: proc-based %#x/%#x", c2.ProcBased.Allowed0, c2.ProcBased.Allowed1)
	}
}

// synthetic returns a minimal, consistent set of VMX MSRs whose BASIC,
// primary and secondary controls are given.
func synthetic(basic uint64, procAllowed1, proc2Allowed1 uint32) map[uint32]uint64 {
	m := map[uint32]uint64{
		MSRBasic:             basic,
		MSRPinBasedCtls:      0x7f_00000016,
		MSRProcBasedCtls:     uint64(procAllowed1)<<32 | ProcDefault1,
		MSRExitCtls:          0x1ffffff_00036dff,
		MSREntryCtls:         0x3ffff_000011ff,
		MSRMisc:              0x7004c1e7,
		MSRCR0Fixed0:         0x80000021,
		MSRCR0Fixed1:         0xffffffff,
		MSRCR4Fixed0:         0x2000,
		MSRCR4Fixed1:         0x3727ff,
		MSRVMCSEnum:          0x2e,
		MSRTruePinBasedCtls:  0x7f_00000016,
		MSRTrueProcBasedCtls: uint64(procAllowed1)<<32 | 0x04006172,
		MSRTrueExitCtls:      0x1ffffff_00036dfb,
		MSRTrueEntryCtls:     0x3ffff_000011fb,
		MSRProcBasedCtls2:    uint64(proc2Allowed1) << 32,
		MSRProcBasedCtls3:    0xff,
		MSREPTVPIDCap:        0xf0106334141,
		MSRVMFunc:            1,
	}
	return m
}

func TestReadCapsConditionalReads(t *testing.T) {
	const (
		basicTrue   = 0x00da0400_00000004 // bit 55 set
		basicNoTrue = 0x005a0400_00000004 // bit 55 clear
	)
	base := []uint32{0x480, 0x481, 0x482, 0x483, 0x484, 0x485, 0x486, 0x487, 0x488, 0x489, 0x48a}
	trueMSRs := []uint32{0x48d, 0x48e, 0x48f, 0x490}
	cat := func(s ...[]uint32) []uint32 { return slices.Concat(s...) }
	for _, tc := range []struct {
		name                string
		basic               uint64
		procA1, proc2A1     uint32
		wantReads           []uint32
		ept, vpid, vmfunc   bool
		tertiary, secondary bool
	}{
		{name: "no true controls, no secondary controls",
			basic: basicNoTrue, procA1: 0x7ffdffff,
			wantReads: base},
		{name: "true controls, no secondary controls",
			basic: basicTrue, procA1: 0x7ffdffff,
			wantReads: cat(base, trueMSRs)},
		{name: "secondary controls without EPT, VPID or VM functions",
			basic: basicTrue, procA1: 0xfff9fffe, proc2A1: ^uint32(Proc2EnableEPT | Proc2EnableVPID | Proc2EnableVMFunctions),
			wantReads: cat(base, trueMSRs, []uint32{0x48b}), secondary: true},
		{name: "EPT only",
			basic: basicTrue, procA1: 0xfff9fffe, proc2A1: Proc2EnableEPT,
			wantReads: cat(base, trueMSRs, []uint32{0x48b, 0x48c}), secondary: true, ept: true},
		{name: "VPID only",
			basic: basicTrue, procA1: 0xfff9fffe, proc2A1: Proc2EnableVPID,
			wantReads: cat(base, trueMSRs, []uint32{0x48b, 0x48c}), secondary: true, vpid: true},
		{name: "VM functions only",
			basic: basicTrue, procA1: 0xfff9fffe, proc2A1: Proc2EnableVMFunctions,
			wantReads: cat(base, trueMSRs, []uint32{0x48b, 0x491}), secondary: true, vmfunc: true},
		{name: "everything, tertiary too",
			basic: basicTrue, procA1: 0xffffffff, proc2A1: 0xffffffff,
			wantReads: cat(base, trueMSRs, []uint32{0x48b, 0x492, 0x48c, 0x491}),
			secondary: true, tertiary: true, ept: true, vpid: true, vmfunc: true},
		{name: "secondary bits set but primary bit 31 clear",
			basic: basicNoTrue, procA1: 0x7ffdffff, proc2A1: 0xffffffff,
			wantReads: base},
	} {
		t.Run(tc.name, func(t *testing.T) {
			all := synthetic(tc.basic, tc.procA1, tc.proc2A1)
			// The MSRs this processor would not have do not exist: a read
			// of one fails, which ReadCaps must never do.
			present := map[uint32]uint64{}
			for _, msr := range tc.wantReads {
				present[msr] = all[msr]
			}
			f := &fakeMSRs{m: present}
			c, err := ReadCaps(f.read)
			if err != nil {
				t.Fatalf("ReadCaps: %v", err)
			}
			if !slices.Equal(f.reads, tc.wantReads) {
				t.Errorf("reads %#x, want %#x", f.reads, tc.wantReads)
			}
			if got := c.HasSecondaryControls(); got != tc.secondary {
				t.Errorf("HasSecondaryControls = %v", got)
			}
			if got := c.HasTertiaryControls(); got != tc.tertiary {
				t.Errorf("HasTertiaryControls = %v", got)
			}
			if got := c.HasEPT(); got != tc.ept {
				t.Errorf("HasEPT = %v", got)
			}
			if got := c.HasVPID(); got != tc.vpid {
				t.Errorf("HasVPID = %v", got)
			}
			if got := c.HasVMFunc(); got != tc.vmfunc {
				t.Errorf("HasVMFunc = %v", got)
			}
			if !tc.secondary && (c.ProcBased2 != Controls{} || c.EPTVPID != 0 || c.VMFunc != 0) {
				t.Errorf("fields of unread MSRs are not zero: %+v", c)
			}
			if (c.EPTVPID != 0) != (tc.ept || tc.vpid) {
				t.Errorf("EPTVPID = %#x", c.EPTVPID)
			}
			if tc.tertiary != (c.ProcBased3 != 0) {
				t.Errorf("ProcBased3 = %#x", c.ProcBased3)
			}
		})
	}
}

func TestReadCapsRecordedReads(t *testing.T) {
	_, f := readCapsFile(t, "intel-core2-x6800.msr")
	want := []uint32{0x480, 0x481, 0x482, 0x483, 0x484, 0x485, 0x486, 0x487, 0x488, 0x489, 0x48a}
	if !slices.Equal(f.reads, want) {
		t.Errorf("X6800 reads %#x, want %#x", f.reads, want)
	}
	_, f = readCapsFile(t, "intel-core-i7-6700k.msr")
	want = append(want, 0x48d, 0x48e, 0x48f, 0x490, 0x48b, 0x48c, 0x491)
	if !slices.Equal(f.reads, want) {
		t.Errorf("6700K reads %#x, want %#x", f.reads, want)
	}
}

func TestReadCapsErrors(t *testing.T) {
	full := loadMSRFile(t, "intel-core-i7-6700k.msr")
	without := func(msr uint32) map[uint32]uint64 {
		m := maps(full)
		delete(m, msr)
		return m
	}
	with := func(msr uint32, v uint64) map[uint32]uint64 {
		m := maps(full)
		m[msr] = v
		return m
	}
	for _, tc := range []struct {
		name  string
		m     map[uint32]uint64
		msg   string
		first uint32 // for *MSRError: the MSR that failed
	}{
		{"no VMX at all", map[uint32]uint64{}, "vmx: reading IA32_VMX_BASIC (MSR 0x480): rdmsr 0x480: #GP(0)", 0x480},
		{"no MISC", without(MSRMisc), "vmx: reading IA32_VMX_MISC (MSR 0x485): rdmsr 0x485: #GP(0)", 0x485},
		{"no TRUE_ENTRY", without(MSRTrueEntryCtls), "vmx: reading IA32_VMX_TRUE_ENTRY_CTLS (MSR 0x490): rdmsr 0x490: #GP(0)", 0x490},
		{"no CTLS2", without(MSRProcBasedCtls2), "vmx: reading IA32_VMX_PROCBASED_CTLS2 (MSR 0x48b): rdmsr 0x48b: #GP(0)", 0x48b},
		{"VMCS size 0", with(MSRBasic, 0x00da0000_00000004), "vmx: IA32_VMX_BASIC 0xda000000000004 reports a VMCS size of 0 bytes, not 1 to 4096", 0},
		{"VMCS size 4097", with(MSRBasic, 0x00da1001_00000004), "vmx: IA32_VMX_BASIC 0xda100100000004 reports a VMCS size of 4097 bytes, not 1 to 4096", 0},
		{"CR4 fixed bits disagree", with(MSRCR4Fixed1, 0x1fff),
			"vmx: IA32_VMX_CR4_FIXED0 0x2000 and IA32_VMX_CR4_FIXED1 0x1fff disagree on bits 0x2000", 0},
	} {
		f := &fakeMSRs{m: tc.m}
		c, err := ReadCaps(f.read)
		if err == nil {
			t.Errorf("%s: ReadCaps = %+v, want an error", tc.name, c)
			continue
		}
		if err.Error() != tc.msg {
			t.Errorf("%s: error\n %v\nwant\n %s", tc.name, err, tc.msg)
		}
		var me *MSRError
		if got := errors.As(err, &me); got != (tc.first != 0) || (got && me.MSR != tc.first) {
			t.Errorf("%s: errors.As(*MSRError) = %v (%v)", tc.name, got, me)
		}
		var nm errNoMSR
		if tc.first != 0 && !errors.As(err, &nm) {
			t.Errorf("%s: the reader's error is not wrapped", tc.name)
		}
	}
}

func maps(m map[uint32]uint64) map[uint32]uint64 {
	c := make(map[uint32]uint64, len(m))
	for k, v := range m {
		c[k] = v
	}
	return c
}

func TestCoreI7_6700K(t *testing.T) {
	c, _ := readCapsFile(t, "intel-core-i7-6700k.msr")

	// IA32_VMX_BASIC = 0x00da0400_00000004.
	b := c.Basic
	for _, f := range []struct {
		name      string
		got, want any
	}{
		{"Revision", b.Revision(), uint32(4)},
		{"VMCSSize", b.VMCSSize(), 1024},
		{"PhysAddr32", b.PhysAddr32(), false},
		{"DualMonitor", b.DualMonitor(), true},
		{"MemoryType", b.MemoryType(), uint8(MemTypeWB)},
		{"InsOutsInfo", b.InsOutsInfo(), true},
		{"TrueControls", b.TrueControls(), true},
		{"AnyExceptionErrorCode", b.AnyExceptionErrorCode(), false},

		// IA32_VMX_MISC = 0x7004c1e7.
		{"PreemptionTimerRate", c.Misc.PreemptionTimerRate(), uint(7)},
		{"StoresEFERLMA", c.Misc.StoresEFERLMA(), true},
		{"ActivityStates", c.Misc.ActivityStates(), uint8(7)},
		{"ActivityHLT", c.Misc.ActivityHLT(), true},
		{"ActivityShutdown", c.Misc.ActivityShutdown(), true},
		{"ActivityWaitForSIPI", c.Misc.ActivityWaitForSIPI(), true},
		{"PTInVMX", c.Misc.PTInVMX(), true},
		{"SMBaseRDMSR", c.Misc.SMBaseRDMSR(), true},
		{"CR3TargetCount", c.Misc.CR3TargetCount(), 4},
		{"MaxMSRListLen", c.Misc.MaxMSRListLen(), 512},
		{"SMMMonitorCtlBit2", c.Misc.SMMMonitorCtlBit2(), true},
		{"VMWriteAnyField", c.Misc.VMWriteAnyField(), true},
		{"ZeroLengthInjection", c.Misc.ZeroLengthInjection(), true},
		{"MSEGRevision", c.Misc.MSEGRevision(), uint32(0)},

		{"CR0", c.CR0, Fixed{0x80000021, 0xffffffff}},
		{"CR4", c.CR4, Fixed{0x2000, 0x3727ff}},
		{"VMCSEnum", c.VMCSEnum, uint64(0x2e)},
		{"VMCSMaxIndex", c.VMCSMaxIndex(), 0x17},
		{"ProcBased2", c.ProcBased2, Controls{0, 0x1ffcff}},
		{"ProcBased3", c.ProcBased3, uint64(0)},
		{"VMFunc", c.VMFunc, uint64(1)},

		// IA32_VMX_EPT_VPID_CAP = 0xf01_06334141.
		{"ExecuteOnly", c.EPTVPID.ExecuteOnly(), true},
		{"PageWalk4", c.EPTVPID.PageWalk4(), true},
		{"PageWalk5", c.EPTVPID.PageWalk5(), false},
		{"MemTypeUC", c.EPTVPID.MemTypeUC(), true},
		{"MemTypeWB", c.EPTVPID.MemTypeWB(), true},
		{"Pages2M", c.EPTVPID.Pages2M(), true},
		{"Pages1G", c.EPTVPID.Pages1G(), true},
		{"INVEPT", c.EPTVPID.INVEPT(), true},
		{"AccessedDirty", c.EPTVPID.AccessedDirty(), true},
		{"AdvancedExitInfo", c.EPTVPID.AdvancedExitInfo(), false},
		{"SupervisorShadowStack", c.EPTVPID.SupervisorShadowStack(), false},
		{"INVEPTSingle", c.EPTVPID.INVEPTSingle(), true},
		{"INVEPTAll", c.EPTVPID.INVEPTAll(), true},
		{"INVVPID", c.EPTVPID.INVVPID(), true},
		{"INVVPIDAddress", c.EPTVPID.INVVPIDAddress(), true},
		{"INVVPIDSingle", c.EPTVPID.INVVPIDSingle(), true},
		{"INVVPIDAll", c.EPTVPID.INVVPIDAll(), true},
		{"INVVPIDSingleRetainingGlobals", c.EPTVPID.INVVPIDSingleRetainingGlobals(), true},

		// Derived features.
		{"HasSecondaryControls", c.HasSecondaryControls(), true},
		{"HasTertiaryControls", c.HasTertiaryControls(), false},
		{"HasEPT", c.HasEPT(), true},
		{"HasVPID", c.HasVPID(), true},
		{"HasUnrestrictedGuest", c.HasUnrestrictedGuest(), true},
		{"HasRDTSCP", c.HasRDTSCP(), true},
		{"HasINVPCID", c.HasINVPCID(), true},
		{"HasXSAVES", c.HasXSAVES(), true},
		{"HasVMFunc", c.HasVMFunc(), true},
		{"HasEPTPSwitching", c.HasEPTPSwitching(), true},
		{"HasPreemptionTimer", c.HasPreemptionTimer(), true},
		{"PreemptionTimerShift", c.PreemptionTimerShift(), uint(7)},
		{"HasVirtualNMIs", c.HasVirtualNMIs(), true},
		{"HasMSRBitmaps", c.HasMSRBitmaps(), true},
		{"HasIOBitmaps", c.HasIOBitmaps(), true},
		{"HasEFERSwitch", c.HasEFERSwitch(), true},
		{"HasPATSwitch", c.HasPATSwitch(), true},
		{"HasEPT4Level", c.HasEPT4Level(), true},
		{"HasEPT5Level", c.HasEPT5Level(), false},
		{"HasEPTWB", c.HasEPTWB(), true},
		{"HasEPTUC", c.HasEPTUC(), true},
		{"HasEPTExecuteOnly", c.HasEPTExecuteOnly(), true},
		{"Has2MPages", c.Has2MPages(), true},
		{"Has1GPages", c.Has1GPages(), true},
		{"HasEPTAD", c.HasEPTAD(), true},
		{"HasINVEPT", c.HasINVEPT(), true},
		{"HasINVEPTSingle", c.HasINVEPTSingle(), true},
		{"HasINVEPTAll", c.HasINVEPTAll(), true},
		{"HasINVVPID", c.HasINVVPID(), true},
		{"HasINVVPIDAddress", c.HasINVVPIDAddress(), true},
		{"HasINVVPIDSingle", c.HasINVVPIDSingle(), true},
		{"HasINVVPIDAll", c.HasINVVPIDAll(), true},
	} {
		if f.got != f.want {
			t.Errorf("%s = %#v, want %#v", f.name, f.got, f.want)
		}
	}
	// Client Skylake has no APIC virtualization (posted interrupts,
	// APIC-register virtualization, virtual-interrupt delivery) but has
	// PML, XSAVES and VMCS shadowing.
	if c.PinBased.CanSet(PinPostedInterrupts) || c.ProcBased2.CanSet(Proc2APICRegisterVirt) || c.ProcBased2.CanSet(Proc2VirtualIntrDelivery) {
		t.Error("6700K reports APICv controls")
	}
	if !c.ProcBased2.CanSet(Proc2EnablePML | Proc2EnableXSAVES | Proc2VMCSShadowing) {
		t.Error("6700K lacks PML, XSAVES or VMCS shadowing")
	}

	const summary = "VMX rev 0x4, VMCS 1024 B, true controls, EPT (4-level, WB, 2M, 1G, A/D, INVEPT single+all), VPID (INVVPID), unrestricted guest, preemption timer (TSC>>7)"
	if got := c.Summary(); got != summary {
		t.Errorf("Summary:\n %s\nwant\n %s", got, summary)
	}

	st, w, msg := FeatureControlState(true, loadMSRFile(t, "intel-core-i7-6700k.msr")[MSRFeatureControl], nil)
	if st != StatusEnabled || w != 0 || msg != "VT-x is enabled by the firmware (IA32_FEATURE_CONTROL = 0x5, locked)" {
		t.Errorf("FeatureControlState = %v, %#x, %q", st, w, msg)
	}
}

func TestCore2X6800(t *testing.T) {
	c, _ := readCapsFile(t, "intel-core2-x6800.msr")
	for _, f := range []struct {
		name      string
		got, want any
	}{
		{"Revision", c.Basic.Revision(), uint32(7)},
		{"VMCSSize", c.Basic.VMCSSize(), 1024},
		{"DualMonitor", c.Basic.DualMonitor(), true},
		{"MemoryType", c.Basic.MemoryType(), uint8(MemTypeWB)},
		{"InsOutsInfo", c.Basic.InsOutsInfo(), false},
		{"TrueControls", c.Basic.TrueControls(), false},
		{"PinBased", c.PinBased, Controls{0x16, 0x1f}},
		{"Exit", c.Exit, Controls{0x36dff, 0x3efff}},
		{"Entry", c.Entry, Controls{0x11ff, 0x1fff}},
		{"ActivityStates", c.Misc.ActivityStates(), uint8(7)},
		{"StoresEFERLMA", c.Misc.StoresEFERLMA(), false},
		{"CR3TargetCount", c.Misc.CR3TargetCount(), 4},
		{"CR4", c.CR4, Fixed{0x2000, 0x27ff}},
		{"VMCSMaxIndex", c.VMCSMaxIndex(), 0x16},
		{"HasSecondaryControls", c.HasSecondaryControls(), false},
		{"HasEPT", c.HasEPT(), false},
		{"HasVPID", c.HasVPID(), false},
		{"HasUnrestrictedGuest", c.HasUnrestrictedGuest(), false},
		{"HasPreemptionTimer", c.HasPreemptionTimer(), false},
		{"HasVirtualNMIs", c.HasVirtualNMIs(), false},
		{"HasMSRBitmaps", c.HasMSRBitmaps(), true},
		{"HasEFERSwitch", c.HasEFERSwitch(), false},
		{"HasEPTWB", c.HasEPTWB(), false},
		{"Has1GPages", c.Has1GPages(), false},
		{"HasINVEPTSingle", c.HasINVEPTSingle(), false},
		{"HasINVVPID", c.HasINVVPID(), false},
		{"ProcBased2", c.ProcBased2, Controls{}},
		{"EPTVPID", c.EPTVPID, EPTVPIDCap(0)},
	} {
		if f.got != f.want {
			t.Errorf("%s = %#v, want %#v", f.name, f.got, f.want)
		}
	}
	if got, want := c.Summary(), "VMX rev 0x7, VMCS 1024 B, no EPT, no VPID"; got != want {
		t.Errorf("Summary = %q, want %q", got, want)
	}
}

// TestBochsSkylakeX decodes the values Bochs's corei7_skylake_x model
// reported at a real boot (testdata/bochs-skylake-x.msr).
func TestBochsSkylakeX(t *testing.T) {
	m := loadMSRFile(t, "bochs-skylake-x.msr")
	for _, msr := range []uint32{MSRFeatureControl, MSRBasic, MSRPinBasedCtls, MSRProcBasedCtls2, MSREPTVPIDCap, MSRTrueEntryCtls} {
		if _, ok := m[msr]; !ok {
			t.Fatalf("%s missing", MSRName(msr))
		}
	}

	st, _, msg := FeatureControlState(true, m[MSRFeatureControl], nil)
	if st != StatusEnabled {
		t.Errorf("FeatureControlState = %v (%s), want enabled", st, msg)
	}

	b := Basic(m[MSRBasic])
	if b.Revision() != 0x2b || b.VMCSSize() != 4096 || b.PhysAddr32() || b.DualMonitor() ||
		b.MemoryType() != MemTypeWB || !b.InsOutsInfo() || !b.TrueControls() {
		t.Errorf("IA32_VMX_BASIC %#x decodes to rev %#x, size %d, 32-bit %v, dual %v, type %d, ins/outs %v, true %v",
			uint64(b), b.Revision(), b.VMCSSize(), b.PhysAddr32(), b.DualMonitor(), b.MemoryType(), b.InsOutsInfo(), b.TrueControls())
	}

	p2 := ControlsFromMSR(m[MSRProcBasedCtls2])
	if p2.Allowed1 != 0x02177fff {
		t.Errorf("PROCBASED_CTLS2 allowed-1 = %#x", p2.Allowed1)
	}
	for _, bit := range []uint32{Proc2EnableEPT, Proc2EnableVPID, Proc2UnrestrictedGuest, Proc2EnableVMFunctions,
		Proc2VMCSShadowing, Proc2EnablePML, Proc2EnableXSAVES, Proc2UseTSCScaling, Proc2EPTViolationVE} {
		if !p2.CanSet(bit) {
			t.Errorf("PROCBASED_CTLS2 does not allow %s", bitList(bit, &proc2Names))
		}
	}
	if p2.CanSet(Proc2ModeBasedEPTExecute) {
		t.Error("PROCBASED_CTLS2 allows mode-based execute control")
	}

	e := EPTVPIDCap(m[MSREPTVPIDCap])
	if !e.ExecuteOnly() || !e.PageWalk4() || e.PageWalk5() || !e.MemTypeUC() || !e.MemTypeWB() ||
		!e.Pages2M() || !e.Pages1G() || !e.INVEPT() || !e.AccessedDirty() || e.AdvancedExitInfo() ||
		e.SupervisorShadowStack() || !e.INVEPTSingle() || !e.INVEPTAll() || !e.INVVPID() ||
		!e.INVVPIDAddress() || !e.INVVPIDSingle() || !e.INVVPIDAll() || !e.INVVPIDSingleRetainingGlobals() {
		t.Errorf("IA32_VMX_EPT_VPID_CAP %#x decodes wrongly", uint64(e))
	}

	// What the known values alone say in the banner. IA32_VMX_PROCBASED_CTLS2
	// exists only when primary allowed-1 bit 31 is 1 (SDM Vol. 3D A.3.3),
	// so that bit is implied; nothing is known of the pin-based controls.
	known := &Caps{Basic: b, ProcBased: Controls{Allowed1: ProcActivateSecondary}, ProcBased2: p2, EPTVPID: e}
	const prefix = "VMX rev 0x2b, VMCS 4096 B, true controls, EPT (4-level, WB, 2M, 1G, A/D, INVEPT single+all), VPID (INVVPID), unrestricted guest"
	if got := known.Summary(); got != prefix {
		t.Errorf("Summary of the known values:\n %s\nwant\n %s", got, prefix)
	}

	f := &fakeMSRs{m: m}
	c, err := ReadCaps(f.read)
	if err != nil {
		t.Fatalf("ReadCaps: %v", err)
	}
	if c.Basic != b || c.ProcBased2.Allowed1 != p2.Allowed1 || c.EPTVPID != e {
		t.Error("ReadCaps disagrees with the raw values")
	}
	// What the boot banner says in Bochs: the preemption timer counts at the
	// TSC rate (IA32_VMX_MISC bits 4:0 = 0).
	if got, want := c.Summary(), prefix+", preemption timer (TSC>>0)"; got != want {
		t.Errorf("Summary = %q, want %q", got, want)
	}
	if !c.HasPreemptionTimer() || c.PreemptionTimerShift() != 0 || !c.HasMSRBitmaps() || !c.HasIOBitmaps() || !c.HasEFERSwitch() {
		t.Errorf("Bochs controls: preemption timer %v (shift %d), MSR bitmaps %v, I/O bitmaps %v, EFER switch %v",
			c.HasPreemptionTimer(), c.PreemptionTimerShift(), c.HasMSRBitmaps(), c.HasIOBitmaps(), c.HasEFERSwitch())
	}
}

func TestFeatureControlState(t *testing.T) {
	readErr := errNoMSR(0x3a)
	for _, tc := range []struct {
		name  string
		vmx   bool
		v     uint64
		err   error
		st    Status
		write uint64
		msg   string
	}{
		{"not present", false, 0x5, nil, StatusNotPresent, 0,
			"VT-x is not present: CPUID.1:ECX.VMX[bit 5] = 0"},
		{"not present, MSR unreadable", false, 0, readErr, StatusNotPresent, 0,
			"VT-x is not present: CPUID.1:ECX.VMX[bit 5] = 0"},
		{"locked off", true, 0x1, nil, StatusLockedOff, 0,
			"VT-x is disabled by the firmware (IA32_FEATURE_CONTROL = 0x1, locked): enable Intel VT-x in the firmware setup"},
		{"locked, only inside SMX", true, 0x3, nil, StatusLockedOff, 0,
			"VT-x is enabled by the firmware only inside SMX (Intel TXT) (IA32_FEATURE_CONTROL = 0x3, locked): enable Intel VT-x in the firmware setup"},
		{"unlocked, zero", true, 0x0, nil, StatusUnlocked, 0x5,
			"IA32_FEATURE_CONTROL = 0x0 is not locked: enabling VMX outside SMX and locking it (writing 0x5)"},
		{"unlocked, other bits kept", true, 0x40002, nil, StatusUnlocked, 0x40007,
			"IA32_FEATURE_CONTROL = 0x40002 is not locked: enabling VMX outside SMX and locking it (writing 0x40007)"},
		{"unlocked, VMX bit already set", true, 0x4, nil, StatusUnlocked, 0x5,
			"IA32_FEATURE_CONTROL = 0x4 is not locked: enabling VMX outside SMX and locking it (writing 0x5)"},
		{"enabled", true, 0x5, nil, StatusEnabled, 0,
			"VT-x is enabled by the firmware (IA32_FEATURE_CONTROL = 0x5, locked)"},
		{"enabled inside and outside SMX, SGX bits", true, 0x60007, nil, StatusEnabled, 0,
			"VT-x is enabled by the firmware (IA32_FEATURE_CONTROL = 0x60007, locked)"},
		{"unreadable", true, 0, readErr, StatusUnreadable, 0,
			"VT-x is unusable: IA32_FEATURE_CONTROL (MSR 0x3a) cannot be read: rdmsr 0x3a: #GP(0)"},
	} {
		st, w, msg := FeatureControlState(tc.vmx, tc.v, tc.err)
		if st != tc.st || w != tc.write || msg != tc.msg {
			t.Errorf("%s: got %v, %#x, %q\nwant %v, %#x, %q", tc.name, st, w, msg, tc.st, tc.write, tc.msg)
		}
	}
	for st, s := range map[Status]string{StatusNotPresent: "not present", StatusLockedOff: "locked off",
		StatusUnlocked: "unlocked", StatusEnabled: "enabled", StatusUnreadable: "unreadable", Status(42): "Status(42)"} {
		if st.String() != s {
			t.Errorf("Status(%d).String() = %q, want %q", int(st), st.String(), s)
		}
	}
}

func TestFixCRs(t *testing.T) {
	skl, _ := readCapsFile(t, "intel-core-i7-6700k.msr")
	c2, _ := readCapsFile(t, "intel-core2-x6800.msr")
	const (
		cr0Long = 0x80050033 // PG AM WP NE ET MP PE: a 64-bit kernel's CR0
		cr4PAE  = 0x000006a0 // OSXMMEXCPT OSFXSR PGE PAE
	)
	for _, tc := range []struct {
		name     string
		c        *Caps
		cr0, cr4 uint64
		out0     uint64
		out4     uint64
		changes  []string
	}{
		{"already in VMX shape", skl, cr0Long, cr4PAE | 1<<13, cr0Long, cr4PAE | 1<<13, nil},
		{"VMXE set", skl, cr0Long, cr4PAE, cr0Long, cr4PAE | 1<<13, []string{"CR4.VMXE set"}},
		{"NE and VMXE set", skl, cr0Long &^ (1 << 5), cr4PAE, cr0Long, cr4PAE | 1<<13, []string{"CR0.NE set", "CR4.VMXE set"}},
		{"protected mode without paging", skl, 0x11, 0, 0x80000031, 0x2000, []string{"CR0.NE set", "CR0.PG set", "CR4.VMXE set"}},
		{"LA57 not allowed", skl, cr0Long, cr4PAE | 1<<12 | 1<<13, cr0Long, cr4PAE | 1<<13, []string{"CR4.LA57 cleared"}},
		{"unnamed bit and SMEP on Core 2", c2, cr0Long, cr4PAE | 1<<20 | 1<<31 | 1<<13, cr0Long, cr4PAE | 1<<13,
			[]string{"CR4.SMEP cleared", "CR4 bit 31 cleared"}},
		{"CR0 high bits", skl, cr0Long | 1<<32, cr4PAE | 1<<13, cr0Long, cr4PAE | 1<<13, []string{"CR0 bit 32 cleared"}},
	} {
		f := tc.c.FixCRs(tc.cr0, tc.cr4)
		if f.CR0 != tc.out0 || f.CR4 != tc.out4 || !slices.Equal(f.Changes, tc.changes) {
			t.Errorf("%s: FixCRs(%#x, %#x) = %#x, %#x, %q; want %#x, %#x, %q",
				tc.name, tc.cr0, tc.cr4, f.CR0, f.CR4, f.Changes, tc.out0, tc.out4, tc.changes)
		}
		if f.OK() != (len(tc.changes) == 0) || tc.c.FixedBitsOK(tc.cr0, tc.cr4) != f.OK() {
			t.Errorf("%s: OK = %v, FixedBitsOK = %v", tc.name, f.OK(), tc.c.FixedBitsOK(tc.cr0, tc.cr4))
		}
		if !tc.c.FixedBitsOK(f.CR0, f.CR4) {
			t.Errorf("%s: the fixed values are not OK", tc.name)
		}
	}
	if got := skl.FixCRs(0x11, 0).String(); got != "CR0.NE set, CR0.PG set, CR4.VMXE set" {
		t.Errorf("String = %q", got)
	}
	if got := skl.FixCRs(cr0Long, 0x2000).String(); got != "CR0 and CR4 already allowed in VMX operation" {
		t.Errorf("String = %q", got)
	}
}

func TestSummaryVariants(t *testing.T) {
	skl, _ := readCapsFile(t, "intel-core-i7-6700k.msr")
	for _, tc := range []struct {
		name string
		mod  func(c *Caps)
		want string
	}{
		{"UC VMCS, 32-bit addresses, no true controls", func(c *Caps) {
			c.Basic = Basic(0x0001_1000_0000_0001)
		}, "VMX rev 0x1, VMCS 4096 B, VMCS UC, 32-bit VMX addresses, EPT (4-level, WB, 2M, 1G, A/D, INVEPT single+all), VPID (INVVPID), unrestricted guest, preemption timer (TSC>>7)"},
		{"odd memory type", func(c *Caps) {
			c.Basic = Basic(0x0008_1000_0000_0001)
		}, "VMX rev 0x1, VMCS 4096 B, VMCS memory type 2, EPT (4-level, WB, 2M, 1G, A/D, INVEPT single+all), VPID (INVVPID), unrestricted guest, preemption timer (TSC>>7)"},
		{"5-level UC EPT, single INVEPT, no INVVPID", func(c *Caps) {
			c.EPTVPID = 1<<7 | 1<<8 | 1<<20 | 1<<25
		}, "VMX rev 0x4, VMCS 1024 B, true controls, EPT (5-level, UC, INVEPT single), VPID (no INVVPID), unrestricted guest, preemption timer (TSC>>7)"},
		{"all-context INVEPT only", func(c *Caps) {
			c.EPTVPID = 1<<6 | 1<<14 | 1<<20 | 1<<26
		}, "VMX rev 0x4, VMCS 1024 B, true controls, EPT (4-level, WB, INVEPT all), VPID (no INVVPID), unrestricted guest, preemption timer (TSC>>7)"},
		{"INVEPT without types, nothing else", func(c *Caps) {
			c.EPTVPID = 1 << 20
		}, "VMX rev 0x4, VMCS 1024 B, true controls, EPT (INVEPT), VPID (no INVVPID), unrestricted guest, preemption timer (TSC>>7)"},
		{"no INVEPT", func(c *Caps) {
			c.EPTVPID = 1<<6 | 1<<14
		}, "VMX rev 0x4, VMCS 1024 B, true controls, EPT (4-level, WB, no INVEPT), VPID (no INVVPID), unrestricted guest, preemption timer (TSC>>7)"},
		{"EPT and VPID not allowed", func(c *Caps) {
			c.ProcBased2.Allowed1 &^= Proc2EnableEPT | Proc2EnableVPID | Proc2UnrestrictedGuest
			c.PinBased.Allowed1 &^= PinPreemptionTimer
		}, "VMX rev 0x4, VMCS 1024 B, true controls, no EPT, no VPID"},
	} {
		c := *skl
		tc.mod(&c)
		if got := c.Summary(); got != tc.want {
			t.Errorf("%s:\n %s\nwant\n %s", tc.name, got, tc.want)
		}
	}
}

func TestMSRName(t *testing.T) {
	if MSRName(MSREPTVPIDCap) != "IA32_VMX_EPT_VPID_CAP" || MSRName(0x1234) != "MSR 0x1234" {
		t.Error(MSRName(MSREPTVPIDCap), MSRName(0x1234))
	}
	// Every VMX capability MSR index has a name.
	for msr := uint32(0x480); msr <= 0x492; msr++ {
		if strings.HasPrefix(MSRName(msr), "MSR ") {
			t.Errorf("%#x has no name", msr)
		}
	}
}

// FuzzReadCaps feeds arbitrary MSR values (and arbitrary subsets of present
// MSRs) to ReadCaps and exercises everything that depends on the result.
func FuzzReadCaps(f *testing.F) {
	order := []uint32{MSRBasic, MSRPinBasedCtls, MSRProcBasedCtls, MSRExitCtls, MSREntryCtls, MSRMisc,
		MSRCR0Fixed0, MSRCR0Fixed1, MSRCR4Fixed0, MSRCR4Fixed1, MSRVMCSEnum, MSRProcBasedCtls2, MSREPTVPIDCap,
		MSRTruePinBasedCtls, MSRTrueProcBasedCtls, MSRTrueExitCtls, MSRTrueEntryCtls, MSRVMFunc, MSRProcBasedCtls3}
	seed := func(m map[uint32]uint64) {
		var v [19]uint64
		var present uint32
		for i, msr := range order {
			if x, ok := m[msr]; ok {
				v[i] = x
				present |= 1 << i
			}
		}
		f.Add(present, v[0], v[1], v[2], v[3], v[4], v[5], v[6], v[7], v[8], v[9], v[10], v[11], v[12],
			v[13], v[14], v[15], v[16], v[17], v[18], uint64(0x80050033), uint64(0x6a0), uint32(0xffffffff), uint32(0x2))
	}
	seed(loadMSRFile(f, "intel-core-i7-6700k.msr"))
	seed(loadMSRFile(f, "intel-core2-x6800.msr"))
	seed(loadMSRFile(f, "bochs-skylake-x.msr"))
	seed(synthetic(0x00da0400_00000004, 0xffffffff, 0xffffffff))
	f.Fuzz(func(t *testing.T, present uint32, v0, v1, v2, v3, v4, v5, v6, v7, v8, v9, v10, v11, v12,
		v13, v14, v15, v16, v17, v18, cr0, cr4 uint64, want, required uint32) {
		vals := [...]uint64{v0, v1, v2, v3, v4, v5, v6, v7, v8, v9, v10, v11, v12, v13, v14, v15, v16, v17, v18}
		m := map[uint32]uint64{}
		for i, msr := range order {
			if present&(1<<i) != 0 {
				m[msr] = vals[i]
			}
		}
		fk := &fakeMSRs{m: m}
		c, err := ReadCaps(fk.read)
		if len(fk.reads) == 0 || fk.reads[0] != MSRBasic {
			t.Fatalf("first read %#x, want IA32_VMX_BASIC", fk.reads)
		}
		if err != nil {
			if c != nil {
				t.Fatal("ReadCaps returned both caps and an error")
			}
			_ = err.Error()
			return
		}
		_ = c.Summary()
		fix := c.FixCRs(cr0, cr4)
		if !c.FixedBitsOK(fix.CR0, fix.CR4) {
			t.Fatalf("FixCRs(%#x, %#x) = %#x, %#x: not OK", cr0, cr4, fix.CR0, fix.CR4)
		}
		_ = fix.String()
		for _, adj := range []func(uint32, uint32) (uint32, error){c.AdjustPinBased, c.AdjustProcBased, c.AdjustProcBased2, c.AdjustExit, c.AdjustEntry} {
			if v, err := adj(want, required); err != nil {
				_ = err.Error()
			} else if v&required != required {
				t.Fatalf("adjusted %#x lacks required %#x", v, required)
			}
		}
		for _, b := range []bool{c.HasEPT(), c.HasVPID(), c.HasUnrestrictedGuest(), c.HasPreemptionTimer(), c.HasEPTWB(),
			c.Has1GPages(), c.Has2MPages(), c.HasINVEPTSingle(), c.HasINVEPTAll(), c.HasINVVPIDSingle(), c.HasINVVPIDAll(),
			c.HasINVVPIDAddress(), c.HasEPTPSwitching(), c.HasEFERSwitch(), c.HasPATSwitch()} {
			_ = b
		}
		_, _, _ = FeatureControlState(true, v0, nil)
	})
}
