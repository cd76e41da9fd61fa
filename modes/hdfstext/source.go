package hdfstext

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"path"
	"sort"
	"strconv"

	"github.com/spindle-yarn/spindle/hdfs"
	"github.com/spindle-yarn/spindle/jobgraph"
	"github.com/spindle-yarn/spindle/modes/operator"
)

// Operator names, as vertices refer to them.
const (
	SourceOperator = "spindle.hdfs.text-source"
	SinkOperator   = "spindle.hdfs.text-sink"
)

// Configuration keys (see the package doc).
const (
	ConfigInput        = "input"
	ConfigSplitBytes   = "split-bytes"
	ConfigMaxLineBytes = "max-line-bytes"
	ConfigOutput       = "output"
)

// Defaults of the source's settings.
const (
	DefaultSplitBytes   = 64 << 20
	DefaultMaxLineBytes = 64 << 20
)

// Counters the source adds to, summed over its subtasks.
const (
	CounterSourceRecords   = "text-source.records"
	CounterSourceBytesRead = "text-source.bytes-read"
	CounterSourceSplits    = "text-source.splits"
)

// splitSlop lets a file's last split grow to 1.1 times split-bytes rather
// than leave a small split behind (Hadoop's FileInputFormat does the same).
const splitSlop = 1.1

func init() {
	operator.Register(SourceOperator, readSource, operator.WithSplitter(splitInput))
	operator.Register(SinkOperator, writeSink, operator.WithCommitter(commitOutput))
}

// Source is a vertex reading the files of input (a directory or one file,
// hdfs:///path or /path) as lines, with parallelism subtasks.
func Source(id, input string, parallelism int) jobgraph.Vertex {
	return jobgraph.Vertex{
		ID:          id,
		Operator:    SourceOperator,
		Parallelism: parallelism,
		Config:      map[string]string{ConfigInput: input},
	}
}

// splitInput is the source's Splitter: it lists the input and cuts its
// files into splits, the largest first so that the small ones even out
// the subtasks' loads at the end.
func splitInput(ctx context.Context, env operator.SplitEnv) ([]operator.Split, error) {
	splitBytes, err := sizeSetting(env.Config, ConfigSplitBytes, DefaultSplitBytes)
	if err != nil {
		return nil, err
	}
	if env.Config[ConfigInput] == "" {
		return nil, fmt.Errorf("hdfstext: source: config %q is missing: set it to the directory or file to read (hdfs:///path or /path)", ConfigInput)
	}
	if env.HDFS == nil {
		return nil, fmt.Errorf("hdfstext: source: %w", operator.ErrNoHDFS)
	}
	input, err := resolve(env.HDFS, env.Config[ConfigInput])
	if err != nil {
		return nil, fmt.Errorf("hdfstext: source: config %q: %w", ConfigInput, err)
	}
	files, err := listFiles(ctx, env.HDFS, input)
	if err != nil {
		return nil, err
	}
	splits := cutSplits(files, splitBytes)
	if env.Logger != nil {
		env.Logger.Info("hdfstext: input split", "input", input, "files", len(files), "splits", len(splits), "split_bytes", splitBytes)
	}
	return splits, nil
}

// A file is one input file and its size.
type file struct {
	path string
	size int64
}

// listFiles returns the files under input, a file or a directory read
// recursively, leaving out hidden names (and what is under them). A
// missing input is an error; an empty one is not.
func listFiles(ctx context.Context, ns namespace, input string) ([]file, error) {
	st, err := ns.Stat(ctx, input)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("hdfstext: source: input %s does not exist: %w", ns.URL(input), err)
		}
		return nil, fmt.Errorf("hdfstext: source: input %s: %w", ns.URL(input), err)
	}
	if !st.IsDir() {
		return []file{{input, st.Size}}, nil
	}
	var files []file
	var walk func(dir string) error
	walk = func(dir string) error {
		entries, err := ns.ReadDir(ctx, dir)
		if err != nil {
			return fmt.Errorf("hdfstext: source: list %s: %w", ns.URL(dir), err)
		}
		for _, e := range entries {
			if hidden(e.Name) {
				continue
			}
			p := path.Join(dir, e.Name)
			if e.IsDir() {
				if err := walk(p); err != nil {
					return err
				}
				continue
			}
			files = append(files, file{p, e.Size})
		}
		return nil
	}
	if err := walk(input); err != nil {
		return nil, err
	}
	return files, nil
}

// cutSplits cuts every non-empty file into splits of splitBytes, the last
// of each file up to splitSlop times that, and orders them largest first
// (by path and offset among equals, so the order is deterministic).
func cutSplits(files []file, splitBytes int64) []operator.Split {
	var splits []operator.Split
	for _, f := range files {
		off := int64(0)
		for float64(f.size-off) > splitSlop*float64(splitBytes) {
			splits = append(splits, operator.Split{Path: f.path, Start: off, Length: splitBytes})
			off += splitBytes
		}
		if f.size > off {
			splits = append(splits, operator.Split{Path: f.path, Start: off, Length: f.size - off})
		}
	}
	sort.SliceStable(splits, func(i, j int) bool { return splits[i].Length > splits[j].Length })
	return splits
}

// sizeSetting reads a positive byte count from config.
func sizeSetting(config map[string]string, key string, def int64) (int64, error) {
	v, ok := config[key]
	if !ok || v == "" {
		return def, nil
	}
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil || n < 1 {
		return 0, fmt.Errorf("hdfstext: config %q is %q: want a positive number of bytes", key, v)
	}
	return n, nil
}

// readSource is the source's Func: it reads the splits the JobManager
// hands it until none is left, emitting each line as Record{Value: line}.
func readSource(ctx context.Context, t *operator.Task) error {
	maxLine, err := sizeSetting(t.Config, ConfigMaxLineBytes, DefaultMaxLineBytes)
	if err != nil {
		return err
	}
	maxLine = min(maxLine, 1<<30)
	c, err := t.HDFS(ctx)
	if err != nil {
		return fmt.Errorf("hdfstext: source: %w", err)
	}
	for {
		s, ok, err := t.NextSplit(ctx)
		if err != nil {
			return fmt.Errorf("hdfstext: source: next split: %w", err)
		}
		if !ok {
			return nil
		}
		if err := readSplit(ctx, t, c, s, int(maxLine)); err != nil {
			return err
		}
	}
}

// readSplit emits the lines of one split.
func readSplit(ctx context.Context, t *operator.Task, c *hdfs.Client, s operator.Split, maxLine int) error {
	f, err := c.Open(ctx, s.Path)
	if err != nil {
		return fmt.Errorf("hdfstext: source: open %s: %w", s.Path, err)
	}
	defer f.Close()
	from := splitStart(s.Start)
	if _, err := f.Seek(from, io.SeekStart); err != nil {
		return fmt.Errorf("hdfstext: source: %s at %d: %w", s.Path, from, err)
	}
	var records int64
	read, err := splitLines(f, from, s.Start, s.Start+s.Length, lineBuffer, maxLine, func(line []byte) error {
		records++
		return t.Emit(ctx, operator.Record{Value: line})
	})
	cs := t.Counters()
	cs.Add(CounterSourceRecords, records)
	cs.Add(CounterSourceBytesRead, read)
	cs.Add(CounterSourceSplits, 1)
	if err != nil {
		return fmt.Errorf("hdfstext: source: %s split [%d, %d): %w", s.Path, s.Start, s.Start+s.Length, err)
	}
	return nil
}
