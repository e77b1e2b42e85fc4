package bootinfo

import (
	"errors"
	"io"
	"reflect"
	"testing"
)

func TestParseUnknownMagic(t *testing.T) {
	s := snap(t, Record{0x9000, le32(0x12345678)})
	_, err := Parse(0xcafebabe, 0x9000, s)
	wantErr(t, err, "bootinfo: no boot information: EAX=0xcafebabe EBX=0x00009000 matches neither Multiboot (0x2badb002), Multiboot2 (0x36d76289) nor a PVH start_info (0x336ec578) (u32 at EBX is 0x12345678)")
	if !errors.Is(err, ErrNoBootInfo) {
		t.Errorf("errors.Is(%v, ErrNoBootInfo) = false", err)
	}

	_, err = Parse(0, 0x100, s)
	wantErr(t, err, "EAX=0x00000000 EBX=0x00000100", "(u32 at EBX unreadable: bootinfo: physical 0x100-0x104 was not captured at boot)")
	if !errors.Is(err, ErrNoBootInfo) {
		t.Errorf("errors.Is(%v, ErrNoBootInfo) = false", err)
	}

	if _, err := Parse(Multiboot2Magic, 0, nil); err == nil {
		t.Error("Parse with nil memory: no error")
	}
}

// A PVH start_info at EBX wins over the magic in EAX (QEMU's microvm enters
// PVH kernels with EAX = 0x2badb002); otherwise the magic in EAX decides.
func TestParseDispatch(t *testing.T) {
	b := &pvh{version: 1, memmap: qemuMap}
	s := snap(t, b.records(pvhBase)...)
	for _, eax := range []uint32{MultibootMagic, Multiboot2Magic} {
		info, err := Parse(eax, pvhBase, s)
		if err != nil || info.Protocol != PVH {
			t.Errorf("Parse(EAX=%#x) = %v, %v; want PVH", eax, info, err)
		}
	}
	s = snap(t, Record{0x9000, le32(0x12345678)})
	_, err := Parse(MultibootMagic, 0x9000, s)
	wantErr(t, err, "multiboot: ")
	_, err = Parse(Multiboot2Magic, 0x9000, s)
	wantErr(t, err, "multiboot2: ")
}

// badReader returns nonsense counts to check Parse does not trust them.
type badReader struct{ n int }

func (r badReader) ReadAt(p []byte, off int64) (int, error) { return r.n, io.EOF }

func TestMisbehavingReaderAt(t *testing.T) {
	for _, n := range []int{-5, 0, 1 << 30} {
		// A full count is taken at its word; the bytes are zero.
		_, err := Parse(MultibootMagic, 0x9000, badReader{n})
		if err == nil {
			t.Errorf("n=%d: no error", n)
		}
		m := physMem{badReader{n}}
		if _, err := m.cstring(0x1000); n > 0 && err != nil {
			t.Errorf("n=%d: cstring: %v", n, err)
		} else if n <= 0 && err == nil {
			t.Errorf("n=%d: cstring: no error", n)
		}
	}
}

func TestCstringStrictReader(t *testing.T) {
	// The string and its NUL are all there is: chunked reads must fall
	// back to reading byte by byte.
	s := snap(t, Record{0x5000, cstr("hello")}, Record{0x5100, cstr("")})
	r := &strictReader{s: s}
	m := physMem{r}
	if got, err := m.cstring(0x5000); err != nil || got != "hello" {
		t.Errorf("cstring = %q, %v", got, err)
	}
	if got, err := m.cstring(0x5100); err != nil || got != "" {
		t.Errorf("cstring(empty) = %q, %v", got, err)
	}
	if r.refused == 0 {
		t.Error("strict reader never refused a read: the test does not test the fallback")
	}
	if _, err := m.cstring(1<<63 - 10); err == nil {
		t.Error("cstring near 2^63: no error")
	}
}

func TestAvailableRegions(t *testing.T) {
	tests := []struct {
		name string
		mmap []Region
		want []Region
	}{
		{"empty", nil, nil},
		{"qemu", qemuMap, []Region{{0, 0x9fc00, RegionAvailable}, {0x100000, 0x1fee0000, RegionAvailable}}},
		{
			"overlapping and adjacent available merged",
			[]Region{{0x1000, 0x2000, RegionAvailable}, {0x2000, 0x2000, RegionAvailable}, {0x4000, 0x1000, RegionAvailable}, {0x8000, 0, RegionAvailable}},
			[]Region{{0x1000, 0x4000, RegionAvailable}},
		},
		{
			"reserved punches holes",
			[]Region{
				{0, 0x10000, RegionAvailable},
				{0x1000, 0x1000, RegionReserved},
				{0x1800, 0x1000, RegionACPINVS},
				{0x8000, 0x10000, RegionUnusable},
				{0x20000, 0x1000, RegionAvailable},
				{0x20000, 0x1000, RegionReserved},
			},
			[]Region{{0, 0x1000, RegionAvailable}, {0x2800, 0x5800, RegionAvailable}},
		},
		{
			"top of the address space saturates",
			[]Region{{^uint64(0) - 0xfff, 0x1000, RegionAvailable}},
			[]Region{{^uint64(0) - 0xfff, 0xfff, RegionAvailable}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			info := &Info{MemoryMap: tt.mmap}
			got := info.AvailableRegions()
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("AvailableRegions = %v, want %v", got, tt.want)
			}
			var sum uint64
			for _, r := range tt.want {
				sum += r.Size
			}
			if info.AvailableBytes() != sum {
				t.Errorf("AvailableBytes = %#x, want %#x", info.AvailableBytes(), sum)
			}
		})
	}
}

func TestStrings(t *testing.T) {
	for _, tt := range []struct {
		got, want string
	}{
		{PVH.String(), "PVH"},
		{Multiboot.String(), "Multiboot"},
		{Multiboot2.String(), "Multiboot2"},
		{Protocol(0).String(), "Protocol(0)"},
		{RegionAvailable.String(), "available"},
		{RegionReserved.String(), "reserved"},
		{RegionACPIReclaimable.String(), "ACPI reclaimable"},
		{RegionACPINVS.String(), "ACPI NVS"},
		{RegionUnusable.String(), "unusable"},
		{RegionDisabled.String(), "disabled"},
		{RegionPersistentMemory.String(), "persistent memory"},
		{RegionType(0xf00).String(), "type 3840"},
		{Region{0x100000, 0x1000, RegionAvailable}.String(), "[0x100000-0x101000) available"},
	} {
		if tt.got != tt.want {
			t.Errorf("got %q, want %q", tt.got, tt.want)
		}
	}
}
