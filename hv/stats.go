package hv

import (
	"fmt"
	"sort"
	"strings"

	"tamavisor/vmx"
)

// Stats counts a domain's VM exits by reason and splits its time between
// the guest and the hypervisor (in TSC ticks).
type Stats struct {
	Exits       [vmx.NumExitReasons]uint64
	OtherExits  uint64 // exit reasons beyond the table
	GuestTicks  uint64 // time in VMX non-root operation
	HostTicks   uint64 // time handling its exits
	Preemptions uint64 // time slices ended by the preemption timer
	Hypercalls  uint64
}

// HostStats counts what the run loop did on this CPU.
type HostStats struct {
	Switches    uint64 // slices run (each a scheduling decision that ran a vCPU)
	IdleEntries uint64 // times no vCPU could run
	IdleTicks   uint64 // TSC ticks spent idle
}

// Count records one exit.
func (s *Stats) Count(r vmx.ExitReason) {
	if int(r) < len(s.Exits) {
		s.Exits[r]++
	} else {
		s.OtherExits++
	}
}

// takeFast counts the exits the exit path's fast paths answered (CPUID and
// hypercalls from vmx.GuestRegs' caches) and zeroes their counters.
func (s *Stats) takeFast(r *vmx.GuestRegs) {
	s.Exits[vmx.ExitReasonCPUID] += r.FastCPUID
	s.Exits[vmx.ExitReasonVMCALL] += r.FastVMCALL
	s.Hypercalls += r.FastVMCALL
	r.FastCPUID, r.FastVMCALL = 0, 0
}

// Total is the number of exits.
func (s *Stats) Total() uint64 {
	t := s.OtherExits
	for _, n := range s.Exits {
		t += n
	}
	return t
}

// String summarizes the statistics in one line: exits by reason, most
// frequent first, and the time split.
func (s *Stats) String(c Clock) string {
	type kv struct {
		r vmx.ExitReason
		n uint64
	}
	var byReason []kv
	for r, n := range s.Exits {
		if n != 0 {
			byReason = append(byReason, kv{vmx.ExitReason(r), n})
		}
	}
	sort.Slice(byReason, func(i, j int) bool {
		return byReason[i].n > byReason[j].n || byReason[i].n == byReason[j].n && byReason[i].r < byReason[j].r
	})
	var parts []string
	for _, x := range byReason {
		parts = append(parts, fmt.Sprintf("%s %d", x.r, x.n))
	}
	if s.OtherExits != 0 {
		parts = append(parts, fmt.Sprintf("other %d", s.OtherExits))
	}
	total := s.GuestTicks + s.HostTicks
	pct := func(x uint64) string {
		if total == 0 {
			return "0.0"
		}
		return fmt.Sprintf("%.1f", 100*float64(x)/float64(total))
	}
	return fmt.Sprintf("%d exits (%s); guest %s ms (%s%%), hypervisor %s ms (%s%%); %d preemptions, %d hypercalls",
		s.Total(), strings.Join(parts, ", "), c.Millis(s.GuestTicks), pct(s.GuestTicks),
		c.Millis(s.HostTicks), pct(s.HostTicks), s.Preemptions, s.Hypercalls)
}

// Clock converts between TSC ticks and the nanoseconds of the domains'
// clock. Domains read the TSC directly and learn its frequency in kHz from
// tamavisor's CPUID leaf, so the hypervisor converts with that same kHz
// figure: a domain's deadline and the hypervisor's agree to the tick.
type Clock struct{ KHz uint64 }

// Nanos converts TSC ticks to nanoseconds.
func (c Clock) Nanos(ticks uint64) uint64 {
	hi, lo := mul64(ticks, 1_000_000)
	return div128(hi, lo, c.KHz)
}

// Ticks converts nanoseconds to TSC ticks.
func (c Clock) Ticks(ns uint64) uint64 {
	hi, lo := mul64(ns, c.KHz)
	return div128(hi, lo, 1_000_000)
}

// Millis formats ticks as milliseconds with one decimal.
func (c Clock) Millis(ticks uint64) string {
	ns := c.Nanos(ticks)
	return fmt.Sprintf("%d.%d", ns/1_000_000, ns/100_000%10)
}
