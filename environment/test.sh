#!/usr/bin/env bash
# The test command: unit and integration tests of the library (JUnit), then the JBang scripts end to end.
#   bash environment/test.sh
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
export JAVA_HOME="${JAVA_HOME:-/usr/lib/jvm/temurin-25-jdk-amd64}"
export PATH="$JAVA_HOME/bin:$HOME/.local/bin:$PATH"
export OPT_OUT_TRACKING=true
# 'install' so the JBang scripts below run against exactly this build of the library
mvn -B -f "$root/lib/pom.xml" install
bash "$root/environment/script_tests.sh"
# notebooks: 50 kernel starts, scripts loaded into the kernel, every notebook executed headless (environment/jupyter/)
bash "$root/environment/jupyter/test_notebooks.sh"
