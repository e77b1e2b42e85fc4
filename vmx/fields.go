package vmx

import "fmt"

// VMCS component encodings (SDM Vol. 3C §25.11.2 "VMREAD, VMWRITE, and
// Encodings of VMCS Fields", table "Structure of VMCS Component Encoding";
// the fields themselves are enumerated in Vol. 3D Appendix B "Field Encoding
// in VMCS").
//
// Each field width has its own Go type, so that the VMREAD/VMWRITE accessors
// can take a Field16, Field32, Field64 or FieldNat and a field can only be
// read or written with a value of its own width: passing GuestRIP where a
// Field16 is expected does not compile. The tests check that the width bits
// of every constant's encoding agree with its Go type.
//
// The constants cover every field Appendix B lists up to the Skylake
// generation (the 2016 editions of the SDM); newer fields (sub-page
// permissions, tertiary controls, PASID, CET, PKRS, FRED, …) are not
// declared. The 64-bit fields are given by their full-access encoding only:
// in 64-bit mode VMREAD and VMWRITE move all 64 bits at once and the "high"
// encodings (full + 1) are not needed.

// Field16 is the encoding of a 16-bit VMCS field (bits 14:13 = 0).
type Field16 uint32

// Field32 is the encoding of a 32-bit VMCS field (bits 14:13 = 2).
type Field32 uint32

// Field64 is the full-access encoding of a 64-bit VMCS field (bits 14:13 =
// 1, bit 0 = 0).
type Field64 uint32

// FieldNat is the encoding of a natural-width VMCS field (bits 14:13 = 3),
// 64 bits wide on processors that support Intel 64 architecture.
type FieldNat uint32

// String returns the field's name as Linux and Xen spell it
// ("GUEST_CS_SELECTOR").
func (f Field16) String() string { return FieldName(uint32(f)) }

// String returns the field's name as Linux and Xen spell it ("VM_EXIT_REASON").
func (f Field32) String() string { return FieldName(uint32(f)) }

// String returns the field's name as Linux and Xen spell it ("EPT_POINTER").
func (f Field64) String() string { return FieldName(uint32(f)) }

// String returns the field's name as Linux and Xen spell it ("GUEST_RIP").
func (f FieldNat) String() string { return FieldName(uint32(f)) }

// Width is the width of a VMCS field: bits 14:13 of its encoding (SDM Vol. 3C
// §25.11.2, "Structure of VMCS Component Encoding").
type Width uint8

// Field widths, in the order of their encoding.
const (
	Width16      Width = 0 // 16-bit
	Width64      Width = 1 // 64-bit
	Width32      Width = 2 // 32-bit
	WidthNatural Width = 3 // natural width (64 bits on Intel 64 processors)
)

func (w Width) String() string {
	switch w {
	case Width16:
		return "16-bit"
	case Width64:
		return "64-bit"
	case Width32:
		return "32-bit"
	case WidthNatural:
		return "natural-width"
	}
	return fmt.Sprintf("width %d", uint8(w))
}

// FieldType is the type of a VMCS field: bits 11:10 of its encoding, which
// say to which area of the VMCS the field belongs (SDM Vol. 3C §25.11.2,
// "Structure of VMCS Component Encoding"; older editions call type 1
// "read-only data").
type FieldType uint8

// Field types, in the order of their encoding.
const (
	FieldTypeControl  FieldType = 0 // control field
	FieldTypeExitInfo FieldType = 1 // VM-exit information field (read-only data)
	FieldTypeGuest    FieldType = 2 // guest-state field
	FieldTypeHost     FieldType = 3 // host-state field
)

func (t FieldType) String() string {
	switch t {
	case FieldTypeControl:
		return "control"
	case FieldTypeExitInfo:
		return "VM-exit information"
	case FieldTypeGuest:
		return "guest-state"
	case FieldTypeHost:
		return "host-state"
	}
	return fmt.Sprintf("field type %d", uint8(t))
}

// Bits of a VMCS component encoding (SDM Vol. 3C §25.11.2, "Structure of VMCS
// Component Encoding").
const (
	encHigh       = 1 << 0          // bit 0: access type, 1 = high 32 bits of a 64-bit field
	encIndexShift = 1               // bits 9:1: index
	encIndexMask  = 0x1ff           //
	encTypeShift  = 10              // bits 11:10: type
	encWidthShift = 13              // bits 14:13: width
	encReserved   = ^uint32(0x6fff) // bit 12 and bits 31:15 are reserved (0)
)

// Encoding decodes a VMCS component encoding (SDM Vol. 3C §25.11.2,
// "Structure of VMCS Component Encoding"): the access type in bit 0
// (high reports the encoding of the high 32 bits of a 64-bit field), the
// index in bits 9:1, the type in bits 11:10 and the width in bits 14:13.
// It does not check the reserved bits; see ValidEncoding.
func Encoding(f uint32) (width Width, typ FieldType, index int, high bool) {
	width = Width(f>>encWidthShift) & 3
	typ = FieldType(f>>encTypeShift) & 3
	index = int(f>>encIndexShift) & encIndexMask
	high = f&encHigh != 0
	return
}

// MakeEncoding is the inverse of Encoding (index is taken modulo 512).
func MakeEncoding(width Width, typ FieldType, index int, high bool) uint32 {
	f := uint32(width&3)<<encWidthShift | uint32(typ&3)<<encTypeShift |
		uint32(index&encIndexMask)<<encIndexShift
	if high {
		f |= encHigh
	}
	return f
}

// ValidEncoding reports whether f is well formed: its reserved bits (bit 12,
// bits 31:15) are 0 and it selects the high half only of a 64-bit field
// (SDM Vol. 3C §25.11.2: every field other than a 64-bit one allows only
// full access). VMREAD and VMWRITE fail with InstrErrUnsupportedComponent on
// a malformed encoding, and on a well-formed one the processor does not
// implement.
func ValidEncoding(f uint32) bool {
	if f&encReserved != 0 {
		return false
	}
	w, _, _, high := Encoding(f)
	return !high || w == Width64
}

// FieldInfo describes one declared VMCS field.
type FieldInfo struct {
	// Encoding is the field's encoding (for a 64-bit field, the
	// full-access one).
	Encoding uint32
	// Name is the field's name as Linux and Xen spell it.
	Name string
	// Width is the width of the Go type of the field's constant: Width16
	// for a Field16, and so on. The tests check that it agrees with the
	// width bits of Encoding.
	Width Width
}

// Type returns the field's type, from bits 11:10 of its encoding.
func (i FieldInfo) Type() FieldType { _, t, _, _ := Encoding(i.Encoding); return t }

// Index returns the field's index, from bits 9:1 of its encoding.
func (i FieldInfo) Index() int { _, _, x, _ := Encoding(i.Encoding); return x }

// ReadOnly reports whether the field is a VM-exit information field, which
// VMWRITE can write only when IA32_VMX_MISC bit 29 is set (SDM Vol. 3C
// §25.9 "VM-Exit Information Fields"; Vol. 3D Appendix A.6).
func (i FieldInfo) ReadOnly() bool { return i.Type() == FieldTypeExitInfo }

func (i FieldInfo) String() string {
	return fmt.Sprintf("%s (%#04x, %s %s)", i.Name, i.Encoding, i.Width, i.Type())
}

// The constructors of fieldTable take the field constant with its Go type,
// so that the Width recorded in the table is the width of that type.
func f16(f Field16, name string) FieldInfo   { return FieldInfo{uint32(f), name, Width16} }
func f32(f Field32, name string) FieldInfo   { return FieldInfo{uint32(f), name, Width32} }
func f64(f Field64, name string) FieldInfo   { return FieldInfo{uint32(f), name, Width64} }
func fnat(f FieldNat, name string) FieldInfo { return FieldInfo{uint32(f), name, WidthNatural} }

// Fields returns every VMCS field declared in this package, in the order of
// Vol. 3D Appendix B. The slice is a fresh copy.
func Fields() []FieldInfo {
	s := make([]FieldInfo, len(fieldTable))
	copy(s, fieldTable[:])
	return s
}

// LookupField returns the description of the declared field with encoding
// f (the full-access encoding of a 64-bit field).
func LookupField(f uint32) (FieldInfo, bool) {
	if i, ok := fieldIndex[f]; ok {
		return fieldTable[i], true
	}
	return FieldInfo{}, false
}

// FieldName names the field with encoding f, for messages and dumps: its
// Linux/Xen name ("GUEST_RIP"), the name with "_HIGH" for the high-access
// encoding of a declared 64-bit field, or "VMCS field 0x…" for any other
// encoding.
func FieldName(f uint32) string {
	if i, ok := LookupField(f); ok {
		return i.Name
	}
	if f&encHigh != 0 {
		if i, ok := LookupField(f &^ encHigh); ok && i.Width == Width64 {
			return i.Name + "_HIGH"
		}
	}
	return fmt.Sprintf("VMCS field %#04x", f)
}

var fieldIndex = func() map[uint32]int {
	m := make(map[uint32]int, len(fieldTable))
	for i, f := range fieldTable {
		m[f.Encoding] = i
	}
	return m
}()

// SDM Vol. 3D Table B-1 "Encoding for 16-Bit Control Fields".
const (
	VirtualProcessorID Field16 = 0x0000 // virtual-processor identifier (VPID)
	PostedIntrNV       Field16 = 0x0002 // posted-interrupt notification vector
	EPTPIndex          Field16 = 0x0004 // EPTP index
)

// SDM Vol. 3D Table B-2 "Encodings for 16-Bit Guest-State Fields".
const (
	GuestESSelector   Field16 = 0x0800 // guest ES selector
	GuestCSSelector   Field16 = 0x0802 // guest CS selector
	GuestSSSelector   Field16 = 0x0804 // guest SS selector
	GuestDSSelector   Field16 = 0x0806 // guest DS selector
	GuestFSSelector   Field16 = 0x0808 // guest FS selector
	GuestGSSelector   Field16 = 0x080A // guest GS selector
	GuestLDTRSelector Field16 = 0x080C // guest LDTR selector
	GuestTRSelector   Field16 = 0x080E // guest TR selector
	GuestIntrStatus   Field16 = 0x0810 // guest interrupt status
	GuestPMLIndex     Field16 = 0x0812 // PML index
)

// SDM Vol. 3D Table B-3 "Encodings for 16-Bit Host-State Fields".
const (
	HostESSelector Field16 = 0x0C00 // host ES selector
	HostCSSelector Field16 = 0x0C02 // host CS selector
	HostSSSelector Field16 = 0x0C04 // host SS selector
	HostDSSelector Field16 = 0x0C06 // host DS selector
	HostFSSelector Field16 = 0x0C08 // host FS selector
	HostGSSelector Field16 = 0x0C0A // host GS selector
	HostTRSelector Field16 = 0x0C0C // host TR selector
)

// SDM Vol. 3D Table B-4 "Encodings for 64-Bit Control Fields".
const (
	IOBitmapA            Field64 = 0x2000 // address of I/O bitmap A
	IOBitmapB            Field64 = 0x2002 // address of I/O bitmap B
	MSRBitmap            Field64 = 0x2004 // address of MSR bitmaps
	VMExitMSRStoreAddr   Field64 = 0x2006 // VM-exit MSR-store address
	VMExitMSRLoadAddr    Field64 = 0x2008 // VM-exit MSR-load address
	VMEntryMSRLoadAddr   Field64 = 0x200A // VM-entry MSR-load address
	ExecutiveVMCSPointer Field64 = 0x200C // executive-VMCS pointer
	PMLAddress           Field64 = 0x200E // PML address
	TSCOffset            Field64 = 0x2010 // TSC offset
	VirtualAPICPageAddr  Field64 = 0x2012 // virtual-APIC address
	APICAccessAddr       Field64 = 0x2014 // APIC-access address
	PostedIntrDescAddr   Field64 = 0x2016 // posted-interrupt descriptor address
	VMFunctionControl    Field64 = 0x2018 // VM-function controls
	EPTPointer           Field64 = 0x201A // EPT pointer (EPTP)
	EOIExitBitmap0       Field64 = 0x201C // EOI-exit bitmap 0
	EOIExitBitmap1       Field64 = 0x201E // EOI-exit bitmap 1
	EOIExitBitmap2       Field64 = 0x2020 // EOI-exit bitmap 2
	EOIExitBitmap3       Field64 = 0x2022 // EOI-exit bitmap 3
	EPTPListAddress      Field64 = 0x2024 // EPTP-list address
	VMReadBitmap         Field64 = 0x2026 // VMREAD-bitmap address
	VMWriteBitmap        Field64 = 0x2028 // VMWRITE-bitmap address
	VEInformationAddress Field64 = 0x202A // virtualization-exception information address
	XSSExitBitmap        Field64 = 0x202C // XSS-exiting bitmap
	ENCLSExitingBitmap   Field64 = 0x202E // ENCLS-exiting bitmap
	TSCMultiplier        Field64 = 0x2032 // TSC multiplier
)

// SDM Vol. 3D Table B-5 "Encodings for 64-Bit Read-Only Data Field".
const (
	GuestPhysicalAddress Field64 = 0x2400 // guest-physical address
)

// SDM Vol. 3D Table B-6 "Encodings for 64-Bit Guest-State Fields".
const (
	VMCSLinkPointer         Field64 = 0x2800 // VMCS link pointer
	GuestIA32DebugCtl       Field64 = 0x2802 // guest IA32_DEBUGCTL
	GuestIA32PAT            Field64 = 0x2804 // guest IA32_PAT
	GuestIA32EFER           Field64 = 0x2806 // guest IA32_EFER
	GuestIA32PerfGlobalCtrl Field64 = 0x2808 // guest IA32_PERF_GLOBAL_CTRL
	GuestPDPTR0             Field64 = 0x280A // guest PDPTE0
	GuestPDPTR1             Field64 = 0x280C // guest PDPTE1
	GuestPDPTR2             Field64 = 0x280E // guest PDPTE2
	GuestPDPTR3             Field64 = 0x2810 // guest PDPTE3
	GuestBNDCFGS            Field64 = 0x2812 // guest IA32_BNDCFGS
)

// SDM Vol. 3D Table B-7 "Encodings for 64-Bit Host-State Fields".
const (
	HostIA32PAT            Field64 = 0x2C00 // host IA32_PAT
	HostIA32EFER           Field64 = 0x2C02 // host IA32_EFER
	HostIA32PerfGlobalCtrl Field64 = 0x2C04 // host IA32_PERF_GLOBAL_CTRL
)

// SDM Vol. 3D Table B-8 "Encodings for 32-Bit Control Fields".
const (
	PinBasedVMExecControl     Field32 = 0x4000 // pin-based VM-execution controls
	CPUBasedVMExecControl     Field32 = 0x4002 // primary processor-based VM-execution controls
	ExceptionBitmap           Field32 = 0x4004 // exception bitmap
	PageFaultErrorCodeMask    Field32 = 0x4006 // page-fault error-code mask
	PageFaultErrorCodeMatch   Field32 = 0x4008 // page-fault error-code match
	CR3TargetCount            Field32 = 0x400A // CR3-target count
	VMExitControls            Field32 = 0x400C // VM-exit controls
	VMExitMSRStoreCount       Field32 = 0x400E // VM-exit MSR-store count
	VMExitMSRLoadCount        Field32 = 0x4010 // VM-exit MSR-load count
	VMEntryControls           Field32 = 0x4012 // VM-entry controls
	VMEntryMSRLoadCount       Field32 = 0x4014 // VM-entry MSR-load count
	VMEntryIntrInfoField      Field32 = 0x4016 // VM-entry interruption-information field
	VMEntryExceptionErrorCode Field32 = 0x4018 // VM-entry exception error code
	VMEntryInstructionLen     Field32 = 0x401A // VM-entry instruction length
	TPRThreshold              Field32 = 0x401C // TPR threshold
	SecondaryVMExecControl    Field32 = 0x401E // secondary processor-based VM-execution controls
	PLEGap                    Field32 = 0x4020 // PLE_Gap
	PLEWindow                 Field32 = 0x4022 // PLE_Window
)

// SDM Vol. 3D Table B-9 "Encodings for 32-Bit Read-Only Data Fields".
const (
	VMInstructionError    Field32 = 0x4400 // VM-instruction error
	VMExitReason          Field32 = 0x4402 // exit reason
	VMExitIntrInfo        Field32 = 0x4404 // VM-exit interruption information
	VMExitIntrErrorCode   Field32 = 0x4406 // VM-exit interruption error code
	IDTVectoringInfoField Field32 = 0x4408 // IDT-vectoring information field
	IDTVectoringErrorCode Field32 = 0x440A // IDT-vectoring error code
	VMExitInstructionLen  Field32 = 0x440C // VM-exit instruction length
	VMXInstructionInfo    Field32 = 0x440E // VM-exit instruction information
)

// SDM Vol. 3D Table B-10 "Encodings for 32-Bit Guest-State Fields".
const (
	GuestESLimit              Field32 = 0x4800 // guest ES limit
	GuestCSLimit              Field32 = 0x4802 // guest CS limit
	GuestSSLimit              Field32 = 0x4804 // guest SS limit
	GuestDSLimit              Field32 = 0x4806 // guest DS limit
	GuestFSLimit              Field32 = 0x4808 // guest FS limit
	GuestGSLimit              Field32 = 0x480A // guest GS limit
	GuestLDTRLimit            Field32 = 0x480C // guest LDTR limit
	GuestTRLimit              Field32 = 0x480E // guest TR limit
	GuestGDTRLimit            Field32 = 0x4810 // guest GDTR limit
	GuestIDTRLimit            Field32 = 0x4812 // guest IDTR limit
	GuestESAccessRights       Field32 = 0x4814 // guest ES access rights
	GuestCSAccessRights       Field32 = 0x4816 // guest CS access rights
	GuestSSAccessRights       Field32 = 0x4818 // guest SS access rights
	GuestDSAccessRights       Field32 = 0x481A // guest DS access rights
	GuestFSAccessRights       Field32 = 0x481C // guest FS access rights
	GuestGSAccessRights       Field32 = 0x481E // guest GS access rights
	GuestLDTRAccessRights     Field32 = 0x4820 // guest LDTR access rights
	GuestTRAccessRights       Field32 = 0x4822 // guest TR access rights
	GuestInterruptibilityInfo Field32 = 0x4824 // guest interruptibility state
	GuestActivityState        Field32 = 0x4826 // guest activity state
	GuestSMBase               Field32 = 0x4828 // guest SMBASE
	GuestSysenterCS           Field32 = 0x482A // guest IA32_SYSENTER_CS
	VMXPreemptionTimerValue   Field32 = 0x482E // VMX-preemption timer value
)

// SDM Vol. 3D Table B-11 "Encoding for 32-Bit Host-State Field".
const (
	HostIA32SysenterCS Field32 = 0x4C00 // host IA32_SYSENTER_CS
)

// SDM Vol. 3D Table B-12 "Encodings for Natural-Width Control Fields".
const (
	CR0GuestHostMask FieldNat = 0x6000 // CR0 guest/host mask
	CR4GuestHostMask FieldNat = 0x6002 // CR4 guest/host mask
	CR0ReadShadow    FieldNat = 0x6004 // CR0 read shadow
	CR4ReadShadow    FieldNat = 0x6006 // CR4 read shadow
	CR3TargetValue0  FieldNat = 0x6008 // CR3-target value 0
	CR3TargetValue1  FieldNat = 0x600A // CR3-target value 1
	CR3TargetValue2  FieldNat = 0x600C // CR3-target value 2
	CR3TargetValue3  FieldNat = 0x600E // CR3-target value 3
)

// SDM Vol. 3D Table B-13 "Encodings for Natural-Width Read-Only Data Fields".
const (
	ExitQualification  FieldNat = 0x6400 // exit qualification
	IORCX              FieldNat = 0x6402 // I/O RCX
	IORSI              FieldNat = 0x6404 // I/O RSI
	IORDI              FieldNat = 0x6406 // I/O RDI
	IORIP              FieldNat = 0x6408 // I/O RIP
	GuestLinearAddress FieldNat = 0x640A // guest-linear address
)

// SDM Vol. 3D Table B-14 "Encodings for Natural-Width Guest-State Fields".
const (
	GuestCR0                  FieldNat = 0x6800 // guest CR0
	GuestCR3                  FieldNat = 0x6802 // guest CR3
	GuestCR4                  FieldNat = 0x6804 // guest CR4
	GuestESBase               FieldNat = 0x6806 // guest ES base
	GuestCSBase               FieldNat = 0x6808 // guest CS base
	GuestSSBase               FieldNat = 0x680A // guest SS base
	GuestDSBase               FieldNat = 0x680C // guest DS base
	GuestFSBase               FieldNat = 0x680E // guest FS base
	GuestGSBase               FieldNat = 0x6810 // guest GS base
	GuestLDTRBase             FieldNat = 0x6812 // guest LDTR base
	GuestTRBase               FieldNat = 0x6814 // guest TR base
	GuestGDTRBase             FieldNat = 0x6816 // guest GDTR base
	GuestIDTRBase             FieldNat = 0x6818 // guest IDTR base
	GuestDR7                  FieldNat = 0x681A // guest DR7
	GuestRSP                  FieldNat = 0x681C // guest RSP
	GuestRIP                  FieldNat = 0x681E // guest RIP
	GuestRFLAGS               FieldNat = 0x6820 // guest RFLAGS
	GuestPendingDbgExceptions FieldNat = 0x6822 // guest pending debug exceptions
	GuestSysenterESP          FieldNat = 0x6824 // guest IA32_SYSENTER_ESP
	GuestSysenterEIP          FieldNat = 0x6826 // guest IA32_SYSENTER_EIP
)

// SDM Vol. 3D Table B-15 "Encodings for Natural-Width Host-State Fields".
const (
	HostCR0             FieldNat = 0x6C00 // host CR0
	HostCR3             FieldNat = 0x6C02 // host CR3
	HostCR4             FieldNat = 0x6C04 // host CR4
	HostFSBase          FieldNat = 0x6C06 // host FS base
	HostGSBase          FieldNat = 0x6C08 // host GS base
	HostTRBase          FieldNat = 0x6C0A // host TR base
	HostGDTRBase        FieldNat = 0x6C0C // host GDTR base
	HostIDTRBase        FieldNat = 0x6C0E // host IDTR base
	HostIA32SysenterESP FieldNat = 0x6C10 // host IA32_SYSENTER_ESP
	HostIA32SysenterEIP FieldNat = 0x6C12 // host IA32_SYSENTER_EIP
	HostRSP             FieldNat = 0x6C14 // host RSP
	HostRIP             FieldNat = 0x6C16 // host RIP
)

// fieldTable lists every constant above, in the same order.
var fieldTable = [...]FieldInfo{
	// Table B-1.
	f16(VirtualProcessorID, "VIRTUAL_PROCESSOR_ID"),
	f16(PostedIntrNV, "POSTED_INTR_NV"),
	f16(EPTPIndex, "EPTP_INDEX"),
	// Table B-2.
	f16(GuestESSelector, "GUEST_ES_SELECTOR"),
	f16(GuestCSSelector, "GUEST_CS_SELECTOR"),
	f16(GuestSSSelector, "GUEST_SS_SELECTOR"),
	f16(GuestDSSelector, "GUEST_DS_SELECTOR"),
	f16(GuestFSSelector, "GUEST_FS_SELECTOR"),
	f16(GuestGSSelector, "GUEST_GS_SELECTOR"),
	f16(GuestLDTRSelector, "GUEST_LDTR_SELECTOR"),
	f16(GuestTRSelector, "GUEST_TR_SELECTOR"),
	f16(GuestIntrStatus, "GUEST_INTR_STATUS"),
	f16(GuestPMLIndex, "GUEST_PML_INDEX"),
	// Table B-3.
	f16(HostESSelector, "HOST_ES_SELECTOR"),
	f16(HostCSSelector, "HOST_CS_SELECTOR"),
	f16(HostSSSelector, "HOST_SS_SELECTOR"),
	f16(HostDSSelector, "HOST_DS_SELECTOR"),
	f16(HostFSSelector, "HOST_FS_SELECTOR"),
	f16(HostGSSelector, "HOST_GS_SELECTOR"),
	f16(HostTRSelector, "HOST_TR_SELECTOR"),
	// Table B-4.
	f64(IOBitmapA, "IO_BITMAP_A"),
	f64(IOBitmapB, "IO_BITMAP_B"),
	f64(MSRBitmap, "MSR_BITMAP"),
	f64(VMExitMSRStoreAddr, "VM_EXIT_MSR_STORE_ADDR"),
	f64(VMExitMSRLoadAddr, "VM_EXIT_MSR_LOAD_ADDR"),
	f64(VMEntryMSRLoadAddr, "VM_ENTRY_MSR_LOAD_ADDR"),
	f64(ExecutiveVMCSPointer, "EXECUTIVE_VMCS_POINTER"),
	f64(PMLAddress, "PML_ADDRESS"),
	f64(TSCOffset, "TSC_OFFSET"),
	f64(VirtualAPICPageAddr, "VIRTUAL_APIC_PAGE_ADDR"),
	f64(APICAccessAddr, "APIC_ACCESS_ADDR"),
	f64(PostedIntrDescAddr, "POSTED_INTR_DESC_ADDR"),
	f64(VMFunctionControl, "VM_FUNCTION_CONTROL"),
	f64(EPTPointer, "EPT_POINTER"),
	f64(EOIExitBitmap0, "EOI_EXIT_BITMAP0"),
	f64(EOIExitBitmap1, "EOI_EXIT_BITMAP1"),
	f64(EOIExitBitmap2, "EOI_EXIT_BITMAP2"),
	f64(EOIExitBitmap3, "EOI_EXIT_BITMAP3"),
	f64(EPTPListAddress, "EPTP_LIST_ADDRESS"),
	f64(VMReadBitmap, "VMREAD_BITMAP"),
	f64(VMWriteBitmap, "VMWRITE_BITMAP"),
	f64(VEInformationAddress, "VE_INFORMATION_ADDRESS"),
	f64(XSSExitBitmap, "XSS_EXIT_BITMAP"),
	f64(ENCLSExitingBitmap, "ENCLS_EXITING_BITMAP"),
	f64(TSCMultiplier, "TSC_MULTIPLIER"),
	// Table B-5.
	f64(GuestPhysicalAddress, "GUEST_PHYSICAL_ADDRESS"),
	// Table B-6.
	f64(VMCSLinkPointer, "VMCS_LINK_POINTER"),
	f64(GuestIA32DebugCtl, "GUEST_IA32_DEBUGCTL"),
	f64(GuestIA32PAT, "GUEST_IA32_PAT"),
	f64(GuestIA32EFER, "GUEST_IA32_EFER"),
	f64(GuestIA32PerfGlobalCtrl, "GUEST_IA32_PERF_GLOBAL_CTRL"),
	f64(GuestPDPTR0, "GUEST_PDPTR0"),
	f64(GuestPDPTR1, "GUEST_PDPTR1"),
	f64(GuestPDPTR2, "GUEST_PDPTR2"),
	f64(GuestPDPTR3, "GUEST_PDPTR3"),
	f64(GuestBNDCFGS, "GUEST_BNDCFGS"),
	// Table B-7.
	f64(HostIA32PAT, "HOST_IA32_PAT"),
	f64(HostIA32EFER, "HOST_IA32_EFER"),
	f64(HostIA32PerfGlobalCtrl, "HOST_IA32_PERF_GLOBAL_CTRL"),
	// Table B-8.
	f32(PinBasedVMExecControl, "PIN_BASED_VM_EXEC_CONTROL"),
	f32(CPUBasedVMExecControl, "CPU_BASED_VM_EXEC_CONTROL"),
	f32(ExceptionBitmap, "EXCEPTION_BITMAP"),
	f32(PageFaultErrorCodeMask, "PAGE_FAULT_ERROR_CODE_MASK"),
	f32(PageFaultErrorCodeMatch, "PAGE_FAULT_ERROR_CODE_MATCH"),
	f32(CR3TargetCount, "CR3_TARGET_COUNT"),
	f32(VMExitControls, "VM_EXIT_CONTROLS"),
	f32(VMExitMSRStoreCount, "VM_EXIT_MSR_STORE_COUNT"),
	f32(VMExitMSRLoadCount, "VM_EXIT_MSR_LOAD_COUNT"),
	f32(VMEntryControls, "VM_ENTRY_CONTROLS"),
	f32(VMEntryMSRLoadCount, "VM_ENTRY_MSR_LOAD_COUNT"),
	f32(VMEntryIntrInfoField, "VM_ENTRY_INTR_INFO_FIELD"),
	f32(VMEntryExceptionErrorCode, "VM_ENTRY_EXCEPTION_ERROR_CODE"),
	f32(VMEntryInstructionLen, "VM_ENTRY_INSTRUCTION_LEN"),
	f32(TPRThreshold, "TPR_THRESHOLD"),
	f32(SecondaryVMExecControl, "SECONDARY_VM_EXEC_CONTROL"),
	f32(PLEGap, "PLE_GAP"),
	f32(PLEWindow, "PLE_WINDOW"),
	// Table B-9.
	f32(VMInstructionError, "VM_INSTRUCTION_ERROR"),
	f32(VMExitReason, "VM_EXIT_REASON"),
	f32(VMExitIntrInfo, "VM_EXIT_INTR_INFO"),
	f32(VMExitIntrErrorCode, "VM_EXIT_INTR_ERROR_CODE"),
	f32(IDTVectoringInfoField, "IDT_VECTORING_INFO_FIELD"),
	f32(IDTVectoringErrorCode, "IDT_VECTORING_ERROR_CODE"),
	f32(VMExitInstructionLen, "VM_EXIT_INSTRUCTION_LEN"),
	f32(VMXInstructionInfo, "VMX_INSTRUCTION_INFO"),
	// Table B-10.
	f32(GuestESLimit, "GUEST_ES_LIMIT"),
	f32(GuestCSLimit, "GUEST_CS_LIMIT"),
	f32(GuestSSLimit, "GUEST_SS_LIMIT"),
	f32(GuestDSLimit, "GUEST_DS_LIMIT"),
	f32(GuestFSLimit, "GUEST_FS_LIMIT"),
	f32(GuestGSLimit, "GUEST_GS_LIMIT"),
	f32(GuestLDTRLimit, "GUEST_LDTR_LIMIT"),
	f32(GuestTRLimit, "GUEST_TR_LIMIT"),
	f32(GuestGDTRLimit, "GUEST_GDTR_LIMIT"),
	f32(GuestIDTRLimit, "GUEST_IDTR_LIMIT"),
	f32(GuestESAccessRights, "GUEST_ES_AR_BYTES"),
	f32(GuestCSAccessRights, "GUEST_CS_AR_BYTES"),
	f32(GuestSSAccessRights, "GUEST_SS_AR_BYTES"),
	f32(GuestDSAccessRights, "GUEST_DS_AR_BYTES"),
	f32(GuestFSAccessRights, "GUEST_FS_AR_BYTES"),
	f32(GuestGSAccessRights, "GUEST_GS_AR_BYTES"),
	f32(GuestLDTRAccessRights, "GUEST_LDTR_AR_BYTES"),
	f32(GuestTRAccessRights, "GUEST_TR_AR_BYTES"),
	f32(GuestInterruptibilityInfo, "GUEST_INTERRUPTIBILITY_INFO"),
	f32(GuestActivityState, "GUEST_ACTIVITY_STATE"),
	f32(GuestSMBase, "GUEST_SMBASE"),
	f32(GuestSysenterCS, "GUEST_SYSENTER_CS"),
	f32(VMXPreemptionTimerValue, "VMX_PREEMPTION_TIMER_VALUE"),
	// Table B-11.
	f32(HostIA32SysenterCS, "HOST_IA32_SYSENTER_CS"),
	// Table B-12.
	fnat(CR0GuestHostMask, "CR0_GUEST_HOST_MASK"),
	fnat(CR4GuestHostMask, "CR4_GUEST_HOST_MASK"),
	fnat(CR0ReadShadow, "CR0_READ_SHADOW"),
	fnat(CR4ReadShadow, "CR4_READ_SHADOW"),
	fnat(CR3TargetValue0, "CR3_TARGET_VALUE0"),
	fnat(CR3TargetValue1, "CR3_TARGET_VALUE1"),
	fnat(CR3TargetValue2, "CR3_TARGET_VALUE2"),
	fnat(CR3TargetValue3, "CR3_TARGET_VALUE3"),
	// Table B-13.
	fnat(ExitQualification, "EXIT_QUALIFICATION"),
	fnat(IORCX, "IO_RCX"),
	fnat(IORSI, "IO_RSI"),
	fnat(IORDI, "IO_RDI"),
	fnat(IORIP, "IO_RIP"),
	fnat(GuestLinearAddress, "GUEST_LINEAR_ADDRESS"),
	// Table B-14.
	fnat(GuestCR0, "GUEST_CR0"),
	fnat(GuestCR3, "GUEST_CR3"),
	fnat(GuestCR4, "GUEST_CR4"),
	fnat(GuestESBase, "GUEST_ES_BASE"),
	fnat(GuestCSBase, "GUEST_CS_BASE"),
	fnat(GuestSSBase, "GUEST_SS_BASE"),
	fnat(GuestDSBase, "GUEST_DS_BASE"),
	fnat(GuestFSBase, "GUEST_FS_BASE"),
	fnat(GuestGSBase, "GUEST_GS_BASE"),
	fnat(GuestLDTRBase, "GUEST_LDTR_BASE"),
	fnat(GuestTRBase, "GUEST_TR_BASE"),
	fnat(GuestGDTRBase, "GUEST_GDTR_BASE"),
	fnat(GuestIDTRBase, "GUEST_IDTR_BASE"),
	fnat(GuestDR7, "GUEST_DR7"),
	fnat(GuestRSP, "GUEST_RSP"),
	fnat(GuestRIP, "GUEST_RIP"),
	fnat(GuestRFLAGS, "GUEST_RFLAGS"),
	fnat(GuestPendingDbgExceptions, "GUEST_PENDING_DBG_EXCEPTIONS"),
	fnat(GuestSysenterESP, "GUEST_SYSENTER_ESP"),
	fnat(GuestSysenterEIP, "GUEST_SYSENTER_EIP"),
	// Table B-15.
	fnat(HostCR0, "HOST_CR0"),
	fnat(HostCR3, "HOST_CR3"),
	fnat(HostCR4, "HOST_CR4"),
	fnat(HostFSBase, "HOST_FS_BASE"),
	fnat(HostGSBase, "HOST_GS_BASE"),
	fnat(HostTRBase, "HOST_TR_BASE"),
	fnat(HostGDTRBase, "HOST_GDTR_BASE"),
	fnat(HostIDTRBase, "HOST_IDTR_BASE"),
	fnat(HostIA32SysenterESP, "HOST_IA32_SYSENTER_ESP"),
	fnat(HostIA32SysenterEIP, "HOST_IA32_SYSENTER_EIP"),
	fnat(HostRSP, "HOST_RSP"),
	fnat(HostRIP, "HOST_RIP"),
}
