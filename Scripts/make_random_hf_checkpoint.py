#!/usr/bin/env python3
"""Write a Hugging Face Llama checkpoint folder with random weights and real shapes.

It is the input for measuring the converter on a model of realistic size (peak resident
memory, speed) where no real checkpoint can be downloaded. The folder has config.json,
generation_config.json, tokenizer.model (copied from --tokenizer), and the weights as
sharded safetensors (model-0000N-of-0000M.safetensors + model.safetensors.index.json),
written tensor by tensor so that this script itself needs little memory. Only numpy is
needed. Example (TinyLlama 1.1B's shapes, bf16, 4 shards):

    python3 Scripts/make_random_hf_checkpoint.py /tmp/tinyllama-hf \
        --tokenizer ../shared/fixtures/llama2-tokenizer.model --dtype bf16 --shards 4
    /usr/bin/time -v .build/release/llama convert /tmp/tinyllama-hf /tmp/tinyllama.q8_0.gguf --type q8_0
"""

import argparse
import json
import os
import shutil
import struct

import numpy as np

PRESETS = {
    # width, layers, heads, kv heads, feed-forward, vocabulary, rope base, context
    "tinyllama-1.1b": (2048, 22, 32, 4, 5632, 32000, 10000.0, 2048),
    "llama2-7b": (4096, 32, 32, 32, 11008, 32000, 10000.0, 4096),
}


def tensor_shapes(width, layers, heads, kv_heads, feed_forward, vocabulary):
    head_width = width // heads
    shapes = [("model.embed_tokens.weight", (vocabulary, width))]
    for layer in range(layers):
        prefix = f"model.layers.{layer}."
        shapes += [
            (prefix + "input_layernorm.weight", (width,)),
            (prefix + "self_attn.q_proj.weight", (width, width)),
            (prefix + "self_attn.k_proj.weight", (kv_heads * head_width, width)),
            (prefix + "self_attn.v_proj.weight", (kv_heads * head_width, width)),
            (prefix + "self_attn.o_proj.weight", (width, width)),
            (prefix + "post_attention_layernorm.weight", (width,)),
            (prefix + "mlp.gate_proj.weight", (feed_forward, width)),
            (prefix + "mlp.up_proj.weight", (feed_forward, width)),
            (prefix + "mlp.down_proj.weight", (width, feed_forward)),
        ]
    shapes += [("model.norm.weight", (width,)), ("lm_head.weight", (vocabulary, width))]
    return shapes


def encode(values, dtype):
    """The little-endian bytes of float32 `values` in `dtype`."""
    if dtype == "f32":
        return values.astype("<f4").tobytes()
    if dtype == "f16":
        return values.astype("<f2").tobytes()
    # bf16: the high half of the float32, rounded to nearest even.
    bits = values.astype("<f4").view("<u4").astype(np.uint64)
    rounded = (bits + 0x7FFF + ((bits >> 16) & 1)) >> 16
    return rounded.astype("<u2").tobytes()


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("output", help="the folder to create (must not exist)")
    parser.add_argument("--tokenizer", required=True, help="a SentencePiece tokenizer.model with the preset's vocabulary")
    parser.add_argument("--preset", choices=sorted(PRESETS), default="tinyllama-1.1b")
    parser.add_argument("--dtype", choices=["f32", "f16", "bf16"], default="bf16")
    parser.add_argument("--shards", type=int, default=4)
    parser.add_argument("--seed", type=int, default=42)
    arguments = parser.parse_args()
    if os.path.exists(arguments.output):
        parser.error(f"{arguments.output} exists")
    width, layers, heads, kv_heads, feed_forward, vocabulary, rope_base, context = PRESETS[arguments.preset]
    shapes = tensor_shapes(width, layers, heads, kv_heads, feed_forward, vocabulary)
    element_bytes = {"f32": 4, "f16": 2, "bf16": 2}[arguments.dtype]
    safetensors_dtype = {"f32": "F32", "f16": "F16", "bf16": "BF16"}[arguments.dtype]
    random = np.random.default_rng(arguments.seed)

    temporary = arguments.output + ".partial"
    shutil.rmtree(temporary, ignore_errors=True)
    os.makedirs(temporary)
    shutil.copyfile(arguments.tokenizer, os.path.join(temporary, "tokenizer.model"))
    config = {
        "architectures": ["LlamaForCausalLM"], "model_type": "llama", "hidden_size": width,
        "num_hidden_layers": layers, "num_attention_heads": heads, "num_key_value_heads": kv_heads,
        "intermediate_size": feed_forward, "vocab_size": vocabulary, "rms_norm_eps": 1e-5,
        "rope_theta": rope_base, "max_position_embeddings": context, "hidden_act": "silu",
        "tie_word_embeddings": False, "bos_token_id": 1, "eos_token_id": 2,
        "torch_dtype": {"f32": "float32", "f16": "float16", "bf16": "bfloat16"}[arguments.dtype],
    }
    with open(os.path.join(temporary, "config.json"), "w") as handle:
        json.dump(config, handle, indent=2)
    with open(os.path.join(temporary, "generation_config.json"), "w") as handle:
        json.dump({"bos_token_id": 1, "eos_token_id": 2}, handle, indent=2)

    # Split the tensors into shards of about equal size, in order.
    total = sum(int(np.prod(shape)) * element_bytes for _, shape in shapes)
    shards, current, current_bytes = [], [], 0
    for name, shape in shapes:
        current.append((name, shape))
        current_bytes += int(np.prod(shape)) * element_bytes
        if current_bytes >= total / arguments.shards and len(shards) < arguments.shards - 1:
            shards.append(current)
            current, current_bytes = [], 0
    if current:
        shards.append(current)

    weight_map = {}
    for index, shard in enumerate(shards):
        file_name = f"model-{index + 1:05d}-of-{len(shards):05d}.safetensors"
        header, offset = {"__metadata__": {"format": "pt"}}, 0
        for name, shape in shard:
            size = int(np.prod(shape)) * element_bytes
            header[name] = {"dtype": safetensors_dtype, "shape": list(shape), "data_offsets": [offset, offset + size]}
            offset += size
            weight_map[name] = file_name
        header_bytes = json.dumps(header, separators=(",", ":")).encode()
        header_bytes += b" " * (-len(header_bytes) % 8)
        with open(os.path.join(temporary, file_name), "wb") as handle:
            handle.write(struct.pack("<Q", len(header_bytes)))
            handle.write(header_bytes)
            for name, shape in shard:
                if len(shape) == 1:
                    values = 1 + 0.1 * random.standard_normal(shape, dtype=np.float32)
                else:
                    values = random.standard_normal(shape, dtype=np.float32) * (1 / np.sqrt(shape[1]))
                handle.write(encode(values, arguments.dtype))
    with open(os.path.join(temporary, "model.safetensors.index.json"), "w") as handle:
        json.dump({"metadata": {"total_size": total}, "weight_map": weight_map}, handle, indent=2)
    os.rename(temporary, arguments.output)
    print(f"{arguments.output}: {len(shapes)} tensors, {total / 1e9:.2f} GB in {len(shards)} shards")


if __name__ == "__main__":
    main()
