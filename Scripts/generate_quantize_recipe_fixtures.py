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

Each file type is also quantized with an importance matrix for the layer weights (values
from the same hash), written in llama-imatrix's format.

It also runs llama-imatrix on the llama-mha fixture model over
Tests/Fixtures/formats/imatrix-calibration.txt (the first sentence of the US Declaration of
Independence, public domain), keeps the file it writes as
Tests/Fixtures/formats/llama-mha-imatrix.gguf, and records llama-quantize's output with it.

    python3 Scripts/generate_quantize_recipe_fixtures.py /work/llama.cpp-0c1e570/build/bin
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


IMATRIX_COUNT = 4096


def write_imatrix(path, m):
    """An importance matrix in llama-imatrix's format for every layer weight: sums
    (v² + 0.01)·4096 from the same hash (index + 1000), counts 4096."""
    writer = gguf.GGUFWriter(str(path), "llama")
    writer.add_type("imatrix")
    writer.add_array("imatrix.datasets", ["synthetic"])
    writer.add_uint32("imatrix.chunk_count", 8)
    writer.add_uint32("imatrix.chunk_size", 512)
    names = sorted(name for name, shape in tensors(m) if name.startswith("blk.") and len(shape) == 2)
    for index, name in enumerate(names):
        columns = dict(tensors(m))[name][1]
        v = values(index + 1000, columns)
        sums = (v * v + np.float32(0.01)) * np.float32(IMATRIX_COUNT)
        writer.add_tensor(name + ".in_sum2", sums.reshape(1, columns))
        writer.add_tensor(name + ".counts", np.full((1, 1), IMATRIX_COUNT, dtype=np.float32))
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()


def tensor_table(path):
    reader = gguf.GGUFReader(str(path))
    return [[t.name, t.tensor_type.name.lower().replace("_k", "_K"), crc32(t.data.tobytes())] for t in reader.tensors]


def real_imatrix(bin_folder, fixtures, folder):
    """llama-imatrix's own file for the llama-mha fixture, and llama-quantize's use of it."""
    model = fixtures / "models/llama-mha/model-f32.gguf"
    imatrix = fixtures / "formats/llama-mha-imatrix.gguf"
    subprocess.run([str(bin_folder / "llama-imatrix"), "-m", str(model), "-f", str(fixtures / "formats/imatrix-calibration.txt"),
                    "-o", str(imatrix), "-c", "32"], check=True, capture_output=True)
    results = {}
    for file_type in ["Q4_0", "Q4_1", "Q5_0", "Q5_1", "Q4_K_M", "Q6_K"]:
        out = pathlib.Path(folder) / f"mha-{file_type}.gguf"
        subprocess.run([str(bin_folder / "llama-quantize"), "--imatrix", str(imatrix), str(model), str(out), file_type, "1"],
                       check=True, capture_output=True)
        results[file_type] = tensor_table(out)
    return results


def main():
    bin_folder = pathlib.Path(sys.argv[1])
    quantize = str(bin_folder / "llama-quantize")
    fixtures = pathlib.Path(__file__).resolve().parent.parent / "Tests/Fixtures"
    fixture = {"source": "llama-quantize of llama.cpp 0c1e570 (llama-cpp-python 0.3.36)", "models": {}}
    with tempfile.TemporaryDirectory() as folder:
        for model_name, m in MODELS.items():
            source = pathlib.Path(folder) / f"{model_name}.gguf"
            write_model(source, m)
            imatrix = pathlib.Path(folder) / f"{model_name}-imatrix.gguf"
            write_imatrix(imatrix, m)
            results, weighted = {}, {}
            for file_type in FILE_TYPES:
                for with_imatrix, table in ((False, results), (True, weighted)):
                    out = pathlib.Path(folder) / f"{model_name}-{file_type}.gguf"
                    extra = ["--imatrix", str(imatrix)] if with_imatrix else []
                    subprocess.run([quantize, *extra, str(source), str(out), file_type, "1"], check=True, capture_output=True)
                    table[file_type] = tensor_table(out)
                    print(model_name, file_type, "imatrix" if with_imatrix else "", len(table[file_type]), "tensors")
            fixture["models"][model_name] = {"shape": m, "quantized": results, "quantized_with_imatrix": weighted}
        fixture["llama_mha_with_llama_imatrix"] = real_imatrix(bin_folder, fixtures, folder)
    path = fixtures / "formats/quantize-recipes.json"
    path.write_text(json.dumps(fixture, separators=(",", ":")) + "\n")
    print(f"wrote {path} ({path.stat().st_size} bytes)")


if __name__ == "__main__":
    main()
