package xenstore

import (
	"bytes"
	"encoding/binary"
	"errors"
	"testing"
)

// The numbers of io/xs_wire.h (enum xsd_sockmsg_type) and the table of
// docs/misc/xenstore.txt.
func TestTypeNumbers(t *testing.T) {
	want := []struct {
		typ  uint32
		num  uint32
		name string
	}{
		{TypeControl, 0, "CONTROL"}, {TypeDebug, 0, "CONTROL"},
		{TypeDirectory, 1, "DIRECTORY"}, {TypeRead, 2, "READ"},
		{TypeGetPerms, 3, "GET_PERMS"}, {TypeWatch, 4, "WATCH"},
		{TypeUnwatch, 5, "UNWATCH"}, {TypeTransactionStart, 6, "TRANSACTION_START"},
		{TypeTransactionEnd, 7, "TRANSACTION_END"}, {TypeIntroduce, 8, "INTRODUCE"},
		{TypeRelease, 9, "RELEASE"}, {TypeGetDomainPath, 10, "GET_DOMAIN_PATH"},
		{TypeWrite, 11, "WRITE"}, {TypeMkdir, 12, "MKDIR"}, {TypeRm, 13, "RM"},
		{TypeSetPerms, 14, "SET_PERMS"}, {TypeWatchEvent, 15, "WATCH_EVENT"},
		{TypeError, 16, "ERROR"}, {TypeIsDomainIntroduced, 17, "IS_DOMAIN_INTRODUCED"},
		{TypeResume, 18, "RESUME"}, {TypeSetTarget, 19, "SET_TARGET"},
		{TypeResetWatches, 21, "RESET_WATCHES"}, {TypeDirectoryPart, 22, "DIRECTORY_PART"},
		{TypeGetFeature, 23, "GET_FEATURE"}, {TypeSetFeature, 24, "SET_FEATURE"},
		{TypeGetQuota, 25, "GET_QUOTA"}, {TypeSetQuota, 26, "SET_QUOTA"},
	}
	for _, w := range want {
		if w.typ != w.num || !KnownType(w.typ) || TypeName(w.typ) != w.name {
			t.Errorf("%s: %d, known %v, name %q; want %d", w.name, w.typ, KnownType(w.typ), TypeName(w.typ), w.num)
		}
	}
	for _, bad := range []uint32{20, 27, 100, TypeInvalid, 0xffffffff} {
		if KnownType(bad) {
			t.Errorf("type %d known", bad)
		}
	}
	if HeaderSize != 16 || PayloadMax != 4096 || AbsPathMax != 3072 || RelPathMax != 2048 {
		t.Error("xs_wire.h sizes")
	}
}

func TestErrnos(t *testing.T) {
	names := []string{"EINVAL", "EACCES", "EEXIST", "EISDIR", "ENOENT", "ENOMEM",
		"ENOSPC", "EIO", "ENOTEMPTY", "ENOSYS", "EROFS", "EBUSY", "EAGAIN",
		"EISCONN", "E2BIG", "EPERM"}
	if len(Errnos) != len(names) {
		t.Fatalf("%d errnos", len(Errnos))
	}
	for i, e := range Errnos {
		if string(e) != names[i] {
			t.Errorf("Errnos[%d] = %s, want %s", i, e, names[i])
		}
		m := ErrorMsg(Msg{Type: TypeRead, ReqID: 7, TxID: 3}, e)
		if m.Type != TypeError || m.ReqID != 7 || m.TxID != 3 || string(m.Payload) != names[i]+"\x00" {
			t.Errorf("ErrorMsg(%s) = %v", e, m)
		}
		if ParseError(m.Payload) != e {
			t.Errorf("ParseError(%q)", m.Payload)
		}
	}
	if ParseError([]byte("EWHAT\x00")) != EINVAL {
		t.Error("unknown error name should read as EINVAL")
	}
}

func TestEncodeDecode(t *testing.T) {
	msgs := []Msg{
		{Type: TypeRead, ReqID: 1, TxID: 0, Payload: []byte("/a\x00")},
		{Type: TypeWrite, ReqID: 0xdeadbeef, TxID: 42, Payload: []byte("/a\x00value")},
		{Type: TypeTransactionStart, ReqID: 2, Payload: []byte{}},
		{Type: TypeWatchEvent, Payload: []byte("/a\x00tok\x00")},
		{Type: TypeWrite, ReqID: 3, Payload: bytes.Repeat([]byte("x"), PayloadMax)},
	}
	for _, m := range msgs {
		b := Encode(m)
		if len(b) != HeaderSize+len(m.Payload) {
			t.Fatalf("len %d", len(b))
		}
		// The header is struct xsd_sockmsg, little endian.
		if binary.LittleEndian.Uint32(b[0:]) != m.Type || binary.LittleEndian.Uint32(b[4:]) != m.ReqID ||
			binary.LittleEndian.Uint32(b[8:]) != m.TxID || binary.LittleEndian.Uint32(b[12:]) != uint32(len(m.Payload)) {
			t.Fatalf("header % x", b[:16])
		}
		for i := 0; i < len(b); i++ {
			if _, n, err := Decode(b[:i]); n != 0 || err != nil {
				t.Fatalf("prefix %d of %v: n=%d err=%v", i, m, n, err)
			}
		}
		got, n, err := Decode(append(b, 1, 2, 3))
		if err != nil || n != len(b) || got.Type != m.Type || got.ReqID != m.ReqID || got.TxID != m.TxID || !bytes.Equal(got.Payload, m.Payload) {
			t.Fatalf("Decode(%v) = %v, %d, %v", m, got, n, err)
		}
	}
}

func header(typ, length uint32) []byte {
	b := make([]byte, HeaderSize)
	binary.LittleEndian.PutUint32(b[0:], typ)
	binary.LittleEndian.PutUint32(b[4:], 9)
	binary.LittleEndian.PutUint32(b[12:], length)
	return b
}

func TestDecodeErrors(t *testing.T) {
	cases := []struct {
		name string
		buf  []byte
		want error
	}{
		{"len 4097", header(TypeWrite, PayloadMax+1), ErrPayloadTooLarge},
		{"len 2^32-1", header(TypeRead, 0xffffffff), ErrPayloadTooLarge},
		{"type 20 (XS_RESTRICT, removed)", header(20, 0), ErrUnknownType},
		{"type 27", header(27, 3), ErrUnknownType},
		{"XS_INVALID", header(TypeInvalid, 0), ErrUnknownType},
		{"len 4096 is fine", header(TypeWrite, PayloadMax), nil},
	}
	for _, c := range cases {
		_, n, err := Decode(c.buf)
		if !errors.Is(err, c.want) || n != 0 {
			t.Errorf("%s: n=%d err=%v, want %v", c.name, n, err, c.want)
		}
	}
}

func TestReader(t *testing.T) {
	msgs := []Msg{
		{Type: TypeWrite, ReqID: 1, Payload: []byte("/a\x00b")},
		{Type: TypeRead, ReqID: 2, TxID: 5, Payload: []byte("/a\x00")},
		{Type: TypeTransactionStart, ReqID: 3, Payload: []byte{}},
		{Type: TypeWrite, ReqID: 4, Payload: bytes.Repeat([]byte("y"), PayloadMax)},
		{Type: TypeDirectory, ReqID: 5, Payload: []byte("/\x00")},
	}
	var stream []byte
	for _, m := range msgs {
		stream = append(stream, Encode(m)...)
	}
	for _, chunk := range []int{1, 3, 16, 17, 1000, RingSize, len(stream)} {
		var r Reader
		var got []Msg
		for off := 0; off < len(stream); off += chunk {
			end := min(off+chunk, len(stream))
			if need := r.Need(); need <= 0 {
				t.Fatalf("chunk %d: Need() = %d with a message pending", chunk, need)
			}
			if _, err := r.Write(stream[off:end]); err != nil {
				t.Fatal(err)
			}
			for {
				m, ok, err := r.Next()
				if err != nil {
					t.Fatal(err)
				}
				if !ok {
					break
				}
				got = append(got, m)
			}
		}
		if len(got) != len(msgs) || r.Buffered() != 0 || r.Need() != HeaderSize {
			t.Fatalf("chunk %d: %d messages, %d buffered, need %d", chunk, len(got), r.Buffered(), r.Need())
		}
		for i := range got {
			if got[i].Type != msgs[i].Type || got[i].ReqID != msgs[i].ReqID || got[i].TxID != msgs[i].TxID || !bytes.Equal(got[i].Payload, msgs[i].Payload) {
				t.Fatalf("chunk %d: message %d = %v, want %v", chunk, i, got[i], msgs[i])
			}
		}
	}

	// Need counts down to a whole message.
	var r Reader
	b := Encode(msgs[0])
	r.Write(b[:10])
	if r.Need() != 6 {
		t.Fatalf("need %d, want 6", r.Need())
	}
	r.Write(b[10:17])
	if r.Need() != len(b)-17 {
		t.Fatalf("need %d, want %d", r.Need(), len(b)-17)
	}

	// A protocol error breaks the stream for good.
	for _, bad := range [][]byte{header(TypeWrite, PayloadMax+1), header(20, 0)} {
		var r Reader
		r.Write(Encode(msgs[1]))
		r.Write(bad)
		if m, ok, err := r.Next(); !ok || err != nil || m.ReqID != 2 {
			t.Fatalf("first message: %v %v %v", m, ok, err)
		}
		if _, ok, err := r.Next(); ok || err == nil {
			t.Fatalf("bad header accepted: %v %v", ok, err)
		}
		if _, err := r.Write(Encode(msgs[0])); err == nil || r.Err() == nil {
			t.Fatal("write after error accepted")
		}
		if _, _, err := r.Next(); err == nil {
			t.Fatal("error not sticky")
		}
		r.Reset()
		r.Write(Encode(msgs[0]))
		if _, ok, err := r.Next(); !ok || err != nil {
			t.Fatalf("after Reset: %v %v", ok, err)
		}
	}
}
