package cli

import (
	"bytes"
	"os"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/spindle-yarn/spindle/hdfs"
)

func TestProgressBar(t *testing.T) {
	var buf bytes.Buffer
	clock := time.Unix(0, 0)
	bar := progressBar(&buf, func() time.Time { return clock })
	bar(hdfs.Progress{FilesTotal: 2, BytesTotal: 4 << 20, BytesDone: 1 << 20})
	clock = clock.Add(50 * time.Millisecond)
	bar(hdfs.Progress{FilesTotal: 2, BytesTotal: 4 << 20, BytesDone: 2 << 20}) // too soon: skipped
	clock = clock.Add(10 * time.Millisecond)
	bar(hdfs.Progress{FilesDone: 2, FilesTotal: 2, BytesTotal: 4 << 20, BytesDone: 4 << 20}) // the end is always drawn
	want := "\r\x1b[Kstaging [#######.......................] 0/2 files, 1.0 MiB of 4.0 MiB" +
		"\r\x1b[Kstaging [##############################] 2/2 files, 4.0 MiB of 4.0 MiB\n"
	if d := cmp.Diff(want, buf.String()); d != "" {
		t.Errorf("output (-want +got):\n%q", d)
	}
}

func TestStagingProgressNotATerminal(t *testing.T) {
	f, err := os.CreateTemp(t.TempDir(), "out")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if StagingProgress(f) != nil {
		t.Error("a progress bar for a plain file")
	}
}
