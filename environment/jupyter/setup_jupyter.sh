#!/usr/bin/env bash
# Notebook set-up, called by environment/setup.sh (idempotent; safe to run alone too):
#   bash environment/jupyter/setup_jupyter.sh
# Installs, only where missing:
#   - Jupyter from Debian (jupyter-nbconvert, jupyter-client, python3-nbclient; no notebook server, no pip),
#   - the Java 25 kernel rapaio-jupyter-kernel 3.0.1 from Maven Central, with our fixes for its start-up races
#     (kernel-fix/, see README.md here) on the class path before the kernel's jar,
#   - plotly.js-dist-min 2.35.3 from npm, sha256-checked, which dev.tinyrt.notebook inlines into notebooks,
#   - the kernelspec "tinyrt-java": JDK 25, the Vector API and native-access flags, the tinyrt library on the
#     class path (from ~/.m2, where setup.sh installs it), and ~/.m2 as the cache of %dependency.
# Needs JAVA_HOME = JDK 25 and Maven (setup.sh checks both first).
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
RJK_VERSION=3.0.1
PLOTLY_VERSION=2.35.3
PLOTLY_SHA256=fc84e3cfa55d23d3654c562ea5deb3c274eb6972a6adf66941d1a821e34825e4
KERNEL_NAME=tinyrt-java
python=/usr/bin/python3   # Debian's python has nbformat/nbclient; a pyenv python3 first on PATH does not

: "${JAVA_HOME:?setup_jupyter.sh needs JAVA_HOME set to JDK 25}"
tools="${TINYRT_TOOLS:-$HOME/.local/share/tinyrt}"
log() { echo "setup (notebooks): $*"; }

# --- Jupyter from Debian: just enough to execute and export notebooks headless ---
missing=()
for pkg in jupyter-nbconvert jupyter-client python3-nbclient; do dpkg -s "$pkg" >/dev/null 2>&1 || missing+=("$pkg"); done
if [ ${#missing[@]} -gt 0 ]; then
  log "installing ${missing[*]}"
  sudo=""; [ "$(id -u)" -ne 0 ] && sudo="sudo"
  $sudo apt-get update -qq
  $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# --- the kernel: jar from Maven Central, our two fixed classes compiled into a jar placed before it ---
kernel_dir="$("$python" -c 'from jupyter_core.paths import jupyter_data_dir; print(jupyter_data_dir())')/kernels/$KERNEL_NAME"
mkdir -p "$kernel_dir"
rjk_jar="$kernel_dir/rapaio-jupyter-kernel-$RJK_VERSION.jar"
if [ ! -f "$rjk_jar" ]; then
  log "fetching rapaio-jupyter-kernel $RJK_VERSION from Maven Central"
  mvn -q -B dependency:copy -Dartifact="io.github.padreati:rapaio-jupyter-kernel:$RJK_VERSION" \
      -DoutputDirectory="$kernel_dir"
fi
fix_sources=("$here"/kernel-fix/org/rapaio/jupyter/kernel/channels/*.java)
fix_jar="$kernel_dir/kernel-fix.jar"
if [ ! -f "$fix_jar" ] || [ -n "$(find "${fix_sources[@]}" -newer "$fix_jar")" ]; then
  log "compiling the kernel start-up fixes (LoopThread, Channels)"
  build="$(mktemp -d)"
  "$JAVA_HOME/bin/javac" -nowarn --release 25 -cp "$rjk_jar" -d "$build" "${fix_sources[@]}"
  "$JAVA_HOME/bin/jar" --create --file "$fix_jar" -C "$build" .
  rm -rf "$build"
fi

# --- plotly.js, inlined once per notebook by dev.tinyrt.notebook (the CDN is unreachable) ---
plotly_js="$tools/plotly/plotly-$PLOTLY_VERSION.min.js"
if [ ! -f "$plotly_js" ] || ! echo "$PLOTLY_SHA256  $plotly_js" | sha256sum --check --status; then
  log "fetching plotly.js-dist-min $PLOTLY_VERSION from npm"
  pack="$(mktemp -d)"
  (cd "$pack" && npm pack --silent "plotly.js-dist-min@$PLOTLY_VERSION" >/dev/null && tar xzf "plotly.js-dist-min-$PLOTLY_VERSION.tgz")
  echo "$PLOTLY_SHA256  $pack/package/plotly.min.js" | sha256sum --check --status \
    || { echo "setup: plotly.min.js $PLOTLY_VERSION has an unexpected sha256" >&2; exit 1; }
  mkdir -p "$tools/plotly"
  cp "$pack/package/plotly.min.js" "$plotly_js"
  cp "$pack/package/LICENSE" "$tools/plotly/LICENSE"
  rm -rf "$pack"
fi

# --- the tinyrt library and its dependencies, from ~/.m2, for the kernel's class path ---
# (refreshed on every set-up run: the library's dependencies may change with the pom)
cp_file="$kernel_dir/tinyrt.classpath"
mvn -q -B -f "$root/lib/pom.xml" dependency:build-classpath -DincludeScope=runtime \
    -Dmdep.outputFile="$cp_file" >/dev/null
# the installed library, as JBang scripts use it; TINYRT_LIBRARY_JAR=lib/target/tinyrt-*.jar tries a build not installed
lib_jar="${TINYRT_LIBRARY_JAR:-$HOME/.m2/repository/dev/tinyrt/tinyrt/0.1.0-SNAPSHOT/tinyrt-0.1.0-SNAPSHOT.jar}"
lib_jar="$(cd "$(dirname "$lib_jar")" && pwd)/$(basename "$lib_jar")"

# --- the kernelspec ---
"$python" "$here/write_kernelspec.py" --kernel-dir "$kernel_dir" --java-home "$JAVA_HOME" \
    --jars "$fix_jar" "$rjk_jar" --library "$lib_jar" --library-classpath "$cp_file" \
    --maven-repo "$HOME/.m2/repository" --plotly-js "$plotly_js"
log "kernel $KERNEL_NAME at $kernel_dir, plotly.js at $plotly_js"
