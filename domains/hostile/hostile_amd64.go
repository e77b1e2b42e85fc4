//go:build tamago

package main

// peek reads 8 bytes at a physical address (the domain identity-maps its
// first 4 GiB, so the address is also virtual).
func peek(addr uint64) uint64

// vmxon executes VMXON with a null operand; inside a domain it must raise
// #UD.
func vmxon()

// vmcall makes hypercall nr with VMCALL directly, not through the hypercall
// page (which has entries for numbers below 128 only).
func vmcall(nr uint64) int64

// stepCPUID executes CPUID with RFLAGS.TF set: the hypervisor emulates
// CPUID and must leave the single-step trap due right after it, at
// stepCPUIDEndAddr().
func stepCPUID()

// stepCPUIDEndAddr returns the address right after stepCPUID's CPUID.
func stepCPUIDEndAddr() uint64
