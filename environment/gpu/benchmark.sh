#!/usr/bin/env bash
# On the GPU machine (prepared by environment/gpu/pack.sh here): tinyrt's benchmark against HuggingFace
# transformers (eager generate(), fp16) on the very same requests, as one command. Without arguments:
# --precision fp16 on the TinyLlama-1.1B-shaped checkpoint (generated there once), batch 1,8,32,64 x input
# 128,512,1024, output 128, 1 warm-up + 3 measured runs per point. Arguments go to benchmark.java, e.g.
#   bash environment/gpu/benchmark.sh --precision fp16,int8,int4
# Writes to $OUT: benchmark_cuda_<model>_<precisions>_in<lengths>_vs-hf.json (commit it to data/results/, then run
# jbang jbang-scripts/report.java here), benchmark.log, hf_baseline.log, hf_smoke.json.
# BENCH_BASELINE=none leaves HF out (e.g. a quantized sweep whose HF rows an earlier run of the same workload has).
# BENCH_QUICK_CALIBRATION=1 calibrates int4_awq / w8a8_sq / fp8 on 4 x 128 tokens instead of the configs' 128 x 512
# (in this machine's copy of configs/; speed does not depend on the scales' quality, and calibrating a 1.1B model
# on the CPU at full size would take most of a device call). The log says so.
set -uo pipefail
source environment/gpu/env.sh
# the copy sent here has no .git: pack.sh records whether the tree was committed (.device/clean)
export TINYRT_WORKTREE_CLEAN="$(cat .device/clean 2>/dev/null || echo false)"
baseline="${BENCH_BASELINE:-hf}"
{
  nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv
  if [ "${BENCH_QUICK_CALIBRATION:-0}" = 1 ]; then
    sed -i -e 's/^  samples: .*/  samples: 4/' -e 's/^  seq_len: .*/  seq_len: 128/' -e 's/^  awq_tokens: .*/  awq_tokens: 512/' \
      configs/tinyllama_int4_awq.yaml configs/tinyllama_w8a8_sq.yaml configs/tinyllama_fp8.yaml
    echo "BENCH_QUICK_CALIBRATION: int4_awq, w8a8_sq and fp8 calibrated on 4 samples x 128 tokens (speed runs only)"
  fi
  if [ "$baseline" = hf ]; then
    python3 -c "import torch, transformers; print('torch', torch.__version__, 'transformers', transformers.__version__)"
    # a tiny random Llama through the baseline first: a broken environment fails in seconds, not after the sweep
    python3 environment/hf_baseline.py smoke --out "$OUT/hf_smoke.json" || { echo "HF baseline smoke test failed"; exit 1; }
    $TINYRT_JAVA benchmark --baseline hf --out-dir "$OUT" "$@"
  else
    $TINYRT_JAVA benchmark --out-dir "$OUT" "$@"
  fi
} 2>&1 | tee "$OUT/benchmark.log"
exit "${PIPESTATUS[0]}"
