// Command dshell runs a command in N YARN containers, like Hadoop's
// DistributedShell, with Spindle's Go clients only.
//
//	dshell -n N [-memory MB] [-vcores V] [-queue Q] [-ship PATH]... [-ship-public PATH]... [-rest] -- CMD [ARGS...]
//
// CMD runs with exactly the arguments given (see yarn.Command), whatever
// quotes, $ or backslashes they hold; for shell syntax, run a shell:
// dshell -- sh -c 'test "$(cat f)" = x'. Its stdout and stderr go to the
// container's log directory.
//
// It reads the cluster's configuration from HADOOP_CONF_DIR. On a
// Kerberos cluster it logs in from -keytab and -principal, or uses the
// credential cache (KRB5CCNAME, else /tmp/krb5cc_<uid>); krb5.conf comes
// from KRB5_CONFIG, else /etc/krb5.conf.
//
// The client stages its own executable and the shipped paths in HDFS with
// package hdfs (stored by content in the user's cache, so unchanged files
// are not uploaded again; a shipped directory travels as an archive) and
// submits an application whose ApplicationMaster is this same binary. The
// AM runs CMD in N containers, with the shipped paths in their working
// directories, and removes the application's staging directory
// (/user/<user>/.spindle/<application id>) once it has unregistered, with
// the application's delegation tokens on a Kerberos cluster. The client
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
	"strings"
	"syscall"
	"time"
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
	rpcProtection string
	timeout       time.Duration
	keepStaging   bool
	verbose       bool
	rest          bool
	command       []string
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
	fs.StringVar(&o.rpcProtection, "rpc-protection", "", "hadoop.rpc.protection to use (default: the cluster configuration's)")
	fs.DurationVar(&o.timeout, "timeout", 10*time.Minute, "give up (and kill the application) after this long")
	fs.BoolVar(&o.keepStaging, "keep-staging", false, "keep the HDFS staging directory, for debugging")
	fs.BoolVar(&o.verbose, "v", false, "log Spindle's debug records to stderr")
	fs.BoolVar(&o.rest, "rest", false, "submit and follow the application through the ResourceManager's REST API instead of RPC")
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
