package hv

import (
	"strings"
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

// What a domain left unread in its console ring is printed when it ends,
// under its name, and marked read; a ring with nonsense indices is
// reported, not read.
func TestDrainConsole(t *testing.T) {
	w := newWorld(t, 24, false)
	d1 := w.addDomain(t, 1, "one", 4, false)
	const outCons, outProd = 3080, 3084 // io/console.h, struct xencons_interface
	d1.write(t, d1.d.ConsoleGPA+1024, []byte("last words\n"))
	d1.write(t, d1.d.ConsoleGPA+outProd, []byte{11, 0, 0, 0})
	w.h.drainConsole(d1.d)
	if got := w.out.String(); !strings.Contains(got, "d1.one: last words") {
		t.Errorf("console output %q, want the domain's last words", got)
	}
	if cons := d1.read(t, d1.d.ConsoleGPA+outCons, 4); cons[0] != 11 {
		t.Errorf("out_cons %v after the drain, want 11", cons)
	}
	d1.write(t, d1.d.ConsoleGPA+outProd, []byte{0, 0, 1, 0}) // 64 KiB ahead of out_cons
	w.h.drainConsole(d1.d)
	if got := w.out.String(); !strings.Contains(got, "d1.one: its console ring is not read") {
		t.Errorf("a broken ring was not reported: %q", got)
	}
	w.check(t)
}
