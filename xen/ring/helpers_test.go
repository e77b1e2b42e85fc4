package ring

import (
	"bytes"
	"fmt"
	"testing"
)

const guardSize = 64
const guardByte = 0xa5

// guarded is a page with guard bytes on both sides, to show that nothing
// outside the page is ever touched.
type guarded struct {
	all  []byte
	page *Page
}

func newGuarded(tb testing.TB, n int) *guarded {
	tb.Helper()
	all := make([]byte, guardSize+n+guardSize)
	for i := range all {
		all[i] = guardByte
	}
	clear(all[guardSize : guardSize+n])
	p, err := NewPage(all[guardSize : guardSize+n])
	if err != nil {
		tb.Fatal(err)
	}
	return &guarded{all: all, page: p}
}

func (g *guarded) check(tb testing.TB) {
	tb.Helper()
	n := g.page.Len()
	for i, b := range g.all {
		if (i < guardSize || i >= guardSize+n) && b != guardByte {
			tb.Fatalf("guard byte %d (page offset %d) changed to %#x", i, i-guardSize, b)
		}
	}
}

// checked is a Mem that records any access outside the page (or unaligned)
// instead of making it, and that can let a hostile peer write into the page
// before each access, as a peer running on another CPU could.
type checked struct {
	p        *Page
	bad      []string
	scribble []byte // peer writes, consumed one per access
}

func (c *checked) Len() int { return c.p.Len() }

func (c *checked) ok(off, n int, word bool) bool {
	if off < 0 || n < 0 || off+n > c.p.Len() || (word && off&3 != 0) {
		c.bad = append(c.bad, fmt.Sprintf("access [%d, %d) of %d bytes", off, off+n, c.p.Len()))
		return false
	}
	return true
}

// peer applies the next scribble: 1 control byte, then (if its low 2 bits
// are 0) a word offset and a 32-bit value.
func (c *checked) peer() {
	if len(c.scribble) == 0 {
		return
	}
	ctl := c.scribble[0]
	c.scribble = c.scribble[1:]
	if ctl&3 != 0 || len(c.scribble) < 5 {
		return
	}
	off := int(c.scribble[0]) * 4 % (c.p.Len() &^ 3)
	if ctl&4 != 0 {
		off %= HeaderSize // mostly the indices
	}
	v := uint32(c.scribble[1]) | uint32(c.scribble[2])<<8 | uint32(c.scribble[3])<<16 | uint32(c.scribble[4])<<24
	if ctl&8 != 0 {
		v = c.p.Load32(off) + uint32(int32(int8(c.scribble[1]))) // near the current value
	}
	c.scribble = c.scribble[5:]
	c.p.Store32(off, v)
}

func (c *checked) Load32(off int) uint32 {
	c.peer()
	if !c.ok(off, 4, true) {
		return 0
	}
	return c.p.Load32(off)
}

func (c *checked) Store32(off int, v uint32) {
	if c.ok(off, 4, true) {
		c.p.Store32(off, v)
	}
	c.peer()
}

func (c *checked) Bytes(off, n int) []byte {
	c.peer()
	if !c.ok(off, n, false) {
		return make([]byte, max(n, 0))
	}
	return c.p.Bytes(off, n)
}

func (c *checked) check(tb testing.TB) {
	tb.Helper()
	if len(c.bad) > 0 {
		tb.Fatalf("%d accesses outside the page, first %s", len(c.bad), c.bad[0])
	}
}

// fill writes a pattern derived from id into b (id in the first 8 bytes).
func fill(b []byte, id uint64, salt byte) {
	for i := range b {
		if i < 8 {
			b[i] = byte(id >> (8 * i))
		} else {
			b[i] = byte(id) + byte(i)*7 + salt
		}
	}
}

func checkFill(tb testing.TB, b []byte, id uint64, salt byte) {
	tb.Helper()
	want := make([]byte, len(b))
	fill(want, id, salt)
	if !bytes.Equal(b, want) {
		tb.Fatalf("slot of id %d (salt %d): got % x, want % x", id, salt, b, want)
	}
}
