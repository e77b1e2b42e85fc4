//go:build tamago

package main

import (
	"encoding/binary"
	"fmt"
	"runtime"
	"strconv"
	"strings"
	"time"

	"tamavisor/abi"
	"tamavisor/domains/board"
	"tamavisor/domains/guest"
	"tamavisor/hv/grant"
	"tamavisor/x86"
	"tamavisor/xen"
)

// outside is a guest-physical address far beyond any domain's RAM.
const outside = 3 << 30

// errnoNames names the Xen errno values these checks expect.
var errnoNames = map[int64]string{
	-xen.EPERM: "EPERM", -xen.ENOENT: "ENOENT", -xen.ESRCH: "ESRCH", -xen.EFAULT: "EFAULT",
	-xen.EINVAL: "EINVAL", -xen.ENOSYS: "ENOSYS", -xen.EBUSY: "EBUSY", -xen.ENOSPC: "ENOSPC",
	-xen.E2BIG: "E2BIG",
}

func errnoName(r int64) string {
	if n, ok := errnoNames[r]; ok {
		return n
	}
	return fmt.Sprint(r)
}

// checker counts the calls whose result was not the expected one.
type checker struct {
	mode         string
	calls, wrong int
}

func (c *checker) expect(what string, got int64, want int64) {
	c.calls++
	if got == want {
		fmt.Printf("%s: %s = %s: ok\n", c.mode, what, errnoName(got))
		return
	}
	c.wrong++
	fmt.Printf("%s: %s = %s: WRONG, expected %s\n", c.mode, what, errnoName(got), errnoName(want))
}

func (c *checker) done() int {
	if c.wrong != 0 {
		fmt.Printf("%s: FAIL: %d of %d calls answered wrongly\n", c.mode, c.wrong, c.calls)
		return 1
	}
	fmt.Printf("%s: PASS: %d calls refused as expected; still running\n", c.mode, c.calls)
	return 0
}

func call(nr, a1, a2, a3 uint64) int64 { return board.Hypercall(nr, a1, a2, a3, 0, 0) }

// domctl calls every control operation as an unprivileged domain.
func domctl() int {
	c := &checker{mode: "domctl"}
	var buf [4096]byte
	p := addr(&buf[0])
	c.expect("version", call(xen.HypercallTamavisor, abi.OpVersion, 0, 0), -xen.EPERM)
	c.expect("domain_list", call(xen.HypercallTamavisor, abi.OpDomainList, p, 8), -xen.EPERM)
	create := (&abi.DomainCreate{Image: "hello", Name: "usurper", MemMiB: 16}).Encode()
	c.expect("domain_create", call(xen.HypercallTamavisor, abi.OpDomainCreate, addr(&create[0]), 0), -xen.EPERM)
	c.expect("domain_destroy(0)", call(xen.HypercallTamavisor, abi.OpDomainDestroy, 0, 0), -xen.EPERM)
	c.expect("domain_pause(0)", call(xen.HypercallTamavisor, abi.OpDomainPause, 0, 0), -xen.EPERM)
	c.expect("domain_unpause(0)", call(xen.HypercallTamavisor, abi.OpDomainUnpause, 0, 0), -xen.EPERM)
	c.expect("domain_sched(0)", call(xen.HypercallTamavisor, abi.OpDomainSched, 0, 65535), -xen.EPERM)
	c.expect("free_frames", call(xen.HypercallTamavisor, abi.OpFreeFrames, 0, 0), -xen.EPERM)
	c.expect("Xen domctl", call(xen.HypercallDomctl, p, 0, 0), -xen.ENOSYS)
	c.expect("Xen sysctl", call(xen.HypercallSysctl, p, 0, 0), -xen.ENOSYS)
	return c.done()
}

// badargs hands the hypervisor bad arguments of every kind.
func badargs() int {
	c := &checker{mode: "badargs"}
	var buf [2 * 4096]byte
	p := addr(&buf[0])

	// Pointers: translated through the caller's own EPT.
	c.expect("console_io write from outside RAM", call(xen.HypercallConsoleIO, xen.ConsoleIOWrite, 16, outside), -xen.EFAULT)
	c.expect("console_io write of 1 GiB", call(xen.HypercallConsoleIO, xen.ConsoleIOWrite, 1<<30, p), -xen.EINVAL)
	msg := []byte("badargs: this line crosses a page boundary\n")
	cross := (p+4095)&^4095 - 20
	copy(buf[cross-p:], msg)
	c.expect("console_io write across a page boundary", call(xen.HypercallConsoleIO, xen.ConsoleIOWrite, uint64(len(msg)), cross), int64(len(msg)))
	c.expect("event_channel_op(send) from outside RAM", call(xen.HypercallEventChannelOp, 4, outside, 0), -xen.EFAULT)
	c.expect("grant_table_op(map) from outside RAM", call(xen.HypercallGrantTableOp, grant.OpMapGrantRef, outside, 1), -xen.EFAULT)
	c.expect("memory_op(memory_map) to outside RAM", call(xen.HypercallMemoryOp, 9, outside, 0), -xen.EFAULT)
	c.expect("sched_op(poll) from outside RAM", call(xen.HypercallSchedOp, xen.SchedOpPoll, outside, 0), -xen.EFAULT)

	// Ports: closed, out of range, foreign.
	binary.LittleEndian.PutUint32(buf[:], 4000)
	c.expect("event_channel_op(send) to port 4000", call(xen.HypercallEventChannelOp, 4, p, 0), -xen.EINVAL)
	binary.LittleEndian.PutUint32(buf[:], 0)
	c.expect("event_channel_op(close) of port 0", call(xen.HypercallEventChannelOp, 3, p, 0), -xen.EINVAL)
	binary.LittleEndian.PutUint32(buf[:], 1<<20)
	c.expect("event_channel_op(unmask) of port 2^20", call(xen.HypercallEventChannelOp, 9, p, 0), -xen.EINVAL)
	binary.LittleEndian.PutUint16(buf[0:], 999) // struct evtchn_bind_interdomain: remote_dom
	binary.LittleEndian.PutUint32(buf[4:], 1)
	c.expect("event_channel_op(bind_interdomain) to domain 999", call(xen.HypercallEventChannelOp, 0, p, 0), -xen.ESRCH)
	c.expect("event_channel_op(99)", call(xen.HypercallEventChannelOp, 99, p, 0), -xen.ENOSYS)

	// Grants: references nobody granted, counts out of range.
	m := grant.MapGrantRef{HostAddr: 0x9000_0000, Flags: grant.MapHostMap, Ref: 100, Dom: 0}
	mb := make([]byte, grant.MapGrantRefSize)
	m.Encode(mb)
	c.expect("grant_table_op(map) hypercall", call(xen.HypercallGrantTableOp, grant.OpMapGrantRef, addr(&mb[0]), 1), 0)
	m, _ = grant.DecodeMapGrantRef(mb)
	c.calls++
	if m.Status == grant.Okay {
		c.wrong++
		fmt.Printf("badargs: map of dom0's grant 100, never granted: mapped: WRONG\n")
	} else {
		fmt.Printf("badargs: map of dom0's grant 100, never granted: %v: ok\n", m.Status)
	}
	c.expect("grant_table_op(map) count 2^31", call(xen.HypercallGrantTableOp, grant.OpMapGrantRef, p, 1<<31), -xen.EINVAL)
	c.expect("grant_table_op(99)", call(xen.HypercallGrantTableOp, 99, p, 1), -xen.ENOSYS)

	// Indices and operation numbers.
	binary.LittleEndian.PutUint16(buf[0:], xen.DomIDSelf) // struct xen_hvm_param: domid, index, value
	binary.LittleEndian.PutUint32(buf[4:], 9999)
	c.expect("hvm_op(get_param 9999)", call(xen.HypercallHVMOp, 1, p, 0), -xen.EINVAL)
	c.expect("vcpu_op(set_singleshot_timer) on vCPU 5", call(xen.HypercallVCPUOp, 8, 5, p), -xen.ENOENT)
	c.expect("memory_op(99)", call(xen.HypercallMemoryOp, 99, p, 0), -xen.ENOSYS)
	c.expect("sched_op(99)", call(xen.HypercallSchedOp, 99, p, 0), -xen.ENOSYS)
	c.expect("hypercall 50", call(50, 0, 0, 0), -xen.ENOSYS)
	c.expect("hypercall 127", call(127, 0, 0, 0), -xen.ENOSYS)
	c.expect("hypercall 4096 by VMCALL", vmcall(4096), -xen.ENOSYS)
	c.expect("hypercall 2^63 by VMCALL", vmcall(1<<63), -xen.ENOSYS)
	return c.done()
}

// storeFlood reads a missing key of the store over and over: dom0 must
// answer every request and stay up for the other domains.
func storeFlood() int {
	ev, err := guest.Events()
	if err != nil {
		fmt.Printf("storeflood: %v\n", err)
		return 1
	}
	st, err := guest.OpenStore(ev)
	if err != nil {
		fmt.Printf("storeflood: %v\n", err)
		return 1
	}
	const n = 20_000
	missing := 0
	for i := 0; i < n; i++ {
		if _, err := st.Read("no-such-key"); err != nil {
			missing++
		}
	}
	fmt.Printf("storeflood: %d requests, %d answered ENOENT\n", n, missing)
	return 0
}

// heapChurn keeps 6 MiB of 64 KiB chunks alive while it allocates 64 MiB
// in all: the garbage collector must keep the heap within the arenas the
// domain's runtime region holds (board's memory limit), or the runtime
// runs out of memory.
func heapChurn() int {
	const (
		chunk = 64 << 10
		held  = 6 << 20
		total = 64 << 20
	)
	keep := make([][]byte, held/chunk)
	var sum byte
	for i := 0; i < total/chunk; i++ {
		b := make([]byte, chunk)
		b[chunk-1] = byte(i)
		j := i % len(keep)
		if k := keep[j]; k != nil {
			sum += k[chunk-1] // the chunk it replaces is still there
		}
		keep[j] = b
	}
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	fmt.Printf("heapchurn: held %d KiB while allocating %d KiB, %d GC cycles (%d)\n", held>>10, total>>10, ms.NumGC, sum)
	return 0
}

// userCalls makes hypercalls from CPL 3: Xen refuses hypercalls from an
// HVM guest's user mode with -EPERM, whatever they are, and so must
// tamavisor, in the exit assembly's fast path (xen_version) as in Go.
func userCalls() int {
	if err := enterUserMode(); err != nil {
		fmt.Printf("usercall: %v\n", err)
		return 1
	}
	c := &checker{mode: "usercall"}
	c.expect("xen_version(XENVER_version) from CPL 3", userCall(xen.HypercallXenVersion, xen.XenVerVersion), -xen.EPERM)
	c.expect("xen_version(XENVER_pagesize) from CPL 3", userCall(xen.HypercallXenVersion, xen.XenVerPageSize), -xen.EPERM)
	c.expect("sched_op(SCHEDOP_yield) from CPL 3", userCall(xen.HypercallSchedOp, xen.SchedOpYield), -xen.EPERM)
	c.expect("console_io(write, 0 bytes) from CPL 3", userCall(xen.HypercallConsoleIO, xen.ConsoleIOWrite), -xen.EPERM)
	if r := call(xen.HypercallXenVersion, xen.XenVerVersion, 0, 0); r != xen.Version {
		fmt.Printf("usercall: back at CPL 0, xen_version = %d: WRONG\n", r)
		return 1
	}
	return c.done()
}

// regsIntact runs regsRound with a pattern from its command line's second
// word, in rounds that take turns: spinning only, a hypercall through the
// hypervisor's Go side, one the exit assembly answers.
func regsIntact(cmdline string) int {
	f := strings.Fields(cmdline)
	if len(f) != 2 {
		fmt.Println("regs: usage: regs SEED")
		return 1
	}
	_, _, ecx, _ := x86.CPUID(1, 0)
	_, ebx7, _, _ := x86.CPUID(7, 0)
	xcr0, _, _, _ := x86.CPUID(0xd, 0)
	if ecx&(1<<28) == 0 || ecx&(1<<26) == 0 || ebx7&(1<<5) == 0 || xcr0&(1<<2) == 0 {
		fmt.Println("regs: needs AVX, AVX2 (VPBROADCASTQ), XSAVE and AVX state: CPUID.1:ECX[28], CPUID.7:EBX[5], CPUID.1:ECX[26], CPUID.0DH:EAX[2]")
		return 1
	}
	// CR4.OSXSAVE enables AVX instructions (SDM Vol. 3A 2.5, 13.3); XCR0 is
	// the hypervisor's, which offers AVX state (CPUID.0DH:EAX[2]).
	x86.WriteCR4(x86.ReadCR4() | 1<<18)
	var pattern uint64 = 0x5a5a_a5a5_0000_0000
	for _, c := range f[1] {
		pattern = pattern*31 + uint64(c)
	}
	const rounds = 18
	for i := uint64(0); i < rounds; i++ {
		if bad := regsRound(pattern+i<<32, 400_000, uint8(i%3)); bad != 0 {
			fmt.Printf("regs: WRONG: round %d changed registers: %s\n", i, regNames(bad))
			return 1
		}
	}
	fmt.Printf("regs: %d rounds with pattern %#x, registers intact\n", rounds, pattern)
	return 0
}

// regNames names the registers regsRound reports changed.
func regNames(bad uint64) string {
	gpr := []string{"RAX", "RCX", "RDX", "RBX", "RSP", "RBP", "RSI", "RDI", "R8", "R9", "R10", "R11", "R12", "R13", "R14", "R15"}
	var names []string
	for n := 0; n < 16; n++ {
		if bad&(1<<n) != 0 {
			names = append(names, gpr[n])
		}
		if bad&(1<<(16+n)) != 0 {
			names = append(names, fmt.Sprintf("YMM%d", n))
		}
	}
	return strings.Join(names, " ")
}

// consoleFlood writes lines of 1000 bytes with console_io, one hypercall
// each, as fast as the hypervisor takes them, and says how long it took.
func consoleFlood(cmdline string) int {
	f := strings.Fields(cmdline)
	n, err := 0, error(nil)
	if len(f) == 2 {
		n, err = strconv.Atoi(f[1])
	}
	if len(f) != 2 || err != nil || n <= 0 {
		fmt.Println("consoleflood: usage: consoleflood N")
		return 1
	}
	line := []byte(strings.Repeat("x", 999) + "\n")
	start := time.Now()
	for i := 0; i < n; i++ {
		if r := call(xen.HypercallConsoleIO, xen.ConsoleIOWrite, uint64(len(line)), addr(&line[0])); r != int64(len(line)) {
			fmt.Printf("consoleflood: write %d = %d\n", i, r)
			return 1
		}
	}
	fmt.Printf("consoleflood: %d lines of 1000 bytes written in %d ms\n", n, time.Since(start).Milliseconds())
	return 0
}
