package ept

import (
	"math/rand/v2"
	"testing"
)

// BenchmarkMap4K maps 64 MiB in 4 KiB pages (16384 PTEs, 32 page tables)
// into a new EPT, then destroys it.
func BenchmarkMap4K(b *testing.B) {
	const size = 64 << 20
	b.SetBytes(size)
	b.ReportAllocs()
	for b.Loop() {
		e, _ := mustNew(b, Options{})
		if err := e.Map(1<<30, 1<<32, size, RWX, WB); err != nil {
			b.Fatal(err)
		}
		e.Destroy()
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(size/PageSize4K), "ns/page")
}

// BenchmarkMap2M maps 1 GiB in 2 MiB pages.
func BenchmarkMap2M(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		e, _ := mustNew(b, Options{Pages2M: true})
		if err := e.Map(1<<30, 1<<32, 1<<30, RWX, WB); err != nil {
			b.Fatal(err)
		}
		e.Destroy()
	}
}

// BenchmarkUnmap4K unmaps 64 MiB of 4 KiB pages one page at a time.
func BenchmarkUnmap4K(b *testing.B) {
	const size = 64 << 20
	b.ReportAllocs()
	for b.Loop() {
		b.StopTimer()
		e, _ := mustNew(b, Options{})
		if err := e.Map(1<<30, 1<<32, size, RWX, WB); err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
		for a := uint64(1 << 30); a < 1<<30+size; a += PageSize4K {
			if err := e.Unmap(a, PageSize4K); err != nil {
				b.Fatal(err)
			}
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(size/PageSize4K), "ns/page")
}

// BenchmarkTranslate translates random addresses of a domain with 64 MiB of
// 4 KiB pages, 1 GiB of 2 MiB pages and one 1 GiB page.
func BenchmarkTranslate(b *testing.B) {
	e, _ := mustNew(b, Options{Pages2M: true, Pages1G: true})
	mustMap(b, e, 0, 1<<32+PageSize4K, 64<<20, RWX, WB)
	mustMap(b, e, 1<<30, 1<<33, 1<<30, RW, WB)
	mustMap(b, e, 1<<31, 1<<34, 1<<30+PageSize2M, RX, WB) // 1 GiB page + 2 MiB page
	r := rand.New(rand.NewPCG(1, 2))
	addrs := make([]uint64, 4096)
	for i := range addrs {
		switch i % 3 {
		case 0:
			addrs[i] = r.Uint64N(64 << 20)
		case 1:
			addrs[i] = 1<<30 + r.Uint64N(1<<30)
		default:
			addrs[i] = 1<<31 + r.Uint64N(1<<30)
		}
	}
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		if _, ok := e.Translate(addrs[i%len(addrs)]); !ok {
			b.Fatal("not mapped")
		}
		i++
	}
}
