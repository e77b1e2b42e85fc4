//go:build tamago

// Command tamavisor is the hypervisor image: one freestanding TamaGo program
// that boots on an x86-64 PC, takes over the machine and runs domains.
package main

import (
	"runtime"

	"tamavisor/boot"
	"tamavisor/boot/entry"
	"tamavisor/x86"
)

// version is set by the Makefile (-X main.version=...).
var version = "dev"

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
	log.Printf("ready: no domains to run yet")
	boot.PowerOff(0)
}
