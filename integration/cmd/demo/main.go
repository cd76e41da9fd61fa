// Command demo is what `make demo` runs: it starts the Hadoop test bed,
// shows the cluster it runs (ResourceManagers, NodeManagers, HDFS), runs
// examples/dshell on it (a Go ApplicationMaster running a command in four
// containers), and stops it.
//
//	go run ./integration/cmd/demo [-keep] [-kerberos] [-ha]
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/colinmarc/hdfs/v2"
	"github.com/colinmarc/hdfs/v2/hadoopconf"

	"github.com/spindle-yarn/spindle/integration/testbed"
)

func main() {
	keep := flag.Bool("keep", false, "keep the test bed running until interrupted")
	kerberos := flag.Bool("kerberos", false, "run the Kerberos test bed")
	ha := flag.Bool("ha", false, "run two ResourceManagers")
	dir := flag.String("dir", ".testbed/demo", "test bed directory")
	flag.Parse()
	if err := run(*dir, *keep, *kerberos, *ha); err != nil {
		fmt.Fprintln(os.Stderr, "demo:", err)
		os.Exit(1)
	}
}

func run(dir string, keep, kerberos, ha bool) error {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	abs, err := filepath.Abs(dir)
	if err != nil {
		return err
	}
	fmt.Printf("Starting the Hadoop test bed in %s (first run: Maven fetches Hadoop)...\n", abs)
	started := time.Now()
	tb, err := testbed.Start(ctx, testbed.Options{Dir: abs, Kerberos: kerberos, HA: ha})
	if err != nil {
		return err
	}
	defer tb.Stop()
	fmt.Printf("Test bed ready in %.1f s (Java side %.1f s): Hadoop %s, %s mode\n\n",
		time.Since(started).Seconds(), tb.Ready.StartupSeconds, tb.Ready.HadoopVersion, tb.Mode())

	if err := showYARN(ctx, tb); err != nil {
		return err
	}
	if err := showHDFS(tb); err != nil {
		return err
	}
	if err := runDshell(ctx, tb, abs); err != nil {
		return err
	}
	fmt.Printf("\nHadoop client configuration: HADOOP_CONF_DIR=%s\n", tb.Ready.ConfDir)
	if keep {
		fmt.Println("Test bed running; Ctrl-C stops it.")
		<-ctx.Done()
	}
	return nil
}

func showYARN(ctx context.Context, tb *testbed.TestBed) error {
	hc, err := tb.HTTPClient("")
	if err != nil {
		return err
	}
	fmt.Println("ResourceManagers:")
	for _, rm := range tb.Ready.ResourceManagers {
		info, err := tb.RMInfo(ctx, rm)
		if err != nil {
			return err
		}
		fmt.Printf("  %-4s %-8s rpc %-16s scheduler %-16s web %s\n", rm.ID, info.HAState, rm.RPC, rm.Scheduler, rm.Web)
	}
	rm, err := tb.ActiveRM(ctx)
	if err != nil {
		return err
	}
	var nodes struct {
		Nodes struct {
			Node []struct {
				ID                    string `json:"id"`
				State                 string `json:"state"`
				AvailMemoryMB         int64  `json:"availMemoryMB"`
				AvailableVirtualCores int64  `json:"availableVirtualCores"`
			} `json:"node"`
		} `json:"nodes"`
	}
	if err := hc.GetJSON(ctx, rm.Web+"/ws/v1/cluster/nodes", &nodes); err != nil {
		return err
	}
	fmt.Println("NodeManagers:")
	for _, n := range nodes.Nodes.Node {
		fmt.Printf("  %-18s %-8s %6d MB %3d vcores free\n", n.ID, n.State, n.AvailMemoryMB, n.AvailableVirtualCores)
	}
	return nil
}

// runDshell builds examples/dshell and runs it on the test bed: a Go
// ApplicationMaster starting a command in four containers.
func runDshell(ctx context.Context, tb *testbed.TestBed, dir string) error {
	bin := filepath.Join(dir, "bin", "dshell")
	build := exec.CommandContext(ctx, "go", "build", "-o", bin, "github.com/spindle-yarn/spindle/examples/dshell")
	build.Stderr = os.Stderr
	if err := build.Run(); err != nil {
		return fmt.Errorf("building dshell: %w", err)
	}
	args := []string{"-n", "4", "--", "sh", "-c", "echo hello from $CONTAINER_ID on $NM_HOST"}
	if k := tb.Ready.Kerberos; k != nil {
		args = append([]string{"-keytab", k.Users["alice"], "-principal", "alice@" + k.Realm}, args...)
	}
	shown := make([]string, len(args))
	for i, a := range args {
		shown[i] = a
		if strings.ContainsAny(a, " $\"'") {
			shown[i] = "'" + strings.ReplaceAll(a, "'", `'\''`) + "'"
		}
	}
	fmt.Printf("\n$ dshell %s\n", strings.Join(shown, " "))
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Env = append(os.Environ(), "HADOOP_CONF_DIR="+tb.Ready.ConfDir, "HADOOP_USER_NAME=alice")
	if k := tb.Ready.Kerberos; k != nil {
		cmd.Env = append(cmd.Env, "KRB5_CONFIG="+k.KRB5Conf)
	}
	cmd.Stdout, cmd.Stderr = os.Stdout, os.Stderr
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("dshell: %w", err)
	}
	return nil
}

func showHDFS(tb *testbed.TestBed) error {
	conf, err := hadoopconf.Load(tb.Ready.ConfDir)
	if err != nil {
		return err
	}
	opts := hdfs.ClientOptionsFromConf(conf)
	opts.User = "alice"
	if k := tb.Ready.Kerberos; k != nil {
		kc, err := tb.KerberosClient("alice")
		if err != nil {
			return err
		}
		defer kc.Destroy()
		opts.KerberosClient = kc
		opts.User = "alice@" + k.Realm
		opts.KerberosServicePrincipleName = strings.SplitN(k.ServicePrincipal, "@", 2)[0]
	}
	c, err := hdfs.NewClient(opts)
	if err != nil {
		return err
	}
	defer c.Close()
	const p = "/user/alice/demo.txt"
	msg := []byte("written by Spindle's demo\n")
	_ = c.Remove(p)
	w, err := c.Create(p)
	if err != nil {
		return fmt.Errorf("hdfs create %s: %w", p, err)
	}
	if _, err := w.Write(msg); err != nil {
		return err
	}
	// The NameNode completes a file only once the DataNode has reported
	// its last block; until then Close says replication is in progress.
	for backoff := 100 * time.Millisecond; ; backoff *= 2 {
		err := w.Close()
		if err == nil {
			break
		}
		if !hdfs.IsErrReplicating(err) || backoff > 5*time.Second {
			return fmt.Errorf("hdfs close %s: %w", p, err)
		}
		time.Sleep(backoff)
	}
	r, err := c.Open(p)
	if err != nil {
		return err
	}
	got, err := io.ReadAll(r)
	r.Close()
	if err != nil {
		return err
	}
	fmt.Printf("HDFS %s: wrote and read back %s (%d bytes, identical: %v)\n",
		tb.Ready.NameNode, p, len(got), string(got) == string(msg))
	return nil
}
