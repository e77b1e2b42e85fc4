package evtchn

import (
	"bytes"
	"testing"

	"tamavisor/xen"
)

func TestOpNumbers(t *testing.T) {
	// public/event_channel.h
	want := map[string][2]int{
		"bind_interdomain": {OpBindInterdomain, 0},
		"bind_virq":        {OpBindVIRQ, 1},
		"bind_pirq":        {OpBindPIRQ, 2},
		"close":            {OpClose, 3},
		"send":             {OpSend, 4},
		"status":           {OpStatus, 5},
		"alloc_unbound":    {OpAllocUnbound, 6},
		"bind_ipi":         {OpBindIPI, 7},
		"bind_vcpu":        {OpBindVCPU, 8},
		"unmask":           {OpUnmask, 9},
		"reset":            {OpReset, 10},
		"init_control":     {OpInitControl, 11},
		"expand_array":     {OpExpandArray, 12},
		"set_priority":     {OpSetPriority, 13},
	}
	for name, v := range want {
		if v[0] != v[1] {
			t.Errorf("EVTCHNOP_%s = %d, want %d", name, v[0], v[1])
		}
	}
	if DomIDSelf != 0x7ff0 || NumVIRQs != 24 || VIRQArch0 != 16 {
		t.Errorf("DOMID_SELF %#x, NR_VIRQS %d, VIRQ_ARCH_0 %d", DomIDSelf, NumVIRQs, VIRQArch0)
	}
}

func TestVIRQKinds(t *testing.T) {
	for v := uint32(0); v < NumVIRQs; v++ {
		want := VIRQGlobal
		switch v {
		case 0, 1, 7, 13:
			want = VIRQPerVCPU
		case 11:
			want = VIRQPerDomain
		}
		if got := KindOfVIRQ(v); got != want {
			t.Errorf("VIRQ %d: kind %d, want %d", v, got, want)
		}
	}
}

// Golden encodings: the exact bytes a C compiler lays out for each struct
// of public/event_channel.h on x86-64 (little-endian, 4-byte alignment,
// 2 bytes of padding after a leading domid_t).
func TestEncodingGolden(t *testing.T) {
	cases := []struct {
		name   string
		size   int
		encode func([]byte) error
		want   []byte
	}{
		{"alloc_unbound", AllocUnboundSize,
			AllocUnboundArgs{Dom: 0x0102, RemoteDom: 0x0304, Port: 0x05060708}.Encode,
			[]byte{2, 1, 4, 3, 8, 7, 6, 5}},
		{"bind_interdomain", BindInterdomainSize,
			BindInterdomainArgs{RemoteDom: 0x0102, RemotePort: 0x03040506, LocalPort: 0x0708090a}.Encode,
			[]byte{2, 1, 0, 0, 6, 5, 4, 3, 0xa, 9, 8, 7}},
		{"bind_virq", BindVIRQSize,
			BindVIRQArgs{VIRQ: 1, VCPU: 2, Port: 3}.Encode,
			[]byte{1, 0, 0, 0, 2, 0, 0, 0, 3, 0, 0, 0}},
		{"bind_ipi", BindIPISize,
			BindIPIArgs{VCPU: 0x11, Port: 0x22}.Encode,
			[]byte{0x11, 0, 0, 0, 0x22, 0, 0, 0}},
		{"close/send/unmask", CloseSize,
			PortArgs{Port: 0x0a0b0c0d}.Encode,
			[]byte{0xd, 0xc, 0xb, 0xa}},
		{"bind_vcpu", BindVCPUSize,
			BindVCPUArgs{Port: 5, VCPU: 6}.Encode,
			[]byte{5, 0, 0, 0, 6, 0, 0, 0}},
		{"status unbound", StatusSize,
			StatusArgs{Dom: 0x7ff0, Port: 9, Status: StateUnbound, VCPU: 1, RemoteDom: 0x0203}.Encode,
			[]byte{0xf0, 0x7f, 0, 0, 9, 0, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0, 3, 2, 0, 0, 0, 0, 0, 0}},
		{"status interdomain", StatusSize,
			StatusArgs{Dom: 1, Port: 2, Status: StateInterdomain, VCPU: 3, RemoteDom: 4, RemotePort: 0x0506}.Encode,
			[]byte{1, 0, 0, 0, 2, 0, 0, 0, 2, 0, 0, 0, 3, 0, 0, 0, 4, 0, 0, 0, 6, 5, 0, 0}},
		{"status virq", StatusSize,
			StatusArgs{Dom: 1, Port: 2, Status: StateVIRQ, IRQ: 0x10}.Encode,
			[]byte{1, 0, 0, 0, 2, 0, 0, 0, 4, 0, 0, 0, 0, 0, 0, 0, 0x10, 0, 0, 0, 0, 0, 0, 0}},
		{"status closed", StatusSize,
			StatusArgs{Dom: 1, Port: 2, Status: StateClosed, RemoteDom: 9, IRQ: 9}.Encode,
			[]byte{1, 0, 0, 0, 2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if len(c.want) != c.size {
				t.Fatalf("golden has %d bytes, size constant %d", len(c.want), c.size)
			}
			b := bytes.Repeat([]byte{0xee}, c.size)
			if err := c.encode(b); err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(b, c.want) {
				t.Fatalf("encoded % x\nwant      % x", b, c.want)
			}
			if err := c.encode(make([]byte, c.size-1)); Errno(err) != xen.EFAULT {
				t.Fatalf("short buffer: %v", err)
			}
		})
	}
}

func TestRoundTrip(t *testing.T) {
	buf := make([]byte, 64)
	check := func(name string, size int, err error, same bool) {
		t.Helper()
		if err != nil || !same {
			t.Errorf("%s (%d bytes): round trip failed (err %v)", name, size, err)
		}
	}
	au := AllocUnboundArgs{Dom: xen.DomIDSelf, RemoteDom: 7, Port: 4095}
	au.Encode(buf)
	au2, err := DecodeAllocUnbound(buf[:AllocUnboundSize])
	check("alloc_unbound", AllocUnboundSize, err, au == au2)

	bi := BindInterdomainArgs{RemoteDom: 3, RemotePort: 12, LocalPort: 99}
	bi.Encode(buf)
	bi2, err := DecodeBindInterdomain(buf[:BindInterdomainSize])
	check("bind_interdomain", BindInterdomainSize, err, bi == bi2)

	bv := BindVIRQArgs{VIRQ: VIRQTimer, VCPU: 3, Port: 17}
	bv.Encode(buf)
	bv2, err := DecodeBindVIRQ(buf[:BindVIRQSize])
	check("bind_virq", BindVIRQSize, err, bv == bv2)

	ip := BindIPIArgs{VCPU: 5, Port: 6}
	ip.Encode(buf)
	ip2, err := DecodeBindIPI(buf[:BindIPISize])
	check("bind_ipi", BindIPISize, err, ip == ip2)

	pa := PortArgs{Port: 1234}
	pa.Encode(buf)
	pa2, err := DecodePort(buf[:SendSize])
	check("port", SendSize, err, pa == pa2)

	bc := BindVCPUArgs{Port: 8, VCPU: 2}
	bc.Encode(buf)
	bc2, err := DecodeBindVCPU(buf[:BindVCPUSize])
	check("bind_vcpu", BindVCPUSize, err, bc == bc2)

	for _, c := range []Channel{
		{State: StateClosed},
		{State: StateUnbound, Remote: 4, VCPU: 1},
		{State: StateInterdomain, Remote: 4, RemotePort: 4095, VCPU: 2},
		{State: StateVIRQ, VIRQ: VIRQTimer, VCPU: 3},
		{State: StateIPI, VCPU: 7},
	} {
		st := StatusOf(xen.DomIDSelf, 77, c)
		st.Encode(buf)
		st2, err := DecodeStatus(buf[:StatusSize])
		check("status "+c.State.String(), StatusSize, err, st == st2)
	}
	pirq := StatusArgs{Dom: 1, Port: 2, Status: StatePIRQ, IRQ: 33}
	pirq.Encode(buf)
	pirq2, err := DecodeStatus(buf[:StatusSize])
	check("status pirq", StatusSize, err, pirq == pirq2)

	// decoders reject short input with -EFAULT
	for name, dec := range map[string]func([]byte) error{
		"alloc_unbound":    func(b []byte) error { _, err := DecodeAllocUnbound(b); return err },
		"bind_interdomain": func(b []byte) error { _, err := DecodeBindInterdomain(b); return err },
		"bind_virq":        func(b []byte) error { _, err := DecodeBindVIRQ(b); return err },
		"bind_ipi":         func(b []byte) error { _, err := DecodeBindIPI(b); return err },
		"port":             func(b []byte) error { _, err := DecodePort(b); return err },
		"bind_vcpu":        func(b []byte) error { _, err := DecodeBindVCPU(b); return err },
		"status":           func(b []byte) error { _, err := DecodeStatus(b); return err },
	} {
		if err := dec(buf[:3]); Errno(err) != xen.EFAULT {
			t.Errorf("%s: short decode: %v", name, err)
		}
	}
}

func TestStateString(t *testing.T) {
	for s, want := range []string{"closed", "unbound", "interdomain", "pirq", "virq", "ipi"} {
		if got := State(s).String(); got != want {
			t.Errorf("State(%d) = %q, want %q", s, got, want)
		}
	}
	if got := State(9).String(); got != "State(9)" {
		t.Errorf("State(9) = %q", got)
	}
}
