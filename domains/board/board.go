//go:build tamago

package board

import (
	"math"
	"math/bits"
	"runtime"
	"runtime/goos"
	"sync/atomic"
	"time"
	"unsafe"

	"tamavisor/abi"
	_ "tamavisor/boot/entry" // the PVH entry point
	"tamavisor/x86"
	"tamavisor/xen"
)

// TamaGo runtime settings (runtime/goos).

//go:linkname ramStart runtime/goos.RamStart
var ramStart uint64 = RAMStart

//go:linkname ramStackOffset runtime/goos.RamStackOffset
var ramStackOffset uint64 = 0x10_0000 // the g0 stack starts 1 MiB below the region's end

var (
	// hypercallPage is the page tamavisor (or Xen) fills with one
	// hypercall stub per entry; hypercallMem holds it, page-aligned.
	hypercallMem  [2 * 4096]byte
	hypercallPage uintptr

	// tscMult converts TSC ticks to nanoseconds (32.32 fixed point).
	tscMult uint64 = 1 << 32
	tscKHz  uint32

	// onTamavisor tells whether tamavisor's CPUID leaf answered.
	onTamavisor bool

	// console buffers a line for console_io.
	consoleBuf [256]byte
	consoleLen int

	// idt is the interrupt descriptor table (256 16-byte gates).
	idt [256 * 16]byte

	// upcallSeen is set by the upcall handler; eventG is the goroutine
	// that WaitUpcall put to sleep.
	upcallSeen uint32
	eventG     uint
)

// hwinit0 runs before the Go runtime is initialized: no allocation, no
// goroutines. It finds the hypercall interface and the TSC frequency.
//
//go:linkname hwinit0 runtime/goos.Hwinit0
//go:nosplit
func hwinit0() {
	_, b, c, d := x86.CPUID(abi.CPUIDSignatureLeaf, 0)
	onTamavisor = b == abi.CPUIDSignatureEBX && c == abi.CPUIDSignatureECX && d == abi.CPUIDSignatureEDX
	if onTamavisor {
		tscKHz, _, _, _ = x86.CPUID(abi.CPUIDTimingLeaf, 0)
		if tscKHz != 0 {
			// ns = tsc * 1e6 / kHz, as the hypervisor converts.
			tscMult = (1_000_000 << 32) / uint64(tscKHz)
		}
	}
	// Xen's leaves: find the signature, then the hypercall page MSR
	// (public/arch-x86/cpuid.h, leaf 2).
	for base := uint32(0x4000_0000); base < 0x4001_0000; base += 0x100 {
		_, b, c, d := x86.CPUID(base, 0)
		if b == xen.CPUIDSignatureEBX && c == xen.CPUIDSignatureECX && d == xen.CPUIDSignatureEDX {
			_, msr, _, _ := x86.CPUID(base+xen.CPUIDLeafHypercall, 0)
			page := (uintptr(unsafe.Pointer(&hypercallMem[0])) + 4095) &^ 4095
			x86.WriteMSR(msr, uint64(page))
			hypercallPage = page
			if tscKHz == 0 {
				// On Xen itself: its time leaf, sub-leaf 0, ECX is the
				// guest TSC frequency in kHz (public/arch-x86/cpuid.h,
				// leaf 4).
				_, _, tscKHz, _ = x86.CPUID(base+xen.CPUIDLeafTime, 0)
				if tscKHz != 0 {
					tscMult = (1_000_000 << 32) / uint64(tscKHz)
				}
			}
			break
		}
	}
}

// hwinit1 runs early in the runtime's start, with the heap working.
//
//go:linkname hwinit1 runtime/goos.Hwinit1
func hwinit1() {
	goos.Exit = exit
	goos.Idle = idle
	installIDT()
	// Timer wake-ups arrive as the upcall vector (HVM_PARAM_CALLBACK_IRQ,
	// type 2 = vector: public/hvm/params.h).
	setParam(xen.HVMParamCallbackIRQ, xen.HVMCallbackTypeVector<<xen.HVMCallbackTypeShift|abi.UpcallVector)
	initConsoleRing()
}

//go:linkname nanotime runtime/goos.Nanotime
//go:nosplit
func nanotime() int64 {
	hi, lo := bits.Mul64(x86.RDTSC(), tscMult)
	return int64(hi<<32 | lo>>32)
}

//go:linkname printk runtime/goos.Printk
//go:nosplit
func printk(c byte) {
	consoleBuf[consoleLen] = c
	consoleLen++
	if c == '\n' || consoleLen == len(consoleBuf) {
		flushConsole()
	}
}

// flushConsole writes the buffered line with console_io(CONSOLEIO_write).
//
//go:nosplit
func flushConsole() {
	if consoleLen == 0 {
		return
	}
	if consPage != nil {
		ringWrite(consoleBuf[:consoleLen])
	} else {
		hypercallConsole(consoleBuf[:consoleLen])
	}
	consoleLen = 0
}

// hypercallConsole writes through console_io(CONSOLEIO_write).
//
//go:nosplit
func hypercallConsole(b []byte) {
	if hypercallPage != 0 && len(b) > 0 {
		hypercall(xen.HypercallConsoleIO, xen.ConsoleIOWrite, uint64(len(b)), uint64(uintptr(unsafe.Pointer(&b[0]))), 0, 0)
	}
}

//go:linkname initRNG runtime/goos.InitRNG
func initRNG() {}

//go:linkname getRandomData runtime/goos.GetRandomData
func getRandomData(b []byte) {
	for i := 0; i < len(b); i += 8 {
		v := rdrand()
		for j := 0; j < 8 && i+j < len(b); j++ {
			b[i+j] = byte(v >> (8 * j))
		}
	}
}

// idle sleeps until the Go scheduler's next deadline: a single-shot timer
// (VCPUOP_set_singleshot_timer, public/vcpu.h) and HLT with interrupts
// enabled, so that the timer's upcall ends the HLT.
func idle(until int64) {
	if until != math.MaxInt64 {
		if until <= nanotime() {
			return
		}
		var t [xen.SingleshotTimerSize]byte
		*(*uint64)(unsafe.Pointer(&t[0])) = uint64(until)
		hypercall(xen.HypercallVCPUOp, xen.VCPUOpSetSingleshotTimer, 0, uint64(uintptr(unsafe.Pointer(&t[0]))), 0, 0)
	}
	haltUntilInterrupt()
	// The scheduler idles only when every goroutine sleeps, so the event
	// goroutine, if any, is asleep in WaitUpcall and can be woken.
	if atomic.LoadUint32(&upcallSeen) != 0 && eventG != 0 {
		runtime.Wake(eventG)
	}
}

// WaitUpcall blocks the calling goroutine until the next upcall (an event
// channel became pending, or a timer fired) or the timeout, and reports
// whether an upcall came. One goroutine (the guest library's event loop)
// uses it.
func WaitUpcall(timeout time.Duration) bool {
	eventG, _ = runtime.GetG()
	if atomic.SwapUint32(&upcallSeen, 0) != 0 {
		return true
	}
	time.Sleep(timeout)
	return atomic.SwapUint32(&upcallSeen, 0) != 0
}

// setParam sets an HVM parameter of this domain (HVMOP_set_param).
func setParam(index uint32, value uint64) int64 {
	var p [xen.HVMParamSize]byte
	*(*uint16)(unsafe.Pointer(&p[0])) = xen.DomIDSelf
	*(*uint32)(unsafe.Pointer(&p[4])) = index
	*(*uint64)(unsafe.Pointer(&p[8])) = value
	return hypercall(xen.HypercallHVMOp, xen.HVMOpSetParam, uint64(uintptr(unsafe.Pointer(&p[0]))), 0, 0, 0)
}

// exit ends the domain: tamavisor records the exit status, then
// SCHEDOP_shutdown powers the domain off (status 0) or reports a crash.
func exit(code int32) {
	flushConsole()
	if onTamavisor {
		hypercall(xen.HypercallTamavisor, xen.TamavisorExitStatus, uint64(uint32(code)), 0, 0, 0)
	}
	reason := uint32(xen.ShutdownPoweroff)
	if code != 0 {
		reason = xen.ShutdownCrash
	}
	var s [4]byte
	*(*uint32)(unsafe.Pointer(&s[0])) = reason
	hypercall(xen.HypercallSchedOp, xen.SchedOpShutdown, uint64(uintptr(unsafe.Pointer(&s[0]))), 0, 0, 0)
	x86.Halt()
}

// installIDT points every vector at a stub: exceptions (0-31) report the
// fault to tamavisor, which ends the domain; the upcall vector returns (its
// only job is to end a HLT); other vectors are ignored.
func installIDT() {
	for v := 0; v < 256; v++ {
		var h uintptr
		switch {
		case v < 32:
			h = exceptionStub(v)
		case v == abi.UpcallVector:
			h = upcallAddr()
		default:
			h = ignoreAddr()
		}
		// 64-bit interrupt gate (SDM Vol. 3A 6.14.1, Figure 6-8):
		// offset 15:0, selector, IST 0, type 0xE present DPL 0,
		// offset 31:16, offset 63:32.
		g := idt[v*16 : v*16+16]
		g[0], g[1] = byte(h), byte(h>>8)
		g[2], g[3] = 0x08, 0 // boot/entry's 64-bit code segment
		g[4], g[5] = 0, 0x8e
		g[6], g[7] = byte(h>>16), byte(h>>24)
		g[8], g[9], g[10], g[11] = byte(h>>32), byte(h>>40), byte(h>>48), byte(h>>56)
	}
	lidt(uintptr(unsafe.Pointer(&idt[0])), uint16(len(idt)-1))
}

// OnTamavisor reports whether the domain runs on tamavisor (rather than on
// Xen, say).
func OnTamavisor() bool { return onTamavisor }

// TSCKHz returns the TSC frequency the hypervisor announced.
func TSCKHz() uint32 { return tscKHz }

// Hypercall makes a Xen hypercall through the hypercall page:
// RAX = nr, RDI, RSI, RDX, R10, R8 = a1-a5; it returns RAX.
//
// It does not split the stack: callers pass addresses of their own stack
// variables as integers, which a stack copy between taking the address and
// the hypercall would leave pointing at the old stack.
//
//go:nosplit
func Hypercall(nr, a1, a2, a3, a4, a5 uint64) int64 {
	return hypercall(nr, a1, a2, a3, a4, a5)
}

// PrintStats asks tamavisor to print this domain's exit statistics (every
// domain's, for the privileged domain) on its console (tamavisor_op
// print_stats; see docs/hypercalls.md).
func PrintStats() {
	if onTamavisor {
		flushConsole()
		hypercall(xen.HypercallTamavisor, xen.TamavisorPrintStats, 0, 0, 0, 0)
	}
}
