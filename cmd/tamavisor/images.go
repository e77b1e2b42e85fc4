//go:build tamago

package main

import (
	"embed"
	"path"
	"strings"
)

// The domain images the hypervisor carries: the Makefile builds each program
// under domains/ and copies its ELF here before building the hypervisor.
//
//go:embed images/*.elf
var imageFS embed.FS

// images returns the embedded domain images by name (file name without .elf).
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
