package hv

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"os"
	"strings"
	"sync"
	"tamavisor/hv/evtchn"
	"testing"

	"tamavisor/boot"
	"tamavisor/console"
	"tamavisor/ept"
	"tamavisor/vmx"
)

// fieldMap is a VMCS kept in a map, for tests: the exit handlers read and
// write it through VMCSAccess as they would the current VMCS.
type fieldMap map[uint32]uint64

func (m fieldMap) Read16(f vmx.Field16) uint16             { return uint16(m[uint32(f)]) }
func (m fieldMap) Read32(f vmx.Field32) uint32             { return uint32(m[uint32(f)]) }
func (m fieldMap) Read64(f vmx.Field64) uint64             { return m[uint32(f)] }
func (m fieldMap) ReadNat(f vmx.FieldNat) uint64           { return m[uint32(f)] }
func (m fieldMap) Write16(f vmx.Field16, v uint16) error   { m[uint32(f)] = uint64(v); return nil }
func (m fieldMap) Write32(f vmx.Field32, v uint32) error   { m[uint32(f)] = uint64(v); return nil }
func (m fieldMap) Write64(f vmx.Field64, v uint64) error   { m[uint32(f)] = v; return nil }
func (m fieldMap) WriteNat(f vmx.FieldNat, v uint64) error { m[uint32(f)] = v; return nil }
func (m fieldMap) ReadPaging() (cr0, cr3, cr4, efer uint64) {
	return m[uint32(vmx.GuestCR0)], m[uint32(vmx.GuestCR3)], m[uint32(vmx.GuestCR4)], m[uint32(vmx.GuestIA32EFER)]
}

// The recorded machine: Bochs' Skylake-X model, as the hypervisor saw it at
// boot (VMX capability MSRs and CPUID leaves).
const bochsDump = "../boot/testdata/bochs-skylake-x-grub-multiboot2.dump"

var (
	dumpOnce sync.Once
	dumpVal  *boot.Dump
	dumpErr  error
)

func recordedDump(tb testing.TB) *boot.Dump {
	tb.Helper()
	dumpOnce.Do(func() {
		f, err := os.Open(bochsDump)
		if err != nil {
			dumpErr = err
			return
		}
		defer f.Close()
		dumpVal, dumpErr = boot.ParseDump(f)
	})
	if dumpErr != nil {
		tb.Fatalf("boot dump %s: %v", bochsDump, dumpErr)
	}
	return dumpVal
}

// testCaps are the VMX capabilities and domain controls of the recorded
// machine.
func testCaps(tb testing.TB) (*vmx.Caps, vmx.ControlSet) {
	tb.Helper()
	d := recordedDump(tb)
	caps, err := vmx.ReadCaps(d.ReadMSR)
	if err != nil {
		tb.Fatalf("ReadCaps: %v", err)
	}
	ctl, err := caps.DomainControls()
	if err != nil {
		tb.Fatalf("DomainControls: %v", err)
	}
	return caps, ctl
}

// Bits the recorded CPU does not report but that GuestCPUID must hide if a
// CPU did: the tests OR them into the recorded answers.
var cpuidExtra = map[uint32][4]uint32{
	0x1:         {0, 0, 1<<3 | 1<<27, 0},     // MONITOR, OSXSAVE
	0x5:         {0x40, 0x40, 3, 0x11142120}, // MONITOR/MWAIT
	0xa:         {0x07300404, 0, 0, 0x603},   // architectural PMU
	0xb:         {1, 2, 0x100, 1},            // topology
	0x1f:        {1, 2, 0x100, 1},            // topology
	0x8000_0001: {0, 0, 1<<2 | 1<<12, 0},     // SVM, SKINIT
}

// hostCPUID is the recorded CPU's CPUID with cpuidExtra ORed in.
func hostCPUID(tb testing.TB) func(leaf, sub uint32) [4]uint32 {
	d := recordedDump(tb)
	return func(leaf, sub uint32) [4]uint32 {
		r := d.CPUID[[2]uint32{leaf, sub}]
		if x, ok := cpuidExtra[leaf]; ok {
			for i := range r {
				r[i] |= x[i]
			}
		}
		return r
	}
}

// fakeTables holds EPT tables in Go memory, at made-up host-physical
// addresses below hostBase.
type fakeTables struct {
	frames map[uint64]*[512]uint64
	next   uint64
}

const (
	tablesBase = 0x8000_0000   // the first EPT table frame
	hostBase   = 0x1_0000_0000 // the fake host memory that backs guests
	foreignLen = 64 << 10      // host memory after the domain's that no domain owns
)

func (f *fakeTables) AllocTable() (uint64, error) {
	pa := f.next
	f.next += mem4K
	f.frames[pa] = new([512]uint64)
	return pa, nil
}

func (f *fakeTables) FreeTable(pa uint64) { delete(f.frames, pa) }

func (f *fakeTables) Table(pa uint64) *[512]uint64 {
	t := f.frames[pa]
	if t == nil {
		panic(fmt.Sprintf("fakeTables: %#x is not a table", pa))
	}
	return t
}

const mem4K = 4096

// fakePhys is host-physical memory [hostBase, hostBase+len(mem)): the
// domain's frames, then foreignLen bytes that belong to no domain (filled
// with a canary). Slice hands out any of it, as mem.Phys would, but records
// every access that is not inside one page the domain's EPT maps: a guest
// memory access must never reach another frame.
type fakePhys struct {
	mem []byte
	ept *ept.EPT
	bad []string
}

const canary = 0xa5

func (p *fakePhys) Slice(addr, n uint64) ([]byte, error) {
	off := addr - hostBase
	if addr < hostBase || n > uint64(len(p.mem)) || off > uint64(len(p.mem))-n {
		p.bad = append(p.bad, fmt.Sprintf("Slice(%#x, %#x): outside host memory", addr, n))
		return nil, fmt.Errorf("fakePhys: %#x+%#x outside host memory", addr, n)
	}
	if n > 0 && !p.mapped(addr, n) {
		p.bad = append(p.bad, fmt.Sprintf("Slice(%#x, %#x): not inside one page the domain's EPT maps", addr, n))
	}
	return p.mem[off : off+n : off+n], nil
}

// mapped says whether [addr, addr+n) lies inside one 4 KiB page of a
// frame the EPT maps.
func (p *fakePhys) mapped(addr, n uint64) bool {
	if addr/mem4K != (addr+n-1)/mem4K {
		return false
	}
	ok := false
	if p.ept != nil {
		p.ept.Walk(func(m ept.Mapping) bool {
			if addr >= m.HPA && addr+n <= m.HPA+m.PageSize {
				ok = true
				return false
			}
			return true
		})
	}
	return ok
}

// foreignIntact says whether the memory no domain owns still holds the
// canary.
func (p *fakePhys) foreignIntact() bool {
	for _, b := range p.mem[len(p.mem)-foreignLen:] {
		if b != canary {
			return false
		}
	}
	return true
}

// testEnv is a hypervisor with one domain whose vCPU's VMCS is a fieldMap.
type testEnv struct {
	h      *Hypervisor
	d      *Domain
	v      *VCPU
	vmcs   fieldMap
	out    *bytes.Buffer // the serial console
	phys   *fakePhys
	tables *fakeTables
	// interrupts counts the times the host took its pending interrupts.
	interrupts int
}

// Guest state bits the tests use.
const (
	cr0ET       = 1 << 4
	cr4OSXSAVE  = 1 << 18
	eferSCE     = 1 << 0
	eferNXE     = 1 << 11
	ssARRing0   = 0xc093 // present, writable data, DPL 0, 32-bit, 4 KiB granularity
	ssARRing3   = 0xc0f3 // the same, DPL 3
	testKHz     = 40_000 // the recorded machine's TSC: 40 MHz
	testXCR0    = 0x7    // x87, SSE, AVX
	testInsnLen = 3
	testRIP     = 0x10_0000
)

// initTestVCPU gives a test vCPU its starting state: 32-bit protected
// mode without paging (linear = physical), CPL 0, interrupts off, at
// testRIP.
func initTestVCPU(v *VCPU, vmcs fieldMap, ctl vmx.ControlSet) {
	vmcs.WriteNat(vmx.GuestCR0, cr0PE|cr0ET|cr0NE)
	vmcs.WriteNat(vmx.CR0ReadShadow, cr0PE|cr0ET)
	vmcs.WriteNat(vmx.GuestCR4, cr4VMXE)
	vmcs.WriteNat(vmx.CR4ReadShadow, 0)
	vmcs.WriteNat(vmx.CR0GuestHostMask, cr0NE|cr0PG)
	vmcs.WriteNat(vmx.CR4GuestHostMask, cr4VMXE)
	vmcs.Write64(vmx.GuestIA32EFER, 0)
	vmcs.Write64(vmx.GuestIA32PAT, 0x0007_0406_0007_0406)
	vmcs.WriteNat(vmx.GuestRFLAGS, 0x2)
	v.Regs.RFLAGS = 0x2 // as the exit path reads it
	vmcs.WriteNat(vmx.GuestRSP, 0x8_0000)
	v.Regs.SSAccessRights = ssARRing0 // GUEST_SS_AR_BYTES, as the exit path reads it
	vmcs.Write32(vmx.VMEntryControls, ctl.Entry)
	vmcs.Write32(vmx.CPUBasedVMExecControl, ctl.Proc)
	v.Regs.RIP = testRIP
	v.Regs.InsnLen = testInsnLen
}

// newTestVCPU builds a hypervisor on the recorded machine and a domain
// (d1.test) with memMiB MiB of guest memory: GPAs [0, memMiB MiB) mapped
// RWX, write-back, by an EPT over fake host memory, in 2 MiB chunks placed
// in host memory in reverse order (so that guest-physically adjacent chunks
// are not host-physically adjacent). The vCPU starts in 32-bit protected
// mode without paging (linear = physical), at CPL 0, interrupts off.
func newTestVCPU(tb testing.TB, memMiB int) *testEnv {
	tb.Helper()
	caps, ctl := testCaps(tb)
	out := &bytes.Buffer{}
	cpu := &vmx.Processor{Caps: caps, Controls: ctl, XSaveMask: testXCR0}
	h := New(cpu, nil, nil, testKHz, console.New(out))
	h.cpuid = hostCPUID(tb)

	tables := &fakeTables{frames: map[uint64]*[512]uint64{}, next: tablesBase}
	e, err := ept.New(tables, ept.Options{Pages2M: caps.Has2MPages(), Pages1G: caps.Has1GPages()})
	if err != nil {
		tb.Fatalf("ept.New: %v", err)
	}
	memSize := uint64(memMiB) << 20
	const chunk = 2 << 20
	slots := (memSize + chunk - 1) / chunk
	phys := &fakePhys{mem: make([]byte, slots*chunk+foreignLen), ept: e}
	for i := range phys.mem[slots*chunk:] {
		phys.mem[slots*chunk+uint64(i)] = canary
	}
	var chunks []memChunk
	for i := uint64(0); i < slots; i++ {
		gpa := i * chunk
		hpa := hostBase + (slots-1-i)*chunk
		if err := e.Map(gpa, hpa, min(chunk, memSize-gpa), ept.RWX, ept.WB); err != nil {
			tb.Fatalf("EPT map: %v", err)
		}
		chunks = append(chunks, memChunk{gpa: gpa, hpa: hpa, size: min(chunk, memSize-gpa)})
	}

	d := &Domain{
		ID: 1, Name: "test", Spec: Spec{Image: "test", Name: "test", MemMiB: memMiB},
		State: DomainRunning, MemSize: memSize, EPT: e,
		Mem:    GuestMemory{EPT: e, Phys: phys},
		params: map[uint32]uint64{}, chunks: chunks,
	}
	d.Console = h.Console.Logger(d.Label())
	vmcs := fieldMap{}
	// Hypercalls use the 64-bit convention unless a test says otherwise:
	// IA-32e mode and a 64-bit code segment (CS.L, access rights 0xa09b).
	v := &VCPU{Dom: d, hv: h, vmcs: vmcs, entryCtls: ctl.Entry | vmx.EntryIA32eModeGuest, procCtls: ctl.Proc}
	v.Regs.CSAccessRights = 0xa09b // GUEST_CS_AR_BYTES, as the exit path reads it
	d.VCPU = v
	h.domains = append(h.domains, d)
	if err := h.Events.AddDomain(evtchn.DomID(d.ID), evtchn.NewMem(4096), 1); err != nil {
		tb.Fatalf("events: %v", err)
	}
	h.nextID = 2

	initTestVCPU(v, vmcs, ctl)
	env := &testEnv{h: h, d: d, v: v, vmcs: vmcs, out: out, phys: phys, tables: tables}
	h.TakeInterrupts = func() { env.interrupts++ }
	return env
}

// check fails the test if a guest memory access reached memory outside the
// domain.
func (e *testEnv) check(tb testing.TB) {
	tb.Helper()
	if len(e.phys.bad) > 0 {
		tb.Fatalf("host memory accesses outside the domain: %v", e.phys.bad)
	}
	if !e.phys.foreignIntact() {
		tb.Fatal("memory no domain owns was written")
	}
}

// hpa is the host-physical address of a GPA (which must be mapped).
func (e *testEnv) hpa(tb testing.TB, gpa uint64) uint64 {
	tb.Helper()
	m, ok := e.d.EPT.Translate(gpa)
	if !ok {
		tb.Fatalf("GPA %#x is not mapped", gpa)
	}
	return m.HPA
}

// host returns the host bytes behind [gpa, gpa+n), which must lie in one
// page.
func (e *testEnv) host(tb testing.TB, gpa, n uint64) []byte {
	tb.Helper()
	off := e.hpa(tb, gpa) - hostBase
	return e.phys.mem[off : off+n]
}

func (e *testEnv) write(tb testing.TB, gpa uint64, b []byte) {
	tb.Helper()
	if err := e.d.Mem.WriteGPA(gpa, b); err != nil {
		tb.Fatalf("WriteGPA(%#x): %v", gpa, err)
	}
}

func (e *testEnv) read(tb testing.TB, gpa uint64, n int) []byte {
	tb.Helper()
	b := make([]byte, n)
	if err := e.d.Mem.ReadGPA(gpa, b); err != nil {
		tb.Fatalf("ReadGPA(%#x): %v", gpa, err)
	}
	return b
}

func (e *testEnv) write64(tb testing.TB, gpa, val uint64) {
	tb.Helper()
	e.write(tb, gpa, binary.LittleEndian.AppendUint64(nil, val))
}

func (e *testEnv) read64(tb testing.TB, gpa uint64) uint64 {
	tb.Helper()
	return binary.LittleEndian.Uint64(e.read(tb, gpa, 8))
}

// console returns what the serial console received.
func (e *testEnv) console() string { return e.out.String() }

// lines returns the console lines that start with a prefix.
func (e *testEnv) lines(prefix string) []string {
	var out []string
	for _, l := range strings.Split(e.out.String(), "\n") {
		if strings.HasPrefix(l, prefix) {
			out = append(out, l)
		}
	}
	return out
}

// setIF sets or clears RFLAGS.IF, in the VMCS and where the exit path
// leaves it for the handlers.
func (e *testEnv) setIF(on bool) {
	f := e.vmcs.ReadNat(vmx.GuestRFLAGS) &^ rflagsIF
	if on {
		f |= rflagsIF
	}
	e.vmcs.WriteNat(vmx.GuestRFLAGS, f)
	e.v.Regs.RFLAGS = f
}

// longMode switches the guest to 64-bit mode with 4-level paging rooted at
// the PML4 at cr3, CR0.WP set.
func (e *testEnv) longMode(cr3 uint64) {
	cr0 := uint64(cr0PE | cr0ET | cr0WP | cr0PG)
	e.vmcs.WriteNat(vmx.CR0ReadShadow, cr0)
	e.vmcs.WriteNat(vmx.GuestCR0, cr0|cr0NE)
	e.vmcs.WriteNat(vmx.CR4ReadShadow, cr4PAE)
	e.vmcs.WriteNat(vmx.GuestCR4, cr4PAE|cr4VMXE)
	e.vmcs.WriteNat(vmx.GuestCR3, cr3)
	e.vmcs.Write64(vmx.GuestIA32EFER, eferSCE|eferLME|eferLMA|eferNXE)
}

// Guest paging-structure entry bits (SDM Vol. 3A 4.5).
const (
	ptP  = 1 << 0
	ptRW = 1 << 1
	ptUS = 1 << 2
	ptPS = 1 << 7
	// ptPAT is bit 12 of a large-page entry (the PAT bit), not an address bit.
	ptPAT = 1 << 12
)

// guestPT builds 4-level guest page tables in guest memory, taking table
// pages from a bump allocator.
type guestPT struct {
	e    *testEnv
	tb   testing.TB
	root uint64
	next uint64
}

// newGuestPT starts page tables whose PML4 is at GPA at; further tables
// follow it.
func (e *testEnv) newGuestPT(tb testing.TB, at uint64) *guestPT {
	pt := &guestPT{e: e, tb: tb, root: at, next: at + mem4K}
	e.write(tb, at, make([]byte, mem4K))
	return pt
}

// entry returns the GPA of the level-l entry (3 = PML4E, 0 = PTE) that
// translates gva, creating the tables above it (present, writable).
func (pt *guestPT) entry(gva uint64, l int) uint64 {
	table := pt.root
	for level := 3; ; level-- {
		at := table + (gva>>(12+9*uint(level))&511)*8
		if level == l {
			return at
		}
		ent := pt.e.read64(pt.tb, at)
		if ent&ptP == 0 {
			t := pt.next
			pt.next += mem4K
			pt.e.write(pt.tb, t, make([]byte, mem4K))
			ent = t | ptP | ptRW
			pt.e.write64(pt.tb, at, ent)
		}
		table = ent & 0x000f_ffff_ffff_f000
	}
}

// mapPage maps the page of the given size (4 KiB, 2 MiB or 1 GiB) at gva
// to gpa with flags (ptP, ptRW, ...).
func (pt *guestPT) mapPage(gva, gpa, size, flags uint64) {
	l := map[uint64]int{1 << 12: 0, 1 << 21: 1, 1 << 30: 2}[size]
	if l > 0 {
		flags |= ptPS
	}
	pt.e.write64(pt.tb, pt.entry(gva, l), gpa|flags)
}

// Hypercall helpers.

// callRegs loads a hypercall into the vCPU's registers (Xen's x86-64
// convention).
func (e *testEnv) callRegs(nr uint64, args ...uint64) {
	g := &e.v.Regs.GPR
	g[vmx.RAX] = nr
	regs := []int{vmx.RDI, vmx.RSI, vmx.RDX, vmx.R10, vmx.R8}
	for i, a := range args {
		g[regs[i]] = a
	}
}

// vmcall runs a hypercall through the VMCALL exit handler and returns RAX.
func (e *testEnv) vmcall(nr uint64, args ...uint64) int64 {
	e.callRegs(nr, args...)
	handleVMCALL(e.h, e.v, vmx.ExitReasonVMCALL)
	return int64(e.v.Regs.GPR[vmx.RAX])
}

// hypercall runs a hypercall through Hypervisor.hypercall.
func (e *testEnv) hypercall(nr uint64, args ...uint64) int64 {
	var c Hypercall
	c.Nr = nr
	copy(c.Args[:], args)
	return e.h.hypercall(e.v, &c)
}

// exit runs a VM exit with a qualification through dispatch.
func (e *testEnv) exit(reason vmx.ExitReason, qual uint64) {
	e.v.Regs.ExitReason = uint64(reason)
	e.v.Regs.ExitQual = qual
	e.h.dispatch(e.v)
}

// Expected VM-entry interruption information for the exceptions the
// handlers inject: valid, hardware exception, the vector, and for #GP an
// error code (SDM Vol. 3C 25.8.3).
const (
	injectGP = 1<<31 | 3<<8 | 1<<11 | 13
	injectUD = 1<<31 | 3<<8 | 6
)

// wantAdvanced checks that RIP moved past the exiting instruction.
func (e *testEnv) wantAdvanced(tb testing.TB) {
	tb.Helper()
	r := &e.v.Regs
	if r.RIP != testRIP+testInsnLen || r.Dirty&vmx.RIPDirty == 0 {
		tb.Fatalf("RIP %#x (dirty %#x), want %#x advanced", r.RIP, r.Dirty, testRIP+testInsnLen)
	}
}

// wantNotAdvanced checks that RIP stayed on the exiting instruction.
func (e *testEnv) wantNotAdvanced(tb testing.TB) {
	tb.Helper()
	r := &e.v.Regs
	if r.RIP != testRIP || r.Dirty&vmx.RIPDirty != 0 {
		tb.Fatalf("RIP %#x (dirty %#x), want %#x unchanged", r.RIP, r.Dirty, testRIP)
	}
}

// wantInjected checks the event queued for the next VM entry (0: none).
func (e *testEnv) wantInjected(tb testing.TB, info uint32) {
	tb.Helper()
	if got := e.vmcs.Read32(vmx.VMEntryIntrInfoField); got != info {
		tb.Fatalf("VM-entry interruption information %#x (%s), want %#x (%s)", got,
			vmx.DecodeInterruptionInfo(got), info, vmx.DecodeInterruptionInfo(info))
	}
	if info&(1<<11) != 0 {
		if _, ok := e.vmcs[uint32(vmx.VMEntryExceptionErrorCode)]; !ok {
			tb.Fatal("no VM-entry exception error code written")
		}
	}
}

// wantRunning checks that the domain was not ended.
func (e *testEnv) wantRunning(tb testing.TB) {
	tb.Helper()
	if e.d.State != DomainRunning || e.v.State == VCPUStopped {
		tb.Fatalf("domain %s, vCPU %s (%q), want running", e.d.State, e.v.State, e.d.EndReason)
	}
}

// wantKilled checks that the hypervisor ended the domain with a reason
// holding every one of parts.
func (e *testEnv) wantKilled(tb testing.TB, parts ...string) {
	tb.Helper()
	if e.d.State != DomainDying || e.v.State != VCPUStopped || !e.d.Crashed {
		tb.Fatalf("domain %s, vCPU %s, crashed %v (%q), want killed", e.d.State, e.v.State, e.d.Crashed, e.d.EndReason)
	}
	for _, p := range parts {
		if !strings.Contains(e.d.EndReason, p) {
			tb.Errorf("end reason %q lacks %q", e.d.EndReason, p)
		}
	}
}
