// Command deployprobe is a Spindle program in miniature for the
// integration tests (integration/deploy_test.go): its client side is the
// real one (cli.RunFlags, deploy.Login, deploy.Deploy, Follow), and when
// YARN starts it as the JobManager it checks what the client sent instead
// of running jobs: it reads the cluster spec and the deployment secret,
// registers with the ResourceManager with a tracking URL serving a fixed
// /api/status, and unregisters SUCCEEDED with a summary in the
// diagnostics:
//
//	probe: mode=application args=[-x y] secret=32 bytes hdfs_tokens=0 graph=0 bytes config=k=v resources=program
//
// With -D probe.hang=true it stays registered until it is killed.
//
//	deployprobe run -t yarn-application|yarn-per-job [run flags] [-binary FILE] [program args]
//	deployprobe attach [-keytab K -principal P] APPLICATION_ID
//	deployprobe list [-keytab K -principal P]
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"maps"
	"net"
	"net/http"
	"os"
	"os/signal"
	"slices"
	"strings"
	"time"

	"github.com/spindle-yarn/spindle/hdfs"
	"github.com/spindle-yarn/spindle/modes/internal/cli"
	"github.com/spindle-yarn/spindle/modes/internal/deploy"
	"github.com/spindle-yarn/spindle/modes/internal/launch"
	"github.com/spindle-yarn/spindle/yarn"
)

func main() {
	if os.Getenv(launch.EnvRole) == launch.RoleJobManager {
		if err := jobManager(); err != nil {
			fmt.Fprintln(os.Stderr, "deployprobe jobmanager:", err)
			os.Exit(2)
		}
		return
	}
	os.Exit(client(os.Args[1:]))
}

func client(args []string) int {
	if len(args) > 0 && args[0] == "attach" {
		return attach(args[1:])
	}
	if len(args) > 0 && args[0] == "list" {
		return list(args[1:])
	}
	if len(args) == 0 || args[0] != "run" {
		fmt.Fprintln(os.Stderr, "usage: deployprobe run -t yarn-application|yarn-per-job [flags] [args]\n       deployprobe attach [-keytab K -principal P] APPLICATION_ID")
		return 2
	}
	fs := flag.NewFlagSet("run", flag.ContinueOnError)
	rf := cli.NewRunFlags(fs)
	bin := fs.String("binary", "", "the executable to ship as the JobManager's (deploy.Request.Binary); default this one")
	if err := fs.Parse(args[1:]); err != nil {
		return 2
	}
	if err := rf.Validate(); err != nil {
		fmt.Fprintln(os.Stderr, "deployprobe:", err)
		return 2
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if rf.Timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, rf.Timeout)
		defer cancel()
	}
	user, id, err := deploy.Login(ctx, "", rf.Keytab, rf.Principal)
	if err != nil {
		fmt.Fprintln(os.Stderr, "deployprobe:", err)
		return 1
	}
	if id != nil {
		defer id.Close()
	}
	req := rf.Request(fs.Args())
	req.User, req.Identity, req.Binary = user, id, *bin
	if req.Mode == launch.ModePerJob {
		req.Graph = []byte("deployprobe graph")
	}
	d, err := deploy.Deploy(ctx, req)
	if err != nil {
		fmt.Fprintln(os.Stderr, "deployprobe:", err)
		return 1
	}
	defer d.Close()
	fmt.Printf("submitted %s\n", d.ID)
	if rf.Detached {
		fmt.Println(d.ID)
		return 0
	}
	return follow(ctx, d)
}

func follow(ctx context.Context, d *deploy.Deployment) int {
	r, err := d.Follow(ctx, os.Stdout)
	if err != nil {
		fmt.Fprintln(os.Stderr, "deployprobe:", err)
		return 1
	}
	if r.State == yarn.ApplicationFinished && r.FinalStatus == yarn.FinalSucceeded {
		return 0
	}
	return 1
}

// attach follows an application a detached run submitted.
func attach(args []string) int {
	fs := flag.NewFlagSet("attach", flag.ContinueOnError)
	keytab := fs.String("keytab", "", "Kerberos keytab")
	principal := fs.String("principal", "", "Kerberos principal")
	if err := fs.Parse(args); err != nil || fs.NArg() != 1 {
		fmt.Fprintln(os.Stderr, "usage: deployprobe attach [-keytab K -principal P] APPLICATION_ID")
		return 2
	}
	id, err := yarn.ParseApplicationID(fs.Arg(0))
	if err != nil {
		fmt.Fprintln(os.Stderr, "deployprobe:", err)
		return 2
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	user, who, err := deploy.Login(ctx, "", *keytab, *principal)
	if err != nil {
		fmt.Fprintln(os.Stderr, "deployprobe:", err)
		return 1
	}
	if who != nil {
		defer who.Close()
	}
	d, err := deploy.Attach(ctx, deploy.Request{User: user, Identity: who}, id)
	if err != nil {
		fmt.Fprintln(os.Stderr, "deployprobe:", err)
		return 1
	}
	defer d.Close()
	return follow(ctx, d)
}

// jobManager checks the launch contract from inside the AM container.
func jobManager() error {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	spec, err := launch.SpecFromEnv()
	if err != nil {
		return err
	}
	creds, secret, err := launch.ContainerCredentials()
	if err != nil {
		return err
	}
	tok, err := yarn.AMRMTokenFromCredentials(creds)
	if err != nil {
		return err
	}
	var rms []yarn.RMAddress
	for _, s := range spec.RMs {
		rms = append(rms, yarn.RMAddress{Scheduler: s})
	}
	am, err := yarn.NewAMClient(yarn.AMConfig{ResourceManagers: rms, Token: tok, RPCProtection: spec.RPCProtection})
	if err != nil {
		return err
	}
	defer am.Close()

	ln, err := net.Listen("tcp", ":0")
	if err != nil {
		return err
	}
	host := os.Getenv("NM_HOST")
	tracking := fmt.Sprintf("http://%s:%d", host, ln.Addr().(*net.TCPAddr).Port)
	mux := http.NewServeMux()
	mux.HandleFunc("/api/status", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprint(w, `{"jobs":[{"id":"probe-job","name":"probe","state":"RUNNING","subtasks":{"running":1,"finished":0,"total":1},"records_out":7,"taskmanagers":0}]}`)
	})
	go http.Serve(ln, mux)
	if _, err := am.Register(ctx, yarn.AMRegistration{Host: host, TrackingURL: tracking}); err != nil {
		return err
	}

	graph, err := os.ReadFile(launch.GraphResource)
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return err
	}
	var config []string
	for _, k := range slices.Sorted(maps.Keys(spec.Config)) {
		config = append(config, k+"="+spec.Config[k])
	}
	diag := fmt.Sprintf("probe: mode=%s args=%v secret=%d bytes hdfs_tokens=%d graph=%d bytes config=%s resources=%s",
		spec.Mode, spec.Args, len(secret), len(creds.TokensByKind(hdfs.KindDelegationToken)), len(graph), strings.Join(config, ","),
		strings.Join(slices.Sorted(maps.Keys(spec.Resources)), ","))
	fmt.Println(diag)

	// Heartbeat while the client reads the status, or until killed.
	hang := spec.Config["probe.hang"] == "true"
	for i := 0; hang || i < 8; i++ {
		if _, err := am.Allocate(ctx, yarn.AllocateRequest{Progress: 0.5}); err != nil {
			return err
		}
		time.Sleep(250 * time.Millisecond)
	}
	return am.Finish(ctx, yarn.AMUnregistration{FinalStatus: yarn.FinalSucceeded, Diagnostics: diag})
}

// list prints the cluster's Spindle applications, one "id state final name"
// line each.
func list(args []string) int {
	fs := flag.NewFlagSet("list", flag.ContinueOnError)
	keytab := fs.String("keytab", "", "Kerberos keytab")
	principal := fs.String("principal", "", "Kerberos principal")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	user, who, err := deploy.Login(ctx, "", *keytab, *principal)
	if err != nil {
		fmt.Fprintln(os.Stderr, "deployprobe:", err)
		return 1
	}
	cfg, err := yarn.LoadConfig("")
	if err != nil {
		fmt.Fprintln(os.Stderr, "deployprobe:", err)
		return 1
	}
	cfg.User = user
	if who != nil {
		defer who.Close()
		cfg = cfg.WithIdentity(who)
	}
	apps, err := deploy.ListApplications(ctx, cfg, deploy.ApplicationType)
	if err != nil {
		fmt.Fprintln(os.Stderr, "deployprobe:", err)
		return 1
	}
	for _, a := range apps {
		fmt.Printf("%s %s %s %s %s\n", a.ID, a.Type, a.State, a.FinalStatus, a.Name)
	}
	return 0
}
