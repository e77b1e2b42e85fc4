package mem

import (
	"encoding/binary"
	"math/rand/v2"
	"testing"
)

// TestRandomAgainstModel performs 100,000 random operations — Alloc,
// AllocContig, Free, FreeContig, wrong frees, invalid arguments, Reserve and
// freeing everything — on an allocator and on a frame-by-frame model,
// checking after each one that no frame is handed out twice and the counts
// are exact, and comparing the whole state every 1,000 operations. Phases
// alternate between mostly allocating (to reach exhaustion) and mostly
// freeing.
func TestRandomAgainstModel(t *testing.T) {
	ops := 100_000
	if testing.Short() {
		ops = 20_000
	}
	layouts := []struct{ available, reserved []Range }{
		{ // a PC-like map with unaligned ends and reserved ranges over several ranges
			[]Range{{0, 0x9fc00}, {0x100000, 0x7fe000}, {0x800800, 0xc00000}, {0xd00000, 0xd00fff}, {0xe00000, 0x1000000}},
			[]Range{{0x300000, 0x380000}, {0x7f0000, 0x802000}, {0xbff800, 0xe00100}},
		},
		{ // many small ranges: AllocContig must stay inside one
			[]Range{{0x1000, 0x9000}, {0xa000, 0x30000}, {0x31000, 0x80000}, {0x200000, 0x3ff000}, {0x400000, 0x600000}},
			nil,
		},
	}
	for li, l := range layouts {
		h := newHarness(t, l.available, l.reserved)
		r := rand.New(rand.NewPCG(uint64(li), 42))
		allocBias := true
		for i := range ops {
			if i%5000 == 0 {
				allocBias = !allocBias
			}
			op := byte(r.IntN(16))
			if allocBias && op >= 6 && op <= 8 && r.IntN(2) == 0 {
				op = 0 // fewer frees
			}
			if !allocBias && op <= 5 && r.IntN(2) == 0 {
				op = 6 // fewer allocations
			}
			h.step(op, r.Uint32())
			if i%1000 == 999 {
				h.fullCheck()
			}
		}
		h.fullCheck()
		t.Logf("layout %d: %d ops, %d of %d frames allocated at the end; outcomes %v", li, h.ops, h.nalloc, h.nmanaged, h.stats)
	}
}

// FuzzAllocator builds an allocator from the first bytes (up to three
// available and two reserved ranges below 32 MiB, unaligned, overlapping, in
// any order) and drives it with the rest, three bytes an operation, against
// the same model as TestRandomAgainstModel. Bytes past maxFuzzOps
// operations are ignored.
//
// Run it with, for example,
//
//	go test -run '^$' -fuzz=FuzzAllocator -fuzztime=20s -fuzzminimizetime=5s ./mem/
//
// (the default minimization time of 60 s per new input can eat a short run).
func FuzzAllocator(f *testing.F) {
	const maxFuzzOps = 400
	f.Add([]byte("\x00\x10\x00\x04\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x04\x05\x00\x06\x01\x00\x0a\x10\x20"))
	f.Add([]byte("\x02\xff\x01\x10\x00\x00\x02\x30\x00\x80\x07\x01\x02\x00\x20\x00\x00\x01\x00\x01\x01\x10\x00\x00\x01\x02\x03\x04\x05\x06\x07\x08\x09\x0a\x0b\x0c\x0d\x0e\x0f"))
	f.Add(make([]byte, 64))
	f.Add([]byte("\x01\x00\x00\xff\xff\x00\x00\x01\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x04\xff\xff\x05\x01\x02\x09\x00\x00\x09\xff\x01\x0d\x00\x00\x0e\x00\x00"))
	f.Fuzz(func(t *testing.T, data []byte) {
		const header = 1 + 5*4
		if len(data) < header {
			return
		}
		// A range is 4 bytes: start in units of 512 bytes (up to 32 MiB),
		// length in units of 64 bytes (up to 4 MiB).
		rng := func(b []byte) Range {
			start := uint64(binary.LittleEndian.Uint16(b)) * 512
			return Range{start, start + uint64(binary.LittleEndian.Uint16(b[2:]))*64}
		}
		clip := func(r Range) Range {
			r.Start, r.End = min(r.Start, modelFrames*PageSize), min(r.End, modelFrames*PageSize)
			return r
		}
		var available, reserved []Range
		for k := range 1 + int(data[0])%3 {
			available = append(available, clip(rng(data[1+4*k:])))
		}
		for k := range int(data[0]>>2) % 3 {
			reserved = append(reserved, rng(data[13+4*k:]))
		}
		h := newHarness(t, available, reserved)
		if h == nil {
			return
		}
		ops := data[header:]
		ops = ops[:min(len(ops), 3*maxFuzzOps)] // bound an exec's cost, and so minimization's
		for len(ops) >= 3 {
			x := uint32(ops[1]) | uint32(ops[2])<<8
			x |= x << 16 // spread the bits the operations read high up
			h.step(ops[0], x)
			ops = ops[3:]
		}
		h.fullCheck()
	})
}
