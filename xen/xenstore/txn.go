package xenstore

import "strconv"

// A transaction sees the tree through its own copy of every node it has
// touched. xenstore.txt describes TRANSACTION_START as copying the whole
// database; like xenstored (transaction.c) this copies a node when the
// transaction first accesses it and remembers the node's generation then.
// TRANSACTION_END "T" fails with EAGAIN if any node the transaction accessed
// (read, wrote, or looked for and found missing) has changed in the global
// tree since; else the transaction's changes become global at once and its
// watch events fire.
type txn struct {
	id      uint32
	entries map[string]*txEntry
	order   []string       // paths in order of first access, for a deterministic commit
	delta   map[uint16]int // change of nodes by owner
	created bool           // a node was created (the commit checks the nodes quota)
}

type txEntry struct {
	n         *node  // the transaction's view; nil if none
	origGen   uint64 // generation when first accessed; 0 if the node did not exist
	origPerms []Perm // permissions when first accessed, for watch events
	modified  bool
	fire      bool
	subtree   bool
}

func (t *txn) get(o *op, path string) (*node, error) {
	if e := t.entries[path]; e != nil {
		return e.n, nil
	}
	if q := o.quota(qTransactionNodes); q > 0 && len(t.order)+1 > q {
		return nil, ENOSPC
	}
	return t.entry(o.s, path).n, nil
}

// entry returns path's entry, making one (without the transaction-nodes
// quota) if the request did not read it first.
func (t *txn) entry(s *Store, path string) *txEntry {
	e := t.entries[path]
	if e == nil {
		e = &txEntry{}
		if g := s.nodes[path]; g != nil {
			e.n, e.origGen, e.origPerms = g.clone(), g.gen, g.perms
		}
		t.entries[path] = e
		t.order = append(t.order, path)
	}
	return e
}

func (t *txn) put(s *Store, path string, n *node) {
	e := t.entry(s, path)
	if e.n != nil {
		t.delta[e.n.owner()]--
	}
	t.delta[n.owner()]++
	n.gen = s.nextGen()
	e.n, e.modified = n, true
}

func (t *txn) del(s *Store, path string) {
	e := t.entry(s, path)
	if e.n != nil {
		t.delta[e.n.owner()]--
	}
	e.n, e.modified = nil, true
}

// queue remembers a watch event for the commit; an event for the subtree
// replaces one for the exact path.
func (t *txn) queue(path string, m matchKind) {
	e := t.entries[path]
	if e == nil {
		return // every changed path has been read first
	}
	e.fire = true
	if m == matchSubtree {
		e.subtree = true
	}
}

func (c *Conn) findTx(id uint32) *txn {
	for _, t := range c.txs {
		if t.id == id {
			return t
		}
	}
	return nil
}

func (c *Conn) removeTx(t *txn) {
	for i, x := range c.txs {
		if x == t {
			c.txs = append(c.txs[:i:i], c.txs[i+1:]...)
			return
		}
	}
}

func (c *Conn) domainTxs() int { return c.perDomain(func(x *Conn) int { return len(x.txs) }) }

// perDomain sums count over the connections of c's domain (the quotas are
// per domain, and a domain may hold several connections).
func (c *Conn) perDomain(count func(*Conn) int) int {
	n := 0
	for _, x := range c.s.conns {
		if x.domid == c.domid {
			n += count(x)
		}
	}
	return n
}

// doTransactionStart: TRANSACTION_START |, reply <transid>|. A request that
// names a transaction (tx_id != 0) gets EBUSY: no nesting.
func doTransactionStart(o *op, p []byte) ([]byte, error) {
	if o.tx != nil {
		return nil, EBUSY
	}
	c := o.c
	if q := o.quota(qTransactions); q > 0 && c.domainTxs()+1 > q {
		return nil, ENOSPC
	}
	id := c.nextTx
	for id == 0 || c.findTx(id) != nil {
		id++
	}
	c.nextTx = id + 1
	c.txs = append(c.txs, &txn{id: id, entries: make(map[string]*txEntry), delta: make(map[uint16]int)})
	return nulTerminated(strconv.FormatUint(uint64(id), 10)), nil
}

// doTransactionEnd: TRANSACTION_END T| commits, F| discards. Either way the
// transaction is gone afterwards, also when the commit fails.
func doTransactionEnd(o *op, p []byte) ([]byte, error) {
	arg, ok := onearg(p)
	if !ok || (arg != "T" && arg != "F") {
		return nil, EINVAL
	}
	t := o.tx
	if t == nil {
		return nil, ENOENT
	}
	o.c.removeTx(t)
	o.tx = nil
	if arg == "T" {
		if err := o.s.commit(o, t); err != nil {
			return nil, err
		}
	}
	return okPayload(), nil
}

func (s *Store) commit(o *op, t *txn) error {
	c := o.c
	if q := o.quota(qNodes); t.created && q > 0 && s.count[c.domid]+t.delta[c.domid] > q {
		return ENOSPC
	}
	for _, path := range t.order {
		var g uint64
		if n := s.nodes[path]; n != nil {
			g = n.gen
		}
		if g != t.entries[path].origGen {
			return EAGAIN
		}
	}
	for _, path := range t.order {
		e := t.entries[path]
		if !e.modified {
			continue
		}
		if e.n != nil {
			s.put(path, e.n)
		} else {
			s.del(path)
		}
	}
	for _, path := range t.order {
		if e := t.entries[path]; e.fire {
			m := matchExact
			if e.subtree {
				m = matchSubtree
			}
			s.fire(o, path, m, nil, e.origPerms)
		}
	}
	return nil
}
