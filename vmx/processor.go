package vmx

import (
	"encoding/binary"
	"fmt"

	"tamavisor/mem"
	"tamavisor/x86"
)

// Frames hands out and takes back 4 KiB physical frames (mem.Allocator).
type Frames interface {
	Alloc() (uint64, error)
	Free(addr uint64) error
}

// Processor is one physical CPU in VMX root operation.
type Processor struct {
	Caps     *Caps
	Controls ControlSet
	// Log lists what Enable changed, for the console.
	Log []string

	frames Frames
	phys   *mem.Phys
	vmxon  uint64

	host      hostState
	hostXSave uint64 // the clean FPU state the host gets back after each exit
	// XSaveMask is the XCR0 that XSAVE/XRSTOR use (0: FXSAVE/FXRSTOR).
	XSaveMask uint64
	// XSaveSize is the size of an XSAVE area for XSaveMask.
	XSaveSize int
}

// hostState is what VM exits load (SDM Vol. 3C 28.5 "Loading Host State").
type hostState struct {
	cr0, cr3, cr4          uint64
	fsBase, gsBase         uint64
	gdtrBase, idtrBase     uint64
	trBase                 uint64
	efer, pat              uint64
	cs, ss, ds, es, fs, gs uint16
	tr                     uint16
}

// Architectural MSRs (SDM Vol. 4 Table 2-2).
const (
	msrEFER   = 0xc000_0080
	msrFSBase = 0xc000_0100
	msrGSBase = 0xc000_0101
	msrPAT    = 0x277
)

const (
	cr4VMXE    = 1 << 13
	cr4OSXSAVE = 1 << 18
	trSelector = 0x18 // boot/entry's GDT keeps 0x18-0x27 for a 64-bit TSS
)

// Enable puts this CPU into VMX root operation (SDM Vol. 3C 24.7 "Enabling
// and Entering VMX Operation"): IA32_FEATURE_CONTROL, the CR0/CR4 fixed
// bits, CR4.VMXE, a VMXON region, and the host state VM exits return to. It
// also enables XSAVE for the guests' FPU/SSE/AVX state.
func Enable(caps *Caps, frames Frames, phys *mem.Phys) (*Processor, error) {
	if err := caps.Usable(); err != nil {
		return nil, err
	}
	p := &Processor{Caps: caps, frames: frames, phys: phys}
	var err error
	if p.Controls, err = caps.DomainControls(); err != nil {
		return nil, err
	}

	// IA32_FEATURE_CONTROL: the firmware may leave it unlocked.
	fc := x86.ReadMSR(MSRFeatureControl)
	st, w, msg := FeatureControlState(true, fc, nil)
	switch st {
	case StatusEnabled:
	case StatusUnlocked:
		x86.WriteMSR(MSRFeatureControl, w)
		p.Log = append(p.Log, msg)
	default:
		return nil, fmt.Errorf("vmx: %s", msg)
	}

	// CR0 and CR4 must honour IA32_VMX_CR*_FIXED* in VMX operation.
	fix := caps.FixCRs(x86.ReadCR0(), x86.ReadCR4()|cr4VMXE)
	if !fix.OK() {
		p.Log = append(p.Log, "control registers: "+fix.String())
	}
	x86.WriteCR0(fix.CR0)
	x86.WriteCR4(fix.CR4)

	if err := p.enableXSAVE(); err != nil {
		return nil, err
	}

	// VMXON region: a 4 KiB frame whose first 31 bits hold the VMCS
	// revision identifier (SDM Vol. 3C 25.11.5).
	if p.vmxon, err = p.newRegion(); err != nil {
		return nil, err
	}
	if st := vmxon(p.vmxon); st != VMsucceed {
		return nil, fmt.Errorf("vmx: VMXON failed (%v): is VMX already on, or A20 masked?", st)
	}

	if err := p.installTSS(); err != nil {
		return nil, fmt.Errorf("vmx: the host TSS descriptor: %w", err)
	}
	p.captureHost()
	return p, nil
}

// newRegion allocates a zeroed frame holding the VMCS revision identifier.
func (p *Processor) newRegion() (uint64, error) {
	pa, err := p.frames.Alloc()
	if err != nil {
		return 0, fmt.Errorf("vmx: no frame for a VMX region: %w", err)
	}
	b, err := p.phys.Slice(pa, mem.PageSize)
	if err != nil {
		return 0, err
	}
	clear(b)
	binary.LittleEndian.PutUint32(b, p.Caps.Basic.Revision())
	return pa, nil
}

// NewVMCS allocates and clears a VMCS (SDM Vol. 3C 25.11.3: VMCLEAR before
// the first VMPTRLD).
func (p *Processor) NewVMCS() (*VMCS, error) {
	pa, err := p.newRegion()
	if err != nil {
		return nil, err
	}
	v := &VMCS{PA: pa}
	if err := v.Clear(); err != nil {
		p.frames.Free(pa)
		return nil, err
	}
	return v, nil
}

// FreeVMCS clears a VMCS and gives its frame back.
func (p *Processor) FreeVMCS(v *VMCS) error {
	if err := v.Clear(); err != nil {
		return err
	}
	return p.frames.Free(v.PA)
}

// XSAVE state components tamavisor switches (SDM Vol. 1 13.1): x87, SSE,
// AVX, and AVX-512's opmask, ZMM_Hi256 and Hi16_ZMM when present.
const xcr0Switched = 1<<0 | 1<<1 | 1<<2 | 1<<5 | 1<<6 | 1<<7

// enableXSAVE turns on CR4.OSXSAVE and XCR0 for the state components the
// CPU has, and records the host's clean FPU state. Without XSAVE the guests'
// state is switched with FXSAVE/FXRSTOR.
func (p *Processor) enableXSAVE() error {
	_, _, ecx, _ := x86.CPUID(1, 0)
	area, err := p.frames.Alloc()
	if err != nil {
		return fmt.Errorf("vmx: no frame for the host FPU state: %w", err)
	}
	p.hostXSave = area
	if ecx&(1<<26) == 0 { // CPUID.1:ECX.XSAVE
		p.XSaveSize = 512
		fpuInit()
		fxsave(uintptr(area))
		return nil
	}
	x86.WriteCR4(x86.ReadCR4() | cr4OSXSAVE)
	supported, _, _, edx := x86.CPUID(0xd, 0) // CPUID.(EAX=0DH,ECX=0): EDX:EAX = XCR0 bits supported
	mask := (uint64(edx)<<32 | uint64(supported)) & xcr0Switched
	if mask&0b110 == 0b100 { // AVX needs SSE (SDM Vol. 1 13.3)
		mask &^= 0b100
	}
	x86.XSETBV(0, mask)
	_, size, _, _ := x86.CPUID(0xd, 0) // EBX: the XSAVE area size for the XCR0 now set
	if size > mem.PageSize {
		return fmt.Errorf("vmx: the XSAVE area for XCR0 %#x needs %d bytes, more than a page", mask, size)
	}
	p.XSaveMask, p.XSaveSize = mask, int(size)
	if err := p.phys.Zero(area, mem.PageSize); err != nil {
		return err
	}
	fpuInit()
	xsave(uintptr(area), mask)
	p.Log = append(p.Log, fmt.Sprintf("XSAVE on: XCR0 %#x, %d-byte areas", mask, size))
	return nil
}

// NewFPUArea returns a frame holding a guest's initial FPU state: x87
// control word 0x37F and MXCSR 0x1F80, the power-up values (SDM Vol. 1
// 8.1.5, 10.2.3.1), with the XSAVE header saying every component is in its
// initial state.
func (p *Processor) NewFPUArea() (uint64, error) {
	pa, err := p.frames.Alloc()
	if err != nil {
		return 0, err
	}
	b, err := p.phys.Slice(pa, mem.PageSize)
	if err != nil {
		return 0, err
	}
	clear(b)
	binary.LittleEndian.PutUint16(b[0:], 0x37f)   // FCW
	binary.LittleEndian.PutUint32(b[24:], 0x1f80) // MXCSR
	return pa, nil
}

// FreeFPUArea gives a guest's FPU area back.
func (p *Processor) FreeFPUArea(pa uint64) error { return p.frames.Free(pa) }

// Regs returns a GuestRegs wired to this processor's FPU switching and to
// the guest's FPU area.
func (p *Processor) Regs(fpuArea uint64) GuestRegs {
	return GuestRegs{GuestXSave: uintptr(fpuArea), HostXSave: uintptr(p.hostXSave), XSaveMask: p.XSaveMask,
		TimerShift: uint64(p.Caps.PreemptionTimerShift())}
}

// captureHost records the host state VM exits load.
func (p *Processor) captureHost() {
	h := &p.host
	h.cr0, h.cr3, h.cr4 = x86.ReadCR0(), x86.ReadCR3(), x86.ReadCR4()
	h.fsBase, h.gsBase = x86.ReadMSR(msrFSBase), x86.ReadMSR(msrGSBase)
	h.gdtrBase, _ = x86.SGDT()
	h.idtrBase, _ = x86.SIDT()
	h.trBase = tssBase()
	h.efer, h.pat = x86.ReadMSR(msrEFER), x86.ReadMSR(msrPAT)
	h.cs, h.ss, h.ds, h.es, h.fs, h.gs = x86.Segments()
	h.tr = x86.STR()
}

// WriteHostState writes the host-state area of the current VMCS (SDM Vol.
// 3C 25.5). A host selector must have RPL 0 and TI 0 (27.2.3).
func (p *Processor) WriteHostState(w *Writer) {
	h := &p.host
	w.WNat(HostCR0, h.cr0)
	w.WNat(HostCR3, h.cr3)
	w.WNat(HostCR4, h.cr4)
	w.W16(HostCSSelector, h.cs&^7)
	w.W16(HostSSSelector, h.ss&^7)
	w.W16(HostDSSelector, h.ds&^7)
	w.W16(HostESSelector, h.es&^7)
	w.W16(HostFSSelector, h.fs&^7)
	w.W16(HostGSSelector, h.gs&^7)
	w.W16(HostTRSelector, h.tr&^7)
	w.WNat(HostFSBase, h.fsBase)
	w.WNat(HostGSBase, h.gsBase)
	w.WNat(HostTRBase, h.trBase)
	w.WNat(HostGDTRBase, h.gdtrBase)
	w.WNat(HostIDTRBase, h.idtrBase)
	w.W32(HostIA32SysenterCS, 0)
	w.WNat(HostIA32SysenterESP, 0)
	w.WNat(HostIA32SysenterEIP, 0)
	w.W64(HostIA32EFER, h.efer)
	if p.Controls.Exit&ExitLoadPAT != 0 {
		w.W64(HostIA32PAT, h.pat)
	}
	w.WNat(HostRIP, uint64(vmexitAddr()))
	// HOST_RSP is written by vmrun before each entry: goroutine stacks move.
}

// HostFSBase returns the host's FS base (the Go runtime's TLS), which VM
// exits restore.
func (p *Processor) HostFSBase() uint64 { return p.host.fsBase }
