package hv

import (
	"encoding/binary"
	"strings"
	"testing"

	"tamavisor/ept"
	"tamavisor/vmx"
	"tamavisor/xen"
)

const (
	eperm  = -xen.EPERM
	efault = -xen.EFAULT
	einval = -xen.EINVAL
	enosys = -xen.ENOSYS
	etime  = -xen.ETIME
)

func TestXenErrnoNumbering(t *testing.T) {
	// Xen's public/errno.h on x86.
	if eperm != -1 || efault != -14 || einval != -22 || enosys != -38 || etime != -62 {
		t.Fatal("errno values are not Xen's")
	}
}

func TestConsoleIOWrite(t *testing.T) {
	e := newTestVCPU(t, 4)
	msg := "hello\nworld\n"
	e.write(t, 0x1ffa, []byte(msg)) // across a page boundary
	if r := e.vmcall(xen.HypercallConsoleIO, xen.ConsoleIOWrite, uint64(len(msg)), 0x1ffa); r != int64(len(msg)) {
		t.Fatalf("console_io write = %d, want %d", r, len(msg))
	}
	e.wantAdvanced(t)
	if got := e.lines("d1.test: "); len(got) != 2 || got[0] != "d1.test: hello" || got[1] != "d1.test: world" {
		t.Errorf("console lines %q", got)
	}
	// A partial line waits for its newline (or the domain's end).
	e.write(t, 0x3000, []byte("part"))
	if r := e.hypercall(xen.HypercallConsoleIO, xen.ConsoleIOWrite, 4, 0x3000); r != 4 {
		t.Fatalf("console_io write = %d", r)
	}
	if strings.Contains(e.console(), "part") {
		t.Error("a partial line was printed")
	}
	e.d.Console.Flush()
	if !strings.Contains(e.console(), "d1.test: part\n") {
		t.Errorf("flushed console %q", e.console())
	}
	// Control characters cannot forge another source's line.
	forge := "x\rhv: forged\x1b[2J\n"
	e.write(t, 0x3000, []byte(forge))
	e.hypercall(xen.HypercallConsoleIO, xen.ConsoleIOWrite, uint64(len(forge)), 0x3000)
	for _, l := range e.lines("hv: ") {
		if strings.Contains(l, "forged") {
			t.Errorf("forged line %q", l)
		}
	}
	if got := e.lines("d1.test: x"); len(got) != 1 || got[0] != "d1.test: xhv: forged?[2J" {
		t.Errorf("console lines %q", got)
	}
	// The largest write.
	big := strings.Repeat("y", maxConsoleWrite-1) + "\n"
	e.write(t, 0x10000, []byte(big))
	if r := e.hypercall(xen.HypercallConsoleIO, xen.ConsoleIOWrite, maxConsoleWrite, 0x10000); r != maxConsoleWrite {
		t.Errorf("console_io write of %d bytes = %d", maxConsoleWrite, r)
	}
	if r := e.hypercall(xen.HypercallConsoleIO, xen.ConsoleIOWrite, 0, 0xdead_0000_0000); r != 0 {
		t.Errorf("empty console_io write = %d", r)
	}
	e.wantRunning(t)
	e.check(t)
}

func TestConsoleIOErrors(t *testing.T) {
	tests := []struct {
		name string
		args []uint64
		want int64
	}{
		{"too long", []uint64{xen.ConsoleIOWrite, maxConsoleWrite + 1, 0x1000}, einval},
		{"huge count", []uint64{xen.ConsoleIOWrite, 1 << 63, 0x1000}, einval},
		{"buffer beyond memory", []uint64{xen.ConsoleIOWrite, 16, 4 << 20}, efault},
		{"buffer running off memory", []uint64{xen.ConsoleIOWrite, 16, 4<<20 - 8}, efault},
		{"buffer far away", []uint64{xen.ConsoleIOWrite, 1, 0xfff0_0000}, efault},
		{"read by a domain that is not privileged", []uint64{xen.ConsoleIORead, 16, 0x1000}, eperm},
		{"unknown command", []uint64{2, 16, 0x1000}, enosys},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newTestVCPU(t, 4)
			e.write(t, 0x1000, []byte("not printed\n"))
			if r := e.vmcall(xen.HypercallConsoleIO, tt.args...); r != tt.want {
				t.Errorf("console_io = %d, want %d", r, tt.want)
			}
			// The caller gets the error and goes on.
			e.wantAdvanced(t)
			e.wantRunning(t)
			if e.v.State != VCPURunnable {
				t.Errorf("vCPU %s", e.v.State)
			}
			if e.d.Console.Flush(); strings.Contains(e.console(), "not printed") {
				t.Error("printed")
			}
			e.check(t)
		})
	}
}

// Pointers are linear addresses: with paging on, the guest's page tables
// translate them.
func TestConsoleIOPaging(t *testing.T) {
	e := newTestVCPU(t, 8)
	pt := e.newGuestPT(t, 0x1_0000)
	e.longMode(pt.root)
	const gva = 0xffff_8000_0000_0ff8
	pt.mapPage(gva&^0xfff, 0x50_0000, 1<<12, ptP|ptRW)
	pt.mapPage(gva&^0xfff+mem4K, 0x2_0000, 1<<12, ptP|ptRW)
	e.write(t, 0x50_0ff8, []byte("paged to"))
	e.write(t, 0x2_0000, []byte(" linear\n"))
	if r := e.vmcall(xen.HypercallConsoleIO, xen.ConsoleIOWrite, 16, gva); r != 16 {
		t.Fatalf("console_io write = %d", r)
	}
	if got := e.lines("d1.test: "); len(got) != 1 || got[0] != "d1.test: paged to linear" {
		t.Errorf("console %q", got)
	}
	// An unmapped linear address.
	if r := e.vmcall(xen.HypercallConsoleIO, xen.ConsoleIOWrite, 4, 0x1000); r != efault {
		t.Errorf("console_io write from an unmapped address = %d", r)
	}
	e.check(t)
}

func TestSchedOpShutdown(t *testing.T) {
	tests := []struct {
		reason  uint32
		end     string
		crashed bool
	}{
		{xen.ShutdownPoweroff, "shut down: poweroff", false},
		{xen.ShutdownReboot, "shut down: reboot", false},
		{xen.ShutdownSuspend, "shut down: suspend", false},
		{xen.ShutdownCrash, "shut down: crash", true},
		{xen.ShutdownWatchdog, "shut down: watchdog", false},
		{xen.ShutdownSoftReset, "shut down: soft_reset", false},
	}
	for _, tt := range tests {
		e := newTestVCPU(t, 4)
		e.write(t, 0x2ffe, binary.LittleEndian.AppendUint32(nil, tt.reason)) // across pages
		e.callRegs(xen.HypercallSchedOp, xen.SchedOpShutdown, 0x2ffe)
		rax := e.v.Regs.GPR[vmx.RAX]
		handleVMCALL(e.h, e.v, vmx.ExitReasonVMCALL)
		if e.d.State != DomainDying || e.v.State != VCPUStopped {
			t.Errorf("reason %d: domain %s, vCPU %s", tt.reason, e.d.State, e.v.State)
		}
		if e.d.EndReason != tt.end || e.d.Crashed != tt.crashed {
			t.Errorf("reason %d: end %q crashed %v, want %q %v", tt.reason, e.d.EndReason, e.d.Crashed, tt.end, tt.crashed)
		}
		// A domain that has ended does not resume: its registers stay.
		if e.v.Regs.GPR[vmx.RAX] != rax || e.v.Regs.Dirty != 0 {
			t.Errorf("reason %d: the ended vCPU's RAX or RIP changed", tt.reason)
		}
	}
}

func TestSchedOpShutdownErrors(t *testing.T) {
	for _, tt := range []struct {
		name string
		arg  uint64
		val  uint32
		want int64
	}{
		{"bad reason", 0x2000, xen.ShutdownSoftReset + 1, einval},
		{"huge reason", 0x2000, 0xffff_ffff, einval},
		{"bad pointer", 4 << 20, 0, efault},
		{"pointer off the end", 4<<20 - 2, 0, efault},
	} {
		e := newTestVCPU(t, 4)
		e.write(t, 0x2000, binary.LittleEndian.AppendUint32(nil, tt.val))
		if r := e.vmcall(xen.HypercallSchedOp, xen.SchedOpShutdown, tt.arg); r != tt.want {
			t.Errorf("%s: sched_op shutdown = %d, want %d", tt.name, r, tt.want)
		}
		e.wantRunning(t)
		e.wantAdvanced(t)
	}
}

func TestSchedOpYieldBlock(t *testing.T) {
	e := newTestVCPU(t, 4)
	if r := e.vmcall(xen.HypercallSchedOp, xen.SchedOpYield, 0); r != 0 || !e.v.yield || e.v.State != VCPURunnable {
		t.Errorf("yield = %d, yield %v, vCPU %s", r, e.v.yield, e.v.State)
	}
	if r := e.hypercall(xen.HypercallSchedOp, xen.SchedOpBlock, 0); r != 0 || e.v.State != VCPUBlocked {
		t.Errorf("block = %d, vCPU %s", r, e.v.State)
	}
	e = newTestVCPU(t, 4)
	e.v.UpcallPending = true
	if r := e.hypercall(xen.HypercallSchedOp, xen.SchedOpBlock, 0); r != 0 || e.v.State != VCPURunnable {
		t.Errorf("block with an upcall pending = %d, vCPU %s", r, e.v.State)
	}
	for _, cmd := range []uint64{4, xen.SchedOpShutdownCode, 1 << 32} {
		if r := e.hypercall(xen.HypercallSchedOp, cmd, 0); r != enosys {
			t.Errorf("sched_op %d = %d, want -ENOSYS", cmd, r)
		}
	}
	e.wantRunning(t)
}

// timerArg writes a struct vcpu_set_singleshot_timer at gpa.
func (e *testEnv) timerArg(tb testing.TB, gpa, ns uint64, flags uint32) {
	b := binary.LittleEndian.AppendUint64(nil, ns)
	b = binary.LittleEndian.AppendUint32(b, flags)
	b = append(b, 0xff, 0xff, 0xff, 0xff) // padding
	e.write(tb, gpa, b)
}

func TestVCPUOpTimer(t *testing.T) {
	e := newTestVCPU(t, 4)
	// 1 s at 40 MHz.
	e.timerArg(t, 0x4000, 1_000_000_000, 0)
	if r := e.vmcall(xen.HypercallVCPUOp, xen.VCPUOpSetSingleshotTimer, 0, 0x4000); r != 0 {
		t.Fatalf("set_singleshot_timer = %d", r)
	}
	if e.v.Timer != 40_000_000 {
		t.Errorf("timer %d ticks, want 40000000", e.v.Timer)
	}
	e.timerArg(t, 0x4000, 12_345_678_901, 0)
	e.hypercall(xen.HypercallVCPUOp, xen.VCPUOpSetSingleshotTimer, 0, 0x4000)
	if want := e.h.Clock.Ticks(12_345_678_901); e.v.Timer != want || want != 493_827_156 {
		t.Errorf("timer %d ticks, want %d", e.v.Timer, want)
	}
	// A deadline of 0 still arms the timer (0 means none).
	e.timerArg(t, 0x4000, 0, 0)
	if r := e.hypercall(xen.HypercallVCPUOp, xen.VCPUOpSetSingleshotTimer, 0, 0x4000); r != 0 || e.v.Timer == 0 {
		t.Errorf("a past deadline without VCPU_SSHOTTMR_future = %d, timer %d", r, e.v.Timer)
	}
	// In the past, with VCPU_SSHOTTMR_future: -ETIME, timer unchanged.
	for _, past := range []uint64{1, e.h.Clock.Nanos(rdtsc()) - 1_000_000_000} {
		e.v.Timer = 777
		e.timerArg(t, 0x4000, past, xen.VCPUSSHotTmrFuture)
		if r := e.hypercall(xen.HypercallVCPUOp, xen.VCPUOpSetSingleshotTimer, 0, 0x4000); r != etime || e.v.Timer != 777 {
			t.Errorf("a past deadline (%d ns) with VCPU_SSHOTTMR_future = %d, timer %d", past, r, e.v.Timer)
		}
	}
	// In the future, with VCPU_SSHOTTMR_future: armed.
	future := e.h.Clock.Nanos(rdtsc()) + 3600_000_000_000
	e.timerArg(t, 0x4000, future, xen.VCPUSSHotTmrFuture)
	if r := e.hypercall(xen.HypercallVCPUOp, xen.VCPUOpSetSingleshotTimer, 0, 0x4000); r != 0 || e.v.Timer != e.h.Clock.Ticks(future) {
		t.Errorf("a future deadline = %d, timer %d", r, e.v.Timer)
	}
	// Stop.
	if r := e.vmcall(xen.HypercallVCPUOp, xen.VCPUOpStopSingleshotTimer, 0, 0); r != 0 || e.v.Timer != 0 {
		t.Errorf("stop_singleshot_timer = %d, timer %d", r, e.v.Timer)
	}
	e.wantRunning(t)
}

func TestVCPUOpErrors(t *testing.T) {
	e := newTestVCPU(t, 4)
	e.timerArg(t, 0x4000, 1_000_000_000, 0)
	e.v.Timer = 5
	for _, tt := range []struct {
		name      string
		cmd, vcpu uint64
		arg       uint64
		want      int64
	}{
		{"another vCPU", xen.VCPUOpSetSingleshotTimer, 1, 0x4000, -xen.ENOENT},
		{"another vCPU, stop", xen.VCPUOpStopSingleshotTimer, 1, 0, -xen.ENOENT},
		{"vCPU id beyond 32 bits", xen.VCPUOpSetSingleshotTimer, 1 << 32, 0x4000, -xen.ENOENT},
		{"bad pointer", xen.VCPUOpSetSingleshotTimer, 0, 4 << 20, efault},
		{"pointer off the end", xen.VCPUOpSetSingleshotTimer, 0, 4<<20 - 8, efault},
		{"unknown command", 0, 0, 0x4000, enosys},
	} {
		if r := e.vmcall(xen.HypercallVCPUOp, tt.cmd, tt.vcpu, tt.arg); r != tt.want {
			t.Errorf("%s: vcpu_op = %d, want %d", tt.name, r, tt.want)
		}
		if e.v.Timer != 5 {
			t.Errorf("%s: timer %d, want it unchanged", tt.name, e.v.Timer)
		}
	}
	e.wantRunning(t)
}

// hvmParam writes a struct xen_hvm_param at gpa.
func (e *testEnv) hvmParam(tb testing.TB, gpa uint64, dom uint16, index uint32, value uint64) {
	b := binary.LittleEndian.AppendUint16(nil, dom)
	b = append(b, 0xee, 0xee) // padding
	b = binary.LittleEndian.AppendUint32(b, index)
	b = binary.LittleEndian.AppendUint64(b, value)
	e.write(tb, gpa, b)
}

func TestHVMOpParams(t *testing.T) {
	e := newTestVCPU(t, 4)
	const arg = 0x5ff8 // across pages
	e.hvmParam(t, arg, xen.DomIDSelf, xen.HVMParamStoreEvtchn, 0x1234)
	if r := e.vmcall(xen.HypercallHVMOp, xen.HVMOpSetParam, arg); r != 0 {
		t.Fatalf("set_param = %d", r)
	}
	e.wantAdvanced(t)
	// The domain may name itself by its ID.
	e.hvmParam(t, arg, 1, xen.HVMParamX87FIPWidth, 8)
	if r := e.hypercall(xen.HypercallHVMOp, xen.HVMOpSetParam, arg); r != 0 {
		t.Fatalf("set_param with the domain's own ID = %d", r)
	}
	e.d.params[xen.HVMParamStorePFN] = 0x77 // set at creation
	for _, tt := range []struct {
		index uint32
		want  uint64
	}{{xen.HVMParamStoreEvtchn, 0x1234}, {xen.HVMParamX87FIPWidth, 8}, {xen.HVMParamStorePFN, 0x77}, {xen.HVMParamConsolePFN, 0}, {xen.HVMNrParams - 1, 0}} {
		e.hvmParam(t, arg, xen.DomIDSelf, tt.index, 0xdead)
		if r := e.hypercall(xen.HypercallHVMOp, xen.HVMOpGetParam, arg); r != 0 {
			t.Fatalf("get_param %d = %d", tt.index, r)
		}
		b := e.read(t, arg, 16)
		if got := binary.LittleEndian.Uint64(b[8:]); got != tt.want {
			t.Errorf("get_param %d wrote %#x, want %#x", tt.index, got, tt.want)
		}
		if binary.LittleEndian.Uint16(b) != xen.DomIDSelf || binary.LittleEndian.Uint32(b[4:]) != tt.index {
			t.Errorf("get_param %d changed domid or index: % x", tt.index, b)
		}
	}
	e.check(t)
}

func TestHVMOpErrors(t *testing.T) {
	for _, tt := range []struct {
		name  string
		cmd   uint64
		dom   uint16
		index uint32
		arg   uint64
		want  int64
	}{
		{"another domain", xen.HVMOpSetParam, 2, 1, 0x6000, eperm},
		{"another domain, get", xen.HVMOpGetParam, 0, 1, 0x6000, eperm},
		{"DOMID_IO", xen.HVMOpSetParam, 0x7ff1, 1, 0x6000, eperm},
		{"index 64", xen.HVMOpSetParam, xen.DomIDSelf, 64, 0x6000, einval},
		{"index 64, get", xen.HVMOpGetParam, xen.DomIDSelf, 64, 0x6000, einval},
		{"huge index", xen.HVMOpSetParam, xen.DomIDSelf, 0xffff_ffff, 0x6000, einval},
		{"bad pointer", xen.HVMOpSetParam, xen.DomIDSelf, 1, 4 << 20, efault},
		{"pointer off the end", xen.HVMOpGetParam, xen.DomIDSelf, 1, 4<<20 - 8, efault},
		{"unknown command", 2, xen.DomIDSelf, 1, 0x6000, enosys},
		// What the guest may not set on itself (Xen's hvm_allow_set_param).
		{"the store's page", xen.HVMOpSetParam, xen.DomIDSelf, xen.HVMParamStorePFN, 0x6000, eperm},
		{"the console's page", xen.HVMOpSetParam, xen.DomIDSelf, xen.HVMParamConsolePFN, 0x6000, eperm},
		{"an unknown parameter", xen.HVMOpSetParam, xen.DomIDSelf, xen.HVMNrParams - 1, 0x6000, eperm},
		{"index HVM_NR_PARAMS", xen.HVMOpSetParam, xen.DomIDSelf, xen.HVMNrParams, 0x6000, einval},
		{"index HVM_NR_PARAMS, get", xen.HVMOpGetParam, xen.DomIDSelf, xen.HVMNrParams, 0x6000, einval},
		{"a deprecated parameter", xen.HVMOpSetParam, xen.DomIDSelf, xen.HVMParamNestedHVM, 0x6000, einval},
		{"a read-only parameter", xen.HVMOpSetParam, xen.DomIDSelf, xen.HVMParamAltP2M, 0x6000, -xen.EEXIST},
	} {
		e := newTestVCPU(t, 4)
		e.hvmParam(t, 0x6000, tt.dom, tt.index, 0x77)
		if r := e.vmcall(xen.HypercallHVMOp, tt.cmd, tt.arg); r != tt.want {
			t.Errorf("%s: hvm_op = %d, want %d", tt.name, r, tt.want)
		}
		if len(e.d.params) != 0 {
			t.Errorf("%s: params %v set", tt.name, e.d.params)
		}
		if got := e.read64(t, 0x6008); got != 0x77 {
			t.Errorf("%s: the guest's struct changed: value %#x", tt.name, got)
		}
		e.wantRunning(t)
	}
}

// get_param writes the value back: into a page the EPT maps read-only it
// cannot, and the caller gets -EFAULT.
func TestHVMOpGetParamReadOnly(t *testing.T) {
	e := newTestVCPU(t, 4)
	e.hvmParam(t, 0x6000, xen.DomIDSelf, xen.HVMParamConsoleEvtchn, 0)
	e.d.params[xen.HVMParamConsoleEvtchn] = 9
	if err := e.d.EPT.Protect(0x6000, mem4K, ept.RX); err != nil {
		t.Fatal(err)
	}
	if r := e.hypercall(xen.HypercallHVMOp, xen.HVMOpGetParam, 0x6000); r != efault {
		t.Errorf("get_param into a read-only page = %d, want -EFAULT", r)
	}
	// set_param only reads.
	if r := e.hypercall(xen.HypercallHVMOp, xen.HVMOpSetParam, 0x6000); r != 0 {
		t.Errorf("set_param from a read-only page = %d", r)
	}
	e.check(t)
}

func TestHVMOpCallbackVector(t *testing.T) {
	const typeVector = uint64(xen.HVMCallbackTypeVector) << xen.HVMCallbackTypeShift
	for _, tt := range []struct {
		name   string
		value  uint64
		want   int64
		vector uint8
	}{
		{"vector 0xf3", typeVector | 0xf3, 0, 0xf3},
		{"vector 32", typeVector | 32, 0, 32},
		{"vector 0xff", typeVector | 0xff, 0, 0xff},
		{"none", 0, 0, 0},
		{"exception vector", typeVector | 31, einval, 0x40},
		{"vector 0", typeVector, einval, 0x40},
		{"GSI type", 0<<56 | 5, einval, 0x40},
		{"PCI INTx type", 1<<56 | 0x10, einval, 0x40},
		{"type 3", 3<<56 | 0xf3, einval, 0x40},
		{"vector with stray bits", typeVector | 0x1_00f3, einval, 0x40},
		{"vector with bit 55", typeVector | 1<<55 | 0xf3, einval, 0x40},
	} {
		e := newTestVCPU(t, 4)
		e.d.CallbackVector = 0x40
		e.hvmParam(t, 0x6000, xen.DomIDSelf, xen.HVMParamCallbackIRQ, tt.value)
		if r := e.hypercall(xen.HypercallHVMOp, xen.HVMOpSetParam, 0x6000); r != tt.want {
			t.Errorf("%s: set_param CALLBACK_IRQ %#x = %d, want %d", tt.name, tt.value, r, tt.want)
		}
		if e.d.CallbackVector != tt.vector {
			t.Errorf("%s: callback vector %#x, want %#x", tt.name, e.d.CallbackVector, tt.vector)
		}
		if tt.want == 0 {
			e.hvmParam(t, 0x6000, xen.DomIDSelf, xen.HVMParamCallbackIRQ, 0)
			e.hypercall(xen.HypercallHVMOp, xen.HVMOpGetParam, 0x6000)
			if got := e.read64(t, 0x6008); got != tt.value {
				t.Errorf("%s: get_param CALLBACK_IRQ = %#x", tt.name, got)
			}
		}
	}
}

func TestXenVersion(t *testing.T) {
	e := newTestVCPU(t, 4)
	if r := e.vmcall(xen.HypercallXenVersion, xen.XenVerVersion, 0); r != 4<<16|17 {
		t.Errorf("XENVER_version = %#x, want 4.17", r)
	}
	if r := e.hypercall(xen.HypercallXenVersion, xen.XenVerPageSize, 0); r != 4096 {
		t.Errorf("XENVER_pagesize = %d", r)
	}
	// The command is an int (do_xen_version): RDI's upper half is ignored.
	if r := e.hypercall(xen.HypercallXenVersion, 0xffff_ffff_0000_0000|xen.XenVerVersion, 0); r != 4<<16|17 {
		t.Errorf("XENVER_version with RDI's upper half set = %#x, want 4.17", r)
	}
	for _, cmd := range []uint64{xen.XenVerExtraVersion, xen.XenVerGetFeatures, 99} {
		if r := e.hypercall(xen.HypercallXenVersion, cmd, 0x1000); r != enosys {
			t.Errorf("xen_version %d = %d, want -ENOSYS", cmd, r)
		}
	}
}

func TestTamavisorExitStatus(t *testing.T) {
	for _, tt := range []struct {
		arg  uint64
		want int
	}{{0, 0}, {3, 3}, {uint64(1<<64 - 3), -3}, {0xffff_ffff, -1}, {0xdead_0000_0000_0007, 7}} {
		e := newTestVCPU(t, 4)
		if r := e.vmcall(xen.HypercallTamavisor, xen.TamavisorExitStatus, tt.arg); r != 0 {
			t.Errorf("exit status %#x: = %d", tt.arg, r)
		}
		if !e.d.HasExitStatus || e.d.ExitStatus != tt.want {
			t.Errorf("exit status %#x: recorded %v %d, want %d", tt.arg, e.d.HasExitStatus, e.d.ExitStatus, tt.want)
		}
		e.wantRunning(t)
		e.wantAdvanced(t)
	}
}

func TestTamavisorGuestFault(t *testing.T) {
	e := newTestVCPU(t, 4)
	e.vmcall(xen.HypercallTamavisor, xen.TamavisorGuestFault, vmx.VectorUD, 0, 0x40_1234, 0)
	e.wantKilled(t, "guest exception #UD", "vector 6", "RIP 0x401234", "could not handle")
	e.wantNotAdvanced(t)

	e = newTestVCPU(t, 4)
	e.hypercall(xen.HypercallTamavisor, xen.TamavisorGuestFault, vmx.VectorPF, 2, 0x40_0000, 0xdead_b000)
	e.wantKilled(t, "#PF", "error code 0x2", "CR2 0xdeadb000")

	e = newTestVCPU(t, 4)
	e.hypercall(xen.HypercallTamavisor, xen.TamavisorGuestFault, 0xf3, 0, 0, 0)
	e.wantKilled(t, "guest exception ? (vector 243)")

	e = newTestVCPU(t, 4)
	if r := e.hypercall(xen.HypercallTamavisor, 99); r != -xen.EPERM {
		t.Errorf("tamavisor op 99 from an unprivileged domain = %d, want -EPERM", r)
	}
	e.d.Privileged = true
	if r := e.hypercall(xen.HypercallTamavisor, 99); r != enosys {
		t.Errorf("tamavisor op 99 = %d, want -ENOSYS", r)
	}
}

// Statistics on demand: the control domain asks, the hypervisor prints
// every domain's line; another domain gets only its own.
func TestTamavisorPrintStatsDomains(t *testing.T) {
	w, d0, d1, _ := newDom0World(t)
	w.out.Reset()
	if r := d1.hypercall(xen.HypercallTamavisor, xen.TamavisorPrintStats); r != 0 {
		t.Fatalf("print_stats from d1 = %d", r)
	}
	if out := w.out.String(); !strings.Contains(out, "hv: d1.one: running: ") || strings.Contains(out, "d0.dom0") ||
		strings.Contains(out, "d2.two") || strings.Contains(out, "asked by") {
		t.Errorf("d1 asked; the console says:\n%s", out)
	}
	w.out.Reset()
	if r := d0.hypercall(xen.HypercallTamavisor, xen.TamavisorPrintStats); r != 0 {
		t.Fatalf("print_stats from dom0 = %d", r)
	}
	for _, want := range []string{"hv: stats (asked by d0.dom0): 3 domains", "hv: d0.dom0: running: ", "hv: d1.one: running: ", "hv: d2.two: running: "} {
		if out := w.out.String(); !strings.Contains(out, want) {
			t.Errorf("dom0 asked; the console lacks %q:\n%s", want, out)
		}
	}
}

// A domain alone asking for statistics gets its own line, counts and all.
func TestTamavisorPrintStats(t *testing.T) {
	e := newTestVCPU(t, 4)
	e.d.Stats.Count(vmx.ExitReasonCPUID)
	if r := e.hypercall(xen.HypercallTamavisor, xen.TamavisorPrintStats); r != 0 {
		t.Fatalf("print_stats = %d", r)
	}
	out := e.console()
	for _, want := range []string{"hv: " + e.d.Label() + ": running: 1 exits (CPUID 1)"} {
		if !strings.Contains(out, want) {
			t.Errorf("console lacks %q:\n%s", want, out)
		}
	}
}

func TestUnknownHypercall(t *testing.T) {
	e := newTestVCPU(t, 4)
	for _, nr := range []uint64{0, xen.HypercallMemoryOp, 6,
		55, 63, 65, 127, 1 << 32, ^uint64(0)} {
		e.v.Regs.RIP, e.v.Regs.Dirty = testRIP, 0
		if r := e.vmcall(nr, 1, 2, 3, 4, 5); r != enosys {
			t.Errorf("hypercall %d = %d, want -ENOSYS (-38)", nr, r)
		}
		e.wantAdvanced(t)
	}
	if e.v.Regs.GPR[vmx.RAX] != uint64(1<<64-38) {
		t.Errorf("RAX %#x, want -38 as 64 bits", e.v.Regs.GPR[vmx.RAX])
	}
	if e.d.Stats.Hypercalls != 9 {
		t.Errorf("%d hypercalls counted, want 9", e.d.Stats.Hypercalls)
	}
	e.wantRunning(t)
}

// Hypercalls from guest user mode (CPL 3) are refused, whatever they are.
func TestHypercallFromUserMode(t *testing.T) {
	for _, c := range [][]uint64{
		{xen.HypercallConsoleIO, xen.ConsoleIOWrite, 4, 0x1000},
		{xen.HypercallSchedOp, xen.SchedOpShutdown, 0x2000},
		{xen.HypercallTamavisor, xen.TamavisorGuestFault, 6},
		{xen.HypercallXenVersion, xen.XenVerVersion},
		{99},
	} {
		e := newTestVCPU(t, 4)
		e.write(t, 0x1000, []byte("user\n"))
		e.v.Regs.SSAccessRights = ssARRing3
		if r := e.vmcall(c[0], c[1:]...); r != eperm {
			t.Errorf("hypercall %d from CPL 3 = %d, want -EPERM", c[0], r)
		}
		e.wantAdvanced(t)
		e.wantRunning(t)
		if strings.Contains(e.console(), "user") {
			t.Error("the user-mode console write was printed")
		}
		if e.d.Stats.Hypercalls != 1 {
			t.Errorf("%d hypercalls counted", e.d.Stats.Hypercalls)
		}
	}
	// CPL 1 and 2 are not kernel mode either; only SS.DPL counts.
	for _, ar := range []uint32{0xc0b3, 0xc0d3} { // DPL 1, DPL 2
		e := newTestVCPU(t, 4)
		e.v.Regs.SSAccessRights = uint64(ar)
		e.v.Regs.CSAccessRights = 0xa09b // DPL 0
		if r := e.vmcall(xen.HypercallXenVersion, xen.XenVerVersion); r != eperm {
			t.Errorf("hypercall with SS access rights %#x = %d", ar, r)
		}
	}
}

// A guest in 32-bit mode uses Xen's x86-32 convention: EAX = number,
// EBX, ECX, EDX, ESI, EDI = arguments, EAX = result (public/xen.h).
func TestHypercall32(t *testing.T) {
	e := newTestVCPU(t, 4)
	e.v.entryCtls &^= vmx.EntryIA32eModeGuest
	e.v.Regs.CSAccessRights = 0xc09b // 32-bit code (D=1, L=0)
	msg := []byte("from 32-bit code\n")
	e.write(t, 0x3000, msg)
	g := &e.v.Regs.GPR
	g[vmx.RAX] = 0xdead_0000_0000_0000 | xen.HypercallConsoleIO
	g[vmx.RBX] = xen.ConsoleIOWrite
	g[vmx.RCX] = uint64(len(msg))
	g[vmx.RDX] = 0xffff_ffff_0000_3000 // upper bits ignored
	g[vmx.RDI], g[vmx.RSI] = 99, 99    // the 64-bit registers are not read
	handleVMCALL(e.h, e.v, vmx.ExitReasonVMCALL)
	if g[vmx.RAX] != uint64(len(msg)) {
		t.Fatalf("EAX = %#x, want %d", g[vmx.RAX], len(msg))
	}
	if !strings.Contains(e.console(), "from 32-bit code") {
		t.Errorf("console: %q", e.console())
	}
	// A negative result is a 32-bit value in EAX, the upper half clear.
	g[vmx.RAX] = 0x1_0000_0000 | 999
	handleVMCALL(e.h, e.v, vmx.ExitReasonVMCALL)
	if want := uint64(1<<32 - xen.ENOSYS); g[vmx.RAX] != want {
		t.Errorf("EAX = %#x, want -ENOSYS as 32 bits", g[vmx.RAX])
	}
}

// The exit path answers the constant hypercalls from the vCPU's cache
// (vmx.HypercallCache): every cached answer is the one the Go handler
// gives, and no two constant hypercalls evict each other.
func TestHypercallCacheAgreesWithHandler(t *testing.T) {
	e := newTestVCPU(t, 4)
	e.h.fillHypercallCache(e.v)
	c := &e.v.Regs.HypercallCache
	valid := 0
	for _, s := range c {
		if s.Valid != 0 {
			valid++
		}
	}
	if valid != len(constantHypercalls) {
		t.Errorf("%d cached answers for %d constant hypercalls: some share a slot", valid, len(constantHypercalls))
	}
	for _, k := range constantHypercalls {
		want, ok := c.Get(k[0], k[1])
		if !ok {
			t.Errorf("hypercall %d(%d) is not cached", k[0], k[1])
			continue
		}
		if r := e.vmcall(k[0], k[1]); uint64(r) != want {
			t.Errorf("hypercall %d(%d): the handler answers %#x, the cache %#x", k[0], k[1], r, want)
		}
	}
	if got, _ := c.Get(xen.HypercallXenVersion, xen.XenVerVersion); got != 4<<16|17 {
		t.Errorf("cached XENVER_version = %#x, want 4.17", got)
	}
}
