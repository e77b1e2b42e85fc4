//go:build tamago

package boot

import (
	"errors"
	"fmt"
	"io"
	"runtime"
	"strings"
	"unsafe"

	"golang.org/x/sys/cpu"

	"tamavisor/boot/acpi"
	"tamavisor/boot/bootinfo"
	"tamavisor/boot/entry"
	"tamavisor/console"
	"tamavisor/mem"
	"tamavisor/svm"
	"tamavisor/vmx"
	"tamavisor/x86"
)

// Console is the serial console. Every line carries its source. Lines wait
// in a transmit queue that the hypervisor pumps as the UART takes them (hv:
// at VM exits and while idle), so that a slow line delays only the writers
// that outrun it. 256 KiB: a console_io write of 4 KiB of newlines needs
// 170 KiB.
var Console = console.NewQueued(&com1Tx{}, 256<<10, x86.Pause)

// com1Tx feeds COM1's transmitter without waiting.
type com1Tx struct {
	cr bool // '\r' of a "\r\n" sent, its '\n' not yet
}

// TryWrite writes bytes while COM1's transmit holding register is empty
// (PC16550D: LSR bit 5, THRE): with the FIFOs on (boot/entry turns them
// on; IIR bits 7:6 both set say they are), 16 bytes each time, else one.
// '\n' goes out as "\r\n".
func (u *com1Tx) TryWrite(p []byte) int {
	burst := 1
	if x86.In8(COM1+2)&0xc0 == 0xc0 {
		burst = 16
	}
	n := 0
	for n < len(p) && x86.In8(COM1+5)&0x20 != 0 {
		for room := burst; room > 0 && n < len(p); room-- {
			if p[n] == '\n' && !u.cr {
				x86.Out8(COM1, '\r')
				u.cr = true
				continue
			}
			x86.Out8(COM1, p[n])
			u.cr = false
			n++
		}
	}
	return n
}

// Start interprets the boot information, the ACPI tables and the CPU, and
// builds the frame allocator. It logs what it finds; an error is fatal and
// says why.
func Start(log *console.Logger) (*Machine, error) {
	m := &Machine{
		Dump: &Dump{
			Magic: entry.Magic(), Info: entry.Info(), Overflow: entry.Overflow(),
			Snapshot: entry.Snapshot(),
			Mem:      SparseMemory{}, CPUID: map[[2]uint32][4]uint32{}, MSR: map[uint32]uint64{},
		},
	}
	snap, err := bootinfo.ParseSnapshot(m.Dump.Snapshot)
	if err != nil {
		return nil, fmt.Errorf("boot: the snapshot of the boot information is corrupt: %w", err)
	}
	if entry.Overflow()&1 != 0 {
		log.Printf("boot: warning: some boot information did not fit the %d KiB snapshot", entry.SnapshotSize>>10)
	}
	if entry.Overflow()&2 != 0 {
		log.Printf("boot: warning: some boot information lies above 4 GiB, out of the entry code's reach")
	}
	m.Info, err = bootinfo.Parse(entry.Magic(), entry.Info(), snap)
	if err != nil {
		return nil, fmt.Errorf("boot: %w", err)
	}
	info := m.Info
	m.Options = ParseCmdline(info.Cmdline)
	loader := info.Loader
	if loader == "" {
		loader = "a loader that gave no name"
	}
	log.Printf("boot: %s from %s, command line %q", info.Protocol, loader, info.Cmdline)
	for _, w := range info.Warnings {
		log.Printf("boot: warning: %s", w)
	}

	// CPU identification comes first: the identity map's extent depends on it.
	cpuid := func(leaf, sub uint32) (a, b, c, d uint32) {
		a, b, c, d = x86.CPUID(leaf, sub)
		m.Dump.CPUID[[2]uint32{leaf, sub}] = [4]uint32{a, b, c, d}
		return
	}
	m.CPU = IdentifyCPU(cpuid)
	for _, l := range DumpedCPUIDLeaves {
		cpuid(l[0], l[1])
	}
	m.Features = features()
	log.Printf("cpu: %s", m.CPU)
	log.Printf("cpu: features: %s", strings.Join(m.Features, " "))

	// Memory.
	avail := info.AvailableRegions()
	log.Printf("memory: %d MiB available in %d regions (%s)", info.AvailableBytes()>>20, len(avail), info.MemorySource)
	for _, r := range info.MemoryMap {
		log.Printf("memory:   %s", r)
	}
	if err := CheckRegion(avail); err != nil {
		return nil, fmt.Errorf("memory: %w", err)
	}
	limit := mapAbove4G(avail, m.CPU.Pages1G, log)
	m.Phys = &mem.Phys{Limit: limit}

	// ACPI. Page 0 (the BIOS data area, where the EBDA pointer is) is read
	// from the snapshot, since the identity map leaves it out.
	low := lowMemory{snap: snap, phys: m.Phys}
	if err := m.loadACPI(low, log); err != nil {
		log.Printf("acpi: %v", err)
	}
	Emulator = m.Emulator
	if m.MADT != nil {
		enabled, online := m.MADT.CPUCount()
		m.CPUs = len(m.MADT.CPUs())
		log.Printf("cpu: %d processors (ACPI MADT: %d enabled, %d online-capable local APICs)", m.CPUs, enabled, online)
	} else {
		m.CPUs = 1
		log.Printf("cpu: processor count unknown without an ACPI MADT: assuming 1")
	}

	// Time.
	if err := m.calibrate(); err != nil {
		return nil, err
	}
	log.Printf("tsc: %d.%03d MHz, measured against %s", m.TSCHz/1_000_000, m.TSCHz/1000%1000, m.TSCSource)

	// Virtualization.
	m.virtualization(log)

	// Frames for domains.
	m.Frames, err = NewFrameAllocator(info, limit)
	if err != nil {
		return nil, fmt.Errorf("memory: %w", err)
	}
	_, dataEnd := runtime.DataRegion()
	log.Printf("memory: hypervisor region 0x%08x-0x%08x (%d MiB: image to 0x%08x, then Go heap and stack); %d frames (%d MiB) free for domains",
		RAMStart, RAMEnd, RAMSize>>20, dataEnd, m.Frames.FreeFrames(), m.Frames.FreeFrames()>>8)

	if m.Options.Has("tamavisor.dump", "boot") {
		for _, line := range m.Dump.DumpLines() {
			log.Printf("%s", line)
		}
	}
	return m, nil
}

// lowMemory reads page 0 from the snapshot and the rest from the identity map.
type lowMemory struct {
	snap io.ReaderAt
	phys io.ReaderAt
}

func (l lowMemory) ReadAt(p []byte, off int64) (int, error) {
	if off < mem.PageSize {
		return l.snap.ReadAt(p, off)
	}
	return l.phys.ReadAt(p, off)
}

func (m *Machine) loadACPI(low io.ReaderAt, log *console.Logger) error {
	tables, err := LoadACPI(m.Info, low, m.Dump.Mem)
	if err != nil {
		return err
	}
	rsdp := tables.RSDP
	m.ACPI = tables
	var sigs []string
	for _, t := range tables.List {
		sigs = append(sigs, t.Signature)
	}
	m.Emulator = tables.OEMID() == acpi.OEMIDBochs
	log.Printf("acpi: OEM %q, revision %d, %s, tables %s%s", tables.OEMID(), rsdp.Revision, tables.Root, strings.Join(sigs, " "),
		map[bool]string{true: " (an emulator: QEMU or Bochs)", false: ""}[m.Emulator])
	for _, w := range tables.Warnings {
		log.Printf("acpi: warning: %s", w)
	}
	if m.MADT, err = tables.MADT(); err != nil {
		log.Printf("acpi: %v", err)
	}
	if m.FADT, err = tables.FADT(); err != nil {
		log.Printf("acpi: %v", err)
	} else {
		if a, b, err := tables.S5(); err != nil {
			log.Printf("acpi: no soft-off (S5) state: %v", err)
		} else {
			fadt := m.FADT
			SetACPIPowerOff(func() error { return acpiS5(fadt, a, b) })
		}
	}
	return nil
}

func (m *Machine) calibrate() error {
	var tried []string
	if tscHz != 0 {
		m.TSCHz, m.TSCSource = tscHz, tscSource
		return nil
	}
	tried = append(tried, "no PIT answered (channel 2 through port 0x61, nor channel 0 read back)")
	if m.FADT != nil && m.FADT.PMTimerPort != 0 {
		if hz, ok := calibratePMTimer(m.FADT.PMTimerPort, m.FADT.PMTimer32Bit); ok {
			setTSC(hz, fmt.Sprintf("the ACPI PM timer (port %#x)", m.FADT.PMTimerPort))
			m.TSCHz, m.TSCSource = tscHz, tscSource
			return nil
		}
		tried = append(tried, fmt.Sprintf("the ACPI PM timer at port %#x does not count", m.FADT.PMTimerPort))
	} else {
		tried = append(tried, "ACPI describes no PM timer")
	}
	if hz, ok := m.CPU.TSCFromCPUID(); ok {
		setTSC(hz, "CPUID leaf 0x15")
		m.TSCHz, m.TSCSource = tscHz, tscSource
		return nil
	}
	tried = append(tried, "CPUID leaf 0x15 does not enumerate the crystal")
	return errors.New("tsc: cannot calibrate the TSC: " + strings.Join(tried, ", "))
}

// calibratePMTimer measures the TSC against the ACPI PM timer, which counts
// at 3.579545 MHz (ACPI 6.5 §4.8.3.3 "Power Management Timer"), for 50 ms.
func calibratePMTimer(port uint16, wide bool) (uint64, bool) {
	const pmHz = 3_579_545
	mask := uint32(0xff_ffff)
	if wide {
		mask = 0xffff_ffff
	}
	const ticks = pmHz / 20
	a := x86.In32(port) & mask
	t0 := x86.RDTSC()
	for i := 0; i < 100_000_000; i++ {
		if d := (x86.In32(port) - a) & mask; d >= ticks {
			t1 := x86.RDTSC()
			return (t1 - t0) * pmHz / uint64(d), true
		}
	}
	return 0, false
}

// features names the CPU features that matter to a hypervisor, as
// golang.org/x/sys/cpu reports them.
func features() []string {
	var out []string
	for _, f := range []struct {
		name string
		has  bool
	}{
		{"sse3", cpu.X86.HasSSE3}, {"ssse3", cpu.X86.HasSSSE3}, {"sse4.1", cpu.X86.HasSSE41},
		{"sse4.2", cpu.X86.HasSSE42}, {"popcnt", cpu.X86.HasPOPCNT}, {"aes", cpu.X86.HasAES},
		{"pclmulqdq", cpu.X86.HasPCLMULQDQ}, {"avx", cpu.X86.HasAVX}, {"avx2", cpu.X86.HasAVX2},
		{"avx512f", cpu.X86.HasAVX512F}, {"bmi1", cpu.X86.HasBMI1}, {"bmi2", cpu.X86.HasBMI2},
		{"erms", cpu.X86.HasERMS}, {"fma", cpu.X86.HasFMA}, {"rdrand", cpu.X86.HasRDRAND},
		{"rdseed", cpu.X86.HasRDSEED}, {"adx", cpu.X86.HasADX}, {"osxsave", cpu.X86.HasOSXSAVE},
	} {
		if f.has {
			out = append(out, f.name)
		}
	}
	return out
}

func (m *Machine) virtualization(log *console.Logger) {
	rd := func(msr uint32) (uint64, error) {
		v := x86.ReadMSR(msr)
		m.Dump.MSR[msr] = v
		return v, nil
	}
	var fc uint64
	var fcErr error
	if m.CPU.VMX {
		// IA32_FEATURE_CONTROL exists when CPUID reports VMX or SMX (SDM Vol. 4 Table 2-2).
		fc, fcErr = rd(vmx.MSRFeatureControl)
	}
	m.VMXStatus, _, m.VMXMessage = vmx.FeatureControlState(m.CPU.VMX, fc, fcErr)
	log.Printf("vmx: %s", m.VMXMessage)
	if m.VMXStatus == vmx.StatusEnabled || m.VMXStatus == vmx.StatusUnlocked {
		caps, err := vmx.ReadCaps(rd)
		if err != nil {
			log.Printf("vmx: cannot read the VMX capabilities: %v", err)
		} else {
			m.VMX = caps
			log.Printf("vmx: %s", caps.Summary())
		}
	}
	if m.CPU.SVM {
		var a [4]uint32
		a[0], a[1], a[2], a[3] = x86.CPUID(0x8000_000a, 0)
		// VM_CR exists when CPUID reports SVM (AMD APM Vol. 2 §15.30.1).
		vmcr, err := rd(svm.MSRVMCR)
		m.SVM = svm.Decode(true, a, vmcr, err)
		log.Printf("svm: %s; %s", m.SVM.Summary(), m.SVM.Message())
	} else {
		log.Printf("svm: not present (CPUID.80000001H:ECX.SVM[bit 2] = 0)")
	}
}

// mapAbove4G extends the identity map past 4 GiB with 1 GiB pages up to the
// top of available RAM (at most 512 GiB, one PDPT), and returns the end of
// the identity map. Without 1 GiB pages (CPUID.80000001H:EDX.Page1GB) it
// stays at 4 GiB and says what is left out.
func mapAbove4G(avail []bootinfo.Region, pages1G bool, log *console.Logger) uint64 {
	const fourG = 4 << 30
	var top uint64
	for _, r := range avail {
		top = max(top, r.End())
	}
	if top <= fourG {
		return fourG
	}
	if !pages1G {
		log.Printf("memory: warning: RAM above 4 GiB (up to 0x%x) is left unused: this CPU has no 1 GiB pages to map it", top)
		return fourG
	}
	limit := min((top+(1<<30)-1)&^(1<<30-1), 512<<30)
	// PDPT entry i maps [i GiB, i+1 GiB): P, RW, PS (SDM Vol. 3A Table 4-16).
	pdpt := unsafe.Slice((*uint64)(physPointer(entry.PML4()+0x1000)), 512)
	for i := uint64(4); i < limit>>30; i++ {
		pdpt[i] = i<<30 | 0x83
	}
	x86.WriteCR3(x86.ReadCR3())
	return limit
}

// physPointer turns an identity-mapped physical address into a pointer.
func physPointer(addr uint64) unsafe.Pointer {
	return *(*unsafe.Pointer)(unsafe.Pointer(&addr))
}
