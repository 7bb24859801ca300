#!/usr/bin/env bash
# Nsight Compute profile of the batch-1 decode kernels of the TinyLlama-shaped models (fp16, int8, int4) on the GPU
# machine: the first two decoder layers' fused launches (norm + q|k|v, decode attention, o_proj + residual, norm +
# gate|up + SwiGLU, down + residual), each profiled alone. ncu serializes launches, so these are the kernels'
# own times without PDL overlap or a graph: set against the GPU time per step of a graph replay (cuda_check), the
# difference is what the kernel boundaries cost.
#   bash environment/gpu/ncu_decode.sh     (device run, carry .device; after environment/gpu/pack.sh)
# Writes $OUT/ncu_decode.json (per kernel: duration, DRAM bytes and throughput, achieved occupancy, registers, warp
# cycles per issued instruction; GPU, driver, date, commit, command) and the raw CSV per model.
# NCU_DECODE_LABELS picks the models (default "fp16 int8 int4"); NCU_DECODE_JAVA_OPTS adds JVM options (e.g.
# -Dtinyrt.cuda.stagedGemv=true); NCU_DECODE_FLAGS replaces the ncu flags "--clock-control none --cache-control none"
# (the GPU's own clocks, and caches kept warm as within a decode step; "" for ncu's defaults: base clocks, caches
# flushed before every kernel).
set -uo pipefail
source environment/gpu/env.sh
OUT="${OUT:-/tmp/ncu_decode_out}"
mkdir -p "$OUT"
ncu="$(command -v ncu || echo /usr/local/cuda/bin/ncu)"
tl=/tmp/tinyllama-1.1b-seed0-fp16
jopts="${NCU_DECODE_JAVA_OPTS:-}"
labels="${NCU_DECODE_LABELS:-fp16 int8 int4}"
command_line="${NCU_DECODE_FLAGS+NCU_DECODE_FLAGS='$NCU_DECODE_FLAGS' }${NCU_DECODE_JAVA_OPTS:+NCU_DECODE_JAVA_OPTS='$NCU_DECODE_JAVA_OPTS' }${NCU_DECODE_LABELS:+NCU_DECODE_LABELS='$NCU_DECODE_LABELS' }bash environment/gpu/ncu_decode.sh (device run, carry .device)"
[ -f "$tl/model.safetensors" ] || $TINYRT_JAVA make_checkpoint --preset tinyllama-1.1b --seed 0 --dtype fp16 --out "$tl"
ids="$(seq -s, 3 130)"  # a 128-token prompt
for label in $labels; do
  dir="$tl"
  if [ "$label" != fp16 ]; then
    dir="$tl-$label"
    case "$label" in
      int8) yaml=$'quantization:\n  algorithm: W8A16\n' ;;
      int4) yaml=$'quantization:\n  algorithm: W4A16\n  group_size: 128\n' ;;
      *) echo "ncu_decode: unknown label $label" >&2; exit 2 ;;
    esac
    if [ ! -f "$dir/config.json" ]; then
      printf '%s' "$yaml" > "/tmp/ncu_$label.yaml"
      $TINYRT_JAVA convert_checkpoint --model "$tl" --config "/tmp/ncu_$label.yaml" --out "$dir" || exit 1
    fi
  fi
  echo "--- $label"
  # the decode steps' fused GEMVs and decode attention; the first 10 are layers 0 and 1 of the first decode step
  "$ncu" --target-processes all --kernel-name regex:'tinyrt_(q?gemv_(w[48]_)?(res|norm|gate_up_norm)|attn_decode)' \
    --launch-count 10 --section SpeedOfLight --section Occupancy --section LaunchStats --section WarpStateStats \
    --metrics dram__bytes_read.sum,gpu__time_duration.sum,regex:smsp__warp_issue_stalled_.*_per_warp_active.pct \
    ${NCU_DECODE_FLAGS---clock-control none --cache-control none} --csv --page details \
    $TINYRT_JAVA $jopts inference_engine --model "$dir" --backend cuda --prompt-ids "$ids" --max-new-tokens 3 \
    > "$OUT/ncu_decode_$label.csv" 2> "$OUT/ncu_decode_$label.err" || { tail -20 "$OUT/ncu_decode_$label.err"; }
done

python3 - "$OUT" "$command_line" "$labels" <<'PY'
import csv, datetime, io, json, os, subprocess, sys
out, command, labels = sys.argv[1], sys.argv[2], sys.argv[3].split()
wanted = {  # metric name -> key in the summary
    "gpu__time_duration.sum": "duration_us", "Duration": "duration_us",
    "dram__bytes_read.sum": "dram_read_bytes", "DRAM Throughput": "dram_throughput_pct",
    "Memory Throughput": "memory_throughput_pct", "Compute (SM) Throughput": "sm_throughput_pct",
    "Achieved Occupancy": "achieved_occupancy_pct", "Registers Per Thread": "registers",
    "Grid Size": "grid", "Block Size": "block", "Dynamic Shared Memory Per Block": "dynamic_shared",
    "Warp Cycles Per Issued Instruction": "warp_cycles_per_issue",
}
result = {"date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
          "commit": os.environ.get("TINYRT_COMMIT", "unknown"), "command": command,
          "gpu": subprocess.run(["nvidia-smi", "--query-gpu=name,driver_version", "--format=csv,noheader"],
                                capture_output=True, text=True).stdout.strip(),
          "note": "each kernel profiled alone by Nsight Compute (serialized: no PDL overlap, no graph)", "models": {}}
for label in labels:
    path = os.path.join(out, f"ncu_decode_{label}.csv")
    text = open(path).read() if os.path.exists(path) else ""
    start = text.find('"ID"')
    kernels = {}
    if start >= 0:
        for row in csv.DictReader(io.StringIO(text[start:])):
            k = kernels.setdefault(row["ID"], {"kernel": row["Kernel Name"].split("(")[0]})
            name, unit, value = row["Metric Name"], row.get("Metric Unit", ""), row["Metric Value"].replace(",", "")
            key = wanted.get(name)
            if key is None and name.startswith("smsp__warp_issue_stalled_"):
                key = "stall_pct_" + name[len("smsp__warp_issue_stalled_"):].replace("_per_warp_active.pct", "")
            if key is None:
                continue
            try:
                v = float(value)
            except ValueError:
                continue
            if key == "duration_us":
                v = v / 1000 if unit in ("ns", "nsecond") else v * 1000 if unit in ("ms", "msecond") else v
            k[key] = v
    rows = list(kernels.values())
    for r in rows:
        if r.get("duration_us") and r.get("dram_read_bytes"):
            r["dram_read_gb_s"] = r["dram_read_bytes"] / r["duration_us"] / 1e3
        stalls = sorted(((v, k[len("stall_pct_"):]) for k, v in r.items() if k.startswith("stall_pct_")), reverse=True)
        r["top_stalls"] = [f"{name} {v:.0f}%" for v, name in stalls[:4]]
    result["models"][label] = rows
    print(f"{label}:")
    for r in rows:
        print(f"  {r['kernel'][:40]:40s} {r.get('duration_us', float('nan')):7.2f} us  "
              f"dram {r.get('dram_read_bytes', 0) / 1e6:6.2f} MB {r.get('dram_read_gb_s', 0):6.0f} GB/s  "
              f"occ {r.get('achieved_occupancy_pct', float('nan')):5.1f}%  regs {r.get('registers', 0):.0f}  "
              f"cyc/issue {r.get('warp_cycles_per_issue', float('nan')):.1f}  {', '.join(r['top_stalls'])}")
json.dump(result, open(os.path.join(out, "ncu_decode.json"), "w"), indent=1)
PY
