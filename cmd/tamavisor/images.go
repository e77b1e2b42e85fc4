//go:build tamago

package main

import (
	"embed"
	"fmt"
	"path"
	"strings"

	"tamavisor/boot/bootinfo"
	"tamavisor/console"
	"tamavisor/mem"
)

// The domain images the hypervisor carries: the Makefile builds each program
// under domains/ and copies its ELF here before building the hypervisor.
//
//go:embed images/*.elf
var imageFS embed.FS

// images returns the embedded domain images by name (file name without .elf).
// moduleImages adds the boot modules to the images: a module's name is the
// first word of its command line (GRUB: module2 /boot/guest.elf NAME), or
// module<N> without one. Its bytes are copied out of the module's frames.
func moduleImages(images map[string][]byte, mods []bootinfo.Module, phys *mem.Phys, log *console.Logger) {
	for i, m := range mods {
		name := fmt.Sprintf("module%d", i)
		if f := strings.Fields(m.Cmdline); len(f) > 0 {
			name = f[0]
		}
		b, err := phys.Slice(m.Start, m.Size)
		if err != nil {
			log.Printf("boot module %d (%q): cannot read it: %v", i, m.Cmdline, err)
			continue
		}
		if _, ok := images[name]; ok {
			log.Printf("boot module %d: image %q (%d bytes) replaces the built-in one", i, name, m.Size)
		} else {
			log.Printf("boot module %d: image %q (%d bytes)", i, name, m.Size)
		}
		images[name] = append([]byte(nil), b...)
	}
}

func images() map[string][]byte {
	out := map[string][]byte{}
	entries, _ := imageFS.ReadDir("images")
	for _, e := range entries {
		b, err := imageFS.ReadFile(path.Join("images", e.Name()))
		if err == nil {
			out[strings.TrimSuffix(e.Name(), ".elf")] = b
		}
	}
	return out
}
