//go:build integration

package integration

import (
	"fmt"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/spindle-yarn/spindle/hdfs"
	"github.com/spindle-yarn/spindle/integration/testbed"
	"github.com/spindle-yarn/spindle/modes"
	"github.com/spindle-yarn/spindle/yarn"
)

// TestServiceManyPrincipals (Kerberos bed): one process, a Go service
// using modes.Deploy, deploys wordcount twenty times at once: for alice
// and bob with their own keytab logins, and for carol as a proxy user of
// the service principal. Every application runs as its user, stages in
// that user's home, reads that user's input and writes output that user
// owns, and every delegation token in its containers' launch contexts is
// that user's (carol's with the service as real user): the logins share
// nothing.
func TestServiceManyPrincipals(t *testing.T) {
	tb := testbed.RequireKerberos(t)
	k := tb.Ready.Kerberos
	ctx := testContext(t, 8*time.Minute)
	svc, err := yarn.LoginKeytab(ctx, k.ServicePrincipal, filepath.Join(filepath.Dir(k.KRB5Conf), "hadoop.keytab"), k.KRB5Conf)
	if err != nil {
		t.Fatal(err)
	}
	defer svc.Close()
	logins := map[string]*yarn.Identity{}
	for _, u := range []string{"alice", "bob"} {
		id, err := yarn.LoginKeytab(ctx, u+"@"+k.Realm, k.Users[u], k.KRB5Conf)
		if err != nil {
			t.Fatal(err)
		}
		defer id.Close()
		logins[u] = id
	}
	hcfg, err := hdfs.LoadConfig(tb.Ready.ConfDir)
	if err != nil {
		t.Fatal(err)
	}
	client := func(id *yarn.Identity, proxy string) *hdfs.Client {
		if proxy != "" {
			id = id.WithProxyUser(proxy)
		}
		return newStagingClient(t, hcfg.WithIdentity(id))
	}
	// carol has no home on the bed: the superuser (the service principal)
	// makes one she can write (this client has no chown).
	root := client(svc, "")
	if err := root.MkdirAll(ctx, "/user/carol", 0o777); err != nil {
		t.Fatal(err)
	}
	if err := root.Chmod(ctx, "/user/carol", 0o777); err != nil {
		t.Fatal(err)
	}

	users := []string{"alice", "bob", "carol"}
	want := map[string]map[string]int64{}
	inputs := map[string]string{}
	for _, u := range users {
		var c *hdfs.Client
		if u == "carol" {
			c = client(svc, "carol")
		} else {
			c = client(logins[u], "")
		}
		in := fmt.Sprintf("/user/%s/service-in-%d", u, time.Now().UnixNano())
		text := strings.Repeat(u+" deploys words\n", 50)
		w, err := c.Create(ctx, in+"/text.txt", hdfs.CreateOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := w.Write([]byte(text)); err != nil {
			t.Fatal(err)
		}
		if err := closeRetrying(ctx, w); err != nil {
			t.Fatal(err)
		}
		inputs[u] = in
		want[u] = map[string]int64{u: 50, "deploys": 50, "words": 50}
	}

	const n = 20
	type outcome struct {
		user, out string
		d         *modes.Deployment
		rep       yarn.ApplicationReport
		err       error
	}
	results := make([]outcome, n)
	var wg sync.WaitGroup
	start := time.Now()
	for i := range n {
		u := users[i%len(users)]
		wg.Add(1)
		go func() {
			defer wg.Done()
			o := &results[i]
			o.user = u
			o.out = fmt.Sprintf("/user/%s/service-out-%d-%d", u, time.Now().UnixNano(), i)
			req := modes.DeployRequest{
				Binary: wordcountBinary(t), Args: []string{"-input", inputs[u], "-output", o.out, "-restarts", "1"},
				Name: fmt.Sprintf("service-%s-%d", u, i), JobManagerMemoryMB: 128, TaskManagerMemoryMB: 256,
				Slots: 2, Parallelism: 1, HadoopConfDir: tb.Ready.ConfDir, ClientLease: time.Minute,
			}
			if u == "carol" {
				req.Identity, req.ProxyUser = svc, "carol"
			} else {
				req.Identity = logins[u]
			}
			o.d, o.err = modes.Deploy(ctx, req)
			if o.err != nil {
				return
			}
			o.rep, o.err = o.d.Wait(ctx)
		}()
	}
	wg.Wait()
	t.Logf("%d deployments for alice, bob and carol (proxied) from one process: %.1f s", n, time.Since(start).Seconds())

	for i, o := range results {
		if o.err != nil {
			t.Errorf("deployment %d (%s): %v", i, o.user, o.err)
			continue
		}
		defer o.d.Close()
		if o.d.User != o.user || o.rep.User != o.user {
			t.Errorf("%s (%s's): staged as %q, runs as %q", o.d.ID, o.user, o.d.User, o.rep.User)
		}
		if !strings.HasPrefix(o.d.StagingDir, "/user/"+o.user+"/.spindle/") {
			t.Errorf("%s (%s's) staged in %s", o.d.ID, o.user, o.d.StagingDir)
		}
		if o.rep.State != yarn.ApplicationFinished || o.rep.FinalStatus != yarn.FinalSucceeded {
			t.Errorf("%s (%s's) ended %s/%s: %s", o.d.ID, o.user, o.rep.State, o.rep.FinalStatus, o.rep.Diagnostics)
			continue
		}
		checkWordcountOutput(t, tb, o.out, want[o.user])
		st, err := root.Stat(ctx, o.out)
		if err != nil || st.Owner != o.user {
			t.Errorf("%s's output %s: owner %q, err %v", o.user, o.out, st.Owner, err)
		}
		// Every delegation token any of its containers was launched with
		// belongs to its user.
		seen := 0
		for _, files := range containerFiles(tb, o.d.ID.String()) {
			for _, f := range files {
				if !strings.HasSuffix(f, ".tokens") {
					continue
				}
				creds, err := yarn.ReadCredentialsFile(f)
				if err != nil {
					t.Errorf("%s: %v", f, err)
					continue
				}
				for _, tok := range creds.TokensByKind(yarn.KindHDFSDelegationToken) {
					id, err := tok.DelegationIdentifier()
					if err != nil {
						t.Errorf("%s: %v", f, err)
						continue
					}
					seen++
					real := ""
					if o.user == "carol" {
						real = "hadoop"
					}
					if hdfs.ShortName(id.Owner) != o.user || hdfs.ShortName(id.RealUser) != real {
						t.Errorf("%s (%s's) launched a container with a token of owner %q, real user %q", o.d.ID, o.user, id.Owner, id.RealUser)
					}
				}
			}
		}
		if seen == 0 {
			t.Errorf("%s: no HDFS delegation token found in its containers' token files", o.d.ID)
		}
	}
}
