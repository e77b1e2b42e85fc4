package ept

import (
	"fmt"
	"strings"
)

// Violation is the exit qualification of a VM exit caused by an EPT
// violation (SDM Vol. 3C 28.2.1 "Basic VM-Exit Information", Table 28-7
// "Exit Qualification for EPT Violations"; the conditions are those of SDM
// Vol. 3C 29.3.3.2 "EPT Violations"). The faulting guest-physical and
// guest-linear addresses are separate VMCS fields; Describe takes them.
type Violation struct {
	// The access that caused the violation: bit 0 data read, bit 1 data
	// write, bit 2 instruction fetch. A read-modify-write sets Write and
	// perhaps Read.
	Read, Write, Fetch bool
	// Allowed are bits 3, 4 and 5: the logical AND of the read, write and
	// execute bits of the EPT entries that translated the address (0 if an
	// entry was not present). With the "mode-based execute control"
	// VM-execution control, bit 5 is the permission for supervisor-mode
	// linear addresses.
	Allowed Perm
	// UserExec is bit 6: with mode-based execute control, whether the
	// address was executable for user-mode linear addresses (the AND of
	// bit 10 of the entries); undefined otherwise.
	UserExec bool
	// GuestLinearValid is bit 7: the guest-linear-address field is valid
	// (set for all violations except those from loading the PDPTEs on MOV
	// to CR with PAE paging).
	GuestLinearValid bool
	// TranslationAccess is bit 8, defined only with bit 7: set when the
	// access was to the guest-physical address the linear address
	// translates to, clear when it was to a guest paging-structure entry
	// during the guest's own page walk.
	TranslationAccess bool
	// LinearUser, LinearWritable and LinearNX are bits 9, 10 and 11,
	// defined only with bits 7 and 8 and with "advanced VM-exit
	// information for EPT violations" (IA32_VMX_EPT_VPID_CAP bit 22): the
	// guest's own paging made the linear address user-mode (U/S), writable
	// (R/W) and execute-disable (XD).
	LinearUser, LinearWritable, LinearNX bool
	// NMIUnblocking is bit 12: the violation happened during an IRET
	// executed while NMIs were blocked, which had already unblocked them;
	// before the next VM entry the hypervisor should set "blocking by NMI"
	// in the guest interruptibility state, so that the re-executed IRET
	// unblocks them again. Undefined when "NMI exiting" is set without
	// "virtual NMIs", or when the IDT-vectoring information is valid.
	NMIUnblocking bool
	// ShadowStack is bit 13: the access was a shadow-stack access.
	ShadowStack bool
	// SupervisorShadowStack is bit 14: with supervisor shadow-stack
	// control, the EPT leaf marked the page a supervisor shadow-stack page
	// (entry bit 60).
	SupervisorShadowStack bool
	// GuestPagingVerification is bit 15: the violation came from
	// guest-paging verification (HLAT).
	GuestPagingVerification bool
	// Asynchronous is bit 16: the access was asynchronous to instruction
	// execution (for example a processor trace output).
	Asynchronous bool
	// Raw is the exit qualification as read from the VMCS.
	Raw uint64
}

// Bits of the EPT-violation exit qualification, SDM Vol. 3C Table 28-7.
const (
	qRead          = 1 << 0
	qWrite         = 1 << 1
	qFetch         = 1 << 2
	qAllowedShift  = 3 // bits 5:3: readable, writable, executable
	qUserExec      = 1 << 6
	qLinearValid   = 1 << 7
	qTranslation   = 1 << 8
	qLinearUser    = 1 << 9
	qLinearWrite   = 1 << 10
	qLinearNX      = 1 << 11
	qNMIUnblocking = 1 << 12
	qShadowStack   = 1 << 13
	qSupervisorSS  = 1 << 14
	qGuestPagingV  = 1 << 15
	qAsynchronous  = 1 << 16
)

// DecodeViolation decodes the exit qualification of an EPT-violation VM exit
// (SDM Vol. 3C Table 28-7 "Exit Qualification for EPT Violations"). Bits
// that the table defines only under a condition on other bits are reported
// only when that condition holds.
func DecodeViolation(q uint64) Violation {
	bit := func(m uint64) bool { return q&m != 0 }
	v := Violation{
		Read:                    bit(qRead),
		Write:                   bit(qWrite),
		Fetch:                   bit(qFetch),
		Allowed:                 Perm(q>>qAllowedShift) & RWX,
		UserExec:                bit(qUserExec),
		GuestLinearValid:        bit(qLinearValid),
		NMIUnblocking:           bit(qNMIUnblocking),
		ShadowStack:             bit(qShadowStack),
		SupervisorShadowStack:   bit(qSupervisorSS),
		GuestPagingVerification: bit(qGuestPagingV),
		Asynchronous:            bit(qAsynchronous),
		Raw:                     q,
	}
	if v.GuestLinearValid {
		v.TranslationAccess = bit(qTranslation)
		if v.TranslationAccess {
			v.LinearUser = bit(qLinearUser)
			v.LinearWritable = bit(qLinearWrite)
			v.LinearNX = bit(qLinearNX)
		}
	}
	return v
}

// Access returns the access that caused the violation as access rights.
func (v Violation) Access() Perm {
	var p Perm
	if v.Read {
		p |= Read
	}
	if v.Write {
		p |= Write
	}
	if v.Fetch {
		p |= Exec
	}
	return p
}

func (v Violation) access() string {
	var parts []string
	if v.Read {
		parts = append(parts, "read")
	}
	if v.Write {
		parts = append(parts, "write")
	}
	if v.Fetch {
		parts = append(parts, "fetch")
	}
	if len(parts) == 0 {
		return "access"
	}
	return strings.Join(parts, "/")
}

func (v Violation) allowed() string {
	if v.Allowed == 0 && !v.UserExec {
		return "not mapped"
	}
	return "allowed " + v.Allowed.String()
}

// String describes the violation without its addresses, as in
// "write (allowed r-x), linear address valid, to the translation".
func (v Violation) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s (%s)", v.access(), v.allowed())
	if v.GuestLinearValid {
		b.WriteString(", linear address valid")
	} else {
		b.WriteString(", no linear address")
	}
	v.details(&b)
	return b.String()
}

// Describe describes the violation with the guest-physical and guest-linear
// addresses the VMCS reports for it (the guest-linear address is ignored
// unless GuestLinearValid), as in "write to GPA 0x1000 (allowed r-x), linear
// address 0x401000, to the translation".
func (v Violation) Describe(gpa, gla uint64) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s to GPA %#x (%s)", v.access(), gpa, v.allowed())
	if v.GuestLinearValid {
		fmt.Fprintf(&b, ", linear address %#x", gla)
	} else {
		b.WriteString(", no linear address")
	}
	v.details(&b)
	return b.String()
}

func (v Violation) details(b *strings.Builder) {
	if v.GuestLinearValid {
		if v.TranslationAccess {
			b.WriteString(", to the translation")
			var f []string
			if v.LinearUser {
				f = append(f, "user")
			}
			if v.LinearWritable {
				f = append(f, "writable")
			}
			if v.LinearNX {
				f = append(f, "nx")
			}
			if len(f) > 0 {
				fmt.Fprintf(b, " (guest page %s)", strings.Join(f, ", "))
			}
		} else {
			b.WriteString(", to a guest paging-structure entry")
		}
	}
	if v.UserExec {
		b.WriteString(", user-executable")
	}
	if v.NMIUnblocking {
		b.WriteString(", NMI unblocking due to IRET")
	}
	if v.ShadowStack {
		b.WriteString(", shadow-stack access")
	}
	if v.SupervisorShadowStack {
		b.WriteString(", supervisor shadow-stack page")
	}
	if v.GuestPagingVerification {
		b.WriteString(", guest-paging verification")
	}
	if v.Asynchronous {
		b.WriteString(", asynchronous to instruction execution")
	}
}
