#!/usr/bin/env bash
# On the GPU machine (prepared by environment/gpu/pack.sh here), one call: where a large-batch decode step goes.
#   1 variants   BatchStepProfile at batch 256 and 512 with the batched decode attention's default kernel and its
#                occupancy variants (-Dtinyrt.cuda.batchAttentionOccupancy=6|8, attention_batch.cuh)
#   2 executor   the 1000 requests of runtime_perf.sh's stage 2 at max batch 512 (in-flight and static), without
#                HF, under Java Flight Recorder: where the executor's host time goes between GPU steps; then the
#                same with max_num_tokens 8192 (TensorRT-LLM's default) instead of the benchmark's 2048
# Writes to $OUT: batch_step_occ{0,6,8}.json, benchmark_executor_jfr.json, executor.jfr,
# benchmark_max-num-tokens-8192.json, tune_batch.log.
# Read the recording here with: jfr print --events jdk.ExecutionSample executor.jfr (or jfr summary / view).
set -uo pipefail
source environment/gpu/env.sh
tl=/tmp/tinyllama-1.1b-seed0-fp16
{
  nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv
  [ -f "$tl/model.safetensors" ] || $TINYRT_JAVA make_checkpoint --preset tinyllama-1.1b --seed 0 --dtype fp16 --out "$tl"
  for occ in 0 6 8; do
    echo "=== [variants] occupancy $occ"
    timeout 120 $TINYRT_JAVA -Dtinyrt.cuda.batchAttentionOccupancy=$occ dev.tinyrt.backend.cuda.BatchStepProfile \
      "$tl" "$OUT/batch_step_occ$occ.json" "${TUNE_BATCHES:-256,512}"
  done
  echo "=== [executor]"
  $TINYRT_JAVA benchmark token-norm-dist --num-requests 1000 --input-mean 128 --output-mean 128 --model "$tl" \
    --out /tmp/requests_128_128.jsonl \
  && timeout 240 $TINYRT_JAVA -XX:StartFlightRecording=filename=$OUT/executor.jfr,settings=profile benchmark \
    --model "$tl" --backend cuda --precision fp16 --dataset /tmp/requests_128_128.jsonl --batch-sizes 512 \
    --batching inflight,static --warmup 1 --repeats 1 --out "$OUT/benchmark_executor_jfr.json"
  echo "=== [max-num-tokens 8192]"
  timeout 240 $TINYRT_JAVA benchmark --model "$tl" --backend cuda --precision fp16 --dataset /tmp/requests_128_128.jsonl \
    --batch-sizes 512 --batching inflight,static --max-num-tokens 8192 --warmup 1 --repeats 1 \
    --out "$OUT/benchmark_max-num-tokens-8192.json"
} 2>&1 | tee "$OUT/tune_batch.log"
