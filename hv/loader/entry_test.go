package loader

import (
	"strings"
	"testing"
)

func TestEntryState(t *testing.T) {
	img, err := Parse(goodSpec().build(), goodLimits)
	if err != nil {
		t.Fatal(err)
	}
	st, err := EntryState(img, StartInfoGPA)
	if err != nil {
		t.Fatal(err)
	}
	data := SegmentRegister{Selector: 0x18, Base: 0, Limit: 0xFFFFFFFF, Access: 0xC093}
	want := CPUState{
		RIP:    pvhEntry,
		RFLAGS: 0x2,
		CR0:    0x11,
		CS:     SegmentRegister{Selector: 0x10, Base: 0, Limit: 0xFFFFFFFF, Access: 0xC09B},
		DS:     data, ES: data, FS: data, GS: data, SS: data,
		TR:   SegmentRegister{Selector: 0x20, Base: 0, Limit: 0x67, Access: 0x8B},
		LDTR: SegmentRegister{Access: 1 << 16},
	}
	want.GPR[RBX] = StartInfoGPA
	if st != want {
		t.Errorf("EntryState =\n%+v\nwant\n%+v", st, want)
	}

	// Access rights decoded field by field (SDM Vol. 3C Table 25-2).
	type ar struct{ typ, s, dpl, p, avl, l, db, g, unusable uint32 }
	dec := func(a uint32) ar {
		return ar{a & 0xF, a >> 4 & 1, a >> 5 & 3, a >> 7 & 1, a >> 12 & 1, a >> 13 & 1, a >> 14 & 1, a >> 15 & 1, a >> 16 & 1}
	}
	if got := dec(st.CS.Access); got != (ar{typ: 0xB, s: 1, p: 1, db: 1, g: 1}) {
		t.Errorf("CS access %+v", got)
	}
	if got := dec(st.SS.Access); got != (ar{typ: 0x3, s: 1, p: 1, db: 1, g: 1}) {
		t.Errorf("SS access %+v", got)
	}
	if got := dec(st.TR.Access); got != (ar{typ: 0xB, p: 1}) {
		t.Errorf("TR access %+v", got)
	}
	if st.GPR[RAX] != 0 || st.GPR[RSP] != 0 || st.GPR[R15] != 0 || RBX != 3 || R15 != 15 {
		t.Errorf("GPR layout: %v", st.GPR)
	}
	if st.CR3 != 0 || st.CR4 != 0 || st.EFER != 0 || st.GDTR != (DescriptorTable{}) || st.IDTR != (DescriptorTable{}) {
		t.Errorf("CR3 %#x CR4 %#x EFER %#x GDTR %+v IDTR %+v", st.CR3, st.CR4, st.EFER, st.GDTR, st.IDTR)
	}

	for _, tc := range []struct {
		img  *Image
		si   uint64
		want string
	}{
		{nil, StartInfoGPA, "no image"},
		{img, 0, "start_info GPA 0x0 does not fit in EBX"},
		{img, 1 << 32, "start_info GPA 0x100000000 does not fit in EBX"},
		{&Image{Entry: Entry{Addr: 1 << 32, Mode: Entry32PVH}}, StartInfoGPA, "PVH entry point 0x100000000 is above 4 GiB"},
		{&Image{Entry: Entry{Addr: 0x100000, Mode: Entry64}}, StartInfoGPA, "not supported yet: the 64-bit entry at 0x100000 needs page tables"},
		{&Image{}, StartInfoGPA, "unknown entry mode EntryMode(0)"},
	} {
		_, err := EntryState(tc.img, tc.si)
		if err == nil || !strings.Contains(err.Error(), tc.want) || !strings.HasPrefix(err.Error(), "loader: ") {
			t.Errorf("EntryState(%v, %#x) = %v, want %q", tc.img, tc.si, err, tc.want)
		}
	}
}
