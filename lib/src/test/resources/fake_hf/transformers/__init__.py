"""Test double of the few transformers calls environment/hf_baseline.py makes (see ../README.md)."""
import json
import os
import time

import numpy as np

import torch

__version__ = "0.0-fake"


class StoppingCriteria:
    pass


class StoppingCriteriaList(list):
    pass


class LlamaConfig:
    def __init__(self, **kw):
        kw.setdefault("num_key_value_heads", kw.get("num_attention_heads"))
        kw.setdefault("pad_token_id", None)
        self.__dict__.update(kw)


class _Param:
    def __init__(self, n, dtype):
        self.n = n
        self.dtype = dtype

    def numel(self):
        return self.n

    def element_size(self):
        return 2 if self.dtype == torch.float16 else 4


class LlamaForCausalLM:
    def __init__(self, config, dtype=torch.float32):
        self.config = config
        self._params = [_Param(config.vocab_size * config.hidden_size, dtype),
                        _Param(config.num_hidden_layers * 12 * config.hidden_size ** 2, dtype)]

    def save_pretrained(self, directory):
        os.makedirs(directory, exist_ok=True)
        with open(os.path.join(directory, "config.json"), "w") as f:
            json.dump(self.config.__dict__, f)

    def to(self, device):
        return self

    def eval(self):
        return self

    def parameters(self):
        return iter(self._params)

    def num_parameters(self):
        return sum(p.numel() for p in self._params)

    def generate(self, input_ids, attention_mask, max_new_tokens, do_sample, num_beams,
                 stopping_criteria, pad_token_id, use_cache=True, streamer=None, min_new_tokens=None):
        assert not do_sample and num_beams == 1 and min_new_tokens in (None, max_new_tokens)
        assert attention_mask.shape == input_ids.shape
        log = os.environ.get("FAKE_HF_LOG")
        if log:
            with open(log, "a") as f:
                rows = [[int(x) for x, m in zip(row, mask) if m] for row, mask in zip(input_ids, attention_mask)]
                f.write(json.dumps(rows) + "\n")
        ids = np.asarray(input_ids)
        for step in range(max_new_tokens):
            time.sleep(0.002 if step else 0.005)  # a "prefill" and "decode steps"
            nxt = (ids[:, -1:] * 7 + 3) % self.config.vocab_size
            ids = np.concatenate([ids, nxt], axis=1)
            if streamer is not None and step == 0:
                streamer.put(ids[:, :-1])  # like transformers: the prompt first, then each new token
            if streamer is not None:
                streamer.put(nxt)
            for criterion in stopping_criteria:
                criterion(torch._t(ids), None)
        if streamer is not None:
            streamer.end()
        return torch._t(ids)


class AutoModelForCausalLM:
    @staticmethod
    def from_pretrained(directory, dtype=None, attn_implementation=None):
        assert attn_implementation == "eager"
        with open(os.path.join(directory, "config.json")) as f:
            cfg = json.load(f)
        cfg.setdefault("num_key_value_heads", cfg.get("num_attention_heads"))
        cfg.setdefault("pad_token_id", None)
        return LlamaForCausalLM(LlamaConfig(**cfg), dtype)


class _Tokenizer:
    """Characters as token ids: enough to carry a prompt through generate()."""

    def __call__(self, text, return_tensors=None):
        return {"input_ids": torch.tensor([[1] + [3 + ord(c) % 200 for c in text]], dtype=torch.long)}

    def decode(self, ids, skip_special_tokens=False):
        return "".join(chr(97 + int(i) % 26) for i in ids)


class AutoTokenizer:
    @staticmethod
    def from_pretrained(directory):
        return _Tokenizer()


class TextStreamer:
    def __init__(self, tokenizer, skip_prompt=False):
        self.tokenizer = tokenizer
        self.skip = skip_prompt

    def put(self, ids):
        if self.skip:  # the first call carries the prompt
            self.skip = False
            return
        print(self.tokenizer.decode(np.asarray(ids).reshape(-1)), end="", flush=True)

    def end(self):
        print(flush=True)
