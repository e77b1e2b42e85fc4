package testbed

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

// GRUBConfig returns a grub.cfg that boots /boot/tamavisor.elf at once with
// the given GRUB command ("multiboot2" or "multiboot") and command line, on
// the serial console, as qemu/grub.cfg does for `make iso`.
func GRUBConfig(command, cmdline string) string {
	return fmt.Sprintf(`serial --unit=0 --speed=115200 --word=8 --parity=no --stop=1
terminal_input serial console
terminal_output serial console
set timeout=0
set default=0
menuentry "tamavisor" {
	%s /boot/tamavisor.elf %s
	boot
}
`, command, cmdline)
}

// GRUBModules returns a grub.cfg like GRUBConfig's that also loads boot
// modules (Multiboot2's module2): each entry of modules is a path inside the
// ISO followed by the module's command line, e.g. "/boot/guest.elf guest".
func GRUBModules(cmdline string, modules []string) string {
	var lines []string
	for _, m := range modules {
		lines = append(lines, "\tmodule2 "+m)
	}
	return strings.Replace(GRUBConfig("multiboot2", cmdline), "\tboot\n", strings.Join(lines, "\n")+"\n\tboot\n", 1)
}

// MakeISO writes a GRUB rescue ISO (legacy BIOS and, when GRUB's EFI
// modules are installed, UEFI) that holds image as /boot/tamavisor.elf and
// grubCfg as its configuration.
func MakeISO(image, grubCfg, out string) error {
	return MakeISOFiles(image, grubCfg, out, nil)
}

// MakeISOFiles is MakeISO with more files in the ISO: files maps a path
// inside it (such as "boot/guest.elf") to a file on this machine.
func MakeISOFiles(image, grubCfg, out string, files map[string]string) error {
	if _, err := exec.LookPath("grub-mkrescue"); err != nil {
		return fmt.Errorf("%w: grub-mkrescue is not installed (Debian packages grub-common, grub-pc-bin, xorriso, mtools)", ErrMissingTool)
	}
	dir, err := os.MkdirTemp("", "tamavisor-iso-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	if err := os.MkdirAll(filepath.Join(dir, "boot", "grub"), 0o755); err != nil {
		return err
	}
	b, err := os.ReadFile(image)
	if err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(dir, "boot", "tamavisor.elf"), b, 0o644); err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(dir, "boot", "grub", "grub.cfg"), []byte(grubCfg), 0o644); err != nil {
		return err
	}
	for in, host := range files {
		b, err := os.ReadFile(host)
		if err != nil {
			return err
		}
		dst := filepath.Join(dir, filepath.FromSlash(in))
		if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
			return err
		}
		if err := os.WriteFile(dst, b, 0o644); err != nil {
			return err
		}
	}
	cmd := exec.Command("grub-mkrescue", "-o", out, dir)
	if msg, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("grub-mkrescue: %v: %s", err, strings.TrimSpace(string(msg)))
	}
	return nil
}
