package hdfs

import (
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"

	"github.com/spindle-yarn/spindle/internal/redact"
)

// Format prints String (GoString for %#v) whatever the verb: %d or %x
// would otherwise print the password's bytes.
func (t Token) Format(f fmt.State, verb rune) { redact.Format(f, verb, t.String(), t.GoString()) }

// MarshalJSON encodes the kind, the service, the identifier's size and
// digest and the password's length, so that a Token, or a Config holding
// one, can be logged as JSON. It is not a way to store or send a token.
func (t Token) MarshalJSON() ([]byte, error) {
	return json.Marshal(struct {
		Kind            string `json:"kind"`
		Service         string `json:"service"`
		IdentifierBytes int    `json:"identifierBytes"`
		Identifier      string `json:"identifier"`
		Password        string `json:"password"`
	}{t.Kind, t.Service, len(t.Identifier), redact.Digest(t.Identifier), redact.Bytes(len(t.Password))})
}

// UnmarshalJSON refuses: the JSON form of a Token has no password. JSON
// null leaves t as it is.
func (t *Token) UnmarshalJSON(b []byte) error {
	if string(b) == "null" {
		return nil
	}
	return errors.New("hdfs: a Token's JSON form has no password and cannot be decoded")
}

// String, GoString, Format, LogValue and MarshalJSON show a Client as its
// file system, never its tokens or Kerberos credentials, which fmt would
// otherwise print from its unexported fields.
func (c *Client) String() string {
	if c == nil {
		return "<nil>"
	}
	return "hdfs.Client{" + c.authority + "}"
}

func (c *Client) GoString() string              { return "&" + c.String() }
func (c *Client) Format(f fmt.State, verb rune) { redact.Format(f, verb, c.String(), c.GoString()) }
func (c *Client) LogValue() slog.Value          { return slog.StringValue(c.String()) }
func (c *Client) MarshalJSON() ([]byte, error)  { return json.Marshal(c.String()) }
