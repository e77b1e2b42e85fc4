package hv

import (
	"encoding/binary"
	"testing"

	"tamavisor/xen"
)

// TestRegisterVCPUInfo: VCPUOP_register_vcpu_info moves the vCPU's
// vcpu_info into the domain's own RAM, marks every selector bit and the
// upcall pending there (so nothing is lost), and refuses bad places and a
// second registration.
func TestRegisterVCPUInfo(t *testing.T) {
	e := newTestVCPU(t, 4)
	arg := func(gfn uint64, off, rsvd uint32) {
		b := binary.LittleEndian.AppendUint64(nil, gfn)
		b = binary.LittleEndian.AppendUint32(b, off)
		b = binary.LittleEndian.AppendUint32(b, rsvd)
		e.write(t, 0x4000, b)
	}
	for _, tt := range []struct {
		name      string
		gfn       uint64
		off, rsvd uint32
	}{
		{"offset leaves no room", 0x10, 4096 - 32, 0},
		{"offset not 8-aligned", 0x10, 0x44, 0},
		{"reserved field set", 0x10, 0x40, 1},
		{"frame beyond RAM", 4 << 8, 0x40, 0},
		{"frame far beyond RAM", 1 << 40, 0x40, 0},
	} {
		arg(tt.gfn, tt.off, tt.rsvd)
		if r := e.vmcall(xen.HypercallVCPUOp, xen.VCPUOpRegisterVCPUInfo, 0, 0x4000); r != einval {
			t.Errorf("%s: register_vcpu_info = %d, want %d", tt.name, r, einval)
		}
	}
	arg(0x10, 0x40, 0)
	if r := e.vmcall(xen.HypercallVCPUOp, xen.VCPUOpRegisterVCPUInfo, 0, 0x4000); r != 0 {
		t.Fatalf("register_vcpu_info = %d", r)
	}
	info := e.read(t, 0x10040, 16)
	if info[0] != 1 {
		t.Errorf("evtchn_upcall_pending = %d in the new vcpu_info, want 1", info[0])
	}
	if sel := binary.LittleEndian.Uint64(info[8:]); sel != ^uint64(0) {
		t.Errorf("evtchn_pending_sel = %#x in the new vcpu_info, want all ones", sel)
	}
	if !e.v.UpcallPending {
		t.Errorf("no upcall pending after the registration")
	}
	if r := e.vmcall(xen.HypercallVCPUOp, xen.VCPUOpRegisterVCPUInfo, 0, 0x4000); r != -xen.EBUSY {
		t.Errorf("second register_vcpu_info = %d, want %d", r, -xen.EBUSY)
	}
	e.wantRunning(t)
}
