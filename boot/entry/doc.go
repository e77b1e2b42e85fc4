// Package entry is the first code that runs in a tamavisor image, and in
// every Go domain: the 32-bit entry point shared by the PVH, Multiboot and
// Multiboot2 boot protocols (entry_amd64.s). It saves EAX/EBX, masks the
// 8259 PICs, programs COM1, checks the CPU, builds identity-mapped page tables
// in the image's BSS, enters 64-bit long mode, snapshots the boot information
// (which may lie where the Go heap will grow), checks that RAM reaches the top
// of the Go runtime's region, and jumps to the TamaGo runtime.
//
// The program that links it provides the Go runtime's region
// (runtime/goos.RamStart and RamSize, with the linkramstart build tag) and
// must be built with the linkcpuinit tag, which leaves TamaGo's own cpuinit
// out.
package entry
