package hv

import (
	"bytes"
	"strings"
	"testing"

	"tamavisor/abi"
	"tamavisor/console"
	"tamavisor/vmx"
	"tamavisor/xen"
)

// busyUART is a transmitter that takes nothing while busy.
type busyUART struct {
	out  bytes.Buffer
	busy bool
}

func (u *busyUART) TryWrite(p []byte) int {
	if u.busy {
		return 0
	}
	u.out.Write(p)
	return len(p)
}

// queuedConsole gives the test domain a console with a transmit queue of
// size bytes and a UART that is busy until the test says otherwise.
func queuedConsole(e *testEnv, size int) *busyUART {
	u := &busyUART{busy: true}
	e.h.Console = console.NewQueued(u, size, func() { u.busy = false })
	e.d.Console = e.h.Console.Logger(e.d.Label())
	return u
}

// A console_io write that the console's queue cannot take waits in its
// vCPU: RIP stays on the VMCALL and RAX on the hypercall number, the vCPU
// blocks, and once the UART has taken the queue it is woken and makes the
// call again, which then writes.
func TestConsoleWriteWaitsForRoom(t *testing.T) {
	e := newTestVCPU(t, 4)
	u := queuedConsole(e, 16<<10)
	filler := e.h.Console.Logger("hv")
	for e.h.Console.Room() > 512 {
		filler.Printf("%s", strings.Repeat("f", 200))
	}
	msg := []byte("waited for the line\n")
	e.write(t, 0x3000, msg)
	e.v.Regs.RIP, e.v.Regs.Dirty = testRIP, 0
	if r := e.vmcall(xen.HypercallConsoleIO, xen.ConsoleIOWrite, uint64(len(msg)), 0x3000); r != xen.HypercallConsoleIO {
		t.Fatalf("RAX = %d after a write that must wait, want the hypercall number", r)
	}
	e.wantNotAdvanced(t)
	if e.v.State != VCPUBlocked || !e.v.consoleWait || e.h.consoleWaiters != 1 {
		t.Fatalf("vCPU %s, consoleWait %v, %d waiters", e.v.State, e.v.consoleWait, e.h.consoleWaiters)
	}
	if e.d.Stats.Hypercalls != 0 {
		t.Errorf("%d hypercalls counted for one not made yet", e.d.Stats.Hypercalls)
	}
	// The UART still busy: pumping wakes no one.
	e.h.nextPump = 0
	e.h.pumpConsole(0)
	if e.v.State != VCPUBlocked {
		t.Fatal("woken with the queue still full")
	}
	u.busy = false
	e.h.nextPump = 0
	e.h.pumpConsole(0)
	if e.v.State != VCPURunnable || e.v.consoleWait || e.h.consoleWaiters != 0 {
		t.Fatalf("after the UART drained: vCPU %s, consoleWait %v, %d waiters", e.v.State, e.v.consoleWait, e.h.consoleWaiters)
	}
	if r := e.vmcall(xen.HypercallConsoleIO, xen.ConsoleIOWrite, uint64(len(msg)), 0x3000); r != int64(len(msg)) {
		t.Fatalf("the write made again = %d", r)
	}
	e.wantAdvanced(t)
	e.h.Console.Pump()
	if !strings.Contains(u.out.String(), "d1.test: waited for the line\n") {
		t.Errorf("the UART got %q", u.out.String()[max(0, u.out.Len()-200):])
	}
}

// COM1's line status says busy while the console's queue has no room for a
// line; a byte written then is lost, as on a UART that overruns.
func TestCOM1Backpressure(t *testing.T) {
	e := newTestVCPU(t, 4)
	u := queuedConsole(e, console.Reserve+2<<10)
	lsr := func() uint64 {
		e.v.Regs.GPR[vmx.RAX] = 0
		e.exit(vmx.ExitReasonIOInstruction, ioQual(0x3fd, 1, true))
		return e.v.Regs.GPR[vmx.RAX] & 0xff
	}
	if got := lsr(); got != 0x60 {
		t.Fatalf("LSR with room = %#x, want 0x60", got)
	}
	e.h.Console.Logger("hv").Printf("%s", strings.Repeat("f", 1500))
	if got := lsr(); got != 0 {
		t.Fatalf("LSR with the queue nearly full = %#x, want 0 (busy)", got)
	}
	for _, c := range []byte("lost\n") {
		e.outb(0x3f8, 1, uint64(c))
	}
	u.busy = false
	e.h.Console.Pump()
	if got := lsr(); got != 0x60 {
		t.Fatalf("LSR after the UART drained = %#x", got)
	}
	for _, c := range []byte("sent\n") {
		e.outb(0x3f8, 1, uint64(c))
	}
	e.h.Console.Pump()
	if out := u.out.String(); strings.Contains(out, "lost") || !strings.Contains(out, "d1.test: sent\n") {
		t.Errorf("the UART got %q", out[max(0, len(out)-100):])
	}
	e.wantRunning(t)
}

// One domain's output may fill the console's queue only up to
// consoleQuota: beyond it that domain waits, and another domain's line
// still goes in.
func TestConsoleQuota(t *testing.T) {
	w := newWorld(t, 24, false)
	d1 := w.addDomain(t, 1, "flood", 4, false)
	d2 := w.addDomain(t, 2, "quiet", 4, false)
	u := &busyUART{busy: true}
	w.h.Console = console.NewQueued(u, 256<<10, func() { u.busy = false })
	d1.d.Console, d2.d.Console = w.h.Console.Logger(d1.d.Label()), w.h.Console.Logger(d2.d.Label())
	line := []byte(strings.Repeat("x", 1000) + "\n")
	d1.write(t, 0x3000, line)
	d2.write(t, 0x3000, []byte("still heard\n"))
	written := 0
	for i := 0; i < 64; i++ {
		d1.v.Regs.RIP, d1.v.Regs.Dirty = testRIP, 0
		if r := d1.vmcall(xen.HypercallConsoleIO, xen.ConsoleIOWrite, uint64(len(line)), 0x3000); r != int64(len(line)) {
			break
		}
		written += len(line)
	}
	if d1.v.State != VCPUBlocked || written > consoleQuota || written < consoleQuota/2 {
		t.Fatalf("the flooding domain wrote %d bytes before it waited (vCPU %s); quota %d", written, d1.v.State, consoleQuota)
	}
	if r := d2.vmcall(xen.HypercallConsoleIO, xen.ConsoleIOWrite, 12, 0x3000); r != 12 {
		t.Fatalf("the other domain's write = %d, want 12: it waited behind the flood", r)
	}
	u.busy = false
	w.h.nextPump = 0
	w.h.pumpConsole(0)
	if d1.v.State != VCPURunnable {
		t.Errorf("the flooding domain still waits after the UART drained (vCPU %s)", d1.v.State)
	}
	if !strings.Contains(u.out.String(), "d2.quiet: still heard\n") {
		t.Error("the other domain's line did not reach the UART")
	}
}

// dom0 relaying a domain's console ring is held to that domain's share of
// the queue: past it, the write is -EAGAIN (dom0 keeps the bytes and tries
// again; it must not wait, it serves every domain).
func TestConsoleRelayShare(t *testing.T) {
	w, d0, d1, _ := newDom0World(t)
	u := &busyUART{busy: true}
	w.h.Console = console.NewQueued(u, 256<<10, func() { u.busy = false })
	d1.d.Console = w.h.Console.Logger(d1.d.Label())
	line := []byte(strings.Repeat("r", 1000) + "\n")
	d0.write(t, 0x6000, line)
	relayed, r := 0, int64(0)
	for i := 0; i < 64; i++ {
		if r = d0.domctl(t, abi.OpConsoleWrite, 1, 0x6000, uint64(len(line))); r != int64(len(line)) {
			break
		}
		relayed += len(line)
	}
	if r != -xen.EAGAIN || relayed > consoleQuota || relayed < consoleQuota/2 {
		t.Fatalf("relayed %d bytes, then %d; want -EAGAIN within the %d-byte share", relayed, r, consoleQuota)
	}
	u.busy = false
	w.h.Console.Pump()
	if r := d0.domctl(t, abi.OpConsoleWrite, 1, 0x6000, uint64(len(line))); r != int64(len(line)) {
		t.Errorf("after the UART drained, the relay = %d", r)
	}
}
