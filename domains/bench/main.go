//go:build tamago

// Command bench measures, from inside a domain, what a VM exit costs: the
// round trip of CPUID (which always exits) and of a null hypercall
// (xen_version), and the time of a CPU-bound loop that makes no exits.
// Under Bochs, whose TSC counts emulated instructions, the figures are path
// lengths in instructions. It prints "bench: NAME: VALUE" lines, which
// `make bench` collects.
package main

import (
	"fmt"
	"os"

	"tamavisor/domains/bench/work"
	"tamavisor/domains/board"
	"tamavisor/x86"
	"tamavisor/xen"
)

const iterations = 2000

func main() {
	// Warm up: the first exits of each kind fault in code and data.
	for i := 0; i < 100; i++ {
		x86.CPUID(0, 0)
		board.Hypercall(xen.HypercallXenVersion, xen.XenVerVersion, 0, 0, 0, 0)
	}

	t0 := x86.RDTSC()
	for i := 0; i < iterations; i++ {
		x86.CPUID(0, 0)
	}
	t1 := x86.RDTSC()
	for i := 0; i < iterations; i++ {
		board.Hypercall(xen.HypercallXenVersion, xen.XenVerVersion, 0, 0, 0, 0)
	}
	t2 := x86.RDTSC()
	// The loop overhead alone, to subtract.
	for i := 0; i < iterations; i++ {
		x86.RDTSC()
	}
	t3 := x86.RDTSC()
	overhead := (t3 - t2) / iterations

	fmt.Printf("bench: cpuid-roundtrip: %d TSC ticks\n", (t1-t0)/iterations-overhead)
	fmt.Printf("bench: null-hypercall-roundtrip: %d TSC ticks\n", (t2-t1)/iterations-overhead)

	l0 := x86.RDTSC()
	sum := work.Loop(work.Rounds)
	l1 := x86.RDTSC()
	fmt.Printf("bench: domain-loop: %d TSC ticks (result %#x)\n", l1-l0, sum)
	os.Exit(0)
}
