package vmx

import (
	"go/ast"
	"go/parser"
	"go/token"
	"regexp"
	"strconv"
	"testing"
	"unsafe"
)

// declaredConst is a constant declared in one of this package's source files
// with an explicit type and an integer literal value.
type declaredConst struct {
	Name, Type string
	Value      uint64
}

// declaredConsts parses file and returns, in source order, its constants
// declared with one of the named types. Such a constant must have an integer
// literal for its value, and no constant in the file may repeat the previous
// specification implicitly, so that none escapes the tests that use this.
func declaredConsts(t *testing.T, file string, types ...string) []declaredConst {
	t.Helper()
	want := make(map[string]bool)
	for _, ty := range types {
		want[ty] = true
	}
	fset := token.NewFileSet()
	f, err := parser.ParseFile(fset, file, nil, 0)
	if err != nil {
		t.Fatal(err)
	}
	var out []declaredConst
	for _, d := range f.Decls {
		gd, ok := d.(*ast.GenDecl)
		if !ok || gd.Tok != token.CONST {
			continue
		}
		for _, spec := range gd.Specs {
			vs := spec.(*ast.ValueSpec)
			if vs.Type == nil && len(vs.Values) == 0 {
				t.Fatalf("%s: constant %s repeats the previous specification implicitly", fset.Position(vs.Pos()), vs.Names[0].Name)
			}
			id, ok := vs.Type.(*ast.Ident)
			if !ok || !want[id.Name] {
				continue
			}
			if len(vs.Names) != 1 || len(vs.Values) != 1 {
				t.Fatalf("%s: want one name and one value per %s constant", fset.Position(vs.Pos()), id.Name)
			}
			lit, ok := vs.Values[0].(*ast.BasicLit)
			if !ok || lit.Kind != token.INT {
				t.Fatalf("%s: %s: want an integer literal", fset.Position(vs.Pos()), vs.Names[0].Name)
			}
			v, err := strconv.ParseUint(lit.Value, 0, 64)
			if err != nil {
				t.Fatalf("%s: %v", fset.Position(vs.Pos()), err)
			}
			out = append(out, declaredConst{vs.Names[0].Name, id.Name, v})
		}
	}
	return out
}

var fieldTypeWidth = map[string]Width{
	"Field16":  Width16,
	"Field32":  Width32,
	"Field64":  Width64,
	"FieldNat": WidthNatural,
}

// TestFieldConstantWidths is the width check the typed constants stand for:
// the width bits of every Field16/32/64/Nat constant agree with its Go
// type, and the field table lists every constant with the same width.
func TestFieldConstantWidths(t *testing.T) {
	consts := declaredConsts(t, "fields.go", "Field16", "Field32", "Field64", "FieldNat")
	if len(consts) != len(Fields()) {
		t.Errorf("fields.go declares %d field constants, Fields lists %d", len(consts), len(Fields()))
	}
	for _, c := range consts {
		enc := uint32(c.Value)
		if uint64(enc) != c.Value {
			t.Errorf("%s = %#x: does not fit 32 bits", c.Name, c.Value)
			continue
		}
		w, _, _, high := Encoding(enc)
		if w != fieldTypeWidth[c.Type] {
			t.Errorf("%s %s = %#04x: encoding says %s", c.Name, c.Type, enc, w)
		}
		if high {
			t.Errorf("%s = %#04x: high-access encoding; declare the full one", c.Name, enc)
		}
		if !ValidEncoding(enc) {
			t.Errorf("%s = %#04x: malformed encoding", c.Name, enc)
		}
		info, ok := LookupField(enc)
		if !ok {
			t.Errorf("%s = %#04x: missing from the field table", c.Name, enc)
			continue
		}
		if info.Width != fieldTypeWidth[c.Type] {
			t.Errorf("%s: table width %s, Go type %s", c.Name, info.Width, c.Type)
		}
	}
}

func TestFieldTable(t *testing.T) {
	nameRE := regexp.MustCompile(`^[A-Z][A-Z0-9_]*[A-Z0-9]$`)
	names := make(map[string]uint32)
	encs := make(map[uint32]string)
	for _, f := range Fields() {
		if !nameRE.MatchString(f.Name) {
			t.Errorf("%#04x: bad name %q", f.Encoding, f.Name)
		}
		if prev, dup := names[f.Name]; dup {
			t.Errorf("name %s used for %#04x and %#04x", f.Name, prev, f.Encoding)
		}
		names[f.Name] = f.Encoding
		if prev, dup := encs[f.Encoding]; dup {
			t.Errorf("encoding %#04x used for %s and %s", f.Encoding, prev, f.Name)
		}
		encs[f.Encoding] = f.Name
		if w, _, _, _ := Encoding(f.Encoding); w != f.Width {
			t.Errorf("%s: width %s, encoding %#04x says %s", f.Name, f.Width, f.Encoding, w)
		}
		if got := FieldName(f.Encoding); got != f.Name {
			t.Errorf("FieldName(%#04x) = %q, want %q", f.Encoding, got, f.Name)
		}
		if f.ReadOnly() != (f.Type() == FieldTypeExitInfo) {
			t.Errorf("%s: ReadOnly %v, type %s", f.Name, f.ReadOnly(), f.Type())
		}
		if f.Index() != int(f.Encoding>>1)&0x1ff {
			t.Errorf("%s: index %d", f.Name, f.Index())
		}
	}
	// Appendix B up to the Skylake generation: 3+10+7 16-bit, 25+1+10+3
	// 64-bit, 18+8+23+1 32-bit, 8+6+20+12 natural-width fields.
	if len(names) != 155 {
		t.Errorf("%d fields, want 155", len(names))
	}
}

// TestReadOnlyFields checks that exactly the VM-exit information fields
// (SDM Vol. 3D Tables B-5, B-9 and B-13) are read-only.
func TestReadOnlyFields(t *testing.T) {
	want := map[string]bool{
		"GUEST_PHYSICAL_ADDRESS": true,
		"VM_INSTRUCTION_ERROR":   true, "VM_EXIT_REASON": true, "VM_EXIT_INTR_INFO": true,
		"VM_EXIT_INTR_ERROR_CODE": true, "IDT_VECTORING_INFO_FIELD": true,
		"IDT_VECTORING_ERROR_CODE": true, "VM_EXIT_INSTRUCTION_LEN": true, "VMX_INSTRUCTION_INFO": true,
		"EXIT_QUALIFICATION": true, "IO_RCX": true, "IO_RSI": true, "IO_RDI": true, "IO_RIP": true,
		"GUEST_LINEAR_ADDRESS": true,
	}
	got := make(map[string]bool)
	for _, f := range Fields() {
		if f.ReadOnly() {
			got[f.Name] = true
			if !want[f.Name] {
				t.Errorf("%s is flagged read-only", f.Name)
			}
		}
	}
	for n := range want {
		if !got[n] {
			t.Errorf("%s is not flagged read-only", n)
		}
	}
}

// TestFieldValues spot-checks encodings against SDM Vol. 3D Appendix B.
func TestFieldValues(t *testing.T) {
	for _, tc := range []struct {
		got  uint32
		want uint32
		name string
		str  string
	}{
		{uint32(VirtualProcessorID), 0x0000, "VIRTUAL_PROCESSOR_ID", VirtualProcessorID.String()},
		{uint32(PostedIntrNV), 0x0002, "POSTED_INTR_NV", PostedIntrNV.String()},
		{uint32(GuestESSelector), 0x0800, "GUEST_ES_SELECTOR", GuestESSelector.String()},
		{uint32(GuestCSSelector), 0x0802, "GUEST_CS_SELECTOR", GuestCSSelector.String()},
		{uint32(GuestTRSelector), 0x080E, "GUEST_TR_SELECTOR", GuestTRSelector.String()},
		{uint32(GuestPMLIndex), 0x0812, "GUEST_PML_INDEX", GuestPMLIndex.String()},
		{uint32(HostESSelector), 0x0C00, "HOST_ES_SELECTOR", HostESSelector.String()},
		{uint32(HostTRSelector), 0x0C0C, "HOST_TR_SELECTOR", HostTRSelector.String()},
		{uint32(IOBitmapA), 0x2000, "IO_BITMAP_A", IOBitmapA.String()},
		{uint32(MSRBitmap), 0x2004, "MSR_BITMAP", MSRBitmap.String()},
		{uint32(VMExitMSRStoreAddr), 0x2006, "VM_EXIT_MSR_STORE_ADDR", VMExitMSRStoreAddr.String()},
		{uint32(TSCOffset), 0x2010, "TSC_OFFSET", TSCOffset.String()},
		{uint32(EPTPointer), 0x201A, "EPT_POINTER", EPTPointer.String()},
		{uint32(XSSExitBitmap), 0x202C, "XSS_EXIT_BITMAP", XSSExitBitmap.String()},
		{uint32(TSCMultiplier), 0x2032, "TSC_MULTIPLIER", TSCMultiplier.String()},
		{uint32(GuestPhysicalAddress), 0x2400, "GUEST_PHYSICAL_ADDRESS", GuestPhysicalAddress.String()},
		{uint32(VMCSLinkPointer), 0x2800, "VMCS_LINK_POINTER", VMCSLinkPointer.String()},
		{uint32(GuestIA32DebugCtl), 0x2802, "GUEST_IA32_DEBUGCTL", GuestIA32DebugCtl.String()},
		{uint32(GuestIA32PAT), 0x2804, "GUEST_IA32_PAT", GuestIA32PAT.String()},
		{uint32(GuestIA32EFER), 0x2806, "GUEST_IA32_EFER", GuestIA32EFER.String()},
		{uint32(GuestBNDCFGS), 0x2812, "GUEST_BNDCFGS", GuestBNDCFGS.String()},
		{uint32(HostIA32PAT), 0x2C00, "HOST_IA32_PAT", HostIA32PAT.String()},
		{uint32(HostIA32EFER), 0x2C02, "HOST_IA32_EFER", HostIA32EFER.String()},
		{uint32(PinBasedVMExecControl), 0x4000, "PIN_BASED_VM_EXEC_CONTROL", PinBasedVMExecControl.String()},
		{uint32(CPUBasedVMExecControl), 0x4002, "CPU_BASED_VM_EXEC_CONTROL", CPUBasedVMExecControl.String()},
		{uint32(ExceptionBitmap), 0x4004, "EXCEPTION_BITMAP", ExceptionBitmap.String()},
		{uint32(VMExitControls), 0x400C, "VM_EXIT_CONTROLS", VMExitControls.String()},
		{uint32(VMEntryControls), 0x4012, "VM_ENTRY_CONTROLS", VMEntryControls.String()},
		{uint32(VMEntryIntrInfoField), 0x4016, "VM_ENTRY_INTR_INFO_FIELD", VMEntryIntrInfoField.String()},
		{uint32(SecondaryVMExecControl), 0x401E, "SECONDARY_VM_EXEC_CONTROL", SecondaryVMExecControl.String()},
		{uint32(PLEWindow), 0x4022, "PLE_WINDOW", PLEWindow.String()},
		{uint32(VMInstructionError), 0x4400, "VM_INSTRUCTION_ERROR", VMInstructionError.String()},
		{uint32(VMExitReason), 0x4402, "VM_EXIT_REASON", VMExitReason.String()},
		{uint32(VMExitIntrInfo), 0x4404, "VM_EXIT_INTR_INFO", VMExitIntrInfo.String()},
		{uint32(VMXInstructionInfo), 0x440E, "VMX_INSTRUCTION_INFO", VMXInstructionInfo.String()},
		{uint32(GuestESLimit), 0x4800, "GUEST_ES_LIMIT", GuestESLimit.String()},
		{uint32(GuestCSAccessRights), 0x4816, "GUEST_CS_AR_BYTES", GuestCSAccessRights.String()},
		{uint32(GuestInterruptibilityInfo), 0x4824, "GUEST_INTERRUPTIBILITY_INFO", GuestInterruptibilityInfo.String()},
		{uint32(GuestActivityState), 0x4826, "GUEST_ACTIVITY_STATE", GuestActivityState.String()},
		{uint32(GuestSMBase), 0x4828, "GUEST_SMBASE", GuestSMBase.String()},
		{uint32(GuestSysenterCS), 0x482A, "GUEST_SYSENTER_CS", GuestSysenterCS.String()},
		{uint32(VMXPreemptionTimerValue), 0x482E, "VMX_PREEMPTION_TIMER_VALUE", VMXPreemptionTimerValue.String()},
		{uint32(HostIA32SysenterCS), 0x4C00, "HOST_IA32_SYSENTER_CS", HostIA32SysenterCS.String()},
		{uint32(CR0GuestHostMask), 0x6000, "CR0_GUEST_HOST_MASK", CR0GuestHostMask.String()},
		{uint32(CR4ReadShadow), 0x6006, "CR4_READ_SHADOW", CR4ReadShadow.String()},
		{uint32(CR3TargetValue3), 0x600E, "CR3_TARGET_VALUE3", CR3TargetValue3.String()},
		{uint32(ExitQualification), 0x6400, "EXIT_QUALIFICATION", ExitQualification.String()},
		{uint32(GuestLinearAddress), 0x640A, "GUEST_LINEAR_ADDRESS", GuestLinearAddress.String()},
		{uint32(GuestCR0), 0x6800, "GUEST_CR0", GuestCR0.String()},
		{uint32(GuestESBase), 0x6806, "GUEST_ES_BASE", GuestESBase.String()},
		{uint32(GuestDR7), 0x681A, "GUEST_DR7", GuestDR7.String()},
		{uint32(GuestRSP), 0x681C, "GUEST_RSP", GuestRSP.String()},
		{uint32(GuestRIP), 0x681E, "GUEST_RIP", GuestRIP.String()},
		{uint32(GuestRFLAGS), 0x6820, "GUEST_RFLAGS", GuestRFLAGS.String()},
		{uint32(GuestSysenterEIP), 0x6826, "GUEST_SYSENTER_EIP", GuestSysenterEIP.String()},
		{uint32(HostCR0), 0x6C00, "HOST_CR0", HostCR0.String()},
		{uint32(HostFSBase), 0x6C06, "HOST_FS_BASE", HostFSBase.String()},
		{uint32(HostIA32SysenterEIP), 0x6C12, "HOST_IA32_SYSENTER_EIP", HostIA32SysenterEIP.String()},
		{uint32(HostRSP), 0x6C14, "HOST_RSP", HostRSP.String()},
		{uint32(HostRIP), 0x6C16, "HOST_RIP", HostRIP.String()},
	} {
		if tc.got != tc.want {
			t.Errorf("%s = %#04x, want %#04x", tc.name, tc.got, tc.want)
		}
		if tc.str != tc.name {
			t.Errorf("String of %#04x = %q, want %q", tc.want, tc.str, tc.name)
		}
	}
}

func TestEncoding(t *testing.T) {
	for _, tc := range []struct {
		enc   uint32
		width Width
		typ   FieldType
		index int
		high  bool
	}{
		{0x0000, Width16, FieldTypeControl, 0, false},  // VIRTUAL_PROCESSOR_ID
		{0x0C0C, Width16, FieldTypeHost, 6, false},     // HOST_TR_SELECTOR
		{0x2001, Width64, FieldTypeControl, 0, true},   // IO_BITMAP_A_HIGH
		{0x201A, Width64, FieldTypeControl, 13, false}, // EPT_POINTER
		{0x2401, Width64, FieldTypeExitInfo, 0, true},  // GUEST_PHYSICAL_ADDRESS_HIGH
		{0x2806, Width64, FieldTypeGuest, 3, false},    // GUEST_IA32_EFER
		{0x4402, Width32, FieldTypeExitInfo, 1, false}, // VM_EXIT_REASON
		{0x482E, Width32, FieldTypeGuest, 23, false},   // VMX_PREEMPTION_TIMER_VALUE
		{0x600E, WidthNatural, FieldTypeControl, 7, false},
		{0x681E, WidthNatural, FieldTypeGuest, 15, false}, // GUEST_RIP
		{0x6C14, WidthNatural, FieldTypeHost, 10, false},  // HOST_RSP
		{0x7FFF, WidthNatural, FieldTypeHost, 511, true},
	} {
		w, ty, i, h := Encoding(tc.enc)
		if w != tc.width || ty != tc.typ || i != tc.index || h != tc.high {
			t.Errorf("Encoding(%#04x) = %s, %s, %d, %v; want %s, %s, %d, %v",
				tc.enc, w, ty, i, h, tc.width, tc.typ, tc.index, tc.high)
		}
		if got := MakeEncoding(w, ty, i, h); got != tc.enc&0x6fff {
			t.Errorf("MakeEncoding(Encoding(%#04x)) = %#04x", tc.enc, got)
		}
	}
	for w := Width16; w <= WidthNatural; w++ {
		for ty := FieldTypeControl; ty <= FieldTypeHost; ty++ {
			for i := 0; i < 512; i++ {
				for _, h := range []bool{false, true} {
					enc := MakeEncoding(w, ty, i, h)
					gw, gt, gi, gh := Encoding(enc)
					if gw != w || gt != ty || gi != i || gh != h {
						t.Fatalf("Encoding(MakeEncoding(%v, %v, %d, %v)) = %v, %v, %d, %v", w, ty, i, h, gw, gt, gi, gh)
					}
					if ValidEncoding(enc) != (!h || w == Width64) {
						t.Fatalf("ValidEncoding(%#04x) = %v", enc, ValidEncoding(enc))
					}
				}
			}
		}
	}
}

func TestValidEncoding(t *testing.T) {
	for _, tc := range []struct {
		enc  uint32
		want bool
	}{
		{0x681E, true},
		{0x2001, true},       // high half of a 64-bit field
		{0x681F, false},      // high access to a natural-width field
		{0x4403, false},      // high access to a 32-bit field
		{0x0801, false},      // high access to a 16-bit field
		{0x1000, false},      // bit 12 reserved
		{0x8000, false},      // bit 15 reserved
		{0x8000_6800, false}, // bit 31 reserved
	} {
		if got := ValidEncoding(tc.enc); got != tc.want {
			t.Errorf("ValidEncoding(%#x) = %v, want %v", tc.enc, got, tc.want)
		}
	}
}

func TestFieldName(t *testing.T) {
	for _, tc := range []struct {
		enc  uint32
		want string
	}{
		{0x681E, "GUEST_RIP"},
		{0x2000, "IO_BITMAP_A"},
		{0x2001, "IO_BITMAP_A_HIGH"},
		{0x201B, "EPT_POINTER_HIGH"},
		{0x2401, "GUEST_PHYSICAL_ADDRESS_HIGH"},
		{0x681F, "VMCS field 0x681f"}, // natural-width fields have no high half
		{0x2034, "VMCS field 0x2034"}, // tertiary controls: not declared
		{0x9999, "VMCS field 0x9999"},
	} {
		if got := FieldName(tc.enc); got != tc.want {
			t.Errorf("FieldName(%#04x) = %q, want %q", tc.enc, got, tc.want)
		}
	}
	if got := Field32(0x4024).String(); got != "VMCS field 0x4024" {
		t.Errorf("Field32(0x4024).String() = %q", got)
	}
	if got := GuestRIP.String(); got != "GUEST_RIP" {
		t.Errorf("GuestRIP.String() = %q", got)
	}
	info, ok := LookupField(uint32(HostRSP))
	if !ok || info.String() != "HOST_RSP (0x6c14, natural-width host-state)" {
		t.Errorf("LookupField(HostRSP) = %v, %v", info, ok)
	}
	if _, ok := LookupField(0x2001); ok {
		t.Error("LookupField found a high-access encoding")
	}
}

func TestFieldsIsACopy(t *testing.T) {
	a := Fields()
	a[0].Name = "CLOBBERED"
	if Fields()[0].Name == "CLOBBERED" {
		t.Error("Fields returned the table itself")
	}
}

func TestWidthAndTypeStrings(t *testing.T) {
	for _, tc := range []struct{ got, want string }{
		{Width16.String(), "16-bit"},
		{Width32.String(), "32-bit"},
		{Width64.String(), "64-bit"},
		{WidthNatural.String(), "natural-width"},
		{Width(7).String(), "width 7"},
		{FieldTypeControl.String(), "control"},
		{FieldTypeExitInfo.String(), "VM-exit information"},
		{FieldTypeGuest.String(), "guest-state"},
		{FieldTypeHost.String(), "host-state"},
		{FieldType(9).String(), "field type 9"},
	} {
		if tc.got != tc.want {
			t.Errorf("got %q, want %q", tc.got, tc.want)
		}
	}
}

// The exit path's CPUID fast path indexes the cache by slot<<5 and reads
// the entry's fields at fixed offsets.
func TestCPUIDEntryLayout(t *testing.T) {
	var e CPUIDEntry
	if got := unsafe.Sizeof(e); got != 1<<cpuidEntryShift {
		t.Errorf("CPUIDEntry is %d bytes, the assembly shifts by %d", got, cpuidEntryShift)
	}
	if unsafe.Sizeof(CPUIDCache{}) != CPUIDCacheSlots<<cpuidEntryShift {
		t.Errorf("CPUIDCache is %d bytes", unsafe.Sizeof(CPUIDCache{}))
	}
}

func TestCPUIDCacheSlots(t *testing.T) {
	var c CPUIDCache
	c.Put(0xd, 1, [4]uint32{1, 2, 3, 4})
	if got, ok := c.Get(0xd, 1); !ok || got != [4]uint32{1, 2, 3, 4} {
		t.Errorf("Get(0xd, 1) = %v, %v", got, ok)
	}
	if _, ok := c.Get(0xd, 0); ok {
		t.Error("subleaf 0 hit subleaf 1's answer")
	}
	// Leaf 0 and subleaf 0 is slot 0: an empty entry must not answer it.
	var empty CPUIDCache
	if _, ok := empty.Get(0, 0); ok {
		t.Error("an empty cache answered leaf 0")
	}
	// The basic, hypervisor and extended ranges land in different slots.
	if CPUIDSlot(0, 0) == CPUIDSlot(0x4000_0000, 0) || CPUIDSlot(0, 0) == CPUIDSlot(0x8000_0000, 0) {
		t.Error("leaf 0 shares a slot with 0x40000000 or 0x80000000")
	}
	c.Clear()
	if _, ok := c.Get(0xd, 1); ok {
		t.Error("Clear left an answer")
	}
}

// The VMCALL fast path indexes its cache the same way.
func TestHypercallEntryLayout(t *testing.T) {
	if got := unsafe.Sizeof(HypercallEntry{}); got != 1<<hypercallEntryShift {
		t.Errorf("HypercallEntry is %d bytes, the assembly shifts by %d", got, hypercallEntryShift)
	}
	if unsafe.Sizeof(HypercallCache{}) != HypercallCacheSlots<<hypercallEntryShift {
		t.Errorf("HypercallCache is %d bytes", unsafe.Sizeof(HypercallCache{}))
	}
}

func TestHypercallCacheSlots(t *testing.T) {
	const xenVersion, verVersion, verPageSize = 17, 0, 7 // public/xen.h, public/version.h
	var c HypercallCache
	c.Put(xenVersion, verVersion, 0x4_0011)
	c.Put(xenVersion, verPageSize, 4096)
	if got, ok := c.Get(xenVersion, verVersion); !ok || got != 0x4_0011 {
		t.Errorf("Get(xen_version, XENVER_version) = %#x, %v", got, ok)
	}
	if got, ok := c.Get(xenVersion, verPageSize); !ok || got != 4096 {
		t.Errorf("Get(xen_version, XENVER_pagesize) = %d, %v", got, ok)
	}
	// The argument is compared in full: upper bits make another call.
	if _, ok := c.Get(xenVersion, 1<<32|verVersion); ok {
		t.Error("an argument with upper bits set hit XENVER_version's answer")
	}
	// Number 0 with argument 0 is slot 0: an empty entry must not answer.
	var empty HypercallCache
	if _, ok := empty.Get(0, 0); ok {
		t.Error("an empty cache answered hypercall 0")
	}
	c.Clear()
	if _, ok := c.Get(xenVersion, verVersion); ok {
		t.Error("Clear left an answer")
	}
}
