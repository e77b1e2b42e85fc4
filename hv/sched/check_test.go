package sched

import "fmt"

// check verifies the scheduler's invariants: every vCPU is on exactly one
// CPU and in at most one list, the lists are well linked and counted, a
// vCPU is queued exactly when it is runnable and not running, and the
// domains' vCPU lists match.
func (s *Scheduler) check() error {
	seen := make(map[*vcpu]string)
	for _, rq := range s.cpus {
		for i, v := range rq.all {
			if v.rq != rq || v.idx != i {
				return fmt.Errorf("vCPU %d: in cpu%d's list at %d, says cpu%d at %d", v.id, rq.cpu, i, v.rq.cpu, v.idx)
			}
			if s.vcpus[v.id] != v {
				return fmt.Errorf("vCPU %d: on cpu%d but not in the map", v.id, rq.cpu)
			}
		}
		for name, l := range map[string]*list{"boost": &rq.boost, "under": &rq.under, "over": &rq.over, "parked": &rq.parked} {
			n := 0
			var prev *vcpu
			for v := l.head; v != nil; v = v.next {
				where := fmt.Sprintf("cpu%d.%s", rq.cpu, name)
				if other, ok := seen[v]; ok {
					return fmt.Errorf("vCPU %d: in %s and in %s", v.id, other, where)
				}
				seen[v] = where
				if v.q != l || v.prev != prev || v.rq != rq {
					return fmt.Errorf("vCPU %d: badly linked in %s", v.id, where)
				}
				if !v.runnable() {
					return fmt.Errorf("vCPU %d: queued in %s but blocked=%v paused=%v", v.id, where, v.blocked, v.paused)
				}
				if rq.current == v {
					return fmt.Errorf("vCPU %d: queued in %s while running", v.id, where)
				}
				if name == "boost" && !v.boost || name != "boost" && v.boost {
					return fmt.Errorf("vCPU %d: in %s with boost=%v", v.id, where, v.boost)
				}
				if name == "under" && v.credit <= 0 {
					return fmt.Errorf("vCPU %d: in %s with credit %d", v.id, where, v.credit)
				}
				prev = v
				n++
			}
			if l.tail != prev || l.n != n {
				return fmt.Errorf("cpu%d.%s: tail or count wrong (%d, counted %d)", rq.cpu, name, l.n, n)
			}
		}
		if c := rq.current; c != nil && (c.rq != rq || c.q != nil || s.vcpus[c.id] != c) {
			return fmt.Errorf("cpu%d: current vCPU %d is not a running vCPU of it", rq.cpu, c.id)
		}
	}
	n := 0
	for id, v := range s.vcpus {
		if v.id != id {
			return fmt.Errorf("vCPU %d: filed as %d", v.id, id)
		}
		if v.rq.all[v.idx] != v {
			return fmt.Errorf("vCPU %d: missing from cpu%d's list", id, v.rq.cpu)
		}
		_, queued := seen[v]
		if want := v.runnable() && v.rq.current != v; queued != want {
			return fmt.Errorf("vCPU %d: queued=%v, runnable=%v running=%v", id, queued, v.runnable(), v.rq.current == v)
		}
		if v.credit < s.floor {
			return fmt.Errorf("vCPU %d: credit %d below the floor %d", id, v.credit, s.floor)
		}
		if s.doms[v.dom.id] != v.dom {
			return fmt.Errorf("vCPU %d: its domain %d is not filed", id, v.dom.id)
		}
		n++
	}
	total := 0
	for _, rq := range s.cpus {
		total += len(rq.all)
	}
	if total != n {
		return fmt.Errorf("%d vCPUs on CPUs, %d in the map", total, n)
	}
	m := 0
	for id, d := range s.doms {
		if d.id != id || len(d.vcpus) == 0 {
			return fmt.Errorf("domain %d: filed as %d with %d vCPUs", d.id, id, len(d.vcpus))
		}
		for _, v := range d.vcpus {
			if v.dom != d || s.vcpus[v.id] != v {
				return fmt.Errorf("domain %d: lists vCPU %d that is not its own", id, v.id)
			}
		}
		m += len(d.vcpus)
	}
	if m != n {
		return fmt.Errorf("%d vCPUs in domains, %d in the map", m, n)
	}
	return nil
}
