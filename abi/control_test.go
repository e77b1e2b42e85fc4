package abi

import (
	"strings"
	"testing"
)

func TestDomainCreateRoundTrip(t *testing.T) {
	c := DomainCreate{Image: "hello", Name: "h1", MemMiB: 32, Weight: 512, Cap: 50, ArgsLen: 3, Args: 0x1000, ELF: 0, ELFLen: 0}
	b := c.Encode()
	if len(b) != DomainCreateSize {
		t.Fatalf("encoded %d bytes, want %d", len(b), DomainCreateSize)
	}
	got, err := DecodeDomainCreate(b)
	if err != nil {
		t.Fatal(err)
	}
	if *got != c {
		t.Errorf("decoded %+v, want %+v", *got, c)
	}
}

func TestDomainCreateRefused(t *testing.T) {
	ok := DomainCreate{Image: "hello", Name: "h1", MemMiB: 32}
	for _, tt := range []struct {
		name string
		edit func(c *DomainCreate)
		want string
	}{
		{"no name", func(c *DomainCreate) { c.Name = "" }, "bad name"},
		{"name with a space", func(c *DomainCreate) { c.Name = "a b" }, "bad name"},
		{"name with a colon", func(c *DomainCreate) { c.Name = "a:b" }, "bad name"},
		{"name with a newline (forges console lines)", func(c *DomainCreate) { c.Name = "x\nhv" }, "bad name"},
		{"name with DEL", func(c *DomainCreate) { c.Name = "x\x7f" }, "bad name"},
		{"name beyond ASCII", func(c *DomainCreate) { c.Name = "d\xc3\xa9" }, "bad name"},
		{"neither image nor ELF", func(c *DomainCreate) { c.Image = "" }, "neither an image name nor an ELF buffer"},
		{"empty ELF", func(c *DomainCreate) { c.Image, c.ELF = "", 0x1000 }, "ELF length 0"},
		{"huge ELF", func(c *DomainCreate) { c.Image, c.ELF, c.ELFLen = "", 0x1000, MaxImageSize+1 }, "ELF length"},
		{"long arguments", func(c *DomainCreate) { c.ArgsLen = MaxArgs + 1 }, "arguments of"},
		{"weight", func(c *DomainCreate) { c.Weight = 65536 }, "weight"},
		{"cap", func(c *DomainCreate) { c.Cap = 101 }, "cap"},
	} {
		c := ok
		tt.edit(&c)
		_, err := DecodeDomainCreate(c.Encode())
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: %v, want an error about %q", tt.name, err, tt.want)
		}
	}
	if _, err := DecodeDomainCreate(make([]byte, DomainCreateSize-1)); err == nil {
		t.Errorf("a short structure was accepted")
	}
}

func TestDomainInfoRoundTrip(t *testing.T) {
	i := DomainInfo{ID: 3, State: StateBlocked, Privileged: true, VCPUs: 1, Name: "peer", Mem: 32 << 20, Weight: 256, Cap: 10,
		CPUNanos: 12345, Exits: 99, Hypercall: 42, ConsoleGFN: 0x1fff, ConsolePort: 2, StorePort: 1, StoreGFN: 0x1ffe}
	got, err := DecodeDomainInfo(i.Encode())
	if err != nil {
		t.Fatal(err)
	}
	if got != i {
		t.Errorf("decoded %+v, want %+v", got, i)
	}
	for s, name := range map[uint8]string{StateCreated: "created", StateRunning: "running", StateRunnable: "runnable", StatePaused: "paused", 200: "?"} {
		if got := StateName(s); got != name {
			t.Errorf("StateName(%d) = %q, want %q", s, got, name)
		}
	}
}
