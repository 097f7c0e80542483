#!/usr/bin/env python3
"""Speed baseline for byte-level BPE: the Hugging Face `tokenizers` library (Rust) encoding
~1 MB of text with the Llama 3 vocabulary.

The vocabulary is llama.cpp's ggml-vocab-llama-bpe.gguf (../shared/fixtures/vocab/, or
--gguf PATH); this script builds the same tokenizer as Llama 3's tokenizer.json from it
(BPE with ignore_merges, Split with Llama 3's pattern + ByteLevel, the control tokens as
special added tokens). With --family smollm it builds SmolLM2's instead (Digits with
individual digits + ByteLevel with GPT-2's pattern, no ignore_merges), for a GGUF such as
SmolLM2-135M-Instruct's (see ../shared/fixtures/README.md for where to get it). The text
is Tests/Fixtures/tokenizers/benchmark-text.txt.

Measured, single thread (TOKENIZERS_PARALLELISM=false, one `encode` call at a time),
median of 5 runs after one warm-up run:
* "whole_text": encode(text) on the whole file as one string;
* "per_line": encode(line) for each line (no newlines).
Throughput is UTF-8 bytes of input / seconds, in MB/s (1 MB = 10^6 bytes).

With --ids FILE it also writes the ids of the whole text (one line, space-separated),
which the Swift tokenizer must reproduce (`llama tokenize --tokenizer GGUF --json
--no-bos < benchmark-text.txt`). The text spells some special tokens (`<|im_start|>`);
llama.cpp, and this library without --parse-special, read them as text, so compare
with --no-special, which leaves them out of the `tokenizers` tokenizer.

Usage:
    pip install "tokenizers==0.23.3" "gguf==0.19.0"
    nice python3 Scripts/benchmark_byte_level.py [--gguf PATH] [--runs 5] [--ids FILE]

The figure depends on the machine and on its load; run it on an idle machine.
"""
import argparse
import json
import os
import pathlib
import platform
import statistics
import sys
import time

os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
os.environ.setdefault("RAYON_NUM_THREADS", "1")

ROOT = pathlib.Path(__file__).resolve().parent.parent
LLAMA3 = r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+"


def load_tokenizer(path, family="llama3", special=True):
    import gguf
    from tokenizers import AddedToken, Regex, Tokenizer, decoders, models, pre_tokenizers

    reader = gguf.GGUFReader(str(path))

    def strings(key):
        field = reader.fields[key]
        return [bytes(field.parts[i]).decode("utf-8") for i in field.data]

    def ints(key):
        field = reader.fields[key]
        return [int(field.parts[i][0]) for i in field.data]

    tokens = strings("tokenizer.ggml.tokens")
    types = ints("tokenizer.ggml.token_type")
    merges = [tuple(m.split(" ", 1)) for m in strings("tokenizer.ggml.merges")]
    vocab = {t: i for i, t in enumerate(tokens)}
    if family == "llama3":
        tk = Tokenizer(models.BPE(vocab=vocab, merges=merges, ignore_merges=True))
        tk.pre_tokenizer = pre_tokenizers.Sequence([
            pre_tokenizers.Split(Regex(LLAMA3), behavior="isolated"),
            pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False),
        ])
    else:
        tk = Tokenizer(models.BPE(vocab=vocab, merges=merges))
        tk.pre_tokenizer = pre_tokenizers.Sequence([
            pre_tokenizers.Digits(individual_digits=True),
            pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=True),
        ])
    tk.decoder = decoders.ByteLevel()
    if special:
        tk.add_special_tokens([AddedToken(t, special=True, normalized=False) for t, ty in zip(tokens, types) if ty == 3])
    return tk


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--gguf", default=str(ROOT.parent / "shared/fixtures/vocab/ggml-vocab-llama-bpe.gguf"))
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--ids", help="write the ids of the whole text here")
    ap.add_argument("--family", choices=["llama3", "smollm"], default="llama3")
    ap.add_argument("--no-special", action="store_true", help="no special added tokens (text spelling them stays text)")
    args = ap.parse_args()
    import tokenizers

    tk = load_tokenizer(args.gguf, args.family, special=not args.no_special)
    text = (ROOT / "Tests/Fixtures/tokenizers/benchmark-text.txt").read_text(encoding="utf-8")
    lines = text.split("\n")
    nbytes = len(text.encode("utf-8"))

    def timed(fn):
        fn()
        wall = []
        for _ in range(args.runs):
            start = time.perf_counter()
            fn()
            wall.append(time.perf_counter() - start)
        median = statistics.median(wall)
        return {"wall_seconds": wall, "median_wall_seconds": median, "median_MB_per_s": nbytes / 1e6 / median}

    ids = tk.encode(text, add_special_tokens=False).ids
    if args.ids:
        pathlib.Path(args.ids).write_text(" ".join(map(str, ids)) + "\n")
    result = {
        "tokenizer": str(args.gguf), "library": "tokenizers " + tokenizers.__version__,
        "text_bytes": nbytes, "tokens_whole_text": len(ids),
        "whole_text": timed(lambda: tk.encode(text, add_special_tokens=False)),
        "per_line": timed(lambda: [tk.encode(line, add_special_tokens=False) for line in lines]),
        "machine": {"processor": platform.processor(), "logical_cpus": os.cpu_count(), "python": platform.python_version()},
    }
    print(json.dumps(result, indent=1))


if __name__ == "__main__":
    sys.exit(main())
