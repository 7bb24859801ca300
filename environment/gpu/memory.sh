#!/usr/bin/env bash
# On the GPU machine (prepared by environment/gpu/pack.sh here): memory_analysis.java on the CUDA backend with the
# TinyLlama-1.1B-shaped checkpoint (generated there once). Arguments go to memory_analysis.java, e.g.
#   bash environment/gpu/memory.sh --budget-gib 1 --requests 256 --block-sizes 16,32,64 --plan-gib 20,40,80
# Writes to $OUT: memory_tinyllama-1.1b_cuda_<date>.json and memory.log. Copy the JSON to data/results/, then here:
#   jbang jbang-scripts/memory_analysis.java --render data/results/memory_tinyllama-1.1b_cuda_<date>.json \
#       --out docs/memory/tinyllama-1.1b-cuda --no-html && jbang jbang-scripts/report.java
set -uo pipefail
source environment/gpu/env.sh
model=/tmp/tinyllama-1.1b
{
  nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv
  [ -f "$model/config.json" ] || $TINYRT_JAVA make_checkpoint --preset tinyllama-1.1b --seed 0 --dtype fp16 --out "$model"
  # the whole heap resident from the start, so the process check sees only what the model adds
  $TINYRT_JAVA -XX:NativeMemoryTracking=summary -Xms16g -Xmx16g -XX:+AlwaysPreTouch memory_analysis \
    --model "$model" --backend cuda --results "$OUT" --no-report "$@"
} 2>&1 | tee "$OUT/memory.log"
exit "${PIPESTATUS[0]}"
