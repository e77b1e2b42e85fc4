// Package boot owns the machine from the first instruction to the point where
// the hypervisor's Go code runs: the 32-bit entry point shared by the PVH,
// Multiboot and Multiboot2 boot protocols, the early page tables, the snapshot
// of the boot loader's information, the COM1 console, the TSC calibration and
// power-off. It also decides the memory layout (see layout.go).
//
// Only the files with the tamago build tag execute privileged instructions;
// the layout and the snapshot format are plain Go.
package boot
