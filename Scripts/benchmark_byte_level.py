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

With --llama-cpp-lib PATH (libllama.so, or the directory holding it) it also measures
llama.cpp's tokenizer (`llama_tokenize` on a vocab_only model of the same GGUF,
add_special=false, parse_special=false; single-threaded by nature) the same way, called
through the ctypes module of a llama-cpp-python source tree (--llama-cpp-bindings DIR,
its llama_cpp/llama_cpp.py must match the library's llama.cpp commit). The two libraries
are then timed interleaved (each run times tokenizers, then llama.cpp), so that load on
the machine hits both alike; the text is handed to llama.cpp as UTF-8 bytes prepared
before timing. It checks that llama.cpp's ids equal the `tokenizers` ids, for the whole
text and line by line, and reports it under "llama_cpp" (use --no-special, see above).

With --llama-tool PATH (this project's `llama`, a plain release build) each round also runs
`llama tokenize --benchmark-file` on the same text and vocabulary (its own warm-up and
median of 5 runs, whole text and line by line); with --rounds N everything is repeated N
times, alternating the libraries, and "median_over_rounds_MB_per_s" gives the medians of
the rounds' medians.

Usage:
    pip install "tokenizers==0.23.3" "gguf==0.19.0"
    nice python3 Scripts/benchmark_byte_level.py [--gguf PATH] [--runs 5] [--ids FILE] \\
        [--no-special --llama-cpp-lib /path/to/libllama.so --llama-cpp-bindings /path/to/llama_cpp_python-0.3.36] \\
        [--llama-tool .build/release/llama --rounds 3]

The figure depends on the machine and on its load; run it on an idle machine.
"""
import argparse
import importlib
import json
import os
import pathlib
import platform
import re
import subprocess
import statistics
import sys
import time
import types

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


class LlamaCppTokenizer:
    """llama.cpp's tokenizer through llama-cpp-python's ctypes module (llama_cpp/llama_cpp.py only)."""

    def __init__(self, lib, bindings, gguf_path):
        lib = pathlib.Path(lib)
        os.environ["LLAMA_CPP_LIB_PATH"] = str(lib if lib.is_dir() else lib.parent)
        pkg = types.ModuleType("llama_cpp")
        pkg.__path__ = [str(pathlib.Path(bindings) / "llama_cpp")]
        sys.modules["llama_cpp"] = pkg
        self.L = L = importlib.import_module("llama_cpp.llama_cpp")
        L.llama_backend_init()
        params = L.llama_model_default_params()
        params.vocab_only = True
        self.model = L.llama_model_load_from_file(str(gguf_path).encode(), params)
        if not self.model:
            raise SystemExit(f"llama.cpp could not load {gguf_path}")
        self.vocab = L.llama_model_get_vocab(self.model)
        self.cap = 0
        self.buf = None

    def reserve(self, n):
        if n > self.cap:
            self.cap = n
            self.buf = (self.L.llama_token * n)()

    def encode(self, data):
        """data: UTF-8 bytes; add_special=False, parse_special=False. Returns the count."""
        n = self.L.llama_tokenize(self.vocab, data, len(data), self.buf, self.cap, False, False)
        if n < 0:
            raise RuntimeError("llama_tokenize: buffer too small")
        return n

    def ids(self, data):
        return list(self.buf[:self.encode(data)])


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--gguf", default=str(ROOT.parent / "shared/fixtures/vocab/ggml-vocab-llama-bpe.gguf"))
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--ids", help="write the ids of the whole text here")
    ap.add_argument("--family", choices=["llama3", "smollm"], default="llama3")
    ap.add_argument("--no-special", action="store_true", help="no special added tokens (text spelling them stays text)")
    ap.add_argument("--llama-cpp-lib", help="libllama.so (or its directory): also time llama.cpp's tokenizer")
    ap.add_argument("--llama-cpp-bindings", default="/tmp/lcp/llama_cpp_python-0.3.36",
                    help="llama-cpp-python source tree whose llama_cpp/llama_cpp.py matches the library")
    ap.add_argument("--llama-tool", help="this project's `llama` binary (a release build): also time "
                    "`llama tokenize --benchmark-file` on the same vocabulary, in the same sitting")
    ap.add_argument("--rounds", type=int, default=1,
                    help="repeat everything this many times, alternating the libraries; medians over rounds")
    args = ap.parse_args()
    import tokenizers

    tk = load_tokenizer(args.gguf, args.family, special=not args.no_special)
    text = (ROOT / "Tests/Fixtures/tokenizers/benchmark-text.txt").read_text(encoding="utf-8")
    lines = text.split("\n")
    nbytes = len(text.encode("utf-8"))

    def stats(wall):
        median = statistics.median(wall)
        return {"wall_seconds": wall, "median_wall_seconds": median, "median_MB_per_s": nbytes / 1e6 / median}

    def timed(*fns):
        """Warm each up once, then time them interleaved: run i times fns[0], fns[1], ..."""
        for fn in fns:
            fn()
        walls = [[] for _ in fns]
        for _ in range(args.runs):
            for fn, wall in zip(fns, walls):
                start = time.perf_counter()
                fn()
                wall.append(time.perf_counter() - start)
        return [stats(wall) for wall in walls]

    ids = tk.encode(text, add_special_tokens=False).ids
    if args.ids:
        pathlib.Path(args.ids).write_text(" ".join(map(str, ids)) + "\n")
    hf_whole = lambda: tk.encode(text, add_special_tokens=False)
    hf_lines = lambda: [tk.encode(line, add_special_tokens=False) for line in lines]
    llama = None
    if args.llama_cpp_lib:
        llama = LlamaCppTokenizer(args.llama_cpp_lib, args.llama_cpp_bindings, args.gguf)
        data = text.encode("utf-8")
        data_lines = [line.encode("utf-8") for line in lines]
        llama.reserve(len(data) + 16)
        llama_ids = llama.ids(data)
        line_mismatches = [i for i, (line, raw) in enumerate(zip(lines, data_lines))
                           if tk.encode(line, add_special_tokens=False).ids != llama.ids(raw)]
        llama_whole = lambda: llama.encode(data)
        llama_lines = lambda: [llama.encode(raw) for raw in data_lines]

    def run_tool():
        """This project's tool: its own warm-up and median of 5; returns MB/s (whole, per line)."""
        out = subprocess.run(
            [args.llama_tool, "tokenize", "--benchmark-file", str(ROOT / "Tests/Fixtures/tokenizers/benchmark-text.txt"),
             "-m", args.gguf], capture_output=True, text=True, check=True)
        line = (out.stdout + out.stderr).strip().splitlines()[-1]
        whole_match = re.search(r"whole text ([0-9.]+) MB/s", line)
        lines_match = re.search(r"line by line ([0-9.]+) MB/s", line)
        return float(whole_match.group(1)), float(lines_match.group(1)), line

    rounds = []
    for _ in range(args.rounds):
        entry = {}
        if llama:
            whole, llama_whole_stats = timed(hf_whole, llama_whole)
            per_line, llama_lines_stats = timed(hf_lines, llama_lines)
            entry["llama_cpp"] = (llama_whole_stats["median_MB_per_s"], llama_lines_stats["median_MB_per_s"])
        else:
            (whole,) = timed(hf_whole)
            (per_line,) = timed(hf_lines)
        entry["tokenizers"] = (whole["median_MB_per_s"], per_line["median_MB_per_s"])
        if args.llama_tool:
            tool_whole, tool_lines, tool_line = run_tool()
            entry["this_project"] = (tool_whole, tool_lines)
            entry["this_project_output"] = tool_line
        rounds.append(entry)
    result = {
        "tokenizer": str(args.gguf), "library": "tokenizers " + tokenizers.__version__,
        "special_added_tokens": not args.no_special,
        "text_bytes": nbytes, "tokens_whole_text": len(ids),
        "whole_text": whole,
        "per_line": per_line,
        "machine": {"processor": platform.processor(), "logical_cpus": os.cpu_count(), "python": platform.python_version()},
    }
    if args.rounds > 1 or args.llama_tool:
        names = [name for name in ("this_project", "tokenizers", "llama_cpp") if name in rounds[0]]
        result["rounds"] = rounds
        result["median_over_rounds_MB_per_s"] = {
            name: {"whole_text": statistics.median(r[name][0] for r in rounds),
                   "per_line": statistics.median(r[name][1] for r in rounds)} for name in names}
    if llama:
        first_diff = next((i for i, (a, b) in enumerate(zip(ids, llama_ids)) if a != b), None)
        if first_diff is None and len(ids) != len(llama_ids):
            first_diff = min(len(ids), len(llama_ids))
        result["llama_cpp"] = {
            "library": "llama.cpp " + str(args.llama_cpp_lib) + " (llama_tokenize, vocab_only, add_special=false, parse_special=false)",
            "system_info": llama.L.llama_print_system_info().decode().strip(),
            "tokens_whole_text": len(llama_ids),
            "ids_equal_tokenizers_whole_text": llama_ids == ids,
            "first_differing_index": first_diff,
            "lines": len(lines), "lines_with_different_ids": len(line_mismatches),
            "first_differing_lines": line_mismatches[:10],
            "whole_text": llama_whole_stats,
            "per_line": llama_lines_stats,
        }
    print(json.dumps(result, indent=1))


if __name__ == "__main__":
    sys.exit(main())
