package bootinfo

import (
	"encoding/binary"
	"io"
	"strings"
	"testing"
)

// Byte helpers.

func le32(v uint32) []byte { return binary.LittleEndian.AppendUint32(nil, v) }
func le64(v uint64) []byte { return binary.LittleEndian.AppendUint64(nil, v) }

func cat(parts ...[]byte) []byte {
	var b []byte
	for _, p := range parts {
		b = append(b, p...)
	}
	return b
}

// cstr returns s with its NUL, exactly what a loader leaves in memory.
func cstr(s string) []byte { return append([]byte(s), 0) }

func put32(b []byte, off int, v uint32) { binary.LittleEndian.PutUint32(b[off:], v) }
func put64(b []byte, off int, v uint64) { binary.LittleEndian.PutUint64(b[off:], v) }

// snap builds a *Snapshot from records through the real encoder and parser.
func snap(t testing.TB, records ...Record) *Snapshot {
	t.Helper()
	s, err := ParseSnapshot(EncodeSnapshot(records))
	if err != nil {
		t.Fatalf("ParseSnapshot(EncodeSnapshot(...)): %v", err)
	}
	return s
}

// strictReader is an io.ReaderAt that refuses any read not wholly captured,
// without returning the captured prefix, and counts refusals.
type strictReader struct {
	s       *Snapshot
	refused int
}

func (r *strictReader) ReadAt(p []byte, off int64) (int, error) {
	q := make([]byte, len(p))
	n, err := r.s.ReadAt(q, off)
	if n < len(p) {
		r.refused++
		return 0, err
	}
	copy(p, q)
	return n, nil
}

// Multiboot2 builder (Multiboot2 spec §3.6).

type mb2Tag struct {
	typ  uint32
	body []byte
	size uint32 // overrides 8+len(body) when non-zero
}

type mb2 struct {
	tags     []mb2Tag
	noEnd    bool
	total    uint32 // overrides the computed total_size when non-zero
	truncate int    // capture only this many bytes when non-zero
}

func (b *mb2) add(typ uint32, body ...[]byte) *mb2 {
	b.tags = append(b.tags, mb2Tag{typ: typ, body: cat(body...)})
	return b
}

func (b *mb2) bytes() []byte {
	buf := make([]byte, 8)
	for _, t := range b.tags {
		size := t.size
		if size == 0 {
			size = uint32(8 + len(t.body))
		}
		buf = append(buf, le32(t.typ)...)
		buf = append(buf, le32(size)...)
		buf = append(buf, t.body...)
		for len(buf)%8 != 0 {
			buf = append(buf, 0)
		}
	}
	if !b.noEnd {
		buf = append(buf, le32(0)...)
		buf = append(buf, le32(8)...)
	}
	total := b.total
	if total == 0 {
		total = uint32(len(buf))
	}
	put32(buf, 0, total)
	if b.truncate != 0 {
		buf = buf[:b.truncate]
	}
	return buf
}

func (b *mb2) records(base uint64) []Record { return []Record{{base, b.bytes()}} }

func mb2Mmap(entrySize uint32, regions ...Region) []byte {
	body := cat(le32(entrySize), le32(0))
	for _, r := range regions {
		e := make([]byte, entrySize)
		put64(e, 0, r.Start)
		put64(e, 8, r.Size)
		put32(e, 16, uint32(r.Type))
		body = append(body, e...)
	}
	return body
}

func mb2Module(start, end uint32, s string) []byte {
	return cat(le32(start), le32(end), cstr(s))
}

// rsdp returns a fake RSDP of n bytes starting with its signature.
func rsdp(n int, rev byte) []byte {
	b := make([]byte, n)
	copy(b, "RSD PTR ")
	b[15] = rev
	if n >= 24 {
		put32(b, 20, uint32(n))
	}
	return b
}

// Multiboot (v1) builder (Multiboot spec §3.3). The information structure
// is at base; everything it points at is laid out after it, each in its own
// record holding exactly the bytes the loader would have written.

type mbModSpec struct {
	start, end uint32
	str        string
}

type mb1 struct {
	flags      uint32
	memLower   uint32
	memUpper   uint32
	cmdline    *string
	loader     *string
	mods       []mbModSpec
	modsCount  *uint32 // overrides len(mods)
	mmap       []byte  // raw memory map buffer (see mb1Entry)
	mmapLength *uint32 // overrides len(mmap)
	structLen  int     // capture only this much of the 116-byte struct
}

func strp(s string) *string { return &s }
func u32p(v uint32) *uint32 { return &v }

// mb1Entry is one Multiboot memory map entry with the given size field;
// size-20 extra bytes follow the standard fields.
func mb1Entry(size uint32, r Region) []byte {
	e := make([]byte, 4+size)
	put32(e, 0, size)
	if size >= 20 {
		put64(e, 4, r.Start)
		put64(e, 12, r.Size)
		put32(e, 20, uint32(r.Type))
	}
	return e
}

func (b *mb1) records(base uint32) []Record {
	st := make([]byte, 116)
	put32(st, 0, b.flags)
	put32(st, 4, b.memLower)
	put32(st, 8, b.memUpper)
	recs := []Record{}
	next := base + 0x100
	place := func(data []byte) uint32 {
		addr := next
		recs = append(recs, Record{uint64(addr), data})
		next += (uint32(len(data)) + 0x3f) &^ 0x3f
		next += 0x40 // leave uncaptured gaps between structures
		return addr
	}
	if b.cmdline != nil {
		put32(st, 16, place(cstr(*b.cmdline)))
	}
	if b.loader != nil {
		put32(st, 64, place(cstr(*b.loader)))
	}
	if b.mods != nil || b.modsCount != nil {
		table := make([]byte, 16*len(b.mods))
		for i, m := range b.mods {
			put32(table, 16*i, m.start)
			put32(table, 16*i+4, m.end)
			if m.str != "" {
				put32(table, 16*i+8, place(cstr(m.str)))
			}
		}
		count := uint32(len(b.mods))
		if b.modsCount != nil {
			count = *b.modsCount
		}
		put32(st, 20, count)
		put32(st, 24, place(table))
	}
	if b.mmap != nil {
		length := uint32(len(b.mmap))
		if b.mmapLength != nil {
			length = *b.mmapLength
		}
		put32(st, 44, length)
		put32(st, 48, place(b.mmap))
	}
	if b.structLen != 0 {
		st = st[:b.structLen]
	}
	return append([]Record{{uint64(base), st}}, recs...)
}

// PVH builder (Xen arch-x86/hvm/start_info.h).

type pvhMod struct {
	paddr, size uint64
	cmdline     string
}

type pvh struct {
	version   uint32
	cmdline   *string
	rsdp      uint64
	mods      []pvhMod
	nrModules *uint32
	modlist0  bool // modlist_paddr = 0
	memmap    []Region
	nrMemmap  *uint32
	structLen int
}

func (b *pvh) records(base uint64) []Record {
	st := make([]byte, 56)
	put32(st, 0, PVHMagic)
	put32(st, 4, b.version)
	put64(st, 32, b.rsdp)
	var recs []Record
	next := base + 0x100
	place := func(data []byte) uint64 {
		addr := next
		recs = append(recs, Record{addr, data})
		next += (uint64(len(data))+0x3f)&^0x3f + 0x40
		return addr
	}
	if b.cmdline != nil {
		put64(st, 24, place(cstr(*b.cmdline)))
	}
	nr := uint32(len(b.mods))
	if b.nrModules != nil {
		nr = *b.nrModules
	}
	put32(st, 12, nr)
	if len(b.mods) > 0 || nr > 0 {
		table := make([]byte, 32*len(b.mods))
		for i, m := range b.mods {
			put64(table, 32*i, m.paddr)
			put64(table, 32*i+8, m.size)
			if m.cmdline != "" {
				put64(table, 32*i+16, place(cstr(m.cmdline)))
			}
		}
		addr := place(table)
		if !b.modlist0 {
			put64(st, 16, addr)
		}
	}
	if b.version >= 1 {
		n := uint32(len(b.memmap))
		if b.nrMemmap != nil {
			n = *b.nrMemmap
		}
		put32(st, 48, n)
		if len(b.memmap) > 0 {
			table := make([]byte, 0, 24*len(b.memmap))
			for _, r := range b.memmap {
				table = append(table, cat(le64(r.Start), le64(r.Size), le32(uint32(r.Type)), le32(0))...)
			}
			put64(st, 40, place(table))
		}
	} else {
		st = st[:40]
	}
	if b.structLen != 0 {
		st = st[:b.structLen]
	}
	return append([]Record{{base, st}}, recs...)
}

// flatten lays records out as one blob starting at the lowest address,
// zero-filling gaps, for the fuzz seeds.
func flatten(records []Record) (uint64, []byte) {
	lo, hi := ^uint64(0), uint64(0)
	for _, r := range records {
		lo = min(lo, r.Addr)
		hi = max(hi, r.Addr+uint64(len(r.Data)))
	}
	blob := make([]byte, hi-lo)
	for _, r := range records {
		copy(blob[r.Addr-lo:], r.Data)
	}
	return lo, blob
}

// A typical QEMU/SeaBIOS E820 map.
var qemuMap = []Region{
	{0, 0x9fc00, RegionAvailable},
	{0x9fc00, 0x400, RegionReserved},
	{0xf0000, 0x10000, RegionReserved},
	{0x100000, 0x1fee0000, RegionAvailable},
	{0x1ffe0000, 0x20000, RegionReserved},
	{0xfffc0000, 0x40000, RegionReserved},
}

// qemuAvail is the available memory in qemuMap.
const qemuAvail = 0x9fc00 + 0x1fee0000

func wantErr(t *testing.T, err error, substrs ...string) {
	t.Helper()
	if err == nil {
		t.Fatalf("got no error, want one containing %q", substrs)
	}
	for _, s := range substrs {
		if !strings.Contains(err.Error(), s) {
			t.Errorf("error %q does not contain %q", err, s)
		}
	}
}

func hasWarning(info *Info, substr string) bool {
	for _, w := range info.Warnings {
		if strings.Contains(w, substr) {
			return true
		}
	}
	return false
}

var _ io.ReaderAt = (*Snapshot)(nil)
