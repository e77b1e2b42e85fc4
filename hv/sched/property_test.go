package sched

import (
	"math/rand"
	"testing"
)

// randomSim builds a simulation from a seed: one or two CPUs, 2 to 9 vCPUs
// with random weights, and a mix of hogs, periodic and bursty vCPUs; with
// caps if capped.
func randomSim(t *testing.T, seed int64, capped bool) *sim {
	rng := rand.New(rand.NewSource(seed))
	cpus := 1 + rng.Intn(2)
	slices := []uint64{2 * ms, 5 * ms, 10 * ms, 30 * ms}
	cfg := Config{Period: 30 * ms, Slice: slices[rng.Intn(len(slices))], NoBoost: rng.Intn(4) == 0}
	m := newSim(t, cpus, cfg)
	m.rng = rng
	m.watch = true
	m.noPreempt = rng.Intn(3) == 0
	n := 2 + rng.Intn(8)
	for i := 1; i <= n; i++ {
		v := &simV{id: VCPUID(i)}
		switch rng.Intn(3) {
		case 0:
			v.kind = hog
		case 1:
			v.kind = periodic
			v.every = ms + uint64(rng.Int63n(int64(50*ms)))
			v.work = 50*us + uint64(rng.Int63n(int64(v.every/2)))
			v.phase = uint64(rng.Int63n(int64(v.every)))
		case 2:
			v.kind = bursty
			v.bmin, v.bmax = 100*us, 100*us+uint64(rng.Int63n(int64(40*ms)))
			v.smin, v.smax = 100*us, 100*us+uint64(rng.Int63n(int64(60*ms)))
		}
		cap := 0
		if capped && rng.Intn(2) == 0 {
			cap = 5 + rng.Intn(96)
		}
		m.add(v, DomID(1+rng.Intn(n)), randomWeight(rng), cap)
	}
	return m
}

func randomWeight(rng *rand.Rand) int {
	if rng.Intn(4) == 0 {
		return 1 + rng.Intn(MaxWeight)
	}
	return []int{64, 128, 256, 512, 1024}[rng.Intn(5)]
}

// A runnable UNDER vCPU never waits longer than the number of runnable
// vCPUs on its CPU times the slice, whatever the weights and the
// block/wake pattern, with or without boost and preemption.
func TestStarvation(t *testing.T) {
	seeds := 200
	if testing.Short() {
		seeds = 30
	}
	var worst, worstN1 float64
	waits := 0
	for seed := int64(1); seed <= int64(seeds); seed++ {
		m := randomSim(t, seed, false)
		for step := 0; step < 20; step++ {
			m.run(m.now + 100*ms)
			// Weights change at run time too.
			if m.rng.Intn(3) == 0 {
				v := m.vs[m.rng.Intn(len(m.vs))]
				st, _ := m.s.VCPU(v.id)
				must(t, m.s.SetParams(st.Dom, randomWeight(m.rng), 0))
			}
		}
		for _, v := range m.vs {
			waits += v.nUnderWaitsNonEmpty
			if v.underViolations > 0 {
				t.Errorf("seed %d: vCPU %d (kind %d) waited as UNDER beyond N×slice %d times; worst: %s",
					seed, v.id, v.kind, v.underViolations, v.underWorst)
			}
			worst = max(worst, v.underMaxRatio)
			if v.underN1Violations > 0 {
				worstN1++
			}
		}
		checkTimes(t, m)
	}
	t.Logf("%d seeds, %d UNDER waits: the longest was %.2f × (N × slice); vCPUs that ever waited beyond (N-1) × slice: %.0f",
		seeds, waits, worst, worstN1)
	if waits < 1000 {
		t.Errorf("only %d UNDER waits observed", waits)
	}
}

// With caps as well the invariants hold, Pick never returns what it must
// not, and no capped domain runs beyond its cap.
func TestRandomWithCaps(t *testing.T) {
	seeds := 100
	if testing.Short() {
		seeds = 20
	}
	var worst float64
	for seed := int64(1); seed <= int64(seeds); seed++ {
		m := randomSim(t, 1000+seed, true)
		periods := uint64(0)
		for step := 0; step < 10; step++ {
			m.run(m.now + 90*ms)
			periods += 3
			switch v := m.vs[m.rng.Intn(len(m.vs))]; m.rng.Intn(6) {
			case 0:
				if !v.paused {
					m.pause(v)
				}
			case 1:
				if v.paused {
					m.unpause(v)
				}
			}
		}
		checkTimes(t, m)
		for _, v := range m.vs {
			worst = max(worst, v.underMaxRatio)
		}
		for id := range m.s.doms {
			st := m.s.Stats(id)
			if st.Cap == 0 {
				continue
			}
			limit := uint64(st.Cap)*m.s.cfg.Period/100*periods + uint64(len(m.cpus))*m.s.cfg.Slice
			if st.CPUTime > limit {
				t.Errorf("seed %d: domain %d capped at %d%% ran %d us in %d periods, limit %d us",
					seed, id, st.Cap, st.CPUTime/us, periods, limit/us)
			}
		}
	}
	// Not a requirement with caps, but worth knowing.
	t.Logf("with caps, the longest UNDER wait was %.2f × (N × slice)", worst)
}

// checkTimes compares the scheduler's accounts with the simulation's and
// checks that no CPU ran more than the time simulated.
func checkTimes(t *testing.T, m *sim) {
	t.Helper()
	byDom := make(map[DomID]uint64)
	perCPU := make([]uint64, len(m.cpus))
	for _, v := range m.vs {
		st, ok := m.s.VCPU(v.id)
		if !ok {
			continue
		}
		if st.CPUTime != v.ran {
			t.Errorf("vCPU %d: the scheduler counts %d ns, it ran %d", v.id, st.CPUTime, v.ran)
		}
		byDom[st.Dom] += v.ran
		perCPU[st.CPU] += v.ran
	}
	for d, ran := range byDom {
		if st := m.s.Stats(d); st.CPUTime != ran {
			t.Errorf("domain %d: Stats %d ns, its vCPUs ran %d", d, st.CPUTime, ran)
		}
	}
	for i, ran := range perCPU {
		if ran+m.cpus[i].idle != m.now {
			t.Errorf("cpu%d: ran %d + idle %d != %d", i, ran, m.cpus[i].idle, m.now)
		}
	}
}
