// Command dshell runs a command in N YARN containers, like Hadoop's
// DistributedShell, with Spindle's Go clients only.
//
//	dshell -n N [-memory MB] [-vcores V] [-queue Q] [-ship PATH]... [-ship-public PATH]... [-rest] -- CMD [ARGS...]
//
// Where and how the containers run: -priority P, -node-label EXPR,
// -nodes H1,H2 and -racks R1,R2 (preferred, or with -strict-locality
// required), -resource NAME=N for custom resource types such as
// yarn.io/gpu, -opportunistic for OPPORTUNISTIC containers,
// -anti-affinity for at most one container per node (the cluster's
// yarn.resourcemanager.placement-constraints.handler must be "scheduler";
// containers beyond the number of usable nodes wait until -timeout).
//
// CMD runs with exactly the arguments given (see yarn.Command), whatever
// quotes, $ or backslashes they hold; for shell syntax, run a shell:
// dshell -- sh -c 'test "$(cat f)" = x'. Its stdout and stderr go to the
// container's log directory.
//
// It reads the cluster's configuration from HADOOP_CONF_DIR. On a
// Kerberos cluster it logs in from -keytab and -principal, or uses the
// credential cache (KRB5CCNAME, else /tmp/krb5cc_<uid>); krb5.conf comes
// from KRB5_CONFIG, else /etc/krb5.conf. -proxy-user runs the application
// as another user, impersonated by the one logged in. The ApplicationMaster
// keeps the application's HDFS delegation tokens: with -ship-keytab (the
// keytab reaches the AM alone, as a PRIVATE resource in the 0700 staging
// directory) it obtains fresh ones at 0.75 of their lifetime and renews
// them between, so that containers started later localize with live ones
// and the staging directory is removed however long the run; without, it
// warns in its log before they expire.
//
// Each container runs CMD once. A container that fails (CMD exits
// non-zero, or its NodeManager will not start it) is final by default, as
// in Hadoop's DistributedShell: dshell reports it and exits non-zero. With
// -max-failures F > 0 a failed container's command runs again in a new
// container (and a host where containers keep failing is avoided), and
// the application FAILS at the F-th failure; it SUCCEEDS when every
// container eventually exited 0, and the failed attempts are still
// listed. (Spark, whose executors are long-running services, defaults its
// budget to max(3, 2 × executors); a command run once is a different
// thing, whose failure is usually the answer, so dshell retries only when
// asked.) Containers the cluster takes away (preempted, lost with their
// node) are always run again and never count as failures.
//
// The client stages its own executable and the shipped paths in HDFS with
// package hdfs (stored by content in the user's cache, so unchanged files
// are not uploaded again; a shipped directory travels as an archive) and
// submits an application whose ApplicationMaster is this same binary. The
// AM runs CMD in N containers, with the shipped paths in their working
// directories, and removes the application's staging directory
// (/user/<user>/.spindle/<application id>) once it has unregistered, with
// the application's delegation tokens on a Kerberos cluster. The AM asks
// for and starts containers with package yarn/engine. The client
// prints progress, exits 0 only when every container exited 0 and the
// application SUCCEEDED, and removes the staging directory itself when the
// submission failed or the application ended otherwise (killed). With -rest the
// client talks to the ResourceManager through its REST API instead of
// Hadoop RPC (the ApplicationMaster always uses RPC).
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"runtime/debug"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/spindle-yarn/spindle/yarn"
)

type options struct {
	n             int
	memoryMB      int64
	vcores        int
	amMemoryMB    int64
	queue         string
	name          string
	ship          []string
	shipPublic    []string
	keytab        string
	principal     string
	proxyUser     string
	shipKeytab    bool
	rpcProtection string
	timeout       time.Duration
	keepStaging   bool
	verbose       bool
	rest          bool
	maxFailures   int
	priority      int
	nodeLabel     string
	nodes         []string
	racks         []string
	strict        bool
	opportunistic bool
	antiAffinity  bool
	resources     map[string]int64
	command       []string
}

// listFlag collects comma-separated values, and repeats of the flag.
type listFlag struct{ values *[]string }

func (f listFlag) String() string { return "" }
func (f listFlag) Set(v string) error {
	for _, s := range strings.Split(v, ",") {
		if s = strings.TrimSpace(s); s != "" {
			*f.values = append(*f.values, s)
		}
	}
	return nil
}

// resourceFlag collects -resource NAME=N.
type resourceFlag struct{ m *map[string]int64 }

func (f resourceFlag) String() string { return "" }
func (f resourceFlag) Set(v string) error {
	name, amount, ok := strings.Cut(v, "=")
	n, err := strconv.ParseInt(amount, 10, 64)
	if !ok || name == "" || err != nil || n < 1 {
		return fmt.Errorf("%q: want NAME=N with N ≥ 1, e.g. yarn.io/gpu=1", v)
	}
	if name == yarn.ResourceMemory || name == yarn.ResourceVCores {
		return fmt.Errorf("%q: use -memory and -vcores for %s", v, name)
	}
	if *f.m == nil {
		*f.m = map[string]int64{}
	}
	(*f.m)[name] = n
	return nil
}

type shipFlag struct{ paths *[]string }

func (f shipFlag) String() string     { return "" }
func (f shipFlag) Set(v string) error { *f.paths = append(*f.paths, v); return nil }

func parseOptions(args []string, stderr io.Writer) (*options, error) {
	o := &options{}
	fs := flag.NewFlagSet("dshell", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.IntVar(&o.n, "n", 1, "number of containers to run CMD in")
	fs.Int64Var(&o.memoryMB, "memory", 128, "memory per container, MB")
	fs.IntVar(&o.vcores, "vcores", 1, "virtual cores per container")
	fs.Int64Var(&o.amMemoryMB, "am-memory", 128, "memory of the ApplicationMaster, MB")
	fs.StringVar(&o.queue, "queue", "default", "YARN queue")
	fs.StringVar(&o.name, "name", "", "application name (default: dshell and the command)")
	fs.Var(shipFlag{&o.ship}, "ship", "local file or directory to place in every container's working directory (repeatable; a directory or a .tar.gz/.tgz/.tar/.zip/.jar arrives unpacked)")
	fs.Var(shipFlag{&o.shipPublic}, "ship-public", "like -ship, but world-readable in the public cache, localized once per node for every application (repeatable)")
	fs.StringVar(&o.keytab, "keytab", "", "keytab to log in from (Kerberos clusters)")
	fs.StringVar(&o.principal, "principal", "", "principal to log in as, user@REALM (with -keytab)")
	fs.StringVar(&o.proxyUser, "proxy-user", "", "run the application as this user, impersonated by the logged-in one (the cluster's hadoop.proxyuser.* must allow it)")
	fs.BoolVar(&o.shipKeytab, "ship-keytab", false, "ship -keytab to the ApplicationMaster only, which then keeps the application's HDFS delegation tokens alive (containers started later get fresh ones; it removes the staging directory however long the run): for runs longer than the tokens' lifetime")
	fs.StringVar(&o.rpcProtection, "rpc-protection", "", "hadoop.rpc.protection to use (default: the cluster configuration's)")
	fs.DurationVar(&o.timeout, "timeout", 10*time.Minute, "give up (and kill the application) after this long")
	fs.BoolVar(&o.keepStaging, "keep-staging", false, "keep the HDFS staging directory, for debugging")
	fs.BoolVar(&o.verbose, "v", false, "log Spindle's debug records to stderr")
	fs.BoolVar(&o.rest, "rest", false, "submit and follow the application through the ResourceManager's REST API instead of RPC")
	fs.IntVar(&o.maxFailures, "max-failures", 0, "run a failed container's command again in a new container, and give up (application FAILED) at the Nth failure; 0: run each container once and report the failures, like Hadoop's DistributedShell")
	fs.IntVar(&o.priority, "priority", 1, "priority of the containers' request among the application's (lower is served first)")
	fs.StringVar(&o.nodeLabel, "node-label", "", "node label expression the containers must run on (default: the queue's)")
	fs.Var(listFlag{&o.nodes}, "nodes", "hosts to run the containers on, comma-separated (preferred; see -strict-locality)")
	fs.Var(listFlag{&o.racks}, "racks", "racks to run the containers on, comma-separated (preferred; see -strict-locality)")
	fs.BoolVar(&o.strict, "strict-locality", false, "run containers only on -nodes and -racks, never elsewhere")
	fs.BoolVar(&o.opportunistic, "opportunistic", false, "ask for OPPORTUNISTIC containers (the cluster must allow them)")
	fs.BoolVar(&o.antiAffinity, "anti-affinity", false, "run at most one container per node (the cluster's placement-constraints handler must be \"scheduler\"; not with -node-label, -nodes, -racks or -opportunistic)")
	fs.Var(resourceFlag{&o.resources}, "resource", "custom resource per container, NAME=N, e.g. yarn.io/gpu=1 (repeatable)")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: dshell -n N [-memory MB] [-vcores V] [-queue Q] [-ship PATH]... [-ship-public PATH]... [-rest] -- CMD [ARGS...]")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	o.command = fs.Args()
	switch {
	case len(o.command) == 0:
		return nil, errors.New("no command: put it after --, e.g. dshell -n 4 -- /bin/echo hello")
	case o.n < 1:
		return nil, fmt.Errorf("-n %d: need at least one container", o.n)
	case o.memoryMB < 1 || o.amMemoryMB < 1:
		return nil, errors.New("-memory and -am-memory must be positive")
	case o.vcores < 1:
		return nil, fmt.Errorf("-vcores %d: need at least one", o.vcores)
	case (o.keytab == "") != (o.principal == ""):
		return nil, errors.New("-keytab and -principal go together")
	case o.shipKeytab && o.keytab == "":
		return nil, errors.New("-ship-keytab ships the keytab you log in with: give -keytab and -principal too")
	case o.maxFailures < 0:
		return nil, fmt.Errorf("-max-failures %d: must be 0 or more", o.maxFailures)
	case o.priority < 0:
		return nil, fmt.Errorf("-priority %d: must be 0 or more", o.priority)
	case o.nodeLabel != "" && len(o.nodes)+len(o.racks) > 0:
		return nil, errors.New("-node-label cannot be combined with -nodes or -racks (YARN applies labels to requests for any node only)")
	case o.strict && len(o.nodes)+len(o.racks) == 0:
		return nil, errors.New("-strict-locality needs -nodes or -racks")
	case o.antiAffinity && (o.nodeLabel != "" || len(o.nodes)+len(o.racks) > 0 || o.opportunistic):
		return nil, errors.New("-anti-affinity cannot be combined with -node-label, -nodes, -racks or -opportunistic (YARN's placement constraints here cover GUARANTEED containers on any node)")
	}
	if _, err := workerCommand(o.command); err != nil {
		return nil, err
	}
	for _, p := range append(append([]string(nil), o.ship...), o.shipPublic...) {
		if _, err := os.Stat(p); err != nil {
			return nil, fmt.Errorf("-ship %s: %w", p, err)
		}
	}
	if o.name == "" {
		o.name = "dshell " + strings.Join(o.command, " ")
		if len(o.name) > 100 {
			o.name = o.name[:100]
		}
	}
	return o, nil
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if os.Getenv(envRole) == "am" {
		if os.Getenv("GOGC") == "" {
			// The AM's heap is small and its CPU mostly idle: collecting at
			// 25% growth instead of 100% lowered its peak RSS at 256
			// containers from 19.4 to 17.6 MiB on the test bed (one run
			// each), for a container whose memory YARN charges.
			debug.SetGCPercent(25)
		}
		log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelInfo}))
		if err := runAM(ctx, log); err != nil {
			log.Error("ApplicationMaster failed", "err", err)
			os.Exit(1)
		}
		return
	}
	o, err := parseOptions(os.Args[1:], os.Stderr)
	if err != nil {
		if !errors.Is(err, flag.ErrHelp) {
			fmt.Fprintln(os.Stderr, "dshell:", err)
		}
		os.Exit(2)
	}
	code, err := runClient(ctx, o, os.Stdout)
	if err != nil {
		fmt.Fprintln(os.Stderr, "dshell:", err)
	}
	os.Exit(code)
}
