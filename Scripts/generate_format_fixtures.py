#!/usr/bin/env python3
"""Reference files for the ModelFormats tests, written by the reference libraries.

* formats/reference.gguf — written by the `gguf` package's GGUFWriter: every metadata
  value type (scalars, strings, arrays of each, a nested array) and tensors of every
  type the library reads, in 1 to 4 dimensions. reference.gguf.json records what the
  `gguf` package's GGUFReader sees in it: metadata values, tensor names, shapes (GGUF
  order), types, offsets, and each tensor dequantized by gguf.quants as float32 bits.
* formats/safetensors/single.safetensors and formats/safetensors/sharded/ — written by
  the `safetensors` package (numpy API): F32, F16 and BF16 tensors with metadata, an
  I64 tensor (not supported, must give a clear error), and a checkpoint split over
  three shards with model.safetensors.index.json. safetensors.json records the values.
* formats/stories260K-v1.bin and -v2.bin — llama2.c's versioned exports of
  ../shared/fixtures/stories260K.bin, written by llama2.c's own export.py
  (version1_export, version2_export). This needs a llama2.c checkout: pass its path
  with --llama2c (it is only imported, not copied).

Usage:
    pip install gguf numpy safetensors torch
    python3 Scripts/generate_format_fixtures.py --llama2c /path/to/llama2.c
"""
import argparse
import hashlib
import json
import pathlib
import struct
import sys

import gguf
import numpy as np
from gguf import GGMLQuantizationType as T
from gguf.constants import GGML_QUANT_SIZES

ROOT = pathlib.Path(__file__).resolve().parent.parent
OUT = ROOT / "Tests/Fixtures/formats"
SHARED = ROOT.parent / "shared/fixtures"
rng = np.random.default_rng(314159)


def write_gguf():
    path = OUT / "reference.gguf"
    w = gguf.GGUFWriter(str(path), arch="llama")
    w.add_uint8("test.u8", 200)
    w.add_int8("test.i8", -100)
    w.add_uint16("test.u16", 60000)
    w.add_int16("test.i16", -30000)
    w.add_uint32("test.u32", 4_000_000_000)
    w.add_int32("test.i32", -2_000_000_000)
    w.add_uint64("test.u64", 2**63 + 5)
    w.add_int64("test.i64", -(2**62))
    w.add_float32("test.f32", 3.25)
    w.add_float64("test.f64", -1e300)
    w.add_bool("test.bool", True)
    w.add_string("test.string", "héllo, 世界 🦙")
    w.add_string("test.empty_string", "")
    w.add_array("test.array.u8", [1, 2, 255])
    w.add_key_value("test.array.i16", [-1, 2, -3], gguf.GGUFValueType.ARRAY, sub_type=gguf.GGUFValueType.INT16)
    w.add_key_value("test.array.u64", [1, 2**63], gguf.GGUFValueType.ARRAY, sub_type=gguf.GGUFValueType.UINT64)
    w.add_key_value("test.array.f32", [0.5, -2.0, 1e-3], gguf.GGUFValueType.ARRAY, sub_type=gguf.GGUFValueType.FLOAT32)
    w.add_key_value("test.array.f64", [0.1, 2.5], gguf.GGUFValueType.ARRAY, sub_type=gguf.GGUFValueType.FLOAT64)
    w.add_array("test.array.bool", [True, False, True])
    w.add_array("test.array.string", ["a", "▁b", "<0x0A>", ""])
    w.add_array("test.array.nested", [[1, 2], [3]])
    w.add_uint32("llama.block_count", 2)
    w.add_uint32("llama.context_length", 128)
    w.add_float32("llama.attention.layer_norm_rms_epsilon", 1e-5)
    w.add_float32("llama.rope.freq_base", 10000.0)

    types = [T.F32, T.F16, T.BF16, T.Q8_0, T.Q4_0, T.Q4_1, T.Q5_0, T.Q5_1, T.Q2_K, T.Q3_K, T.Q4_K, T.Q5_K, T.Q6_K]
    shapes = {1: [(64,), (256,)], 2: [(3, 64), (2, 256)], 3: [(2, 2, 64), (2, 1, 256)], 4: [(1, 2, 2, 64), (1, 1, 2, 256)]}
    tensors = []
    for i, qtype in enumerate(types):
        block, size = GGML_QUANT_SIZES[qtype]
        dims = i % 4 + 1
        shape = shapes[dims][1 if block == 256 else 0]
        name = f"tensor.{qtype.name.lower()}.{dims}d"
        values = (rng.standard_normal(shape) * 0.7).astype(np.float32)
        if qtype == T.F32:
            data = values
        elif qtype == T.F16:
            data = values.astype(np.float16)
        elif qtype in (T.BF16, T.Q8_0, T.Q4_0, T.Q4_1, T.Q5_0, T.Q5_1):
            data = gguf.quants.quantize(values, qtype)
        else:
            # K-quants: gguf cannot quantize them; random blocks with small finite scales.
            n_blocks = int(np.prod(shape)) // block
            raw = rng.integers(0, 256, size=(n_blocks, size), dtype=np.uint8)
            offsets = {T.Q2_K: [80, 82], T.Q3_K: [108], T.Q4_K: [0, 2], T.Q5_K: [0, 2], T.Q6_K: [208]}[qtype]
            for offset in offsets:
                raw[:, offset:offset + 2] = (rng.standard_normal(n_blocks) * 0.05).astype(np.float16).view(np.uint8).reshape(n_blocks, 2)
            data = raw.reshape(*shape[:-1], shape[-1] // block * size)
        if qtype in (T.F32, T.F16):
            w.add_tensor(name, data)
        else:
            w.add_tensor(name, data, raw_dtype=qtype)
        tensors.append(name)
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()

    reader = gguf.GGUFReader(str(path))
    record = {"metadata": [], "tensors": []}
    for field in reader.fields.values():
        types_ = [t.name for t in field.types]
        record["metadata"].append({"key": field.name, "types": types_, "value": field_value(field)})
    for t in reader.tensors:
        values = gguf.quants.dequantize(t.data, t.tensor_type).astype(np.float32).ravel()
        record["tensors"].append({
            "name": t.name, "shape": [int(x) for x in t.shape], "type": t.tensor_type.name,
            "offset": int(t.data_offset), "n_bytes": int(t.n_bytes),
            "float_bits": [int(b) for b in values.view(np.uint32)],
        })
    (OUT / "reference.gguf.json").write_text(json.dumps(record, indent=0) + "\n")
    print(f"wrote {path} ({path.stat().st_size} bytes) with {len(tensors)} tensors")


def field_value(field):
    """A JSON form of a metadata value as GGUFReader decodes it."""
    main = field.types[0]
    if main == gguf.GGUFValueType.ARRAY:
        if field.types[1] == gguf.GGUFValueType.ARRAY:
            return "nested"
        if field.types[1] == gguf.GGUFValueType.STRING:
            return [bytes(field.parts[i]).decode("utf-8") for i in field.data]
        return [scalar(field.parts[i][0]) for i in field.data]
    if main == gguf.GGUFValueType.STRING:
        return bytes(field.parts[-1]).decode("utf-8")
    return scalar(field.parts[-1][0])


def scalar(x):
    if isinstance(x, (np.floating,)):
        return float(x)
    if isinstance(x, (np.bool_,)):
        return bool(x)
    return int(x)


def write_safetensors():
    from safetensors.numpy import save_file
    import torch
    from safetensors.torch import save_file as save_torch

    folder = OUT / "safetensors"
    (folder / "sharded").mkdir(parents=True, exist_ok=True)
    f32 = (rng.standard_normal((3, 5)) * 2).astype(np.float32)
    f16 = (rng.standard_normal((4,)) * 2).astype(np.float16)
    bf16 = torch.tensor(rng.standard_normal((2, 3, 2)).astype(np.float32)).to(torch.bfloat16)
    i64 = np.arange(6, dtype=np.int64).reshape(2, 3)
    save_torch({"weights.f32": torch.tensor(f32), "weights.f16": torch.tensor(f16), "weights.bf16": bf16,
                "positions.i64": torch.tensor(i64), "scalar.f32": torch.tensor(np.float32(7.5))},
               str(folder / "single.safetensors"), metadata={"format": "pt", "note": "fixture"})
    shards = {}
    index = {"metadata": {"total_size": 0}, "weight_map": {}}
    expected = {
        "weights.f32": {"shape": [3, 5], "values": [float(v) for v in f32.ravel()]},
        "weights.f16": {"shape": [4], "values": [float(v) for v in f16.astype(np.float32).ravel()]},
        "weights.bf16": {"shape": [2, 3, 2], "values": [float(v) for v in bf16.to(torch.float32).numpy().ravel()]},
        "scalar.f32": {"shape": [], "values": [7.5]},
        "sharded": {},
    }
    for shard in range(3):
        name = f"model-{shard + 1:05d}-of-00003.safetensors"
        tensors = {}
        for j in range(2):
            key = f"layers.{shard}.w{j}"
            value = rng.standard_normal((2, 4)).astype(np.float32)
            tensors[key] = value
            index["weight_map"][key] = name
            expected["sharded"][key] = [float(v) for v in value.ravel()]
            index["metadata"]["total_size"] += value.nbytes
        save_file(tensors, str(folder / "sharded" / name), metadata={"format": "pt"})
    (folder / "sharded" / "model.safetensors.index.json").write_text(json.dumps(index, indent=2) + "\n")
    (folder / "safetensors.json").write_text(json.dumps(expected) + "\n")
    print(f"wrote {folder}")


def write_llama2c(llama2c):
    sys.path.insert(0, str(llama2c))
    import torch
    from model import ModelArgs, Transformer
    import export

    source = SHARED / "stories260K.bin"
    data = source.read_bytes()
    assert hashlib.sha256(data).hexdigest() == "9414d5a285453a7eab631713d171753232c978f6f97654211469aff8be93c8d6"
    dim, hidden, layers, heads, kv_heads, vocab, seq = struct.unpack("7i", data[:28])
    shared = vocab > 0
    vocab = abs(vocab)
    args = ModelArgs(dim=dim, n_layers=layers, n_heads=heads, n_kv_heads=kv_heads, vocab_size=vocab,
                     hidden_dim=hidden, max_seq_len=seq, multiple_of=1, dropout=0.0)
    model = Transformer(args)
    floats = np.frombuffer(data[28:], dtype=np.float32)
    position = 0

    def take(shape):
        nonlocal position
        n = int(np.prod(shape))
        value = torch.tensor(floats[position:position + n].reshape(shape).copy())
        position += n
        return value

    head = dim // heads
    kv_dim = kv_heads * head
    with torch.no_grad():
        model.tok_embeddings.weight.copy_(take((vocab, dim)))
        for name, shape in [("attention_norm", (dim,)), ("attention.wq", (dim, dim)), ("attention.wk", (kv_dim, dim)),
                            ("attention.wv", (kv_dim, dim)), ("attention.wo", (dim, dim)), ("ffn_norm", (dim,)),
                            ("feed_forward.w1", (hidden, dim)), ("feed_forward.w2", (dim, hidden)),
                            ("feed_forward.w3", (hidden, dim))]:
            for layer in model.layers:
                module = layer
                for part in name.split("."):
                    module = getattr(module, part)
                module.weight.copy_(take(shape))
        model.norm.weight.copy_(take((dim,)))
        take((seq, head // 2))
        take((seq, head // 2))
        if shared:
            model.output.weight = model.tok_embeddings.weight
        else:
            model.output.weight.copy_(take((vocab, dim)))
    assert position == len(floats), (position, len(floats))
    export.version1_export(model, str(OUT / "stories260K-v1.bin"))
    export.version2_export(model, str(OUT / "stories260K-v2.bin"), group_size=64)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--llama2c", help="path of a llama2.c checkout (for the versioned checkpoints)")
    args = parser.parse_args()
    OUT.mkdir(parents=True, exist_ok=True)
    write_gguf()
    write_safetensors()
    if args.llama2c:
        write_llama2c(pathlib.Path(args.llama2c))
    else:
        print("skipping the llama2.c checkpoints: pass --llama2c")


if __name__ == "__main__":
    main()
