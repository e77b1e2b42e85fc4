package hv

import (
	"errors"
	"fmt"
	"sort"

	"tamavisor/abi"
	"tamavisor/console"
	"tamavisor/ept"
	"tamavisor/hv/evtchn"
	"tamavisor/hv/grant"
	"tamavisor/hv/loader"
	"tamavisor/hv/sched"
	"tamavisor/mem"
	"tamavisor/vmx"
	"tamavisor/x86"
	"tamavisor/xen"
)

// Hypervisor owns the domains and runs them on the boot processor.
type Hypervisor struct {
	CPU     *vmx.Processor
	Frames  *mem.Allocator
	Phys    *mem.Phys
	Clock   Clock
	Console *console.Console
	Log     *console.Logger
	// Images are the domain images the hypervisor carries, by name.
	Images map[string][]byte
	// Events are every domain's event channels, Grants their grant tables.
	Events *evtchn.System
	Grants *grant.System
	// pinned are frames of dead domains that others still map by grant:
	// freed with their last mapping.
	pinned map[uint64]bool
	// Sched is the credit scheduler (hv/sched), in TSC ticks; vcpus finds
	// a vCPU by the id the scheduler knows it by.
	Sched *sched.Scheduler
	vcpus map[sched.VCPUID]*VCPU
	// Idle waits until the TSC reaches a deadline when no vCPU can run:
	// by default it spins; on hardware the boot code installs a halt until
	// the local APIC's deadline timer fires.
	Idle func(deadline uint64)
	// consoleWaiters counts the vCPUs blocked until the console's queue
	// has room (VCPU.consoleWait); pumpTicks is how often, at most, the
	// UART goes unfed while bytes wait (pumpConsole).
	consoleWaiters      int
	pumpTicks, nextPump uint64
	// TakeInterrupts lets the host take the interrupts pending for it
	// after an external-interrupt VM exit: x86.TakeInterrupts by default,
	// the deadline timer's on hardware that has one (the tests count the
	// calls).
	TakeInterrupts func()
	// Stats counts what the run loop did.
	Stats HostStats

	// ConsoleIn polls the console for a received byte (the serial port);
	// nil when there is no input. What it gives waits in consoleIn for the
	// privileged domain's CONSOLEIO_read.
	ConsoleIn      func() (byte, bool)
	consoleIn      []byte
	consoleDropped int
	consoleNext    uint64 // the TSC before which pollConsole does not look

	running *VCPU // the vCPU in runSlice, if any
	preempt bool  // a woken vCPU should take the CPU from running

	domains      []*Domain
	nextID       uint16
	nextVPID     uint16
	current      *VCPU // the vCPU whose VMCS is current
	loaded       *VCPU // the vCPU whose syscall MSRs are in the CPU
	cpuid        func(leaf, sub uint32) [4]uint32
	cpuidView    CPUIDView
	physAddrBits int // MAXPHYADDR (CPUID.80000008H:EAX[7:0])
	// flushEPT invalidates a domain's cached EPT translations after its
	// mappings change (INVEPT; tests replace it).
	flushEPT func(eptp uint64) error
}

// New returns a hypervisor on an enabled processor.
func New(cpu *vmx.Processor, frames *mem.Allocator, phys *mem.Phys, khz uint64, c *console.Console) *Hypervisor {
	h := &Hypervisor{
		CPU: cpu, Frames: frames, Phys: phys, Clock: Clock{KHz: khz},
		Console: c, Log: c.Logger("hv"), Images: map[string][]byte{}, Events: &evtchn.System{},
		Grants: grant.NewSystem(grant.Config{MaxFrames: GrantFrames, MaxMappings: MaxGrantMappings}), pinned: map[uint64]bool{},
		nextID: 1, nextVPID: 1,
	}
	// Xen's credit scheduler's 30 ms accounting period and 10 ms slices.
	h.Sched = sched.New(1, sched.DefaultConfig(khz*1000))
	h.vcpus = map[sched.VCPUID]*VCPU{}
	h.Idle = pollIdle
	h.pumpTicks = h.Clock.Ticks(pumpNanos)
	h.TakeInterrupts = x86.TakeInterrupts
	h.flushEPT = cpu.InvalidateEPT
	h.cpuid = func(leaf, sub uint32) [4]uint32 {
		a, b, cx, d := x86.CPUID(leaf, sub)
		return [4]uint32{a, b, cx, d}
	}
	if max := h.cpuid(0x8000_0000, 0)[0]; max >= 0x8000_0008 {
		h.physAddrBits = int(h.cpuid(0x8000_0008, 0)[0] & 0xff)
	}
	ctl := cpu.Controls
	h.cpuidView = CPUIDView{
		TSCKHz:   uint32(khz),
		XCR0:     cpu.XSaveMask,
		RDTSCP:   ctl.Proc2&vmx.Proc2EnableRDTSCP != 0,
		INVPCID:  ctl.Proc2&vmx.Proc2EnableINVPCID != 0,
		XenLeaf0: xen.CPUIDBase,
	}
	return h
}

// Domains returns the domains that have not been destroyed.
func (h *Hypervisor) Domains() []*Domain { return h.domains }

// CreateDomain builds a domain from a spec: memory from the frame
// allocator behind a new EPT, the image loaded, the PVH start_info written,
// and a vCPU whose VMCS enters the image's PVH entry point. Nothing is
// left allocated when it fails.
func (h *Hypervisor) CreateDomain(sp Spec) (d *Domain, err error) {
	image := sp.ELF
	if image == nil {
		var ok bool
		if image, ok = h.Images[sp.Image]; !ok {
			return nil, fmt.Errorf("no domain image %q (the hypervisor carries %v)", sp.Image, h.imageNames())
		}
	}
	var id uint16
	if sp.Privileged {
		if h.Privileged() != nil {
			return nil, fmt.Errorf("%s: there is already a privileged domain", sp.Name)
		}
		id = 0 // dom0, as in Xen
	} else {
		var ok bool
		if id, ok = h.freeID(); !ok {
			return nil, fmt.Errorf("%s: every domain id below %#x is in use", sp.Name, xen.DomIDFirstReserved)
		}
	}
	if sp.Weight == 0 {
		sp.Weight = DefaultWeight
	}
	d = &Domain{ID: id, Name: sp.Name, Spec: sp, MemSize: uint64(sp.MemMiB) << 20, params: map[uint32]uint64{}, grantHPA: map[uint32]uint64{}, grantAt: map[uint64]uint32{},
		Privileged: sp.Privileged, Weight: sp.Weight, Cap: sp.Cap}
	if sp.BudgetMS > 0 {
		d.Budget = h.Clock.Ticks(uint64(sp.BudgetMS) * 1_000_000)
	}
	d.Console = h.Console.Logger(d.Label())
	defer func() {
		if err != nil {
			h.free(d)
			err = fmt.Errorf("%s: %w", d.Label(), err)
		}
	}()

	d.ConsoleGPA = d.MemSize - abi.ConsolePageFromEnd*mem.PageSize
	d.StoreGPA = d.MemSize - abi.StorePageFromEnd*mem.PageSize
	img, err := loader.Parse(image, loader.Limits{
		MemorySize: d.MemSize,
		Reserved: []loader.Range{
			{Addr: loader.StartInfoGPA, Size: loader.StartInfoSize},
			{Addr: d.StoreGPA, Size: abi.SpecialPages * mem.PageSize},
		},
	})
	if err != nil {
		return d, err
	}
	if err := h.buildMemory(d); err != nil {
		return d, err
	}
	d.tables.limit = d.tables.held + eptTableAllowance
	if d.sharedInfo, err = h.Frames.Alloc(); err != nil {
		return d, fmt.Errorf("no frame for shared_info: %w", err)
	}
	if err := h.Phys.Zero(d.sharedInfo, mem.PageSize); err != nil {
		return d, err
	}
	if err := h.addEvents(d); err != nil {
		return d, fmt.Errorf("event channels: %w", err)
	}
	if err := h.addGrants(d); err != nil {
		return d, fmt.Errorf("grant table: %w", err)
	}
	if err := img.Load(&d.Mem); err != nil {
		return d, fmt.Errorf("loading the image: %w", err)
	}
	mods, err := h.loadModules(d, img.High)
	if err != nil {
		return d, err
	}
	d.memoryMap = domainMemoryMap(d.MemSize)
	si, err := loader.BuildStartInfo(loader.StartInfoGPA, loader.StartInfo{
		Cmdline:   sp.Args,
		MemoryMap: d.memoryMap,
		Modules:   mods,
	})
	if err != nil {
		return d, err
	}
	if err := d.Mem.WriteGPA(loader.StartInfoGPA, si); err != nil {
		return d, fmt.Errorf("writing start_info: %w", err)
	}
	d.params[xen.HVMParamStorePFN] = d.StoreGPA >> 12
	d.params[xen.HVMParamConsolePFN] = d.ConsoleGPA >> 12
	state, err := loader.EntryState(img, loader.StartInfoGPA)
	if err != nil {
		return d, err
	}
	if err := h.newVCPU(d, state); err != nil {
		return d, err
	}
	if !sp.Privileged {
		h.nextID = id + 1
	}
	if err := h.Sched.Add(d.VCPU.sid, sched.DomID(d.ID), d.Weight, d.Cap); err != nil {
		return d, fmt.Errorf("scheduler: %w", err)
	}
	h.vcpus[d.VCPU.sid] = d.VCPU
	h.domains = append(h.domains, d)
	sort.Slice(h.domains, func(i, j int) bool { return h.domains[i].ID < h.domains[j].ID })
	d.State = DomainRunning
	priv := ""
	if d.Privileged {
		priv = ", privileged"
	}
	h.deliver(h.domainEvent())
	h.Log.Printf("%s: created: %d MiB, entry 0x%x (%s), %d EPT tables, weight %d, cap %d%%%s, command line %q",
		d.Label(), sp.MemMiB, img.Entry.Addr, img.Entry.Mode, d.tables.held, d.Weight, d.Cap, priv, sp.Args)
	return d, nil
}

// freeID returns the id for a new unprivileged domain: the first one from
// nextID that no domain holds (a dying one included), wrapping from the
// last below DOMID_FIRST_RESERVED (public/xen.h) to 1, as Xen hands out
// domain ids; false when all are taken.
func (h *Hypervisor) freeID() (uint16, bool) {
	inUse := make(map[uint16]bool, len(h.domains))
	for _, d := range h.domains {
		inUse[d.ID] = true
	}
	id := h.nextID
	for range xen.DomIDFirstReserved - 1 {
		if id == 0 || id >= xen.DomIDFirstReserved {
			id = 1
		}
		if !inUse[id] {
			return id, true
		}
		id++
	}
	return 0, false
}

// imageNames lists the images the hypervisor carries, for error messages.
func (h *Hypervisor) imageNames() []string {
	names := make([]string, 0, len(h.Images))
	for n := range h.Images {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// loadModules copies the images a domain's spec names as modules into its
// RAM, from the top down: below the special pages, above its image and the
// first MiB, each page aligned, the first highest. start_info lists them
// (hvm_modlist_entry, public/arch-x86/hvm/start_info.h) with the image's
// name as the command line. The guest must keep its own memory off them,
// as PVH guests keep off their modules.
func (h *Hypervisor) loadModules(d *Domain, imageEnd uint64) ([]loader.Module, error) {
	top := d.MemSize - abi.SpecialPages*mem.PageSize
	floor := max(imageEnd, 1<<20)
	var mods []loader.Module
	for i, name := range d.Spec.Modules {
		b, ok := h.Images[name]
		if !ok {
			return nil, fmt.Errorf("module %d: no image %q (the hypervisor carries %v)", i, name, h.imageNames())
		}
		if len(b) == 0 {
			return nil, fmt.Errorf("module %d: image %q is empty", i, name)
		}
		size := uint64(len(b))
		need := (size + mem.PageSize - 1) &^ (mem.PageSize - 1)
		if top < floor+need {
			return nil, fmt.Errorf("module %d: %q (%d bytes) does not fit between the image's end 0x%x and 0x%x: give the domain more memory",
				i, name, size, floor, top)
		}
		top -= need
		if err := d.Mem.WriteGPA(top, b); err != nil {
			return nil, fmt.Errorf("module %d: loading %q: %w", i, name, err)
		}
		mods = append(mods, loader.Module{Addr: top, Size: size, Cmdline: name})
		h.Log.Printf("%s: module %d: %q at 0x%x (%d bytes)", d.Label(), i, name, top, size)
	}
	return mods, nil
}

// domainMemoryMap is the memory map a domain's start_info gives (and
// XENMEM_memory_map returns): RAM below the legacy hole and above 1 MiB, the
// hole and the special pages at the top reserved.
func domainMemoryMap(size uint64) []loader.MemoryRegion {
	special := size - abi.SpecialPages*mem.PageSize
	return append(loader.DefaultMemoryMap(special),
		loader.MemoryRegion{Addr: special, Size: abi.SpecialPages * mem.PageSize, Type: loader.MemmapTypeReserved})
}

// Privileged returns the privileged domain (dom0), or nil.
func (h *Hypervisor) Privileged() *Domain {
	for _, d := range h.domains {
		if d.Privileged {
			return d
		}
	}
	return nil
}

// Domain returns the live domain with an id, or nil.
func (h *Hypervisor) Domain(id uint16) *Domain {
	for _, d := range h.domains {
		if d.ID == id {
			return d
		}
	}
	return nil
}

// buildMemory backs [0, MemSize) with zeroed frames, in 2 MiB runs where
// the allocator has them (so that EPT can use 2 MiB pages), and maps them
// read-write-execute, write-back, in a new EPT.
func (h *Hypervisor) buildMemory(d *Domain) error {
	caps := h.CPU.Caps
	d.tables = &eptTables{frames: h.Frames, phys: h.Phys}
	var err error
	d.EPT, err = ept.New(d.tables, ept.Options{
		Pages2M:      caps.Has2MPages(),
		Pages1G:      caps.Has1GPages(),
		ExecuteOnly:  caps.EPTVPID.ExecuteOnly(),
		PhysAddrBits: h.physAddrBits,
	})
	if err != nil {
		return fmt.Errorf("EPT: %w", err)
	}
	d.Mem = GuestMemory{EPT: d.EPT, Phys: h.Phys}
	const big = 2 << 20
	for gpa := uint64(0); gpa < d.MemSize; {
		size := uint64(mem.PageSize)
		hpa, err := uint64(0), error(nil)
		if gpa%big == 0 && d.MemSize-gpa >= big {
			if hpa, err = h.Frames.AllocContig(big/mem.PageSize, big); err == nil {
				size = big
			}
		}
		if size == mem.PageSize {
			if hpa, err = h.Frames.Alloc(); err != nil {
				return fmt.Errorf("out of memory at GPA 0x%x of 0x%x: %w", gpa, d.MemSize, err)
			}
		}
		d.chunks = append(d.chunks, memChunk{gpa: gpa, hpa: hpa, size: size})
		if err := h.Phys.Zero(hpa, size); err != nil {
			return err
		}
		if err := d.EPT.Map(gpa, hpa, size, ept.RWX, ept.WB); err != nil {
			return fmt.Errorf("EPT: %w", err)
		}
		gpa += size
	}
	return nil
}

// PrintStats prints every domain's exit statistics (on demand: a domain
// asked for them).
func (h *Hypervisor) PrintStats(who string) {
	free := -1 // host tests run without a frame allocator
	if h.Frames != nil {
		free = h.Frames.FreeFrames()
	}
	h.Log.Printf("stats (asked by %s): %d domains, %d frames free", who, len(h.domains), free)
	for _, d := range h.domains {
		h.printDomainStats(d)
	}
}

// printDomainStats prints one domain's exit statistics.
func (h *Hypervisor) printDomainStats(d *Domain) {
	h.Log.Printf("%s: %s: %s", d.Label(), d.State, d.Stats.String(h.Clock))
}

// Kill ends a domain for a reason the hypervisor found; the scheduler
// destroys it once its vCPU is off the CPU.
func (h *Hypervisor) Kill(d *Domain, format string, args ...any) {
	if d.State >= DomainDying {
		return
	}
	d.EndReason = fmt.Sprintf(format, args...)
	d.Crashed = true
	d.State = DomainDying
	if d.VCPU != nil {
		d.VCPU.State = VCPUStopped
	}
	h.pause(d)
}

// shutdown ends a domain at its own request (SCHEDOP_shutdown).
func (h *Hypervisor) shutdown(d *Domain, reason uint32) {
	if d.State >= DomainDying {
		return
	}
	d.EndReason = "shut down: " + xen.ShutdownReasonName(reason)
	d.Crashed = reason == xen.ShutdownCrash
	d.State = DomainDying
	d.VCPU.State = VCPUStopped
	h.pause(d)
}

// destroy reports a dying domain's end and returns every resource it held.
func (h *Hypervisor) destroy(d *Domain) {
	status := "no exit status"
	if d.HasExitStatus {
		status = fmt.Sprintf("exit status %d", d.ExitStatus)
	}
	h.drainConsole(d)
	d.Console.Flush()
	h.Log.Printf("%s: %s (%s)", d.Label(), d.EndReason, status)
	h.Log.Printf("%s: stats: %s", d.Label(), d.Stats.String(h.Clock))
	if st := h.Sched.Stats(sched.DomID(d.ID)); st.VCPUs > 0 {
		h.Log.Printf("%s: scheduler: weight %d, cap %d%%, picked %d times (%d boosted, %d parked by its cap), %d ms charged",
			d.Label(), st.Weight, st.Cap, st.Runs, st.Boosts, st.Parks, h.Clock.Nanos(st.CPUTime)/1_000_000)
	}
	before := h.Frames.FreeFrames()
	held := h.free(d)
	h.Log.Printf("%s: destroyed: %d frames returned (free frames %d -> %d)", d.Label(), held, before, h.Frames.FreeFrames())
	for i, x := range h.domains {
		if x == d {
			h.domains = append(h.domains[:i], h.domains[i+1:]...)
			break
		}
	}
	d.State = DomainDead
	h.deliver(h.domainEvent())
}

// domainEvent raises VIRQ_DOM_EXC for the privileged domain: a domain
// appeared or went away (public/xen.h).
func (h *Hypervisor) domainEvent() evtchn.Delivery {
	dl, _ := h.Events.SendGlobalVIRQ(evtchn.VIRQDomExc)
	return dl
}

// free returns a domain's VMCS, FPU area, memory and EPT tables to the
// frame allocator, and says how many frames that was. The EPT's cached
// translations are invalidated before its frames can be reused.
func (h *Hypervisor) free(d *Domain) int {
	n := 0
	var errs []error
	if v := d.VCPU; v != nil {
		h.Sched.Remove(v.sid)
		delete(h.vcpus, v.sid)
		if h.current == v {
			h.current = nil
		}
		if h.loaded == v {
			h.loaded = nil
		}
		if v.VMCS != nil {
			errs = append(errs, h.CPU.FreeVMCS(v.VMCS))
			n++
		}
		if v.fpu != 0 {
			errs = append(errs, h.CPU.FreeFPUArea(v.fpu))
			n++
		}
		errs = append(errs, h.CPU.InvalidateVPID(v.VPID))
	}
	if d.EPT != nil {
		// Out of the grant system first: it needs the EPT to find the
		// frames others still map.
		h.removeGrants(d)
		errs = append(errs, h.flushEPT(d.EPT.Pointer(false)))
		n += d.tables.held
		d.EPT.Destroy()
		d.tables.release()
		d.EPT = nil
	}
	h.Events.RemoveDomain(evtchn.DomID(d.ID))
	gn, gerr := h.freeGrantTable(d)
	n += gn
	errs = append(errs, gerr)
	if d.sharedInfo != 0 {
		errs = append(errs, h.Frames.Free(d.sharedInfo))
		n++
		d.sharedInfo = 0
	}
	for _, c := range d.chunks {
		for pa := c.hpa; pa < c.hpa+c.size; pa += mem.PageSize {
			if h.pinned[pa] {
				continue // still mapped by another domain's grant
			}
			errs = append(errs, h.Frames.Free(pa))
			n++
		}
	}
	d.chunks = nil
	if err := errors.Join(errs...); err != nil {
		h.Log.Printf("%s: while freeing: %v", d.Label(), err)
	}
	return n
}
