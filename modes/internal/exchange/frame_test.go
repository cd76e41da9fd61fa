package exchange

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/spindle-yarn/spindle/modes/operator"
)

func TestRecordRoundTrip(t *testing.T) {
	recs := []operator.Record{
		{Key: []byte("k"), Value: []byte("v")},
		{},
		{Key: bytes.Repeat([]byte("x"), 300)},
		{Value: bytes.Repeat([]byte("y"), 70000)},
	}
	var b []byte
	for _, r := range recs {
		n := len(b)
		b = appendRecord(b, r)
		if len(b)-n != recordSize(r) {
			t.Errorf("recordSize %d, encoded %d", recordSize(r), len(b)-n)
		}
	}
	if err := checkRecords(b); err != nil {
		t.Fatal(err)
	}
	var got []operator.Record
	for len(b) > 0 {
		r, rest, err := nextRecord(b)
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, r)
		b = rest
	}
	if diff := cmp.Diff(recs, got); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}

func TestHelloRoundTrip(t *testing.T) {
	h := hello{version: protocolVersion, id: GateID{Job: "application_1_0001/job-7", Attempt: 3, Edge: 2, Consumer: 31}, producer: 1 << 20}
	got, err := decodeHello(h.append(nil))
	if err != nil {
		t.Fatal(err)
	}
	if got != h {
		t.Errorf("got %+v, want %+v", got, h)
	}
	old := h
	old.version = 2
	if _, err := decodeHello(old.append(nil)); !errors.Is(err, ErrProtocol) {
		t.Errorf("another version: %v, want ErrProtocol", err)
	}
}

func TestReadFrameLimits(t *testing.T) {
	for _, tc := range []struct {
		name string
		in   []byte
		want error
	}{
		{"too long", []byte{0x01, 0, 0, 0, frameData}, ErrProtocol},
		{"empty", []byte{0, 0, 0, 0, frameData}, ErrProtocol},
		{"truncated payload", []byte{0, 0, 0, 9, frameData, 1, 2}, io.ErrUnexpectedEOF},
		{"truncated header", []byte{0, 0}, io.ErrUnexpectedEOF},
	} {
		_, _, err := readFrame(bufio.NewReader(bytes.NewReader(tc.in)), 1<<20)
		if !errors.Is(err, tc.want) {
			t.Errorf("%s: %v, want %v", tc.name, err, tc.want)
		}
	}
	typ, p, err := readFrame(bufio.NewReader(bytes.NewReader(appendFrame(nil, frameAbort, []byte("why")))), maxControlFrame)
	if err != nil || typ != frameAbort || string(p) != "why" {
		t.Errorf("readFrame: %d %q %v", typ, p, err)
	}
}

// FuzzFrames feeds arbitrary bytes to the decoders a consumer runs on
// what a producer sends (and a producer on the consumer's answers): they
// must return an error, never panic, and never allocate past the frame
// limit; every data payload they accept must decode record by record.
func FuzzFrames(f *testing.F) {
	h := hello{version: protocolVersion, id: GateID{Job: "j", Attempt: 1, Edge: 2, Consumer: 3}, producer: 4}
	var seed []byte
	seed = appendFrame(seed, frameHello, h.append(nil))
	var data []byte
	data = appendRecord(data, operator.Record{Key: []byte("k"), Value: []byte("value")})
	data = appendRecord(data, operator.Record{})
	seed = appendFrame(seed, frameData, data)
	seed = appendFrame(seed, frameEnd, nil)
	f.Add(seed)
	f.Add(appendFrame(nil, frameRefuse, append([]byte{refuseNotOpen}, "not open"...)))
	f.Add(appendFrame(nil, frameAbort, []byte("boom")))
	f.Add([]byte{0, 0, 0, 3, frameData, 0x80, 0x80})
	f.Add([]byte{0xff, 0xff, 0xff, 0xff, frameData})
	f.Fuzz(func(t *testing.T, in []byte) {
		r := bufio.NewReader(bytes.NewReader(in))
		for {
			typ, payload, err := readFrame(r, 1<<16)
			if err != nil {
				return
			}
			if len(payload) >= 1<<16 {
				t.Fatalf("payload of %d bytes past the limit", len(payload))
			}
			switch typ {
			case frameHello:
				if h, err := decodeHello(payload); err == nil {
					if len(h.id.Job) > maxJobLen {
						t.Fatalf("accepted a job id of %d bytes", len(h.id.Job))
					}
				}
			case frameData:
				if checkRecords(payload) != nil {
					continue
				}
				var total int
				for b := payload; len(b) > 0; {
					rec, rest, err := nextRecord(b)
					if err != nil {
						t.Fatalf("checked payload fails to decode: %v", err)
					}
					total += len(rec.Key) + len(rec.Value)
					b = rest
				}
				if total > len(payload) {
					t.Fatalf("records of %d bytes from a payload of %d", total, len(payload))
				}
			}
		}
	})
}
