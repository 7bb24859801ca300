# Sourced on the GPU machine at the start of every run: unpacks the carried JDK 25 runtime and defines $TINYRT_JAVA,
# the java command with tinyrt's class path and flags.
mkdir -p /tmp/jre && tar -xJf .device/jre.tar.xz -C /tmp/jre --strip-components=1
export JAVA_HOME=/tmp/jre PATH=/tmp/jre/bin:$PATH
export TINYRT_JAVA="java --add-modules jdk.incubator.vector --enable-native-access=ALL-UNNAMED -cp .device/scripts:.device/lib/*"
export TINYRT_COMMIT="$(cat .device/commit 2>/dev/null || echo unknown)"
export TINYRT_WORKTREE_CLEAN="$(cat .device/clean 2>/dev/null || echo false)"
export OPT_OUT_TRACKING=true PYTHONUNBUFFERED=1 HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1
