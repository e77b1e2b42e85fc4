package hv

import (
	"tamavisor/ept"
	"tamavisor/hv/evtchn"
	"tamavisor/mem"
	"tamavisor/xen/ring"
)

// maxConsoleIn bounds the console input that waits for the privileged
// domain; what arrives beyond it is dropped and counted.
const maxConsoleIn = 4096

// pollConsole takes what the console received (ConsoleIn) and tells the
// privileged domain through VIRQ_CONSOLE (public/xen.h), as Xen does for
// input on its serial console. It looks at most once a millisecond: the run
// loop calls it at every scheduling decision, and a UART register read
// costs about a microsecond on real hardware.
func (h *Hypervisor) pollConsole(now uint64) {
	if h.ConsoleIn == nil || now < h.consoleNext {
		return
	}
	h.consoleNext = now + h.Clock.Ticks(1_000_000)
	got := false
	for i := 0; i < 64; i++ {
		c, ok := h.ConsoleIn()
		if !ok {
			break
		}
		if len(h.consoleIn) >= maxConsoleIn {
			if h.consoleDropped++; h.consoleDropped == 1 {
				h.Log.Printf("console input: %d bytes wait unread (no privileged domain reads them); dropping the rest", maxConsoleIn)
			}
			continue
		}
		h.consoleIn = append(h.consoleIn, c)
		got = true
	}
	if got {
		dl, _ := h.Events.SendGlobalVIRQ(evtchn.VIRQConsole)
		h.deliver(dl)
	}
}

// drainConsole prints what a domain left in its console ring that its back
// end (dom0) did not read before the domain ended, under the domain's name,
// and marks it consumed so that the back end does not print it again. The
// ring code (xen/ring, io/console.h) reads it, and refuses a ring whose
// indices make no sense.
func (h *Hypervisor) drainConsole(d *Domain) {
	if d.ConsoleGPA == 0 || d.Mem.EPT == nil {
		return
	}
	b, err := d.Mem.page(d.ConsoleGPA, mem.PageSize, ept.RW)
	if err != nil || len(b) != mem.PageSize {
		return
	}
	page, err := ring.NewPage(b)
	if err != nil {
		return
	}
	out, err := ring.ConsoleOut(page)
	if err != nil {
		return
	}
	buf := make([]byte, out.Size())
	n, err := out.Read(buf)
	if err != nil {
		h.Log.Printf("%s: its console ring is not read: %v", d.Label(), err)
		return
	}
	if n > 0 {
		d.Console.Write(buf[:n])
		d.Console.Flush()
	}
}
