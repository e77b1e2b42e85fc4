package xenstore_test

import (
	"fmt"

	"tamavisor/xen/xenstore"
)

func Example() {
	s := xenstore.NewStore()
	dom0 := s.Connect(0, true)
	if err := s.Introduce(3); err != nil {
		panic(err)
	}
	guest := s.Connect(3, false)

	// dom0 watches the guest's device directory: the reply, then the
	// event every new watch fires once.
	for _, m := range dom0.Handle(xenstore.Msg{Type: xenstore.TypeWatch, ReqID: 1, Payload: []byte("/local/domain/3/device\x00be\x00")}) {
		fmt.Printf("to dom0: %v\n", m)
	}

	// The guest writes, with a path relative to /local/domain/3.
	for _, m := range guest.Handle(xenstore.Msg{Type: xenstore.TypeWrite, ReqID: 7, Payload: []byte("device/vif/0/state\x004")}) {
		fmt.Printf("to dom3: %v\n", m)
	}
	for _, m := range dom0.Pending() {
		fmt.Printf("to dom0: %v\n", m)
	}
	for _, m := range guest.Handle(xenstore.Msg{Type: xenstore.TypeRead, ReqID: 8, Payload: []byte("/tool/xenstored\x00")}) {
		fmt.Printf("to dom3: %v\n", m)
	}
	// Output:
	// to dom0: WATCH req=1 tx=0 "OK\x00"
	// to dom0: WATCH_EVENT req=0 tx=0 "/local/domain/3/device\x00be\x00"
	// to dom3: WRITE req=7 tx=0 "OK\x00"
	// to dom0: WATCH_EVENT req=0 tx=0 "/local/domain/3/device/vif/0/state\x00be\x00"
	// to dom3: ERROR req=8 tx=0 "EACCES\x00"
}
