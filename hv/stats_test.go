package hv

import (
	"math"
	"math/big"
	"testing"

	"tamavisor/vmx"
)

func TestStatsCount(t *testing.T) {
	var s Stats
	for _, r := range []vmx.ExitReason{vmx.ExitReasonCPUID, vmx.ExitReasonCPUID, vmx.ExitReasonHLT, 0, vmx.NumExitReasons - 1,
		vmx.NumExitReasons, 500, 0xffff} {
		s.Count(r)
	}
	if s.Exits[vmx.ExitReasonCPUID] != 2 || s.Exits[vmx.ExitReasonHLT] != 1 || s.Exits[0] != 1 || s.Exits[vmx.NumExitReasons-1] != 1 {
		t.Errorf("exits %v", s.Exits)
	}
	if s.OtherExits != 3 {
		t.Errorf("%d other exits, want 3", s.OtherExits)
	}
	if s.Total() != 8 {
		t.Errorf("total %d, want 8", s.Total())
	}
	if (&Stats{}).Total() != 0 {
		t.Error("empty stats have exits")
	}
}

// The exits the fast paths answered count as CPUID and VMCALL exits (and
// hypercalls), once: their counters are zeroed when taken.
func TestStatsTakeFast(t *testing.T) {
	var s Stats
	s.Count(vmx.ExitReasonVMCALL)
	s.Hypercalls = 1
	r := &vmx.GuestRegs{FastCPUID: 5, FastVMCALL: 7}
	s.takeFast(r)
	s.takeFast(r)
	if s.Exits[vmx.ExitReasonCPUID] != 5 || s.Exits[vmx.ExitReasonVMCALL] != 8 || s.Hypercalls != 8 {
		t.Errorf("CPUID %d, VMCALL %d, hypercalls %d; want 5, 8, 8", s.Exits[vmx.ExitReasonCPUID], s.Exits[vmx.ExitReasonVMCALL], s.Hypercalls)
	}
	if r.Fast() != 0 {
		t.Errorf("%d fast exits left after taking them", r.Fast())
	}
}

func TestStatsString(t *testing.T) {
	c := Clock{KHz: testKHz}
	var s Stats
	s.Exits[vmx.ExitReasonHLT] = 3
	s.Exits[vmx.ExitReasonCPUID] = 10
	s.Exits[vmx.ExitReasonVMCALL] = 3 // same count as HLT: by reason number
	s.Exits[vmx.ExitReasonIOInstruction] = 250
	s.OtherExits = 2
	s.GuestTicks = 30_000_000 // 750 ms at 40 MHz
	s.HostTicks = 10_000_000  // 250 ms
	s.Preemptions = 7
	s.Hypercalls = 3
	want := "268 exits (I/O instruction 250, CPUID 10, HLT 3, VMCALL 3, other 2); " +
		"guest 750.0 ms (75.0%), hypervisor 250.0 ms (25.0%); 7 preemptions, 3 hypercalls"
	if got := s.String(c); got != want {
		t.Errorf("String =\n  %q\nwant\n  %q", got, want)
	}
	if got, want := (&Stats{}).String(c),
		"0 exits (); guest 0.0 ms (0.0%), hypervisor 0.0 ms (0.0%); 0 preemptions, 0 hypercalls"; got != want {
		t.Errorf("empty: %q, want %q", got, want)
	}
	s = Stats{GuestTicks: 2, HostTicks: 1}
	if got, want := s.String(c),
		"0 exits (); guest 0.0 ms (66.7%), hypervisor 0.0 ms (33.3%); 0 preemptions, 0 hypercalls"; got != want {
		t.Errorf("thirds: %q, want %q", got, want)
	}
	// The names are vmx's.
	if vmx.ExitReasonIOInstruction.String() != "I/O instruction" || vmx.ExitReasonCPUID.String() != "CPUID" {
		t.Fatal("exit reason names changed: update the expected strings")
	}
}

// exact computes x*num/den rounded down, saturating at 2^64-1.
func exact(x, num, den uint64) uint64 {
	if den == 0 {
		return math.MaxUint64
	}
	q := new(big.Int).Mul(new(big.Int).SetUint64(x), new(big.Int).SetUint64(num))
	q.Quo(q, new(big.Int).SetUint64(den))
	if !q.IsUint64() {
		return math.MaxUint64
	}
	return q.Uint64()
}

func TestClock(t *testing.T) {
	for _, khz := range []uint64{40_000, 2_600_000, 3_000_000, 1} {
		c := Clock{KHz: khz}
		// 1 s is KHz*1000 ticks, exactly.
		if got := c.Ticks(1_000_000_000); got != khz*1000 {
			t.Errorf("%d kHz: Ticks(1 s) = %d", khz, got)
		}
		if got := c.Nanos(khz * 1000); got != 1_000_000_000 {
			t.Errorf("%d kHz: Nanos(%d) = %d", khz, khz*1000, got)
		}
		for _, v := range []uint64{0, 1, 24, 25, 999, 1_000_000, 123_456_789_012, 1 << 40, 1 << 50,
			100 * 365 * 24 * 3600 * 1_000_000_000, // a century in ns: ns*kHz overflows 64 bits
			1 << 62, math.MaxUint64 / 3, math.MaxUint64} {
			if got, want := c.Ticks(v), exact(v, khz, 1_000_000); got != want {
				t.Errorf("%d kHz: Ticks(%d) = %d, want %d", khz, v, got, want)
			}
			if got, want := c.Nanos(v), exact(v, 1_000_000, khz); got != want {
				t.Errorf("%d kHz: Nanos(%d) = %d, want %d", khz, v, got, want)
			}
			// Round trips lose less than one tick or nanosecond.
			if ticks := c.Ticks(v); ticks != math.MaxUint64 {
				if ns := c.Nanos(ticks); ns > v || v-ns > 1_000_000/khz+1 {
					t.Errorf("%d kHz: Nanos(Ticks(%d)) = %d", khz, v, ns)
				}
			}
			if ns := c.Nanos(v); ns != math.MaxUint64 {
				if ticks := c.Ticks(ns); ticks > v || v-ticks > khz/1_000_000+1 {
					t.Errorf("%d kHz: Ticks(Nanos(%d)) = %d", khz, v, ticks)
				}
			}
		}
	}
	// At 40 MHz a tick is 25 ns: the conversions are exact both ways.
	c := Clock{KHz: 40_000}
	for _, ticks := range []uint64{1, 40_000_000, 1 << 59} {
		if got := c.Ticks(c.Nanos(ticks)); got != ticks {
			t.Errorf("40 MHz: Ticks(Nanos(%d)) = %d", ticks, got)
		}
	}
	if got := c.Nanos(1 << 59); got != 25<<59 {
		t.Errorf("40 MHz: Nanos(2^59) = %d, want 25*2^59 without overflow", got)
	}
	// Saturation, not wrap-around.
	if got := c.Nanos(1 << 60); got != math.MaxUint64 {
		t.Errorf("40 MHz: Nanos(2^60) = %d, want saturation", got)
	}
	if got := (Clock{KHz: 2_600_000}).Ticks(math.MaxUint64 / 2); got != math.MaxUint64 {
		t.Errorf("2.6 GHz: Ticks(2^63) = %d, want saturation", got)
	}
	if got := (Clock{}).Nanos(5); got != math.MaxUint64 {
		t.Errorf("0 kHz: Nanos = %d, want saturation", got)
	}
}

func TestClockMillis(t *testing.T) {
	c := Clock{KHz: testKHz}
	for _, tt := range []struct {
		ticks uint64
		want  string
	}{
		{0, "0.0"}, {60_000, "1.5"}, {39_999, "0.9"}, {40_000_000, "1000.0"}, {3_999, "0.0"}, {4_000, "0.1"},
	} {
		if got := c.Millis(tt.ticks); got != tt.want {
			t.Errorf("Millis(%d) = %q, want %q", tt.ticks, got, tt.want)
		}
	}
}
