package hv

import (
	"bytes"
	"encoding/binary"
	"sort"
	"testing"

	"tamavisor/abi"
	"tamavisor/console"
	"tamavisor/ept"
	"tamavisor/hv/evtchn"
	"tamavisor/hv/grant"
	"tamavisor/hv/sched"
	"tamavisor/mem"
	"tamavisor/vmx"
	"tamavisor/xen"
)

// world is a hypervisor with several domains, each built the way
// CreateDomain builds one (buildMemory, addEvents, addGrants, newVCPU, the
// scheduler), over fake host memory that a real frame allocator
// (mem.Allocator) manages, so that frames can be counted as domains come
// and go. What needs the processor (VMCS, FPU area, INVEPT) is left out:
// each vCPU's VMCS is a fieldMap, and flushEPT only counts.
type world struct {
	h       *Hypervisor
	out     *bytes.Buffer
	host    []byte         // fake host memory at hostBase: the frames, then foreignLen canary bytes
	frames  *mem.Allocator // manages [hostBase, hostBase+len(host)-foreignLen)
	tables  *fakeTables    // every domain's EPT tables (Go memory, not frames)
	checked bool           // guest memory accesses are checked (fakePhys) rather than plain (flatPhys)
	flushes int            // INVEPTs the hypervisor asked for
	doms    []*testEnv
}

// flatPhys is the fake host memory without fakePhys's checks (for
// benchmarks, where a page walk per access would swamp what is measured).
type flatPhys struct{ mem []byte }

func (p flatPhys) Slice(addr, n uint64) ([]byte, error) {
	off := addr - hostBase
	return p.mem[off : off+n : off+n], nil
}

// newWorld returns a hypervisor on the recorded machine with hostMiB MiB of
// fake host memory for its frame allocator, and no domain yet. With checked,
// every guest memory access goes through fakePhys (tests); without, through
// flatPhys (benchmarks).
func newWorld(tb testing.TB, hostMiB int, checked bool) *world {
	tb.Helper()
	caps, ctl := testCaps(tb)
	size := uint64(hostMiB) << 20
	host := make([]byte, size+foreignLen)
	for i := range host[size:] {
		host[size+uint64(i)] = canary
	}
	frames, err := mem.New([]mem.Range{{Start: hostBase, End: hostBase + size}}, nil)
	if err != nil {
		tb.Fatalf("mem.New: %v", err)
	}
	out := &bytes.Buffer{}
	cpu := &vmx.Processor{Caps: caps, Controls: ctl, XSaveMask: testXCR0}
	w := &world{out: out, host: host, frames: frames, checked: checked,
		tables: &fakeTables{frames: map[uint64]*[512]uint64{}, next: tablesBase}}
	w.h = New(cpu, frames, nil, testKHz, console.New(out))
	w.h.cpuid = hostCPUID(tb)
	w.h.TakeInterrupts = func() { tb.Error("an interrupt was taken") }
	w.h.flushEPT = func(uint64) error { w.flushes++; return nil }
	return w
}

// frame returns the host bytes of the frame at hpa (the hypervisor's own
// view: no check).
func (w *world) frame(hpa uint64) []byte {
	off := hpa - hostBase
	return w.host[off : off+mem.PageSize : off+mem.PageSize]
}

// alloc takes one zeroed frame from the allocator.
func (w *world) alloc(tb testing.TB) uint64 {
	tb.Helper()
	pa, err := w.frames.Alloc()
	if err != nil {
		tb.Fatalf("frame: %v", err)
	}
	clear(w.frame(pa))
	return pa
}

// free is the number of free frames.
func (w *world) free() int { return w.frames.FreeFrames() }

// domainFrames is the number of frames a domain of memMiB MiB holds here:
// its RAM, its shared_info and its grant table (its EPT tables are Go
// memory in this fake).
func domainFrames(memMiB int) int { return memMiB<<20/mem.PageSize + 1 + GrantFrames }

// addDomain creates a running domain with memMiB MiB of RAM, as
// CreateDomain does without the image: RAM from the frame allocator (2 MiB
// runs where it has them) behind a new EPT, a shared_info frame and the
// event channels delivered through it (with the console and store ports
// for dom0 when there is one), the grant table (with the reserved console
// and store entries for dom0), the memory map, and a vCPU that the
// scheduler knows, runnable. A privileged domain gets id 0.
func (w *world) addDomain(tb testing.TB, id uint16, name string, memMiB int, priv bool) *testEnv {
	tb.Helper()
	h := w.h
	caps, ctl := h.CPU.Caps, h.CPU.Controls
	if priv {
		id = 0
	}
	sp := Spec{Image: name, Name: name, MemMiB: memMiB, Privileged: priv, Weight: DefaultWeight}
	d := &Domain{ID: id, Name: name, Spec: sp, MemSize: uint64(memMiB) << 20, params: map[uint32]uint64{},
		grantHPA: map[uint32]uint64{}, grantAt: map[uint64]uint32{}, Privileged: priv, Weight: DefaultWeight}
	d.Console = h.Console.Logger(d.Label())
	d.ConsoleGPA = d.MemSize - abi.ConsolePageFromEnd*mem.PageSize
	d.StoreGPA = d.MemSize - abi.StorePageFromEnd*mem.PageSize

	// buildMemory, with the EPT's tables in Go memory.
	e, err := ept.New(w.tables, ept.Options{Pages2M: caps.Has2MPages(), Pages1G: caps.Has1GPages()})
	if err != nil {
		tb.Fatalf("ept.New: %v", err)
	}
	d.EPT = e
	d.tables = &eptTables{frames: w.frames}
	var phys *fakePhys
	if w.checked {
		phys = &fakePhys{mem: w.host, ept: e}
		d.Mem = GuestMemory{EPT: e, Phys: phys}
	} else {
		d.Mem = GuestMemory{EPT: e, Phys: flatPhys{w.host}}
	}
	const big = 2 << 20
	for gpa := uint64(0); gpa < d.MemSize; {
		size := uint64(mem.PageSize)
		var hpa uint64
		if gpa%big == 0 && d.MemSize-gpa >= big {
			if hpa, err = w.frames.AllocContig(big/mem.PageSize, big); err == nil {
				size = big
			}
		}
		if size == mem.PageSize {
			hpa = w.alloc(tb)
		}
		clear(w.host[hpa-hostBase : hpa-hostBase+size])
		d.chunks = append(d.chunks, memChunk{gpa: gpa, hpa: hpa, size: size})
		if err := e.Map(gpa, hpa, size, ept.RWX, ept.WB); err != nil {
			tb.Fatalf("EPT: %v", err)
		}
		gpa += size
	}

	// shared_info and addEvents.
	d.sharedInfo = w.alloc(tb)
	eid := evtchn.DomID(id)
	if err := h.Events.AddDomain(eid, sharedPage{w.frame(d.sharedInfo)}, 1); err != nil {
		tb.Fatalf("events: %v", err)
	}
	if priv {
		if err := h.Events.SetPrivileged(eid, true); err != nil {
			tb.Fatal(err)
		}
	} else if err := h.allocBackEndPorts(d); err != nil {
		tb.Fatal(err)
	}

	// addGrants.
	t := &d.grants
	for i := 0; i < GrantFrames; i++ {
		pa := w.alloc(tb)
		t.frames = append(t.frames, pa)
		t.gpas = append(t.gpas, 0)
		t.pages = append(t.pages, w.frame(pa))
	}
	if dom0 := h.Privileged(); dom0 != nil && !priv {
		le.PutUint32(t.entry(grant.ReservedConsole)[4:], uint32(d.ConsoleGPA>>12))
		cas32(t.entry(grant.ReservedConsole), 0, grant.Header(grant.GTFPermitAccess, grant.DomID(dom0.ID)))
		le.PutUint32(t.entry(grant.ReservedStore)[4:], uint32(d.StoreGPA>>12))
		cas32(t.entry(grant.ReservedStore), 0, grant.Header(grant.GTFPermitAccess, grant.DomID(dom0.ID)))
	}
	if err := h.Grants.AddDomain(grant.DomID(id), t, grantMemory{d}); err != nil {
		tb.Fatalf("grants: %v", err)
	}
	d.memoryMap = domainMemoryMap(d.MemSize)
	d.params[xen.HVMParamStorePFN] = d.StoreGPA >> 12
	d.params[xen.HVMParamConsolePFN] = d.ConsoleGPA >> 12

	// newVCPU, with the test VMCS newTestVCPU sets up: 64-bit hypercall
	// convention, paging off (linear = physical), CPL 0, interrupts off.
	vmcs := fieldMap{}
	v := &VCPU{Dom: d, hv: h, vmcs: vmcs, sid: schedID(d, 0), entryCtls: ctl.Entry | vmx.EntryIA32eModeGuest, procCtls: ctl.Proc}
	v.Regs.CSAccessRights = 0xa09b // GUEST_CS_AR_BYTES, as the exit path reads it
	initTestVCPU(v, vmcs, ctl)
	d.VCPU = v

	if !priv {
		h.nextID = max(h.nextID, id+1)
	}
	if err := h.Sched.Add(v.sid, sched.DomID(id), d.Weight, d.Cap); err != nil {
		tb.Fatalf("scheduler: %v", err)
	}
	h.vcpus[v.sid] = v
	h.domains = append(h.domains, d)
	sort.Slice(h.domains, func(i, j int) bool { return h.domains[i].ID < h.domains[j].ID })
	d.State = DomainRunning
	te := &testEnv{h: h, d: d, v: v, vmcs: vmcs, out: w.out, phys: phys, tables: w.tables}
	w.doms = append(w.doms, te)
	return te
}

// check fails the test if any domain's guest memory access reached memory
// outside its EPT's pages, or the memory nobody owns changed.
func (w *world) check(tb testing.TB) {
	tb.Helper()
	for _, e := range w.doms {
		if e.phys != nil && len(e.phys.bad) > 0 {
			tb.Fatalf("%s: host memory accesses outside the domain: %v", e.d.Label(), e.phys.bad)
		}
	}
	for _, b := range w.host[len(w.host)-foreignLen:] {
		if b != canary {
			tb.Fatal("memory no domain owns was written")
		}
	}
}

// newTwoDomains is a world with d1 and d2 of 4 MiB each and no dom0.
func newTwoDomains(tb testing.TB) (*world, *testEnv, *testEnv) {
	tb.Helper()
	w := newWorld(tb, 24, true)
	return w, w.addDomain(tb, 1, "one", 4, false), w.addDomain(tb, 2, "two", 4, false)
}

// Guest-side helpers: every call writes its argument structure, laid out
// as Xen's public headers lay it out on x86-64, at a guest address (argGPA
// unless said otherwise), runs the hypercall through the VMCALL exit
// handler, and reads the structure back.

const (
	argGPA  = 0x3000 // argument structures
	portGPA = 0x4000 // SCHEDOP_poll's port list
	bufGPA  = 0x5000 // output buffers
)

var le = binary.LittleEndian

// call runs a hypercall as the domain's guest would (VMCALL), from a fresh
// RIP, and checks that the guest went on past it.
func (e *testEnv) call(tb testing.TB, nr uint64, args ...uint64) int64 {
	tb.Helper()
	e.v.Regs.RIP, e.v.Regs.Dirty = testRIP, 0
	r := e.vmcall(nr, args...)
	if e.d.State == DomainRunning {
		e.wantAdvanced(tb)
	}
	return r
}

// evtchnOp runs event_channel_op cmd with the structure arg at argGPA and
// returns the result and the structure as the hypervisor left it.
func (e *testEnv) evtchnOp(tb testing.TB, cmd uint64, arg []byte) (int64, []byte) {
	tb.Helper()
	e.write(tb, argGPA, arg)
	r := e.call(tb, xen.HypercallEventChannelOp, cmd, argGPA)
	return r, e.read(tb, argGPA, len(arg))
}

// EVTCHNOP_* (public/event_channel.h).
const (
	evtchnopBindInterdomain = 0
	evtchnopClose           = 3
	evtchnopSend            = 4
	evtchnopStatus          = 5
	evtchnopAllocUnbound    = 6
	evtchnopUnmask          = 9
)

// allocUnbound: struct evtchn_alloc_unbound { domid_t dom, remote_dom;
// evtchn_port_t port; }.
func (e *testEnv) allocUnbound(tb testing.TB, dom, remote uint16) (int64, uint32) {
	tb.Helper()
	b := make([]byte, 8)
	le.PutUint16(b[0:], dom)
	le.PutUint16(b[2:], remote)
	le.PutUint32(b[4:], 0xdead_beef)
	r, out := e.evtchnOp(tb, evtchnopAllocUnbound, b)
	if le.Uint16(out[0:]) != dom || le.Uint16(out[2:]) != remote {
		tb.Errorf("alloc_unbound changed dom/remote_dom: % x", out)
	}
	return r, le.Uint32(out[4:])
}

// bindInterdomain: struct evtchn_bind_interdomain { domid_t remote_dom;
// evtchn_port_t remote_port; evtchn_port_t local_port; }.
func (e *testEnv) bindInterdomain(tb testing.TB, remote uint16, rport uint32) (int64, uint32) {
	tb.Helper()
	b := make([]byte, 12)
	le.PutUint16(b[0:], remote)
	le.PutUint32(b[4:], rport)
	le.PutUint32(b[8:], 0xdead_beef)
	r, out := e.evtchnOp(tb, evtchnopBindInterdomain, b)
	return r, le.Uint32(out[8:])
}

// portOp runs a one-port operation (struct evtchn_send, evtchn_close,
// evtchn_unmask: { evtchn_port_t port; }).
func (e *testEnv) portOp(tb testing.TB, cmd uint64, port uint32) int64 {
	tb.Helper()
	r, _ := e.evtchnOp(tb, cmd, le.AppendUint32(nil, port))
	return r
}

func (e *testEnv) send(tb testing.TB, port uint32) int64 {
	tb.Helper()
	return e.portOp(tb, evtchnopSend, port)
}

func (e *testEnv) closePort(tb testing.TB, port uint32) int64 {
	tb.Helper()
	return e.portOp(tb, evtchnopClose, port)
}

// portStatus: struct evtchn_status { domid_t dom; evtchn_port_t port;
// uint32_t status; uint32_t vcpu; union { domid_t dom (unbound); struct {
// domid_t dom; evtchn_port_t port; } interdomain; ... } u; } (24 bytes).
func (e *testEnv) portStatus(tb testing.TB, dom uint16, port uint32) (r int64, status uint32, rdom uint16, rport uint32) {
	tb.Helper()
	b := make([]byte, 24)
	le.PutUint16(b[0:], dom)
	le.PutUint32(b[4:], port)
	r, out := e.evtchnOp(tb, evtchnopStatus, b)
	return r, le.Uint32(out[8:]), le.Uint16(out[16:]), le.Uint32(out[20:])
}

// connect makes an interdomain channel: b allocates a port for a, a binds
// it. It returns a's port and b's.
func connect(tb testing.TB, a, b *testEnv) (ap, bp uint32) {
	tb.Helper()
	r, bp := b.allocUnbound(tb, xen.DomIDSelf, a.d.ID)
	if r != 0 || bp == 0 {
		tb.Fatalf("%s: alloc_unbound for d%d = %d, port %d", b.d.Label(), a.d.ID, r, bp)
	}
	r, ap = a.bindInterdomain(tb, b.d.ID, bp)
	if r != 0 || ap == 0 {
		tb.Fatalf("%s: bind_interdomain to d%d port %d = %d, port %d", a.d.Label(), b.d.ID, bp, r, ap)
	}
	return ap, bp
}

// XENMEM_add_to_physmap: struct xen_add_to_physmap { domid_t domid;
// uint16_t size; unsigned int space; xen_ulong_t idx; xen_pfn_t gpfn; }.
func (e *testEnv) addToPhysmap(tb testing.TB, dom uint16, space uint32, idx, gpfn uint64) int64 {
	tb.Helper()
	b := make([]byte, 24)
	le.PutUint16(b[0:], dom)
	le.PutUint32(b[4:], space)
	le.PutUint64(b[8:], idx)
	le.PutUint64(b[16:], gpfn)
	e.write(tb, argGPA, b)
	return e.call(tb, xen.HypercallMemoryOp, xen.MemOpAddToPhysmap, argGPA)
}

// Where the tests place the hypervisor's pages in a domain's physical
// space: above its RAM, as PVH guests do.
func sharedAt(e *testEnv) uint64          { return e.d.MemSize + 0x1_0000 }
func grantTableAt(e *testEnv) uint64      { return e.d.MemSize + 0x2_0000 }
func grantMapAt(e *testEnv, i int) uint64 { return e.d.MemSize + 0x10_0000 + uint64(i)*mem.PageSize }

// mapShared maps the domain's shared_info at sharedAt.
func (e *testEnv) mapShared(tb testing.TB) {
	tb.Helper()
	if r := e.addToPhysmap(tb, xen.DomIDSelf, xen.MapSpaceSharedInfo, 0, sharedAt(e)>>12); r != 0 {
		tb.Fatalf("%s: add_to_physmap(shared_info) = %d", e.d.Label(), r)
	}
}

// mapGrantTable maps frame 0 of the domain's grant table at grantTableAt.
func (e *testEnv) mapGrantTable(tb testing.TB) {
	tb.Helper()
	if r := e.addToPhysmap(tb, xen.DomIDSelf, xen.MapSpaceGrantTable, 0, grantTableAt(e)>>12); r != 0 {
		tb.Fatalf("%s: add_to_physmap(grant_table 0) = %d", e.d.Label(), r)
	}
}

// The domain's view of its shared_info (mapped at sharedAt):
// evtchn_pending at 2048, evtchn_mask at 2560, vcpu_info[0] at 0 with
// evtchn_upcall_pending @0, evtchn_upcall_mask @1, evtchn_pending_sel @8
// (public/xen.h).
func (e *testEnv) pendingBit(tb testing.TB, port uint32) bool {
	tb.Helper()
	return e.read64(tb, sharedAt(e)+2048+uint64(port/64)*8)&(1<<(port%64)) != 0
}

func (e *testEnv) clearPending(tb testing.TB, port uint32) {
	tb.Helper()
	at := sharedAt(e) + 2048 + uint64(port/64)*8
	e.write64(tb, at, e.read64(tb, at)&^(1<<(port%64)))
}

func (e *testEnv) mask(tb testing.TB, port uint32) {
	tb.Helper()
	at := sharedAt(e) + 2560 + uint64(port/64)*8
	e.write64(tb, at, e.read64(tb, at)|1<<(port%64))
}

func (e *testEnv) upcallPending(tb testing.TB) byte {
	tb.Helper()
	return e.read(tb, sharedAt(e), 1)[0]
}

func (e *testEnv) pendingSel(tb testing.TB) uint64 {
	tb.Helper()
	return e.read64(tb, sharedAt(e)+8)
}

// ackUpcall does what the guest's upcall handler does first: clear
// evtchn_upcall_pending and the selector.
func (e *testEnv) ackUpcall(tb testing.TB) {
	tb.Helper()
	e.write(tb, sharedAt(e), []byte{0})
	e.write64(tb, sharedAt(e)+8, 0)
	e.v.UpcallPending = false
}

// schedState is the scheduler's state of the domain's vCPU.
func (e *testEnv) schedState(tb testing.TB) sched.State {
	tb.Helper()
	st, ok := e.h.Sched.VCPU(e.v.sid)
	if !ok {
		tb.Fatalf("%s: the scheduler does not know its vCPU", e.d.Label())
	}
	return st.State
}

// block runs SCHEDOP_block.
func (e *testEnv) block(tb testing.TB) {
	tb.Helper()
	if r := e.call(tb, xen.HypercallSchedOp, xen.SchedOpBlock, 0); r != 0 {
		tb.Fatalf("%s: SCHEDOP_block = %d", e.d.Label(), r)
	}
}

// poll runs SCHEDOP_poll on ports: struct sched_poll {
// XEN_GUEST_HANDLE(evtchn_port_t) ports; unsigned int nr_ports; uint64_t
// timeout; } at argGPA, the ports at portGPA.
func (e *testEnv) poll(tb testing.TB, timeout uint64, ports ...uint32) int64 {
	tb.Helper()
	var list []byte
	for _, p := range ports {
		list = le.AppendUint32(list, p)
	}
	if len(list) > 0 {
		e.write(tb, portGPA, list)
	}
	b := make([]byte, 24)
	le.PutUint64(b[0:], portGPA)
	le.PutUint32(b[8:], uint32(len(ports)))
	le.PutUint64(b[16:], timeout)
	e.write(tb, argGPA, b)
	return e.call(tb, xen.HypercallSchedOp, xen.SchedOpPoll, argGPA)
}

// Grant-table helpers. The granter writes grant_entry_v1 { uint16_t flags;
// domid_t domid; uint32_t frame; } in its table frame 0 (mapped at
// grantTableGPA): the frame first, then flags and domid, as
// grant_table.h requires.
func (e *testEnv) grantAccess(tb testing.TB, ref uint32, to uint16, gfn uint64, flags uint16) {
	tb.Helper()
	at := grantTableAt(e) + uint64(ref)*8
	e.write(tb, at+4, le.AppendUint32(nil, uint32(gfn)))
	e.write(tb, at, le.AppendUint32(nil, uint32(flags)|uint32(to)<<16))
}

// grantFlags reads an entry's flags as the granter sees them.
func (e *testEnv) grantFlags(tb testing.TB, ref uint32) uint16 {
	tb.Helper()
	return le.Uint16(e.read(tb, grantTableAt(e)+uint64(ref)*8, 2))
}

// GNTTABOP_* (public/grant_table.h).
const (
	gnttabopMapGrantRef   = 0
	gnttabopUnmapGrantRef = 1
	gnttabopCopy          = 5
	gntmapHostMap         = 1 << 1
	gntmapReadonly        = 1 << 2
)

// mapGrant: struct gnttab_map_grant_ref { uint64_t host_addr; uint32_t
// flags; grant_ref_t ref; domid_t dom; int16_t status; grant_handle_t
// handle; uint64_t dev_bus_addr; } (32 bytes).
func (e *testEnv) mapGrant(tb testing.TB, dom uint16, ref uint32, hostAddr uint64, flags uint32) (grant.Status, uint32) {
	tb.Helper()
	b := make([]byte, 32)
	le.PutUint64(b[0:], hostAddr)
	le.PutUint32(b[8:], flags)
	le.PutUint32(b[12:], ref)
	le.PutUint16(b[16:], dom)
	le.PutUint16(b[18:], 0x7777)
	le.PutUint32(b[20:], 0xdead_beef)
	e.write(tb, argGPA, b)
	if r := e.call(tb, xen.HypercallGrantTableOp, gnttabopMapGrantRef, argGPA, 1); r != 0 {
		tb.Fatalf("%s: grant_table_op(map_grant_ref) = %d", e.d.Label(), r)
	}
	out := e.read(tb, argGPA, 32)
	if le.Uint64(out[0:]) != hostAddr || le.Uint32(out[12:]) != ref || le.Uint16(out[16:]) != dom {
		tb.Errorf("map_grant_ref changed its IN fields: % x", out)
	}
	return grant.Status(int16(le.Uint16(out[18:]))), le.Uint32(out[20:])
}

// unmapGrant: struct gnttab_unmap_grant_ref { uint64_t host_addr; uint64_t
// dev_bus_addr; grant_handle_t handle; int16_t status; } (24 bytes).
func (e *testEnv) unmapGrant(tb testing.TB, hostAddr uint64, handle uint32) grant.Status {
	tb.Helper()
	b := make([]byte, 24)
	le.PutUint64(b[0:], hostAddr)
	le.PutUint32(b[16:], handle)
	le.PutUint16(b[20:], 0x7777)
	e.write(tb, argGPA, b)
	if r := e.call(tb, xen.HypercallGrantTableOp, gnttabopUnmapGrantRef, argGPA, 1); r != 0 {
		tb.Fatalf("%s: grant_table_op(unmap_grant_ref) = %d", e.d.Label(), r)
	}
	return grant.Status(int16(le.Uint16(e.read(tb, argGPA+20, 2))))
}

// copySide is one side of a gnttab_copy: a grant reference of dom when
// gref, else a GFN of the caller (dom DOMID_SELF).
type copySide struct {
	ref    uint64 // grant_ref_t or xen_pfn_t: the union u
	dom    uint16
	offset uint16
}

// grantCopy: struct gnttab_copy { struct gnttab_copy_ptr { union {
// grant_ref_t ref; xen_pfn_t gmfn; } u; domid_t domid; uint16_t offset; }
// source, dest; uint16_t len; uint16_t flags; int16_t status; } (40
// bytes).
func (e *testEnv) grantCopy(tb testing.TB, src, dst copySide, n, flags uint16) grant.Status {
	tb.Helper()
	b := make([]byte, 40)
	for i, s := range []copySide{src, dst} {
		le.PutUint64(b[i*16:], s.ref)
		le.PutUint16(b[i*16+8:], s.dom)
		le.PutUint16(b[i*16+10:], s.offset)
	}
	le.PutUint16(b[32:], n)
	le.PutUint16(b[34:], flags)
	le.PutUint16(b[36:], 0x7777)
	e.write(tb, argGPA, b)
	if r := e.call(tb, xen.HypercallGrantTableOp, gnttabopCopy, argGPA, 1); r != 0 {
		tb.Fatalf("%s: grant_table_op(copy) = %d", e.d.Label(), r)
	}
	return grant.Status(int16(le.Uint16(e.read(tb, argGPA+36, 2))))
}

// domctl runs tamavisor's domain-control operation op.
func (e *testEnv) domctl(tb testing.TB, op uint64, args ...uint64) int64 {
	tb.Helper()
	return e.call(tb, xen.HypercallTamavisor, append([]uint64{op}, args...)...)
}
