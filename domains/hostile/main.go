//go:build tamago

// Command hostile is a domain that misbehaves on purpose, in the way its
// command line (PVH start_info) names, so that tests can check that the
// hypervisor contains it and keeps serving the other domains:
//
//	ept     read memory beyond the domain's RAM: an EPT violation ends it
//	vmxon   execute VMXON: the hypervisor injects #UD
//	msr     write an MSR tamavisor does not offer: the hypervisor injects #GP
//	spin    spin forever without halting: the preemption timer preempts it
//	cpuidspin  spin forever on CPUID and xen_version, which the exit path
//	        answers in assembly (but for one xen_version command it leaves
//	        to Go): the preemption timer must still preempt it, and every
//	        answer must be the first one again
//	cpuidstep  execute CPUID under RFLAGS.TF: the single-step trap (#DB)
//	        must come right after the CPUID the hypervisor emulates, which
//	        ends the domain with a guest-exception report naming that RIP
//	regs SEED  fill the general-purpose and YMM registers with a pattern
//	        of its own, spin while the hypervisor preempts it and runs other
//	        domains (and make hypercalls), and check that every register
//	        still holds it: two such domains must not see each other's
//	        patterns, nor the hypervisor's values
//	consoleflood N  write N lines of 1000 bytes with console_io as fast as
//	        the hypervisor takes them: on a serial line that cannot keep
//	        up, only this domain may wait for it
//	usercall  make hypercalls from CPL 3 (user mode, entered with SYSRET):
//	        each must get -EPERM, the one the exit path answers in
//	        assembly at CPL 0 (xen_version) too, and the domain goes on
//	panic   panic: Go's runtime exits with status 2 (a crash)
//	exit=N  exit with status N
//	domctl  call the privileged domain's control operations: each must fail
//	        with -EPERM, and the domain goes on
//	badargs hand the hypervisor bad pointers, lengths, ports, grant
//	        references and operation numbers: each gets its Xen errno (or
//	        grant status), and the domain goes on
//
//	storeflood  send the store 20,000 requests as fast as it answers
//	heapchurn   keep 6 MiB alive while allocating 64 MiB: the runtime must
//	        collect within the memory the domain's runtime region holds
//
// The domctl and badargs modes print one line per call, "ok" when the
// hypervisor answered as expected, then a summary line that tests look for.
package main

import (
	"fmt"
	"os"
	"strconv"
	"strings"

	"tamavisor/domains/board"
	"tamavisor/x86"
	"tamavisor/xen"
)

func main() {
	mode := board.Cmdline()
	fmt.Printf("hostile: mode %q\n", mode)
	switch {
	case mode == "ept":
		// 3 GiB is far beyond any domain's RAM: not in its EPT.
		v := peek(3 << 30)
		fmt.Printf("FAIL: read 0x%x from outside the domain\n", v)
	case mode == "vmxon":
		vmxon()
		fmt.Println("FAIL: VMXON returned")
	case mode == "msr":
		x86.WriteMSR(0x10, 0) // IA32_TIME_STAMP_COUNTER: not writable by domains
		fmt.Println("FAIL: WRMSR returned")
	case mode == "spin":
		n := 0
		for {
			n++
			if n%100_000_000 == 0 {
				fmt.Printf("spinning: %d\n", n)
			}
		}
	case mode == "cpuidspin":
		cpuidSpin()
	case mode == "cpuidstep":
		fmt.Printf("cpuidstep: the trap is due at RIP %#x\n", stepCPUIDEndAddr())
		stepCPUID()
		fmt.Println("FAIL: no single-step trap")
	case strings.HasPrefix(mode, "regs"):
		os.Exit(regsIntact(board.Cmdline()))
	case strings.HasPrefix(mode, "consoleflood"):
		os.Exit(consoleFlood(mode))
	case mode == "usercall":
		os.Exit(userCalls())
	case mode == "panic":
		panic("hostile: panicking on purpose")
	case mode == "domctl":
		os.Exit(domctl())
	case mode == "badargs":
		os.Exit(badargs())
	case mode == "storeflood":
		os.Exit(storeFlood())
	case mode == "heapchurn":
		os.Exit(heapChurn())
	case strings.HasPrefix(mode, "exit="):
		n, err := strconv.Atoi(strings.TrimPrefix(mode, "exit="))
		if err != nil {
			fmt.Printf("bad exit status: %v\n", err)
			os.Exit(1)
		}
		os.Exit(n)
	default:
		fmt.Printf("unknown mode %q (ept, vmxon, msr, spin, cpuidspin, cpuidstep, regs SEED, consoleflood N, usercall, panic, exit=N, domctl, badargs, storeflood, heapchurn)\n", mode)
		os.Exit(1)
	}
	os.Exit(1)
}

// cpuidSpin asks a few CPUID leaves and xen_version commands over and over:
// the first CPUID answers come from the hypervisor's Go handler, the rest
// from the exit path's cache; xen_version's XENVER_version and
// XENVER_pagesize always from the exit path's, XENVER_extraversion (with
// no buffer: -ENOSYS) always from Go. They must agree round after round.
// It never halts; only its CPU budget ends it.
func cpuidSpin() {
	leaves := [][2]uint32{{0, 0}, {7, 0}, {0xd, 1}, {0x4000_0000, 0}, {0x8000_0000, 0}}
	first := make([][4]uint32, len(leaves))
	for i, l := range leaves {
		a, b, c, d := x86.CPUID(l[0], l[1])
		first[i] = [4]uint32{a, b, c, d}
	}
	cmds := []uint64{xen.XenVerVersion, xen.XenVerPageSize, xen.XenVerExtraVersion}
	firstVer := make([]int64, len(cmds))
	for i, c := range cmds {
		firstVer[i] = board.Hypercall(xen.HypercallXenVersion, c, 0, 0, 0, 0)
	}
	fmt.Printf("cpuidspin: vendor %q, hypervisor %q\n", vendor(first[0][1], first[0][3], first[0][2]), vendor(first[3][1], first[3][2], first[3][3]))
	fmt.Printf("cpuidspin: xen_version %d.%d, page size %d, extraversion %d\n", firstVer[0]>>16, firstVer[0]&0xffff, firstVer[1], firstVer[2])
	for n := 1; ; n++ {
		for i, l := range leaves {
			a, b, c, d := x86.CPUID(l[0], l[1])
			if got := [4]uint32{a, b, c, d}; got != first[i] {
				fmt.Printf("cpuidspin: WRONG: leaf %#x.%d answered %#x, first %#x\n", l[0], l[1], got, first[i])
				os.Exit(1)
			}
		}
		for i, c := range cmds {
			if got := board.Hypercall(xen.HypercallXenVersion, c, 0, 0, 0, 0); got != firstVer[i] {
				fmt.Printf("cpuidspin: WRONG: xen_version %d answered %d, first %d\n", c, got, firstVer[i])
				os.Exit(1)
			}
		}
		if n%2_000 == 0 {
			fmt.Printf("cpuidspin: %d rounds agree\n", n)
		}
	}
}

// vendor spells three CPUID registers as the 12-character string they hold.
func vendor(regs ...uint32) string {
	var b []byte
	for _, r := range regs {
		b = append(b, byte(r), byte(r>>8), byte(r>>16), byte(r>>24))
	}
	return string(b)
}
