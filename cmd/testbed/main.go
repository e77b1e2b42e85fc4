// Command testbed boots the tamavisor image in an emulator for people:
//
//	testbed run   -image build/tamavisor.elf -iso build/tamavisor.iso
//	testbed boot  -emulator bochs|qemu -boot iso|kernel|uefi [flags]
//	testbed bench -image build/tamavisor.elf -iso build/tamavisor.iso
//
// run picks the best test bed on this machine: QEMU with KVM when /dev/kvm
// offers nested VT-x, else Bochs (which emulates VT-x with EPT), and says
// why. boot runs one configuration and keeps its logs. bench prints the
// figures that `make bench` reports.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"time"

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
		err = boot(os.Args[2:])
	case "bench":
		err = bench(os.Args[2:])
	default:
		usage()
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "testbed:", err)
		os.Exit(1)
	}
}

func usage() {
	fmt.Fprintln(os.Stderr, "usage: testbed run|boot|bench [flags] (see go doc tamavisor/cmd/testbed)")
	os.Exit(2)
}

func run(args []string) error {
	fs := flag.NewFlagSet("run", flag.ExitOnError)
	image := fs.String("image", "build/tamavisor.elf", "hypervisor ELF image")
	iso := fs.String("iso", "build/tamavisor.iso", "GRUB ISO image")
	mem := fs.Int("m", 512, "RAM in MiB")
	cpus := fs.Int("smp", 2, "processors")
	fs.Parse(args)

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

func boot(args []string) error {
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
	fs.StringVar(&cfg.Cmdline, "append", "", "command line (kernel boots)")
	fs.StringVar(&cfg.LogDir, "logs", "", "log directory (default: a new temporary one)")
	fs.DurationVar(&cfg.Timeout, "timeout", 5*time.Minute, "give up after")
	fs.Parse(args)
	cfg.Emulator, cfg.Boot = testbed.Emulator(*emu), testbed.Boot(*bt)
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
	iso := fs.String("iso", "build/tamavisor.iso", "GRUB ISO image")
	logs := fs.String("logs", "build/bench", "log directory")
	fs.Parse(args)

	st, err := os.Stat(*image)
	if err != nil {
		return err
	}
	fmt.Printf("image: %s, %d bytes\n", filepath.Base(*image), st.Size())
	fmt.Fprintln(os.Stderr, "bench: booting the ISO in Bochs (corei7_skylake_x, 2 CPUs, 512 MiB)...")
	res, err := testbed.Run(context.Background(), testbed.Config{
		Name: "bench", Emulator: testbed.Bochs, Boot: testbed.ISO, ISO: *iso,
		MemoryMiB: 512, CPUs: 2, LogDir: *logs, Timeout: 10 * time.Minute,
	})
	if err != nil {
		return err
	}
	if res.Status != 0 {
		return fmt.Errorf("the Bochs boot did not end with status 0 (status %d, timed out %v); serial log in %s",
			res.Status, res.TimedOut, filepath.Join(res.LogDir, "serial.log"))
	}
	figures := testbed.Figures(res.Serial)
	if len(figures) == 0 {
		return fmt.Errorf("the Bochs boot printed no bench figures; serial log in %s", filepath.Join(res.LogDir, "serial.log"))
	}
	for _, f := range figures {
		fmt.Printf("%s: %s\n", f.Name, f.Value)
	}
	fmt.Printf("bochs wall time: %s\n", res.Elapsed.Round(time.Millisecond))
	return nil
}
