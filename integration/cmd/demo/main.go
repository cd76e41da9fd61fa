// Command demo is what `make demo` runs: it starts the Hadoop test bed,
// shows the cluster it runs (ResourceManagers, NodeManagers, HDFS), runs
// examples/wordcount on it in Application and Per-Job modes (a Go program
// deploying itself: JobManager in the ApplicationMaster, TaskManagers in
// worker containers, counting words of generated text in HDFS) and
// examples/dshell (a Go ApplicationMaster running a command in four
// containers), and stops it.
//
//	go run ./integration/cmd/demo [-keep] [-kerberos] [-ha]
package main

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/colinmarc/hdfs/v2"
	"github.com/colinmarc/hdfs/v2/hadoopconf"

	"github.com/spindle-yarn/spindle/examples/wordcount/corpus"
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
	if err := runWordcount(ctx, tb, abs); err != nil {
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

// hdfsClient is alice's HDFS client on the bed.
func hdfsClient(tb *testbed.TestBed) (*hdfs.Client, func(), error) {
	conf, err := hadoopconf.Load(tb.Ready.ConfDir)
	if err != nil {
		return nil, nil, err
	}
	opts := hdfs.ClientOptionsFromConf(conf)
	opts.User = "alice"
	if k := tb.Ready.Kerberos; k != nil {
		kc, err := tb.KerberosClient("alice")
		if err != nil {
			return nil, nil, err
		}
		opts.KerberosClient = kc
		opts.User = "alice@" + k.Realm
		opts.KerberosServicePrincipleName = strings.SplitN(k.ServicePrincipal, "@", 2)[0]
	}
	c, err := hdfs.NewClient(opts)
	if err != nil {
		return nil, nil, err
	}
	return c, func() { c.Close() }, nil
}

func showHDFS(tb *testbed.TestBed) error {
	c, done, err := hdfsClient(tb)
	if err != nil {
		return err
	}
	defer done()
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
	if err := closeFile(w, p); err != nil {
		return err
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

// closeFile closes w: the NameNode completes a file only once the DataNode
// has reported its last block; until then Close says replication is in
// progress.
func closeFile(w *hdfs.FileWriter, p string) error {
	for backoff := 100 * time.Millisecond; ; backoff *= 2 {
		err := w.Close()
		if err == nil {
			return nil
		}
		if !hdfs.IsErrReplicating(err) || backoff > 5*time.Second {
			return fmt.Errorf("hdfs close %s: %w", p, err)
		}
		time.Sleep(backoff)
	}
}

// runWordcount writes 16 MiB of generated text to HDFS, runs
// examples/wordcount on it in Application and then Per-Job mode, and
// checks the counts against those computed here.
func runWordcount(ctx context.Context, tb *testbed.TestBed, dir string) error {
	bin := filepath.Join(dir, "bin", "wordcount")
	build := exec.CommandContext(ctx, "go", "build", "-o", bin, "github.com/spindle-yarn/spindle/examples/wordcount")
	build.Stderr = os.Stderr
	if err := build.Run(); err != nil {
		return fmt.Errorf("building wordcount: %w", err)
	}
	c, done, err := hdfsClient(tb)
	if err != nil {
		return err
	}
	defer done()
	base := fmt.Sprintf("/user/alice/demo-wordcount-%d", time.Now().Unix())
	in := base + "/in"
	var all bytes.Buffer
	for i := 0; i < 4; i++ {
		var b bytes.Buffer
		if err := corpus.Generate(&b, uint64(i+1), 4<<20); err != nil {
			return err
		}
		all.Write(b.Bytes())
		p := fmt.Sprintf("%s/book-%d.txt", in, i)
		if err := c.MkdirAll(in, 0o755); err != nil {
			return err
		}
		w, err := c.Create(p)
		if err != nil {
			return fmt.Errorf("hdfs create %s: %w", p, err)
		}
		if _, err := w.Write(b.Bytes()); err != nil {
			return err
		}
		if err := closeFile(w, p); err != nil {
			return err
		}
	}
	want, err := corpus.Count(&all)
	if err != nil {
		return err
	}
	fmt.Printf("\nHDFS %s: 4 files of generated text, %d MiB, %d distinct words\n", in, all.Len()>>20, len(want))
	for _, target := range []string{"yarn-application", "yarn-per-job"} {
		out := base + "/out-" + target
		args := []string{"run", "-t", target, "-input", in, "-output", out, "-parallelism", "4"}
		if k := tb.Ready.Kerberos; k != nil {
			args = append(args, "-keytab", k.Users["alice"], "-principal", "alice@"+k.Realm)
		}
		fmt.Printf("\n$ wordcount %s\n", strings.Join(args, " "))
		cmd := exec.CommandContext(ctx, bin, args...)
		cmd.Env = append(os.Environ(), "HADOOP_CONF_DIR="+tb.Ready.ConfDir, "HADOOP_USER_NAME=alice")
		if k := tb.Ready.Kerberos; k != nil {
			cmd.Env = append(cmd.Env, "KRB5_CONFIG="+k.KRB5Conf)
		}
		cmd.Stdout, cmd.Stderr = os.Stdout, os.Stderr
		start := time.Now()
		if err := cmd.Run(); err != nil {
			return fmt.Errorf("wordcount %s: %w", target, err)
		}
		elapsed := time.Since(start)
		got, err := readCounts(c, out)
		if err != nil {
			return err
		}
		bad := 0
		for w, n := range want {
			if got[w] != n {
				bad++
			}
		}
		if bad > 0 || len(got) != len(want) {
			return fmt.Errorf("wordcount %s: %d of %d words counted wrong (%d in the output)", target, bad, len(want), len(got))
		}
		fmt.Printf("%s: %d words counted in %.1f s, every count equal to the one computed here; top words:", target, len(got), elapsed.Seconds())
		for _, w := range topWords(got, 5) {
			fmt.Printf(" %s=%d", w, got[w])
		}
		fmt.Println()
	}
	return nil
}

// readCounts reads the word<TAB>count part files of out.
func readCounts(c *hdfs.Client, out string) (map[string]int64, error) {
	ents, err := c.ReadDir(out)
	if err != nil {
		return nil, err
	}
	got := map[string]int64{}
	for _, e := range ents {
		if !strings.HasPrefix(e.Name(), "part-") {
			return nil, fmt.Errorf("%s holds %s besides the part files", out, e.Name())
		}
		b, err := c.ReadFile(out + "/" + e.Name())
		if err != nil {
			return nil, err
		}
		for _, line := range strings.Split(strings.TrimSuffix(string(b), "\n"), "\n") {
			w, n, ok := strings.Cut(line, "\t")
			v, err := strconv.ParseInt(n, 10, 64)
			if !ok || err != nil {
				return nil, fmt.Errorf("%s: line %q is not word<TAB>count", e.Name(), line)
			}
			got[w] = v
		}
	}
	return got, nil
}

func topWords(m map[string]int64, n int) []string {
	words := make([]string, 0, len(m))
	for w := range m {
		words = append(words, w)
	}
	sort.Slice(words, func(i, j int) bool {
		if m[words[i]] != m[words[j]] {
			return m[words[i]] > m[words[j]]
		}
		return words[i] < words[j]
	})
	return words[:min(n, len(words))]
}
