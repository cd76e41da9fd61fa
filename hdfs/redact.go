package hdfs

import (
	"encoding/json"
	"fmt"
	"log/slog"

	"github.com/spindle-yarn/spindle/internal/redact"
)

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
