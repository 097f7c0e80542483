#!/usr/bin/env python3
"""Benchmark this project's `llama bench` against llama.cpp's `llama-bench` on the same files.

The machines we run on are shared and noisy, so the two programs are measured in the
same sitting and interleaved: every round runs both on every file, alternating which one
goes first. Each program repeats each test `--repetitions` times after its own warm-up;
the table reports the median over all rounds and repetitions (tokens per second) and the
ratio of the medians.

Only the Python standard library is needed. Example (the files come from
`llama random-model`, see Documentation/Performance.md):

    swift build -c release --product llama
    python3 Scripts/benchmark_against_llama_cpp.py \
        --llama-bench /path/to/llama.cpp/build/bin/llama-bench \
        --rounds 3 --repetitions 3 --scaling \
        models/tinyllama-f32.gguf models/tinyllama-q4_0.gguf

`--scaling` also runs this project's prompt test with one thread, to report how much the
second thread adds. `--json FILE` keeps every sample. `--reload-page-cache` first drops
each file from the page cache (Linux) and reads it back through `llama`, whose mapping
asks for 2 MiB pages: a file just written is cached in small folios, which both programs
would then map with 4 KiB entries (see Documentation/Performance.md, "2 MiB pages").
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
import time


def run_json(command):
    """Runs a command that prints a JSON array on stdout and returns the array."""
    completed = subprocess.run(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    if completed.returncode != 0:
        sys.exit(f"{' '.join(command)} failed ({completed.returncode}):\n{completed.stderr[-2000:]}")
    text = completed.stdout
    start = text.find("[")
    if start < 0:
        sys.exit(f"{' '.join(command)} printed no JSON:\n{text[-2000:]}")
    return json.loads(text[start:])


def test_name(record):
    """`pp512` / `tg128` from either program's record."""
    if "test" in record:
        return record["test"]
    if record.get("n_gen", 0) > 0:
        return f"tg{record['n_gen']}"
    return f"pp{record['n_prompt']}"


def ours(arguments, model, threads, prompt, generate):
    command = [arguments.llama, "bench", "-m", model, "-t", str(threads), "-p", str(prompt), "-n", str(generate),
               "-r", str(arguments.repetitions), "--json"] + arguments.ours_args.split()
    return run_json(command)


def theirs(arguments, model):
    command = [arguments.llama_bench, "-m", model, "-t", str(arguments.threads), "-p", str(arguments.prompt),
               "-n", str(arguments.generate), "-r", str(arguments.repetitions), "-o", "json"]
    return run_json(command)


def reload_page_cache(arguments, model):
    """Drops `model` from the page cache and reads it back by decoding one token with `llama`."""
    descriptor = os.open(model, os.O_RDONLY)
    try:
        os.posix_fadvise(descriptor, 0, 0, os.POSIX_FADV_DONTNEED)
    finally:
        os.close(descriptor)
    run_json([arguments.llama, "bench", "-m", model, "-p", "0", "-n", "1", "-r", "1", "--no-probe", "--json"])


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("models", nargs="+", help="GGUF files")
    parser.add_argument("--llama", default=".build/release/llama", help="this project's llama tool (release build)")
    parser.add_argument("--llama-bench", help="llama.cpp's llama-bench; omit to measure only this project")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--repetitions", type=int, default=3)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--prompt", type=int, default=512)
    parser.add_argument("--generate", type=int, default=128)
    parser.add_argument("--scaling", action="store_true", help="also run this project's prompt test with 1 thread")
    parser.add_argument("--ours-args", default="", help="more arguments for `llama bench`, e.g. '--activations int8'")
    parser.add_argument("--json", help="write every sample here")
    parser.add_argument("--reload-page-cache", action="store_true",
                        help="drop each file from the page cache and read it back with `llama` first (Linux)")
    arguments = parser.parse_args()
    for model in arguments.models:
        if not os.path.isfile(model):
            sys.exit(f"{model}: no such file")
    if arguments.reload_page_cache:
        for model in arguments.models:
            reload_page_cache(arguments, model)

    samples = {}  # (model, runtime, test) -> [tokens/s]
    bandwidths = {}  # model -> [bytes/s]
    limits = {}  # model -> [tokens/s], the probe's bandwidth ÷ weight bytes read per token
    gflops = {}  # (model, test) -> [GFLOP/s], ours
    started = time.time()

    def add(model, runtime, records, suffix=""):
        for record in records:
            key = (model, runtime, test_name(record) + suffix)
            samples.setdefault(key, []).extend(record["samples_ts"])
            if runtime == "ours":
                if "bandwidth_bytes_per_second" in record:
                    bandwidths.setdefault(model, []).append(record["bandwidth_bytes_per_second"])
                    limits.setdefault(model, []).append(record["bandwidth_limit_ts"])
                if "gflops" in record:
                    gflops.setdefault((model, test_name(record) + suffix), []).append(record["gflops"])

    for round_index in range(arguments.rounds):
        for model in arguments.models:
            order = ["ours", "llama.cpp"] if round_index % 2 == 0 else ["llama.cpp", "ours"]
            for runtime in order:
                if runtime == "ours":
                    add(model, "ours", ours(arguments, model, arguments.threads, arguments.prompt, arguments.generate))
                    if arguments.scaling:
                        add(model, "ours", ours(arguments, model, 1, arguments.prompt, 0), suffix=" 1 thread")
                elif arguments.llama_bench:
                    add(model, "llama.cpp", theirs(arguments, model))
            print(f"round {round_index + 1}/{arguments.rounds} {os.path.basename(model)} done "
                  f"({time.time() - started:.0f} s)", file=sys.stderr, flush=True)

    pp, tg = f"pp{arguments.prompt}", f"tg{arguments.generate}"
    header = ["model file", "size", f"{pp} ours", f"{pp} llama.cpp", "ratio", "GFLOP/s ours",
              f"{tg} ours", f"{tg} llama.cpp", "ratio", "bandwidth limit", "ours / limit"]
    if arguments.scaling:
        header.append(f"{pp} 2 threads / 1")
    if arguments.ours_args:
        header = [column.replace(" ours", f" ours ({arguments.ours_args})") for column in header]
    lines = ["| " + " | ".join(header) + " |", "|" + " --- |" * len(header)]

    def median(model, runtime, test):
        values = samples.get((model, runtime, test))
        return statistics.median(values) if values else None

    def show(value, digits=1):
        return "–" if value is None else f"{value:.{digits}f}"

    for model in arguments.models:
        size = os.path.getsize(model)
        pp_ours, pp_theirs = median(model, "ours", pp), median(model, "llama.cpp", pp)
        tg_ours, tg_theirs = median(model, "ours", tg), median(model, "llama.cpp", tg)
        limit = statistics.median(limits[model]) if model in limits else None
        flops = statistics.median(gflops[(model, pp)]) if (model, pp) in gflops else None
        row = [os.path.basename(model), f"{size / 1e9:.2f} GB", show(pp_ours), show(pp_theirs),
               show(pp_ours / pp_theirs if pp_ours and pp_theirs else None, 2), show(flops, 0),
               show(tg_ours), show(tg_theirs), show(tg_ours / tg_theirs if tg_ours and tg_theirs else None, 2),
               show(limit), show(tg_ours / limit if tg_ours and limit else None, 2)]
        if arguments.scaling:
            single = median(model, "ours", pp + " 1 thread")
            row.append(show(pp_ours / single if pp_ours and single else None, 2))
        lines.append("| " + " | ".join(row) + " |")
    bandwidth_all = [b for values in bandwidths.values() for b in values]
    print("\n".join(lines))
    samples_each = arguments.rounds * arguments.repetitions
    print(f"\nMedians of {samples_each} samples per cell ({arguments.rounds} interleaved rounds × "
          f"{arguments.repetitions} repetitions), {arguments.threads} threads. Bandwidth limit: the read bandwidth "
          f"`llama bench` probed before each run ÷ the weight bytes read per token (median "
          f"{statistics.median(bandwidth_all) / 1e9 if bandwidth_all else float('nan'):.1f} GB/s). "
          f"Total time {time.time() - started:.0f} s.")
    if arguments.json:
        with open(arguments.json + ".tmp", "w") as handle:
            json.dump({"samples": [{"model": m, "runtime": r, "test": t, "tokens_per_second": v}
                                   for (m, r, t), v in samples.items()],
                       "bandwidth_bytes_per_second": bandwidths}, handle, indent=1)
        os.replace(arguments.json + ".tmp", arguments.json)


if __name__ == "__main__":
    main()
