package sched

import (
	"errors"
	"fmt"
	"math/rand"
	"testing"
)

// Three CPU-bound vCPUs with weights 1:1:2 share one CPU 25/25/50.
func TestWeightShares(t *testing.T) {
	for _, tc := range []struct {
		name string
		cfg  Config
	}{
		{"10ms slices", testConfig()},
		{"30ms slices", Config{Period: 30 * ms, Slice: 30 * ms}},
		{"Xen credits", Config{Period: 30 * ms, Slice: 10 * ms, Credit: 300}},
		{"no boost", Config{Period: 30 * ms, Slice: 10 * ms, NoBoost: true}},
		{"odd period", Config{Period: 27*ms + 13, Slice: 7*ms + 5}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m := newSim(t, 1, tc.cfg)
			m.hog(1, 256, 0)
			m.hog(2, 256, 0)
			m.hog(3, 512, 0)
			m.run(10 * s1)
			got := shares(snapshot(m.vs), 10*s1)
			checkShares(t, "1:1:2 over 10 s", got, []float64{25, 25, 50}, 2)
			for _, v := range m.vs {
				if st := m.s.Stats(DomID(v.id)); st.CPUTime != v.ran {
					t.Errorf("domain %d: Stats says %d ticks, it ran %d", v.id, st.CPUTime, v.ran)
				}
			}
			if idle := m.cpus[0].idle; idle != 0 {
				t.Errorf("the CPU idled %d ns with three hogs", idle)
			}
		})
	}
}

// Three hogs 1:1:2 are added while another vCPU runs for several periods
// (as dom0 creates domains in a hypercall), so that the accounting catches
// up on several periods at once and they start with as much credit as they
// may hold. They still share the CPU 25/25/50, beside a dom0 that then wakes
// every 20 ms for 0.2 ms or without it. (Every vCPU used to hold more than a
// slice of credit for ever then, and the hogs ran in equal turns: 33/33/33.)
func TestAddedWhileRunning(t *testing.T) {
	for _, withDom0 := range []bool{false, true} {
		for _, noPreempt := range []bool{false, true} {
			t.Run(fmt.Sprintf("dom0=%v,noPreempt=%v", withDom0, noPreempt), func(t *testing.T) {
				m := newSim(t, 1, testConfig())
				m.noPreempt = noPreempt
				dom0 := m.hog(10, 256, 0)
				var hogs []*simV
				for i, w := range []int{256, 256, 512} {
					// What Pick returns runs 100 ms, past its slice,
					// and a hog is added meanwhile.
					id, _, ok := m.s.Pick(0, m.now)
					if !ok {
						t.Fatal("nothing to run")
					}
					m.now += 100 * ms
					hogs = append(hogs, m.hog(VCPUID(i+1), w, 0))
					m.byID[id].ran += 100 * ms
					m.s.Charge(0, id, 100*ms, m.now)
				}
				if withDom0 {
					dom0.kind, dom0.every, dom0.work = periodic, 20*ms, 200*us
					dom0.blocked, dom0.wakeAt = true, m.now+20*ms
					m.s.Block(dom0.id, m.now)
				} else {
					m.remove(dom0)
				}
				before, start := snapshot(hogs), m.now
				m.run(start + 3*s1)
				got := ranSince(hogs, before)
				checkShares(t, "hogs 1:1:2 added while a vCPU ran", shares(got, got[0]+got[1]+got[2]), []float64{25, 25, 50}, 2)
				// It starts in debt from the long run above, so
				// it is not boosted at first.
				if withDom0 && dom0.nWaits < 140 {
					t.Errorf("dom0 ran %d times in 3 s, want about 150", dom0.nWaits)
				}
			})
		}
	}
}

// Whatever credit busy vCPUs start with, the shares follow the weights
// within a few periods: from the most credit a vCPU may hold (every vCPU
// above a slice: they used to run in equal turns for ever), from the floor
// (every vCPU OVER: equal turns too), and from random credit. Three
// periods to settle, ten with slices as long as the period, which take
// whole periods in turn.
func TestConvergence(t *testing.T) {
	for _, cfg := range []Config{
		testConfig(),
		{Period: 30 * ms, Slice: 30 * ms},
		{Period: 30 * ms, Slice: 10 * ms, Credit: 300},
		{Period: 30 * ms, Slice: 2 * ms},
	} {
		for _, weights := range [][]int{{256, 256, 512}, {256, 768}, {100, 200, 300, 400}, {256, 256, 256, 512, 1024}} {
			for _, start := range []string{"full", "floor", "random"} {
				m := newSim(t, 1, cfg)
				var sum float64
				for i, w := range weights {
					m.hog(VCPUID(i+1), w, 0)
					sum += float64(w)
				}
				rng := rand.New(rand.NewSource(5))
				for _, v := range m.vs {
					switch c := &m.s.vcpus[v.id].credit; start {
					case "full":
						*c = maxCredit
					case "floor":
						*c = m.s.floor
					case "random":
						*c = rng.Int63n(4 * int64(m.s.cfg.Credit))
					}
				}
				want := make([]float64, len(weights))
				for i, w := range weights {
					want[i] = 100 * float64(w) / sum
				}
				settle := 3 * m.s.cfg.Period
				if cfg.Slice == cfg.Period {
					settle = 10 * m.s.cfg.Period
				}
				m.run(settle)
				before, begin := snapshot(m.vs), m.now
				m.run(begin + 1200*ms)
				checkShares(t, fmt.Sprintf("slice %d ms, credit %d, weights %v, from %s credit", cfg.Slice/ms, cfg.Credit, weights, start),
					shares(ranSince(m.vs, before), m.now-begin), want, 2)
			}
		}
	}

	// Period by period, from the second one on.
	m := newSim(t, 1, testConfig())
	m.hog(1, 256, 0)
	m.hog(2, 256, 0)
	m.hog(3, 512, 0)
	for _, v := range m.vs {
		m.s.vcpus[v.id].credit = maxCredit
	}
	period := m.s.cfg.Period
	for p := range 20 {
		before, begin := snapshot(m.vs), m.now
		m.run(begin + period)
		if p > 0 {
			checkShares(t, fmt.Sprintf("from full credit, period %d", p), shares(ranSince(m.vs, before), period), []float64{25, 25, 50}, 2)
		}
	}
}

// Hogs beside an I/O-bound vCPU of a heavier weight that uses 5% of the
// CPU share the rest by their weights, since the credit the I/O vCPU does
// not use goes to them by weight: 1:2 beside a weight of 4, and 1:1:4 beside
// one of 256, whose fair share of a period is all but all of it (the hogs'
// ceilings follow what they are given, not their fair shares, or they would
// all be full and run in equal turns).
func TestBusyKeepRatios(t *testing.T) {
	for _, tc := range []struct {
		hogs []int
		io   int
		want []float64
	}{
		{[]int{256, 512}, 1024, []float64{95.0 / 3, 190.0 / 3, 5}},
		{[]int{64, 64, 256}, 16384, []float64{95.0 / 6, 95.0 / 6, 190.0 / 3, 5}},
	} {
		for _, slice := range []uint64{10 * ms, 2 * ms} {
			m := newSim(t, 1, Config{Period: 30 * ms, Slice: slice})
			for i, w := range tc.hogs {
				m.hog(VCPUID(i+1), w, 0)
			}
			io := VCPUID(len(tc.hogs) + 1)
			m.add(&simV{id: io, kind: periodic, every: 5 * ms, work: 250 * us}, DomID(io), tc.io, 0)
			m.run(10 * s1)
			checkShares(t, fmt.Sprintf("hogs %v beside a 5%% I/O vCPU of weight %d, slice %d ms", tc.hogs, tc.io, slice/ms),
				shares(snapshot(m.vs), 10*s1), tc.want, 1)
		}
	}
}

// More weight patterns, including many vCPUs on one CPU.
func TestWeightSharesMany(t *testing.T) {
	for _, weights := range [][]int{
		{256, 768},
		{1, 65535},
		{100, 200, 300, 400},
		{256, 256, 256, 256, 256, 256, 256, 256, 256, 256, 512, 512, 512, 512, 512, 1024, 1024, 1024, 2048, 2048},
	} {
		m := newSim(t, 1, testConfig())
		var sum float64
		for i, w := range weights {
			m.hog(VCPUID(i+1), w, 0)
			sum += float64(w)
		}
		m.run(10 * s1)
		want := make([]float64, len(weights))
		for i, w := range weights {
			want[i] = 100 * float64(w) / sum
		}
		checkShares(t, "weights", shares(snapshot(m.vs), 10*s1), want, 2)
	}
}

// A domain capped at 25% gets 25% even alone; the CPU idles the rest, and
// Pick says until when.
// Caps are per period: the tests that check them run for whole periods.
const capRun = 333 * 30 * ms

func TestCapAlone(t *testing.T) {
	m := newSim(t, 1, testConfig())
	m.hog(1, 256, 25)
	m.run(capRun)
	got := shares(snapshot(m.vs), capRun)
	slice := 100 * float64(m.s.cfg.Slice) / float64(capRun)
	t.Logf("capped at 25%% alone: %.3f%% (idle %.3f%%), parked %d times", got[0], 100*float64(m.cpus[0].idle)/float64(capRun), m.s.Stats(1).Parks)
	if got[0] > 25+slice || got[0] < 24 {
		t.Errorf("capped at 25%% alone, got %.3f%%", got[0])
	}
	if m.s.Stats(1).Parks == 0 {
		t.Error("never parked")
	}
}

// Two domains capped at 30% and uncapped; then a heavy capped domain.
func TestCaps(t *testing.T) {
	m := newSim(t, 1, testConfig())
	m.hog(1, 256, 30)
	m.hog(2, 256, 0)
	m.run(capRun)
	checkShares(t, "caps 30 and 0", shares(snapshot(m.vs), capRun), []float64{30, 70}, 2)
	if got := shares(snapshot(m.vs), capRun); got[0] > 30+100*float64(m.s.cfg.Slice)/float64(capRun) {
		t.Errorf("capped domain above its cap: %.3f%%", got[0])
	}

	m = newSim(t, 1, testConfig())
	m.hog(1, 1024, 30)
	m.hog(2, 256, 0)
	m.hog(3, 256, 0)
	m.run(capRun)
	checkShares(t, "weight 4 capped at 30, 1, 1", shares(snapshot(m.vs), capRun), []float64{30, 35, 35}, 2)

	// A cap above what the weight gives does nothing.
	m = newSim(t, 1, testConfig())
	m.hog(1, 256, 80)
	m.hog(2, 256, 0)
	m.run(capRun)
	checkShares(t, "caps 80 and 0", shares(snapshot(m.vs), capRun), []float64{50, 50}, 2)

	// Two vCPUs of one domain share its cap.
	m = newSim(t, 1, testConfig())
	m.add(&simV{id: 1, kind: hog}, 7, 256, 40)
	m.add(&simV{id: 2, kind: hog}, 7, 256, 40)
	m.hog(3, 256, 0)
	m.run(capRun)
	checkShares(t, "domain of two vCPUs capped at 40, and one uncapped", shares(snapshot(m.vs), capRun), []float64{20, 20, 60}, 2)
}

// Blocked vCPUs take no CPU time and no share of the credit.
func TestBlockedTakeNothing(t *testing.T) {
	m := newSim(t, 1, testConfig())
	m.hog(1, 256, 0)
	m.hog(2, 512, 0)
	sleeper := m.add(&simV{id: 3, kind: periodic, every: 100 * s1, work: ms}, 3, 65535, 0)
	m.run(10 * s1)
	if sleeper.ran != 0 {
		t.Errorf("blocked vCPU ran %d ns", sleeper.ran)
	}
	checkShares(t, "1:2 with a blocked heavyweight", shares(snapshot(m.vs), 10*s1), []float64{100.0 / 3, 200.0 / 3, 0}, 2)
	if st, _ := m.s.VCPU(3); st.State != Blocked {
		t.Errorf("sleeper is %v", st.State)
	}
}

// A vCPU that wakes every 5 ms for 0.1 ms is picked at once, by boost, while
// two hogs run; without boost it waits for them.
func TestBoostLatency(t *testing.T) {
	for _, tc := range []struct {
		name      string
		noBoost   bool
		noPreempt bool
		maxWait   uint64 // the longest wait allowed
		meanWait  uint64 // the longest mean wait allowed
	}{
		// Wake's preemption hint honoured: the boosted vCPU runs at once.
		{"boost, preempting", false, false, 0, 0},
		// Only at slice ends: it waits for the running slice to end,
		// never behind the other hog.
		{"boost, at slice ends", false, true, 10 * ms, 10 * ms},
		// Without boost it is UNDER and preempts the hogs only when
		// they are OVER; else it queues behind them.
		{"no boost, preempting", true, false, 20 * ms, 10 * ms},
		{"no boost, at slice ends", true, true, 20 * ms, 10 * ms},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := testConfig()
			cfg.NoBoost = tc.noBoost
			m := newSim(t, 1, cfg)
			m.noPreempt = tc.noPreempt
			h1 := m.hog(1, 256, 0)
			h2 := m.hog(2, 256, 0)
			io := m.add(&simV{id: 3, kind: periodic, every: 5 * ms, work: 100 * us, phase: 1*ms + 300*us}, 3, 256, 0)
			m.run(10 * s1)
			mean := io.sumWait / uint64(io.nWaits)
			t.Logf("I/O vCPU: %d wakes, wait mean %d us, max %d us; CPU %.2f%%, hogs %.2f%% and %.2f%%; boosted %d times",
				io.nWaits, mean/us, io.maxWait/us, 100*float64(io.ran)/float64(10*s1),
				100*float64(h1.ran)/float64(10*s1), 100*float64(h2.ran)/float64(10*s1), m.s.Stats(3).Boosts)
			// A wake that comes while it still waits is lost, so
			// only a vCPU that runs promptly wakes 2000 times.
			if !tc.noPreempt && (io.nWaits < 1990 || io.ran < 10*s1/50-ms) {
				t.Errorf("the I/O vCPU woke %d times in 10 s and ran %d ns, want 2000 times and 2%%", io.nWaits, io.ran)
			}
			if io.maxWait > tc.maxWait || mean > tc.meanWait {
				t.Errorf("I/O vCPU waits up to %d us, mean %d us; want at most %d us, mean %d us", io.maxWait/us, mean/us, tc.maxWait/us, tc.meanWait/us)
			}
			if d := int64(h1.ran) - int64(h2.ran); d > int64(s1/20) || d < -int64(s1/20) {
				t.Errorf("hogs unequal: %d and %d ns", h1.ran, h2.ran)
			}
		})
	}
}

// A weight changed at run time takes effect within a few periods.
func TestWeightChange(t *testing.T) {
	m := newSim(t, 1, testConfig())
	m.hog(1, 256, 0)
	m.hog(2, 256, 0)
	m.run(3 * s1)
	checkShares(t, "before", shares(snapshot(m.vs), 3*s1), []float64{50, 50}, 2)
	if err := m.s.SetParams(1, 768, 0); err != nil {
		t.Fatal(err)
	}
	// Period by period: after a few, the new ratio holds.
	period := m.s.cfg.Period
	settled := -1
	for p := range 10 {
		before := snapshot(m.vs)
		start := m.now
		m.run(start + period)
		got := shares(ranSince(m.vs, before), m.now-start)
		if d := got[0] - 75; settled < 0 && d < 5 && d > -5 {
			settled = p + 1
		}
	}
	t.Logf("weight 256 -> 768 took effect in period %d after the change", settled)
	if settled < 0 || settled > 3 {
		t.Errorf("weight change took effect after %d periods", settled)
	}
	before := snapshot(m.vs)
	start := m.now
	m.run(start + 3*s1)
	checkShares(t, "after 3:1", shares(ranSince(m.vs, before), m.now-start), []float64{75, 25}, 2)
	if st := m.s.Stats(1); st.Weight != 768 {
		t.Errorf("Stats weight %d", st.Weight)
	}
	// And a cap set at run time.
	if err := m.s.SetParams(2, 256, 10); err != nil {
		t.Fatal(err)
	}
	before, start = snapshot(m.vs), m.now
	m.run(start + 3*s1)
	checkShares(t, "after capping the light one at 10", shares(ranSince(m.vs, before), m.now-start), []float64{90, 10}, 2)
	if err := m.s.SetParams(2, 256, 0); err != nil {
		t.Fatal(err)
	}
	before, start = snapshot(m.vs), m.now
	m.run(start + 3*s1)
	checkShares(t, "after uncapping it", shares(ranSince(m.vs, before), m.now-start), []float64{75, 25}, 2)
}

// vCPUs added and removed at run time.
func TestAddRemove(t *testing.T) {
	m := newSim(t, 1, testConfig())
	a := m.hog(1, 256, 0)
	m.hog(2, 256, 0)
	m.run(2 * s1)
	m.hog(3, 256, 0)
	before, start := snapshot(m.vs), m.now
	m.run(start + 3*s1)
	checkShares(t, "after adding a third", shares(ranSince(m.vs, before), m.now-start), []float64{100.0 / 3, 100.0 / 3, 100.0 / 3}, 2)

	// Remove the running one, then one that is queued.
	m.run(m.now + 5*ms)
	m.resume()
	var running *simV
	for _, v := range m.vs {
		if st, _ := m.s.VCPU(v.id); st.State == Running {
			running = v
		}
	}
	if running == nil {
		t.Fatal("nothing runs")
	}
	m.remove(running)
	if err := m.s.check(); err != nil {
		t.Fatal(err)
	}
	if _, ok := m.s.VCPU(running.id); ok {
		t.Fatal("removed vCPU still known")
	}
	if st := m.s.Stats(DomID(running.id)); st != (DomStats{}) {
		t.Errorf("removed domain has stats %+v", st)
	}
	before, start = snapshot(m.vs), m.now
	m.run(start + 3*s1)
	got := ranSince(m.vs, before)
	var rest []float64
	for i, v := range m.vs {
		if !v.removed {
			rest = append(rest, 100*float64(got[i])/float64(m.now-start))
		}
	}
	checkShares(t, "after removing the running one", rest, []float64{50, 50}, 2)
	for _, v := range m.vs {
		if !v.removed && v != a {
			m.remove(v)
		}
	}
	if !a.removed {
		before, start = snapshot(m.vs), m.now
		m.run(start + s1)
		if got := ranSince(m.vs, before); got[0] != s1 {
			t.Errorf("last vCPU alone got %d of %d ns", got[0], s1)
		}
	}
	// Removing everything leaves an idle CPU; IDs can be reused.
	for _, v := range m.vs {
		if !v.removed {
			m.remove(v)
		}
	}
	if _, _, ok := m.s.Pick(0, m.now); ok {
		t.Error("Pick found work after every vCPU was removed")
	}
	if err := m.s.Add(1, 1, 256, 0); err != nil {
		t.Errorf("reusing an ID: %v", err)
	}
}

// Paused vCPUs neither run nor block; Unpause brings them back.
func TestPause(t *testing.T) {
	m := newSim(t, 1, testConfig())
	a := m.hog(1, 256, 0)
	m.hog(2, 256, 0)
	m.run(s1 + 3*ms) // a slice is under way
	m.pause(a)
	if st, _ := m.s.VCPU(1); st.State != Paused {
		t.Errorf("paused vCPU is %v", st.State)
	}
	before, start := snapshot(m.vs), m.now
	m.run(start + 2*s1)
	got := ranSince(m.vs, before)
	if got[0] != 0 || got[1] != 2*s1 {
		t.Errorf("while paused: %d and %d ns", got[0], got[1])
	}
	m.unpause(a)
	before, start = snapshot(m.vs), m.now
	m.run(start + 3*s1)
	checkShares(t, "after unpause", shares(ranSince(m.vs, before), m.now-start), []float64{50, 50}, 2)

	// Pause and block are independent: a paused vCPU that is woken stays
	// off the CPU until unpaused.
	s := New(1, testConfig())
	must(t, s.Add(1, 1, 256, 0))
	s.Block(1, 0)
	s.Pause(1)
	if s.Wake(1, 0) {
		t.Error("waking a paused vCPU asks to preempt")
	}
	if st, _ := s.VCPU(1); st.State != Paused {
		t.Errorf("woken paused vCPU is %v", st.State)
	}
	if _, _, ok := s.Pick(0, 0); ok {
		t.Error("picked a paused vCPU")
	}
	if !s.Unpause(1) {
		t.Error("unpausing on an idle CPU does not ask for a Pick")
	}
	if v, _, ok := s.Pick(0, 0); !ok || v != 1 {
		t.Error("unpaused vCPU not picked")
	}
	// Paused while blocked, unpaused: still blocked.
	s.Charge(0, 1, ms, ms)
	s.Block(1, ms)
	s.Pause(1)
	s.Unpause(1)
	if st, _ := s.VCPU(1); st.State != Blocked {
		t.Errorf("unpaused blocked vCPU is %v", st.State)
	}
	must(t, s.check())
}

// Pick reports an idle CPU when every vCPU is blocked or capped, and when
// capped, the time until the next period boundary.
func TestIdle(t *testing.T) {
	cfg := testConfig()
	s := New(1, cfg)
	if _, slice, ok := s.Pick(0, 0); ok || slice != 0 {
		t.Errorf("empty scheduler: ok=%v slice=%d", ok, slice)
	}
	must(t, s.Add(1, 1, 256, 0))
	must(t, s.Add(2, 2, 256, 0))
	s.Block(1, 0)
	s.Block(2, 0)
	if _, slice, ok := s.Pick(0, 0); ok || slice != 0 {
		t.Errorf("all blocked: ok=%v slice=%d", ok, slice)
	}
	if !s.Wake(2, 4*ms) {
		t.Error("a wake on an idle CPU does not ask for a Pick")
	}
	if v, _, ok := s.Pick(0, 4*ms); !ok || v != 2 {
		t.Errorf("after a wake: %d %v", v, ok)
	}
	s.Charge(0, 2, ms, 5*ms)
	s.Block(2, 5*ms)

	// A capped domain: 20% of a 30 ms period is 6 ms.
	must(t, s.Add(3, 3, 256, 20))
	now := 31 * ms
	v, slice, ok := s.Pick(0, now)
	if !ok || v != 3 || slice != 6*ms {
		t.Fatalf("capped vCPU: %d %d %v, want 3 6000000 true", v, slice, ok)
	}
	now += slice
	s.Charge(0, v, slice, now)
	_, slice, ok = s.Pick(0, now)
	if ok || slice != 60*ms-now {
		t.Errorf("capped out at %d: ok=%v slice=%d, want idle for %d", now, ok, slice, 60*ms-now)
	}
	if st, _ := s.VCPU(3); st.State != Parked {
		t.Errorf("capped vCPU is %v", st.State)
	}
	now += slice
	if v, slice, ok = s.Pick(0, now); !ok || v != 3 || slice != 6*ms {
		t.Errorf("next period: %d %d %v", v, slice, ok)
	}
	must(t, s.check())
}

// Two CPUs: each has its own queue and accounting; a domain's cap spans both.
func TestTwoCPUs(t *testing.T) {
	m := newSim(t, 2, testConfig())
	// Placement alternates: 1 and 3 on cpu0, 2 and 4 on cpu1.
	m.hog(1, 256, 0)
	m.hog(2, 256, 0)
	m.hog(3, 768, 0)
	m.hog(4, 256, 0)
	for id, want := range map[VCPUID]int{1: 0, 2: 1, 3: 0, 4: 1} {
		if st, _ := m.s.VCPU(id); st.CPU != want {
			t.Errorf("vCPU %d on cpu%d, want cpu%d", id, st.CPU, want)
		}
	}
	m.run(10 * s1)
	got := shares(snapshot(m.vs), 10*s1) // of one CPU
	checkShares(t, "cpu0 1:3, cpu1 1:1", got, []float64{25, 50, 75, 50}, 2)
	for _, c := range m.cpus {
		if c.idle != 0 {
			t.Errorf("cpu%d idled %d ns", c.idx, c.idle)
		}
	}

	// A domain with a vCPU on each CPU, capped at half a CPU in all, next to
	// a hog on each CPU.
	m = newSim(t, 2, testConfig())
	m.add(&simV{id: 1, kind: hog}, 9, 256, 50)
	m.add(&simV{id: 2, kind: hog}, 9, 256, 50)
	m.hog(3, 256, 0)
	m.hog(4, 256, 0)
	m.run(capRun)
	got = shares(snapshot(m.vs), capRun)
	t.Logf("domain capped at 50%% over two CPUs: %.2f%% + %.2f%% = %.2f%% of one CPU; hogs %.2f%% and %.2f%%",
		got[0], got[1], got[0]+got[1], got[2], got[3])
	if total := got[0] + got[1]; total > 50+100*float64(m.s.cfg.Slice)/float64(capRun) || total < 48 {
		t.Errorf("capped domain got %.2f%% of a CPU over two CPUs, want 50%%", total)
	}
	checkShares(t, "hogs beside it", got[2:], []float64{75, 75}, 2)

	// Accounting on one CPU does not touch the other's queue: block all of
	// cpu1, cpu0 keeps running.
	s := New(2, testConfig())
	for id := VCPUID(1); id <= 4; id++ {
		must(t, s.Add(id, DomID(id), 256, 0))
	}
	s.Block(2, 0)
	s.Block(4, 0)
	if _, _, ok := s.Pick(1, 0); ok {
		t.Error("cpu1 found work with its vCPUs blocked")
	}
	for now := uint64(0); now < s1; now += 10 * ms {
		v, slice, ok := s.Pick(0, now)
		if !ok || (v != 1 && v != 3) {
			t.Fatalf("cpu0 picked %d %v", v, ok)
		}
		s.Charge(0, v, min(slice, 10*ms), now+min(slice, 10*ms))
	}
	if s.Stats(2).CPUTime != 0 || s.Stats(4).CPUTime != 0 {
		t.Error("blocked vCPUs of cpu1 were charged")
	}
	// Out-of-range CPUs do nothing.
	if _, _, ok := s.Pick(2, 0); ok {
		t.Error("Pick on cpu2 of 2")
	}
	s.Charge(-1, 1, 1, 1)
	must(t, s.check())
}

func TestParams(t *testing.T) {
	s := New(2, testConfig())
	for _, tc := range []struct {
		weight, cap int
		err         error
	}{
		{0, 0, ErrWeight},
		{65536, 0, ErrWeight},
		{-1, 0, ErrWeight},
		{1, -1, ErrCap},
		{1, 201, ErrCap},
		{1, 200, nil},
		{65535, 0, nil},
	} {
		err := s.Add(VCPUID(tc.weight+1000*tc.cap+100000), 1, tc.weight, tc.cap)
		if !errors.Is(err, tc.err) {
			t.Errorf("Add weight %d cap %d: %v, want %v", tc.weight, tc.cap, err, tc.err)
		}
	}
	must(t, s.Add(1, 2, 256, 0))
	if err := s.Add(1, 2, 256, 0); !errors.Is(err, ErrExists) {
		t.Errorf("adding twice: %v", err)
	}
	if err := s.SetParams(99, 256, 0); !errors.Is(err, ErrNoDomain) {
		t.Errorf("SetParams on no domain: %v", err)
	}
	if err := s.SetParams(2, 0, 0); !errors.Is(err, ErrWeight) {
		t.Errorf("SetParams weight 0: %v", err)
	}
	// Add for an existing domain sets its parameters.
	must(t, s.Add(2, 2, 512, 50))
	if st := s.Stats(2); st.Weight != 512 || st.Cap != 50 || st.VCPUs != 2 {
		t.Errorf("domain 2: %+v", st)
	}
	// Unknown vCPUs are ignored.
	s.Remove(77)
	s.Block(77, 0)
	s.Pause(77)
	if s.Wake(77, 0) || s.Unpause(77) {
		t.Error("unknown vCPU asks to preempt")
	}
	s.Charge(0, 77, 5, 5)
	if _, ok := s.VCPU(77); ok {
		t.Error("unknown vCPU described")
	}
	must(t, s.check())
}

func TestConfig(t *testing.T) {
	for _, c := range []Config{
		{},
		{Period: 99, Slice: 10},
		{Period: 1000, Slice: 0},
		{Period: 1000, Slice: 1001},
		{Period: 1000, Slice: 100, Credit: 1<<40 + 1},
		{Period: 1000, Slice: 100, BoostSlice: 101},
		{Period: 1000, Slice: 100, BoostSlice: 20, MinSlice: 21},
	} {
		if c.Validate() == nil {
			t.Errorf("%+v accepted", c)
		}
	}
	c := DefaultConfig(1_000_000_000)
	if c.Validate() != nil || c.Period != 30*ms || c.Slice != 10*ms {
		t.Errorf("default config %+v", c)
	}
	full := New(1, c).Config()
	if full.Credit != 30*ms || full.BoostSlice != 2500*us || full.MinSlice != ms {
		t.Errorf("defaults filled in: %+v", full)
	}
	// The smallest legal configuration works.
	s := New(1, Config{Period: 100, Slice: 1})
	must(t, s.Add(1, 1, 1, 1))
	must(t, s.Add(2, 2, 65535, 0))
	now := uint64(0)
	for range 1000 {
		v, slice, ok := s.Pick(0, now)
		if !ok {
			now += max(slice, 1)
			continue
		}
		now += slice
		s.Charge(0, v, slice, now)
	}
	must(t, s.check())
	defer func() {
		if recover() == nil {
			t.Error("New with no CPUs did not panic")
		}
	}()
	New(0, c)
}

func TestStrings(t *testing.T) {
	for _, x := range []interface{ String() string }{Runnable, Running, Blocked, Paused, Parked, State(9), Over, Under, Boost, Prio(7)} {
		if x.String() == "" {
			t.Errorf("%#v has no name", x)
		}
	}
}

func must(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}
