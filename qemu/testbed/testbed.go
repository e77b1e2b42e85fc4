// Package testbed boots the tamavisor image in an emulator (QEMU or Bochs),
// captures its serial console and always stops the emulator. Integration
// tests, `make run` and `make bench` use it, so that the three agree on how
// each test bed is configured.
package testbed

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// Emulator names a machine emulator.
type Emulator string

// The emulators tamavisor is tested in.
const (
	QEMU  Emulator = "qemu"
	Bochs Emulator = "bochs"
)

// Boot names the way the image is started.
type Boot string

// Boot paths. Kernel is QEMU -kernel, which enters through the ELF's PVH
// note; ISO and UEFI boot GRUB from the ISO image (legacy BIOS and OVMF).
const (
	Kernel Boot = "kernel"
	ISO    Boot = "iso"
	UEFI   Boot = "uefi"
)

// Config describes one boot.
type Config struct {
	Name      string   // names the log directory
	Emulator  Emulator // QEMU or Bochs
	Boot      Boot     // Kernel (QEMU only), ISO or UEFI (QEMU only)
	Machine   string   // QEMU machine: pc, q35, microvm (default pc)
	CPU       string   // QEMU -cpu, or Bochs cpu model (defaults: max, corei7_skylake_x)
	MemoryMiB int      // RAM (default 512)
	CPUs      int      // processors (default 1)
	KVM       bool     // QEMU: use KVM
	Image     string   // the ELF image (Kernel boots)
	ISO       string   // the GRUB ISO (ISO and UEFI boots)
	Cmdline   string   // QEMU -append (Kernel boots)
	Timeout   time.Duration
	LogDir    string   // where serial.log and the emulator's log go
	Extra     []string // extra QEMU arguments or bochsrc lines

	// Interactive connects the serial console to the terminal (make run).
	Interactive bool

	// Input is typed on the serial console (Bochs only): each line once
	// the console has printed InputAfter, one line every half second.
	Input      []string
	InputAfter string
}

// Result is what a boot produced.
type Result struct {
	Serial   string // everything the machine wrote to COM1, CRLF turned into LF
	Status   int    // the status on the "hv: power-off status=N" line, or -1
	Halted   bool   // the hypervisor printed "hv: halted", or the entry code "... Halted."
	TimedOut bool   // the timeout ended the run
	LogDir   string
	Elapsed  time.Duration
}

var statusLine = regexp.MustCompile(`(?m)^hv: power-off status=(-?\d+)`)

// earlyHalt is how the entry code ends its messages, before Go runs.
var earlyHalt = regexp.MustCompile(`(?m)^boot: .*Halted\.\r?$`)

// ErrMissingTool means an emulator or firmware is not installed.
var ErrMissingTool = errors.New("testbed: missing tool")

// Missing reports what the configuration needs that this machine lacks
// (nil when everything is there).
func Missing(cfg Config) error {
	var need []string
	switch cfg.Emulator {
	case QEMU:
		need = append(need, "qemu-system-x86_64")
	case Bochs:
		need = append(need, "bochs")
	}
	for _, tool := range need {
		if _, err := exec.LookPath(tool); err != nil {
			return fmt.Errorf("%w: %s is not installed (Debian package %s)", ErrMissingTool, tool, debianPackage(tool))
		}
	}
	var files []string
	switch {
	case cfg.Emulator == Bochs:
		files = append(files, bochsBIOS, bochsVGABIOS)
	case cfg.Boot == UEFI:
		files = append(files, ovmfCode, ovmfVars)
	}
	for _, f := range files {
		if _, err := os.Stat(f); err != nil {
			return fmt.Errorf("%w: %s is missing (Debian package %s)", ErrMissingTool, f, debianPackage(f))
		}
	}
	return nil
}

func debianPackage(tool string) string {
	switch {
	case strings.HasPrefix(tool, "qemu"):
		return "qemu-system-x86"
	case tool == bochsBIOS:
		return "bochsbios"
	case tool == bochsVGABIOS:
		return "vgabios"
	case strings.Contains(tool, "OVMF"):
		return "ovmf"
	}
	return tool
}

// Firmware files from Debian's packages.
const (
	bochsBIOS    = "/usr/share/bochs/BIOS-bochs-latest"
	bochsVGABIOS = "/usr/share/vgabios/vgabios.bin"
	ovmfCode     = "/usr/share/OVMF/OVMF_CODE_4M.fd"
	ovmfVars     = "/usr/share/OVMF/OVMF_VARS_4M.fd"
)

func (cfg *Config) defaults() {
	if cfg.Machine == "" {
		cfg.Machine = "pc"
	}
	if cfg.CPU == "" {
		if cfg.Emulator == Bochs {
			cfg.CPU = "corei7_skylake_x"
		} else {
			cfg.CPU = "max"
		}
	}
	if cfg.MemoryMiB == 0 {
		cfg.MemoryMiB = 512
	}
	if cfg.CPUs == 0 {
		cfg.CPUs = 1
	}
	if cfg.Timeout == 0 {
		cfg.Timeout = 2 * time.Minute
	}
	if cfg.Name == "" {
		cfg.Name = string(cfg.Emulator) + "-" + string(cfg.Boot)
	}
}

// Run boots the configuration and returns when the machine powers off,
// halts, or the timeout passes. The emulator is always killed before Run
// returns. The serial log and the emulator's own log stay in cfg.LogDir.
func Run(ctx context.Context, cfg Config) (*Result, error) {
	cfg.defaults()
	if err := Missing(cfg); err != nil {
		return nil, err
	}
	if cfg.LogDir == "" {
		dir, err := os.MkdirTemp("", "tamavisor-"+cfg.Name+"-")
		if err != nil {
			return nil, err
		}
		cfg.LogDir = dir
	}
	if err := os.MkdirAll(cfg.LogDir, 0o755); err != nil {
		return nil, err
	}
	for _, p := range []*string{&cfg.Image, &cfg.ISO, &cfg.LogDir} {
		if *p != "" {
			abs, err := filepath.Abs(*p)
			if err != nil {
				return nil, err
			}
			*p = abs
		}
	}
	serial := filepath.Join(cfg.LogDir, "serial.log")
	os.Remove(serial)

	var args []string
	var err error
	var typist net.Listener
	switch cfg.Emulator {
	case QEMU:
		if len(cfg.Input) > 0 {
			return nil, errors.New("testbed: typed input needs Bochs")
		}
		args, err = qemuArgs(cfg, serial)
	case Bochs:
		if len(cfg.Input) > 0 || cfg.Interactive {
			// COM1 becomes a TCP connection to us: we log what it
			// prints and type the input (or relay the terminal's).
			if typist, err = net.Listen("tcp", "127.0.0.1:0"); err != nil {
				return nil, err
			}
			defer typist.Close()
			cfg.Extra = append(cfg.Extra, "com1: enabled=1, mode=socket-client, dev="+typist.Addr().String())
		}
		args, err = bochsArgs(cfg, serial)
	default:
		err = fmt.Errorf("testbed: unknown emulator %q", cfg.Emulator)
	}
	if err != nil {
		return nil, err
	}

	ctx, cancel := context.WithTimeout(ctx, cfg.Timeout)
	defer cancel()
	cmd := exec.Command(args[0], args[1:]...)
	cmd.Dir = cfg.LogDir
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	emuLog, err := os.Create(filepath.Join(cfg.LogDir, string(cfg.Emulator)+".out"))
	if err != nil {
		return nil, err
	}
	defer emuLog.Close()
	fmt.Fprintf(emuLog, "# %s\n", strings.Join(args, " "))
	cmd.Stdout, cmd.Stderr = emuLog, emuLog
	if cfg.Interactive && cfg.Emulator == QEMU {
		cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, os.Stdout, os.Stderr
	} else if cfg.Interactive {
		cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr // Bochs's messages; the console is relayed
	} else {
		cmd.Stdin = nil // /dev/null: Bochs's debugger reads it and quits at EOF
	}

	switch {
	case typist != nil && cfg.Interactive:
		go relayTerminal(typist, serial)
	case typist != nil:
		go typeInput(typist, serial, cfg.Input, cfg.InputAfter)
	}
	start := time.Now()
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("testbed: starting %s: %w", args[0], err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	kill := func() {
		syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		<-done
	}

	res := &Result{Status: -1, LogDir: cfg.LogDir}
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	var ended time.Time // when the hypervisor said its last word
wait:
	for {
		select {
		case <-done:
			break wait
		case <-ctx.Done():
			res.TimedOut = ctx.Err() == context.DeadlineExceeded
			kill()
			break wait
		case <-tick.C:
			out, _ := os.ReadFile(serial)
			if ended.IsZero() && (statusLine.Match(out) || bytes.Contains(out, []byte("hv: halted")) || earlyHalt.Match(out)) {
				ended = time.Now()
			}
			// Give the emulator a moment to exit by itself, then stop it.
			if !ended.IsZero() && time.Since(ended) > 2*time.Second {
				kill()
				break wait
			}
		}
	}
	res.Elapsed = time.Since(start)
	out, _ := os.ReadFile(serial)
	res.Serial = strings.ReplaceAll(string(out), "\r\n", "\n")
	if m := statusLine.FindStringSubmatch(res.Serial); m != nil {
		res.Status, _ = strconv.Atoi(m[1])
	}
	res.Halted = strings.Contains(res.Serial, "hv: halted") || earlyHalt.MatchString(res.Serial)
	if res.Serial == "" && !res.TimedOut && !cfg.Interactive {
		out, _ := os.ReadFile(emuLog.Name())
		return res, fmt.Errorf("testbed: %s exited without a word on the serial console; its output (%s):\n%s",
			cfg.Emulator, emuLog.Name(), out)
	}
	return res, nil
}

// acceptSerial waits for the emulator's serial connection and creates the
// serial log.
func acceptSerial(l net.Listener, serial string) (net.Conn, *os.File, error) {
	conn, err := l.Accept()
	if err != nil {
		return nil, nil, err
	}
	f, err := os.Create(serial)
	if err != nil {
		conn.Close()
		return nil, nil, err
	}
	return conn, f, nil
}

// typeInput accepts the emulator's serial connection, writes what arrives
// to the serial log, and types the input once the log holds after.
func typeInput(l net.Listener, serial string, input []string, after string) {
	conn, f, err := acceptSerial(l, serial)
	if err != nil {
		return
	}
	defer conn.Close()
	defer f.Close()
	var seen bytes.Buffer
	ready, closed := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(closed)
		buf := make([]byte, 4096)
		signalled := false
		for {
			n, err := conn.Read(buf)
			if n > 0 {
				f.Write(buf[:n])
				if !signalled {
					// Only the tail can complete the match: keep
					// what a match could start in, and no more.
					seen.Write(buf[:n])
					if bytes.Contains(seen.Bytes(), []byte(after)) {
						signalled = true
						close(ready)
					} else if keep := len(after) - 1; seen.Len() > keep {
						tail := append([]byte(nil), seen.Bytes()[seen.Len()-keep:]...)
						seen.Reset()
						seen.Write(tail)
					}
				}
			}
			if err != nil {
				return
			}
		}
	}()
	select {
	case <-ready:
	case <-closed:
		return
	}
	for _, line := range input {
		time.Sleep(500 * time.Millisecond)
		if _, err := conn.Write([]byte(line + "\r")); err != nil {
			break
		}
	}
	<-closed // keep the log open until the emulator hangs up
}

// relayTerminal accepts the emulator's serial connection and joins it to
// the terminal: what the machine prints goes to standard output and the
// serial log, what is typed (a line at a time) goes to the machine.
func relayTerminal(l net.Listener, serial string) {
	conn, f, err := acceptSerial(l, serial)
	if err != nil {
		return
	}
	defer conn.Close()
	defer f.Close()
	go io.Copy(conn, os.Stdin)
	io.Copy(io.MultiWriter(os.Stdout, f), conn)
}

// Lines returns the serial lines that start with prefix.
func (r *Result) Lines(prefix string) []string {
	var out []string
	sc := bufio.NewScanner(strings.NewReader(r.Serial))
	for sc.Scan() {
		line := strings.TrimRight(sc.Text(), "\r")
		if strings.HasPrefix(line, prefix) {
			out = append(out, line)
		}
	}
	return out
}

func qemuArgs(cfg Config, serial string) ([]string, error) {
	machine := cfg.Machine
	if machine == "microvm" {
		// microvm has no PCI, no firmware tables but ACPI's; keep its
		// legacy PIT, PIC and RTC so that the image runs as on a PC.
		machine = "microvm,pit=on,pic=on,rtc=on,acpi=on"
	}
	args := []string{"qemu-system-x86_64",
		"-machine", machine,
		"-cpu", cfg.CPU,
		"-m", strconv.Itoa(cfg.MemoryMiB),
		"-smp", strconv.Itoa(cfg.CPUs),
		"-no-reboot",
		"-device", "isa-debug-exit,iobase=0xf4,iosize=4",
	}
	if cfg.KVM {
		args = append(args, "-accel", "kvm")
	} else {
		args = append(args, "-accel", "tcg")
	}
	if cfg.Interactive {
		args = append(args, "-nographic", "-serial", "mon:stdio")
	} else {
		args = append(args, "-display", "none", "-monitor", "none", "-serial", "file:"+serial)
	}
	switch cfg.Boot {
	case Kernel:
		if cfg.Image == "" {
			return nil, errors.New("testbed: a kernel boot needs Image")
		}
		args = append(args, "-kernel", cfg.Image)
		if cfg.Cmdline != "" {
			args = append(args, "-append", cfg.Cmdline)
		}
	case ISO, UEFI:
		if cfg.ISO == "" {
			return nil, errors.New("testbed: an ISO boot needs ISO")
		}
		args = append(args, "-cdrom", cfg.ISO, "-boot", "d")
		if cfg.Boot == UEFI {
			vars := filepath.Join(cfg.LogDir, "OVMF_VARS.fd")
			b, err := os.ReadFile(ovmfVars)
			if err != nil {
				return nil, err
			}
			if err := os.WriteFile(vars, b, 0o644); err != nil {
				return nil, err
			}
			args = append(args,
				"-drive", "if=pflash,format=raw,readonly=on,file="+ovmfCode,
				"-drive", "if=pflash,format=raw,file="+vars)
		}
	default:
		return nil, fmt.Errorf("testbed: QEMU cannot boot %q", cfg.Boot)
	}
	return append(args, cfg.Extra...), nil
}

// BochsIPS is the emulated clock rate Bochs is told (ips=): the TSC counts
// emulated instructions, so the hypervisor measures the TSC at about this
// frequency.
const BochsIPS = 40_000_000

func bochsArgs(cfg Config, serial string) ([]string, error) {
	if cfg.Boot != ISO {
		return nil, fmt.Errorf("testbed: Bochs boots the GRUB ISO only, not %q", cfg.Boot)
	}
	if cfg.ISO == "" {
		return nil, errors.New("testbed: an ISO boot needs ISO")
	}
	iso := cfg.ISO
	com1 := "com1: enabled=1, mode=file, dev=" + serial
	if cfg.Interactive {
		com1 = "com1: enabled=1, mode=file, dev=/dev/stdout"
	}
	for _, x := range cfg.Extra {
		if strings.HasPrefix(x, "com1:") {
			com1 = "" // the caller's
		}
	}
	rc := []string{
		fmt.Sprintf("cpu: model=%s, count=%d, ips=%d, reset_on_triple_fault=0", cfg.CPU, cfg.CPUs, BochsIPS),
		fmt.Sprintf("memory: guest=%d, host=%d", cfg.MemoryMiB, cfg.MemoryMiB),
		"romimage: file=" + bochsBIOS,
		"vgaromimage: file=" + bochsVGABIOS,
		"pci: enabled=1, chipset=i440fx",
		"ata0: enabled=1, ioaddr1=0x1f0, ioaddr2=0x3f0, irq=14",
		"ata0-master: type=cdrom, path=" + iso + ", status=inserted",
		"boot: cdrom",
		com1,
		`display_library: rfb, options="timeout=0"`,
		"clock: sync=none, time0=utc",
		"speaker: enabled=0",
		"sound: waveoutdrv=dummy, waveindrv=dummy, midioutdrv=dummy",
		"mouse: enabled=0",
		"log: " + filepath.Join(cfg.LogDir, "bochs.log"),
		"panic: action=fatal",
		"error: action=report",
		"info: action=report",
		"debug: action=ignore",
	}
	rc = append(rc, cfg.Extra...)
	rcFile := filepath.Join(cfg.LogDir, "bochsrc")
	if err := os.WriteFile(rcFile, []byte(strings.Join(rc, "\n")+"\n"), 0o644); err != nil {
		return nil, err
	}
	// Bochs's Debian build includes the internal debugger, which stops at
	// the first instruction: a command file holding "c" continues.
	cmds := filepath.Join(cfg.LogDir, "bochs.cmds")
	if err := os.WriteFile(cmds, []byte("c\n"), 0o644); err != nil {
		return nil, err
	}
	return []string{"bochs", "-q", "-f", rcFile, "-rc", cmds}, nil
}

// Describe lists a configuration's settings, for logs and recorded files.
func Describe(cfg Config) []string {
	cfg.defaults()
	d := []string{"emulator=" + string(cfg.Emulator), "boot=" + string(cfg.Boot), "cpu=" + cfg.CPU,
		fmt.Sprintf("memory=%dMiB", cfg.MemoryMiB), fmt.Sprintf("cpus=%d", cfg.CPUs)}
	if cfg.Emulator == QEMU {
		d = append(d, "machine="+cfg.Machine)
	}
	return d
}
