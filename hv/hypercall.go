package hv

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"

	"tamavisor/console"
	"tamavisor/hv/evtchn"
	"tamavisor/mem"
	"tamavisor/vmx"
	"tamavisor/x86"
	"tamavisor/xen"
)

func rdtsc() uint64 { return x86.RDTSC() }

// Hypercall is one call in Xen's x86-64 convention: RAX = number, RDI, RSI,
// RDX, R10, R8 = arguments (public/xen.h).
type Hypercall struct {
	Nr   uint64
	Args [5]uint64
}

// hypercallArgs reads a hypercall from the guest's registers into c: Xen's
// x86-64 convention (RDI, RSI, RDX, R10, R8) for a guest in 64-bit mode, its
// x86-32 convention (EBX, ECX, EDX, ESI, EDI, 32-bit values) otherwise
// (public/xen.h). It fills c in place: the exit path is short enough that
// copying a Hypercall around shows in the round trip.
func hypercallArgs(c *Hypercall, r *vmx.GuestRegs, long bool) {
	// One field at a time: an array literal goes through a zeroed
	// temporary.
	g, a := &r.GPR, &c.Args
	if long {
		c.Nr = g[vmx.RAX]
		a[0], a[1], a[2], a[3], a[4] = g[vmx.RDI], g[vmx.RSI], g[vmx.RDX], g[vmx.R10], g[vmx.R8]
		return
	}
	const w = 0xffff_ffff
	c.Nr = g[vmx.RAX] & w
	a[0], a[1], a[2], a[3], a[4] = g[vmx.RBX]&w, g[vmx.RCX]&w, g[vmx.RDX]&w, g[vmx.RSI]&w, g[vmx.RDI]&w
}

// longMode says whether the guest executes 64-bit code: CS.L (bit 13 of
// the access rights, SDM Vol. 3C 25.4.1) in IA-32e mode.
func (v *VCPU) longMode() bool {
	return v.entryCtls&vmx.EntryIA32eModeGuest != 0 && v.Regs.CSAccessRights&(1<<13) != 0
}

// errno turns a Xen errno into the value RAX returns.
func errno(e int) int64 { return -int64(e) }

// handleVMCALL runs a hypercall and returns its result in RAX. Hypercalls
// from guest user mode get -EPERM, as on Xen for HVM guests.
func handleVMCALL(h *Hypervisor, v *VCPU, r vmx.ExitReason) {
	v.Dom.Stats.Hypercalls++
	long := v.longMode()
	var ret int64
	if v.cpl() != 0 {
		ret = errno(xen.EPERM)
	} else {
		v.inHypercall = true
		hypercallArgs(&v.call, &v.Regs, long)
		ret = h.hypercall(v, &v.call)
		v.inHypercall, v.pagingValid = false, false
		v.dropLinear()
		v.scratchUsed = 0
	}
	if v.Dom.State >= DomainDying {
		return
	}
	if ret == retryHypercall {
		// Not done yet: RIP stays on the VMCALL, RAX on the hypercall
		// number, and the vCPU waits for what the handler named; woken,
		// it makes the call again (as Xen's hypercall continuations do).
		v.Dom.Stats.Hypercalls--
		h.block(v)
		return
	}
	if long {
		v.Regs.GPR[vmx.RAX] = uint64(ret)
	} else {
		v.Regs.GPR[vmx.RAX] = uint64(uint32(ret)) // EAX; a 32-bit write clears the upper half
	}
	v.advance()
}

// hypercall dispatches one hypercall. Every pointer argument is a guest
// linear address, translated through the guest's page tables and its EPT;
// every length is bounded; a bad one is -EFAULT or -EINVAL for the caller,
// never a fault of the hypervisor.
func (h *Hypervisor) hypercall(v *VCPU, c *Hypercall) int64 {
	switch c.Nr {
	case xen.HypercallConsoleIO:
		return h.consoleIO(v, c.Args[0], c.Args[1], c.Args[2])
	case xen.HypercallSchedOp:
		return h.schedOp(v, c.Args[0], c.Args[1])
	case xen.HypercallVCPUOp:
		return h.vcpuOp(v, c.Args[0], c.Args[1], c.Args[2])
	case xen.HypercallHVMOp:
		return h.hvmOp(v, c.Args[0], c.Args[1])
	case xen.HypercallXenVersion:
		return h.xenVersion(v, c.Args[0], c.Args[1])
	case xen.HypercallMemoryOp:
		return h.memoryOp(v, c.Args[0], c.Args[1])
	case xen.HypercallEventChannelOp:
		return h.eventChannelOp(v, c.Args[0], c.Args[1])
	case xen.HypercallGrantTableOp:
		return h.grantTableOp(v, c.Args[0], c.Args[1], c.Args[2])
	case xen.HypercallTamavisor:
		return h.tamavisorOp(v, c.Args)
	}
	return errno(xen.ENOSYS)
}

// argIn reads a hypercall's argument structure (or a short array it
// points to) at a guest linear address into the vCPU's scratch buffer
// rather than a new allocation: the handlers decode it and never keep it,
// and the next hypercall reuses the buffer. Beyond the buffer it falls back
// to copyIn.
func (v *VCPU) argIn(gva uint64, n int) ([]byte, error) {
	used := v.scratchUsed
	if n > len(v.scratch)-used {
		return v.copyIn(gva, n)
	}
	b := v.scratch[used : used+n : used+n]
	v.scratchUsed += n
	return b, v.readLinear(gva, b)
}

// copyIn reads n bytes at a guest linear address into a new slice.
func (v *VCPU) copyIn(gva uint64, n int) ([]byte, error) {
	b := make([]byte, n)
	return b, v.readLinear(gva, b)
}

// faultErrno maps a guest memory error to -EFAULT.
func faultErrno(err error) int64 {
	if errors.Is(err, ErrFault) {
		return errno(xen.EFAULT)
	}
	return errno(xen.EINVAL)
}

// maxConsoleWrite bounds one console_io write (Xen copies in chunks too).
const maxConsoleWrite = 4096

// retryHypercall is what a handler returns for a call that must wait and
// be made again, having said what wakes the vCPU (no hypercall returns it:
// it is below every errno).
const retryHypercall = math.MinInt64

// consoleQuota bounds how much of one domain's output may wait in the
// console's queue: the serial line is shared, so a domain writing faster
// than it drains waits, and another domain's line waits behind at most
// this much of its output (1.4 s at 115,200 baud).
const consoleQuota = 16 << 10

// consoleFits says whether a domain's console output needing need bytes of
// the queue may go in now: the queue has room (reserve kept for the
// hypervisor's lines), and the domain is within consoleQuota (or has
// nothing waiting: one write bigger than the quota goes in alone).
func (h *Hypervisor) consoleFits(d *Domain, need int) bool {
	if h.Console.Room() < min(need, h.Console.Capacity()) {
		return false
	}
	own := h.consoleWaiting(d)
	return own == 0 || own+need <= consoleQuota
}

// consoleWaiting returns how many bytes of a domain's output are still in
// the console's queue (a line counts until its last byte is sent).
func (h *Hypervisor) consoleWaiting(d *Domain) int {
	sent, i := h.Console.Sent(), 0
	for ; i < len(d.consoleOut) && d.consoleOut[i].end <= sent; i++ {
		d.consoleOwn -= d.consoleOut[i].n
	}
	if i > 0 {
		d.consoleOut = append(d.consoleOut[:0], d.consoleOut[i:]...)
	}
	return d.consoleOwn
}

// consoleWrite writes a domain's output to its console if it fits now
// (consoleFits), noting what of it went into the queue (a partial line
// waits in the domain's logger); otherwise it writes nothing and returns
// the room the output needs.
func (h *Hypervisor) consoleWrite(d *Domain, b []byte) (need int, ok bool) {
	if need = consoleNeed(d, b); !h.consoleFits(d, need) {
		return need, false
	}
	c := h.Console
	before := c.Sent() + uint64(c.Queued())
	d.Console.Write(b)
	if after := c.Sent() + uint64(c.Queued()); after > before {
		d.consoleOut = append(d.consoleOut, consoleSpan{end: after, n: int(after - before)})
		d.consoleOwn += int(after - before)
	}
	return need, true
}

// consoleNeed is the queue space a console write of b needs at most: its
// bytes, a "label: " prefix and newline for each line it ends or begins,
// and a held-back partial line it may complete (console.MaxLine).
func consoleNeed(d *Domain, b []byte) int {
	lines := 1
	for _, c := range b {
		if c == '\n' {
			lines++
		}
	}
	return len(b) + lines*(len(d.Console.Source())+3) + console.MaxLine
}

// consoleIO: CONSOLEIO_write(count, buffer) prints on the domain's console
// and returns count; CONSOLEIO_read has no input to give (public/xen.h).
func (h *Hypervisor) consoleIO(v *VCPU, cmd, count, buf uint64) int64 {
	switch cmd {
	case xen.ConsoleIOWrite:
		if count > maxConsoleWrite {
			return errno(xen.EINVAL)
		}
		b, err := v.copyIn(buf, int(count))
		if err != nil {
			return faultErrno(err)
		}
		// The serial line is slow and shared: a write the console's
		// queue cannot take now waits, in its own vCPU, rather than
		// hold the CPU while the UART catches up.
		if need, ok := h.consoleWrite(v.Dom, b); !ok {
			v.consoleWait, v.consoleNeed = true, need
			h.consoleWaiters++
			return retryHypercall
		}
		return int64(count)
	case xen.ConsoleIORead:
		// The console's input is the privileged domain's (Xen:
		// CONSOLEIO_read is for the hardware domain, which learns of
		// input through VIRQ_CONSOLE).
		if !v.Dom.Privileged {
			return errno(xen.EPERM)
		}
		n := min(count, uint64(len(h.consoleIn)), maxConsoleWrite)
		if n == 0 {
			return 0
		}
		if err := v.writeLinear(buf, h.consoleIn[:n]); err != nil {
			return faultErrno(err)
		}
		h.consoleIn = h.consoleIn[n:]
		return int64(n)
	}
	return errno(xen.ENOSYS)
}

// schedOp: yield, block, shutdown (public/sched.h).
func (h *Hypervisor) schedOp(v *VCPU, cmd, arg uint64) int64 {
	switch cmd {
	case xen.SchedOpYield:
		v.yield = true
		return 0
	case xen.SchedOpBlock:
		// Xen's do_block: event delivery is enabled (vcpu_info's
		// evtchn_upcall_mask cleared), then the vCPU blocks until an
		// event or its timer, unless events already wait.
		if vi, ok := h.Events.VCPUInfoOf(evtchn.DomID(v.Dom.ID), v.ID); ok && evtchn.EnableUpcalls(vi) {
			v.UpcallPending = true
		}
		if !v.UpcallPending {
			h.block(v)
		}
		return 0
	case xen.SchedOpShutdown:
		b, err := v.argIn(arg, 4) // struct sched_shutdown { unsigned int reason; }
		if err != nil {
			return faultErrno(err)
		}
		reason := binary.LittleEndian.Uint32(b)
		if reason > xen.ShutdownSoftReset {
			return errno(xen.EINVAL)
		}
		h.shutdown(v.Dom, reason)
		return 0
	case xen.SchedOpPoll:
		return h.schedPoll(v, arg)
	}
	return errno(xen.ENOSYS)
}

// vcpuOp: the single-shot timer (public/vcpu.h).
func (h *Hypervisor) vcpuOp(v *VCPU, cmd, vcpu, arg uint64) int64 {
	if vcpu != uint64(v.ID) {
		// Xen's do_vcpu_op: -ENOENT for a vCPU the domain does not
		// have (each domain has one, for now).
		return errno(xen.ENOENT)
	}
	switch cmd {
	case xen.VCPUOpSetSingleshotTimer:
		b, err := v.argIn(arg, xen.SingleshotTimerSize)
		if err != nil {
			return faultErrno(err)
		}
		ns := binary.LittleEndian.Uint64(b[0:])
		flags := binary.LittleEndian.Uint32(b[8:])
		deadline := h.Clock.Ticks(ns)
		if flags&xen.VCPUSSHotTmrFuture != 0 && deadline <= rdtsc() {
			return errno(xen.ETIME)
		}
		v.Timer = max(deadline, 1)
		return 0
	case xen.VCPUOpStopSingleshotTimer:
		v.Timer = 0
		return 0
	case xen.VCPUOpRegisterVCPUInfo:
		return h.registerVCPUInfo(v, arg)
	}
	return errno(xen.ENOSYS)
}

// registerVCPUInfo is VCPUOP_register_vcpu_info (public/vcpu.h, struct
// vcpu_register_vcpu_info { uint64 mfn; uint32 offset; uint32 rsvd; }):
// the vCPU's vcpu_info moves from shared_info to a place in one of the
// domain's own RAM frames. The frame must hold the domain's RAM (not a page
// mapped by grant or shared_info, which could go away while the hypervisor
// still writes there); RAM frames stay the domain's until it is destroyed.
func (h *Hypervisor) registerVCPUInfo(v *VCPU, arg uint64) int64 {
	b, err := v.argIn(arg, 16)
	if err != nil {
		return faultErrno(err)
	}
	gfn := binary.LittleEndian.Uint64(b[0:])
	off := binary.LittleEndian.Uint32(b[8:])
	d := v.Dom
	if binary.LittleEndian.Uint32(b[12:]) != 0 || gfn >= d.MemSize/mem.PageSize {
		return errno(xen.EINVAL)
	}
	hpa, ok := d.ramFrame(gfn << 12)
	if !ok {
		return errno(xen.EINVAL)
	}
	page, err := d.Mem.Phys.Slice(hpa, mem.PageSize)
	if err != nil {
		return errno(xen.EINVAL)
	}
	// The event-channel system checks the offset, refuses a second
	// registration, and copies the old vcpu_info to the new place.
	dl, err := h.Events.SetVCPUInfo(evtchn.DomID(d.ID), v.ID, sharedPage{page}, int(off))
	if err != nil {
		return -int64(evtchn.Errno(err))
	}
	h.deliver(dl)
	return 0
}

// hvmOp: HVM parameters (public/hvm/hvm_op.h, public/hvm/params.h). A
// domain may only set its own.
func (h *Hypervisor) hvmOp(v *VCPU, cmd, arg uint64) int64 {
	if cmd != xen.HVMOpSetParam && cmd != xen.HVMOpGetParam {
		return errno(xen.ENOSYS)
	}
	b, err := v.argIn(arg, xen.HVMParamSize)
	if err != nil {
		return faultErrno(err)
	}
	dom := binary.LittleEndian.Uint16(b[0:])
	index := binary.LittleEndian.Uint32(b[4:])
	value := binary.LittleEndian.Uint64(b[8:])
	if !v.Dom.isSelf(dom) {
		return errno(xen.EPERM)
	}
	if index >= xen.HVMNrParams {
		return errno(xen.EINVAL)
	}
	if cmd == xen.HVMOpGetParam {
		binary.LittleEndian.PutUint64(b[8:], v.Dom.params[index])
		if err := v.writeLinear(arg, b); err != nil {
			return faultErrno(err)
		}
		return 0
	}
	if e := guestSetParam(index, value); e != 0 {
		return errno(e)
	}
	if index == xen.HVMParamCallbackIRQ {
		typ := value >> xen.HVMCallbackTypeShift
		vector := value & 0xff
		switch {
		case value == 0:
			v.Dom.CallbackVector = 0
		case typ != xen.HVMCallbackTypeVector || value&^(0xff|typ<<xen.HVMCallbackTypeShift) != 0:
			return errno(xen.EINVAL) // only vector delivery is offered
		case vector < 32:
			return errno(xen.EINVAL) // exceptions are not upcalls
		default:
			v.Dom.CallbackVector = uint8(vector)
		}
	}
	v.Dom.params[index] = value
	return 0
}

// constantHypercalls are the hypercalls (number and first argument) whose
// answer never changes while a domain lives: no pointer argument, no side
// effect. The exit path answers them in assembly (vmx.HypercallCache).
var constantHypercalls = [...][2]uint64{
	{xen.HypercallXenVersion, xen.XenVerVersion},
	{xen.HypercallXenVersion, xen.XenVerPageSize},
}

// fillHypercallCache gives the exit path the answers of the constant
// hypercalls: this handler's own, so the two cannot disagree.
func (h *Hypervisor) fillHypercallCache(v *VCPU) {
	for _, c := range constantHypercalls {
		v.Regs.HypercallCache.Put(c[0], c[1], uint64(h.hypercall(v, &Hypercall{Nr: c[0], Args: [5]uint64{c[1]}})))
	}
}

// guestSetParam says whether a domain may set one of its own HVM
// parameters to a value: 0, or the errno Xen gives (hvm_allow_set_param
// and hvm_set_param in Xen's xen/arch/x86/hvm/hvm.c). The store's and
// console's pages are the toolstack's to set (tamavisor's, at creation),
// their event channels the guest's too; deprecated parameters are -EINVAL,
// ALTP2M read-only. The values Xen checks are checked as Xen does.
func guestSetParam(index uint32, value uint64) int {
	switch index {
	case xen.HVMParamX87FIPWidth:
		if value != 0 && value != 4 && value != 8 {
			return xen.EINVAL
		}
		return 0
	case xen.HVMParamVM86TSS:
		if value != uint64(uint32(value)) {
			return xen.EINVAL // hardware would truncate it
		}
		return 0
	case xen.HVMParamVM86TSSSized:
		if value>>32 < tss32Size {
			return xen.EINVAL
		}
		return 0
	case xen.HVMParamCallbackIRQ, xen.HVMParamACPIIOPortsLocation, xen.HVMParamVMGenerationIDAddr,
		xen.HVMParamStoreEvtchn, xen.HVMParamConsoleEvtchn:
		return 0
	case xen.HVMParamAltP2M:
		return xen.EEXIST
	case xen.HVMParamPAEEnabled, xen.HVMParamDMDomain, xen.HVMParamMemoryEventCR0,
		xen.HVMParamMemoryEventCR3, xen.HVMParamMemoryEventCR4, xen.HVMParamMemoryEventINT3,
		xen.HVMParamNestedHVM, xen.HVMParamMemoryEventSingleStep, xen.HVMParamBufIOReqEvtchn,
		xen.HVMParamMemoryEventMSR:
		return xen.EINVAL
	}
	return xen.EPERM
}

// tss32Size is sizeof(struct tss32), a 32-bit task-state segment (SDM Vol.
// 3A 9.2.1): the least HVM_PARAM_VM86_TSS_SIZED may give.
const tss32Size = 104

// xenVersion: XENVER_version returns major<<16 | minor (public/version.h).
// Both commands it knows are constant (constantHypercalls). The command is
// an int, as Xen's do_xen_version takes it: RDI's upper half is ignored.
func (h *Hypervisor) xenVersion(v *VCPU, cmd, arg uint64) int64 {
	switch int32(cmd) {
	case xen.XenVerVersion:
		return xen.Version
	case xen.XenVerPageSize:
		return mem.PageSize
	}
	return errno(xen.ENOSYS)
}

// tamavisorOp is tamavisor's own hypercall (xen.HypercallTamavisor).
func (h *Hypervisor) tamavisorOp(v *VCPU, a [5]uint64) int64 {
	switch a[0] {
	case xen.TamavisorExitStatus:
		v.Dom.ExitStatus, v.Dom.HasExitStatus = int(int32(a[1])), true
		return 0
	case xen.TamavisorGuestFault:
		vec := a[1]
		name := "?"
		if vec < 32 {
			name = vmx.ExceptionName(uint8(vec))
		}
		h.Kill(v.Dom, "guest exception %s (vector %d) at RIP 0x%x, error code %#x, CR2 0x%x: the guest could not handle it",
			name, vec, a[3], a[2], a[4])
		return 0
	case xen.TamavisorPrintStats:
		// Other domains' activity is the control domain's to see, as
		// in Xen: another domain gets its own line.
		if v.Dom.Privileged {
			h.PrintStats(v.Dom.Label())
		} else {
			h.printDomainStats(v.Dom)
		}
		return 0
	}
	return h.domctl(v, a[0], a)
}

// installHypercallPage fills the page at the GPA written to the hypercall
// MSR with one stub per hypercall: "mov $nr, %eax; vmcall; ret" at offset
// nr*32, as Xen lays out its hypercall page for Intel CPUs. The low 12 bits
// select the page (only page 0 exists).
func (h *Hypervisor) installHypercallPage(v *VCPU, val uint64) error {
	if val&0xfff != 0 {
		return &msrFault{fmt.Sprintf("WRMSR 0x%x = 0x%x: only hypercall page 0 exists", xen.HypercallMSR, val)}
	}
	gpa := val &^ 0xfff
	page := make([]byte, mem.PageSize)
	for nr := 0; nr < mem.PageSize/xen.HypercallEntrySize; nr++ {
		e := page[nr*xen.HypercallEntrySize:]
		e[0] = 0xb8 // MOV EAX, imm32
		binary.LittleEndian.PutUint32(e[1:], uint32(nr))
		e[5], e[6], e[7] = 0x0f, 0x01, 0xc1 // VMCALL
		e[8] = 0xc3                         // RET
	}
	if err := v.Dom.Mem.WriteGPA(gpa, page); err != nil {
		return &msrFault{fmt.Sprintf("WRMSR 0x%x = 0x%x: the hypercall page %v", xen.HypercallMSR, val, err)}
	}
	return nil
}
