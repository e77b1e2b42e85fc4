package xenstore

import (
	"fmt"
	"slices"
	"strings"
	"testing"
)

// env is a store with dom0 (privileged) and two introduced unprivileged
// domains, 1 and 2, each connected.
type env struct {
	t   *testing.T
	s   *Store
	c   map[string]*Conn
	req uint32
}

func newEnv(t *testing.T) *env {
	t.Helper()
	e := &env{t: t, s: NewStore(), c: map[string]*Conn{}}
	e.c["0"] = e.s.Connect(0, true)
	e.want("0", TypeIntroduce, 0, "1\x000\x001\x00", "OK\x00")
	e.want("0", TypeIntroduce, 0, "2\x000\x001\x00", "OK\x00")
	e.c["1"] = e.s.Connect(1, false)
	e.c["2"] = e.s.Connect(2, false)
	return e
}

// do sends one request and checks what every reply must be: first the
// reply, with the request's req_id and tx_id and its type or ERROR, then
// well-formed watch events.
func (e *env) do(conn string, typ, tx uint32, payload string) []Msg {
	e.t.Helper()
	e.req++
	req := Msg{Type: typ, ReqID: e.req, TxID: tx, Payload: []byte(payload)}
	out := e.c[conn].Handle(req)
	checkReplies(e.t, req, out)
	checkInvariants(e.t, e.s)
	return out
}

func checkReplies(t *testing.T, req Msg, out []Msg) {
	t.Helper()
	if len(out) == 0 {
		t.Fatalf("%v: no reply", req)
	}
	r := out[0]
	if r.ReqID != req.ReqID || r.TxID != req.TxID || (r.Type != req.Type && r.Type != TypeError) || len(r.Payload) > PayloadMax {
		t.Fatalf("%v: reply %v", req, r)
	}
	if r.Type == TypeError && !slices.Contains(Errnos, Errno(strings.TrimSuffix(string(r.Payload), "\x00"))) {
		t.Fatalf("%v: error reply %q", req, r.Payload)
	}
	for _, ev := range out[1:] {
		checkEvent(t, ev)
	}
}

func checkEvent(t *testing.T, ev Msg) {
	t.Helper()
	if ev.Type != TypeWatchEvent || ev.ReqID != 0 || ev.TxID != 0 || len(ev.Payload) > PayloadMax ||
		strings.Count(string(ev.Payload), "\x00") != 2 || !strings.HasSuffix(string(ev.Payload), "\x00") {
		t.Fatalf("bad event %v", ev)
	}
}

// res is a reply as a string: the payload, or "!" and the error name.
func res(m Msg) string {
	if m.Type == TypeError {
		return "!" + strings.TrimSuffix(string(m.Payload), "\x00")
	}
	return string(m.Payload)
}

func (e *env) want(conn string, typ, tx uint32, payload, want string) []Msg {
	e.t.Helper()
	out := e.do(conn, typ, tx, payload)
	if want != "*" && res(out[0]) != want {
		e.t.Fatalf("dom%s %s tx=%d %q: got %q, want %q", conn, TypeName(typ), tx, payload, res(out[0]), want)
	}
	return out[1:]
}

// events renders watch events as "path token" strings.
func events(ms []Msg) []string {
	out := []string{}
	for _, m := range ms {
		parts := strings.Split(string(m.Payload), "\x00")
		out = append(out, parts[0]+" "+parts[1])
	}
	return out
}

func (e *env) pending(conn string) []string {
	e.t.Helper()
	p := e.c[conn].Pending()
	for _, ev := range p {
		checkEvent(e.t, ev)
	}
	return events(p)
}

func wantEvents(t *testing.T, what string, got []string, want ...string) {
	t.Helper()
	if want == nil {
		want = []string{}
	}
	if !slices.Equal(got, want) {
		t.Fatalf("%s: events %q, want %q", what, got, want)
	}
}

// checkInvariants checks the tree: parents exist and list their children
// once, listed children exist, every node has an owner, the per-owner counts
// are right, and open transactions have distinct ids.
func checkInvariants(t *testing.T, s *Store) {
	t.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.nodes["/"] == nil {
		t.Fatal("no root")
	}
	count := map[uint16]int{}
	for path, n := range s.nodes {
		if len(n.perms) == 0 || n.gen == 0 {
			t.Fatalf("%s: perms %v gen %d", path, n.perms, n.gen)
		}
		count[n.owner()]++
		seen := map[string]bool{}
		for _, c := range n.children {
			if seen[c] || s.nodes[childPath(path, c)] == nil {
				t.Fatalf("%s: child %q duplicated or missing", path, c)
			}
			seen[c] = true
		}
		if path == "/" || path[0] == '@' {
			continue
		}
		p := s.nodes[parentOf(path)]
		if p == nil || !slices.Contains(p.children, baseOf(path)) {
			t.Fatalf("%s: parent missing or does not list it", path)
		}
	}
	for d, n := range count {
		if s.count[d] != n {
			t.Fatalf("dom%d owns %d nodes, counted %d", d, n, s.count[d])
		}
	}
	if len(count) != len(s.count) {
		t.Fatalf("counts %v, want %v", s.count, count)
	}
	for _, c := range s.conns {
		ids := map[uint32]bool{}
		for _, tx := range c.txs {
			if tx.id == 0 || ids[tx.id] {
				t.Fatalf("dom%d: transaction id %d", c.domid, tx.id)
			}
			ids[tx.id] = true
		}
	}
}

type step struct {
	conn string
	typ  uint32
	tx   uint32
	p    string
	want string // res of the reply; "*" for anything
}

// Shorthands.
func w(conn, path, value string) step {
	return step{conn, TypeWrite, 0, path + "\x00" + value, "OK\x00"}
}
func r(conn, path, want string) step { return step{conn, TypeRead, 0, path + "\x00", want} }

func setperms(conn, path string, perms ...string) step {
	return step{conn, TypeSetPerms, 0, path + "\x00" + strings.Join(perms, "\x00") + "\x00", "OK\x00"}
}

var long = strings.Repeat("a", 4000)

// TestRequests runs each case on a fresh env: every message type, its happy
// path and its errors.
func TestRequests(t *testing.T) {
	cases := []struct {
		name  string
		steps []step
	}{
		// READ
		{"read", []step{w("0", "/a", "v"), r("0", "/a", "v")}},
		{"read binary value", []step{w("0", "/a", "x\x00y"), r("0", "/a", "x\x00y")}},
		{"read empty value", []step{w("0", "/a", ""), r("0", "/a", "")}},
		{"read missing", []step{r("0", "/nope", "!ENOENT"), r("0", "/nope/deeper", "!ENOENT")}},
		{"read relative", []step{w("1", "x", "1"), r("1", "x", "1"), r("0", "/local/domain/1/x", "1"), r("0", "x", "!ENOENT")}},
		{"read dom0 relative", []step{w("0", "mine", "0"), r("0", "/local/domain/0/mine", "0")}},
		{"read no NUL", []step{{"0", TypeRead, 0, "/a", "!EINVAL"}}},
		{"read empty payload", []step{{"0", TypeRead, 0, "", "!EINVAL"}}},
		{"read two strings", []step{{"0", TypeRead, 0, "/a\x00/b\x00", "!EINVAL"}}},
		{"read bad char", []step{r("0", "/a b", "!EINVAL"), r("0", "/a.b", "!EINVAL"), r("0", "/a\xff", "!EINVAL")}},
		{"read trailing slash", []step{r("0", "/tool/", "!EINVAL")}},
		{"read double slash", []step{r("0", "/tool//xenstored", "!EINVAL")}},
		{"read empty path", []step{r("0", "", "!EINVAL"), r("1", "", "!EINVAL")}},
		{"read special path", []step{r("0", "@introduceDomain", "!EINVAL")}},
		{"read root", []step{r("0", "/", ""), r("1", "/", "!EACCES")}},
		{"read abs path max", []step{r("0", "/"+strings.Repeat("a", AbsPathMax-1), "!ENOENT"),
			r("0", "/"+strings.Repeat("a", AbsPathMax), "!EINVAL")}},
		{"read rel path max (path-max quota)", []step{r("1", strings.Repeat("a", RelPathMax), "!ENOENT"),
			r("1", strings.Repeat("a", RelPathMax+1), "!EINVAL"),
			r("1", "/local/domain/1/"+strings.Repeat("a", RelPathMax+1), "!EINVAL"),
			r("0", strings.Repeat("a", RelPathMax+1), "!ENOENT")}},
		{"read unprivileged EACCES", []step{r("1", "/tool/xenstored", "!EACCES"), r("1", "/local/domain/2", "!EACCES")}},
		{"read missing under unreadable is EACCES", []step{r("1", "/tool/nothere", "!EACCES"), r("1", "/local/domain/2/x/y", "!EACCES")}},
		{"read missing under own is ENOENT", []step{r("1", "nothere", "!ENOENT"), r("1", "a/b/c", "!ENOENT")}},
		{"read granted", []step{w("0", "/pub", "v"), setperms("0", "/pub", "n0", "r1"), r("1", "/pub", "v"), r("2", "/pub", "!EACCES")}},
		{"read default access", []step{w("0", "/pub", "v"), setperms("0", "/pub", "r0"), r("2", "/pub", "v"), r("1", "/pub", "v")}},
		{"read write-only", []step{w("0", "/wo", "v"), setperms("0", "/wo", "n0", "w1"), r("1", "/wo", "!EACCES"), w("1", "/wo", "new"), r("0", "/wo", "new")}},
		{"read entry overrides default", []step{w("0", "/p", "v"), setperms("0", "/p", "r0", "n1"), r("1", "/p", "!EACCES"), r("2", "/p", "v")}},

		// WRITE
		{"write creates parents", []step{w("0", "/a/b/c", "v"), r("0", "/a/b", ""), r("0", "/a", ""),
			{"0", TypeDirectory, 0, "/a\x00", "b\x00"}}},
		{"write overwrite", []step{w("0", "/a", "1"), w("0", "/a", "22"), r("0", "/a", "22")}},
		{"write no NUL", []step{{"0", TypeWrite, 0, "/a", "!EINVAL"}}},
		{"write bad path", []step{{"0", TypeWrite, 0, "/a/\x00v", "!EINVAL"}, {"0", TypeWrite, 0, "@x\x00v", "!EINVAL"}}},
		{"write unprivileged outside home", []step{{"1", TypeWrite, 0, "/foo\x00v", "!EACCES"}, {"1", TypeWrite, 0, "/local/domain/2/x\x00v", "!EACCES"}}},
		{"write unprivileged owns what it creates", []step{w("1", "x/y", "v"),
			{"1", TypeGetPerms, 0, "x/y\x00", "n1\x00"}, {"0", TypeGetPerms, 0, "/local/domain/1/x\x00", "n1\x00"}}},
		{"write without write access", []step{w("0", "/local/domain/1/ro", "v"), setperms("0", "/local/domain/1/ro", "n0", "r1"),
			{"1", TypeWrite, 0, "ro\x00x", "!EACCES"}, {"1", TypeWrite, 0, "ro/below\x00x", "!EACCES"}, r("1", "ro", "v")}},
		{"write node-size quota", []step{{"1", TypeWrite, 0, "big\x00" + strings.Repeat("v", 2100), "!ENOSPC"}, r("1", "big", "!ENOENT"),
			w("1", "ok", strings.Repeat("v", 2000)), w("0", "/big", long), r("0", "/big", long)}},
		{"write payload over max", []step{{"0", TypeWrite, 0, "/a\x00" + strings.Repeat("v", PayloadMax), "!E2BIG"}}},

		// MKDIR
		{"mkdir", []step{{"0", TypeMkdir, 0, "/m/n\x00", "OK\x00"}, r("0", "/m/n", ""), {"0", TypeDirectory, 0, "/m\x00", "n\x00"}}},
		{"mkdir existing keeps value", []step{w("0", "/m", "v"), {"0", TypeMkdir, 0, "/m\x00", "OK\x00"}, r("0", "/m", "v")}},
		{"mkdir EACCES", []step{{"1", TypeMkdir, 0, "/m\x00", "!EACCES"}, {"1", TypeMkdir, 0, "/tool\x00", "!EACCES"}}},
		{"mkdir EINVAL", []step{{"0", TypeMkdir, 0, "/m\x00x\x00", "!EINVAL"}, {"0", TypeMkdir, 0, "/m//n\x00", "!EINVAL"}}},
		{"mkdir relative", []step{{"1", TypeMkdir, 0, "dev\x00", "OK\x00"}, r("0", "/local/domain/1/dev", "")}},

		// RM
		{"rm subtree", []step{w("0", "/a/b/c", "v"), w("0", "/a/x", "v"), {"0", TypeRm, 0, "/a\x00", "OK\x00"},
			r("0", "/a/b/c", "!ENOENT"), r("0", "/a", "!ENOENT"), {"0", TypeDirectory, 0, "/\x00", "tool\x00local\x00"}}},
		{"rm leaf", []step{w("0", "/a/b", "v"), w("0", "/a/c", "v"), {"0", TypeRm, 0, "/a/b\x00", "OK\x00"}, {"0", TypeDirectory, 0, "/a\x00", "c\x00"}}},
		{"rm missing, parent exists", []step{{"0", TypeRm, 0, "/nope\x00", "OK\x00"}, {"1", TypeRm, 0, "nope\x00", "OK\x00"}}},
		{"rm missing, parent missing", []step{{"0", TypeRm, 0, "/nope/deeper\x00", "!ENOENT"}}},
		{"rm root", []step{{"0", TypeRm, 0, "/\x00", "!EINVAL"}, {"1", TypeRm, 0, "/\x00", "!EACCES"}}},
		{"rm EACCES", []step{{"1", TypeRm, 0, "/tool\x00", "!EACCES"}, {"1", TypeRm, 0, "/tool/nope\x00", "!EACCES"}, r("0", "/tool/xenstored", "")}},
		{"rm EINVAL", []step{{"0", TypeRm, 0, "/a", "!EINVAL"}, {"0", TypeRm, 0, "a b\x00", "!EINVAL"}}},
		{"rm non-empty is not ENOTEMPTY", []step{w("1", "d/e/f", ""), {"1", TypeRm, 0, "d\x00", "OK\x00"}, r("1", "d", "!ENOENT")}},
		{"rm own node under a node of dom0", []step{w("0", "/shared", ""), setperms("0", "/shared", "n0", "b1"), w("1", "/shared/mine", "v"),
			{"1", TypeRm, 0, "/shared/mine\x00", "OK\x00"}, {"0", TypeDirectory, 0, "/shared\x00", ""}}},

		// DIRECTORY
		{"directory order", []step{w("0", "/d/b", ""), w("0", "/d/a", ""), w("0", "/d/c", ""), {"0", TypeDirectory, 0, "/d\x00", "b\x00a\x00c\x00"}}},
		{"directory empty", []step{w("0", "/d", "v"), {"0", TypeDirectory, 0, "/d\x00", ""}}},
		{"directory errors", []step{{"0", TypeDirectory, 0, "/nope\x00", "!ENOENT"}, {"1", TypeDirectory, 0, "/tool\x00", "!EACCES"},
			{"0", TypeDirectory, 0, "/d", "!EINVAL"}}},

		// DIRECTORY_PART (full replies checked in TestDirectoryPart)
		{"directory_part errors", []step{{"0", TypeDirectoryPart, 0, "/\x00", "!EINVAL"}, {"0", TypeDirectoryPart, 0, "/nope\x000\x00", "!ENOENT"},
			{"1", TypeDirectoryPart, 0, "/tool\x000\x00", "!EACCES"}, {"0", TypeDirectoryPart, 0, "/a/\x000\x00", "!EINVAL"}}},

		// GET_PERMS, SET_PERMS
		{"get_perms", []step{{"0", TypeGetPerms, 0, "/\x00", "n0\x00"}, {"0", TypeGetPerms, 0, "/local/domain/1\x00", "n1\x00"},
			{"1", TypeGetPerms, 0, "\x00", "!EINVAL"}, {"1", TypeGetPerms, 0, "/local/domain/1\x00", "n1\x00"}}},
		{"get_perms special", []step{{"0", TypeGetPerms, 0, "@introduceDomain\x00", "n0\x00"}, {"0", TypeGetPerms, 0, "@releaseDomain\x00", "n0\x00"},
			{"0", TypeGetPerms, 0, "@nothing\x00", "!ENOENT"}, {"1", TypeGetPerms, 0, "@releaseDomain\x00", "!EACCES"}}},
		{"get_perms errors", []step{{"1", TypeGetPerms, 0, "/tool\x00", "!EACCES"}, {"0", TypeGetPerms, 0, "/nope\x00", "!ENOENT"}, {"0", TypeGetPerms, 0, "/x", "!EINVAL"}}},
		{"set_perms", []step{w("0", "/a", ""), setperms("0", "/a", "r0", "b1", "w2", "n3"), {"0", TypeGetPerms, 0, "/a\x00", "r0\x00b1\x00w2\x00n3\x00"}}},
		{"set_perms bad", []step{w("0", "/a", ""),
			{"0", TypeSetPerms, 0, "/a\x00", "!EINVAL"}, {"0", TypeSetPerms, 0, "/a\x00x1\x00", "!EINVAL"},
			{"0", TypeSetPerms, 0, "/a\x00r\x00", "!EINVAL"}, {"0", TypeSetPerms, 0, "/a\x00r70000\x00", "!EINVAL"},
			{"0", TypeSetPerms, 0, "/a\x00r-1\x00", "!EINVAL"}, {"0", TypeSetPerms, 0, "/a/\x00r0\x00", "!EINVAL"},
			{"0", TypeSetPerms, 0, "/nope\x00r0\x00", "!ENOENT"}, {"0", TypeGetPerms, 0, "/a\x00", "n0\x00"}}},
		{"set_perms by owner", []step{w("1", "x", ""), setperms("1", "x", "n1", "r2"), r("2", "/local/domain/1/x", ""),
			{"1", TypeGetPerms, 0, "x\x00", "n1\x00r2\x00"}}},
		{"set_perms owner change EPERM", []step{w("1", "x", ""), {"1", TypeSetPerms, 0, "x\x00n2\x00", "!EPERM"},
			setperms("0", "/local/domain/1/x", "n2"), {"0", TypeGetPerms, 0, "/local/domain/1/x\x00", "n2\x00"}}},
		{"set_perms not owner EACCES", []step{w("0", "/a", ""), setperms("0", "/a", "n0", "b1"), {"1", TypeSetPerms, 0, "/a\x00n0\x00b1\x00r2\x00", "!EACCES"}}},
		{"set_perms node-permissions quota", []step{w("1", "x", ""),
			{"1", TypeSetPerms, 0, "x\x00n1\x00r2\x00r3\x00r4\x00r5\x00r6\x00", "!ENOSPC"},
			{"1", TypeSetPerms, 0, "x\x00n1\x00r2\x00r3\x00r4\x00r5\x00", "OK\x00"},
			{"0", TypeSetPerms, 0, "/a\x00n0\x00r2\x00r3\x00r4\x00r5\x00r6\x00r7\x00", "!ENOENT"}}},
		{"set_perms special", []step{setperms("0", "@releaseDomain", "n0", "r1"), {"1", TypeGetPerms, 0, "@releaseDomain\x00", "n0\x00r1\x00"}}},

		// WATCH, UNWATCH (events in TestWatch*)
		{"watch", []step{{"1", TypeWatch, 0, "x\x00tok\x00", "OK\x00"}, {"1", TypeWatch, 0, "x\x00tok2\x00", "OK\x00"},
			{"1", TypeWatch, 0, "/local/domain/1/x\x00tok\x00", "!EEXIST"}, {"1", TypeWatch, 0, "x\x00tok\x00", "!EEXIST"}}},
		{"watch anywhere, special", []step{{"1", TypeWatch, 0, "/tool\x00t\x00", "OK\x00"}, {"1", TypeWatch, 0, "@releaseDomain\x00t\x00", "OK\x00"}}},
		{"watch tx_id ignored", []step{{"1", TypeWatch, 77, "x\x00t\x00", "OK\x00"}, {"1", TypeUnwatch, 78, "x\x00t\x00", "OK\x00"}}},
		{"watch EINVAL", []step{{"1", TypeWatch, 0, "x\x00", "!EINVAL"}, {"1", TypeWatch, 0, "x\x00t\x001\x00", "!EINVAL"},
			{"1", TypeWatch, 0, "x/\x00t\x00", "!EINVAL"}, {"1", TypeWatch, 0, "", "!EINVAL"}}},
		{"watch quota", []step{{"0", TypeSetQuota, 0, "1\x00watches\x002\x00", "OK\x00"},
			{"1", TypeWatch, 0, "a\x00t\x00", "OK\x00"}, {"1", TypeWatch, 0, "b\x00t\x00", "OK\x00"}, {"1", TypeWatch, 0, "c\x00t\x00", "!ENOSPC"},
			{"2", TypeWatch, 0, "c\x00t\x00", "OK\x00"}, {"1", TypeUnwatch, 0, "a\x00t\x00", "OK\x00"}, {"1", TypeWatch, 0, "c\x00t\x00", "OK\x00"}}},
		{"unwatch", []step{{"1", TypeWatch, 0, "x\x00t\x00", "OK\x00"}, {"1", TypeUnwatch, 0, "/local/domain/1/x\x00t\x00", "OK\x00"},
			{"1", TypeUnwatch, 0, "x\x00t\x00", "!ENOENT"}, {"1", TypeUnwatch, 0, "x\x00", "!EINVAL"},
			{"1", TypeUnwatch, 0, "x\x00t\x00more\x00", "!EINVAL"}, {"1", TypeUnwatch, 0, "x//y\x00t\x00", "!EINVAL"}}},
		{"unwatch other connection's watch", []step{{"1", TypeWatch, 0, "x\x00t\x00", "OK\x00"}, {"2", TypeUnwatch, 0, "/local/domain/1/x\x00t\x00", "!ENOENT"}}},

		// TRANSACTION_START, TRANSACTION_END (more in TestTransaction*)
		{"transaction ids", []step{{"1", TypeTransactionStart, 0, "\x00", "1\x00"}, {"1", TypeTransactionStart, 0, "\x00", "2\x00"},
			{"2", TypeTransactionStart, 0, "\x00", "1\x00"}, {"1", TypeTransactionEnd, 1, "F\x00", "OK\x00"},
			{"1", TypeTransactionStart, 0, "\x00", "3\x00"}}},
		{"transaction nested EBUSY", []step{{"1", TypeTransactionStart, 0, "\x00", "1\x00"}, {"1", TypeTransactionStart, 1, "\x00", "!EBUSY"}}},
		{"transaction unknown tx_id ENOENT", []step{{"1", TypeTransactionStart, 5, "\x00", "!ENOENT"}, {"1", TypeRead, 5, "x\x00", "!ENOENT"},
			{"1", TypeTransactionStart, 0, "\x00", "1\x00"}, {"2", TypeRead, 1, "x\x00", "!ENOENT"}}},
		{"transaction_end errors", []step{{"1", TypeTransactionEnd, 0, "T\x00", "!ENOENT"},
			{"1", TypeTransactionStart, 0, "\x00", "1\x00"}, {"1", TypeTransactionEnd, 1, "X\x00", "!EINVAL"},
			{"1", TypeTransactionEnd, 1, "T", "!EINVAL"}, {"1", TypeTransactionEnd, 1, "T\x00", "OK\x00"},
			{"1", TypeTransactionEnd, 1, "T\x00", "!ENOENT"}}},
		{"transaction quota", []step{{"0", TypeSetQuota, 0, "1\x00transactions\x002\x00", "OK\x00"},
			{"1", TypeTransactionStart, 0, "\x00", "1\x00"}, {"1", TypeTransactionStart, 0, "\x00", "2\x00"},
			{"1", TypeTransactionStart, 0, "\x00", "!ENOSPC"}, {"1", TypeTransactionEnd, 2, "F\x00", "OK\x00"},
			{"1", TypeTransactionStart, 0, "\x00", "3\x00"}}},
		{"transaction-nodes quota", []step{{"0", TypeSetQuota, 0, "1\x00transaction-nodes\x003\x00", "OK\x00"},
			w("1", "a", "1"), w("1", "b", "2"), w("1", "c", "3"), w("1", "d", "4"),
			{"1", TypeTransactionStart, 0, "\x00", "1\x00"},
			{"1", TypeRead, 1, "a\x00", "1"}, {"1", TypeRead, 1, "b\x00", "2"}, {"1", TypeRead, 1, "c\x00", "3"},
			{"1", TypeRead, 1, "d\x00", "!ENOSPC"}, {"1", TypeRead, 1, "a\x00", "1"},
			{"1", TypeTransactionEnd, 1, "T\x00", "OK\x00"}}},

		// INTRODUCE, RELEASE, RESUME, SET_TARGET, IS_DOMAIN_INTRODUCED, GET_DOMAIN_PATH
		{"introduce", []step{{"0", TypeIntroduce, 0, "3\x00123\x005\x00", "OK\x00"}, {"0", TypeGetPerms, 0, "/local/domain/3\x00", "n3\x00"},
			{"0", TypeIsDomainIntroduced, 0, "3\x00", "T\x00"}, {"0", TypeIntroduce, 0, "3\x00123\x005\x00", "OK\x00"},
			{"0", TypeIntroduce, 0, "4\x00-5\x007\x00\x00", "OK\x00"}}},
		{"introduce keeps existing home", []step{w("0", "/local/domain/3/pre", "v"), {"0", TypeIntroduce, 0, "3\x000\x005\x00", "OK\x00"},
			{"0", TypeGetPerms, 0, "/local/domain/3\x00", "n0\x00"}, r("0", "/local/domain/3/pre", "v")}},
		{"introduce errors", []step{{"1", TypeIntroduce, 0, "3\x000\x005\x00", "!EACCES"},
			{"0", TypeIntroduce, 0, "0\x000\x005\x00", "!EINVAL"}, {"0", TypeIntroduce, 0, "32752\x000\x005\x00", "!EINVAL"},
			{"0", TypeIntroduce, 0, "3\x000\x000\x00", "!EINVAL"}, {"0", TypeIntroduce, 0, "3\x000\x00x\x00", "!EINVAL"},
			{"0", TypeIntroduce, 0, "3\x000\x00", "!EINVAL"}, {"0", TypeIntroduce, 0, "x\x000\x005\x00", "!EINVAL"},
			{"0", TypeIntroduce, 0, "70000\x000\x005\x00", "!EINVAL"}, {"0", TypeIsDomainIntroduced, 0, "3\x00", "F\x00"}}},
		{"release", []step{{"0", TypeRelease, 0, "2\x00", "OK\x00"}, {"0", TypeIsDomainIntroduced, 0, "2\x00", "F\x00"},
			r("0", "/local/domain/2", "!ENOENT"), r("2", "/local/domain/2", "!EIO"), {"0", TypeRelease, 0, "2\x00", "!ENOENT"},
			r("1", "/local/domain/1", "")}},
		{"release errors", []step{{"1", TypeRelease, 0, "2\x00", "!EACCES"}, {"0", TypeRelease, 0, "0\x00", "!EINVAL"},
			{"0", TypeRelease, 0, "9\x00", "!ENOENT"}, {"0", TypeRelease, 0, "x\x00", "!EINVAL"}, {"0", TypeRelease, 0, "2", "!EINVAL"}}},
		{"resume", []step{{"0", TypeResume, 0, "1\x00", "OK\x00"}, {"0", TypeResume, 0, "0\x00", "!EINVAL"},
			{"0", TypeResume, 0, "9\x00", "!ENOENT"}, {"1", TypeResume, 0, "1\x00", "!EACCES"}, {"0", TypeResume, 0, "", "!EINVAL"}}},
		{"set_target", []step{w("2", "secret", "s"), r("1", "/local/domain/2/secret", "!EACCES"),
			{"0", TypeSetTarget, 0, "1\x002\x00", "OK\x00"}, r("1", "/local/domain/2/secret", "s"),
			w("1", "/local/domain/2/secret", "t"), r("2", "secret", "t"), r("2", "/local/domain/1", "!EACCES")}},
		{"set_target errors", []step{{"1", TypeSetTarget, 0, "1\x002\x00", "!EACCES"}, {"0", TypeSetTarget, 0, "1\x00", "!EINVAL"},
			{"0", TypeSetTarget, 0, "1\x009\x00", "!ENOENT"}, {"0", TypeSetTarget, 0, "9\x001\x00", "!ENOENT"}, {"0", TypeSetTarget, 0, "1\x00x\x00", "!EINVAL"}}},
		{"is_domain_introduced", []step{{"0", TypeIsDomainIntroduced, 0, "1\x00", "T\x00"}, {"0", TypeIsDomainIntroduced, 0, "9\x00", "F\x00"},
			{"0", TypeIsDomainIntroduced, 0, "0\x00", "T\x00"}, {"0", TypeIsDomainIntroduced, 0, "32752\x00", "T\x00"},
			{"0", TypeIsDomainIntroduced, 0, "x\x00", "!EINVAL"}, {"0", TypeIsDomainIntroduced, 0, "1", "!EINVAL"},
			{"1", TypeIsDomainIntroduced, 0, "1\x00", "!EACCES"}}},
		{"get_domain_path", []step{{"1", TypeGetDomainPath, 0, "5\x00", "/local/domain/5\x00"}, {"0", TypeGetDomainPath, 0, "0\x00", "/local/domain/0\x00"},
			{"1", TypeGetDomainPath, 0, "007\x00", "/local/domain/7\x00"}, {"1", TypeGetDomainPath, 0, "65535\x00", "/local/domain/65535\x00"},
			{"1", TypeGetDomainPath, 0, "65536\x00", "!EINVAL"}, {"1", TypeGetDomainPath, 0, "x\x00", "!EINVAL"},
			{"1", TypeGetDomainPath, 0, "5", "!EINVAL"}, {"1", TypeGetDomainPath, 0, "\x00", "!EINVAL"}}},

		// RESET_WATCHES
		{"reset_watches", []step{{"1", TypeWatch, 0, "x\x00t\x00", "OK\x00"}, {"1", TypeTransactionStart, 0, "\x00", "1\x00"},
			{"1", TypeResetWatches, 0, "\x00", "OK\x00"}, {"1", TypeUnwatch, 0, "x\x00t\x00", "!ENOENT"}, {"1", TypeRead, 1, "\x00", "!ENOENT"},
			{"1", TypeWatch, 0, "x\x00t\x00", "OK\x00"}}},

		// GET_QUOTA, SET_QUOTA
		{"get_quota", []step{{"0", TypeGetQuota, 0, "", "nodes watches transactions transaction-nodes node-permissions path-max node-size\x00"},
			{"0", TypeGetQuota, 0, "nodes\x00", "1000\x00"}, {"0", TypeGetQuota, 0, "1\x00watches\x00", "128\x00"},
			{"0", TypeGetQuota, 0, "bogus\x00", "!EINVAL"}, {"0", TypeGetQuota, 0, "x\x00nodes\x00", "!EINVAL"},
			{"0", TypeGetQuota, 0, "1\x00nodes\x00x\x00", "!EINVAL"}, {"1", TypeGetQuota, 0, "nodes\x00", "!EACCES"}}},
		{"set_quota", []step{{"0", TypeSetQuota, 0, "1\x00nodes\x005\x00", "OK\x00"}, {"0", TypeGetQuota, 0, "1\x00nodes\x00", "5\x00"},
			{"0", TypeGetQuota, 0, "2\x00nodes\x00", "1000\x00"}, {"0", TypeSetQuota, 0, "watches\x007\x00", "OK\x00"},
			{"0", TypeGetQuota, 0, "2\x00watches\x00", "7\x00"}, {"0", TypeSetQuota, 0, "nodes\x00x\x00", "!EINVAL"},
			{"0", TypeSetQuota, 0, "bogus\x001\x00", "!EINVAL"}, {"0", TypeSetQuota, 0, "nodes\x00", "!EINVAL"},
			{"1", TypeSetQuota, 0, "nodes\x001\x00", "!EACCES"}}},
		{"nodes quota (EQUOTA is ENOSPC)", []step{{"0", TypeSetQuota, 0, "1\x00nodes\x003\x00", "OK\x00"},
			w("1", "a", ""), w("1", "b", ""), {"1", TypeWrite, 0, "c\x00", "!ENOSPC"}, {"1", TypeMkdir, 0, "c\x00", "!ENOSPC"},
			{"1", TypeRm, 0, "b\x00", "OK\x00"}, {"1", TypeWrite, 0, "c/d/e\x00", "!ENOSPC"}, r("1", "c", "!ENOENT"),
			w("1", "c", ""), w("2", "a/b/c/d", ""), w("0", "/local/domain/1/x/y", "")}},
		{"quota 0 disables", []step{{"0", TypeSetQuota, 0, "1\x00node-size\x000\x00", "OK\x00"},
			w("1", "big", strings.Repeat("v", 3000))}},

		// Not served
		{"control", []step{{"0", TypeControl, 0, "help\x00", "!ENOSYS"}, {"1", TypeControl, 0, "help\x00", "!EACCES"}}},
		{"features", []step{{"0", TypeGetFeature, 0, "", "!ENOSYS"}, {"1", TypeGetFeature, 0, "", "!ENOSYS"},
			{"0", TypeSetFeature, 0, "1\x001\x00", "!ENOSYS"}, {"1", TypeSetFeature, 0, "1\x001\x00", "!EACCES"}}},
		{"replies are not requests", []step{{"0", TypeWatchEvent, 0, "/a\x00t\x00", "!ENOSYS"}, {"1", TypeError, 0, "EINVAL\x00", "!ENOSYS"}}},
		{"unknown types", []step{{"0", 20, 0, "", "!ENOSYS"}, {"1", 27, 0, "", "!ENOSYS"}, {"1", TypeInvalid, 3, "", "!ENOSYS"}}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			e := newEnv(t)
			for _, s := range c.steps {
				e.want(s.conn, s.typ, s.tx, s.p, s.want)
			}
		})
	}
}

func TestDirectoryPart(t *testing.T) {
	e := newEnv(t)
	var names []string
	for i := 0; i < 400; i++ {
		names = append(names, fmt.Sprintf("child-%05d", i))
		e.want("0", TypeMkdir, 0, "/big/"+names[i]+"\x00", "OK\x00")
	}
	full := strings.Join(names, "\x00") + "\x00"
	if len(full) <= PayloadMax {
		t.Fatal("list too short for the test")
	}
	// DIRECTORY cannot answer; DIRECTORY_PART pages through.
	e.want("0", TypeDirectory, 0, "/big\x00", "!E2BIG")
	var got string
	var gen string
	for off := 0; ; {
		out := e.do("0", TypeDirectoryPart, 0, fmt.Sprintf("/big\x00%d\x00", off))
		p := res(out[0])
		g, rest, ok := strings.Cut(p, "\x00")
		if !ok || g == "" || strings.HasPrefix(p, "!") {
			t.Fatalf("reply %q", p)
		}
		if gen != "" && g != gen {
			t.Fatalf("generation changed %s -> %s", gen, g)
		}
		gen = g
		if strings.HasSuffix(rest, "\x00\x00") || rest == "\x00" {
			got += strings.TrimSuffix(rest, "\x00")
			break
		}
		got += rest
		off += len(rest)
		if len(rest) == 0 {
			t.Fatal("no progress")
		}
	}
	if got != full {
		t.Fatalf("paged list differs: %d bytes, want %d", len(got), len(full))
	}
	// Past the end: the generation and an empty list.
	e.want("0", TypeDirectoryPart, 0, fmt.Sprintf("/big\x00%d\x00", len(full)), gen+"\x00\x00")
	e.want("0", TypeDirectoryPart, 0, "/big\x00-1\x00", gen+"\x00\x00")
	// A change shows in the generation.
	e.want("0", TypeMkdir, 0, "/big/one-more\x00", "OK\x00")
	if out := e.do("0", TypeDirectoryPart, 0, "/big\x000\x00"); strings.HasPrefix(res(out[0]), gen+"\x00") {
		t.Fatal("generation did not change")
	}
	// Small directories fit in one reply.
	e.want("0", TypeMkdir, 0, "/small/a\x00", "OK\x00")
	out := e.do("0", TypeDirectoryPart, 0, "/small\x000\x00")
	if _, rest, _ := strings.Cut(res(out[0]), "\x00"); rest != "a\x00\x00" {
		t.Fatalf("small: %q", res(out[0]))
	}
	out = e.do("0", TypeDirectoryPart, 0, "/small\x002\x00")
	if _, rest, _ := strings.Cut(res(out[0]), "\x00"); rest != "\x00" {
		t.Fatalf("small past end: %q", res(out[0]))
	}
}

func TestWatchFires(t *testing.T) {
	e := newEnv(t)
	// Registering fires once, after the reply.
	ev := e.want("0", TypeWatch, 0, "/a\x00tok\x00", "OK\x00")
	wantEvents(t, "register", events(ev), "/a tok")
	// Writes at and below the path fire; the writer's own events come back
	// from Handle.
	wantEvents(t, "write below", events(e.want("0", TypeWrite, 0, "/a/b/c\x00v", "OK\x00")), "/a/b/c tok")
	wantEvents(t, "write at", events(e.want("0", TypeWrite, 0, "/a\x00v", "OK\x00")), "/a tok")
	wantEvents(t, "sibling", events(e.want("0", TypeWrite, 0, "/ab\x00v", "OK\x00")))
	wantEvents(t, "above", events(e.want("0", TypeWrite, 0, "/other\x00v", "OK\x00")))
	wantEvents(t, "mkdir", events(e.want("0", TypeMkdir, 0, "/a/m\x00", "OK\x00")), "/a/m tok")
	wantEvents(t, "mkdir existing", events(e.want("0", TypeMkdir, 0, "/a/m\x00", "OK\x00")))
	wantEvents(t, "set_perms", events(e.want("0", TypeSetPerms, 0, "/a/m\x00n0\x00r1\x00", "OK\x00")), "/a/m tok")
	wantEvents(t, "failed write", events(e.want("0", TypeWrite, 0, "/a/\x00v", "!EINVAL")))
	wantEvents(t, "rm missing", events(e.want("0", TypeRm, 0, "/a/nope\x00", "OK\x00")))
	// rm fires for the removed node (the watches at or above it) and,
	// deepest first, for each node below it the watches on exactly that
	// node (xenstored delnode_sub: MATCH_SUBTREE for the root, MATCH_EXACT
	// below).
	e.want("0", TypeWatch, 0, "/a/b/c\x00deep\x00", "OK\x00")
	e.want("0", TypeWatch, 0, "/a/b/c/nonexistent\x00gone\x00", "OK\x00")
	wantEvents(t, "rm", events(e.want("0", TypeRm, 0, "/a/b\x00", "OK\x00")), "/a/b/c deep", "/a/b tok")
	e.want("0", TypeWatch, 0, "/\x00root\x00", "OK\x00")
	wantEvents(t, "rm parent", events(e.want("0", TypeRm, 0, "/a\x00", "OK\x00")), "/a tok", "/a root")
	// Unwatched, silent.
	e.want("0", TypeUnwatch, 0, "/a\x00tok\x00", "OK\x00")
	e.want("0", TypeUnwatch, 0, "/\x00root\x00", "OK\x00")
	wantEvents(t, "unwatched", events(e.want("0", TypeWrite, 0, "/a\x00v", "OK\x00")))
}

func TestWatchOtherConnections(t *testing.T) {
	e := newEnv(t)
	// A relative watch reports relative paths.
	wantEvents(t, "register", events(e.want("1", TypeWatch, 0, "dev\x00t1\x00", "OK\x00")), "dev t1")
	wantEvents(t, "dom0 write", events(e.want("0", TypeWrite, 0, "/local/domain/1/dev/vif/0/state\x001", "OK\x00")))
	wantEvents(t, "dom1 pending", e.pending("1"), "dev/vif/0/state t1")
	wantEvents(t, "drained", e.pending("1"))
	// The same event twice before it is delivered is queued once.
	e.want("0", TypeWrite, 0, "/local/domain/1/dev/vif/0/state\x002", "OK\x00")
	e.want("0", TypeWrite, 0, "/local/domain/1/dev/vif/0/state\x003", "OK\x00")
	e.want("0", TypeWrite, 0, "/local/domain/1/dev/x\x00", "OK\x00")
	wantEvents(t, "deduplicated", e.pending("1"), "dev/vif/0/state t1", "dev/x t1")
	// Every watching connection, each with its own path form.
	e.want("0", TypeWatch, 0, "/local/domain/1/dev\x00t0\x00", "OK\x00")
	e.c["3"] = e.s.Connect(1, false) // a second connection of dom1
	wantEvents(t, "second conn registers", events(e.want("3", TypeWatch, 0, "/local/domain/1\x00t3\x00", "OK\x00")), "/local/domain/1 t3")
	wantEvents(t, "dom1 own write", events(e.want("1", TypeRm, 0, "dev/vif\x00", "OK\x00")), "dev/vif t1")
	wantEvents(t, "dom0", e.pending("0"), "/local/domain/1/dev/vif t0")
	wantEvents(t, "dom1 second conn", e.pending("3"), "/local/domain/1/dev/vif t3")
	// A watch below a removed node fires with its own path.
	e.want("3", TypeWatch, 0, "/local/domain/1/dev/x\x00t3x\x00", "OK\x00")
	e.pending("3")
	e.want("0", TypeRm, 0, "/local/domain/1/dev\x00", "OK\x00")
	wantEvents(t, "dom1 parent removed", e.pending("1"), "dev t1")
	wantEvents(t, "dom1 second conn, parent removed", e.pending("3"), "/local/domain/1/dev/x t3x", "/local/domain/1/dev t3")
	e.want("1", TypeWrite, 0, "dev/y\x00", "OK\x00")
	e.pending("1")
	e.pending("0")
	// Watches go with the connection.
	e.s.Disconnect(e.c["3"])
	e.want("1", TypeWrite, 0, "dev/y\x00", "OK\x00")
	wantEvents(t, "disconnected", e.pending("3"))
	wantEvents(t, "dom0 still", e.pending("0"), "/local/domain/1/dev/y t0")
	e.want("3", TypeRead, 0, "dev\x00", "!EIO")
}

func TestWatchPermissions(t *testing.T) {
	e := newEnv(t)
	// dom1 watches dom2's home, which it may not read: no events.
	e.want("1", TypeWatch, 0, "/local/domain/2\x00t\x00", "OK\x00")
	e.pending("1")
	e.want("2", TypeWrite, 0, "secret\x00s", "OK\x00")
	wantEvents(t, "unreadable", e.pending("1"))
	// Made readable: the permission change itself fires, and later writes.
	e.want("2", TypeSetPerms, 0, "secret\x00n2\x00r1\x00", "OK\x00")
	wantEvents(t, "perms", e.pending("1"), "/local/domain/2/secret t")
	e.want("2", TypeWrite, 0, "secret/below\x00x", "OK\x00")
	wantEvents(t, "readable parent", e.pending("1"), "/local/domain/2/secret/below t")
	// Losing access still reports the change that took it away.
	e.want("2", TypeSetPerms, 0, "secret\x00n2\x00", "OK\x00")
	wantEvents(t, "revoked", e.pending("1"), "/local/domain/2/secret t")
	e.want("2", TypeWrite, 0, "secret\x00t", "OK\x00")
	wantEvents(t, "after revoke", e.pending("1"))
}

func TestSpecialWatches(t *testing.T) {
	e := newEnv(t)
	wantEvents(t, "register", events(e.want("0", TypeWatch, 0, "@introduceDomain\x00i\x00", "OK\x00")), "@introduceDomain i")
	e.want("0", TypeWatch, 0, "@releaseDomain\x00r\x00", "OK\x00")
	e.want("0", TypeWatch, 0, "/local/domain\x00d\x00", "OK\x00")
	e.want("1", TypeWatch, 0, "@releaseDomain\x00r1\x00", "OK\x00")
	e.pending("1")
	wantEvents(t, "introduce", events(e.want("0", TypeIntroduce, 0, "5\x000\x009\x00", "OK\x00")), "/local/domain/5 d", "@introduceDomain i")
	wantEvents(t, "introduce again", events(e.want("0", TypeIntroduce, 0, "5\x000\x009\x00", "OK\x00")))
	// A normal watch on "/" does not see special events.
	e.want("2", TypeWatch, 0, "/\x00all\x00", "OK\x00")
	// dom1 may not read @releaseDomain (n0): no event until dom0 allows it.
	e.want("0", TypeRelease, 0, "5\x00", "OK\x00")
	wantEvents(t, "dom1, not allowed", e.pending("1"))
	// Changing the special node's permissions fires its watches (as
	// xenstored's do_set_perms does for any node); special events are not
	// deduplicated.
	wantEvents(t, "set_perms", events(e.want("0", TypeSetPerms, 0, "@releaseDomain\x00n0\x00r1\x00", "OK\x00")), "@releaseDomain r")
	wantEvents(t, "release", events(e.want("0", TypeRelease, 0, "2\x00", "OK\x00")), "/local/domain/2 d", "@releaseDomain r")
	wantEvents(t, "dom1, allowed", e.pending("1"), "@releaseDomain r1", "@releaseDomain r1")
	// The permission entry for a released domain goes.
	e.want("0", TypeSetPerms, 0, "@introduceDomain\x00n0\x00r1\x00", "OK\x00")
	e.want("0", TypeRelease, 0, "1\x00", "OK\x00")
	e.want("0", TypeGetPerms, 0, "@releaseDomain\x00", "n0\x00")
	e.want("0", TypeGetPerms, 0, "@introduceDomain\x00", "n0\x00")
}

func TestPermissionInheritance(t *testing.T) {
	e := newEnv(t)
	e.want("0", TypeWrite, 0, "/inh\x00", "OK\x00")
	e.want("0", TypeSetPerms, 0, "/inh\x00n0\x00r1\x00", "OK\x00")
	// dom0 creates: the child has exactly the parent's permissions.
	e.want("0", TypeWrite, 0, "/inh/a/b\x00v", "OK\x00")
	e.want("0", TypeGetPerms, 0, "/inh/a/b\x00", "n0\x00r1\x00")
	e.want("1", TypeRead, 0, "/inh/a/b\x00", "v")
	// dom1 may not create there (read only) ...
	e.want("1", TypeWrite, 0, "/inh/c\x00v", "!EACCES")
	// ... until it may write: then it owns what it creates, the other
	// entries inherited.
	e.want("0", TypeSetPerms, 0, "/inh\x00n0\x00b1\x00r2\x00", "OK\x00")
	e.want("1", TypeWrite, 0, "/inh/c/d\x00v", "OK\x00")
	e.want("0", TypeGetPerms, 0, "/inh/c\x00", "n1\x00b1\x00r2\x00")
	e.want("0", TypeGetPerms, 0, "/inh/c/d\x00", "n1\x00b1\x00r2\x00")
	e.want("2", TypeRead, 0, "/inh/c/d\x00", "v")
	// The owner has full access whatever the entries say.
	e.want("1", TypeSetPerms, 0, "/inh/c\x00w1\x00", "OK\x00")
	e.want("1", TypeRead, 0, "/inh/c\x00", "")
	e.want("1", TypeSetPerms, 0, "/inh/c\x00n1\x00", "OK\x00")
	e.want("2", TypeRead, 0, "/inh/c\x00", "!EACCES")
	e.want("2", TypeRead, 0, "/inh/c/d\x00", "v") // a node's own permissions count, not its parent's
}

func TestTransactionCommit(t *testing.T) {
	e := newEnv(t)
	e.want("2", TypeWatch, 0, "/tx\x00t\x00", "OK\x00")
	e.want("0", TypeSetPerms, 0, "/\x00n0\x00r2\x00", "OK\x00") // so that dom2 may see /tx
	e.pending("2")
	e.want("0", TypeTransactionStart, 0, "\x00", "1\x00")
	wantEvents(t, "in tx", events(e.want("0", TypeWrite, 1, "/tx/a\x00v", "OK\x00")))
	e.want("0", TypeWrite, 1, "/tx/b\x00w", "OK\x00")
	e.want("0", TypeRead, 1, "/tx/a\x00", "v")
	e.want("0", TypeDirectory, 1, "/tx\x00", "a\x00b\x00")
	e.want("0", TypeRead, 0, "/tx/a\x00", "!ENOENT")
	e.want("1", TypeRead, 1, "/tx\x00", "!ENOENT") // another connection's transaction
	wantEvents(t, "uncommitted", e.pending("2"))
	e.want("0", TypeTransactionEnd, 1, "T\x00", "OK\x00")
	e.want("0", TypeRead, 0, "/tx/a\x00", "v")
	e.want("2", TypeRead, 0, "/tx/b\x00", "w")
	wantEvents(t, "committed", e.pending("2"), "/tx/a t", "/tx/b t")

	// rm and set_perms in a transaction.
	e.want("0", TypeTransactionStart, 0, "\x00", "2\x00")
	e.want("0", TypeRm, 2, "/tx/a\x00", "OK\x00")
	e.want("0", TypeSetPerms, 2, "/tx/b\x00n0\x00", "OK\x00")
	e.want("0", TypeRead, 2, "/tx/a\x00", "!ENOENT")
	e.want("0", TypeRead, 0, "/tx/a\x00", "v")
	e.want("0", TypeTransactionEnd, 2, "T\x00", "OK\x00")
	e.want("0", TypeRead, 0, "/tx/a\x00", "!ENOENT")
	e.want("0", TypeGetPerms, 0, "/tx/b\x00", "n0\x00")
	wantEvents(t, "rm, perms", e.pending("2"), "/tx/a t", "/tx/b t")

	// Abort discards.
	e.want("0", TypeTransactionStart, 0, "\x00", "3\x00")
	e.want("0", TypeWrite, 3, "/tx/c\x00v", "OK\x00")
	e.want("0", TypeTransactionEnd, 3, "F\x00", "OK\x00")
	e.want("0", TypeRead, 0, "/tx/c\x00", "!ENOENT")
	wantEvents(t, "aborted", e.pending("2"))

	// Unprivileged, with the node quota applied at the commit too.
	e.want("0", TypeSetQuota, 0, "1\x00nodes\x003\x00", "OK\x00")
	e.want("1", TypeTransactionStart, 0, "\x00", "1\x00")
	e.want("1", TypeWrite, 1, "a\x00", "OK\x00")
	e.want("1", TypeWrite, 1, "b\x00", "OK\x00")
	e.want("1", TypeWrite, 1, "c\x00", "!ENOSPC")
	e.want("1", TypeTransactionEnd, 1, "T\x00", "OK\x00")
	e.want("1", TypeRead, 0, "b\x00", "")
	e.want("1", TypeTransactionStart, 0, "\x00", "2\x00")
	e.want("1", TypeRm, 2, "b\x00", "OK\x00")
	e.want("1", TypeWrite, 2, "c\x00", "OK\x00")
	e.want("0", TypeWrite, 0, "/local/domain/1/z\x00", "OK\x00") // dom0 creates a node dom1 owns
	e.want("1", TypeTransactionEnd, 2, "T\x00", "!ENOSPC")
}

func TestTransactionConflicts(t *testing.T) {
	cases := []struct {
		name  string
		steps []step
		end   string
	}{
		{"read then global write", []step{w("0", "/k", "1"), {"1", TypeTransactionStart, 0, "\x00", "1\x00"},
			setperms("0", "/k", "b0"), {"1", TypeRead, 1, "/k\x00", "1"}, w("0", "/k", "2"), {"1", TypeRead, 1, "/k\x00", "1"}}, "!EAGAIN"},
		{"write then global write", []step{w("0", "/k", "1"), setperms("0", "/k", "b0"), {"1", TypeTransactionStart, 0, "\x00", "1\x00"},
			{"1", TypeWrite, 1, "/k\x00tx", "OK\x00"}, w("0", "/k", "2")}, "!EAGAIN"},
		{"both create", []step{{"1", TypeTransactionStart, 0, "\x00", "1\x00"}, {"1", TypeWrite, 1, "n\x00tx", "OK\x00"}, w("1", "n", "g")}, "!EAGAIN"},
		{"read missing, created meanwhile", []step{{"1", TypeTransactionStart, 0, "\x00", "1\x00"}, {"1", TypeRead, 1, "n\x00", "!ENOENT"},
			{"1", TypeWrite, 1, "other\x00", "OK\x00"}, w("1", "n", "g")}, "!EAGAIN"},
		{"read, removed meanwhile", []step{w("1", "n", "v"), {"1", TypeTransactionStart, 0, "\x00", "1\x00"}, {"1", TypeRead, 1, "n\x00", "v"},
			{"1", TypeRm, 0, "n\x00", "OK\x00"}}, "!EAGAIN"},
		{"directory, child added meanwhile", []step{{"1", TypeTransactionStart, 0, "\x00", "1\x00"}, {"1", TypeDirectory, 1, "\x00", "!EINVAL"},
			{"1", TypeDirectory, 1, "/local/domain/1\x00", ""}, w("1", "new", "")}, "!EAGAIN"},
		{"permissions changed meanwhile", []step{w("1", "n", "v"), {"1", TypeTransactionStart, 0, "\x00", "1\x00"}, {"1", TypeRead, 1, "n\x00", "v"},
			setperms("1", "n", "n1", "r2")}, "!EAGAIN"},
		{"unrelated global write", []step{w("0", "/k", "1"), {"1", TypeTransactionStart, 0, "\x00", "1\x00"}, {"1", TypeWrite, 1, "x/y\x00tx", "OK\x00"},
			w("0", "/k", "2"), w("2", "n", "")}, "OK\x00"},
		{"same value written meanwhile", []step{w("1", "k", "1"), {"1", TypeTransactionStart, 0, "\x00", "1\x00"}, {"1", TypeRead, 1, "k\x00", "1"},
			w("1", "k", "1")}, "!EAGAIN"},
		{"other transaction committed first", []step{w("1", "a", ""), w("1", "b", ""),
			{"1", TypeTransactionStart, 0, "\x00", "1\x00"}, {"1", TypeTransactionStart, 0, "\x00", "2\x00"},
			{"1", TypeRead, 1, "a\x00", ""}, {"1", TypeRead, 2, "b\x00", ""},
			{"1", TypeWrite, 1, "b\x00one", "OK\x00"}, {"1", TypeWrite, 2, "a\x00two", "OK\x00"},
			{"1", TypeTransactionEnd, 1, "T\x00", "OK\x00"}}, "!EAGAIN"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			e := newEnv(t)
			for _, s := range c.steps {
				e.want(s.conn, s.typ, s.tx, s.p, s.want)
			}
			last := uint32(1)
			if c.name == "other transaction committed first" {
				last = 2
			}
			e.want("1", TypeTransactionEnd, last, "T\x00", c.end)
			e.want("1", TypeTransactionEnd, last, "T\x00", "!ENOENT") // gone either way
		})
	}
	// After EAGAIN the global tree is untouched; a retry succeeds.
	e := newEnv(t)
	e.want("1", TypeWrite, 0, "k\x001", "OK\x00")
	e.want("1", TypeTransactionStart, 0, "\x00", "1\x00")
	e.want("1", TypeWrite, 1, "k\x00tx", "OK\x00")
	e.want("1", TypeWrite, 1, "k2\x00tx", "OK\x00")
	e.want("1", TypeWrite, 0, "k\x00global", "OK\x00")
	e.want("1", TypeTransactionEnd, 1, "T\x00", "!EAGAIN")
	e.want("1", TypeRead, 0, "k\x00", "global")
	e.want("1", TypeRead, 0, "k2\x00", "!ENOENT")
	e.want("1", TypeTransactionStart, 0, "\x00", "2\x00")
	e.want("1", TypeWrite, 2, "k\x00tx", "OK\x00")
	e.want("1", TypeTransactionEnd, 2, "T\x00", "OK\x00")
	e.want("1", TypeRead, 0, "k\x00", "tx")
}

func TestReleaseCleansUp(t *testing.T) {
	e := newEnv(t)
	e.want("0", TypeWrite, 0, "/shared\x00", "OK\x00")
	e.want("0", TypeSetPerms, 0, "/shared\x00n0\x00b1\x00r2\x00", "OK\x00")
	e.want("1", TypeWrite, 0, "/shared/from1/x\x00v", "OK\x00")                // owned by 1
	e.want("0", TypeWrite, 0, "/shared/from0\x00v", "OK\x00")                  // owned by 0, perms n0 b1 r2
	e.want("0", TypeWrite, 0, "/local/domain/0/backend/vif/1/0\x00", "OK\x00") // dom0's backend dir
	e.want("0", TypeSetPerms, 0, "/local/domain/0/backend/vif/1/0\x00n0\x00r1\x00", "OK\x00")
	e.want("1", TypeWatch, 0, "/shared\x00w1\x00", "OK\x00")
	e.want("1", TypeTransactionStart, 0, "\x00", "1\x00")
	e.want("0", TypeWatch, 0, "/shared\x00w0\x00", "OK\x00")
	e.want("0", TypeWatch, 0, "/local/domain\x00d\x00", "OK\x00")
	e.want("0", TypeWatch, 0, "@releaseDomain\x00r\x00", "OK\x00")

	ev := e.want("0", TypeRelease, 0, "1\x00", "OK\x00")
	wantEvents(t, "release", events(ev), "/local/domain/1 d", "/shared/from1 w0", "@releaseDomain r")
	e.want("0", TypeRead, 0, "/shared/from1\x00", "!ENOENT")
	e.want("0", TypeGetPerms, 0, "/shared\x00", "n0\x00r2\x00")
	e.want("0", TypeGetPerms, 0, "/shared/from0\x00", "n0\x00r2\x00")
	e.want("0", TypeGetPerms, 0, "/local/domain/0/backend/vif/1/0\x00", "n0\x00")
	if !e.c["1"].Closed() || e.s.IsIntroduced(1) {
		t.Fatal("dom1 still connected or introduced")
	}
	e.want("1", TypeRead, 0, "\x00", "!EIO")
	e.want("1", TypeTransactionEnd, 1, "T\x00", "!EIO")

	// Introduced again, it starts afresh.
	e.want("0", TypeIntroduce, 0, "1\x000\x001\x00", "OK\x00")
	e.c["1"] = e.s.Connect(1, false)
	e.want("1", TypeRead, 0, "/shared\x00", "!EACCES")
	e.want("1", TypeWrite, 0, "x\x00v", "OK\x00")
	e.want("1", TypeGetPerms, 0, "\x00", "!EINVAL")
	e.want("1", TypeGetPerms, 0, "x\x00", "n1\x00")
}

func TestStoreDomainAPI(t *testing.T) {
	e := newEnv(t)
	e.want("0", TypeWatch, 0, "@introduceDomain\x00i\x00", "OK\x00")
	e.want("0", TypeWatch, 0, "@releaseDomain\x00r\x00", "OK\x00")
	if err := e.s.Introduce(7); err != nil {
		t.Fatal(err)
	}
	if err := e.s.Introduce(0); err != EINVAL {
		t.Fatalf("Introduce(0) = %v", err)
	}
	if err := e.s.Introduce(DomIDFirstReserved); err != EINVAL {
		t.Fatalf("Introduce(DOMID_FIRST_RESERVED) = %v", err)
	}
	wantEvents(t, "Introduce", e.pending("0"), "@introduceDomain i")
	e.want("0", TypeGetPerms, 0, "/local/domain/7\x00", "n7\x00")
	if !e.s.IsIntroduced(7) || !e.s.IsIntroduced(0) || e.s.IsIntroduced(8) {
		t.Fatal("IsIntroduced")
	}
	// Shutdown fires @releaseDomain once, until RESUME.
	for i := 0; i < 2; i++ {
		if err := e.s.DomainShutdown(7); err != nil {
			t.Fatal(err)
		}
	}
	wantEvents(t, "shutdown", e.pending("0"), "@releaseDomain r")
	e.want("0", TypeResume, 0, "7\x00", "OK\x00")
	e.s.DomainShutdown(7)
	wantEvents(t, "shutdown after resume", e.pending("0"), "@releaseDomain r")
	if err := e.s.Release(7); err != nil {
		t.Fatal(err)
	}
	if err := e.s.Release(7); err != ENOENT {
		t.Fatalf("Release twice = %v", err)
	}
	if err := e.s.Release(0); err != EINVAL {
		t.Fatalf("Release(0) = %v", err)
	}
	if err := e.s.DomainShutdown(7); err != ENOENT {
		t.Fatalf("DomainShutdown of released = %v", err)
	}
	wantEvents(t, "release", e.pending("0"), "@releaseDomain r")
	e.want("0", TypeRead, 0, "/local/domain/7\x00", "!ENOENT")

	q := e.s.Quotas()
	if q != DefaultQuotas {
		t.Fatalf("quotas %+v", q)
	}
	q.Nodes = 2
	e.s.SetQuotas(q)
	e.want("0", TypeGetQuota, 0, "nodes\x00", "2\x00")
	e.want("2", TypeWrite, 0, "a\x00", "OK\x00")
	e.want("2", TypeWrite, 0, "b\x00", "!ENOSPC")
}

func TestHandleOversizedPayload(t *testing.T) {
	e := newEnv(t)
	out := e.c["0"].Handle(Msg{Type: TypeWrite, ReqID: 5, TxID: 0, Payload: make([]byte, PayloadMax+1)})
	if res(out[0]) != "!E2BIG" || out[0].ReqID != 5 {
		t.Fatalf("%v", out[0])
	}
}

// TestConcurrent exercises the mutex (run with -race).
func TestConcurrent(t *testing.T) {
	s := NewStore()
	c0 := s.Connect(0, true)
	done := make(chan bool)
	for d := 1; d <= 4; d++ {
		if err := s.Introduce(uint16(d)); err != nil {
			t.Fatal(err)
		}
		c := s.Connect(uint16(d), false)
		go func() {
			c.Handle(Msg{Type: TypeWatch, ReqID: 1, Payload: []byte("\x00t\x00")})
			for i := 0; i < 200; i++ {
				c.Handle(Msg{Type: TypeWrite, ReqID: uint32(i), Payload: fmt.Appendf(nil, "k%d\x00v", i%7)})
				c.Handle(Msg{Type: TypeTransactionStart, ReqID: uint32(i), Payload: []byte("\x00")})
				c.Pending()
			}
			done <- true
		}()
	}
	for i := 0; i < 200; i++ {
		c0.Handle(Msg{Type: TypeWrite, ReqID: uint32(i), Payload: fmt.Appendf(nil, "/local/domain/%d/k\x00v", i%4+1)})
	}
	for d := 1; d <= 4; d++ {
		<-done
	}
	checkInvariants(t, s)
}

// A connection whose server does not take its events holds at most
// MaxPending of them; the rest are dropped and counted.
func TestPendingBounded(t *testing.T) {
	e := newEnv(t)
	e.want("1", TypeWatch, 0, "dev\x00t1\x00", "OK\x00")
	for i := 0; i < MaxPending+50; i++ {
		e.want("0", TypeWrite, 0, fmt.Sprintf("/local/domain/1/dev/n%d\x00", i), "OK\x00")
	}
	if n := e.c["1"].Dropped(); n != 50 {
		t.Errorf("%d events dropped, want 50", n)
	}
	if got := e.pending("1"); len(got) != MaxPending {
		t.Errorf("%d events pending, want %d", len(got), MaxPending)
	}
	e.want("0", TypeWrite, 0, "/local/domain/1/dev/last\x00", "OK\x00")
	wantEvents(t, "after draining", e.pending("1"), "dev/last t1")
}

// PendingUpTo hands out the oldest events first and leaves the rest queued.
func TestPendingUpTo(t *testing.T) {
	e := newEnv(t)
	e.want("1", TypeWatch, 0, "dev\x00t1\x00", "OK\x00")
	for i := 0; i < 5; i++ {
		e.want("0", TypeWrite, 0, fmt.Sprintf("/local/domain/1/dev/n%d\x00", i), "OK\x00")
	}
	wantEvents(t, "first two", events(e.c["1"].PendingUpTo(2)), "dev/n0 t1", "dev/n1 t1")
	if got := e.c["1"].PendingUpTo(0); got != nil {
		t.Errorf("PendingUpTo(0) = %v", got)
	}
	wantEvents(t, "the rest", e.pending("1"), "dev/n2 t1", "dev/n3 t1", "dev/n4 t1")
}

// The store wakes a connection's server when it queues a watch event for
// it, by another connection's request or by a Store method, and at once
// when SetWake finds events waiting; not for the requester's own events,
// which its reply carries.
func TestSetWake(t *testing.T) {
	e := newEnv(t)
	e.want("1", TypeWatch, 0, "dev\x00t1\x00", "OK\x00")
	e.want("0", TypeWrite, 0, "/local/domain/1/dev/early\x00", "OK\x00")
	woken := 0
	e.c["1"].SetWake(func() { woken++ })
	if woken != 1 {
		t.Fatalf("SetWake with an event waiting woke %d times, want 1", woken)
	}
	e.pending("1")
	e.want("0", TypeWrite, 0, "/local/domain/1/dev/a\x00", "OK\x00")
	if woken != 2 {
		t.Errorf("another connection's write woke %d times in all, want 2", woken)
	}
	e.want("1", TypeWrite, 0, "dev/b\x00", "OK\x00") // its own: in its reply
	if woken != 2 {
		t.Errorf("the connection's own write woke it (%d wakes)", woken)
	}
	e.want("0", TypeRead, 0, "/local/domain/1/dev/a\x00", "")
	if woken != 2 {
		t.Errorf("a read woke it (%d wakes)", woken)
	}
	e.c["1"].SetWake(nil)
	e.want("0", TypeWrite, 0, "/local/domain/1/dev/c\x00", "OK\x00")
	if woken != 2 {
		t.Errorf("woken after SetWake(nil)")
	}
	wantEvents(t, "queued", e.pending("1"), "dev/a t1", "dev/c t1")
}
