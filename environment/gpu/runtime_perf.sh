#!/usr/bin/env bash
# On the GPU machine (prepared by environment/gpu/pack.sh here), one call: the runtime's throughput runs that the
# README and docs quote, each stage with its own time limit (the next runs even when one fails or times out).
#   1 steps      BatchStepProfile: decode step time and per-op profile at batch 1..512, batched attention kernel
#                on (default) and off (-Dtinyrt.cuda.batchAttentionFrom=0)
#   2 requests   1000 requests of 128 in / 128 out (token-norm-dist, fixed): in-flight vs static batching at
#                max batch 256 and 512 (RUNTIME_PERF_BATCHES), against HF transformers eager generate() at the same
#                batch sizes; max_num_tokens RUNTIME_PERF_MAX_NUM_TOKENS (default 8192, TensorRT-LLM's default; the
#                executor's own default is 2048)
#   3 prefix     1000 requests of 1024 in / 128 out sharing a 512-token prefix: prefix caching on vs off
#   4 kv         the 1000 requests of stage 2 at the largest max batch with an int8 and an fp8 KV cache
#   5 quant      fp16, int8 (W8A16), int4 (W4A16 g128) at batch 1, 8, 64, input 128
# Writes to $OUT: batch_step*.json, benchmark_*.json, runtime_perf.log. Commit them to data/results/ here.
# RUNTIME_PERF_STAGES selects stages, e.g. "steps quant".
set -uo pipefail
source environment/gpu/env.sh
tl=/tmp/tinyllama-1.1b-seed0-fp16
stages="${RUNTIME_PERF_STAGES:-steps requests prefix kv quant}"
export tl RUNTIME_PERF_BATCHES="${RUNTIME_PERF_BATCHES:-256,512}" RUNTIME_PERF_MAX_NUM_TOKENS="${RUNTIME_PERF_MAX_NUM_TOKENS:-8192}"
stage() {  # name, limit in seconds, command...
  local name="$1" limit="$2"; shift 2
  case " $stages " in *" $name "*) ;; *) return 0 ;; esac
  echo; echo "=== [$name] (limit ${limit}s)"
  local start=$(date +%s)
  timeout --kill-after=15 "$limit" "$@"
  echo "=== [$name] exit $? after $(( $(date +%s) - start ))s"
}
{
  nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv
  [ -f "$tl/model.safetensors" ] || $TINYRT_JAVA make_checkpoint --preset tinyllama-1.1b --seed 0 --dtype fp16 --out "$tl"
  stage steps 120 bash -c '$TINYRT_JAVA dev.tinyrt.backend.cuda.BatchStepProfile $tl $OUT/batch_step.json 1,8,32,64,128,256,512 \
    && $TINYRT_JAVA -Dtinyrt.cuda.batchAttentionFrom=0 dev.tinyrt.backend.cuda.BatchStepProfile $tl $OUT/batch_step_latency_attention.json 1,8,32,64,128,256,512' 
  stage requests 300 bash -c '$TINYRT_JAVA benchmark token-norm-dist --num-requests 1000 --input-mean 128 --output-mean 128 \
      --model $tl --out /tmp/requests_128_128.jsonl \
    && $TINYRT_JAVA benchmark --model $tl --backend cuda --precision fp16 --dataset /tmp/requests_128_128.jsonl \
      --batch-sizes $RUNTIME_PERF_BATCHES --max-num-tokens $RUNTIME_PERF_MAX_NUM_TOKENS --batching inflight,static \
      --warmup 1 --repeats 1 --baseline hf --out-dir $OUT'
  stage prefix 240 bash -c '$TINYRT_JAVA benchmark token-norm-dist --num-requests 1000 --input-mean 1024 --output-mean 128 \
      --shared-prefix 512 --model $tl --out /tmp/prefix_1024_128.jsonl \
    && $TINYRT_JAVA benchmark --model $tl --backend cuda --precision fp16 --dataset /tmp/prefix_1024_128.jsonl \
      --batch-sizes 256 --warmup 1 --repeats 1 --prefix-caching --out $OUT/benchmark_prefix-caching-on.json \
    && $TINYRT_JAVA benchmark --model $tl --backend cuda --precision fp16 --dataset /tmp/prefix_1024_128.jsonl \
      --batch-sizes 256 --warmup 1 --repeats 1 --out $OUT/benchmark_prefix-caching-off.json'
  stage kv 200 bash -c 'for kv in int8 fp8; do $TINYRT_JAVA benchmark --model $tl --backend cuda --precision fp16 \
      --dataset /tmp/requests_128_128.jsonl --batch-sizes ${RUNTIME_PERF_BATCHES##*,} --kv-cache-dtype $kv \
      --max-num-tokens $RUNTIME_PERF_MAX_NUM_TOKENS --warmup 1 \
      --repeats 1 --out $OUT/benchmark_kv-$kv.json || exit 1; done'
  stage quant 240 $TINYRT_JAVA benchmark --model "$tl" --backend cuda --precision fp16,int8,int4 --batch-sizes 1,8,64 \
      --input-lens 128 --warmup 1 --repeats 2 --out-dir "$OUT"
} 2>&1 | tee "$OUT/runtime_perf.log"
