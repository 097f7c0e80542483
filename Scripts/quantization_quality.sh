#!/usr/bin/env bash
# The quality table of Documentation/Quantization.md for one model: KL divergence against
# the f32 model over an evaluation text, and file size, for round to nearest, an
# importance matrix and GPTQ (this package) and for llama-quantize without and with
# llama-imatrix's matrix, at Q3_K_M, Q4_K_M and Q4_0. Both tools' matrices and GPTQ use the
# same calibration chunks.
#
#   Scripts/quantization_quality.sh MODEL-F32.gguf CALIBRATION.txt EVALUATION.txt OUT-FOLDER LLAMA.CPP-BIN [CHUNKS]
#
# MODEL-F32.gguf: the base (e.g. `llama quantize model.gguf model-f32.gguf F32`); CHUNKS:
# calibration chunks of 512 tokens (default 100). Writes OUT-FOLDER/results.jsonl and
# prints a Markdown table. Evaluation: windows of 512 tokens, the second half of each
# scored; the base file takes about 2 bytes × vocabulary per scored token.
set -euo pipefail
model=$1 calibration=$2 evaluation=$3 out=$4 bin=$5 chunks=${6:-100}
llama=${LLAMA:-$(dirname "$0")/../.build/release/llama}
mkdir -p "$out"
results="$out/results.jsonl"
: > "$results"
"$llama" perplexity -m "$model" --file "$evaluation" --window 512 --kl-divergence-base "$out/base.kld" --force
"$llama" imatrix -m "$model" -f "$calibration" -o "$out/imatrix-ours.gguf" -c 512 --chunks "$chunks" --force
"$bin/llama-imatrix" -m "$model" -f "$calibration" -o "$out/imatrix-llama.gguf" -c 512 --chunks "$chunks" -t 2 > "$out/llama-imatrix.log" 2>&1

measure() {  # name type file
    local json
    json=$("$llama" perplexity -m "$3" --kl-divergence "$out/base.kld" --json)
    python3 - "$1" "$2" "$3" "$json" >> "$results" <<'PY'
import json, os, sys
name, kind, path, data = sys.argv[1], sys.argv[2], sys.argv[3], json.loads(sys.argv[4])
print(json.dumps({"method": name, "type": kind, "bytes": os.path.getsize(path), "mean_kld": data["mean_kld"],
                  "same_top": data["same_top"], "ppl": data["ppl"], "ppl_base": data["ppl_base"], "tokens": data["tokens"]}))
PY
}

for type in Q3_K_M Q4_K_M Q4_0; do
    "$llama" quantize "$model" "$out/ours-rtn-$type.gguf" "$type" --force
    "$llama" quantize "$model" "$out/ours-imatrix-$type.gguf" "$type" --imatrix "$out/imatrix-ours.gguf" --force
    "$llama" quantize "$model" "$out/ours-gptq-$type.gguf" "$type" --method gptq --calibration "$calibration" \
        --calibration-context 512 --calibration-chunks "$chunks" --force
    "$bin/llama-quantize" "$model" "$out/llama-rtn-$type.gguf" "$type" 2 > /dev/null
    "$bin/llama-quantize" --imatrix "$out/imatrix-llama.gguf" "$model" "$out/llama-imatrix-$type.gguf" "$type" 2 > /dev/null
    for method in ours-rtn ours-imatrix ours-gptq llama-rtn llama-imatrix; do
        measure "$method" "$type" "$out/$method-$type.gguf"
        rm -f "$out/$method-$type.gguf"
    done
done

python3 - "$results" <<'PY'
import json, sys
rows = [json.loads(line) for line in open(sys.argv[1])]
names = {"ours-rtn": "round to nearest", "ours-imatrix": "importance matrix", "ours-gptq": "GPTQ",
         "llama-rtn": "llama-quantize", "llama-imatrix": "llama-quantize + llama-imatrix"}
print(f"{rows[0]['tokens']} tokens scored, base perplexity {rows[0]['ppl_base']['value']:.3f}\n")
print("| type | method | MB | mean KL divergence | same top token | perplexity |")
print("| --- | --- | --- | --- | --- | --- |")
for r in rows:
    k, s, p = r["mean_kld"], r["same_top"], r["ppl"]
    print(f"| {r['type']} | {names[r['method']]} | {r['bytes'] / 1e6:.1f} | {k['value']:.4f} ± {k['uncertainty']:.4f} | "
          f"{100 * s['value']:.2f} ± {100 * s['uncertainty']:.2f}% | {p['value']:.3f} ± {p['uncertainty']:.3f} |")
PY
