package boot

import (
	"tamavisor/boot/acpi"
	"tamavisor/boot/bootinfo"
	"tamavisor/mem"
	"tamavisor/svm"
	"tamavisor/vmx"
)

// Machine is what the hypervisor learned about the machine at boot.
type Machine struct {
	Info    *bootinfo.Info
	Options Options
	CPU     CPUInfo
	// Features lists CPU features by their golang.org/x/sys/cpu names.
	Features []string

	ACPI *acpi.Tables // nil when the firmware has no (usable) ACPI tables
	MADT *acpi.MADT
	FADT *acpi.FADT
	// CPUs is the number of usable processors in the MADT (at least 1).
	CPUs int

	TSCHz     uint64
	TSCSource string

	// Phys accesses physical memory through the identity map.
	Phys *mem.Phys
	// Frames allocates the physical memory outside the hypervisor's region.
	Frames *mem.Allocator

	// VMXStatus and VMXMessage tell whether the firmware lets VMX be used;
	// VMX holds the capabilities when it can be.
	VMXStatus  vmx.Status
	VMXMessage string
	VMX        *vmx.Caps
	SVM        svm.Caps

	// Emulator is true when ACPI names QEMU's or Bochs's firmware.
	Emulator bool
	// Dump records what was read, for tamavisor.dump=boot.
	Dump *Dump
}
