// Package acpi owns the hypervisor's reading of the firmware's ACPI tables at
// boot: finding the Root System Description Pointer (in the legacy BIOS areas
// or from a copy handed over by the boot loader), walking the XSDT or RSDT,
// verifying every table's checksum and length, and decoding the few things
// the hypervisor needs from them:
//
//   - the processors, from the MADT (CPU count, APIC IDs, I/O APICs);
//   - the ACPI PM timer port, from the FADT (to calibrate the TSC);
//   - the PM1 control ports and the reset register, from the FADT, and the
//     \_S5 sleep type, from the DSDT's AML (to power off and reset);
//   - the OEM ID (to recognise the emulators: QEMU and Bochs both say
//     "BOCHS ").
//
// The firmware's data is untrusted. Nothing in this package panics on any
// input, every loop is bounded by a length that was checked against the data
// actually read, and every error names the table, its address or the offset
// inside it, and what is wrong, for example
//
//	acpi: MADT at 0x7fe1234: entry 5 at offset 0x5c has length 0
//
// Physical memory is read through an io.ReaderAt whose offsets are physical
// addresses: on hardware it is backed by the identity map, in tests by byte
// slices. The package is plain Go (no unsafe, no privileged instructions); it
// does not interpret AML beyond the well-known scan for the \_S5_ package.
//
// References are to the ACPI Specification, version 6.5 (August 2022).
package acpi
