package hv

import (
	"reflect"
	"strings"
	"testing"
)

func TestParseSpecs(t *testing.T) {
	def := func(image string) Spec {
		return Spec{Image: image, Name: image, MemMiB: DefaultMemMiB, Weight: DefaultWeight}
	}
	tests := []struct {
		in   string
		want []Spec
	}{
		{"hello", []Spec{def("hello")}},
		{"hello,name=h1,mem=64,args=a~b~~c,budget=500,broken=rflags", []Spec{{
			Image: "hello", Name: "h1", MemMiB: 64, Args: "a b  c", BudgetMS: 500, Broken: "rflags", Weight: DefaultWeight,
		}}},
		{"dom0,priv=1,weight=512,cap=50+hello", []Spec{
			{Image: "dom0", Name: "dom0", MemMiB: DefaultMemMiB, Weight: 512, Cap: 50, Privileged: true}, def("hello"),
		}},
		// The value runs to the next comma: it may hold '='.
		{"hello,args=console=hvc0~quiet", []Spec{{Image: "hello", Name: "hello", MemMiB: DefaultMemMiB, Args: "console=hvc0 quiet", Weight: DefaultWeight}}},
		{"hello,args=", []Spec{def("hello")}},
		// Later keys override earlier ones.
		{"hello,mem=4,mem=8", []Spec{{Image: "hello", Name: "hello", MemMiB: 8, Weight: DefaultWeight}}},
		// The bounds of mem are accepted.
		{"a,mem=2+b,name=second,mem=4096+a,name=third", []Spec{
			{Image: "a", Name: "a", MemMiB: 2, Weight: DefaultWeight},
			{Image: "b", Name: "second", MemMiB: MaxMemMiB, Weight: DefaultWeight},
			{Image: "a", Name: "third", MemMiB: DefaultMemMiB, Weight: DefaultWeight},
		}},
		{"x+y+z", []Spec{def("x"), def("y"), def("z")}},
		// Modules repeat, in order.
		{"hello,module=initrd,module=pvhmod", []Spec{{Image: "hello", Name: "hello", MemMiB: DefaultMemMiB, Weight: DefaultWeight, Modules: []string{"initrd", "pvhmod"}}}},
	}
	for _, tt := range tests {
		got, err := ParseSpecs(tt.in)
		if err != nil {
			t.Errorf("ParseSpecs(%q): %v", tt.in, err)
			continue
		}
		if !reflect.DeepEqual(got, tt.want) {
			t.Errorf("ParseSpecs(%q) =\n  %+v\nwant\n  %+v", tt.in, got, tt.want)
		}
	}
}

func TestParseSpecsErrors(t *testing.T) {
	tests := []struct {
		in string
		// The message must hold every one of these: which domain, and
		// what is wrong with it.
		want []string
	}{
		{"", []string{"domain 1 is empty"}},
		{"a++b", []string{"domain 2 is empty"}},
		{"a+", []string{"domain 2 is empty"}},
		{"+a", []string{"domain 1 is empty"}},
		{",mem=4", []string{"domain 1", `",mem=4"`, "must start with an image name"}},
		{"a+mem=4", []string{"domain 2", `"mem=4"`, "must start with an image name"}},
		{"a,foo=1", []string{"domain 1 (a)", `unknown key "foo"`}},
		{"a,module=", []string{"domain 1 (a)", "module= names no image"}},
		{"a,Mem=4", []string{"domain 1 (a)", `unknown key "Mem"`}},
		{"a,mem", []string{"domain 1 (a)", `"mem" is not key=value`}},
		{"a,", []string{"domain 1 (a)", `"" is not key=value`}},
		{"a,mem=1", []string{"domain 1 (a)", "mem=1 MiB is outside 2-4096"}},
		{"a,mem=0", []string{"domain 1 (a)", "mem=0 MiB is outside"}},
		{"a,mem=-4", []string{"domain 1 (a)", "mem=-4 MiB is outside"}},
		{"a,mem=4097", []string{"domain 1 (a)", "mem=4097 MiB is outside 2-4096"}},
		{"a,mem=lots", []string{"domain 1 (a)", "mem", `"lots"`}},
		{"a,mem=", []string{"domain 1 (a)", "mem", `""`}},
		{"a,budget=0", []string{"domain 1 (a)", "budget=0 ms is outside 1-86400000"}},
		{"a,weight=0", []string{"domain 1 (a)", `weight="0" is not a number in 1-65535`}},
		{"a,cap=101", []string{"domain 1 (a)", `cap="101" is not a percentage in 0-100`}},
		{"a,priv=yes", []string{"domain 1 (a)", `priv="yes": only priv=1`}},
		{"a,priv=1+b,priv=1", []string{"domain 2 (b)", "a second privileged domain (a is one)"}},
		{"a,budget=86400001", []string{"domain 1 (a)", "budget=86400001 ms is outside 1-86400000"}},
		{"a,budget=-5", []string{"domain 1 (a)", "budget=-5 ms is outside 1-86400000"}},
		{"a,budget=soon", []string{"domain 1 (a)", "budget", `"soon"`}},
		{"a,broken=cr0", []string{"domain 1 (a)", `broken="cr0"`, "rflags"}},
		{"a,broken=", []string{"domain 1 (a)", `broken=""`}},
		{"a,name=", []string{"domain 1 (a)", `bad name ""`}},
		{"a,name=x~y", nil}, // '~' is only a space in args: accepted, see below
		{"a,name=x:y", []string{"domain 1 (a)", `bad name "x:y"`}},
		{"a,name=x\ty", []string{"domain 1 (a)", `bad name "x\ty"`}},
		{"a,name=" + strings.Repeat("n", 32), []string{"domain 1 (a)", "bad name", "under 32 bytes"}},
		{"a+b,mem=1", []string{"domain 2 (b)", "mem=1 MiB"}},
		{"a+b+c,name=", []string{"domain 3 (c)", "bad name"}},
	}
	for _, tt := range tests {
		got, err := ParseSpecs(tt.in)
		if tt.want == nil {
			if err != nil {
				t.Errorf("ParseSpecs(%q): %v", tt.in, err)
			}
			continue
		}
		if err == nil {
			t.Errorf("ParseSpecs(%q) = %+v, want an error", tt.in, got)
			continue
		}
		if got != nil {
			t.Errorf("ParseSpecs(%q) returned specs with its error", tt.in)
		}
		msg := err.Error()
		if !strings.HasPrefix(msg, "tamavisor.domains: ") {
			t.Errorf("ParseSpecs(%q): %q does not name the parameter", tt.in, msg)
		}
		for _, w := range tt.want {
			if !strings.Contains(msg, w) {
				t.Errorf("ParseSpecs(%q): %q lacks %q", tt.in, msg, w)
			}
		}
	}
}

// A name may not hold a space; in a spec, '~' stands for one only in args.
func TestParseSpecsNameKeepsTilde(t *testing.T) {
	got, err := ParseSpecs("a,name=x~y,args=p~q")
	if err != nil {
		t.Fatal(err)
	}
	if got[0].Name != "x~y" || got[0].Args != "p q" {
		t.Errorf("name %q args %q, want \"x~y\" and \"p q\"", got[0].Name, got[0].Args)
	}
}
