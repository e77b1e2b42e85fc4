package hv

import "tamavisor/vmx"

// VMCSAccess reads and writes the fields of a vCPU's VMCS. In the
// hypervisor it is the current VMCS (hardwareVMCS); host tests give the
// exit handlers a map instead, so that they run without VT-x.
type VMCSAccess interface {
	Read16(vmx.Field16) uint16
	Read32(vmx.Field32) uint32
	Read64(vmx.Field64) uint64
	ReadNat(vmx.FieldNat) uint64
	Write16(vmx.Field16, uint16) error
	Write32(vmx.Field32, uint32) error
	Write64(vmx.Field64, uint64) error
	WriteNat(vmx.FieldNat, uint64) error
	// ReadPaging reads GUEST_CR0, GUEST_CR3, GUEST_CR4 and
	// GUEST_IA32_EFER at once (every hypercall with a pointer needs them).
	ReadPaging() (cr0, cr3, cr4, efer uint64)
}

// hardwareVMCS is the current VMCS, through VMREAD and VMWRITE.
type hardwareVMCS struct{}

func (hardwareVMCS) Read16(f vmx.Field16) uint16              { return vmx.Read16(f) }
func (hardwareVMCS) Read32(f vmx.Field32) uint32              { return vmx.Read32(f) }
func (hardwareVMCS) Read64(f vmx.Field64) uint64              { return vmx.Read64(f) }
func (hardwareVMCS) ReadNat(f vmx.FieldNat) uint64            { return vmx.ReadNat(f) }
func (hardwareVMCS) Write16(f vmx.Field16, v uint16) error    { return vmx.Write16(f, v) }
func (hardwareVMCS) Write32(f vmx.Field32, v uint32) error    { return vmx.Write32(f, v) }
func (hardwareVMCS) Write64(f vmx.Field64, v uint64) error    { return vmx.Write64(f, v) }
func (hardwareVMCS) WriteNat(f vmx.FieldNat, v uint64) error  { return vmx.WriteNat(f, v) }
func (hardwareVMCS) ReadPaging() (cr0, cr3, cr4, efer uint64) { return vmx.ReadGuestPaging() }
