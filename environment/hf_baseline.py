#!/usr/bin/env python3
"""The HuggingFace transformers baseline of tinyrt's benchmark.

Runs transformers' eager generate() on the same model and the same requests as `jbang-scripts/benchmark.java`
and writes the same JSON schema (tinyrt-benchmark/1, read strictly by dev.tinyrt.bench.BenchmarkJson).

  bench     --plan PLAN.json --out OUT.json     (what benchmark.java --baseline hf runs)
  bench     --model DIR --dataset FILE.jsonl --batch-sizes 1,8 [--warmup 1] [--repeats 3] --out OUT.json
  generate  --model DIR --prompt TEXT [--stream] [--max-new-tokens 64]   (what inference_hf.java runs)
  smoke     [--out OUT.json]     a tiny random Llama through `bench`, checked end to end (needs torch)
  metrics   --runs RUNS.json     the metric arithmetic alone (no torch): per-run metrics, summary, histogram

How the baseline is measured, so that it is the same workload as tinyrt's:
  * static batching: waves of `concurrency` requests, each wave one generate() call (HF has no in-flight
    batching); prompts of a wave are left-padded when their lengths differ;
  * greedy, eager attention, fp16 on CUDA (fp32 on a CPU), min_new_tokens = max_new_tokens so every request
    generates exactly its output_tokens (EOS is suppressed until then);
  * a stopping criterion that returns "not done" stamps each generation step after torch.cuda.synchronize():
    the first stamp is every request's first token, stamp n its n-th; the wave's clock starts just before
    generate() (after a synchronize), so TTFT includes prefill and HF's own overhead, as a user sees it;
  * warm-up waves (at most 32 output tokens) run before each point and are not measured;
  * memory: torch.cuda.max_memory_allocated, NVML device memory sampled every 10 ms (with the idle baseline
    before the model was loaded), and the process's peak RSS.
The metric definitions are trtllm-bench's (tensorrt_llm/bench/dataclasses/statistics.py and reporting.py) and
are computed exactly as dev.tinyrt.bench.RunMetrics computes them (sums in the same order, the same
nearest-rank percentiles), so a difference between systems is never a difference of arithmetic.
"""
import argparse
import ctypes
import datetime
import json
import math
import os
import platform
import random
import subprocess
import sys
import tempfile
import threading
import time

SCHEMA = "tinyrt-benchmark/1"
WARMUP_OUTPUT_TOKENS = 32


# --------------------------------------------------------------------------------------------------------------
# metrics: the same arithmetic as dev.tinyrt.bench (Percentiles, RequestTiming, RunMetrics, Stats, PointSummary,
# Histogram). Plain loops, not sum(): Python 3.12's sum() of floats is compensated, Java's loop is not.
# --------------------------------------------------------------------------------------------------------------

def _total(values):
    s = 0.0
    for v in values:
        s += v
    return s


def percentiles(values):
    """trtllm-bench's PercentileStats.from_iterable: p = sorted[int(n * q)], plus minimum, maximum, average."""
    n = len(values)
    if n == 0:
        return {"p50": 0.0, "p90": 0.0, "p95": 0.0, "p99": 0.0, "minimum": 0.0, "maximum": 0.0, "average": 0.0}
    total = _total(values)
    v = sorted(values)
    return {"p50": v[int(n * 0.50)], "p90": v[int(n * 0.90)], "p95": v[int(n * 0.95)], "p99": v[int(n * 0.99)],
            "minimum": v[0], "maximum": v[n - 1], "average": total / n}


def _ttft(r):
    return r["first_token_ms"] - r["start_ms"]


def _e2e(r):
    return r["end_ms"] - r["start_ms"]


def _generation(r):
    return r["end_ms"] - r["first_token_ms"]


def _tpot(r):
    return _generation(r) / (r["output_tokens"] - 1) if r["output_tokens"] > 1 else 0.0


def _gen_tps(r):
    g = _generation(r)
    return (r["output_tokens"] - 1) / (g / 1e3) if r["output_tokens"] > 1 and g > 0 else 0.0


def _user_tps(r):
    e = _e2e(r)
    return r["output_tokens"] / (e / 1e3) if e > 0 else 0.0


def _rate(amount, seconds):
    return amount / seconds if seconds > 0 else 0.0


def run_metrics(requests, itl_gaps_ms):
    """One run as trtllm-bench reports it: request_info, performance, streaming_metrics (+ the raw timings)."""
    n = len(requests)
    if n == 0:
        raise ValueError("a run without requests has no metrics")
    start = math.inf
    end = -math.inf
    input_tokens = 0
    output_tokens = 0
    e2e, ttft, tpot, gen_tps, user_tps = [], [], [], [], []
    for r in requests:
        start = min(start, r["start_ms"])
        end = max(end, r["end_ms"])
        input_tokens += r["input_tokens"]
        output_tokens += r["output_tokens"]
        e2e.append(_e2e(r))
        ttft.append(_ttft(r))
        tpot.append(_tpot(r))
        gen_tps.append(_gen_tps(r))
        user_tps.append(_user_tps(r))
    total_ms = end - start
    total_s = total_ms / 1e3
    latency = percentiles(e2e)
    ttft_p = percentiles(ttft)
    tpot_p = percentiles(tpot)
    gen_p = percentiles(gen_tps)
    return {
        "request_info": {
            "num_requests": n,
            "avg_num_concurrent_requests": latency["average"] * n / total_ms if total_ms > 0 else 0.0,
            "avg_input_length": input_tokens / n,
            "avg_output_length": output_tokens / n,
        },
        "performance": {
            "total_latency_ms": total_ms,
            "avg_request_latency_ms": latency["average"],
            "request_throughput_req_s": _rate(n, total_s),
            "system_output_throughput_tok_s": _rate(output_tokens, total_s),
            "system_total_throughput_tok_s": _rate(input_tokens + output_tokens, total_s),
            "output_throughput_per_user_tok_s": percentiles(user_tps)["average"],
            "request_latency_percentiles_ms": latency,
        },
        "streaming_metrics": {
            "token_output_speed_tok_s": gen_p["average"],
            "avg_ttft_ms": ttft_p["average"],
            "avg_tpot_ms": tpot_p["average"],
            "tpot_percentiles": tpot_p,
            "ttft_percentiles": ttft_p,
            "gen_tps_percentiles": gen_p,
            "itl_percentiles": percentiles(itl_gaps_ms),
        },
        "requests": [dict(r) for r in requests],
    }


def stats(values):
    """Median (mean of the middle two for an even count), min, max and count of repeated measurements."""
    v = sorted(values)
    n = len(v)
    median = v[n // 2] if n % 2 == 1 else (v[n // 2 - 1] + v[n // 2]) / 2
    return {"median": median, "min": v[0], "max": v[n - 1], "repeats": n}


def point_summary(runs):
    def over(f):
        return stats([f(r) for r in runs])
    return {
        "request_throughput_req_s": over(lambda r: r["performance"]["request_throughput_req_s"]),
        "system_output_throughput_tok_s": over(lambda r: r["performance"]["system_output_throughput_tok_s"]),
        "system_total_throughput_tok_s": over(lambda r: r["performance"]["system_total_throughput_tok_s"]),
        "output_throughput_per_user_tok_s": over(lambda r: r["performance"]["output_throughput_per_user_tok_s"]),
        "token_output_speed_tok_s": over(lambda r: r["streaming_metrics"]["token_output_speed_tok_s"]),
        "avg_ttft_ms": over(lambda r: r["streaming_metrics"]["avg_ttft_ms"]),
        "avg_tpot_ms": over(lambda r: r["streaming_metrics"]["avg_tpot_ms"]),
        "avg_request_latency_ms": over(lambda r: r["performance"]["avg_request_latency_ms"]),
        "p99_request_latency_ms": over(lambda r: r["performance"]["request_latency_percentiles_ms"]["p99"]),
    }


def histogram(values, bins=40):
    """Equal-width bins from the smallest to the largest value (the largest in the last bin)."""
    if not values:
        return {"bin_edges": [0.0], "counts": []}
    lo, hi = min(values), max(values)
    if hi == lo:
        return {"bin_edges": [lo, hi], "counts": [len(values)]}
    counts = [0] * bins
    width = (hi - lo) / bins
    for v in values:
        counts[min(bins - 1, int((v - lo) / width))] += 1
    edges = [hi if i == bins else lo + i * width for i in range(bins + 1)]
    return {"bin_edges": edges, "counts": counts}


def metrics_main(args):
    """{"runs": [{"requests": [...], "itl_gaps_ms": [...]}, ...]} -> repeats, summary, itl histogram."""
    with open(args.runs) as f:
        spec = json.load(f)
    runs = [run_metrics(r["requests"], r["itl_gaps_ms"]) for r in spec["runs"]]
    gaps = [g for r in spec["runs"] for g in r["itl_gaps_ms"]]
    json.dump({"repeats": runs, "summary": point_summary(runs), "itl_histogram_ms": histogram(gaps)}, sys.stdout)
    print()


# --------------------------------------------------------------------------------------------------------------
# datasets (trtllm-bench's format, as dev.tinyrt.bench.Datasets writes it) and provenance
# --------------------------------------------------------------------------------------------------------------

def read_dataset(path):
    requests = []
    with open(path) as f:
        for line in f:
            line = line.strip()
            if not line:
                continue
            d = json.loads(line)
            if "input_ids" not in d:
                raise SystemExit(f"{path}: every line needs input_ids (text prompts: tokenize them first)")
            requests.append({"task_id": d.get("task_id", len(requests)), "input_ids": [int(x) for x in d["input_ids"]],
                             "output_tokens": int(d["output_tokens"])})
    if not requests:
        raise SystemExit(f"{path}: no requests")
    return requests


def _cpu_model():
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.machine()


def _memory_gib():
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemTotal:"):
                    return round(int(line.split()[1]) * 1024 / 1024 ** 3 * 10) / 10.0
    except OSError:
        pass
    return 0.0


def _git(*args):
    try:
        p = subprocess.run(["git", *args], capture_output=True, text=True, timeout=10)
        return p.stdout.strip() if p.returncode == 0 else None
    except (OSError, subprocess.SubprocessError):
        return None


def provenance(command):
    commit = _git("rev-parse", "HEAD")
    dirty = _git("status", "--porcelain", "--untracked-files=no")
    if commit is None:  # the copy sent to the GPU machine has no .git
        commit = os.environ.get("TINYRT_COMMIT")
        dirty = "" if os.environ.get("TINYRT_WORKTREE_CLEAN") == "true" else None
    return {
        "schema": SCHEMA,
        "date": datetime.datetime.now(datetime.timezone.utc).replace(microsecond=0).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "command": command,
        "commit": commit,
        "worktree_clean": dirty is not None and dirty == "",
        "machine": {"cpu": _cpu_model(), "logical_cores": os.cpu_count(), "memory_gib": _memory_gib(),
                    "os": f"{platform.system()} {platform.release()}", "arch": platform.machine()},
    }


# --------------------------------------------------------------------------------------------------------------
# memory: NVML through ctypes (no pynvml needed) and /proc/self/status
# --------------------------------------------------------------------------------------------------------------

class _NvmlMemory(ctypes.Structure):
    _fields_ = [("total", ctypes.c_ulonglong), ("free", ctypes.c_ulonglong), ("used", ctypes.c_ulonglong)]


class Nvml:
    """Device memory and identity from libnvidia-ml.so.1; `Nvml.open()` is None without an NVIDIA driver."""

    def __init__(self, lib, handle):
        self.lib = lib
        self.handle = handle

    @staticmethod
    def open(index=0):
        try:
            lib = ctypes.CDLL("libnvidia-ml.so.1")
        except OSError:
            return None
        if lib.nvmlInit_v2() != 0:
            return None
        handle = ctypes.c_void_p()
        if lib.nvmlDeviceGetHandleByIndex_v2(ctypes.c_uint(index), ctypes.byref(handle)) != 0:
            return None
        return Nvml(lib, handle)

    def used_bytes(self):
        m = _NvmlMemory()
        if self.lib.nvmlDeviceGetMemoryInfo(self.handle, ctypes.byref(m)) != 0:
            raise RuntimeError("nvmlDeviceGetMemoryInfo failed")
        return int(m.used)

    def info(self):
        buf = ctypes.create_string_buffer(256)
        name = buf.value.decode() if self.lib.nvmlDeviceGetName(self.handle, buf, 256) == 0 else "unknown GPU"
        driver = buf.value.decode() if self.lib.nvmlSystemGetDriverVersion(buf, 256) == 0 else "unknown"
        v = ctypes.c_int()
        cuda = (f"{v.value // 1000}.{v.value % 1000 // 10}"
                if self.lib.nvmlSystemGetCudaDriverVersion_v2(ctypes.byref(v)) == 0 else "unknown")
        m = _NvmlMemory()
        self.lib.nvmlDeviceGetMemoryInfo(self.handle, ctypes.byref(m))
        return {"name": name.strip(), "driver": driver.strip(), "cuda_driver_version": cuda,
                "memory_total_bytes": int(m.total)}


def rss_bytes():
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return None


class MemorySampler:
    """Peak RSS and (with NVML) peak device memory in use, sampled every 10 ms on a thread."""

    def __init__(self, nvml):
        self.nvml = nvml
        self.peak_rss = None
        self.peak_gpu = None
        self._stop = threading.Event()
        self._sample()
        self._thread = threading.Thread(target=self._loop, daemon=True)
        self._thread.start()

    def _sample(self):
        rss = rss_bytes()
        if rss is not None:
            self.peak_rss = rss if self.peak_rss is None else max(self.peak_rss, rss)
        if self.nvml is not None:
            used = self.nvml.used_bytes()
            self.peak_gpu = used if self.peak_gpu is None else max(self.peak_gpu, used)

    def _loop(self):
        while not self._stop.wait(0.01):
            self._sample()

    def stop(self):
        self._stop.set()
        self._thread.join()
        self._sample()
        return self.peak_rss, self.peak_gpu


# --------------------------------------------------------------------------------------------------------------
# the HF runner
# --------------------------------------------------------------------------------------------------------------

def _torch():
    import torch  # noqa: imported here so `metrics` works without torch
    import transformers
    return torch, transformers


def load_model(model_dir, device):
    torch, transformers = _torch()
    dtype = torch.float16 if device == "cuda" else torch.float32
    try:
        model = transformers.AutoModelForCausalLM.from_pretrained(model_dir, dtype=dtype, attn_implementation="eager")
    except TypeError:  # transformers before 4.56 spells it torch_dtype
        model = transformers.AutoModelForCausalLM.from_pretrained(model_dir, torch_dtype=dtype,
                                                                  attn_implementation="eager")
    return model.to(device).eval()


def resolve_device(device):
    torch, _ = _torch()
    if device == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    if device == "cuda" and not torch.cuda.is_available():
        raise SystemExit("--device cuda but torch sees no GPU")
    return device


def _sync(device):
    torch, _ = _torch()
    if device == "cuda":
        torch.cuda.synchronize()


def _step_clock(device):
    """A stopping criterion that never stops: it stamps each generation step (after a device synchronize)."""
    torch, transformers = _torch()

    class StepClock(transformers.StoppingCriteria):
        def __init__(self):
            self.stamps = []

        def __call__(self, input_ids, scores, **kwargs):
            _sync(device)
            self.stamps.append(time.perf_counter_ns())
            return torch.zeros(input_ids.shape[0], dtype=torch.bool, device=input_ids.device)

    return StepClock()


def _pad_id(model):
    cfg = model.config
    for candidate in (getattr(cfg, "pad_token_id", None), getattr(cfg, "eos_token_id", None)):
        if isinstance(candidate, list):
            candidate = candidate[0] if candidate else None
        if candidate is not None:
            return int(candidate)
    return 0


def run_wave(model, wave, device):
    """One generate() call over the wave's prompts; returns (start_ns, per-request token stamps)."""
    torch, transformers = _torch()
    pad = _pad_id(model)
    width = max(len(r["input_ids"]) for r in wave)
    ids = torch.full((len(wave), width), pad, dtype=torch.long)
    mask = torch.zeros((len(wave), width), dtype=torch.long)
    for i, r in enumerate(wave):  # left padding: every prompt ends where generation starts
        n = len(r["input_ids"])
        ids[i, width - n:] = torch.tensor(r["input_ids"], dtype=torch.long)
        mask[i, width - n:] = 1
    ids, mask = ids.to(device), mask.to(device)
    new_tokens = max(r["output_tokens"] for r in wave)
    clock = _step_clock(device)
    criteria = transformers.StoppingCriteriaList([clock])
    _sync(device)
    start = time.perf_counter_ns()
    with torch.inference_mode():
        out = model.generate(input_ids=ids, attention_mask=mask, max_new_tokens=new_tokens,
                             min_new_tokens=new_tokens, do_sample=False, num_beams=1, use_cache=True,
                             stopping_criteria=criteria, pad_token_id=pad)
    _sync(device)
    generated = out.shape[1] - width
    if generated != new_tokens or len(clock.stamps) < new_tokens:
        raise RuntimeError(f"generate() made {generated} tokens with {len(clock.stamps)} steps stamped, "
                           f"expected {new_tokens}")
    return start, [clock.stamps[:r["output_tokens"]] for r in wave]


def run_requests(model, requests, concurrency, device):
    """Static batching: waves of `concurrency` requests. Returns (RequestTiming dicts, ITL gaps in ms)."""
    timings, gaps, starts = [], [], []
    raw = []
    for i in range(0, len(requests), concurrency):
        wave = requests[i:i + concurrency]
        start, stamps = run_wave(model, wave, device)
        for r, s in zip(wave, stamps):
            raw.append((r, start, s))
            starts.append(start)
    t0 = min(starts)
    for r, start, s in raw:
        timings.append({"id": r["task_id"], "input_tokens": len(r["input_ids"]), "output_tokens": len(s),
                        "start_ms": (start - t0) / 1e6, "first_token_ms": (s[0] - t0) / 1e6,
                        "end_ms": (s[-1] - t0) / 1e6})
        for a, b in zip(s, s[1:]):
            gaps.append((b - a) / 1e6)
    return timings, gaps


def run_point(model, point, warmup, repeats, device, nvml, gpu_baseline, precision, log):
    torch, _ = _torch()
    requests = read_dataset(point["dataset"])
    warm = read_dataset(point["warmup_dataset"]) if point.get("warmup_dataset") else \
        [dict(r, output_tokens=min(r["output_tokens"], WARMUP_OUTPUT_TOKENS)) for r in requests[:point["concurrency"]]]
    if device == "cuda":
        torch.cuda.reset_peak_memory_stats()
    sampler = MemorySampler(nvml if device == "cuda" else None)
    try:
        for _ in range(warmup):
            run_requests(model, warm, point["concurrency"], device)
        runs, all_gaps = [], []
        for k in range(repeats):
            timings, gaps = run_requests(model, requests, point["concurrency"], device)
            runs.append(run_metrics(timings, gaps))
            all_gaps.extend(gaps)
            log(f"bs={point['batch_size']} in={point['input_len']} out={point['output_len']} run {k + 1}/{repeats}: "
                f"{runs[-1]['performance']['system_output_throughput_tok_s']:.1f} output tok/s, "
                f"TTFT {runs[-1]['streaming_metrics']['avg_ttft_ms']:.1f} ms, "
                f"TPOT {runs[-1]['streaming_metrics']['avg_tpot_ms']:.2f} ms")
    finally:
        peak_rss, peak_gpu = sampler.stop()
    weights = sum(p.numel() * p.element_size() for p in model.parameters())
    memory = {"peak_rss_bytes": peak_rss, "peak_heap_bytes": None, "weights_bytes": weights, "kv_cache_bytes": None,
              "gpu_peak_used_bytes": peak_gpu if device == "cuda" else None,
              "gpu_baseline_used_bytes": gpu_baseline if device == "cuda" and peak_gpu is not None else None,
              "gpu_peak_allocated_bytes": int(torch.cuda.max_memory_allocated()) if device == "cuda" else None}
    return {"system": "hf", "backend": device, "precision": precision, "batching": "static",
            "batch_size": point["batch_size"], "concurrency": point["concurrency"], "input_len": point["input_len"],
            "output_len": point["output_len"], "num_requests": len(requests), "executor": None,
            "warmup_runs": warmup, "repeats": runs, "summary": point_summary(runs), "memory": memory,
            "kv_cache": None, "itl_histogram_ms": histogram(all_gaps)}


def model_info(model, model_dir):
    c = model.config
    heads = c.num_attention_heads
    dtype = getattr(c, "dtype", None) or getattr(c, "torch_dtype", None)
    return {"name": os.path.basename(os.path.normpath(model_dir)), "path": os.path.abspath(model_dir),
            "parameters": int(model.num_parameters()), "vocab_size": c.vocab_size, "hidden_size": c.hidden_size,
            "num_layers": c.num_hidden_layers, "num_heads": heads,
            "num_kv_heads": getattr(c, "num_key_value_heads", None) or heads,
            "max_position_embeddings": c.max_position_embeddings,
            "dtype": str(dtype).replace("torch.", "") if dtype is not None else None}


def bench(plan, out_path, command):
    torch, transformers = _torch()
    log = lambda msg: print(msg, flush=True)  # noqa: E731
    device = resolve_device(plan.get("device", "auto"))
    nvml = Nvml.open() if device == "cuda" else None
    gpu_baseline = nvml.used_bytes() if nvml is not None else None
    random.seed(plan.get("seed", 0))
    torch.manual_seed(plan.get("seed", 0))
    log(f"loading {plan['model']} with transformers {transformers.__version__} (torch {torch.__version__}) on {device}")
    model = load_model(plan["model"], device)
    precision = "fp16" if device == "cuda" else "fp32"
    results = [run_point(model, p, plan["warmup"], plan["repeats"], device, nvml, gpu_baseline, precision, log)
               for p in plan["points"]]
    report = provenance(command)
    gpu = nvml.info() if nvml is not None else None
    if gpu is None and device == "cuda":
        props = torch.cuda.get_device_properties(0)
        gpu = {"name": props.name, "driver": "unknown", "cuda_driver_version": str(torch.version.cuda),
               "memory_total_bytes": int(props.total_memory)}
    report.update({
        "software": {"python": platform.python_version(), "torch": torch.__version__,
                     "transformers": transformers.__version__, "cuda": torch.version.cuda},
        "gpu": gpu,
        "model": model_info(model, plan["model"]),
        "workload": {"kind": "dataset", "dataset": None, "seed": plan.get("seed", 0),
                     "batch_sizes": sorted({p["batch_size"] for p in plan["points"]}),
                     "input_lens": sorted({p["input_len"] for p in plan["points"]}),
                     "output_len": None, "input_stdev": 0.0, "output_stdev": 0.0, "requests": None,
                     "concurrency": None, "warmup": plan["warmup"], "repeats": plan["repeats"],
                     "batching": ["static"]},
        "systems": [{"name": "hf", "backend": device, "precision": precision,
                     "device": gpu["name"] if device == "cuda" else f"{_cpu_model()} ({torch.get_num_threads()} threads)",
                     "weights_bytes": sum(p.numel() * p.element_size() for p in model.parameters()),
                     "details": {"library": "transformers", "transformers": transformers.__version__,
                                 "torch": torch.__version__, "attention": "eager",
                                 "torch_dtype": str(next(model.parameters()).dtype).replace("torch.", ""),
                                 "decoding": "greedy generate(), min_new_tokens = max_new_tokens",
                                 "batching": "static: one generate() per wave of `concurrency` requests",
                                 "command": command}}],
        "results": results,
    })
    with open(out_path, "w") as f:
        json.dump(report, f, indent=2)
        f.write("\n")
    log(f"wrote {out_path}")
    return report


def plan_from_args(args):
    """A plan for a standalone run: every batch size over one dataset."""
    requests = read_dataset(args.dataset)
    in_len = round(sum(len(r["input_ids"]) for r in requests) / len(requests))
    out_len = round(sum(r["output_tokens"] for r in requests) / len(requests))
    points = [{"batch_size": b, "concurrency": b, "input_len": in_len, "output_len": out_len,
               "dataset": args.dataset, "warmup_dataset": None} for b in args.batch_sizes]
    return {"model": args.model, "device": args.device, "warmup": args.warmup, "repeats": args.repeats,
            "warmup_output_tokens": WARMUP_OUTPUT_TOKENS, "seed": 0, "points": points}


def bench_main(args):
    if args.plan:
        with open(args.plan) as f:
            plan = json.load(f)
    elif args.model and args.dataset:
        plan = plan_from_args(args)
    else:
        raise SystemExit("bench needs --plan, or --model and --dataset")
    bench(plan, args.out, " ".join(["python3"] + sys.argv))


# --------------------------------------------------------------------------------------------------------------
# one prompt (inference_hf.java) and the smoke test
# --------------------------------------------------------------------------------------------------------------

def generate_main(args):
    torch, transformers = _torch()
    device = resolve_device(args.device)
    if device == "cuda":
        torch.cuda.reset_peak_memory_stats()
    t_load = time.perf_counter()
    tokenizer = transformers.AutoTokenizer.from_pretrained(args.model)
    model = load_model(args.model, device)
    load_s = time.perf_counter() - t_load
    ids = tokenizer(args.prompt, return_tensors="pt")["input_ids"].to(device)
    clock = _step_clock(device)
    streamer = transformers.TextStreamer(tokenizer, skip_prompt=True) if args.stream else None
    _sync(device)
    start = time.perf_counter_ns()
    with torch.inference_mode():
        out = model.generate(input_ids=ids, attention_mask=torch.ones_like(ids), max_new_tokens=args.max_new_tokens,
                             do_sample=False, num_beams=1, streamer=streamer,
                             stopping_criteria=transformers.StoppingCriteriaList([clock]),
                             pad_token_id=_pad_id(model))
    _sync(device)
    new = out[0, ids.shape[1]:]
    if not args.stream:
        print(tokenizer.decode(new, skip_special_tokens=True))
    stamps = clock.stamps
    ttft_ms = (stamps[0] - start) / 1e6 if stamps else float("nan")
    decode = (len(stamps) - 1) / ((stamps[-1] - stamps[0]) / 1e9) if len(stamps) > 1 else float("nan")
    peak = (f"GPU peak allocated {torch.cuda.max_memory_allocated() / 2 ** 20:.0f} MiB" if device == "cuda"
            else f"peak RSS {rss_bytes() / 2 ** 20:.0f} MiB")
    print(f"[HF transformers {transformers.__version__}, eager, {next(model.parameters()).dtype} on {device}: "
          f"{ids.shape[1]} prompt + {len(new)} new tokens, load {load_s:.1f} s, TTFT {ttft_ms:.1f} ms, "
          f"decode {decode:.1f} tok/s, {peak}]", file=sys.stderr)


def smoke_main(args):
    """A tiny random Llama through `bench`, then the result checked: shapes, counts, monotone times."""
    torch, transformers = _torch()
    with tempfile.TemporaryDirectory() as tmp:
        cfg = transformers.LlamaConfig(vocab_size=512, hidden_size=64, intermediate_size=128, num_hidden_layers=2,
                                       num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=128,
                                       bos_token_id=1, eos_token_id=2)
        torch.manual_seed(0)
        transformers.LlamaForCausalLM(cfg).save_pretrained(tmp)
        rng = random.Random(0)
        data = os.path.join(tmp, "data.jsonl")
        with open(data, "w") as f:
            for i in range(4):
                ids = [rng.randrange(3, 512) for _ in range(12 + 4 * (i % 2))]  # two lengths: left padding used
                f.write(json.dumps({"task_id": i, "input_ids": ids, "output_tokens": 6 + i}) + "\n")
        plan = {"model": tmp, "device": args.device, "warmup": 1, "repeats": 2, "seed": 0,
                "warmup_output_tokens": WARMUP_OUTPUT_TOKENS,
                "points": [{"batch_size": b, "concurrency": b, "input_len": 14, "output_len": 8, "dataset": data,
                            "warmup_dataset": None} for b in (1, 2)]}
        out = args.out or os.path.join(tmp, "smoke.json")
        report = bench(plan, out, "python3 hf_baseline.py smoke")
    for p in report["results"]:
        assert len(p["repeats"]) == 2, p["repeats"]
        for run in p["repeats"]:
            outs = sorted(r["output_tokens"] for r in run["requests"])
            assert outs == [6, 7, 8, 9], outs
            for r in run["requests"]:
                assert r["start_ms"] <= r["first_token_ms"] <= r["end_ms"], r
            assert run["performance"]["system_output_throughput_tok_s"] > 0
    print(f"smoke: OK ({out})")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    b = sub.add_parser("bench", help="run the benchmark workload")
    b.add_argument("--plan")
    b.add_argument("--model")
    b.add_argument("--dataset")
    b.add_argument("--batch-sizes", type=lambda s: [int(x) for x in s.split(",")], default=[1])
    b.add_argument("--warmup", type=int, default=1)
    b.add_argument("--repeats", type=int, default=3)
    b.add_argument("--device", default="auto", choices=["auto", "cuda", "cpu"])
    b.add_argument("--out", required=True)
    g = sub.add_parser("generate", help="one prompt, with timing and memory")
    g.add_argument("--model", required=True)
    g.add_argument("--prompt", required=True)
    g.add_argument("--max-new-tokens", type=int, default=64)
    g.add_argument("--stream", action="store_true")
    g.add_argument("--device", default="auto", choices=["auto", "cuda", "cpu"])
    s = sub.add_parser("smoke", help="a tiny random model end to end")
    s.add_argument("--out")
    s.add_argument("--device", default="auto", choices=["auto", "cuda", "cpu"])
    m = sub.add_parser("metrics", help="metric arithmetic only (no torch)")
    m.add_argument("--runs", required=True)
    args = ap.parse_args()
    {"bench": bench_main, "generate": generate_main, "smoke": smoke_main, "metrics": metrics_main}[args.cmd](args)


if __name__ == "__main__":
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    main()
