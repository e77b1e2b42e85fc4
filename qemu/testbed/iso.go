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

// MakeISO writes a GRUB rescue ISO (legacy BIOS and, when GRUB's EFI
// modules are installed, UEFI) that holds image as /boot/tamavisor.elf and
// grubCfg as its configuration.
func MakeISO(image, grubCfg, out string) error {
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
	cmd := exec.Command("grub-mkrescue", "-o", out, dir)
	if msg, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("grub-mkrescue: %v: %s", err, strings.TrimSpace(string(msg)))
	}
	return nil
}
