package hv

import (
	"testing"

	"tamavisor/xen"
)

// TestConsoleInput: what the console receives waits for the privileged
// domain's CONSOLEIO_read, at most count bytes at a time, bounded in
// total; a read with nothing waiting returns 0; a bad buffer is -EFAULT and
// loses nothing.
func TestConsoleInput(t *testing.T) {
	e := newTestVCPU(t, 4)
	e.d.Privileged = true
	typed := []byte("list\r")
	e.h.ConsoleIn = func() (byte, bool) {
		if len(typed) == 0 {
			return 0, false
		}
		c := typed[0]
		typed = typed[1:]
		return c, true
	}
	now := uint64(1)
	e.h.pollConsole(now)
	if string(e.h.consoleIn) != "list\r" {
		t.Fatalf("waiting input %q", e.h.consoleIn)
	}
	// Within the millisecond, the console is not read again.
	typed = []byte("x")
	e.h.pollConsole(now + e.h.Clock.Ticks(999_000))
	if string(e.h.consoleIn) != "list\r" || len(typed) != 1 {
		t.Fatalf("polled again within a millisecond: %q waiting", e.h.consoleIn)
	}
	typed = nil
	if r := e.vmcall(xen.HypercallConsoleIO, xen.ConsoleIORead, 16, 4<<20); r != efault {
		t.Errorf("read into a buffer beyond memory = %d, want %d", r, efault)
	}
	if r := e.vmcall(xen.HypercallConsoleIO, xen.ConsoleIORead, 3, 0x1000); r != 3 || string(e.read(t, 0x1000, 3)) != "lis" {
		t.Errorf("read of 3 = %d, %q", r, e.read(t, 0x1000, 3))
	}
	if r := e.vmcall(xen.HypercallConsoleIO, xen.ConsoleIORead, 16, 0x1000); r != 2 || string(e.read(t, 0x1000, 2)) != "t\r" {
		t.Errorf("read of the rest = %d, %q", r, e.read(t, 0x1000, 2))
	}
	if r := e.vmcall(xen.HypercallConsoleIO, xen.ConsoleIORead, 16, 0x1000); r != 0 {
		t.Errorf("read with nothing waiting = %d", r)
	}
	e.wantRunning(t)

	// A flood is bounded: the rest is dropped and counted.
	e.h.ConsoleIn = func() (byte, bool) { return 'x', true }
	for i := 0; i < 2*maxConsoleIn/64; i++ {
		now += e.h.Clock.Ticks(1_000_000)
		e.h.pollConsole(now)
	}
	if len(e.h.consoleIn) != maxConsoleIn || e.h.consoleDropped != maxConsoleIn {
		t.Errorf("%d bytes waiting, %d dropped; want %d and %d", len(e.h.consoleIn), e.h.consoleDropped, maxConsoleIn, maxConsoleIn)
	}
}
