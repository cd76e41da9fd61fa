package testbed

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	krbclient "github.com/jcmturner/gokrb5/v8/client"
	krbconfig "github.com/jcmturner/gokrb5/v8/config"
	"github.com/jcmturner/gokrb5/v8/keytab"
	"github.com/jcmturner/gokrb5/v8/spnego"
)

// KerberosClient logs user (alice or bob) in from the keytab the test bed
// made. The caller owns the client and calls Destroy when done.
func (tb *TestBed) KerberosClient(user string) (*krbclient.Client, error) {
	k := tb.Ready.Kerberos
	if k == nil {
		return nil, errNoKerberos
	}
	path, ok := k.Users[user]
	if !ok {
		return nil, fmt.Errorf("testbed: no keytab for user %q (have %v)", user, keys(k.Users))
	}
	kt, err := keytab.Load(path)
	if err != nil {
		return nil, fmt.Errorf("testbed: keytab %s: %w", path, err)
	}
	cfg, err := krbconfig.Load(k.KRB5Conf)
	if err != nil {
		return nil, fmt.Errorf("testbed: %s: %w", k.KRB5Conf, err)
	}
	cl := krbclient.NewWithKeytab(user, k.Realm, kt, cfg, krbclient.DisablePAFXFAST(true))
	if err := cl.Login(); err != nil {
		return nil, fmt.Errorf("testbed: kerberos login of %s: %w", user, err)
	}
	return cl, nil
}

func keys(m map[string]string) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}

// HTTPClient talks to the test bed's web endpoints as user: with SPNEGO in
// Kerberos mode (user "" means alice), with ?user.name= otherwise (user ""
// means anonymous). The zero value is an anonymous client without SPNEGO.
type HTTPClient struct {
	user   string
	plain  *http.Client
	spnego *spnego.Client
}

// HTTPClient returns a client for the RM and NameNode web endpoints.
func (tb *TestBed) HTTPClient(user string) (*HTTPClient, error) {
	hc := &HTTPClient{user: user, plain: &http.Client{Timeout: 30 * time.Second}}
	if tb.Ready.Kerberos == nil {
		return hc, nil
	}
	if user == "" {
		user = "alice"
	}
	cl, err := tb.KerberosClient(user)
	if err != nil {
		return nil, err
	}
	spn := strings.SplitN(tb.Ready.Kerberos.HTTPPrincipal, "@", 2)[0]
	hc.spnego = spnego.NewClient(cl, hc.plain, spn)
	return hc, nil
}

// Get performs a GET and returns the status and body.
func (hc *HTTPClient) Get(ctx context.Context, rawURL string) (int, []byte, error) {
	u, err := url.Parse(rawURL)
	if err != nil {
		return 0, nil, err
	}
	if hc.spnego == nil && hc.user != "" {
		q := u.Query()
		q.Set("user.name", hc.user)
		u.RawQuery = q.Encode()
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return 0, nil, err
	}
	req.Header.Set("Accept", "application/json")
	var resp *http.Response
	if hc.spnego != nil {
		resp, err = hc.spnego.Do(req)
	} else if hc.plain != nil {
		resp, err = hc.plain.Do(req)
	} else {
		resp, err = (&http.Client{Timeout: 30 * time.Second}).Do(req)
	}
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return resp.StatusCode, b, err
}

// GetJSON performs a GET, requires 200 and decodes the JSON body into v.
func (hc *HTTPClient) GetJSON(ctx context.Context, rawURL string, v any) error {
	code, body, err := hc.Get(ctx, rawURL)
	if err != nil {
		return err
	}
	if code != http.StatusOK {
		return fmt.Errorf("GET %s: HTTP %d: %.200s", rawURL, code, body)
	}
	if err := json.Unmarshal(body, v); err != nil {
		return fmt.Errorf("GET %s: %w", rawURL, err)
	}
	return nil
}
