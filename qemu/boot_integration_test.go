//go:build integration

package qemu

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"tamavisor/boot/mbheader"
	"tamavisor/qemu/testbed"
)

// The image and ISO that `make iso` builds; `make test` builds them first.
var (
	image = filepath.Join("..", "build", "tamavisor.elf")
	iso   = filepath.Join("..", "build", "tamavisor.iso")
)

// logRoot keeps every boot's serial and emulator logs.
var logRoot = filepath.Join("..", "build", "test-logs")

// need fails the test in CI, and skips it elsewhere, when the machine lacks
// what the configuration needs.
func need(t *testing.T, cfg testbed.Config) {
	t.Helper()
	for _, f := range []string{cfg.Image, cfg.ISO} {
		if f == "" {
			continue
		}
		if _, err := os.Stat(f); err != nil {
			t.Fatalf("%s is missing: run `make iso` first (make test does): %v", f, err)
		}
	}
	if err := testbed.Missing(cfg); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("CI=true and this machine cannot run the test: %v", err)
		}
		t.Skipf("skipped (it fails under CI=true): %v", err)
	}
}

// bootImage runs one configuration, failing the test (and pointing at the
// logs) if it does not end by itself.
func bootImage(t *testing.T, cfg testbed.Config) *testbed.Result {
	t.Helper()
	need(t, cfg)
	if cfg.Name == "" {
		cfg.Name = strings.ReplaceAll(t.Name(), "/", "-")
	}
	cfg.LogDir = filepath.Join(logRoot, cfg.Name)
	if cfg.Timeout == 0 {
		cfg.Timeout = 2 * time.Minute
	}
	res, err := testbed.Run(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("%s: %s, logs in %s", strings.Join(testbed.Describe(cfg), " "), res.Elapsed.Round(time.Millisecond), res.LogDir)
	if res.TimedOut {
		t.Fatalf("timed out after %s; serial log %s:\n%s", cfg.Timeout, filepath.Join(res.LogDir, "serial.log"), res.Serial)
	}
	return res
}

// expect checks that every pattern matches a serial line.
func expect(t *testing.T, res *testbed.Result, patterns ...string) {
	t.Helper()
	for _, p := range patterns {
		if !regexp.MustCompile(`(?m)` + p).MatchString(res.Serial) {
			t.Errorf("no serial line matches %q; serial log %s:\n%s", p, filepath.Join(res.LogDir, "serial.log"), res.Serial)
			return
		}
	}
}

// inOrder checks that the first lines matching the patterns come in the
// order given.
func inOrder(t *testing.T, res *testbed.Result, patterns ...string) {
	t.Helper()
	last, lastPat := -1, ""
	for _, p := range patterns {
		loc := regexp.MustCompile(`(?m)` + p).FindStringIndex(res.Serial)
		if loc == nil {
			t.Errorf("no serial line matches %q", p)
			return
		}
		if loc[0] < last {
			t.Errorf("serial line %q comes before %q; serial log %s", p, lastPat, filepath.Join(res.LogDir, "serial.log"))
			return
		}
		last, lastPat = loc[0], p
	}
}

// QEMU's TCG has no VT-x: the banner must say so and the hypervisor halt
// cleanly (status 2 through isa-debug-exit), not triple-fault.
var noVTx = []string{
	`^hv: vmx: VT-x is not present: CPUID\.1:ECX\.VMX\[bit 5\] = 0$`,
	`^hv: svm: SVM rev 1, \d+ ASIDs, NPT`,
	`^hv: halting: tamavisor needs Intel VT-x`,
	`^hv: power-off status=2$`,
}

func TestQEMUPVH(t *testing.T) {
	for _, machine := range []string{"pc", "q35", "microvm"} {
		t.Run(machine, func(t *testing.T) {
			t.Parallel()
			res := bootImage(t, testbed.Config{Emulator: testbed.QEMU, Boot: testbed.Kernel, Machine: machine,
				Image: image, MemoryMiB: 512, CPUs: 2, Cmdline: "console=com1 tamavisor.test=1"})
			expect(t, res, append([]string{
				`^hv: tamavisor \S+ \(go1\.26\.0, tamago/amd64\)$`,
				`^hv: boot: PVH from a loader that gave no name, command line "console=com1 tamavisor.test=1"$`,
				`^hv: cpu: AuthenticAMD "QEMU TCG CPU`,
				`^hv: memory: 511 MiB available in 2 regions \(PVH memmap\)$`,
				`^hv: acpi: OEM "BOCHS "`,
				`^hv: cpu: 2 processors \(ACPI MADT: 2 enabled`,
				`^hv: tsc: \d+\.\d{3} MHz, measured against PIT channel [02]$`,
				`^hv: memory: hypervisor region 0x01000000-0x09000000 .* frames \(\d+ MiB\) free for domains$`,
			}, noVTx...)...)
			if res.Status != 2 {
				t.Errorf("power-off status %d, want 2", res.Status)
			}
		})
	}
}

func TestQEMUGRUB(t *testing.T) {
	t.Run("bios", func(t *testing.T) {
		t.Parallel()
		res := bootImage(t, testbed.Config{Emulator: testbed.QEMU, Boot: testbed.ISO, Machine: "pc", ISO: iso, MemoryMiB: 512, CPUs: 2})
		expect(t, res, append([]string{
			`^hv: boot: Multiboot2 from GRUB 2\.\S+, command line ""$`,
			`^hv: memory: 511 MiB available in 2 regions \(multiboot2 memory map tag\)$`,
			`^hv: cpu: 2 processors`,
		}, noVTx...)...)
	})
	t.Run("uefi", func(t *testing.T) {
		t.Parallel()
		res := bootImage(t, testbed.Config{Emulator: testbed.QEMU, Boot: testbed.UEFI, Machine: "q35", ISO: iso, MemoryMiB: 512, CPUs: 2,
			Timeout: 4 * time.Minute})
		expect(t, res, append([]string{
			`^hv: boot: Multiboot2 from GRUB 2\.\S+, command line ""$`,
			`^hv: memory: 50\d MiB available in \d+ regions \(multiboot2 memory map tag\)$`,
			`^hv: acpi: OEM "BOCHS ", revision 2, XSDT`,
			`^hv: cpu: 2 processors`,
		}, noVTx...)...)
	})
	t.Run("multiboot", func(t *testing.T) {
		t.Parallel()
		// The Multiboot (v1) flavour of the image, booted by GRUB's
		// multiboot command.
		dir := t.TempDir()
		mb1 := filepath.Join(dir, "tamavisor-mb1.elf")
		if out, err := exec.Command("go", "run", "../cmd/mkboot", "-mb1", "-o", mb1, image).CombinedOutput(); err != nil {
			t.Fatalf("mkboot -mb1: %v: %s", err, out)
		}
		mb1ISO := filepath.Join(dir, "mb1.iso")
		if err := testbed.MakeISO(mb1, testbed.GRUBConfig("multiboot", "tamavisor.test=mb1"), mb1ISO); err != nil {
			t.Fatal(err)
		}
		res := bootImage(t, testbed.Config{Emulator: testbed.QEMU, Boot: testbed.ISO, Machine: "pc", ISO: mb1ISO, MemoryMiB: 512, CPUs: 2})
		expect(t, res, append([]string{
			`^hv: boot: Multiboot from GRUB 2\.\S+, command line "tamavisor.test=mb1"$`,
			`^hv: memory: 511 MiB available in 2 regions \(multiboot memory map\)$`,
			`^hv: cpu: 2 processors`,
		}, noVTx...)...)
	})
}

// Too little memory is a clear message, from the entry code when RAM does
// not even reach the top of the hypervisor's region, from Go when it does
// but too little is left for domains.
func TestQEMUTooLittleMemory(t *testing.T) {
	t.Run("128MiB", func(t *testing.T) {
		t.Parallel()
		res := bootImage(t, testbed.Config{Emulator: testbed.QEMU, Boot: testbed.Kernel, Image: image, MemoryMiB: 128, Timeout: time.Minute})
		expect(t, res, `^boot: too little memory: no RAM answers at 0x0000000009000000, the top of the Go runtime's region \(for the hypervisor: boot/layout.go\)\. Halted\.\r?$`)
		if !res.Halted {
			t.Errorf("the machine did not halt cleanly")
		}
	})
	t.Run("160MiB", func(t *testing.T) {
		t.Parallel()
		res := bootImage(t, testbed.Config{Emulator: testbed.QEMU, Boot: testbed.Kernel, Image: image, MemoryMiB: 160, Timeout: time.Minute})
		expect(t, res,
			`^hv: memory: too little memory: \d+ MiB left for domains outside the hypervisor's region 0x1000000-0x9000000; tamavisor needs at least 32 MiB for them \(192 MiB of RAM in all\)$`,
			`^hv: halting: cannot continue$`,
			`^hv: power-off status=2$`)
	})
}

// Bochs emulates VT-x: the banner reports VMX, EPT and unrestricted guest,
// the RAM and the two CPUs it was given, and the hypervisor powers off with
// status 0 through Bochs's shutdown port.
func TestBochs(t *testing.T) {
	t.Parallel()
	res := bootImage(t, testbed.Config{Emulator: testbed.Bochs, Boot: testbed.ISO, ISO: iso, CPU: "corei7_skylake_x", MemoryMiB: 512, CPUs: 2,
		Timeout: 5 * time.Minute})
	expect(t, res,
		`^hv: boot: Multiboot2 from GRUB 2\.\S+`,
		`^hv: cpu: GenuineIntel "Intel\(R\) Core\(TM\) i7-7800X CPU @ 3\.50GHz", family 6 model 85 stepping 4$`,
		`^hv: memory: 511 MiB available`,
		`^hv: cpu: 2 processors \(ACPI MADT: 2 enabled`,
		`^hv: tsc: (39\.9\d\d|40\.0\d\d) MHz, measured against PIT channel 2$`,
		`^hv: vmx: VT-x is enabled by the firmware \(IA32_FEATURE_CONTROL = 0x5, locked\)$`,
		`^hv: vmx: VMX rev 0x2b, VMCS 4096 B, true controls, EPT \(4-level, WB, 2M, 1G, A/D, INVEPT single\+all\), VPID \(INVVPID\), unrestricted guest, preemption timer`,
		`^hv: svm: not present`,
		`^hv: bench: reset-to-banner: \d+ TSC ticks$`,
		// The default domain, hello, alone: its time.Sleep halts the
		// vCPU until the timer's upcall.
		`^d1\.hello: slept \d+ ms$`,
		`^hv: d1\.hello: stats: \d+ exits \(.*HLT [1-9].*\)`,
		`^hv: d1\.hello: shut down: poweroff \(exit status 0\)$`,
		`^hv: power-off status=0$`)
	if res.Status != 0 {
		t.Errorf("power-off status %d, want 0", res.Status)
	}
}

// The image carries a Multiboot2 header for GRUB and a PVH note for QEMU,
// and no Multiboot (v1) header, which QEMU's -kernel would refuse.
func TestImageHeaders(t *testing.T) {
	b, err := os.ReadFile(image)
	if err != nil {
		t.Fatalf("%v (run make iso first)", err)
	}
	mb1, mb2, _ := mbheader.Scan(b)
	if mb2 < 0 || mb1 >= 0 {
		t.Errorf("multiboot2 header at %d, multiboot header at %d: want only multiboot2", mb2, mb1)
	}
	if !strings.Contains(string(b[:0x2000]), "Xen") {
		t.Errorf("no PVH (Xen) ELF note in the image's first 8 KiB")
	}
}

// Without the TamaGo toolchain the build stops with one line saying what is
// missing and where it was looked for.
func TestToolchainMissing(t *testing.T) {
	for _, args := range [][]string{
		{"TAMAGO_GOROOT=/nonexistent/tamago-go1.26.0"},
		{"TAMAGO=/nonexistent/bin/go"},
	} {
		cmd := exec.Command("make", append([]string{"-s", "-C", "..", "toolchain"}, args...)...)
		out, err := cmd.CombinedOutput()
		lines := strings.Split(strings.TrimSpace(string(out)), "\n")
		if err == nil || !strings.Contains(lines[0], "tamavisor: TamaGo toolchain not found") || !strings.Contains(lines[0], "/nonexistent") {
			t.Errorf("make toolchain %s: %v, output:\n%s", args, err, out)
		}
		if len(lines) > 2 { // make adds its own "Error 1" line
			t.Errorf("make toolchain %s printed %d lines, want the one message:\n%s", args, len(lines), out)
		}
	}
}
