package xenstore

import (
	"bytes"
	"errors"
	"strings"
	"testing"
)

// FuzzDecode: Decode never panics; what it takes re-encodes to the same
// bytes; the Reader, fed the same bytes in pieces, yields the same messages
// and fails where Decode fails.
func FuzzDecode(f *testing.F) {
	f.Add(Encode(Msg{Type: TypeWrite, ReqID: 1, Payload: []byte("/a\x00v")}))
	f.Add(append(Encode(Msg{Type: TypeRead, ReqID: 2, Payload: []byte("/a\x00")}), Encode(Msg{Type: TypeDirectory, TxID: 3})...))
	f.Add(header(TypeWrite, PayloadMax+1))
	f.Add(header(20, 0))
	f.Add([]byte{1, 2, 3})
	f.Fuzz(func(t *testing.T, data []byte) {
		var want []Msg
		var wantErr error
		for rest := data; ; {
			m, n, err := Decode(rest)
			if err != nil {
				if n != 0 || !(errors.Is(err, ErrPayloadTooLarge) || errors.Is(err, ErrUnknownType)) {
					t.Fatalf("n=%d err=%v", n, err)
				}
				wantErr = err
				break
			}
			if n == 0 {
				break
			}
			if n != HeaderSize+len(m.Payload) || len(m.Payload) > PayloadMax || !KnownType(m.Type) {
				t.Fatalf("n=%d for %v", n, m)
			}
			if !bytes.Equal(Encode(m), rest[:n]) {
				t.Fatalf("re-encoding %v differs", m)
			}
			want = append(want, m)
			rest = rest[n:]
		}
		// Pieces of sizes taken from the data itself.
		var r Reader
		var got []Msg
		var gotErr error
		for off, i := 0, 0; off < len(data) && gotErr == nil; i++ {
			size := 1 + int(data[i%len(data)])%37
			end := min(off+size, len(data))
			r.Write(data[off:end])
			off = end
			for {
				m, ok, err := r.Next()
				if err != nil {
					gotErr = err
					break
				}
				if !ok {
					break
				}
				got = append(got, m)
			}
		}
		if (gotErr == nil) != (wantErr == nil) || len(got) != len(want) {
			t.Fatalf("Reader: %d messages, err %v; Decode: %d, err %v", len(got), gotErr, len(want), wantErr)
		}
		for i := range got {
			if !bytes.Equal(Encode(got[i]), Encode(want[i])) {
				t.Fatalf("message %d: %v, want %v", i, got[i], want[i])
			}
		}
	})
}

// Vocabulary for FuzzStore payloads: paths good and bad, values, permissions,
// domids, transaction verdicts, quota names.
var fuzzWords = []string{
	"/", "/a", "/a/b", "/a/b/c", "a", "a/b", "b", "/local/domain/1", "/local/domain/2/x",
	"/local/domain", "/tool", "@introduceDomain", "@releaseDomain", "", "/a/", "a b", "//",
	"/local/domain/1/a/b/c/d/e", "x", "v", strings.Repeat("v", 2100), strings.Repeat("p/", 300) + "q",
	"n0", "r1", "b2", "w1", "n1", "r2", "x9", "1", "2", "3", "0", "9", "32752", "abc", "-1",
	"T", "F", "nodes", "watches", "transactions", "transaction-nodes", "node-size", "tok", "tok2",
}

var fuzzTypes = []uint32{
	TypeRead, TypeWrite, TypeWrite, TypeWrite, TypeMkdir, TypeRm, TypeDirectory, TypeDirectoryPart,
	TypeGetPerms, TypeSetPerms, TypeSetPerms, TypeWatch, TypeWatch, TypeUnwatch, TypeTransactionStart,
	TypeTransactionStart, TypeTransactionEnd, TypeTransactionEnd, TypeIntroduce, TypeRelease, TypeResume,
	TypeSetTarget, TypeIsDomainIntroduced, TypeGetDomainPath, TypeResetWatches, TypeGetQuota, TypeSetQuota,
	TypeControl, TypeWatchEvent, TypeError, TypeGetFeature, 20, 27, TypeInvalid,
}

// FuzzStore runs request sequences from several connections (dom0; dom1
// twice; dom2; dom3, never introduced) and checks that nothing panics, that
// every reply carries its request's req_id and tx_id, that events are well
// formed, and that the tree stays consistent.
func FuzzStore(f *testing.F) {
	f.Add([]byte{0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17})
	f.Add([]byte{1, 14, 0, 2, 4, 20, 1, 1, 1, 1, 0, 0, 3, 16, 1, 2, 38})
	f.Add(bytes.Repeat([]byte{2, 3, 1, 7, 9}, 20))
	f.Add([]byte("\x00\x13\x00\x02\x1e\x1c\x00\x00\x01\x00\x01\x00\x01\x01\x09\x00\x01\x00\x1e\x10"))
	f.Fuzz(func(t *testing.T, data []byte) {
		s := NewStore()
		doms := []uint16{0, 1, 1, 2, 3}
		conns := make([]*Conn, len(doms))
		for i, d := range doms {
			conns[i] = s.Connect(d, d == 0)
		}
		if err := s.Introduce(1); err != nil {
			t.Fatal(err)
		}
		if err := s.Introduce(2); err != nil {
			t.Fatal(err)
		}
		next := func() byte {
			if len(data) == 0 {
				return 0
			}
			b := data[0]
			data = data[1:]
			return b
		}
		txs := make([][]uint32, len(conns)) // transaction ids seen per connection
		var reqID uint32
		for steps := 0; len(data) > 0 && steps < 200; steps++ {
			ci := int(next()) % len(conns)
			op := next()
			switch op % 16 {
			case 14: // drain a connection's events
				for _, ev := range conns[ci].Pending() {
					checkEvent(t, ev)
				}
				continue
			case 15: // reconnect
				s.Disconnect(conns[ci])
				conns[ci] = s.Connect(doms[ci], doms[ci] == 0)
				txs[ci] = nil
				continue
			}
			typ := fuzzTypes[int(next())%len(fuzzTypes)]
			var tx uint32
			switch b := next(); {
			case b%4 == 1 && len(txs[ci]) > 0:
				tx = txs[ci][int(b/4)%len(txs[ci])]
			case b%4 == 2:
				tx = uint32(b / 4)
			}
			var payload []byte
			nwords := int(next()) % 5
			for i := 0; i < nwords; i++ {
				payload = append(payload, fuzzWords[int(next())%len(fuzzWords)]...)
				payload = append(payload, 0)
			}
			if op&0x80 != 0 && len(payload) > 0 {
				payload = payload[:len(payload)-1] // no final NUL
			}
			reqID++
			req := Msg{Type: typ, ReqID: reqID, TxID: tx, Payload: payload}
			out := conns[ci].Handle(req)
			checkReplies(t, req, out)
			checkInvariants(t, s)
			if typ == TypeTransactionStart && out[0].Type == typ {
				var id uint32
				for _, c := range bytes.TrimSuffix(out[0].Payload, []byte{0}) {
					id = id*10 + uint32(c-'0')
				}
				txs[ci] = append(txs[ci], id)
			}
		}
		for _, c := range conns {
			for _, ev := range c.Pending() {
				checkEvent(t, ev)
			}
		}
		checkInvariants(t, s)
	})
}
