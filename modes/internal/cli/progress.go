package cli

import (
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/spindle-yarn/spindle/hdfs"
)

// StagingProgress renders staging progress (deploy.Request.Progress) on one
// redrawn line of w, at most ten times a second; nil when w is not a
// terminal, where a log of redraws would only be noise.
func StagingProgress(w *os.File) func(hdfs.Progress) {
	if fi, err := w.Stat(); err != nil || fi.Mode()&os.ModeCharDevice == 0 {
		return nil
	}
	return progressBar(w, time.Now)
}

func progressBar(w io.Writer, now func() time.Time) func(hdfs.Progress) {
	var last time.Time
	return func(p hdfs.Progress) {
		done := p.FilesDone == p.FilesTotal
		t := now()
		if !done && t.Sub(last) < 100*time.Millisecond {
			return
		}
		last = t
		const width = 30
		filled := width
		if p.BytesTotal > 0 {
			filled = int(int64(width) * p.BytesDone / p.BytesTotal)
		}
		fmt.Fprintf(w, "\r\x1b[Kstaging [%s%s] %d/%d files, %s of %s", strings.Repeat("#", filled), strings.Repeat(".", width-filled),
			p.FilesDone, p.FilesTotal, mib(p.BytesDone), mib(p.BytesTotal))
		if done {
			fmt.Fprintln(w)
		}
	}
}

func mib(n int64) string { return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20)) }
