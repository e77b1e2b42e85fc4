//go:build tamago

package main

// peek reads 8 bytes at a physical address (the domain identity-maps its
// first 4 GiB, so the address is also virtual).
func peek(addr uint64) uint64

// poke writes 8 bytes at a physical address.
func poke(addr, val uint64)

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

// sgdt and lgdt read and load the GDT register.
func sgdt() (base uint64, limit uint16)
func lgdt(base uint64, limit uint16)

// userCall makes hypercall nr(arg) from CPL 3 and returns its RAX; the GDT,
// IA32_STAR/LSTAR/EFER.SCE and the user bit on userStub's page must be set
// up first (enterUserMode).
func userCall(nr, arg uint64) int64

// userStub and userReturn are userCall's halves at CPL 3 and back at CPL 0;
// never called from Go.
func userStub()
func userReturn()

// userStubAddr and userReturnAddr return their addresses.
func userStubAddr() uint64
func userReturnAddr() uint64

// userFlags holds RFLAGS across userCall.
var userFlags uint64

// regsRound fills the general-purpose and YMM registers with a pattern,
// makes a hypercall if call says so (1: one the hypervisor's Go side
// answers, 2: one the exit assembly answers), spins with interrupts off
// while the hypervisor preempts it, and reports which registers changed
// (bit n: GPR n, bit 16+n: YMMn); see hostile_amd64.s.
func regsRound(pattern, spins uint64, call uint8) (bad uint64)
