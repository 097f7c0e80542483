#!/usr/bin/env bash
# Downloads llama.cpp's vocabulary-only GGUF files (models/ggml-vocab-*.gguf, MIT, llama.cpp
# commit 0c1e570) into <cache>/llama-cpp-vocab/, for Tests/TokenizersTests/ByteLevelVectorTests
# (their .inp/.out test vectors are committed in Tests/Fixtures/llama-cpp-vocab/), and its 70
# chat templates (models/templates/*.jinja) into <cache>/llama-cpp-templates/, for
# Tests/JinjaTests (their jinja2 renderings are committed in Tests/Fixtures/chat-templates/).
# They come from the llama-cpp-python 0.3.36 source package on PyPI, which vendors llama.cpp;
# pip only downloads it (nothing is installed or run), tar extracts the files, and each
# vocabulary (and the list of template checksums) is checked against its sha256.
#
# Cache folder: --cache-dir DIR, else $SWIFT_LLAMA_CACHE, else $XDG_CACHE_HOME/swift-llama,
# else ~/.cache/swift-llama. Prints the folder.
set -euo pipefail

cache="${SWIFT_LLAMA_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/swift-llama}"
while [ $# -gt 0 ]; do
    case "$1" in
        --cache-dir) cache="$2"; shift 2 ;;
        --cache-dir=*) cache="${1#*=}"; shift ;;
        -h|--help) sed -n '2,13p' "$0"; exit 0 ;;
        *) echo "fetch-llama-cpp-vocabularies: unknown argument $1" >&2; exit 2 ;;
    esac
done

target="$cache/llama-cpp-vocab"
templates="$cache/llama-cpp-templates"
# The sha256 of `sha256sum *.jinja` in the templates folder (70 files).
templates_sha256=17f129a359ec13d82f8206464cfe457355ebc284f66568ebf3056236ef794ca3
templates_ok() { [ -d "$templates" ] && [ "$(cd "$templates" && sha256sum ./*.jinja 2>/dev/null | sed 's| \./| |' | sha256sum | cut -d' ' -f1)" = "$templates_sha256" ]; }
checksums="7c53c3c516ac67c7ca12977b9690fdea3d2ef13bbaed6378f98191a13ef5ca00  ggml-vocab-aquila.gguf
a2f8cfea952ef7c391a6d92a1c309d0bd32e36384d9b9230569a7425732f27d9  ggml-vocab-command-r.gguf
91cb1379f2e33af1c4866b194622b7a0e12e8f0c9dba7ba2f10d55978730bec1  ggml-vocab-deepseek-coder.gguf
867f77537b54565f0d81d508c04edc41aa1d4ffc1a92745f225b4c1b02755f76  ggml-vocab-deepseek-llm.gguf
9f0bf8b0733680398b72e652e90f260f43782f326e75545fc0e49611a5ba35ad  ggml-vocab-falcon.gguf
ae593a7f9b8bb174ed4f5019e41530463e4dac7aa06e42dee8aa650d2bdac53d  ggml-vocab-gpt-neox.gguf
59dc382612866d1fc6c11ea531318d327598f3412d9c8f8600607cdf3030898f  ggml-vocab-mpt.gguf
63ed952ff338996cf0bdf24a7b10015124273f75c6dc9bb427356aa3f67ec62c  ggml-vocab-qwen35.gguf
ac3ceda902fed91ccf74312b305d9b86c37e4f8e35fa9cc6ef3ce34fca7d4678  ggml-vocab-refact.gguf
fedb892b4e1bd3c1f2fcdae356440b14fb458f4264d586e5c987ed93df4e174d  ggml-vocab-starcoder.gguf"

if [ -d "$target" ] && (cd "$target" && echo "$checksums" | sha256sum --check --status 2>/dev/null) && templates_ok; then
    echo "$target"
    exit 0
fi

for tool in pip3 tar sha256sum; do
    command -v "$tool" >/dev/null || command -v "${tool%3}" >/dev/null || { echo "fetch-llama-cpp-vocabularies: $tool is needed" >&2; exit 1; }
done
pip=$(command -v pip3 || command -v pip)

mkdir -p "$target"
work=$(mktemp -d "$target/.download-XXXXXX")
trap 'rm -rf "$work"' EXIT

echo "Downloading the llama-cpp-python 0.3.36 source package (77 MB) from PyPI" >&2
"$pip" download --quiet --no-deps --no-binary llama-cpp-python llama-cpp-python==0.3.36 -d "$work" >&2
names=$(echo "$checksums" | awk '{print "llama_cpp_python-0.3.36/vendor/llama.cpp/models/" $2}')
# shellcheck disable=SC2086
tar -xzf "$work"/llama_cpp_python-0.3.36.tar.gz -C "$work" $names
tar -xzf "$work"/llama_cpp_python-0.3.36.tar.gz -C "$work" --wildcards 'llama_cpp_python-0.3.36/vendor/llama.cpp/models/templates/*.jinja'
mv "$work"/llama_cpp_python-0.3.36/vendor/llama.cpp/models/ggml-vocab-*.gguf "$target/"
(cd "$target" && echo "$checksums" | sha256sum --check --quiet)
rm -rf "$templates.partial"
mkdir -p "$templates.partial"
mv "$work"/llama_cpp_python-0.3.36/vendor/llama.cpp/models/templates/*.jinja "$templates.partial/"
rm -rf "$templates"
mv "$templates.partial" "$templates"
templates_ok || { echo "fetch-llama-cpp-vocabularies: the chat templates do not match their checksum" >&2; exit 1; }
echo "$target"
