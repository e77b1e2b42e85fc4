package hv

import (
	"fmt"
	"strconv"
	"strings"
)

// Spec describes a domain to create, as the hypervisor's command line gives
// it: tamavisor.domains=SPEC+SPEC+..., each SPEC being IMAGE followed by
// ,key=value pairs:
//
//	name=N     the domain's name (default: the image's)
//	mem=M      its RAM in MiB (default 32)
//	args=A     its command line (PVH start_info); '~' stands for a space
//	budget=MS  the CPU time it may use, in ms, before it is stopped
//	broken=rflags  test only: give it an invalid entry state (VM entry must fail)
//
// '+' separates domains because GRUB's command line treats ';' as a command
// separator.
type Spec struct {
	Image    string
	Name     string
	MemMiB   int
	Args     string
	BudgetMS int
	Broken   string
}

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
		sp := Spec{Image: parts[0], Name: parts[0], MemMiB: DefaultMemMiB}
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
				if v == "" || strings.ContainsAny(v, " :") {
					err = fmt.Errorf("bad name %q", v)
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
			case "budget":
				sp.BudgetMS, err = strconv.Atoi(v)
				if err != nil {
					err = fmt.Errorf("budget=%q is not a number of ms", v)
				} else if sp.BudgetMS <= 0 || sp.BudgetMS > MaxBudgetMS {
					err = fmt.Errorf("budget=%d ms is outside 1-%d", sp.BudgetMS, MaxBudgetMS)
				}
			case "broken":
				if v != "rflags" {
					err = fmt.Errorf("broken=%q: the only broken entry state is rflags", v)
				}
				sp.Broken = v
			default:
				err = fmt.Errorf("unknown key %q (name, mem, args, budget, broken)", k)
			}
			if err != nil {
				return nil, fmt.Errorf("tamavisor.domains: domain %d (%s): %v", i+1, sp.Image, err)
			}
		}
		out = append(out, sp)
	}
	return out, nil
}
