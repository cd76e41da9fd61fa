package clienttoam

import (
	"bytes"
	"testing"
)

// FuzzParseAuthorization feeds the header parser whatever a client may
// send: it must never panic, and what it accepts formats back to a value
// it reads the same.
func FuzzParseAuthorization(f *testing.F) {
	f.Add(FormatAuthorization(Identifier{Attempt: attempt, ClientName: "alice@EXAMPLE.COM"}.Bytes(), bytes.Repeat([]byte{7}, 32)))
	f.Add("SpindleClientToAM id=, proof=")
	f.Add("SpindleClientToAM proof=AAAA,id=AAAA")
	f.Add("Basic YWxpY2U6cHc=")
	f.Fuzz(func(t *testing.T, h string) {
		id, proof, err := ParseAuthorization(h)
		if err != nil {
			return
		}
		id2, proof2, err := ParseAuthorization(FormatAuthorization(id, proof))
		if err != nil || !bytes.Equal(id, id2) || !bytes.Equal(proof, proof2) {
			t.Fatalf("round trip of %q: %v", h, err)
		}
	})
}

// FuzzParseIdentifier decodes arbitrary identifier bytes: no panic, and
// an accepted identifier re-encodes to one that decodes the same.
func FuzzParseIdentifier(f *testing.F) {
	f.Add(Identifier{Attempt: attempt, ClientName: "alice@EXAMPLE.COM"}.Bytes())
	f.Add([]byte{0x0a, 0x00, 0x12, 0x00})
	f.Add([]byte{0x0a, 0x05, 0x0a, 0x03, 0x08, 0x07, 0x10})
	f.Fuzz(func(t *testing.T, b []byte) {
		id, err := ParseIdentifier(b)
		if err != nil {
			return
		}
		again, err := ParseIdentifier(id.Bytes())
		if err != nil || again != id {
			t.Fatalf("%x: %+v re-decoded as %+v, %v", b, id, again, err)
		}
	})
}
