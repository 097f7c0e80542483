#!/usr/bin/env python3
"""Writes Tests/Fixtures/kl-divergence/: llama-perplexity's log-probability file for the
llama-mha fixture model over Tests/Fixtures/formats/imatrix-calibration.txt in windows of
32 tokens (`--kl-divergence-base`), and llama-perplexity's KL-divergence statistics for the
model itself and for its Q4_0 file made by llama-quantize (the same bytes `llama quantize`
writes) against that base.

    python3 Scripts/generate_kl_divergence_fixtures.py /work/llama.cpp-0c1e570/build/bin
"""
import json
import pathlib
import re
import subprocess
import sys
import tempfile

FIELDS = {
    "ppl": r"Mean PPL\(Q\)\s*:\s*([\d.]+) ±\s*([\d.]+)",
    "ppl_base": r"Mean PPL\(base\)\s*:\s*([\d.]+) ±\s*([\d.]+)",
    "ln_ppl_ratio": r"Mean ln\(PPL\(Q\)/PPL\(base\)\)\s*:\s*(-?[\d.]+) ±\s*(-?nan|[\d.]+)",
    "mean_kld": r"Mean    KLD:\s*(-?[\d.]+) ±\s*([\d.]+)",
    "same_top_percent": r"Same top p:\s*([\d.]+) ±\s*([\d.]+)",
    "rms_dp_percent": r"RMS Δp    :\s*([\d.]+) ±\s*([\d.]+)",
}


def statistics(output):
    result = {}
    for name, pattern in FIELDS.items():
        match = re.search(pattern, output)
        assert match, (name, output[-2000:])
        # llama-perplexity prints -nan for an uncertainty it cannot estimate (a model against itself).
        result[name] = [float(match.group(1)), None if "nan" in match.group(2) else float(match.group(2))]
    return result


def main():
    bin_folder = pathlib.Path(sys.argv[1])
    root = pathlib.Path(__file__).resolve().parent.parent / "Tests/Fixtures"
    model = root / "models/llama-mha/model-f32.gguf"
    text = root / "formats/imatrix-calibration.txt"
    out = root / "kl-divergence"
    base = out / "llama-mha-base.kld"
    perplexity = str(bin_folder / "llama-perplexity")
    def run(*args):
        # llama.cpp's log thread sometimes loses its last lines at exit: run again until the
        # summary is there.
        for _ in range(10):
            with tempfile.TemporaryFile("w+") as log:
                subprocess.run([perplexity, *args, "-t", "2"], check=True, stdout=log, stderr=subprocess.STDOUT)
                log.seek(0)
                output = log.read()
            if "--kl-divergence" not in args or "Same top p:" in output:
                return output
        raise RuntimeError("llama-perplexity printed no summary in 10 runs")
    run("-m", str(model), "-f", str(text), "-c", "32", "--kl-divergence-base", str(base))
    results = {"source": "llama-perplexity of llama.cpp 0c1e570 (llama-cpp-python 0.3.36)", "window": 32}
    with tempfile.TemporaryDirectory() as folder:
        q4 = pathlib.Path(folder) / "q4_0.gguf"
        subprocess.run([str(bin_folder / "llama-quantize"), str(model), str(q4), "Q4_0", "1"], check=True, capture_output=True)
        for name, path in (("f32", model), ("q4_0", q4)):
            results[name] = statistics(run("-m", str(path), "--kl-divergence-base", str(base), "--kl-divergence", "-c", "32"))
    (out / "llama-perplexity.json").write_text(json.dumps(results, indent=1) + "\n")
    print(json.dumps(results, indent=1))


if __name__ == "__main__":
    main()
