package xenstore

import (
	"encoding/binary"
	"errors"
	"fmt"
	"tamavisor/xen"
)

// Message types (io/xs_wire.h, enum xsd_sockmsg_type). The numbers are also
// tabulated in docs/misc/xenstore.txt, "Defined Xenstore message types".
const (
	TypeControl            uint32 = 0 // XS_CONTROL; XS_DEBUG is its deprecated alias
	TypeDebug              uint32 = 0
	TypeDirectory          uint32 = 1
	TypeRead               uint32 = 2
	TypeGetPerms           uint32 = 3
	TypeWatch              uint32 = 4
	TypeUnwatch            uint32 = 5
	TypeTransactionStart   uint32 = 6
	TypeTransactionEnd     uint32 = 7
	TypeIntroduce          uint32 = 8
	TypeRelease            uint32 = 9
	TypeGetDomainPath      uint32 = 10
	TypeWrite              uint32 = 11
	TypeMkdir              uint32 = 12
	TypeRm                 uint32 = 13
	TypeSetPerms           uint32 = 14
	TypeWatchEvent         uint32 = 15 // only from the store
	TypeError              uint32 = 16 // only from the store
	TypeIsDomainIntroduced uint32 = 17
	TypeResume             uint32 = 18
	TypeSetTarget          uint32 = 19
	// 20 was XS_RESTRICT; it has been removed and the value is invalid
	// (xs_wire.h: XS_RESET_WATCHES = XS_SET_TARGET + 2).
	TypeResetWatches  uint32 = 21
	TypeDirectoryPart uint32 = 22
	TypeGetFeature    uint32 = 23
	TypeSetFeature    uint32 = 24
	TypeGetQuota      uint32 = 25
	TypeSetQuota      uint32 = 26

	// TypeCount is XS_TYPE_COUNT, one more than the highest valid type.
	TypeCount uint32 = 27
	// TypeInvalid is XS_INVALID, guaranteed never to be a valid type.
	TypeInvalid uint32 = 0xffff
)

// Sizes and limits (io/xs_wire.h).
const (
	// HeaderSize is sizeof(struct xsd_sockmsg): four uint32 fields, type,
	// req_id, tx_id and len, in the byte order of the domains (little
	// endian on x86).
	HeaderSize = 16
	// PayloadMax is XENSTORE_PAYLOAD_MAX, the limit on len in both
	// directions; xenstored drops a client that exceeds it.
	PayloadMax = 4096
	// AbsPathMax is XENSTORE_ABS_PATH_MAX.
	AbsPathMax = 3072
	// RelPathMax is XENSTORE_REL_PATH_MAX.
	RelPathMax = 2048
	// RingSize is XENSTORE_RING_SIZE, the size of each of the two rings
	// (req and rsp) of struct xenstore_domain_interface.
	RingSize = 1024
)

// Domain ids with a special meaning (public/xen.h).
const (
	DomIDFirstReserved = xen.DomIDFirstReserved
	DomIDSelf          = xen.DomIDSelf
)

var typeNames = [...]string{
	"CONTROL", "DIRECTORY", "READ", "GET_PERMS", "WATCH", "UNWATCH",
	"TRANSACTION_START", "TRANSACTION_END", "INTRODUCE", "RELEASE",
	"GET_DOMAIN_PATH", "WRITE", "MKDIR", "RM", "SET_PERMS", "WATCH_EVENT",
	"ERROR", "IS_DOMAIN_INTRODUCED", "RESUME", "SET_TARGET", "",
	"RESET_WATCHES", "DIRECTORY_PART", "GET_FEATURE", "SET_FEATURE",
	"GET_QUOTA", "SET_QUOTA",
}

// KnownType reports whether t is a message type that xs_wire.h defines
// (and has not withdrawn): 0-19 and 21-26.
func KnownType(t uint32) bool {
	return t < TypeCount && typeNames[t] != ""
}

// TypeName returns the name of a message type without its XS_ prefix, as
// xenstore.txt writes it ("WRITE"), or a placeholder for an unknown type.
func TypeName(t uint32) string {
	if KnownType(t) {
		return typeNames[t]
	}
	return fmt.Sprintf("UNKNOWN(%d)", t)
}

// Msg is one message: struct xsd_sockmsg and its payload. On the wire the
// header's len field is len(Payload).
type Msg struct {
	Type    uint32
	ReqID   uint32 // echoed in the reply; 0 in watch events
	TxID    uint32 // 0 outside a transaction; 0 in watch events
	Payload []byte
}

func (m Msg) String() string {
	return fmt.Sprintf("%s req=%d tx=%d %q", TypeName(m.Type), m.ReqID, m.TxID, m.Payload)
}

// Errors from Decode and Reader. Either one means the stream cannot be
// trusted any more: xenstored drops a client that sends too long a payload
// (xenstore.txt, XENSTORE_PAYLOAD_MAX).
var (
	ErrPayloadTooLarge = errors.New("xenstore: payload longer than XENSTORE_PAYLOAD_MAX")
	ErrUnknownType     = errors.New("xenstore: unknown message type")
)

// Encode returns the wire form of m: the 16-byte header (little endian)
// followed by the payload. It does not check the payload length; the store
// never produces a payload longer than PayloadMax.
func Encode(m Msg) []byte {
	b := make([]byte, HeaderSize+len(m.Payload))
	binary.LittleEndian.PutUint32(b[0:], m.Type)
	binary.LittleEndian.PutUint32(b[4:], m.ReqID)
	binary.LittleEndian.PutUint32(b[8:], m.TxID)
	binary.LittleEndian.PutUint32(b[12:], uint32(len(m.Payload)))
	copy(b[HeaderSize:], m.Payload)
	return b
}

// Decode decodes the first message of buf, a possibly incomplete stream.
// It returns the message and the number of bytes it took. When buf does not
// yet hold a whole message it returns n == 0 and a nil error: feed it more.
// A header whose len exceeds PayloadMax or whose type KnownType rejects is an
// error (wrapping ErrPayloadTooLarge or ErrUnknownType) as soon as the header
// is complete, without waiting for the payload. The payload is copied.
func Decode(buf []byte) (m Msg, n int, err error) {
	if len(buf) < HeaderSize {
		return Msg{}, 0, nil
	}
	typ := binary.LittleEndian.Uint32(buf[0:])
	length := binary.LittleEndian.Uint32(buf[12:])
	if length > PayloadMax {
		return Msg{}, 0, fmt.Errorf("%w: len %d > %d (type %s)", ErrPayloadTooLarge, length, PayloadMax, TypeName(typ))
	}
	if !KnownType(typ) {
		return Msg{}, 0, fmt.Errorf("%w: %d", ErrUnknownType, typ)
	}
	total := HeaderSize + int(length)
	if len(buf) < total {
		return Msg{}, 0, nil
	}
	m = Msg{
		Type:    typ,
		ReqID:   binary.LittleEndian.Uint32(buf[4:]),
		TxID:    binary.LittleEndian.Uint32(buf[8:]),
		Payload: make([]byte, length),
	}
	copy(m.Payload, buf[HeaderSize:total])
	return m, total, nil
}

// Reader reassembles messages from a byte stream that arrives in pieces, as
// it does from a store ring. Write the bytes as they come; call Next until it
// reports no message. The first protocol error (a payload longer than
// PayloadMax, an unknown type) is sticky: the connection is then broken and
// every later call returns it. The zero Reader is ready to use.
type Reader struct {
	buf []byte
	off int
	err error
}

// Write appends p to the stream. It fails only when the stream is already
// broken.
func (r *Reader) Write(p []byte) (int, error) {
	if r.err != nil {
		return 0, r.err
	}
	if r.off > 0 && r.off == len(r.buf) {
		r.buf, r.off = r.buf[:0], 0
	} else if r.off > 0 && r.off >= cap(r.buf)/2 {
		n := copy(r.buf, r.buf[r.off:])
		r.buf, r.off = r.buf[:n], 0
	}
	r.buf = append(r.buf, p...)
	return len(p), nil
}

// Next returns the next whole message. ok is false, with a nil error, when
// the buffered bytes do not yet hold one.
func (r *Reader) Next() (m Msg, ok bool, err error) {
	if r.err != nil {
		return Msg{}, false, r.err
	}
	m, n, err := Decode(r.buf[r.off:])
	if err != nil {
		r.err = err
		return Msg{}, false, err
	}
	if n == 0 {
		return Msg{}, false, nil
	}
	r.off += n
	if r.off == len(r.buf) {
		r.buf, r.off = r.buf[:0], 0
	}
	return m, true, nil
}

// Buffered returns the number of bytes written but not yet returned as
// messages.
func (r *Reader) Buffered() int { return len(r.buf) - r.off }

// Need returns how many more bytes complete the message being assembled: the
// rest of the header, or the rest of the payload once the header is known
// (0 if a whole message is already buffered, or the stream is broken).
func (r *Reader) Need() int {
	if r.err != nil {
		return 0
	}
	b := r.buf[r.off:]
	if len(b) < HeaderSize {
		return HeaderSize - len(b)
	}
	total := HeaderSize + int(binary.LittleEndian.Uint32(b[12:]))
	if total > HeaderSize+PayloadMax || len(b) >= total {
		return 0
	}
	return total - len(b)
}

// Err returns the error that broke the stream, if any.
func (r *Reader) Err() error { return r.err }

// Reset discards buffered bytes and any error.
func (r *Reader) Reset() { *r = Reader{buf: r.buf[:0]} }

// Errno is an error reply: the name of an errno value, which is what goes on
// the wire (io/xs_wire.h, struct xsd_errors; xenstore.txt, "ERROR").
type Errno string

func (e Errno) Error() string { return "xenstore: " + string(e) }

// The errors of the xsd_errors table (io/xs_wire.h), in its order.
const (
	EINVAL    Errno = "EINVAL"
	EACCES    Errno = "EACCES"
	EEXIST    Errno = "EEXIST"
	EISDIR    Errno = "EISDIR"
	ENOENT    Errno = "ENOENT"
	ENOMEM    Errno = "ENOMEM"
	ENOSPC    Errno = "ENOSPC"
	EIO       Errno = "EIO"
	ENOTEMPTY Errno = "ENOTEMPTY"
	ENOSYS    Errno = "ENOSYS"
	EROFS     Errno = "EROFS"
	EBUSY     Errno = "EBUSY"
	EAGAIN    Errno = "EAGAIN"
	EISCONN   Errno = "EISCONN"
	E2BIG     Errno = "E2BIG"
	EPERM     Errno = "EPERM"
)

// Errnos lists the xsd_errors table in order.
var Errnos = []Errno{EINVAL, EACCES, EEXIST, EISDIR, ENOENT, ENOMEM, ENOSPC,
	EIO, ENOTEMPTY, ENOSYS, EROFS, EBUSY, EAGAIN, EISCONN, E2BIG, EPERM}

// ErrorMsg builds the reply to req that reports e: type XS_ERROR, req_id
// and tx_id copied from the request, payload the name and a NUL.
func ErrorMsg(req Msg, e Errno) Msg {
	return Msg{Type: TypeError, ReqID: req.ReqID, TxID: req.TxID, Payload: append([]byte(e), 0)}
}

// ParseError returns the errno named by the payload of an XS_ERROR reply.
// Like libxenstore's get_error, a name not in the table reads as EINVAL.
func ParseError(payload []byte) Errno {
	s := string(payload)
	if i := indexNUL(payload); i >= 0 {
		s = s[:i]
	}
	for _, e := range Errnos {
		if string(e) == s {
			return e
		}
	}
	return EINVAL
}

func indexNUL(b []byte) int {
	for i, c := range b {
		if c == 0 {
			return i
		}
	}
	return -1
}
