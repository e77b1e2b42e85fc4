package hv

import (
	"bytes"
	"errors"
	"strings"
	"testing"

	"tamavisor/ept"
	"tamavisor/vmx"
	"tamavisor/xen"
)

func pattern(n int, seed byte) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = seed + byte(i*7)
	}
	return b
}

func TestGPAAcrossPages(t *testing.T) {
	e := newTestVCPU(t, 8)
	tests := []struct {
		name string
		gpa  uint64
		n    int
	}{
		{"inside a page", 0x1010, 0x20},
		{"across a 4 KiB boundary", 0x1ff0, 0x40},
		{"several pages", 0x3800, 3 * mem4K},
		// Guest-physically adjacent, host-physically apart (newTestVCPU
		// places the 2 MiB chunks in reverse order).
		{"across a 2 MiB chunk boundary", 0x1f_fffb, 0x10},
		{"the last bytes", 8<<20 - 5, 5},
		{"empty", 0x5000, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			want := pattern(tt.n, byte(tt.gpa))
			if err := e.d.Mem.WriteGPA(tt.gpa, want); err != nil {
				t.Fatalf("WriteGPA: %v", err)
			}
			got := make([]byte, tt.n)
			if err := e.d.Mem.ReadGPA(tt.gpa, got); err != nil {
				t.Fatalf("ReadGPA: %v", err)
			}
			if !bytes.Equal(got, want) {
				t.Fatal("read back differs")
			}
			// Each byte is where the EPT puts it in host memory.
			for i := 0; i < tt.n; i++ {
				if b := e.host(t, tt.gpa+uint64(i), 1)[0]; b != want[i] {
					t.Fatalf("host byte of GPA %#x is %#x, want %#x", tt.gpa+uint64(i), b, want[i])
				}
			}
		})
	}
	// The chunks really are apart: the bytes on each side of GPA 2 MiB are
	// 4 MiB apart in host memory.
	if lo, hi := e.hpa(t, 0x1f_ffff), e.hpa(t, 0x20_0000); lo+1 == hi {
		t.Errorf("GPA 0x1fffff at HPA %#x, 0x200000 at %#x: the test expects them apart", lo, hi)
	}
	e.check(t)
}

func TestWriteAt(t *testing.T) {
	e := newTestVCPU(t, 4)
	n, err := e.d.Mem.WriteAt([]byte("hello"), 0x1ffe)
	if err != nil || n != 5 {
		t.Fatalf("WriteAt = %d, %v", n, err)
	}
	if got := e.read(t, 0x1ffe, 5); string(got) != "hello" {
		t.Errorf("read %q", got)
	}
	if n, err := e.d.Mem.WriteAt([]byte("x"), 4<<20); n != 0 || !errors.Is(err, ErrFault) {
		t.Errorf("WriteAt beyond memory = %d, %v", n, err)
	}
}

func TestGPAFault(t *testing.T) {
	e := newTestVCPU(t, 4)
	end := uint64(4 << 20)
	tests := []struct {
		name string
		gpa  uint64
		n    int
	}{
		{"just beyond memory", end, 1},
		{"straddling the end", end - 8, 16},
		{"far beyond", 0x1_0000_0000, 4},
		{"beyond the EPT's reach", 1 << 48, 4},
		{"the top of the address space", ^uint64(0) - 3, 4},
	}
	for _, tt := range tests {
		b := make([]byte, tt.n)
		if err := e.d.Mem.ReadGPA(tt.gpa, b); !errors.Is(err, ErrFault) {
			t.Errorf("%s: ReadGPA(%#x) = %v, want ErrFault", tt.name, tt.gpa, err)
		}
		if err := e.d.Mem.WriteGPA(tt.gpa, b); !errors.Is(err, ErrFault) {
			t.Errorf("%s: WriteGPA(%#x) = %v, want ErrFault", tt.name, tt.gpa, err)
		}
	}
	e.check(t)
}

func TestGPAPermissions(t *testing.T) {
	e := newTestVCPU(t, 4)
	const page = 0x21_0000
	e.write(t, page, []byte("guest"))
	if err := e.d.EPT.Protect(page, mem4K, ept.Read); err != nil {
		t.Fatal(err)
	}
	if err := e.d.Mem.WriteGPA(page+8, []byte("x")); !errors.Is(err, ErrFault) {
		t.Errorf("write to a read-only page: %v", err)
	} else if !strings.Contains(err.Error(), "0x210008") {
		t.Errorf("error %q does not name the GPA", err)
	}
	// A write that starts on the page before stops at the read-only page.
	err := e.d.Mem.WriteGPA(page-2, []byte("abcd"))
	if !errors.Is(err, ErrFault) {
		t.Errorf("write into a read-only page: %v", err)
	}
	if got := e.read(t, page, 5); string(got) != "guest" {
		t.Errorf("the read-only page now holds %q", got)
	}
	// Reads are allowed.
	if got := e.read(t, page-2, 7); string(got[2:]) != "guest" {
		t.Errorf("read %q", got)
	}
	// The next page is still writable.
	e.write(t, page+mem4K, []byte("ok"))

	// An unmapped page in the middle of memory.
	if err := e.d.EPT.Unmap(0x5000, mem4K); err != nil {
		t.Fatal(err)
	}
	b := make([]byte, 0x20)
	if err := e.d.Mem.ReadGPA(0x4ff0, b); !errors.Is(err, ErrFault) || !strings.Contains(err.Error(), "not mapped") {
		t.Errorf("read across an unmapped page: %v", err)
	}
	e.check(t)
}

func TestLinearPagingOff(t *testing.T) {
	e := newTestVCPU(t, 4)
	p := Paging{CR0: cr0PE}
	for _, tt := range []struct{ gva, want uint64 }{
		{0x1234, 0x1234},
		{0x1_0000_1234, 0x1234}, // 32-bit addresses without LMA
		{0xffff_ffff_ffff_fff0, 0xffff_fff0},
	} {
		got, err := e.d.Mem.Linear(p, tt.gva, true)
		if err != nil || got != tt.want {
			t.Errorf("Linear(%#x) with paging off = %#x, %v; want %#x", tt.gva, got, err, tt.want)
		}
	}
	// readLinear wraps with the address.
	e.write(t, 0x100, []byte("wrap"))
	b := make([]byte, 4)
	if err := e.v.readLinear(0x1_0000_0100, b); err != nil || string(b) != "wrap" {
		t.Errorf("readLinear(0x100000100) = %q, %v", b, err)
	}
}

// pagingEnv is a vCPU in long mode with page tables at GPA 0x10000.
func pagingEnv(t *testing.T) (*testEnv, *guestPT, Paging) {
	e := newTestVCPU(t, 8)
	pt := e.newGuestPT(t, 0x1_0000)
	e.longMode(pt.root)
	return e, pt, e.v.paging()
}

func TestLinear4Level(t *testing.T) {
	e, pt, p := pagingEnv(t)
	pt.mapPage(0x40_0000_1000, 0x3000, 1<<12, ptP|ptRW)
	pt.mapPage(0xffff_8000_0000_5000, 0x7000, 1<<12, ptP|ptRW|ptUS)
	pt.mapPage(0x8020_0000, 0x40_0000, 1<<21, ptP|ptRW)
	pt.mapPage(0x8040_0000, 0x60_0000, 1<<21, ptP|ptRW|ptPAT) // bit 12 is PAT, not address
	pt.mapPage(0x80_0000_0000, 0, 1<<30, ptP|ptRW)
	pt.mapPage(0xffff_ffff_c000_0000, 0x4000_0000, 1<<30, ptP|ptRW|ptPAT)
	tests := []struct{ gva, want uint64 }{
		{0x40_0000_1000, 0x3000},
		{0x40_0000_1fff, 0x3fff},
		{0xffff_8000_0000_5abc, 0x7abc},
		{0x8020_0000, 0x40_0000},
		{0x8032_3456, 0x52_3456},
		{0x8040_1234, 0x60_1234},
		{0x80_0000_0000, 0},
		{0x80_3456_789a, 0x3456_789a},
		{0xffff_ffff_c123_4567, 0x4123_4567},
	}
	for _, tt := range tests {
		for _, write := range []bool{false, true} {
			got, err := e.d.Mem.Linear(p, tt.gva, write)
			if err != nil || got != tt.want {
				t.Errorf("Linear(%#x, write %v) = %#x, %v; want %#x", tt.gva, write, got, err, tt.want)
			}
		}
	}
	// Through a 1 GiB page, bytes land where the GPA says.
	if err := e.v.writeLinear(0x80_0034_5678, []byte("1G")); err != nil {
		t.Fatal(err)
	}
	if got := e.read(t, 0x34_5678, 2); string(got) != "1G" {
		t.Errorf("GPA 0x345678 holds %q", got)
	}
	e.check(t)
}

func TestLinearFaults(t *testing.T) {
	e, pt, p := pagingEnv(t)
	pt.mapPage(0x40_0000_0000, 0x3000, 1<<12, ptP|ptRW)
	pt.mapPage(0x40_0000_1000, 0x4000, 1<<12, ptP) // read-only
	pt.mapPage(0x40_0040_0000, 0x40_0000, 1<<21, ptP)
	pt.mapPage(0x40_0000_2000, 0xf0_0000_0000, 1<<12, ptP|ptRW) // beyond the domain's memory

	// Tables that are not present, one level at a time, and a PML4 entry
	// with PS set (reserved: no 512 GiB pages).
	notPresent := map[int]uint64{3: 0x200_0000_0000, 2: 0x40_4000_0000, 1: 0x40_0060_0000, 0: 0x40_0000_3000}
	for l, gva := range notPresent {
		pt.entry(gva, l) // the tables above it exist
	}
	const psPML4 = 0x300_0000_0000
	e.write64(t, pt.entry(psPML4, 3), ptP|ptRW|ptPS)

	tests := []struct {
		name  string
		p     Paging
		gva   uint64
		write bool
		want  string
	}{
		{"not present: PML4E", p, notPresent[3], false, "level-4 entry"},
		{"not present: PDPTE", p, notPresent[2], false, "level-3 entry"},
		{"not present: PDE", p, notPresent[1], false, "level-2 entry"},
		{"not present: PTE", p, notPresent[0], false, "level-1 entry"},
		{"PS in a PML4E", p, psPML4 + 0x1234, false, "PS"},
		{"non-canonical", p, 0x0000_8000_0000_0000, false, "not canonical"},
		{"non-canonical high", p, 0xfff0_0000_0000_0000, false, "not canonical"},
		{"read-only 4 KiB page, WP", p, 0x40_0000_1008, true, "read-only"},
		{"read-only 2 MiB page, WP", p, 0x40_0045_0000, true, "read-only"},
		{"32-bit paging", Paging{CR0: cr0PE | cr0PG, CR3: pt.root}, 0x1000, false, "32-bit paging"},
		{"PAE paging without long mode", Paging{CR0: cr0PE | cr0PG, CR3: pt.root, CR4: cr4PAE}, 0x1000, false, "32-bit paging"},
		{"LA57", Paging{CR0: p.CR0, CR3: p.CR3, CR4: p.CR4 | cr4LA57, EFER: p.EFER}, 0x40_0000_0000, false, "5-level"},
		{"page tables outside memory", Paging{CR0: p.CR0, CR3: 0x7000_0000, CR4: p.CR4, EFER: p.EFER}, 0x40_0000_0000, false, "level-4 paging entry"},
	}
	for _, tt := range tests {
		gpa, err := e.d.Mem.Linear(tt.p, tt.gva, tt.write)
		if !errors.Is(err, ErrFault) || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: Linear(%#x) = %#x, %v; want ErrFault and %q", tt.name, tt.gva, gpa, err, tt.want)
		}
	}
	// A page beyond memory translates, but reading it faults.
	if err := e.v.readLinear(0x40_0000_2000, make([]byte, 1)); !errors.Is(err, ErrFault) {
		t.Errorf("reading a page mapped beyond memory: %v", err)
	}
	// Reading the read-only pages works.
	for _, gva := range []uint64{0x40_0000_1008, 0x40_0045_0000} {
		if _, err := e.d.Mem.Linear(p, gva, false); err != nil {
			t.Errorf("reading read-only %#x: %v", gva, err)
		}
	}
	e.check(t)
}

// With CR0.WP clear, supervisor writes ignore the R/W bits (SDM Vol. 3A
// 4.6.1); with it set, a clear R/W bit at any level forbids them.
func TestLinearWriteProtect(t *testing.T) {
	e, pt, p := pagingEnv(t)
	pt.mapPage(0x40_0000_1000, 0x4000, 1<<12, ptP)        // read-only leaf
	pt.mapPage(0x40_4000_0000, 0x5000, 1<<12, ptP|ptRW)   // writable leaf ...
	pdpte := pt.entry(0x40_4000_0000, 2)                  // ... under a read-only PDPTE
	e.write64(t, pdpte, e.read64(t, pdpte)&^uint64(ptRW)) //
	pt.mapPage(0x60_0000_0000, 0, 1<<30, ptP)             // read-only 1 GiB page
	noWP := Paging{CR0: p.CR0 &^ cr0WP, CR3: p.CR3, CR4: p.CR4, EFER: p.EFER}
	for _, gva := range []uint64{0x40_0000_1000, 0x40_4000_0010, 0x60_0000_0000} {
		if _, err := e.d.Mem.Linear(p, gva, true); !errors.Is(err, ErrFault) {
			t.Errorf("write to %#x with WP: %v", gva, err)
		}
		if err := e.v.writeLinear(gva, []byte{1}); !errors.Is(err, ErrFault) {
			t.Errorf("writeLinear to %#x with WP: %v", gva, err)
		}
		if _, err := e.d.Mem.Linear(noWP, gva, true); err != nil {
			t.Errorf("write to %#x without WP: %v", gva, err)
		}
		e.vmcs.WriteNat(vmx.GuestCR0, e.vmcs.ReadNat(vmx.GuestCR0)&^cr0WP)
		if err := e.v.writeLinear(gva, []byte{1}); err != nil {
			t.Errorf("writeLinear to %#x without WP: %v", gva, err)
		}
		e.vmcs.WriteNat(vmx.GuestCR0, e.vmcs.ReadNat(vmx.GuestCR0)|cr0WP)
	}
	if got := e.read(t, 0x4000, 1); got[0] != 1 {
		t.Error("the write without WP did not land")
	}
	e.check(t)
}

// A buffer across a page boundary is translated page by page: here the two
// linear pages map to GPAs in the wrong order and far apart.
func TestLinearAcrossPages(t *testing.T) {
	e, pt, _ := pagingEnv(t)
	const gva = 0x40_0000_0000
	pt.mapPage(gva, 0x30_5000, 1<<12, ptP|ptRW)
	pt.mapPage(gva+mem4K, 0x2000, 1<<12, ptP|ptRW)
	pt.mapPage(gva+2*mem4K, 0x9000, 1<<12, ptP) // read-only
	want := pattern(32, 1)
	if err := e.v.writeLinear(gva+0xff0, want); err != nil {
		t.Fatal(err)
	}
	if got := e.read(t, 0x30_5ff0, 16); !bytes.Equal(got, want[:16]) {
		t.Errorf("first page: % x", got)
	}
	if got := e.read(t, 0x2000, 16); !bytes.Equal(got, want[16:]) {
		t.Errorf("second page: % x", got)
	}
	if got := e.read(t, 0x30_6000, 16); !bytes.Equal(got, make([]byte, 16)) {
		t.Errorf("the GPA after the first page was written: % x", got)
	}
	got := make([]byte, 32)
	if err := e.v.readLinear(gva+0xff0, got); err != nil || !bytes.Equal(got, want) {
		t.Errorf("readLinear = % x, %v", got, err)
	}
	// Longer than a page, across three.
	big := pattern(mem4K+0x20, 9)
	if err := e.v.readLinear(gva+0x10, big); err != nil {
		t.Errorf("readLinear across 3 pages: %v", err)
	}
	// The third page is read-only: a write into it fails.
	if err := e.v.writeLinear(gva+2*mem4K-4, make([]byte, 8)); !errors.Is(err, ErrFault) {
		t.Errorf("writeLinear into a read-only page: %v", err)
	}
	// Into an unmapped page: the read fails.
	if err := e.v.readLinear(gva+3*mem4K-4, make([]byte, 8)); !errors.Is(err, ErrFault) {
		t.Errorf("readLinear into an unmapped page: %v", err)
	}
	e.check(t)
}

// The vCPU's linear translations last one hypercall: a guest that remaps a
// page between two hypercalls is read through its new mapping, and a
// translation cached by a read does not let a write through a read-only
// mapping.
func TestLinearCachePerHypercall(t *testing.T) {
	e, pt, _ := pagingEnv(t)
	const gva = 0x40_0000_0000
	pt.mapPage(gva, 0x3000, 1<<12, ptP|ptRW)
	e.write(t, 0x3000, []byte("first\n"))
	e.write(t, 0x5000, []byte("again\n"))
	if r := e.vmcall(xen.HypercallConsoleIO, xen.ConsoleIOWrite, 6, gva); r != 6 {
		t.Fatalf("console_io = %d", r)
	}
	pt.mapPage(gva, 0x5000, 1<<12, ptP|ptRW)
	if r := e.vmcall(xen.HypercallConsoleIO, xen.ConsoleIOWrite, 6, gva); r != 6 {
		t.Fatalf("console_io = %d", r)
	}
	if got := e.out.String(); !strings.Contains(got, "first\n") || !strings.Contains(got, "again\n") {
		t.Errorf("console: %q; want the first page, then the remapped one", got)
	}

	const ro = 0x40_0000_1000
	pt.mapPage(ro, 0x6000, 1<<12, ptP) // read-only
	e.v.inHypercall = true
	defer func() { e.v.inHypercall = false; e.v.dropLinear() }()
	b := make([]byte, 4)
	if err := e.v.readLinear(ro, b); err != nil {
		t.Fatalf("read through the read-only mapping: %v", err)
	}
	if err := e.v.writeLinear(ro, b); !errors.Is(err, ErrFault) {
		t.Errorf("write through the read-only mapping after a cached read: %v, want a fault", err)
	}
	// A writable page read and written back in one hypercall is walked
	// once: the cached translation says it allows writes.
	e.v.dropLinear()
	if err := e.v.readLinear(gva, b); err != nil {
		t.Fatal(err)
	}
	if err := e.v.writeLinear(gva, b); err != nil {
		t.Fatal(err)
	}
	if n := e.v.linear.next; n != 1 {
		t.Errorf("%d translations cached for one page read and written, want 1", n)
	}
	e.check(t)
}
