#!/usr/bin/env bash
# Runs Spindle's Hadoop test bed in the foreground until interrupted.
#
#   integration/testbed/run.sh DIR [--kerberos] [--ha] [--rpc-protection LEVELS] ...
#
# DIR receives conf/ (a Hadoop client configuration: core-, hdfs-, yarn-site.xml,
# and in Kerberos mode krb5.conf and keytabs), work/ and ready.json.
# The first run resolves Hadoop from Maven Central into ~/.m2; later runs reuse it.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
[ $# -ge 1 ] || { echo "usage: $0 DIR [TestBed options]" >&2; exit 2; }
dir=$1; shift
# conf/ must exist before Java starts: it is on the classpath (the
# CapacityScheduler reads capacity-scheduler.xml from there). site/, ahead
# of it, holds the site files this JVM reads (TestBed.writeClientConf).
mkdir -p "$dir/conf" "$dir/site"
dir=$(cd "$dir" && pwd)

"$here/build.sh"

java_bin=${JAVA:-java}
if [ -z "${JAVA_HOME:-}" ]; then
  JAVA_HOME=$(dirname "$(dirname "$(readlink -f "$(command -v "$java_bin")")")")
fi
export JAVA_HOME
export HADOOP_CONF_DIR="$dir/conf"
opts=(
  -XX:+IgnoreUnrecognizedVMOptions
  --add-opens=java.base/java.io=ALL-UNNAMED
  --add-opens=java.base/java.lang=ALL-UNNAMED
  --add-opens=java.base/java.lang.reflect=ALL-UNNAMED
  --add-opens=java.base/java.math=ALL-UNNAMED
  --add-opens=java.base/java.net=ALL-UNNAMED
  --add-opens=java.base/java.nio=ALL-UNNAMED
  --add-opens=java.base/java.text=ALL-UNNAMED
  --add-opens=java.base/java.util=ALL-UNNAMED
  --add-opens=java.base/java.util.concurrent=ALL-UNNAMED
  --add-opens=java.base/java.util.zip=ALL-UNNAMED
  --add-opens=java.base/sun.nio.ch=ALL-UNNAMED
  --add-opens=java.base/sun.security.util=ALL-UNNAMED
  --add-opens=java.base/sun.security.x509=ALL-UNNAMED
  --add-exports=java.security.jgss/sun.security.krb5=ALL-UNNAMED
  # Full tiered compilation, C2 for hot code: the bed runs for minutes, and
  # starts as fast as with C1 alone (-XX:TieredStopAtLevel=1, measured
  # 10.5 s vs 10.8 s), whose code made the NodeManagers' per-container work
  # (XML parsing, mostly) slower once warm.
  -Xmx2g -XX:+UseSerialGC
  -Djava.net.preferIPv4Stack=true
)
cd "$dir"
exec "$JAVA_HOME/bin/java" "${opts[@]}" \
  -cp "$dir/site:$dir/conf:$here/target/classes:$(cat "$here/target/classpath.txt")" \
  io.spindle.testbed.TestBed --dir "$dir" "$@"
