// Command tokenprobe is a Spindle program for the token renewal test
// (TestTokenRenewal in integration/): a job whose one subtask reads an
// HDFS file again and again for a while, through Task.HDFS, and fails on
// the first error. It reads in bursts, once a second, with pauses longer
// than the NameNode connection's idle timeout (10 s) between them, so
// that its reads keep opening new NameNode connections, which
// authenticate with whatever token its TaskManager holds then. Its
// counter tokenprobe.reads counts the reads that returned the file; with
// -write it also writes a file after every read (tokenprobe.writes).
//
//	tokenprobe run -t yarn-application -path /user/alice/f -duration 90s [run flags]
package main

import (
	"context"
	"flag"
	"fmt"
	"strconv"
	"time"

	"github.com/spindle-yarn/spindle/hdfs"
	"github.com/spindle-yarn/spindle/jobgraph"
	"github.com/spindle-yarn/spindle/modes"
	"github.com/spindle-yarn/spindle/modes/operator"
)

func init() {
	operator.Register("tokenprobe.read", func(ctx context.Context, t *operator.Task) error {
		duration, err := time.ParseDuration(t.Config["duration"])
		if err != nil {
			return err
		}
		burst, _ := strconv.Atoi(t.Config["burst"])
		pause, err := time.ParseDuration(t.Config["pause"])
		if err != nil {
			return err
		}
		path := t.Config["path"]
		fs, err := t.HDFS(ctx)
		if err != nil {
			return err
		}
		start := time.Now()
		var size int
		for n := 0; time.Since(start) < duration; n++ {
			b, err := fs.ReadFile(ctx, path)
			if err != nil {
				return fmt.Errorf("read %d of %s, %s after the subtask started: %w", n+1, path, time.Since(start).Round(time.Second), err)
			}
			if size == 0 {
				size = len(b)
			} else if len(b) != size {
				return fmt.Errorf("read %d of %s returned %d bytes, the first %d", n+1, path, len(b), size)
			}
			t.Counters().Add("tokenprobe.reads", 1)
			if w := t.Config["write"]; w != "" {
				if err := writeFile(ctx, fs, w, fmt.Sprintf("read %d\n", n+1)); err != nil {
					return fmt.Errorf("write %d of %s, %s after the subtask started: %w", n+1, w, time.Since(start).Round(time.Second), err)
				}
				t.Counters().Add("tokenprobe.writes", 1)
			}
			wait := time.Second
			if burst > 0 && (n+1)%burst == 0 {
				wait = pause
			}
			select {
			case <-ctx.Done():
				return ctx.Err()
			case <-time.After(wait):
			}
		}
		t.Logger().Info("tokenprobe: read the file for the whole duration", "reads", t.Counters().Snapshot()["tokenprobe.reads"], "duration", duration)
		return nil
	})
}

// writeFile replaces the file at p with text.
func writeFile(ctx context.Context, fs *hdfs.Client, p, text string) error {
	w, err := fs.Create(ctx, p, hdfs.CreateOptions{Overwrite: true})
	if err != nil {
		return err
	}
	if _, err := w.Write([]byte(text)); err != nil {
		w.Close()
		return err
	}
	return w.Close()
}

func main() {
	var path, write string
	var duration, pause time.Duration
	var burst int
	modes.Main(modes.Program{
		Name: "tokenprobe",
		Flags: func(fs *flag.FlagSet) {
			fs.StringVar(&path, "path", "", "HDFS file to read again and again")
			fs.StringVar(&write, "write", "", "HDFS file to write after every read (empty: no writes)")
			fs.DurationVar(&duration, "duration", 90*time.Second, "how long to keep reading")
			fs.IntVar(&burst, "burst", 5, "reads, a second apart, before each pause")
			fs.DurationVar(&pause, "pause", 11*time.Second, "pause after each burst (longer than the NameNode connection's 10 s idle timeout)")
		},
		Main: func(ctx context.Context, env *modes.Env) error {
			_, err := env.Execute(ctx, &jobgraph.JobGraph{
				Name: "tokenprobe",
				Config: map[string]string{"path": path, "duration": duration.String(),
					"burst": strconv.Itoa(burst), "pause": pause.String(), "write": write},
				Vertices: []jobgraph.Vertex{{ID: "read", Operator: "tokenprobe.read", Parallelism: 1}},
			})
			return err
		},
	})
}
