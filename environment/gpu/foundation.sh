#!/usr/bin/env bash
# On the GPU machine: HF transformers reference outputs for the parity checkpoints, a TinyLlama-1.1B-shaped
# checkpoint made by tinyrt and loaded by transformers, and tinyrt's CPU engine checked against it there.
# Writes to $OUT: refs/<name>.safetensors per parity checkpoint, foundation.log, foundation.json.
set -uo pipefail  # no -e: a failed check is reported in the log and the JSON, the rest still runs
source environment/gpu/env.sh
log=$OUT/foundation.log
mkdir -p "$OUT/refs"
{
  nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv
  python3 -c "import torch, transformers; print('torch', torch.__version__, 'transformers', transformers.__version__)"
  for dir in lib/src/test/resources/parity/*/; do
    [ -f "$dir/config.json" ] || continue  # refs/ holds the references, not a model
    name=$(basename "$dir")
    python3 environment/hf_reference.py --model "$dir" --out "$OUT/refs/$name.safetensors"
    $TINYRT_JAVA parity_check --model "$dir" --reference "$OUT/refs/$name.safetensors"
  done
  $TINYRT_JAVA make_checkpoint --preset tinyllama-1.1b --seed 0 --dtype fp16 --out /tmp/tinyllama
  python3 environment/hf_reference.py --model /tmp/tinyllama --out /tmp/tinyllama-ref.safetensors \
    --lengths 5,40 --greedy 8 --text "The capital of France is" --threads 16
  $TINYRT_JAVA parity_check --model /tmp/tinyllama --reference /tmp/tinyllama-ref.safetensors | tee /tmp/tl-parity.txt
} 2>&1 | tee "$log"
python3 - "$OUT/foundation.json" <<'PY'
import json, subprocess, sys, datetime, os, torch, transformers
gpu = subprocess.run(["nvidia-smi", "--query-gpu=name,driver_version", "--format=csv,noheader"],
                     capture_output=True, text=True).stdout.strip()
parity = open("/tmp/tl-parity.txt").read().strip().splitlines()
json.dump({
    "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
    "commit": os.environ.get("TINYRT_COMMIT"),
    "command": "bash environment/gpu/foundation.sh (device run)",
    "gpu": gpu, "torch": torch.__version__, "transformers": transformers.__version__,
    "check": "transformers.AutoModelForCausalLM loads tinyrt's make_checkpoint --preset tinyllama-1.1b --seed 0 "
             "--dtype fp16; tinyrt's CPU engine (fp32 compute) is compared with it (fp32, CPU, eager)",
    "tinyllama_parity": parity,
    "tinyllama_passed": parity[-1].startswith("PASS"),
}, open(sys.argv[1], "w"), indent=2)
PY
