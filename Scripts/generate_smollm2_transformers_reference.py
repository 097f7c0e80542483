#!/usr/bin/env python3
"""Float32 reference for SmolLM2-135M-Instruct (Q4_1 GGUF) from Hugging Face transformers.

An independent check of this package's float path: transformers reads the GGUF file itself
(`from_pretrained(dir, gguf_file=..., dtype=torch.float32)`), which dequantizes every tensor
with the `gguf` package (gguf.quants: Q4_1 blocks as d*q + m, the Q8_0 token embedding as d*q,
all in float32) and undoes llama.cpp's row permutation of attn_q/attn_k
(LlamaTensorProcessor._reverse_permute_weights). The forward pass is transformers' own
LlamaForCausalLM, eager attention, float32, CPU, one thread. Unlike llama.cpp (whose
reference.json rounds activations to 8 bits before every quantized product), nothing here is
rounded below float32.

Checked before anything is written (the script stops otherwise):
* the model file's size and sha256;
* the config (llama, 30 layers, width 576, 9 heads / 3 KV heads, head_dim 64, vocab 49,152,
  rope base and RMSNorm epsilon equal to the file's, tied output = token embedding);
* every GGUF tensor equals the loaded parameter exactly (np.array_equal), where attn_q/attn_k
  are compared after re-applying llama.cpp's converter permutation (written out here, not
  transformers' code) to the loaded weight, and every parameter of the model is covered;
* transformers in float64 (see below) agrees with the independent numpy float64 forward pass
  of Scripts/check_smollm2_attention.py (llama.cpp's adjacent-pair rope on the permuted
  weights) within 1e-9 at the last prompt position (so the un-permutation and rope match).

Inputs: the 7 prompts' `ids` in Tests/Fixtures/smollm2/reference.json (llama.cpp's
tokens, used as given; nothing is re-tokenized).

Writes Tests/Fixtures/smollm2/transformers.json; per prompt (`name` as in reference.json):
* `last_top40`: top-40 [id, logit] at the last prompt position (float32 logits written as
  the shortest decimal that round-trips to the float32 value);
* `last_logits_sha256`: sha256 of the 49,152 float32 last-position logits, little-endian;
* `greedy`: 32 tokens by argmax (first index on ties) of the float32 logits with the
  transformers KV cache, no early stop (eos_token_id=None): `new_ids`, `margin` per step
  (top1 - top2 of the logits that chose the token; step 0 is the last prompt position),
  `min_margin`, `top5` per step, `text` (tokens from the GGUF vocabulary, informative only);
  `teacher_forced`: an uncached forward over prompt + new_ids gives the same argmax at every
  step, and the max |delta| between its logits and the cached ones;
* `float64`: the same model in float64: max |float32 - float64| over all last-position
  logits, its argmax, its 32-token greedy ids and how many leading ids equal the float32 run;
  max |transformers float64 - numpy float64 (check_smollm2_attention.forward)|. transformers'
  Llama keeps RMSNorm, the eager softmax and the rope angles in float32 even in a float64
  model; for the float64 run those three are patched to float64 (true_float64();
  `max_abs_diff_stock_transformers_float64` is how much that changes the logits). The float32
  run is transformers unmodified;
* `vs_llama_cpp`: max |delta| between these logits and reference.json's prompt_last_top40
  (llama.cpp's top-40 ids), and how many leading greedy ids are shared with llama.cpp's
  default run and each of its variants.

Usage
  nice /work/venv-ref/bin/python Scripts/generate_smollm2_transformers_reference.py \\
      [--model ~/.cache/swift-llama/models/SmolLM2-135M-Instruct.Q4_1.gguf]

Needs (the versions it was made with; the JSON records the ones used):
  pip install "torch==2.15.0" "transformers==5.25.0" "gguf==0.19.0" "accelerate==1.15.0" "numpy==2.4.6"
transformers refuses a gguf_file without accelerate installed; gguf (>= 0.10) does the
dequantization (Q4_1 and Q8_0 are supported, no fallback needed). Python 3.11.7, CPU only.
Deterministic (no sampling, one thread, argmax decoding: two runs wrote identical bytes);
about two minutes on one core and ~2 GB of memory.
"""
import argparse
import contextlib
import copy
import hashlib
import importlib.metadata
import json
import pathlib
import sys
import time

import numpy as np
import torch

ROOT = pathlib.Path(__file__).resolve().parent.parent
FIXTURE = ROOT / "Tests/Fixtures/smollm2/reference.json"
OUT = ROOT / "Tests/Fixtures/smollm2/transformers.json"
DEFAULT_MODEL = pathlib.Path.home() / ".cache/swift-llama/models/SmolLM2-135M-Instruct.Q4_1.gguf"
MODEL_SIZE = 98_362_432
MODEL_SHA256 = "b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53"

TOP_K = 40
GREEDY_TOKENS = 32
STEP_TOP = 5

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))


def f32(x):
    """The float32 value x as the shortest decimal that round-trips to it (as a Python float)."""
    v = np.float32(x)
    s = np.format_float_positional(v, unique=True, trim="-") if abs(v) >= 1e-4 or v == 0 \
        else np.format_float_scientific(v, unique=True, trim="-")
    out = float(s)
    assert np.float32(out) == v, (x, s)
    return out


def top_k(logits, k):
    """[[id, logit]] for the k largest float32 logits, ties by lower id."""
    order = np.lexsort((np.arange(len(logits)), -logits.astype(np.float64)))[:k]
    return [[int(i), f32(logits[i])] for i in order]


def margin(logits):
    a = np.sort(logits.astype(np.float64))
    return float(a[-1] - a[-2])


def common_prefix(a, b):
    n = 0
    for x, y in zip(a, b):
        if x != y:
            break
        n += 1
    return n


def byte_level_decode(pieces):
    """GPT-2 byte-level vocabulary strings -> text (invalid UTF-8 shown as U+FFFD)."""
    bs = list(range(ord("!"), ord("~") + 1)) + list(range(0xA1, 0xAC + 1)) + list(range(0xAE, 0xFF + 1))
    cs, n = bs[:], 0
    for b in range(256):
        if b not in bs:
            bs.append(b)
            cs.append(256 + n)
            n += 1
    inverse = {chr(c): b for b, c in zip(bs, cs)}
    return bytes(inverse[ch] for piece in pieces for ch in piece).decode("utf-8", errors="replace")


def permute_like_llama_cpp(w, n_head):
    """convert_hf_to_gguf.py LlamaModel.permute: HF rows -> GGUF rows (rope pairs adjacent)."""
    return (w.reshape(n_head, 2, w.shape[0] // n_head // 2, *w.shape[1:])
            .swapaxes(1, 2).reshape(w.shape))


def hf_name(gguf_name):
    if gguf_name == "token_embd.weight":
        return "model.embed_tokens.weight"
    if gguf_name == "output_norm.weight":
        return "model.norm.weight"
    if gguf_name == "output.weight":
        return "lm_head.weight"
    _, i, rest = gguf_name.split(".", 2)
    m = {"attn_norm.weight": "input_layernorm.weight", "ffn_norm.weight": "post_attention_layernorm.weight",
         "attn_q.weight": "self_attn.q_proj.weight", "attn_k.weight": "self_attn.k_proj.weight",
         "attn_v.weight": "self_attn.v_proj.weight", "attn_output.weight": "self_attn.o_proj.weight",
         "ffn_gate.weight": "mlp.gate_proj.weight", "ffn_up.weight": "mlp.up_proj.weight",
         "ffn_down.weight": "mlp.down_proj.weight"}[rest]
    return f"model.layers.{i}.{m}"


def check_weights(reader, model, cfg):
    """Every GGUF tensor == the loaded parameter, exactly; returns the tensor types seen."""
    from gguf.quants import dequantize
    params = dict(model.named_parameters(remove_duplicate=False))
    seen, types = set(), {}
    for t in reader.tensors:
        a = dequantize(t.data, t.tensor_type)
        a = a.reshape([int(n) for n in reversed(t.shape)]) if len(t.shape) > 1 else a.reshape(-1)
        assert a.dtype == np.float32, (t.name, a.dtype)
        name = hf_name(t.name)
        p = params[name].detach().numpy()
        if ".attn_q." in t.name:
            p = permute_like_llama_cpp(p, cfg.num_attention_heads)
        elif ".attn_k." in t.name:
            p = permute_like_llama_cpp(p, cfg.num_key_value_heads)
        assert p.shape == a.shape and p.dtype == np.float32, (t.name, p.shape, a.shape, p.dtype)
        assert np.array_equal(p, a), f"{t.name}: loaded weights differ from gguf's dequantization"
        seen.add(name)
        types[t.tensor_type.name] = types.get(t.tensor_type.name, 0) + 1
    if "lm_head.weight" not in seen:  # tied: the output matrix is the token embedding
        assert params["lm_head.weight"].data_ptr() == params["model.embed_tokens.weight"].data_ptr()
        seen.add("lm_head.weight")
    missing = set(params) - seen
    assert not missing, f"parameters not checked: {sorted(missing)[:5]}"
    return types, len(params)


@torch.no_grad()
def last_logits(model, ids):
    return model(torch.tensor([ids]), use_cache=False).logits[0, -1]


@torch.no_grad()
def greedy(model, ids, n):
    """n argmax tokens with the KV cache; returns new ids and the logits that chose each."""
    out = model(torch.tensor([ids]), use_cache=True)
    cache, logits = out.cache, out.logits[0, -1]
    new, rows = [], []
    for step in range(n):
        rows.append(logits.clone())
        tok = int(torch.argmax(logits))  # first index of the maximum on ties
        new.append(tok)
        if step + 1 == n:
            break
        out = model(torch.tensor([[tok]]), cache=cache, use_cache=True)
        cache, logits = out.cache, out.logits[0, -1]
    return new, torch.stack(rows)


@torch.no_grad()
def teacher_forced(model, ids, new):
    full = model(torch.tensor([ids + new[:-1]]), use_cache=False).logits[0]
    return full[len(ids) - 1:]


def dumps(x, indent=0):
    """JSON with one item per line, except that lists of scalars or of lists of scalars stay on one line."""
    flat = lambda v: not isinstance(v, (dict, list))
    if isinstance(x, list) and all(flat(v) or (isinstance(v, list) and all(map(flat, v))) for v in x):
        return json.dumps(x, ensure_ascii=False, separators=(", ", ": "))
    pad, inner = " " * indent, " " * (indent + 1)
    if isinstance(x, dict):
        items = [f"{inner}{json.dumps(k)}: {dumps(v, indent + 1)}" for k, v in x.items()]
        return "{\n" + ",\n".join(items) + "\n" + pad + "}" if items else "{}"
    if isinstance(x, list):
        return "[\n" + ",\n".join(inner + dumps(v, indent + 1) for v in x) + "\n" + pad + "]"
    return json.dumps(x, ensure_ascii=False)


@contextlib.contextmanager
def true_float64():
    """transformers' Llama keeps three steps in float32 whatever the model's dtype: RMSNorm
    (casts its input to float32), the eager softmax (dtype=torch.float32) and the rope angles
    (inv_freq and position * inv_freq in float32). Inside this context they run in the input's
    dtype, with float64 angles, so a float64 model is float64 throughout. Restored on exit."""
    from transformers.models.llama import modeling_llama as ml
    saved = (ml.LlamaRMSNorm.forward, ml.LlamaRotaryEmbedding.forward, ml.eager_attention_forward)

    def rms_forward(self, x):
        return self.weight * (x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + self.variance_epsilon))

    def rope_forward(self, x, position_ids):
        base = self.config.rope_parameters["rope_theta"]
        dim = self.config.head_dim
        inv = 1.0 / (float(base) ** (torch.arange(0, dim, 2, dtype=torch.float64) / dim))
        freqs = position_ids[..., None].to(torch.float64) * inv
        emb = torch.cat((freqs, freqs), dim=-1)
        return emb.cos().to(x.dtype), emb.sin().to(x.dtype)

    def eager(module, query, key, value, attention_mask, scaling, dropout=0.0, **kwargs):
        k = ml.repeat_kv(key, module.num_key_value_groups)
        v = ml.repeat_kv(value, module.num_key_value_groups)
        w = torch.matmul(query, k.transpose(2, 3)) * scaling
        if attention_mask is not None:
            w = w + attention_mask
        w = torch.nn.functional.softmax(w, dim=-1)
        return torch.matmul(w, v).transpose(1, 2).contiguous(), w

    ml.LlamaRMSNorm.forward, ml.LlamaRotaryEmbedding.forward, ml.eager_attention_forward = \
        rms_forward, rope_forward, eager
    try:
        yield
    finally:
        ml.LlamaRMSNorm.forward, ml.LlamaRotaryEmbedding.forward, ml.eager_attention_forward = saved


def sha256_of(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--model", default=str(DEFAULT_MODEL))
    args = ap.parse_args()
    path = pathlib.Path(args.model).expanduser()
    size, sha = path.stat().st_size, sha256_of(path)
    if size != MODEL_SIZE or sha != MODEL_SHA256:
        sys.exit(f"unexpected model file {path}: {size} bytes, sha256 {sha}")

    torch.set_num_threads(1)
    torch.manual_seed(0)
    import gguf
    import transformers
    from transformers import AutoModelForCausalLM
    import check_smollm2_attention as numpy_ref

    versions = {"python": sys.version.split()[0], "torch": torch.__version__,
                "transformers": transformers.__version__, "gguf": importlib.metadata.version("gguf"),
                "accelerate": importlib.metadata.version("accelerate"), "numpy": np.__version__}
    t0 = time.time()
    fixture = json.loads(FIXTURE.read_text(encoding="utf-8"))

    model = AutoModelForCausalLM.from_pretrained(str(path.parent), gguf_file=path.name,
                                                 dtype=torch.float32, attn_implementation="eager")
    model.eval()
    cfg = model.config
    print(f"model loaded ({time.time() - t0:.0f}s)", file=sys.stderr)

    reader = gguf.GGUFReader(str(path))
    val = lambda key: reader.fields[key].contents()
    rope_theta = (cfg.rope_parameters or {}).get("rope_theta", getattr(cfg, "rope_theta", None))
    assert cfg.model_type == "llama" and type(model).__name__ == "LlamaForCausalLM", cfg.model_type
    assert cfg._attn_implementation == "eager"
    assert (cfg.num_hidden_layers, cfg.hidden_size, cfg.num_attention_heads, cfg.num_key_value_heads,
            cfg.head_dim, cfg.vocab_size) == (30, 576, 9, 3, 64, 49152), cfg
    assert cfg.tie_word_embeddings
    assert float(rope_theta) == float(val("llama.rope.freq_base")), (rope_theta, val("llama.rope.freq_base"))
    assert np.float32(cfg.rms_norm_eps) == np.float32(val("llama.attention.layer_norm_rms_epsilon"))
    assert cfg.intermediate_size == val("llama.feed_forward_length")
    assert (cfg.rope_parameters or {}).get("rope_type", "default") == "default", cfg.rope_parameters
    assert not getattr(cfg, "attention_bias", False) and not getattr(cfg, "mlp_bias", False)
    types, n_params = check_weights(reader, model, cfg)
    print(f"weights checked: {types} ({time.time() - t0:.0f}s)", file=sys.stderr)

    model64 = copy.deepcopy(model).to(torch.float64)
    model64.eval()
    w_np, cfg_np = numpy_ref.load_weights(path)
    vocab = [str(s) for s in val("tokenizer.ggml.tokens")]

    prompts = []
    for p in fixture["prompts"]:
        ids = [int(i) for i in p["ids"]]
        new, rows = greedy(model, ids, GREEDY_TOKENS)
        rows_np = rows.numpy()
        last = last_logits(model, ids).numpy()
        # The greedy run's first row is the same computation (uncached prompt pass).
        assert np.array_equal(last, rows_np[0]), p["name"]
        tf = teacher_forced(model, ids, new).numpy()
        tf_argmax = [int(np.argmax(r)) for r in tf]

        with true_float64():
            last64 = last_logits(model64, ids).numpy()
            new64, _ = greedy(model64, ids, GREEDY_TOKENS)
        stock64 = last_logits(model64, ids).numpy()
        numpy64 = numpy_ref.forward(w_np, cfg_np, ids)
        d_np = float(np.max(np.abs(last64 - numpy64)))
        assert d_np < 1e-9, (p["name"], d_np)

        margins = [margin(r) for r in rows_np]
        lc_top = p["prompt_last_top40"]
        lc_ids = [i for i, _ in lc_top]
        entry = {
            "name": p["name"],
            "n_ids": len(ids),
            "last_top40": top_k(last, TOP_K),
            "last_logits_sha256": hashlib.sha256(last.astype("<f4").tobytes()).hexdigest(),
            "greedy": {
                "new_ids": new,
                "margin": [round(m, 6) for m in margins],
                "min_margin": round(min(margins), 6),
                "top5": [top_k(r, STEP_TOP) for r in rows_np],
                "text": byte_level_decode(vocab[i] for i in new),
                "teacher_forced": {
                    "same_argmax": tf_argmax == new,
                    "max_abs_diff_logits_vs_cached": float(np.max(np.abs(tf - rows_np))),
                },
            },
            "float64": {
                "max_abs_diff_last_logits_float32_vs_float64": float(np.max(np.abs(last.astype(np.float64) - last64))),
                "argmax": int(np.argmax(last64)),
                "greedy_new_ids": new64,
                "greedy_same_leading_ids_as_float32": common_prefix(new, new64),
                "max_abs_diff_vs_numpy_float64_forward": d_np,
                "max_abs_diff_stock_transformers_float64": float(np.max(np.abs(stock64 - last64))),
            },
            "vs_llama_cpp": {
                "max_abs_diff_at_llama_cpp_top40_ids": float(np.max(np.abs(
                    last[lc_ids].astype(np.float64) - np.array([v for _, v in lc_top])))),
                "same_argmax": int(np.argmax(last)) == lc_ids[0],
                "llama_cpp_argmax": lc_ids[0],
                "greedy_same_leading_ids": {
                    "default_kv_f16_flash_attn_auto": common_prefix(new, p["greedy"]["new_ids"]),
                    **{k: common_prefix(new, v["new_ids"]) for k, v in p["variants"].items()},
                },
                "llama_cpp_greedy_length": len(p["greedy"]["new_ids"]),
            },
        }
        prompts.append(entry)
        f, v = entry["float64"], entry["vs_llama_cpp"]
        print(f"{p['name']}: {len(ids)} ids, argmax {new[0]}, min margin {entry['greedy']['min_margin']:.4f}, "
              f"f32-f64 {f['max_abs_diff_last_logits_float32_vs_float64']:.2e}, "
              f"f64 greedy same {f['greedy_same_leading_ids_as_float32']}, numpy64 {d_np:.1e}, "
              f"tf same {entry['greedy']['teacher_forced']['same_argmax']} "
              f"({entry['greedy']['teacher_forced']['max_abs_diff_logits_vs_cached']:.1e}), "
              f"vs llama.cpp top40 {v['max_abs_diff_at_llama_cpp_top40_ids']:.3f}, "
              f"shared greedy {v['greedy_same_leading_ids']} ({time.time() - t0:.0f}s)", file=sys.stderr)

    doc = {
        "what": "SmolLM2-135M-Instruct Q4_1 GGUF, dequantized by the gguf package and run by "
                "transformers' LlamaForCausalLM in float32 (eager attention, CPU, 1 thread). "
                "Input ids are reference.json's (llama.cpp's tokens). Logits are float32 values "
                "(shortest round-trip decimals); margins are float64 differences of them.",
        "source": "Scripts/generate_smollm2_transformers_reference.py",
        "model": {"file": path.name, "bytes": size, "sha256": sha},
        "versions": versions,
        "loading": {
            "call": "AutoModelForCausalLM.from_pretrained(dir, gguf_file=name, dtype=torch.float32, "
                    "attn_implementation='eager')",
            "gguf_tensor_types": types,
            "parameters_checked": n_params,
            "weights_check": "every GGUF tensor equals the loaded float32 parameter exactly "
                             "(gguf.quants.dequantize; attn_q/attn_k compared after re-applying "
                             "llama.cpp's converter permutation to the loaded weight); lm_head is the "
                             "token embedding (tied)",
        },
        "config": {
            "num_hidden_layers": cfg.num_hidden_layers, "hidden_size": cfg.hidden_size,
            "intermediate_size": cfg.intermediate_size, "num_attention_heads": cfg.num_attention_heads,
            "num_key_value_heads": cfg.num_key_value_heads, "head_dim": cfg.head_dim,
            "vocab_size": cfg.vocab_size, "rms_norm_eps": cfg.rms_norm_eps, "rope_theta": float(rope_theta),
            "tie_word_embeddings": cfg.tie_word_embeddings,
        },
        "settings": {
            "dtype": "float32", "attn_implementation": "eager", "threads": 1, "top_k": TOP_K,
            "greedy_tokens": GREEDY_TOKENS,
            "greedy": "argmax (first index on ties) with transformers' KV cache, never stops "
                      "(eos_token_id=None); margin[i] = top1 - top2 of the logits that chose new_ids[i] "
                      "(margin[0] is at the last prompt position); text: the GGUF vocabulary strings "
                      "of new_ids, byte-level decoded (informative only)",
            "last_logits_sha256": "sha256 of the 49,152 last-position float32 logits, little-endian "
                                  "(bit-exact; another summation order will not match it)",
            "float64": "the same weights in float64 (model.to(torch.float64)) with RMSNorm, softmax and "
                       "rope angles also in float64 (transformers keeps them in float32 even in a float64 "
                       "model; max_abs_diff_stock_transformers_float64 is what that changes), last position "
                       "and a 32-token greedy run; max_abs_diff_vs_numpy_float64_forward compares with "
                       "Scripts/check_smollm2_attention.py's independent numpy pass",
            "vs_llama_cpp": "reference.json: max |delta| over llama.cpp's prompt_last_top40 ids, and the "
                            "number of leading greedy ids shared with llama.cpp's greedy runs (its default "
                            "run stops at an end-of-generation token, see llama_cpp_greedy_length)",
        },
        "prompts": prompts,
    }
    text = dumps(doc) + "\n"
    assert json.loads(text) == doc
    OUT.write_text(text, encoding="utf-8")
    print(f"wrote {OUT.relative_to(ROOT)} ({OUT.stat().st_size} bytes, {time.time() - t0:.0f}s)",
          file=sys.stderr)


if __name__ == "__main__":
    sys.exit(main())
