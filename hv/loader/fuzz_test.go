package loader

import (
	"io"
	"testing"
)

// FuzzParse: Parse never panics, and every image it accepts is a valid load
// plan: segments inside memory and outside the reserved page, apart from
// each other, their data inside the image, and the entry point in the file
// bytes of an executable segment. Load then writes only inside memory.
func FuzzParse(f *testing.F) {
	good := goodSpec().build()
	f.Add(good)
	s := goodSpec()
	n := note("GNU", 3, nil)
	s.Blobs[noteOff] = n
	s.Phdrs[0].FileSz = uint64(len(n))
	f.Add(s.build()) // Entry64
	s = goodSpec()
	n = note("Xen", xenElfnotePhys32Entry, u64(pvhEntry))
	s.Blobs[noteOff] = n
	s.Phdrs[0].FileSz, s.Phdrs[0].Align = uint64(len(n)), 8
	f.Add(s.build())
	f.Add(good[:100])
	f.Add([]byte{})

	const memSize = 4 << 20
	limits := Limits{MemorySize: memSize, Reserved: []Range{{StartInfoGPA, StartInfoSize}}}
	f.Fuzz(func(t *testing.T, image []byte) {
		img, err := Parse(image, limits)
		if err != nil {
			if img != nil {
				t.Fatal("image with error")
			}
			if len(err.Error()) < 10 || err.Error()[:8] != "loader: " {
				t.Fatalf("bad error %q", err)
			}
			return
		}
		if len(img.Segments) == 0 || len(img.Segments) > MaxProgramHeaders {
			t.Fatalf("%d segments", len(img.Segments))
		}
		for i, s := range img.Segments {
			if s.MemSize == 0 || s.End() < s.GPA || s.End() > memSize || uint64(len(s.Data)) > s.MemSize {
				t.Fatalf("segment %d out of bounds: %+v", i, s)
			}
			if s.GPA < StartInfoGPA+StartInfoSize && StartInfoGPA < s.End() {
				t.Fatalf("segment %d on the reserved page", i)
			}
			if s.GPA < img.Low || s.End() > img.High {
				t.Fatalf("segment %d outside [Low, High)", i)
			}
			for j := i + 1; j < len(img.Segments); j++ {
				o := img.Segments[j]
				if s.GPA < o.End() && o.GPA < s.End() {
					t.Fatalf("segments %d and %d overlap", i, j)
				}
			}
			if len(s.Data) > 0 && !inside(image, s.Data) {
				t.Fatalf("segment %d data is not inside the image", i)
			}
		}
		ok := false
		for _, s := range img.Segments {
			if s.Flags&FlagExec != 0 && img.Entry.Addr >= s.GPA && img.Entry.Addr-s.GPA < uint64(len(s.Data)) {
				ok = true
			}
		}
		if !ok {
			t.Fatalf("entry %#x is not in an executable segment's file bytes", img.Entry.Addr)
		}
		switch img.Entry.Mode {
		case Entry32PVH:
			if img.Entry.Addr > 0xFFFFFFFF {
				t.Fatalf("PVH entry %#x above 4 GiB", img.Entry.Addr)
			}
			if _, err := EntryState(img, StartInfoGPA); err != nil {
				t.Fatal(err)
			}
		case Entry64:
		default:
			t.Fatalf("entry mode %v", img.Entry.Mode)
		}
		var cw boundedWriter
		if err := img.Load(&cw); err != nil {
			t.Fatal(err)
		}
	})
}

// inside reports whether sub is a sub-slice of b.
func inside(b, sub []byte) bool {
	for i := range b {
		if &b[i] == &sub[0] {
			return len(b)-i >= len(sub)
		}
	}
	return false
}

// boundedWriter accepts writes inside the fuzz domain's 4 MiB only.
type boundedWriter struct{}

func (boundedWriter) WriteAt(p []byte, off int64) (int, error) {
	if off < 0 || off+int64(len(p)) > 4<<20 {
		return 0, io.ErrShortWrite
	}
	return len(p), nil
}
