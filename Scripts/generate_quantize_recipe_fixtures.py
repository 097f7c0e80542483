#!/usr/bin/env python3
"""Writes Tests/Fixtures/formats/quantize-recipes.json: for two small Llama-shaped models
and every file type the package writes, the type llama-quantize gives each tensor and a
CRC-32 (zlib's) of the tensor's bytes.

The models are written here with gguf-py, their values from an integer hash that
QuantizeRecipeTests computes the same way, so the test quantizes identical inputs:

* "untied": 8 layers, width 256, 8 heads sharing 2 KV heads, feed-forward 512, its own
  output.weight (K-quant rows everywhere; grouped-query factor 4);
* "tied": 8 layers, width 320, 5 heads with their own KV heads, feed-forward 640, output
  tied to the embedding (rows of 320 and 640 are not whole 256-value blocks: fallbacks).

    python3 Scripts/generate_quantize_recipe_fixtures.py /work/llama.cpp-0c1e570/build/bin/llama-quantize
"""
import json
import pathlib
import subprocess
import sys
import tempfile
import zlib

import numpy as np
import gguf

FILE_TYPES = ["F32", "F16", "BF16", "Q8_0", "Q4_0", "Q4_1", "Q5_0", "Q5_1", "Q2_K", "Q3_K_S", "Q3_K_M", "Q3_K_L",
              "Q4_K_S", "Q4_K_M", "Q5_K_S", "Q5_K_M", "Q6_K"]
MODELS = {
    "untied": dict(layers=8, width=256, heads=8, kv_heads=2, feed_forward=512, vocabulary=256, tied=False),
    "tied": dict(layers=8, width=320, heads=5, kv_heads=5, feed_forward=640, vocabulary=256, tied=True),
}


def tensors(m):
    """(name, shape as rows × columns) in the order the test writes them."""
    d, ff, head = m["width"], m["feed_forward"], m["width"] // m["heads"]
    out = [("token_embd.weight", (m["vocabulary"], d))]
    for i in range(m["layers"]):
        b = f"blk.{i}."
        out += [(b + "attn_norm.weight", (d,)), (b + "attn_q.weight", (d, d)), (b + "attn_k.weight", (m["kv_heads"] * head, d)),
                (b + "attn_v.weight", (m["kv_heads"] * head, d)), (b + "attn_output.weight", (d, d)),
                (b + "ffn_norm.weight", (d,)), (b + "ffn_gate.weight", (ff, d)), (b + "ffn_up.weight", (ff, d)),
                (b + "ffn_down.weight", (d, ff))]
    out.append(("output_norm.weight", (d,)))
    if not m["tied"]:
        out.append(("output.weight", (m["vocabulary"], d)))
    return out


def values(index, count):
    """Tensor `index`'s values: ((h >> 8) / 2^24 − 0.5) · 0.25 for h = (i · 2654435761 + index · 40503) mod 2^32,
    exact in float32 but for the last multiplication, which rounds the same everywhere."""
    i = np.arange(count, dtype=np.uint64)
    h = (i * np.uint64(2654435761) + np.uint64(index * 40503)) % np.uint64(2**32)
    unit = (h >> np.uint64(8)).astype(np.float32) / np.float32(2**24) - np.float32(0.5)
    return unit * np.float32(0.25)


def crc32(data):
    return f"{zlib.crc32(data):08x}"


def write_model(path, m):
    writer = gguf.GGUFWriter(str(path), "llama")
    writer.add_context_length(2048)
    writer.add_embedding_length(m["width"])
    writer.add_block_count(m["layers"])
    writer.add_feed_forward_length(m["feed_forward"])
    writer.add_head_count(m["heads"])
    writer.add_head_count_kv(m["kv_heads"])
    writer.add_rope_dimension_count(m["width"] // m["heads"])
    writer.add_layer_norm_rms_eps(1e-5)
    writer.add_file_type(0)
    for index, (name, shape) in enumerate(tensors(m)):
        count = int(np.prod(shape))
        writer.add_tensor(name, values(index, count).reshape(shape))
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()


def main():
    quantize = sys.argv[1]
    fixture = {"source": "llama-quantize of llama.cpp 0c1e570 (llama-cpp-python 0.3.36)", "models": {}}
    with tempfile.TemporaryDirectory() as folder:
        for model_name, m in MODELS.items():
            source = pathlib.Path(folder) / f"{model_name}.gguf"
            write_model(source, m)
            results = {}
            for file_type in FILE_TYPES:
                out = pathlib.Path(folder) / f"{model_name}-{file_type}.gguf"
                subprocess.run([quantize, str(source), str(out), file_type, "1"], check=True, capture_output=True)
                reader = gguf.GGUFReader(str(out))
                results[file_type] = [
                    [t.name, t.tensor_type.name.lower().replace("_k", "_K"), crc32(t.data.tobytes())]
                    for t in reader.tensors]
                print(model_name, file_type, len(reader.tensors), "tensors")
            fixture["models"][model_name] = {"shape": m, "quantized": results}
    path = pathlib.Path(__file__).resolve().parent.parent / "Tests/Fixtures/formats/quantize-recipes.json"
    path.write_text(json.dumps(fixture, indent=1) + "\n")
    print(f"wrote {path} ({path.stat().st_size} bytes)")


if __name__ == "__main__":
    main()
