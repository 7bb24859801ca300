#!/usr/bin/env python3
"""Train tinyrt's small Llama (LlamaForCausalLM, Llama-2 tokenizer, ~12.3 M parameters) on the public-domain
corpus from environment/build_corpus.py, and save it as a HuggingFace checkpoint with a model card.

Runs on the GPU machine (torch + transformers + tokenizers + matplotlib + safetensors; no network):

    python3 environment/train_tiny_llama.py --smoke --out /tmp/smoke          # 20 steps: checks + throughput
    python3 environment/train_tiny_llama.py --out data/models/tinyrt-llama-12m --steps N

Writes into --out: model.safetensors + config.json + generation_config.json (fp16), the tokenizer files,
training_log.json, loss_curve.png and README.md (the model card).
"""

import os

# Nothing here may touch the network: set before transformers is imported.
os.environ["HF_HUB_OFFLINE"] = "1"
os.environ["TRANSFORMERS_OFFLINE"] = "1"
os.environ["HF_DATASETS_OFFLINE"] = "1"
os.environ["HF_HUB_DISABLE_TELEMETRY"] = "1"

import argparse
import hashlib
import inspect
import json
import math
import platform
import random
import shlex
import shutil
import sys
import time

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DOC_SEPARATOR = "\n\n<|endoftext|>\n\n"  # must match build_corpus.py
TOKENIZER_FILES = ["tokenizer.json", "tokenizer.model", "tokenizer_config.json", "special_tokens_map.json"]
MAX_WEIGHTS_BYTES = 25_000_000
ASSUMED_TOKENS_PER_SECOND = 1.5e6  # first guess used for the default --steps (about 5 minutes)
TARGET_TRAIN_SECONDS = 300
PROMPTS = [
    "The President said",
    "It is a truth universally acknowledged",
    "And God said",
    "In the beginning",
    "Fellow-Citizens of the Senate and House of Representatives:",
]
MODEL_SHAPE = dict(vocab_size=32000, hidden_size=256, intermediate_size=640, num_hidden_layers=6,
                   num_attention_heads=8, num_key_value_heads=4, max_position_embeddings=1024,
                   rms_norm_eps=1e-5, tie_word_embeddings=True, bos_token_id=1, eos_token_id=2,
                   hidden_act="silu", initializer_range=0.02)
ROPE_THETA = 10000.0
EXPECTED_PARAMETERS = 12_324_096  # embeddings 8,192,000 + 6 layers x 688,640 + final norm 256


def parse_args(argv):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--train", default=os.path.join(REPO_ROOT, "data", "corpus", "train.txt"))
    p.add_argument("--validation", default=os.path.join(REPO_ROOT, "data", "corpus", "validation.txt"))
    p.add_argument("--manifest", default=None, help="corpus MANIFEST.json (default: next to --train)")
    p.add_argument("--tokenizer", default=os.path.join(REPO_ROOT, "data", "tokenizer"),
                   help="dir with tokenizer.json (+ tokenizer.model, tokenizer_config.json, special_tokens_map.json)")
    p.add_argument("--out", required=True, help="output dir, e.g. data/models/tinyrt-llama-12m")
    p.add_argument("--name", default=None, help="model name in the card (default: basename of --out)")
    p.add_argument("--seed", type=int, default=1234)
    p.add_argument("--batch-size", type=int, default=64, help="sequences per step")
    p.add_argument("--seq-len", type=int, default=512)
    p.add_argument("--steps", type=int, default=None,
                   help=f"optimizer steps (default: about {TARGET_TRAIN_SECONDS} s at an assumed "
                        f"{ASSUMED_TOKENS_PER_SECOND:.1e} tokens/s)")
    p.add_argument("--lr", type=float, default=3e-3, help="peak learning rate (AdamW)")
    p.add_argument("--min-lr-ratio", type=float, default=0.1, help="cosine decays to lr * this")
    p.add_argument("--warmup-steps", type=int, default=None, help="default: 4%% of --steps, at most 300")
    p.add_argument("--weight-decay", type=float, default=0.1)
    p.add_argument("--grad-clip", type=float, default=1.0)
    p.add_argument("--max-minutes", type=float, default=7.0, help="hard stop for the training loop")
    p.add_argument("--log-every", type=int, default=20)
    p.add_argument("--eval-every", type=int, default=None, help="steps between validation evaluations "
                   "(default: steps/25)")
    p.add_argument("--eval-batch-size", type=int, default=64)
    p.add_argument("--no-select-best", action="store_true",
                   help="ship the final weights even when an earlier evaluation had a lower validation loss")
    p.add_argument("--compile", action="store_true", help="torch.compile the model (costs compile time)")
    p.add_argument("--weights-license", default="CC0-1.0",
                   help="license stated in the card for the trained weights")
    p.add_argument("--smoke", action="store_true",
                   help="20 steps, evaluation on a few windows: checks the whole pipeline and prints throughput")
    args = p.parse_args(argv)
    if args.smoke:
        args.steps = args.steps or 20
        args.log_every, args.eval_every = 5, 10
    if args.steps is None:
        args.steps = max(100, round(TARGET_TRAIN_SECONDS * ASSUMED_TOKENS_PER_SECOND
                                    / (args.batch_size * args.seq_len)))
    if args.warmup_steps is None:
        args.warmup_steps = min(300, max(1, args.steps * 4 // 100))
    if args.eval_every is None:
        args.eval_every = max(50, args.steps // 25)
    args.manifest = args.manifest or os.path.join(os.path.dirname(os.path.abspath(args.train)), "MANIFEST.json")
    args.name = args.name or os.path.basename(os.path.normpath(args.out))
    return args


def fail(message):
    print(f"train_tiny_llama: error: {message}", file=sys.stderr)
    sys.exit(2)


def sha256_file(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


# ------------------------------------------------------------------------------------------------- data


def load_tokenizer(directory):
    from tokenizers import Tokenizer

    path = os.path.join(directory, "tokenizer.json")
    if not os.path.exists(path):
        fail(f"{path} not found (the Llama-2 tokenizer dir must hold tokenizer.json)")
    tokenizer = Tokenizer.from_file(path)
    checks = {
        "vocab size 32000": tokenizer.get_vocab_size(with_added_tokens=True) == 32000,
        "<s> is id 1": tokenizer.token_to_id("<s>") == 1,
        "</s> is id 2": tokenizer.token_to_id("</s>") == 2,
        "'Hello world' -> [15043, 3186]":
            tokenizer.encode("Hello world", add_special_tokens=False).ids == [15043, 3186],
    }
    broken = [name for name, ok in checks.items() if not ok]
    if broken:
        fail(f"{path} is not the Llama-2 tokenizer: failed {broken}")
    return tokenizer


def read_documents(path):
    if not os.path.exists(path):
        fail(f"{path} not found (build it with: python3 environment/build_corpus.py)")
    with open(path, encoding="utf-8") as f:
        text = f.read()
    docs = [d for d in text.rstrip("\n").split(DOC_SEPARATOR) if d.strip()]
    if not docs:
        fail(f"{path} holds no documents")
    return docs


def tokenize_documents(tokenizer, docs, bos_id, eos_id):
    """One token stream: BOS, document, EOS for every document, in file order."""
    import torch

    stream = []
    for encoding in tokenizer.encode_batch(docs, add_special_tokens=False):
        stream.append(bos_id)
        stream.extend(encoding.ids)
        stream.append(eos_id)
    return torch.tensor(stream, dtype=torch.long)


class ChunkSampler:
    """Deterministic batches of (seq_len + 1)-token windows from the training stream.  Each epoch starts the
    windows at a random offset below seq_len and visits them in a random order; both come from a generator
    seeded with --seed, so the data order is the same on every run."""

    def __init__(self, stream, seq_len, batch_size, seed):
        import torch

        self.stream, self.seq_len, self.batch_size = stream, seq_len, batch_size
        self.generator = torch.Generator().manual_seed(seed)
        self.epoch, self.queue = 0, []
        self.window = torch.arange(seq_len + 1, device=stream.device)
        if (stream.numel() - seq_len - 1) // seq_len < batch_size:
            fail(f"training stream of {stream.numel()} tokens is too short for one batch")

    def _refill(self):
        import torch

        offset = int(torch.randint(self.seq_len, (1,), generator=self.generator))
        count = (self.stream.numel() - offset - 1) // self.seq_len
        order = torch.randperm(count, generator=self.generator)
        starts = (offset + order * self.seq_len).to(self.stream.device)
        self.queue = [starts[i:i + self.batch_size] for i in range(0, count - self.batch_size + 1, self.batch_size)]
        self.queue.reverse()
        self.epoch += 1

    def next_batch(self):
        if not self.queue:
            self._refill()
        starts = self.queue.pop()
        return self.stream[starts[:, None] + self.window[None, :]]


# ------------------------------------------------------------------------------------------- evaluation


def evaluate(model, stream, seq_len, batch_size, bos_id, max_windows=None, autocast=True):
    """Mean negative log-likelihood over the stream: consecutive non-overlapping windows, each predicting the
    next seq_len tokens, so every token after the first is scored exactly once -- except BOS tokens, which
    are given, not predicted.  Returns (mean nll, scored token count)."""
    import torch
    import torch.nn.functional as F

    total = stream.numel()
    starts = list(range(0, total - 1, seq_len))
    if max_windows is not None:
        starts = starts[:max_windows]
    nll = torch.zeros((), dtype=torch.float64, device=stream.device)
    scored = torch.zeros((), dtype=torch.long, device=stream.device)
    window = torch.arange(seq_len + 1, device=stream.device)
    full = [s for s in starts if s + seq_len + 1 <= total]
    batches = [torch.tensor(full[i:i + batch_size], device=stream.device)[:, None] + window[None, :]
               for i in range(0, len(full), batch_size)]
    tail = [s for s in starts if s + seq_len + 1 > total]
    was_training = model.training
    model.eval()
    with torch.no_grad():
        chunks = [stream[index] for index in batches]
        if tail:
            chunks.append(stream[tail[0]:total][None, :])
        for chunk in chunks:
            inputs, targets = chunk[:, :-1], chunk[:, 1:]
            with torch.autocast("cuda", dtype=torch.bfloat16, enabled=autocast):
                logits = model(input_ids=inputs, use_cache=False).logits
            losses = F.cross_entropy(logits.float().reshape(-1, logits.shape[-1]), targets.reshape(-1),
                                     reduction="none")
            keep = targets.reshape(-1) != bos_id
            nll += (losses * keep).sum(dtype=torch.float64)
            scored += keep.sum()
    model.train(was_training)
    return (nll / scored).item(), int(scored.item())


def unigram_nll(train_stream, valid_stream, vocab_size, bos_id):
    """Add-one smoothed unigram model from the training tokens, scored on the same validation targets as
    `evaluate` (every token after the first, BOS excluded)."""
    import torch

    counts = torch.bincount(train_stream, minlength=vocab_size).double()
    log_probs = torch.log((counts + 1) / (counts.sum() + vocab_size))
    targets = valid_stream[1:]
    targets = targets[targets != bos_id]
    return (-log_probs[targets.to(log_probs.device)].mean()).item(), targets.numel()


# ---------------------------------------------------------------------------------------------- training


def build_model(seed):
    import torch
    from transformers import LlamaConfig, LlamaForCausalLM

    shape = dict(MODEL_SHAPE)
    fields = set(inspect.signature(LlamaConfig.__init__).parameters) | set(getattr(LlamaConfig,
                                                                                    "__dataclass_fields__", {}))
    if "rope_parameters" in fields:  # transformers 5 spelling
        shape["rope_parameters"] = {"rope_type": "default", "rope_theta": ROPE_THETA}
    else:
        shape["rope_theta"] = ROPE_THETA
    config = LlamaConfig(**shape)
    theta = _find_key(getattr(config, "rope_parameters", None), "rope_theta") or getattr(config, "rope_theta", None)
    if theta is None or float(theta) != ROPE_THETA:
        fail(f"LlamaConfig did not take rope_theta={ROPE_THETA} (got {theta})")
    torch.manual_seed(seed)
    model = LlamaForCausalLM(config)
    if model.lm_head.weight.data_ptr() != model.model.embed_tokens.weight.data_ptr():
        fail("lm_head is not tied to embed_tokens")
    parameters = sum(p.numel() for p in model.parameters())  # tied weights are counted once
    print(f"model: {parameters:,} parameters (expected {EXPECTED_PARAMETERS:,})", flush=True)
    if parameters != EXPECTED_PARAMETERS or not 10_000_000 <= parameters <= 20_000_000:
        fail(f"unexpected parameter count {parameters}")
    return model, parameters


def _find_key(value, key):
    """value[key] in a possibly nested dict (transformers 5 may nest rope parameters per layer type)."""
    if isinstance(value, dict):
        if key in value:
            return value[key]
        for inner in value.values():
            found = _find_key(inner, key)
            if found is not None:
                return found
    return None


def lr_at(step, args):
    """Linear warmup to --lr, then cosine decay to lr * min_lr_ratio at --steps."""
    if step < args.warmup_steps:
        return args.lr * (step + 1) / args.warmup_steps
    progress = min(1.0, (step - args.warmup_steps) / max(1, args.steps - args.warmup_steps))
    return args.lr * (args.min_lr_ratio + (1 - args.min_lr_ratio) * 0.5 * (1 + math.cos(math.pi * progress)))


def make_optimizer(model, args):
    import torch

    decay = [p for p in model.parameters() if p.dim() >= 2]
    no_decay = [p for p in model.parameters() if p.dim() < 2]
    groups = [{"params": decay, "weight_decay": args.weight_decay}, {"params": no_decay, "weight_decay": 0.0}]
    return torch.optim.AdamW(groups, lr=args.lr, betas=(0.9, 0.95), eps=1e-8, fused=True)


def train(model, train_stream, valid_stream, args, log):
    import torch
    import torch.nn.functional as F

    step_model = torch.compile(model) if args.compile else model
    optimizer = make_optimizer(model, args)
    sampler = ChunkSampler(train_stream, args.seq_len, args.batch_size, args.seed)
    tokens_per_step = args.batch_size * args.seq_len
    eval_windows = 8 if args.smoke else None
    best = {"loss": float("inf"), "step": None, "state": None}
    loss_sum = torch.zeros((), device=train_stream.device)
    loss_count, step, throughput_reported = 0, 0, False
    eval_seconds = 0.0  # kept out of the throughput figure
    model.train()
    torch.cuda.synchronize()
    start = time.time()
    mark = (start, 0, 0.0)

    def validate(step):
        """Validation loss now; keeps a copy of the weights when it is the lowest so far."""
        nonlocal best, eval_seconds
        eval_start = time.time()
        val_loss, _ = evaluate(model, valid_stream, args.seq_len, args.eval_batch_size,
                               MODEL_SHAPE["bos_token_id"], max_windows=eval_windows)
        eval_seconds += time.time() - eval_start
        log["validation_loss"].append({"step": step, "loss": round(val_loss, 5),
                                       "seconds": round(time.time() - start, 2)})
        print(f"step {step:6d}  validation loss {val_loss:.4f}  (ppl {math.exp(val_loss):.2f})", flush=True)
        if val_loss < best["loss"]:
            best = {"loss": val_loss, "step": step,
                    "state": {k: v.detach().clone() for k, v in model.state_dict().items()}}

    for step in range(1, args.steps + 1):
        lr = lr_at(step - 1, args)
        for group in optimizer.param_groups:
            group["lr"] = lr
        batch = sampler.next_batch()
        with torch.autocast("cuda", dtype=torch.bfloat16):
            logits = step_model(input_ids=batch[:, :-1], use_cache=False).logits
        loss = F.cross_entropy(logits.float().reshape(-1, logits.shape[-1]), batch[:, 1:].reshape(-1))
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        grad_norm = torch.nn.utils.clip_grad_norm_(model.parameters(), args.grad_clip)
        optimizer.step()
        loss_sum += loss.detach()
        loss_count += 1

        if step % args.log_every == 0 or step == args.steps:
            mean_loss = (loss_sum / loss_count).item()  # synchronizes
            loss_sum.zero_()
            loss_count = 0
            elapsed = time.time() - start
            norm = float(grad_norm)
            log["train_loss"].append({"step": step, "loss": round(mean_loss, 5), "lr": lr,
                                      "grad_norm": round(norm, 4), "seconds": round(elapsed, 2)})
            print(f"step {step:6d}/{args.steps}  loss {mean_loss:.4f}  lr {lr:.2e}  |g| {norm:.3f}  "
                  f"{elapsed:7.1f}s  epoch {step * tokens_per_step / train_stream.numel():.2f}", flush=True)
            if not math.isfinite(mean_loss):
                fail(f"training diverged at step {step} (loss {mean_loss})")
            warm_step = 5 if args.smoke else 50
            if step >= warm_step and mark[1] == 0:
                mark = (time.time(), step, eval_seconds)
            elif not throughput_reported and mark[1] and step >= mark[1] + (15 if args.smoke else 100):
                busy = time.time() - mark[0] - (eval_seconds - mark[2])
                report_throughput(log, args, tokens_per_step, busy / (step - mark[1]))
                throughput_reported = True

        evaluated = step % args.eval_every == 0 or step == args.steps
        if evaluated:
            validate(step)
        if time.time() - start > args.max_minutes * 60 and step < args.steps:
            print(f"stopping at step {step}: --max-minutes {args.max_minutes} reached", flush=True)
            log["stopped_by_max_minutes"] = True
            if not evaluated:
                validate(step)
            break
    torch.cuda.synchronize()
    train_seconds = time.time() - start
    if not throughput_reported:
        report_throughput(log, args, tokens_per_step, (train_seconds - eval_seconds) / max(1, step))
    log["steps_done"] = step
    log["tokens_seen"] = step * tokens_per_step
    log["epochs"] = round(step * tokens_per_step / train_stream.numel(), 3)
    log["train_seconds"] = round(train_seconds, 2)
    log["final_step_validation_loss"] = log["validation_loss"][-1]["loss"]
    if not args.no_select_best and best["step"] is not None and best["step"] != step:
        print(f"restoring the weights of step {best['step']} (validation loss {best['loss']:.4f} < final "
              f"{log['validation_loss'][-1]['loss']:.4f})", flush=True)
        model.load_state_dict(best["state"])
        log["selected_step"] = best["step"]
    else:
        log["selected_step"] = step
    return log


def report_throughput(log, args, tokens_per_step, seconds_per_step):
    tokens_per_second = tokens_per_step / seconds_per_step
    steps_5min = int(TARGET_TRAIN_SECONDS / seconds_per_step)
    log["throughput"] = {"seconds_per_step": round(seconds_per_step, 5),
                         "tokens_per_second": round(tokens_per_second), "steps_for_5_minutes": steps_5min}
    print(f"THROUGHPUT: {seconds_per_step * 1000:.1f} ms/step, {tokens_per_second:,.0f} tokens/s at batch "
          f"{args.batch_size} x {args.seq_len}; --steps {steps_5min} would take about 5 minutes "
          f"(this run: --steps {args.steps} ~ {args.steps * seconds_per_step / 60:.1f} min)", flush=True)


# ------------------------------------------------------------------------------------------------ output


def save_checkpoint(model, out_dir, tokenizer_dir):
    import torch
    from transformers import GenerationConfig

    model = model.to(torch.float16)
    model.config.use_cache = True
    model.generation_config = GenerationConfig(bos_token_id=1, eos_token_id=2, pad_token_id=0, do_sample=False,
                                               max_new_tokens=64)
    kwargs = {}
    if "safe_serialization" in inspect.signature(model.save_pretrained).parameters:
        kwargs["safe_serialization"] = True  # transformers 4.x; 5.x always writes safetensors
    model.save_pretrained(out_dir, **kwargs)
    model.generation_config.save_pretrained(out_dir)
    copied = []
    for name in TOKENIZER_FILES:
        source = os.path.join(tokenizer_dir, name)
        if os.path.exists(source):
            shutil.copyfile(source, os.path.join(out_dir, name))
            copied.append(name)
        else:
            print(f"warning: {source} missing, not copied", flush=True)
    weights = os.path.join(out_dir, "model.safetensors")
    if not os.path.exists(weights):
        fail(f"save_pretrained wrote no {weights}: {sorted(os.listdir(out_dir))}")
    size = os.path.getsize(weights)
    print(f"saved {weights}: {size:,} bytes", flush=True)
    if size > MAX_WEIGHTS_BYTES:
        fail(f"{weights} is {size} bytes > {MAX_WEIGHTS_BYTES}")
    return size, copied


def generate_samples(out_dir, tokenizer, max_new_tokens):
    """Greedy continuations of fixed prompts by the saved fp16 checkpoint, loaded back from disk."""
    import torch
    from transformers import LlamaForCausalLM

    model = LlamaForCausalLM.from_pretrained(out_dir, dtype=torch.float16).cuda().eval()
    samples = []
    for prompt in PROMPTS:
        ids = [1] + tokenizer.encode(prompt, add_special_tokens=False).ids
        input_ids = torch.tensor([ids], device="cuda")
        with torch.no_grad():
            output = model.generate(input_ids=input_ids, attention_mask=torch.ones_like(input_ids),
                                    do_sample=False, max_new_tokens=max_new_tokens)
        new_ids = output[0, len(ids):].tolist()
        text = tokenizer.decode(ids + new_ids, skip_special_tokens=True)
        samples.append({"prompt": prompt, "text": text, "new_token_ids": new_ids})
        print(f"SAMPLE {prompt!r} -> {text!r}", flush=True)
    return model, samples


def plot_losses(log, path, unigram_loss):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(8, 4.5), dpi=110)
    train_points = log["train_loss"]
    ax.plot([p["step"] for p in train_points], [p["loss"] for p in train_points], label="train loss", lw=1)
    valid_points = log["validation_loss"]
    ax.plot([p["step"] for p in valid_points], [p["loss"] for p in valid_points], "o-", ms=3,
            label="validation loss")
    ax.axhline(unigram_loss, color="grey", ls="--", lw=1, label=f"unigram baseline ({unigram_loss:.2f})")
    if log.get("selected_step") and log["selected_step"] != log["steps_done"]:
        ax.axvline(log["selected_step"], color="green", ls=":", lw=1, label="shipped weights")
    ax.set_xlabel("optimizer step")
    ax.set_ylabel("cross-entropy (nats/token)")
    ax.set_title(f"{log['model_name']}: {log['parameters']:,} parameters, "
                 f"{log['tokens_seen'] / 1e6:.0f} M tokens seen")
    ax.grid(alpha=0.3)
    ax.legend()
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)


def write_card(path, log, manifest):
    r = log["results"]
    lines = [
        "---",
        "language: en",
        "library_name: transformers",
        "pipeline_tag: text-generation",
        "license: other",
        f"license_name: weights {log['weights_license']}; tokenizer Llama 2 Community License",
        "tags: [llama, tinyrt, public-domain]",
        "---",
        "",
        f"# {log['model_name']}",
        "",
        "A small Llama-architecture causal language model trained from scratch by tinyrt on public-domain "
        "English text, so that tinyrt has real, meaningful weights to convert, quantize, run and benchmark "
        "(no trained LLM weights can be downloaded where tinyrt is built). It is a test model: it writes "
        "recognisable English in the style of its sources, not reliable facts.",
        "",
    ]
    if log["smoke"]:
        lines += ["**SMOKE RUN** -- a pipeline check of a few steps, not a trained model.", ""]
    config = log["model_config"]
    head_dim = config["hidden_size"] // config["num_attention_heads"]
    lines += [
        "## Model",
        "",
        f"- `LlamaForCausalLM`: {config['num_hidden_layers']} layers, hidden {config['hidden_size']}, "
        f"MLP {config['intermediate_size']}, {config['num_attention_heads']} query heads / "
        f"{config['num_key_value_heads']} key-value heads (head dim {head_dim}), "
        f"RoPE theta {ROPE_THETA:g}, RMSNorm eps {config['rms_norm_eps']}, tied input/output embeddings, "
        f"context {config['max_position_embeddings']}.",
        f"- Parameters: **{log['parameters']:,}** (tied embeddings counted once).",
        f"- `model.safetensors`: fp16, **{log['weights_bytes']:,} bytes**.",
        "- Tokenizer: the Llama 2 tokenizer (SentencePiece BPE, 32,000 tokens, byte fallback; `<s>` = 1, "
        "`</s>` = 2), files copied from `data/tokenizer`.",
        "",
        "## Data",
        "",
        f"Built by `python3 environment/build_corpus.py` (reproducible; `--check` verifies it). Documents are "
        f"split into train/validation as whole documents. train.txt sha256 `{log['corpus']['train_sha256']}`, "
        f"validation.txt sha256 `{log['corpus']['validation_sha256']}`.",
        "",
        "| source | packages | license | train docs | validation docs |",
        "| --- | --- | --- | ---: | ---: |",
    ]
    for source in (manifest or {}).get("sources", {}).values():
        packages = ", ".join(f"{p['registry']} `{p['name']}` {p['version']}" for p in source["packages"])
        lines.append(f"| {source['title']} | {packages} | {source['license']} | {source['train_documents']} | "
                     f"{source['validation_documents']} |")
    if not manifest:
        lines.append("| (corpus MANIFEST.json not found) | | | | |")
    lines += [
        "",
        f"Tokens (with `<s>`/`</s>` around each document): {log['corpus']['train_tokens']:,} train, "
        f"{log['corpus']['validation_tokens']:,} validation.",
        "",
        "## Training",
        "",
        "```",
        log["command"],
        "```",
        "",
        f"AdamW (betas 0.9/0.95, weight decay {log['hyperparameters']['weight_decay']} on matrices), peak lr "
        f"{log['hyperparameters']['lr']}, {log['hyperparameters']['warmup_steps']} warmup steps then cosine decay "
        f"to {log['hyperparameters']['min_lr_ratio']} x peak, gradient clip {log['hyperparameters']['grad_clip']}, "
        f"batch {log['hyperparameters']['batch_size']} x {log['hyperparameters']['seq_len']} tokens (documents "
        f"packed into one stream, random window offset and order per epoch), bf16 autocast, seed {log['seed']}.",
        f"{log['steps_done']:,} steps ({log['tokens_seen']:,} tokens, {log['epochs']} epochs) in "
        f"{log['train_seconds']:.0f} s on {log['gpu']} (torch {log['versions']['torch']}, transformers "
        f"{log['versions']['transformers']}).",
    ]
    if log.get("stopped_by_max_minutes"):
        lines.append(f"**Stopped early** by `--max-minutes {log['hyperparameters']['max_minutes']}` after "
                     f"{log['steps_done']} of {log['hyperparameters']['steps']} planned steps.")
    if log["selected_step"] != log["steps_done"]:
        lines.append(f"The shipped weights are those of step {log['selected_step']}, which had the lowest "
                     "validation loss of the periodic evaluations (early stopping on the validation set).")
    lines += [
        "",
        "![loss curve](loss_curve.png)",
        "",
        "## Validation perplexity",
        "",
        ("Over the whole validation set" if r["evaluated_windows"] == "all" else
         f"SMOKE: over the first {r['evaluated_windows']} windows of the validation set") +
        f" ({r['scored_tokens']:,} scored tokens: non-overlapping "
        f"{log['hyperparameters']['seq_len']}-token windows, every token scored once except the `<s>` tokens, "
        "which are given):",
        "",
        "| model | perplexity | nats/token |",
        "| --- | ---: | ---: |",
        f"| this model, shipped fp16 weights | **{r['validation_ppl_fp16']:.2f}** | {r['validation_nll_fp16']:.4f} |",
        f"| this model, fp32 weights, bf16 autocast | {r['validation_ppl']:.2f} | {r['validation_nll']:.4f} |",
        f"| unigram baseline (training-token counts, add-one smoothing over 32,000) | {r['unigram_ppl']:.2f} | "
        f"{r['unigram_nll']:.4f} |",
        "",
        "## Greedy samples",
        "",
        "`generate(do_sample=False, max_new_tokens=48)` with the fp16 checkpoint loaded back from this folder; "
        "the prompt is the start of each text.",
        "",
    ]
    for sample in log["samples"]:
        lines += [f"**{sample['prompt']}**", "", "```", sample["text"], "```", ""]
    lines += [
        "## License",
        "",
        f"- Weights: trained only on the public-domain texts listed above; released under "
        f"{log['weights_license']}.",
        "- Tokenizer files (`tokenizer.model`, `tokenizer.json`, `tokenizer_config.json`, "
        "`special_tokens_map.json`): Meta's Llama 2 tokenizer, under the Llama 2 Community License.",
        "",
        "Everything here is regenerated by the command above; `training_log.json` holds the full record "
        "(losses, timings, versions).",
        "",
    ]
    with open(path, "w", encoding="utf-8") as f:
        f.write("\n".join(lines))


def main(argv=None):
    args = parse_args(sys.argv[1:] if argv is None else argv)
    wall_start = time.time()
    import torch
    import tokenizers
    import transformers

    if not torch.cuda.is_available():
        fail("CUDA is not available")
    random.seed(args.seed)
    torch.manual_seed(args.seed)
    torch.cuda.manual_seed_all(args.seed)
    torch.backends.cuda.matmul.allow_tf32 = True
    torch.backends.cudnn.allow_tf32 = True
    os.makedirs(args.out, exist_ok=True)

    tokenizer = load_tokenizer(args.tokenizer)
    manifest = None
    if os.path.exists(args.manifest):
        with open(args.manifest, encoding="utf-8") as f:
            manifest = json.load(f)
    corpus = {"train_sha256": sha256_file(args.train), "validation_sha256": sha256_file(args.validation)}
    if manifest:
        for key, name in (("train_sha256", "train.txt"), ("validation_sha256", "validation.txt")):
            if manifest["files"][name]["sha256"] != corpus[key]:
                print(f"warning: {name} sha256 {corpus[key]} differs from MANIFEST {manifest['files'][name]['sha256']}",
                      flush=True)
    else:
        print(f"warning: {args.manifest} not found; the card will not list the sources", flush=True)

    t0 = time.time()
    bos, eos = MODEL_SHAPE["bos_token_id"], MODEL_SHAPE["eos_token_id"]
    train_docs, valid_docs = read_documents(args.train), read_documents(args.validation)
    train_stream = tokenize_documents(tokenizer, train_docs, bos, eos).cuda()
    valid_stream = tokenize_documents(tokenizer, valid_docs, bos, eos).cuda()
    corpus.update(train_documents=len(train_docs), validation_documents=len(valid_docs),
                  train_tokens=train_stream.numel(), validation_tokens=valid_stream.numel())
    print(f"tokenized in {time.time() - t0:.1f}s: train {len(train_docs)} docs {train_stream.numel():,} tokens, "
          f"validation {len(valid_docs)} docs {valid_stream.numel():,} tokens", flush=True)

    model, parameters = build_model(args.seed)
    model = model.cuda()
    log = {
        "model_name": args.name, "smoke": args.smoke, "seed": args.seed,
        "command": "python3 " + " ".join(shlex.quote(a) for a in [sys.argv[0]] + (sys.argv[1:] if argv is None
                                                                                  else list(argv))),
        "gpu": torch.cuda.get_device_name(0),
        "versions": {"python": platform.python_version(), "torch": torch.__version__,
                     "transformers": transformers.__version__, "tokenizers": tokenizers.__version__,
                     "cuda": torch.version.cuda},
        "parameters": parameters, "model_config": dict(MODEL_SHAPE, rope_theta=ROPE_THETA),
        "hyperparameters": {k: getattr(args, k) for k in ("steps", "batch_size", "seq_len", "lr", "min_lr_ratio",
                                                           "warmup_steps", "weight_decay", "grad_clip",
                                                           "max_minutes", "eval_every", "compile")},
        "weights_license": args.weights_license, "corpus": corpus,
        "train_loss": [], "validation_loss": [], "stopped_by_max_minutes": False,
    }
    train(model, train_stream, valid_stream, args, log)

    eval_windows = 8 if args.smoke else None
    nll, scored = evaluate(model, valid_stream, args.seq_len, args.eval_batch_size, bos, max_windows=eval_windows)
    uni_nll, uni_scored = unigram_nll(train_stream, valid_stream, MODEL_SHAPE["vocab_size"], bos)
    if eval_windows is None and uni_scored != scored:
        fail(f"internal: model scored {scored} tokens, unigram {uni_scored}")
    if eval_windows is not None:  # smoke: score the unigram model on the same few windows
        subset = valid_stream[:min(valid_stream.numel(), eval_windows * args.seq_len + 1)]
        uni_nll, _ = unigram_nll(train_stream, subset, MODEL_SHAPE["vocab_size"], bos)

    weights_bytes, copied = save_checkpoint(model, args.out, args.tokenizer)
    del model
    fp16_model, samples = generate_samples(args.out, tokenizer, 48)
    nll16, _ = evaluate(fp16_model, valid_stream, args.seq_len, args.eval_batch_size, bos,
                        max_windows=eval_windows, autocast=False)
    log["results"] = {
        "scored_tokens": scored, "validation_nll": nll, "validation_ppl": math.exp(nll),
        "validation_nll_fp16": nll16, "validation_ppl_fp16": math.exp(nll16),
        "unigram_nll": uni_nll, "unigram_ppl": math.exp(uni_nll),
        "evaluated_windows": "all" if eval_windows is None else eval_windows,
    }
    print(f"VALIDATION: perplexity {math.exp(nll16):.2f} (fp16 weights), {math.exp(nll):.2f} (fp32 + bf16 "
          f"autocast), unigram baseline {math.exp(uni_nll):.2f}, over {scored:,} tokens", flush=True)
    log.update(samples=samples, weights_bytes=weights_bytes, tokenizer_files=copied,
               tokenizer_json_sha256=sha256_file(os.path.join(args.tokenizer, "tokenizer.json")),
               wall_seconds=round(time.time() - wall_start, 1))
    plot_losses(log, os.path.join(args.out, "loss_curve.png"), uni_nll)
    with open(os.path.join(args.out, "training_log.json"), "w", encoding="utf-8") as f:
        json.dump(log, f, indent=2, ensure_ascii=False)
        f.write("\n")
    write_card(os.path.join(args.out, "README.md"), log, manifest)
    print(f"done in {time.time() - wall_start:.0f}s: {args.out}", flush=True)


if __name__ == "__main__":
    main()
