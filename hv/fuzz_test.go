package hv

import (
	"encoding/binary"
	"testing"

	"tamavisor/ept"
	"tamavisor/vmx"
	"tamavisor/xen"
)

// Fuzz modes: bits of the mode argument.
const (
	fuzzPaging   = 1 << 0 // long mode, 4-level paging rooted at cr3
	fuzzNoWP     = 1 << 1 // CR0.WP clear
	fuzzUser     = 1 << 2 // CPL 3
	fuzzLA57     = 1 << 3 // CR4.LA57
	fuzzNoPAE    = 1 << 4 // 32-bit paging
	fuzzReadOnly = 1 << 5 // one guest page read-only in the EPT
	fuzzUnmapped = 1 << 6 // one guest page unmapped in the EPT
	fuzzVMCALL   = 1 << 7 // through the VMCALL exit handler
)

// xenErrnos are the errno values a hypercall may return (public/errno.h).
var xenErrnos = map[int64]bool{
	xen.EPERM: true, xen.ENOENT: true, xen.ESRCH: true, xen.EINTR: true, xen.EIO: true, xen.E2BIG: true,
	xen.EBADF: true, xen.EAGAIN: true, xen.ENOMEM: true, xen.EACCES: true, xen.EFAULT: true, xen.EBUSY: true,
	xen.EEXIST: true, xen.ENODEV: true, xen.EINVAL: true, xen.ENOSPC: true, xen.ERANGE: true, xen.ENOSYS: true,
	xen.ETIME: true, xen.EOPNOTSUPP: true,
}

// FuzzHypercall: whatever the hypercall, its arguments, the guest's memory
// and paging state, a hypercall never panics, never reaches host memory
// outside the pages the domain's EPT maps, returns a result or one of Xen's
// errnos, and leaves the domain in a consistent state.
func FuzzHypercall(f *testing.F) {
	le32 := func(v uint32) []byte { return binary.LittleEndian.AppendUint32(nil, v) }
	param := func(dom uint16, index uint32, value uint64) []byte {
		b := binary.LittleEndian.AppendUint16(nil, dom)
		b = append(b, 0, 0)
		b = binary.LittleEndian.AppendUint32(b, index)
		return binary.LittleEndian.AppendUint64(b, value)
	}
	timer := binary.LittleEndian.AppendUint64(nil, 1_000_000)
	timer = append(timer, 1, 0, 0, 0, 0, 0, 0, 0)
	// A guest page table mapping linear 0 to GPA 0 with a 1 GiB page:
	// PML4 at 0, PDPT at 0x1000.
	pml4 := make([]byte, 0x1008)
	binary.LittleEndian.PutUint64(pml4[0:], 0x1000|ptP|ptRW)
	binary.LittleEndian.PutUint64(pml4[0x1000:], 0|ptP|ptRW|ptPS)

	type seed struct {
		nr             uint64
		a0, a1, a2, a3 uint64
		a4             uint64
		mode           uint8
		cr3            uint64
		data           []byte
	}
	for _, s := range []seed{
		{nr: xen.HypercallConsoleIO, a0: xen.ConsoleIOWrite, a1: 6, a2: 0x10, data: []byte("hello\n")},
		{nr: xen.HypercallConsoleIO, a0: xen.ConsoleIOWrite, a1: 4096, a2: 0xff8, mode: fuzzPaging, data: pml4},
		{nr: xen.HypercallConsoleIO, a0: xen.ConsoleIORead, a1: 1, a2: 0},
		{nr: xen.HypercallSchedOp, a0: xen.SchedOpShutdown, a1: 0, data: le32(xen.ShutdownCrash)},
		{nr: xen.HypercallSchedOp, a0: xen.SchedOpShutdown, a1: 0x1ffe, mode: fuzzPaging | fuzzUnmapped, data: pml4},
		{nr: xen.HypercallSchedOp, a0: xen.SchedOpBlock},
		{nr: xen.HypercallSchedOp, a0: xen.SchedOpYield},
		{nr: xen.HypercallVCPUOp, a0: xen.VCPUOpSetSingleshotTimer, a1: 0, a2: 0, data: timer},
		{nr: xen.HypercallVCPUOp, a0: xen.VCPUOpStopSingleshotTimer},
		{nr: xen.HypercallHVMOp, a0: xen.HVMOpSetParam, a1: 0, data: param(xen.DomIDSelf, 0, 2<<56|0xf3)},
		{nr: xen.HypercallHVMOp, a0: xen.HVMOpGetParam, a1: 0x20, mode: fuzzPaging | fuzzReadOnly, data: pml4},
		{nr: xen.HypercallHVMOp, a0: xen.HVMOpGetParam, a1: 0xff8, mode: fuzzNoWP | fuzzPaging, cr3: 0x1000},
		{nr: xen.HypercallXenVersion, a0: xen.XenVerVersion},
		{nr: xen.HypercallTamavisor, a0: xen.TamavisorExitStatus, a1: 3},
		{nr: xen.HypercallTamavisor, a0: xen.TamavisorGuestFault, a1: 6, a3: 0x1000},
		{nr: xen.HypercallConsoleIO, a0: xen.ConsoleIOWrite, a1: 1, a2: 0xffff_8000_0000_0000, mode: fuzzPaging | fuzzLA57},
		{nr: xen.HypercallConsoleIO, a0: xen.ConsoleIOWrite, a1: 1, mode: fuzzPaging | fuzzNoPAE | fuzzUser | fuzzVMCALL},
		{nr: 99, a0: 1, a1: 2, a2: 3, a3: 4, a4: 5},
		// Event channels, grant tables, memory_op, domain control.
		{nr: xen.HypercallEventChannelOp, a0: 6, a1: 0x40, data: make([]byte, 0x48)},            // alloc_unbound
		{nr: xen.HypercallEventChannelOp, a0: 4, a1: 0x40, data: append(make([]byte, 0x40), 1)}, // send
		{nr: xen.HypercallEventChannelOp, a0: 0, a1: 0xffc, data: make([]byte, 0x1010)},         // bind_interdomain across a page
		{nr: xen.HypercallGrantTableOp, a0: 6, a1: 0x40, a2: 1, data: make([]byte, 0x50)},       // query_size
		{nr: xen.HypercallGrantTableOp, a0: 2, a1: 0x40, a2: 1, data: make([]byte, 0x60)},       // setup_table
		{nr: xen.HypercallGrantTableOp, a0: 0, a1: 0x40, a2: 3, data: make([]byte, 0x100)},      // map_grant_ref
		{nr: xen.HypercallGrantTableOp, a0: 5, a1: 0x40, a2: 2, data: make([]byte, 0x100)},      // copy
		{nr: xen.HypercallMemoryOp, a0: 9, a1: 0x40, data: make([]byte, 0x60)},                  // memory_map
		{nr: xen.HypercallMemoryOp, a0: 7, a1: 0x40, data: make([]byte, 0x60)},                  // add_to_physmap
		{nr: xen.HypercallSchedOp, a0: xen.SchedOpPoll, a1: 0x40, data: make([]byte, 0x60)},
		{nr: xen.HypercallTamavisor, a0: 9, a1: 0x40, a2: 4}, // domain_list (unprivileged)
	} {
		f.Add(s.nr, s.a0, s.a1, s.a2, s.a3, s.a4, s.mode, s.cr3, s.data)
	}

	f.Fuzz(func(t *testing.T, nr, a0, a1, a2, a3, a4 uint64, mode uint8, cr3 uint64, data []byte) {
		e := newTestVCPU(t, 2)
		size := e.d.MemSize
		if uint64(len(data)) > size {
			data = data[:size]
		}
		e.write(t, 0, data)
		if mode&fuzzPaging != 0 {
			e.longMode(cr3)
			p := e.v.paging()
			if mode&fuzzNoWP != 0 {
				e.vmcs.WriteNat(vmx.GuestCR0, p.CR0&^cr0WP)
			}
			if mode&fuzzLA57 != 0 {
				e.vmcs.WriteNat(vmx.GuestCR4, p.CR4|cr4LA57)
			}
			if mode&fuzzNoPAE != 0 {
				e.vmcs.WriteNat(vmx.GuestCR4, p.CR4&^cr4PAE)
				e.vmcs.Write64(vmx.GuestIA32EFER, 0)
			}
		}
		if mode&fuzzUser != 0 {
			e.v.Regs.SSAccessRights = ssARRing3
		}
		// The page the first pointer argument names, or the one after
		// the page tables.
		page := (a1 | a2) % size &^ (mem4K - 1)
		if mode&fuzzReadOnly != 0 {
			if err := e.d.EPT.Protect(page, mem4K, ept.RX); err != nil {
				t.Fatal(err)
			}
		}
		if mode&fuzzUnmapped != 0 {
			if err := e.d.EPT.Unmap((page+mem4K)%size, mem4K); err != nil {
				t.Fatal(err)
			}
		}

		var r int64
		if mode&fuzzVMCALL != 0 {
			r = e.vmcall(nr, a0, a1, a2, a3, a4)
			if e.d.State == DomainRunning && (e.v.Regs.RIP != testRIP+testInsnLen || uint64(r) != e.v.Regs.GPR[vmx.RAX]) {
				t.Fatalf("VMCALL returned without advancing")
			}
		} else {
			r = e.hypercall(nr, a0, a1, a2, a3, a4)
		}

		e.check(t)
		if err := e.d.EPT.Verify(); err != nil {
			t.Fatalf("the EPT changed: %v", err)
		}
		if r < 0 && !xenErrnos[-r] || r > 1<<20 {
			t.Fatalf("hypercall %d returned %d: not a result or one of Xen's errnos", nr, r)
		}
		if nr == xen.HypercallConsoleIO && a0 == xen.ConsoleIOWrite && r >= 0 && uint64(r) != a1 {
			t.Fatalf("console_io write of %d bytes returned %d", a1, r)
		}
		switch e.d.State {
		case DomainRunning:
			if e.v.State == VCPUStopped || e.d.EndReason != "" {
				t.Fatalf("running domain with vCPU %s, end reason %q", e.v.State, e.d.EndReason)
			}
		case DomainDying:
			if e.v.State != VCPUStopped || e.d.EndReason == "" {
				t.Fatalf("dying domain with vCPU %s, end reason %q", e.v.State, e.d.EndReason)
			}
		default:
			t.Fatalf("domain %s", e.d.State)
		}
		if cv := e.d.CallbackVector; cv != 0 && cv < 32 {
			t.Fatalf("callback vector %d", cv)
		}
	})
}
