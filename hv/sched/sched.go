package sched

import (
	"errors"
	"fmt"
	"math"
	"math/bits"
)

// VCPUID names a vCPU. The caller chooses it, unique among the vCPUs it has
// added (for example the domain ID << 16 | the vCPU's index).
type VCPUID uint32

// DomID names a domain (Xen's domid_t).
type DomID uint16

// Weights.
const (
	DefaultWeight = 256   // Xen's default
	MaxWeight     = 65535 // the largest weight; the smallest is 1
)

// Errors returned by Add and SetParams.
var (
	ErrExists   = errors.New("sched: vCPU already added")
	ErrNoDomain = errors.New("sched: no such domain")
	ErrWeight   = errors.New("sched: weight out of range")
	ErrCap      = errors.New("sched: cap out of range")
)

// Config holds the scheduler's time constants, in the caller's ticks.
type Config struct {
	// Period is the accounting period: credit is handed out at every
	// multiple of Period (Xen: 30 ms). At least 100 ticks.
	Period uint64
	// Slice is the longest a vCPU runs before Pick is asked again (the
	// hypervisor's slice is 10 ms). At most Period.
	Slice uint64
	// Credit is the credit one CPU hands out per Period (Xen: 300). 0 means
	// Period: one credit is one tick. At most 1<<40.
	Credit uint64
	// BoostSlice is the longest a boosted vCPU runs before it falls back to
	// UNDER or OVER. 0 means Slice/4. At most Slice.
	BoostSlice uint64
	// MinSlice is the shortest slice Pick gives a vCPU with credit, however
	// little credit it has, to bound the switching rate (a cap can still
	// shorten a slice below it). 0 means Slice/10. At most BoostSlice.
	MinSlice uint64
	// NoBoost turns boosting off: a woken vCPU joins the tail of its list.
	NoBoost bool
}

// DefaultConfig returns Xen's 30 ms accounting period with the hypervisor's
// 10 ms slices, for a clock of ticksPerSecond.
func DefaultConfig(ticksPerSecond uint64) Config {
	return Config{
		Period: mulDiv(ticksPerSecond, 30, 1000),
		Slice:  mulDiv(ticksPerSecond, 10, 1000),
	}
}

// withDefaults fills the zero fields and checks the result.
func (c Config) withDefaults() (Config, error) {
	if c.Period < 100 || c.Period > 1<<62 {
		return c, fmt.Errorf("sched: period %d out of range 100..1<<62", c.Period)
	}
	if c.Slice == 0 || c.Slice > c.Period {
		return c, fmt.Errorf("sched: slice %d out of range 1..period (%d)", c.Slice, c.Period)
	}
	if c.Credit == 0 {
		c.Credit = c.Period
	}
	if c.Credit > 1<<40 {
		return c, fmt.Errorf("sched: credit per period %d above 1<<40", c.Credit)
	}
	if c.BoostSlice == 0 {
		c.BoostSlice = max(c.Slice/4, 1)
	}
	if c.BoostSlice > c.Slice {
		return c, fmt.Errorf("sched: boost slice %d above slice %d", c.BoostSlice, c.Slice)
	}
	if c.MinSlice == 0 {
		c.MinSlice = max(min(c.Slice/10, c.BoostSlice), 1)
	}
	if c.MinSlice > c.BoostSlice {
		return c, fmt.Errorf("sched: min slice %d above boost slice %d", c.MinSlice, c.BoostSlice)
	}
	return c, nil
}

// Validate reports whether New accepts the configuration.
func (c Config) Validate() error {
	_, err := c.withDefaults()
	return err
}

// State is where a vCPU is.
type State int

// vCPU states.
const (
	Runnable State = iota // queued, waiting to be picked
	Running               // picked and not yet charged
	Blocked               // waiting for Wake
	Paused                // held by Pause (whether or not also blocked)
	Parked                // runnable, but its domain used its cap for this period
)

func (s State) String() string {
	switch s {
	case Runnable:
		return "runnable"
	case Running:
		return "running"
	case Blocked:
		return "blocked"
	case Paused:
		return "paused"
	case Parked:
		return "parked"
	}
	return fmt.Sprintf("State(%d)", int(s))
}

// Prio is a vCPU's scheduling priority, highest last.
type Prio int

// Priorities.
const (
	Over  Prio = iota // no credit left
	Under             // has credit
	Boost             // woke with credit: runs before Under, briefly
)

func (p Prio) String() string {
	switch p {
	case Over:
		return "over"
	case Under:
		return "under"
	case Boost:
		return "boost"
	}
	return fmt.Sprintf("Prio(%d)", int(p))
}

// VCPUStats describes one vCPU.
type VCPUStats struct {
	Dom     DomID
	CPU     int
	State   State
	Prio    Prio
	Credit  int64  // in credit units
	CPUTime uint64 // ticks charged
	Runs    uint64 // times picked
	Boosts  uint64 // times picked boosted
}

// DomStats describes a domain: its parameters and the sums over its vCPUs.
type DomStats struct {
	Weight  int
	Cap     int
	VCPUs   int
	CPUTime uint64 // ticks charged to its vCPUs, including removed ones
	Runs    uint64 // times one of its vCPUs was picked
	Boosts  uint64 // of which boosted
	Parks   uint64 // times one of its vCPUs was parked by the cap
	Credit  int64  // the sum of its vCPUs' credit, in credit units
}

// vcpu is the scheduler's record of a vCPU.
type vcpu struct {
	id  VCPUID
	dom *domain
	rq  *runq
	idx int // in rq.all

	// q is the list it is queued on (nil: running, blocked or paused).
	q          *list
	prev, next *vcpu

	credit int64
	rem    uint64 // credit not yet debited, in 1/Period credits (tick-to-credit rounding)
	mark   uint64 // rq.boosted when it was last queued
	ran    bool   // charged since its CPU's last accounting
	// slept: blocked or paused at some time since its CPU's last
	// accounting; a runnable vCPU that did not is busy (it wanted the CPU
	// all along).
	slept bool

	blocked bool
	paused  bool
	boost   bool // woke with credit: queues on BOOST

	cpuTime, runs, boosts uint64
}

func (v *vcpu) runnable() bool { return !v.blocked && !v.paused }

// domain is the scheduler's record of a domain. Its cap usage is shared by
// the CPUs its vCPUs are on.
type domain struct {
	id     DomID
	weight int
	cap    int
	vcpus  []*vcpu

	capEpoch uint64 // the period capUsed counts for (now / Period)
	capUsed  uint64 // ticks run in that period, debt included

	cpuTime, runs, boosts, parks uint64
}

// Scheduler is a credit scheduler for a fixed number of CPUs.
type Scheduler struct {
	cfg Config
	// sliceCredit is Slice in credit; floor is the least credit a vCPU
	// keeps; fresh, BoostSlice in credit, is the credit of a new vCPU and
	// the least a vCPU has after sleeping through a period.
	sliceCredit int64
	floor       int64
	fresh       int64

	cpus  []*runq
	vcpus map[VCPUID]*vcpu
	doms  map[DomID]*domain
}

// New returns a scheduler for cpus CPUs (numbered from 0). Zero fields of cfg
// take their defaults; New panics if cpus < 1 or cfg is invalid (see
// Config.Validate).
func New(cpus int, cfg Config) *Scheduler {
	if cpus < 1 {
		panic("sched: no CPUs")
	}
	cfg, err := cfg.withDefaults()
	if err != nil {
		panic(err)
	}
	s := &Scheduler{
		cfg:   cfg,
		vcpus: make(map[VCPUID]*vcpu),
		doms:  make(map[DomID]*domain),
	}
	s.sliceCredit = int64(mulDiv(cfg.Slice, cfg.Credit, cfg.Period))
	s.floor = -int64(cfg.Credit) - s.sliceCredit
	s.fresh = max(int64(mulDiv(cfg.BoostSlice, cfg.Credit, cfg.Period)), 1)
	for i := range cpus {
		s.cpus = append(s.cpus, &runq{cpu: i})
	}
	return s
}

// Config returns the configuration in use, defaults filled in.
func (s *Scheduler) Config() Config { return s.cfg }

// CPUs returns the number of CPUs.
func (s *Scheduler) CPUs() int { return len(s.cpus) }

func checkParams(weight, cap, cpus int) error {
	if weight < 1 || weight > MaxWeight {
		return fmt.Errorf("%w: %d, not 1..%d", ErrWeight, weight, MaxWeight)
	}
	if cap < 0 || cap > 100*cpus {
		return fmt.Errorf("%w: %d%%, not 0..%d", ErrCap, cap, 100*cpus)
	}
	return nil
}

// Add adds a runnable vCPU of domain dom. It starts with one BoostSlice of
// credit, so it is UNDER, and gets its share from its CPU's next accounting.
// It goes on the CPU with the fewest vCPUs.
// weight and cap are the domain's: for a domain that already has vCPUs they
// replace its parameters, as SetParams does.
func (s *Scheduler) Add(id VCPUID, dom DomID, weight, cap int) error {
	if err := checkParams(weight, cap, len(s.cpus)); err != nil {
		return err
	}
	if _, ok := s.vcpus[id]; ok {
		return fmt.Errorf("%w: %d", ErrExists, id)
	}
	d := s.doms[dom]
	if d == nil {
		d = &domain{id: dom, weight: weight, cap: cap}
		s.doms[dom] = d
	} else {
		s.setParams(d, weight, cap)
	}
	rq := s.place()
	v := &vcpu{id: id, dom: d, rq: rq, idx: len(rq.all), credit: s.fresh}
	rq.all = append(rq.all, v)
	d.vcpus = append(d.vcpus, v)
	s.vcpus[id] = v
	s.enqueue(rq, v)
	return nil
}

// place chooses the CPU for a new vCPU: the one with the fewest vCPUs, the
// lowest-numbered among equals. A load balancer would replace it.
func (s *Scheduler) place() *runq {
	best := s.cpus[0]
	for _, rq := range s.cpus[1:] {
		if len(rq.all) < len(best.all) {
			best = rq
		}
	}
	return best
}

// SetParams changes a domain's weight and cap. The weight counts from its
// CPUs' next accounting; a new cap applies at once (its vCPUs parked by the
// old cap are requeued, and parked again if the new one is used up).
func (s *Scheduler) SetParams(dom DomID, weight, cap int) error {
	if err := checkParams(weight, cap, len(s.cpus)); err != nil {
		return err
	}
	d := s.doms[dom]
	if d == nil {
		return fmt.Errorf("%w: %d", ErrNoDomain, dom)
	}
	s.setParams(d, weight, cap)
	return nil
}

func (s *Scheduler) setParams(d *domain, weight, cap int) {
	d.weight = weight
	if cap != d.cap {
		d.cap = cap
		d.capUsed = 0 // a new cap starts with a whole budget
		for _, v := range d.vcpus {
			if v.q == &v.rq.parked {
				v.q.remove(v)
				s.enqueue(v.rq, v)
			}
		}
	}
}

// Remove forgets a vCPU, whatever its state. A vCPU that is running should
// be charged first: a later Charge for it is ignored. The domain goes with
// its last vCPU.
func (s *Scheduler) Remove(id VCPUID) {
	v := s.vcpus[id]
	if v == nil {
		return
	}
	rq := v.rq
	if v.q != nil {
		v.q.remove(v)
	}
	if rq.current == v {
		rq.current = nil
		rq.curBoost = false
	}
	last := rq.all[len(rq.all)-1]
	rq.all[v.idx] = last
	last.idx = v.idx
	rq.all[len(rq.all)-1] = nil
	rq.all = rq.all[:len(rq.all)-1]
	delete(s.vcpus, id)

	d := v.dom
	for i, w := range d.vcpus {
		if w == v {
			d.vcpus[i] = d.vcpus[len(d.vcpus)-1]
			d.vcpus[len(d.vcpus)-1] = nil
			d.vcpus = d.vcpus[:len(d.vcpus)-1]
			break
		}
	}
	if len(d.vcpus) == 0 {
		delete(s.doms, d.id)
	}
}

// Wake makes a blocked vCPU runnable (unless it is paused). A vCPU that
// wakes with credit is boosted. Wake reports whether the vCPU should preempt
// what its CPU runs now (or the CPU idles): the caller should then end that
// slice, Charge it and Pick again. Waking a vCPU that is not blocked does
// nothing.
func (s *Scheduler) Wake(id VCPUID, now uint64) (preempt bool) {
	v := s.vcpus[id]
	if v == nil || !v.blocked {
		return false
	}
	v.blocked = false
	rq := v.rq
	if v.paused || rq.current == v {
		// It blocked while running and wakes before its Charge, which
		// will requeue it.
		return false
	}
	now = max(now, rq.now)
	v.boost = !s.cfg.NoBoost && v.credit > 0 && !s.overCap(v.dom, now)
	s.enqueue(rq, v)
	return s.preempts(rq, v, now)
}

// Block takes a vCPU off its CPU's queue until Wake; a running vCPU stays
// running until its Charge.
func (s *Scheduler) Block(id VCPUID, now uint64) {
	v := s.vcpus[id]
	if v == nil || v.blocked {
		return
	}
	v.blocked = true
	v.slept = true
	v.boost = false
	if v.q != nil {
		v.q.remove(v)
	}
}

// Pause holds a vCPU off its CPU until Unpause, whether or not it is blocked.
// Pauses do not nest. A running vCPU stays running until its Charge.
func (s *Scheduler) Pause(id VCPUID) {
	v := s.vcpus[id]
	if v == nil || v.paused {
		return
	}
	v.paused = true
	v.slept = true
	v.boost = false
	if v.q != nil {
		v.q.remove(v)
	}
}

// Unpause releases a paused vCPU. It reports, as Wake does, whether the vCPU
// should preempt what its CPU runs now.
func (s *Scheduler) Unpause(id VCPUID) (preempt bool) {
	v := s.vcpus[id]
	if v == nil || !v.paused {
		return false
	}
	v.paused = false
	rq := v.rq
	if v.blocked || rq.current == v {
		return false
	}
	s.enqueue(rq, v)
	return s.preempts(rq, v, rq.now)
}

// state returns a vCPU's state.
func (v *vcpu) state() State {
	switch {
	case v.rq.current == v:
		return Running
	case v.paused:
		return Paused
	case v.blocked:
		return Blocked
	case v.q == &v.rq.parked:
		return Parked
	}
	return Runnable
}

func (v *vcpu) prio() Prio {
	switch {
	case v.boost || v.rq.current == v && v.rq.curBoost:
		return Boost
	case v.credit > 0:
		return Under
	}
	return Over
}

// VCPU describes a vCPU; ok is false if there is no such vCPU.
func (s *Scheduler) VCPU(id VCPUID) (st VCPUStats, ok bool) {
	v := s.vcpus[id]
	if v == nil {
		return st, false
	}
	return VCPUStats{
		Dom:     v.dom.id,
		CPU:     v.rq.cpu,
		State:   v.state(),
		Prio:    v.prio(),
		Credit:  v.credit,
		CPUTime: v.cpuTime,
		Runs:    v.runs,
		Boosts:  v.boosts,
	}, true
}

// Stats describes a domain; it is the zero DomStats if the domain has no
// vCPUs.
func (s *Scheduler) Stats(dom DomID) DomStats {
	d := s.doms[dom]
	if d == nil {
		return DomStats{}
	}
	st := DomStats{
		Weight:  d.weight,
		Cap:     d.cap,
		VCPUs:   len(d.vcpus),
		CPUTime: d.cpuTime,
		Runs:    d.runs,
		Boosts:  d.boosts,
		Parks:   d.parks,
	}
	for _, v := range d.vcpus {
		st.Credit += v.credit
	}
	return st
}

// mulDiv returns a*b/c rounded down, computed without overflow, or
// math.MaxUint64 if the quotient does not fit.
func mulDiv(a, b, c uint64) uint64 {
	hi, lo := bits.Mul64(a, b)
	if hi >= c {
		return math.MaxUint64
	}
	q, _ := bits.Div64(hi, lo, c)
	return q
}
