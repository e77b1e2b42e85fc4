package hv

import (
	"encoding/binary"

	"tamavisor/hv/evtchn"
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

// The console ring's out half (io/console.h, struct xencons_interface:
// out[2048] at offset 1024, out_cons at 3080, out_prod at 3084).
const (
	consOut     = 1024
	consOutSize = 2048
	consOutCons = 3080
	consOutProd = 3084
)

// drainConsole prints what a domain left in its console ring that its back
// end (dom0) did not read before the domain ended, under the domain's name,
// and marks it consumed so that the back end does not print it again. A
// ring whose indices make no sense is reported, not read.
func (h *Hypervisor) drainConsole(d *Domain) {
	if d.ConsoleGPA == 0 || d.Mem.EPT == nil {
		return
	}
	page := make([]byte, 4096)
	if err := d.Mem.ReadGPA(d.ConsoleGPA, page); err != nil {
		return
	}
	cons := binary.LittleEndian.Uint32(page[consOutCons:])
	prod := binary.LittleEndian.Uint32(page[consOutProd:])
	n := prod - cons
	switch {
	case n == 0:
		return
	case n > consOutSize:
		h.Log.Printf("%s: its console ring is inconsistent (out_cons %d, out_prod %d): not read", d.Label(), cons, prod)
		return
	}
	out := make([]byte, 0, n)
	for i := cons; i != prod; i++ {
		out = append(out, page[consOut+i%consOutSize])
	}
	d.Console.Write(out)
	d.Console.Flush()
	var b [4]byte
	binary.LittleEndian.PutUint32(b[:], prod)
	d.Mem.WriteGPA(d.ConsoleGPA+consOutCons, b[:])
}
