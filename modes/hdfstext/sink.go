package hdfstext

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"path"
	"strings"

	"github.com/spindle-yarn/spindle/hdfs"
	"github.com/spindle-yarn/spindle/jobgraph"
	"github.com/spindle-yarn/spindle/modes/operator"
)

// Counters the sink adds to, summed over its subtasks.
const (
	CounterSinkRecords      = "text-sink.records"
	CounterSinkBytesWritten = "text-sink.bytes-written"
)

// ErrOutputExists is matched (errors.Is) by the error of CheckOutput and
// of the sink's Committer when the output directory already holds
// visible files (or is a file).
var ErrOutputExists = errors.New("hdfstext: the output directory already holds files")

// temporaryDir holds the part files of every attempt under the output.
const temporaryDir = "_temporary"

// committingMarker is a directory the Committer makes in an attempt's
// directory before it moves the first part file: once it exists, the
// visible files of the output are this attempt's, so a Committer run
// again (after a JobManager restart) goes on instead of refusing them.
const committingMarker = "_committing"

// Sink is a vertex writing the records it receives as lines to part files
// published in output (hdfs:///path or /path) when the job succeeds, with
// parallelism subtasks (one part file each).
func Sink(id, output string, parallelism int) jobgraph.Vertex {
	return jobgraph.Vertex{
		ID:          id,
		Operator:    SinkOperator,
		Parallelism: parallelism,
		Config:      map[string]string{ConfigOutput: output},
	}
}

// CheckOutput returns an error matching ErrOutputExists when output
// exists and holds visible files (names not starting with "_" or "."), or
// is a file; nil when it is missing or holds none. A client calls it
// before it submits a job, so that a job whose Committer would refuse to
// publish never runs.
func CheckOutput(ctx context.Context, c *hdfs.Client, output string) error {
	out, err := resolve(c, output)
	if err != nil {
		return fmt.Errorf("hdfstext: output: %w", err)
	}
	return checkOutput(ctx, c, out)
}

func checkOutput(ctx context.Context, ns namespace, out string) error {
	st, err := ns.Stat(ctx, out)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("hdfstext: output %s: %w", ns.URL(out), err)
	}
	if !st.IsDir() {
		return fmt.Errorf("%w: %s is a file; choose another output directory", ErrOutputExists, ns.URL(out))
	}
	entries, err := ns.ReadDir(ctx, out)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("hdfstext: output %s: %w", ns.URL(out), err)
	}
	var visible []string
	for _, e := range entries {
		if !hidden(e.Name) {
			visible = append(visible, e.Name)
		}
	}
	if len(visible) == 0 {
		return nil
	}
	names := strings.Join(visible[:min(len(visible), 3)], ", ")
	if len(visible) > 3 {
		names += fmt.Sprintf(" and %d more", len(visible)-3)
	}
	return fmt.Errorf("%w: %s holds %s; choose another output directory or remove it first (hdfs dfs -rm -r %s)",
		ErrOutputExists, ns.URL(out), names, out)
}

// attemptDir is where the sink subtasks of one job attempt write.
func attemptDir(out, job string, attempt int) string {
	return path.Join(out, temporaryDir, fmt.Sprintf("%s-%d", job, attempt))
}

// partName is the name of subtask index's part file.
func partName(index int) string { return fmt.Sprintf("part-%05d", index) }

// writeSink is the sink's Func: it writes its input records to its part
// file in the attempt's directory, completing the file when every input
// has ended and deleting it when anything fails.
func writeSink(ctx context.Context, t *operator.Task) error {
	if t.Job == "" || strings.ContainsAny(t.Job, "/") {
		return fmt.Errorf("hdfstext: sink: job id %q cannot name a directory", t.Job)
	}
	c, err := t.HDFS(ctx)
	if err != nil {
		return fmt.Errorf("hdfstext: sink: %w", err)
	}
	out, err := resolve(c, t.Config[ConfigOutput])
	if err != nil {
		return fmt.Errorf("hdfstext: sink: config %q: %w", ConfigOutput, err)
	}
	p := path.Join(attemptDir(out, t.Job, t.Attempt), partName(t.Index))
	// Overwrite: a subtask run again within the attempt replaces what its
	// previous run left.
	w, err := c.Create(ctx, p, hdfs.CreateOptions{Overwrite: true})
	if err != nil {
		return fmt.Errorf("hdfstext: sink: create %s: %w", c.URL(p), err)
	}
	records, written, err := writeRecords(ctx, t, w)
	t.Counters().Add(CounterSinkRecords, records)
	t.Counters().Add(CounterSinkBytesWritten, written)
	if err != nil {
		w.Abort()
		return fmt.Errorf("hdfstext: sink: %s: %w", c.URL(p), err)
	}
	if err := w.Close(); err != nil {
		return fmt.Errorf("hdfstext: sink: close %s: %w", c.URL(p), err)
	}
	return nil
}

// writeRecords writes every record of t's inputs to w as a line, Key TAB
// Value, or Value alone when Key is empty, and returns the records and
// bytes written.
func writeRecords(ctx context.Context, t *operator.Task, w io.Writer) (records, written int64, err error) {
	bw := bufio.NewWriterSize(w, 1<<20)
	err = t.ForEach(ctx, func(r operator.Record) error {
		if len(r.Key) > 0 {
			bw.Write(r.Key)
			bw.WriteByte('\t')
			written += int64(len(r.Key)) + 1
		}
		bw.Write(r.Value)
		_, err := bw.Write([]byte{'\n'}) // a failed write sticks: one check serves
		records++
		written += int64(len(r.Value)) + 1
		return err
	})
	if err != nil {
		return records, written, err
	}
	return records, written, bw.Flush()
}

// commitOutput is the sink's Committer.
func commitOutput(ctx context.Context, env operator.SplitEnv, succeeded bool) error {
	if env.HDFS == nil {
		return fmt.Errorf("hdfstext: sink: %w", operator.ErrNoHDFS)
	}
	out, err := resolve(env.HDFS, env.Config[ConfigOutput])
	if err != nil {
		return fmt.Errorf("hdfstext: sink: config %q: %w", ConfigOutput, err)
	}
	if !succeeded {
		return abortOutput(ctx, env.HDFS, out, env.Job)
	}
	return publishOutput(ctx, env.HDFS, out, env.Job, env.Attempt)
}

// publishOutput moves the part files of the job's attempt into out and
// removes the job's temporary directories. It refuses (and removes them)
// when out already holds visible files. Run again after it stopped
// midway, it moves what is left; run after it finished, it does nothing.
func publishOutput(ctx context.Context, ns namespace, out, job string, attempt int) error {
	dir := attemptDir(out, job, attempt)
	entries, err := ns.ReadDir(ctx, dir)
	if errors.Is(err, fs.ErrNotExist) {
		// Published already, unless nothing was ever written.
		if _, err := ns.Stat(ctx, out); err != nil {
			return fmt.Errorf("hdfstext: commit: neither %s nor the output %s exist: did the sink run? %w", ns.URL(dir), ns.URL(out), err)
		}
		return removeJobTemporary(ctx, ns, out, job)
	}
	if err != nil {
		return fmt.Errorf("hdfstext: commit: list %s: %w", ns.URL(dir), err)
	}
	committing := false
	var parts []string
	for _, e := range entries {
		switch {
		case e.Name == committingMarker:
			committing = true
		case !hidden(e.Name) && !e.IsDir():
			parts = append(parts, e.Name)
		}
	}
	if !committing {
		if err := checkOutput(ctx, ns, out); err != nil {
			// The attempt cannot be published here: what it wrote is
			// of no use, and a refused job leaves nothing behind.
			if rerr := removeJobTemporary(ctx, ns, out, job); rerr != nil {
				return errors.Join(err, rerr)
			}
			return err
		}
		if err := ns.MkdirAll(ctx, path.Join(dir, committingMarker), 0o755); err != nil {
			return fmt.Errorf("hdfstext: commit: %w", err)
		}
	}
	for _, name := range parts {
		if err := ns.Rename(ctx, path.Join(dir, name), path.Join(out, name), false); err != nil {
			return fmt.Errorf("hdfstext: commit: publish %s: %w", name, err)
		}
	}
	return removeJobTemporary(ctx, ns, out, job)
}

// abortOutput removes what the job wrote under out: its attempts'
// directories, the part files an interrupted publishOutput already moved
// (all the visible files of out, which held none when it began), and out
// itself when that leaves it empty.
func abortOutput(ctx context.Context, ns namespace, out, job string) error {
	dirs, err := jobTemporaryDirs(ctx, ns, out, job)
	if err != nil {
		return err
	}
	for _, dir := range dirs {
		if _, err := ns.Stat(ctx, path.Join(dir, committingMarker)); err == nil {
			if err := removeVisible(ctx, ns, out); err != nil {
				return err
			}
		}
	}
	if err := removeJobTemporary(ctx, ns, out, job); err != nil {
		return err
	}
	entries, err := ns.ReadDir(ctx, out)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("hdfstext: abort: list %s: %w", ns.URL(out), err)
	}
	if len(entries) == 0 {
		// Not recursive: a file that appeared since is kept.
		if err := ns.Remove(ctx, out, false); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("hdfstext: abort: remove %s: %w", ns.URL(out), err)
		}
	}
	return nil
}

// removeVisible removes the visible entries of dir.
func removeVisible(ctx context.Context, ns namespace, dir string) error {
	entries, err := ns.ReadDir(ctx, dir)
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("hdfstext: abort: list %s: %w", ns.URL(dir), err)
	}
	for _, e := range entries {
		if hidden(e.Name) {
			continue
		}
		if err := ns.Remove(ctx, path.Join(dir, e.Name), true); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("hdfstext: abort: remove %s: %w", e.Name, err)
		}
	}
	return nil
}

// jobTemporaryDirs lists the attempt directories of job under out.
func jobTemporaryDirs(ctx context.Context, ns namespace, out, job string) ([]string, error) {
	tmp := path.Join(out, temporaryDir)
	entries, err := ns.ReadDir(ctx, tmp)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("hdfstext: list %s: %w", ns.URL(tmp), err)
	}
	var dirs []string
	for _, e := range entries {
		if attempt, ok := strings.CutPrefix(e.Name, job+"-"); ok && attempt != "" && strings.Trim(attempt, "0123456789") == "" {
			dirs = append(dirs, path.Join(tmp, e.Name))
		}
	}
	return dirs, nil
}

// removeJobTemporary removes the job's attempt directories, and
// out/_temporary when no other job's remain in it.
func removeJobTemporary(ctx context.Context, ns namespace, out, job string) error {
	dirs, err := jobTemporaryDirs(ctx, ns, out, job)
	if err != nil {
		return err
	}
	for _, dir := range dirs {
		if err := ns.Remove(ctx, dir, true); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("hdfstext: remove %s: %w", ns.URL(dir), err)
		}
	}
	tmp := path.Join(out, temporaryDir)
	entries, err := ns.ReadDir(ctx, tmp)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("hdfstext: list %s: %w", ns.URL(tmp), err)
	}
	if len(entries) > 0 {
		return nil // another job's
	}
	if err := ns.Remove(ctx, tmp, false); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("hdfstext: remove %s: %w", ns.URL(tmp), err)
	}
	return nil
}
