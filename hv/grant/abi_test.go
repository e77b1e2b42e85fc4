package grant

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"testing"
)

// put writes little-endian fields at the offsets grant_table.h gives on
// x86-64, independently of the codecs under test.
func put(b []byte, off int, v any) {
	switch v := v.(type) {
	case uint16:
		binary.LittleEndian.PutUint16(b[off:], v)
	case uint32:
		binary.LittleEndian.PutUint32(b[off:], v)
	case uint64:
		binary.LittleEndian.PutUint64(b[off:], v)
	}
}

func TestMapGrantRefLayout(t *testing.T) {
	b := make([]byte, MapGrantRefSize)
	put(b, 0, uint64(0x1122334455667000))
	put(b, 8, uint32(MapHostMap|MapReadonly))
	put(b, 12, uint32(0xdeadbeef))
	put(b, 16, uint16(7))
	put(b, 18, uint16(0xfff4)) // -12
	put(b, 20, uint32(0x00100003))
	put(b, 24, uint64(0x8877665544332211))
	m, err := DecodeMapGrantRef(b)
	want := MapGrantRef{HostAddr: 0x1122334455667000, Flags: MapHostMap | MapReadonly, Ref: 0xdeadbeef, Dom: 7,
		Status: EAgain, Handle: 0x00100003, DevBusAddr: 0x8877665544332211}
	if err != nil || m != want {
		t.Fatalf("Decode = %+v, %v; want %+v", m, err, want)
	}
	out := make([]byte, MapGrantRefSize)
	if err := m.Encode(out); err != nil || !bytes.Equal(out, b) {
		t.Fatalf("Encode = % x, %v; want % x", out, err, b)
	}
	if _, err := DecodeMapGrantRef(b[:MapGrantRefSize-1]); err == nil {
		t.Error("short decode accepted")
	}
	if err := m.Encode(out[:MapGrantRefSize-1]); err == nil {
		t.Error("short encode accepted")
	}
}

func TestUnmapGrantRefLayout(t *testing.T) {
	b := make([]byte, UnmapGrantRefSize)
	put(b, 0, uint64(0xabc000))
	put(b, 8, uint64(0xdef000))
	put(b, 16, uint32(0x00300001))
	put(b, UnmapGrantRefStatusOffset, uint16(0xfffc)) // -4
	u, err := DecodeUnmapGrantRef(b)
	want := UnmapGrantRef{HostAddr: 0xabc000, DevBusAddr: 0xdef000, Handle: 0x00300001, Status: BadHandle}
	if err != nil || u != want {
		t.Fatalf("Decode = %+v, %v", u, err)
	}
	out := bytes.Repeat([]byte{0xee}, UnmapGrantRefSize)
	if err := u.Encode(out); err != nil || !bytes.Equal(out, b) {
		t.Fatalf("Encode = % x, %v; want % x", out, err, b)
	}
	if _, err := DecodeUnmapGrantRef(b[:UnmapGrantRefSize-1]); err == nil {
		t.Error("short decode accepted")
	}
	if err := u.Encode(out[:1]); err == nil {
		t.Error("short encode accepted")
	}
}

func TestSetupTableLayout(t *testing.T) {
	b := make([]byte, SetupTableSize)
	put(b, 0, uint16(DomIDSelf))
	put(b, 4, uint32(4))
	put(b, SetupTableStatusOffset, uint16(0xffff)) // -1
	put(b, 16, uint64(0x7fff_0000_1000))
	s, err := DecodeSetupTable(b)
	want := SetupTable{Dom: DomIDSelf, NrFrames: 4, Status: GeneralError, FrameList: 0x7fff_0000_1000}
	if err != nil || s != want {
		t.Fatalf("Decode = %+v, %v", s, err)
	}
	out := bytes.Repeat([]byte{0xee}, SetupTableSize)
	if err := s.Encode(out); err != nil || !bytes.Equal(out, b) {
		t.Fatalf("Encode = % x, %v; want % x", out, err, b)
	}
	if _, err := DecodeSetupTable(b[:SetupTableSize-1]); err == nil {
		t.Error("short decode accepted")
	}
	if err := s.Encode(out[:1]); err == nil {
		t.Error("short encode accepted")
	}
}

func TestQuerySizeLayout(t *testing.T) {
	b := make([]byte, QuerySizeSize)
	put(b, 0, uint16(3))
	put(b, 4, uint32(1))
	put(b, 8, uint32(64))
	put(b, 12, uint16(0xfffe)) // -2
	q, err := DecodeQuerySize(b)
	want := QuerySize{Dom: 3, NrFrames: 1, MaxNrFrames: 64, Status: BadDomain}
	if err != nil || q != want {
		t.Fatalf("Decode = %+v, %v", q, err)
	}
	out := bytes.Repeat([]byte{0xee}, QuerySizeSize)
	if err := q.Encode(out); err != nil || !bytes.Equal(out, b) {
		t.Fatalf("Encode = % x, %v; want % x", out, err, b)
	}
	if _, err := DecodeQuerySize(b[:QuerySizeSize-1]); err == nil {
		t.Error("short decode accepted")
	}
	if err := q.Encode(out[:1]); err == nil {
		t.Error("short encode accepted")
	}
}

func TestCopyOpLayout(t *testing.T) {
	// source: a grant ref (the union's upper half is ignored);
	// dest: a 64-bit frame number.
	b := make([]byte, CopyOpSize)
	put(b, 0, uint64(0xcafef00d_00000123))
	put(b, 8, uint16(5))
	put(b, 10, uint16(100))
	put(b, 16, uint64(0x0000_0012_3456_789a))
	put(b, 24, uint16(DomIDSelf))
	put(b, 26, uint16(4000))
	put(b, 32, uint16(96))
	put(b, 34, uint16(CopySourceGref))
	put(b, CopyOpStatusOffset, uint16(0xfff6)) // -10
	c, err := DecodeCopyOp(b)
	want := CopyOp{
		Source: CopyPtr{Ref: 0x123, Dom: 5, Offset: 100},
		Dest:   CopyPtr{GFN: 0x0000_0012_3456_789a, Dom: DomIDSelf, Offset: 4000},
		Len:    96, Flags: CopySourceGref, Status: BadCopyArg,
	}
	if err != nil || c != want {
		t.Fatalf("Decode = %+v, %v; want %+v", c, err, want)
	}
	out := bytes.Repeat([]byte{0xee}, CopyOpSize)
	if err := c.Encode(out); err != nil {
		t.Fatal(err)
	}
	exp := append([]byte(nil), b...)
	put(exp, 4, uint32(0)) // the ignored half of the union is written as zero
	if !bytes.Equal(out, exp) {
		t.Fatalf("Encode = % x; want % x", out, exp)
	}
	// Both sides grant references.
	put(b, 34, uint16(CopySourceGref|CopyDestGref))
	c, _ = DecodeCopyOp(b)
	if c.Source.Ref != 0x123 || c.Dest.Ref != 0x3456789a || c.Dest.GFN != 0 || c.Source.GFN != 0 {
		t.Fatalf("both grefs: %+v", c)
	}
	// Both sides frames.
	put(b, 34, uint16(0))
	c, _ = DecodeCopyOp(b)
	if c.Source.GFN != 0xcafef00d_00000123 || c.Source.Ref != 0 || c.Dest.GFN != 0x0000_0012_3456_789a {
		t.Fatalf("both frames: %+v", c)
	}
	if _, err := DecodeCopyOp(b[:CopyOpSize-1]); err == nil {
		t.Error("short decode accepted")
	}
	if err := c.Encode(out[:CopyOpSize-1]); err == nil {
		t.Error("short encode accepted")
	}
}

func TestHeader(t *testing.T) {
	h := Header(GTFPermitAccess|GTFReadonly, 0x1234)
	if h != 0x1234_0005 {
		t.Fatalf("Header = %#x", h)
	}
	if f, d := SplitHeader(h); f != GTFPermitAccess|GTFReadonly || d != 0x1234 {
		t.Fatalf("SplitHeader = %#x, %d", f, d)
	}
	if EntriesPerFrame != 512 || EntrySize != 8 {
		t.Fatal("geometry")
	}
}

func TestStatus(t *testing.T) {
	for s, want := range map[Status]string{
		Okay: "okay", GeneralError: "undefined error", BadCopyArg: "copy arguments cross page boundary",
		EAgain: "operation not done; try again", NoSpace: "out of space", -14: "status -14", 1: "status 1",
	} {
		if got := s.String(); got != want {
			t.Errorf("%d: %q, want %q", s, got, want)
		}
	}
	if StatusOf(nil) != Okay || StatusOf(errors.New("x")) != GeneralError {
		t.Error("StatusOf of nil or a plain error")
	}
	err := fmt.Errorf("wrapped: %w", fail(BadHandle, "h %d", 3))
	if StatusOf(err) != BadHandle {
		t.Errorf("StatusOf(%v) = %v", err, StatusOf(err))
	}
	if got := fail(BadPage, "frame %#x", 5).Error(); got != "grant: bad page: frame 0x5" {
		t.Errorf("Error() = %q", got)
	}
}

func TestParseMapFlags(t *testing.T) {
	for _, tc := range []struct {
		flags    uint32
		readonly bool
		want     Status
	}{
		{MapHostMap, false, Okay},
		{MapHostMap | MapReadonly, true, Okay},
		{MapHostMap | MapCanFail | 0xffff0000, false, Okay}, // guest_avail bits are ignored
		{0, false, BadGntref},
		{MapReadonly, false, BadGntref},
		{MapDeviceMap, false, GeneralError},
		{MapHostMap | MapDeviceMap, false, GeneralError},
		{MapHostMap | MapApplicationMap, false, GeneralError},
		{MapHostMap | MapContainsPTE, false, GeneralError},
	} {
		ro, err := ParseMapFlags(tc.flags)
		if StatusOf(err) != tc.want || (err == nil && ro != tc.readonly) {
			t.Errorf("ParseMapFlags(%#x) = %v, %v", tc.flags, ro, err)
		}
	}
}
