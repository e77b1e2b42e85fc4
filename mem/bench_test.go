package mem

import (
	"math/rand/v2"
	"testing"
)

// benchAllocator returns an allocator over 4 GiB of RAM laid out as on a PC:
// low memory, then RAM above 1 MiB with the Go runtime's region reserved,
// then RAM above 4 GiB.
func benchAllocator(b *testing.B) *Allocator {
	b.Helper()
	a, err := New([]Range{{0, 0x9fc00}, {0x100000, 0xc0000000}, {0x100000000, 0x140000000}},
		[]Range{{0x1000000, 0x9000000}})
	if err != nil {
		b.Fatal(err)
	}
	return a
}

// BenchmarkAlloc measures Alloc in a run of allocations (the next-fit path),
// starting over with a fresh allocator when memory runs out.
func BenchmarkAlloc(b *testing.B) {
	a := benchAllocator(b)
	for b.Loop() {
		if _, err := a.Alloc(); err != nil {
			b.StopTimer()
			a = benchAllocator(b)
			b.StartTimer()
		}
	}
}

// BenchmarkAllocFree measures an Alloc and a Free of the same frame.
func BenchmarkAllocFree(b *testing.B) {
	a := benchAllocator(b)
	for b.Loop() {
		addr, err := a.Alloc()
		if err != nil {
			b.Fatal(err)
		}
		if err := a.Free(addr); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkAllocFreeFragmented measures Alloc and Free of random frames in an
// allocator that is 90% full, with its free frames scattered.
func BenchmarkAllocFreeFragmented(b *testing.B) {
	a := benchAllocator(b)
	held := make([]uint64, 0, a.TotalFrames())
	for {
		addr, err := a.Alloc()
		if err != nil {
			break
		}
		held = append(held, addr)
	}
	r := rand.New(rand.NewPCG(1, 2))
	r.Shuffle(len(held), func(i, j int) { held[i], held[j] = held[j], held[i] })
	for _, addr := range held[len(held)*9/10:] {
		a.Free(addr)
	}
	held = held[:len(held)*9/10]
	for b.Loop() {
		k := r.IntN(len(held))
		if err := a.Free(held[k]); err != nil {
			b.Fatal(err)
		}
		addr, err := a.Alloc()
		if err != nil {
			b.Fatal(err)
		}
		held[k] = addr
	}
}

// BenchmarkAllocContig2M measures AllocContig and FreeContig of a 2 MiB
// large page in an allocator whose low 1 GiB is taken by single frames.
func BenchmarkAllocContig2M(b *testing.B) {
	a := benchAllocator(b)
	for range (1 << 30) / PageSize {
		a.Alloc()
	}
	for b.Loop() {
		addr, err := a.AllocContig(512, 2<<20)
		if err != nil {
			b.Fatal(err)
		}
		if err := a.FreeContig(addr, 512); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkNew measures building an allocator over 4 GiB.
func BenchmarkNew(b *testing.B) {
	for b.Loop() {
		benchAllocator(b)
	}
}
