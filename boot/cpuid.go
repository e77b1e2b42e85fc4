package boot

import (
	"encoding/binary"
	"fmt"
	"strings"
)

// CPUIDFunc executes CPUID (x86.CPUID on hardware, recorded values in tests).
type CPUIDFunc func(leaf, subleaf uint32) (eax, ebx, ecx, edx uint32)

// CPUInfo identifies the processor (Intel SDM Vol. 2A "CPUID"; AMD APM
// Vol. 3 Appendix E).
type CPUInfo struct {
	Vendor     string // "GenuineIntel", "AuthenticAMD", ...
	Brand      string // the processor brand string, "" if none
	Family     uint32 // display family (base + extended)
	Model      uint32 // display model (with the extended model when family is 6 or 15)
	Stepping   uint32
	MaxLeaf    uint32 // CPUID.0:EAX
	MaxExtLeaf uint32 // CPUID.80000000H:EAX

	VMX        bool // CPUID.1:ECX.VMX[bit 5]
	SVM        bool // CPUID.80000001H:ECX.SVM[bit 2]
	Hypervisor bool // CPUID.1:ECX[bit 31]: running under a hypervisor
	Pages1G    bool // CPUID.80000001H:EDX.Page1GB[bit 26]
	XSAVE      bool // CPUID.1:ECX.XSAVE[bit 26]

	// TSC/crystal ratio and crystal frequency (CPUID.15H: EAX, EBX, ECX).
	TSCDenominator, TSCNumerator, CrystalHz uint32
}

// Vendor strings (CPUID.0: EBX, EDX, ECX).
const (
	VendorIntel = "GenuineIntel"
	VendorAMD   = "AuthenticAMD"
)

// IdentifyCPU reads the identification leaves.
func IdentifyCPU(cpuid CPUIDFunc) CPUInfo {
	var c CPUInfo
	max0, b, cx, d := cpuid(0, 0)
	c.MaxLeaf = max0
	var v [12]byte
	binary.LittleEndian.PutUint32(v[0:], b)
	binary.LittleEndian.PutUint32(v[4:], d)
	binary.LittleEndian.PutUint32(v[8:], cx)
	c.Vendor = strings.TrimRight(string(v[:]), "\x00")
	if c.MaxLeaf >= 1 {
		a, _, ecx, _ := cpuid(1, 0)
		c.Stepping = a & 0xf
		c.Family = a >> 8 & 0xf
		c.Model = a >> 4 & 0xf
		if c.Family == 0xf {
			c.Family += a >> 20 & 0xff
		}
		if c.Family == 0x6 || c.Family >= 0xf {
			c.Model |= (a >> 16 & 0xf) << 4
		}
		c.VMX = ecx&(1<<5) != 0
		c.XSAVE = ecx&(1<<26) != 0
		c.Hypervisor = ecx&(1<<31) != 0
	}
	if c.MaxLeaf >= 0x15 {
		c.TSCDenominator, c.TSCNumerator, c.CrystalHz, _ = cpuid(0x15, 0)
	}
	c.MaxExtLeaf, _, _, _ = cpuid(0x8000_0000, 0)
	if c.MaxExtLeaf >= 0x8000_0001 {
		_, _, ecx, edx := cpuid(0x8000_0001, 0)
		c.SVM = ecx&(1<<2) != 0
		c.Pages1G = edx&(1<<26) != 0
	}
	if c.MaxExtLeaf >= 0x8000_0004 {
		var brand [48]byte
		for i := uint32(0); i < 3; i++ {
			a, b, cx, d := cpuid(0x8000_0002+i, 0)
			for j, r := range []uint32{a, b, cx, d} {
				binary.LittleEndian.PutUint32(brand[i*16+uint32(j)*4:], r)
			}
		}
		c.Brand = strings.TrimSpace(strings.TrimRight(string(brand[:]), "\x00"))
	}
	return c
}

// String describes the processor in one line.
func (c CPUInfo) String() string {
	s := fmt.Sprintf("%s family %d model %d stepping %d", c.Vendor, c.Family, c.Model, c.Stepping)
	if c.Brand != "" {
		s = fmt.Sprintf("%s %q, %s", c.Vendor, c.Brand, s[len(c.Vendor)+1:])
	}
	return s
}

// TSCFromCPUID returns the TSC frequency that CPUID.15H enumerates (TSC =
// crystal * EBX / EAX; SDM Vol. 3B 19.7.3), when it enumerates the crystal.
func (c CPUInfo) TSCFromCPUID() (hz uint64, ok bool) {
	if c.TSCDenominator == 0 || c.TSCNumerator == 0 || c.CrystalHz == 0 {
		return 0, false
	}
	return uint64(c.CrystalHz) * uint64(c.TSCNumerator) / uint64(c.TSCDenominator), true
}
