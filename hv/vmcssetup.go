package hv

import (
	"fmt"

	"tamavisor/hv/loader"
	"tamavisor/vmx"
)

// newVCPU creates a domain's vCPU and fills its VMCS: controls, host state,
// and the guest's entry state.
func (h *Hypervisor) newVCPU(d *Domain, st loader.CPUState) error {
	v := &VCPU{Dom: d, hv: h, vmcs: hardwareVMCS{}, sid: schedID(d, 0)}
	d.VCPU = v
	var err error
	if v.fpu, err = h.CPU.NewFPUArea(); err != nil {
		return fmt.Errorf("no frame for the FPU state: %w", err)
	}
	v.Regs = h.CPU.Regs(v.fpu)
	h.fillHypercallCache(v)
	if v.VMCS, err = h.CPU.NewVMCS(); err != nil {
		return err
	}
	if err := v.VMCS.Load(); err != nil {
		return err
	}
	h.current = v
	ctl := h.CPU.Controls
	if ctl.Proc2&vmx.Proc2EnableVPID != 0 {
		v.VPID = h.nextVPID
		h.nextVPID++
		if h.nextVPID == 0 { // VPID 0 is the host's (SDM Vol. 3C 29.1)
			h.nextVPID = 1
		}
	}
	v.entryCtls = ctl.Entry
	v.procCtls = ctl.Proc
	// The debug registers' power-up values (SDM Vol. 3B 17.2.3, 17.2.4).
	v.dr[6], v.dr[7] = 0xffff_0ff0, 0x400
	if st.EFER&eferLMA != 0 {
		v.entryCtls |= vmx.EntryIA32eModeGuest
	}
	for i, r := range st.GPR {
		if i != vmx.RSP {
			v.Regs.GPR[i] = r
		}
	}
	// What the exit path reads at every exit, as it stands before the
	// first: the handlers and the upcall step use these copies.
	v.Regs.RFLAGS = st.RFLAGS
	v.Regs.CSAccessRights, v.Regs.SSAccessRights = uint64(st.CS.Access), uint64(st.SS.Access)

	w := &vmx.Writer{}
	h.CPU.WriteHostState(w)
	writeControls(w, v, ctl, d.EPT.Pointer(false))
	writeGuestState(w, st, h.CPU.Caps)
	if d.Spec.Broken == "rflags" {
		// Test hook: RFLAGS bit 1 is reserved and must be 1 (SDM Vol. 3C
		// 27.3.1.4 "Checks on Guest RIP, RFLAGS, and SSP"), so VM entry
		// must fail with exit reason 33, invalid guest state.
		w.WNat(vmx.GuestRFLAGS, 0)
	}
	if w.Err != nil {
		return w.Err
	}
	return nil
}

// writeControls writes the execution, exit and entry controls (SDM Vol. 3C
// 25.6-25.8).
func writeControls(w *vmx.Writer, v *VCPU, ctl vmx.ControlSet, eptp uint64) {
	w.W32(vmx.PinBasedVMExecControl, ctl.Pin)
	w.W32(vmx.CPUBasedVMExecControl, v.procCtls)
	w.W32(vmx.SecondaryVMExecControl, ctl.Proc2)
	w.W32(vmx.VMExitControls, ctl.Exit)
	w.W32(vmx.VMEntryControls, v.entryCtls)
	w.W32(vmx.ExceptionBitmap, 0) // the guest handles its own exceptions
	w.W32(vmx.PageFaultErrorCodeMask, 0)
	w.W32(vmx.PageFaultErrorCodeMatch, 0)
	w.W32(vmx.CR3TargetCount, 0)
	w.W32(vmx.VMExitMSRStoreCount, 0)
	w.W32(vmx.VMExitMSRLoadCount, 0)
	w.W32(vmx.VMEntryMSRLoadCount, 0)
	w.W32(vmx.VMEntryIntrInfoField, 0)
	w.W64(vmx.EPTPointer, eptp)
	w.W64(vmx.VMCSLinkPointer, ^uint64(0)) // no shadow VMCS (SDM Vol. 3C 27.3.1.5)
	if ctl.Proc2&vmx.Proc2EnableVPID != 0 {
		w.W16(vmx.VirtualProcessorID, v.VPID)
	}
	// CR0.NE and CR0.PG, CR4.VMXE belong to the hypervisor: the guest sees
	// its own values through the read shadows, and writing them exits.
	w.WNat(vmx.CR0GuestHostMask, cr0NE|cr0PG)
	w.WNat(vmx.CR4GuestHostMask, cr4VMXE)
}

// writeGuestState writes the guest-state area from the image's entry state
// (SDM Vol. 3C 25.4), applying the CR0/CR4 fixed bits that VMX operation
// imposes (PE and PG excepted under unrestricted guest).
func writeGuestState(w *vmx.Writer, st loader.CPUState, caps *vmx.Caps) {
	cr0 := st.CR0 | caps.CR0.Fixed0&^(cr0PE|cr0PG)
	cr4 := st.CR4 | caps.CR4.Fixed0
	w.WNat(vmx.GuestCR0, cr0)
	w.WNat(vmx.CR0ReadShadow, st.CR0)
	w.WNat(vmx.GuestCR3, st.CR3)
	w.WNat(vmx.GuestCR4, cr4)
	w.WNat(vmx.CR4ReadShadow, st.CR4)
	w.WNat(vmx.GuestDR7, 0x400) // its reset value (SDM Vol. 3B 18.2.4)
	w.WNat(vmx.GuestRSP, st.GPR[vmx.RSP])
	w.WNat(vmx.GuestRIP, st.RIP)
	w.WNat(vmx.GuestRFLAGS, st.RFLAGS)
	w.W64(vmx.GuestIA32EFER, st.EFER)
	w.W64(vmx.GuestIA32PAT, 0x0007_0406_0007_0406) // the power-up PAT (SDM Vol. 3A 12.12.4)
	w.W64(vmx.GuestIA32DebugCtl, 0)

	seg := func(sel vmx.Field16, base vmx.FieldNat, limit, ar vmx.Field32, s loader.SegmentRegister) {
		w.W16(sel, s.Selector)
		w.WNat(base, s.Base)
		w.W32(limit, s.Limit)
		w.W32(ar, s.Access)
	}
	seg(vmx.GuestCSSelector, vmx.GuestCSBase, vmx.GuestCSLimit, vmx.GuestCSAccessRights, st.CS)
	seg(vmx.GuestDSSelector, vmx.GuestDSBase, vmx.GuestDSLimit, vmx.GuestDSAccessRights, st.DS)
	seg(vmx.GuestESSelector, vmx.GuestESBase, vmx.GuestESLimit, vmx.GuestESAccessRights, st.ES)
	seg(vmx.GuestFSSelector, vmx.GuestFSBase, vmx.GuestFSLimit, vmx.GuestFSAccessRights, st.FS)
	seg(vmx.GuestGSSelector, vmx.GuestGSBase, vmx.GuestGSLimit, vmx.GuestGSAccessRights, st.GS)
	seg(vmx.GuestSSSelector, vmx.GuestSSBase, vmx.GuestSSLimit, vmx.GuestSSAccessRights, st.SS)
	seg(vmx.GuestTRSelector, vmx.GuestTRBase, vmx.GuestTRLimit, vmx.GuestTRAccessRights, st.TR)
	seg(vmx.GuestLDTRSelector, vmx.GuestLDTRBase, vmx.GuestLDTRLimit, vmx.GuestLDTRAccessRights, st.LDTR)
	w.WNat(vmx.GuestGDTRBase, st.GDTR.Base)
	w.W32(vmx.GuestGDTRLimit, st.GDTR.Limit)
	w.WNat(vmx.GuestIDTRBase, st.IDTR.Base)
	w.W32(vmx.GuestIDTRLimit, st.IDTR.Limit)

	w.W32(vmx.GuestSysenterCS, 0)
	w.WNat(vmx.GuestSysenterESP, 0)
	w.WNat(vmx.GuestSysenterEIP, 0)
	w.W32(vmx.GuestActivityState, 0)
	w.W32(vmx.GuestInterruptibilityInfo, 0)
	w.WNat(vmx.GuestPendingDbgExceptions, 0)
}
