#!/usr/bin/env python3
"""Which of llama.cpp's attention paths is closer to exact arithmetic for SmolLM2-135M Q4_1?

A diagnostic for Tests/Fixtures/smollm2 (not a source of reference values): an independent
float64 numpy forward pass of the GGUF's weights (dequantized by the `gguf` package) is
compared, at the last prompt position, with llama.cpp's logits in its default setting
(F16 KV, flash attention auto = on) and with flash attention off (F16 and F32 KV).

llama.cpp also rounds activations to Q8_1 before every Q4_1/Q8_0 matrix product, so none
of its runs equals the float64 pass; the question is only how far each one is. Also
computed: the same pass in float32 (how much float rounding alone moves the logits) and a
float64 pass whose matrix-product inputs are rounded as ggml's Q8_0/Q8_1 (`q8`,
`q8_sum_error`) — a rough emulation that shows the size of that effect; it does not
reproduce llama.cpp's values (it is no closer to them than plain float64 is).

Usage:
  LLAMA_CPP_LIB_PATH=/work/llama.cpp-0c1e570/build/bin \\
  python3 Scripts/check_smollm2_attention.py --bindings /tmp/lcp/llama_cpp_python-0.3.36 \\
      [--model ~/.cache/swift-llama/models/SmolLM2-135M-Instruct.Q4_1.gguf] [--prompts N]
Prints a JSON summary; writes nothing. Needs numpy, gguf (0.19.0), jinja2.
"""
import argparse
import json
import pathlib
import sys

import numpy as np

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
import generate_smollm2_reference as ref  # noqa: E402


def load_weights(path):
    import gguf
    from gguf.quants import dequantize

    reader = gguf.GGUFReader(str(path))
    w = {}
    for t in reader.tensors:
        a = dequantize(t.data, t.tensor_type).astype(np.float32)
        w[t.name] = a.reshape([int(n) for n in reversed(t.shape)]) if a.ndim > 1 else a.reshape(-1)
        if t.tensor_type == gguf.GGMLQuantizationType.Q4_1:
            # block: fp16 d, fp16 m, 16 bytes of nibbles; keep m per (row, block)
            raw = np.asarray(t.data).reshape(-1, 20)
            w[t.name + ".m"] = raw[:, 2:4].copy().view(np.float16).astype(np.float64).reshape(a.shape[0], -1)
    f = reader.fields

    def val(key):
        return f[key].contents()

    cfg = {"n_layer": val("llama.block_count"), "n_head": val("llama.attention.head_count"),
           "n_kv": val("llama.attention.head_count_kv"), "eps": val("llama.attention.layer_norm_rms_epsilon"),
           "base": val("llama.rope.freq_base"), "n_embd": val("llama.embedding_length")}
    return w, cfg


def q8_sum_error(x):
    """ggml's Q8_1 also stores s = fp16(scale * sum(q)) per block, which a Q4_1 dot product
    multiplies by the weight block's minimum m; returns s - scale * sum(q) per block."""
    b = x.reshape(x.shape[0], -1, 32)
    d = np.abs(b).max(axis=2) / 127.0
    inv = np.divide(1.0, d, out=np.zeros_like(d), where=d > 0)
    q = np.round(b.astype(np.float32) * inv[..., None].astype(np.float32))
    s = (d * q.sum(axis=2)).astype(np.float32)
    return s.astype(np.float16).astype(np.float64) - s.astype(np.float64)


def q8(x):
    """Round activations as ggml's quantize_row_q8_0/q8_1 do (blocks of 32, scale = amax/127
    stored as fp16, q = round(x / scale)); the values a Q4_1 or Q8_0 dot product then sees."""
    shape = x.shape
    b = x.reshape(-1, 32)
    d = np.abs(b).max(axis=1, keepdims=True) / 127.0
    inv = np.divide(1.0, d, out=np.zeros_like(d), where=d > 0)
    q = np.round(b.astype(np.float32) * inv.astype(np.float32))
    return (q * d.astype(np.float16).astype(x.dtype)).reshape(shape).astype(x.dtype)


def forward(w, cfg, ids, quantize_activations=False, dtype=np.float64):
    """float64 logits at the last position; llama.cpp's rope mode 0 (adjacent pairs), as its
    converter permutes Q and K for llama-architecture files. With quantize_activations, the
    input of every matrix product is rounded as llama.cpp's Q8_0/Q8_1 (see q8)."""
    qa = q8 if quantize_activations else (lambda x: x)

    def mm(x, name):  # x (T, in) @ W.T, plus Q8_1's rounded block sums for Q4_1 weights
        y = qa(x) @ f64(name).T
        if quantize_activations and name + ".m" in w:
            y = y + q8_sum_error(x) @ w[name + ".m"].T
        return y
    d = cfg["n_embd"]
    nh, nkv = cfg["n_head"], cfg["n_kv"]
    hd = d // nh
    T = len(ids)
    f64 = lambda name: w[name].astype(dtype)

    def rms(x, g):
        return x / np.sqrt(np.mean(x * x, axis=-1, keepdims=True) + x.dtype.type(cfg["eps"])) * g

    inv = cfg["base"] ** (-np.arange(0, hd, 2, dtype=np.float64) / hd)
    ang = np.arange(T, dtype=np.float64)[:, None] * inv[None, :]
    cos, sin = np.cos(ang).astype(dtype), np.sin(ang).astype(dtype)

    def rope(x):  # x: (T, heads, hd)
        x0, x1 = x[..., 0::2], x[..., 1::2]
        c, s = cos[:, None, :], sin[:, None, :]
        out = np.empty_like(x)
        out[..., 0::2] = x0 * c - x1 * s
        out[..., 1::2] = x0 * s + x1 * c
        return out

    emb = f64("token_embd.weight")
    x = emb[ids]
    mask = np.triu(np.full((T, T), -np.inf, dtype=dtype), 1)
    for i in range(cfg["n_layer"]):
        p = f"blk.{i}."
        h = rms(x, f64(p + "attn_norm.weight"))
        q = rope(mm(h, p + "attn_q.weight").reshape(T, nh, hd))
        k = rope(mm(h, p + "attn_k.weight").reshape(T, nkv, hd))
        v = mm(h, p + "attn_v.weight").reshape(T, nkv, hd)
        out = np.empty((T, nh, hd), dtype=dtype)
        for hh in range(nh):
            kv = hh // (nh // nkv)
            s = q[:, hh] @ k[:, kv].T / dtype(np.sqrt(hd)) + mask
            s = np.exp(s - s.max(axis=1, keepdims=True))
            s /= s.sum(axis=1, keepdims=True)
            out[:, hh] = s @ v[:, kv]
        x = x + mm(out.reshape(T, d), p + "attn_output.weight")
        h = rms(x, f64(p + "ffn_norm.weight"))
        g = mm(h, p + "ffn_gate.weight")
        u = mm(h, p + "ffn_up.weight")
        x = x + mm((g / (1 + np.exp(-g))) * u, p + "ffn_down.weight")
    x = rms(x[-1], f64("output_norm.weight"))
    out_w = f64("output.weight") if "output.weight" in w else emb
    return (out_w @ qa(x)).astype(np.float64)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--bindings", required=True)
    ap.add_argument("--model", default=str(ref.DEFAULT_MODEL))
    ap.add_argument("--fixture", default=str(ref.OUT))
    ap.add_argument("--prompts", type=int, default=7, help="how many of the fixture's prompts")
    args = ap.parse_args()
    fixture = json.loads(pathlib.Path(args.fixture).read_text(encoding="utf-8"))
    w, cfg = load_weights(pathlib.Path(args.model).expanduser())
    L = ref.load_bindings(args.bindings)
    llm = ref.Llama(L, pathlib.Path(args.model).expanduser(), 2)
    runs = [("default_kv_f16_flash_attn_auto", ref.GGML_TYPE_F16, ref.FA_AUTO),
            ("kv_f16_flash_attn_off", ref.GGML_TYPE_F16, ref.FA_OFF),
            ("kv_f32_flash_attn_off", ref.GGML_TYPE_F32, ref.FA_OFF)]
    summary = []
    for p in fixture["prompts"][:args.prompts]:
        exact = forward(w, cfg, p["ids"])
        exact_q8 = forward(w, cfg, p["ids"], quantize_activations=True)
        f32 = forward(w, cfg, p["ids"], dtype=np.float32)
        row = {"name": p["name"], "n_ids": len(p["ids"]), "float64_argmax": int(np.argmax(exact)),
               "float64_q8_activations_argmax": int(np.argmax(exact_q8))}
        diff = lambda a, b: {"max_abs": float(np.max(np.abs(a - b))), "rms": float(np.sqrt(np.mean((a - b) ** 2)))}
        row["float64_q8_activations_vs_float64"] = diff(exact_q8, exact)
        row["float32_vs_float64"] = diff(f32, exact)
        for name, kv, fa in runs:
            ctx, _ = llm.context(kv, fa)
            got = llm.decode(ctx, p["ids"]).astype(np.float64)
            L.llama_free(ctx)
            row[name] = {"vs_float64": diff(got, exact), "vs_float64_q8_activations": diff(got, exact_q8),
                         "argmax": int(np.argmax(got))}
        summary.append(row)
        print(json.dumps(row), file=sys.stderr)
    print(json.dumps(summary, indent=1))


if __name__ == "__main__":
    sys.exit(main())
