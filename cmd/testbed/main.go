// Command testbed boots the tamavisor image in an emulator for people:
//
//	testbed run   -image build/tamavisor.elf -iso build/tamavisor.iso
//	testbed boot  -emulator bochs|qemu -boot iso|kernel|uefi [flags]
//	testbed bench -image build/tamavisor.elf -iso build/tamavisor.iso
//	testbed capture -image build/tamavisor.elf -out boot/testdata
//
// run picks the best test bed on this machine: QEMU with KVM when /dev/kvm
// offers nested VT-x, else Bochs (which emulates VT-x with EPT), and says
// why. boot runs one configuration and keeps its logs. bench prints the
// figures that `make bench` reports. capture boots every test bed with
// tamavisor.dump=boot and writes what each printed to OUT/NAME.dump: the
// recorded boot information, ACPI tables, CPUID leaves and MSRs that the
// host tests replay.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strings"
	"time"

	"tamavisor/boot"
	"tamavisor/qemu/testbed"
)

func main() {
	if len(os.Args) < 2 {
		usage()
	}
	var err error
	switch os.Args[1] {
	case "run":
		err = run(os.Args[2:])
	case "boot":
		err = bootOne(os.Args[2:])
	case "bench":
		err = bench(os.Args[2:])
	case "capture":
		err = capture(os.Args[2:])
	default:
		usage()
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "testbed:", err)
		os.Exit(1)
	}
}

func usage() {
	fmt.Fprintln(os.Stderr, "usage: testbed run|boot|bench|capture [flags] (see go doc tamavisor/cmd/testbed)")
	os.Exit(2)
}

func run(args []string) error {
	fs := flag.NewFlagSet("run", flag.ExitOnError)
	image := fs.String("image", "build/tamavisor.elf", "hypervisor ELF image")
	iso := fs.String("iso", "build/tamavisor.iso", "GRUB ISO image")
	mem := fs.Int("m", 512, "RAM in MiB")
	cpus := fs.Int("smp", 2, "processors")
	cmdline := fs.String("append", "tamavisor.domains=dom0,priv=1+hello", "the hypervisor's command line (\"\" for the ISO's own)")
	fs.Parse(args)

	if *cmdline != "" {
		// An ISO whose grub.cfg passes the command line.
		dir, err := os.MkdirTemp("", "tamavisor-run-")
		if err != nil {
			return err
		}
		defer os.RemoveAll(dir)
		*iso = filepath.Join(dir, "tamavisor.iso")
		if err := testbed.MakeISO(*image, testbed.GRUBConfig("multiboot2", *cmdline), *iso); err != nil {
			return err
		}
		fmt.Fprintf(os.Stderr, "testbed: command line %q: dom0's control console takes commands (help lists them; shutdown ends it)\n", *cmdline)
	}
	cfg := testbed.Config{Image: *image, ISO: *iso, MemoryMiB: *mem, CPUs: *cpus, Interactive: true, Timeout: 24 * time.Hour}
	if ok, why := testbed.NestedVMX(); ok {
		fmt.Fprintf(os.Stderr, "testbed: %s: booting in QEMU/KVM (quit: Ctrl-A X)\n", why)
		cfg.Emulator, cfg.Boot, cfg.KVM, cfg.CPU = testbed.QEMU, testbed.ISO, true, "host"
	} else {
		fmt.Fprintf(os.Stderr, "testbed: %s; booting in Bochs, which emulates VT-x with EPT at about 40 MIPS (quit: Ctrl-C)\n", why)
		cfg.Emulator, cfg.Boot = testbed.Bochs, testbed.ISO
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	res, err := testbed.Run(ctx, cfg)
	if err != nil {
		return err
	}
	fmt.Fprintf(os.Stderr, "testbed: ended after %s; logs in %s\n", res.Elapsed.Round(time.Second), res.LogDir)
	return nil
}

func bootOne(args []string) error {
	fs := flag.NewFlagSet("boot", flag.ExitOnError)
	var cfg testbed.Config
	emu := fs.String("emulator", "qemu", "qemu or bochs")
	bt := fs.String("boot", "kernel", "kernel (PVH), iso (GRUB, BIOS) or uefi (GRUB, OVMF)")
	fs.StringVar(&cfg.Machine, "machine", "pc", "QEMU machine: pc, q35, microvm")
	fs.StringVar(&cfg.CPU, "cpu", "", "QEMU -cpu or Bochs CPU model")
	fs.IntVar(&cfg.MemoryMiB, "m", 512, "RAM in MiB")
	fs.IntVar(&cfg.CPUs, "smp", 1, "processors")
	fs.StringVar(&cfg.Image, "image", "build/tamavisor.elf", "hypervisor ELF image")
	fs.StringVar(&cfg.ISO, "iso", "build/tamavisor.iso", "GRUB ISO image")
	fs.StringVar(&cfg.Cmdline, "append", "", "command line (for GRUB boots, a new ISO passes it)")
	fs.StringVar(&cfg.LogDir, "logs", "", "log directory (default: a new temporary one)")
	fs.DurationVar(&cfg.Timeout, "timeout", 5*time.Minute, "give up after")
	fs.Parse(args)
	cfg.Emulator, cfg.Boot = testbed.Emulator(*emu), testbed.Boot(*bt)
	if cfg.Cmdline != "" && cfg.Boot != testbed.Kernel {
		// GRUB boots: an ISO whose grub.cfg passes the command line.
		dir, err := os.MkdirTemp("", "tamavisor-iso-")
		if err != nil {
			return err
		}
		defer os.RemoveAll(dir)
		cfg.ISO = filepath.Join(dir, "tamavisor.iso")
		if err := testbed.MakeISO(cfg.Image, testbed.GRUBConfig("multiboot2", cfg.Cmdline), cfg.ISO); err != nil {
			return err
		}
	}
	res, err := testbed.Run(context.Background(), cfg)
	if err != nil {
		return err
	}
	os.Stdout.WriteString(res.Serial)
	fmt.Fprintf(os.Stderr, "testbed: status %d, halted %v, timed out %v, %s; logs in %s\n",
		res.Status, res.Halted, res.TimedOut, res.Elapsed.Round(time.Millisecond), res.LogDir)
	return nil
}

func bench(args []string) error {
	fs := flag.NewFlagSet("bench", flag.ExitOnError)
	image := fs.String("image", "build/tamavisor.elf", "hypervisor ELF image")
	logs := fs.String("logs", "build/bench", "log directory")
	fs.Parse(args)

	st, err := os.Stat(*image)
	if err != nil {
		return err
	}
	fmt.Printf("image: %s, %d bytes\n", filepath.Base(*image), st.Size())
	if err := os.MkdirAll(*logs, 0o755); err != nil {
		return err
	}
	// One boot: the hypervisor runs the CPU-bound loop bare, then the bench
	// domain alone measures exits and runs the same loop.
	iso := filepath.Join(*logs, "bench.iso")
	if err := testbed.MakeISO(*image, testbed.GRUBConfig("multiboot2", "tamavisor.bench=loop tamavisor.domains=bench"), iso); err != nil {
		return err
	}
	fmt.Fprintln(os.Stderr, "bench: booting in Bochs (corei7_skylake_x, 512 MiB); its TSC counts emulated instructions...")
	res, err := testbed.Run(context.Background(), testbed.Config{
		Name: "bench", Emulator: testbed.Bochs, Boot: testbed.ISO, ISO: iso,
		MemoryMiB: 512, CPUs: 1, LogDir: *logs, Timeout: 10 * time.Minute,
	})
	if err != nil {
		return err
	}
	serial := filepath.Join(res.LogDir, "serial.log")
	if res.Status != 0 {
		return fmt.Errorf("the Bochs boot did not end with status 0 (status %d, timed out %v); serial log in %s", res.Status, res.TimedOut, serial)
	}
	ticks := map[string]uint64{}
	for _, f := range testbed.Figures(res.Serial) {
		fmt.Printf("%s: %s\n", f.Name, f.Value)
		var n uint64
		if _, err := fmt.Sscanf(f.Value, "%d", &n); err == nil {
			ticks[f.Name] = n
		}
	}
	for _, need := range []string{"reset-to-banner", "entry-to-banner", "bare-loop", "cpuid-roundtrip", "null-hypercall-roundtrip", "go-hypercall-roundtrip", "domain-loop"} {
		if _, ok := ticks[need]; !ok {
			return fmt.Errorf("the boot printed no %q figure; serial log in %s", need, serial)
		}
	}
	fmt.Printf("domain slowdown on a CPU-bound loop: %.4f (bare / as a domain; goal >= 0.97)\n", float64(ticks["bare-loop"])/float64(ticks["domain-loop"]))
	fmt.Printf("exit round trips in emulated instructions (goal < 200): CPUID %d, null hypercall %d (a hypercall handled in Go: %d)\n",
		ticks["cpuid-roundtrip"], ticks["null-hypercall-roundtrip"], ticks["go-hypercall-roundtrip"])
	fmt.Printf("bochs wall time: %s\n", res.Elapsed.Round(time.Millisecond))

	// A second boot: dom0 runs pairs of bench domains one pair at a time,
	// so that each measures its path alone.
	iso = filepath.Join(*logs, "bench-domains.iso")
	if err := testbed.MakeISO(*image, testbed.GRUBConfig("multiboot2", benchDomains), iso); err != nil {
		return err
	}
	fmt.Fprintln(os.Stderr, "bench: booting in Bochs: event channels, domain switches, grants...")
	res, err = testbed.Run(context.Background(), testbed.Config{
		Name: "bench-domains", Emulator: testbed.Bochs, Boot: testbed.ISO, ISO: iso,
		MemoryMiB: 512, CPUs: 1, LogDir: filepath.Join(*logs, "domains"), Timeout: 10 * time.Minute,
	})
	if err != nil {
		return err
	}
	serial = filepath.Join(res.LogDir, "serial.log")
	if res.Status != 0 {
		return fmt.Errorf("the Bochs boot did not end with status 0 (status %d, timed out %v); serial log in %s", res.Status, res.TimedOut, serial)
	}
	got := map[string]bool{}
	for _, f := range testbed.Figures(res.Serial) {
		if f.Name == "reset-to-banner" || f.Name == "entry-to-banner" {
			continue // the first boot reported them
		}
		fmt.Printf("%s: %s\n", f.Name, f.Value)
		got[f.Name] = true
	}
	for _, need := range []string{"event-roundtrip", "domain-switch", "domain-switches-per-second", "grant-map", "grant-unmap"} {
		if !got[need] {
			return fmt.Errorf("the boot printed no %q figure; serial log in %s", need, serial)
		}
	}
	fmt.Printf("bochs wall time: %s\n", res.Elapsed.Round(time.Millisecond))
	return nil
}

// benchDomains has dom0 run the bench domains' pairs in turn: event-channel
// round trips (masked ports, SCHEDOP_poll), domain switches (two domains
// yielding to each other), grant map and unmap.
const benchDomains = "tamavisor.domains=dom0,priv=1,args=" +
	"create~bench~evping~32~256~0~evping~t1~2000:create~bench~evpong~32~256~0~evpong~t1~2000:wait~evping:wait~evpong" +
	":create~bench~y1~32~256~0~yield~t3~a~2000:create~bench~y2~32~256~0~yield~t3~b~2000:wait~y1:wait~y2" +
	":create~bench~gmap~32~256~0~gmap~t2~1000:create~bench~ggrant~32~256~0~ggrant~t2:wait~gmap:wait~ggrant" +
	":shutdown"

func capture(args []string) error {
	fs := flag.NewFlagSet("capture", flag.ExitOnError)
	image := fs.String("image", "build/tamavisor.elf", "hypervisor ELF image (Multiboot2 headers)")
	out := fs.String("out", "boot/testdata", "directory for the .dump files")
	only := fs.String("only", "", "capture only the test beds whose name contains this")
	fs.Parse(args)

	work, err := os.MkdirTemp("", "tamavisor-capture-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(work)
	const cmdline = "tamavisor.dump=boot"
	mb2 := filepath.Join(work, "mb2.iso")
	if err := testbed.MakeISO(*image, testbed.GRUBConfig("multiboot2", cmdline), mb2); err != nil {
		return err
	}
	// A Multiboot (v1) image: QEMU's -kernel refuses it, GRUB's multiboot takes it.
	mb1Image := filepath.Join(work, "mb1.elf")
	if msg, err := exec.Command("go", "run", "./cmd/mkboot", "-mb1", "-o", mb1Image, *image).CombinedOutput(); err != nil {
		return fmt.Errorf("mkboot -mb1: %v: %s", err, msg)
	}
	mb1 := filepath.Join(work, "mb1.iso")
	if err := testbed.MakeISO(mb1Image, testbed.GRUBConfig("multiboot", cmdline), mb1); err != nil {
		return err
	}
	beds := []testbed.Config{
		{Name: "qemu-pc-pvh", Emulator: testbed.QEMU, Boot: testbed.Kernel, Machine: "pc", CPUs: 2, Image: *image, Cmdline: cmdline},
		{Name: "qemu-q35-pvh", Emulator: testbed.QEMU, Boot: testbed.Kernel, Machine: "q35", CPUs: 2, Image: *image, Cmdline: cmdline},
		{Name: "qemu-microvm-pvh", Emulator: testbed.QEMU, Boot: testbed.Kernel, Machine: "microvm", CPUs: 2, Image: *image, Cmdline: cmdline},
		{Name: "qemu-pc-grub-multiboot2", Emulator: testbed.QEMU, Boot: testbed.ISO, Machine: "pc", CPUs: 2, ISO: mb2},
		{Name: "qemu-pc-grub-multiboot", Emulator: testbed.QEMU, Boot: testbed.ISO, Machine: "pc", CPUs: 2, ISO: mb1},
		{Name: "qemu-q35-uefi-multiboot2", Emulator: testbed.QEMU, Boot: testbed.UEFI, Machine: "q35", CPUs: 2, ISO: mb2},
		{Name: "bochs-skylake-x-grub-multiboot2", Emulator: testbed.Bochs, Boot: testbed.ISO, CPU: "corei7_skylake_x", CPUs: 2, ISO: mb2},
		{Name: "bochs-haswell-grub-multiboot", Emulator: testbed.Bochs, Boot: testbed.ISO, CPU: "corei7_haswell_4770", CPUs: 1, ISO: mb1},
	}
	for _, cfg := range beds {
		if !strings.Contains(cfg.Name, *only) {
			continue
		}
		cfg.MemoryMiB, cfg.Timeout = 512, 5*time.Minute
		cfg.LogDir = filepath.Join(work, cfg.Name)
		fmt.Fprintf(os.Stderr, "capture: %s...\n", cfg.Name)
		res, err := testbed.Run(context.Background(), cfg)
		if err != nil {
			return fmt.Errorf("%s: %w", cfg.Name, err)
		}
		if _, err := boot.ParseDump(strings.NewReader(res.Serial)); err != nil {
			return fmt.Errorf("%s: the boot printed no complete dump (%v); serial log:\n%s", cfg.Name, err, res.Serial)
		}
		var lines []string
		lines = append(lines, fmt.Sprintf("# %s: recorded by `go run ./cmd/testbed capture`; %s", cfg.Name, strings.Join(testbed.Describe(cfg), " ")))
		lines = append(lines, res.Lines("hv: ")...)
		path := filepath.Join(*out, cfg.Name+".dump")
		if err := os.WriteFile(path, []byte(strings.Join(lines, "\n")+"\n"), 0o644); err != nil {
			return err
		}
		fmt.Fprintf(os.Stderr, "capture: wrote %s\n", path)
	}
	return nil
}
