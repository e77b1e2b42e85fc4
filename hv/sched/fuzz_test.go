package sched

import (
	"encoding/binary"
	"testing"
)

// FuzzOps runs random sequences of operations against a scheduler and a
// shadow model of what each vCPU may be. It checks that nothing panics, that
// the invariants hold after every operation (a vCPU is in at most one queue,
// queued exactly when runnable and not running, ...), and that Pick never
// returns a blocked, paused or removed vCPU, nor one of another CPU, and
// idles only when every vCPU of the CPU is blocked, paused or parked.
//
//	go test -run '^$' -fuzz FuzzOps -fuzztime 20s -fuzzminimizetime 5s ./hv/sched/
func FuzzOps(f *testing.F) {
	f.Add([]byte{0, 0, 1, 1, 1, 0, 0, 7, 0, 8, 0, 50, 7, 0, 3, 1, 7, 0, 2, 1, 7, 0})
	f.Add([]byte{1, 0, 1, 1, 2, 0, 30, 0, 2, 2, 0, 0, 0, 7, 1, 8, 1, 90, 9, 5, 7, 1, 4, 2, 7, 1, 5, 2, 10, 40})
	f.Add([]byte{0, 0, 3, 3, 255, 255, 0, 0, 4, 4, 1, 0, 10, 10, 10, 10, 6, 3, 0, 1, 200, 10, 200, 1, 3, 10, 3})
	f.Add([]byte{1, 0, 1, 1, 1, 0, 25, 0, 2, 2, 1, 0, 100, 10, 90, 7, 0, 7, 1, 9, 200, 10, 90, 6, 1, 1, 0, 0, 10, 90})
	f.Fuzz(fuzzOps)
}

func fuzzOps(t *testing.T, data []byte) {
	if len(data) == 0 {
		return
	}
	r := &reader{data: data}
	cpus := 1 + int(r.byte()%2)
	cfg := testConfig()
	switch r.byte() % 4 {
	case 1:
		cfg = Config{Period: 100, Slice: 1 + uint64(r.byte())%100}
	case 2:
		cfg = Config{Period: 30 * ms, Slice: 10 * ms, Credit: 300, NoBoost: true}
	case 3:
		// Coarse credit over a long period: conversions at their limits.
		cfg = Config{Period: 1 << 60, Slice: 1 << (50 + r.byte()%11), Credit: 1 + uint64(r.byte()%4)}
	}
	s := New(cpus, cfg)
	cfg = s.Config()

	type shadow struct{ blocked, paused bool }
	vs := make(map[VCPUID]*shadow)
	current := make([]VCPUID, cpus)
	running := make([]bool, cpus)
	now := uint64(0)
	tick := func() uint64 {
		// Time mostly moves forward; sometimes a caller's clock
		// lags, which the scheduler must tolerate.
		switch b := r.byte(); {
		case b < 200:
			now += uint64(b) * cfg.Slice / 50
		case b < 250:
			now += uint64(b-199) * cfg.Period
		default:
			return now - min(now, cfg.Slice)
		}
		return now
	}
	for !r.done() {
		id := VCPUID(r.byte() % 8)
		switch op := r.byte() % 11; op {
		case 0:
			dom := DomID(r.byte() % 4)
			weight := int(r.uint16())
			cap := int(r.byte())
			err := s.Add(id, dom, weight, cap)
			valid := weight >= 1 && weight <= MaxWeight && cap <= 100*cpus
			_, exists := vs[id]
			if (err == nil) != (valid && !exists) {
				t.Fatalf("Add(%d, %d, %d, %d) = %v; valid %v, exists %v", id, dom, weight, cap, err, valid, exists)
			}
			if err == nil {
				vs[id] = &shadow{}
			}
		case 1:
			s.Remove(id)
			delete(vs, id)
			for c := range current {
				if running[c] && current[c] == id {
					running[c] = false
				}
			}
		case 2:
			s.Wake(id, tick())
			if v := vs[id]; v != nil {
				v.blocked = false
			}
		case 3:
			s.Block(id, tick())
			if v := vs[id]; v != nil {
				v.blocked = true
			}
		case 4:
			s.Pause(id)
			if v := vs[id]; v != nil {
				v.paused = true
			}
		case 5:
			s.Unpause(id)
			if v := vs[id]; v != nil {
				v.paused = false
			}
		case 6:
			dom := DomID(r.byte() % 4)
			_ = s.SetParams(dom, int(r.uint16()), int(r.byte()))
		case 7, 10:
			cpu := int(r.byte()) % cpus
			n := 1
			if op == 10 {
				n = 1 + int(r.byte()%64)
			}
			for range n {
				at := tick()
				v, slice, ok := s.Pick(cpu, at)
				running[cpu] = ok
				current[cpu] = v
				if !ok {
					for w, sh := range vs {
						st, _ := s.VCPU(w)
						if st.CPU == cpu && !sh.blocked && !sh.paused && st.State != Parked {
							t.Fatalf("cpu%d idles while vCPU %d is %v", cpu, w, st.State)
						}
					}
					break
				}
				sh := vs[v]
				switch {
				case sh == nil:
					t.Fatalf("Pick returned vCPU %d, which is not there", v)
				case sh.blocked || sh.paused:
					t.Fatalf("Pick returned vCPU %d: blocked %v, paused %v", v, sh.blocked, sh.paused)
				case slice == 0:
					t.Fatalf("Pick returned vCPU %d with no slice", v)
				}
				if st, _ := s.VCPU(v); st.CPU != cpu || st.State != Running {
					t.Fatalf("Pick on cpu%d returned vCPU %d of cpu%d, %v", cpu, v, st.CPU, st.State)
				}
				if op == 10 {
					// Run the slice, or part of it.
					ran := slice
					if b := r.byte(); b < 128 {
						ran = slice * uint64(b) / 128
					}
					now += ran
					s.Charge(cpu, v, ran, now)
					running[cpu] = false
				}
			}
		case 8:
			cpu := int(r.byte()) % cpus
			v := current[cpu]
			if !running[cpu] || r.byte() < 32 {
				v = id // not what runs there: accounted only
			}
			ran := uint64(r.uint16()) * cfg.Slice / 1000
			s.Charge(cpu, v, ran, tick())
			if v == current[cpu] {
				running[cpu] = false
			}
		case 9:
			tick()
		}
		if err := s.check(); err != nil {
			t.Fatalf("after op: %v", err)
		}
		for w, sh := range vs {
			st, ok := s.VCPU(w)
			if !ok {
				t.Fatalf("vCPU %d lost", w)
			}
			if st.Credit < s.floor || st.Credit > maxCredit+s.sliceCredit {
				t.Fatalf("vCPU %d: credit %d out of bounds", w, st.Credit)
			}
			if sh.paused && st.State != Paused && st.State != Running {
				t.Fatalf("paused vCPU %d is %v", w, st.State)
			}
			if sh.blocked && !sh.paused && st.State != Blocked && st.State != Running {
				t.Fatalf("blocked vCPU %d is %v", w, st.State)
			}
		}
	}
}

// reader hands out fuzz bytes, zeros when they run out.
type reader struct {
	data []byte
	off  int
}

func (r *reader) done() bool { return r.off >= len(r.data) }

func (r *reader) byte() byte {
	if r.done() {
		return 0
	}
	b := r.data[r.off]
	r.off++
	return b
}

func (r *reader) uint16() uint16 {
	return binary.LittleEndian.Uint16([]byte{r.byte(), r.byte()})
}
