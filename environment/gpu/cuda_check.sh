#!/usr/bin/env bash
# On the GPU machine, in one device call (under 10 minutes): checks and times tinyrt's CUDA backend.
#   here:   bash environment/gpu/pack.sh
#   there:  bash environment/gpu/cuda_check.sh        (device call with carry [".device"], timeout 600)
# Stages (each logs, has its own time limit, and the next runs even when one fails):
#   1 selftest  every CUDA kernel against the CPU backend on small random inputs, whole random models CUDA vs CPU,
#               CUDA graphs vs eager                                     (dev.tinyrt.backend.cuda.CudaSelfTest)
#   2 parity    CUDA fp16 engine vs the committed HF fp32 references of the three parity checkpoints (the CPU fp32
#               engine matches those to ~1e-6): logits within fp16 tolerance, identical greedy continuations
#   3 model     the TinyLlama-1.1B-shaped fp16 checkpoint, generated here (make_checkpoint --preset tinyllama-1.1b)
#   4 speed     batch 1, 128-token prompt, 128 new tokens: TTFT and decode tok/s with and without CUDA graphs,
#               copy/read bandwidth, bytes per decode step and achieved GB/s, per-op profile, GEMV vs cuBLAS
#               per shape, CUDA vs CPU fp32 logits and greedy tokens                (dev.tinyrt.backend.cuda.CudaSpeed)
#   5 quant     the same model converted here to int8 (W8A16 per channel), int4 (W4A16 group 128: the AWQ layout with
#               unit pre-scales), fp8 (e4m3 weights and activations), w8a8_sq (SmoothQuant) and int4_awq (the last
#               three calibrated on 4 x 128 tokens), each timed like stage 4 with its CUDA-vs-CPU check (same
#               checkpoint on the CPU engine): $OUT/cuda_speed_quant.tar.gz holds cuda_speed_<label>.json.
#               CUDA_CHECK_QUANT picks labels (default "int8 int4 fp8 w8a8_sq int4_awq").
#   6 leak      100 load / generate / close cycles; cuMemGetInfo must come back   (dev.tinyrt.backend.cuda.CudaLeakCheck)
# Writes to $OUT: cuda_check.log (everything), cuda_check.json (summary: GPU, driver, date, commit, command, every
# stage's result), cuda_speed.json and cuda_selftest.json (full detail).
# CUDA_CHECK_JAVA_OPTS adds JVM options to every run, e.g. -Dtinyrt.cuda.noPdl=true (no programmatic dependent
# launch), -Dtinyrt.cuda.noNormFusion=true (no residual add / RMSNorm fused into the batch-1 GEMVs),
# -Dtinyrt.cuda.gemvSplitK=N (force N warps per weight row in the decode GEMVs), -Dtinyrt.cuda.noGraphs=true, -Dtinyrt.cuda.noRopeFusion=true, -Dtinyrt.cuda.noAutotune=true,
# -Dtinyrt.cuda.gemvWaves=N (fused GEMVs: N waves of walking blocks, 0 = a block per row group),
# -Dtinyrt.cuda.gemvBlocksPerSm=N (a wave of N blocks per SM), -Dtinyrt.cuda.wideDecodeAttention=true|false,
# -Dtinyrt.cuda.layerKernel=false (a batch-1 layer as five launches, not the decode-layer kernel),
# -Dtinyrt.cuda.layerPrefetch=L and -Dtinyrt.cuda.layerPrefetchKb=N (the decode-layer kernel's L2 prefetch: lookahead in
# stages, 0 to 6, and KiB per block and stage), -Dtinyrt.cuda.layerTrace=true (its per-stage GPU clock stamps,
# reduced into cuda_speed's decode_layer_trace).
# CUDA_CHECK_AB="-D...;-D..." adds a stage after quant: fp16 and quantized models timed again with each option set
# (after the others), for a before/after on the same machine: $OUT/cuda_speed_ab.tar.gz, summarized in the json;
# CUDA_CHECK_AB_LABELS picks the models (default "fp16 int8 int4"), CUDA_CHECK_AB_CPU_TOKENS the greedy tokens each
# run checks against the CPU engine (default 16; 0 skips the check, for a sweep), CUDA_CHECK_AB_LIMIT the stage's
# time limit in seconds (default 300).
# CUDA_CHECK_INT4_GROUP sets the int4 group size (default 128; a rehearsal on a smaller model may need 32).
set -uo pipefail  # no -e: every stage runs and reports
source environment/gpu/env.sh
OUT="${OUT:-/tmp/cuda_check_out}"
work=/tmp/cuda_check
rm -rf "$work"
mkdir -p "$OUT" "$work" "$work/quant"
tl=/tmp/tinyllama-1.1b-seed0-fp16
command_line="${CUDA_CHECK_JAVA_OPTS:+CUDA_CHECK_JAVA_OPTS='$CUDA_CHECK_JAVA_OPTS' }${CUDA_CHECK_QUANT:+CUDA_CHECK_QUANT='$CUDA_CHECK_QUANT' }${CUDA_CHECK_AB:+CUDA_CHECK_AB='$CUDA_CHECK_AB' }${CUDA_CHECK_AB_CPU_TOKENS:+CUDA_CHECK_AB_CPU_TOKENS=$CUDA_CHECK_AB_CPU_TOKENS }bash environment/gpu/cuda_check.sh (device run, carry .device)"
jopts="${CUDA_CHECK_JAVA_OPTS:-}"
export work tl jopts command_line

stage() {  # name, time limit in seconds (times CUDA_CHECK_TIME_SCALE, for rehearsals on a fake driver), command...
  local name="$1" limit=$(( $2 * ${CUDA_CHECK_TIME_SCALE:-1} ))
  shift 2
  echo
  echo "=== [$name] (limit ${limit}s) $*"
  local start rc
  start=$(date +%s)
  timeout --kill-after=15 "$limit" "$@"
  rc=$?
  echo "=== [$name] exit $rc after $(( $(date +%s) - start ))s$([ $rc -eq 124 ] && echo ' (TIMED OUT)')"
  echo "$name $rc $(( $(date +%s) - start ))" >> "$work/stages.txt"
}

parity_all() {
  local ok=0
  for spec in "mha-untied-fp16-hf4:lib/src/test/resources/parity/mha-untied-fp16-hf4" \
              "gqa-tied-bf16-hf5:lib/src/test/resources/parity/gqa-tied-bf16-hf5" \
              "tinyrt-12m:data/models/tinyrt-12m"; do
    local name="${spec%%:*}" dir="${spec#*:}"
    echo "--- parity $name"
    $TINYRT_JAVA $jopts parity_check --model "$dir" --reference "lib/src/test/resources/parity/refs/$name.safetensors" \
      --backend cuda --precision auto --tolerance 1e-2 --out "$work/parity-$name.json" || ok=1
  done
  return $ok
}

make_model() {
  if [ -f "$tl/model.safetensors" ]; then echo "reusing $tl"; return 0; fi
  $TINYRT_JAVA make_checkpoint --preset tinyllama-1.1b --seed 0 --dtype fp16 --out "$tl"
}
quant_all() {  # converts and times each quantized precision; one failing does not stop the next
  local ok=0
  # the calibrated formats see 4 samples of 128 tokens: their speed does not depend on how good the scales are
  # (the weights are random), and calibrating a 1.1B model on this machine's CPU at the configs' 128 x 512 would
  # take most of the call
  local calib=$'calibration:\n  data: data/calibration/calib.txt\n  samples: 4\n  seq_len: 128\n  awq_tokens: 512'
  for spec in "int8|W8A16|" "int4|W4A16|  group_size: ${CUDA_CHECK_INT4_GROUP:-128}" "fp8|FP8|$calib" \
              "w8a8_sq|W8A8_SQ_PER_CHANNEL|$calib" "int4_awq|W4A16_AWQ|  group_size: ${CUDA_CHECK_INT4_GROUP:-128}
$calib"; do
    IFS='|' read -r -d '' label algo extra <<< "$spec"
    extra="${extra%$'\n'}"
    case " ${CUDA_CHECK_QUANT:-int8 int4 fp8 w8a8_sq int4_awq} " in *" $label "*) ;; *) continue ;; esac
    local dir="$tl-$label" yaml="$work/$label.yaml"
    printf 'quantization:\n  algorithm: %s\n%s\n' "$algo" "$extra" > "$yaml"
    echo "--- $label: convert ($algo)"; cat "$yaml"
    local start=$(date +%s)
    if [ ! -f "$dir/config.json" ]; then
      $TINYRT_JAVA convert_checkpoint --model "$tl" --config "$yaml" --out "$dir" || { ok=1; continue; }
    fi
    echo "--- $label: converted in $(( $(date +%s) - start ))s"
    $TINYRT_JAVA $jopts dev.tinyrt.backend.cuda.CudaSpeed --model "$dir" --label "$label" --prompt-len 128 \
      --new-tokens 128 --repeats 3 --ttft-repeats 10 --cpu-check-tokens 16 --out "$work/quant/cuda_speed_$label.json" \
      --command "$command_line: cuda_speed --model <convert_checkpoint $algo of the fp16 model> --label $label" || ok=1
  done
  # one archive: at most 8 files come back from a device call
  tar -czf "$OUT/cuda_speed_quant.tar.gz" -C "$work/quant" . 2>/dev/null
  return $ok
}
ab_all() {  # the same speed runs with each of CUDA_CHECK_AB's option sets (separated by ";") added
  local ok=0 n=0 opts
  IFS=';' read -ra sets <<< "$CUDA_CHECK_AB"
  for opts in "${sets[@]}"; do
    n=$((n + 1))
    mkdir -p "$work/ab/$n"
    echo "$opts" > "$work/ab/$n/java_options.txt"
    for label in ${CUDA_CHECK_AB_LABELS:-fp16 int8 int4}; do
      local dir="$tl-$label"; [ "$label" = fp16 ] && dir="$tl"
      [ -f "$dir/config.json" ] || continue
      echo "--- ab $n $label: $opts"
      $TINYRT_JAVA $jopts $opts dev.tinyrt.backend.cuda.CudaSpeed --model "$dir" --label "$label" --prompt-len 128 \
        --new-tokens 128 --repeats 3 --ttft-repeats 10 --cpu-check-tokens "${CUDA_CHECK_AB_CPU_TOKENS:-16}" \
        --out "$work/ab/$n/cuda_speed_$label.json" \
        --command "$command_line: CUDA_CHECK_AB set '$opts': cuda_speed --model <$label model> --label $label" || ok=1
    done
  done
  tar -czf "$OUT/cuda_speed_ab.tar.gz" -C "$work/ab" . 2>/dev/null
  return $ok
}
export -f parity_all make_model quant_all ab_all  # run under timeout through bash -c

{
  echo "tinyrt CUDA check, commit $TINYRT_COMMIT, $(date -u +%Y-%m-%dT%H:%M:%SZ)"
  nvidia-smi --query-gpu=name,driver_version,memory.total,clocks.max.memory --format=csv
  java -version 2>&1 | head -1
  python3 -c "import zipfile, glob; print(zipfile.ZipFile(glob.glob('$TINYRT_LIB/tinyrt-*.jar')[0]).read(
'dev/tinyrt/backend/cuda/kernels.properties').decode())" \
    || echo "WARNING: the tinyrt jar has no CUDA kernels (was pack.sh run where nvcc exists?)"
  echo "JVM options: ${jopts:-none}"
  stage selftest 150 $TINYRT_JAVA $jopts dev.tinyrt.backend.cuda.CudaSelfTest --out "$OUT/cuda_selftest.json" \
    --tmp "$work/selftest"
  stage parity 60 bash -c parity_all
  stage model 100 bash -c make_model
  stage speed 180 $TINYRT_JAVA $jopts dev.tinyrt.backend.cuda.CudaSpeed --model "$tl" --prompt-len 128 --new-tokens 128 \
    --repeats 5 --cpu-check-tokens 16 --out "$OUT/cuda_speed.json" \
    --command "$command_line: cuda_speed --model <make_checkpoint --preset tinyllama-1.1b --seed 0 --dtype fp16> --prompt-len 128 --new-tokens 128"
  stage quant 480 bash -c quant_all
  [ -n "${CUDA_CHECK_AB:-}" ] && stage ab "${CUDA_CHECK_AB_LIMIT:-300}" bash -c ab_all
  stage leak 80 $TINYRT_JAVA $jopts dev.tinyrt.backend.cuda.CudaLeakCheck --model data/models/tinyrt-12m --cycles 100 \
    --out "$work/leak.json"
} 2>&1 | tee "$OUT/cuda_check.log"

python3 - "$OUT" "$work" "$command_line" <<'PY' 2>&1 | tee -a "$OUT/cuda_check.log"
import json, os, subprocess, sys, datetime, glob
out, work, command = sys.argv[1:4]

def load(path):
    try:
        with open(path) as f:
            return json.load(f)
    except Exception as e:
        return {"missing": f"{path}: {e}"}

try:
    gpu = subprocess.run(["nvidia-smi", "--query-gpu=name,driver_version,memory.total", "--format=csv,noheader"],
                         capture_output=True, text=True).stdout.strip()
except OSError as e:
    gpu = f"nvidia-smi unavailable: {e}"
stages = []
if os.path.exists(f"{work}/stages.txt"):
    for line in open(f"{work}/stages.txt"):
        name, rc, secs = line.split()
        stages.append({"stage": name, "exit": int(rc), "seconds": int(secs), "timed_out": rc in ("124", "137")})
selftest = load(f"{out}/cuda_selftest.json")
checks = selftest.get("checks", [])
parity = {}
for p in sorted(glob.glob(f"{work}/parity-*.json")):
    d = load(p)
    parity[os.path.basename(p)[7:-5]] = {k: d.get(k) for k in ("passed", "tolerance", "worst_relative_error")} | {
        "greedy_identical": [x.get("greedy_identical") for x in d.get("prompts", [])],
        "prompt_tokens": [x.get("tokens") for x in d.get("prompts", [])]}
speed = load(f"{out}/cuda_speed.json")
def pick(d, *path):
    for k in path:
        d = d.get(k, {}) if isinstance(d, dict) else {}
    return d if d != {} else None
summary = {
    "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
    "commit": os.environ.get("TINYRT_COMMIT"),
    "command": command,
    "gpu": gpu,
    "stages": stages,
    "selftest": {"passed": selftest.get("passed"), "checks": len(checks),
                 "failed": [c["name"] + ": " + c.get("note", "") + f" rel {c.get('relative_error')}"
                            for c in checks if not c.get("passed")],
                 "worst_relative_error_by_kind": {}},
    "parity": parity,
    "leak": load(f"{work}/leak.json"),
    "speed": {
        "decode_tok_s_graphs": pick(speed, "decode", "graphs", "tokens_per_s"),
        "decode_tok_s_graphs_overlap": pick(speed, "decode", "graphs_overlap", "tokens_per_s"),
        "decode_tok_s_graphs_no_pdl": pick(speed, "decode", "graphs_no_pdl", "tokens_per_s"),
        "decode_tok_s_eager": pick(speed, "decode", "eager", "tokens_per_s"),
        "decode_gpu_us_per_step": pick(speed, "decode", "graphs", "gpu_us_per_step"),
        "ttft_ms_graphs": pick(speed, "ttft_ms", "graphs"),
        "ttft_ms_graphs_no_pdl": pick(speed, "ttft_ms", "graphs_no_pdl"),
        "ttft_ms_eager": pick(speed, "ttft_ms", "eager"),
        "pdl": speed.get("pdl"),
        "generator_path_tok_s": pick(speed, "generator_path", "tokens_per_s"),
        "bandwidth": pick(speed, "bandwidth"),
        "bytes_per_decode_step": pick(speed, "bytes_per_decode_step"),
        "top_ops": (pick(speed, "profile", "decode", "ops") or [])[:8],
        "profile_step_us": pick(speed, "profile", "decode", "step_us"),
        "top_prefill_ops": (pick(speed, "profile", "prefill", "ops") or [])[:8],
        "profile_prefill_us": pick(speed, "profile", "prefill", "step_us"),
        "cpu_check": pick(speed, "cpu_check"),
        "graph_report": speed.get("graph_report"),
        "errors": {k: v for k, v in speed.items() if k.endswith("_error")},
    },
}
quant = {}
for label in ("int8", "int4", "fp8", "w8a8_sq", "int4_awq"):
    q = load(f"{work}/quant/cuda_speed_{label}.json")
    quant[label] = {
        "quant_algo": q.get("quant_algo"),
        "decode_tok_s_graphs": pick(q, "decode", "graphs", "tokens_per_s"),
        "decode_tok_s_graphs_overlap": pick(q, "decode", "graphs_overlap", "tokens_per_s"),
        "decode_gpu_us_per_step": pick(q, "decode", "graphs", "gpu_us_per_step"),
        "ttft_ms_graphs": pick(q, "ttft_ms", "graphs"),
        "bytes_per_decode_step": pick(q, "bytes_per_decode_step"),
        "top_ops": (pick(q, "profile", "decode", "ops") or [])[:8],
        "profile_step_us": pick(q, "profile", "decode", "step_us"),
        "kernels_per_step": pick(q, "profile", "decode", "kernels_per_step"),
        "cpu_check": pick(q, "cpu_check"),
        "load_seconds": q.get("load_seconds"),
        "errors": {k: v for k, v in q.items() if k.endswith("_error")} or q.get("missing"),
    }
summary["quant"] = quant
ab = {}
for p in sorted(glob.glob(f"{work}/ab/*/cuda_speed_*.json")):
    q = load(p)
    options = open(os.path.join(os.path.dirname(p), "java_options.txt")).read().strip()
    ab[options + " " + os.path.basename(p)[len("cuda_speed_"):-5]] = {
        "java_options": options,
        "decode_tok_s_graphs": pick(q, "decode", "graphs", "tokens_per_s"),
        "decode_tok_s_graphs_overlap": pick(q, "decode", "graphs_overlap", "tokens_per_s"),
        "decode_gpu_us_per_step": pick(q, "decode", "graphs", "gpu_us_per_step"),
        "ttft_ms_graphs": pick(q, "ttft_ms", "graphs"),
        "top_ops": (pick(q, "profile", "decode", "ops") or [])[:6],
        "cpu_check": pick(q, "cpu_check"),
        "errors": {k: v for k, v in q.items() if k.endswith("_error")} or q.get("missing"),
    }
if ab:
    summary["ab"] = ab
for c in checks:
    kind = c["name"].split(" ")[0]
    r = c.get("relative_error")
    if isinstance(r, (int, float)) and r == r:
        w = summary["selftest"]["worst_relative_error_by_kind"]
        w[kind] = max(w.get(kind, 0), r)
with open(f"{out}/cuda_check.json", "w") as f:
    json.dump(summary, f, indent=2)
print("\n=== summary")
print(json.dumps({k: summary[k] for k in ("gpu", "stages")}, indent=1))
print("selftest:", summary["selftest"]["passed"], len(summary["selftest"]["failed"]), "failed")
for k, v in parity.items():
    print("parity", k, v.get("passed"), v.get("worst_relative_error"), v.get("greedy_identical"))
print("leak:", summary["leak"].get("passed"), summary["leak"].get("drift_bytes"))
s = summary["speed"]
print("decode tok/s graphs:", (s["decode_tok_s_graphs"] or {}).get("median"), "eager:",
      (s["decode_tok_s_eager"] or {}).get("median"), "| TTFT ms graphs:", (s["ttft_ms_graphs"] or {}).get("median"),
      "eager:", (s["ttft_ms_eager"] or {}).get("median"))
print("bytes/step:", s["bytes_per_decode_step"])
for label, q in summary["quant"].items():
    print(label, "decode tok/s graphs:", (q["decode_tok_s_graphs"] or {}).get("median"), "gpu us/step:",
          q["decode_gpu_us_per_step"], "| bytes/step:",
          (q["bytes_per_decode_step"] or {}).get("total"), "achieved GB/s:",
          (q["bytes_per_decode_step"] or {}).get("achieved_gb_s"), "| cpu check:",
          {k: (q["cpu_check"] or {}).get(k) for k in ("relative_error", "greedy_identical", "first_difference_at",
                                                      "cpu_gap_at_first_difference", "relative_error_bound",
                                                      "within_bound")}, q["errors"] or "")
for label, q in summary.get("ab", {}).items():
    print("ab", label, "decode tok/s graphs:", (q["decode_tok_s_graphs"] or {}).get("median"),
          "gpu us/step:", q["decode_gpu_us_per_step"], q["errors"] or "")
PY
