// Package xen holds the facts of Xen's public guest ABI that tamavisor speaks:
// hypercall numbers and sub-operations, structure layouts, errno values,
// CPUID leaves and the hypercall-page MSR. They come from Xen's public
// headers (xen/include/public/*.h), which define a stable interface; this
// package restates them as Go constants (facts, not code). Both sides use
// it: the hypervisor (package hv) and the guest library (domains/...).
package xen

// Hypercall numbers (public/xen.h, __HYPERVISOR_*). The x86-64 calling
// convention: RAX = number; RDI, RSI, RDX, R10, R8, R9 = arguments 1-6;
// RAX = result, a negative errno on failure (public/xen.h).
const (
	HypercallMemoryOp       = 12
	HypercallSetTimerOp     = 15
	HypercallXenVersion     = 17
	HypercallConsoleIO      = 18
	HypercallGrantTableOp   = 20
	HypercallVMAssist       = 21
	HypercallVCPUOp         = 24
	HypercallSchedOp        = 29
	HypercallEventChannelOp = 32
	HypercallPhysdevOp      = 33
	HypercallHVMOp          = 34
	HypercallSysctl         = 35
	HypercallDomctl         = 36
)

// HypercallTamavisor is tamavisor's own hypercall, outside Xen's numbers
// (which end at 55 with __HYPERVISOR_arch_7) and inside the hypercall page
// (128 entries of 32 bytes). Its sub-operations are documented in
// docs/hypercalls.md.
const HypercallTamavisor = 64

// Tamavisor sub-operations (RDI) of HypercallTamavisor.
const (
	// TamavisorExitStatus records the domain's exit status (RSI), which
	// the hypervisor reports when the domain shuts down.
	TamavisorExitStatus = 0
	// TamavisorGuestFault reports an exception the guest could not handle:
	// RSI = vector, RDX = error code, R10 = RIP, R8 = CR2. The hypervisor
	// reports it and ends the domain (it does not return).
	TamavisorGuestFault = 1
	// TamavisorPrintStats prints the caller's exit statistics on the
	// hypervisor's console, every domain's for the privileged domain
	// (statistics on demand).
	TamavisorPrintStats = 2
)

// Console I/O commands (public/xen.h, CONSOLEIO_*).
const (
	ConsoleIOWrite = 0
	ConsoleIORead  = 1
)

// Scheduler operations (public/sched.h, SCHEDOP_*).
const (
	SchedOpYield        = 0
	SchedOpBlock        = 1
	SchedOpShutdown     = 2 // arg: struct sched_shutdown { unsigned int reason; }
	SchedOpPoll         = 3
	SchedOpShutdownCode = 5
)

// Shutdown reasons (public/sched.h, SHUTDOWN_*).
const (
	ShutdownPoweroff  = 0
	ShutdownReboot    = 1
	ShutdownSuspend   = 2
	ShutdownCrash     = 3
	ShutdownWatchdog  = 4
	ShutdownSoftReset = 5
)

// ShutdownReasonName names a shutdown reason.
func ShutdownReasonName(r uint32) string {
	switch r {
	case ShutdownPoweroff:
		return "poweroff"
	case ShutdownReboot:
		return "reboot"
	case ShutdownSuspend:
		return "suspend"
	case ShutdownCrash:
		return "crash"
	case ShutdownWatchdog:
		return "watchdog"
	case ShutdownSoftReset:
		return "soft_reset"
	}
	return "unknown"
}

// Memory operations (public/memory.h, XENMEM_*) and the mapping spaces of
// XENMEM_add_to_physmap (XENMAPSPACE_*).
const (
	MemOpCurrentReservation = 3
	MemOpMaximumReservation = 4
	MemOpAddToPhysmap       = 7
	MemOpMemoryMap          = 9

	MapSpaceSharedInfo = 0
	MapSpaceGrantTable = 1

	// struct xen_add_to_physmap: domid_t domid @0, uint16 size @2,
	// unsigned int space @4, xen_ulong_t idx @8, xen_pfn_t gpfn @16.
	AddToPhysmapSize = 24
	// struct xen_memory_map: unsigned int nr_entries @0, a handle @8.
	MemoryMapSize = 16
)

// VCPU operations (public/vcpu.h, VCPUOP_*).
const (
	VCPUOpSetSingleshotTimer  = 8 // arg: struct vcpu_set_singleshot_timer
	VCPUOpStopSingleshotTimer = 9
	VCPUOpRegisterVCPUInfo    = 10
)

// struct vcpu_set_singleshot_timer { uint64_t timeout_abs_ns; uint32_t flags; }
// (public/vcpu.h): 16 bytes with padding. VCPUSSHotTmrFuture asks for
// -ETIME when the timeout is already in the past.
const (
	SingleshotTimerSize = 16
	VCPUSSHotTmrFuture  = 1 << 0
)

// HVM operations (public/hvm/hvm_op.h) and parameters (public/hvm/params.h).
const (
	HVMOpSetParam = 0
	HVMOpGetParam = 1

	// struct xen_hvm_param { domid_t domid; uint32_t index; uint64_t value; }:
	// domid at 0 (16 bits), index at 4, value at 8; 16 bytes.
	HVMParamSize = 16

	HVMParamCallbackIRQ           = 0
	HVMParamStorePFN              = 1
	HVMParamStoreEvtchn           = 2
	HVMParamPAEEnabled            = 4  // deprecated
	HVMParamDMDomain              = 13 // deprecated
	HVMParamVM86TSS               = 15
	HVMParamConsolePFN            = 17
	HVMParamConsoleEvtchn         = 18
	HVMParamACPIIOPortsLocation   = 19
	HVMParamMemoryEventCR0        = 20 // deprecated, as are 21-26 and 30
	HVMParamMemoryEventCR3        = 21
	HVMParamMemoryEventCR4        = 22
	HVMParamMemoryEventINT3       = 23
	HVMParamNestedHVM             = 24
	HVMParamMemoryEventSingleStep = 25
	HVMParamBufIOReqEvtchn        = 26
	HVMParamMemoryEventMSR        = 30
	HVMParamVMGenerationIDAddr    = 34
	HVMParamAltP2M                = 35 // read-only
	HVMParamX87FIPWidth           = 36
	HVMParamVM86TSSSized          = 37
	HVMNrParams                   = 39 // HVM_NR_PARAMS: indexes are below it

	// HVM_PARAM_CALLBACK_IRQ values: the type in bits 63:56; type 2
	// (HVM_PARAM_CALLBACK_TYPE_VECTOR) delivers upcalls as this vector.
	HVMCallbackTypeShift  = 56
	HVMCallbackTypeVector = 2
)

// Xen version operations (public/version.h, XENVER_*).
const (
	XenVerVersion      = 0
	XenVerExtraVersion = 1
	XenVerGetFeatures  = 6
	XenVerPageSize     = 7
)

// Special domain ids (public/xen.h): the first id that names no real domain
// (DOMID_FIRST_RESERVED), and the calling domain (DOMID_SELF).
const (
	DomIDFirstReserved = 0x7ff0
	DomIDSelf          = 0x7ff0
)

// Errno values returned negated in RAX (public/errno.h: Xen uses Linux's
// numbering on x86).
const (
	EPERM      = 1
	ENOENT     = 2
	ESRCH      = 3
	EINTR      = 4
	EIO        = 5
	E2BIG      = 7
	EBADF      = 9
	EAGAIN     = 11
	ENOMEM     = 12
	EACCES     = 13
	EFAULT     = 14
	EBUSY      = 16
	EEXIST     = 17
	ENODEV     = 19
	EINVAL     = 22
	ENOSPC     = 28
	ERANGE     = 34
	ENOSYS     = 38
	ETIME      = 62
	EOPNOTSUPP = 95
)

// CPUID leaves (Xen's arch-x86/cpuid.h). Xen's leaves start at 0x40000000,
// or at 0x40000100 when another hypervisor interface (here tamavisor's own)
// takes 0x40000000, as with Viridian; guests scan in steps of 0x100.
const (
	CPUIDBase = 0x4000_0100
	// leaf 0: EAX = largest leaf, EBX:ECX:EDX = "XenVMMXenVMM"
	CPUIDSignatureEBX = 0x566e6558 // "XenV"
	CPUIDSignatureECX = 0x65584d4d // "MMXe"
	CPUIDSignatureEDX = 0x4d4d566e // "nVMM"
	// leaf 1: EAX = version (major << 16 | minor)
	// leaf 2: EAX = number of hypercall pages, EBX = MSR whose write
	//         installs them (the page's GPA | page index)
	CPUIDLeafVersion   = 1
	CPUIDLeafHypercall = 2
	CPUIDLeafTime      = 3
	CPUIDLeafHVM       = 4
	CPUIDLeaves        = 5 // leaves 0..4 (base + 4 is the largest)
)

// HypercallMSR is the MSR that Xen's CPUID leaf 2 names (Xen uses
// 0x40000000).
const HypercallMSR = 0x4000_0000

// HypercallEntrySize is the size of one hypercall-page entry: entry N is at
// page offset N*32 (Xen's hypercall page layout).
const HypercallEntrySize = 32

// Version is the Xen interface version tamavisor reports (4.17).
const Version = 4<<16 | 17
