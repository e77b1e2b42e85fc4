//go:build tamago

package board

import (
	"sync/atomic"

	"tamavisor/xen"
)

// The console ring (io/console.h, struct xencons_interface): when a
// privileged domain serves this domain's console, it says so through
// HVM_PARAM_CONSOLE_EVTCHN, and output goes into the ring's `out` half
// (2048 bytes at offset 1024; out_cons at 3080, out_prod at 3084) with an
// event to the back end. Without one, output goes through console_io.
const (
	consOut     = 1024
	consOutSize = 2048
	consOutCons = 3080
	consOutProd = 3084
)

var (
	consPage []byte
	consPort uint32
)

// initConsoleRing switches the console to the ring when a back end serves it.
func initConsoleRing() {
	port := getParam(xen.HVMParamConsoleEvtchn)
	pfn := getParam(xen.HVMParamConsolePFN)
	if port != 0 && pfn != 0 {
		flushConsole() // what console_io still had to say
		consPage = pageAt(uintptr(pfn << 12))
		consPort = uint32(port)
	}
}

// ringWrite puts b in the console ring, waiting (yielding the CPU, so that
// the back end runs) while the ring is full. A ring whose indices make no
// sense, or a back end that does not drain it, sends the rest through
// console_io instead.
func ringWrite(b []byte) {
	cons := (*uint32)(wordAt(consPage, consOutCons))
	prod := (*uint32)(wordAt(consPage, consOutProd))
	for tries := 0; len(b) > 0; {
		c, p := atomic.LoadUint32(cons), atomic.LoadUint32(prod)
		used := p - c
		if used > consOutSize {
			consPage = nil // a broken ring: back to console_io
			hypercallConsole(b)
			return
		}
		free := consOutSize - used
		if free == 0 {
			if tries++; tries > 10000 {
				hypercallConsole(b)
				return
			}
			hypercall(xen.HypercallSchedOp, xen.SchedOpYield, 0, 0, 0, 0)
			continue
		}
		n := min(int(free), len(b))
		for i := 0; i < n; i++ {
			consPage[consOut+int((p+uint32(i))%consOutSize)] = b[i]
		}
		atomic.StoreUint32(prod, p+uint32(n)) // the bytes before the index
		b = b[n:]
		sendEvent(consPort)
	}
}

// sendEvent notifies an event channel port (EVTCHNOP_send).
func sendEvent(port uint32) {
	var s [4]byte
	s[0], s[1], s[2], s[3] = byte(port), byte(port>>8), byte(port>>16), byte(port>>24)
	hypercall(xen.HypercallEventChannelOp, 4, uint64(bufAddr(s[:])), 0, 0, 0)
}

// getParam reads an HVM parameter of this domain (HVMOP_get_param).
func getParam(index uint32) uint64 {
	var p [xen.HVMParamSize]byte
	self := uint16(xen.DomIDSelf)
	p[0], p[1] = byte(self), byte(self>>8)
	p[4], p[5], p[6], p[7] = byte(index), byte(index>>8), byte(index>>16), byte(index>>24)
	if hypercall(xen.HypercallHVMOp, xen.HVMOpGetParam, uint64(bufAddr(p[:])), 0, 0, 0) < 0 {
		return 0
	}
	var v uint64
	for i := 0; i < 8; i++ {
		v |= uint64(p[8+i]) << (8 * i)
	}
	return v
}
