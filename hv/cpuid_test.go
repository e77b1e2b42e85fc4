package hv

import (
	"encoding/binary"
	"strings"
	"testing"

	"tamavisor/abi"
	"tamavisor/vmx"
	"tamavisor/xen"
)

// cpuid runs the CPUID exit handler for leaf and sub on the test vCPU.
func (e *testEnv) cpuid(tb testing.TB, leaf, sub uint32) [4]uint32 {
	tb.Helper()
	g := &e.v.Regs.GPR
	// The upper halves of RAX and RCX are ignored; CPUID zero-extends
	// its results.
	g[vmx.RAX] = 0xdead_beef_0000_0000 | uint64(leaf)
	g[vmx.RCX] = 0xdead_beef_0000_0000 | uint64(sub)
	g[vmx.RBX], g[vmx.RDX] = ^uint64(0), ^uint64(0)
	e.v.Regs.RIP, e.v.Regs.Dirty = testRIP, 0
	handleCPUID(e.h, e.v, vmx.ExitReasonCPUID)
	e.wantAdvanced(tb)
	var out [4]uint32
	for i, r := range []int{vmx.RAX, vmx.RBX, vmx.RCX, vmx.RDX} {
		if g[r]>>32 != 0 {
			tb.Fatalf("CPUID %#x.%d: %s = %#x is not zero-extended", leaf, sub, vmx.GPRNames[r], g[r])
		}
		out[i] = uint32(g[r])
	}
	return out
}

// signature spells the 12 bytes of EBX, ECX, EDX.
func signature(r [4]uint32) string {
	var b []byte
	for _, x := range r[1:] {
		b = binary.LittleEndian.AppendUint32(b, x)
	}
	return strings.TrimRight(string(b), "\x00")
}

func TestCPUIDHypervisorLeaves(t *testing.T) {
	e := newTestVCPU(t, 4)
	r := e.cpuid(t, abi.CPUIDSignatureLeaf, 0)
	if s := signature(r); s != abi.Signature {
		t.Errorf("leaf 0x40000000 signature %q, want tamavisor", s)
	}
	if r[0] != abi.CPUIDTimingLeaf {
		t.Errorf("leaf 0x40000000 EAX %#x, want the largest leaf %#x", r[0], abi.CPUIDTimingLeaf)
	}
	if r := e.cpuid(t, abi.CPUIDTimingLeaf, 0); r != [4]uint32{testKHz, 0, 0, 0} {
		t.Errorf("timing leaf %#x, want the TSC kHz %d", r, testKHz)
	}

	r = e.cpuid(t, 0x4000_0100, 0)
	if s := signature(r); s != "XenVMMXenVMM" {
		t.Errorf("leaf 0x40000100 signature %q, want XenVMMXenVMM", s)
	}
	if r[0] != 0x4000_0104 {
		t.Errorf("leaf 0x40000100 EAX %#x, want 0x40000104", r[0])
	}
	if r := e.cpuid(t, 0x4000_0101, 0); r[0] != 4<<16|17 {
		t.Errorf("Xen version leaf EAX %#x, want 4.17", r[0])
	}
	if r := e.cpuid(t, 0x4000_0102, 0); r != [4]uint32{1, 0x4000_0000, 0, 0} {
		t.Errorf("Xen hypercall leaf %#x, want 1 page through MSR 0x40000000", r)
	}
	if r := e.cpuid(t, 0x4000_0103, 0); r[2] != testKHz {
		t.Errorf("Xen time leaf %#x, want ECX = %d kHz", r, testKHz)
	}
	// Whatever the CPU says in the hypervisor range (the recorded Bochs
	// answers leaf 0x40000000 with leaf 0x16's values), tamavisor's and
	// Xen's leaves are the only ones, and the rest read as zeros.
	for _, leaf := range []uint32{0x4000_0001, 0x4000_000f, 0x4000_0011, 0x4000_00ff, 0x4000_0105,
		0x4000_0200, 0x4fff_ffff} {
		if r := e.cpuid(t, leaf, 0); r != [4]uint32{} {
			t.Errorf("leaf %#x = %#x, want zeros", leaf, r)
		}
	}
	if r := e.cpuid(t, 0x4000_0103, 1); r != [4]uint32{} {
		t.Errorf("Xen time leaf subleaf 1 = %#x, want zeros", r)
	}
}

func TestCPUIDFiltered(t *testing.T) {
	e := newTestVCPU(t, 4)
	raw := e.h.cpuid
	bit := func(x uint32, n uint) bool { return x>>n&1 != 0 }

	// Leaf 1: the recorded CPU reports VMX, and the fake adds MONITOR and
	// OSXSAVE; the guest sees none of them (CR4.OSXSAVE is clear), but the
	// hypervisor bit, one logical processor and its APIC ID.
	h1 := raw(1, 0)
	if !bit(h1[2], 5) || !bit(h1[2], 3) || !bit(h1[2], 27) || bit(h1[2], 31) {
		t.Fatalf("recorded leaf 1 ECX %#x: the test expects VMX, MONITOR, OSXSAVE set and the hypervisor bit clear", h1[2])
	}
	e.v.ID = 0
	r := e.cpuid(t, 1, 0)
	for _, n := range []uint{3, 5, 27} {
		if bit(r[2], n) {
			t.Errorf("leaf 1 ECX %#x: bit %d visible", r[2], n)
		}
	}
	if !bit(r[2], 31) {
		t.Errorf("leaf 1 ECX %#x: hypervisor bit clear", r[2])
	}
	if bit(r[3], 9) {
		t.Errorf("leaf 1 EDX %#x: local APIC visible", r[3])
	}
	if r[0] != h1[0] {
		t.Errorf("leaf 1 EAX %#x, want the CPU's signature %#x", r[0], h1[0])
	}
	if r[1]>>16 != 1 || r[1]&0xffff != h1[1]&0xffff {
		t.Errorf("leaf 1 EBX %#x: want APIC ID 0, 1 logical processor, CLFLUSH/brand of %#x", r[1], h1[1])
	}
	if bits := r[2] &^ h1[2]; bits != 1<<31 {
		t.Errorf("leaf 1 ECX %#x sets bits %#x the CPU does not report, beyond the hypervisor bit", r[2], bits)
	}

	tests := []struct {
		leaf, sub uint32
		check     func(r, host [4]uint32) string
	}{
		{5, 0, zeros}, {6, 0, zeros}, {0xa, 0, zeros}, {0xb, 0, zeros}, {0xb, 1, zeros}, {0x1f, 0, zeros},
		{0x8000_000a, 0, zeros},
		{0xd, 0, func(r, host [4]uint32) string {
			if r[0] != testXCR0 || r[3] != 0 {
				return "EDX:EAX is not the hypervisor's XCR0 7"
			}
			// ECX (the size for every offered component) is EBX (the
			// size for the XCR0 guests run with).
			if r[1] != host[1] || r[2] != host[1] {
				return "EBX changed, or ECX is not EBX"
			}
			return ""
		}},
		{0xd, 1, same},
		{0x8000_0001, 0, func(r, host [4]uint32) string {
			if !bit(host[2], 2) {
				return "the test expects SVM in the host's answer"
			}
			if bit(r[2], 2) || bit(r[2], 12) {
				return "SVM or SKINIT visible"
			}
			if r[2] != host[2]&^(1<<2|1<<12) {
				return "other ECX bits changed"
			}
			return ""
		}},
		{0x7, 0, func(r, host [4]uint32) string {
			if r[1]&(1<<2|1<<4|1<<11) != 0 {
				return "SGX, HLE or RTM visible"
			}
			if r[3]&0xfc00_0000 != 0 {
				return "speculation-control bits visible"
			}
			return ""
		}},
		{0x0, 0, same}, {0x8000_0002, 0, same}, {0x16, 0, same},
	}
	for _, tt := range tests {
		r := e.cpuid(t, tt.leaf, tt.sub)
		if msg := tt.check(r, raw(tt.leaf, tt.sub)); msg != "" {
			t.Errorf("leaf %#x.%d = %#x (host %#x): %s", tt.leaf, tt.sub, r, raw(tt.leaf, tt.sub), msg)
		}
	}
}

func zeros(r, host [4]uint32) string {
	if host == [4]uint32{} {
		return "the test expects the host to answer"
	}
	if r != [4]uint32{} {
		return "not zeroed"
	}
	return ""
}

func same(r, host [4]uint32) string {
	if r != host {
		return "not the host's answer"
	}
	return ""
}

func TestCPUIDViewControls(t *testing.T) {
	raw := func(leaf, sub uint32) [4]uint32 {
		return [4]uint32{0xffff_ffff, 0xffff_ffff, 0xffff_ffff, 0xffff_ffff}
	}
	for _, on := range []bool{false, true} {
		c := CPUIDView{RDTSCP: on, INVPCID: on, XenLeaf0: xen.CPUIDBase}
		if got := GuestCPUID(0x8000_0001, 0, raw, c)[3]>>27&1 != 0; got != on {
			t.Errorf("RDTSCP enabled %v: CPUID.80000001H:EDX[27] = %v", on, got)
		}
		if got := GuestCPUID(7, 0, raw, c)[1]>>10&1 != 0; got != on {
			t.Errorf("INVPCID enabled %v: CPUID.7.0:EBX[10] = %v", on, got)
		}
		if got := GuestCPUID(7, 1, raw, c); got != raw(7, 1) {
			t.Errorf("leaf 7 subleaf 1 filtered: %#x", got)
		}
	}
	c := CPUIDView{APICID: 5, OSXSAVE: true, XenLeaf0: xen.CPUIDBase}
	r := GuestCPUID(1, 0, raw, c)
	if r[1]>>24 != 5 || r[1]>>16&0xff != 1 {
		t.Errorf("leaf 1 EBX %#x, want APIC ID 5, 1 logical processor", r[1])
	}
	if r[2]>>27&1 == 0 {
		t.Errorf("leaf 1 ECX %#x: OSXSAVE clear with CR4.OSXSAVE set", r[2])
	}
}

// Leaf 1 mirrors the guest's CR4.OSXSAVE at each CPUID, so it is never
// answered from the cache.
func TestCPUIDOSXSAVEFollowsCR4(t *testing.T) {
	e := newTestVCPU(t, 4)
	for i, on := range []bool{false, true, true, false, true} {
		cr4 := uint64(cr4VMXE | cr4PAE)
		if on {
			cr4 |= cr4OSXSAVE
		}
		e.vmcs.WriteNat(vmx.GuestCR4, cr4)
		r := e.cpuid(t, 1, 0)
		if got := r[2]>>27&1 != 0; got != on {
			t.Errorf("call %d: CR4.OSXSAVE %v, CPUID.1:ECX.OSXSAVE %v", i, on, got)
		}
	}
}

func TestCPUIDCache(t *testing.T) {
	e := newTestVCPU(t, 4)
	host := e.h.cpuid
	calls := map[[2]uint32]int{}
	e.h.cpuid = func(leaf, sub uint32) [4]uint32 {
		calls[[2]uint32{leaf, sub}]++
		return host(leaf, sub)
	}
	first := map[[2]uint32][4]uint32{}
	// Leaves in different slots of the direct-mapped cache.
	leaves := [][2]uint32{{0, 0}, {7, 0}, {0xd, 0}, {0xd, 1}, {0x8000_0001, 0}, {0x8000_0002, 0}, {0x16, 1}}
	for _, l := range leaves {
		first[l] = e.cpuid(t, l[0], l[1])
	}
	// Asked again, and the CPU now answering otherwise: the cached answers
	// stand, without asking the CPU.
	e.h.cpuid = func(leaf, sub uint32) [4]uint32 {
		calls[[2]uint32{leaf, sub}]++
		return [4]uint32{1, 2, 3, 4}
	}
	for _, l := range leaves {
		if got := e.cpuid(t, l[0], l[1]); got != first[l] {
			t.Errorf("leaf %#x.%d: %#x the second time, %#x the first", l[0], l[1], got, first[l])
		}
		if calls[l] != 1 {
			t.Errorf("leaf %#x.%d: the CPU was asked %d times", l[0], l[1], calls[l])
		}
	}
	if first[[2]uint32{0xd, 0}] == first[[2]uint32{0xd, 1}] {
		t.Error("subleaves 0 and 1 of leaf 0xd gave the same answer")
	}
	// Leaf 1 is never cached.
	e.cpuid(t, 1, 0)
	e.cpuid(t, 1, 0)
	if n := calls[[2]uint32{1, 0}]; n != 2 {
		t.Errorf("leaf 1: the CPU was asked %d times for 2 CPUIDs", n)
	}
	// Another vCPU has its own cache.
	other := &VCPU{Dom: e.d, hv: e.h, vmcs: fieldMap{}, ID: 1}
	other.Regs.GPR[vmx.RAX] = 0
	handleCPUID(e.h, other, vmx.ExitReasonCPUID)
	if other.Regs.GPR[vmx.RAX] != 1 {
		t.Errorf("a new vCPU got EAX %#x from another vCPU's cache", other.Regs.GPR[vmx.RAX])
	}
}

func TestCPUIDAdvance(t *testing.T) {
	e := newTestVCPU(t, 4)
	e.v.Regs.Intr = uint64(vmx.BlockingBySTI | vmx.BlockingByNMI)
	e.cpuid(t, 0, 0)
	if e.v.Regs.Intr != uint64(vmx.BlockingByNMI) || e.v.Regs.Dirty&vmx.IntrDirty == 0 {
		t.Errorf("interruptibility %#x (dirty %#x): want blocking by STI cleared, NMI blocking kept, IntrDirty",
			e.v.Regs.Intr, e.v.Regs.Dirty)
	}
	// Without blocking, the interruptibility state is not written back.
	e.v.Regs.Intr = 0
	e.cpuid(t, 0, 0)
	if e.v.Regs.Dirty&vmx.IntrDirty != 0 {
		t.Error("IntrDirty set with no blocking to clear")
	}
	// MOV SS blocking also covered only the instruction that exited.
	e.v.Regs.Intr = uint64(vmx.BlockingByMOVSS)
	e.cpuid(t, 0, 0)
	if e.v.Regs.Intr != 0 || e.v.Regs.Dirty&vmx.IntrDirty == 0 {
		t.Errorf("interruptibility %#x after MOV SS blocking", e.v.Regs.Intr)
	}
}

// Two leaves that share a slot of the direct-mapped cache evict each other
// but each still gets its own answer.
func TestCPUIDCacheCollision(t *testing.T) {
	e := newTestVCPU(t, 4)
	a, b := [2]uint32{0xd, 1}, [2]uint32{0x8000_0002, 6} // the brand string ignores the subleaf
	if vmx.CPUIDSlot(a[0], a[1]) != vmx.CPUIDSlot(b[0], b[1]) {
		t.Fatalf("the test expects leaves %#x and %#x in one slot", a, b)
	}
	want := map[[2]uint32][4]uint32{
		a: GuestCPUID(a[0], a[1], e.h.cpuid, e.h.cpuidView),
		b: GuestCPUID(b[0], b[1], e.h.cpuid, e.h.cpuidView),
	}
	if want[a] == want[b] {
		t.Fatal("the two leaves have the same answer")
	}
	for i := 0; i < 6; i++ {
		l := a
		if i%2 == 1 {
			l = b
		}
		if got := e.cpuid(t, l[0], l[1]); got != want[l] {
			t.Errorf("CPUID %#x (call %d) = %#x, want %#x", l, i, got, want[l])
		}
	}
}

// An emulated instruction ends as a real one: RIP wraps with the code size,
// RF is cleared, and a single-step trap is made pending under RFLAGS.TF.
func TestAdvanceCodeSizeAndStepFlags(t *testing.T) {
	for _, c := range []struct {
		name         string
		ia32e        bool
		csAR         uint64
		rip, wantRIP uint64
	}{
		{"64-bit code", true, 0xa09b, 0x1_0000_fffe, 0x1_0001_0000},
		{"32-bit code wraps at 4 GiB", false, 0xc09b, 0xffff_ffff, 0x1},
		{"16-bit code wraps at 64 KiB", false, 0x009b, 0xffff, 0x1},
	} {
		t.Run(c.name, func(t *testing.T) {
			e := newTestVCPU(t, 4)
			if !c.ia32e {
				e.v.entryCtls &^= vmx.EntryIA32eModeGuest
			}
			e.v.Regs.CSAccessRights = c.csAR
			e.v.Regs.RIP, e.v.Regs.InsnLen = c.rip, 2
			e.v.advance()
			if e.v.Regs.RIP != c.wantRIP {
				t.Errorf("RIP %#x after a 2-byte instruction at %#x, want %#x", e.v.Regs.RIP, c.rip, c.wantRIP)
			}
		})
	}

	e := newTestVCPU(t, 4)
	e.v.Regs.RFLAGS = rflagsTF | rflagsRF | 0x2
	e.cpuid(t, 0, 0)
	r := &e.v.Regs
	if r.RFLAGS&rflagsRF != 0 || r.RFLAGS&rflagsTF == 0 || r.Dirty&vmx.RFLAGSDirty == 0 {
		t.Errorf("RFLAGS %#x (dirty %#x) after CPUID: want RF cleared and written back, TF kept", r.RFLAGS, r.Dirty)
	}
	if r.PendingDbg&pendingDbgBS == 0 || r.Dirty&vmx.PendingDbgDirty == 0 {
		t.Errorf("pending debug exceptions %#x (dirty %#x) after CPUID under TF: no single-step trap due", r.PendingDbg, r.Dirty)
	}
	if e.v.dr[6]&dr6BS == 0 {
		t.Errorf("DR6 %#x: BS not set for the guest's #DB handler", e.v.dr[6])
	}
	// The VMCS is not touched here: the entry path writes the registers
	// into the vCPU's own VMCS (another may be current after an exit
	// handler created a domain).
	if f := e.vmcs.ReadNat(vmx.GuestPendingDbgExceptions); f != 0 {
		t.Errorf("advance wrote pending debug exceptions %#x into the current VMCS", f)
	}

	// An upcall due at the same entry waits for an interrupt window: an
	// injected event would drop the trap.
	e.v.Dom.CallbackVector = 0xf3
	e.v.UpcallPending = true
	e.v.Regs.RFLAGS |= rflagsIF // interruptible but for the trap
	e.v.deliverUpcall()
	if info := e.vmcs.Read32(vmx.VMEntryIntrInfoField); info != 0 {
		t.Errorf("injected %#x with a single-step trap due", info)
	}
	if !e.v.UpcallPending || e.v.procCtls&vmx.ProcInterruptWindowExiting == 0 {
		t.Errorf("upcall pending %v, interrupt-window exiting %v: want it kept for the window", e.v.UpcallPending, e.v.procCtls&vmx.ProcInterruptWindowExiting != 0)
	}

	// Without TF nothing is made due.
	e = newTestVCPU(t, 4)
	e.cpuid(t, 0, 0)
	if e.v.Regs.Dirty&vmx.PendingDbgDirty != 0 {
		t.Errorf("a single-step trap due without TF")
	}
}
