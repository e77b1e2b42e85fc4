//go:build tamago

package board

import (
	"encoding/binary"
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
	port, _ := HVMParam(xen.HVMParamConsoleEvtchn)
	pfn, _ := HVMParam(xen.HVMParamConsolePFN)
	if port != 0 && pfn != 0 {
		flushConsole() // what console_io still had to say
		consPage = PagesAt(uintptr(pfn<<12), 1)
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
		SendEvent(consPort)
	}
}

// SendEvent notifies an event channel port (EVTCHNOP_send,
// public/event_channel.h: struct evtchn_send { evtchn_port_t port; }) and
// returns the hypercall's result. It allocates nothing: the runtime's print
// path uses it.
func SendEvent(port uint32) int64 {
	var s [4]byte
	binary.LittleEndian.PutUint32(s[:], port)
	return hypercall(xen.HypercallEventChannelOp, 4, uint64(bufAddr(s[:])), 0, 0, 0)
}

// HVMParam reads an HVM parameter of this domain (HVMOP_get_param,
// public/hvm/hvm_op.h: struct xen_hvm_param { domid_t domid; uint32_t
// index; uint64_t value; }) and returns it with the hypercall's result.
func HVMParam(index uint32) (uint64, int64) {
	var p [xen.HVMParamSize]byte
	binary.LittleEndian.PutUint16(p[0:], xen.DomIDSelf)
	binary.LittleEndian.PutUint32(p[4:], index)
	if r := hypercall(xen.HypercallHVMOp, xen.HVMOpGetParam, uint64(bufAddr(p[:])), 0, 0, 0); r < 0 {
		return 0, r
	}
	return binary.LittleEndian.Uint64(p[8:]), 0
}
