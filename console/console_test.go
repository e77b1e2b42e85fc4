package console

import (
	"bytes"
	"strings"
	"sync"
	"testing"
)

func TestLinesCarryTheirSource(t *testing.T) {
	var out bytes.Buffer
	c := New(&out)
	hv := c.Logger("hv")
	d1 := c.Logger("d1.hello")
	hv.Printf("memory: %d MiB", 512)
	d1.Write([]byte("hel"))
	hv.Printf("two\nlines")
	d1.Write([]byte("lo\r\n"))
	want := "hv: memory: 512 MiB\nhv: two\nhv: lines\nd1.hello: hello\n"
	if got := out.String(); got != want {
		t.Fatalf("got %q, want %q", got, want)
	}
}

func TestControlCharactersCannotForgeLines(t *testing.T) {
	var out bytes.Buffer
	c := New(&out)
	d := c.Logger("d2")
	d.Write([]byte("evil\x1b[2J\x00\rhv: fake\n"))
	d.Write([]byte("partial"))
	d.Flush()
	want := "d2: evil?[2J?hv: fake\nd2: partial\n"
	if got := out.String(); got != want {
		t.Fatalf("got %q, want %q", got, want)
	}
}

func TestConcurrentLinesDoNotInterleave(t *testing.T) {
	var out bytes.Buffer
	c := New(&out)
	var wg sync.WaitGroup
	for _, src := range []string{"a", "b", "c", "d"} {
		wg.Add(1)
		go func(l *Logger) {
			defer wg.Done()
			for i := 0; i < 200; i++ {
				l.Printf("line %03d of %s", i, l.Source())
			}
		}(c.Logger(src))
	}
	wg.Wait()
	lines := strings.Split(strings.TrimSuffix(out.String(), "\n"), "\n")
	if len(lines) != 800 {
		t.Fatalf("%d lines, want 800", len(lines))
	}
	for _, line := range lines {
		src, rest, ok := strings.Cut(line, ": ")
		if !ok || !strings.HasSuffix(rest, " of "+src) {
			t.Fatalf("interleaved or malformed line %q", line)
		}
	}
}

// A source that never writes a newline gets its text out in MaxLine pieces,
// and the logger holds back no more than MaxLine bytes.
func TestLongLines(t *testing.T) {
	var out strings.Builder
	l := New(&out).Logger("d1.x")
	chunk := strings.Repeat("a", 4096)
	for i := 0; i < 100; i++ {
		l.Write([]byte(chunk))
		if len(l.buf) >= MaxLine {
			t.Fatalf("%d bytes held back", len(l.buf))
		}
	}
	lines := strings.Split(strings.TrimSuffix(out.String(), "\n"), "\n")
	if len(lines) != 100*4096/MaxLine {
		t.Fatalf("%d lines, want %d", len(lines), 100*4096/MaxLine)
	}
	for _, line := range lines {
		if line != "d1.x: "+strings.Repeat("a", MaxLine) {
			t.Fatalf("line %q", line[:40])
		}
	}
	// A newline after a long partial line: the rest of the line follows.
	out.Reset()
	l.Write([]byte(strings.Repeat("b", MaxLine+10) + "\nc\n"))
	want := "d1.x: " + strings.Repeat("b", MaxLine) + "\nd1.x: bbbbbbbbbb\nd1.x: c\n"
	if out.String() != want {
		t.Errorf("got %q", out.String())
	}
}
