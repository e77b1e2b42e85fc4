package xenstore

// introduce makes domid known (INTRODUCE): /local/domain/<domid> is created
// if missing, owned by the domain with no access for others ("n<domid>"),
// and @introduceDomain fires. Nothing happens for an introduced domain.
func (s *Store) introduce(o *op, domid uint16) {
	d := s.dom(domid)
	if d.introduced {
		return
	}
	d.introduced, d.shutdown = true, false
	path := domainPath(domid)
	if s.nodes[path] == nil {
		g := o.global()
		if n, err := g.create(path, nil, []Perm{{Dom: domid, Access: AccessNone}}); err == nil {
			g.fire(path, matchSubtree, n, nil)
		}
		o.events = g.events
	}
	s.fireSpecial(o, IntroduceDomainPath)
}

// release forgets domid (RELEASE, or the domain's destruction), as
// xenstored's destroy_domain does: the domain's connections are closed
// (without events: their watches go first), /local/domain/<domid> and every
// node the domain owns are removed with their subtrees (firing watches),
// permission entries naming the domain are dropped from the other nodes, and
// @releaseDomain fires.
func (s *Store) release(o *op, domid uint16) {
	for _, c := range append([]*Conn(nil), s.conns...) {
		if c.domid == domid && c != o.c {
			s.close(c)
		}
	}
	// Remove the domain's home, then whatever else it owns.
	path := domainPath(domid)
	if s.nodes[path] != nil {
		s.rmAs(o, path)
	}
	var owned []string
	var walk func(path string)
	walk = func(path string) {
		n := s.nodes[path]
		if n == nil {
			return
		}
		if path != "/" && n.owner() == domid {
			owned = append(owned, path)
			return
		}
		for _, c := range n.children {
			walk(childPath(path, c))
		}
	}
	walk("/")
	for _, p := range owned {
		if s.nodes[p] != nil {
			s.rmAs(o, p)
		}
	}
	// Drop the domain from the permissions of the remaining nodes, so that
	// a new domain with the same id inherits nothing.
	var strip func(path string)
	strip = func(path string) {
		n := s.nodes[path]
		if n == nil {
			return
		}
		keep := n.perms[:1:1]
		for _, p := range n.perms[1:] {
			if p.Dom != domid {
				keep = append(keep, p)
			}
		}
		if len(keep) != len(n.perms) {
			nn := n.clone()
			nn.perms = keep
			s.put(path, nn)
		}
		for _, c := range n.children {
			strip(childPath(path, c))
		}
	}
	strip("/")
	strip(IntroduceDomainPath)
	strip(ReleaseDomainPath)
	d := s.dom(domid)
	d.introduced, d.shutdown, d.target = false, false, -1
	for _, x := range s.domains {
		if x.target == int(domid) {
			x.target = -1
		}
	}
	s.fireSpecial(o, ReleaseDomainPath)
	if o.c != nil && o.c.domid == domid {
		s.close(o.c)
	}
}

// rmAs removes path and its subtree from the global tree, the events for
// o's connection going to o.events.
func (s *Store) rmAs(o *op, path string) {
	g := o.global()
	_ = g.rmNode(path) // in the global tree it cannot fail
	o.events = g.events
}

// global returns an op on the global tree, whatever transaction o's request
// named, for the domain-management requests; o.c is privileged or nil. Its
// events must be copied back to o.events.
func (o *op) global() *op {
	return &op{s: o.s, c: o.c, events: o.events}
}

// Introduce introduces domid as an INTRODUCE request from dom0 would. The
// watch events go to the connections' Pending queues. It fails with EINVAL
// for dom0 or a reserved domid.
func (s *Store) Introduce(domid uint16) error {
	if domid == 0 || domid >= DomIDFirstReserved {
		return EINVAL
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.introduce(&op{s: s}, domid)
	return nil
}

// Release releases domid as a RELEASE request would; the hypervisor calls it
// when a domain is destroyed. It fails with EINVAL for dom0 and ENOENT for a
// domain that is not introduced.
func (s *Store) Release(domid uint16) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.releasable(domid); err != nil {
		return err
	}
	s.release(&op{s: s}, domid)
	return nil
}

// DomainShutdown reports that domid has shut down or crashed: @releaseDomain
// fires, once until RESUME (xenstore.txt, RESUME). It fails like Release.
func (s *Store) DomainShutdown(domid uint16) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.releasable(domid); err != nil {
		return err
	}
	if d := s.dom(domid); !d.shutdown {
		d.shutdown = true
		s.fireSpecial(&op{s: s}, ReleaseDomainPath)
	}
	return nil
}

// IsIntroduced reports whether domid is introduced (dom0 always is).
func (s *Store) IsIntroduced(domid uint16) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.introduced(domid)
}
