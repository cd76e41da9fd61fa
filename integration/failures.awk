# Reads `go test -v` output and prints, for each test that failed, its name
# and the last lines it logged (t.Log/t.Error lines, "file_test.go:N: ..."),
# so the end of a long run names what failed and why even when only its
# tail is kept. Output of parallel tests interleaves; go test marks each
# switch with "=== RUN/CONT/NAME TestX", which is how lines are attributed.
#
#   awk -v mode=plain -v keep=12 -f integration/failures.awk integration-plain.log
function trim(s) { return length(s) > 400 ? substr(s, 1, 400) "…" : s }
/^=== (RUN|CONT|NAME|PAUSE) / { cur = $3; next }
/^[ \t]*--- (PASS|SKIP)/ { next }
/^[ \t]*--- FAIL: / {
  name = $3
  if (!(name in seen)) { seen[name] = 1; order[++n] = name; dur[name] = $4 }
  next
}
/^[ \t]+[A-Za-z0-9_]+\.go:[0-9]+: / && cur != "" {
  c = ++count[cur]
  line[cur, c] = trim($0)
  next
}
END {
  if (n == 0) exit
  printf "--- integration %s: %d failed test(s)\n", mode, n
  for (i = 1; i <= n; i++) {
    t = order[i]
    printf "FAILED %s %s\n", t, dur[t]
    c = count[t]
    from = c - keep + 1
    if (from < 1) from = 1
    for (j = from; j <= c; j++) print line[t, j]
  }
}
