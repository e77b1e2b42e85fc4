package sched

import (
	"fmt"
	"testing"
)

// BenchmarkPickCharge measures one scheduling decision: Pick, then Charge
// for the slice, with n CPU-bound vCPUs of mixed weights on one CPU (the
// accounting at each period boundary included).
func BenchmarkPickCharge(b *testing.B) {
	for _, n := range []int{3, 30, 300} {
		b.Run(fmt.Sprint(n), func(b *testing.B) {
			s := New(1, testConfig())
			for i := range n {
				must(b, s.Add(VCPUID(i), DomID(i), 128<<(i%4), 0))
			}
			now := uint64(0)
			b.ReportAllocs()
			b.ResetTimer()
			for range b.N {
				v, slice, ok := s.Pick(0, now)
				if !ok {
					b.Fatal("idle")
				}
				now += slice
				s.Charge(0, v, slice, now)
			}
			// The scheduler's cost as a share of the CPU time it hands
			// out, in parts per million.
			b.ReportMetric(float64(now)/float64(b.N)/1e3, "sim-us/op")
			b.ReportMetric(1e6*float64(b.Elapsed().Nanoseconds())/float64(now), "ppm")
		})
	}
}

// BenchmarkWakeBlock adds a wake and a block per decision: an I/O-bound vCPU
// among n-1 hogs, with boost and preemption.
func BenchmarkWakeBlock(b *testing.B) {
	for _, n := range []int{3, 30, 300} {
		b.Run(fmt.Sprint(n), func(b *testing.B) {
			s := New(1, testConfig())
			for i := range n {
				must(b, s.Add(VCPUID(i), DomID(i), 256, 0))
			}
			now := uint64(0)
			b.ReportAllocs()
			b.ResetTimer()
			for range b.N {
				s.Wake(0, now)
				v, slice, _ := s.Pick(0, now)
				if v == 0 {
					slice = min(slice, 100*us)
					s.Block(0, now+slice)
				}
				now += slice
				s.Charge(0, v, slice, now)
			}
		})
	}
}
