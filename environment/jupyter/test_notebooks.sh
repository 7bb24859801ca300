#!/usr/bin/env bash
# The notebook part of the test command (environment/test.sh calls it; it runs alone too):
#   bash environment/jupyter/test_notebooks.sh
# 1. kernel starts: the Java kernel is started 50 times, two at a time (TINYRT_KERNEL_STARTS), and every start
#    must answer;
# 2. scripts importable: every JBang script runs as `jbang X.java --help` and, loaded with %load, in the kernel;
# 3. the notebook runner catches each kind of failure (a failed %dependency resolution included);
# 4. every notebook in notebooks/ runs headless top to bottom without an error; the executed notebooks and their
#    HTML land in build/notebooks/.
# All four run; the exit status is non-zero if any failed.
set -uo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$root"
export JAVA_HOME="${JAVA_HOME:-/usr/lib/jvm/temurin-25-jdk-amd64}"
export PATH="$JAVA_HOME/bin:$HOME/.local/bin:$PATH"
python=/usr/bin/python3
out="$root/build/notebooks"
mkdir -p "$out"

if ! "$python" -m jupyter_client.kernelspecapp list 2>/dev/null | grep -q '^ *tinyrt-java '; then
  echo "notebook tests: the tinyrt-java kernel is not installed; run bash environment/setup.sh" >&2
  exit 1
fi

failed=()
check() {  # name, command...
  local name="$1"; shift
  echo "== $name"
  local started=$SECONDS
  if "$@"; then echo "   ($((SECONDS - started)) s)"; else failed+=("$name"); echo "   FAILED ($((SECONDS - started)) s)"; fi
}

check "kernel starts" "$python" environment/jupyter/kernel_starts.py --starts "${TINYRT_KERNEL_STARTS:-50}" \
  --parallel 2 --log "$out/kernel-starts.log"
check "scripts importable" "$python" environment/jupyter/scripts_importable.py
check "notebook runner catches failures" "$python" -m unittest discover -s environment/jupyter/tests
check "notebooks" "$python" environment/jupyter/run_notebooks.py --out "$out" notebooks/*.ipynb

if [ ${#failed[@]} -ne 0 ]; then
  echo "notebook tests failed: ${failed[*]}"
  exit 1
fi
echo "notebook tests: all passed"
