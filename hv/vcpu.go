package hv

import (
	"tamavisor/hv/evtchn"
	"tamavisor/hv/sched"
	"tamavisor/vmx"
)

// VCPUState is where a vCPU is.
type VCPUState int

// vCPU states.
const (
	VCPURunnable VCPUState = iota
	VCPUBlocked            // HLT or SCHEDOP_block: waits for its timer or an event
	VCPUStopped            // its domain is dying
)

func (s VCPUState) String() string {
	return [...]string{"runnable", "blocked", "stopped"}[s]
}

// VCPU is a domain's virtual processor: its VMCS, the registers VM exits do
// not keep in it, its FPU area, and what the scheduler needs to know.
type VCPU struct {
	Dom   *Domain
	ID    uint32
	State VCPUState

	VMCS *vmx.VMCS
	Regs vmx.GuestRegs
	fpu  uint64 // the frame holding its FPU/SSE/AVX state
	VPID uint16

	// vmcs reads and writes its VMCS (the hardware one when it is current).
	vmcs VMCSAccess
	hv   *Hypervisor

	// Timer is the TSC deadline of its single-shot timer (0: none);
	// UpcallPending says the upcall vector waits to be injected.
	Timer         uint64
	UpcallPending bool

	msrs      SyscallMSRs
	msrsDirty bool
	dr        [8]uint64 // debug registers, emulated (MOV DR exits)
	tpr       uint64    // CR8, emulated (CR8 exits)
	entryCtls uint32    // VM-entry controls, for the IA-32e mode switch
	procCtls  uint32    // primary processor-based controls (interrupt window)
	yield     bool      // SCHEDOP_yield: end the slice
	polling   bool      // blocked in SCHEDOP_poll, for pollPorts
	// consoleWait: blocked until the console's queue takes consoleNeed
	// bytes of the console_io write it will make again (retryHypercall).
	consoleWait bool
	consoleNeed int
	// pollDeadline is the TSC deadline of that poll's timeout (0: none).
	pollDeadline uint64
	pollPorts    []evtchn.Port
	// pagingCache holds the guest's paging registers, once read, while a
	// hypercall is handled (inHypercall): a hypercall cannot change them,
	// and its arguments are translated several times.
	pagingCache              Paging
	pagingValid, inHypercall bool
	linear                   linearCache // translations, also per hypercall
	scratch                  [512]byte   // argIn's buffer, per hypercall
	scratchUsed              int
	sid                      sched.VCPUID
	call                     Hypercall // the hypercall being handled
}

// Guest state bits (SDM Vol. 3A 2.3, 2.5).
const (
	rflagsTF = 1 << 8
	rflagsRF = 1 << 16
	rflagsIF = 1 << 9
	cr0PE    = 1 << 0
	cr0NE    = 1 << 5
	cr4VMXE  = 1 << 13
	eferLME  = 1 << 8

	// csD is the D/B flag of CS's access rights: 32-bit code (SDM Vol.
	// 3C 25.4.1, Vol. 3A 3.4.5).
	csD = 1 << 14
	// pendingDbgBS is the single-step bit of the pending debug exceptions
	// (SDM Vol. 3C 25.4.2, Table 25-4); dr6BS is DR6's (Vol. 3B 17.2.3).
	pendingDbgBS = 1 << 14
	dr6BS        = 1 << 14
)

// advance moves the guest past the instruction that exited, and ends any
// blocking by STI or MOV SS, which covered only that instruction (SDM Vol.
// 3C 26.4.2 "Guest Non-Register State"). The exit path read RIP, the
// instruction length and the interruptibility state; the entry path writes
// back what changed.
//
// RIP wraps as the code's size says: 64-bit code does not, 32-bit code
// (CS.D) wraps at 4 GiB and 16-bit code at 64 KiB (SDM Vol. 3A 3.4.5). The
// instruction ends as a real one would: RF cleared, and with RFLAGS.TF a
// single-step trap due, which the BS bit of the pending debug exceptions
// delivers right after VM entry (SDM Vol. 3C "Virtualization Support for
// Debugging Facilities"; Xen's __update_guest_eip does the same with an
// injected #DB). The exit assembly answers CPUID and constant hypercalls
// itself only when none of this applies.
func (v *VCPU) advance() {
	r := &v.Regs
	r.RIP += r.InsnLen
	if !v.longMode() {
		if r.CSAccessRights&csD != 0 {
			r.RIP &= 0xffff_ffff
		} else {
			r.RIP &= 0xffff
		}
	}
	r.Dirty |= vmx.RIPDirty
	if block := uint64(vmx.BlockingBySTI | vmx.BlockingByMOVSS); r.Intr&block != 0 {
		r.Intr &^= block
		r.Dirty |= vmx.IntrDirty
	}
	if r.RFLAGS&(rflagsTF|rflagsRF) != 0 {
		v.stepFlags()
	}
}

// stepFlags clears RFLAGS.RF after an emulated instruction and, with
// RFLAGS.TF, makes the single-step trap pending, with DR6.BS set as the
// guest's #DB handler reads it (SDM Vol. 3B 17.2.3). Only the registers
// change here; the entry path writes them into the vCPU's VMCS, which an
// exit handler may not have current (a domain creation leaves the new
// domain's).
func (v *VCPU) stepFlags() {
	r := &v.Regs
	if r.RFLAGS&rflagsRF != 0 {
		r.RFLAGS &^= rflagsRF
		r.Dirty |= vmx.RFLAGSDirty
	}
	if r.RFLAGS&rflagsTF != 0 {
		r.PendingDbg = pendingDbgBS
		r.Dirty |= vmx.PendingDbgDirty
		v.dr[6] |= dr6BS
	}
}

// stepDue says whether a single-step trap is due at the next VM entry:
// nothing may be injected then, or the trap would be lost (a VM entry that
// injects an event leaves no pending debug exceptions: SDM Vol. 3C
// "Delivery of Pending Debug Exceptions after VM Entry").
func (v *VCPU) stepDue() bool { return v.Regs.Dirty&vmx.PendingDbgDirty != 0 }

// inject queues a hardware exception for the next VM entry (SDM Vol. 3C
// 27.6 "Event Injection"); RIP stays on the faulting instruction.
func (v *VCPU) inject(vector uint8) {
	errCode := vmx.ExceptionHasErrorCode(vector)
	v.vmcs.Write32(vmx.VMEntryIntrInfoField, vmx.MakeInterruptionInfo(vector, vmx.IntrTypeHardwareException, errCode))
	if errCode {
		v.vmcs.Write32(vmx.VMEntryExceptionErrorCode, 0)
	}
}

// paging returns the guest's paging state.
func (v *VCPU) paging() Paging {
	if v.pagingValid {
		return v.pagingCache
	}
	var p Paging
	p.CR0, p.CR3, p.CR4, p.EFER = v.vmcs.ReadPaging()
	if v.inHypercall {
		v.pagingCache, v.pagingValid = p, true
	}
	return p
}

// cpl is the guest's current privilege level: SS.DPL (SDM Vol. 3C 25.4.1).
func (v *VCPU) cpl() int {
	return int(v.Regs.SSAccessRights>>5) & 3
}

// interruptible says whether an external interrupt can be injected now:
// RFLAGS.IF set and no blocking by STI or MOV SS (SDM Vol. 3C 27.2.1.5).
func (v *VCPU) interruptible() bool {
	if v.Regs.Intr&uint64(vmx.BlockingBySTI|vmx.BlockingByMOVSS) != 0 {
		return false
	}
	return v.Regs.RFLAGS&rflagsIF != 0
}

// deliverUpcall injects the upcall vector if the guest can take it now, or
// asks for an interrupt-window exit when it can (SDM Vol. 3C 25.6.2).
func (v *VCPU) deliverUpcall() {
	vector := v.Dom.CallbackVector
	if !v.UpcallPending {
		return
	}
	if vector == 0 {
		// No callback registered: the wake-up itself (the vCPU is
		// runnable again) is all the guest gets.
		v.UpcallPending = false
		return
	}
	if v.interruptible() && !v.stepDue() {
		v.vmcs.Write32(vmx.VMEntryIntrInfoField, vmx.MakeInterruptionInfo(vector, vmx.IntrTypeExternal, false))
		v.UpcallPending = false
		if v.procCtls&vmx.ProcInterruptWindowExiting != 0 {
			v.setProcCtls(v.procCtls &^ vmx.ProcInterruptWindowExiting)
		}
		return
	}
	if v.procCtls&vmx.ProcInterruptWindowExiting == 0 {
		v.setProcCtls(v.procCtls | vmx.ProcInterruptWindowExiting)
	}
}

func (v *VCPU) setProcCtls(c uint32) {
	v.procCtls = c
	v.vmcs.Write32(vmx.CPUBasedVMExecControl, c)
}

// syncLongMode keeps IA32_EFER.LMA and the "IA-32e mode guest" entry
// control in step with the guest's CR0.PG and EFER.LME, as a CPU does when
// paging is turned on or off (SDM Vol. 3A 9.8.5; Vol. 3C 27.3.1.1 checks
// that the two agree).
func (v *VCPU) syncLongMode() {
	cr0 := v.vmcs.ReadNat(vmx.GuestCR0)
	efer := v.vmcs.Read64(vmx.GuestIA32EFER)
	long := cr0&cr0PG != 0 && efer&eferLME != 0
	if long {
		efer |= eferLMA
		v.entryCtls |= vmx.EntryIA32eModeGuest
	} else {
		efer &^= eferLMA
		v.entryCtls &^= vmx.EntryIA32eModeGuest
	}
	v.vmcs.Write64(vmx.GuestIA32EFER, efer)
	v.vmcs.Write32(vmx.VMEntryControls, v.entryCtls)
}
