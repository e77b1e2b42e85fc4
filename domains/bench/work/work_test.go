package work

import "testing"

func TestLoopIsDeterministic(t *testing.T) {
	if a, b := Loop(1000), Loop(1000); a != b || a == 0 {
		t.Fatalf("Loop(1000) = %#x, then %#x", a, b)
	}
	if Loop(1000) == Loop(1001) {
		t.Fatal("Loop ignores its argument")
	}
}

func BenchmarkLoop(b *testing.B) {
	for i := 0; i < b.N; i++ {
		Loop(1000)
	}
}
