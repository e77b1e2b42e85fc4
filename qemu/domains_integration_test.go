//go:build integration

package qemu

import (
	"fmt"
	"hash/crc32"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"tamavisor/qemu/testbed"
)

// bootBochs boots the image in Bochs with a command line of its own and,
// if any, boot modules: pairs of a module's name and a file on this machine.
func bootBochs(t *testing.T, cmdline string, timeout time.Duration, modules ...string) *testbed.Result {
	t.Helper()
	iso := filepath.Join(t.TempDir(), "tamavisor.iso")
	files := map[string]string{}
	var mods []string
	for i := 0; i+1 < len(modules); i += 2 {
		in := fmt.Sprintf("boot/module%d", i/2)
		files[in] = modules[i+1]
		mods = append(mods, "/"+in+" "+modules[i])
	}
	if err := testbed.MakeISOFiles(image, testbed.GRUBModules(cmdline, mods), iso, files); err != nil {
		t.Fatal(err)
	}
	return bootImage(t, testbed.Config{Emulator: testbed.Bochs, Boot: testbed.ISO, ISO: iso, CPU: "corei7_skylake_x",
		MemoryMiB: 512, CPUs: 1, Timeout: timeout})
}

// noLeak checks the hypervisor's last word: every frame came back.
func noLeak(t *testing.T, res *testbed.Result) {
	t.Helper()
	m := regexp.MustCompile(`(?m)^hv: all domains ended; free frames (\d+) \(before the domains: (\d+)\)$`).FindStringSubmatch(res.Serial)
	if m == nil {
		t.Fatalf("no final frame count")
	}
	if m[1] != m[2] {
		t.Errorf("free frames %s after the domains, %s before: frames leaked", m[1], m[2])
	}
}

// noWrong fails on any check a domain reported as wrong.
func noWrong(t *testing.T, res *testbed.Result) {
	t.Helper()
	for _, l := range strings.Split(res.Serial, "\n") {
		if strings.Contains(l, ": WRONG") || strings.Contains(l, ": FAIL") {
			t.Errorf("a domain reports: %s", l)
		}
	}
}

// servicesScenarios is one Bochs boot of the inter-domain machinery: dom0
// serves the store and consoles; two domains ping-pong 10,000 event
// notifications; two share pages by grant; a domU calls every control
// operation; another hands the hypervisor bad arguments; a Xen PVH guest
// written in C reads a store key; one floods the store with 20,000
// requests, which dom0 must answer without running out of memory (it did
// once, with a 16 MiB runtime region). When they have ended, dom0 creates a
// Go domain that keeps 6 MiB alive while it allocates 64 MiB: with the CPU
// to itself, its collector must keep within its runtime region (the
// board's memory limit; without it the heap outgrows the region). Then dom0
// lists the domains and ends.
const servicesScenarios = "tamavisor.domains=" +
	"dom0,priv=1,args=wait~ping:wait~pong:wait~granter:wait~grantee:wait~domctl:wait~badargs:wait~xenpvh:wait~pvhmod:wait~flood:wait~withmod" +
	":create~hostile~heapchurn~26~256~0~heapchurn:wait~heapchurn:list:shutdown" +
	"+peer,name=ping,args=ping~t1~10000" +
	"+peer,name=pong,args=pong~t1~10000" +
	"+peer,name=granter,args=granter~t2" +
	"+peer,name=grantee,args=grantee~t2" +
	"+hostile,name=domctl,args=domctl" +
	"+hostile,name=badargs,args=badargs" +
	"+xenpvh,mem=2" +
	"+pvhmod,mem=2" + // the same C guest, from a boot module
	"+hostile,name=flood,args=storeflood" +
	"+hello,name=withmod,mem=64,module=pvhmod,module=hostile" + // start_info modules
	"+hello,name=nomod,module=nosuch"

func TestBochsServices(t *testing.T) {
	t.Parallel()
	res := bootBochs(t, servicesScenarios, 8*time.Minute, "pvhmod", "../cmd/tamavisor/images/xenpvh.elf")
	expect(t, res,
		`^d0\.dom0: dom0: serving the store and consoles$`,
		// Events: every notification answered, none lost or doubled.
		`^d1\.ping: ping: 10000 notifications answered: ok$`,
		`^d1\.ping: ping: event-channel round trip: \d+ TSC ticks$`,
		`^d2\.pong: pong: 10000 notifications received, ping sent \[10000\]: ok$`,
		`^d1\.ping: ping: pong counted \[10000\] notifications, 10000 sent: ok$`,
		`^hv: d1\.ping: shut down: poweroff \(exit status 0\)$`,
		`^hv: d2\.pong: shut down: poweroff \(exit status 0\)$`,
		// Grants: data both ways, refusals, revocation, copy.
		`^d4\.grantee: grantee: read the granter's page through the mapping \("written by the granter"\): ok$`,
		`^d3\.granter: granter: the grantee's write arrived in my page \("written by the grantee"\): ok$`,
		`^d4\.grantee: grantee: mapping grant \d+, given to dom0, is refused \(grant map: undefined error\): ok$`,
		`^d4\.grantee: grantee: mapping grant 1000, never given, is refused`,
		`^d4\.grantee: grantee: mapping read-only grant \d+ writable is refused`,
		`^d4\.grantee: grantee: grant copy of 29 bytes \(<nil>, "read-only page of the granter"\): ok$`,
		`^d4\.grantee: grantee: grant copy across the end of the page is refused \(grant copy: copy arguments cross page boundary\): ok$`,
		`^d3\.granter: granter: revoking grant \d+ while it is mapped is refused \(guest: grant \d+ is in use by its grantee\): ok$`,
		`^d4\.grantee: grantee: unmapping it twice is refused \(grant unmap: invalid mapping handle\): ok$`,
		`^d3\.granter: granter: revoking grant \d+ after the unmap \(<nil>\): ok$`,
		`^d4\.grantee: grantee: mapping revoked grant \d+ is refused`,
		`^hv: d3\.granter: shut down: poweroff \(exit status 0\)$`,
		`^hv: d4\.grantee: shut down: poweroff \(exit status 0\)$`,
		// Control operations: -EPERM for a domU, which goes on.
		`^d5\.domctl: domctl: domain_create = EPERM: ok$`,
		`^d5\.domctl: domctl: domain_destroy\(0\) = EPERM: ok$`,
		`^d5\.domctl: domctl: PASS: 10 calls refused as expected; still running$`,
		`^hv: d5\.domctl: shut down: poweroff \(exit status 0\)$`,
		// Bad arguments: clear errors, and the caller goes on.
		`^d6\.badargs: badargs: console_io write from outside RAM = EFAULT: ok$`,
		`^d6\.badargs: badargs: event_channel_op\(send\) to port 4000 = EINVAL: ok$`,
		`^d6\.badargs: badargs: hypercall 4096 by VMCALL = ENOSYS: ok$`,
		`^d6\.badargs: badargs: PASS: 24 calls refused as expected; still running$`,
		`^hv: d6\.badargs: shut down: poweroff \(exit status 0\)$`,
		// A Xen PVH guest in C: console_io, the store, shutdown.
		`^d7\.xenpvh: xenpvh: hello from a C PVH guest$`,
		`^d7\.xenpvh: xenpvh: xen_version 4\.17$`,
		`^d7\.xenpvh: xenpvh: store: name = xenpvh$`,
		// Xen has no exit status: the shutdown reason is the status.
		`^hv: d7\.xenpvh: shut down: poweroff \(no exit status\)$`,
		`^d0\.dom0: dom0: xenpvh has ended$`,
		// A domain from a boot module.
		`^hv: boot module 0: image "pvhmod" \(\d+ bytes\)$`,
		`^d8\.pvhmod: xenpvh: store: name = pvhmod$`,
		`^hv: d8\.pvhmod: shut down: poweroff \(no exit status\)$`,
		// A store flood: every request answered, dom0 still serving.
		`^d9\.flood: storeflood: 20000 requests, 20000 answered ENOENT$`,
		`^hv: d9\.flood: shut down: poweroff \(exit status 0\)$`,
		`^d0\.dom0: dom0: flood has ended$`,
		// A start_info module: the image's bytes at the top of the
		// domain's RAM; a module naming no image refuses the domain.
		`^hv: d10\.withmod: module 0: "pvhmod" at 0x3f[0-9a-f]{5} \(\d+ bytes\)$`,
		`^d10\.withmod: module 0 "pvhmod": \d+ bytes at 0x3f[0-9a-f]{5}, crc32 [0-9a-f]{8}$`,
		`^d10\.withmod: module 1 "hostile": \d+ bytes at 0x[0-9a-f]+, crc32 [0-9a-f]{8}$`,
		`^hv: d10\.withmod: shut down: poweroff \(exit status 0\)$`,
		`^hv: cannot create a domain: d11\.nomod: module 0: no image "nosuch" \(the hypervisor carries \[.*pvhmod.*\]\)$`,
		`^d11\.heapchurn: heapchurn: held 6144 KiB while allocating 65536 KiB, \d+ GC cycles`,
		`^hv: d11\.heapchurn: shut down: poweroff \(exit status 0\)$`,
		`^hv: d0\.dom0: shut down: poweroff \(exit status 0\)$`,
		`^hv: power-off status=0$`)
	noWrong(t, res)
	// The module's bytes arrived whole: the guest's checksum is the file's.
	elf, err := os.ReadFile("../cmd/tamavisor/images/xenpvh.elf")
	if err != nil {
		t.Fatal(err)
	}
	want := fmt.Sprintf(`(?m)^d10\.withmod: module 0 "pvhmod": %d bytes at 0x[0-9a-f]+, crc32 %08x$`, len(elf), crc32.ChecksumIEEE(elf))
	if !regexp.MustCompile(want).MatchString(res.Serial) {
		t.Errorf("the module's size or checksum in the guest is not the file's (%d bytes, crc32 %08x)", len(elf), crc32.ChecksumIEEE(elf))
	}
	// The Go runtime's region ends below the lowest module, in whole MiB.
	mod := regexp.MustCompile(`(?m)^d10\.withmod: module 1 "hostile": \d+ bytes at 0x([0-9a-f]+),`).FindStringSubmatch(res.Serial)
	region := regexp.MustCompile(`(?m)^d10\.withmod: runtime region 0x100000-0x([0-9a-f]+) `).FindStringSubmatch(res.Serial)
	if mod == nil || region == nil {
		t.Fatalf("withmod printed no module 1 or no runtime region")
	}
	at, _ := strconv.ParseUint(mod[1], 16, 64)
	end, _ := strconv.ParseUint(region[1], 16, 64)
	if end != at&^(1<<20-1) {
		t.Errorf("withmod's runtime region ends at %#x, want %#x: the whole MiB below its lowest module at %#x", end, at&^(1<<20-1), at)
	}
	noLeak(t, res)
}

// schedulingScenarios is one Bochs boot of domain control and the
// scheduler: dom0 creates three CPU-bound domains with weights 1:1:2 and
// samples their CPU time, pauses and unpauses one, caps one at 20%,
// destroys them, and creates and destroys 100 more, counting free frames
// throughout.
const schedulingScenarios = "tamavisor.domains=" +
	"dom0,priv=1,args=frames" +
	":create~peer~w1~32~256~0~burn:create~peer~w2~32~256~0~burn:create~peer~w3~32~512~0~burn" +
	":sleep~500:top:sleep~3000:top" +
	":pause~1:sleep~300:top:sleep~300:top:unpause~1:sleep~300:top" +
	":sched~3~512~20:sleep~1500:top" +
	":destroy~1:destroy~2:destroy~3:frames" +
	":cycle~100~xenpvh~2:frames:shutdown"

func TestBochsScheduling(t *testing.T) {
	t.Parallel()
	res := bootBochs(t, schedulingScenarios, 8*time.Minute)
	expect(t, res,
		`^d0\.dom0: dom0: created d1\.w1$`,
		`^d0\.dom0: dom0: created d3\.w3$`,
		`^d0\.dom0: dom0: pause 1: ok$`,
		`^d0\.dom0: dom0: unpause 1: ok$`,
		`^d0\.dom0: dom0: sched 3 512 20: ok$`,
		`^d0\.dom0: dom0: destroy 3: ok$`,
		`^hv: d1\.w1: destroyed by d0\.dom0 \(no exit status\)$`,
		`^d0\.dom0: dom0: cycle: 100 domains created and destroyed; free frames (\d+) before, (\d+) after$`,
		`^hv: d0\.dom0: shut down: poweroff \(exit status 0\)$`,
		`^hv: power-off status=0$`)
	noWrong(t, res)
	noLeak(t, res)

	// CPU time per domain at each top: cpu[i][dom] in ms.
	var cpu []map[string]int
	for _, l := range strings.Split(res.Serial, "\n") {
		m := regexp.MustCompile(`^d0\.dom0: dom0: top: d\d+\.(\w+) cpu (\d+) ms`).FindStringSubmatch(strings.TrimRight(l, "\r"))
		if m == nil {
			continue
		}
		if m[1] == "dom0" {
			cpu = append(cpu, map[string]int{})
		}
		if len(cpu) > 0 {
			cpu[len(cpu)-1][m[1]], _ = strconv.Atoi(m[2])
		}
	}
	if len(cpu) != 6 {
		t.Fatalf("%d top reports, want 6", len(cpu))
	}
	delta := func(a, b int, dom string) int { return cpu[b][dom] - cpu[a][dom] }

	// Weights 1:1:2 over 3 s: shares within 10% of 25/25/50.
	total := 0
	for _, w := range []string{"w1", "w2", "w3"} {
		total += delta(0, 1, w)
	}
	if total < 2000 {
		t.Fatalf("the CPU-bound domains ran %d ms in 3 s", total)
	}
	for w, want := range map[string]float64{"w1": 25, "w2": 25, "w3": 50} {
		share := 100 * float64(delta(0, 1, w)) / float64(total)
		t.Logf("%s: %d ms, %.1f%% (want %.0f%%)", w, delta(0, 1, w), share, want)
		if share < want*0.9 || share > want*1.1 {
			t.Errorf("%s got %.1f%% of the CPU, want %.0f%% ± 10%%", w, share, want)
		}
	}
	// Paused, w1 runs not at all while the others go on; unpaused, it runs.
	if d := delta(2, 3, "w1"); d != 0 {
		t.Errorf("w1 ran %d ms while paused", d)
	}
	if d := delta(2, 3, "w2"); d < 50 {
		t.Errorf("w2 ran %d ms while w1 was paused", d)
	}
	if d := delta(3, 4, "w1"); d < 20 {
		t.Errorf("w1 ran %d ms after unpause", d)
	}

	// Capped at 20% of the CPU for 1.5 s: 300 ms, within 10%; the others
	// take the rest.
	if d := delta(4, 5, "w3"); d < 270 || d > 330 {
		t.Errorf("w3, capped at 20%%, ran %d ms in 1500 ms", d)
	}
	if d := delta(4, 5, "w1") + delta(4, 5, "w2"); d < 1000 {
		t.Errorf("w1 and w2 ran %d ms in 1500 ms beside the capped w3", d)
	}
	t.Logf("capped: w3 %d ms, w1 %d ms, w2 %d ms in 1500 ms", delta(4, 5, "w3"), delta(4, 5, "w1"), delta(4, 5, "w2"))

	// Frames: back to the baseline after the destroys, and after 100
	// create/destroy cycles.
	frames := regexp.MustCompile(`(?m)^d0\.dom0: dom0: free frames: (\d+)\r?$`).FindAllStringSubmatch(res.Serial, -1)
	if len(frames) != 3 {
		t.Fatalf("%d free-frame reports, want 3", len(frames))
	}
	if frames[0][1] != frames[1][1] || frames[1][1] != frames[2][1] {
		t.Errorf("free frames %s before the domains, %s after destroying them, %s after 100 cycles", frames[0][1], frames[1][1], frames[2][1])
	}
	c := regexp.MustCompile(`(?m)^d0\.dom0: dom0: cycle: 100 domains created and destroyed; free frames (\d+) before, (\d+) after`).FindStringSubmatch(res.Serial)
	if c == nil || c[1] != c[2] {
		t.Errorf("the cycles leaked: %v", c)
	}
}

// TestBochsConsole types commands on the serial console: dom0, without a
// script, reads them through CONSOLEIO_read when VIRQ_CONSOLE says input
// waits, and runs them.
func TestBochsConsole(t *testing.T) {
	t.Parallel()
	iso := filepath.Join(t.TempDir(), "tamavisor.iso")
	if err := testbed.MakeISO(image, testbed.GRUBConfig("multiboot2", "tamavisor.domains=dom0,priv=1+hello"), iso); err != nil {
		t.Fatal(err)
	}
	res := bootImage(t, testbed.Config{Emulator: testbed.Bochs, Boot: testbed.ISO, ISO: iso, CPU: "corei7_skylake_x",
		MemoryMiB: 512, CPUs: 1, Timeout: 5 * time.Minute,
		InputAfter: "dom0: control console: type a command",
		Input:      []string{"list", "create peer b1 32 256 0 burn", "bogus", "destroy 2", "frames", "shutdown"}})
	expect(t, res,
		`^d0\.dom0: dom0: control console: type a command and Enter \(help lists them\)$`,
		`^d0\.dom0: dom0> list$`,
		`^d0\.dom0: dom0: 0    dom0         running `,
		`^d0\.dom0: dom0> create peer b1 32 256 0 burn$`,
		`^d0\.dom0: dom0: created d2\.b1$`,
		`^d2\.b1: burn: computing$`,
		`^d0\.dom0: dom0: unknown command "bogus" \(help lists them\)$`,
		`^d0\.dom0: dom0: destroy 2: ok$`,
		`^hv: d2\.b1: destroyed by d0\.dom0 \(no exit status\)$`,
		`^d0\.dom0: dom0: free frames: \d+$`,
		`^d0\.dom0: dom0: shutting down$`,
		`^hv: power-off status=0$`)
	noLeak(t, res)
}
