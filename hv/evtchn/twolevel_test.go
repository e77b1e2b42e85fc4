package evtchn

import (
	"testing"
)

const pageSize = 4096

// Expected x86-64 offsets, computed from the header's field sizes
// independently of the constants.
func TestLayout(t *testing.T) {
	checks := []struct {
		name      string
		got, want int
	}{
		{"vcpu_info size", VCPUInfoSize, 1 + 1 + 6 + 8 + 16 + 32},
		{"evtchn_upcall_pending", VCPUInfoUpcallPending, 0},
		{"evtchn_upcall_mask", VCPUInfoUpcallMask, 1},
		{"evtchn_pending_sel", VCPUInfoPendingSel, 8}, // xen_ulong_t aligned to 8
		{"arch (cr2, pad)", VCPUInfoArch, 16},
		{"time", VCPUInfoTime, 32},
		{"evtchn_pending", SharedEvtchnPending, 32 * 64},
		{"evtchn_mask", SharedEvtchnMask, 32*64 + 64*8},
		{"wc_version", SharedWcVersion, 32*64 + 2*64*8},
		{"wc_sec", SharedWcSec, 3076},
		{"wc_nsec", SharedWcNsec, 3080},
		{"wc_sec_hi", SharedWcSecHi, 3084},
		{"arch_shared_info", SharedArch, 3088},
		{"ports", NumPorts, 64 * 64},
	}
	for _, c := range checks {
		if c.got != c.want {
			t.Errorf("%s: %d, want %d", c.name, c.got, c.want)
		}
	}
	if SharedArch >= pageSize {
		t.Errorf("shared_info does not fit a page")
	}
	for v := uint32(0); v < LegacyMaxVCPUs; v++ {
		vi := DefaultVCPUInfo(NewMem(pageSize), v)
		if vi.Off != int(v)*64 || vi.Page == nil {
			t.Fatalf("vCPU %d: vcpu_info at %d", v, vi.Off)
		}
	}
	if vi := DefaultVCPUInfo(NewMem(pageSize), LegacyMaxVCPUs); vi.Page != nil {
		t.Fatalf("vCPU 32 has a vcpu_info in shared_info")
	}
}

// page state helpers, reading the page as a guest would.
func pendingBit(m Mem, p Port) bool { return IsPending(m, p) }
func selBits(m Mem, v uint32) uint64 {
	return m.Load(int(v)*VCPUInfoSize + VCPUInfoPendingSel)
}
func upcallPending(m Mem, v uint32) byte {
	return m.LoadByte(int(v)*VCPUInfoSize + VCPUInfoUpcallPending)
}
func setUpcallMask(m Mem, v uint32, on bool) {
	var b byte
	if on {
		b = 1
	}
	m.StoreByte(int(v)*VCPUInfoSize+VCPUInfoUpcallMask, b)
}
func mask(m Mem, p Port) { m.Or(SharedEvtchnMask+int(p/64)*8, 1<<(p%64)) }

// guestAck is what a guest's upcall handler does for vCPU v: clear
// upcall_pending, take the selector, and clear the pending bits it finds.
// It returns the ports it found pending.
func guestAck(m Mem, v uint32) []Port {
	base := int(v) * VCPUInfoSize
	m.StoreByte(base+VCPUInfoUpcallPending, 0)
	sel := m.AndNot(base+VCPUInfoPendingSel, ^uint64(0))
	var got []Port
	for w := 0; w < 64; w++ {
		if sel&(1<<w) == 0 {
			continue
		}
		bits := m.Load(SharedEvtchnPending+w*8) &^ m.Load(SharedEvtchnMask+w*8)
		for b := 0; b < 64; b++ {
			if bits&(1<<b) != 0 {
				p := Port(w*64 + b)
				if m.AndNot(SharedEvtchnPending+w*8, 1<<b)&(1<<b) != 0 {
					got = append(got, p)
				}
			}
		}
	}
	return got
}

func TestSetPending(t *testing.T) {
	type setup func(m Mem)
	none := func(Mem) {}
	cases := []struct {
		name         string
		port         Port
		vcpu         uint32
		pre          setup
		edge, upcall bool
		wantSel      uint64 // selector after
		wantUP       byte   // upcall_pending after
	}{
		{"fresh port 1", 1, 0, none, true, true, 1 << 0, 1},
		{"fresh port 63", 63, 0, none, true, true, 1 << 0, 1},
		{"fresh port 64 (word 1)", 64, 0, none, true, true, 1 << 1, 1},
		{"fresh port 4095 (word 63)", 4095, 0, none, true, true, 1 << 63, 1},
		{"vCPU 31", 200, 31, none, true, true, 1 << 3, 1},
		{"already pending", 5, 0, func(m Mem) { m.Or(SharedEvtchnPending, 1<<5) }, false, false, 0, 0},
		{"masked", 5, 0, func(m Mem) { mask(m, 5) }, true, false, 0, 0},
		{"masked port 4095", 4095, 0, func(m Mem) { mask(m, 4095) }, true, false, 0, 0},
		{"selector word already set", 70, 0, func(m Mem) { m.Or(VCPUInfoPendingSel, 1<<1) }, true, false, 1 << 1, 0},
		{"upcall already pending", 7, 0, func(m Mem) { m.StoreByte(VCPUInfoUpcallPending, 1) }, true, false, 1, 1},
		{"upcall mask set", 7, 0, func(m Mem) { setUpcallMask(m, 0, true) }, true, false, 1, 1},
		{"other word's selector set", 7, 0, func(m Mem) { m.Or(VCPUInfoPendingSel, 1<<9) }, true, true, 1 | 1<<9, 1},
		{"beyond NumPorts", NumPorts, 0, none, false, false, 0, 0},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			m := NewMem(pageSize)
			c.pre(m)
			edge, up := SetPending(m, DefaultVCPUInfo(m, c.vcpu), c.port)
			if edge != c.edge || up != c.upcall {
				t.Fatalf("edge, upcall = %v, %v; want %v, %v", edge, up, c.edge, c.upcall)
			}
			if c.port < NumPorts && !pendingBit(m, c.port) {
				t.Errorf("pending bit not set")
			}
			if got := selBits(m, c.vcpu); got != c.wantSel {
				t.Errorf("selector %#x, want %#x", got, c.wantSel)
			}
			if got := upcallPending(m, c.vcpu); got != c.wantUP {
				t.Errorf("upcall_pending %d, want %d", got, c.wantUP)
			}
			// nothing outside the port's bit, the vCPU's selector and
			// upcall byte changed
			for w := 0; w < 64; w++ {
				want := uint64(0)
				if c.port < NumPorts && int(c.port/64) == w {
					want = 1 << (c.port % 64)
				}
				if got := m.Load(SharedEvtchnPending + w*8); got != want {
					t.Fatalf("pending word %d = %#x, want %#x", w, got, want)
				}
			}
		})
	}
}

func TestSetPendingDummyVCPUInfo(t *testing.T) {
	m := NewMem(pageSize)
	edge, up := SetPending(m, VCPUInfo{}, 9)
	if !edge || up {
		t.Fatalf("edge, upcall = %v, %v; want true, false", edge, up)
	}
	if !IsPending(m, 9) || selBits(m, 0) != 0 || upcallPending(m, 0) != 0 {
		t.Fatalf("dummy vcpu_info wrote into shared_info's vCPU 0")
	}
	if MarkEventsPending(VCPUInfo{}) {
		t.Fatalf("upcall for a dummy vcpu_info")
	}
}

func TestSetPendingElsewhere(t *testing.T) {
	// a vcpu_info registered in another page, at offset 128
	sh, other := NewMem(pageSize), NewMem(pageSize)
	vi := VCPUInfo{Page: other, Off: 128}
	if edge, up := SetPending(sh, vi, 130); !edge || !up {
		t.Fatalf("edge, upcall = %v, %v", edge, up)
	}
	if other.Load(128+VCPUInfoPendingSel) != 1<<2 || other.LoadByte(128) != 1 {
		t.Fatalf("registered vcpu_info not updated")
	}
	if selBits(sh, 2) != 0 || upcallPending(sh, 2) != 0 {
		t.Fatalf("shared_info's slot written")
	}
}

func TestUnmask(t *testing.T) {
	cases := []struct {
		name    string
		port    Port
		pre     func(m Mem)
		upcall  bool
		wantSel uint64
		wantUP  byte
	}{
		{"not masked, pending", 3, func(m Mem) { m.Or(SharedEvtchnPending, 1<<3) }, false, 0, 0},
		{"masked, not pending", 3, func(m Mem) { mask(m, 3) }, false, 0, 0},
		{"masked and pending", 3, func(m Mem) { mask(m, 3); m.Or(SharedEvtchnPending, 1<<3) }, true, 1, 1},
		{"masked and pending port 4095", 4095, func(m Mem) { mask(m, 4095); m.Or(SharedEvtchnPending+63*8, 1<<63) }, true, 1 << 63, 1},
		{"selector already set", 64, func(m Mem) {
			mask(m, 64)
			m.Or(SharedEvtchnPending+8, 1)
			m.Or(VCPUInfoPendingSel, 2)
		}, false, 2, 0},
		{"upcall mask set", 3, func(m Mem) {
			mask(m, 3)
			m.Or(SharedEvtchnPending, 1<<3)
			setUpcallMask(m, 0, true)
		}, false, 1, 1},
		{"beyond NumPorts", NumPorts, func(Mem) {}, false, 0, 0},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			m := NewMem(pageSize)
			c.pre(m)
			if up := Unmask(m, DefaultVCPUInfo(m, 0), c.port); up != c.upcall {
				t.Fatalf("upcall %v, want %v", up, c.upcall)
			}
			if c.port < NumPorts && IsMasked(m, c.port) {
				t.Errorf("still masked")
			}
			if got := selBits(m, 0); got != c.wantSel {
				t.Errorf("selector %#x, want %#x", got, c.wantSel)
			}
			if got := upcallPending(m, 0); got != c.wantUP {
				t.Errorf("upcall_pending %d, want %d", got, c.wantUP)
			}
		})
	}
}

// The edge is lost while masked (public/xen.h): a masked pending port
// gives no upcall until it is unmasked.
func TestMaskedEdgeThenUnmask(t *testing.T) {
	m := NewMem(pageSize)
	vi := DefaultVCPUInfo(m, 0)
	mask(m, 100)
	if edge, up := SetPending(m, vi, 100); !edge || up {
		t.Fatalf("masked: edge, upcall = %v, %v", edge, up)
	}
	if edge, up := SetPending(m, vi, 100); edge || up {
		t.Fatalf("second send: edge, upcall = %v, %v", edge, up)
	}
	if !Unmask(m, vi, 100) {
		t.Fatalf("unmask of a pending port gave no upcall")
	}
	if got := guestAck(m, 0); len(got) != 1 || got[0] != 100 {
		t.Fatalf("guest found %v", got)
	}
	if Unmask(m, vi, 100) {
		t.Fatalf("unmask of an unmasked port upcalled")
	}
}

func TestClearAndQuery(t *testing.T) {
	m := NewMem(pageSize)
	for _, p := range []Port{1, 63, 64, 4095} {
		SetPending(m, DefaultVCPUInfo(m, 0), p)
		if !IsPending(m, p) {
			t.Fatalf("port %d not pending", p)
		}
		ClearPending(m, p)
		if IsPending(m, p) {
			t.Fatalf("port %d still pending", p)
		}
	}
	ClearPending(m, NumPorts) // ignored
	if IsPending(m, NumPorts) || !IsMasked(m, NumPorts) {
		t.Fatalf("port beyond NumPorts: pending or unmasked")
	}
}

func TestMemBytes(t *testing.T) {
	m := NewMem(16)
	m.Or(0, 0x1122334455667788)
	m.StoreByte(1, 0xaa)
	if got := m.Load(0); got != 0x112233445566aa88 {
		t.Fatalf("word %#x", got)
	}
	for i, want := range []byte{0x88, 0xaa, 0x66, 0x55, 0x44, 0x33, 0x22, 0x11} {
		if got := m.LoadByte(i); got != want {
			t.Fatalf("byte %d = %#x, want %#x", i, got, want)
		}
	}
	if old := m.AndNot(0, 0xff); old != 0x112233445566aa88 || m.Load(0) != 0x112233445566aa00 {
		t.Fatalf("AndNot: old %#x, now %#x", old, m.Load(0))
	}
	m.StoreByte(15, 0x7f)
	if m.Load(8) != 0x7f00000000000000 {
		t.Fatalf("byte 15: %#x", m.Load(8))
	}
	defer func() {
		if recover() == nil {
			t.Fatalf("misaligned Load did not panic")
		}
	}()
	m.Load(4)
}

// EnableUpcalls clears the upcall mask and says whether an upcall waits.
func TestEnableUpcalls(t *testing.T) {
	page := NewMem(4096)
	vi := VCPUInfo{Page: page, Off: 64}
	page.StoreByte(64+VCPUInfoUpcallMask, 1)
	if EnableUpcalls(vi) || page.LoadByte(64+VCPUInfoUpcallMask) != 0 {
		t.Errorf("nothing pending: mask %d", page.LoadByte(64+VCPUInfoUpcallMask))
	}
	page.StoreByte(64+VCPUInfoUpcallPending, 1)
	if !EnableUpcalls(vi) {
		t.Error("upcall_pending set, but EnableUpcalls says none")
	}
	if EnableUpcalls(VCPUInfo{}) {
		t.Error("no vcpu_info, but an upcall")
	}
}
