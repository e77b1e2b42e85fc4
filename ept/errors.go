package ept

import (
	"errors"
	"fmt"
)

// Errors returned by this package, usually wrapped with details (in an
// *AddrError, a *MisconfigError or with fmt.Errorf); test for them with
// errors.Is.
var (
	ErrOptions   = errors.New("invalid options")
	ErrAlign     = errors.New("not 4 KiB aligned")
	ErrRange     = errors.New("address range empty or out of bounds")
	ErrPerm      = errors.New("invalid permissions")
	ErrMemType   = errors.New("invalid memory type")
	ErrMapped    = errors.New("already mapped")
	ErrNotMapped = errors.New("not mapped")
	ErrTable     = errors.New("bad table frame")
	ErrDestroyed = errors.New("EPT destroyed")
	ErrMisconfig = errors.New("EPT misconfiguration")
	ErrCorrupt   = errors.New("EPT corrupt")
)

// AddrError is the error of an operation on a guest-physical address range:
// Op is "map", "unmap", "protect" or "check", GPA the address the error is
// about (for ErrMapped and ErrNotMapped, the first offending address of the
// range) and Err the reason.
type AddrError struct {
	Op  string
	GPA uint64
	Err error
}

func (e *AddrError) Error() string {
	return fmt.Sprintf("ept: %s: GPA %#x: %v", e.Op, e.GPA, e.Err)
}

func (e *AddrError) Unwrap() error { return e.Err }

// MisconfigError describes an EPT paging-structure entry that would cause an
// EPT misconfiguration VM exit (SDM Vol. 3C 29.3.3.1 "EPT Misconfigurations"),
// or one that does not match what this package wrote (Corrupt): an entry that
// references a frame which is not one of the EPT's tables, or a table shared
// between entries. It matches ErrMisconfig, or ErrCorrupt when Corrupt is set.
type MisconfigError struct {
	GPA     uint64 // first guest-physical address the entry controls
	Level   int    // 3 for a PML4E, 2 PDPTE, 1 PDE, 0 PTE
	Table   uint64 // host-physical address of the table holding the entry
	Index   int    // index of the entry in its table
	Entry   uint64 // the entry's value
	Reason  string
	Corrupt bool
}

func (e *MisconfigError) Error() string {
	what := "misconfiguration"
	if e.Corrupt {
		what = "corrupt entry"
	}
	return fmt.Sprintf("ept: %s at GPA %#x: %s %d (table %#x) = %#016x: %s",
		what, e.GPA, levelNames[e.Level], e.Index, e.Table, e.Entry, e.Reason)
}

func (e *MisconfigError) Unwrap() error {
	if e.Corrupt {
		return ErrCorrupt
	}
	return ErrMisconfig
}
