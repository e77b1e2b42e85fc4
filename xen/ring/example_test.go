package ring_test

import (
	"encoding/binary"
	"fmt"

	"tamavisor/xen/ring"
)

// A front end and a back end on one page exchange a request and its
// response. In a real split driver each end maps the page in its own domain
// and sends an event when Push* says so.
func Example() {
	page, _ := ring.NewPage(make([]byte, ring.PageSize))
	const slot = 16 // max(sizeof(request), sizeof(response))

	front, _ := ring.NewFront(page, slot)
	front.Init() // SHARED_RING_INIT: only the front end does it
	back, _ := ring.NewBack(page, slot)

	req, _ := front.NextRequest()
	binary.LittleEndian.PutUint64(req, 42) // id
	if front.PushRequests() {
		fmt.Println("front: notify the back end")
	}

	// The back end works on a private copy of the request.
	r, ok, err := back.NextRequest()
	if !ok || err != nil { // err wraps ring.ErrBroken: disconnect
		return
	}
	id := binary.LittleEndian.Uint64(r)
	rsp := back.NextResponse()
	binary.LittleEndian.PutUint64(rsp, id)
	binary.LittleEndian.PutUint32(rsp[8:], 0) // status
	if back.PushResponses() {
		fmt.Println("back: notify the front end")
	}
	if more, _ := back.FinalCheckForRequests(); !more {
		fmt.Println("back: sleep until the next event")
	}

	r, ok, _ = front.NextResponse()
	fmt.Println("front: response", ok, binary.LittleEndian.Uint64(r), "slots", front.Size(), "free", front.Free())
	// Output:
	// front: notify the back end
	// back: notify the front end
	// back: sleep until the next event
	// front: response true 42 slots 128 free 128
}
