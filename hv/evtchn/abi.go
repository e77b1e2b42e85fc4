package evtchn

import (
	"encoding/binary"

	"tamavisor/xen"
)

// EVTCHNOP_* commands, the first argument of __HYPERVISOR_event_channel_op
// (public/event_channel.h; 11-13 are the FIFO ABI's, which tamavisor does
// not offer: it answers them -ENOSYS like any unknown command).
const (
	OpBindInterdomain = 0
	OpBindVIRQ        = 1
	OpBindPIRQ        = 2
	OpClose           = 3
	OpSend            = 4
	OpStatus          = 5
	OpAllocUnbound    = 6
	OpBindIPI         = 7
	OpBindVCPU        = 8
	OpUnmask          = 9
	OpReset           = 10
	OpInitControl     = 11
	OpExpandArray     = 12
	OpSetPriority     = 13
)

// NumPorts is the number of ports of the 2-level ABI on x86-64: one pending
// bit per port in evtchn_pending[64] of 64-bit words (public/xen.h,
// NR_EVENT_CHANNELS = sizeof(long)^2 * 64; event_2l.c, max_evtchns =
// BITS_PER_EVTCHN_WORD^2). Port 0 is reserved (event_channel.c, evtchn_init
// marks it ECS_RESERVED).
const NumPorts = 64 * 64

// Layout of struct shared_info and struct vcpu_info on x86-64 (public/xen.h,
// public/arch-x86/xen.h, public/arch-x86/xen-x86_64.h). Byte offsets.
const (
	// LegacyMaxVCPUs is XEN_LEGACY_MAX_VCPUS (arch-x86/xen.h): the number
	// of vcpu_info slots at the start of shared_info. vCPUs beyond it have
	// no vcpu_info until they register one (VCPUOP_register_vcpu_info).
	LegacyMaxVCPUs = 32

	// struct vcpu_info { uint8_t evtchn_upcall_pending; uint8_t
	// evtchn_upcall_mask; xen_ulong_t evtchn_pending_sel; struct
	// arch_vcpu_info arch; struct vcpu_time_info time; } /* 64 bytes */,
	// with arch_vcpu_info { unsigned long cr2, pad; } (16 bytes,
	// xen-x86_64.h) and vcpu_time_info 32 bytes (xen.h).
	VCPUInfoSize          = 64
	VCPUInfoUpcallPending = 0
	VCPUInfoUpcallMask    = 1
	VCPUInfoPendingSel    = 8
	VCPUInfoArch          = 16
	VCPUInfoTime          = 32

	// struct shared_info { struct vcpu_info vcpu_info[32]; xen_ulong_t
	// evtchn_pending[64]; xen_ulong_t evtchn_mask[64]; uint32_t
	// wc_version, wc_sec, wc_nsec, wc_sec_hi; struct arch_shared_info
	// arch; } (xen.h).
	SharedVCPUInfo      = 0
	SharedEvtchnPending = LegacyMaxVCPUs * VCPUInfoSize // 2048
	SharedEvtchnMask    = SharedEvtchnPending + NumPorts/8
	SharedWcVersion     = SharedEvtchnMask + NumPorts/8 // 3072
	SharedWcSec         = SharedWcVersion + 4
	SharedWcNsec        = SharedWcVersion + 8
	SharedWcSecHi       = SharedWcVersion + 12
	SharedArch          = SharedWcVersion + 16 // 3088
)

// Virtual IRQs (public/xen.h, VIRQ_*). "V." in the header marks a per-vCPU
// VIRQ, "G." a global one.
const (
	VIRQTimer     = 0  // V. timebase update and/or requested timeout
	VIRQDebug     = 1  // V. request to dump debug info
	VIRQConsole   = 2  // G. (DOM0) bytes received on the emergency console
	VIRQDomExc    = 3  // G. (DOM0) exceptional event for some domain
	VIRQTbuf      = 4  // G. (DOM0) trace buffer has records
	VIRQDebugger  = 6  // G. (DOM0) a domain paused for debugging
	VIRQXenoprof  = 7  // V. XenOprofile sample available
	VIRQConRing   = 8  // G. (DOM0) bytes received on the console
	VIRQPCPUState = 9  // G. (DOM0) PCPU state changed
	VIRQMemEvent  = 10 // G. (DOM0) memory event
	VIRQArgo      = 11 // Argo notification (per domain in event_channel.c)
	VIRQEnomem    = 12 // G. (DOM0) low on heap memory
	VIRQXenPMU    = 13 // V. PMC interrupt
	VIRQArch0     = 16 // VIRQ_ARCH_0..7 = 16..23: global on x86
	NumVIRQs      = 24 // NR_VIRQS
)

// VIRQKind classifies a VIRQ as Xen's get_virq_type does
// (common/event_channel.c; x86's arch_get_virq_type says VIRQ_GLOBAL).
type VIRQKind uint8

const (
	// VIRQGlobal is bound once per system, on vCPU 0, by the VIRQ's
	// handler domain; it may be moved with EVTCHNOP_bind_vcpu.
	VIRQGlobal VIRQKind = iota
	// VIRQPerVCPU is bound at most once per vCPU, to that vCPU for good.
	VIRQPerVCPU
	// VIRQPerDomain is bound once per domain, on vCPU 0, by any domain.
	VIRQPerDomain
)

// KindOfVIRQ returns the kind of virq (< NumVIRQs).
func KindOfVIRQ(virq uint32) VIRQKind {
	switch virq {
	case VIRQTimer, VIRQDebug, VIRQXenoprof, VIRQXenPMU:
		return VIRQPerVCPU
	case VIRQArgo:
		return VIRQPerDomain
	}
	return VIRQGlobal
}

// Sizes of the argument structures (public/event_channel.h; domid_t is
// uint16_t, evtchn_port_t uint32_t, so the structures are 4-aligned).
const (
	AllocUnboundSize    = 8  // domid_t dom @0, remote_dom @2; port @4
	BindInterdomainSize = 12 // domid_t remote_dom @0; remote_port @4; local_port @8
	BindVIRQSize        = 12 // uint32_t virq @0, vcpu @4; port @8
	BindIPISize         = 8  // uint32_t vcpu @0; port @4
	CloseSize           = 4  // port @0
	SendSize            = 4  // port @0
	StatusSize          = 24 // domid_t dom @0; port @4; status @8; vcpu @12; union u @16 (8 bytes)
	BindVCPUSize        = 8  // port @0; uint32_t vcpu @4
	UnmaskSize          = 4  // port @0
	ResetSize           = 2  // domid_t dom @0
)

var le = binary.LittleEndian

func short(op string, n, want int) error {
	return errorf(op, xen.EFAULT, "argument of %d bytes, need %d", n, want)
}

// AllocUnboundArgs is struct evtchn_alloc_unbound.
type AllocUnboundArgs struct {
	Dom, RemoteDom DomID // IN
	Port           Port  // OUT
}

// DecodeAllocUnbound reads struct evtchn_alloc_unbound from b.
func DecodeAllocUnbound(b []byte) (AllocUnboundArgs, error) {
	if len(b) < AllocUnboundSize {
		return AllocUnboundArgs{}, short("alloc_unbound", len(b), AllocUnboundSize)
	}
	return AllocUnboundArgs{DomID(le.Uint16(b[0:])), DomID(le.Uint16(b[2:])), Port(le.Uint32(b[4:]))}, nil
}

// Encode writes a as struct evtchn_alloc_unbound into b.
func (a AllocUnboundArgs) Encode(b []byte) error {
	if len(b) < AllocUnboundSize {
		return short("alloc_unbound", len(b), AllocUnboundSize)
	}
	le.PutUint16(b[0:], uint16(a.Dom))
	le.PutUint16(b[2:], uint16(a.RemoteDom))
	le.PutUint32(b[4:], uint32(a.Port))
	return nil
}

// BindInterdomainArgs is struct evtchn_bind_interdomain.
type BindInterdomainArgs struct {
	RemoteDom  DomID // IN
	RemotePort Port  // IN
	LocalPort  Port  // OUT
}

// DecodeBindInterdomain reads struct evtchn_bind_interdomain from b.
func DecodeBindInterdomain(b []byte) (BindInterdomainArgs, error) {
	if len(b) < BindInterdomainSize {
		return BindInterdomainArgs{}, short("bind_interdomain", len(b), BindInterdomainSize)
	}
	return BindInterdomainArgs{DomID(le.Uint16(b[0:])), Port(le.Uint32(b[4:])), Port(le.Uint32(b[8:]))}, nil
}

// Encode writes a as struct evtchn_bind_interdomain into b (padding zeroed).
func (a BindInterdomainArgs) Encode(b []byte) error {
	if len(b) < BindInterdomainSize {
		return short("bind_interdomain", len(b), BindInterdomainSize)
	}
	le.PutUint16(b[0:], uint16(a.RemoteDom))
	le.PutUint16(b[2:], 0)
	le.PutUint32(b[4:], uint32(a.RemotePort))
	le.PutUint32(b[8:], uint32(a.LocalPort))
	return nil
}

// BindVIRQArgs is struct evtchn_bind_virq.
type BindVIRQArgs struct {
	VIRQ, VCPU uint32 // IN
	Port       Port   // OUT
}

// DecodeBindVIRQ reads struct evtchn_bind_virq from b.
func DecodeBindVIRQ(b []byte) (BindVIRQArgs, error) {
	if len(b) < BindVIRQSize {
		return BindVIRQArgs{}, short("bind_virq", len(b), BindVIRQSize)
	}
	return BindVIRQArgs{le.Uint32(b[0:]), le.Uint32(b[4:]), Port(le.Uint32(b[8:]))}, nil
}

// Encode writes a as struct evtchn_bind_virq into b.
func (a BindVIRQArgs) Encode(b []byte) error {
	if len(b) < BindVIRQSize {
		return short("bind_virq", len(b), BindVIRQSize)
	}
	le.PutUint32(b[0:], a.VIRQ)
	le.PutUint32(b[4:], a.VCPU)
	le.PutUint32(b[8:], uint32(a.Port))
	return nil
}

// BindIPIArgs is struct evtchn_bind_ipi.
type BindIPIArgs struct {
	VCPU uint32 // IN
	Port Port   // OUT
}

// DecodeBindIPI reads struct evtchn_bind_ipi from b.
func DecodeBindIPI(b []byte) (BindIPIArgs, error) {
	if len(b) < BindIPISize {
		return BindIPIArgs{}, short("bind_ipi", len(b), BindIPISize)
	}
	return BindIPIArgs{le.Uint32(b[0:]), Port(le.Uint32(b[4:]))}, nil
}

// Encode writes a as struct evtchn_bind_ipi into b.
func (a BindIPIArgs) Encode(b []byte) error {
	if len(b) < BindIPISize {
		return short("bind_ipi", len(b), BindIPISize)
	}
	le.PutUint32(b[0:], a.VCPU)
	le.PutUint32(b[4:], uint32(a.Port))
	return nil
}

// PortArgs is the one-port argument of EVTCHNOP_close, EVTCHNOP_send and
// EVTCHNOP_unmask (struct evtchn_close, evtchn_send, evtchn_unmask: each
// { evtchn_port_t port; }, 4 bytes).
type PortArgs struct {
	Port Port // IN
}

// DecodePort reads struct evtchn_close, evtchn_send or evtchn_unmask from b.
func DecodePort(b []byte) (PortArgs, error) {
	if len(b) < CloseSize {
		return PortArgs{}, short("port", len(b), CloseSize)
	}
	return PortArgs{Port(le.Uint32(b))}, nil
}

// Encode writes a as struct evtchn_close, evtchn_send or evtchn_unmask.
func (a PortArgs) Encode(b []byte) error {
	if len(b) < CloseSize {
		return short("port", len(b), CloseSize)
	}
	le.PutUint32(b, uint32(a.Port))
	return nil
}

// BindVCPUArgs is struct evtchn_bind_vcpu.
type BindVCPUArgs struct {
	Port Port   // IN
	VCPU uint32 // IN
}

// DecodeBindVCPU reads struct evtchn_bind_vcpu from b.
func DecodeBindVCPU(b []byte) (BindVCPUArgs, error) {
	if len(b) < BindVCPUSize {
		return BindVCPUArgs{}, short("bind_vcpu", len(b), BindVCPUSize)
	}
	return BindVCPUArgs{Port(le.Uint32(b[0:])), le.Uint32(b[4:])}, nil
}

// Encode writes a as struct evtchn_bind_vcpu into b.
func (a BindVCPUArgs) Encode(b []byte) error {
	if len(b) < BindVCPUSize {
		return short("bind_vcpu", len(b), BindVCPUSize)
	}
	le.PutUint32(b[0:], uint32(a.Port))
	le.PutUint32(b[4:], a.VCPU)
	return nil
}

// StatusArgs is struct evtchn_status. The union u is read and written
// according to Status: unbound { domid_t dom @16 }, interdomain { domid_t
// dom @16; evtchn_port_t port @20 }, pirq @16, virq @16.
type StatusArgs struct {
	Dom  DomID // IN (may be DOMID_SELF)
	Port Port  // IN

	Status     State  // OUT: EVTCHNSTAT_*
	VCPU       uint32 // OUT: the vCPU the channel notifies
	RemoteDom  DomID  // OUT: unbound, interdomain
	RemotePort Port   // OUT: interdomain
	IRQ        uint32 // OUT: pirq, virq
}

// StatusOf fills the OUT fields of EVTCHNOP_status from c.
func StatusOf(dom DomID, p Port, c Channel) StatusArgs {
	a := StatusArgs{Dom: dom, Port: p, Status: c.State, VCPU: c.VCPU}
	switch c.State {
	case StateUnbound:
		a.RemoteDom = c.Remote
	case StateInterdomain:
		a.RemoteDom, a.RemotePort = c.Remote, c.RemotePort
	case StateVIRQ:
		a.IRQ = c.VIRQ
	}
	return a
}

// DecodeStatus reads struct evtchn_status from b. A status beyond 255
// (never written by a hypervisor) decodes as its low byte.
func DecodeStatus(b []byte) (StatusArgs, error) {
	if len(b) < StatusSize {
		return StatusArgs{}, short("status", len(b), StatusSize)
	}
	a := StatusArgs{
		Dom:    DomID(le.Uint16(b[0:])),
		Port:   Port(le.Uint32(b[4:])),
		Status: State(le.Uint32(b[8:])),
		VCPU:   le.Uint32(b[12:]),
	}
	switch a.Status {
	case StateUnbound:
		a.RemoteDom = DomID(le.Uint16(b[16:]))
	case StateInterdomain:
		a.RemoteDom = DomID(le.Uint16(b[16:]))
		a.RemotePort = Port(le.Uint32(b[20:]))
	case StatePIRQ, StateVIRQ:
		a.IRQ = le.Uint32(b[16:])
	}
	return a, nil
}

// Encode writes a as struct evtchn_status into b (padding and the unused
// part of the union zeroed).
func (a StatusArgs) Encode(b []byte) error {
	if len(b) < StatusSize {
		return short("status", len(b), StatusSize)
	}
	clear(b[:StatusSize])
	le.PutUint16(b[0:], uint16(a.Dom))
	le.PutUint32(b[4:], uint32(a.Port))
	le.PutUint32(b[8:], uint32(a.Status))
	le.PutUint32(b[12:], a.VCPU)
	switch a.Status {
	case StateUnbound:
		le.PutUint16(b[16:], uint16(a.RemoteDom))
	case StateInterdomain:
		le.PutUint16(b[16:], uint16(a.RemoteDom))
		le.PutUint32(b[20:], uint32(a.RemotePort))
	case StatePIRQ, StateVIRQ:
		le.PutUint32(b[16:], a.IRQ)
	}
	return nil
}
