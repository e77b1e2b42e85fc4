package mbheader

import (
	"encoding/binary"
	"errors"
	"strings"
	"testing"
)

func mb1At(b []byte, off int, flags uint32) {
	binary.LittleEndian.PutUint32(b[off:], MB1Magic)
	binary.LittleEndian.PutUint32(b[off+4:], flags)
	binary.LittleEndian.PutUint32(b[off+8:], -(uint32(MB1Magic) + flags))
}

// mb2Of builds a Multiboot2 header with the given raw tag bytes.
func mb2Of(arch uint32, tags ...[]byte) []byte {
	h := make([]byte, 16)
	for _, t := range tags {
		h = append(h, t...)
	}
	binary.LittleEndian.PutUint32(h, MB2Magic)
	binary.LittleEndian.PutUint32(h[4:], arch)
	binary.LittleEndian.PutUint32(h[8:], uint32(len(h)))
	binary.LittleEndian.PutUint32(h[12:], -(uint32(MB2Magic) + arch + uint32(len(h))))
	return h
}

func rawTag(typ, flags uint16, size uint32, payload ...uint32) []byte {
	b := binary.LittleEndian.AppendUint16(nil, typ)
	b = binary.LittleEndian.AppendUint16(b, flags)
	b = binary.LittleEndian.AppendUint32(b, size)
	for _, p := range payload {
		b = binary.LittleEndian.AppendUint32(b, p)
	}
	return b
}

var (
	endTag = rawTag(0, 0, 8)
	// pad4 pads a 12-byte tag to the next 8-byte boundary (MB2 §3.1.3).
	pad4 = []byte{0, 0, 0, 0}
)

func TestScanMissing(t *testing.T) {
	for _, b := range [][]byte{nil, make([]byte, 11), make([]byte, 40000)} {
		o1, o2, err := Scan(b)
		if o1 != -1 || o2 != -1 || !errors.Is(err, ErrNoMultiboot1) || !errors.Is(err, ErrNoMultiboot2) {
			t.Errorf("Scan(%d zero bytes) = %d, %d, %v; want -1, -1, both missing", len(b), o1, o2, err)
		}
	}
}

func TestScanMultiboot1(t *testing.T) {
	for _, tc := range []struct {
		name  string
		setup func(b []byte)
		want  int
		err   string
	}{
		{"aligned", func(b []byte) { mb1At(b, 0x104, MB1Flags) }, 0x104, ""},
		{"misaligned", func(b []byte) { mb1At(b, 0x102, MB1Flags) }, -1, "no multiboot header"},
		{"bad checksum skipped", func(b []byte) {
			mb1At(b, 0x100, MB1Flags)
			b[0x108]++
			mb1At(b, 0x200, MB1Flags)
		}, 0x200, ""},
		{"last place", func(b []byte) { mb1At(b, 8192-12, MB1Flags) }, 8192 - 12, ""},
		{"past 8 KiB", func(b []byte) { mb1At(b, 8192-8, MB1Flags) }, -1, "no multiboot header"},
		{"unsupported flag", func(b []byte) { mb1At(b, 0x100, MB1Flags|1<<3) }, -1, "flags 0xb require features GRUB does not support (bits 0x8)"},
		{"optional flag", func(b []byte) { mb1At(b, 0x100, MB1Flags|1<<20) }, 0x100, ""},
		{"address fields past 8 KiB", func(b []byte) { mb1At(b, 8192-16, MB1Flags|MB1FlagAddress) }, -1, "need a 32-byte header"},
		{"video fields past 8 KiB", func(b []byte) { mb1At(b, 8192-40, MB1FlagVideoMode) }, -1, "need a 48-byte header"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := make([]byte, 0x4000)
			tc.setup(b)
			o1, _, err := Scan(b)
			if o1 != tc.want {
				t.Errorf("multiboot offset %#x, want %#x", o1, tc.want)
			}
			if tc.err == "" && errors.Is(err, ErrNoMultiboot1) || tc.err != "" && (err == nil || !strings.Contains(err.Error(), tc.err)) {
				t.Errorf("err = %v, want %q", err, tc.err)
			}
		})
	}
}

func TestScanMultiboot2(t *testing.T) {
	ok := mb2Of(0, rawTag(1, 0, 12, 6), pad4, endTag)
	for _, tc := range []struct {
		name string
		hdr  []byte
		at   int
		want int
		err  string
	}{
		{"ours", Multiboot2Header(), 0x108, 0x108, ""},
		{"minimal", mb2Of(0, endTag), 0x100, 0x100, ""},
		{"padded request", ok, 0x100, 0x100, ""},
		{"misaligned", Multiboot2Header(), 0x104, -1, "no multiboot2 header"},
		{"wrong architecture", mb2Of(4, endTag), 0x100, -1, "no multiboot2 header"},
		{"last place", mb2Of(0, endTag), 32768 - 24, 32768 - 24, ""},
		{"past 32 KiB", mb2Of(0, endTag), 32768 - 16, -1, "header_length 24 runs past"},
		{"no end tag", mb2Of(0, rawTag(6, 0, 8)), 0x100, -1, "no end tag"},
		{"tag too small", mb2Of(0, rawTag(6, 0, 4), endTag), 0x100, -1, "size 4 is less than 8"},
		{"tag too big", mb2Of(0, rawTag(1, 1, 64), endTag), 0x100, -1, "runs past header_length"},
		{"bad end size", mb2Of(0, rawTag(0, 0, 16), rawTag(0, 0, 8)), 0x100, -1, "tag type 0 at file offset 0x110: size 16, want 8"},
		{"bad request size", mb2Of(0, rawTag(1, 0, 10, 6), endTag), 0x100, -1, "information request tag at file offset 0x110: size 10"},
		{"unknown required request", mb2Of(0, rawTag(1, 0, 12, 99), pad4, endTag), 0x100, -1, "asks for unknown information type 99"},
		{"unknown optional request", mb2Of(0, rawTag(1, 1, 12, 99), pad4, endTag), 0x100, 0x100, ""},
		{"unknown required tag", mb2Of(0, rawTag(42, 0, 8), endTag), 0x100, -1, "required tag at file offset 0x110 has unknown type 42"},
		{"unknown optional tag", mb2Of(0, rawTag(42, 1, 8), endTag), 0x100, 0x100, ""},
		{"address without entry", mb2Of(0, rawTag(2, 0, 24, 0, 0, 0, 0), endTag), 0x100, -1, "address tag without entry address tag"},
		{"address with entry", mb2Of(0, rawTag(2, 0, 24, 0, 0, 0, 0), rawTag(3, 0, 12, 0x100000), pad4, endTag), 0x100, 0x100, ""},
		{"short header_length", func() []byte {
			h := mb2Of(0, endTag)
			binary.LittleEndian.PutUint32(h[8:], 16)
			binary.LittleEndian.PutUint32(h[12:], -(magic2 + 16))
			return h
		}(), 0x100, -1, "header_length 16 is too short"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := make([]byte, 0x9000)
			copy(b[tc.at:], tc.hdr)
			_, o2, err := Scan(b)
			if o2 != tc.want {
				t.Errorf("multiboot2 offset %#x, want %#x", o2, tc.want)
			}
			if tc.err == "" && errors.Is(err, ErrNoMultiboot2) || tc.err != "" && (err == nil || !strings.Contains(err.Error(), tc.err)) {
				t.Errorf("err = %v, want %q", err, tc.err)
			}
		})
	}
}

// TestScanFirstWins checks that, as in GRUB, the first candidate is the
// header even if it is invalid and a valid one follows.
func TestScanFirstWins(t *testing.T) {
	b := make([]byte, 0x2000)
	copy(b[0x100:], mb2Of(0, rawTag(6, 0, 4), endTag))
	copy(b[0x200:], Multiboot2Header())
	mb1At(b, 0x300, MB1Flags|1<<4)
	mb1At(b, 0x400, MB1Flags)
	o1, o2, err := Scan(b)
	if o1 != -1 || o2 != -1 || err == nil || errors.Is(err, ErrNoMultiboot1) || errors.Is(err, ErrNoMultiboot2) {
		t.Errorf("Scan = %d, %d, %v; want both invalid", o1, o2, err)
	}
	for _, want := range []string{"multiboot2 header at file offset 0x100", "multiboot header at file offset 0x300"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("error %v does not mention %q", err, want)
		}
	}
}

// magic2 is MB2Magic as a variable, for checksum arithmetic that wraps.
var magic2 uint32 = MB2Magic
