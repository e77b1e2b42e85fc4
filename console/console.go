// Package console multiplexes the log lines of the hypervisor and of every
// domain onto one serial line. Each line starts with its source ("hv",
// later each domain by name), so that a reader, or a test, can tell who said
// what. Lines from different sources never interleave mid-line.
package console

import (
	"fmt"
	"io"
	"sync"
	"sync/atomic"
)

// Console serializes lines onto a writer (the COM1 UART on hardware), or
// into a transmit queue for a device (NewQueued, queue.go).
type Console struct {
	mu  sync.Mutex
	out io.Writer

	dev          Device
	queue        []byte
	head, queued int
	waiting      atomic.Int64  // queued, for Queued without the lock
	sent         atomic.Uint64 // bytes the device took, ever (Sent)
	idle         func()
}

// New returns a console writing to out.
func New(out io.Writer) *Console {
	return &Console{out: out}
}

// Logger writes lines on behalf of one source.
type Logger struct {
	c      *Console
	source string
	mu     sync.Mutex
	buf    []byte // a partial line written through Write
}

// Logger returns a logger whose lines start with "source: ".
func (c *Console) Logger(source string) *Logger {
	return &Logger{c: c, source: source}
}

// Source returns the logger's source name.
func (l *Logger) Source() string { return l.source }

// Printf formats a message and writes it as one or more lines.
func (l *Logger) Printf(format string, args ...any) {
	l.Write([]byte(fmt.Sprintf(format, args...) + "\n"))
}

// MaxLine is the longest line a logger holds back: a partial line that
// reaches it is written out as a line of its own, so that a source that
// never writes a newline (a hostile domain) cannot grow the hypervisor's
// memory.
const MaxLine = 1024

// Write writes text as lines; a trailing partial line is held back until its
// newline arrives (or Flush, or MaxLine bytes). It implements io.Writer so
// that a domain's console stream can be copied straight in.
func (l *Logger) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	n := len(p)
	for len(p) > 0 {
		i := indexByte(p, '\n')
		if i < 0 {
			take := min(len(p), MaxLine-len(l.buf))
			l.buf = append(l.buf, p[:take]...)
			p = p[take:]
			if len(l.buf) == MaxLine {
				l.emit(l.buf)
				l.buf = l.buf[:0]
			}
			continue
		}
		if len(l.buf)+i > MaxLine {
			take := MaxLine - len(l.buf)
			l.buf = append(l.buf, p[:take]...)
			l.emit(l.buf)
			l.buf, p = l.buf[:0], p[take:]
			continue
		}
		l.emit(append(l.buf, p[:i]...))
		l.buf, p = l.buf[:0], p[i+1:]
	}
	return n, nil
}

// Flush writes a held-back partial line.
func (l *Logger) Flush() {
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.buf) > 0 {
		l.emit(l.buf)
		l.buf = nil
	}
}

// emit writes one line with its source. Carriage returns are dropped and
// other control characters (except tab) are shown as '?', so that a domain
// cannot forge another source's line or drive the terminal.
func (l *Logger) emit(line []byte) {
	out := make([]byte, 0, len(l.source)+2+len(line)+1)
	out = append(out, l.source...)
	out = append(out, ':', ' ')
	for _, b := range line {
		switch {
		case b == '\r':
			continue
		case b < 0x20 && b != '\t', b == 0x7f:
			b = '?'
		}
		out = append(out, b)
	}
	out = append(out, '\n')
	l.c.mu.Lock()
	if l.c.queue != nil {
		l.c.put(out)
	} else {
		l.c.out.Write(out)
	}
	l.c.mu.Unlock()
}

func indexByte(b []byte, c byte) int {
	for i, x := range b {
		if x == c {
			return i
		}
	}
	return -1
}
