#!/usr/bin/env bash
# Runs the integration tests once per test bed mode and prints, per mode and
# in total, how many passed, failed and were skipped (a test skipped in one
# mode runs in another: Kerberos-only tests run in the kerberos mode).
#
#   integration/run-suite.sh [MODE...]      modes: plain kerberos ha (default: all)
set -uo pipefail
cd "$(dirname "$0")/.."
modes=("$@")
[ ${#modes[@]} -gt 0 ] || modes=(plain kerberos ha)
logdir=${SPINDLE_TEST_LOGS:-$(mktemp -d)}
mkdir -p "$logdir"
total_pass=0 total_fail=0 total_skip=0 status=0
summary=() failures=()
for mode in "${modes[@]}"; do
  log="$logdir/integration-$mode.log"
  echo "=== integration tests, $mode test bed (log: $log)"
  SPINDLE_TESTBED_MODE=$mode go test -race -count=1 -tags integration -v -timeout 40m \
    ${SPINDLE_TEST_RUN:+-run "$SPINDLE_TEST_RUN"} ./integration/... 2>&1 | tee "$log"
  rc=${PIPESTATUS[0]}
  pass=$(grep -cE '^\s*--- PASS' "$log")
  fail=$(grep -cE '^\s*--- FAIL' "$log")
  skip=$(grep -cE '^\s*--- SKIP' "$log")
  if [ "$rc" -ne 0 ] && [ "$fail" -eq 0 ]; then
    fail=1 # the binary failed outside any test (e.g. the test bed did not start)
  fi
  [ "$rc" -eq 0 ] || status=1
  summary+=("integration $mode: $pass passed, $fail failed, $skip skipped")
  [ "$fail" -eq 0 ] || failures+=("$(LC_ALL=C awk -v mode="$mode" -v keep=12 -f integration/failures.awk "$log")")
  total_pass=$((total_pass + pass)) total_fail=$((total_fail + fail)) total_skip=$((total_skip + skip))
done
echo
# What failed, last: CI keeps the tail of a run's output.
[ ${#failures[@]} -eq 0 ] || printf '%s\n' "${failures[@]}"
printf '%s\n' "${summary[@]}"
echo "integration: $total_pass passed, $total_fail failed, $total_skip skipped"
exit $status
