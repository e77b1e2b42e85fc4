package hv

import (
	"bytes"
	"fmt"
	"reflect"
	"strings"
	"testing"

	"tamavisor/abi"
	"tamavisor/hv/loader"
	"tamavisor/mem"
	"tamavisor/xen"
)

// A domain's modules go to the top of its RAM, below the special pages and
// page aligned, the first highest, byte for byte; start_info names them.
func TestLoadModules(t *testing.T) {
	w := newWorld(t, 24, false)
	e := w.addDomain(t, 1, "one", 4, false)
	first := bytes.Repeat([]byte("first module "), 700) // 9100 bytes: 3 pages
	second := []byte("second")
	w.h.Images["first"], w.h.Images["second"], w.h.Images["empty"] = first, second, nil
	e.d.Spec.Modules = []string{"first", "second"}
	mods, err := w.h.loadModules(e.d, 2<<20)
	if err != nil {
		t.Fatal(err)
	}
	special := e.d.MemSize - abi.SpecialPages*mem.PageSize
	want := []loader.Module{
		{Addr: special - 3*mem.PageSize, Size: uint64(len(first)), Cmdline: "first"},
		{Addr: special - 4*mem.PageSize, Size: uint64(len(second)), Cmdline: "second"},
	}
	if !reflect.DeepEqual(mods, want) {
		t.Fatalf("modules %+v, want %+v", mods, want)
	}
	if got := e.read(t, want[0].Addr, len(first)); !bytes.Equal(got, first) {
		t.Error("the first module's bytes differ in guest memory")
	}
	if got := e.read(t, want[1].Addr, len(second)); !bytes.Equal(got, second) {
		t.Error("the second module's bytes differ in guest memory")
	}
	for _, tt := range []struct {
		mods     []string
		imageEnd uint64
		want     string
	}{
		{[]string{"missing"}, 2 << 20, `module 0: no image "missing" (the hypervisor carries [empty first second])`},
		{[]string{"second", "empty"}, 2 << 20, `module 1: image "empty" is empty`},
		{[]string{"first"}, special - 2*mem.PageSize, `module 0: "first" (9100 bytes) does not fit between the image's end`},
		{[]string{"second"}, 0, ""}, // the first MiB stays free even for a low image
	} {
		e.d.Spec.Modules = tt.mods
		_, err := w.h.loadModules(e.d, tt.imageEnd)
		if tt.want == "" {
			if err != nil {
				t.Errorf("%v: %v", tt.mods, err)
			}
			continue
		}
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%v above 0x%x: error %v, want %q", tt.mods, tt.imageEnd, err, tt.want)
		}
	}
}

// Domain ids go up from the last one given, skip those in use, and wrap
// below DOMID_FIRST_RESERVED to 1, as Xen's do.
func TestFreeID(t *testing.T) {
	w := newWorld(t, 24, false)
	h := w.h
	for _, id := range []uint16{1, 2, 4} {
		w.addDomain(t, id, fmt.Sprintf("d%d", id), 2, false)
	}
	for _, tt := range []struct {
		next, want uint16
	}{
		{1, 3}, {3, 3}, {4, 5}, {xen.DomIDFirstReserved - 1, xen.DomIDFirstReserved - 1},
		{xen.DomIDFirstReserved, 3}, {0, 3}, {0xffff, 3},
	} {
		h.nextID = tt.next
		if got, ok := h.freeID(); !ok || got != tt.want {
			t.Errorf("nextID %#x: freeID = %#x, %v; want %#x", tt.next, got, ok, tt.want)
		}
	}
}

// ramHPA finds the frame behind any RAM page, in chunks of either size,
// and nothing outside RAM.
func TestRamHPA(t *testing.T) {
	d := &Domain{}
	gpa, hpa := uint64(0), uint64(0x4000_0000)
	for i := 0; i < 1000; i++ {
		size := uint64(mem.PageSize)
		if i%3 == 0 {
			size = 2 << 20
		}
		d.chunks = append(d.chunks, memChunk{gpa: gpa, hpa: hpa, size: size})
		gpa, hpa = gpa+size, hpa+size+mem.PageSize // host frames not adjacent
	}
	d.MemSize = gpa
	for _, c := range d.chunks {
		for _, off := range []uint64{0, mem.PageSize - 1, c.size - 1} {
			if got, ok := d.ramHPA(c.gpa + off); !ok || got != c.hpa+off&^(mem.PageSize-1) {
				t.Fatalf("ramHPA(%#x) = %#x, %v; want %#x", c.gpa+off, got, ok, c.hpa+off&^(mem.PageSize-1))
			}
		}
	}
	for _, out := range []uint64{d.MemSize, d.MemSize + 1<<20, ^uint64(0)} {
		if got, ok := d.ramHPA(out); ok {
			t.Errorf("ramHPA(%#x) = %#x outside RAM", out, got)
		}
	}
	if _, ok := (&Domain{}).ramHPA(0); ok {
		t.Error("a domain without RAM has a frame")
	}
}
