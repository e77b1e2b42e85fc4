//go:build tamago

package guest

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"time"

	"tamavisor/domains/board"
	"tamavisor/xen"
	"tamavisor/xen/ring"
	"tamavisor/xen/xenstore"
)

// Store is a XenStore client over the domain's store ring (io/xs_wire.h):
// the page HVM_PARAM_STORE_PFN names and the event channel
// HVM_PARAM_STORE_EVTCHN; the privileged domain serves it.
type Store struct {
	ev    *EventChannels
	port  Port
	rings ring.Duplex
	mu    sync.Mutex
	next  uint32
	in    xenstore.Reader
	buf   []byte // a ring's worth of replies, read per request
}

// OpenStore connects to the domain's XenStore.
func OpenStore(ev *EventChannels) (*Store, error) {
	pfn, err := HVMParam(xen.HVMParamStorePFN)
	if err != nil {
		return nil, err
	}
	port, err := HVMParam(xen.HVMParamStoreEvtchn)
	if err != nil {
		return nil, err
	}
	if pfn == 0 || port == 0 {
		return nil, errors.New("guest: this domain has no XenStore (no privileged domain serves one)")
	}
	page, err := ring.NewPage(board.PagesAt(uintptr(pfn<<12), 1))
	if err != nil {
		return nil, err
	}
	d, err := ring.StoreGuest(page)
	if err != nil {
		return nil, err
	}
	return &Store{ev: ev, port: Port(port), rings: d, next: 1}, nil
}

// StoreTimeout bounds how long a request waits for its reply.
var StoreTimeout = 5 * time.Second

// request sends one message and returns the reply's payload, or the store's
// error (an xenstore.Errno such as ENOENT).
func (s *Store) request(typ uint32, payload []byte) ([]byte, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	id := s.next
	s.next++
	msg := xenstore.Encode(xenstore.Msg{Type: typ, ReqID: id, Payload: payload})
	deadline := time.Now().Add(StoreTimeout)
	for len(msg) > 0 {
		n, err := s.rings.Write(msg)
		if err != nil {
			return nil, fmt.Errorf("guest: store ring: %w", err)
		}
		msg = msg[n:]
		if err := s.ev.Send(s.port); err != nil {
			return nil, err
		}
		if len(msg) > 0 {
			if time.Now().After(deadline) {
				return nil, ErrTimeout
			}
			s.ev.Wait(s.port, 10*time.Millisecond)
		}
	}
	if s.buf == nil {
		s.buf = make([]byte, xenstore.RingSize)
	}
	buf := s.buf
	for {
		for {
			m, ok, err := s.in.Next()
			if err != nil {
				return nil, fmt.Errorf("guest: store replies: %w", err)
			}
			if !ok {
				break
			}
			switch {
			case m.Type == xenstore.TypeWatchEvent:
				// This client sets no watches; an event is none of
				// its business (keeping them would grow for ever).
			case m.ReqID != id:
				// a reply to a request that timed out: drop it
			case m.Type == xenstore.TypeError:
				return nil, xenstore.ParseError(m.Payload)
			default:
				return m.Payload, nil
			}
		}
		n, err := s.rings.Read(buf)
		if err != nil {
			return nil, fmt.Errorf("guest: store ring: %w", err)
		}
		if n > 0 {
			s.in.Write(buf[:n])
			s.ev.Send(s.port) // space freed for the server
			continue
		}
		if time.Now().After(deadline) {
			return nil, ErrTimeout
		}
		s.ev.Wait(s.port, 10*time.Millisecond)
	}
}

// Read returns the value of a key (relative paths are relative to
// /local/domain/<this domain>).
func (s *Store) Read(path string) (string, error) {
	b, err := s.request(xenstore.TypeRead, append([]byte(path), 0))
	return string(b), err
}

// Write sets a key's value, creating it and its parents.
func (s *Store) Write(path, value string) error {
	_, err := s.request(xenstore.TypeWrite, append(append([]byte(path), 0), value...))
	return err
}

// Directory lists a node's children.
func (s *Store) Directory(path string) ([]string, error) {
	b, err := s.request(xenstore.TypeDirectory, append([]byte(path), 0))
	if err != nil {
		return nil, err
	}
	return strings.FieldsFunc(string(b), func(r rune) bool { return r == 0 }), nil
}

// Remove deletes a node and everything below it.
func (s *Store) Remove(path string) error {
	_, err := s.request(xenstore.TypeRm, append([]byte(path), 0))
	return err
}

// SetPerms sets a node's permissions: the first names the owner and the
// default access ("n5": domain 5 owns it, others have none), the others grant
// access to particular domains ("r7": domain 7 may read).
func (s *Store) SetPerms(path string, perms ...string) error {
	p := append([]byte(path), 0)
	for _, x := range perms {
		p = append(append(p, x...), 0)
	}
	_, err := s.request(xenstore.TypeSetPerms, p)
	return err
}

// GetDomainPath returns /local/domain/<id>.
func (s *Store) GetDomainPath(id DomID) (string, error) {
	b, err := s.request(xenstore.TypeGetDomainPath, append([]byte(fmt.Sprint(id)), 0))
	return strings.TrimRight(string(b), "\x00"), err
}

// WaitRead reads a key, retrying while it does not exist yet, until timeout.
func (s *Store) WaitRead(path string, timeout time.Duration) (string, error) {
	deadline := time.Now().Add(timeout)
	for {
		v, err := s.Read(path)
		if err == nil || !errors.Is(err, xenstore.Errno("ENOENT")) || time.Now().After(deadline) {
			return v, err
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// DomID returns this domain's id, as the store knows it (the relative key
// "domid" that the privileged domain writes for every domain).
func (s *Store) DomID() (DomID, error) {
	v, err := s.Read("domid")
	if err != nil {
		return 0, err
	}
	n, err := strconv.ParseUint(v, 10, 16)
	if err != nil {
		return 0, fmt.Errorf("guest: domid %q: %w", v, err)
	}
	return DomID(n), nil
}

// Rendezvous is where two domains that share only a tag meet: keys
// /rendezvous/<tag>-<name>, in the directory dom0 opens to every domain.
// Each end publishes numbers (domain ids, ports, grant references) and
// awaits the other's. The keys sit directly in that directory, owned by
// whoever made them: a directory per tag would be owned by the end that
// wrote first, and go, with every key in it, when that end's domain ended.
type Rendezvous struct {
	Store *Store
	Tag   string
}

// Key returns the path of a rendezvous key.
func (r Rendezvous) Key(name string) string { return "/rendezvous/" + r.Tag + "-" + name }

// Publish writes numbers under a key, separated by spaces.
func (r Rendezvous) Publish(name string, v ...uint64) error {
	s := make([]string, len(v))
	for i, x := range v {
		s[i] = strconv.FormatUint(x, 10)
	}
	return r.Store.Write(r.Key(name), strings.Join(s, " "))
}

// Expect creates a key the other end (domain from) will publish, empty and
// owned by this domain, with read and write access for from; call it before
// the other end can publish (it empties the key). A key goes
// with the domain that owns it (the store removes a released domain's
// nodes, as xenstored does): a key the other end created itself could be
// gone, its domain ended, before this end reads it. Await waits for a
// value in it.
func (r Rendezvous) Expect(name string, from DomID) error {
	me, err := r.Store.DomID()
	if err != nil {
		return err
	}
	if err := r.Store.Write(r.Key(name), ""); err != nil {
		return err
	}
	return r.Store.SetPerms(r.Key(name), fmt.Sprintf("n%d", me), fmt.Sprintf("b%d", from))
}

// Await reads a key's numbers, waiting up to timeout for the other end to
// write it (a key still empty, made by Expect, is not written yet).
func (r Rendezvous) Await(name string, timeout time.Duration) ([]uint64, error) {
	deadline := time.Now().Add(timeout)
	v, err := r.Store.WaitRead(r.Key(name), timeout)
	for err == nil && v == "" && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
		v, err = r.Store.Read(r.Key(name))
	}
	if err == nil && v == "" {
		return nil, fmt.Errorf("guest: %s is still empty after %v", r.Key(name), timeout)
	}
	if err != nil {
		return nil, err
	}
	var out []uint64
	for _, s := range strings.Fields(v) {
		n, err := strconv.ParseUint(s, 10, 64)
		if err != nil {
			return nil, fmt.Errorf("guest: %s = %q: not numbers", r.Key(name), v)
		}
		out = append(out, n)
	}
	return out, nil
}

// Done reports whether a key exists yet, without waiting.
func (r Rendezvous) Done(name string) bool {
	_, err := r.Store.Read(r.Key(name))
	return err == nil
}
