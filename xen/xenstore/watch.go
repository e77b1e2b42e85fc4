package xenstore

// watch is one registered watch (xenstored watch.c, struct watch).
type watch struct {
	path   string // canonical: absolute, or a special "@..." path
	token  string
	prefix int // bytes of path to drop in events: the watch was relative
}

// Special watch paths: events that xenstored invents rather than node
// changes (xenstore.txt, WATCH).
const (
	IntroduceDomainPath = "@introduceDomain" // fires on INTRODUCE
	ReleaseDomainPath   = "@releaseDomain"   // fires on RELEASE, domain shutdown and destruction
)

type matchKind int

const (
	matchExact   matchKind = iota // watches on exactly the path
	matchSubtree                  // watches on the path or any parent of it
)

// fire reports a change of path: in a transaction it is remembered for the
// commit (xenstored queue_watches), else it fires now.
func (o *op) fire(path string, m matchKind, n *node, oldPerms []Perm) {
	if o.tx != nil {
		o.tx.queue(path, m)
		return
	}
	o.s.fire(o, path, m, n, oldPerms)
}

// fire sends a WATCH_EVENT for each matching watch of each connection that
// may see the change (xenstored fire_watches). n is the changed node if the
// caller has it (nil: look it up); oldPerms are its permissions before a
// change of permissions or a transaction, if any. Events for the
// connection of o go to o.events, the others to their pending queues.
func (s *Store) fire(o *op, path string, m matchKind, n *node, oldPerms []Perm) {
	for _, c := range s.conns {
		permitted, checked := false, false
		for _, w := range c.watches {
			var send bool
			if m == matchExact {
				send = path == w.path
			} else {
				send = isChild(path, w.path)
			}
			if !send {
				continue
			}
			if !checked {
				permitted, checked = s.watchPermitted(c, path, n, oldPerms), true
			}
			if !permitted {
				break
			}
			s.deliver(o, c, path[w.prefix:], w.token)
		}
	}
}

// watchPermitted reports whether c may learn of a change of path
// (xenstored watch_permitted): it can read the node, or could before the
// change, or can read the node's parent.
func (s *Store) watchPermitted(c *Conn, path string, n *node, oldPerms []Perm) bool {
	if c.priv {
		return true
	}
	if oldPerms != nil && s.permFor(c, oldPerms)&AccessRead != 0 {
		return true
	}
	if n == nil {
		if n = s.nodes[path]; n == nil {
			return false
		}
	}
	if s.permFor(c, n.perms)&AccessRead != 0 {
		return true
	}
	p := s.nodes[parentOf(path)]
	return p != nil && s.permFor(c, p.perms)&AccessRead != 0
}

// deliver queues one event "<path>\0<token>\0" for c (xenstored send_event).
// Events too long for a message are dropped, and so is an event identical to
// one still undelivered, except for special paths.
func (s *Store) deliver(o *op, c *Conn, path, token string) {
	payload := nulTerminated(path, token)
	if len(payload) > PayloadMax {
		return
	}
	ev := Msg{Type: TypeWatchEvent, Payload: payload}
	mine := o != nil && c == o.c
	if !mine && len(c.pending) >= MaxPending {
		c.dropped++ // a connection that does not take its events
		return      // (before the duplicate scan: a full queue costs nothing)
	}
	if path == "" || path[0] != '@' {
		if dup(c.pending, payload) || (mine && dup(o.events, payload)) {
			return
		}
	}
	if mine {
		o.events = append(o.events, ev)
	} else {
		c.pending = append(c.pending, ev)
		if c.wake != nil {
			c.wake()
		}
	}
}

// MaxPending bounds the watch events queued for a connection that its
// server has not yet taken (Conn.Pending): a domain that stops reading its
// ring cannot grow the store's memory. Events beyond it are dropped and
// counted (Conn.Dropped).
const MaxPending = 256

func dup(q []Msg, payload []byte) bool {
	for _, m := range q {
		if string(m.Payload) == string(payload) {
			return true
		}
	}
	return false
}

// fireSpecial fires the watches on a special path (xenstored
// fire_special_watches), for the connections that may read its node.
func (s *Store) fireSpecial(o *op, path string) {
	if n := s.nodes[path]; n != nil {
		s.fire(o, path, matchExact, n, nil)
	}
}

func (c *Conn) domainWatches() int {
	return c.perDomain(func(x *Conn) int { return len(x.watches) })
}

// doWatch: WATCH <wpath>|<token>|. The reply comes first, then the event
// that every new watch fires once, with the path as given.
func doWatch(o *op, p []byte) ([]byte, error) {
	ss := strs(p)
	if len(ss) != 2 {
		// A third string is a <depth>, allowed only with the
		// XENSTORE_SERVER_FEATURE_WATCHDEPTH feature, which this store
		// does not offer.
		return nil, EINVAL
	}
	name, err := o.canon(ss[0], true)
	if err != nil {
		return nil, err
	}
	c := o.c
	for _, w := range c.watches {
		if w.path == name && w.token == ss[1] {
			return nil, EEXIST
		}
	}
	if q := o.quota(qWatches); q > 0 && c.domainWatches()+1 > q {
		return nil, ENOSPC
	}
	w := &watch{path: name, token: ss[1]}
	if ss[0] == "" || (ss[0][0] != '/' && ss[0][0] != '@') {
		w.prefix = len(domainPath(c.domid)) + 1
	}
	c.watches = append(c.watches, w)
	// o.events follow the reply.
	o.s.deliver(o, c, name[w.prefix:], w.token)
	return okPayload(), nil
}

// doUnwatch: UNWATCH <wpath>|<token>|.
func doUnwatch(o *op, p []byte) ([]byte, error) {
	ss := strs(p)
	if len(ss) != 2 {
		return nil, EINVAL
	}
	name, err := o.canon(ss[0], true)
	if err != nil {
		return nil, err
	}
	c := o.c
	for i, w := range c.watches {
		if w.path == name && w.token == ss[1] {
			c.watches = append(c.watches[:i:i], c.watches[i+1:]...)
			return okPayload(), nil
		}
	}
	return nil, ENOENT
}

// doResetWatches: RESET_WATCHES: drop all the connection's watches and
// transactions.
func doResetWatches(o *op, p []byte) ([]byte, error) {
	o.c.watches, o.c.txs = nil, nil
	return okPayload(), nil
}
