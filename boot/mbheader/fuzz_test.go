package mbheader

import (
	"bytes"
	"slices"
	"testing"

	"tamavisor/boot/mbheader/elftest"
)

func patched(s elftest.Spec) []byte {
	b := s.Build()
	if _, err := Patch(b, Options{}); err != nil {
		panic(err)
	}
	return b
}

// FuzzScan feeds Scan arbitrary bytes: it must not panic, and what it
// accepts must satisfy the specifications' placement rules.
func FuzzScan(f *testing.F) {
	f.Add([]byte{})
	f.Add(Multiboot2Header())
	f.Add(append(Multiboot2Header(), Multiboot1Header()...))
	f.Add(mb2Of(0, rawTag(1, 0, 12, 6), pad4, rawTag(2, 0, 24, 0, 0, 0, 0), endTag))
	f.Add(patched(elftest.Simple())[:0x1000])
	f.Add(patched(elftest.GoLike())[:0x1000])
	f.Fuzz(func(t *testing.T, b []byte) {
		o1, o2, err := Scan(b)
		if o1 >= 0 && (o1%4 != 0 || o1+12 > min(len(b), 8192) || !isMB1(b, o1)) {
			t.Errorf("multiboot header at %#x in %d bytes", o1, len(b))
		}
		if o2 >= 0 && (o2%8 != 0 || o2+24 > min(len(b), 32768) || !isMB2(b, o2)) {
			t.Errorf("multiboot2 header at %#x in %d bytes", o2, len(b))
		}
		if (err == nil) != (o1 >= 0 && o2 >= 0) {
			t.Errorf("Scan = %d, %d, %v", o1, o2, err)
		}
	})
}

// FuzzPatch feeds Patch mutated images: it must not panic, must leave a
// file it rejects alone, and a file it accepts must scan right, differ only
// in the headers, and patch again unchanged.
func FuzzPatch(f *testing.F) {
	f.Add(elftest.Simple().Build()[:0x1100])
	f.Add(elftest.GoLike().Build())
	f.Add(patched(elftest.GoLike()))
	f.Fuzz(func(t *testing.T, in []byte) {
		b := slices.Clone(in)
		res, err := Patch(b, Options{})
		if err != nil {
			if !bytes.Equal(b, in) {
				t.Fatalf("Patch failed (%v) but modified the file", err)
			}
			return
		}
		o1, o2, err := Scan(b)
		if err != nil || o1 != res.MB1.Offset || o2 != res.MB2.Offset {
			t.Fatalf("Scan = %#x, %#x, %v after Patch = %+v", o1, o2, err, res)
		}
		for i := range b {
			if b[i] != in[i] && !(i >= o1 && i < o1+12) && !(i >= o2 && i < o2+64) {
				t.Fatalf("byte %#x changed outside the headers", i)
			}
		}
		again := slices.Clone(b)
		res2, err := Patch(again, Options{})
		if err != nil || !res2.Unchanged || !bytes.Equal(again, b) {
			t.Fatalf("second Patch = %+v, %v", res2, err)
		}
	})
}
