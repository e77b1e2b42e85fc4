//go:build tamago

// Command hello is the first Go domain: it prints, sleeps, allocates,
// computes a checksum and exits with a status, which the hypervisor reports.
package main

import (
	"fmt"
	"hash/crc32"
	"os"
	"runtime"
	"time"

	"tamavisor/domains/board"
)

func main() {
	fmt.Printf("hello from a Go domain (%s, tamavisor %v, TSC %d kHz)\n", runtime.Version(), board.OnTamavisor(), board.TSCKHz())
	// The runtime's region: the RAM the start_info memory map gives.
	low, high := board.RuntimeRegion()
	fmt.Printf("runtime region 0x%x-0x%x (%d MiB)\n", low, high, (high-low)>>20)
	// The modules start_info hands over (module=NAME in the domain's spec).
	for i, m := range board.Modules() {
		fmt.Printf("module %d %q: %d bytes at 0x%x, crc32 %08x\n", i, m.Cmdline, m.Size, m.Start, crc32.ChecksumIEEE(board.ModuleBytes(m)))
	}

	// time.Sleep must sleep (the CPU halts until the hypervisor's timer
	// upcall) and must not return early.
	start := time.Now()
	time.Sleep(50 * time.Millisecond)
	slept := time.Since(start)
	fmt.Printf("slept %d ms\n", slept.Milliseconds())

	// The Go heap grows and the garbage collector runs.
	var bufs [][]byte
	for i := 0; i < 64; i++ {
		b := make([]byte, 64<<10)
		for j := range b {
			b[j] = byte(i*7 + j)
		}
		bufs = append(bufs, b)
	}
	runtime.GC()
	h := crc32.NewIEEE()
	for _, b := range bufs {
		h.Write(b)
	}
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	fmt.Printf("allocated %d KiB, heap %d KiB, %d GC cycles, crc32 %08x\n", 64*64, ms.HeapAlloc>>10, ms.NumGC, h.Sum32())

	status := 0
	if slept < 50*time.Millisecond {
		fmt.Printf("FAIL: time.Sleep(50ms) returned after %v\n", slept)
		status = 1
	}
	if h.Sum32() != expectedCRC {
		fmt.Printf("FAIL: crc32 %08x, want %08x\n", h.Sum32(), expectedCRC)
		status = 1
	}
	board.PrintStats() // statistics on demand
	fmt.Printf("exiting with status %d\n", status)
	os.Exit(status)
}

// expectedCRC is the CRC-32 (IEEE) of the 64 buffers above, computed with
// the same code by the stock Go toolchain on a Linux host.
const expectedCRC = 0xa0499fb0
