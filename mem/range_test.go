package mem

import (
	"slices"
	"testing"
)

func TestRangeSizeString(t *testing.T) {
	for _, c := range []struct {
		r    Range
		size uint64
		str  string
	}{
		{Range{0x1000, 0x3000}, 0x2000, "0x1000-0x3000"},
		{Range{0, 0}, 0, "0x0-0x0"},
		{Range{0x5000, 0x4000}, 0, "0x5000-0x4000"},
		{Range{0, 1 << 63}, 1 << 63, "0x0-0x8000000000000000"},
	} {
		if got := c.r.Size(); got != c.size {
			t.Errorf("%v.Size() = %#x, want %#x", c.r, got, c.size)
		}
		if got := c.r.String(); got != c.str {
			t.Errorf("String() = %q, want %q", got, c.str)
		}
	}
}

func TestNormalize(t *testing.T) {
	for _, c := range []struct {
		name string
		in   []Range
		want []Range
	}{
		{"nil", nil, []Range{}},
		{"empty ranges dropped", []Range{{5, 5}, {9, 3}}, []Range{}},
		{"sorted", []Range{{30, 40}, {10, 20}}, []Range{{10, 20}, {30, 40}}},
		{"overlapping", []Range{{10, 25}, {20, 30}}, []Range{{10, 30}}},
		{"adjacent", []Range{{20, 30}, {10, 20}}, []Range{{10, 30}}},
		{"contained", []Range{{10, 100}, {20, 30}, {40, 50}}, []Range{{10, 100}}},
		{"chain", []Range{{50, 60}, {10, 20}, {15, 52}, {70, 80}, {0, 1}}, []Range{{0, 1}, {10, 60}, {70, 80}}},
		{"duplicates", []Range{{10, 20}, {10, 20}, {10, 15}}, []Range{{10, 20}}},
	} {
		t.Run(c.name, func(t *testing.T) {
			in := slices.Clone(c.in)
			if got := Normalize(c.in); !slices.Equal(got, c.want) {
				t.Errorf("Normalize(%v) = %v, want %v", c.in, got, c.want)
			}
			if !slices.Equal(in, c.in) {
				t.Errorf("Normalize modified its input: %v", c.in)
			}
		})
	}
}

func TestSubtract(t *testing.T) {
	for _, c := range []struct {
		name   string
		in     []Range
		cut    Range
		expect []Range
	}{
		{"disjoint", []Range{{10, 20}}, Range{30, 40}, []Range{{10, 20}}},
		{"touching is not overlapping", []Range{{10, 20}}, Range{20, 30}, []Range{{10, 20}}},
		{"empty cut", []Range{{10, 20}}, Range{15, 15}, []Range{{10, 20}}},
		{"split", []Range{{10, 20}}, Range{12, 15}, []Range{{10, 12}, {15, 20}}},
		{"head", []Range{{10, 20}}, Range{5, 15}, []Range{{15, 20}}},
		{"tail", []Range{{10, 20}}, Range{15, 25}, []Range{{10, 15}}},
		{"whole", []Range{{10, 20}}, Range{10, 20}, []Range{}},
		{"several", []Range{{0, 10}, {20, 30}, {40, 50}}, Range{5, 45}, []Range{{0, 5}, {45, 50}}},
		{"empty inputs dropped", []Range{{5, 5}, {10, 20}}, Range{0, 1}, []Range{{10, 20}}},
		{"order kept", []Range{{40, 50}, {0, 10}}, Range{45, 46}, []Range{{40, 45}, {46, 50}, {0, 10}}},
	} {
		t.Run(c.name, func(t *testing.T) {
			if got := Subtract(c.in, c.cut); !slices.Equal(got, c.expect) {
				t.Errorf("Subtract(%v, %v) = %v, want %v", c.in, c.cut, got, c.expect)
			}
		})
	}
}
