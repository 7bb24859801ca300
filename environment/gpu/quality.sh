#!/usr/bin/env bash
# On the GPU machine (prepared by environment/gpu/pack.sh here): the quality table of the bundled tinyrt-12m across
# precisions on the whole held-out text, on that machine's 16 CPU cores (the CPU engine runs every precision; the
# same run here takes hours on 2 cores). Quantized checkpoints are converted there first, in parallel.
#   bash environment/gpu/quality.sh fp16 bf16 int8 int4            (default: all of them, KV-int8 KV-fp8 included)
# Rows: fp16/bf16/fp32 = the HF model stored that way; int8 int4 int4_awq w8a8_sq fp8 = configs/tinyllama_<p>.yaml;
# KV-int8 / KV-fp8 = the fp16 model with an int8 / fp8 KV cache (scales calibrated at load).
# QUALITY_BACKEND=cuda runs the candidate rows on the CUDA engine (the fp32 reference stays on the CPU); rows are
# labelled "(cuda)". QUALITY_MAX_CHUNKS limits the windows (0 = all). Writes $OUT/quality_table_tinyrt-12m_<rows>.json (+ .md), quality.log.
set -uo pipefail
source environment/gpu/env.sh
export TINYRT_WORKTREE_CLEAN="$(cat .device/clean 2>/dev/null || echo false)"
model=data/models/tinyrt-12m
work=/tmp/quality
mkdir -p "$work"
rows=("$@")
[ ${#rows[@]} -gt 0 ] || rows=(fp16 bf16 int8 int4 int4_awq w8a8_sq fp8 KV-int8 KV-fp8)
{
  args=()
  for r in "${rows[@]}"; do
    case "$r" in
      fp16|bf16|fp32) args+=(--row "$r=@$r") ;;
      KV-int8|KV-fp8) args+=(--row "$r=@fp16,kv=${r#KV-}") ;;  # the fp16 model with that KV-cache storage
      *) [ -f "configs/tinyllama_$r.yaml" ] || { echo "no config for row $r"; exit 2; }
         ( $TINYRT_JAVA convert_checkpoint --model "$model" --config "configs/tinyllama_$r.yaml" --out "$work/$r" \
             > "$work/convert_$r.log" 2>&1 && echo "converted $r" || { echo "conversion of $r failed:"; tail -5 "$work/convert_$r.log"; } ) &
         args+=(--row "$r=$work/$r") ;;
    esac
  done
  wait
  name=$(IFS=-; echo "${rows[*]}")
  backend="${QUALITY_BACKEND:-cpu}"
  $TINYRT_JAVA quality_table --reference "$model" "${args[@]}" --text data/corpus/validation.txt --backend "$backend" \
    --max-chunks "${QUALITY_MAX_CHUNKS:-0}" --out "$OUT/quality_table_tinyrt-12m_${backend}_$name.json"
} 2>&1 | tee "$OUT/quality.log"
exit "${PIPESTATUS[0]}"
