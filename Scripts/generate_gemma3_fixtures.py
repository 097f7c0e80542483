#!/usr/bin/env python3
"""Reference outputs of Gemma 3 270M (Q4_K_M GGUF) from Hugging Face transformers, float32.

The model file is the default model (Scripts/fetch-default-model.sh): gemma-3-270m-q4_k_m.gguf,
253,113,024 bytes, sha256 a5fd3b62230aa5ec60212297dc9d20eaa70578ac519e00d93a17e44c087a6818.
transformers reads it with `gguf_file=`, dequantizes every tensor with the `gguf` package
(gguf.quants, the same arithmetic as ggml's dequantization) into float32, and subtracts 1 from
every `*norm.weight` (the GGUF holds Gemma's RMSNorm weights with the +1 already added; the
model adds it back, so the effective multiplier is exactly the GGUF value). The forward pass is
transformers' own Gemma3ForCausalLM with attn_implementation="eager", in float32 on the CPU.

Writes
  Tests/Fixtures/gemma3/reference.json            prompts, ids, last-position top-50 logits,
                                                  log-softmax values, 40-token greedy runs,
                                                  per-layer hidden-state probes, sliding-window
                                                  sensitivity checks, an independent re-implementation
                                                  of the forward pass (must agree with transformers),
                                                  and that re-implementation with llama.cpp's CPU
                                                  roundings emulated ("llamacpp_like", not llama.cpp)
  Tests/Fixtures/gemma3/tokenizer-reference.json  ids of ~30 strings from the HF tokenizer built
                                                  from the GGUF, from Python sentencepiece with a
                                                  model rebuilt from the GGUF vocabulary, and from a
                                                  llama.cpp-style special-token partition on top of it

Usage
  nice python3 Scripts/generate_gemma3_fixtures.py [path/to/gemma-3-270m-q4_k_m.gguf]

The model path defaults to $SWIFT_LLAMA_MODEL, else $SWIFTLLAMA_MODEL_DIR/gemma-3-270m-q4_k_m.gguf,
else <cache>/models/gemma-3-270m-q4_k_m.gguf with <cache> = $SWIFT_LLAMA_CACHE, else
$XDG_CACHE_HOME/swift-llama, else ~/.cache/swift-llama (where Scripts/fetch-default-model.sh puts it).

Needs (versions these fixtures were made with; the JSON records the ones used):
  pip install "torch==2.15.0" "transformers==5.23.0" "tokenizers==0.23.3" "sentencepiece==0.2.3" \
              "protobuf==7.36.2" "gguf==0.19.0" "numpy==2.4.6" "accelerate==1.15.0"
CPU only; about 3 GB of memory and a few minutes on 2 cores (loading the tokenizer and
dequantizing the model take most of it). Everything is deterministic: greedy decoding, no sampling.
"""
import argparse
import hashlib
import json
import os
import pathlib
import sys
import tempfile
import time

import numpy as np
import torch

ROOT = pathlib.Path(__file__).resolve().parent.parent
OUT_DIR = ROOT / "Tests/Fixtures/gemma3"
MODEL_NAME = "gemma-3-270m-q4_k_m.gguf"
MODEL_SIZE = 253_113_024
MODEL_SHA256 = "a5fd3b62230aa5ec60212297dc9d20eaa70578ac519e00d93a17e44c087a6818"

TOP_K = 50
GREEDY_TOKENS = 40
NEAR_TIE = 1e-3  # top-1/top-2 logit gaps below this are flagged
PROBE_DIMS = 8

BOS, EOS, START_OF_TURN, END_OF_TURN = 2, 1, 105, 106

EXPECTED_FRANCE_IDS = [2, 818, 5279, 529, 7001, 563]
EXPECTED_FRANCE_CONTINUATION = (
    " the capital of the country of France. It is the largest city in France"
    " and the second largest city in Europe."
)


def default_model_path():
    env = os.environ
    if env.get("SWIFT_LLAMA_MODEL"):
        return pathlib.Path(env["SWIFT_LLAMA_MODEL"])
    if env.get("SWIFTLLAMA_MODEL_DIR"):
        return pathlib.Path(env["SWIFTLLAMA_MODEL_DIR"]) / MODEL_NAME
    cache = env.get("SWIFT_LLAMA_CACHE") or os.path.join(
        env.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache"), "swift-llama")
    return pathlib.Path(cache) / "models" / MODEL_NAME


# ---------------------------------------------------------------------------------------------
# Prompts
# ---------------------------------------------------------------------------------------------

def lighthouse_log(days):
    """An original, deterministic text of a few hundred words (no randomness)."""
    directions = ["north", "east", "south", "west", "northwest", "southeast"]
    seas = ["calm", "choppy", "grey and heavy", "flat as glass", "rough"]
    ships = ["two fishing boats", "a cargo ship", "the mail ferry", "no vessels",
             "a small yacht", "three trawlers"]
    times = ["noon", "sunset", "the morning tide"]
    tasks = ["polished the brass lens", "painted the railing", "fixed a loose shutter",
             "counted the oil barrels", "swept the spiral stairs", "mended a fishing net",
             "wrote a letter to his sister"]
    lines = [
        "The following is the logbook of the lighthouse on Gull Point. The keeper's cat is "
        "named Pepper, and the spare key to the lamp room is hidden under the blue stone by "
        "the door.\n\n"
    ]
    for d in range(1, days + 1):
        lines.append(
            f"Day {d}: The wind blew from the {directions[d % len(directions)]} at "
            f"{5 + (d * 7) % 20} knots. The sea was {seas[d % len(seas)]}, and "
            f"{ships[d % len(ships)]} passed the point before {times[d % len(times)]}. "
            f"The keeper {tasks[d % len(tasks)]}.\n"
        )
    lines.append("\nQuestion: What is the name of the keeper's cat?\nAnswer: The keeper's cat is named")
    return "".join(lines)


PROMPTS = [
    ("english", "The capital of France is"),
    ("chinese", "中国的首都是"),
    ("code", 'def fibonacci(n):\n    """Return the n-th Fibonacci number."""\n'),
    ("chat", "<start_of_turn>user\nWhat is the capital of Japan? Answer in one sentence."
             "<end_of_turn>\n<start_of_turn>model\n"),
    ("long", lighthouse_log(15)),
    ("list", "Monday, Tuesday, Wednesday,"),
    ("markdown", "# Shopping list\n\n- apples\n- bread\n  - whole wheat\n-"),
]

TOKENIZER_STRINGS = [
    "The capital of France is",
    "Hello world",
    "Hello, world! How are you today?",
    " leading space",
    "trailing space ",
    "a  b",
    "hello   world",
    "tab\tseparated\tvalues",
    "line one\nline two\n\nline four\n\n\n",
    "x \n y",
    "    indented by four",
    "x" + " " * 40 + "y",
    "中国的首都是北京。",
    "天气很好，我们去公园散步吧。",
    "日本語のテキストと한국어",
    "Emoji: 😀🤖🎉👍🏽 and 🦙",
    "def add(a, b):\n    return a + b\n",
    "for (int i = 0; i < n; ++i) { sum += x[i]; }",
    "<start_of_turn>user\nHi there!<end_of_turn>\n<start_of_turn>model\n",
    "<bos>literal bos text<eos>",
    "<start_of_image> and <end_of_image>",
    "e\u0301 (e + combining acute) vs é",
    "\u00a0non-breaking\u2009thin space",
    "ﬁ ligature, Ⅻ, ½, ①",
    "https://example.com/path?query=1&other=two#frag",
    "1234567890 3.14159 -42 1e-6",
    "I'm sure it's fine—don't worry…",
    "\x00\x01\x7f control bytes",
    "Ω≈ç√∫˜µ≤≥÷ αβγ Привет мир",
    "<table><tr><td>cell</td></tr></table>",
    "",
]


# ---------------------------------------------------------------------------------------------
# Helpers
# ---------------------------------------------------------------------------------------------

def f32(x):
    """A float32 value as the Python float that holds it exactly."""
    return float(np.float32(x))


def sha256_of(path):
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def top_k_entry(logits_row):
    """Top-k, log-softmax values and the top-1/top-2 gap of one float32 logits row."""
    row = logits_row.detach().to(torch.float32)
    values, ids = torch.topk(row, TOP_K)
    row64 = row.to(torch.float64)
    lse = torch.logsumexp(row64, dim=0).item()
    v64 = values.to(torch.float64)
    return {
        "top": [[int(i), f32(v)] for i, v in zip(ids.tolist(), values.tolist())],
        "logsumexp": lse,
        "logprob_top1": v64[0].item() - lse,
        "logprob_top50": v64[TOP_K - 1].item() - lse,
        "gap_top1_top2": v64[0].item() - v64[1].item(),
    }


def gguf_metadata(path):
    import gguf
    reader = gguf.GGUFReader(str(path))
    meta = {}
    for key, field in reader.fields.items():
        if key.startswith("GGUF."):
            continue
        if key in ("tokenizer.ggml.tokens", "tokenizer.ggml.scores", "tokenizer.ggml.token_type",
                   "tokenizer.ggml.merges"):
            meta[key] = f"array of {len(field.data)}"
            continue
        value = field.contents()
        if isinstance(value, float):
            value = f32(value)
        meta[key] = value
    tensors = {}
    for t in reader.tensors:
        if t.name.startswith("blk.0.") or not t.name.startswith("blk."):
            tensors[t.name] = {"type": t.tensor_type.name, "shape_gguf": [int(n) for n in t.shape]}
    return reader, meta, tensors


def gguf_vocab(reader):
    f = reader.fields
    tokens = [bytes(f["tokenizer.ggml.tokens"].parts[i]).decode("utf-8") for i in f["tokenizer.ggml.tokens"].data]
    scores = [float(f["tokenizer.ggml.scores"].parts[i][0]) for i in f["tokenizer.ggml.scores"].data]
    types = [int(f["tokenizer.ggml.token_type"].parts[i][0]) for i in f["tokenizer.ggml.token_type"].data]
    return tokens, scores, types


# ---------------------------------------------------------------------------------------------
# Tokenizer references
# ---------------------------------------------------------------------------------------------

def sentencepiece_from_gguf(tokens, scores, types, workdir):
    """A SentencePiece BPE model rebuilt from tokenizer.ggml.*.

    llama.cpp's converter writes user-defined pieces with their U+2581 replaced by real spaces
    (so that its raw-text partition finds them); SentencePiece matches user-defined pieces in the
    normalized text, where spaces are already U+2581, so they are spelled back here. <unk> is
    marked UNKNOWN (SentencePiece needs one); the GGUF marks it CONTROL.
    """
    import sentencepiece as spm
    from sentencepiece import sentencepiece_model_pb2 as pb

    m = pb.ModelProto()
    m.trainer_spec.model_type = pb.TrainerSpec.BPE
    m.trainer_spec.vocab_size = len(tokens)
    m.trainer_spec.byte_fallback = True
    m.trainer_spec.unk_id, m.trainer_spec.bos_id, m.trainer_spec.eos_id, m.trainer_spec.pad_id = 3, 2, 1, 0
    m.normalizer_spec.name = "identity"
    m.normalizer_spec.add_dummy_prefix = False
    m.normalizer_spec.remove_extra_whitespaces = False
    m.normalizer_spec.escape_whitespaces = True
    for i, (piece, score, ty) in enumerate(zip(tokens, scores, types)):
        p = m.pieces.add()
        p.piece = piece.replace(" ", "\u2581") if ty == 4 else piece
        p.score = score
        p.type = 2 if i == 3 else ty
    path = pathlib.Path(workdir) / "gemma3-from-gguf.model"
    path.write_bytes(m.SerializeToString())
    return spm.SentencePieceProcessor(model_file=str(path))


def llamacpp_style(text, sp, tokens, types, parse_special):
    """llama.cpp's order of work for a SentencePiece ("llama") vocabulary, emulated:
    user-defined tokens (and control tokens when parse_special) are cut out of the raw text
    first, longest token text first, as in llama_vocab::impl::tokenizer_st_partition; every
    remaining fragment is escaped (' ' -> U+2581, no space prefix since add_space_prefix is
    false) and merged by score with byte fallback (done here by SentencePiece)."""
    specials = [i for i, ty in enumerate(types) if ty == 4 or (parse_special and ty == 3)]
    specials.sort(key=lambda i: -len(tokens[i].encode("utf-8")))
    fragments = [text]  # str = raw text, int = token
    for sid in specials:
        needle = tokens[sid]
        if not needle:
            continue
        out = []
        for frag in fragments:
            if isinstance(frag, int) or needle not in frag:
                out.append(frag)
                continue
            parts = frag.split(needle)
            for k, part in enumerate(parts):
                if part:
                    out.append(part)
                if k < len(parts) - 1:
                    out.append(sid)
        fragments = out
    ids = []
    for frag in fragments:
        ids.extend([frag] if isinstance(frag, int) else sp.encode(frag))
    return ids


def tokenizer_reference(tok, tokens, scores, types, workdir):
    sp = sentencepiece_from_gguf(tokens, scores, types, workdir)
    entries = []
    for text in TOKENIZER_STRINGS:
        hf = tok(text, add_special_tokens=False).input_ids
        spm_ids = sp.encode(text)
        ll = llamacpp_style(text, sp, tokens, types, parse_special=False)
        ll_special = llamacpp_style(text, sp, tokens, types, parse_special=True)
        entry = {
            "text": text,
            "hf": hf,
            "hf_pieces": [tokens[i] for i in hf],
            "hf_decoded": tok.decode(hf),
            "sentencepiece": spm_ids,
            "llamacpp_style": ll,
            "llamacpp_style_parse_special": ll_special,
            "hf_equals_llamacpp_style_parse_special": hf == ll_special,
        }
        entries.append(entry)
    with_bos = tok("Hello world").input_ids
    return {
        "what": "Token ids of strings with add_special_tokens=False (no BOS).",
        "hf": "transformers AutoTokenizer.from_pretrained(dir, gguf_file=name): a tokenizers BPE "
              "model built from the GGUF vocabulary. Control tokens (type 3, e.g. <start_of_turn>, "
              "<bos>) are special added tokens and ARE recognised in the text; user-defined tokens "
              "(type 4: newline runs, tab, HTML tags, ...) are plain added tokens, also matched whole. "
              "Space-run tokens (GGUF text of 2..31 real spaces) are renamed to U+2581 runs and reached "
              "through BPE merges, so runs of more than 31 spaces split differently from llama.cpp.",
        "sentencepiece": "Python sentencepiece with a BPE model rebuilt from tokenizer.ggml.tokens/scores/"
                         "token_type (identity normalizer, no dummy prefix, whitespace escaped to U+2581, "
                         "byte fallback, user-defined pieces spelled with U+2581 again). SentencePiece never "
                         "recognises control tokens in text, so '<start_of_turn>' is spelled out.",
        "llamacpp_style": "Emulation of llama.cpp's tokenizer for this vocabulary (not llama.cpp itself): "
                          "user-defined tokens cut out of the raw text longest first, the rest merged by "
                          "SentencePiece; _parse_special also cuts out control tokens (llama_tokenize with "
                          "parse_special=true).",
        "hf_with_bos_example": {"text": "Hello world", "ids": with_bos},
        "strings": entries,
    }


# ---------------------------------------------------------------------------------------------
# Model references
# ---------------------------------------------------------------------------------------------

@torch.no_grad()
def last_logits(model, ids):
    out = model(input_ids=torch.tensor([ids]), use_cache=False, logits_to_keep=1)
    return out.logits[0, -1]


@torch.no_grad()
def greedy(model, ids, n):
    from transformers import GenerationConfig
    cfg = GenerationConfig(do_sample=False, max_new_tokens=n, eos_token_id=None, pad_token_id=0,
                           bos_token_id=BOS, repetition_penalty=1.0, num_beams=1,
                           temperature=None, top_k=None, top_p=None)
    out = model.generate(torch.tensor([ids]), generation_config=cfg)
    new = out[0, len(ids):].tolist()
    assert len(new) == n, f"generate stopped after {len(new)} tokens"
    return new


@torch.no_grad()
def teacher_forced_check(model, ids, continuation):
    """One forward pass over prompt + continuation without a cache: the argmax at every step
    must be the token generate() chose (checks the cached decoding, incl. the sliding window)."""
    full = ids + continuation[:-1]
    logits = model(input_ids=torch.tensor([full]), use_cache=False,
                   logits_to_keep=len(continuation)).logits[0]
    steps = []
    for k, tok_id in enumerate(continuation):
        row = logits[k]
        values, top = torch.topk(row, 2)
        steps.append({
            "argmax": int(top[0]),
            "chosen_logit": f32(row[tok_id]),
            "gap_top1_top2": values[0].item() - values[1].item(),
        })
    return steps


@torch.no_grad()
def hidden_probes(model, ids):
    """First PROBE_DIMS values and the L2 norm of the residual stream at the last position:
    after the scaled embedding, after every decoder layer, after the final norm."""
    records = []

    def hook(name):
        def fn(_module, _inputs, output):
            h = output[0] if isinstance(output, tuple) else output
            v = h[0, -1].to(torch.float32)
            records.append({"after": name, "first": [f32(x) for x in v[:PROBE_DIMS].tolist()],
                            "l2": torch.linalg.vector_norm(v.to(torch.float64)).item()})
        return fn

    handles = [model.model.embed_tokens.register_forward_hook(hook("embedding_scaled"))]
    for i, layer in enumerate(model.model.layers):
        handles.append(layer.register_forward_hook(hook(f"layer_{i}")))
    handles.append(model.model.norm.register_forward_hook(hook("final_norm")))
    try:
        model(input_ids=torch.tensor([ids]), use_cache=False, logits_to_keep=1)
    finally:
        for h in handles:
            h.remove()
    return records


@torch.no_grad()
def window_variants(model, ids):
    """Last-position logits with the sliding window changed, to show what the window does
    for this prompt and that the fixture tells 'distance < 512' from 'distance <= 512'."""
    base = last_logits(model, ids)
    result = {}
    original = model.config.sliding_window
    try:
        for name, window in (("window_513_off_by_one", 513), ("no_window_all_global", 1 << 20)):
            model.config.sliding_window = window
            logits = last_logits(model, ids)
            entry = top_k_entry(logits)
            entry["top"] = entry["top"][:10]
            entry["max_abs_logit_diff_vs_reference"] = (logits - base).abs().max().item()
            result[name] = entry
    finally:
        model.config.sliding_window = original
    check = last_logits(model, ids)
    assert torch.equal(check, base), "restoring the sliding window did not restore the logits"
    return result


# ---------------------------------------------------------------------------------------------
# An independent forward pass, written from Documentation/Gemma3-Notes.md, with an optional
# emulation of llama.cpp's CPU numerics
# ---------------------------------------------------------------------------------------------

Q8_0_TYPES = {"Q4_0", "Q4_1", "Q5_0", "Q5_1", "Q8_0"}  # ggml vec_dot_type Q8_0 (blocks of 32)
Q8_K_TYPES = {"Q2_K", "Q3_K", "Q4_K", "Q5_K", "Q6_K"}  # ggml vec_dot_type Q8_K (blocks of 256)


def quantize_activations(x, weight_type):
    """x as ggml's CPU matmul sees it: rounded to the weight type's vec_dot_type
    (quantize_row_q8_0_ref / quantize_row_q8_K_ref arithmetic), then dequantized."""
    if weight_type in Q8_0_TYPES:
        b = x.reshape(*x.shape[:-1], -1, 32)
        amax = b.abs().amax(dim=-1, keepdim=True)
        d = amax / 127.0
        inv = torch.where(d > 0, 1.0 / d, torch.zeros_like(d))
        v = b * inv
        q = torch.sign(v) * torch.floor(v.abs() + 0.5)  # roundf: half away from zero
        d16 = d.to(torch.float16).to(torch.float32)
        return (q * d16).reshape(x.shape)
    if weight_type in Q8_K_TYPES:
        b = x.reshape(*x.shape[:-1], -1, 256)
        idx = b.abs().argmax(dim=-1, keepdim=True)
        mx = torch.gather(b, -1, idx)
        iscale = torch.where(mx != 0, -127.0 / mx, torch.zeros_like(mx))
        q = torch.clamp(torch.round(iscale * b), max=127)  # nearest_int: half to even
        d = torch.where(mx != 0, 1.0 / iscale, torch.zeros_like(mx))
        return (q * d).reshape(x.shape)
    if weight_type == "F16":
        return x.to(torch.float16).to(torch.float32)
    return x


def gelu_tanh_f32(x):
    c = np.float32(0.79788456080286535587989211986876)
    a = np.float32(0.044715)
    return 0.5 * x * (1.0 + torch.tanh(c * x * (1.0 + a * x * x)))


@torch.no_grad()
def manual_forward(model, ids, weight_types, llamacpp_like=False):
    """Last-position logits, computed step by step as the notes describe (float32).

    llamacpp_like additionally rounds what ggml's CPU backend rounds: matmul inputs to
    Q8_0/Q8_K (per the weight's type), GELU through the f16 lookup table (input and output
    rounded to f16, exact 0 at x <= -10 and identity at x >= 10), K and V to f16 (the default
    f16 KV cache), Q and the softmax probabilities to f16 (the non-flash-attention path
    converts the f32 operand of a matmul with an f16 tensor to f16).
    """
    cfg = model.config
    mm = model.model
    n_head, n_kv, hd = cfg.num_attention_heads, cfg.num_key_value_heads, cfg.head_dim
    eps = cfg.rms_norm_eps
    T = len(ids)
    pos = torch.arange(T, dtype=torch.float32)

    def rms(x, w):  # w: the GGUF value (HF weight + 1)
        x = x.to(torch.float32)
        return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + eps) * w

    def lin(x, weight, wtype):
        if llamacpp_like:
            x = quantize_activations(x, wtype)
        return x @ weight.t()

    def f16(t):
        return t.to(torch.float16).to(torch.float32) if llamacpp_like else t

    def rope(x, base):  # x: (T, heads, hd); NEOX/half-split pairs (i, i + hd/2)
        inv = 1.0 / (base ** (torch.arange(0, hd, 2, dtype=torch.float32) / hd))
        ang = pos[:, None] * inv[None, :]
        cos, sin = torch.cos(ang)[:, None, :], torch.sin(ang)[:, None, :]
        x1, x2 = x[..., : hd // 2], x[..., hd // 2:]
        return torch.cat([x1 * cos - x2 * sin, x2 * cos + x1 * sin], dim=-1)

    embed = mm.embed_tokens.weight
    x = embed[torch.tensor(ids)] * torch.tensor(cfg.hidden_size ** 0.5, dtype=torch.float32)
    i = torch.arange(T)[:, None]
    j = torch.arange(T)[None, :]
    for il, layer in enumerate(mm.layers):
        at, wt = layer.self_attn, weight_types[il]
        local = cfg.layer_types[il] == "sliding_attention"
        base = cfg.rope_parameters["sliding_attention" if local else "full_attention"]["rope_theta"]
        visible = (j <= i) & ((i - j < cfg.sliding_window) if local else True)
        h = rms(x, 1.0 + layer.input_layernorm.weight)
        q = lin(h, at.q_proj.weight, wt["attn_q"]).view(T, n_head, hd)
        k = lin(h, at.k_proj.weight, wt["attn_k"]).view(T, n_kv, hd)
        v = lin(h, at.v_proj.weight, wt["attn_v"]).view(T, n_kv, hd)
        q = rope(rms(q, 1.0 + at.q_norm.weight), base)
        k = rope(rms(k, 1.0 + at.k_norm.weight), base)
        q, k, v = f16(q), f16(k), f16(v)
        out = []
        for hh in range(n_head):
            kv = hh // (n_head // n_kv)
            s = (q[:, hh, :] @ k[:, kv, :].t()) * (cfg.query_pre_attn_scalar ** -0.5)
            s = s.masked_fill(~visible, float("-inf"))
            p = f16(torch.softmax(s, dim=-1))
            out.append(p @ v[:, kv, :])
        o = lin(torch.cat(out, dim=-1), at.o_proj.weight, wt["attn_output"])
        x = x + rms(o, 1.0 + layer.post_attention_layernorm.weight)
        h = rms(x, 1.0 + layer.pre_feedforward_layernorm.weight)
        mlp = layer.mlp
        g = lin(h, mlp.gate_proj.weight, wt["ffn_gate"])
        u = lin(h, mlp.up_proj.weight, wt["ffn_up"])
        if llamacpp_like:
            table = gelu_tanh_f32(g.to(torch.float16).to(torch.float32)).to(torch.float16).to(torch.float32)
            a = torch.where(g <= -10.0, torch.zeros_like(g), torch.where(g >= 10.0, g, table)) * u
        else:
            a = gelu_tanh_f32(g) * u
        d = lin(a, mlp.down_proj.weight, wt["ffn_down"])
        x = x + rms(d, 1.0 + layer.post_feedforward_layernorm.weight)
    x = rms(x[-1:], 1.0 + mm.norm.weight)
    return lin(x, embed, weight_types["token_embd"])[0]


def layer_weight_types(reader):
    types = {}
    for t in reader.tensors:
        parts = t.name.split(".")
        if parts[0] == "blk":
            types.setdefault(int(parts[1]), {})[parts[2]] = t.tensor_type.name
        elif t.name == "token_embd.weight":
            types["token_embd"] = t.tensor_type.name
    return types


@torch.no_grad()
def manual_greedy(model, ids, weight_types, n, llamacpp_like):
    seq = list(ids)
    steps = []
    for _ in range(n):
        logits = manual_forward(model, seq, weight_types, llamacpp_like)
        values, top = torch.topk(logits, 2)
        steps.append(values[0].item() - values[1].item())
        seq.append(int(top[0]))
    return seq[len(ids):], steps


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("model", nargs="?", default=None, help="path of gemma-3-270m-q4_k_m.gguf")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--skip-sha256", action="store_true", help="do not hash the model file")
    args = parser.parse_args()

    path = pathlib.Path(args.model) if args.model else default_model_path()
    if not path.is_file():
        sys.exit(f"model not found: {path} (run Scripts/fetch-default-model.sh, or pass the path)")
    size = path.stat().st_size
    digest = None if args.skip_sha256 else sha256_of(path)
    if size != MODEL_SIZE or (digest is not None and digest != MODEL_SHA256):
        sys.exit(f"{path}: size {size}, sha256 {digest}; expected {MODEL_SIZE}, {MODEL_SHA256}")

    torch.set_num_threads(args.threads)
    torch.manual_seed(0)

    import accelerate
    import gguf  # noqa: F401
    import sentencepiece
    import tokenizers
    import transformers
    from transformers import AutoModelForCausalLM, AutoTokenizer
    from google import protobuf

    versions = {
        "python": sys.version.split()[0], "torch": torch.__version__,
        "transformers": transformers.__version__, "tokenizers": tokenizers.__version__,
        "sentencepiece": sentencepiece.__version__, "protobuf": protobuf.__version__,
        "gguf": _dist_version("gguf"), "numpy": np.__version__, "accelerate": accelerate.__version__,
    }

    t0 = time.time()
    reader, meta, tensor_info = gguf_metadata(path)
    tokens, scores, types = gguf_vocab(reader)

    directory, name = str(path.parent), path.name
    tok = AutoTokenizer.from_pretrained(directory, gguf_file=name)
    print(f"tokenizer loaded ({time.time() - t0:.0f}s)", file=sys.stderr)

    OUT_DIR.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as workdir:
        tok_ref = tokenizer_reference(tok, tokens, scores, types, workdir)
    tok_ref = {"model": {"file": MODEL_NAME, "sha256": MODEL_SHA256}, "versions": versions, **tok_ref}
    (OUT_DIR / "tokenizer-reference.json").write_text(
        json.dumps(tok_ref, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    print("wrote tokenizer-reference.json", file=sys.stderr)

    model = AutoModelForCausalLM.from_pretrained(directory, gguf_file=name, dtype=torch.float32,
                                                 attn_implementation="eager")
    model.eval()
    print(f"model loaded ({time.time() - t0:.0f}s)", file=sys.stderr)
    cfg = model.config
    assert cfg.model_type == "gemma3_text" and cfg._attn_implementation == "eager"
    assert model.lm_head.weight.data_ptr() == model.model.embed_tokens.weight.data_ptr(), "output not tied"
    assert all(type(m) is torch.nn.Linear for m in model.modules() if "Linear" in type(m).__name__), \
        "expected plain (dequantized) nn.Linear layers"

    weight_types = layer_weight_types(reader)
    prompts = []
    for key, text in PROMPTS:
        ids = tok(text).input_ids
        ids_plain = tok(text, add_special_tokens=False).input_ids
        assert ids == [BOS] + ids_plain, (key, ids[:5], ids_plain[:5])
        logits = last_logits(model, ids)
        cont = greedy(model, ids, GREEDY_TOKENS)
        steps = teacher_forced_check(model, ids, cont)
        mismatches = [k for k, s in enumerate(steps) if s["argmax"] != cont[k]]
        entry = {
            "key": key,
            "text": text,
            "n_tokens": len(ids),
            "ids": ids,
            "ids_no_special": ids_plain,
            "last_position": top_k_entry(logits),
            "greedy": {
                "ids": cont,
                "text": tok.decode(cont),
                "eos_positions": [k for k, t in enumerate(cont) if t == EOS],
                "end_of_turn_positions": [k for k, t in enumerate(cont) if t == END_OF_TURN],
                "chosen_logit": [s["chosen_logit"] for s in steps],
                "gap_top1_top2": [s["gap_top1_top2"] for s in steps],
                "near_ties": [k for k, s in enumerate(steps) if s["gap_top1_top2"] < NEAR_TIE],
                "teacher_forced_argmax_mismatches": mismatches,
            },
        }
        if key == "english":
            entry["hidden_probes"] = hidden_probes(model, ids)
            entry["matches_expected_ids"] = ids == EXPECTED_FRANCE_IDS
            entry["matches_expected_continuation"] = entry["greedy"]["text"].startswith(
                EXPECTED_FRANCE_CONTINUATION)
        if len(ids) > cfg.sliding_window:
            entry["sliding_window_variants"] = window_variants(model, ids)
        plain = manual_forward(model, ids, weight_types)
        entry["independent_forward"] = {
            "max_abs_logit_diff_vs_reference": (plain - logits).abs().max().item(),
            "same_argmax": int(plain.argmax()) == int(logits.argmax()),
        }
        emulated = manual_forward(model, ids, weight_types, llamacpp_like=True)
        lc = top_k_entry(emulated)
        lc["max_abs_logit_diff_vs_reference"] = (emulated - logits).abs().max().item()
        lc["same_argmax"] = int(emulated.argmax()) == int(logits.argmax())
        if key == "english":
            cont_lc, gaps_lc = manual_greedy(model, ids, weight_types, GREEDY_TOKENS, llamacpp_like=True)
            lc["greedy"] = {"ids": cont_lc, "text": tok.decode(cont_lc), "gap_top1_top2": gaps_lc,
                            "same_as_reference": cont_lc == cont}
        else:
            lc["top"] = lc["top"][:10]
        entry["llamacpp_like"] = lc
        prompts.append(entry)
        print(f"{key}: {len(ids)} tokens -> {entry['greedy']['text'][:60]!r}"
              f"{' MISMATCH' if mismatches else ''} ({time.time() - t0:.0f}s)", file=sys.stderr)

    reference = {
        "what": "Gemma 3 270M, Q4_K_M GGUF dequantized to float32, run by transformers' "
                "Gemma3ForCausalLM (eager attention, float32, CPU). Logits are float32 values; "
                "logsumexp/logprob/gap values are computed in float64 from them.",
        "model": {"file": MODEL_NAME, "size": MODEL_SIZE, "sha256": MODEL_SHA256},
        "versions": versions,
        "settings": {
            "dtype": "float32", "attn_implementation": "eager", "top_k": TOP_K,
            "greedy_tokens": GREEDY_TOKENS, "greedy": "generate(do_sample=False, num_beams=1, "
            "repetition_penalty=1.0, eos_token_id=None): never stops early; EOS (1) and "
            "<end_of_turn> (106) are recorded where they occur",
            "teacher_forced_check": "argmax of one uncached forward pass over prompt+continuation "
                                    "at every step; mismatches listed (expected: none)",
            "near_tie_threshold": NEAR_TIE,
            "hidden_probes": f"residual stream at the last position: first {PROBE_DIMS} values and "
                             "float64 L2 norm after the scaled embedding, after each decoder layer "
                             "(post-FFN residual add) and after the final RMSNorm",
            "sliding_window_variants": "only for prompts longer than the window: top-10 at the last "
                                       "position with sliding_window=513 (a key at distance exactly 512 "
                                       "visible, wrong) and with no window at all (wrong)",
            "independent_forward": "manual_forward() in the script: the computation written out from "
                                   "Documentation/Gemma3-Notes.md with the same float32 weights, compared "
                                   "with transformers at the last position",
            "llamacpp_like": "NOT llama.cpp output: the same manual forward pass with llama.cpp's CPU "
                             "roundings emulated (matmul inputs quantized to Q8_0 for Q5_0/Q8_0 weights and "
                             "to Q8_K for Q4_K/Q6_K weights, GELU through ggml's f16 table, K/V/Q and the "
                             "softmax probabilities rounded to f16 as with the default f16 KV cache without "
                             "flash attention). Shows how far an implementation with llama.cpp's arithmetic "
                             "lands from the float32 reference; top-50 and a 40-token greedy run for the "
                             "English prompt, top-10 for the others",
        },
        "config": {
            "hidden_size": cfg.hidden_size, "intermediate_size": cfg.intermediate_size,
            "num_hidden_layers": cfg.num_hidden_layers, "num_attention_heads": cfg.num_attention_heads,
            "num_key_value_heads": cfg.num_key_value_heads, "head_dim": cfg.head_dim,
            "vocab_size": cfg.vocab_size, "rms_norm_eps": cfg.rms_norm_eps,
            "query_pre_attn_scalar": cfg.query_pre_attn_scalar, "sliding_window": cfg.sliding_window,
            "layer_types": list(cfg.layer_types), "rope_parameters": cfg.rope_parameters,
            "final_logit_softcapping": cfg.final_logit_softcapping,
            "attn_logit_softcapping": cfg.attn_logit_softcapping,
            "hidden_activation": cfg.hidden_activation, "tie_word_embeddings": cfg.tie_word_embeddings,
            "max_position_embeddings": cfg.max_position_embeddings,
            "embed_scale_float32": f32(model.model.embed_tokens.embed_scale.item()),
        },
        "gguf_metadata": meta,
        "gguf_tensors_layer0_and_global": tensor_info,
        "prompts": prompts,
    }
    (OUT_DIR / "reference.json").write_text(
        json.dumps(reference, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    print(f"wrote reference.json ({time.time() - t0:.0f}s)", file=sys.stderr)

    english = prompts[0]
    if not (english["matches_expected_ids"] and english["matches_expected_continuation"]):
        print("WARNING: 'The capital of France is' does not give the documented ids/continuation",
              file=sys.stderr)
        return 1
    return 0


def _dist_version(name):
    from importlib.metadata import version
    return version(name)


if __name__ == "__main__":
    sys.exit(main())
