#!/usr/bin/env bash
# Builds and runs the kernel-boundary micro-benchmark (kernel_boundary.cu) on the GPU machine and writes its JSON,
# with the GPU, driver, date, commit and command, to $OUT/kernel_boundary.json (or the first argument).
#   bash environment/gpu/microbench/run_kernel_boundary.sh [OUT_JSON]
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
out="${1:-${OUT:-/tmp}/kernel_boundary.json}"
nvcc="${NVCC:-$(command -v nvcc || echo /usr/local/cuda/bin/nvcc)}"
bin="$(mktemp -d)/kernel_boundary"
"$nvcc" -O3 -std=c++17 -arch=sm_90 -o "$bin" "$here/kernel_boundary.cu"
"$bin" "$out.raw"
python3 - "$out.raw" "$out" "$(git -C "$here" rev-parse HEAD 2>/dev/null || echo unknown)" <<'PY'
import json, subprocess, sys, datetime
raw, out, commit = sys.argv[1:4]
d = json.load(open(raw))
smi = subprocess.run(["nvidia-smi", "--query-gpu=name,driver_version", "--format=csv,noheader"],
                     capture_output=True, text=True).stdout.strip()
meta = {"date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"), "commit": commit,
        "command": "bash environment/gpu/microbench/run_kernel_boundary.sh", "nvidia_smi": smi}
json.dump({**meta, **d}, open(out, "w"), indent=1)
PY
rm -f "$out.raw"
echo "kernel_boundary: $out"
