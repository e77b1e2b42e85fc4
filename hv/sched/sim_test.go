package sched

import (
	"fmt"
	"math/rand"
	"testing"
)

// The tests count time in nanoseconds.
const (
	us = uint64(1_000)
	ms = uint64(1_000_000)
	s1 = uint64(1_000_000_000)
)

func testConfig() Config { return Config{Period: 30 * ms, Slice: 10 * ms} }

// Workloads of simulated vCPUs.
const (
	hog      = iota // always wants the CPU
	periodic        // wakes at phase + k*every and works for work
	bursty          // works for a random burst, sleeps for a random time
)

// simV is a simulated vCPU: what it wants to do and what it got.
type simV struct {
	id   VCPUID
	kind int

	every, work, phase uint64 // periodic
	bmin, bmax         uint64 // bursty: burst length
	smin, smax         uint64 // bursty: sleep length

	left    uint64 // work left in the current burst (not for hogs)
	blocked bool
	wakeAt  uint64 // when blocked: the time it wakes, 0 for never
	paused  bool
	removed bool

	ran uint64 // CPU time it got

	// Latency from wake to pick.
	wokeAt              uint64
	wokeWaiting         bool
	nWaits              int
	sumWait, maxWait    uint64
	underSince          uint64 // it has waited as an UNDER vCPU since
	underWaiting        bool
	underN              int // the most runnable vCPUs on its CPU meanwhile
	underMax            uint64
	underMaxRatio       float64 // the longest UNDER wait / (underN × Slice)
	underN1Violations   int     // UNDER waits beyond (N-1) × Slice
	underViolations     int     // UNDER waits beyond N × Slice
	underWorst          string
	nUnderWaits         int
	nUnderWaitsNonEmpty int
}

type simCPU struct {
	idx        int
	running    bool
	cur        *simV
	start, end uint64
	idleUntil  uint64 // when idle, Pick again then (0: on a wake only)
	needPick   bool
	idle       uint64 // total idle time
	idleSince  uint64
}

// sim drives a Scheduler with simulated vCPUs in simulated time, the way
// the hypervisor's run loop would: run the picked vCPU until its slice ends
// or it blocks, Charge, Pick; on a wake that asks to preempt, end the running
// slice early.
type sim struct {
	tb        testing.TB
	s         *Scheduler
	now       uint64
	cpus      []*simCPU
	vs        []*simV
	byID      map[VCPUID]*simV
	rng       *rand.Rand
	noPreempt bool // ignore Wake's preemption hint (still Pick on an idle CPU)
	watch     bool // record UNDER waits (the starvation property)
}

func newSim(tb testing.TB, cpus int, cfg Config) *sim {
	m := &sim{
		tb:   tb,
		s:    New(cpus, cfg),
		byID: make(map[VCPUID]*simV),
		rng:  rand.New(rand.NewSource(1)),
	}
	for i := range cpus {
		m.cpus = append(m.cpus, &simCPU{idx: i, needPick: true})
	}
	return m
}

// add adds a simulated vCPU as its own domain (dom = id) unless dom says.
func (m *sim) add(v *simV, dom DomID, weight, cap int) *simV {
	m.tb.Helper()
	if err := m.s.Add(v.id, dom, weight, cap); err != nil {
		m.tb.Fatal(err)
	}
	switch v.kind {
	case periodic:
		// Sleeps until its first period.
		v.blocked = true
		v.wakeAt = v.phase
		if v.wakeAt == 0 {
			v.wakeAt = v.every
		}
		v.wakeAt += m.now
		m.s.Block(v.id, m.now)
	case bursty:
		v.left = m.between(v.bmin, v.bmax)
	}
	m.vs = append(m.vs, v)
	m.byID[v.id] = v
	m.kick(v)
	return v
}

func (m *sim) hog(id VCPUID, weight, cap int) *simV {
	return m.add(&simV{id: id, kind: hog}, DomID(id), weight, cap)
}

func (m *sim) between(a, b uint64) uint64 {
	if b <= a {
		return a
	}
	return a + uint64(m.rng.Int63n(int64(b-a+1)))
}

// kick makes the CPU of v pick again if it idles.
func (m *sim) kick(v *simV) {
	st, ok := m.s.VCPU(v.id)
	if !ok {
		return
	}
	if c := m.cpus[st.CPU]; !c.running {
		c.needPick = true
	}
}

func (m *sim) cpuOf(v *simV) *simCPU {
	st, ok := m.s.VCPU(v.id)
	if !ok {
		m.tb.Fatalf("vCPU %d unknown to the scheduler", v.id)
	}
	return m.cpus[st.CPU]
}

// stop ends the slice running on c now and charges it.
func (m *sim) stop(c *simCPU) {
	v := c.cur
	ran := m.now - c.start
	v.ran += ran
	if v.kind != hog {
		v.left -= ran
		if v.left == 0 {
			v.blocked = true
			m.s.Block(v.id, m.now)
			switch v.kind {
			case periodic:
				v.wakeAt = (m.now-v.phase)/v.every*v.every + v.every + v.phase
			case bursty:
				v.wakeAt = m.now + m.between(v.smin, v.smax)
			}
		}
	}
	m.s.Charge(c.idx, v.id, ran, m.now)
	c.running, c.cur = false, nil
	c.needPick = true
	c.idleSince = m.now
}

func (m *sim) wake(v *simV) {
	v.blocked = false
	v.wakeAt = 0
	if v.kind == periodic {
		v.left = v.work
	} else {
		v.left = m.between(v.bmin, v.bmax)
	}
	v.wokeAt, v.wokeWaiting = m.now, !v.paused
	pre := m.s.Wake(v.id, m.now)
	c := m.cpuOf(v)
	switch {
	case !c.running:
		c.needPick = true
	case pre && !m.noPreempt:
		m.stop(c)
	}
}

func (m *sim) pick(c *simCPU) {
	c.needPick = false
	if c.running {
		m.tb.Fatalf("t=%d cpu%d: picking while vCPU %d runs", m.now, c.idx, c.cur.id)
	}
	id, slice, ok := m.s.Pick(c.idx, m.now)
	if !ok {
		c.idleUntil = 0
		if slice != 0 {
			c.idleUntil = m.now + slice
		}
		return
	}
	v := m.byID[id]
	switch {
	case v == nil || v.removed:
		m.tb.Fatalf("t=%d cpu%d: Pick returned removed vCPU %d", m.now, c.idx, id)
	case v.blocked:
		m.tb.Fatalf("t=%d cpu%d: Pick returned blocked vCPU %d", m.now, c.idx, id)
	case v.paused:
		m.tb.Fatalf("t=%d cpu%d: Pick returned paused vCPU %d", m.now, c.idx, id)
	case slice == 0:
		m.tb.Fatalf("t=%d cpu%d: Pick returned vCPU %d with an empty slice", m.now, c.idx, id)
	}
	if st, _ := m.s.VCPU(id); st.CPU != c.idx {
		m.tb.Fatalf("t=%d: Pick on cpu%d returned vCPU %d of cpu%d", m.now, c.idx, id, st.CPU)
	}
	c.idle += m.now - c.idleSince
	if v.wokeWaiting {
		w := m.now - v.wokeAt
		v.nWaits++
		v.sumWait += w
		v.maxWait = max(v.maxWait, w)
		v.wokeWaiting = false
	}
	if v.underWaiting {
		w := m.now - v.underSince
		limit := uint64(v.underN) * m.s.cfg.Slice
		v.nUnderWaits++
		if w > 0 {
			v.nUnderWaitsNonEmpty++
		}
		if r := float64(w) / float64(limit); r > v.underMaxRatio {
			v.underMaxRatio = r
			v.underWorst = fmt.Sprintf("waited %d us at t=%d us with at most %d runnable", w/us, m.now/us, v.underN)
		}
		v.underMax = max(v.underMax, w)
		if w > limit {
			v.underViolations++
		}
		if w > uint64(v.underN-1)*m.s.cfg.Slice {
			v.underN1Violations++
		}
		v.underWaiting = false
	}
	run := slice
	if v.kind != hog {
		run = min(run, v.left)
	}
	c.running, c.cur = true, v
	c.start, c.end = m.now, m.now+run
	c.idleUntil = 0
}

// observe records, after every instant, the UNDER vCPUs that wait.
func (m *sim) observe() {
	n := make([]int, len(m.cpus))
	states := make([]VCPUStats, len(m.vs))
	for i, v := range m.vs {
		if v.removed {
			continue
		}
		st, _ := m.s.VCPU(v.id)
		states[i] = st
		if st.State == Runnable || st.State == Running {
			n[st.CPU]++
		}
	}
	for i, v := range m.vs {
		if v.removed {
			continue
		}
		st := states[i]
		switch {
		case st.State == Runnable && st.Prio >= Under:
			if !v.underWaiting {
				v.underWaiting, v.underSince, v.underN = true, m.now, n[st.CPU]
			}
			v.underN = max(v.underN, n[st.CPU])
		case st.State != Running:
			v.underWaiting = false
		}
	}
}

// run simulates until the time until. Slices that run at until are cut and
// charged there, so that the vCPUs' CPU times add up to the time simulated.
func (m *sim) run(until uint64) {
	for {
		for _, c := range m.cpus {
			if c.needPick {
				m.pick(c)
			}
		}
		if m.watch {
			m.observe()
		}
		next := until
		for _, c := range m.cpus {
			switch {
			case c.running:
				next = min(next, c.end)
			case c.idleUntil != 0:
				next = min(next, c.idleUntil)
			}
		}
		for _, v := range m.vs {
			if v.blocked && v.wakeAt != 0 && !v.removed {
				next = min(next, v.wakeAt)
			}
		}
		if next < m.now {
			m.tb.Fatalf("time went back from %d to %d", m.now, next)
		}
		m.now = next
		for _, c := range m.cpus {
			if c.running && c.end == m.now {
				m.stop(c)
			}
		}
		if m.now >= until {
			break
		}
		for _, v := range m.vs {
			if v.blocked && v.wakeAt != 0 && v.wakeAt <= m.now && !v.removed {
				m.wake(v)
			}
		}
		for _, c := range m.cpus {
			if !c.running && c.idleUntil != 0 && c.idleUntil <= m.now {
				c.needPick = true
			}
		}
	}
	for _, c := range m.cpus {
		if c.running {
			m.stop(c)
		} else {
			c.idle += m.now - c.idleSince
			c.idleSince = m.now
		}
	}
	if err := m.s.check(); err != nil {
		m.tb.Fatal(err)
	}
}

// resume picks on the CPUs that wait for it, as run does first.
func (m *sim) resume() {
	for _, c := range m.cpus {
		if c.needPick {
			m.pick(c)
		}
	}
}

// remove removes a simulated vCPU, charging it first if it runs.
func (m *sim) remove(v *simV) {
	c := m.cpuOf(v)
	if c.running && c.cur == v {
		m.stop(c)
	}
	m.s.Remove(v.id)
	v.removed = true
	if !c.running {
		c.needPick = true
	}
}

func (m *sim) pause(v *simV) {
	m.s.Pause(v.id)
	v.paused = true
	if c := m.cpuOf(v); c.running && c.cur == v {
		m.stop(c) // the hypervisor would deschedule it at once
	}
}

func (m *sim) unpause(v *simV) {
	v.paused = false
	pre := m.s.Unpause(v.id)
	switch c := m.cpuOf(v); {
	case !c.running:
		c.needPick = true
	case pre && !m.noPreempt:
		m.stop(c)
	}
}

// ranSince returns the CPU time each vCPU got since the snapshot before.
func ranSince(vs []*simV, before []uint64) []uint64 {
	out := make([]uint64, len(vs))
	for i, v := range vs {
		out[i] = v.ran - before[i]
	}
	return out
}

func snapshot(vs []*simV) []uint64 {
	out := make([]uint64, len(vs))
	for i, v := range vs {
		out[i] = v.ran
	}
	return out
}

// shares returns each value as a percentage of total.
func shares(ran []uint64, total uint64) []float64 {
	out := make([]float64, len(ran))
	for i, r := range ran {
		out[i] = 100 * float64(r) / float64(total)
	}
	return out
}

func checkShares(t *testing.T, what string, got, want []float64, tol float64) {
	t.Helper()
	t.Logf("%s: shares %s (want %s ± %.1f)", what, pct(got), pct(want), tol)
	for i := range want {
		if d := got[i] - want[i]; d > tol || d < -tol {
			t.Errorf("%s: vCPU %d got %.2f%%, want %.2f%% ± %.1f", what, i, got[i], want[i], tol)
		}
	}
}

func pct(xs []float64) string {
	s := ""
	for i, x := range xs {
		if i > 0 {
			s += "/"
		}
		s += fmt.Sprintf("%.2f", x)
	}
	return s + " %"
}
