package bootinfo

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"sort"
)

// The snapshot format, written by the 32-bit entry code before the Go
// runtime starts and read by ParseSnapshot:
//
//	record := addr uint64 LE | len uint64 LE | len data bytes | zero padding
//
// The padding brings each record to a multiple of 8 bytes, so every header is
// 8-byte aligned. Records follow each other until the end of the buffer.
// Records of length 0 are allowed and ignored, and so is a tail shorter than
// a record header that is all zeros, so a zero-filled remainder of a
// fixed-size capture buffer parses as "no more records".

const recordHeaderSize = 16 // addr uint64, len uint64

// MaxSnapshotSize is the largest buffer ParseSnapshot accepts. The entry
// code's capture buffer is a few hundred KiB; anything much larger is a
// framing bug, not a snapshot.
const MaxSnapshotSize = 16 << 20

// ErrNotCaptured is matched (with errors.Is) by the error Snapshot.ReadAt
// returns for a physical range the entry code did not copy.
var ErrNotCaptured = errors.New("bootinfo: physical memory was not captured at boot")

// notCapturedError names the physical range [start, end) a read wanted.
type notCapturedError struct{ start, end uint64 }

func (e *notCapturedError) Error() string {
	return fmt.Sprintf("bootinfo: physical %#x-%#x was not captured at boot", e.start, e.end)
}

func (e *notCapturedError) Is(target error) bool { return target == ErrNotCaptured }

// Record is one range of physical memory copied at boot: Data holds the bytes
// that were at physical address Addr.
type Record struct {
	Addr uint64
	Data []byte
}

// Snapshot is the boot-time copy of the loader's boot information. It reads
// like physical memory (io.ReaderAt with the offset being a physical
// address), but only the captured ranges exist.
//
// Its serialized form is a sequence of records, each "addr uint64 LE, len
// uint64 LE, len data bytes, zero padding to a multiple of 8"; see
// ParseSnapshot and EncodeSnapshot.
//
// Records may be adjacent or overlap: ReadAt sees their union, a read may
// span several records as long as every byte of it was captured, and where
// records overlap the later record in the buffer wins.
type Snapshot struct {
	records []Record // non-empty records in buffer order; Data aliases the buffer
	extents []extent // union of the records: sorted, disjoint, never adjacent
}

// extent is a maximal captured range [start, start+len(data)).
type extent struct {
	start uint64
	data  []byte
}

func (e extent) end() uint64 { return e.start + uint64(len(e.data)) }

// ParseSnapshot parses the capture buffer written by the entry code (see
// Snapshot for the format). It fails on a truncated record, a len running
// past the buffer, non-zero padding or a range beyond 2^63. The records it
// keeps alias buf, which must not be modified afterwards.
func ParseSnapshot(buf []byte) (*Snapshot, error) {
	if len(buf) > MaxSnapshotSize {
		return nil, fmt.Errorf("bootinfo: snapshot of %d bytes is larger than the %d-byte limit", len(buf), MaxSnapshotSize)
	}
	s := &Snapshot{}
	for off := 0; off < len(buf); {
		rest := buf[off:]
		if len(rest) < recordHeaderSize {
			if allZero(rest) {
				break
			}
			return nil, fmt.Errorf("bootinfo: snapshot record at offset %#x: header truncated (%d of %d bytes)", off, len(rest), recordHeaderSize)
		}
		addr := binary.LittleEndian.Uint64(rest[0:])
		n := binary.LittleEndian.Uint64(rest[8:])
		avail := uint64(len(rest) - recordHeaderSize)
		if n > avail {
			return nil, fmt.Errorf("bootinfo: snapshot record at offset %#x: len %#x runs past the end of the buffer (%#x bytes left)", off, n, avail)
		}
		// ReadAt takes an int64 offset, so every captured byte must lie
		// below 2^63 (physical addresses are at most 52 bits anyway).
		if n > 0 && (addr > math.MaxInt64 || n-1 > math.MaxInt64-addr) {
			return nil, fmt.Errorf("bootinfo: snapshot record at offset %#x: physical %#x+%#x lies beyond the readable address space", off, addr, n)
		}
		padded := (n + 7) &^ 7 // n <= len(buf), so this cannot overflow
		if padded > avail {
			return nil, fmt.Errorf("bootinfo: snapshot record at offset %#x: padding after %#x data bytes runs past the end of the buffer", off, n)
		}
		data := rest[recordHeaderSize : recordHeaderSize+int(n)]
		if pad := rest[recordHeaderSize+int(n) : recordHeaderSize+int(padded)]; !allZero(pad) {
			return nil, fmt.Errorf("bootinfo: snapshot record at offset %#x: padding after %#x data bytes is not zero (misframed buffer?)", off, n)
		}
		if n > 0 {
			s.records = append(s.records, Record{Addr: addr, Data: data})
		}
		off += recordHeaderSize + int(padded)
	}
	s.extents = mergeRecords(s.records)
	return s, nil
}

// mergeRecords computes the union of records as maximal extents. An extent
// made of one record aliases its data; otherwise the records are copied in
// buffer order so the later one wins where they overlap.
func mergeRecords(records []Record) []extent {
	order := make([]int, len(records))
	for i := range order {
		order[i] = i
	}
	sort.SliceStable(order, func(a, b int) bool { return records[order[a]].Addr < records[order[b]].Addr })

	var out []extent
	for i := 0; i < len(order); {
		start := records[order[i]].Addr
		end := start + uint64(len(records[order[i]].Data))
		j := i + 1
		for ; j < len(order); j++ {
			r := records[order[j]]
			if r.Addr > end {
				break
			}
			end = max(end, r.Addr+uint64(len(r.Data)))
		}
		if j == i+1 {
			out = append(out, extent{start: start, data: records[order[i]].Data})
		} else {
			group := append([]int(nil), order[i:j]...)
			sort.Ints(group) // buffer order: later records overwrite earlier ones
			data := make([]byte, end-start)
			for _, k := range group {
				copy(data[records[k].Addr-start:], records[k].Data)
			}
			out = append(out, extent{start: start, data: data})
		}
		i = j
	}
	return out
}

// ReadAt reads len(p) bytes of captured physical memory starting at physical
// address off. It succeeds only if every byte of [off, off+len(p)) was
// captured (by one record or by several adjacent or overlapping ones).
// Otherwise it copies the captured prefix, if any, and returns its length
// with an error that names the range and matches ErrNotCaptured.
func (s *Snapshot) ReadAt(p []byte, off int64) (int, error) {
	if off < 0 {
		return 0, fmt.Errorf("bootinfo: negative physical address %d", off)
	}
	if len(p) == 0 {
		return 0, nil
	}
	start := uint64(off)
	end := start + uint64(len(p)) // both below 2^63: no overflow
	// First extent that ends after start.
	i := sort.Search(len(s.extents), func(i int) bool { return s.extents[i].end() > start })
	if i == len(s.extents) || s.extents[i].start > start {
		return 0, &notCapturedError{start, end}
	}
	e := s.extents[i]
	n := copy(p, e.data[start-e.start:])
	if n < len(p) {
		return n, &notCapturedError{start, end}
	}
	return n, nil
}

// Records returns the non-empty records in the order the entry code wrote
// them, for dumping. The caller must not modify the data.
func (s *Snapshot) Records() []Record {
	return append([]Record(nil), s.records...)
}

// EncodeSnapshot builds a buffer in the format ParseSnapshot reads. Tests
// and tools use it to build snapshots; the entry code writes the same format
// in assembly.
func EncodeSnapshot(records []Record) []byte {
	size := 0
	for _, r := range records {
		size += recordHeaderSize + (len(r.Data)+7)&^7
	}
	buf := make([]byte, 0, size)
	for _, r := range records {
		buf = binary.LittleEndian.AppendUint64(buf, r.Addr)
		buf = binary.LittleEndian.AppendUint64(buf, uint64(len(r.Data)))
		buf = append(buf, r.Data...)
		for len(buf)%8 != 0 {
			buf = append(buf, 0)
		}
	}
	return buf
}

func allZero(b []byte) bool {
	for _, c := range b {
		if c != 0 {
			return false
		}
	}
	return true
}
