// Package board lets an ordinary Go program, built with GOOS=tamago, run as
// a tamavisor domain, as TamaGo's board packages do for real boards. Import
// it for its side effects:
//
//	import _ "tamavisor/domains/board"
//
// It provides the TamaGo runtime hooks (runtime/goos) in terms of what a
// domain has: the console is Xen's console_io hypercall, time is the TSC at
// the frequency tamavisor's CPUID leaf gives, the idle CPU sleeps in HLT
// until a Xen single-shot timer (VCPUOP_set_singleshot_timer) wakes it with
// the upcall vector, and os.Exit shuts the domain down through
// SCHEDOP_shutdown with the exit status. It starts through the PVH entry
// (package boot/entry, shared with the hypervisor).
//
// Build a domain with the linkcpuinit and linkramstart tags and the link
// address TextAddress (see the Makefile's domain rule).
package board
