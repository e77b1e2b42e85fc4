package vmx

import (
	"errors"
	"fmt"
)

// Accessors of the current VMCS (the one the last VMPTRLD loaded). A read
// of a field this CPU does not support is a bug in tamavisor, not a guest's
// doing, so reads panic with the field's name; writes return errors, which
// the setup code collects with a Writer.

func read(enc uint32) uint64 {
	v, st := vmread(enc)
	if st != VMsucceed {
		readFailed(enc, st)
	}
	return v
}

// readFailed panics for read, out of line so that read and its callers
// inline: the exit path reads fields on every hypercall.
//
//go:noinline
func readFailed(enc uint32, st Outcome) {
	panic(fmt.Sprintf("vmx: VMREAD %s: %v", FieldName(enc), instructionFailure(st)))
}

func write(enc uint32, v uint64) error {
	if st := vmwrite(enc, v); st != VMsucceed {
		return writeFailed(enc, v, st)
	}
	return nil
}

//go:noinline
func writeFailed(enc uint32, v uint64, st Outcome) error {
	return fmt.Errorf("vmx: VMWRITE %s = %#x: %w", FieldName(enc), v, instructionFailure(st))
}

// instructionFailure describes a failed VMX instruction: VMfailValid carries
// an error number in VM_INSTRUCTION_ERROR (SDM Vol. 3C 31.4 "VM Instruction
// Error Numbers").
func instructionFailure(st Outcome) error {
	if st == VMfailValid {
		if v, st2 := vmread(uint32(VMInstructionError)); st2 == VMsucceed {
			return InstructionError(v)
		}
	}
	return errors.New(st.String())
}

// ReadGuestPaging reads the guest's paging registers (GUEST_CR0, GUEST_CR3,
// GUEST_CR4, GUEST_IA32_EFER) from the current VMCS: one call where four
// reads through Go would cost a few hundred instructions per hypercall.
func ReadGuestPaging() (cr0, cr3, cr4, efer uint64) { return readGuestPaging() }

// Read16 reads a 16-bit field of the current VMCS.
func Read16(f Field16) uint16 { return uint16(read(uint32(f))) }

// Read32 reads a 32-bit field of the current VMCS.
func Read32(f Field32) uint32 { return uint32(read(uint32(f))) }

// Read64 reads a 64-bit field of the current VMCS.
func Read64(f Field64) uint64 { return read(uint32(f)) }

// ReadNat reads a natural-width field of the current VMCS.
func ReadNat(f FieldNat) uint64 { return read(uint32(f)) }

// Write16 writes a 16-bit field of the current VMCS.
func Write16(f Field16, v uint16) error { return write(uint32(f), uint64(v)) }

// Write32 writes a 32-bit field of the current VMCS.
func Write32(f Field32, v uint32) error { return write(uint32(f), uint64(v)) }

// Write64 writes a 64-bit field of the current VMCS.
func Write64(f Field64, v uint64) error { return write(uint32(f), v) }

// WriteNat writes a natural-width field of the current VMCS.
func WriteNat(f FieldNat, v uint64) error { return write(uint32(f), v) }

// Writer writes fields of the current VMCS and keeps the first error, so
// that a setup sequence reads as one write per line.
type Writer struct{ Err error }

// W16 writes a 16-bit field.
func (w *Writer) W16(f Field16, v uint16) {
	if w.Err == nil {
		w.Err = Write16(f, v)
	}
}

// W32 writes a 32-bit field.
func (w *Writer) W32(f Field32, v uint32) {
	if w.Err == nil {
		w.Err = Write32(f, v)
	}
}

// W64 writes a 64-bit field.
func (w *Writer) W64(f Field64, v uint64) {
	if w.Err == nil {
		w.Err = Write64(f, v)
	}
}

// WNat writes a natural-width field.
func (w *Writer) WNat(f FieldNat, v uint64) {
	if w.Err == nil {
		w.Err = WriteNat(f, v)
	}
}

// VMCS is one virtual-machine control structure: a 4 KiB frame that the CPU
// owns while it is current.
type VMCS struct {
	// PA is the physical address of the VMCS region.
	PA uint64
	// Launched tells whether VMLAUNCH has succeeded since the last
	// VMCLEAR: the next entry is then VMRESUME (SDM Vol. 3C 25.11.3).
	Launched bool
}

// Clear makes the VMCS inactive and not launched, writing its state back
// to memory (VMCLEAR).
func (v *VMCS) Clear() error {
	if st := vmclear(v.PA); st != VMsucceed {
		return fmt.Errorf("vmx: VMCLEAR 0x%x: %w", v.PA, instructionFailure(st))
	}
	v.Launched = false
	return nil
}

// Load makes the VMCS the current one (VMPTRLD).
func (v *VMCS) Load() error {
	if st := vmptrld(v.PA); st != VMsucceed {
		return fmt.Errorf("vmx: VMPTRLD 0x%x: %w", v.PA, instructionFailure(st))
	}
	return nil
}

// EntryError is a VM entry that failed before the guest ran: VMLAUNCH or
// VMRESUME ended with VMfail (a bad control or host-state field, SDM Vol. 3C
// 27.2). Checks of the guest state fail differently: as a VM exit with
// reason 33 or 34 (27.3).
type EntryError struct {
	Instruction string // "VMLAUNCH" or "VMRESUME"
	Err         error  // an InstructionError when the CPU gave a number
}

func (e *EntryError) Error() string { return fmt.Sprintf("%s failed: %v", e.Instruction, e.Err) }
func (e *EntryError) Unwrap() error { return e.Err }

// Run enters the guest of v, which must be current, and returns at the next
// VM exit (VMsucceed), or at once when the entry fails (see EntryFailure).
// It is small enough to be inlined in the exit loop.
func Run(v *VMCS, regs *GuestRegs) Outcome {
	st := vmrun(regs, v.Launched)
	if st == VMsucceed {
		v.Launched = true
	}
	return st
}

// EntryFailure describes a failed VM entry of v: which instruction failed
// and why (the VM-instruction error number, when the CPU gave one). When it
// was a fast path's VMRESUME (regs.Fast counts exits they answered), the
// launch had worked and RIP moved: both are brought up to date first.
func (v *VMCS) EntryFailure(regs *GuestRegs, st Outcome) error {
	if regs.Fast() != 0 {
		v.Launched = true
		regs.RIP = ReadNat(GuestRIP)
	}
	insn := "VMLAUNCH"
	if v.Launched {
		insn = "VMRESUME"
	}
	return &EntryError{Instruction: insn, Err: instructionFailure(st)}
}

// INVEPT types (SDM Vol. 3C 32.3 "INVEPT").
const (
	inveptSingleContext = 1
	inveptAllContext    = 2
)

// InvalidateEPT flushes the cached translations derived from one EPT
// hierarchy (single-context INVEPT), or all of them when the CPU lacks the
// single-context type.
func (p *Processor) InvalidateEPT(eptp uint64) error {
	typ := uint64(inveptSingleContext)
	if !p.Caps.HasINVEPTSingle() {
		typ = inveptAllContext
	}
	if st := invept(typ, eptp); st != VMsucceed {
		return fmt.Errorf("vmx: INVEPT type %d, EPTP %#x: %w", typ, eptp, instructionFailure(st))
	}
	return nil
}

// InvalidateVPID flushes the linear translations tagged with a VPID
// (single-context INVVPID, SDM Vol. 3C 32.3 "INVVPID").
func (p *Processor) InvalidateVPID(vpid uint16) error {
	if vpid == 0 {
		return nil
	}
	if st := invvpid(1, uint64(vpid), 0); st != VMsucceed {
		return fmt.Errorf("vmx: INVVPID single context, VPID %d: %w", vpid, instructionFailure(st))
	}
	return nil
}
