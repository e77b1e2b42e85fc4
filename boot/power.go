//go:build tamago

package boot

import (
	"errors"

	"tamavisor/boot/acpi"
	"tamavisor/x86"
)

// Emulator exit ports. They are written only when ACPI says the machine is
// an emulator (OEM ID "BOCHS ", used by QEMU's and Bochs's firmware), since
// on a real PC these ports may belong to some device.
const (
	// qemuDebugExit is QEMU's isa-debug-exit device as the test beds
	// configure it (-device isa-debug-exit,iobase=0xf4,iosize=4): writing
	// v makes QEMU exit with status (v<<1)|1.
	qemuDebugExit = 0xf4
	// bochsShutdown is Bochs's shutdown port: the string "Shutdown"
	// written to it ends the simulation (Bochs iodev/unmapped.cc).
	bochsShutdown = 0x8900
)

// Emulator is set by the platform code once ACPI has been read.
var Emulator bool

// acpiPowerOff, when set, enters the ACPI S5 sleep state (soft off).
var acpiPowerOff func() error

// SetACPIPowerOff installs the ACPI S5 sequence found in the firmware's
// tables.
func SetACPIPowerOff(f func() error) { acpiPowerOff = f }

// PowerOff ends the machine with a status. It prints the final status line
// that tests read, flushes the console, and then tries, in order: the
// emulators' exit ports (only on an emulator), ACPI S5, and finally halts
// the CPU with interrupts off. It never returns.
func PowerOff(status int) {
	Console.Drain()
	print("hv: power-off status=", status, "\n")
	consoleFlush()
	if Emulator {
		x86.Out32(qemuDebugExit, uint32(status))
		for _, c := range []byte("Shutdown") {
			x86.Out8(bochsShutdown, c)
		}
	}
	if acpiPowerOff != nil {
		if err := acpiPowerOff(); err != nil {
			print("hv: ACPI power-off failed: ", err.Error(), "\n")
		}
	}
	print("hv: halted\n")
	consoleFlush()
	x86.Halt()
}

// Halt stops the hypervisor after a fatal condition with a message that the
// console has already shown. On an emulator it ends the run (status 2) so
// that tests finish; on a real machine it halts, leaving the message on the
// console for the user to read.
func Halt() {
	if Emulator {
		PowerOff(2)
	}
	Console.Drain()
	print("hv: halted\n")
	consoleFlush()
	x86.Halt()
}

// acpiS5 enters the soft-off state: SLP_TYP and SLP_EN written to the PM1
// control registers (ACPI 6.5 §4.8.3.2.1, §7.4.2.6), after switching the
// machine to ACPI mode through SMI_CMD if SCI_EN is clear (§4.8.2.1.1).
func acpiS5(f *acpi.FADT, slpTypA, slpTypB uint8) error {
	if f.PM1aControlPort == 0 {
		return errors.New("the FADT has no PM1a control register")
	}
	if x86.In16(f.PM1aControlPort)&acpi.PM1SCIEn == 0 && f.SMICommand != 0 && f.ACPIEnable != 0 {
		x86.Out8(uint16(f.SMICommand), f.ACPIEnable)
		for i := 0; i < 10_000_000 && x86.In16(f.PM1aControlPort)&acpi.PM1SCIEn == 0; i++ {
		}
	}
	x86.Out16(f.PM1aControlPort, uint16(slpTypA)<<acpi.PM1SlpTypShift|acpi.PM1SlpEn)
	if f.PM1bControlPort != 0 {
		x86.Out16(f.PM1bControlPort, uint16(slpTypB)<<acpi.PM1SlpTypShift|acpi.PM1SlpEn)
	}
	for i := 0; i < 10_000_000; i++ {
		x86.Pause()
	}
	return errors.New("the machine is still running after the S5 request")
}
