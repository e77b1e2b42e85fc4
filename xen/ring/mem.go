package ring

import (
	"errors"
	"fmt"
)

// Mem is memory shared with the peer: usually one 4 KiB page, or several
// contiguous pages for a multi-page ring.
//
// Load32 and Store32 are atomic (with the ordering of sync/atomic) and take
// 4-byte aligned offsets; Bytes returns the n bytes at off, aliasing the
// shared memory. The ring code only ever passes offsets with off >= 0 and
// off+4 (or off+n) <= Len(), checked when a ring is made.
type Mem interface {
	Len() int
	Load32(off int) uint32
	Store32(off int, v uint32)
	Bytes(off, n int) []byte
}

// Page is a Mem over a byte slice: a test buffer, or the caller's mapping of
// the shared frame(s).
type Page struct {
	b []byte
}

// NewPage returns a Page over b, which must start at a 4-byte aligned
// address (as any page, or any Go allocation of 4 bytes or more, does).
func NewPage(b []byte) (*Page, error) {
	if len(b) == 0 {
		return nil, errors.New("ring: empty page")
	}
	if !aligned4(b) {
		return nil, fmt.Errorf("ring: page at %p is not 4-byte aligned", &b[0])
	}
	return &Page{b: b[:len(b):len(b)]}, nil
}

// Len returns the size of the page in bytes.
func (p *Page) Len() int { return len(p.b) }

// Bytes returns the n bytes at off, aliasing the page (with the capacity
// cut at off+n, so that an append cannot run into the bytes that follow).
func (p *Page) Bytes(off, n int) []byte { return p.b[off : off+n : off+n] }
