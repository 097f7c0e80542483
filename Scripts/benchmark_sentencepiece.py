#!/usr/bin/env python3
"""Speed baseline: Python sentencepiece encoding the Llama 2 model on ~1 MB of text.

The text is Tests/Fixtures/tokenizers/benchmark-text.txt, written by
Scripts/generate_tokenizer_fixtures.py (deterministic: English template sentences
and Chinese sentences built from jieba's dictionary, seed BENCH_SEED there; it is
regenerated in memory the same way if the file is missing). The result goes to
Tests/Fixtures/tokenizers/sentencepiece-benchmark.json and is printed.

Measured, single thread, median of 5 runs after one warm-up run:
* "whole_text": sp.encode(text) on the whole file as one string;
* "per_line": sp.encode(lines, num_threads=1) on its lines (no newlines).
Throughput is UTF-8 bytes of input / seconds, in MB/s (1 MB = 10^6 bytes).

Usage:
    pip install "sentencepiece==0.2.3" "jieba==0.42.1"
    python3 Scripts/benchmark_sentencepiece.py [--shared DIR] [--runs 5]

The figure depends on the machine and on its load (recorded); run it on an idle
machine for a baseline that means something.
"""
import argparse
import hashlib
import json
import os
import pathlib
import platform
import statistics
import sys
import time

ROOT = pathlib.Path(__file__).resolve().parent.parent
OUT = ROOT / "Tests/Fixtures/tokenizers"
sys.path.insert(0, str(ROOT / "Scripts"))


def cpu_info():
    info = {"model": platform.processor() or platform.machine()}
    try:
        for line in pathlib.Path("/proc/cpuinfo").read_text().splitlines():
            key, _, value = line.partition(":")
            key = key.strip()
            if key == "model name":
                info["model"] = value.strip()
            elif key == "cpu MHz" and "mhz" not in info:
                info["mhz"] = float(value)
            elif key == "flags" and "simd" not in info:
                info["simd"] = [f for f in value.split() if f in ("sse4_2", "avx", "avx2", "fma", "avx512f", "avx512bw")]
    except OSError:
        pass
    return info


def main():
    import sentencepiece as spm
    import generate_tokenizer_fixtures as gen

    ap = argparse.ArgumentParser()
    ap.add_argument("--shared", help="folder with llama2-tokenizer.model")
    ap.add_argument("--runs", type=int, default=5)
    args = ap.parse_args()

    shared = gen.find_shared(args.shared)
    model = shared / "llama2-tokenizer.model"
    path = OUT / "benchmark-text.txt"
    if path.is_file():
        text = path.read_text(encoding="utf-8")
        source = str(path.relative_to(ROOT))
    else:
        words, _ = gen.load_jieba_words()
        text = gen.benchmark_text(words)
        source = "generated in memory by generate_tokenizer_fixtures.benchmark_text (seed %d)" % gen.BENCH_SEED
    nbytes = len(text.encode("utf-8"))
    lines = text.split("\n")
    sp = spm.SentencePieceProcessor(model_file=str(model))

    def timed(fn):
        fn()  # warm-up
        wall, cpu = [], []
        for _ in range(args.runs):
            t0, c0 = time.perf_counter(), time.process_time()
            fn()
            wall.append(time.perf_counter() - t0)
            cpu.append(time.process_time() - c0)
        return {"wall_seconds": wall, "cpu_seconds": cpu,
                "median_wall_seconds": statistics.median(wall), "median_cpu_seconds": statistics.median(cpu),
                "median_MB_per_s": nbytes / 1e6 / statistics.median(wall),
                "median_MB_per_cpu_s": nbytes / 1e6 / statistics.median(cpu)}

    load0 = list(os.getloadavg()) if hasattr(os, "getloadavg") else None
    n_tokens = len(sp.encode(text))
    whole = timed(lambda: sp.encode(text))
    per_line = timed(lambda: sp.encode(lines, num_threads=1))
    result = {
        "tokenizer": "llama2-tokenizer.model",
        "text": source,
        "text_bytes": nbytes,
        "text_chars": len(text),
        "text_lines": len(lines),
        "text_sha256": hashlib.sha256(text.encode("utf-8")).hexdigest(),
        "tokens_whole_text": n_tokens,
        "runs": args.runs,
        "whole_text": whole,
        "per_line": per_line,
        "machine": {
            "cpu": cpu_info(),
            "logical_cpus": os.cpu_count(),
            "system": platform.platform(),
            "python": platform.python_version(),
            "sentencepiece": spm.__version__,
            "load_average_at_start": load0,
            "load_average_at_end": list(os.getloadavg()) if hasattr(os, "getloadavg") else None,
            "niceness": os.nice(0) if hasattr(os, "nice") else None,
        },
        "note": "single-threaded encode, median of the runs after a warm-up. MB/s is wall-clock; MB per CPU-second "
                "(process_time) is less sensitive to other load on the machine. Machine- and load-dependent.",
    }
    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / "sentencepiece-benchmark.json").write_text(json.dumps(result, indent=1, ensure_ascii=False) + "\n",
                                                      encoding="utf-8")
    print("sentencepiece %s, %s, %d logical CPUs, %s; load average %s -> %s" % (
        spm.__version__, result["machine"]["cpu"], os.cpu_count(), platform.platform(), load0,
        result["machine"]["load_average_at_end"]))
    print("text: %d bytes, %d tokens" % (nbytes, n_tokens))
    for name, r in (("whole text", whole), ("per line", per_line)):
        print("%-10s median %.3f s wall -> %.2f MB/s; %.3f CPU-s -> %.2f MB/CPU-s" % (
            name, r["median_wall_seconds"], r["median_MB_per_s"], r["median_cpu_seconds"], r["median_MB_per_cpu_s"]))


if __name__ == "__main__":
    main()
