package sched

import (
	"cmp"
	"math"
	"math/bits"
	"slices"
)

// list is a FIFO of vCPUs, linked through the vCPUs themselves so that
// queueing and unqueueing take constant time and no allocation.
type list struct {
	head, tail *vcpu
	n          int
}

func (l *list) push(v *vcpu) {
	v.q = l
	v.prev = l.tail
	v.next = nil
	if l.tail != nil {
		l.tail.next = v
	} else {
		l.head = v
	}
	l.tail = v
	l.n++
}

func (l *list) remove(v *vcpu) {
	if v.prev != nil {
		v.prev.next = v.next
	} else {
		l.head = v.next
	}
	if v.next != nil {
		v.next.prev = v.prev
	} else {
		l.tail = v.prev
	}
	v.prev, v.next, v.q = nil, nil, nil
	l.n--
}

// runq is one CPU's share of the scheduler: its queues, its running vCPU,
// its accounting clock and its boost budget. Pick and Charge on a CPU touch
// nothing of another CPU's runq.
type runq struct {
	cpu int

	// Runnable vCPUs not running: by priority, and parked by their cap.
	boost, under, over, parked list

	current  *vcpu // picked and not yet charged
	curBoost bool  // current was picked from the BOOST list

	all []*vcpu // every vCPU on this CPU, whatever its state

	now      uint64 // the latest time this CPU was told
	nextAcct uint64 // the next period boundary
	started  bool   // accounted at least once

	// boosted is the time run by boosted vCPUs here, ever; a vCPU's mark
	// is its value when the vCPU was queued.
	boosted uint64

	fill []fill // the accounting's scratch space
}

// clock moves the CPU's clock to now, never back, and returns it.
func (rq *runq) clock(now uint64) uint64 {
	if now < rq.now {
		return rq.now
	}
	rq.now = now
	return now
}

// enqueue puts a runnable vCPU that is neither queued nor running at the
// tail of the list its priority says.
func (s *Scheduler) enqueue(rq *runq, v *vcpu) {
	v.mark = rq.boosted
	switch {
	case v.boost:
		rq.boost.push(v)
	case v.credit > 0:
		rq.under.push(v)
	default:
		rq.over.push(v)
	}
}

// requeue moves a queued vCPU whose credit changed between UNDER and OVER.
func (s *Scheduler) requeue(v *vcpu) {
	rq := v.rq
	if q := v.q; q == &rq.under && v.credit <= 0 || q == &rq.over && v.credit > 0 {
		q.remove(v)
		s.enqueue(rq, v)
	}
}

// boostFits reports whether a boosted vCPU may overtake the UNDER list now:
// whether the oldest UNDER vCPU would have waited for at most one Slice of
// boosted time after another BoostSlice of it.
func (s *Scheduler) boostFits(rq *runq) bool {
	h := rq.under.head
	return h == nil || rq.boosted-h.mark+s.cfg.BoostSlice <= s.cfg.Slice
}

// preempts reports whether the queued vCPU v should take its CPU from what
// runs there now.
func (s *Scheduler) preempts(rq *runq, v *vcpu, now uint64) bool {
	cur := rq.current
	if cur == nil {
		return true
	}
	if s.overCap(v.dom, now) {
		return false
	}
	p := v.prio()
	if p == Boost && !s.boostFits(rq) {
		p = Under
	}
	return p > cur.prio()
}

// best returns the vCPU Pick should run next on rq, nil if none is queued.
func (s *Scheduler) best(rq *runq) *vcpu {
	switch {
	case rq.boost.head != nil && s.boostFits(rq):
		return rq.boost.head
	case rq.under.head != nil:
		return rq.under.head
	case rq.boost.head != nil:
		return rq.boost.head
	}
	return rq.over.head
}

// steal is where load balancing belongs once the hypervisor runs several
// CPUs. Pick calls it when rq has nothing better than an OVER vCPU to run (or
// nothing at all). It would look at the other CPUs' queues for a runnable
// UNDER (or, for an idle CPU, any) vCPU that is not running, move it to rq
// (from its old queue and rq.all to this one's, keeping its credit) and
// return it, as Xen's csched_load_balance does; with per-CPU locks it must
// try-lock the other queue, never wait for it. Today every vCPU stays on the
// CPU Add placed it on, so steal finds nothing.
func (s *Scheduler) steal(rq *runq, now uint64) *vcpu {
	return nil
}

// Pick returns the vCPU to run next on cpu and the longest it may run before
// Pick is asked again; the caller then runs it and reports with Charge. When
// nothing can run, ok is false and slice is how long until the next period
// boundary if a capped domain waits for it (the CPU should idle until then
// or until a Wake), or 0 if only a Wake or Unpause can bring work. A vCPU
// still running from the previous Pick on cpu is charged nothing and
// requeued. Pick never returns a blocked, paused, parked or removed vCPU.
func (s *Scheduler) Pick(cpu int, now uint64) (v VCPUID, slice uint64, ok bool) {
	if cpu < 0 || cpu >= len(s.cpus) {
		return 0, 0, false
	}
	rq := s.cpus[cpu]
	now = rq.clock(now)
	if cur := rq.current; cur != nil {
		s.Charge(cpu, cur.id, 0, now)
	}
	s.tick(rq, now)
	for {
		c := s.best(rq)
		if c == nil || c.q == &rq.over {
			if w := s.steal(rq, now); w != nil {
				c = w
			}
		}
		if c == nil {
			if rq.parked.head != nil {
				return 0, rq.nextAcct - now, false
			}
			return 0, 0, false
		}
		d := c.dom
		capLeft := uint64(math.MaxUint64)
		if d.cap > 0 {
			if capLeft = s.capLeft(d, now); capLeft == 0 {
				c.q.remove(c)
				c.boost = false
				rq.parked.push(c)
				d.parks++
				continue
			}
		}
		boosted := c.q == &rq.boost
		c.q.remove(c)
		c.boost = false
		rq.current = c
		rq.curBoost = boosted
		c.runs++
		d.runs++
		switch {
		case boosted:
			c.boosts++
			d.boosts++
			slice = s.creditSlice(c, s.cfg.BoostSlice)
		case c.credit > 0:
			slice = s.creditSlice(c, s.cfg.Slice)
		default:
			slice = s.cfg.Slice
		}
		return c.id, min(slice, capLeft), true
	}
}

// creditSlice is the slice of a vCPU with credit: its credit in ticks, at
// least MinSlice and at most most.
func (s *Scheduler) creditSlice(v *vcpu, most uint64) uint64 {
	// Rounded up, so that the slice spends all of it.
	t := uint64(math.MaxUint64)
	if hi, lo := bits.Mul64(uint64(v.credit), s.cfg.Period); hi < s.cfg.Credit {
		var r uint64
		if t, r = bits.Div64(hi, lo, s.cfg.Credit); r != 0 && t < math.MaxUint64 {
			t++
		}
	}
	return max(min(t, most), s.cfg.MinSlice)
}

// Charge reports that vCPU v, picked on cpu, ran for ran ticks until now. It
// debits v's credit and its domain's cap, runs the CPU's accounting if a
// period boundary has passed, and requeues v if it is still runnable. Charging
// a vCPU that is not the one running on cpu only accounts the time; charging a
// removed vCPU does nothing.
func (s *Scheduler) Charge(cpu int, v VCPUID, ran uint64, now uint64) {
	if cpu < 0 || cpu >= len(s.cpus) {
		return
	}
	rq := s.cpus[cpu]
	now = rq.clock(now)
	c := rq.current
	if c == nil || c.id != v {
		if w := s.vcpus[v]; w != nil {
			s.debit(w, ran, now)
			s.requeue(w)
		}
		return
	}
	s.debit(c, ran, now)
	rq.current = nil
	if rq.curBoost {
		rq.boosted += ran
		rq.curBoost = false
	}
	// Account after the debit, so that a period's grant meets the credit
	// left after the time run in it.
	s.tick(rq, now)
	if c.runnable() {
		s.enqueue(rq, c)
	}
}

// debit charges ran ticks to a vCPU: its statistics, its credit and its
// domain's cap.
func (s *Scheduler) debit(v *vcpu, ran, now uint64) {
	v.ran = true
	v.cpuTime += ran
	v.dom.cpuTime += ran
	c := s.toCredit(v, ran)
	if room := uint64(v.credit - s.floor); c >= room {
		v.credit = s.floor
	} else {
		v.credit -= int64(c)
	}
	s.chargeCap(v.dom, ran, now)
}

// toCredit converts ticks run to credit, carrying the remainder in the vCPU
// so that no tick goes uncharged.
func (s *Scheduler) toCredit(v *vcpu, ran uint64) uint64 {
	p, c := s.cfg.Period, s.cfg.Credit
	if p == c {
		return ran
	}
	hi, lo := bits.Mul64(ran, c)
	if hi >= p {
		return math.MaxUint64
	}
	q, r := bits.Div64(hi, lo, p)
	v.rem += r
	if v.rem >= p {
		v.rem -= p
		q++
	}
	return q
}

// maxCredit bounds the credit a vCPU may hold (1<<40 is Config.Credit's
// largest value; this leaves room to add a slice without overflow).
const maxCredit = 1 << 50

// maxPeriods bounds the periods one accounting grants for, when a CPU was
// not asked for longer than a period.
const maxPeriods = 4

// tick runs the accounting if a period boundary has passed.
func (s *Scheduler) tick(rq *runq, now uint64) {
	if rq.started && now < rq.nextAcct {
		return
	}
	p := s.cfg.Period
	k := uint64(1)
	if rq.started {
		k = min((now-rq.nextAcct)/p+1, maxPeriods)
	}
	rq.started = true
	rq.nextAcct = satAdd(now/p*p, p)
	s.account(rq, now, k)
}

// fill is one active vCPU in the accounting.
type fill struct {
	v *vcpu
	w uint64
	// room is how much more credit it may take from the pool; share, once
	// poured, its part of the pool (what it took).
	room, share uint64
	// busy: runnable, and neither blocked nor paused since the last
	// accounting.
	busy bool
}

// account hands out k periods' credit to rq's active vCPUs by weight
// (water-filling), bounds each one's credit by its ceiling, then promotes
// the OVER vCPUs that now have credit and unparks the ones whose cap has a
// budget again.
//
// The busy vCPUs are kept from running in equal turns whatever their
// weights, which Pick would make them do if they all held more than a slice
// of credit (hoards) or all had none (debts): see the package doc.
func (s *Scheduler) account(rq *runq, now uint64, k uint64) {
	f := rq.fill[:0]
	var wsum uint64
	for _, v := range rq.all {
		if v.ran || v.runnable() {
			w := uint64(v.dom.weight)
			f = append(f, fill{v: v, w: w, busy: v.runnable() && !v.slept})
			wsum += w
		} else if v.credit < s.fresh {
			// It slept through the period: what it owes was
			// borrowed from idle time. Like a new vCPU, it wakes
			// with enough credit to be boosted for a while.
			v.credit = s.fresh
		}
	}
	credit := s.cfg.Credit
	pool := k * credit
	nrun := uint64(0)
	for _, e := range f {
		if e.v.runnable() {
			nrun++
		}
	}
	// ceiling returns the most credit a vCPU with a share of fair per
	// period may hold: its share and a slice, and if it is runnable what
	// its share earns while every runnable vCPU takes a slice in turn (the
	// longest it may wait for its own turn), so that a heavy vCPU among
	// many does not lose credit waiting.
	ceiling := func(v *vcpu, fair uint64) int64 {
		hold := fair
		if v.runnable() {
			round := mulDiv(mulDiv(fair, nrun, 1), s.cfg.Slice, s.cfg.Period)
			hold = min(satAdd(fair, round), maxCredit)
		}
		return int64(hold) + s.sliceCredit
	}
	for i := range f {
		v := f[i].v
		fair := mulDiv(credit, f[i].w, wsum)
		most := uint64(math.MaxUint64)
		if d := v.dom; d.cap > 0 {
			// The cap, shared by the domain's active vCPUs: it
			// bounds the share, and what water-filling may add.
			share := mulDiv(s.budget(d), credit, s.cfg.Period) / uint64(d.active())
			fair = min(fair, share)
			most = k * share
		}
		f[i].room = most
		if f[i].busy {
			// Its ceiling follows from what it is poured, below.
			continue
		}
		ceil := ceiling(v, fair)
		if v.credit > ceil {
			// What an idle vCPU cannot hold goes to the others, so
			// that the busy ones do not drift into debt together.
			pool = satAdd(pool, uint64(v.credit-ceil))
			v.credit = ceil
		}
		f[i].room = min(uint64(ceil-v.credit), most)
	}
	pool = min(pool, maxCredit)
	for i := range f {
		f[i].room = min(f[i].room, pool)
	}
	// Water-filling: the vCPUs that fill up first are the ones with the
	// least room for their weight.
	slices.SortFunc(f, func(a, b fill) int {
		ah, al := bits.Mul64(a.room, b.w)
		bh, bl := bits.Mul64(b.room, a.w)
		if c := cmp.Compare(ah, bh); c != 0 {
			return c
		}
		return cmp.Compare(al, bl)
	})
	wrem := wsum
	i := 0
	for ; i < len(f); i++ {
		if mulDiv(pool, f[i].w, wrem) < f[i].room {
			break
		}
		f[i].share = f[i].room
		pool -= f[i].room
		wrem -= f[i].w
	}
	for j := i; j < len(f); j++ {
		f[j].share = mulDiv(pool, f[j].w, wrem)
	}
	// A busy vCPU's ceiling is that of its share of the pool, and what it
	// cannot hold is dropped. If one has to drop credit, or none has any,
	// each busy vCPU is left with its share.
	drop, owed := false, false
	for _, e := range f {
		e.v.credit += int64(e.share)
		if !e.busy {
			continue
		}
		if ceil := ceiling(e.v, e.share/k); e.v.credit > ceil {
			e.v.credit = ceil
			drop = true
		}
		if e.v.credit > 0 {
			owed = true
		}
	}
	for _, e := range f {
		if e.busy && (drop && e.v.credit > int64(e.share) || !owed) {
			e.v.credit = int64(e.share)
		}
	}
	clear(f)
	rq.fill = f[:0]
	for _, v := range rq.all {
		v.ran = false
		v.slept = !v.runnable()
	}

	// Requeue by the new credit: OVER vCPUs that have some now join the
	// tail of UNDER, in order; an UNDER vCPU may have lost its credit to a
	// lower ceiling (its weight fell) or been left with its share, which
	// may be none.
	for v := rq.over.head; v != nil; {
		next := v.next
		if v.credit > 0 {
			rq.over.remove(v)
			s.enqueue(rq, v)
		}
		v = next
	}
	for v := rq.under.head; v != nil; {
		next := v.next
		if v.credit <= 0 {
			rq.under.remove(v)
			s.enqueue(rq, v)
		}
		v = next
	}
	for v := rq.parked.head; v != nil; {
		next := v.next
		if !s.overCap(v.dom, now) {
			rq.parked.remove(v)
			s.enqueue(rq, v)
		}
		v = next
	}
}

// active counts the domain's vCPUs that can use credit: the runnable ones
// and the ones that ran in their CPU's current period; at least 1.
func (d *domain) active() int {
	n := 0
	for _, v := range d.vcpus {
		if v.ran || v.runnable() {
			n++
		}
	}
	return max(n, 1)
}

// budget is the ticks a capped domain may run per period.
func (s *Scheduler) budget(d *domain) uint64 {
	return mulDiv(uint64(d.cap), s.cfg.Period, 100)
}

// usedAt returns the domain's cap usage as it stands in period e: every
// period that began since its last charge forgives one budget of it.
func (d *domain) usedAt(e, budget uint64) uint64 {
	switch {
	case e <= d.capEpoch:
		return d.capUsed
	case e-d.capEpoch >= 2:
		return 0 // capUsed never exceeds two budgets
	}
	return satSub(d.capUsed, budget)
}

// capLeft returns how many ticks a capped domain may still run in the
// period of now.
func (s *Scheduler) capLeft(d *domain, now uint64) uint64 {
	b := s.budget(d)
	return satSub(b, d.usedAt(now/s.cfg.Period, b))
}

// overCap reports whether a domain has used its cap for the period of now.
func (s *Scheduler) overCap(d *domain, now uint64) bool {
	return d.cap > 0 && s.capLeft(d, now) == 0
}

// chargeCap adds the ticks run from now-ran to now to a capped domain's
// usage, splitting them at period boundaries. Usage beyond the budget stays
// as debt for the next period, at most one budget of it.
func (s *Scheduler) chargeCap(d *domain, ran, now uint64) {
	if d.cap == 0 || ran == 0 {
		return
	}
	p := s.cfg.Period
	b := s.budget(d)
	start := now - min(ran, now, 2*p)
	for start < now {
		e := start / p
		end := now
		if e < now/p {
			end = (e + 1) * p
		}
		if e > d.capEpoch {
			d.capUsed = d.usedAt(e, b)
			d.capEpoch = e
		}
		d.capUsed = min(satAdd(d.capUsed, end-start), satAdd(b, b))
		start = end
	}
}

func satAdd(a, b uint64) uint64 {
	if s, c := bits.Add64(a, b, 0); c == 0 {
		return s
	}
	return math.MaxUint64
}

func satSub(a, b uint64) uint64 {
	if a < b {
		return 0
	}
	return a - b
}
