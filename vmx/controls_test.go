package vmx

import (
	"strings"
	"testing"
)

func TestDomainControlsBochs(t *testing.T) {
	m := loadMSRFile(t, "bochs-skylake-x.msr")
	c, err := ReadCaps((&fakeMSRs{m: m}).read)
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Usable(); err != nil {
		t.Fatalf("Usable: %v", err)
	}
	s, err := c.DomainControls()
	if err != nil {
		t.Fatal(err)
	}
	for _, chk := range []struct {
		name      string
		got, bits uint32
		want      bool
	}{
		{"pin: external-interrupt exiting", s.Pin, PinExternalInterruptExiting, true},
		{"pin: preemption timer", s.Pin, PinPreemptionTimer, true},
		{"pin: virtual NMIs", s.Pin, PinVirtualNMIs, true},
		{"proc: HLT exiting", s.Proc, ProcHLTExiting, true},
		{"proc: unconditional I/O exiting", s.Proc, ProcUnconditionalIOExiting, true},
		{"proc: CR3-load exiting (true controls clear it)", s.Proc, ProcCR3LoadExiting, false},
		{"proc: CR3-store exiting", s.Proc, ProcCR3StoreExiting, false},
		{"proc: MSR bitmaps (every MSR access exits)", s.Proc, ProcUseMSRBitmaps, false},
		{"proc2: EPT", s.Proc2, Proc2EnableEPT, true},
		{"proc2: unrestricted guest", s.Proc2, Proc2UnrestrictedGuest, true},
		{"proc2: VPID", s.Proc2, Proc2EnableVPID, true},
		{"exit: 64-bit host", s.Exit, ExitHostAddressSpaceSize, true},
		{"exit: load EFER", s.Exit, ExitLoadEFER, true},
		{"entry: load EFER", s.Entry, EntryLoadEFER, true},
		{"entry: IA-32e mode guest (set per vCPU)", s.Entry, EntryIA32eModeGuest, false},
	} {
		if (chk.got&chk.bits != 0) != chk.want {
			t.Errorf("%s: %v, want %v", chk.name, chk.got&chk.bits != 0, chk.want)
		}
	}
	// Every forced bit is set, no disallowed bit is.
	for _, x := range []struct {
		v uint32
		c Controls
	}{{s.Pin, c.PinBased}, {s.Proc, c.ProcBased}, {s.Proc2, c.ProcBased2}, {s.Exit, c.Exit}, {s.Entry, c.Entry}} {
		if x.v&x.c.Allowed0 != x.c.Allowed0 || x.v&^x.c.Allowed1 != 0 {
			t.Errorf("control %#x violates allowed settings %#x/%#x", x.v, x.c.Allowed0, x.c.Allowed1)
		}
	}
}

// The controls negotiate on every recorded CPU that has what tamavisor needs.
func TestDomainControlsRecorded(t *testing.T) {
	for _, file := range []string{"bochs-skylake-x.msr", "bochs-haswell.msr", "intel-core-i7-6700k.msr"} {
		m := loadMSRFile(t, file)
		c, err := ReadCaps((&fakeMSRs{m: m}).read)
		if err != nil {
			t.Fatalf("%s: %v", file, err)
		}
		if err := c.Usable(); err != nil {
			t.Errorf("%s: Usable: %v", file, err)
			continue
		}
		s, err := c.DomainControls()
		if err != nil {
			t.Errorf("%s: %v", file, err)
			continue
		}
		for _, x := range []struct {
			name     string
			v, req   uint32
			allowed0 uint32
			allowed1 uint32
		}{
			{"pin", s.Pin, requiredPin, c.PinBased.Allowed0, c.PinBased.Allowed1},
			{"proc", s.Proc, requiredProc, c.ProcBased.Allowed0, c.ProcBased.Allowed1},
			{"proc2", s.Proc2, requiredProc2, c.ProcBased2.Allowed0, c.ProcBased2.Allowed1},
			{"exit", s.Exit, requiredExit, c.Exit.Allowed0, c.Exit.Allowed1},
			{"entry", s.Entry, requiredEntry, c.Entry.Allowed0, c.Entry.Allowed1},
		} {
			if x.v&x.req != x.req || x.v&x.allowed0 != x.allowed0 || x.v&^x.allowed1 != 0 {
				t.Errorf("%s: %s controls %#x: required %#x, allowed %#x/%#x", file, x.name, x.v, x.req, x.allowed0, x.allowed1)
			}
		}
	}
}

func TestDomainControlsOldCPU(t *testing.T) {
	// A Core 2 has no secondary controls, hence no EPT: refused, by name.
	m := loadMSRFile(t, "intel-core2-x6800.msr")
	c, err := ReadCaps((&fakeMSRs{m: m}).read)
	if err != nil {
		t.Fatal(err)
	}
	err = c.Usable()
	if err == nil || !strings.Contains(err.Error(), "preemption timer") && !strings.Contains(err.Error(), "secondary") {
		t.Errorf("Usable on a Core 2: %v", err)
	}
}
