//go:build tamago

package boot

import (
	"math/bits"
	"runtime/goos"
	_ "unsafe"

	"github.com/usbarmory/tamago/amd64"

	_ "tamavisor/boot/entry" // the image's entry point
	"tamavisor/x86"
)

// Link-time settings of the TamaGo runtime (runtime/goos), from layout.go.

//go:linkname ramStart runtime/goos.RamStart
var ramStart uint64 = RAMStart

//go:linkname ramSize runtime/goos.RamSize
var ramSize uint64 = RAMSize

// COM1 is the console's 16550 UART base port.
const COM1 = 0x3f8

// cpu is TamaGo's view of the bootstrap processor; tamavisor uses it only for
// its exception table.
var bsp = &amd64.CPU{TimerMultiplier: 1}

// tscMult converts TSC ticks to nanoseconds as a 32.32 fixed-point factor:
// ns = tsc * tscMult >> 32. Until calibration a tick counts as 1 ns.
var tscMult uint64 = 1 << 32

// tscHz and tscSource record the calibration for the banner.
var (
	tscHz     uint64
	tscSource string
)

//go:linkname printk runtime/goos.Printk
func printk(c byte) {
	consolePut(c)
}

// consolePut writes one byte to COM1, waiting for the transmit holding
// register to empty (PC16550D: LSR bit 5, THRE).
//
//go:nosplit
func consolePut(c byte) {
	for x86.In8(COM1+5)&0x20 == 0 {
	}
	x86.Out8(COM1, c)
}

// ConsoleRead takes a received byte from COM1, if one waits (PC16550D: LSR
// bit 0, data ready; then the receiver buffer register).
func ConsoleRead() (byte, bool) {
	if x86.In8(COM1+5)&1 == 0 {
		return 0, false
	}
	return x86.In8(COM1), true
}

// consoleFlush waits until the UART has shifted out its last bit (LSR bit 6,
// TEMT), so that nothing is lost when the machine powers off.
func consoleFlush() {
	for i := 0; i < 1_000_000 && x86.In8(COM1+5)&0x40 == 0; i++ {
	}
}

//go:linkname nanotime runtime/goos.Nanotime
//go:nosplit
func nanotime() int64 {
	hi, lo := bits.Mul64(x86.RDTSC(), tscMult)
	return int64(hi<<32 | lo>>32)
}

// hwinit1 runs early in the Go runtime's start (runtime/goos.Hwinit1): the
// heap works, goroutines do not run yet.
//
//go:linkname hwinit1 runtime/goos.Hwinit1
func hwinit1() {
	goos.Exit = exit
	goos.Idle = idle

	if hz, ok := calibratePIT(); ok {
		setTSC(hz, "PIT channel 2")
	} else if hz, ok := calibratePITReadback(); ok {
		setTSC(hz, "PIT channel 0")
	}
}

func init() {
	// Trap CPU exceptions (vectors 0-31) with TamaGo's handler, which prints
	// the vector and panics with the faulting PC.
	bsp.EnableExceptions()
}

// setTSC installs a TSC frequency measured against a reference clock.
func setTSC(hz uint64, source string) {
	tscHz = hz
	tscSource = source
	tscMult = (1_000_000_000 << 32) / hz
}

// idle is the Go scheduler's idle hook. The hypervisor has no timer
// interrupt yet, so an idle CPU polls rather than halting.
func idle(until int64) {}

// TSC returns the calibrated TSC frequency and the clock it was measured
// against, or 0 and "" when calibration has not succeeded.
func TSC() (hz uint64, source string) {
	return tscHz, tscSource
}

// calibratePIT measures the TSC against channel 2 of the 8254 PIT, which
// counts at 1.193182 MHz on every PC (Intel 8254 datasheet, mode 0; the gate
// and OUT2 are bits 0 and 5 of port 0x61 on PC/AT compatibles). It reports
// false when no PIT answers.
func calibratePIT() (hz uint64, ok bool) {
	const (
		pitHz = 1193182
		ms    = 50
		latch = pitHz * ms / 1000
	)
	port61 := x86.In8(0x61)
	if port61 == 0xff {
		return 0, false // nothing decodes port 0x61
	}
	x86.Out8(0x61, port61&^0x02|0x01) // speaker off, gate 2 on
	x86.Out8(0x43, 0xb0)              // channel 2, lobyte/hibyte, mode 0, binary
	x86.Out8(0x42, latch&0xff)
	x86.Out8(0x42, latch>>8)
	t0 := x86.RDTSC()
	if x86.In8(0x61)&0x20 != 0 {
		return 0, false // OUT2 must be low while counting
	}
	for i := 0; i < 100_000_000; i++ {
		if x86.In8(0x61)&0x20 != 0 {
			t1 := x86.RDTSC()
			x86.Out8(0x61, port61)
			hz = (t1 - t0) * 1000 / ms
			return hz, hz > 1_000_000
		}
	}
	x86.Out8(0x61, port61)
	return 0, false
}

// calibratePITReadback measures the TSC against channel 0 of the 8254 PIT by
// reading its count back (Intel 8254 datasheet, "Counter Latch Command"), for
// machines where port 0x61 does not reach channel 2's gate (QEMU's microvm).
// Channel 0 runs in mode 2 from 65536; the 8259 is masked, so its IRQ 0 goes
// nowhere.
func calibratePITReadback() (hz uint64, ok bool) {
	const (
		pitHz = 1193182
		ticks = pitHz / 20 // 50 ms
	)
	read := func() uint16 {
		x86.Out8(0x43, 0x00) // latch channel 0
		lo := x86.In8(0x40)
		return uint16(x86.In8(0x40))<<8 | uint16(lo)
	}
	x86.Out8(0x43, 0x34) // channel 0, lobyte/hibyte, mode 2, binary
	x86.Out8(0x40, 0)
	x86.Out8(0x40, 0) // reload 0: 65536
	prev := read()
	if prev == 0xffff && read() == 0xffff {
		return 0, false // a floating bus, no PIT
	}
	t0 := x86.RDTSC()
	var elapsed uint64
	for i := 0; i < 100_000_000; i++ {
		now := read()
		elapsed += uint64(prev - now) // counts down; wraps at 65536
		prev = now
		if elapsed >= ticks {
			t1 := x86.RDTSC()
			hz = (t1 - t0) * pitHz / elapsed
			return hz, hz > 1_000_000
		}
	}
	return 0, false
}

// exit ends the hypervisor when Go's runtime exits (main returned, or a
// panic): it powers off with the status.
func exit(code int32) {
	PowerOff(int(code))
}
