// Command mkboot makes the hypervisor image bootable by GRUB's multiboot2
// command (and, with -mb1, its multiboot command): it validates the ELF
// executable the TamaGo linker produced and writes a Multiboot2 header (and a
// Multiboot header) into the zero padding of its first 8 KiB. The logic lives in tamavisor/boot/mbheader;
// this command owns only the command line and the file handling.
//
// Usage:
//
//	mkboot [-v] [-mb1] [-o out.elf] image.elf
//
// Without -o the image is patched in place (only its first 8 KiB are
// written, and nothing is written if the headers are already there). Running
// mkboot again on a patched image is a no-op. Errors go to stderr, prefixed
// "mkboot: image.elf: ", and exit with status 1; usage errors exit with 2.
//
// By default only the Multiboot2 header is written (and a Multiboot header an
// earlier run wrote is removed): GRUB's multiboot2 command and QEMU's PVH
// boot both accept that image. QEMU's -kernel loader tries Multiboot (v1)
// before PVH and refuses an ELF64 image with a Multiboot (v1) header, so -mb1
// makes an image for loaders that speak only Multiboot, and mkboot warns
// when it writes one into an image that has a PVH note.
package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"tamavisor/boot/mbheader"
)

func main() {
	os.Exit(run(os.Args[1:], os.Stderr))
}

func run(args []string, stderr io.Writer) int {
	fs := flag.NewFlagSet("mkboot", flag.ContinueOnError)
	fs.SetOutput(stderr)
	out := fs.String("o", "", "write the patched image to `file` instead of patching image.elf in place")
	verbose := fs.Bool("v", false, "report where the headers went, or that they were already present")
	mb1 := fs.Bool("mb1", false, "write the Multiboot (v1) header too; QEMU's -kernel refuses an ELF64 image that has one")
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), "usage: mkboot [-v] [-mb1] [-o out.elf] image.elf\n\n"+
			"Validates an x86-64 ELF executable and writes Multiboot2 and Multiboot\n"+
			"headers into the zero padding of its first 8 KiB.\n\n")
		fs.PrintDefaults()
	}
	// Accept flags after the file name too: mkboot image.elf -o out.elf.
	var files []string
	for {
		if err := fs.Parse(args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				return 0
			}
			return 2
		}
		rest := fs.Args()
		if len(rest) == 0 {
			break
		}
		if n := len(args) - len(rest); n > 0 && args[n-1] == "--" {
			files = append(files, rest...)
			break
		}
		files = append(files, rest[0])
		args = rest[1:]
	}
	if len(files) != 1 {
		fs.Usage()
		return 2
	}
	in := files[0]

	res, err := mkboot(in, *out, mbheader.Options{OmitMultiboot1: !*mb1})
	if err != nil {
		fmt.Fprintf(stderr, "mkboot: %v\n", err)
		return 1
	}
	if res.PVH && res.MB1.Offset >= 0 {
		fmt.Fprintf(stderr, "mkboot: %s: warning: the image has a PVH note, but QEMU -kernel refuses an ELF64 image with a multiboot (v1) header; leave out -mb1 for an image QEMU boots\n", in)
	}
	if *verbose {
		if res.Unchanged {
			fmt.Fprintf(stderr, "mkboot: %s: headers already present\n", in)
		}
		msg := fmt.Sprintf("multiboot2 header at file offset %#x (%d bytes)", res.MB2.Offset, res.MB2.Size)
		if res.MB1.Offset >= 0 {
			msg += fmt.Sprintf(", multiboot header at %#x (%d bytes)", res.MB1.Offset, res.MB1.Size)
		} else {
			msg += ", no multiboot header"
		}
		fmt.Fprintf(stderr, "mkboot: %s: %s\n", in, msg)
	}
	return 0
}

// mkboot patches the image at in, in place or into out.
func mkboot(in, out string, opts mbheader.Options) (mbheader.Result, error) {
	file, err := os.ReadFile(in)
	if err != nil {
		return mbheader.Result{}, err
	}
	res, err := mbheader.Patch(file, opts)
	if err != nil {
		return res, fmt.Errorf("%s: %w", in, err)
	}
	inPlace := out == "" || out == in
	if !inPlace {
		if fi1, err := os.Stat(in); err == nil {
			if fi2, err := os.Stat(out); err == nil && os.SameFile(fi1, fi2) {
				inPlace = true
			}
		}
	}
	if inPlace {
		if res.Unchanged {
			return res, nil
		}
		return res, writePrefix(in, file[:min(len(file), mbheader.SlotLimit)])
	}
	return res, writeFile(in, out, file)
}

// writePrefix overwrites the start of the file at path with b, the only part
// Patch changes.
func writePrefix(path string, b []byte) error {
	f, err := os.OpenFile(path, os.O_WRONLY, 0)
	if err != nil {
		return err
	}
	if _, err := f.WriteAt(b, 0); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// writeFile writes b to out atomically (a temporary file renamed over it),
// with the permissions of in.
func writeFile(in, out string, b []byte) (err error) {
	mode := os.FileMode(0o755)
	if fi, err := os.Stat(in); err == nil {
		mode = fi.Mode().Perm()
	}
	tmp, err := os.CreateTemp(filepath.Dir(out), "."+filepath.Base(out)+".mkboot-*")
	if err != nil {
		return err
	}
	defer func() {
		if err != nil {
			os.Remove(tmp.Name())
		}
	}()
	if _, err := tmp.Write(b); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Chmod(mode); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), out)
}
