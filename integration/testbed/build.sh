#!/usr/bin/env bash
# Compiles the test bed and writes its classpath, unless both are newer than
# the sources. Serialized with flock so parallel callers build once.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
cd "$here"
mkdir -p target
exec 9>target/.build.lock
flock 9
stamp=target/.built
if [ -f "$stamp" ] && [ -z "$(find pom.xml src -newer "$stamp" -print -quit)" ]; then
  exit 0
fi
echo "testbed: building (Maven resolves Hadoop into ~/.m2 on first use)..." >&2
mvn -B -q ${MAVEN_ARGS:-} compile dependency:build-classpath -Dmdep.outputFile=target/classpath.txt >&2
touch "$stamp"
