// Package sched is tamavisor's vCPU scheduler: a credit scheduler in the
// manner of Xen's credit scheduler (credit1), written as pure logic. The
// caller owns the clock and the CPUs: it asks Pick what to run on a CPU and
// for how long, runs it, and reports with Charge how long it ran. Time is an
// opaque uint64 tick count (TSC ticks or nanoseconds, the caller's choice,
// the same unit everywhere), so the scheduler can be driven by simulated time
// in tests exactly as by the TSC in the hypervisor.
//
// # Driving it
//
// The hypervisor's run loop (hv.Run) would become, on each CPU:
//
//	for {
//		wake the vCPUs whose timers expired (Wake)
//		v, slice, ok := s.Pick(cpu, now)
//		if !ok {
//			idle until the earliest timer, a Wake, or now+slice if slice != 0
//			continue
//		}
//		run v for up to slice (the VMX preemption timer); on HLT or
//		SCHEDOP_block call Block, which ends the run
//		s.Charge(cpu, v, ticks it ran, now)
//	}
//
// A Wake or Unpause that returns true asks the CPU to end the running slice
// early (for a boosted vCPU); a caller that ignores it still gets its
// latency within a slice, but not the immediate response the test measures.
//
// # Model
//
// A domain has a weight (1..65535, Xen's default 256) and a cap (a percentage
// of one CPU, 0 for none; up to 100 times the number of CPUs). Its vCPUs are
// added one by one under caller-chosen VCPUIDs. Every vCPU lives on one CPU
// and is in exactly one of these states:
//
//   - runnable: queued on its CPU, waiting to be picked;
//   - running: returned by Pick and not yet charged;
//   - blocked: waiting for an event or a timer (HLT, SCHEDOP_block); it takes
//     no CPU time and no credit until Wake;
//   - paused: held by the toolstack or the hypervisor (Pause, Unpause); pausing
//     and blocking are independent, and a paused vCPU is neither runnable nor
//     blocked;
//   - parked: runnable, but its domain has used its cap for this accounting
//     period; it is held off its CPU until a later period.
//
// # Credit
//
// Credit is CPU time entitlement in units of Config.Credit per Config.Period
// of one CPU (by default one credit is one tick). Each CPU runs its own
// accounting at every period boundary (boundaries are the multiples of
// Period, so all CPUs share them), lazily, in the first Pick or Charge after
// the boundary; if several boundaries have passed since its last accounting
// (a vCPU ran past its slice, or the CPU was not asked), one accounting hands
// out the credit of all those periods, of at most four:
//
//  1. The active vCPUs are the ones that are runnable, running or parked, or
//     that ran during the period that ended. Blocked and paused vCPUs that did
//     not run take no share, so a domain that sleeps does not lower the others'
//     entitlement; and since their debt was run on time nobody else wanted,
//     they wake with at least a BoostSlice of credit, as new vCPUs start. An
//     active vCPU is busy if it is runnable and was neither blocked nor paused
//     since the CPU's previous accounting: it wanted the CPU all along.
//  2. Each active vCPU has a fair share Credit×weight/Σweight (a domain's
//     weight counts once for each of its active vCPUs, as in Xen), no more
//     than its part of its domain's cap. A vCPU that is not busy may hold its
//     share plus one slice of credit if it is not runnable at the boundary;
//     if it is runnable, also what its share earns while each runnable vCPU
//     of the CPU takes a slice in turn (so that a heavy vCPU among many,
//     which may wait that long for its turn, loses nothing). Credit above
//     that ceiling goes back into the period's pool.
//  3. The pool (the periods' Credit, plus what came back) is poured into the
//     active vCPUs in proportion to weight, water-filling: a vCPU that is not
//     busy and reaches its ceiling, or that is capped and got its part of the
//     cap, takes no more, and what it leaves goes to the others, again by
//     weight. Credit that an I/O-bound or capped vCPU cannot use thus flows to
//     the busy ones instead of being lost, and the busy ones keep their
//     weight ratios whatever the others do.
//  4. A busy vCPU's ceiling is that of step 2 with what it was poured (for
//     one period) in place of its fair share, and credit above it is dropped
//     rather than passed on (Xen, too, stops a vCPU earning above a bound):
//     a busy vCPU that cannot spend its credit lacks turns, not demand, and
//     its credit would keep the others from running short. Then, if a busy
//     vCPU had to drop credit, every busy vCPU keeps at most what it was
//     poured; and if no busy vCPU has credit left, every busy vCPU's credit
//     becomes what it was poured, its debt forgiven.
//
// Step 4 is what makes the shares follow the weights whatever credit the
// vCPUs hold. Pick (below) makes the busy vCPUs spend their credit in
// proportion to their weights only while they run short of it: if every one
// holds more than a slice of credit, each takes a whole slice in turn, and if
// none holds any, they are all OVER and take whole slices in turn, in equal
// shares either way. Left to steps 1 to 3 the accounting would keep them
// there: the heavy ones, unable to spend their larger shares in equal turns,
// would reach their ceilings and their credit would keep the light ones from
// running short; and debts would never be repaid, since nobody would have
// credit to be repaid to. A busy vCPU at its ceiling, or no busy vCPU with
// credit, is the sign; the credit hoarded, or the debt, goes at the next
// boundary, and the weights hold from the period after. (Added while another
// vCPU runs past its slice for several periods, new vCPUs can start with all
// the credit they may hold.) A debt that a busy vCPU owes to others that have
// credit stays, and is repaid by its running less.
//
// Running debits credit exactly: Charge subtracts the ticks run (converted to
// credit with the remainder carried), down to a floor of minus one period and
// one slice of credit. Unlike Xen, which samples the running vCPU every
// 10 ms, nothing is estimated, so shares are exact to within a slice.
//
// # Priorities and queues
//
// Each CPU has a run queue of its own made of FIFO lists, one per priority:
//
//   - BOOST: a vCPU that woke from blocking while it still had credit (as in
//     Xen, so that I/O-bound domains that use little of their share get low
//     latency). It runs for at most Config.BoostSlice and then falls back to
//     UNDER or OVER.
//   - UNDER: credit > 0.
//   - OVER: credit <= 0. OVER vCPUs run only when nothing has credit: the
//     scheduler is work-conserving, except for caps.
//
// Pick takes the head of the highest non-empty list, round-robin within it: a
// vCPU that is charged, woken, unpaused or promoted from OVER to UNDER by the
// accounting goes to the tail of its list. An UNDER vCPU's slice is its credit
// (at least Config.MinSlice, at most Config.Slice), so the vCPUs with credit
// spend it in proportion to their weights within each period, rather than in
// equal turns, as long as the accounting keeps their credit short (step 4
// above); an OVER vCPU gets a whole Slice.
//
// Boost is bounded so that it cannot starve the vCPUs with credit: the
// scheduler counts the time run by boosted vCPUs on each CPU, and lets a
// boosted vCPU overtake the UNDER list only while the time boosted since the
// oldest UNDER vCPU was queued, plus a BoostSlice, stays within one Slice. A
// runnable UNDER vCPU therefore waits at most (vCPUs ahead of it and the one
// running) × Slice, plus one Slice of boosted time if some vCPU was boosted:
// at most the number of runnable vCPUs on its CPU times Slice. The property
// test checks this bound.
//
// Wake and Unpause say whether the woken vCPU should preempt what runs on its
// CPU (it has a higher priority, or the CPU idles): the caller then ends the
// running slice early, Charges it and Picks again. This is Xen's "tickle".
//
// # Caps
//
// A capped domain may run cap% of Period ticks per period (summed over its
// vCPUs and CPUs). Pick shortens a capped vCPU's slice to what is left of
// that budget; when the budget is used up the domain's vCPUs are parked as
// Pick meets them, and they come back at the next period boundary, even if
// their CPU would otherwise idle. Usage beyond the budget (a slice that ran
// over, or two CPUs running the domain at once) is carried into the next
// period as debt, at most one budget of it. When every vCPU of a CPU is
// blocked, paused or parked, Pick reports the CPU idle and, if some are
// parked, how long until the next period boundary.
//
// # Several CPUs
//
// Every CPU has its own run queue, accounting clock and boost budget, and
// Pick and Charge touch only that CPU's queue, the vCPU and its domain. A
// vCPU stays on the CPU that Add placed it on (the one with the fewest vCPUs).
// Migration and work stealing are future work: the place for them is
// (*Scheduler).steal, which Pick calls whenever its own queue has nothing
// better than OVER; it would take an UNDER vCPU from a busier CPU's queue, as
// Xen's csched_load_balance does, and Add's placement would become a
// rebalancing policy.
//
// # Concurrency
//
// A Scheduler is not safe for concurrent use; today the hypervisor runs one
// CPU. For SMP, each run queue would take its own lock (Pick, Charge, and a
// Wake, Block or Pause aimed at a vCPU on that CPU), a domain's cap usage would
// be updated under the domain's lock or atomically, and Add, Remove and
// SetParams, which change the maps and the domains, would take a global lock
// first.
package sched
