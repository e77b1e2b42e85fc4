package console

import (
	"bytes"
	"fmt"
	"strings"
	"testing"
)

// slowDevice takes at most per bytes a call, and nothing while busy.
type slowDevice struct {
	out  bytes.Buffer
	per  int
	busy bool
}

func (d *slowDevice) TryWrite(p []byte) int {
	if d.busy {
		return 0
	}
	n := min(len(p), d.per)
	d.out.Write(p[:n])
	return n
}

func TestQueueKeepsLinesInOrderAcrossTheWrap(t *testing.T) {
	dev := &slowDevice{per: 7}
	c := NewQueued(dev, 64+Reserve, nil)
	hv, d1 := c.Logger("hv"), c.Logger("d1")
	for i := 0; i < 200; i++ {
		l := hv
		if i%3 == 0 {
			l = d1
		}
		l.Printf("line %d", i)
		c.Pump()
	}
	c.Drain()
	if c.Queued() != 0 {
		t.Fatalf("%d bytes still queued after Drain", c.Queued())
	}
	lines := strings.Split(strings.TrimSuffix(dev.out.String(), "\n"), "\n")
	if len(lines) != 200 {
		t.Fatalf("%d lines came out, want 200", len(lines))
	}
	for i, l := range lines {
		src := "hv"
		if i%3 == 0 {
			src = "d1"
		}
		if w := fmt.Sprintf("%s: line %d", src, i); l != w {
			t.Fatalf("line %d is %q, want %q", i, l, w)
		}
	}
}

// A busy device: lines wait in the queue (Room shrinks, the reserve kept
// for trusted lines), nothing reaches the device until it takes bytes
// again, and nothing is lost.
func TestQueueWaitsForABusyDevice(t *testing.T) {
	dev := &slowDevice{per: 1 << 20, busy: true}
	c := NewQueued(dev, 1024+Reserve, nil)
	if c.Room() != 1024 {
		t.Fatalf("an empty queue has room %d, want 1024", c.Room())
	}
	d1 := c.Logger("d1")
	d1.Printf("%s", strings.Repeat("x", 100))
	if c.Queued() != 105 || c.Room() != 1024-105 || dev.out.Len() != 0 {
		t.Fatalf("queued %d, room %d, device got %d bytes", c.Queued(), c.Room(), dev.out.Len())
	}
	if n := c.Pump(); n != 105 {
		t.Fatalf("Pump on a busy device left %d queued, want 105", n)
	}
	dev.busy = false
	if n := c.Pump(); n != 0 || dev.out.String() != "d1: "+strings.Repeat("x", 100)+"\n" {
		t.Fatalf("after the device freed up: %d queued, device got %q", n, dev.out.String())
	}
}

// A line that finds the queue full waits for the device (calling idle
// between tries) rather than being dropped.
func TestQueueFullWaitsRatherThanDrops(t *testing.T) {
	dev := &slowDevice{per: 1 << 20, busy: true}
	idles := 0
	c := NewQueued(dev, 32, func() {
		idles++
		if idles == 3 {
			dev.busy = false
		}
	})
	hv := c.Logger("hv")
	hv.Printf("%s", strings.Repeat("y", 60)) // more than the whole queue
	if idles < 3 {
		t.Errorf("the writer waited %d times, want at least 3", idles)
	}
	c.Drain()
	if got := dev.out.String(); got != "hv: "+strings.Repeat("y", 60)+"\n" {
		t.Errorf("device got %q", got)
	}
}

func TestUnqueuedConsoleAlwaysHasRoom(t *testing.T) {
	var out bytes.Buffer
	c := New(&out)
	if c.Room() < 1<<30 || c.Pump() != 0 || c.Queued() != 0 {
		t.Errorf("an unqueued console: room %d, pump %d, queued %d", c.Room(), c.Pump(), c.Queued())
	}
	c.Drain()
}
