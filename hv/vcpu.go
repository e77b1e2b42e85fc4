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
	pollPorts []evtchn.Port
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
	rflagsIF = 1 << 9
	cr0PE    = 1 << 0
	cr0NE    = 1 << 5
	cr4VMXE  = 1 << 13
	eferLME  = 1 << 8
)

// advance moves the guest past the instruction that exited, and ends any
// blocking by STI or MOV SS, which covered only that instruction (SDM Vol.
// 3C 26.4.2 "Guest Non-Register State"). The exit path read RIP, the
// instruction length and the interruptibility state; the entry path writes
// back what changed.
func (v *VCPU) advance() {
	r := &v.Regs
	r.RIP += r.InsnLen
	r.Dirty |= vmx.RIPDirty
	if block := uint64(vmx.BlockingBySTI | vmx.BlockingByMOVSS); r.Intr&block != 0 {
		r.Intr &^= block
		r.Dirty |= vmx.IntrDirty
	}
}

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
	return v.vmcs.ReadNat(vmx.GuestRFLAGS)&rflagsIF != 0
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
	if v.interruptible() {
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
