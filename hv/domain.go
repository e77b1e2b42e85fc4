package hv

import (
	"fmt"

	"tamavisor/console"
	"tamavisor/ept"
	"tamavisor/hv/evtchn"
	"tamavisor/hv/loader"
	"tamavisor/mem"
	"tamavisor/xen"
)

// DomainState is where a domain is in its life.
type DomainState int

// Domain states.
const (
	DomainCreated DomainState = iota // built, not started
	DomainRunning                    // its vCPU is runnable, running or blocked
	DomainDying                      // shut down or killed; resources not yet freed
	DomainDead                       // every resource returned
)

func (s DomainState) String() string {
	return [...]string{"created", "running", "dying", "dead"}[s]
}

// memChunk is a run of host frames backing guest memory.
type memChunk struct {
	gpa, hpa, size uint64
}

// Domain is an isolated guest: its own memory behind its own EPT, one vCPU
// (for now), a console, statistics.
type Domain struct {
	ID    uint16
	Name  string
	Spec  Spec
	State DomainState

	// MemSize is the guest's RAM: GPAs [0, MemSize), in chunks of host
	// frames sorted by GPA and adjacent (buildMemory's order).
	MemSize uint64
	chunks  []memChunk
	EPT     *ept.EPT
	Mem     GuestMemory
	tables  *eptTables

	VCPU *VCPU

	// Console carries the guest's console_io output (and what it writes to
	// the emulated COM1) under its own name.
	Console *console.Logger
	lcr     uint8 // the emulated COM1's line control register (for DLAB)

	// Ending: the shutdown reason (Xen's) or the hypervisor's reason for
	// killing it, and the exit status the guest reported.
	EndReason     string
	ExitStatus    int
	HasExitStatus bool
	Crashed       bool // ended by the hypervisor, or shut down with reason crash

	Stats  Stats
	Budget uint64 // CPU time it may use, in TSC ticks (0: unlimited)

	// CallbackVector is the upcall vector it registered
	// (HVM_PARAM_CALLBACK_IRQ), 0 if none.
	CallbackVector uint8
	params         map[uint32]uint64
	warnings       int // what the hypervisor said about its bad requests (warn)
	// consoleOut is its console output still in the console's queue: the
	// lines it queued (where each ends in the console's stream, which
	// console.Sent counts up to as the UART takes it), consoleOwn their
	// bytes (consoleWaiting).
	consoleOut []consoleSpan
	consoleOwn int

	// Privileged marks dom0: domain control, and the console and store
	// back ends of the others.
	Privileged  bool
	Paused      bool
	Weight, Cap int

	// The special pages (abi.SpecialPages): its console and store rings,
	// and the event channels dom0 serves them on, as allocated at
	// creation (the guest may rewrite its own HVM params for them; dom0
	// is told these).
	ConsoleGPA, StoreGPA   uint64
	consolePort, storePort evtchn.Port
	memoryMap              []loader.MemoryRegion

	// sharedInfo is the frame of its shared_info page (public/xen.h),
	// mapped where the guest asks (XENMEM_add_to_physmap), at sharedGPA.
	sharedInfo, sharedGPA uint64

	// grants is its grant table; grantHPA the frames of other domains it
	// maps by grant, by handle; grantAt the handles by the GPA they map.
	grants   grantTable
	grantHPA map[uint32]uint64
	grantAt  map[uint64]uint32
}

// ramFrame returns the host frame of the domain's own RAM at a
// guest-physical page, if the domain's EPT maps that RAM there now (and not
// shared_info, a grant-table frame or another domain's page in its place).
func (d *Domain) ramFrame(gpa uint64) (uint64, bool) {
	hpa, ok := d.ramHPA(gpa)
	if !ok || d.EPT == nil {
		return 0, false
	}
	if m, ok := d.EPT.Translate(gpa &^ (mem.PageSize - 1)); ok && m.HPA == hpa {
		return hpa, true
	}
	return 0, false
}

// consoleSpan is output a domain queued on the console: n bytes ending at
// end in the console's stream.
type consoleSpan struct {
	end uint64
	n   int
}

// isSelf says whether a domain id in a guest's argument names d: its own
// id, or DOMID_SELF (public/xen.h).
func (d *Domain) isSelf(id uint16) bool { return id == xen.DomIDSelf || id == d.ID }

// ramHPA returns the host frame backing the domain's RAM at a
// guest-physical page, whatever its EPT maps there now. The chunks are
// searched by halves: a domain built of single frames has a million of
// them for 4 GiB, and grant copies look up two frames per operation.
func (d *Domain) ramHPA(gpa uint64) (uint64, bool) {
	gpa &^= mem.PageSize - 1
	lo, hi := 0, len(d.chunks) // the first chunk ending above gpa is in [lo, hi]
	for lo < hi {
		mid := int(uint(lo+hi) >> 1)
		if c := &d.chunks[mid]; c.gpa+c.size > gpa {
			hi = mid
		} else {
			lo = mid + 1
		}
	}
	if lo < len(d.chunks) {
		if c := &d.chunks[lo]; gpa >= c.gpa {
			return c.hpa + (gpa - c.gpa), true
		}
	}
	return 0, false
}

// Label is how log lines name the domain: d<ID>.<name>.
func (d *Domain) Label() string { return fmt.Sprintf("d%d.%s", d.ID, d.Name) }

// eptTables keeps a domain's EPT paging structures in frames from the
// frame allocator. Frames an EPT gives back wait until INVEPT has run
// (the EPT package requires it) before they return to the allocator.
type eptTables struct {
	frames  *mem.Allocator
	phys    *mem.Phys
	pending []uint64
	held    int
	// limit bounds held once the domain's RAM is mapped: what its own
	// pages need plus an allowance for pages it maps later (shared_info,
	// grant frames, other domains' grants), so that a domain cannot spend
	// the frame pool on page tables (0: no limit yet).
	limit int
}

// eptTableAllowance is how many EPT tables a domain may add beyond those of
// its RAM: room for pages mapped in a few scattered 2 MiB regions above it.
const eptTableAllowance = 64

func (t *eptTables) AllocTable() (uint64, error) {
	if t.limit != 0 && t.held >= t.limit {
		return 0, fmt.Errorf("the domain holds %d EPT tables, its limit", t.held)
	}
	pa, err := t.frames.Alloc()
	if err != nil {
		return 0, err
	}
	// The EPT zeroes the frame itself (ept.Tables).
	t.held++
	return pa, nil
}

func (t *eptTables) FreeTable(pa uint64) { t.pending = append(t.pending, pa) }

func (t *eptTables) Table(pa uint64) *[512]uint64 {
	b, err := t.phys.Slice(pa, mem.PageSize)
	if err != nil {
		panic(fmt.Sprintf("hv: EPT table frame 0x%x: %v", pa, err))
	}
	return tableOf(b)
}

// release returns the tables freed so far, after INVEPT.
func (t *eptTables) release() {
	for _, pa := range t.pending {
		t.frames.Free(pa)
		t.held--
	}
	t.pending = t.pending[:0]
}
