package hdfstext

import (
	"bytes"
	"context"
	"errors"
	"io"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/spindle-yarn/spindle/modes/operator"
)

// sliceInput is an Input of fixed records.
type sliceInput struct{ records []operator.Record }

func (s *sliceInput) Next(ctx context.Context) (operator.Record, error) {
	if err := ctx.Err(); err != nil {
		return operator.Record{}, err
	}
	if len(s.records) == 0 {
		return operator.Record{}, io.EOF
	}
	r := s.records[0]
	s.records = s.records[1:]
	return r, nil
}

// failingInput ends with err after its records.
type failingInput struct {
	sliceInput
	err error
}

func (f *failingInput) Next(ctx context.Context) (operator.Record, error) {
	r, err := f.sliceInput.Next(ctx)
	if err == io.EOF {
		return r, f.err
	}
	return r, err
}

// TestWriteRecords: records become Key TAB Value lines, or Value alone
// when the key is empty, over every input in order; the counts are what
// was written.
func TestWriteRecords(t *testing.T) {
	task := operator.NewTask(operator.Info{}, operator.Hooks{Inputs: []operator.Input{
		&sliceInput{[]operator.Record{
			{Key: []byte("straße"), Value: []byte("3")},
			{Value: []byte("no key")},
			{Key: []byte("k"), Value: nil},
		}},
		&sliceInput{[]operator.Record{{Key: []byte("x"), Value: []byte("a\tb")}}},
	}})
	var buf bytes.Buffer
	records, written, err := writeRecords(context.Background(), task, &buf)
	if err != nil {
		t.Fatal(err)
	}
	want := "straße\t3\nno key\nk\t\nx\ta\tb\n"
	if buf.String() != want {
		t.Errorf("wrote %q, want %q", buf.String(), want)
	}
	if records != 4 || written != int64(len(want)) {
		t.Errorf("counted %d records, %d bytes; want 4, %d", records, written, len(want))
	}
}

// TestWriteRecordsInputError: a broken input fails the write with its
// error.
func TestWriteRecordsInputError(t *testing.T) {
	boom := errors.New("producer failed")
	task := operator.NewTask(operator.Info{}, operator.Hooks{Inputs: []operator.Input{
		&failingInput{sliceInput{[]operator.Record{{Value: []byte("a")}}}, boom},
	}})
	if _, _, err := writeRecords(context.Background(), task, io.Discard); !errors.Is(err, boom) {
		t.Errorf("err %v, want %v", err, boom)
	}
}

// sinkFS is an output directory in memory where job "j" attempt 1 wrote
// two part files and its failed attempt 0 left one.
func sinkFS() *memFS {
	m := newMemFS()
	m.file("/out/_temporary/j-0/part-00000", 5)
	m.file("/out/_temporary/j-1/part-00000", 10)
	m.file("/out/_temporary/j-1/part-00001", 20)
	return m
}

// TestPublishOutput: success moves the attempt's part files into the
// output and removes the temporary directories; running it again (a
// JobManager restarted after it) changes nothing and succeeds.
func TestPublishOutput(t *testing.T) {
	ctx := context.Background()
	m := sinkFS()
	for run := range 2 {
		if err := publishOutput(ctx, m, "/out", "j", 1); err != nil {
			t.Fatalf("run %d: %v", run, err)
		}
		if diff := cmp.Diff([]string{"part-00000", "part-00001"}, m.tree(t, "/out")); diff != "" {
			t.Fatalf("run %d: output (-want +got):\n%s", run, diff)
		}
		if m.entries["/out/part-00001"] != 20 {
			t.Errorf("run %d: part-00001 is not attempt 1's", run)
		}
	}
}

// TestPublishOutputInterrupted: a commit that stops after moving one part
// file finishes when run again, though the output now holds visible files;
// and an abort after such a stop removes the moved file too.
func TestPublishOutputInterrupted(t *testing.T) {
	ctx := context.Background()
	m := sinkFS()
	m.failRename = 2
	if err := publishOutput(ctx, m, "/out", "j", 1); err == nil {
		t.Fatal("the second rename failed, yet publishOutput succeeded")
	}
	if err := publishOutput(ctx, m, "/out", "j", 1); err != nil {
		t.Fatalf("run again: %v", err)
	}
	if diff := cmp.Diff([]string{"part-00000", "part-00001"}, m.tree(t, "/out")); diff != "" {
		t.Fatalf("output (-want +got):\n%s", diff)
	}

	m = sinkFS()
	m.failRename = 2
	publishOutput(ctx, m, "/out", "j", 1)
	for run := range 2 {
		if err := abortOutput(ctx, m, "/out", "j"); err != nil {
			t.Fatalf("abort run %d: %v", run, err)
		}
		if got := m.tree(t, "/"); len(got) != 0 {
			t.Fatalf("abort run %d left %v", run, got)
		}
	}
}

// TestPublishOutputRefuses: an output already holding visible files is
// not published into; the job's temporary files are removed and the
// visible ones kept, and the error says which directory and what to do.
func TestPublishOutputRefuses(t *testing.T) {
	ctx := context.Background()
	m := sinkFS()
	m.file("/out/old-result", 3)
	m.file("/out/_SUCCESS", 0)
	err := publishOutput(ctx, m, "/out", "j", 1)
	if !errors.Is(err, ErrOutputExists) {
		t.Fatalf("err %v, want ErrOutputExists", err)
	}
	for _, want := range []string{"hdfs://nn.example:8020/out", "old-result", "choose another output directory", "hdfs dfs -rm -r /out"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not say %q", err, want)
		}
	}
	if diff := cmp.Diff([]string{"_SUCCESS", "old-result"}, m.tree(t, "/out")); diff != "" {
		t.Errorf("output (-want +got):\n%s", diff)
	}
}

// TestAbortOutput: a failed job leaves nothing: its attempts' directories
// go, and so does the output directory once empty; another job's
// temporary directory and visible files are kept; running it again or on
// a missing output succeeds.
func TestAbortOutput(t *testing.T) {
	ctx := context.Background()
	m := sinkFS()
	for run := range 2 {
		if err := abortOutput(ctx, m, "/out", "j"); err != nil {
			t.Fatalf("run %d: %v", run, err)
		}
		if got := m.tree(t, "/"); len(got) != 0 {
			t.Fatalf("run %d left %v", run, got)
		}
	}

	m = sinkFS()
	m.file("/out/_temporary/j-2x/part-00000", 1) // not an attempt of j
	m.file("/out/_temporary/jj-0/part-00000", 1)
	if err := abortOutput(ctx, m, "/out", "j"); err != nil {
		t.Fatal(err)
	}
	want := []string{"_temporary/", "_temporary/j-2x/", "_temporary/j-2x/part-00000", "_temporary/jj-0/", "_temporary/jj-0/part-00000"}
	if diff := cmp.Diff(want, m.tree(t, "/out")); diff != "" {
		t.Errorf("output (-want +got):\n%s", diff)
	}

	m = sinkFS()
	m.file("/out/mine", 1)
	if err := abortOutput(ctx, m, "/out", "j"); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"mine"}, m.tree(t, "/out")); diff != "" {
		t.Errorf("output (-want +got):\n%s", diff)
	}
}

// TestCheckOutput: missing, empty or hidden-only outputs pass; a file or
// a directory with visible files fails with ErrOutputExists.
func TestCheckOutput(t *testing.T) {
	ctx := context.Background()
	m := newMemFS()
	m.MkdirAll(ctx, "/empty", 0o755)
	m.file("/hidden/_SUCCESS", 0)
	m.file("/hidden/.part-00000.crc", 0)
	m.file("/hidden/_temporary/j-0/part-00000", 1)
	m.file("/full/part-00000", 1)
	m.file("/afile", 1)
	for p, want := range map[string]bool{"/missing": false, "/empty": false, "/hidden": false, "/full": true, "/afile": true} {
		err := checkOutput(ctx, m, p)
		if got := errors.Is(err, ErrOutputExists); got != want || (err != nil && !got) {
			t.Errorf("%s: err %v, want ErrOutputExists %v", p, err, want)
		}
	}
}

// TestPublishOutputNothingWritten: a commit with neither the attempt's
// directory nor the output fails rather than report an output that does
// not exist.
func TestPublishOutputNothingWritten(t *testing.T) {
	if err := publishOutput(context.Background(), newMemFS(), "/out", "j", 0); err == nil {
		t.Error("publishOutput succeeded with nothing written")
	}
}
