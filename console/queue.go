package console

// A console with a transmit queue: lines go into a ring of bytes, and Pump
// moves them to the device as fast as it takes them, without waiting. A
// slow serial line (115,200 baud moves about 11.5 bytes a millisecond) then
// delays no one but the writers that outrun it: the hypervisor checks Room
// before it takes a guest's output, and holds the guest back when there is
// not enough.

// Device is a transmitter that can be fed without waiting.
type Device interface {
	// TryWrite writes as much of p as the device takes now and returns
	// how much; 0 when it is busy.
	TryWrite(p []byte) int
}

// Reserve is the part of the queue that only trusted lines (the
// hypervisor's own) may use: a guest's output waits when the rest is full,
// and the hypervisor's lines still go in at once.
const Reserve = 8 << 10

// NewQueued returns a console whose lines wait in a queue of size bytes for
// dev (Pump). A line that finds the queue full is not lost: the console
// then waits for the device (as an unqueued console always does), calling
// idle between tries.
func NewQueued(dev Device, size int, idle func()) *Console {
	return &Console{dev: dev, queue: make([]byte, size), idle: idle}
}

// Pump moves queued bytes to the device while it takes them, and returns
// how many are still queued.
func (c *Console) Pump() int {
	if c.Queued() == 0 {
		return 0
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.pump()
	return c.queued
}

// Queued returns how many bytes wait for the device. It takes no lock, so
// that the exit path can ask at every exit.
func (c *Console) Queued() int { return int(c.waiting.Load()) }

// Sent returns how many bytes the device has taken from the queue, ever:
// with the value of Sent plus Queued at the time a writer's line went in,
// a writer can tell how much of what it queued still waits.
func (c *Console) Sent() uint64 { return c.sent.Load() }

// Room returns how many bytes an untrusted writer may still queue (the
// queue's free space less Reserve); an unqueued console always has room.
func (c *Console) Room() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.queue == nil {
		return int(^uint(0) >> 1)
	}
	return max(len(c.queue)-c.queued-Reserve, 0)
}

// Capacity is the most Room ever says: the queue's size less Reserve.
func (c *Console) Capacity() int {
	if c.queue == nil {
		return int(^uint(0) >> 1)
	}
	return len(c.queue) - Reserve
}

// Drain waits until every queued byte has gone to the device. It gives up
// at once when another writer holds the console (a panic inside it, on the
// way to power-off), rather than wait forever.
func (c *Console) Drain() {
	if !c.mu.TryLock() {
		return
	}
	defer c.mu.Unlock()
	for c.queued > 0 {
		if c.pump(); c.queued > 0 && c.idle != nil {
			c.idle()
		}
	}
}

// pump feeds the device from the queue's head. The caller holds c.mu.
func (c *Console) pump() {
	for c.queued > 0 {
		run := min(c.queued, len(c.queue)-c.head) // the bytes before the wrap
		n := c.dev.TryWrite(c.queue[c.head : c.head+run])
		c.head = (c.head + n) % len(c.queue)
		c.queued -= n
		c.waiting.Store(int64(c.queued))
		c.sent.Add(uint64(n))
		if n < run {
			return // the device is busy
		}
	}
}

// put queues p, waiting for the device when the queue is full. The caller
// holds c.mu.
func (c *Console) put(p []byte) {
	for len(p) > 0 {
		if c.queued == len(c.queue) {
			if c.pump(); c.queued == len(c.queue) && c.idle != nil {
				c.idle()
			}
			continue
		}
		tail := (c.head + c.queued) % len(c.queue)
		n := copy(c.queue[tail:min(len(c.queue), tail+len(c.queue)-c.queued)], p)
		c.queued += n
		c.waiting.Store(int64(c.queued))
		p = p[n:]
	}
	c.pump()
}
