package hv

import (
	"fmt"
	"strconv"
	"strings"

	"tamavisor/abi"
)

// Spec describes a domain to create, as the hypervisor's command line gives
// it: tamavisor.domains=SPEC+SPEC+..., each SPEC being IMAGE followed by
// ,key=value pairs:
//
//	name=N     the domain's name (default: the image's)
//	mem=M      its RAM in MiB (default 32)
//	args=A     its command line (PVH start_info); '~' stands for a space
//	module=I   hand it image I (a boot module or an embedded image) as a
//	           PVH start_info module, loaded at the top of its RAM;
//	           repeatable, the first module highest
//	budget=MS  the CPU time it may use, in ms, before it is stopped
//	weight=W   its scheduling weight (1-65535, default 256)
//	cap=C      its CPU cap in percent of one CPU (0: none, the default)
//	priv=1     it is the privileged domain (dom0): domain control,
//	           the other domains' console and store back ends; at most one
//	broken=rflags  test only: give it an invalid entry state (VM entry must fail)
//
// '+' separates domains because GRUB's command line treats ';' as a command
// separator.
type Spec struct {
	Image      string
	Name       string
	MemMiB     int
	Args       string
	BudgetMS   int
	Weight     int
	Cap        int
	Privileged bool
	Broken     string
	Modules    []string // images handed over as start_info modules
	// ELF is an image given directly (domain control from dom0) instead
	// of by name.
	ELF []byte
}

// DefaultWeight is a domain's scheduling weight unless it says otherwise
// (Xen's credit scheduler default).
const DefaultWeight = 256

// DefaultMemMiB is a domain's RAM unless its spec says otherwise.
const DefaultMemMiB = 32

// MaxBudgetMS bounds a CPU budget: one day.
const MaxBudgetMS = 24 * 3600 * 1000

// MaxMemMiB bounds a domain's RAM (the guest page walk and the start_info
// memory map describe up to 4 GiB).
const MaxMemMiB = 4096

// ParseSpecs parses the value of tamavisor.domains.
func ParseSpecs(s string) ([]Spec, error) {
	var out []Spec
	for i, one := range strings.Split(s, "+") {
		if one == "" {
			return nil, fmt.Errorf("tamavisor.domains: domain %d is empty", i+1)
		}
		parts := strings.Split(one, ",")
		sp := Spec{Image: parts[0], Name: parts[0], MemMiB: DefaultMemMiB, Weight: DefaultWeight}
		if sp.Image == "" || strings.Contains(sp.Image, "=") {
			return nil, fmt.Errorf("tamavisor.domains: domain %d: %q must start with an image name", i+1, one)
		}
		for _, kv := range parts[1:] {
			k, v, ok := strings.Cut(kv, "=")
			if !ok {
				return nil, fmt.Errorf("tamavisor.domains: domain %d (%s): %q is not key=value", i+1, sp.Image, kv)
			}
			var err error
			switch k {
			case "name":
				if !abi.ValidName(v) {
					err = fmt.Errorf("bad name %q (printable ASCII, no space or ':', under %d bytes)", v, abi.NameSize)
				}
				sp.Name = v
			case "mem":
				sp.MemMiB, err = strconv.Atoi(v)
				if err != nil {
					err = fmt.Errorf("mem=%q is not a number of MiB", v)
				} else if sp.MemMiB < 2 || sp.MemMiB > MaxMemMiB {
					err = fmt.Errorf("mem=%d MiB is outside 2-%d", sp.MemMiB, MaxMemMiB)
				}
			case "args":
				sp.Args = strings.ReplaceAll(v, "~", " ")
			case "module":
				if v == "" {
					err = fmt.Errorf("module= names no image")
				}
				sp.Modules = append(sp.Modules, v)
			case "budget":
				sp.BudgetMS, err = strconv.Atoi(v)
				if err != nil {
					err = fmt.Errorf("budget=%q is not a number of ms", v)
				} else if sp.BudgetMS <= 0 || sp.BudgetMS > MaxBudgetMS {
					err = fmt.Errorf("budget=%d ms is outside 1-%d", sp.BudgetMS, MaxBudgetMS)
				}
			case "weight":
				sp.Weight, err = strconv.Atoi(v)
				if err != nil || sp.Weight < 1 || sp.Weight > 65535 {
					err = fmt.Errorf("weight=%q is not a number in 1-65535", v)
				}
			case "cap":
				sp.Cap, err = strconv.Atoi(v)
				if err != nil || sp.Cap < 0 || sp.Cap > 100 {
					err = fmt.Errorf("cap=%q is not a percentage in 0-100", v)
				}
			case "priv":
				if v != "1" {
					err = fmt.Errorf("priv=%q: only priv=1", v)
				}
				sp.Privileged = true
			case "broken":
				if v != "rflags" {
					err = fmt.Errorf("broken=%q: the only broken entry state is rflags", v)
				}
				sp.Broken = v
			default:
				err = fmt.Errorf("unknown key %q (name, mem, args, module, budget, weight, cap, priv, broken)", k)
			}
			if err != nil {
				return nil, fmt.Errorf("tamavisor.domains: domain %d (%s): %v", i+1, sp.Image, err)
			}
		}
		if sp.Privileged {
			for _, o := range out {
				if o.Privileged {
					return nil, fmt.Errorf("tamavisor.domains: domain %d (%s): a second privileged domain (%s is one)", i+1, sp.Image, o.Name)
				}
			}
		}
		out = append(out, sp)
	}
	return out, nil
}
