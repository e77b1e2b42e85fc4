package xenstore

import (
	"strings"
	"sync"
)

// Quotas limit what an unprivileged domain may hold in the store. The names
// and defaults are xenstored's (domain.c, quota_adm and quotas); a value of 0
// disables that check. Exceeding a quota gets the error ENOSPC, as from
// xenstored (the xsd_errors table has no EQUOTA). A limit here is inclusive:
// Nodes = 1000 allows 1000 nodes.
type Quotas struct {
	Nodes            int // "nodes": nodes owned by the domain (1000)
	Watches          int // "watches": watches of the domain's connections (128)
	Transactions     int // "transactions": open transactions of the domain (10)
	TransactionNodes int // "transaction-nodes": nodes one transaction may access (1024)
	Permissions      int // "node-permissions": entries in one SET_PERMS (5)
	PathMax          int // "path-max": path length after /local/domain/<id>/ (2048)
	NodeSize         int // "node-size": accounted size of one node written (2048)
}

// DefaultQuotas are xenstored's defaults.
var DefaultQuotas = Quotas{
	Nodes:            1000,
	Watches:          128,
	Transactions:     10,
	TransactionNodes: 1024,
	Permissions:      5,
	PathMax:          RelPathMax,
	NodeSize:         2048,
}

type quotaKind int

const (
	qNodes quotaKind = iota
	qWatches
	qTransactions
	qTransactionNodes
	qPermissions
	qPathMax
	qNodeSize
	numQuotas
)

// quotaNames are the GET_QUOTA/SET_QUOTA names (xenstore.txt; domain.c).
var quotaNames = [numQuotas]string{"nodes", "watches", "transactions",
	"transaction-nodes", "node-permissions", "path-max", "node-size"}

func (q *Quotas) field(k quotaKind) *int {
	switch k {
	case qNodes:
		return &q.Nodes
	case qWatches:
		return &q.Watches
	case qTransactions:
		return &q.Transactions
	case qTransactionNodes:
		return &q.TransactionNodes
	case qPermissions:
		return &q.Permissions
	case qPathMax:
		return &q.PathMax
	default:
		return &q.NodeSize
	}
}

// domain is what the store knows of a domain besides its nodes.
type domain struct {
	introduced bool
	shutdown   bool            // @releaseDomain already fired for a shutdown
	target     int             // SET_TARGET: the domain this one acts for, or -1
	quota      [numQuotas]int  // per-domain quota values ...
	quotaSet   [numQuotas]bool // ... where set by SET_QUOTA
}

// Store is a XenStore: the tree of nodes, the connections with their watches
// and transactions, and what it knows of the domains. It is safe for
// concurrent use; every operation takes one mutex.
type Store struct {
	mu      sync.Mutex
	nodes   map[string]*node // by absolute path, and the special "@..." nodes
	count   map[uint16]int   // nodes by owner
	gen     uint64           // the global generation count
	conns   []*Conn          // in order of connection, for a deterministic event order
	domains map[uint16]*domain
	quotas  Quotas
}

// NewStore returns a store holding the initial tree: "/", "/tool/xenstored"
// (as xenstored's setup_structure makes), "/local/domain" (which INTRODUCE
// populates) and the special nodes "@introduceDomain" and "@releaseDomain"
// that carry the permissions of the special watches. All belong to dom0 with
// no access for others ("n0"). Quotas are DefaultQuotas.
func NewStore() *Store {
	s := &Store{
		nodes:   make(map[string]*node),
		count:   make(map[uint16]int),
		domains: make(map[uint16]*domain),
		quotas:  DefaultQuotas,
	}
	mk := func(path string, children ...string) {
		s.put(path, &node{perms: []Perm{{Dom: 0, Access: AccessNone}}, children: children})
	}
	mk("/", "tool", "local")
	mk("/tool", "xenstored")
	mk("/tool/xenstored")
	mk("/local", "domain")
	mk("/local/domain")
	mk("@introduceDomain")
	mk("@releaseDomain")
	return s
}

// Quotas returns the global quotas, the default of every domain.
func (s *Store) Quotas() Quotas {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.quotas
}

// SetQuotas replaces the global quotas. Values that SET_QUOTA set for a
// single domain stay.
func (s *Store) SetQuotas(q Quotas) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.quotas = q
}

func (s *Store) dom(domid uint16) *domain {
	d := s.domains[domid]
	if d == nil {
		d = &domain{target: -1}
		s.domains[domid] = d
	}
	return d
}

func (s *Store) quota(domid uint16, k quotaKind) int {
	if d := s.domains[domid]; d != nil && d.quotaSet[k] {
		return d.quota[k]
	}
	return *s.quotas.field(k)
}

func (s *Store) introduced(domid uint16) bool {
	if domid == 0 {
		return true // the privileged domain is always there
	}
	d := s.domains[domid]
	return d != nil && d.introduced
}

func (s *Store) nextGen() uint64 {
	s.gen++
	return s.gen
}

// put replaces (or creates) a node of the global tree, keeping the per-owner
// node counts and giving it a new generation.
func (s *Store) put(path string, n *node) {
	if old := s.nodes[path]; old != nil {
		s.uncount(old.owner())
	}
	s.count[n.owner()]++
	n.gen = s.nextGen()
	s.nodes[path] = n
}

func (s *Store) del(path string) {
	if old := s.nodes[path]; old != nil {
		s.uncount(old.owner())
		delete(s.nodes, path)
	}
}

func (s *Store) uncount(d uint16) {
	if s.count[d]--; s.count[d] <= 0 {
		delete(s.count, d)
	}
}

// Conn is one connection to the store: a domain's ring, as the server loop
// sees it. Its methods are safe for concurrent use.
type Conn struct {
	s       *Store
	domid   uint16
	priv    bool
	closed  bool
	watches []*watch
	txs     []*txn
	nextTx  uint32
	pending []Msg
	dropped int    // watch events dropped for want of room (MaxPending)
	wake    func() // called when a watch event is queued (SetWake)
}

// SetWake has the store call wake whenever it queues a watch event for c,
// and at once if some already wait: the server loop's cue to take them
// (Pending) rather than poll. wake runs with the store locked, so it must
// not block or call the store; a non-blocking channel send is what it is
// for.
func (c *Conn) SetWake(wake func()) {
	c.s.mu.Lock()
	defer c.s.mu.Unlock()
	c.wake = wake
	if wake != nil && len(c.pending) > 0 {
		wake()
	}
}

// Connect opens a connection for domain domid. A privileged connection (the
// control domain, dom0) bypasses permissions and quotas and may send the
// domain-management requests. Relative paths on the connection are relative
// to /local/domain/<domid>. Connecting does not introduce the domain.
func (s *Store) Connect(domid uint16, privileged bool) *Conn {
	s.mu.Lock()
	defer s.mu.Unlock()
	c := &Conn{s: s, domid: domid, priv: privileged, nextTx: 1}
	s.conns = append(s.conns, c)
	return c
}

// Disconnect closes c: its watches and transactions are dropped (open
// transactions are discarded) and its undelivered events with them.
func (s *Store) Disconnect(c *Conn) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.close(c)
}

func (s *Store) close(c *Conn) {
	c.closed = true
	c.watches, c.txs, c.pending = nil, nil, nil
	for i, x := range s.conns {
		if x == c {
			s.conns = append(s.conns[:i:i], s.conns[i+1:]...)
			break
		}
	}
}

// DomID returns the connection's domain.
func (c *Conn) DomID() uint16 { return c.domid }

// Privileged reports whether the connection is privileged.
func (c *Conn) Privileged() bool { return c.priv }

// Closed reports whether the connection has been closed, by Disconnect or
// because its domain was released. A closed connection answers every
// request with EIO; the server loop should stop serving its ring.
func (c *Conn) Closed() bool {
	c.s.mu.Lock()
	defer c.s.mu.Unlock()
	return c.closed
}

// Dropped returns how many watch events were dropped for c because too
// many waited (MaxPending).
func (c *Conn) Dropped() int {
	c.s.mu.Lock()
	defer c.s.mu.Unlock()
	return c.dropped
}

// Pending drains the watch events queued on c by other connections' requests
// and by Store methods, oldest first. The server loop writes them to the
// domain's ring and notifies it.
func (c *Conn) Pending() []Msg { return c.PendingUpTo(MaxPending) }

// PendingUpTo drains at most n of the queued watch events, oldest first,
// and leaves the rest queued (where MaxPending still bounds them): a server
// whose domain does not read its ring takes no more than it can hold.
func (c *Conn) PendingUpTo(n int) []Msg {
	c.s.mu.Lock()
	defer c.s.mu.Unlock()
	n = min(n, len(c.pending))
	if n <= 0 {
		return nil
	}
	p := make([]Msg, n)
	copy(p, c.pending)
	c.pending = append(c.pending[:0], c.pending[n:]...)
	return p
}

// op is the context of one request: the connection (nil for the store's own
// operations, which are privileged), the transaction it runs in (nil for the
// global tree) and the watch events for that connection.
type op struct {
	s      *Store
	c      *Conn
	tx     *txn
	events []Msg
}

func (o *op) priv() bool { return o.c == nil || o.c.priv }

// quota returns the limit k for the requesting domain, 0 for none.
func (o *op) quota(k quotaKind) int {
	if o.priv() {
		return 0
	}
	return o.s.quota(o.c.domid, k)
}

// get returns the node at path as this request sees it, nil if there is
// none. The node must not be modified. In a transaction the access is
// recorded, and may exceed the transaction-nodes quota.
func (o *op) get(path string) (*node, error) {
	if o.tx != nil {
		return o.tx.get(o, path)
	}
	return o.s.nodes[path], nil
}

// put stores n, a node the request built, at path.
func (o *op) put(path string, n *node) {
	if o.tx != nil {
		o.tx.put(o.s, path, n)
		return
	}
	o.s.put(path, n)
}

func (o *op) del(path string) {
	if o.tx != nil {
		o.tx.del(o.s, path)
		return
	}
	o.s.del(path)
}

// count returns the number of nodes domid owns as this request sees them.
func (o *op) count(domid uint16) int {
	n := o.s.count[domid]
	if o.tx != nil {
		n += o.tx.delta[domid]
	}
	return n
}

// permFor returns the access the requesting connection has to a node with
// these permissions (xenstored perm_for_conn): everything for privileged
// connections and for the owner (or a domain whose SET_TARGET is the owner);
// else the first later entry naming the domain (or its target); else the
// owner entry's access, the default for everybody else.
func (s *Store) permFor(c *Conn, perms []Perm) Access {
	if c == nil || c.priv {
		return accessAll
	}
	target := -1
	if d := s.domains[c.domid]; d != nil {
		target = d.target
	}
	match := func(d uint16) bool { return d == c.domid || int(d) == target }
	if match(perms[0].Dom) {
		return accessAll
	}
	for _, p := range perms[1:] {
		if match(p.Dom) {
			return p.Access & AccessBoth
		}
	}
	return perms[0].Access & AccessBoth
}

// canon turns a request's path into the absolute path it names, or EINVAL
// (xenstored canonicalize): only the characters xenstore.txt allows, a
// leading '@' only where special paths are allowed (watches, permissions),
// relative paths under /local/domain/<domid>, no trailing or doubled '/',
// at most AbsPathMax bytes, and for unprivileged domains at most path-max
// bytes after any /local/domain/<id>/ prefix.
func (o *op) canon(p string, special bool) (string, error) {
	if !validChars(p) || (p != "" && p[0] == '@' && !special) {
		return "", EINVAL
	}
	name := p
	if p == "" || (p[0] != '/' && p[0] != '@') {
		base := "/local/domain/0"
		if o.c != nil {
			base = domainPath(o.c.domid)
		}
		name = base + "/" + p
	}
	if (len(name) > 1 && name[len(name)-1] == '/') || strings.Contains(name, "//") || len(name) > AbsPathMax {
		return "", EINVAL
	}
	if q := o.quota(qPathMax); q > 0 && len(name)-localOffset(name) > q {
		return "", EINVAL
	}
	return name, nil
}

// getNode returns the node at name if the connection has all of the access
// want, with xenstored's errors (get_node_chk_perm, errno_from_parents): an
// existing node without that access is EACCES; a missing one is ENOENT if
// the nearest existing ancestor grants some of that access, else EACCES, so
// that a domain learns nothing of what it may not see.
func (o *op) getNode(name string, want Access) (*node, error) {
	n, err := o.get(name)
	if err != nil {
		return nil, err
	}
	if n != nil {
		if o.s.permFor(o.c, n.perms)&want != want {
			return nil, EACCES
		}
		return n, nil
	}
	for cur := name; cur != "/"; {
		cur = parentOf(cur)
		p, err := o.get(cur)
		if err != nil {
			return nil, err
		}
		if p != nil {
			if o.s.permFor(o.c, p.perms)&want != 0 {
				return nil, ENOENT
			}
			return nil, EACCES
		}
	}
	return nil, EACCES // no root: cannot happen
}

// checkSize applies the node-size quota to a node about to be written.
func (o *op) checkSize(n *node) error {
	if q := o.quota(qNodeSize); q > 0 && n.size() > q {
		return ENOSPC
	}
	return nil
}

// create makes the node name, which does not exist, and any missing parents
// (xenstored construct_node, create_node). Each new node takes its parent's
// permissions, except that an unprivileged creator becomes the owner; perms,
// when not nil, replaces that for the final node. The final node holds
// value; the others are empty. Nothing is changed on error.
func (o *op) create(name string, value []byte, perms []Perm) (*node, error) {
	names := []string{name} // names[0] is name, names[i+1] the parent of names[i]
	var parent *node
	var parentName string
	for cur := name; ; {
		pn := parentOf(cur)
		p, err := o.get(pn)
		if err != nil {
			return nil, err
		}
		if p != nil {
			parent, parentName = p, pn
			break
		}
		if pn == "/" {
			return nil, EIO // no root: cannot happen
		}
		names = append(names, pn)
		cur = pn
	}
	if q := o.quota(qNodes); q > 0 && o.count(o.c.domid)+len(names) > q {
		return nil, ENOSPC
	}
	top := parent.clone()
	top.children = append(top.children, baseOf(names[len(names)-1]))
	if err := o.checkSize(top); err != nil {
		return nil, err
	}
	built := make([]*node, len(names))
	inherit := parent.perms
	for i := len(names) - 1; i >= 0; i-- {
		n := &node{perms: append([]Perm(nil), inherit...)}
		if !o.priv() {
			n.perms[0].Dom = o.c.domid
		}
		if i > 0 {
			n.children = []string{baseOf(names[i-1])}
		} else {
			n.value = value
			if perms != nil {
				n.perms = append([]Perm(nil), perms...)
			}
		}
		if err := o.checkSize(n); err != nil {
			return nil, err
		}
		built[i] = n
		inherit = n.perms
	}
	o.put(parentName, top)
	for i := len(names) - 1; i >= 0; i-- {
		o.put(names[i], built[i])
	}
	if o.tx != nil {
		o.tx.created = true
	}
	return built[0], nil
}

// rmNode removes name, which exists and is not "/", with everything below
// it (xenstored rm_node, delnode_sub): the nodes go deepest first, each
// firing the watches on exactly its path, and name itself last, firing the
// watches at or above it. Nothing is changed on error.
func (o *op) rmNode(name string) error {
	parentName := parentOf(name)
	parent, err := o.get(parentName)
	if err != nil {
		return err
	}
	if parent == nil {
		return EINVAL
	}
	root, err := o.get(name)
	if err != nil {
		return err
	}
	type item struct {
		path string
		n    *node
	}
	var list []item
	var walk func(path string, n *node) error
	walk = func(path string, n *node) error {
		for _, c := range n.children {
			cp := childPath(path, c)
			cn, err := o.get(cp)
			if err != nil {
				return err
			}
			if cn != nil {
				if err := walk(cp, cn); err != nil {
					return err
				}
			}
		}
		list = append(list, item{path, n})
		return nil
	}
	if err := walk(name, root); err != nil {
		return err
	}
	for _, it := range list {
		o.del(it.path)
		m := matchExact
		if it.path == name {
			m = matchSubtree
		}
		o.fire(it.path, m, it.n, nil)
	}
	p := parent.clone()
	p.removeChild(baseOf(name))
	o.put(parentName, p)
	return nil
}
