package acpi

import (
	"bytes"
	"fmt"
)

// AML encodings used by the \_S5_ scan, ACPI 6.5 §20 ACPI Machine Language
// (AML) Specification.
const (
	amlZeroOp       = 0x00 // §20.2.3 Data Objects Encoding: ConstObj
	amlOneOp        = 0x01 // §20.2.3
	amlNameOp       = 0x08 // §20.2.5.1 Namespace Modifier Objects Encoding: DefName
	amlBytePrefix   = 0x0a // §20.2.3: ByteConst
	amlWordPrefix   = 0x0b // §20.2.3: WordConst
	amlDWordPrefix  = 0x0c // §20.2.3: DWordConst
	amlQWordPrefix  = 0x0e // §20.2.3: QWordConst
	amlPackageOp    = 0x12 // §20.2.5.4 Expression Opcodes Encoding: DefPackage
	amlVarPackageOp = 0x13 // §20.2.5.4: DefVarPackage
	amlOnesOp       = 0xff // §20.2.3: ConstObj
	amlRootChar     = '\\' // §20.2.2 Name Objects Encoding: RootChar
	amlParentPrefix = '^'  // §20.2.2: ParentPrefixChar

	// amlMaxParentPrefixes bounds the '^' prefixes accepted before the
	// name, so that the backward scan per occurrence is O(1).
	amlMaxParentPrefixes = 16

	// slpTypMax is the largest SLP_TYPx value: the field is 3 bits wide
	// (PM1 control register bits 10-12, ACPI 6.5 §4.8.3.2.1).
	slpTypMax = 7
)

// PM1 control register bits, ACPI 6.5 §4.8.3.2.1 PM1 Control Registers: to
// enter S5, write SLP_TYPa<<PM1SlpTypShift|PM1SlpEn to PM1a_CNT and, if there
// is one, SLP_TYPb<<PM1SlpTypShift|PM1SlpEn to PM1b_CNT.
const (
	// PM1SCIEn is SCI_EN: set when the system is in ACPI mode.
	PM1SCIEn = 1 << 0
	// PM1SlpTypShift is the position of the 3-bit SLP_TYPx field.
	PM1SlpTypShift = 10
	// PM1SlpEn is SLP_EN: writing it enters the state SLP_TYPx names.
	PM1SlpEn = 1 << 13
)

// s5Name is the \_S5_ object's NameSeg.
var s5Name = []byte("_S5_")

// FindS5 returns the sleep type values for the S5 (soft off) state, which
// are written to the SLP_TYP field of PM1a_CNT and PM1b_CNT with SLP_EN to
// power the machine off (ACPI 6.5 §7.4.2 \_Sx (System States), §7.4.2.6
// System \_S5 State (Soft Off), §16.1.7 Transitioning from the Working to the
// Soft Off State).
//
// table is a whole definition block, header included: the DSDT (or an SSDT,
// which some firmware uses); its length and checksum are verified. Instead of
// interpreting the AML, FindS5 does the well-known scan: it looks for the
// NameSeg "_S5_" preceded by NameOp (optionally with a '\' root or '^' parent
// prefix) and followed by a package:
//
//	DefName    := NameOp NameString DataRefObject        (§20.2.5.1)
//	DefPackage := PackageOp PkgLength NumElements PackageElementList
//	                                                     (§20.2.5.4)
//	PkgLength  := 1 to 4 bytes                           (§20.2.4)
//
// The first two elements must each be ZeroOp (0x00), OneOp (0x01), a
// ByteConst (0x0A nn) or a wider integer constant, or a bare byte 0x02-0x07
// (which some tools emit). A package of one integer carries SLP_TYPa in its
// low byte and SLP_TYPb in the next, as ACPICA reads it. Values must fit in
// the 3-bit SLP_TYP field.
//
// An \_S5_ defined by a method, or under a condition the scan can't see, is
// not found. The first well-formed definition wins; if there is none, the
// error describes the first malformed one, or wraps ErrNotFound if the name
// is never defined.
func FindS5(table []byte) (slpTypA, slpTypB uint8, err error) {
	sig := SigDSDT
	if len(table) >= 4 && string(table[:4]) == "SSDT" {
		sig = "SSDT"
	}
	_, b, err := checkTable(table, sig, sig, HeaderLength)
	if err != nil {
		return 0, 0, err
	}
	return scanS5(b, HeaderLength, sig)
}

// scanS5 scans b[start:] for the \_S5_ package. Offsets in errors are
// relative to b. Every step moves forward, so it ends after at most len(b)
// iterations.
func scanS5(b []byte, start int, sig string) (slpTypA, slpTypB uint8, err error) {
	var first error
	for i := start; i < len(b); {
		j := bytes.Index(b[i:], s5Name)
		if j < 0 {
			break
		}
		pos := i + j
		i = pos + 1
		if !definedByName(b, start, pos) {
			// A reference to \_S5_, or the name in a string.
			continue
		}
		a, bb, err := parseS5Package(b, pos, sig)
		if err == nil {
			return a, bb, nil
		}
		if first == nil {
			first = err
		}
	}
	if first != nil {
		return 0, 0, first
	}
	return 0, 0, newErr(sig, ErrNotFound, "no \\_S5_ object (Name(_S5_, Package) definition)")
}

// definedByName tells whether the NameSeg at b[pos:] is the NameString of a
// DefName: preceded by NameOp, with at most one '\' or a few '^' between.
func definedByName(b []byte, start, pos int) bool {
	k := pos - 1
	switch {
	case k >= start && b[k] == amlRootChar:
		k--
	default:
		for n := 0; n < amlMaxParentPrefixes && k >= start && b[k] == amlParentPrefix; n++ {
			k--
		}
	}
	return k >= start && b[k] == amlNameOp
}

// parseS5Package decodes the package that follows the NameSeg at b[pos:].
func parseS5Package(b []byte, pos int, sig string) (slpTypA, slpTypB uint8, err error) {
	fail := func(sentinel error, format string, args ...any) (uint8, uint8, error) {
		return 0, 0, newErr(sig, sentinel, "\\_S5_ at offset %#x: %s", pos, fmt.Sprintf(format, args...))
	}
	p := pos + len(s5Name)
	if p >= len(b) {
		return fail(ErrTruncated, "the table ends before the object")
	}
	op := b[p]
	if op != amlPackageOp && op != amlVarPackageOp {
		return fail(nil, "object at offset %#x is opcode %#02x, not a Package", p, op)
	}
	p++
	pkgStart := p
	pkgLen, n, err := pkgLength(b, p)
	if err != nil {
		return fail(ErrTruncated, "%v", err)
	}
	if pkgLen < n+1 {
		return fail(nil, "PkgLength %#x at offset %#x is too short for NumElements", pkgLen, p)
	}
	end := pkgStart + pkgLen
	if end > len(b) {
		return fail(ErrTruncated, "PkgLength %#x at offset %#x extends past the end of the table at %#x", pkgLen, p, len(b))
	}
	p += n

	var count uint64
	if op == amlPackageOp {
		count = uint64(b[p])
		p++
	} else {
		var err error
		if count, p, err = amlInteger(b, p, end); err != nil {
			return fail(nil, "VarNumElements: %v", err)
		}
	}
	if count == 0 {
		return fail(nil, "package has no elements")
	}

	a, p, err := amlInteger(b, p, end)
	if err != nil {
		return fail(nil, "element 0: %v", err)
	}
	var bv uint64
	if count >= 2 {
		if bv, _, err = amlInteger(b, p, end); err != nil {
			return fail(nil, "element 1: %v", err)
		}
	} else {
		// One integer: SLP_TYPa in bits 0-7, SLP_TYPb in bits 8-15.
		a, bv = a&0xff, (a>>8)&0xff
	}
	if a > slpTypMax || bv > slpTypMax {
		return fail(nil, "SLP_TYPa %#x, SLP_TYPb %#x: a value does not fit the 3-bit SLP_TYP field", a, bv)
	}
	return uint8(a), uint8(bv), nil
}

// pkgLength decodes the PkgLength at b[p:] (ACPI 6.5 §20.2.4 Package Length
// Encoding): bits 7-6 of the lead byte give the number of following bytes
// (0-3); with none, bits 5-0 are the length, otherwise bits 3-0 are its low
// nibble and the following bytes the next 8 bits each. The length counts
// itself. It returns the length and the number of bytes of the encoding.
func pkgLength(b []byte, p int) (length, n int, err error) {
	if p >= len(b) {
		return 0, 0, fmt.Errorf("PkgLength at offset %#x is past the end of the table", p)
	}
	lead := b[p]
	follow := int(lead >> 6)
	if p+1+follow > len(b) {
		return 0, 0, fmt.Errorf("PkgLength at offset %#x needs %d more bytes than the table has", p, p+1+follow-len(b))
	}
	if follow == 0 {
		return int(lead & 0x3f), 1, nil
	}
	length = int(lead & 0x0f)
	for i := 0; i < follow; i++ {
		length |= int(b[p+1+i]) << (4 + 8*i)
	}
	return length, 1 + follow, nil
}

// amlInteger decodes an integer package element at b[p:end]: ZeroOp, OneOp,
// a Byte/Word/DWord/QWordConst, or a bare byte 0x02-0x07. It returns the
// value and the offset after it.
func amlInteger(b []byte, p, end int) (v uint64, next int, err error) {
	if p >= end {
		return 0, p, fmt.Errorf("offset %#x is past the end of the package at %#x", p, end)
	}
	op := b[p]
	size := 0
	switch {
	case op == amlZeroOp, op == amlOneOp:
		return uint64(op), p + 1, nil
	case op <= slpTypMax:
		// Not valid AML, but seen in hand-written tables: a bare value.
		return uint64(op), p + 1, nil
	case op == amlBytePrefix:
		size = 1
	case op == amlWordPrefix:
		size = 2
	case op == amlDWordPrefix:
		size = 4
	case op == amlQWordPrefix:
		size = 8
	case op == amlOnesOp:
		return 0, p, fmt.Errorf("OnesOp at offset %#x is not a sleep type", p)
	default:
		return 0, p, fmt.Errorf("opcode %#02x at offset %#x is not an integer constant", op, p)
	}
	if p+1+size > end {
		return 0, p, fmt.Errorf("%d-byte constant at offset %#x runs past the end of the package at %#x", size, p, end)
	}
	for i := size - 1; i >= 0; i-- {
		v = v<<8 | uint64(b[p+1+i])
	}
	return v, p + 1 + size, nil
}
