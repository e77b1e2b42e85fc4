package xenstore

import (
	"strconv"
	"strings"
)

// Access is the access a permission entry grants (tools/include/xenstore_lib.h,
// XS_PERM_*).
type Access uint8

const (
	AccessNone  Access = 0 // "n"
	AccessRead  Access = 1 // "r"
	AccessWrite Access = 2 // "w"
	AccessBoth  Access = 3 // "b": read and write

	accessOwner Access = 8 // XS_PERM_OWNER, internal: may change permissions
	accessAll          = AccessBoth | accessOwner
)

// Perm is one permission entry. A node has one or more. The first names the
// owner, who always has full access, and its Access is what every domain
// without an entry of its own gets; each later entry grants its Access to
// its domain (xenstore.txt, permissions paragraph; xenstored perm_for_conn).
// A privileged connection (dom0) bypasses all of them.
type Perm struct {
	Dom    uint16
	Access Access
}

// String returns the wire form, "<n|r|w|b><domid>" (xenstore.txt,
// <perm-as-string>).
func (p Perm) String() string {
	c := byte('n')
	switch p.Access & AccessBoth {
	case AccessRead:
		c = 'r'
	case AccessWrite:
		c = 'w'
	case AccessBoth:
		c = 'b'
	}
	return string(c) + strconv.Itoa(int(p.Dom))
}

// ParsePerm parses "<n|r|w|b><domid>". The domid is decimal, 0-65535
// (xenstored takes strtol base 0; hexadecimal and octal are not accepted
// here).
func ParsePerm(s string) (Perm, error) {
	if len(s) < 2 {
		return Perm{}, EINVAL
	}
	var a Access
	switch s[0] {
	case 'n':
		a = AccessNone
	case 'r':
		a = AccessRead
	case 'w':
		a = AccessWrite
	case 'b':
		a = AccessBoth
	default:
		return Perm{}, EINVAL
	}
	d, ok := parseDomID(s[1:])
	if !ok {
		return Perm{}, EINVAL
	}
	return Perm{Dom: d, Access: a}, nil
}

// parseDomID parses a decimal domid, 0-65535 (xenstored parse_domid, which
// is stricter about range than about form; this one wants digits only).
func parseDomID(s string) (uint16, bool) {
	if s == "" || len(s) > 5 {
		return 0, false
	}
	n := 0
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return 0, false
		}
		n = n*10 + int(s[i]-'0')
	}
	if n > 65535 {
		return 0, false
	}
	return uint16(n), true
}

// atoi is C's atoi on the decimal prefix of s (optional sign, digits); it
// saturates instead of overflowing.
func atoi(s string) int {
	i, neg := 0, false
	if i < len(s) && (s[i] == '+' || s[i] == '-') {
		neg = s[i] == '-'
		i++
	}
	n := 0
	for ; i < len(s) && s[i] >= '0' && s[i] <= '9'; i++ {
		if n < 1<<31 {
			n = n*10 + int(s[i]-'0')
		}
	}
	if neg {
		return -n
	}
	return n
}

// node is one node of the tree. Nodes are values: a node reachable from
// Store.nodes or from a transaction is never modified in place; changes put
// a modified clone.
type node struct {
	value    []byte
	perms    []Perm   // at least one
	children []string // leaf names, in the order of creation (xenstored add_child appends)
	gen      uint64   // generation of the last change; 0 never occurs
}

func (n *node) owner() uint16 { return n.perms[0].Dom }

func (n *node) clone() *node {
	c := &node{gen: n.gen}
	c.value = append([]byte(nil), n.value...)
	c.perms = append([]Perm(nil), n.perms...)
	c.children = append([]string(nil), n.children...)
	return c
}

// childBytes is the children list as DIRECTORY returns it: each name
// followed by a NUL.
func (n *node) childBytes() []byte {
	var b []byte
	for _, c := range n.children {
		b = append(b, c...)
		b = append(b, 0)
	}
	return b
}

func (n *node) childLen() int {
	l := 0
	for _, c := range n.children {
		l += len(c) + 1
	}
	return l
}

// size is what the node-size quota measures, xenstored's
// calc_node_acc_size: a 16-byte header (generation, num_perms, datalen,
// childlen), 8 bytes a permission, the value and the children list.
func (n *node) size() int {
	return 16 + 8*len(n.perms) + len(n.value) + n.childLen()
}

func (n *node) removeChild(name string) {
	for i, c := range n.children {
		if c == name {
			n.children = append(n.children[:i:i], n.children[i+1:]...)
			return
		}
	}
}

// validChars reports whether p holds only the characters xenstore.txt
// permits in paths: ASCII letters and digits and - / _ @.
func validChars(p string) bool {
	for i := 0; i < len(p); i++ {
		c := p[i]
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9':
		case c == '-', c == '/', c == '_', c == '@':
		default:
			return false
		}
	}
	return true
}

// parentOf is xenstored's get_parent: everything before the last '/', or
// "/" (also for special paths such as "@releaseDomain").
func parentOf(p string) string {
	if len(p) <= 1 {
		return "/"
	}
	i := strings.LastIndexByte(p[1:], '/')
	if i < 0 {
		return "/"
	}
	return p[:i+1]
}

func baseOf(p string) string { return p[strings.LastIndexByte(p, '/')+1:] }

func childPath(parent, name string) string {
	if parent == "/" {
		return "/" + name
	}
	return parent + "/" + name
}

// isChild reports whether child is parent or below it (xenstore.txt: "<child>
// and <parent> ... if they're identical, or if <parent> is /, or if
// <parent>/ is an initial substring of <child>").
func isChild(child, parent string) bool {
	if !strings.HasPrefix(child, parent) {
		return false
	}
	return parent == "/" || len(child) == len(parent) || child[len(parent)] == '/'
}

// domainPath is a domain's home, the base of its relative paths
// (xenstore.txt, <path> and GET_DOMAIN_PATH).
func domainPath(domid uint16) string {
	return "/local/domain/" + strconv.Itoa(int(domid))
}

// localOffset is the length of a "/local/domain/<domid>/" prefix of name, or
// 0: the path-max quota measures only what follows it (xenstored
// canonicalize, sscanf "/local/domain/%5u/%n").
func localOffset(name string) int {
	const pre = "/local/domain/"
	if !strings.HasPrefix(name, pre) {
		return 0
	}
	i := len(pre)
	j := i
	for j < len(name) && j-i < 5 && name[j] >= '0' && name[j] <= '9' {
		j++
	}
	if j == i || j >= len(name) || name[j] != '/' {
		return 0
	}
	return j + 1
}

// onearg returns the payload's only string: exactly one NUL, at the end
// (xenstored onearg).
func onearg(p []byte) (string, bool) {
	if len(p) == 0 || indexNUL(p) != len(p)-1 {
		return "", false
	}
	return string(p[:len(p)-1]), true
}

// strs splits the payload into its NUL-terminated strings; bytes after the
// last NUL are ignored (xenstored get_strings, xenstore_count_strings).
func strs(p []byte) []string {
	var out []string
	for {
		i := indexNUL(p)
		if i < 0 {
			return out
		}
		out = append(out, string(p[:i]))
		p = p[i+1:]
	}
}

func nulTerminated(ss ...string) []byte {
	var b []byte
	for _, s := range ss {
		b = append(b, s...)
		b = append(b, 0)
	}
	return b
}
