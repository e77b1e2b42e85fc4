package ept

import (
	"errors"
	"strings"
	"testing"
)

// checkSetup maps a 4 KiB page at gpa4K and a 2 MiB page at gpa2M, and
// returns the tables on the way to them.
const (
	gpa4K = 0x40_1000
	gpa2M = 0x60_0000
)

type walkTables struct {
	pml4, pdpt, pd, pt *[512]uint64
}

func checkSetup(t *testing.T, opt Options) (*EPT, *fakeTables, walkTables) {
	t.Helper()
	e, f := mustNew(t, opt)
	mustMap(t, e, gpa4K, 0x1234_5000, PageSize4K, RW, WB)
	mustMap(t, e, gpa2M, 0x4000_0000, PageSize2M, RX, WT)
	var w walkTables
	w.pml4 = f.Table(e.Root())
	w.pdpt = f.Table(tableAddr(w.pml4[0]))
	w.pd = f.Table(tableAddr(w.pdpt[0]))
	w.pt = f.Table(tableAddr(w.pd[index(gpa4K, levelPD)]))
	return e, f, w
}

// TestCheck injects each kind of EPT misconfiguration (SDM Vol. 3C 29.3.3.1)
// and checks that Check reports it at the right level, that Translate does
// not translate through it, and that Verify finds it.
func TestCheck(t *testing.T) {
	opt := Options{Pages2M: true, PhysAddrBits: 39}
	pte := index(gpa4K, levelPT)
	pde2M := index(gpa2M, levelPD)
	pdeT := index(gpa4K, levelPD)
	cases := []struct {
		name   string
		opt    Options
		gpa    uint64
		inject func(w walkTables)
		level  int    // -1: no misconfiguration
		reason string // part of the reason
	}{
		{"write-only PTE", opt, gpa4K, func(w walkTables) { w.pt[pte] = w.pt[pte]&^7 | 2 }, 0, "write access without read"},
		{"write/execute PTE", opt, gpa4K, func(w walkTables) { w.pt[pte] = w.pt[pte]&^7 | 6 }, 0, "write access without read"},
		{"execute-only PTE, unsupported", opt, gpa4K, func(w walkTables) { w.pt[pte] = w.pt[pte]&^7 | 4 }, 0, "execute-only"},
		{"execute-only PTE, supported", Options{Pages2M: true, ExecuteOnly: true}, gpa4K,
			func(w walkTables) { w.pt[pte] = w.pt[pte]&^7 | 4 }, -1, ""},
		{"PTE memory type 2", opt, gpa4K, func(w walkTables) { w.pt[pte] = w.pt[pte]&^memTypeMask | 2<<3 }, 0, "memory type 2"},
		{"PTE memory type 3", opt, gpa4K, func(w walkTables) { w.pt[pte] = w.pt[pte]&^memTypeMask | 3<<3 }, 0, "memory type 3"},
		{"PTE memory type 7", opt, gpa4K, func(w walkTables) { w.pt[pte] = w.pt[pte]&^memTypeMask | 7<<3 }, 0, "memory type 7"},
		{"PTE address beyond MAXPHYADDR", opt, gpa4K, func(w walkTables) { w.pt[pte] |= 1 << 39 }, 0, "MAXPHYADDR"},
		{"PTE address bit 51", Options{Pages2M: true, PhysAddrBits: 52}, gpa4K, func(w walkTables) { w.pt[pte] |= 1 << 51 }, -1, ""},
		{"PTE ignored bits", opt, gpa4K, func(w walkTables) { w.pt[pte] |= 1<<7 | 1<<11 | 1<<52 | 1<<62 }, -1, ""},
		{"2M page bits 20:12", opt, gpa2M, func(w walkTables) { w.pd[pde2M] |= 1 << 12 }, 1, "reserved address bits 20:12"},
		{"2M page memory type 7", opt, gpa2M, func(w walkTables) { w.pd[pde2M] |= 7 << 3 }, 1, "memory type 7"},
		{"2M page, unsupported", Options{PhysAddrBits: 39}, gpa2M, func(w walkTables) {}, 1, "2 MiB pages are not supported"},
		{"PDE reserved bit 3", opt, gpa4K, func(w walkTables) { w.pd[pdeT] |= 1 << 3 }, 1, "reserved bits 6:3"},
		{"PDE reserved bit 6", opt, gpa4K, func(w walkTables) { w.pd[pdeT] |= 1 << 6 }, 1, "reserved bits 6:3"},
		{"PDE write-only", opt, gpa4K, func(w walkTables) { w.pd[pdeT] = w.pd[pdeT]&^7 | 2 }, 1, "write access without read"},
		{"PDPTE 1G page, unsupported", opt, gpa4K, func(w walkTables) { w.pdpt[0] |= bitLarge }, 2, "1 GiB pages are not supported"},
		{"PDPTE reserved bit 5", opt, gpa4K, func(w walkTables) { w.pdpt[0] |= 1 << 5 }, 2, "reserved bits 6:3"},
		{"PML4E bit 7", opt, gpa4K, func(w walkTables) { w.pml4[0] |= 1 << 7 }, 3, "reserved bits 7:3"},
		{"PML4E bit 3", opt, gpa4K, func(w walkTables) { w.pml4[0] |= 1 << 3 }, 3, "reserved bits 7:3"},
		{"PML4E address beyond MAXPHYADDR", opt, gpa4K, func(w walkTables) { w.pml4[0] |= 1 << 45 }, 3, "MAXPHYADDR"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			copt := c.opt
			if !copt.Pages2M {
				copt.Pages2M = true // to build the 2 MiB page; switched off below
			}
			e, _, w := checkSetup(t, copt)
			e.opt = c.opt
			if e.opt.PhysAddrBits == 0 {
				e.opt.PhysAddrBits = DefaultPhysAddrBits
			}
			c.inject(w)
			err := e.Check(c.gpa)
			if c.level < 0 {
				if err != nil {
					t.Fatalf("Check = %v, want nil", err)
				}
				if _, ok := e.Translate(c.gpa); !ok {
					t.Fatalf("Translate fails")
				}
				return
			}
			var me *MisconfigError
			if !errors.As(err, &me) || !errors.Is(err, ErrMisconfig) || errors.Is(err, ErrCorrupt) {
				t.Fatalf("Check = %v, want a *MisconfigError for ErrMisconfig", err)
			}
			if me.Level != c.level || !strings.Contains(me.Reason, c.reason) || me.GPA != c.gpa&^(span(c.level)-1) {
				t.Fatalf("Check = %v, want level %d (%s), GPA %#x, reason containing %q",
					err, c.level, levelNames[c.level], c.gpa&^(span(c.level)-1), c.reason)
			}
			if m, ok := e.Translate(c.gpa); ok {
				t.Fatalf("Translate through a misconfiguration = %v", m)
			}
			if err := e.Verify(); !errors.Is(err, ErrMisconfig) {
				t.Fatalf("Verify = %v, want ErrMisconfig", err)
			}
		})
	}

	e, _, _ := checkSetup(t, opt)
	for _, a := range []uint64{gpa4K, gpa2M, gpa2M + 0x1234, 0, 1 << 40, 1<<48 - 1} {
		if err := e.Check(a); err != nil {
			t.Errorf("Check(%#x) = %v, want nil", a, err)
		}
	}
	if err := e.Check(1 << 48); !errors.Is(err, ErrRange) {
		t.Errorf("Check(1<<48) = %v, want ErrRange", err)
	}
}

// TestCorrupt damages the tables in ways this package never would and
// checks that Check, Verify, Map and Unmap notice instead of following or
// freeing what is not theirs.
func TestCorrupt(t *testing.T) {
	opt := Options{Pages2M: true}
	pdeT := index(gpa4K, levelPD)
	pte := index(gpa4K, levelPT)
	cases := []struct {
		name   string
		inject func(e *EPT, w walkTables)
		reason string
		check  bool // Check(gpa4K) sees it too
		ops    bool // Map and Unmap at gpa4K fail with ErrCorrupt
	}{
		{"foreign table", func(e *EPT, w walkTables) { w.pd[pdeT] = 0x7777_0000 | 7 },
			"not one of this EPT's tables", true, true},
		{"non-present, not zero", func(e *EPT, w walkTables) { w.pt[pte+1] = 0x5000 },
			"not present but not zero", false, true},
		{"table referenced twice", func(e *EPT, w walkTables) { w.pd[pdeT+1] = w.pd[pdeT] },
			"already referenced", false, false},
		{"empty table", func(e *EPT, w walkTables) { w.pt[pte] = 0 },
			"empty table", false, false},
		{"ignore-PAT bit", func(e *EPT, w walkTables) { w.pt[pte] |= 1 << 6 },
			"unexpected bits", false, false},
		{"suppress-#VE bit", func(e *EPT, w walkTables) { w.pt[pte] |= 1 << 63 },
			"unexpected bits", false, false},
		{"non-leaf bit 10", func(e *EPT, w walkTables) { w.pd[pdeT] |= 1 << 10 },
			"unexpected bits", false, false},
		{"non-leaf read-only", func(e *EPT, w walkTables) { w.pd[pdeT] = w.pd[pdeT]&^7 | 1 },
			"without all access rights", false, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			e, f, w := checkSetup(t, opt)
			c.inject(e, w)
			err := e.Verify()
			var me *MisconfigError
			if !errors.As(err, &me) || !errors.Is(err, ErrCorrupt) || !me.Corrupt || !strings.Contains(me.Reason, c.reason) {
				t.Fatalf("Verify = %v, want ErrCorrupt with %q", err, c.reason)
			}
			if !strings.HasPrefix(err.Error(), "ept: corrupt entry at GPA ") {
				t.Errorf("error text %q", err)
			}
			// Walk does not follow a reference to a foreign frame (the fake
			// would panic).
			e.Walk(func(Mapping) bool { return true })
			if err := e.Check(gpa4K); (err != nil) != c.check || err != nil && !errors.Is(err, ErrCorrupt) {
				t.Fatalf("Check = %v, want ErrCorrupt: %v", err, c.check)
			}
			if c.ops {
				frames := e.TableFrames()
				if err := e.Map(gpa4K+PageSize4K, 0, PageSize4K, RW, WB); !errors.Is(err, ErrCorrupt) {
					t.Fatalf("Map = %v, want ErrCorrupt", err)
				}
				if err := e.Unmap(gpa4K, 2*PageSize4K); !errors.Is(err, ErrCorrupt) {
					t.Fatalf("Unmap = %v, want ErrCorrupt", err)
				}
				if err := e.Protect(gpa4K, 2*PageSize4K, Read); !errors.Is(err, ErrCorrupt) {
					t.Fatalf("Protect = %v, want ErrCorrupt", err)
				}
				if e.TableFrames() != frames || len(f.misuse) > 0 {
					t.Fatalf("frames %d -> %d, misuse %v", frames, e.TableFrames(), f.misuse)
				}
			}
			// Destroy frees exactly the EPT's own frames.
			e.Destroy()
			if f.live() != 0 || len(f.misuse) > 0 {
				t.Fatalf("after Destroy: %d live frames, misuse %v", f.live(), f.misuse)
			}
		})
	}

	// A table held but unreachable.
	e, _, w := checkSetup(t, opt)
	w.pml4[0] = 0
	if err := e.Verify(); !errors.Is(err, ErrCorrupt) || !strings.Contains(err.Error(), "reachable") {
		t.Errorf("Verify with unreachable tables = %v", err)
	}
}

func TestMisconfigErrorString(t *testing.T) {
	e, _, w := checkSetup(t, Options{Pages2M: true})
	w.pt[index(gpa4K, levelPT)] |= 7 << 3 // memory type WB|1 = 7
	err := e.Check(gpa4K + 0x10)
	want := "ept: misconfiguration at GPA 0x401000: PTE 1 (table 0x80003000) = 0x000000001234503b: reserved memory type 7"
	if err == nil || err.Error() != want {
		t.Errorf("Check = %v\nwant %s", err, want)
	}
}
