package testbed

import (
	"fmt"
	"os"
	"regexp"
	"strings"
)

// NestedVMX reports whether QEMU can run the hypervisor under KVM here:
// /dev/kvm must open, the host CPU must be Intel with VMX, and kvm_intel must
// allow nested virtualization (the hypervisor needs VT-x inside its VM). The
// string says why or why not.
func NestedVMX() (bool, string) {
	f, err := os.OpenFile("/dev/kvm", os.O_RDWR, 0)
	if err != nil {
		return false, fmt.Sprintf("/dev/kvm is not usable (%v)", err)
	}
	f.Close()
	info, err := os.ReadFile("/proc/cpuinfo")
	if err != nil {
		return false, fmt.Sprintf("cannot read /proc/cpuinfo (%v)", err)
	}
	if !regexp.MustCompile(`(?m)^flags\s*:.*\bvmx\b`).Match(info) {
		return false, "the host CPU has no VT-x (no vmx flag in /proc/cpuinfo), so KVM cannot offer nested VT-x"
	}
	nested, err := os.ReadFile("/sys/module/kvm_intel/parameters/nested")
	if err != nil {
		return false, "kvm_intel is not loaded, so KVM cannot offer nested VT-x"
	}
	if v := strings.TrimSpace(string(nested)); v != "Y" && v != "1" {
		return false, "kvm_intel has nested=" + v + " (set kvm_intel.nested=1 for nested VT-x)"
	}
	return true, "/dev/kvm offers nested VT-x"
}

// Figure is one benchmark figure the hypervisor or a domain printed.
type Figure struct{ Source, Name, Value string }

var figureLine = regexp.MustCompile(`(?m)^(\S+): bench: ([^:]+): (.+?)\r?$`)

// Figures returns the "SOURCE: bench: NAME: VALUE" lines of a serial log.
func Figures(serial string) []Figure {
	var out []Figure
	for _, m := range figureLine.FindAllStringSubmatch(serial, -1) {
		out = append(out, Figure{m[1], m[2], m[3]})
	}
	return out
}
