// Package evtchn implements Xen event channels with the 2-level ABI for all
// of tamavisor's domains: the port tables, the EVTCHNOP_* operations of
// __HYPERVISOR_event_channel_op, VIRQ delivery, and the delivery of events
// through each domain's shared_info page (public/event_channel.h,
// public/xen.h; semantics of common/event_channel.c and common/event_2l.c).
//
// The package does not touch vCPUs: an operation that makes an event
// pending returns a Delivery naming the domain and vCPU, and whether that
// vCPU now needs the upcall injected (and whether pollers must wake). The
// caller injects it. Guest memory is reached only through Shared, whose
// word operations are atomic, since the guest's vCPUs change the same
// words at the same time.
//
// The model follows Xen with these simplifications: every port below
// NumPorts is valid (Xen grows its port table in buckets, so a closed port
// far beyond the highest one used can give -EINVAL where this gives a
// closed status or a successful unmask); there are no PIRQs, no
// Xen-attached (hypervisor-consumed) channels and no FIFO ABI; "privileged"
// stands for Xen's control domain in the default XSM policy (XSM_TARGET:
// the domain itself or a privileged caller; device-model targets are not
// modelled).
package evtchn

import (
	"errors"
	"fmt"
	"strconv"
	"sync"

	"tamavisor/xen"
)

// DomID is a domain id (domid_t, public/xen.h).
type DomID uint16

// DomIDSelf names the caller where an argument is a domid_t (DOMID_SELF);
// ids from DomIDFirstReserved up are not ordinary domains.
const (
	DomIDSelf          DomID = xen.DomIDSelf
	DomIDFirstReserved DomID = xen.DomIDFirstReserved
)

// Port is an event channel port (evtchn_port_t).
type Port uint32

// State is a channel's state as EVTCHNOP_status reports it (EVTCHNSTAT_*,
// public/event_channel.h). Xen's internal ECS_FREE and ECS_RESERVED (port
// 0) both report as StateClosed.
type State uint8

// EVTCHNSTAT_* values.
const (
	StateClosed      State = 0
	StateUnbound     State = 1
	StateInterdomain State = 2
	StatePIRQ        State = 3
	StateVIRQ        State = 4
	StateIPI         State = 5
)

var stateNames = [...]string{"closed", "unbound", "interdomain", "pirq", "virq", "ipi"}

// String returns Xen's name of s (the EVTCHNSTAT_ suffix).
func (s State) String() string {
	if int(s) < len(stateNames) {
		return stateNames[s]
	}
	return "State(" + strconv.Itoa(int(s)) + ")"
}

// Channel is one port's state.
type Channel struct {
	State State
	// Remote is, when unbound, the domain allowed to bind the port; when
	// interdomain, the peer domain.
	Remote DomID
	// RemotePort is the peer's port when interdomain.
	RemotePort Port
	// VIRQ is the bound VIRQ when the state is StateVIRQ.
	VIRQ uint32
	// VCPU is the vCPU the port notifies (notify_vcpu_id; 0 by default).
	VCPU uint32
}

// Delivery tells the caller what an operation did to a domain's vCPU.
// Dom and VCPU name the target whenever a port was notified.
type Delivery struct {
	Dom  DomID
	VCPU uint32
	// Upcall: the vCPU must receive an upcall (inject the callback). False
	// when the port is masked, the port or the selector word was already
	// pending, upcall_pending was already set, or evtchn_upcall_mask is
	// set.
	Upcall bool
	// Edge: a pending bit went 0→1; vCPUs of Dom blocked in SCHEDOP_poll
	// on that port (or on any port) must wake (evtchn_check_pollers), even
	// when Upcall is false.
	Edge bool
	// Port is the port that became pending.
	Port Port
}

// Error is a failed operation, carrying the Xen errno that the hypercall
// returns negated.
type Error struct {
	Op    string // EVTCHNOP_ name without prefix, or the method's name
	Errno int    // positive Xen errno (xen.EINVAL, ...)
	Msg   string
}

// Error returns "evtchn: op: msg (errno N)".
func (e *Error) Error() string {
	return "evtchn: " + e.Op + ": " + e.Msg + " (errno " + strconv.Itoa(e.Errno) + ")"
}

// Errno returns the positive Xen errno that err carries: 0 for nil, the
// Errno of an *Error, xen.EINVAL for any other error.
func Errno(err error) int {
	if err == nil {
		return 0
	}
	var e *Error
	if errors.As(err, &e) {
		return e.Errno
	}
	return xen.EINVAL
}

func errorf(op string, errno int, format string, args ...any) error {
	return &Error{Op: op, Errno: errno, Msg: fmt.Sprintf(format, args...)}
}

// MaxVCPUs bounds the vCPUs of one domain (tamavisor's limit).
const MaxVCPUs = 128

type vcpu struct {
	info       VCPUInfo
	registered bool           // info was set by SetVCPUInfo
	virq       [NumVIRQs]Port // virq_to_evtchn
}

type domain struct {
	id     DomID
	shared Shared
	priv   bool
	used   int // ports in use, port 0 not counted
	vcpus  []vcpu
	ports  [NumPorts]Channel
}

// System holds every domain's event channels. Its zero value is ready;
// it is safe for concurrent use (one mutex).
type System struct {
	mu   sync.Mutex
	doms map[DomID]*domain
	// globalVIRQ[v] is the handler domain of global VIRQ v when set;
	// Xen's default is the hardware domain, here domain 0.
	globalVIRQ    [NumVIRQs]DomID
	globalVIRQSet [NumVIRQs]bool
}

// AddDomain registers domain d with its shared_info page and vcpus vCPUs.
// vCPU v < 32 uses shared_info.vcpu_info[v]; later ones have none until
// SetVCPUInfo. Errors: -EINVAL for a reserved id, a nil page or a vCPU
// count outside 1..MaxVCPUs; -EEXIST if d is already registered.
func (s *System) AddDomain(d DomID, shared Shared, vcpus int) error {
	const op = "add_domain"
	if d >= DomIDFirstReserved {
		return errorf(op, xen.EINVAL, "domain id %#x is reserved", uint16(d))
	}
	if shared == nil {
		return errorf(op, xen.EINVAL, "domain %d: no shared_info page", d)
	}
	if vcpus < 1 || vcpus > MaxVCPUs {
		return errorf(op, xen.EINVAL, "domain %d: %d vCPUs (1..%d)", d, vcpus, MaxVCPUs)
	}
	dom := &domain{id: d, shared: shared, vcpus: make([]vcpu, vcpus)}
	for v := range dom.vcpus {
		dom.vcpus[v].info = DefaultVCPUInfo(shared, uint32(v))
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.doms == nil {
		s.doms = make(map[DomID]*domain)
	}
	if s.doms[d] != nil {
		return errorf(op, xen.EEXIST, "domain %d already exists", d)
	}
	s.doms[d] = dom
	return nil
}

// RemoveDomain closes all of d's ports and forgets d (evtchn_destroy). The
// peer of each inter-domain channel becomes unbound, reserved for d
// (evtchn_close: remote port → ECS_UNBOUND, remote_domid = the closing
// domain). d stops being a global VIRQ handler. d's own shared_info page is
// not written (it is on its way out). Unknown domains are ignored.
func (s *System) RemoveDomain(d DomID) {
	s.mu.Lock()
	defer s.mu.Unlock()
	dom := s.doms[d]
	if dom == nil {
		return
	}
	s.closeAll(dom, false)
	for v := range s.globalVIRQ {
		if s.globalVIRQSet[v] && s.globalVIRQ[v] == d {
			s.globalVIRQSet[v] = false
		}
	}
	delete(s.doms, d)
}

// SetPrivileged makes d a control domain (or not): it may then allocate
// unbound ports in, and read the status of, other domains. -ESRCH if d is
// unknown.
func (s *System) SetPrivileged(d DomID, priv bool) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	dom := s.doms[d]
	if dom == nil {
		return errorf("set_privileged", xen.ESRCH, "no domain %d", d)
	}
	dom.priv = priv
	return nil
}

// SetGlobalVIRQHandler makes d the domain that may bind, and receives,
// global VIRQ virq (set_global_virq_handler). Until set, the handler is
// domain 0 (Xen's hardware domain). -EINVAL if virq is not global, -ESRCH
// if d is unknown.
func (s *System) SetGlobalVIRQHandler(d DomID, virq uint32) error {
	const op = "set_global_virq_handler"
	if virq >= NumVIRQs || KindOfVIRQ(virq) != VIRQGlobal {
		return errorf(op, xen.EINVAL, "VIRQ %d is not global", virq)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.doms[d] == nil {
		return errorf(op, xen.ESRCH, "no domain %d", d)
	}
	s.globalVIRQ[virq], s.globalVIRQSet[virq] = d, true
	return nil
}

func (s *System) globalHandler(virq uint32) DomID {
	if s.globalVIRQSet[virq] {
		return s.globalVIRQ[virq]
	}
	return 0
}

// SetVCPUInfo moves vCPU v's vcpu_info of domain d to off in page
// (VCPUOP_register_vcpu_info), then, as Xen's map_vcpu_info does, sets
// every evtchn_pending_sel bit and marks events pending so that nothing is
// lost (the guest gets a spurious upcall). The caller has already copied the
// old vcpu_info into the new place (Xen's populate step). Errors: -ESRCH
// unknown domain, -ENOENT no such vCPU, -EINVAL nil page or an offset that
// is negative, not 8-aligned or leaves no room for 64 bytes in a 4 KiB
// page, -EBUSY already registered (no re-registration, as in Xen).
func (s *System) SetVCPUInfo(d DomID, v uint32, page Shared, off int) (Delivery, error) {
	const op = "register_vcpu_info"
	if page == nil || off < 0 || off&7 != 0 || off > 4096-VCPUInfoSize {
		return Delivery{}, errorf(op, xen.EINVAL, "bad vcpu_info place (offset %#x)", off)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	dom, err := s.domain(op, d)
	if err != nil {
		return Delivery{}, err
	}
	if int64(v) >= int64(len(dom.vcpus)) {
		return Delivery{}, errorf(op, xen.ENOENT, "domain %d has no vCPU %d", d, v)
	}
	vc := &dom.vcpus[v]
	if vc.registered {
		return Delivery{}, errorf(op, xen.EBUSY, "domain %d vCPU %d: vcpu_info already registered", d, v)
	}
	// Xen's populate step: the new place starts as a copy of the old.
	if old := vc.info; old.Page != nil {
		for i := 0; i < VCPUInfoSize; i += 8 {
			page.AndNot(off+i, ^uint64(0))
			page.Or(off+i, old.Page.Load(old.Off+i))
		}
	}
	vc.info, vc.registered = VCPUInfo{Page: page, Off: off}, true
	page.Or(off+VCPUInfoPendingSel, ^uint64(0))
	return Delivery{Dom: d, VCPU: v, Upcall: MarkEventsPending(vc.info)}, nil
}

// VCPUInfoOf returns where vCPU v of domain d has its vcpu_info.
func (s *System) VCPUInfoOf(d DomID, v uint32) (VCPUInfo, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	dom := s.doms[d]
	if dom == nil || int64(v) >= int64(len(dom.vcpus)) {
		return VCPUInfo{}, false
	}
	return dom.vcpus[v].info, true
}

// closeAll closes every open port of d (port 0 is never open), clearing
// the pending bits too when clearPending says so. The caller holds s.mu.
func (s *System) closeAll(d *domain, clearPending bool) {
	for p := Port(1); p < NumPorts && d.used > 0; p++ {
		if d.ports[p].State != StateClosed {
			s.close(d, p, clearPending)
		}
	}
}

// portOf returns domain d for an operation on its port p: -ESRCH for no
// such domain, -EINVAL for a port beyond NumPorts.
func (s *System) portOf(op string, d DomID, p Port) (*domain, error) {
	dom, err := s.domain(op, d)
	if err == nil && p >= NumPorts {
		err = errorf(op, xen.EINVAL, "port %d is out of range", p)
	}
	return dom, err
}

func (s *System) domain(op string, d DomID) (*domain, error) {
	if dom := s.doms[d]; dom != nil {
		return dom, nil
	}
	return nil, errorf(op, xen.ESRCH, "no domain %d", d)
}

func self(caller, d DomID) DomID {
	if d == DomIDSelf {
		return caller
	}
	return d
}

// permitted is XSM_TARGET in Xen's default policy (xsm/dummy.h,
// xsm_default_action): the domain itself, or a control domain.
func (s *System) permitted(caller DomID, target *domain) bool {
	if caller == target.id {
		return true
	}
	c := s.doms[caller]
	return c != nil && c.priv
}

// freePort returns d's lowest free port (get_free_port) or -ENOSPC.
func freePort(op string, d *domain) (Port, error) {
	if d.used < NumPorts-1 {
		for p := Port(1); p < NumPorts; p++ {
			if d.ports[p].State == StateClosed {
				return p, nil
			}
		}
	}
	return 0, errorf(op, xen.ENOSPC, "domain %d has no free port", d.id)
}

func (d *domain) bind(p Port, c Channel) {
	d.ports[p] = c
	d.used++
}

// notify makes port p of d pending for vCPU v (evtchn_port_set_pending).
func (d *domain) notify(p Port, v uint32) Delivery {
	dl := Delivery{Dom: d.id, VCPU: v, Port: p}
	var vi VCPUInfo
	if int64(v) < int64(len(d.vcpus)) {
		vi = d.vcpus[v].info
	}
	dl.Edge, dl.Upcall = SetPending(d.shared, vi, p)
	return dl
}

// AllocUnbound allocates a port in dom that domain remote may bind
// (EVTCHNOP_alloc_unbound). caller is the calling domain; dom and remote
// may be DOMID_SELF. remote need not exist (Xen does not check it). Errors
// in Xen's order: -ESRCH unknown dom, -ENOSPC no free port, -EPERM caller
// neither dom nor privileged.
func (s *System) AllocUnbound(caller, dom, remote DomID) (Port, error) {
	const op = "alloc_unbound"
	s.mu.Lock()
	defer s.mu.Unlock()
	d, err := s.domain(op, self(caller, dom))
	if err != nil {
		return 0, err
	}
	p, err := freePort(op, d)
	if err != nil {
		return 0, err
	}
	if !s.permitted(caller, d) {
		return 0, errorf(op, xen.EPERM, "domain %d may not allocate in domain %d", caller, d.id)
	}
	d.bind(p, Channel{State: StateUnbound, Remote: self(caller, remote)})
	return p, nil
}

// BindInterdomain connects a fresh port of caller to port remotePort of
// domain remote (EVTCHNOP_bind_interdomain), which must be unbound and
// reserved for caller; remote may be DOMID_SELF (loopback). Both ends
// become interdomain; the remote end keeps the vCPU it notifies. As Xen
// does ("we may have lost notifications on the remote unbound port"), the
// new local port is made pending: the returned Delivery is for caller.
// Errors in Xen's order: -ESRCH unknown domain, -ENOSPC no free local
// port, -EINVAL remote port out of range, not unbound, or not for caller.
func (s *System) BindInterdomain(caller, remote DomID, remotePort Port) (Port, Delivery, error) {
	const op = "bind_interdomain"
	s.mu.Lock()
	defer s.mu.Unlock()
	rd, err := s.domain(op, self(caller, remote))
	if err != nil {
		return 0, Delivery{}, err
	}
	ld, err := s.domain(op, caller)
	if err != nil {
		return 0, Delivery{}, err
	}
	lp, err := freePort(op, ld)
	if err != nil {
		return 0, Delivery{}, err
	}
	if remotePort >= NumPorts {
		return 0, Delivery{}, errorf(op, xen.EINVAL, "port %d of domain %d is out of range", remotePort, rd.id)
	}
	rc := &rd.ports[remotePort]
	if rc.State != StateUnbound || rc.Remote != ld.id {
		return 0, Delivery{}, errorf(op, xen.EINVAL, "port %d of domain %d is not unbound for domain %d", remotePort, rd.id, ld.id)
	}
	ld.bind(lp, Channel{State: StateInterdomain, Remote: rd.id, RemotePort: remotePort})
	*rc = Channel{State: StateInterdomain, Remote: ld.id, RemotePort: lp, VCPU: rc.VCPU}
	return lp, ld.notify(lp, 0), nil
}

// BindVIRQ binds a fresh port of caller to VIRQ virq on vCPU v
// (EVTCHNOP_bind_virq). Errors in Xen's order: -EINVAL virq >= NumVIRQs,
// or v != 0 for a VIRQ that is not per-vCPU; -ENOENT no such vCPU
// (-ESRCH no such domain); -EBUSY a global VIRQ whose handler is another
// domain; -EEXIST already bound on that vCPU; -ENOSPC no free port.
func (s *System) BindVIRQ(caller DomID, virq, v uint32) (Port, error) {
	const op = "bind_virq"
	if virq >= NumVIRQs {
		return 0, errorf(op, xen.EINVAL, "no VIRQ %d", virq)
	}
	kind := KindOfVIRQ(virq)
	if kind != VIRQPerVCPU && v != 0 {
		return 0, errorf(op, xen.EINVAL, "VIRQ %d binds on vCPU 0 only", virq)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	d, err := s.domain(op, caller)
	if err != nil {
		return 0, err
	}
	if int64(v) >= int64(len(d.vcpus)) {
		return 0, errorf(op, xen.ENOENT, "domain %d has no vCPU %d", d.id, v)
	}
	if kind == VIRQGlobal && s.globalHandler(virq) != d.id {
		return 0, errorf(op, xen.EBUSY, "global VIRQ %d is handled by domain %d", virq, s.globalHandler(virq))
	}
	if d.vcpus[v].virq[virq] != 0 {
		return 0, errorf(op, xen.EEXIST, "VIRQ %d already bound on vCPU %d (port %d)", virq, v, d.vcpus[v].virq[virq])
	}
	p, err := freePort(op, d)
	if err != nil {
		return 0, err
	}
	d.bind(p, Channel{State: StateVIRQ, VIRQ: virq, VCPU: v})
	d.vcpus[v].virq[virq] = p
	return p, nil
}

// BindIPI binds a fresh port of caller that notifies its vCPU v
// (EVTCHNOP_bind_ipi). Errors: -ENOENT no such vCPU, -ENOSPC.
func (s *System) BindIPI(caller DomID, v uint32) (Port, error) {
	const op = "bind_ipi"
	s.mu.Lock()
	defer s.mu.Unlock()
	d, err := s.domain(op, caller)
	if err != nil {
		return 0, err
	}
	if int64(v) >= int64(len(d.vcpus)) {
		return 0, errorf(op, xen.ENOENT, "domain %d has no vCPU %d", d.id, v)
	}
	p, err := freePort(op, d)
	if err != nil {
		return 0, err
	}
	d.bind(p, Channel{State: StateIPI, VCPU: v})
	return p, nil
}

// BindVCPU changes the vCPU that port p of caller notifies
// (EVTCHNOP_bind_vcpu): allowed for unbound and interdomain ports and for
// VIRQs that are not per-vCPU. Errors: -ENOENT no such vCPU, -EINVAL port
// out of range or of another kind (closed, IPI, per-vCPU VIRQ).
func (s *System) BindVCPU(caller DomID, p Port, v uint32) error {
	const op = "bind_vcpu"
	s.mu.Lock()
	defer s.mu.Unlock()
	d, err := s.domain(op, caller)
	if err != nil {
		return err
	}
	if int64(v) >= int64(len(d.vcpus)) {
		return errorf(op, xen.ENOENT, "domain %d has no vCPU %d", d.id, v)
	}
	if p >= NumPorts {
		return errorf(op, xen.EINVAL, "port %d is out of range", p)
	}
	c := &d.ports[p]
	switch {
	case c.State == StateUnbound, c.State == StateInterdomain,
		c.State == StateVIRQ && KindOfVIRQ(c.VIRQ) != VIRQPerVCPU:
		c.VCPU = v
		return nil
	}
	return errorf(op, xen.EINVAL, "port %d (%v) cannot move", p, c.State)
}

// Close closes port p of caller (EVTCHNOP_close). An inter-domain peer
// becomes unbound, reserved for caller; a VIRQ is unbound; the port's
// pending bit is cleared and it will notify vCPU 0 when reused. -EINVAL for
// a port out of range or closed (port 0 included).
func (s *System) Close(caller DomID, p Port) error {
	const op = "close"
	s.mu.Lock()
	defer s.mu.Unlock()
	d, err := s.portOf(op, caller, p)
	if err != nil {
		return err
	}
	if d.ports[p].State == StateClosed {
		return errorf(op, xen.EINVAL, "port %d of domain %d is not open", p, d.id)
	}
	s.close(d, p, true)
	return nil
}

// close frees the open port p of d (evtchn_close, evtchn_free).
func (s *System) close(d *domain, p Port, clearPending bool) {
	c := &d.ports[p]
	switch c.State {
	case StateVIRQ:
		v := uint32(0)
		if KindOfVIRQ(c.VIRQ) == VIRQPerVCPU {
			v = c.VCPU
		}
		if d.vcpus[v].virq[c.VIRQ] == p {
			d.vcpus[v].virq[c.VIRQ] = 0
		}
	case StateInterdomain:
		if rd := s.doms[c.Remote]; rd != nil {
			rc := &rd.ports[c.RemotePort]
			*rc = Channel{State: StateUnbound, Remote: d.id, VCPU: rc.VCPU}
		}
	}
	if clearPending {
		ClearPending(d.shared, p)
	}
	*c = Channel{}
	d.used--
}

// Send signals port p of caller (EVTCHNOP_send): an interdomain port makes
// the peer's port pending (for the vCPU the peer port notifies), an IPI
// port its own port; on an unbound port the event is silently dropped
// (success, no delivery). -EINVAL for any other port (closed, VIRQ, out of
// range).
func (s *System) Send(caller DomID, p Port) (Delivery, error) {
	const op = "send"
	s.mu.Lock()
	defer s.mu.Unlock()
	d, err := s.portOf(op, caller, p)
	if err != nil {
		return Delivery{}, err
	}
	c := d.ports[p]
	switch c.State {
	case StateInterdomain:
		rd := s.doms[c.Remote]
		return rd.notify(c.RemotePort, rd.ports[c.RemotePort].VCPU), nil
	case StateIPI:
		return d.notify(p, c.VCPU), nil
	case StateUnbound:
		return Delivery{}, nil
	}
	return Delivery{}, errorf(op, xen.EINVAL, "port %d of domain %d is %v", p, d.id, c.State)
}

// RaiseVIRQ delivers VIRQ virq to domain d: a per-vCPU VIRQ to the port
// bound on vCPU v (send_guest_vcpu_virq), any other VIRQ to the port bound
// on vCPU 0, for the vCPU that port notifies, v being ignored
// (send_guest_global_virq). bound is false, with nothing done, when no port
// is bound or d, virq or v does not exist.
func (s *System) RaiseVIRQ(d DomID, virq, v uint32) (dl Delivery, bound bool) {
	if virq >= NumVIRQs {
		return Delivery{}, false
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.raise(d, virq, v)
}

func (s *System) raise(d DomID, virq, v uint32) (Delivery, bool) {
	dom := s.doms[d]
	if dom == nil {
		return Delivery{}, false
	}
	if KindOfVIRQ(virq) != VIRQPerVCPU {
		v = 0
	}
	if int64(v) >= int64(len(dom.vcpus)) {
		return Delivery{}, false
	}
	p := dom.vcpus[v].virq[virq]
	if p == 0 {
		return Delivery{}, false
	}
	return dom.notify(p, dom.ports[p].VCPU), true
}

// SendGlobalVIRQ delivers global VIRQ virq to its handler domain
// (send_global_virq), as RaiseVIRQ does.
func (s *System) SendGlobalVIRQ(virq uint32) (Delivery, bool) {
	if virq >= NumVIRQs || KindOfVIRQ(virq) != VIRQGlobal {
		return Delivery{}, false
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.raise(s.globalHandler(virq), virq, 0)
}

// Unmask clears the mask bit of port p of caller and, if the port was
// masked and is pending, redoes the selector and upcall step for the vCPU
// the port notifies (EVTCHNOP_unmask, evtchn_2l_unmask). Any port below
// NumPorts is accepted, open or not, as in Xen. -EINVAL beyond.
func (s *System) Unmask(caller DomID, p Port) (Delivery, error) {
	const op = "unmask"
	s.mu.Lock()
	defer s.mu.Unlock()
	d, err := s.portOf(op, caller, p)
	if err != nil {
		return Delivery{}, err
	}
	v := d.ports[p].VCPU
	dl := Delivery{Dom: d.id, VCPU: v, Port: p}
	dl.Upcall = Unmask(d.shared, d.vcpus[v].info, p)
	return dl, nil
}

// Status returns port p of domain dom (EVTCHNOP_status); dom may be
// DOMID_SELF. Errors in Xen's order: -ESRCH unknown domain, -EINVAL port
// out of range, -EPERM caller neither dom nor privileged.
func (s *System) Status(caller, dom DomID, p Port) (Channel, error) {
	const op = "status"
	s.mu.Lock()
	defer s.mu.Unlock()
	d, err := s.portOf(op, self(caller, dom), p)
	if err != nil {
		return Channel{}, err
	}
	if !s.permitted(caller, d) {
		return Channel{}, errorf(op, xen.EPERM, "domain %d may not see domain %d", caller, d.id)
	}
	return d.ports[p], nil
}

// Pending reports whether port p of domain d is pending (SCHEDOP_poll's
// test, evtchn_port_is_pending); false for unknown domains and ports.
func (s *System) Pending(d DomID, p Port) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	dom := s.doms[d]
	if dom == nil {
		return false
	}
	return IsPending(dom.shared, p)
}
