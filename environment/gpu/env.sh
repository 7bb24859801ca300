# Sourced on the GPU machine at the start of every run: unpacks the carried JDK 25 runtime and defines $TINYRT_JAVA,
# the java command with tinyrt's class path and flags.
mkdir -p /tmp/jre && tar -xJf .device/jre.tar.xz -C /tmp/jre --strip-components=1
export JAVA_HOME=/tmp/jre PATH=/tmp/jre/bin:$PATH
# the jars travel as one xz archive (pack.sh); unpacked once per machine
export TINYRT_LIB=/tmp/tinyrt-lib
if [ ! -f "$TINYRT_LIB/.from" ] || [ "$(cat "$TINYRT_LIB/.from")" != "$(cat .device/commit 2>/dev/null)" ]; then
  rm -rf "$TINYRT_LIB" && mkdir -p "$TINYRT_LIB" && tar -xJf .device/lib.tar.xz -C "$TINYRT_LIB" \
    && cat .device/commit > "$TINYRT_LIB/.from"
fi
export TINYRT_JAVA="java --add-modules jdk.incubator.vector --enable-native-access=ALL-UNNAMED -cp .device/scripts:$TINYRT_LIB/*"
export TINYRT_COMMIT="$(cat .device/commit 2>/dev/null || echo unknown)"
export TINYRT_WORKTREE_CLEAN="$(cat .device/clean 2>/dev/null || echo false)"
export OPT_OUT_TRACKING=true PYTHONUNBUFFERED=1 HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1
