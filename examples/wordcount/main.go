// Command wordcount counts the words of text files in HDFS on YARN and
// writes `word<TAB>count` part files to HDFS: the example job of Spindle's
// Application and Per-Job modes.
//
//	wordcount run -t yarn-application|yarn-per-job [-d] -input hdfs:///dir -output hdfs:///dir [-parallelism N] [-queue Q]
//	wordcount run ... -keytab FILE -principal P      # Kerberos; without them the ticket cache is used
//
// It exits 0 only when the job succeeded; the output directory then holds
// part files and nothing else visible. With -d it prints the application
// id on a line of its own and exits once the application is submitted.
//
// The same binary is the client, the JobManager and the TaskManagers:
// modes.Main takes the role YARN started it in.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"strconv"
	"time"

	"github.com/spindle-yarn/spindle/examples/wordcount/wc"
	"github.com/spindle-yarn/spindle/jobgraph"
	"github.com/spindle-yarn/spindle/modes"
)

func main() {
	var input, output string
	var failOnce, failAlways bool
	var restarts, hogMemory, pauseMS int
	var failProbability float64
	var failSeed uint64
	var failAttempts int
	modes.Main(modes.Program{
		Name: "wordcount",
		Flags: func(fs *flag.FlagSet) {
			fs.StringVar(&input, "input", "", "HDFS directory or file of text to count (hdfs:///path or /path)")
			fs.StringVar(&output, "output", "", "HDFS directory to write the counts to; must not hold files yet")
			fs.IntVar(&restarts, "restarts", 3, "restarts of a failed job (fixed delay of 1 s)")
			fs.BoolVar(&failOnce, "fail-once", false, "testing: the first attempt's tokenizer fails midway")
			fs.BoolVar(&failAlways, "fail-always", false, "testing: every attempt's tokenizer fails")
			fs.Float64Var(&failProbability, "fail-probability", 0, "testing: each tokenize and count subtask fails with this probability in each of the first -fail-attempts job attempts (0: off)")
			fs.Uint64Var(&failSeed, "fail-seed", 0, "testing: seed of -fail-probability's draws, which repeat with it (0: drawn from the clock and printed)")
			fs.IntVar(&failAttempts, "fail-attempts", 1, "testing: the job attempts, from the first, in which -fail-probability fails subtasks")
			fs.IntVar(&pauseMS, "pause-ms", 0, "testing: the tokenizers pause this many ms after every 1000 lines they read, so that the job runs for a while")
			fs.IntVar(&hogMemory, "hog-memory", 0, "testing: every attempt's tokenizer allocates and touches this many MiB, so that a smaller TaskManager container is killed for exceeding its memory (0: off)")
		},
		Main: func(ctx context.Context, env *modes.Env) error {
			if input == "" || output == "" {
				return errors.New("-input and -output are required, e.g. -input hdfs:///user/alice/books -output hdfs:///user/alice/counts")
			}
			g := Graph(input, output, env.Parallelism())
			g.Name = "wordcount"
			g.Restart = jobgraph.RestartStrategy{}
			if restarts > 0 {
				g.Restart = jobgraph.FixedDelay(restarts, time.Second)
			}
			if failOnce || failAlways {
				if g.Config == nil {
					g.Config = map[string]string{}
				}
				if failOnce {
					g.Config[configFail] = "once"
				} else {
					g.Config[configFail] = "always"
				}
			}
			if hogMemory > 0 || pauseMS > 0 {
				if g.Config == nil {
					g.Config = map[string]string{}
				}
				if hogMemory > 0 {
					g.Config[configHogMemory] = strconv.Itoa(hogMemory)
				}
				if pauseMS > 0 {
					g.Config[configPause] = strconv.Itoa(pauseMS)
				}
			}
			if failProbability > 0 {
				if failSeed == 0 {
					failSeed = uint64(time.Now().UnixNano())
				}
				if g.Config == nil {
					g.Config = map[string]string{}
				}
				g.Config[wc.ConfigFailProbability] = strconv.FormatFloat(failProbability, 'g', -1, 64)
				g.Config[wc.ConfigFailSeed] = strconv.FormatUint(failSeed, 10)
				g.Config[wc.ConfigFailAttempts] = strconv.Itoa(failAttempts)
				msg := fmt.Sprintf("wordcount: tokenize and count subtasks fail with probability %g in job attempts below %d, -fail-seed %d", failProbability, failAttempts, failSeed)
				if env.InCluster() {
					env.Logger().Warn(msg)
				} else {
					fmt.Fprintln(os.Stderr, msg)
				}
			}
			r, err := env.Execute(ctx, g)
			if err != nil {
				return err
			}
			if env.InCluster() {
				env.Logger().Info("wordcount finished", "job", r.JobID, "counters", r.Counters)
			} else if r.State != "submitted" {
				fmt.Printf("wordcount: %s -> %s\n", input, output)
			}
			return nil
		},
	})
}
