package hv

import (
	"bytes"
	"fmt"
	"strings"
	"testing"

	"tamavisor/abi"
	"tamavisor/ept"
	"tamavisor/hv/sched"
	"tamavisor/xen"
)

// Domain control (xen.HypercallTamavisor, abi.Op*) and memory_op, through
// the hypercalls as dom0 and the other domains make them.

// newDom0World is a privileged dom0 and two domains, d1 and d2, created
// after it (so that they have console and store ports and grants for it).
func newDom0World(tb testing.TB) (w *world, d0, d1, d2 *testEnv) {
	tb.Helper()
	w = newWorld(tb, 32, true)
	d0 = w.addDomain(tb, 0, "dom0", 4, true)
	d1 = w.addDomain(tb, 1, "one", 4, false)
	d2 = w.addDomain(tb, 2, "two", 4, false)
	return w, d0, d1, d2
}

// listEntry is a DomainInfo as abi/control.go lays it out (128 bytes).
type listEntry struct {
	id                      uint16
	state                   uint8
	priv                    bool
	vcpus                   uint32
	name                    string
	mem                     uint64
	weight, cap             uint32
	consoleGFN, storeGFN    uint64
	consolePort, storePort  uint32
	hypercalls, exits, cpus uint64
}

// domainList runs OpDomainList into bufGPA with room for capacity entries
// and decodes what it wrote.
func (e *testEnv) domainList(tb testing.TB, capacity uint64) (int64, []listEntry) {
	tb.Helper()
	r := e.domctl(tb, abi.OpDomainList, bufGPA, capacity)
	if r < 0 {
		return r, nil
	}
	b := e.read(tb, bufGPA, int(r)*128)
	var out []listEntry
	for i := 0; i < int(r); i++ {
		x := b[i*128:]
		out = append(out, listEntry{
			id: le.Uint16(x[0:]), state: x[2], priv: x[3]&1 != 0, vcpus: le.Uint32(x[4:]),
			name: string(bytes.TrimRight(x[8:40], "\x00")), mem: le.Uint64(x[40:]),
			weight: le.Uint32(x[48:]), cap: le.Uint32(x[52:]), cpus: le.Uint64(x[56:]),
			exits: le.Uint64(x[64:]), hypercalls: le.Uint64(x[72:]),
			consoleGFN: le.Uint64(x[80:]), consolePort: le.Uint32(x[88:]),
			storePort: le.Uint32(x[92:]), storeGFN: le.Uint64(x[96:]),
		})
	}
	return r, out
}

// states returns each listed domain's state by id.
func (e *testEnv) states(tb testing.TB) map[uint16]uint8 {
	tb.Helper()
	r, l := e.domainList(tb, 16)
	if r < 0 {
		tb.Fatalf("domain_list = %d", r)
	}
	m := map[uint16]uint8{}
	for _, x := range l {
		m[x.id] = x.state
	}
	return m
}

// wantState checks a domain's state in dom0's domain_list and its vCPU's
// state in the scheduler.
func wantState(tb testing.TB, d0, e *testEnv, list uint8, s sched.State) {
	tb.Helper()
	if got := d0.states(tb)[e.d.ID]; got != list {
		tb.Errorf("%s: domain_list state %s, want %s", e.d.Label(), abi.StateName(got), abi.StateName(list))
	}
	if got := e.schedState(tb); got != s {
		tb.Errorf("%s: scheduler state %s, want %s", e.d.Label(), got, s)
	}
}

// Every control operation is -EPERM for a domain that is not dom0, and
// does nothing.
func TestDomctlUnprivileged(t *testing.T) {
	w, d0, d1, d2 := newDom0World(t)
	create := (&abi.DomainCreate{Image: "x", Name: "usurper", MemMiB: 4}).Encode()
	d1.write(t, argGPA, create)
	canary := bytes.Repeat([]byte{0x5a}, 4*128)
	d1.write(t, bufGPA, canary)
	d1.write(t, 0x6000, []byte("forged line\n"))
	free := w.free()
	for op := uint64(abi.OpVersion); op <= abi.OpFreeFrames+1; op++ {
		for _, args := range [][]uint64{
			{2, 1, 50},
			{0, 512, 0},
			{argGPA, 0, 0},
			{bufGPA, 4, 0},
			{2, 0x6000, 12},
		} {
			if r := d1.domctl(t, op, args...); r != eperm {
				t.Errorf("op %d%v from d1 = %d, want -EPERM", op, args, r)
			}
			d1.wantRunning(t)
		}
	}
	if r := d1.domctl(t, 1<<32|abi.OpDomainPause, 2); r != eperm {
		t.Errorf("op 2^32+pause from d1 = %d, want -EPERM", r)
	}
	if !bytes.Equal(d1.read(t, bufGPA, len(canary)), canary) {
		t.Error("domain_list wrote for an unprivileged caller")
	}
	for _, e := range []*testEnv{d0, d1, d2} {
		if e.d.State != DomainRunning || e.d.Paused || e.d.Weight != DefaultWeight || e.d.Cap != 0 {
			t.Errorf("%s: %s, paused %v, weight %d, cap %d", e.d.Label(), e.d.State, e.d.Paused, e.d.Weight, e.d.Cap)
		}
		if e.schedState(t) != sched.Runnable {
			t.Errorf("%s: scheduler state %s", e.d.Label(), e.schedState(t))
		}
		if st := w.h.Sched.Stats(sched.DomID(e.d.ID)); st.Weight != DefaultWeight || st.Cap != 0 {
			t.Errorf("%s: scheduler weight %d cap %d", e.d.Label(), st.Weight, st.Cap)
		}
	}
	if len(w.h.Domains()) != 3 || w.free() != free {
		t.Errorf("%d domains, %d frames free (was %d)", len(w.h.Domains()), w.free(), free)
	}
	d2.d.Console.Flush()
	if strings.Contains(w.out.String(), "forged") {
		t.Error("console_write printed for an unprivileged caller")
	}
	w.check(t)
}

// OpVersion is for dom0 and returns abi.ControlVersion (docs/hypercalls.md,
// abi/control.go); TestDomctlUnprivileged checks the -EPERM for the others.
func TestDomctlVersion(t *testing.T) {
	_, d0, _, _ := newDom0World(t)
	if r := d0.domctl(t, abi.OpVersion); r != abi.ControlVersion {
		t.Errorf("version from dom0 = %d, want %d", r, abi.ControlVersion)
	}
}

// dom0 pauses and unpauses: the scheduler holds the vCPU off and lets it
// go, and domain_list follows: paused, blocked, runnable, running.
func TestDomctlPauseUnpause(t *testing.T) {
	w, d0, d1, d2 := newDom0World(t)
	d2.mapShared(t)
	// dom0 is running: its hypercalls run inside its slice.
	w.h.running = d0.v
	defer func() { w.h.running = nil }()

	r, l := d0.domainList(t, 8)
	if r != 3 || len(l) != 3 {
		t.Fatalf("domain_list = %d", r)
	}
	for i, want := range []struct {
		id    uint16
		name  string
		state uint8
		priv  bool
	}{{0, "dom0", abi.StateRunning, true}, {1, "one", abi.StateRunnable, false}, {2, "two", abi.StateRunnable, false}} {
		x := l[i]
		if x.id != want.id || x.name != want.name || x.state != want.state || x.priv != want.priv || x.vcpus != 1 ||
			x.mem != 4<<20 || x.weight != DefaultWeight || x.cap != 0 {
			t.Errorf("entry %d: %+v, want id %d %q %s privileged %v, 1 vCPU, 4 MiB, weight 256", i, x, want.id,
				want.name, abi.StateName(want.state), want.priv)
		}
	}
	// The special pages and the back-end ports dom0 needs.
	x := l[2]
	if x.consoleGFN != (4<<20)/4096-1 || x.storeGFN != (4<<20)/4096-2 ||
		uint64(x.consolePort) != d2.d.params[xen.HVMParamConsoleEvtchn] || uint64(x.storePort) != d2.d.params[xen.HVMParamStoreEvtchn] ||
		x.consolePort == 0 || x.storePort == 0 || x.consolePort == x.storePort {
		t.Errorf("d2's console gfn %#x port %d, store gfn %#x port %d", x.consoleGFN, x.consolePort, x.storeGFN, x.storePort)
	}
	// dom0's own hypercalls are counted.
	if l[0].hypercalls != d0.d.Stats.Hypercalls || l[0].hypercalls == 0 {
		t.Errorf("dom0's hypercalls %d, stats %d", l[0].hypercalls, d0.d.Stats.Hypercalls)
	}
	// A guest may rewrite its own event-channel params (Xen lets it); dom0
	// is still told the ports the hypervisor allocated.
	d2.hvmParam(t, 0x6000, xen.DomIDSelf, xen.HVMParamStoreEvtchn, 999)
	if r := d2.hypercall(xen.HypercallHVMOp, xen.HVMOpSetParam, 0x6000); r != 0 {
		t.Fatalf("d2 setting its store port param = %d", r)
	}
	if _, l2 := d0.domainList(t, 8); len(l2) != 3 || l2[2].storePort != x.storePort {
		t.Errorf("after d2 rewrote its param, dom0 is told store port %d, want %d", l2[2].storePort, x.storePort)
	}

	// Pause a runnable domain.
	if r := d0.domctl(t, abi.OpDomainPause, 2); r != 0 {
		t.Fatalf("pause = %d", r)
	}
	if !d2.d.Paused {
		t.Error("not paused")
	}
	wantState(t, d0, d2, abi.StatePaused, sched.Paused)
	wantState(t, d0, d1, abi.StateRunnable, sched.Runnable)
	if r := d0.domctl(t, abi.OpDomainPause, 2); r != 0 {
		t.Errorf("second pause = %d", r)
	}
	wantState(t, d0, d2, abi.StatePaused, sched.Paused)
	if r := d0.domctl(t, abi.OpDomainUnpause, 2); r != 0 {
		t.Fatalf("unpause = %d", r)
	}
	wantState(t, d0, d2, abi.StateRunnable, sched.Runnable)
	// Pauses do not nest.
	if r := d0.domctl(t, abi.OpDomainUnpause, 2); r != 0 {
		t.Errorf("unpause of a running domain = %d", r)
	}
	wantState(t, d0, d2, abi.StateRunnable, sched.Runnable)

	// A blocked domain, paused, woken by an event meanwhile, unpaused.
	p0, p2 := connect(t, d0, d2)
	d2.block(t)
	wantState(t, d0, d2, abi.StateBlocked, sched.Blocked)
	if r := d0.domctl(t, abi.OpDomainPause, 2); r != 0 {
		t.Fatal(r)
	}
	wantState(t, d0, d2, abi.StatePaused, sched.Paused)
	if r := d0.send(t, p0); r != 0 || !d2.pendingBit(t, p2) {
		t.Fatalf("send = %d", r)
	}
	if d2.v.State != VCPURunnable {
		t.Errorf("the event did not end d2's block: %s", d2.v.State)
	}
	wantState(t, d0, d2, abi.StatePaused, sched.Paused)
	if r := d0.domctl(t, abi.OpDomainUnpause, 2); r != 0 {
		t.Fatal(r)
	}
	wantState(t, d0, d2, abi.StateRunnable, sched.Runnable)
	// Blocked, paused, unpaused without an event: still blocked.
	d2.ackUpcall(t)
	d2.clearPending(t, p2)
	d2.block(t)
	d0.domctl(t, abi.OpDomainPause, 2)
	d0.domctl(t, abi.OpDomainUnpause, 2)
	wantState(t, d0, d2, abi.StateBlocked, sched.Blocked)

	// dom0 may not pause itself; and it reports itself running.
	if r := d0.domctl(t, abi.OpDomainPause, 0); r != einval || d0.d.Paused {
		t.Errorf("dom0 pausing itself = %d, paused %v; want -EINVAL", r, d0.d.Paused)
	}
	if got := d0.states(t)[0]; got != abi.StateRunning {
		t.Errorf("dom0's state %s, want running", abi.StateName(got))
	}
	w.check(t)
}

// Domain ids that name no live domain are -ESRCH, and never alias one.
func TestDomctlBadDomid(t *testing.T) {
	w, d0, d1, d2 := newDom0World(t)
	w.h.Kill(d2.d, "dying for the test") // dying, not yet reaped
	d0.write(t, 0x6000, []byte("x\n"))
	for _, op := range []uint64{abi.OpDomainDestroy, abi.OpDomainPause, abi.OpDomainUnpause, abi.OpDomainSched, abi.OpConsoleWrite} {
		for _, id := range []uint64{7, 0x7ff0, 0xffff, 1<<16 | 1, 1<<32 | 1, 1 << 63, 2} {
			args := []uint64{id, 512, 0}
			if op == abi.OpConsoleWrite {
				args = []uint64{id, 0x6000, 2}
			}
			if r := d0.domctl(t, op, args...); r != -xen.ESRCH {
				t.Errorf("op %d on domain %#x = %d, want -ESRCH", op, id, r)
			}
		}
	}
	if d1.d.State != DomainRunning || d1.d.Paused || d1.d.Weight != DefaultWeight || d1.schedState(t) != sched.Runnable {
		t.Errorf("d1 was touched: %s, paused %v, weight %d, scheduler %s", d1.d.State, d1.d.Paused, d1.d.Weight, d1.schedState(t))
	}
	if st := w.h.Sched.Stats(1); st.Weight != DefaultWeight {
		t.Errorf("d1's scheduler weight %d", st.Weight)
	}
	w.check(t)
}

// OpDomainSched: weight 1-65535 and cap 0-100, else -EINVAL with nothing
// changed; a good change reaches the scheduler and domain_list.
func TestDomctlSched(t *testing.T) {
	w, d0, _, d2 := newDom0World(t)
	for _, wc := range [][2]uint64{{0, 0}, {65536, 0}, {1 << 32, 0}, {1<<32 | 256, 0}, {256, 101}, {256, 1 << 32}, {^uint64(0), ^uint64(0)}} {
		if r := d0.domctl(t, abi.OpDomainSched, 2, wc[0], wc[1]); r != einval {
			t.Errorf("sched weight %#x cap %#x = %d, want -EINVAL", wc[0], wc[1], r)
		}
	}
	if st := w.h.Sched.Stats(2); d2.d.Weight != DefaultWeight || d2.d.Cap != 0 || st.Weight != DefaultWeight || st.Cap != 0 {
		t.Errorf("after refused changes: weight %d cap %d, scheduler %d %d", d2.d.Weight, d2.d.Cap, st.Weight, st.Cap)
	}
	for _, wc := range [][2]uint64{{1, 0}, {65535, 100}, {512, 50}} {
		if r := d0.domctl(t, abi.OpDomainSched, 2, wc[0], wc[1]); r != 0 {
			t.Fatalf("sched weight %d cap %d = %d", wc[0], wc[1], r)
		}
		if st := w.h.Sched.Stats(2); st.Weight != int(wc[0]) || st.Cap != int(wc[1]) {
			t.Errorf("scheduler weight %d cap %d, want %d %d", st.Weight, st.Cap, wc[0], wc[1])
		}
	}
	_, l := d0.domainList(t, 3)
	if x := l[2]; x.id != 2 || x.weight != 512 || x.cap != 50 {
		t.Errorf("domain_list: %+v", x)
	}
	// dom0 may set its own.
	if r := d0.domctl(t, abi.OpDomainSched, 0, 1024, 0); r != 0 || w.h.Sched.Stats(0).Weight != 1024 {
		t.Errorf("dom0's own weight = %d, scheduler %d", r, w.h.Sched.Stats(0).Weight)
	}
	w.check(t)
}

// domain_list's buffer and capacity.
func TestDomctlListBuffer(t *testing.T) {
	w, d0, _, _ := newDom0World(t)
	canary := bytes.Repeat([]byte{0x5a}, 4*128)
	d0.write(t, bufGPA, canary)
	if r, l := d0.domainList(t, 2); r != 2 || l[0].id != 0 || l[1].id != 1 {
		t.Errorf("domain_list with room for 2 = %d: %+v", r, l)
	}
	if !bytes.Equal(d0.read(t, bufGPA+2*128, 2*128), canary[:2*128]) {
		t.Error("domain_list wrote beyond the capacity")
	}
	if r := d0.domctl(t, abi.OpDomainList, bufGPA, 0); r != 0 {
		t.Errorf("domain_list with room for 0 = %d", r)
	}
	if r := d0.domctl(t, abi.OpDomainList, bufGPA, 4097); r != einval {
		t.Errorf("domain_list with room for 4097 = %d, want -EINVAL", r)
	}
	if r := d0.domctl(t, abi.OpDomainList, bufGPA, 1<<63); r != einval {
		t.Errorf("domain_list with room for 2^63 = %d, want -EINVAL", r)
	}
	if r := d0.domctl(t, abi.OpDomainList, d0.d.MemSize-128, 3); r != efault {
		t.Errorf("domain_list running off RAM = %d, want -EFAULT", r)
	}
	if r := d0.domctl(t, abi.OpFreeFrames); r != int64(w.free()) {
		t.Errorf("free_frames = %d, want %d", r, w.free())
	}
	w.check(t)
}

// dom0 destroys a domain: dying at once, gone with its frames once reaped.
func TestDomctlDestroy(t *testing.T) {
	w, d0, d1, d2 := newDom0World(t)
	if r := d0.domctl(t, abi.OpDomainDestroy, 0); r != einval {
		t.Errorf("dom0 destroying itself = %d, want -EINVAL", r)
	}
	free := w.free()
	if r := d0.domctl(t, abi.OpDomainDestroy, 2); r != 0 {
		t.Fatalf("destroy = %d", r)
	}
	if d2.d.State != DomainDying || d2.d.Crashed || !strings.Contains(d2.d.EndReason, "destroyed by d0.dom0") {
		t.Errorf("d2: %s, crashed %v, %q", d2.d.State, d2.d.Crashed, d2.d.EndReason)
	}
	if got := d0.states(t)[2]; got != abi.StateDying {
		t.Errorf("d2 listed %s, want dying", abi.StateName(got))
	}
	if r := d0.domctl(t, abi.OpDomainDestroy, 2); r != -xen.ESRCH {
		t.Errorf("second destroy = %d, want -ESRCH", r)
	}
	w.h.reap()
	if got, want := w.free(), free+domainFrames(4); got != want {
		t.Errorf("free frames %d, want %d", got, want)
	}
	if _, ok := d0.states(t)[2]; ok || w.h.Domain(2) != nil {
		t.Error("d2 is still listed")
	}
	if _, ok := w.h.Sched.VCPU(d2.v.sid); ok {
		t.Error("the scheduler still has d2's vCPU")
	}
	if r := d0.domctl(t, abi.OpFreeFrames); r != int64(w.free()) {
		t.Errorf("free_frames = %d, want %d", r, w.free())
	}
	if !strings.Contains(w.out.String(), fmt.Sprintf("d2.two: destroyed: %d frames returned", domainFrames(4))) {
		t.Errorf("console lacks the destroy line:\n%s", w.out.String())
	}
	d1.wantRunning(t)
	w.check(t)
}

// XENMEM_memory_map returns the domain's e820 map: struct xen_memory_map {
// unsigned int nr_entries; XEN_GUEST_HANDLE(void) buffer; }, entries of
// struct e820entry { uint64_t addr, size; uint32_t type; } packed (20
// bytes).
func TestMemoryMap(t *testing.T) {
	w, _, d1, _ := newDom0World(t)
	memoryMap := func(capacity uint32, buf uint64) int64 {
		b := make([]byte, 16)
		le.PutUint32(b[0:], capacity)
		le.PutUint32(b[4:], 0xeeee_eeee)
		le.PutUint64(b[8:], buf)
		d1.write(t, argGPA, b)
		return d1.call(t, xen.HypercallMemoryOp, xen.MemOpMemoryMap, argGPA)
	}
	special := uint64(4<<20 - 2*4096)
	want := [][3]uint64{
		{0, 0xa_0000, 1},
		{0xa_0000, 0x6_0000, 2},
		{0x10_0000, special - 0x10_0000, 1},
		{special, 2 * 4096, 2},
	}
	for _, capacity := range []uint32{8, 4, 2, 0} {
		canary := bytes.Repeat([]byte{0x5a}, 8*20)
		d1.write(t, bufGPA, canary)
		if r := memoryMap(capacity, bufGPA); r != 0 {
			t.Fatalf("memory_map with room for %d = %d", capacity, r)
		}
		n := min(int(capacity), 4)
		if got := le.Uint32(d1.read(t, argGPA, 4)); got != uint32(n) {
			t.Errorf("room for %d: nr_entries %d, want %d", capacity, got, n)
		}
		b := d1.read(t, bufGPA, 8*20)
		for i := 0; i < n; i++ {
			e := b[i*20:]
			if got := [3]uint64{le.Uint64(e[0:]), le.Uint64(e[8:]), uint64(le.Uint32(e[16:]))}; got != want[i] {
				t.Errorf("room for %d: entry %d %#x, want %#x", capacity, i, got, want[i])
			}
		}
		if !bytes.Equal(b[n*20:], canary[n*20:]) {
			t.Errorf("room for %d: written beyond %d entries", capacity, n)
		}
		if got := le.Uint64(d1.read(t, argGPA+8, 8)); got != bufGPA {
			t.Errorf("the buffer handle changed: %#x", got)
		}
	}
	if r := memoryMap(4, d1.d.MemSize-20); r != efault {
		t.Errorf("memory_map running off RAM = %d, want -EFAULT", r)
	}
	if r := d1.call(t, xen.HypercallMemoryOp, xen.MemOpMemoryMap, d1.d.MemSize-8); r != efault {
		t.Errorf("memory_map with its struct across RAM's end = %d, want -EFAULT", r)
	}
	w.check(t)
}

// XENMEM_add_to_physmap: bad spaces, indices and frames are refused and
// change nothing; a good one maps the page, and moving it unmaps the old
// place.
func TestAddToPhysmap(t *testing.T) {
	w, _, d1, _ := newDom0World(t)
	at := sharedAt(d1) >> 12
	for _, tt := range []struct {
		name      string
		dom       uint16
		space     uint32
		idx, gpfn uint64
		want      int64
		noMapping uint64
	}{
		{"shared_info index 1", xen.DomIDSelf, xen.MapSpaceSharedInfo, 1, at, einval, at},
		{"shared_info index 2^63", xen.DomIDSelf, xen.MapSpaceSharedInfo, 1 << 63, at, einval, at},
		{"grant_table index 4 (of 4 frames)", xen.DomIDSelf, xen.MapSpaceGrantTable, GrantFrames, at, einval, at},
		{"grant_table status frame 0", xen.DomIDSelf, xen.MapSpaceGrantTable, 1 << 31, at, einval, at},
		{"grant_table index 2^64-1", xen.DomIDSelf, xen.MapSpaceGrantTable, ^uint64(0), at, einval, at},
		{"XENMAPSPACE_gmfn", xen.DomIDSelf, 2, 0x100, at, einval, at},
		{"space 99", xen.DomIDSelf, 99, 0, at, einval, at},
		{"shared_info at 64 GiB", xen.DomIDSelf, xen.MapSpaceSharedInfo, 0, 64 << 30 >> 12, einval, 64 << 30 >> 12},
		{"shared_info at gpfn 2^52", xen.DomIDSelf, xen.MapSpaceSharedInfo, 0, 1 << 52, einval, 0},
		{"shared_info at gpfn 2^64-1", xen.DomIDSelf, xen.MapSpaceSharedInfo, 0, ^uint64(0), einval, 0},
		{"grant_table at 64 GiB", xen.DomIDSelf, xen.MapSpaceGrantTable, 0, 64 << 30 >> 12, einval, 64 << 30 >> 12},
		{"another domain's", 2, xen.MapSpaceSharedInfo, 0, at, eperm, at},
		{"dom0's", 0, xen.MapSpaceGrantTable, 0, at, eperm, at},
	} {
		if r := d1.addToPhysmap(t, tt.dom, tt.space, tt.idx, tt.gpfn); r != tt.want {
			t.Errorf("add_to_physmap of %s = %d, want %d", tt.name, r, tt.want)
		}
		if tt.noMapping != 0 {
			if _, ok := d1.d.EPT.Translate(tt.noMapping << 12); ok {
				t.Errorf("add_to_physmap of %s: gpfn %#x mapped", tt.name, tt.noMapping)
			}
		}
		if d1.d.sharedGPA != 0 || d1.d.grants.gpas[0] != 0 {
			t.Errorf("add_to_physmap of %s: shared_info at %#x, grant frame 0 at %#x", tt.name, d1.d.sharedGPA, d1.d.grants.gpas[0])
		}
		d1.wantRunning(t)
	}
	if r := d1.call(t, xen.HypercallMemoryOp, xen.MemOpAddToPhysmap, d1.d.MemSize-8); r != efault {
		t.Errorf("add_to_physmap with its struct across RAM's end = %d, want -EFAULT", r)
	}

	// shared_info above RAM, then moved into RAM (hiding a RAM page), then
	// moved away again (leaving a hole, as in Xen).
	d1.mapShared(t)
	if m, ok := d1.d.EPT.Translate(sharedAt(d1)); !ok || m.HPA != d1.d.sharedInfo {
		t.Fatalf("shared_info mapping: %+v %v", m, ok)
	}
	const inRAM = 0x100
	ram := d1.hpa(t, inRAM<<12)
	if r := d1.addToPhysmap(t, xen.DomIDSelf, xen.MapSpaceSharedInfo, 0, inRAM); r != 0 {
		t.Fatalf("shared_info into RAM = %d", r)
	}
	if _, ok := d1.d.EPT.Translate(sharedAt(d1)); ok {
		t.Error("the old shared_info place is still mapped")
	}
	if m, ok := d1.d.EPT.Translate(inRAM << 12); !ok || m.HPA != d1.d.sharedInfo || m.Perm&ept.Exec != 0 {
		t.Errorf("shared_info in RAM: %+v %v (want read-write, not executable)", m, ok)
	}
	if r := d1.addToPhysmap(t, xen.DomIDSelf, xen.MapSpaceGrantTable, 3, (sharedAt(d1)>>12)+1); r != 0 {
		t.Fatalf("grant frame 3 = %d", r)
	}
	if m, ok := d1.d.EPT.Translate(sharedAt(d1) + 4096); !ok || m.HPA != d1.d.grants.frames[3] {
		t.Errorf("grant frame 3: %+v %v", m, ok)
	}
	d1.mapShared(t)
	if _, ok := d1.d.EPT.Translate(inRAM << 12); ok {
		t.Error("the RAM page under the old shared_info came back")
	}
	// The hidden RAM frame stays the domain's, and returns with it.
	if w.isFree(ram) {
		t.Error("the hidden RAM frame was freed")
	}
	free := w.free()
	w.destroy(t, d1)
	if got, want := w.free(), free+domainFrames(4); got != want {
		t.Errorf("free frames %d after d1's end, want %d", got, want)
	}
	w.check(t)
}

// A page put over another with add_to_physmap leaves the other's record
// behind: moving the covered page later must not unmap the page now there.
func TestAddToPhysmapMoveAfterCover(t *testing.T) {
	w := newWorld(t, 24, false)
	d1 := w.addDomain(t, 1, "one", 4, false)
	x := sharedAt(d1) >> 12
	if r := d1.addToPhysmap(t, xen.DomIDSelf, xen.MapSpaceGrantTable, 0, x); r != 0 {
		t.Fatalf("grant frame 0 at %#x = %d", x, r)
	}
	if r := d1.addToPhysmap(t, xen.DomIDSelf, xen.MapSpaceSharedInfo, 0, x); r != 0 {
		t.Fatalf("shared_info over it = %d", r)
	}
	if r := d1.addToPhysmap(t, xen.DomIDSelf, xen.MapSpaceGrantTable, 0, x+1); r != 0 {
		t.Fatalf("grant frame 0 moved on = %d", r)
	}
	if m, ok := d1.d.EPT.Translate(x << 12); !ok || m.HPA != d1.d.sharedInfo {
		t.Errorf("shared_info at %#x after grant frame 0 moved away: %+v %v", x, m, ok)
	}
	if m, ok := d1.d.EPT.Translate((x + 1) << 12); !ok || m.HPA != d1.d.grants.frames[0] {
		t.Errorf("grant frame 0 at %#x: %+v %v", x+1, m, ok)
	}
	w.check(t)
}
