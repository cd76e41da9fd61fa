// Package hdfstext is Spindle's built-in HDFS text source and sink: two
// operators a job graph uses by name, registered when a program imports
// this package.
//
// The source, SourceOperator, reads the files of an HDFS directory (and
// its subdirectories), or one file, as lines; names starting with "_" or
// "." are left out, as Hadoop's FileInputFormat does. Its Splitter, run in the JobManager when a job attempt
// starts, lists the input and cuts every file into byte ranges (splits) of
// about "split-bytes"; the source subtasks then ask for splits one at a
// time (operator.Task.NextSplit), so a fast subtask takes more of them.
// Lines are cut as Hadoop's LineRecordReader cuts them: a line belongs to
// the split its first byte is in, so a split skips the partial line it
// starts in and reads past its end to finish its last line; over all
// splits every line is read exactly once. Each line is emitted as
// Record{Value: line}, without its "\n" (and without a "\r" before it);
// unlike Hadoop, a lone "\r" does not end a line.
//
// The sink, SinkOperator, writes each record it receives as a line,
// Key TAB Value (or Value alone when Key is empty), to a part file of its
// own under <output>/_temporary/<job>-<attempt>/. Nothing there is visible
// to readers that skip names starting with "_" or "." (as Hadoop's tools
// and this package's source do). Its Committer, run in the JobManager when
// the job ends, publishes the attempt's part files into <output> when the
// job succeeded, and removes everything the job wrote when it failed or
// was cancelled, so a failed job leaves no visible output.
//
// Source and Sink build the vertices; CheckOutput lets a client refuse an
// output directory that already holds files before it submits anything.
//
// # Configuration
//
// Vertex (or job) configuration keys, all strings:
//
//	input           source: the directory or file to read, hdfs:///path or /path (required)
//	split-bytes     source: the size splits are cut to; default 64 MiB
//	max-line-bytes  source: the longest line accepted; default 64 MiB
//	output          sink: the directory to publish part files in (required)
//
// # Errors
//
// A subtask fails with an error naming the file and offset it was at; a
// line longer than max-line-bytes fails the subtask rather than being
// skipped. The Committer refuses to publish into a directory that already
// holds visible files, with an error matching ErrOutputExists.
package hdfstext
