package vmx

// The VMX instructions (vmx_amd64.s). They execute only in VMX operation at
// CPL 0; the functions return the instruction's outcome (see Outcome).

func vmxon(pa uint64) Outcome
func vmxoff() Outcome
func vmclear(pa uint64) Outcome
func vmptrld(pa uint64) Outcome
func vmread(field uint32) (val uint64, st Outcome)
func vmwrite(field uint32, val uint64) Outcome
func invept(typ uint64, eptp uint64) Outcome
func invvpid(typ uint64, vpid uint64, addr uint64) Outcome

// vmrun enters the current VMCS's guest; see vmx_amd64.s.
func vmrun(regs *GuestRegs, launched bool) Outcome

// vmexit is HOST_RIP; it is never called from Go.
func vmexit()

// vmexitAddr returns the address of vmexit, for HOST_RIP.
func vmexitAddr() uintptr

// readGuestPaging reads the guest's CR0, CR3, CR4 and IA32_EFER from the
// current VMCS in one call (four VMREADs, which cannot fail with a current
// VMCS: the fields exist on every VMX processor, SDM Vol. 3C 25.4.1).
func readGuestPaging() (cr0, cr3, cr4, efer uint64)

func xsave(area uintptr, mask uint64)
func fxsave(area uintptr)
func fpuInit()

// Outcome is how a VMX instruction ended (SDM Vol. 3C 32.2 "Conventions").
type Outcome uint8

// VMX instruction outcomes.
const (
	VMsucceed     Outcome = 0
	VMfailInvalid Outcome = 1 // CF=1: no current VMCS
	VMfailValid   Outcome = 2 // ZF=1: the error number is in VM_INSTRUCTION_ERROR
)

func (o Outcome) String() string {
	switch o {
	case VMsucceed:
		return "VMsucceed"
	case VMfailInvalid:
		return "VMfailInvalid"
	case VMfailValid:
		return "VMfailValid"
	}
	return "VM outcome ?"
}

// GuestRegs holds the guest state that a VM exit does not save in the VMCS:
// the general-purpose registers but RSP, CR2 and the FPU/SSE/AVX state. The
// assembly uses its field offsets (go_asm.h), so reorder with care.
type GuestRegs struct {
	// GPR holds the registers in the SDM's numbering (SDM Vol. 3C Table
	// 28-3, as exit qualifications name them): RAX, RCX, RDX, RBX, RSP
	// (unused: GUEST_RSP is in the VMCS), RBP, RSI, RDI, R8-R15.
	GPR [16]uint64
	CR2 uint64
	// GuestXSave is the guest's XSAVE (or FXSAVE) area, HostXSave the
	// host's clean one: 64-byte aligned, identity-mapped addresses.
	GuestXSave uintptr
	HostXSave  uintptr
	// XSaveMask is the XCR0 components XSAVE saves; 0 selects
	// FXSAVE/FXRSTOR (a CPU without XSAVE).
	XSaveMask uint64

	// What every exit handler needs, read by the exit path in assembly
	// (a VMREAD there costs a few instructions, through Go dozens):
	ExitReason uint64 // VM_EXIT_REASON
	ExitQual   uint64 // EXIT_QUALIFICATION
	RIP        uint64 // GUEST_RIP (written back at entry when RIPDirty)
	InsnLen    uint64 // VM_EXIT_INSTRUCTION_LEN
	Intr       uint64 // GUEST_INTERRUPTIBILITY_INFO (written back when IntrDirty)
	EntryTSC   uint64 // the TSC just before VM entry
	ExitTSC    uint64 // the TSC just after VM exit

	// The guest's CS and SS access rights (GUEST_CS_ACCESS_RIGHTS,
	// GUEST_SS_ACCESS_RIGHTS): its mode (CS.L) and CPL (SS.DPL, SDM Vol.
	// 3C 28.3.1.5), which every hypercall checks.
	CSAccessRights uint64
	SSAccessRights uint64
	// The guest's RFLAGS at the exit (GUEST_RFLAGS), for the trap and
	// resume flags of an emulated instruction (written back when
	// RFLAGSDirty), and the pending debug exceptions the entry path writes
	// when PendingDbgDirty (GUEST_PENDING_DBG_EXCEPTIONS).
	RFLAGS     uint64
	PendingDbg uint64

	// Written by the entry path: the VMX-preemption timer value (always)
	// and, per Dirty, RIP and the interruptibility state.
	Timer uint64
	Dirty uint64

	// The fast paths: vmexit answers a CPUID exit whose leaf is in
	// CPUIDCache, and a VMCALL whose number and first argument are in
	// HypercallCache, and resumes the guest at once, without Go, as long
	// as the TSC is before Deadline (0: never), re-arming the preemption
	// timer with (Deadline-TSC)>>TimerShift. It counts those exits in
	// FastCPUID and FastVMCALL and their guest time in FastGuestTicks,
	// which the Go side takes and zeroes.
	CPUIDCache     CPUIDCache
	HypercallCache HypercallCache
	Deadline       uint64
	TimerShift     uint64
	FastCPUID      uint64
	FastVMCALL     uint64
	FastGuestTicks uint64
}

// Fast is the number of exits the fast paths answered since the Go side
// last took them.
func (r *GuestRegs) Fast() uint64 { return r.FastCPUID + r.FastVMCALL }

// GuestRegs.Dirty bits: fields the entry path writes back to the VMCS.
const (
	RIPDirty        = 1 << 0
	IntrDirty       = 1 << 1
	RFLAGSDirty     = 1 << 2
	PendingDbgDirty = 1 << 3
)

// The GPR indexes (SDM Vol. 3C Table 28-3).
const (
	RAX = iota
	RCX
	RDX
	RBX
	RSP
	RBP
	RSI
	RDI
	R8
	R9
	R10
	R11
	R12
	R13
	R14
	R15
)

// GPRNames are the registers' names in GPR order.
var GPRNames = [16]string{"rax", "rcx", "rdx", "rbx", "rsp", "rbp", "rsi", "rdi", "r8", "r9", "r10", "r11", "r12", "r13", "r14", "r15"}
