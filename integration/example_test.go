//go:build integration

package integration

import (
	"context"
	"fmt"
	"log"
	"os"
	"path/filepath"
	"time"

	"github.com/jcmturner/gokrb5/v8/client"
	"github.com/jcmturner/gokrb5/v8/config"
	"github.com/jcmturner/gokrb5/v8/keytab"

	"github.com/spindle-yarn/spindle/hdfs"
	"github.com/spindle-yarn/spindle/yarn"
)

// Load the cluster's configuration, stage a script, run it as a
// one-container application, wait for it, and clean up: the README's
// "getting started", run on the test bed (HADOOP_CONF_DIR points at it).
//
// A plain command as the ApplicationMaster never registers with the
// ResourceManager, so YARN marks the application FAILED whatever the
// command's exit status; WaitForCompletion reports that status. Programs
// that register (examples/dshell, package modes) end FINISHED/SUCCEEDED.
func Example_gettingStarted() {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	ycfg, err := yarn.LoadConfig("") // "" reads $HADOOP_CONF_DIR
	if err != nil {
		log.Fatal(err)
	}
	hcfg, err := hdfs.LoadConfig("")
	if err != nil {
		log.Fatal(err)
	}
	ycfg.User, hcfg.User = "alice", "alice"
	if ycfg.Kerberos != nil { // a secure cluster: log in once, give both clients the login
		kc := keytabLogin("alice", filepath.Join(os.Getenv("HADOOP_CONF_DIR"), "alice.keytab"))
		defer kc.Destroy()
		ycfg.Kerberos.Client, hcfg.Kerberos.Client = kc, kc
	}
	rm, err := yarn.NewRMClient(ycfg)
	if err != nil {
		log.Fatal(err)
	}
	defer rm.Close()
	fs, err := hdfs.NewClient(hcfg)
	if err != nil {
		log.Fatal(err)
	}
	defer fs.Close()

	script := filepath.Join(os.TempDir(), "spindle-hello.sh")
	if err := os.WriteFile(script, []byte("echo hello from $CONTAINER_ID\nexit 3\n"), 0o644); err != nil {
		log.Fatal(err)
	}
	id, _, err := rm.NewApplication(ctx)
	if err != nil {
		log.Fatal(err)
	}
	// One-off files: APPLICATION visibility, removed with the staging directory.
	st, err := fs.Stage(ctx, id.String(), []hdfs.Dependency{{Local: script, Visibility: hdfs.VisibilityApplication}}, hdfs.StageOptions{})
	if err != nil {
		fs.RemoveStaging(ctx, id.String())
		log.Fatal(err)
	}
	creds := &yarn.Credentials{}
	if ycfg.Kerberos != nil { // containers reach HDFS with delegation tokens only
		toks, err := fs.DelegationTokens(ctx)
		if err != nil {
			fs.RemoveStaging(ctx, id.String())
			log.Fatal(err)
		}
		for _, tok := range toks {
			creds.AddToken(tok.Service, yarn.Token(tok))
		}
	}
	line, err := yarn.Command{ // runs exactly this argv, whatever its quotes and $
		Args:   yarn.LiteralArgs("sh", "spindle-hello.sh"),
		Stdout: yarn.LogFile("stdout"), Stderr: yarn.LogFile("stderr"),
	}.Line()
	if err != nil {
		log.Fatal(err)
	}
	err = rm.Submit(ctx, &yarn.ApplicationSubmission{
		ID: id, Name: "getting-started", Queue: "default",
		AMResource: yarn.Resource{MemoryMB: 128, VCores: 1}, MaxAttempts: 1,
		AM: yarn.ContainerLaunchContext{
			LocalResources: yarn.LocalResourcesFromStaging(st),
			Credentials:    creds,
			Commands:       []string{line},
		},
	})
	if err != nil {
		fs.RemoveStaging(ctx, id.String())
		log.Fatal(err)
	}
	done, err := rm.WaitForCompletion(ctx, id)
	if err := fs.RemoveStaging(ctx, id.String()); err != nil {
		log.Print(err)
	}
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("state:", done.Report.State)
	fmt.Println("AM exit status:", done.AMExitStatus)
	// Output:
	// state: FAILED
	// AM exit status: 3
}

// keytabLogin logs user in from a keytab, with the krb5.conf beside it.
func keytabLogin(user, keytabPath string) *client.Client {
	kt, err := keytab.Load(keytabPath)
	if err != nil {
		log.Fatal(err)
	}
	conf, err := config.Load(filepath.Join(filepath.Dir(keytabPath), "krb5.conf"))
	if err != nil {
		log.Fatal(err)
	}
	kc := client.NewWithKeytab(user, conf.LibDefaults.DefaultRealm, kt, conf, client.DisablePAFXFAST(true))
	if err := kc.Login(); err != nil {
		log.Fatal(err)
	}
	return kc
}
