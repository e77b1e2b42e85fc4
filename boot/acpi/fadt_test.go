package acpi

import (
	"errors"
	"strings"
	"testing"
)

func TestParseFADTRevision1(t *testing.T) {
	// QEMU's PIIX4 FADT is revision 1, 116 bytes: it ends before
	// RESET_REG, so RESET_REG_SUP must be ignored.
	b := fadtTable(1, FADTv1Length, func(b []byte) {
		qemuFADT(0x7fe0040)(b)
		put32(b, fadtFlags, FADTTmrValExt|FADTResetRegSup)
		put16(b, fadtIAPCBootArch, 0xffff) // reserved in ACPI 1.0
	})
	f, err := ParseFADT(b)
	if err != nil {
		t.Fatal(err)
	}
	if f.Revision != 1 || f.Length != 116 || f.OEMID != OEMIDBochs {
		t.Errorf("header %+v", f)
	}
	if f.DSDT != 0x7fe0040 {
		t.Errorf("DSDT %#x", f.DSDT)
	}
	if f.PM1aControlPort != 0x604 || f.PM1bControlPort != 0 || f.PM1ControlLength != 2 || f.PM1aEventPort != 0x600 {
		t.Errorf("PM1 %#x %#x len %d evt %#x", f.PM1aControlPort, f.PM1bControlPort, f.PM1ControlLength, f.PM1aEventPort)
	}
	if f.PMTimerPort != 0x608 || f.PMTimerLength != 4 || !f.PMTimer32Bit {
		t.Errorf("PM timer %#x len %d 32-bit %v", f.PMTimerPort, f.PMTimerLength, f.PMTimer32Bit)
	}
	if f.SCIInterrupt != 9 || f.SMICommand != 0xb2 || f.ACPIEnable != 0xf1 || f.ACPIDisable != 0xf0 {
		t.Errorf("SCI %d SMI_CMD %#x enable %#x disable %#x", f.SCIInterrupt, f.SMICommand, f.ACPIEnable, f.ACPIDisable)
	}
	if f.ResetSupported || f.ResetRegister != (GAS{}) {
		t.Errorf("reset %v %v", f.ResetSupported, f.ResetRegister)
	}
	if f.IAPCBootArch != 0 || f.MinorVersion != 0 || f.XPMTimer != (GAS{}) || f.HypervisorVendor != 0 {
		t.Errorf("ACPI 2.0+ fields set in a revision 1 FADT: %+v", f)
	}
	if len(f.Warnings) != 0 {
		t.Errorf("warnings %q", f.Warnings)
	}

	// A 24-bit timer.
	f, err = ParseFADT(fadtTable(1, FADTv1Length, func(b []byte) {
		qemuFADT(0x7fe0040)(b)
		put32(b, fadtFlags, 0)
	}))
	if err != nil || f.PMTimer32Bit {
		t.Errorf("24-bit timer: %+v, %v", f, err)
	}
}

func TestParseFADTRevision6(t *testing.T) {
	b := fadtTable(6, 276, func(b []byte) {
		qemuFADT(0x7fe0040)(b)
		put32(b, fadtFlags, FADTResetRegSup)
		put16(b, fadtIAPCBootArch, BootArch8042|BootArchLegacyDevices)
		putGAS(b, fadtResetReg, GAS{SpaceID: SpaceSystemIO, BitWidth: 8, Address: 0xcf9})
		b[fadtResetValue] = 0x06
		b[fadtMinorVersion] = 5
		put64(b, fadtXDSDT, 0x1_0000_0040)
		putGAS(b, fadtXPM1aCntBlk, GAS{SpaceID: SpaceSystemIO, BitWidth: 16, Address: 0xb004})
		putGAS(b, fadtXPM1bCntBlk, GAS{SpaceID: SpaceSystemIO, BitWidth: 16, Address: 0xb104})
		putGAS(b, fadtXPMTmrBlk, GAS{SpaceID: SpaceSystemIO, BitWidth: 32, Address: 0xb008})
		put64(b, fadtHypervisorVID, 0x4d45_4d55_5145) // "QEMUEM"
	})
	f, err := ParseFADT(b)
	if err != nil {
		t.Fatal(err)
	}
	if f.Revision != 6 || f.MinorVersion != 5 || f.Length != 276 {
		t.Errorf("header %+v", f)
	}
	if f.DSDT != 0x1_0000_0040 {
		t.Errorf("DSDT %#x, want X_DSDT", f.DSDT)
	}
	if f.PM1aControlPort != 0xb004 || f.PM1bControlPort != 0xb104 || f.PMTimerPort != 0xb008 || f.PMTimer32Bit {
		t.Errorf("ports %#x %#x %#x, want the X_ ones", f.PM1aControlPort, f.PM1bControlPort, f.PMTimerPort)
	}
	if !f.ResetSupported || f.ResetRegister.String() != "io:0xcf9/8" || f.ResetValue != 6 {
		t.Errorf("reset %v %v %#x", f.ResetSupported, f.ResetRegister, f.ResetValue)
	}
	if f.IAPCBootArch != BootArch8042|BootArchLegacyDevices || f.HypervisorVendor != 0x4d454d555145 {
		t.Errorf("boot arch %#x vendor %#x", f.IAPCBootArch, f.HypervisorVendor)
	}
	// X_DSDT and DSDT differ.
	if len(f.Warnings) != 1 || !strings.Contains(f.Warnings[0], "X_DSDT 0x100000040 and DSDT 0x7fe0040 differ") {
		t.Errorf("warnings %q", f.Warnings)
	}
}

func TestParseFADTExtendedFallback(t *testing.T) {
	// Revision 3 (244 bytes): X_PM1a_CNT_BLK in memory space and
	// X_PM_TMR_BLK beyond 16 bits fall back to the legacy ports; a zero
	// X_PM1b_CNT_BLK and X_DSDT are ignored silently.
	b := fadtTable(3, 244, func(b []byte) {
		qemuFADT(0x7fe0040)(b)
		putGAS(b, fadtXPM1aCntBlk, GAS{SpaceID: SpaceSystemMemory, BitWidth: 16, Address: 0xfed80004})
		putGAS(b, fadtXPMTmrBlk, GAS{SpaceID: SpaceSystemIO, BitWidth: 32, Address: 0x10008})
	})
	f, err := ParseFADT(b)
	if err != nil {
		t.Fatal(err)
	}
	if f.DSDT != 0x7fe0040 || f.PM1aControlPort != 0x604 || f.PMTimerPort != 0x608 || f.PM1bControlPort != 0 {
		t.Errorf("DSDT %#x ports %#x %#x %#x", f.DSDT, f.PM1aControlPort, f.PMTimerPort, f.PM1bControlPort)
	}
	if f.XPM1aControl.Address != 0xfed80004 || f.HypervisorVendor != 0 {
		t.Errorf("raw X_PM1a %v vendor %#x", f.XPM1aControl, f.HypervisorVendor)
	}
	if len(f.Warnings) != 2 ||
		!strings.Contains(f.Warnings[0], "X_PM1a_CNT_BLK mem:0xfed80004/16 is not in system I/O space; using PM1a_CNT_BLK 0x604") ||
		!strings.Contains(f.Warnings[1], "X_PM_TMR_BLK io:0x10008/32 is not a 16-bit I/O port") {
		t.Errorf("warnings %q", f.Warnings)
	}
}

func TestParseFADTOddLengths(t *testing.T) {
	// 129 bytes: RESET_REG and RESET_VALUE but no X_ fields.
	f, err := ParseFADT(fadtTable(2, 129, func(b []byte) {
		qemuFADT(0x7fe0040)(b)
		put32(b, fadtFlags, FADTResetRegSup)
		putGAS(b, fadtResetReg, GAS{SpaceID: SpaceSystemIO, BitWidth: 8, Address: 0xcf9})
		b[fadtResetValue] = 0x0e
		put64(b, fadtXDSDT, 0xdead) // past the end: must not be read
	}))
	if err != nil {
		t.Fatal(err)
	}
	if !f.ResetSupported || f.ResetValue != 0x0e || f.DSDT != 0x7fe0040 {
		t.Errorf("%+v", f)
	}

	// 128 bytes: RESET_VALUE missing, so no reset register.
	f, err = ParseFADT(fadtTable(2, 128, func(b []byte) {
		put32(b, fadtFlags, FADTResetRegSup)
	}))
	if err != nil || f.ResetSupported {
		t.Errorf("128 bytes: %+v, %v", f, err)
	}

	// A legacy port beyond 16 bits and a bad PM_TMR_LEN.
	f, err = ParseFADT(fadtTable(1, FADTv1Length, func(b []byte) {
		qemuFADT(0x7fe0040)(b)
		put32(b, fadtPM1aCntBlk, 0x12345)
		b[fadtPMTmrLen] = 3
	}))
	if err != nil {
		t.Fatal(err)
	}
	if f.PM1aControlPort != 0 || len(f.Warnings) != 2 ||
		!strings.Contains(f.Warnings[0], "PM1a_CNT_BLK 0x12345 is not a 16-bit I/O port; ignored") ||
		!strings.Contains(f.Warnings[1], "PM_TMR_LEN is 3, not 4") {
		t.Errorf("port %#x warnings %q", f.PM1aControlPort, f.Warnings)
	}
}

func TestParseFADTErrors(t *testing.T) {
	bad := fadtTable(1, FADTv1Length, nil)
	bad[100]++
	tests := []struct {
		name     string
		b        []byte
		want     string
		sentinel error
	}{
		{"short", sdt(SigFADT, 1, "BOCHS", make([]byte, 79)), "acpi: FADT: length 0x73 is less than the minimum 0x74", ErrTruncated},
		{"checksum", bad, "acpi: FADT: checksum", ErrChecksum},
		{"signature", testMADT, `acpi: FADT: signature is "APIC", not "FACP"`, nil},
		{"cut copy", fadtTable(1, FADTv1Length, nil)[:100], "acpi: FADT: length 0x74 is past the end of the 0x64 bytes given", ErrTruncated},
	}
	for _, tt := range tests {
		_, err := ParseFADT(tt.b)
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: error %v, want %q", tt.name, err, tt.want)
		}
		if tt.sentinel != nil && !errors.Is(err, tt.sentinel) {
			t.Errorf("%s: error %v is not %v", tt.name, err, tt.sentinel)
		}
	}
}

func TestGASString(t *testing.T) {
	for g, want := range map[GAS]string{
		{SpaceID: SpaceSystemIO, BitWidth: 8, Address: 0xcf9}:        "io:0xcf9/8",
		{SpaceID: SpaceSystemMemory, BitWidth: 32, Address: 0xfed0}:  "mem:0xfed0/32",
		{SpaceID: SpacePCIConfig, BitWidth: 8, Address: 0x1f_0000ac}: "pci:0x1f0000ac/8",
		{SpaceID: 0x7f, Address: 1}:                                  "space127:0x1/0",
	} {
		if got := g.String(); got != want {
			t.Errorf("%+v.String() = %q, want %q", g, got, want)
		}
	}
}
