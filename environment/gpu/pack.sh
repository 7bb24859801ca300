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
# only the modules tinyrt uses there (jdk.jfr: tune_batch.sh records the executor): the full default list costs
# ~6 MB of the carried 64 MiB
export JRE_MODULES="${JRE_MODULES:-java.base,jdk.incubator.vector,java.logging,java.management,jdk.management,jdk.unsupported,java.net.http,java.xml,jdk.zipfs,jdk.jfr}"
if [ ! -f .device/jre.tar.xz ] || ! xz -t .device/jre.tar.xz 2>/dev/null; then
  bash "${PACK_JRE:-$root/../shared/device/pack-jre.sh}" "$root"
  # the tracked tree plus .device must stay under 64 MiB: recompress the runtime harder
  tmp=$(mktemp -d); tar -C "$tmp" -xJf .device/jre.tar.xz; tar -C "$tmp" -cf - jre | xz -9e -T2 > .device/jre.tar.xz; rm -rf "$tmp"
fi
rm -rf .device/lib .device/lib.tar.xz .device/scripts
# Charts and tables (Tablesaw and its large dependencies) are made here from the JSON that comes back, never
# there: leaving them out keeps the carried tree under the device's 64 MiB.
mvn -q -B -f lib/pom.xml -DskipTests package dependency:copy-dependencies -DincludeScope=runtime \
  -DexcludeGroupIds=tech.tablesaw,it.unimi.dsi,com.ibm.icu,com.google.guava,org.apache.commons,org.roaringbitmap,io.github.classgraph,io.pebbletemplates,com.univocity,org.unbescape,org.checkerframework,com.google.j2objc,com.google.code.findbugs \
  -DoutputDirectory="$root/.device/lib"
cp lib/target/tinyrt-*.jar .device/lib/
# the GPU machine is linux-x86_64: DJL's tokenizer libraries for other platforms only cost carried megabytes
zip -q -d .device/lib/tokenizers-*.jar 'native/lib/linux-aarch64/*' 'native/lib/osx-*' 'native/lib/win-*' || true
for jar in .device/lib/jna-*.jar; do
  zip -q -d "$jar" $(unzip -Z1 "$jar" | grep -E '^com/sun/jna/[a-z0-9]+-[a-z0-9-]+/' | grep -v '^com/sun/jna/linux-x86-64/') || true
done
mkdir -p .device/scripts
javac -d .device/scripts -cp ".device/lib/*" --add-modules jdk.incubator.vector -proc:none jbang-scripts/*.java 2>&1 \
  | grep -v '^Note:' || true
# jars re-stored uncompressed and the lot xz-compressed: about 6 MB less to carry than the deflated jars
stored=$(mktemp -d)
for jar in .device/lib/*.jar; do
  x=$(mktemp -d); unzip -q -o "$jar" -d "$x"
  ( cd "$x" && { [ -f META-INF/MANIFEST.MF ] && zip -q -0 -X "$stored/$(basename "$jar")" META-INF/MANIFEST.MF || true; } \
      && zip -q -0 -X -r "$stored/$(basename "$jar")" . -x META-INF/MANIFEST.MF )
  rm -rf "$x"
done
mkdir -p "$stored/out" && mv "$stored"/*.jar "$stored/out/"
tar -C "$stored/out" -cf - . | xz -9 -T2 > .device/lib.tar.xz
rm -rf "$stored" lib/target/device-lib && mv .device/lib lib/target/device-lib  # kept for local use, not carried
git rev-parse HEAD > .device/commit
# the copy sent to the GPU machine has no .git: record whether results there come from a committed tree
git diff --quiet HEAD && echo true > .device/clean || echo false > .device/clean
du -sh .device
