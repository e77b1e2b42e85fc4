package ept

import "testing"

// TestDecodeViolation decodes each bit of SDM Vol. 3C Table 28-7 "Exit
// Qualification for EPT Violations" alone and in the combinations the table
// makes conditional.
func TestDecodeViolation(t *testing.T) {
	const (
		linear = 1 << 7
		transl = 1 << 8
	)
	cases := []struct {
		name string
		q    uint64
		want Violation
	}{
		{"bit 0: data read", 1 << 0, Violation{Read: true}},
		{"bit 1: data write", 1 << 1, Violation{Write: true}},
		{"bit 2: instruction fetch", 1 << 2, Violation{Fetch: true}},
		{"bit 3: readable", 1 << 3, Violation{Allowed: Read}},
		{"bit 4: writable", 1 << 4, Violation{Allowed: Write}},
		{"bit 5: executable", 1 << 5, Violation{Allowed: Exec}},
		{"bits 5:3", 7 << 3, Violation{Allowed: RWX}},
		{"bit 6: user-mode executable (MBEC)", 1 << 6, Violation{UserExec: true}},
		{"bit 7: linear address valid", linear, Violation{GuestLinearValid: true}},
		{"bit 8 without bit 7 is not decoded", transl, Violation{}},
		{"bits 7 and 8: translation", linear | transl, Violation{GuestLinearValid: true, TranslationAccess: true}},
		{"bit 9: user-mode linear address", linear | transl | 1<<9,
			Violation{GuestLinearValid: true, TranslationAccess: true, LinearUser: true}},
		{"bit 10: writable linear address", linear | transl | 1<<10,
			Violation{GuestLinearValid: true, TranslationAccess: true, LinearWritable: true}},
		{"bit 11: execute-disable linear address", linear | transl | 1<<11,
			Violation{GuestLinearValid: true, TranslationAccess: true, LinearNX: true}},
		{"bits 9-11 need bit 8", linear | 7<<9, Violation{GuestLinearValid: true}},
		{"bit 12: NMI unblocking", 1 << 12, Violation{NMIUnblocking: true}},
		{"bit 13: shadow-stack access", 1 << 13, Violation{ShadowStack: true}},
		{"bit 14: supervisor shadow stack", 1 << 14, Violation{SupervisorShadowStack: true}},
		{"bit 15: guest-paging verification", 1 << 15, Violation{GuestPagingVerification: true}},
		{"bit 16: asynchronous", 1 << 16, Violation{Asynchronous: true}},
		{"reserved bits ignored", 1<<17 | 1<<40 | 1<<63, Violation{}},
		{"write to a read/execute page", 1<<1 | 5<<3 | linear | transl,
			Violation{Write: true, Allowed: RX, GuestLinearValid: true, TranslationAccess: true}},
		{"fetch from an unmapped page", 1<<2 | linear | transl,
			Violation{Fetch: true, GuestLinearValid: true, TranslationAccess: true}},
		{"guest page walk (read of a paging-structure entry)", 1<<0 | linear,
			Violation{Read: true, GuestLinearValid: true}},
	}
	for _, c := range cases {
		got := DecodeViolation(c.q)
		c.want.Raw = c.q
		if got != c.want {
			t.Errorf("%s: DecodeViolation(%#x) = %+v, want %+v", c.name, c.q, got, c.want)
		}
	}
}

func TestViolationString(t *testing.T) {
	cases := []struct {
		q         uint64
		gpa, gla  uint64
		describe  string
		str       string
		accessStr Perm
	}{
		{1<<1 | 5<<3 | 1<<7 | 1<<8, 0x1000, 0x401000,
			"write to GPA 0x1000 (allowed r-x), linear address 0x401000, to the translation",
			"write (allowed r-x), linear address valid, to the translation", Write},
		{1 << 2, 0xfee00000, 0x1234,
			"fetch to GPA 0xfee00000 (not mapped), no linear address",
			"fetch (not mapped), no linear address", Exec},
		{1<<0 | 1<<7, 0x2000, 0xffff800000000000,
			"read to GPA 0x2000 (not mapped), linear address 0xffff800000000000, to a guest paging-structure entry",
			"read (not mapped), linear address valid, to a guest paging-structure entry", Read},
		{1<<0 | 1<<1 | 1<<3 | 1<<7 | 1<<8 | 1<<9 | 1<<11 | 1<<12, 0x3000, 0x7000,
			"read/write to GPA 0x3000 (allowed r--), linear address 0x7000, to the translation (guest page user, nx), NMI unblocking due to IRET",
			"read/write (allowed r--), linear address valid, to the translation (guest page user, nx), NMI unblocking due to IRET", RW},
		{1<<13 | 1<<14 | 1<<15 | 1<<16, 0, 0,
			"access to GPA 0x0 (not mapped), no linear address, shadow-stack access, supervisor shadow-stack page, guest-paging verification, asynchronous to instruction execution",
			"access (not mapped), no linear address, shadow-stack access, supervisor shadow-stack page, guest-paging verification, asynchronous to instruction execution", 0},
		{1<<2 | 1<<6, 0x4000, 0,
			"fetch to GPA 0x4000 (allowed ---), no linear address, user-executable",
			"fetch (allowed ---), no linear address, user-executable", Exec},
	}
	for _, c := range cases {
		v := DecodeViolation(c.q)
		if got := v.Describe(c.gpa, c.gla); got != c.describe {
			t.Errorf("Describe(%#x):\n got %s\nwant %s", c.q, got, c.describe)
		}
		if got := v.String(); got != c.str {
			t.Errorf("String(%#x):\n got %s\nwant %s", c.q, got, c.str)
		}
		if got := v.Access(); got != c.accessStr {
			t.Errorf("Access(%#x) = %v, want %v", c.q, got, c.accessStr)
		}
	}
}
