package xenstore

import (
	"bytes"
	"strconv"
	"strings"
)

type handler struct {
	fn   func(o *op, payload []byte) ([]byte, error)
	priv bool // privileged connections only: EACCES for others
	notx bool // tx_id is ignored (WATCH, UNWATCH)
}

// handlers is the request table, after xenstored's wire_funcs (core.c),
// which also gives which requests are privileged-only.
var handlers = [TypeCount]handler{
	TypeControl:            {fn: doNotSupported, priv: true},
	TypeDirectory:          {fn: doDirectory},
	TypeRead:               {fn: doRead},
	TypeGetPerms:           {fn: doGetPerms},
	TypeWatch:              {fn: doWatch, notx: true},
	TypeUnwatch:            {fn: doUnwatch, notx: true},
	TypeTransactionStart:   {fn: doTransactionStart},
	TypeTransactionEnd:     {fn: doTransactionEnd},
	TypeIntroduce:          {fn: doIntroduce, priv: true},
	TypeRelease:            {fn: doRelease, priv: true},
	TypeGetDomainPath:      {fn: doGetDomainPath},
	TypeWrite:              {fn: doWrite},
	TypeMkdir:              {fn: doMkdir},
	TypeRm:                 {fn: doRm},
	TypeSetPerms:           {fn: doSetPerms},
	TypeIsDomainIntroduced: {fn: doIsDomainIntroduced, priv: true},
	TypeResume:             {fn: doResume, priv: true},
	TypeSetTarget:          {fn: doSetTarget, priv: true},
	TypeResetWatches:       {fn: doResetWatches},
	TypeDirectoryPart:      {fn: doDirectoryPart},
	TypeGetFeature:         {fn: doNotSupported},
	TypeSetFeature:         {fn: doNotSupported, priv: true},
	TypeGetQuota:           {fn: doGetQuota, priv: true},
	TypeSetQuota:           {fn: doSetQuota, priv: true},
}

func okPayload() []byte { return []byte("OK\x00") }

// Handle answers one request. The result is the reply, with the request's
// req_id and tx_id (its type is the request's, or XS_ERROR), followed by the
// watch events that the request fired for this connection (req_id and tx_id
// 0). Events for other connections are queued on them (see Pending).
//
// Errors follow xenstored: ENOSYS for a type it does not serve (WATCH_EVENT,
// ERROR, CONTROL, GET_FEATURE, SET_FEATURE, and unknown ones); EACCES for
// a privileged-only request from an unprivileged connection; ENOENT for a
// tx_id that names no open transaction of this connection; E2BIG for a
// reply that would exceed PayloadMax; EIO on a closed connection.
func (c *Conn) Handle(req Msg) []Msg {
	s := c.s
	s.mu.Lock()
	defer s.mu.Unlock()
	o := &op{s: s, c: c}
	payload, err := c.handle(o, req)
	if err == nil && len(payload) > PayloadMax {
		err = E2BIG
	}
	reply := Msg{Type: req.Type, ReqID: req.ReqID, TxID: req.TxID, Payload: payload}
	if err != nil {
		e, ok := err.(Errno)
		if !ok {
			e = EINVAL
		}
		reply = ErrorMsg(req, e)
	}
	return append([]Msg{reply}, o.events...)
}

func (c *Conn) handle(o *op, req Msg) ([]byte, error) {
	if c.closed {
		return nil, EIO
	}
	if len(req.Payload) > PayloadMax {
		return nil, E2BIG // the Reader refuses these; xenstored drops the client
	}
	if req.Type >= TypeCount || handlers[req.Type].fn == nil {
		return nil, ENOSYS
	}
	h := handlers[req.Type]
	if h.priv && !c.priv {
		return nil, EACCES
	}
	if !h.notx && req.TxID != 0 {
		if o.tx = c.findTx(req.TxID); o.tx == nil {
			return nil, ENOENT
		}
	}
	return h.fn(o, req.Payload)
}

func doNotSupported(o *op, p []byte) ([]byte, error) { return nil, ENOSYS }

// pathArg is the single <path>| argument of most requests, canonicalized.
func pathArg(o *op, p []byte, special bool) (string, error) {
	arg, ok := onearg(p)
	if !ok {
		return "", EINVAL
	}
	return o.canon(arg, special)
}

// doRead: READ <path>|, reply <value|>.
func doRead(o *op, p []byte) ([]byte, error) {
	name, err := pathArg(o, p, false)
	if err != nil {
		return nil, err
	}
	n, err := o.getNode(name, AccessRead)
	if err != nil {
		return nil, err
	}
	// Node values are replaced, never changed in place: the reply may
	// share the bytes (capped, so that an append cannot reach them).
	return n.value[:len(n.value):len(n.value)], nil
}

// doDirectory: DIRECTORY <path>|, reply <child-leaf-name>|*.
func doDirectory(o *op, p []byte) ([]byte, error) {
	name, err := pathArg(o, p, false)
	if err != nil {
		return nil, err
	}
	n, err := o.getNode(name, AccessRead)
	if err != nil {
		return nil, err
	}
	return n.childBytes(), nil // a fresh slice already
}

// doDirectoryPart: DIRECTORY_PART <path>|<offset>|, reply
// <gencnt>|<child-leaf-name>|* from byte <offset> of the children list, as
// much as fits; an extra NUL ends the list (xenstored send_directory_part).
func doDirectoryPart(o *op, p []byte) ([]byte, error) {
	ss := strs(p)
	if len(ss) != 2 {
		return nil, EINVAL
	}
	name, err := o.canon(ss[0], false)
	if err != nil {
		return nil, err
	}
	n, err := o.getNode(name, AccessRead)
	if err != nil {
		return nil, err
	}
	children := n.childBytes()
	off := atoi(ss[1])
	if off < 0 {
		off = len(children) // xenstored's offset is unsigned: past the end
	}
	out := nulTerminated(strconv.FormatUint(n.gen, 10))
	if off >= len(children) {
		return append(out, 0), nil
	}
	maxlen := PayloadMax - len(out) - 1
	l := 0
	for rest := children[off:]; ; {
		i := bytes.IndexByte(rest, 0)
		if l+i >= maxlen {
			break
		}
		l += i + 1
		rest = rest[i+1:]
		if off+l == len(children) {
			break
		}
	}
	out = append(out, children[off:off+l]...)
	if off+l == len(children) {
		out = append(out, 0)
	}
	return out, nil
}

// doGetPerms: GET_PERMS <path>|, reply <perm-as-string>|+.
func doGetPerms(o *op, p []byte) ([]byte, error) {
	name, err := pathArg(o, p, true)
	if err != nil {
		return nil, err
	}
	n, err := o.getNode(name, AccessRead)
	if err != nil {
		return nil, err
	}
	ss := make([]string, len(n.perms))
	for i, pm := range n.perms {
		ss[i] = pm.String()
	}
	return nulTerminated(ss...), nil
}

// doWrite: WRITE <path>|<value|>, the value not NUL-terminated. Missing
// parents are created empty.
func doWrite(o *op, p []byte) ([]byte, error) {
	i := indexNUL(p)
	if i < 0 {
		return nil, EINVAL
	}
	name, err := o.canon(string(p[:i]), false)
	if err != nil {
		return nil, err
	}
	value := append([]byte{}, p[i+1:]...)
	n, err := o.getNode(name, AccessWrite)
	switch {
	case err == ENOENT:
		if n, err = o.create(name, value, nil); err != nil {
			return nil, err
		}
	case err != nil:
		return nil, err
	default:
		n = n.clone()
		n.value = value
		if err := o.checkSize(n); err != nil {
			return nil, err
		}
		o.put(name, n)
	}
	o.fire(name, matchSubtree, n, nil)
	return okPayload(), nil
}

// doMkdir: MKDIR <path>|: create the node and missing parents, empty; an
// existing node is left alone.
func doMkdir(o *op, p []byte) ([]byte, error) {
	name, err := pathArg(o, p, false)
	if err != nil {
		return nil, err
	}
	_, err = o.getNode(name, AccessWrite)
	if err == ENOENT {
		n, err := o.create(name, nil, nil)
		if err != nil {
			return nil, err
		}
		o.fire(name, matchSubtree, n, nil)
		return okPayload(), nil
	}
	if err != nil {
		return nil, err
	}
	return okPayload(), nil
}

// doRm: RM <path>|: remove the node and everything below it. A missing node
// is fine if its parent exists; otherwise ENOENT. Removing "/" is EINVAL.
func doRm(o *op, p []byte) ([]byte, error) {
	name, err := pathArg(o, p, false)
	if err != nil {
		return nil, err
	}
	_, err = o.getNode(name, AccessWrite)
	if err == ENOENT {
		parent, err := o.get(parentOf(name))
		if err != nil {
			return nil, err
		}
		if parent != nil {
			return okPayload(), nil
		}
		return nil, ENOENT
	}
	if err != nil {
		return nil, err
	}
	if name == "/" {
		return nil, EINVAL
	}
	if err := o.rmNode(name); err != nil {
		return nil, err
	}
	return okPayload(), nil
}

// doSetPerms: SET_PERMS <path>|<perm-as-string>|+. Only the owner (or a
// privileged connection) may, and only a privileged one may change the
// owner (EPERM).
func doSetPerms(o *op, p []byte) ([]byte, error) {
	ss := strs(p)
	if len(ss) < 2 {
		return nil, EINVAL
	}
	if q := o.quota(qPermissions); q > 0 && len(ss)-1 > q {
		return nil, ENOSPC
	}
	perms := make([]Perm, len(ss)-1)
	for i, s := range ss[1:] {
		pm, err := ParsePerm(s)
		if err != nil {
			return nil, err
		}
		perms[i] = pm
	}
	name, err := o.canon(ss[0], true)
	if err != nil {
		return nil, err
	}
	n, err := o.getNode(name, AccessWrite|accessOwner)
	if err != nil {
		return nil, err
	}
	if !o.priv() && perms[0].Dom != n.owner() {
		return nil, EPERM
	}
	nn := n.clone()
	nn.perms = perms
	if err := o.checkSize(nn); err != nil {
		return nil, err
	}
	o.put(name, nn)
	o.fire(name, matchSubtree, nn, n.perms)
	return okPayload(), nil
}

// domidArg parses the single <domid>| argument.
func domidArg(p []byte) (uint16, error) {
	arg, ok := onearg(p)
	if !ok {
		return 0, EINVAL
	}
	d, ok := parseDomID(arg)
	if !ok {
		return 0, EINVAL
	}
	return d, nil
}

// doGetDomainPath: GET_DOMAIN_PATH <domid>|, reply /local/domain/<domid>|.
func doGetDomainPath(o *op, p []byte) ([]byte, error) {
	d, err := domidArg(p)
	if err != nil {
		return nil, err
	}
	return nulTerminated(domainPath(d)), nil
}

// doIsDomainIntroduced: IS_DOMAIN_INTRODUCED <domid>|, reply T| or F|.
// DOMID_SELF and dom0 are always introduced.
func doIsDomainIntroduced(o *op, p []byte) ([]byte, error) {
	d, err := domidArg(p)
	if err != nil {
		return nil, err
	}
	if d == DomIDSelf || o.s.introduced(d) {
		return []byte("T\x00"), nil
	}
	return []byte("F\x00"), nil
}

// doIntroduce: INTRODUCE <domid>|<gfn>|<evtchn>|?. The store does not map
// rings or bind event channels (the server loop does; ParseIntroduce reads
// the request); it creates /local/domain/<domid>, owned by the domain, and
// fires @introduceDomain. Introducing an introduced domain again is fine.
func doIntroduce(o *op, p []byte) ([]byte, error) {
	d, _, _, err := ParseIntroduce(p)
	if err != nil {
		return nil, err
	}
	o.s.introduce(o, d)
	return okPayload(), nil
}

// ParseIntroduce parses the payload of an INTRODUCE request: the domid (a
// real domain: not 0, below DOMID_FIRST_RESERVED), the gfn of the ring page
// (signed decimal, xenstore.txt) and the event channel (positive). Errors
// are EINVAL.
func ParseIntroduce(payload []byte) (domid uint16, gfn int64, evtchn uint32, err error) {
	ss := strs(payload)
	if len(ss) < 3 {
		return 0, 0, 0, EINVAL
	}
	d, ok := parseDomID(ss[0])
	if !ok || d == 0 || d >= DomIDFirstReserved {
		return 0, 0, 0, EINVAL
	}
	port := atoi(ss[2])
	if port <= 0 {
		return 0, 0, 0, EINVAL
	}
	g, _ := strconv.ParseInt(ss[1], 10, 64)
	return d, g, uint32(port), nil
}

// releasable is onearg_domain: a domain other than dom0 that is introduced.
func (s *Store) releasable(d uint16) error {
	if d == 0 {
		return EINVAL
	}
	if !s.introduced(d) {
		return ENOENT
	}
	return nil
}

// doRelease: RELEASE <domid>|.
func doRelease(o *op, p []byte) ([]byte, error) {
	d, err := domidArg(p)
	if err != nil {
		return nil, err
	}
	if err := o.s.releasable(d); err != nil {
		return nil, err
	}
	o.s.release(o, d)
	return okPayload(), nil
}

// doResume: RESUME <domid>|: @releaseDomain may fire again on shutdown.
func doResume(o *op, p []byte) ([]byte, error) {
	d, err := domidArg(p)
	if err != nil {
		return nil, err
	}
	if err := o.s.releasable(d); err != nil {
		return nil, err
	}
	o.s.dom(d).shutdown = false
	return okPayload(), nil
}

// doSetTarget: SET_TARGET <domid>|<tdomid>|: domid gets tdomid's access.
func doSetTarget(o *op, p []byte) ([]byte, error) {
	ss := strs(p)
	if len(ss) < 2 {
		return nil, EINVAL
	}
	d, ok1 := parseDomID(ss[0])
	t, ok2 := parseDomID(ss[1])
	if !ok1 || !ok2 {
		return nil, EINVAL
	}
	if !o.s.introduced(d) || !o.s.introduced(t) {
		return nil, ENOENT
	}
	o.s.dom(d).target = int(t)
	return okPayload(), nil
}

func quotaByName(name string) (quotaKind, bool) {
	for k, n := range quotaNames {
		if n == name {
			return quotaKind(k), true
		}
	}
	return 0, false
}

// doGetQuota: GET_QUOTA [[<domid>|]<quota>|], reply <value>|, or with no
// argument the quota names separated by blanks.
func doGetQuota(o *op, p []byte) ([]byte, error) {
	ss := strs(p)
	switch len(ss) {
	case 0:
		return nulTerminated(strings.Join(quotaNames[:], " ")), nil
	case 1:
		k, ok := quotaByName(ss[0])
		if !ok {
			return nil, EINVAL
		}
		return nulTerminated(strconv.Itoa(*o.s.quotas.field(k))), nil
	case 2:
		d, ok := parseDomID(ss[0])
		k, ok2 := quotaByName(ss[1])
		if !ok || !ok2 {
			return nil, EINVAL
		}
		return nulTerminated(strconv.Itoa(o.s.quota(d, k))), nil
	}
	return nil, EINVAL
}

// doSetQuota: SET_QUOTA [<domid>|]<quota>|<value>|; 0 disables the check.
// Without a domid it sets the global value, the default of every domain.
func doSetQuota(o *op, p []byte) ([]byte, error) {
	ss := strs(p)
	if len(ss) < 2 || len(ss) > 3 {
		return nil, EINVAL
	}
	var d uint16
	perDomain := len(ss) == 3
	if perDomain {
		var ok bool
		if d, ok = parseDomID(ss[0]); !ok {
			return nil, EINVAL
		}
		ss = ss[1:]
	}
	k, ok := quotaByName(ss[0])
	v, err := strconv.ParseUint(ss[1], 10, 31)
	if !ok || err != nil {
		return nil, EINVAL
	}
	if perDomain {
		dm := o.s.dom(d)
		dm.quota[k], dm.quotaSet[k] = int(v), true
	} else {
		*o.s.quotas.field(k) = int(v)
	}
	return okPayload(), nil
}
