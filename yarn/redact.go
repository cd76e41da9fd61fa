package yarn

import (
	"encoding/json"
	"fmt"
	"log/slog"
	"strings"

	"github.com/spindle-yarn/spindle/internal/redact"
)

// Formatting of the values that hold secrets, beside Token's and
// Credentials' own methods. A value holding a Token or Credentials in an
// exported field needs nothing: fmt, slog and encoding/json use the
// token's methods. What needs methods here is a secret in a plain []byte
// (a master key, auxiliary service data), a URL that may carry a password,
// and the clients, whose tokens sit in unexported fields that fmt would
// print byte by byte.

// Format prints the response as fmt would, except ClientToAMTokenMasterKey,
// a secret key shown only by its length.
func (r AMRegistrationResponse) Format(f fmt.State, verb rune) {
	redact.Struct(f, verb, r, registrationSecrets)
}

// MarshalJSON encodes the response without ClientToAMTokenMasterKey's
// bytes.
func (r AMRegistrationResponse) MarshalJSON() ([]byte, error) {
	return redact.StructJSON(r, registrationSecrets)
}

var registrationSecrets = redact.Hide{"ClientToAMTokenMasterKey": redact.Len}

// Format prints the launch context as fmt would, except the values of
// ServiceData, which auxiliary services use for secrets (the MapReduce
// shuffle's job token), shown only by their lengths; Credentials print as
// Credentials.String does.
func (c ContainerLaunchContext) Format(f fmt.State, verb rune) {
	redact.Struct(f, verb, c, launchContextSecrets)
}

// MarshalJSON encodes the launch context without ServiceData's values or
// the credentials' passwords and keys.
func (c ContainerLaunchContext) MarshalJSON() ([]byte, error) {
	return redact.StructJSON(c, launchContextSecrets)
}

var launchContextSecrets = redact.Hide{"ServiceData": redact.Len}

// Format prints the resource as fmt would, with the password of a URL
// such as "s3a://key:secret@bucket/f" replaced by "xxxxx".
func (r LocalResource) Format(f fmt.State, verb rune) {
	redact.Struct(f, verb, r, localResourceSecrets)
}

// MarshalJSON encodes the resource with its URL's password replaced.
func (r LocalResource) MarshalJSON() ([]byte, error) {
	return redact.StructJSON(r, localResourceSecrets)
}

var localResourceSecrets = redact.Hide{"URL": redact.URL}

// clientText is how a client shows in fmt, slog and JSON: its type and
// nothing of what it holds (tokens, Kerberos credentials).
func clientText(typ string, detail string) string {
	if detail == "" {
		return "yarn." + typ + "{…}"
	}
	return "yarn." + typ + "{" + detail + "}"
}

// String, GoString, Format, LogValue and MarshalJSON show a client by its
// type (the RESTClient also by its RMs' web addresses), never what it
// holds: fmt would print the tokens in its unexported fields byte by byte.
func (c *AMClient) String() string                  { return clientText("AMClient", "") }
func (c *AMClient) GoString() string                { return "&" + c.String() }
func (c *AMClient) Format(f fmt.State, verb rune)   { redact.Format(f, verb, c.String(), c.GoString()) }
func (c *AMClient) LogValue() slog.Value            { return slog.StringValue(c.String()) }
func (c *AMClient) MarshalJSON() ([]byte, error)    { return json.Marshal(c.String()) }
func (c *NMClient) String() string                  { return clientText("NMClient", "") }
func (c *NMClient) GoString() string                { return "&" + c.String() }
func (c *NMClient) Format(f fmt.State, verb rune)   { redact.Format(f, verb, c.String(), c.GoString()) }
func (c *NMClient) LogValue() slog.Value            { return slog.StringValue(c.String()) }
func (c *NMClient) MarshalJSON() ([]byte, error)    { return json.Marshal(c.String()) }
func (c *RMClient) String() string                  { return clientText("RMClient", "") }
func (c *RMClient) GoString() string                { return "&" + c.String() }
func (c *RMClient) Format(f fmt.State, verb rune)   { redact.Format(f, verb, c.String(), c.GoString()) }
func (c *RMClient) LogValue() slog.Value            { return slog.StringValue(c.String()) }
func (c *RMClient) MarshalJSON() ([]byte, error)    { return json.Marshal(c.String()) }
func (c *RESTClient) GoString() string              { return "&" + c.String() }
func (c *RESTClient) Format(f fmt.State, verb rune) { redact.Format(f, verb, c.String(), c.GoString()) }
func (c *RESTClient) LogValue() slog.Value          { return slog.StringValue(c.String()) }
func (c *RESTClient) MarshalJSON() ([]byte, error)  { return json.Marshal(c.String()) }

// String names the client's ResourceManagers' web addresses.
func (c *RESTClient) String() string {
	if c == nil {
		return "<nil>"
	}
	webs := make([]string, len(c.rms))
	for i, rm := range c.rms {
		webs[i] = rm.Web
	}
	return clientText("RESTClient", strings.Join(webs, " "))
}

// Format prints Error, whose URL has its password replaced, whatever the
// verb; %#v would otherwise print the URL as given.
func (e *URLError) Format(f fmt.State, verb rune) {
	redact.Format(f, verb, e.Error(), fmt.Sprintf("&yarn.URLError{URL:%q, Reason:%q}", redact.URLString(e.URL), e.Reason))
}

// MarshalJSON encodes the error with its URL's password replaced.
func (e *URLError) MarshalJSON() ([]byte, error) {
	return json.Marshal(struct{ URL, Reason string }{redact.URLString(e.URL), e.Reason})
}
