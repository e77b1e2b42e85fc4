package acpi

import "fmt"

// Generic Address Structure address space IDs, ACPI 6.5 §5.2.3.2.
const (
	SpaceSystemMemory = 0
	SpaceSystemIO     = 1
	SpacePCIConfig    = 2
)

// GASLength is the size of a Generic Address Structure.
const GASLength = 12

// GAS is a Generic Address Structure, ACPI 6.5 §5.2.3.2: where
// a register is and how to access it.
type GAS struct {
	// SpaceID is the address space: SpaceSystemMemory, SpaceSystemIO,
	// SpacePCIConfig, ...
	SpaceID uint8
	// BitWidth is the register's width in bits (0 for a structure).
	BitWidth uint8
	// BitOffset is the register's bit offset at Address.
	BitOffset uint8
	// AccessSize is 0 (undefined, legacy), 1 byte, 2 word, 3 dword or
	// 4 qword access.
	AccessSize uint8
	// Address is the register's address in SpaceID; for PCI configuration
	// space it encodes device, function and offset.
	Address uint64
}

// parseGAS decodes the 12 bytes at b[off:]; the caller checks the bounds.
func parseGAS(b []byte, off int) GAS {
	return GAS{SpaceID: b[off], BitWidth: b[off+1], BitOffset: b[off+2], AccessSize: b[off+3], Address: u64(b, off+4)}
}

// String renders the GAS for a boot log, e.g. "io:0xcf9/8".
func (g GAS) String() string {
	space := fmt.Sprintf("space%d", g.SpaceID)
	switch g.SpaceID {
	case SpaceSystemMemory:
		space = "mem"
	case SpaceSystemIO:
		space = "io"
	case SpacePCIConfig:
		space = "pci"
	}
	return fmt.Sprintf("%s:%#x/%d", space, g.Address, g.BitWidth)
}

// FADT field offsets, ACPI 6.5 §5.2.9 Fixed ACPI Description Table (FADT)
// (FADT Format table). A field exists only if the table is long enough to hold it: a
// revision 1 (ACPI 1.0) FADT is 116 bytes and ends before RESET_REG; ACPI
// 2.0 added the fields up to 244, ACPI 5.0 the sleep registers (268), ACPI
// 6.0 the hypervisor vendor identity (276).
const (
	fadtFirmwareCtrl  = 36
	fadtDSDT          = 40
	fadtSCIInt        = 46
	fadtSMICmd        = 48
	fadtACPIEnable    = 52
	fadtACPIDisable   = 53
	fadtPM1aEvtBlk    = 56
	fadtPM1aCntBlk    = 64
	fadtPM1bCntBlk    = 68
	fadtPMTmrBlk      = 76
	fadtPM1CntLen     = 89
	fadtPMTmrLen      = 91
	fadtIAPCBootArch  = 109
	fadtFlags         = 112
	fadtResetReg      = 116
	fadtResetValue    = 128
	fadtMinorVersion  = 131
	fadtXDSDT         = 140
	fadtXPM1aCntBlk   = 172
	fadtXPM1bCntBlk   = 184
	fadtXPMTmrBlk     = 208
	fadtHypervisorVID = 268

	// FADTv1Length is the size of the ACPI 1.0 (revision 1) FADT, the
	// shortest accepted.
	FADTv1Length = 116
)

// FADT fixed feature flags, ACPI 6.5 §5.2.9 (Fixed ACPI Description Table Fixed
// Feature Flags).
const (
	// FADTTmrValExt: the PM timer is 32 bits wide (else 24 bits).
	FADTTmrValExt = 1 << 8
	// FADTResetRegSup: the RESET_REG register is supported.
	FADTResetRegSup = 1 << 10
	// FADTHWReducedACPI: hardware-reduced ACPI, no fixed hardware (no PM1
	// control, no PM timer).
	FADTHWReducedACPI = 1 << 20
)

// IA-PC boot architecture flags (IAPC_BOOT_ARCH), ACPI 6.5 §5.2.9.3.
const (
	BootArchLegacyDevices = 1 << 0 // LPC/ISA devices the OS can't enumerate
	BootArch8042          = 1 << 1 // an 8042 keyboard controller is present
	BootArchNoVGA         = 1 << 2 // VGA must not be probed
	BootArchNoMSI         = 1 << 3 // MSI must not be enabled
	BootArchNoCMOSRTC     = 1 << 5 // no CMOS RTC
)

// FADT is the decoded Fixed ACPI Description Table, ACPI 6.5 §5.2.9: the
// fixed hardware registers the hypervisor uses to time, power off and reset
// the machine. I/O ports are 0 when the firmware gives none usable.
type FADT struct {
	// Revision and Length are the table's (Length tells which fields
	// exist); MinorVersion is the FADT Minor Version byte (ACPI 5.1+, else
	// 0).
	Revision     uint8
	MinorVersion uint8
	Length       uint32
	// OEMID is the table header's OEM ID.
	OEMID string

	// DSDT is the DSDT's physical address: X_DSDT (offset 140) when the
	// table holds it and it is non-zero, else the 32-bit DSDT field
	// (offset 40).
	DSDT uint64
	// FirmwareCtrl is the 32-bit physical address of the FACS (offset 36).
	FirmwareCtrl uint32

	// SCIInterrupt is the SCI's interrupt (offset 46).
	SCIInterrupt uint16
	// SMICommand is the SMI command port (offset 48), and ACPIEnable and
	// ACPIDisable the values to write there to switch ACPI mode (SCI_EN)
	// on and off (offsets 52, 53); 0 if the system is always in ACPI mode.
	SMICommand  uint32
	ACPIEnable  uint8
	ACPIDisable uint8

	// PM1aEventPort is the PM1a event block's I/O port (offset 56).
	PM1aEventPort uint16
	// PM1aControlPort and PM1bControlPort are the PM1 control registers'
	// I/O ports, from X_PM1a_CNT_BLK/X_PM1b_CNT_BLK (offsets 172, 184)
	// when they are system I/O and non-zero, else PM1a_CNT_BLK/
	// PM1b_CNT_BLK (offsets 64, 68). PM1b is 0 when absent. SLP_TYP is
	// bits 10-12, SLP_EN bit 13 (ACPI 6.5 §4.8.3.2.1 PM1 Control Registers).
	PM1aControlPort uint16
	PM1bControlPort uint16
	// PM1ControlLength is PM1_CNT_LEN (offset 89), in bytes.
	PM1ControlLength uint8

	// PMTimerPort is the ACPI PM timer's I/O port (3.579545 MHz), from
	// X_PM_TMR_BLK (offset 208) when it is system I/O and non-zero, else
	// PM_TMR_BLK (offset 76); 0 if there is no usable timer.
	PMTimerPort uint16
	// PMTimerLength is PM_TMR_LEN (offset 91): 4 when there is a timer.
	PMTimerLength uint8
	// PMTimer32Bit is TMR_VAL_EXT: the timer counts 32 bits, else 24.
	PMTimer32Bit bool

	// IAPCBootArch is IAPC_BOOT_ARCH (offset 109, ACPI 2.0+; 0 in a
	// revision 1 FADT): BootArch* flags.
	IAPCBootArch uint16
	// Flags is the fixed feature flags field (offset 112): FADT* flags.
	Flags uint32

	// ResetSupported tells that RESET_REG_SUP is set and the table is long
	// enough to hold RESET_REG and RESET_VALUE.
	ResetSupported bool
	// ResetRegister is RESET_REG (offset 116) and ResetValue RESET_VALUE
	// (offset 128): write ResetValue to ResetRegister to reset the
	// machine. Valid when ResetSupported.
	ResetRegister GAS
	ResetValue    uint8

	// XPM1aControl, XPM1bControl and XPMTimer are the raw extended
	// registers (offsets 172, 184, 208); zero when the table is too short.
	XPM1aControl GAS
	XPM1bControl GAS
	XPMTimer     GAS

	// HypervisorVendor is the Hypervisor Vendor Identity (offset 268,
	// ACPI 6.0+), 0 when absent.
	HypervisorVendor uint64

	// Warnings lists register fields that were ignored because their
	// values are unusable (e.g. an I/O port above 0xFFFF).
	Warnings []string
}

// ParseFADT decodes a FADT from its bytes (header included). It verifies the
// signature, the checksum and that the table is at least FADTv1Length bytes
// long, and reads each field added by later revisions only when the table's
// length covers it.
func ParseFADT(b []byte) (*FADT, error) {
	h, b, err := checkTable(b, SigFADT, "FADT", FADTv1Length)
	if err != nil {
		return nil, err
	}
	has := func(off, size int) bool { return off+size <= len(b) }

	f := &FADT{
		Revision:         h.Revision,
		Length:           h.Length,
		OEMID:            h.OEMID,
		FirmwareCtrl:     u32(b, fadtFirmwareCtrl),
		DSDT:             uint64(u32(b, fadtDSDT)),
		SCIInterrupt:     u16(b, fadtSCIInt),
		SMICommand:       u32(b, fadtSMICmd),
		ACPIEnable:       b[fadtACPIEnable],
		ACPIDisable:      b[fadtACPIDisable],
		PM1ControlLength: b[fadtPM1CntLen],
		PMTimerLength:    b[fadtPMTmrLen],
		Flags:            u32(b, fadtFlags),
	}
	f.PMTimer32Bit = f.Flags&FADTTmrValExt != 0
	if h.Revision >= 2 {
		// Reserved (0) in ACPI 1.0.
		f.IAPCBootArch = u16(b, fadtIAPCBootArch)
	}
	if has(fadtMinorVersion, 1) {
		f.MinorVersion = b[fadtMinorVersion]
	}
	if has(fadtXDSDT, 8) {
		if x := u64(b, fadtXDSDT); x != 0 {
			if f.DSDT != 0 && x != f.DSDT {
				f.warn("X_DSDT %#x and DSDT %#x differ; using X_DSDT", x, f.DSDT)
			}
			f.DSDT = x
		}
	}
	if has(fadtResetValue, 1) {
		f.ResetRegister = parseGAS(b, fadtResetReg)
		f.ResetValue = b[fadtResetValue]
		f.ResetSupported = f.Flags&FADTResetRegSup != 0
	}
	if has(fadtXPM1aCntBlk, GASLength) {
		f.XPM1aControl = parseGAS(b, fadtXPM1aCntBlk)
	}
	if has(fadtXPM1bCntBlk, GASLength) {
		f.XPM1bControl = parseGAS(b, fadtXPM1bCntBlk)
	}
	if has(fadtXPMTmrBlk, GASLength) {
		f.XPMTimer = parseGAS(b, fadtXPMTmrBlk)
	}
	if has(fadtHypervisorVID, 8) {
		f.HypervisorVendor = u64(b, fadtHypervisorVID)
	}

	f.PM1aEventPort = f.port("PM1a_EVT_BLK", u32(b, fadtPM1aEvtBlk), GAS{})
	f.PM1aControlPort = f.port("PM1a_CNT_BLK", u32(b, fadtPM1aCntBlk), f.XPM1aControl)
	f.PM1bControlPort = f.port("PM1b_CNT_BLK", u32(b, fadtPM1bCntBlk), f.XPM1bControl)
	f.PMTimerPort = f.port("PM_TMR_BLK", u32(b, fadtPMTmrBlk), f.XPMTimer)
	if f.PMTimerPort != 0 && f.PMTimerLength != 4 {
		f.warn("PM_TMR_LEN is %d, not 4", f.PMTimerLength)
	}
	return f, nil
}

func (f *FADT) warn(format string, args ...any) {
	f.Warnings = append(f.Warnings, fmt.Sprintf(format, args...))
}

// port chooses a fixed register's I/O port: the extended GAS x when it is
// in system I/O space with a non-zero address that fits in 16 bits, else the
// legacy 32-bit field (always system I/O) when it fits in 16 bits, else 0.
func (f *FADT) port(name string, legacy uint32, x GAS) uint16 {
	if x.Address != 0 {
		switch {
		case x.SpaceID != SpaceSystemIO:
			f.warn("X_%s %v is not in system I/O space; using %s %#x", name, x, name, legacy)
		case x.Address > 0xffff:
			f.warn("X_%s %v is not a 16-bit I/O port; using %s %#x", name, x, name, legacy)
		default:
			return uint16(x.Address)
		}
	}
	if legacy > 0xffff {
		f.warn("%s %#x is not a 16-bit I/O port; ignored", name, legacy)
		return 0
	}
	return uint16(legacy)
}
