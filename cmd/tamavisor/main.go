//go:build tamago

// Command tamavisor is the hypervisor image: one freestanding TamaGo program
// that boots on an x86-64 PC, takes over the machine and runs domains.
package main

import (
	"runtime"

	"tamavisor/boot"
	"tamavisor/boot/entry"
	"tamavisor/console"
	"tamavisor/domains/bench/work"
	"tamavisor/hv"
	"tamavisor/vmx"
	"tamavisor/x86"
)

// version is set by the Makefile (-X main.version=...).
var version = "dev"

// defaultDomains runs when the command line names none.
const defaultDomains = "hello"

func main() {
	log := boot.Console.Logger("hv")
	log.Printf("tamavisor %s (%s, %s/%s)", version, runtime.Version(), runtime.GOOS, runtime.GOARCH)

	m, err := boot.Start(log)
	if err != nil {
		log.Printf("%v", err)
		log.Printf("halting: cannot continue")
		boot.Halt()
	}
	now := x86.RDTSC()
	log.Printf("bench: reset-to-banner: %d TSC ticks", now)
	log.Printf("bench: entry-to-banner: %d TSC ticks", now-entry.EntryTSC())

	if m.VMX == nil {
		log.Printf("halting: tamavisor needs Intel VT-x, and this machine does not offer it (see the vmx line above)")
		boot.Halt()
	}
	cpu, err := vmx.Enable(m.VMX, m.Frames, m.Phys)
	if err != nil {
		log.Printf("vmx: cannot enter VMX operation: %v", err)
		log.Printf("halting: cannot continue")
		boot.Halt()
	}
	for _, l := range cpu.Log {
		log.Printf("vmx: %s", l)
	}
	log.Printf("vmx: VMX root operation; controls pin %#x proc %#x proc2 %#x exit %#x entry %#x",
		cpu.Controls.Pin, cpu.Controls.Proc, cpu.Controls.Proc2, cpu.Controls.Exit, cpu.Controls.Entry)

	if m.Options.Has("tamavisor.bench", "loop") {
		// The benchmark's loop, bare: no VMX non-root, no exits.
		t0 := x86.RDTSC()
		sum := work.Loop(work.Rounds)
		log.Printf("bench: bare-loop: %d TSC ticks (result %#x)", x86.RDTSC()-t0, sum)
	}

	h := hv.New(cpu, m.Frames, m.Phys, m.TSCHz/1000, boot.Console)
	h.Images = images()
	moduleImages(h.Images, m.Info.Modules, m.Phys, log)
	h.ConsoleIn = boot.ConsoleRead
	// Every interrupt vector gets a handler: an interrupt that arrives
	// while a guest runs is taken after its VM exit (hv handleExternalInterrupt).
	if err := x86.HandleInterrupts(); err != nil {
		log.Printf("interrupts: %v", err)
		log.Printf("halting: cannot continue")
		boot.Halt()
	}
	if t, err := x86.NewDeadlineTimer(); err == nil {
		h.Idle = t.HaltUntil
		h.TakeInterrupts = t.TakeInterrupts
		log.Printf("idle: an idle CPU halts until the local APIC's TSC-deadline timer fires")
	} else {
		log.Printf("idle: an idle CPU polls the TSC: %v", err)
	}
	spec := defaultDomains
	if s, ok := m.Options["tamavisor.domains"]; ok {
		spec = s
	}
	specs, err := hv.ParseSpecs(spec)
	if err != nil {
		log.Printf("%v", err)
		log.Printf("halting: cannot continue")
		boot.Halt()
	}
	baseline := m.Frames.FreeFrames()
	for _, sp := range specs {
		if _, err := h.CreateDomain(sp); err != nil {
			log.Printf("cannot create a domain: %v", err)
		}
	}
	if v, ok := m.Options["tamavisor.irqtest"]; ok {
		sendIRQTest(v, log)
	}
	h.Run()
	log.Printf("run loop: %d slices run, idle %d times for %d ms; %d host interrupts taken", h.Stats.Switches, h.Stats.IdleEntries, h.Clock.Nanos(h.Stats.IdleTicks)/1_000_000, x86.Interrupts())
	log.Printf("all domains ended; free frames %d (before the domains: %d)", m.Frames.FreeFrames(), baseline)
	boot.PowerOff(0)
}

// irqTestVector is the vector of tamavisor.irqtest's self-IPI: a fixed
// interrupt's vector (32-255) that nothing else uses.
const irqTestVector = 0xe0

// sendIRQTest sends the CPU a self-IPI before the domains run
// (tamavisor.irqtest=1, test only): the hypervisor runs with interrupts
// off, so it waits in the local APIC until the first VM entry, which it
// ends at once with an external-interrupt VM exit; the host must take it
// and go on.
func sendIRQTest(v string, log *console.Logger) {
	if v != "1" {
		log.Printf("irqtest: tamavisor.irqtest=%q: only 1; no interrupt sent", v)
		return
	}
	if err := x86.SelfIPI(irqTestVector); err != nil {
		log.Printf("irqtest: %v; no interrupt sent", err)
		return
	}
	log.Printf("irqtest: a self-IPI on vector %#x waits for the first VM entry", irqTestVector)
}
