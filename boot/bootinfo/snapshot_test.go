package bootinfo

import (
	"bytes"
	"errors"
	"testing"
)

func TestSnapshotRoundTrip(t *testing.T) {
	recs := []Record{
		{0x9000, []byte("hello, world")}, // 12 bytes: padded to 16
		{0x20000, cat(le64(1), le64(2))},
		{0x30000, []byte{7}},
	}
	buf := EncodeSnapshot(recs)
	if len(buf)%8 != 0 {
		t.Fatalf("encoded length %d is not a multiple of 8", len(buf))
	}
	s, err := ParseSnapshot(buf)
	if err != nil {
		t.Fatal(err)
	}
	got := s.Records()
	if len(got) != len(recs) {
		t.Fatalf("Records() = %d records, want %d", len(got), len(recs))
	}
	for i := range recs {
		if got[i].Addr != recs[i].Addr || !bytes.Equal(got[i].Data, recs[i].Data) {
			t.Errorf("record %d = %#x %q, want %#x %q", i, got[i].Addr, got[i].Data, recs[i].Addr, recs[i].Data)
		}
	}
	p := make([]byte, 5)
	if n, err := s.ReadAt(p, 0x9007); err != nil || n != 5 || string(p) != "world" {
		t.Errorf("ReadAt(5, 0x9007) = %d, %v, %q", n, err, p)
	}
}

func TestSnapshotEmptyAndZeroTail(t *testing.T) {
	for _, buf := range [][]byte{
		nil,
		make([]byte, 64), // a zero-filled capture buffer
		append(EncodeSnapshot([]Record{{0x1000, []byte("x")}}), make([]byte, 8)...), // short zero tail
	} {
		if _, err := ParseSnapshot(buf); err != nil {
			t.Errorf("ParseSnapshot(%d bytes): %v", len(buf), err)
		}
	}
}

func TestParseSnapshotErrors(t *testing.T) {
	good := EncodeSnapshot([]Record{{0x9000, []byte("0123456789")}})
	badPad := append([]byte(nil), good...)
	badPad[len(badPad)-1] = 0xff
	tests := []struct {
		name string
		buf  []byte
		want string
	}{
		{"truncated header", good[:10], "header truncated (10 of 16 bytes)"},
		{"truncated data", good[:20], "len 0xa runs past the end of the buffer (0x4 bytes left)"},
		{"truncated padding", good[:26], "padding after 0xa data bytes runs past the end"},
		{"nonzero padding", badPad, "padding after 0xa data bytes is not zero"},
		{"absurd len", cat(le64(0x9000), le64(1<<62), make([]byte, 8)), "len 0x4000000000000000 runs past the end"},
		{"second record truncated", cat(good, le64(0x10000), le64(16), make([]byte, 8)), "snapshot record at offset 0x20: len 0x10 runs past"},
		{"beyond 2^63", EncodeSnapshot([]Record{{1<<63 - 4, make([]byte, 8)}}), "beyond the readable address space"},
		{"too large", make([]byte, MaxSnapshotSize+8), "larger than"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ParseSnapshot(tt.buf)
			wantErr(t, err, "bootinfo: ", tt.want)
		})
	}
}

func TestSnapshotReadAt(t *testing.T) {
	s := snap(t,
		Record{0x9000, bytes.Repeat([]byte{'a'}, 0x100)},
		Record{0x9100, bytes.Repeat([]byte{'b'}, 0x100)}, // adjacent
		Record{0x9180, bytes.Repeat([]byte{'c'}, 0x10)},  // overlaps, later wins
		Record{0xa000, bytes.Repeat([]byte{'d'}, 0x10)},
		Record{0xb000, nil}, // empty: ignored
	)
	read := func(addr int64, n int) ([]byte, int, error) {
		p := make([]byte, n)
		got, err := s.ReadAt(p, addr)
		return p, got, err
	}

	if p, n, err := read(0x90f8, 0x10); err != nil || n != 0x10 || string(p) != "aaaaaaaabbbbbbbb" {
		t.Errorf("read across adjacent records = %d, %v, %q", n, err, p)
	}
	if p, _, err := read(0x917c, 8); err != nil || string(p) != "bbbbcccc" {
		t.Errorf("read into overlap = %v, %q; want later record to win", err, p)
	}
	if p, _, err := read(0x918c, 8); err != nil || string(p) != "ccccbbbb" {
		t.Errorf("read out of overlap = %v, %q", err, p)
	}

	// Outside every record.
	_, n, err := read(0x9500, 0x18)
	if n != 0 || err == nil || err.Error() != "bootinfo: physical 0x9500-0x9518 was not captured at boot" {
		t.Errorf("read outside = %d, %v", n, err)
	}
	if !errors.Is(err, ErrNotCaptured) {
		t.Errorf("errors.Is(%v, ErrNotCaptured) = false", err)
	}
	// Running off the end of a record: the prefix is returned with an error.
	p, n, err := read(0xa008, 0x10)
	if n != 8 || !errors.Is(err, ErrNotCaptured) || string(p[:8]) != "dddddddd" {
		t.Errorf("read off the end = %d, %v, %q", n, err, p)
	}
	wantErr(t, err, "physical 0xa008-0xa018")
	// Starting just before a record.
	if _, n, err := read(0x8fff, 2); n != 0 || !errors.Is(err, ErrNotCaptured) {
		t.Errorf("read starting before a record = %d, %v", n, err)
	}
	// Empty record, negative offset, empty read.
	if _, _, err := read(0xb000, 1); !errors.Is(err, ErrNotCaptured) {
		t.Errorf("read of an empty record = %v", err)
	}
	if _, _, err := read(-1, 1); err == nil {
		t.Error("negative offset: no error")
	}
	if _, n, err := read(0x42, 0); n != 0 || err != nil {
		t.Errorf("empty read = %d, %v", n, err)
	}
	if got := len(s.Records()); got != 4 {
		t.Errorf("Records() has %d records, want 4 (empty ones dropped)", got)
	}
}

func TestSnapshotRecordsAreACopy(t *testing.T) {
	s := snap(t, Record{1, []byte("x")})
	s.Records()[0] = Record{}
	if s.Records()[0].Addr != 1 {
		t.Error("modifying Records() changed the snapshot")
	}
}
