//go:build integration

package qemu

import (
	"path/filepath"
	"regexp"
	"strconv"
	"testing"
	"time"

	"tamavisor/qemu/testbed"
)

// domainScenarios is one Bochs boot (Bochs is slow, so the scenarios share
// it): the hello domain runs to its exit status while hostile domains each
// misbehave in their own way, a domain with a broken entry state and images
// that are malformed or too large are refused, and the hypervisor keeps
// serving the others throughout.
// A self-IPI also waits for the first VM entry (tamavisor.irqtest).
const domainScenarios = "tamavisor.irqtest=1 tamavisor.domains=" +
	"hello" +
	"+hostile,name=ept,args=ept" +
	"+hostile,name=vmxon,args=vmxon" +
	"+hostile,name=msr,args=msr" +
	"+hostile,name=spin,args=spin,budget=300" +
	"+hostile,name=panic,args=panic" +
	"+hostile,name=exit7,args=exit=7" +
	"+hello,name=broken,broken=rflags" +
	"+truncated" +
	"+hello,name=toosmall,mem=2" +
	"+hostile,name=cpuidspin,args=cpuidspin,budget=300" +
	"+hostile,name=cpuidstep,args=cpuidstep" +
	"+hostile,name=usercall,args=usercall" +
	"+hostile,name=regs1,args=regs~one+hostile,name=regs2,args=regs~two" +
	"+hello,name=tiny,mem=6"

func TestBochsDomains(t *testing.T) {
	t.Parallel()
	iso := filepath.Join(t.TempDir(), "domains.iso")
	if err := testbed.MakeISO(image, testbed.GRUBConfig("multiboot2", domainScenarios), iso); err != nil {
		t.Fatal(err)
	}
	res := bootImage(t, testbed.Config{Emulator: testbed.Bochs, Boot: testbed.ISO, ISO: iso, CPU: "corei7_skylake_x",
		MemoryMiB: 768, CPUs: 1, Timeout: 6 * time.Minute}) // 13 domains of 32 MiB at once
	expect(t, res,
		`^hv: vmx: VMX root operation; controls`,
		`^hv: irqtest: a self-IPI on vector 0xe0 waits for the first VM entry$`,

		// The first Go guest: prints, sleeps (HLT until the timer's
		// upcall), allocates, checksums, exits with its status.
		`^d1\.hello: hello from a Go domain \(go1\.26\.0, tamavisor true, TSC (399\d\d|400\d\d) kHz\)$`,
		`^d1\.hello: runtime region 0x100000-0x1f00000 \(30 MiB\)$`,
		`^d1\.hello: slept \d+ ms$`,
		`^d1\.hello: allocated 4096 KiB, heap \d+ KiB, \d+ GC cycles, crc32 a0499fb0$`,
		`^hv: d1\.hello: running: \d+ exits \(`,
		`^hv: d1\.hello: shut down: poweroff \(exit status 0\)$`,
		`^hv: d1\.hello: stats: \d+ exits \(.*\); guest [\d.]+ ms`,

		// Memory outside the EPT: ended with an EPT-violation report.
		`^hv: d2\.ept: EPT violation: read to GPA 0xc0000000 \(not mapped\), linear address 0xc0000000`,
		// VMXON inside a domain: #UD.
		`^hv: d3\.vmxon: guest exception #UD \(vector 6\) at RIP 0x[0-9a-f]+`,
		// A forbidden MSR: #GP.
		`^hv: d4\.msr: WRMSR 0x10 = 0x0: not an MSR tamavisor offers: #GP$`,
		`^hv: d4\.msr: guest exception #GP \(vector 13\)`,
		// Spinning forever: preempted, then stopped at its budget.
		`^hv: d5\.spin: stopped: it used its CPU budget of 300 ms \(preempted [1-9]\d* times\)`,
		// Go's panic: a crash with status 2.
		`^d6\.panic: panic: hostile: panicking on purpose$`,
		`^hv: d6\.panic: shut down: crash \(exit status 2\)$`,
		`^hv: d7\.exit7: shut down: crash \(exit status 7\)$`,
		// A broken entry state: refused with the reason.
		`^hv: d8\.broken: refused: VM entry failed: VM-entry failure due to invalid guest state \(exit qualification 0: the guest state breaks the checks of SDM Vol\. 3C 27\.3\.1\)$`,
		// Malformed and too-large images: refused at load with the reason.
		`^hv: cannot create a domain: d9\.truncated: loader: .*truncated`,
		`^hv: cannot create a domain: d9\.toosmall: loader: segment \d+ \[0x[0-9a-f]+-0x[0-9a-f]+\) does not fit in the domain.s memory \(2 MiB\)$`,

		// Spinning on CPUID, which the exit path answers in assembly:
		// the answers agree, and the preemption timer still ends slices.
		`^d9\.cpuidspin: cpuidspin: vendor "GenuineIntel", hypervisor "tamavisor\\x00\\x00\\x00"$`,
		`^d9\.cpuidspin: cpuidspin: xen_version 4\.17, page size 4096, extraversion -38$`,
		`^d9\.cpuidspin: cpuidspin: 2000 rounds agree$`,
		`^hv: d9\.cpuidspin: stopped: it used its CPU budget of 300 ms \(preempted [1-9]\d* times\)`,
		// CPUID under RFLAGS.TF: the trap right after it.
		`^hv: d10\.cpuidstep: guest exception #DB \(vector 1\) at RIP 0x[0-9a-f]+`,
		// Hypercalls from CPL 3, one the exit assembly answers at CPL 0.
		`^d11\.usercall: usercall: xen_version\(XENVER_version\) from CPL 3 = EPERM: ok$`,
		`^d11\.usercall: usercall: console_io\(write, 0 bytes\) from CPL 3 = EPERM: ok$`,
		`^d11\.usercall: usercall: PASS: 4 calls refused as expected; still running$`,
		`^hv: d11\.usercall: shut down: poweroff \(exit status 0\)$`,
		// Two domains fill every GPR and YMM register with patterns of
		// their own and are preempted, in turn, many times: each finds
		// its own pattern intact (no state of the other or the
		// hypervisor's leaks in).
		`^d12\.regs1: regs: 18 rounds with pattern 0x[0-9a-f]+, registers intact$`,
		`^d13\.regs2: regs: 18 rounds with pattern 0x[0-9a-f]+, registers intact$`,
		`^hv: d12\.regs1: stats: .*VMX-preemption timer expired [1-9]`,
		`^hv: d13\.regs2: stats: .*VMX-preemption timer expired [1-9]`,
		// A Go domain whose RAM leaves its runtime no heap arena stops
		// at boot and says why.
		`^d14\.tiny: boot: the Go runtime's region is to be sized from the PVH memory map, but start_info gives no RAM at RamStart that leaves a 4 MiB heap arena`,
		`^hv: d14\.tiny: halted with interrupts disabled and no timer set: it can never wake$`,

		`^hv: power-off status=0$`)

	// Every domain's memory came back.
	m := regexp.MustCompile(`(?m)^hv: all domains ended; free frames (\d+) \(before the domains: (\d+)\)$`).FindStringSubmatch(res.Serial)
	if m == nil {
		t.Fatalf("no final frame count")
	}
	if after, _ := strconv.Atoi(m[1]); strconv.Itoa(after) != m[2] {
		t.Errorf("free frames %s after the domains, %s before: frames leaked", m[1], m[2])
	}
	// hello, not the control domain, saw only its own statistics.
	if m := regexp.MustCompile(`(?m)^hv: (?:stats \(asked by|d(?:[02-9]|1\d)\.\w+: running:).*`).FindString(res.Serial); m != "" {
		t.Errorf("hello's statistics on demand showed more than its own: %q", m)
	}
	// A guest kept running and finished after the EPT violation ended
	// another. (That the spinner was preempted, its stats say below; the
	// order of console lines says little about it now that lines wait in
	// the console's queue.)
	inOrder(t, res, `^hv: d2\.ept: EPT violation`, `^d1\.hello: allocated`, `^hv: d1\.hello: shut down: poweroff`)
	// The two register checkers ran at the same time.
	inOrder(t, res, `^d13\.regs2: hostile: mode`, `^d12\.regs1: regs: 18 rounds`)
	// The single-step trap came right after the emulated CPUID, not one
	// instruction later.
	due := regexp.MustCompile(`(?m)^d10\.cpuidstep: cpuidstep: the trap is due at RIP (0x[0-9a-f]+)$`).FindStringSubmatch(res.Serial)
	got := regexp.MustCompile(`(?m)^hv: d10\.cpuidstep: guest exception #DB \(vector 1\) at RIP (0x[0-9a-f]+)`).FindStringSubmatch(res.Serial)
	if due == nil || got == nil || due[1] != got[1] {
		t.Errorf("single-step trap after CPUID: due at %v, came at %v", due, got)
	}
	// The CPUID spinner's exits are counted though Go saw few of them
	// (5 CPUIDs and 3 hypercalls a round, one of the hypercalls Go's).
	if m := regexp.MustCompile(`(?m)^hv: d9\.cpuidspin: stats: \d+ exits \(CPUID (\d+), VMCALL (\d+),.* (\d+) hypercalls$`).FindStringSubmatch(res.Serial); m == nil {
		t.Errorf("the CPUID spinner's stats do not lead with CPUID and VMCALL")
	} else {
		cpuid, _ := strconv.Atoi(m[1])
		vmcall, _ := strconv.Atoi(m[2])
		calls, _ := strconv.Atoi(m[3])
		if cpuid < 10_000 || vmcall < 6_000 || calls != vmcall {
			t.Errorf("the CPUID spinner's stats count %d CPUID exits, %d VMCALL exits and %d hypercalls; it made 10,000, 6,000 and 6,000 in its first 2,000 rounds", cpuid, vmcall, calls)
		}
	}
	if !regexp.MustCompile(`(?m)^hv: d5\.spin: stats: .*VMX-preemption timer expired [1-9]`).MatchString(res.Serial) {
		t.Errorf("the spinner's stats show no preemption")
	}
	// The host interrupt ended the first VM entry (hello's): its exits
	// count it, the host took it (and every idle wake-up), and the run
	// went on to the end (power-off status 0 above).
	if n := len(regexp.MustCompile(`(?m)^hv: d\d+\.\w+: stats: .*external interrupt`).FindAllString(res.Serial, -1)); n != 1 {
		t.Errorf("%d domains' stats count external interrupts, want 1", n)
	}
	if !regexp.MustCompile(`(?m)^hv: d1\.hello: stats: .*external interrupt 1[,)]`).MatchString(res.Serial) {
		t.Errorf("hello's stats do not count the one external interrupt")
	}
	if !regexp.MustCompile(`(?m)^hv: run loop: \d+ slices run, idle (\d+) times for \d+ ms; [1-9]\d* host interrupts taken$`).MatchString(res.Serial) {
		t.Errorf("the run loop took no host interrupt")
	}
}

// A domain that writes to the console faster than the serial line (Bochs
// models 115,200 baud: some 3,500 emulated instructions a byte) waits for
// it in its own vCPU: a sleeping domain beside it wakes on time (with the
// hypervisor waiting on the UART in the flooder's hypercalls, hello slept
// 175 ms here), and every line of the flood arrives.
func TestBochsConsoleFlood(t *testing.T) {
	t.Parallel()
	iso := filepath.Join(t.TempDir(), "flood.iso")
	if err := testbed.MakeISO(image, testbed.GRUBConfig("multiboot2", "tamavisor.domains=hostile,name=flood,args=consoleflood~48+hello"), iso); err != nil {
		t.Fatal(err)
	}
	res := bootImage(t, testbed.Config{Emulator: testbed.Bochs, Boot: testbed.ISO, ISO: iso, CPU: "corei7_skylake_x",
		MemoryMiB: 512, CPUs: 1, Timeout: 6 * time.Minute})
	expect(t, res,
		`^d1\.flood: consoleflood: 48 lines of 1000 bytes written in \d+ ms$`,
		`^hv: d1\.flood: shut down: poweroff \(exit status 0\)$`,
		`^hv: d2\.hello: shut down: poweroff \(exit status 0\)$`,
		`^hv: power-off status=0$`)
	m := regexp.MustCompile(`(?m)^d2\.hello: slept (\d+) ms$`).FindStringSubmatch(res.Serial)
	if m == nil {
		t.Fatal("hello did not say how long it slept")
	}
	if ms, _ := strconv.Atoi(m[1]); ms > 60 {
		t.Errorf("hello slept %d ms for 50 beside the console flood: the flood held the CPU", ms)
	}
	if n := len(regexp.MustCompile(`(?m)^d1\.flood: x{999}$`).FindAllString(res.Serial, -1)); n != 48 {
		t.Errorf("%d of the flood's 48 lines arrived", n)
	}
}
