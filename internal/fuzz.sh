#!/usr/bin/env bash
# Runs every fuzz target in the module briefly (FUZZTIME, default 10000
# executions each), so `make test` exercises the decoders of network bytes
# beyond their seeds.
#
# The budget is a count, not a duration: with a duration, go1.26's fuzz
# coordinator can report its own deadline as a failure on a loaded machine
# (golang/go#75804, fixed in Go 1.27); a count has no deadline to race.
set -euo pipefail
cd "$(dirname "$0")/.."
fuzztime=${FUZZTIME:-10000x}
n=0
while IFS= read -r file; do
  dir=$(dirname "$file")
  for target in $(grep -oE '^func (Fuzz[A-Za-z0-9_]+)\(' "$file" | sed -E 's/^func (Fuzz[A-Za-z0-9_]+)\(/\1/'); do
    # A target whose every execution is costly (one that runs real
    # processes) names a smaller budget on the line above it:
    #   // fuzz budget: 2000x
    budget=$fuzztime
    if [ -z "${FUZZTIME:-}" ]; then
      b=$(grep -B1 -E "^func ${target}\(" "$file" | sed -nE 's|^// fuzz budget: ([0-9]+x)$|\1|p')
      [ -n "$b" ] && budget=$b
    fi
    echo "fuzz: $dir $target ($budget)"
    go test -run '^$' -fuzz "^${target}\$" -fuzztime "$budget" -fuzzminimizetime 5s "$dir" >/tmp/spindle-fuzz.log 2>&1 || {
      cat /tmp/spindle-fuzz.log; echo "fuzz: $target in ./$dir failed"; exit 1; }
    n=$((n + 1))
  done
done < <(grep -rlE '^func Fuzz' --include='*_test.go' . | grep -v '/testdata/' | sort)
echo "fuzz: $n targets ran, $fuzztime each unless a target names its own budget"
