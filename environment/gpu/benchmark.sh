#!/usr/bin/env bash
# On the GPU machine (prepared by environment/gpu/pack.sh here): tinyrt's benchmark against HuggingFace
# transformers (eager generate(), fp16) on the very same requests, as one command. Without arguments:
# --precision fp16 on the TinyLlama-1.1B-shaped checkpoint (generated there once), batch 1,8,32,64 x input
# 128,512,1024, output 128, 1 warm-up + 3 measured runs per point. Arguments go to benchmark.java, e.g.
#   bash environment/gpu/benchmark.sh --precision fp16,int8,int4
# Writes to $OUT: benchmark_cuda_<model>_<precisions>_in<lengths>_vs-hf.json (commit it to data/results/, then run
# jbang jbang-scripts/report.java here), benchmark.log, hf_baseline.log, hf_smoke.json.
set -uo pipefail
source environment/gpu/env.sh
# the copy sent here has no .git: pack.sh records whether the tree was committed (.device/clean)
export TINYRT_WORKTREE_CLEAN="$(cat .device/clean 2>/dev/null || echo false)"
{
  nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv
  python3 -c "import torch, transformers; print('torch', torch.__version__, 'transformers', transformers.__version__)"
  # a tiny random Llama through the baseline first: a broken environment fails in seconds, not after the sweep
  python3 environment/hf_baseline.py smoke --out "$OUT/hf_smoke.json" || { echo "HF baseline smoke test failed"; exit 1; }
  $TINYRT_JAVA benchmark --baseline hf --out-dir "$OUT" "$@"
} 2>&1 | tee "$OUT/benchmark.log"
exit "${PIPESTATUS[0]}"
