#!/usr/bin/env bash
# End-to-end checks of the JBang scripts exactly as users run them (jbang + the installed library).
# Each check states what it expects; the first failure stops the run with a non-zero exit.
set -uo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
failures=0
pass() { echo "  ok   $1"; }
fail() { echo "  FAIL $1"; failures=$((failures + 1)); }

expect_ok() {  # name, command...
  local name="$1"; shift
  if "$@" >"$tmp/out" 2>"$tmp/err"; then pass "$name"; else fail "$name (exit $?)"; cat "$tmp/out" "$tmp/err" | tail -20; fi
}
expect_user_error() {  # name, expected message fragment, command...
  local name="$1" fragment="$2"; shift 2
  "$@" >"$tmp/out" 2>"$tmp/err"; local rc=$?
  # the JVM's own notice about the incubating Vector API module is not tinyrt's output
  local lines; lines=$(grep -vcE '^\[jbang\]|^WARNING: Using incubator modules' "$tmp/err")
  if [ $rc -eq 2 ] && [ "$lines" -eq 1 ] && grep -q "^error: .*$fragment" "$tmp/err" && ! grep -qE 'Exception|\bat [a-z]+\.' "$tmp/err"; then
    pass "$name"
  else
    fail "$name (exit $rc, want 2 and one 'error: ...$fragment' line)"; cat "$tmp/err" | tail -20
  fi
}

echo "script tests (jbang $(jbang --version 2>&1 | tail -1))"
for s in jbang-scripts/*.java; do
  expect_ok "$(basename "$s") --help" jbang "$s" --help
done

expect_ok "make_checkpoint tiny" jbang jbang-scripts/make_checkpoint.java --preset tiny --seed 7 --out "$tmp/tiny"
for f in config.json model.safetensors generation_config.json tokenizer.json; do
  [ -f "$tmp/tiny/$f" ] && pass "checkpoint has $f" || fail "checkpoint lacks $f"
done

expect_ok "inference_engine --prompt --output-json" jbang jbang-scripts/inference_engine.java --model "$tmp/tiny" \
  --prompt "The capital of France is" --max-new-tokens 6 --ignore-eos --logprobs 3 --output-json "$tmp/gen.json"
python3 - "$tmp/gen.json" <<'PY' && pass "output json has 6 ids, 6x3 logprobs, timings" || fail "output json shape"
import json, sys
d = json.load(open(sys.argv[1]))
assert len(d["output_ids"]) == 6, d
assert len(d["logprobs"]) == 6 and all(len(x) == 3 for x in d["logprobs"]), d["logprobs"]
assert all(e["logprob"] <= 0 for x in d["logprobs"] for e in x)
assert d["ttft_ms"] > 0 and isinstance(d["text"], str)
PY

expect_ok "make_checkpoint without tokenizer" jbang jbang-scripts/make_checkpoint.java --preset tiny --vocab-size 300 \
  --out "$tmp/ids-only"
expect_ok "inference_engine --prompt-ids on a directory without tokenizer" jbang jbang-scripts/inference_engine.java \
  --model "$tmp/ids-only" --prompt-ids 1,5,9 --max-new-tokens 4 --output-json "$tmp/ids.json"
python3 -c "import json,sys; d=json.load(open('$tmp/ids.json')); assert len(d['output_ids'])==4 and d['text'] is None" \
  && pass "ids-only output" || fail "ids-only output"

printf '%s\n' '{"prompt":"Hello","max_new_tokens":3,"ignore_eos":true}' '{"input_ids":[1,450,7483],"max_new_tokens":4,"ignore_eos":true}' \
  '{"prompt":""}' > "$tmp/batch.jsonl"
jbang jbang-scripts/inference_engine.java --model "$tmp/tiny" --batch-file "$tmp/batch.jsonl" >"$tmp/batch.out" 2>"$tmp/batch.err"
rc=$?
python3 - "$tmp/batch.out" $rc <<'PY' && pass "--batch-file: one JSON line per request, bad line reported, exit 2" || { fail "--batch-file"; cat "$tmp/batch.out" "$tmp/batch.err"; }
import json, sys
lines = [json.loads(l) for l in open(sys.argv[1])]
assert int(sys.argv[2]) == 2, sys.argv[2]
assert [len(l.get("output_ids", [])) for l in lines] == [3, 4, 0], lines
assert "empty prompt" in lines[2]["error"] and isinstance(lines[0]["text"], str)
PY
jbang jbang-scripts/inference_engine.java --model "$tmp/tiny" --batch-file "$tmp/batch.jsonl" --stream >"$tmp/stream.out" 2>/dev/null
[ "$(grep -c '^\[0\] ' "$tmp/stream.out")" -eq 3 ] && [ "$(grep -c '^\[1\] ' "$tmp/stream.out")" -eq 4 ] \
  && pass "--stream prefixes each request's tokens with its id" || { fail "--stream with a batch"; cat "$tmp/stream.out"; }

expect_ok "convert_checkpoint tiny" jbang jbang-scripts/convert_checkpoint.java --model "$tmp/tiny" --config configs/tinyllama_fp16.yaml --out "$tmp/ckpt"
expect_ok "build_engine on the CPU" jbang jbang-scripts/build_engine.java --checkpoint "$tmp/ckpt" --out "$tmp/engine" \
  --backend cpu --max-batch-size 8 --max-input-len 128 --max-seq-len 256 --max-num-tokens 512 --tokens-per-block 16
python3 -c "import json; b=json.load(open('$tmp/engine/config.json'))['build_config']; assert b['max_batch_size']==8 and b['max_seq_len']==256 and b['plugin_config']['tokens_per_block']==16" \
  && pass "engine config.json has build_config" || fail "engine config.json"
jbang jbang-scripts/inference_engine.java --model "$tmp/ckpt" --prompt-ids 1,450,7483 --max-new-tokens 8 --ignore-eos \
  --output-json "$tmp/from-ckpt.json" >/dev/null 2>&1
expect_ok "inference_engine --engine" jbang jbang-scripts/inference_engine.java --engine "$tmp/engine" --prompt-ids 1,450,7483 \
  --max-new-tokens 8 --ignore-eos --output-json "$tmp/from-engine.json"
python3 -c "import json; a=json.load(open('$tmp/from-ckpt.json')); b=json.load(open('$tmp/from-engine.json')); assert a['output_ids']==b['output_ids'] and len(a['output_ids'])==8, (a, b)" \
  && pass "the engine generates what the checkpoint generates" || fail "engine vs checkpoint output"
expect_user_error "build_engine: missing checkpoint" "not found" jbang jbang-scripts/build_engine.java --checkpoint "$tmp/nope" --out "$tmp/e2"
expect_user_error "build_engine: max_seq_len beyond the model" "max-seq-len" jbang jbang-scripts/build_engine.java \
  --checkpoint "$tmp/ckpt" --out "$tmp/e3" --backend cpu --max-seq-len 100000
expect_user_error "inference_engine --engine on a checkpoint" "not an engine directory" jbang jbang-scripts/inference_engine.java \
  --engine "$tmp/ckpt" --prompt-ids 1,2

expect_user_error "missing model directory" "not found" jbang jbang-scripts/inference_engine.java --model "$tmp/nope" --prompt hi
expect_user_error "empty prompt" "empty prompt" jbang jbang-scripts/inference_engine.java --model "$tmp/tiny" --prompt ""
expect_user_error "text prompt without tokenizer" "no tokenizer" jbang jbang-scripts/inference_engine.java --model "$tmp/ids-only" --prompt hi
long=$(python3 -c "print(','.join(['5']*600))")
expect_user_error "prompt longer than the context" "max_position_embeddings" jbang jbang-scripts/inference_engine.java \
  --model "$tmp/tiny" --prompt-ids "$long"
expect_user_error "unknown dtype" "dtype" jbang jbang-scripts/make_checkpoint.java --dtype fp12 --out "$tmp/x"

if [ $failures -ne 0 ]; then echo "script tests: $failures failed"; exit 1; fi
echo "script tests: all passed"
