package boot

import "strings"

// Options are the hypervisor's command-line options: space-separated
// key=value words (a bare word is key=""). Words without the "tamavisor."
// prefix are kept too, for domains' use later.
type Options map[string]string

// ParseCmdline splits a boot command line into options. Later words win.
func ParseCmdline(s string) Options {
	o := Options{}
	for _, w := range strings.Fields(s) {
		k, v, _ := strings.Cut(w, "=")
		o[k] = v
	}
	return o
}

// Has reports whether a comma-separated option holds item, e.g.
// tamavisor.dump=boot,acpi.
func (o Options) Has(key, item string) bool {
	for _, v := range strings.Split(o[key], ",") {
		if v == item {
			return true
		}
	}
	return false
}
