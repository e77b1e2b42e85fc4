package main

import (
	"bytes"
	"debug/elf"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"tamavisor/boot/mbheader"
	"tamavisor/boot/mbheader/elftest"
)

func write(t *testing.T, name string, b []byte, mode os.FileMode) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(path, b, mode); err != nil {
		t.Fatal(err)
	}
	return path
}

func mkbootRun(args ...string) (int, string) {
	var stderr bytes.Buffer
	code := run(args, &stderr)
	return code, stderr.String()
}

func TestInPlace(t *testing.T) {
	path := write(t, "image.elf", elftest.Simple().Build(), 0o755)
	if code, out := mkbootRun("-mb1", path); code != 0 || out != "" {
		t.Fatalf("mkboot = %d, %q; want 0, silent", code, out)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if o1, o2, err := mbheader.Scan(b); err != nil || o2 != 0x78 || o1 != 0xb8 {
		t.Errorf("Scan = %#x, %#x, %v", o1, o2, err)
	}

	// Again, with -v: nothing to write, and the file is not touched.
	old := time.Now().Add(-time.Hour).Truncate(time.Second)
	if err := os.Chtimes(path, old, old); err != nil {
		t.Fatal(err)
	}
	code, out := mkbootRun("-v", "-mb1", path)
	want := "mkboot: " + path + ": headers already present\n" +
		"mkboot: " + path + ": multiboot2 header at file offset 0x78 (64 bytes), multiboot header at 0xb8 (12 bytes)\n"
	if code != 0 || out != want {
		t.Errorf("second mkboot -v = %d, %q; want 0, %q", code, out, want)
	}
	if fi, err := os.Stat(path); err != nil || !fi.ModTime().Equal(old) {
		t.Errorf("second mkboot touched the file: %v, %v", fi.ModTime(), err)
	}
	if again, _ := os.ReadFile(path); !bytes.Equal(again, b) {
		t.Errorf("second mkboot changed the file")
	}
	if code, out := mkbootRun("-mb1", path); code != 0 || out != "" {
		t.Errorf("third mkboot = %d, %q; want 0, silent", code, out)
	}
}

func TestOutput(t *testing.T) {
	orig := elftest.Simple().Build()
	in := write(t, "in.elf", orig, 0o750)
	out := filepath.Join(t.TempDir(), "out.elf")
	// Flags after the file name too.
	code, msg := mkbootRun(in, "-v", "-mb1", "-o", out)
	if code != 0 || !strings.Contains(msg, "multiboot2 header at file offset 0x78 (64 bytes), multiboot header at 0xb8 (12 bytes)") {
		t.Fatalf("mkboot = %d, %q", code, msg)
	}
	if b, _ := os.ReadFile(in); !bytes.Equal(b, orig) {
		t.Errorf("mkboot -o changed its input")
	}
	b, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := mbheader.Scan(b); err != nil || len(b) != len(orig) {
		t.Errorf("output: Scan: %v, size %d (input %d)", err, len(b), len(orig))
	}
	if fi, err := os.Stat(out); err != nil || fi.Mode().Perm() != 0o750 {
		t.Errorf("output mode %v, %v; want the input's 0750", fi.Mode(), err)
	}
	entries, _ := os.ReadDir(filepath.Dir(out))
	if len(entries) != 1 {
		t.Errorf("output directory holds %d files, want 1 (no temporary left over)", len(entries))
	}
	// -o to the input itself is in place.
	if code, msg := mkbootRun("-mb1", "-o", in, in); code != 0 || msg != "" {
		t.Errorf("mkboot -o in in = %d, %q", code, msg)
	}
	if b2, _ := os.ReadFile(in); !bytes.Equal(b2, b) {
		t.Errorf("mkboot -o in in differs from mkboot -o out")
	}
}

func TestPVHWarning(t *testing.T) {
	path := write(t, "image.elf", elftest.GoLike().Build(), 0o644)
	code, out := mkbootRun("-mb1", path)
	if code != 0 || !strings.Contains(out, "warning: the image has a PVH note") || !strings.Contains(out, "leave out -mb1") {
		t.Errorf("mkboot = %d, %q; want 0 and a PVH warning", code, out)
	}
	code, out = mkbootRun("-v", path)
	want := "mkboot: " + path + ": multiboot2 header at file offset 0x410 (64 bytes), no multiboot header\n"
	if code != 0 || out != want {
		t.Errorf("mkboot (Multiboot2 only) = %d, %q; want 0, %q", code, out, want)
	}
	b, _ := os.ReadFile(path)
	if o1, o2, _ := mbheader.Scan(b); o1 != -1 || o2 != 0x410 {
		t.Errorf("Scan = %d, %#x; want no multiboot header, multiboot2 at 0x410", o1, o2)
	}
}

func TestErrors(t *testing.T) {
	bad := elftest.Simple()
	bad.Entry = 0x10010000
	badPath := write(t, "image.elf", bad.Build(), 0o644)
	full := elftest.Spec{
		Entry:    elftest.Link,
		Progs:    []elftest.Prog{{Type: elf.PT_LOAD, Flags: elf.PF_R | elf.PF_X, Off: 0x40, Vaddr: elftest.Link, Paddr: elftest.Link, Filesz: 0x3000, Memsz: 0x3000}},
		ZeroData: true,
	}
	fullPath := write(t, "full.elf", full.Build(), 0o644)
	missing := filepath.Join(t.TempDir(), "missing.elf")
	for _, tc := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{badPath}, 1, "mkboot: " + badPath + ": entry point 0x10010000 is not inside any executable PT_LOAD segment\n"},
		{[]string{fullPath}, 1, "mkboot: " + fullPath + ": no room for the multiboot headers: "},
		{[]string{missing}, 1, "mkboot: open " + missing + ": "},
		{nil, 2, "usage: mkboot"},
		{[]string{badPath, fullPath}, 2, "usage: mkboot"},
		{[]string{"-x", badPath}, 2, "flag provided but not defined: -x"},
		{[]string{"-h"}, 0, "usage: mkboot"},
	} {
		before, _ := os.ReadFile(badPath)
		code, out := mkbootRun(tc.args...)
		if code != tc.code || !strings.HasPrefix(out, tc.want) {
			t.Errorf("mkboot %q = %d, %q; want %d, %q...", tc.args, code, out, tc.code, tc.want)
		}
		if after, _ := os.ReadFile(badPath); !bytes.Equal(before, after) {
			t.Errorf("mkboot %q modified %s", tc.args, badPath)
		}
	}
}

// TestDoubleDash checks that "--" ends the flags: a file named "-v".
func TestDoubleDash(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "-v"), elftest.Simple().Build(), 0o644); err != nil {
		t.Fatal(err)
	}
	t.Chdir(dir)
	if code, out := mkbootRun("--", "-v"); code != 0 || out != "" {
		t.Errorf("mkboot -- -v = %d, %q", code, out)
	}
	b, _ := os.ReadFile(filepath.Join(dir, "-v"))
	if _, o2, _ := mbheader.Scan(b); o2 < 0 {
		t.Errorf("Scan found no multiboot2 header")
	}
}
