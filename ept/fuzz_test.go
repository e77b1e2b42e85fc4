package ept

import (
	"math/rand/v2"
	"sync"
	"testing"
)

// The fuzz window: 1 GiB and 16 MiB around the 512 GiB boundary, so that it
// holds one 1 GiB-aligned block, crosses two PML4 entries and has partial
// 1 GiB blocks on both sides.
const (
	fuzzBase = 1<<39 - 8<<20
	fuzzSize = 1<<30 + 16<<20
)

var (
	fuzzMu    sync.Mutex
	fuzzPages []mpage // the model's memory, reused across inputs
)

// fuzzOp decodes 8 bytes into an operation on the harness's window.
func (h *harness) fuzzOp(b []byte) op {
	np := uint64(len(h.pages))
	o := op{kind: opKind(b[0] % 3), failAfter: -1}
	if b[0]>>2&15 == 15 {
		o.failAfter = int(b[0] >> 6)
	}
	off := (uint64(b[1]) | uint64(b[2])<<8 | uint64(b[3])<<16) % np
	var pages uint64
	switch b[4] >> 6 {
	case 0:
		pages = 1 + uint64(b[5]%16)
	case 1:
		pages = 1 + (uint64(b[5])|uint64(b[4]&0x3f)<<8)%1024
	case 2:
		pages = 512 * (1 + uint64(b[5]%8))
		off &^= 511
	default:
		if b[5]&1 != 0 {
			off, pages = (1<<39-fuzzBase)/PageSize4K, 1<<18 // the 1 GiB block
		} else {
			pages = 512 * (1 + uint64(b[5]>>1))
		}
		o.clearFirst = b[5]&2 != 0 && o.kind == opMap
	}
	pages = min(pages, np-off)
	o.gpa, o.size = h.base+off*PageSize4K, pages*PageSize4K
	k := uint64(b[6]/3) % 16
	switch b[6] % 3 {
	case 0: // the GPA's alignment up to 1 GiB
		o.hpa = o.gpa%PageSize1G + (1+k)*PageSize1G
	case 1: // up to 2 MiB
		o.hpa = o.gpa%PageSize1G + (1+k)*PageSize1G + uint64(1+b[7])*PageSize2M
	default:
		o.hpa = (uint64(b[7])<<8 | uint64(b[6])) * PageSize4K * 3
	}
	ps := h.perms()
	o.perm = ps[int(b[7])%len(ps)]
	o.mt = memTypes[int(b[7]>>3)%len(memTypes)]
	return o
}

// FuzzOps drives Map, Unmap and Protect from the fuzzer's bytes (the first
// byte picks the options, then 8 bytes per operation) and checks every
// outcome against the page model, then unmaps everything and destroys the
// EPT, checking that no table frame is left.
func FuzzOps(f *testing.F) {
	f.Add([]byte{3, 0, 0, 0, 0, 0xc0, 3, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0}) // map the 1 GiB block, unmap part
	f.Add([]byte{4, 0, 0x10, 0, 0, 0x80, 0, 0, 0, 1, 0x10, 0, 0, 0, 5, 0, 0, 2, 0x20, 0, 0, 0x40, 3, 1, 2})
	f.Add([]byte{1, 0, 0, 0, 0, 0x80, 7, 0, 0, 0x3c, 1, 0, 0, 0, 0, 0, 0})                            // allocation failure
	f.Add([]byte{2, 0, 0, 0, 0, 0xc0, 3, 0, 0, 2, 5, 0x22, 1, 0, 2, 0, 8, 1, 0, 0, 0, 0xc1, 3, 0, 0}) // 1 GiB without 2 MiB
	f.Add([]byte{0, 0xff, 0xff, 0x03, 0x7f, 0xff, 2, 9, 1, 0xfe, 0xff, 0x03, 0, 3, 0, 0})
	f.Fuzz(func(t *testing.T, data []byte) {
		if len(data) < 1 {
			return
		}
		if len(data) > 1+8*48 {
			data = data[:1+8*48]
		}
		fuzzMu.Lock()
		defer fuzzMu.Unlock()
		c := allOpts[int(data[0])%len(allOpts)]
		h := newHarness(t, c.opt, fuzzBase, fuzzSize, fuzzPages)
		fuzzPages = h.pages
		for b := data[1:]; len(b) >= 8; b = b[8:] {
			o := h.fuzzOp(b[:8])
			if o.clearFirst {
				h.clear(o.gpa, o.size)
			}
			h.apply(o)
		}
		h.checkAll()
		h.unmapAll(rand.New(rand.NewPCG(uint64(len(data)), 1)))
		h.e.Destroy()
		if h.f.live() != 0 || len(h.f.misuse) > 0 {
			t.Fatalf("after Destroy: %d live frames, misuse %v", h.f.live(), h.f.misuse)
		}
	})
}
