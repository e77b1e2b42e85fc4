package hv

import (
	"testing"

	"tamavisor/hv/grant"
	"tamavisor/vmx"
	"tamavisor/xen"
)

// Benchmarks of the hypervisor's side of the hot hypercalls, each entered
// through the VMCALL exit handler as from a guest (64-bit convention,
// arguments in guest memory). The world's guest memory is plain (flatPhys)
// and the VMCS a map (fieldMap): on hardware a VMREAD replaces each map
// lookup, and INVEPT the no-op flushEPT.

// benchCall loads a hypercall into the registers and runs the VMCALL exit
// handler; it returns RAX.
func benchCall(e *testEnv, nr, a0, a1, a2 uint64) int64 {
	g := &e.v.Regs.GPR
	g[vmx.RAX], g[vmx.RDI], g[vmx.RSI], g[vmx.RDX] = nr, a0, a1, a2
	handleVMCALL(e.h, e.v, vmx.ExitReasonVMCALL)
	return int64(g[vmx.RAX])
}

func newBenchWorld(b *testing.B) (*world, *testEnv, *testEnv) {
	b.Helper()
	w := newWorld(b, 24, false)
	d1 := w.addDomain(b, 1, "one", 4, false)
	d2 := w.addDomain(b, 2, "two", 4, false)
	return w, d1, d2
}

// xen_version(XENVER_version) through Go: the exit handler, dispatch,
// nothing else (on hardware the exit path answers it from
// vmx.HypercallCache; this is what every other hypercall pays at least).
func BenchmarkHypercallNull(b *testing.B) {
	_, d1, _ := newBenchWorld(b)
	b.ReportAllocs()
	for b.Loop() {
		if r := benchCall(d1, xen.HypercallXenVersion, xen.XenVerVersion, 0, 0); r != xen.Version {
			b.Fatalf("xen_version = %d", r)
		}
	}
}

// EVTCHNOP_send from d1 to d2.
//
// wake: d2's vCPU is blocked (as after SCHEDOP_block) and its port clear, so
// the send sets the pending bit, the selector and upcall_pending, and wakes
// the vCPU (scheduler included). Each iteration first puts d2 back: the
// guest's three clears in shared_info and the hypervisor's block (the
// scheduler's Block), a few ns of the total.
//
// pending: the port is already pending: the send changes nothing and wakes
// nobody (the cheapest successful send).
func BenchmarkEvtchnSend(b *testing.B) {
	b.Run("wake", func(b *testing.B) {
		w, d1, d2 := newBenchWorld(b)
		d2.mapShared(b)
		p1, p2 := connect(b, d1, d2)
		d1.write(b, argGPA, le.AppendUint32(nil, p1))
		si := sharedPage{w.frame(d2.d.sharedInfo)}
		word, bit := 2048+int(p2/64)*8, uint64(1)<<(p2%64)
		b.ReportAllocs()
		for b.Loop() {
			si.AndNot(word, bit)
			si.AndNot(8, ^uint64(0))
			si.StoreByte(0, 0)
			d2.v.UpcallPending = false
			w.h.block(d2.v)
			if r := benchCall(d1, xen.HypercallEventChannelOp, evtchnopSend, argGPA, 0); r != 0 {
				b.Fatalf("send = %d", r)
			}
		}
		if d2.v.State != VCPURunnable || !d2.v.UpcallPending || si.Load(word)&bit == 0 {
			b.Fatalf("d2 not woken: %s", d2.v.State)
		}
	})
	b.Run("pending", func(b *testing.B) {
		_, d1, d2 := newBenchWorld(b)
		p1, _ := connect(b, d1, d2)
		d1.write(b, argGPA, le.AppendUint32(nil, p1))
		benchCall(d1, xen.HypercallEventChannelOp, evtchnopSend, argGPA, 0)
		b.ReportAllocs()
		for b.Loop() {
			if r := benchCall(d1, xen.HypercallEventChannelOp, evtchnopSend, argGPA, 0); r != 0 {
				b.Fatalf("send = %d", r)
			}
		}
	})
}

// SCHEDOP_poll on one port that is already pending: it returns at once.
func BenchmarkSchedPollReady(b *testing.B) {
	_, d1, d2 := newBenchWorld(b)
	p1, p2 := connect(b, d1, d2)
	if r := d1.send(b, p1); r != 0 {
		b.Fatal(r)
	}
	d2.write(b, portGPA, le.AppendUint32(nil, p2))
	arg := make([]byte, 24)
	le.PutUint64(arg[0:], portGPA)
	le.PutUint32(arg[8:], 1)
	d2.write(b, argGPA, arg)
	b.ReportAllocs()
	for b.Loop() {
		if r := benchCall(d2, xen.HypercallSchedOp, xen.SchedOpPoll, argGPA, 0); r != 0 {
			b.Fatalf("poll = %d", r)
		}
	}
	if d2.v.State != VCPURunnable {
		b.Fatalf("the poll blocked: %s", d2.v.State)
	}
}

// GNTTABOP_map_grant_ref then GNTTABOP_unmap_grant_ref (one operation each)
// of a page d1 grants to d2, writable, at the same GPA each time.
//
// neighbour: another page in the same 2 MiB of d2's physical space stays
// mapped (its shared_info), so the EPT page table stays.
//
// alone: nothing else in that 2 MiB: every map builds the EPT page table
// and every unmap frees it.
func BenchmarkGrantMapUnmap(b *testing.B) {
	for _, neighbour := range []bool{true, false} {
		name := "alone"
		if neighbour {
			name = "neighbour"
		}
		b.Run(name, func(b *testing.B) {
			w, d1, d2 := newBenchWorld(b)
			d1.mapGrantTable(b)
			d1.grantAccess(b, 8, 2, grantedGFN, gtfPermitAccess)
			if neighbour {
				d2.mapShared(b)
			}
			g := grantMapAt(d2, 0)
			const mapArg, unmapArg = argGPA, argGPA + 0x100
			m := make([]byte, 32)
			le.PutUint64(m[0:], g)
			le.PutUint32(m[8:], gntmapHostMap)
			le.PutUint32(m[12:], 8)
			le.PutUint16(m[16:], 1)
			d2.write(b, mapArg, m)
			u := make([]byte, 24)
			le.PutUint64(u[0:], g)
			d2.write(b, unmapArg, u)
			// The guest copies the handle from one structure to the
			// other: plain host memory here.
			off := d2.hpa(b, argGPA) - hostBase
			page := w.host[off : off+0x200]
			tables, flushes := len(w.tables.frames), w.flushes
			b.ReportAllocs()
			for b.Loop() {
				if r := benchCall(d2, xen.HypercallGrantTableOp, gnttabopMapGrantRef, mapArg, 1); r != 0 {
					b.Fatalf("map = %d", r)
				}
				if st := grant.Status(int16(le.Uint16(page[18:]))); st != grant.Okay {
					b.Fatalf("map status %v", st)
				}
				copy(page[0x100+16:0x100+20], page[20:24])
				if r := benchCall(d2, xen.HypercallGrantTableOp, gnttabopUnmapGrantRef, unmapArg, 1); r != 0 {
					b.Fatalf("unmap = %d", r)
				}
				if st := grant.Status(int16(le.Uint16(page[0x100+20:]))); st != grant.Okay {
					b.Fatalf("unmap status %v", st)
				}
			}
			if _, ok := d2.d.EPT.Translate(g); ok || len(d2.d.grantHPA) != 0 || len(w.tables.frames) != tables {
				b.Fatalf("after the loop: mapped %v, %d records, %d EPT tables (was %d)", ok, len(d2.d.grantHPA), len(w.tables.frames), tables)
			}
			b.ReportMetric(float64(w.flushes-flushes)/float64(b.N), "INVEPT/op")
		})
	}
}
