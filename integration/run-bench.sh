#!/usr/bin/env bash
# Runs every benchmark beside Hadoop's Java tools on one plain test bed and
# prints Markdown tables (make bench). Not part of make test.
#
#   integration/run-bench.sh          everything (the 1 GiB staging benchmark
#                                     alone takes 15 minutes or more, most of
#                                     it Hadoop's FsShell; wordcount against
#                                     MapReduce on 1 GiB another 15 or more)
#   QUICK=1 integration/run-bench.sh  everything but the staging benchmark,
#                                     and wordcount on 256 MiB
#
# With SPINDLE_TESTBED_DIR set it uses the plain test bed running there;
# otherwise it starts one (about 15 s and 1.5 GB of memory) with MapReduce's
# shuffle service in its NodeManagers (--mapreduce, for Hadoop's WordCount)
# and stops it at the end. On a bed started without --mapreduce the
# wordcount benchmark runs Spindle alone.
set -euo pipefail
cd "$(dirname "$0")/.."

if [ -z "${SPINDLE_TESTBED_DIR:-}" ]; then
  dir=$(mktemp -d "${TMPDIR:-/tmp}/spindle-bench-XXXXXX")
  integration/testbed/run.sh "$dir" --mapreduce >"$dir/testbed.out" 2>&1 &
  bed=$!
  trap 'kill "$bed" 2>/dev/null; wait "$bed" 2>/dev/null || true; rm -rf "$dir"' EXIT
  for _ in $(seq 600); do
    [ -f "$dir/ready.json" ] && break
    kill -0 "$bed" 2>/dev/null || { echo "the test bed did not start:"; tail -30 "$dir/testbed.out"; exit 1; }
    sleep 0.5
  done
  [ -f "$dir/ready.json" ] || { echo "the test bed was not ready after 5 minutes"; exit 1; }
  export SPINDLE_TESTBED_DIR=$dir
fi
export SPINDLE_TESTBED_MODE=plain

# table turns `go test -bench` result lines into Markdown rows: the
# benchmark's name, then its reported values with their units in one cell;
# other output (the tables benchmarks print themselves) passes through.
table() {
  awk '/^Benchmark/ {
    name = $1; sub(/-[0-9]+$/, "", name)
    row = ""
    for (i = 3; i < NF; i += 2) row = row (row == "" ? "" : ", ") $i " " $(i+1)
    print "| " name " | " row " |"
    n++
  }
  !/^(Benchmark|goos|goarch|pkg|cpu|PASS|ok|testbed)/ { print }
  END { if (n == 0) exit 1 }'
}

echo "## yarn/engine against a scripted ResourceManager"
echo
echo "| benchmark | results |"
echo "|---|---|"
go test -run '^$' -bench 'BenchmarkEngine10000|BenchmarkHeartbeat1000Outstanding' -benchmem ./yarn/engine/ | table
echo

echo "## getClusterMetrics calls/s, Spindle's RMClient vs Hadoop's YarnClient (Java after a 200-call warm-up)"
echo
echo "| benchmark | results |"
echo "|---|---|"
go test -tags integration -run '^$' -bench 'BenchmarkRMClusterMetrics' -benchtime 3000x ./integration/ | table
echo
echo "## AM client allocation rate (16 containers a round, released each round)"
echo
echo "| benchmark | results |"
echo "|---|---|"
go test -tags integration -run '^$' -bench 'BenchmarkAMAllocate' -benchtime 300x ./integration/ | table
echo

echo "## dshell (on yarn/engine) vs Hadoop's DistributedShell"
go test -tags integration -run '^$' -bench BenchmarkDshellVersusDistributedShell -benchtime 1x -timeout 60m ./integration/ | table
echo

if [ -z "${QUICK:-}" ]; then
  echo "## Staging vs hdfs dfs -put"
  go test -tags integration -run '^$' -bench BenchmarkStagingVersusFsShell -benchtime 1x -timeout 120m ./integration/ | table
fi

echo "## exchange through a hash edge between two Servers on loopback (4 producers → 4 consumers, 100-byte records)"
echo
echo "| encryption | MiB/s | records/s | B/op | allocs/op |"
echo "|---|---|---|---|---|"
go test -run '^$' -bench BenchmarkExchangeHash -benchmem -benchtime 2000000x ./modes/internal/exchange/ |
  awk '/^BenchmarkExchangeHash\// {
    enc = $1; sub(/^.*encrypt=/, "", enc); sub(/-[0-9]+$/, "", enc)
    for (i = 3; i < NF; i += 2) v[$(i+1)] = $i
    printf "| %s | %.1f | %.0f | %s | %s |\n", (enc == "true" ? "mutual TLS 1.3" : "none"), v["MB/s"] * 1e6 / 1048576, v["records/s"], v["B/op"], v["allocs/op"]
    n++
  }
  END { if (n == 0) exit 1 }'
echo

echo "## wordcount vs Hadoop MapReduce's WordCount, same bed, same run"
SPINDLE_WORDCOUNT_BENCH_MIB=${QUICK:+256} go test -tags integration -run '^$' -bench BenchmarkWordcountVersusMapReduce -benchtime 1x -timeout 120m ./integration/ | table
echo

echo "## wordcount: client start → every subtask running (goal ≤ 3 s)"
go test -tags integration -run '^$' -bench BenchmarkWordcountStartup -benchtime 1x -timeout 30m ./integration/ | table
echo

echo "## Session: submit → every subtask running, a TaskManager of the job's identity idle (warm) and none (cold); goal < 0.5 s warm"
go test -tags integration -run '^$' -bench BenchmarkSessionSubmit -benchtime 1x -timeout 30m ./integration/ | table
echo

echo "## 50 tiny jobs: one session vs 50 Application-mode deployments, wall time and RM calls; goal: the session ≥ 5× faster"
go test -tags integration -run '^$' -bench BenchmarkSessionVersusApplication -benchtime 1x -timeout 60m ./integration/ | table
