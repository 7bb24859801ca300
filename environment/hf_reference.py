#!/usr/bin/env python3
"""Write HuggingFace transformers reference outputs for a checkpoint, for tinyrt's parity tests.

Runs the real transformers LlamaForCausalLM in float32 on the CPU (deterministic, no TF32) with eager attention,
and writes a safetensors file holding, per prompt:
  prompt.{i}.input_ids      I32 [T]
  prompt.{i}.logits         F32 [T, V]   (when V <= --full-vocab-limit)
  prompt.{i}.topk_ids       I32 [T, K]   and prompt.{i}.topk_logits F32 [T, K]  (always)
  prompt.{i}.logsumexp      F32 [T]
  prompt.{i}.max_abs_logit  F32 [T]
  prompt.{i}.greedy         I32 [N]      N greedy tokens (argmax of each step, EOS not treated specially)
Prompts: random ids (fixed seed) of the given lengths, plus --text prompts when the directory has a tokenizer.

Usage: python3 hf_reference.py --model DIR --out FILE [--lengths 1,7,33,70] [--text "..."] [--greedy 24]
"""
import argparse
import datetime
import json
import os
import platform

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

import torch  # noqa: E402
import transformers  # noqa: E402
from safetensors.torch import save_file  # noqa: E402


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--lengths", default="1,7,33,70")
    ap.add_argument("--text", action="append", default=[])
    ap.add_argument("--greedy", type=int, default=24)
    ap.add_argument("--topk", type=int, default=16)
    ap.add_argument("--full-vocab-limit", type=int, default=4096)
    ap.add_argument("--seed", type=int, default=1234)
    ap.add_argument("--threads", type=int, default=0)
    args = ap.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)

    model = transformers.AutoModelForCausalLM.from_pretrained(
        args.model, dtype=torch.float32, attn_implementation="eager")
    model.eval()
    cfg = model.config
    vocab = cfg.vocab_size

    prompts = []
    gen = torch.Generator().manual_seed(args.seed)
    for n in [int(x) for x in args.lengths.split(",") if x]:
        n = min(n, cfg.max_position_embeddings - args.greedy)
        ids = torch.randint(3, vocab, (n,), generator=gen)
        ids[0] = cfg.bos_token_id if cfg.bos_token_id is not None else 1
        prompts.append(ids)
    if args.text:
        tok = transformers.AutoTokenizer.from_pretrained(args.model)
        for t in args.text:
            prompts.append(torch.tensor(tok(t)["input_ids"], dtype=torch.long))

    tensors = {}
    with torch.no_grad():
        for i, ids in enumerate(prompts):
            logits = model(ids[None, :]).logits[0].float()
            k = min(args.topk, vocab)
            top = torch.topk(logits, k, dim=-1)
            tensors[f"prompt.{i}.input_ids"] = ids.to(torch.int32).contiguous()
            if vocab <= args.full_vocab_limit:
                tensors[f"prompt.{i}.logits"] = logits.contiguous()
            tensors[f"prompt.{i}.topk_ids"] = top.indices.to(torch.int32).contiguous()
            tensors[f"prompt.{i}.topk_logits"] = top.values.contiguous()
            tensors[f"prompt.{i}.logsumexp"] = torch.logsumexp(logits, dim=-1).contiguous()
            tensors[f"prompt.{i}.max_abs_logit"] = logits.abs().max(dim=-1).values.contiguous()
            # greedy continuation with the KV cache, one token at a time
            out = model(ids[None, :], use_cache=True)
            past = out.past_key_values
            nxt = int(out.logits[0, -1].argmax())
            greedy = [nxt]
            for _ in range(args.greedy - 1):
                out = model(torch.tensor([[nxt]]), past_key_values=past, use_cache=True)
                past = out.past_key_values
                nxt = int(out.logits[0, -1].argmax())
                greedy.append(nxt)
            tensors[f"prompt.{i}.greedy"] = torch.tensor(greedy, dtype=torch.int32)

    meta = {
        "generator": "environment/hf_reference.py",
        "model": os.path.basename(os.path.normpath(args.model)),
        "transformers": transformers.__version__,
        "torch": torch.__version__,
        "python": platform.python_version(),
        "compute": "float32 cpu eager",
        "prompts": str(len(prompts)),
        "greedy_tokens": str(args.greedy),
        "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "texts": json.dumps(args.text, ensure_ascii=False),
    }
    os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
    save_file(tensors, args.out, metadata=meta)
    print(f"wrote {args.out}: {len(prompts)} prompts, vocab {vocab}, transformers {transformers.__version__}")


if __name__ == "__main__":
    main()
