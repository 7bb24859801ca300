#!/usr/bin/env bash
# Here (the CPU machine): prepare .device/ for a run on the GPU machine, which has no Java and no network:
# a jlinked JDK 25 runtime, the tinyrt jar with its dependencies, and the JBang scripts compiled to classes
# (the runtime there has no compiler). Carry ".device" in the device call.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
export JAVA_HOME="${JAVA_HOME:-/usr/lib/jvm/temurin-25-jdk-amd64}"
export PATH="$JAVA_HOME/bin:$PATH"
cd "$root"
mkdir -p .device
grep -qxF '/.device/' .git/info/exclude 2>/dev/null || echo '/.device/' >> .git/info/exclude
if [ ! -f .device/jre.tar.xz ]; then
  bash "${PACK_JRE:-$root/../shared/device/pack-jre.sh}" "$root"
fi
rm -rf .device/lib .device/scripts
# Charts and tables (Tablesaw and its large dependencies) are made here from the JSON that comes back, never
# there: leaving them out keeps the carried tree under the device's 64 MiB.
mvn -q -B -f lib/pom.xml -DskipTests package dependency:copy-dependencies -DincludeScope=runtime \
  -DexcludeGroupIds=tech.tablesaw,it.unimi.dsi,com.ibm.icu,com.google.guava,org.apache.commons,org.roaringbitmap,io.github.classgraph,io.pebbletemplates,com.univocity,org.unbescape,org.checkerframework,com.google.j2objc,com.google.code.findbugs \
  -DoutputDirectory="$root/.device/lib"
cp lib/target/tinyrt-*.jar .device/lib/
# the GPU machine is linux-x86_64: DJL's tokenizer libraries for other platforms only cost carried megabytes
zip -q -d .device/lib/tokenizers-*.jar 'native/lib/linux-aarch64/*' 'native/lib/osx-*' 'native/lib/win-*' || true
mkdir -p .device/scripts
javac -d .device/scripts -cp ".device/lib/*" --add-modules jdk.incubator.vector -proc:none jbang-scripts/*.java 2>&1 \
  | grep -v '^Note:' || true
git rev-parse HEAD > .device/commit
# the copy sent to the GPU machine has no .git: record whether results there come from a committed tree
git diff --quiet HEAD && echo true > .device/clean || echo false > .device/clean
du -sh .device
