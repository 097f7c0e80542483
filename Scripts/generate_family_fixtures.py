#!/usr/bin/env python3
"""Tiny random-weight models of today's Llama-family architectures, with transformers
reference outputs and llama.cpp-converted GGUF files, for the model tests.

Writes Tests/Fixtures/models/<name>/ for three models (random weights, float32):

  llama3-rope/   LlamaConfig, GQA (4 heads, 2 KV heads, head_dim 16), rope_theta
                 500000 with Llama 3.1's `llama3` rope scaling (factor 8, low 1, high 4,
                 original context 8192): with head_dim 16 and this base the 8 rotary
                 frequencies fall in all three bands of the llama3 rule (the script
                 checks it and records the bands), untied lm_head. Tokenizer: the
                 byte-level BPE Tests/Fixtures/byte-level/llama3-like/tokenizer.json,
                 with a Llama-3-base-style tokenizer_config.json (<|begin_of_text|> added).
  qwen2-bias/    Qwen2Config, GQA, q/k/v biases set to random non-zero values, tied
                 embeddings (as Qwen2.5-0.5B), rope_theta 1e6. Tokenizer:
                 Tests/Fixtures/byte-level/qwen2-like/tokenizer.json with a
                 Qwen2.5-style tokenizer_config.json (no BOS, ChatML template).
  qwen3-qknorm/  Qwen3Config, GQA, head_dim 32 (!= hidden/heads = 16, as in real
                 Qwen3), per-head RMSNorm on q and k (q_norm/k_norm) with random
                 weights, no attention bias, untied lm_head. Same qwen2-like tokenizer.

In each folder:
  config.json, generation_config.json, model.safetensors (float32, one file):
      transformers save_pretrained; config.json then gets the top-level `rope_theta`
      and `rope_scaling` keys of published Llama 3 / Qwen files (transformers 5 keeps
      them only in `rope_parameters`); the README lists every such edit.
  tokenizer.json (copied from Tests/Fixtures/byte-level/), tokenizer_config.json.
  reference.json: transformers float32 outputs (eager attention, CPU, one thread):
      prompt ids (AutoTokenizer on the folder, add_special_tokens=True), the last
      position's logits over the whole vocabulary, 32-token greedy continuations
      (eos_token_id=None), top-1/top-2 margins, top-1 probability statistics, and
      `sensitivity`: how far the last logits move when the model's distinctive
      feature is removed (llama3 rope scaling, q/k/v biases, q/k norms).
  model-f32.gguf (and model-f16.gguf for qwen2-bias): written by llama.cpp's own
      convert_hf_to_gguf.py (run as a subprocess, never copied here).
  gguf-tensors.json: tensors and metadata as gguf-py's GGUFReader sees them, plus
      `loader_notes` (architecture, rope keys, rope_freqs values, Q/K row order).
and a section of Tests/Fixtures/models/README.md between the markers
<!-- BEGIN generate_family_fixtures.py --> and <!-- END generate_family_fixtures.py -->
(replaced in place; appended if missing).

The converter's BPE pre-tokenizer detection hashes the tokenizer's output on a
test string, and does not know these small trained tokenizers. The converter is
therefore run through a small wrapper (python -c, in this script) that replaces
`TextModel.get_vocab_base_pre` (conversion/base.py) with one that returns
`llama-bpe` for llama3-rope and `qwen2` for the Qwen models; the tokenizer.json
pre-tokenizer regexes are exactly those families' (checked below against the
regexes llama.cpp's src/llama-vocab.cpp quotes as the original tokenizer.json ones).

Usage (from the repository root):
    python3 -m venv /work/venv-ref && . /work/venv-ref/bin/activate
    pip install torch==2.15.0 transformers==5.25.0 tokenizers==0.23.3 \\
        safetensors==0.8.0 numpy==2.4.6 sentencepiece==0.2.3 protobuf jinja2
    nice python3 Scripts/generate_family_fixtures.py --llama-cpp /path/to/llama.cpp

(the pinned versions are the ones the committed files were made with, see README.md;
the CPU build of torch is enough). --llama-cpp (or LLAMA_CPP_DIR) is a llama.cpp
tree with convert_hf_to_gguf.py, conversion/ and gguf-py/; the committed files were
made with the one vendored in the llama-cpp-python 0.3.36 sdist
(`pip download --no-deps --no-binary llama-cpp-python llama-cpp-python==0.3.36`,
unpack, vendor/llama.cpp; ggml-org/llama.cpp commit 0c1e570), whose commit is given
with --llama-cpp-commit when the tree is not a git checkout. The converter runs with
PYTHONPATH=<tree>/gguf-py and the same Python; the GGUF files are read back with
that gguf-py too. --skip-gguf leaves the GGUF files and gguf-tensors.json alone.

Deterministic: fixed seeds, torch.set_num_threads(1), deterministic algorithms;
running it twice gives identical files (checked when writing the committed files).
"""
import argparse
import hashlib
import importlib.metadata
import json
import math
import os
import pathlib
import platform
import re
import shutil
import subprocess
import sys
import tempfile

import numpy as np
import torch
import transformers
from transformers import (AutoModelForCausalLM, AutoTokenizer, GenerationConfig, LlamaConfig, Qwen2Config,
                          Qwen3Config)

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
# The helpers shared with the Llama fixtures' generator.
from generate_model_fixtures import f32, f32_list, human, llama_cpp_commit, sha256_file, write_json  # noqa: E402

ROOT = pathlib.Path(__file__).resolve().parent.parent
OUT = ROOT / "Tests/Fixtures/models"
BYTE_LEVEL = ROOT / "Tests/Fixtures/byte-level"
GENERATOR = "Scripts/generate_family_fixtures.py"
README_BEGIN = "<!-- BEGIN generate_family_fixtures.py -->"
README_END = "<!-- END generate_family_fixtures.py -->"

GREEDY_TOKENS = 32
NORM_NOISE = 0.1
BIAS_STD = 0.2

# The pre-tokenizer regexes llama.cpp's src/llama-vocab.cpp quotes as the "original regex
# from tokenizer.json" for LLAMA_VOCAB_PRE_TYPE_LLAMA3 (tokenizer.ggml.pre "llama-bpe") and
# LLAMA_VOCAB_PRE_TYPE_QWEN2 ("qwen2"), i.e. Llama 3's and Qwen 2's tokenizer.json patterns.
LLAMA3_PATTERN = r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+"
QWEN2_PATTERN = r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+"

LLAMA3_ROPE = {"rope_type": "llama3", "factor": 8.0, "low_freq_factor": 1.0, "high_freq_factor": 4.0,
               "original_max_position_embeddings": 8192}

# Llama-3-base-style tokenizer_config.json (the keys of meta-llama/Meta-Llama-3-8B's file;
# added_tokens_decoder is filled in from tokenizer.json).
LLAMA3_TOKENIZER_CONFIG = {
    "bos_token": "<|begin_of_text|>",
    # Meta's file has true; transformers 5 ignores it for BPE tokenizers (with a warning), so
    # false here keeps the recorded new_text what any decoder gives.
    "clean_up_tokenization_spaces": False,
    "eos_token": "<|end_of_text|>",
    "model_input_names": ["input_ids", "attention_mask"],
    "model_max_length": 1000000000000000019884624838656,
    "tokenizer_class": "PreTrainedTokenizerFast",
}

# Qwen2.5's ChatML template without its tool-call branches (tools, tool_calls, the
# "tool" role): a default system message, then <|im_start|>role\ncontent<|im_end|>\n.
QWEN_CHAT_TEMPLATE = (
    "{%- if messages[0]['role'] == 'system' %}\n"
    "    {{- '<|im_start|>system\\n' + messages[0]['content'] + '<|im_end|>\\n' }}\n"
    "{%- else %}\n"
    "    {{- '<|im_start|>system\\nYou are Qwen, created by Alibaba Cloud. You are a helpful assistant.<|im_end|>\\n' }}\n"
    "{%- endif %}\n"
    "{%- for message in messages %}\n"
    "    {%- if not (message['role'] == 'system' and loop.first) %}\n"
    "        {{- '<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>' + '\\n' }}\n"
    "    {%- endif %}\n"
    "{%- endfor %}\n"
    "{%- if add_generation_prompt %}\n"
    "    {{- '<|im_start|>assistant\\n' }}\n"
    "{%- endif %}\n"
)

# Qwen2.5-style tokenizer_config.json (the keys of Qwen/Qwen2.5-0.5B-Instruct's file).
QWEN_TOKENIZER_CONFIG = {
    "add_bos_token": False,
    "add_prefix_space": False,
    "additional_special_tokens": ["<|im_start|>", "<|im_end|>"],
    "bos_token": None,
    "chat_template": QWEN_CHAT_TEMPLATE,
    "clean_up_tokenization_spaces": False,
    "eos_token": "<|im_end|>",
    "errors": "replace",
    "model_max_length": 131072,
    "pad_token": "<|endoftext|>",
    "split_special_tokens": False,
    "tokenizer_class": "Qwen2Tokenizer",
    "unk_token": None,
}

PROMPTS = [
    ("english", "The little cat watched the bright moon over the quiet river, and the old teacher began to "
                "tell a story about the mountain village. Everyone listened carefully until the fire was low."),
    ("chinese", "今天天气很好，我们一起去大学看书，老师和学生都很喜欢音乐。"),
    ("code", "def fibonacci(n):\n    if n < 2:\n        return n\n    return fibonacci(n - 1) + fibonacci(n - 2)\n"),
    ("short", "Hi"),
]

MODELS = [
    dict(name="llama3-rope", arch="llama", seed=2001, tokenizer="llama3-like", pre="llama-bpe",
         pattern=LLAMA3_PATTERN, hidden=64, layers=2, heads=4, kv_heads=2, head_dim=16, intermediate=172,
         eps=1e-5, rope_theta=500000.0, rope_scaling=LLAMA3_ROPE, max_pos=4096, tied=False,
         emb_std=1.0, proj_std=0.2, head_std=0.35, outtypes=("f32",)),
    dict(name="qwen2-bias", arch="qwen2", seed=2002, tokenizer="qwen2-like", pre="qwen2",
         pattern=QWEN2_PATTERN, hidden=64, layers=2, heads=4, kv_heads=2, head_dim=16, intermediate=172,
         eps=1e-6, rope_theta=1000000.0, rope_scaling=None, max_pos=4096, tied=True,
         emb_std=0.4, proj_std=0.2, head_std=None, outtypes=("f32", "f16")),
    dict(name="qwen3-qknorm", arch="qwen3", seed=2003, tokenizer="qwen2-like", pre="qwen2",
         pattern=QWEN2_PATTERN, hidden=64, layers=2, heads=4, kv_heads=2, head_dim=32, intermediate=172,
         eps=1e-6, rope_theta=1000000.0, rope_scaling=None, max_pos=4096, tied=False,
         emb_std=1.0, proj_std=0.2, head_std=0.35, outtypes=("f32",)),
]

INIT_DESCRIPTION = (
    "After AutoModelForCausalLM.from_config(config) under torch.manual_seed(seed), every parameter is "
    "overwritten in named_parameters() order from torch.Generator().manual_seed(seed): names with 'norm' "
    "(input/post-attention/final RMSNorm, and q_norm/k_norm) 1 + {noise}*N(0,1); names ending in '.bias' "
    "(q/k/v biases) {bias}*N(0,1); embed_tokens emb_std*N(0,1); lm_head (untied) head_std*N(0,1); every other "
    "matrix (q/k/v/o, gate/up/down) proj_std*N(0,1). With tied embeddings the logits come from embed_tokens."
).format(noise=NORM_NOISE, bias=BIAS_STD)


# --------------------------------------------------------------------------------------
# Tokenizer


def tokenizer_info(spec):
    """Vocabulary size (model vocab + added tokens) and special tokens of the tokenizer.json."""
    path = BYTE_LEVEL / spec["tokenizer"] / "tokenizer.json"
    tj = json.loads(path.read_text(encoding="utf-8"))
    vocab = tj["model"]["vocab"]
    ids = set(vocab.values()) | {t["id"] for t in tj["added_tokens"]}
    assert ids == set(range(len(ids))), "ids are not 0..n-1"
    pretok = tj["pre_tokenizer"]["pretokenizers"]
    assert pretok[0]["type"] == "Split" and pretok[0]["pattern"]["Regex"] == spec["pattern"], spec["name"]
    assert pretok[1]["type"] == "ByteLevel" and pretok[1]["use_regex"] is False
    return {
        "file": "Tests/Fixtures/byte-level/%s/tokenizer.json" % spec["tokenizer"],
        "sha256": sha256_file(path),
        "model_vocab": len(vocab),
        "added_tokens": [{"id": t["id"], "content": t["content"], "special": t["special"],
                          "in_model_vocab": t["content"] in vocab} for t in tj["added_tokens"]],
        "vocab_size": len(ids),
        "ignore_merges": tj["model"].get("ignore_merges"),
        "pre_tokenizer_regex": spec["pattern"],
        "pre_tokenizer_family": ("Llama 3 (llama.cpp tokenizer.ggml.pre llama-bpe)" if spec["pre"] == "llama-bpe"
                                 else "Qwen 2 (llama.cpp tokenizer.ggml.pre qwen2)"),
        "tj": tj,
    }


def tokenizer_config(spec, tj):
    decoder = {str(t["id"]): {"content": t["content"], "lstrip": t["lstrip"], "normalized": t["normalized"],
                              "rstrip": t["rstrip"], "single_word": t["single_word"], "special": t["special"]}
               for t in tj["added_tokens"]}
    base = LLAMA3_TOKENIZER_CONFIG if spec["arch"] == "llama" else QWEN_TOKENIZER_CONFIG
    cfg = dict(base)
    cfg["added_tokens_decoder"] = decoder
    return dict(sorted(cfg.items()))


def special_ids(spec, tj):
    ids = {t["content"]: t["id"] for t in tj["added_tokens"]}
    if spec["arch"] == "llama":
        return {"bos": ids["<|begin_of_text|>"], "eos": ids["<|end_of_text|>"], "pad": None,
                "generation_eos": ids["<|end_of_text|>"]}
    # Qwen2.5: bos_token_id = <|endoftext|> in config.json (never added), eos <|im_end|>;
    # generation stops at <|im_end|> or <|endoftext|>.
    return {"bos": ids["<|endoftext|>"], "eos": ids["<|im_end|>"], "pad": ids["<|endoftext|>"],
            "generation_eos": [ids["<|im_end|>"], ids["<|endoftext|>"]]}


# --------------------------------------------------------------------------------------
# Models


def make_config(spec, vocab_size, sp):
    common = dict(
        vocab_size=vocab_size, hidden_size=spec["hidden"], intermediate_size=spec["intermediate"],
        num_hidden_layers=spec["layers"], num_attention_heads=spec["heads"], num_key_value_heads=spec["kv_heads"],
        hidden_act="silu", max_position_embeddings=spec["max_pos"], rms_norm_eps=spec["eps"],
        tie_word_embeddings=spec["tied"], bos_token_id=sp["bos"], eos_token_id=sp["eos"],
    )
    rope = {"rope_type": "default", "rope_theta": spec["rope_theta"]}
    if spec["rope_scaling"]:
        rope = dict(spec["rope_scaling"], rope_theta=spec["rope_theta"])
    if spec["arch"] == "llama":
        return LlamaConfig(head_dim=spec["head_dim"], attention_bias=False, mlp_bias=False, pad_token_id=None,
                           rope_parameters=rope, **common)
    if spec["arch"] == "qwen2":
        assert spec["head_dim"] == spec["hidden"] // spec["heads"]
        return Qwen2Config(use_sliding_window=False, sliding_window=None, pad_token_id=sp["pad"],
                           rope_parameters=rope, **common)
    return Qwen3Config(head_dim=spec["head_dim"], attention_bias=False, use_sliding_window=False,
                       sliding_window=None, pad_token_id=sp["pad"], rope_parameters=rope, **common)


def init_weights(model, spec):
    g = torch.Generator().manual_seed(spec["seed"])
    with torch.no_grad():
        for name, p in model.named_parameters():
            if "norm" in name:
                p.copy_(1.0 + NORM_NOISE * torch.randn(p.shape, generator=g))
            elif name.endswith(".bias"):
                p.copy_(BIAS_STD * torch.randn(p.shape, generator=g))
            elif "embed_tokens" in name:
                p.copy_(spec["emb_std"] * torch.randn(p.shape, generator=g))
            elif "lm_head" in name:
                p.copy_(spec["head_std"] * torch.randn(p.shape, generator=g))
            else:
                p.copy_(spec["proj_std"] * torch.randn(p.shape, generator=g))


def save_model(spec, tok):
    d = OUT / spec["name"]
    if d.exists():
        shutil.rmtree(d)
    d.mkdir(parents=True)
    sp = special_ids(spec, tok["tj"])
    config = make_config(spec, tok["vocab_size"], sp)
    torch.manual_seed(spec["seed"])
    model = AutoModelForCausalLM.from_config(config)
    init_weights(model, spec)
    model.generation_config = GenerationConfig(bos_token_id=sp["bos"], eos_token_id=sp["generation_eos"],
                                               pad_token_id=sp["pad"], do_sample=False)
    model.save_pretrained(str(d))  # transformers 5 always writes safetensors
    edits = []
    cfg = json.loads((d / "config.json").read_text())
    rp = cfg.get("rope_parameters") or {}
    assert rp.get("rope_theta") == spec["rope_theta"], rp
    if cfg.get("rope_theta") != spec["rope_theta"]:
        cfg["rope_theta"] = spec["rope_theta"]
        edits.append("added top-level \"rope_theta\": %r (the value in rope_parameters)" % spec["rope_theta"])
    want_scaling = dict(spec["rope_scaling"]) if spec["rope_scaling"] else None
    if "rope_scaling" not in cfg or cfg["rope_scaling"] != want_scaling:
        cfg["rope_scaling"] = want_scaling
        edits.append("added top-level \"rope_scaling\": %s (%s)" % (
            json.dumps(want_scaling, sort_keys=True),
            "the llama3 entries of rope_parameters, as in Llama 3.1's config.json" if want_scaling
            else "as in Qwen2.5's / Qwen3's config.json"))
    (d / "config.json").write_text(json.dumps(cfg, indent=2, sort_keys=True) + "\n")
    shutil.copyfile(BYTE_LEVEL / spec["tokenizer"] / "tokenizer.json", d / "tokenizer.json")
    write_json(d / "tokenizer_config.json", tokenizer_config(spec, tok["tj"]))
    return d, edits


def load_f32(d, dtype=torch.float32):
    model = AutoModelForCausalLM.from_pretrained(str(d), dtype=dtype, attn_implementation="eager").eval()
    if dtype != torch.float32:
        return model
    from safetensors.torch import load_file
    stored = load_file(str(d / "model.safetensors"))
    params = dict(model.named_parameters())
    for name, t in stored.items():
        assert t.dtype == torch.float32, name
        assert torch.equal(params[name].detach(), t), name
    if model.config.tie_word_embeddings:
        assert "lm_head.weight" not in stored
        assert model.lm_head.weight.data_ptr() == model.model.embed_tokens.weight.data_ptr()
    assert len(stored) == len(params), (sorted(stored), sorted(params))
    return model


def logits_of(model, ids):
    with torch.no_grad():
        lg = model(torch.tensor([ids], dtype=torch.long)).logits[0]
        return lg.to(torch.float64 if lg.dtype == torch.float64 else torch.float32).numpy()


def greedy(model, ids):
    """generate() with do_sample=False, and a plain loop that recomputes the whole sequence."""
    with torch.no_grad():
        out = model.generate(torch.tensor([ids]), attention_mask=torch.ones(1, len(ids), dtype=torch.long),
                             do_sample=False, max_new_tokens=GREEDY_TOKENS, eos_token_id=None,
                             pad_token_id=0, temperature=None, top_p=None, top_k=None)
    gen = out[0, len(ids):].tolist()
    assert len(gen) == GREEDY_TOKENS, len(gen)
    seq = list(ids)
    for _ in range(GREEDY_TOKENS):
        seq.append(int(np.argmax(logits_of(model, seq)[-1])))
    plain = seq[len(ids):]
    lg = logits_of(model, ids + gen)[len(ids) - 1: len(ids) - 1 + GREEDY_TOKENS]
    srt = np.sort(lg, axis=-1)
    margins = srt[:, -1] - srt[:, -2]
    probs = np.exp(lg - lg.max(-1, keepdims=True))
    probs /= probs.sum(-1, keepdims=True)
    return gen, plain, margins, probs.max(-1)


def llama3_rope_record(spec, model):
    """inv_freq before/after transformers' llama3 rule, the bands, and the factors llama.cpp stores."""
    from transformers.modeling_rope_utils import ROPE_INIT_FUNCTIONS
    cfg = model.config
    dim = spec["head_dim"]
    base = spec["rope_theta"]
    default = 1.0 / (base ** (torch.arange(0, dim, 2, dtype=torch.int64).to(torch.float) / dim))
    scaled, attention_scaling = ROPE_INIT_FUNCTIONS["llama3"](cfg, "cpu")
    used = model.model.rotary_emb.inv_freq.detach().clone()
    assert torch.equal(used.to(torch.float32), scaled.to(torch.float32)), (used, scaled)
    rs = spec["rope_scaling"]
    old = rs["original_max_position_embeddings"]
    low_wavelen = old / rs["low_freq_factor"]
    high_wavelen = old / rs["high_freq_factor"]
    bands = []
    for i, f in enumerate(default.tolist()):
        wavelen = 2 * math.pi / f
        if wavelen < high_wavelen:
            band = "unchanged (wavelength < %g)" % high_wavelen
        elif wavelen > low_wavelen:
            band = "divided by factor (wavelength > %g)" % low_wavelen
        else:
            band = "smoothed (%g <= wavelength <= %g)" % (high_wavelen, low_wavelen)
        bands.append({"i": i, "wavelength": wavelen, "band": band.split(" (")[0]})
    kinds = {b["band"] for b in bands}
    assert kinds == {"unchanged", "smoothed", "divided by factor"}, bands
    ratio = (default / scaled).tolist()
    return {
        "rule": ("transformers modeling_rope_utils._compute_llama3_parameters: inv_freq = 1/base^(2i/d), "
                 "wavelength = 2*pi/inv_freq; wavelength < original/high_freq_factor = %g: unchanged; "
                 "wavelength > original/low_freq_factor = %g: inv_freq/factor; otherwise "
                 "smooth = (original/wavelength - low_freq_factor)/(high_freq_factor - low_freq_factor), "
                 "inv_freq = (1-smooth)*inv_freq/factor + smooth*inv_freq. The rule changes frequencies only; "
                 "it is applied at every position (no dependence on sequence length)." % (high_wavelen, low_wavelen)),
        "head_dim": dim, "rope_theta": base, "rope_scaling": rs,
        "attention_scaling": float(attention_scaling),
        "inv_freq_default": f32_list(default),
        "inv_freq_llama3": f32_list(scaled),
        "inv_freq_model_buffer_equals_llama3": True,
        "default_over_llama3": [float(x) for x in ratio],
        "bands": bands,
        "band_counts": {k: sum(1 for b in bands if b["band"] == k) for k in ("unchanged", "smoothed",
                                                                               "divided by factor")},
    }


def sensitivity(spec, d, prompts_ids):
    """How far the last logits move when the model's distinctive feature is taken away."""
    base = load_f32(d)
    variant = load_f32(d)
    if spec["arch"] == "llama":
        what = ("rope_scaling ignored: the model's inv_freq buffer replaced by the unscaled 1/base^(2i/d) "
                "(what a loader that skips the llama3 rule computes)")
        dim = spec["head_dim"]
        inv = 1.0 / (spec["rope_theta"] ** (torch.arange(0, dim, 2, dtype=torch.int64).to(torch.float) / dim))
        variant.model.rotary_emb.inv_freq.copy_(inv)
        variant.model.rotary_emb.original_inv_freq = inv
    elif spec["arch"] == "qwen2":
        what = "q/k/v biases set to zero (what a loader that drops the biases computes)"
        with torch.no_grad():
            for n, p in variant.named_parameters():
                if n.endswith(".bias"):
                    p.zero_()
    else:
        what = ("q_norm/k_norm weights set to 1 (the per-head RMSNorm still applied): what a loader that "
                "ignores the q/k norm weights computes; without the norm at all the logits differ more")
        with torch.no_grad():
            for n, p in variant.named_parameters():
                if "q_norm" in n or "k_norm" in n:
                    p.fill_(1.0)
    out = {"what": what, "max_abs_diff_last_logits": {}, "argmax_changes": {}}
    for name, ids in prompts_ids:
        a = logits_of(base, ids)[-1]
        b = logits_of(variant, ids)[-1]
        out["max_abs_diff_last_logits"][name] = f32(np.abs(a - b).max())
        out["argmax_changes"][name] = bool(np.argmax(a) != np.argmax(b))
    return out


def reference(spec, d, tok, edits):
    model = load_f32(d)
    model64 = load_f32(d, torch.float64)
    hf = AutoTokenizer.from_pretrained(str(d))
    from tokenizers import Tokenizer
    raw = Tokenizer.from_file(str(d / "tokenizer.json"))
    sp = special_ids(spec, tok["tj"])
    eos_set = set(sp["generation_eos"] if isinstance(sp["generation_eos"], list) else [sp["generation_eos"]])
    out_prompts, all_top1, prompts_ids = [], [], []
    for name, text in PROMPTS:
        ids = hf(text, add_special_tokens=True)["input_ids"]
        assert ids == raw.encode(text, add_special_tokens=True).ids, name
        if spec["arch"] == "llama":
            assert ids[0] == sp["bos"] and ids[1:] == raw.encode(text, add_special_tokens=False).ids, name
        else:
            assert ids == raw.encode(text, add_special_tokens=False).ids, name
        prompts_ids.append((name, ids))
        lg = logits_of(model, ids)
        last = lg[-1]
        p = np.exp(last - last.max())
        p /= p.sum()
        gen, plain, margins, top1 = greedy(model, ids)
        pf = np.exp(lg - lg.max(-1, keepdims=True))
        pf /= pf.sum(-1, keepdims=True)
        all_top1.extend(pf.max(-1).tolist())
        out_prompts.append({
            "name": name,
            "text": text,
            "n_tokens": len(ids),
            "ids": ids,
            "last_logits": f32_list(last),
            "last_argmax": int(np.argmax(last)),
            "last_top1_prob": f32(p.max()),
            "float64_max_abs_diff": f32(np.abs(logits_of(model64, ids)[-1].astype(np.float64) - last).max()),
            "greedy": {
                "new_ids": gen,
                "new_text": hf.decode(gen),
                "plain_loop_agrees": plain == gen,
                "distinct_new_ids": len(set(gen)),
                "eos_among_new_ids": bool(eos_set & set(gen)),
                "top1_top2_logit_margin": f32_list(margins),
                "min_margin": f32(margins.min()),
                "top1_prob": f32_list(top1),
            },
        })
    top = np.array(all_top1)
    vocab = tok["vocab_size"]
    stats = {
        "over": "every position of the %d prompts (teacher-forced), softmax of the float32 logits" % len(PROMPTS),
        "n_positions": int(top.size),
        "uniform": 1.0 / vocab,
        "top1_prob_min": float(top.min()), "top1_prob_p10": float(np.quantile(top, 0.1)),
        "top1_prob_median": float(np.median(top)), "top1_prob_p90": float(np.quantile(top, 0.9)),
        "top1_prob_max": float(top.max()), "top1_prob_mean": float(top.mean()),
    }
    cfg = json.loads((d / "config.json").read_text())
    keys = ["architectures", "model_type", "vocab_size", "hidden_size", "intermediate_size", "num_hidden_layers",
            "num_attention_heads", "num_key_value_heads", "head_dim", "max_position_embeddings", "rms_norm_eps",
            "rope_theta", "rope_scaling", "rope_parameters", "tie_word_embeddings", "attention_bias",
            "use_sliding_window", "bos_token_id", "eos_token_id", "dtype"]
    tok_note = {k: v for k, v in tok.items() if k != "tj"}
    tok_note["hf_tokenizer"] = ("transformers %s %s.%s (AutoTokenizer on this folder), add_special_tokens=True; "
                                "its ids equal the `tokenizers` library's Tokenizer.from_file(tokenizer.json)"
                                ".encode(text, add_special_tokens=True) for every prompt (checked)%s."
                                % (transformers.__version__, type(hf).__module__, type(hf).__name__,
                                   ", i.e. <|begin_of_text|> (id %d) first" % sp["bos"] if spec["arch"] == "llama"
                                   else "; nothing is added (no BOS)"))
    ref = {
        "generator": GENERATOR,
        "model": spec["name"],
        "computed_with": {
            "transformers": transformers.__version__, "torch": torch.__version__,
            "tokenizers": importlib.metadata.version("tokenizers"), "numpy": np.__version__,
            "python": platform.python_version(),
            "dtype": "float32 (the float32 checkpoint loaded with dtype=torch.float32)",
            "attn_implementation": "eager", "mode": "model.eval(), torch.no_grad(), CPU, torch.set_num_threads(1)",
            "model_class": "%s.%s" % (type(model).__module__, type(model).__name__),
        },
        "config": {k: cfg.get(k) for k in keys if k in cfg},
        "config_json_edits": edits,
        "init": {"seed": spec["seed"], "emb_std": spec["emb_std"], "proj_std": spec["proj_std"],
                 "head_std": spec["head_std"], "norm": "1 + %g*N(0,1)" % NORM_NOISE,
                 "bias": "%g*N(0,1)" % BIAS_STD, "description": INIT_DESCRIPTION},
        "tokenizer": tok_note,
        "special_ids": sp,
        "logits_format": ("Each float is the shortest decimal that reads back (round to nearest) as the float32 "
                          "value transformers computed; read it as Double and convert to Float to get the "
                          "exact float32. float64_max_abs_diff: the largest difference between last_logits and "
                          "the same model run in float64 (same weights), a measure of float32 rounding."),
        "greedy_note": ("model.generate(ids, do_sample=False, max_new_tokens=%d, eos_token_id=None): with "
                        "eos_token_id=None passed explicitly transformers does not stop at an end token, so "
                        "there are always %d new ids, and an end token, if chosen, is kept and fed back like any "
                        "token (eos_among_new_ids: one of %s was chosen). plain_loop_agrees: a loop that "
                        "recomputes the whole sequence without a cache and takes argmax chose the same ids. "
                        "top1_top2_logit_margin[k]: the gap between the best and second-best logit when new id k "
                        "was chosen (teacher-forced pass over prompt + continuation); tiny margins mark steps "
                        "where rounding could flip the choice."
                        % (GREEDY_TOKENS, GREEDY_TOKENS, sorted(eos_set))),
        "prompts": out_prompts,
        "top1_probability_stats": stats,
    }
    if spec["arch"] == "llama":
        ref["rope"] = llama3_rope_record(spec, model)
    ref["sensitivity"] = sensitivity(spec, d, prompts_ids)
    write_json(d / "reference.json", ref)
    return ref


# --------------------------------------------------------------------------------------
# GGUF

# Runs llama.cpp's convert_hf_to_gguf.py in this process after replacing
# TextModel.get_vocab_base_pre (conversion/base.py), whose hash table does not know these
# tokenizers. argv: <llama.cpp dir> <tokenizer.ggml.pre> <converter args...>. It first
# calls the original detection and prints what it gave (a name, or the exception).
CONVERTER_WRAPPER = r"""
import runpy, sys
tree, pre = sys.argv[1], sys.argv[2]
sys.path.insert(0, tree)
import conversion.base as base
original = base.TextModel.get_vocab_base_pre
def get_vocab_base_pre(self, tokenizer):
    try:
        got = "returned %r" % (original(self, tokenizer),)
    except BaseException as e:
        got = "raised %s: %s" % (type(e).__name__, str(e).splitlines()[0] if str(e) else "")
    print("FAMILY-FIXTURES original get_vocab_base_pre " + got + "; using %r" % pre, flush=True)
    return pre
base.TextModel.get_vocab_base_pre = get_vocab_base_pre
sys.argv = [tree + "/convert_hf_to_gguf.py"] + sys.argv[3:]
runpy.run_path(sys.argv[0], run_name="__main__")
"""


def convert_gguf(spec, d, llama_cpp, tmp):
    src = tmp / "convert" / spec["name"]  # named like the model: general.name comes from it
    src.mkdir(parents=True)
    for f in ("config.json", "generation_config.json", "model.safetensors", "tokenizer.json",
              "tokenizer_config.json"):
        shutil.copyfile(d / f, src / f)
    env = dict(os.environ)
    env["PYTHONPATH"] = str(llama_cpp / "gguf-py")
    logs = {}
    for outtype in spec["outtypes"]:
        target = d / ("model-%s.gguf" % outtype)
        cmd = [sys.executable, "-c", CONVERTER_WRAPPER, str(llama_cpp), spec["pre"], str(src),
               "--outtype", outtype, "--outfile", str(target)]
        r = subprocess.run(cmd, env=env, capture_output=True, text=True, cwd=str(tmp))
        text = r.stdout + r.stderr
        if r.returncode != 0:
            sys.stderr.write(text)
            raise RuntimeError("convert_hf_to_gguf.py failed for %s %s" % (spec["name"], outtype))
        logs[outtype] = {
            "pre_tokenizer_override": [l.split("FAMILY-FIXTURES ", 1)[1] for l in text.splitlines()
                                       if "FAMILY-FIXTURES" in l],
            "warnings": [l for l in text.splitlines() if "WARNING" in l or "falling back" in l],
        }
    return logs


def gguf_summary(path, tmp):
    import gguf
    reader = gguf.GGUFReader(str(path))
    meta = {}
    for key, field in reader.fields.items():
        vtype = gguf.GGUFValueType(field.types[0])
        entry = {"type": vtype.name}
        if vtype == gguf.GGUFValueType.ARRAY:
            etype = gguf.GGUFValueType(field.types[1]) if len(field.types) > 1 else None
            entry["element_type"] = etype.name if etype else None
            values = field.contents()
            entry["length"] = len(values)
            entry["first"] = [f32(v) if isinstance(v, float) else v for v in values[:5]]
        else:
            v = field.contents()
            if vtype == gguf.GGUFValueType.FLOAT32:
                v = f32(v)
            entry["value"] = v
        meta[key] = entry
    tensors = []
    for t in reader.tensors:
        data = np.asarray(t.data)
        tensors.append({
            "name": t.name,
            "shape": [int(x) for x in t.shape],
            "type": t.tensor_type.name,
            "n_elements": int(t.n_elements),
            "n_bytes": int(t.n_bytes),
            "data_offset": int(t.data_offset),
            "sha256": hashlib.sha256(data.tobytes()).hexdigest(),
        })
    raw = path.read_bytes()
    assert str(tmp).encode() not in raw, "the GGUF file holds the temporary path"
    return {"file": path.name, "size": path.stat().st_size, "sha256": sha256_file(path),
            "n_tensors": len(tensors), "tensors": tensors, "metadata": meta}, reader


def rope_pair_permute(w, n_head):
    """Rows of each head reordered from halves (x0..x_{d/2-1}, y0..) to interleaved pairs (x0, y0, x1, y1, ...).

    This is the order llama.cpp's LLAMA architecture expects (its "normal" rope rotates
    consecutive pairs), obtained from the Hugging Face (NEOX, rotate_half) order."""
    rows = w.shape[0]
    hd = rows // n_head
    return w.reshape(n_head, 2, hd // 2, *w.shape[1:]).swapaxes(1, 2).reshape(w.shape)


def loader_notes(spec, d, reader, ref):
    """What a GGUF loader must read from this file, checked against the safetensors."""
    from safetensors.numpy import load_file
    st = load_file(str(d / "model.safetensors"))
    tensors = {t.name: t for t in reader.tensors}
    arch = reader.fields["general.architecture"].contents()
    keys = sorted(reader.fields)
    notes = {
        "general.architecture": arch,
        "tokenizer.ggml.model": reader.fields["tokenizer.ggml.model"].contents(),
        "tokenizer.ggml.pre": reader.fields["tokenizer.ggml.pre"].contents(),
        "rope_keys": {k: meta_value(reader, k) for k in keys if ".rope." in k},
        "attention_keys": {k: meta_value(reader, k) for k in keys if ".attention." in k},
        "token_ids": {k: meta_value(reader, k) for k in keys if k.startswith("tokenizer.ggml.") and
                      (k.endswith("_id") or k.startswith("tokenizer.ggml.add_"))},
        "output.weight": "output.weight" in tensors,
        "tied": "output.weight" not in tensors,
        "bias_tensors": sorted(n for n in tensors if n.endswith(".bias")),
        "norm_tensors": sorted(n for n in tensors if "norm" in n),
        "rope_freqs.weight": None,
        "head_dim_keys": {k: meta_value(reader, k) for k in keys if k.endswith((".key_length", ".value_length",
                                                                               ".rope.dimension_count"))},
        "rope_scaling_keys": [k for k in keys if ".rope.scaling." in k],
        "added_token_types": {},
    }
    if not notes["head_dim_keys"]:
        notes["head_dim_note"] = ("no key_length/value_length/rope.dimension_count: head_dim = embedding_length / "
                                  "head_count = %d" % (spec["hidden"] // spec["heads"]))
    token_types = reader.fields["tokenizer.ggml.token_type"].contents()
    tokens = reader.fields["tokenizer.ggml.tokens"].contents()
    for t in ref["tokenizer"]["added_tokens"]:
        notes["added_token_types"][t["content"]] = {"id": t["id"], "gguf_token": tokens[t["id"]],
                                                    "token_type": gguf_token_type_name(token_types[t["id"]])}
    if "rope_freqs.weight" in tensors:
        t = tensors["rope_freqs.weight"]
        vals = np.asarray(t.data, dtype=np.float32).ravel()
        notes["rope_freqs.weight"] = {
            "type": t.tensor_type.name, "shape": [int(x) for x in t.shape], "values": f32_list(vals),
            "meaning": ("llama.cpp divides each rotary frequency by these factors (theta_i = pos * base^(-2i/d) "
                        "/ rope_freqs[i]); they equal transformers' inv_freq_default / inv_freq_llama3. The file has no "
                        "rope scaling keys: the llama3 rule is carried by this tensor alone (one copy, shared by "
                        "all layers)"),
        }
        mine = np.array(ref["rope"]["default_over_llama3"], dtype=np.float64)
        notes["rope_freqs.weight"]["max_abs_diff_vs_transformers_ratio"] = float(np.abs(vals - mine).max())
        assert np.abs(vals - mine).max() < 1e-5, (vals, mine)
    # Q/K row order: compare the GGUF tensors with the safetensors ones.
    heads, kv = spec["heads"], spec["kv_heads"]
    order = {}
    for hf_name, gg_name, n in (("q_proj.weight", "attn_q.weight", heads), ("k_proj.weight", "attn_k.weight", kv),
                                ("q_proj.bias", "attn_q.bias", heads), ("k_proj.bias", "attn_k.bias", kv)):
        key = "model.layers.0.self_attn." + hf_name
        gname = "blk.0." + gg_name
        if key not in st:
            continue
        a = st[key]
        g = np.asarray(tensors[gname].data)
        if tensors[gname].tensor_type.name != "F32":
            g = g.astype(np.float32)
            a = a.astype(np.float16).astype(np.float32)
        g = g.reshape(a.shape)
        if np.array_equal(g, a):
            order[gname] = "as in the safetensors (Hugging Face / NEOX half-split order, not permuted)"
        elif np.array_equal(g, rope_pair_permute(a, n)):
            order[gname] = ("permuted: within each head, row 2j = HF row j, row 2j+1 = HF row j + head_dim/2 "
                            "(interleaved pairs for llama.cpp's normal rope)")
        else:
            raise AssertionError("%s is neither the HF rows nor their permutation" % gname)
    notes["q_k_row_order_layer0"] = order
    return notes


def gguf_forward_check(reader, ref):
    """An independent float64 numpy forward pass over the GGUF tensors, read with llama.cpp's
    conventions (metadata keys, tensor names, its rope kind per architecture, rope_freqs
    divisors), compared with transformers' last_logits: shows that the file holds what
    gguf-tensors.json says. Not llama.cpp itself (no ggml here)."""
    fields = reader.fields
    arch = fields["general.architecture"].contents()
    T = {t.name: np.asarray(t.data).astype(np.float64).reshape([int(x) for x in reversed(t.shape)])
         for t in reader.tensors}
    meta = lambda k, d=None: fields[arch + "." + k].contents() if arch + "." + k in fields else d  # noqa: E731
    n_layer, n_embd = meta("block_count"), meta("embedding_length")
    n_head, n_kv = meta("attention.head_count"), meta("attention.head_count_kv")
    hd = meta("attention.key_length", n_embd // n_head)
    n_rot = meta("rope.dimension_count", hd)
    base, eps = meta("rope.freq_base", 10000.0), meta("attention.layer_norm_rms_epsilon")
    neox = arch in ("qwen2", "qwen3")  # llama_model_rope_type: LLAMA is NORM (pairs 2j, 2j+1), QWEN2/QWEN3 NEOX
    ff = T.get("rope_freqs.weight", np.ones(n_rot // 2))
    theta_scale = base ** (-2.0 * np.arange(n_rot // 2) / n_rot) / ff

    def rms(x, w):
        return x / np.sqrt((x * x).mean(-1, keepdims=True) + eps) * w

    def rope(x, pos):  # x: (T, heads, hd)
        ang = pos[:, None, None] * theta_scale[None, None, :]
        c, s = np.cos(ang), np.sin(ang)
        y = x.copy()
        if neox:
            a, b = x[..., :n_rot // 2], x[..., n_rot // 2:n_rot]
            y[..., :n_rot // 2], y[..., n_rot // 2:n_rot] = a * c - b * s, a * s + b * c
        else:
            a, b = x[..., 0:n_rot:2], x[..., 1:n_rot:2]
            y[..., 0:n_rot:2], y[..., 1:n_rot:2] = a * c - b * s, a * s + b * c
        return y

    out_w = T.get("output.weight", T["token_embd.weight"])
    diffs = {}
    for p in ref["prompts"]:
        ids = p["ids"]
        n = len(ids)
        pos = np.arange(n, dtype=np.float64)
        x = T["token_embd.weight"][ids]
        for i in range(n_layer):
            b = "blk.%d." % i
            h = rms(x, T[b + "attn_norm.weight"])
            q = h @ T[b + "attn_q.weight"].T + T.get(b + "attn_q.bias", 0.0)
            k = h @ T[b + "attn_k.weight"].T + T.get(b + "attn_k.bias", 0.0)
            v = h @ T[b + "attn_v.weight"].T + T.get(b + "attn_v.bias", 0.0)
            q, k, v = q.reshape(n, n_head, hd), k.reshape(n, n_kv, hd), v.reshape(n, n_kv, hd)
            if b + "attn_q_norm.weight" in T:
                q, k = rms(q, T[b + "attn_q_norm.weight"]), rms(k, T[b + "attn_k_norm.weight"])
            q, k = rope(q, pos), rope(k, pos)
            att = np.zeros((n, n_head, hd))
            mask = np.triu(np.full((n, n), -np.inf), 1)
            for hh in range(n_head):
                kv = hh // (n_head // n_kv)
                sc = q[:, hh] @ k[:, kv].T / math.sqrt(hd) + mask
                sc = np.exp(sc - sc.max(-1, keepdims=True))
                att[:, hh] = (sc / sc.sum(-1, keepdims=True)) @ v[:, kv]
            x = x + att.reshape(n, n_head * hd) @ T[b + "attn_output.weight"].T
            h = rms(x, T[b + "ffn_norm.weight"])
            g = h @ T[b + "ffn_gate.weight"].T
            x = x + ((g / (1 + np.exp(-g))) * (h @ T[b + "ffn_up.weight"].T)) @ T[b + "ffn_down.weight"].T
        logits = rms(x[-1], T["output_norm.weight"]) @ out_w.T
        diffs[p["name"]] = f32(np.abs(logits - np.array(p["last_logits"], dtype=np.float64)).max())
    return {"what": gguf_forward_check.__doc__.replace("\n    ", " ").replace("  ", " ").strip(),
            "rope": "NEOX (pairs j, j+n_rot/2)" if neox else "normal (pairs 2j, 2j+1)",
            "max_abs_diff_last_logits": diffs}


def gguf_token_type_name(v):
    import gguf
    return "%s (%d)" % (gguf.TokenType(v).name, v)


def meta_value(reader, key):
    v = reader.fields[key].contents()
    return f32(v) if isinstance(v, float) else v


# --------------------------------------------------------------------------------------
# README


def write_readme(results, commit, converter_sha, gguf_py_version, skip_gguf):
    L = [README_BEGIN, ""]
    L.append("# Llama 3, Qwen2 and Qwen3 tiny models — `%s`\n" % GENERATOR)
    L.append("`llama3-rope/`, `qwen2-bias/` and `qwen3-qknorm/` are made by `%s` (see its docstring; the "
             "rest of this file is `generate_model_fixtures.py`'s, which rewrites the file: run this script "
             "after it). Random weights; the references come from transformers, never from this package." % GENERATOR)
    L.append("")
    L.append("## Provenance\n")
    L.append("- transformers %s, torch %s, tokenizers %s, safetensors %s, numpy %s, Python %s; CPU, float32, "
             "eager attention, torch.set_num_threads(1)" % (
                 transformers.__version__, torch.__version__, importlib.metadata.version("tokenizers"),
                 importlib.metadata.version("safetensors"), np.__version__, platform.python_version()))
    if not skip_gguf:
        L.append("- GGUF: llama.cpp `convert_hf_to_gguf.py` (+ its `conversion/` package and `gguf-py` %s, which "
                 "also reads the files back) from the llama.cpp vendored in the llama-cpp-python 0.3.36 sdist, "
                 "ggml-org/llama.cpp commit %s (convert_hf_to_gguf.py sha256 %s), run as a subprocess; nothing "
                 "of llama.cpp is copied here." % (gguf_py_version, commit, converter_sha))
    L.append("- Tokenizers: `Tests/Fixtures/byte-level/{llama3-like,qwen2-like}/tokenizer.json` "
             "(`generate_byte_level_fixtures.py`), copied unchanged.")
    for name, r in results.items():
        spec, tok = r["spec"], r["tok"]
        L.append("- `%s`: %s; seed %d; vocab %d (%d model vocab + %d added tokens not in it); hidden %d, %d layers, "
                 "%d heads, %d KV heads, head_dim %d, intermediate %d, rms_norm_eps %g, rope_theta %g%s, "
                 "max_position_embeddings %d, tied %s; init emb_std %s, proj_std %s, head_std %s, norms 1+0.1·N, "
                 "biases 0.2·N" % (
                     name, r["class"], spec["seed"], tok["vocab_size"], tok["model_vocab"],
                     tok["vocab_size"] - tok["model_vocab"], spec["hidden"], spec["layers"], spec["heads"],
                     spec["kv_heads"], spec["head_dim"], spec["intermediate"], spec["eps"], spec["rope_theta"],
                     (", rope_scaling %s" % json.dumps(spec["rope_scaling"])) if spec["rope_scaling"] else "",
                     spec["max_pos"], spec["tied"], spec["emb_std"], spec["proj_std"], spec["head_std"]))
    L.append("\nWeights: %s\n" % INIT_DESCRIPTION)
    L.append("## Edits to what transformers writes\n")
    for name, r in results.items():
        for e in r["edits"]:
            L.append("- `%s/config.json`: %s." % (name, e))
    L.append("- `tokenizer_config.json` is written by the script (not by transformers): Llama-3-base style "
             "for llama3-rope (PreTrainedTokenizerFast, bos `<|begin_of_text|>`, eos `<|end_of_text|>`, no chat "
             "template), Qwen2.5 style for the Qwen models (Qwen2Tokenizer, no BOS, eos `<|im_end|>`, pad "
             "`<|endoftext|>`, ChatML `chat_template`: Qwen2.5's without its tool-call branches).")
    L.append("- generation_config.json: bos/eos/pad ids only (eos `<|end_of_text|>` for llama3-rope; "
             "[`<|im_end|>`, `<|endoftext|>`] for the Qwen models), do_sample false.")
    if not skip_gguf:
        L.append("- GGUF conversion: llama.cpp's `TextModel.get_vocab_base_pre` (conversion/base.py) identifies "
                 "the BPE pre-tokenizer by hashing the tokenizer's ids for a test string and does not know these "
                 "small trained tokenizers, so the script runs the converter through a wrapper that replaces it "
                 "with one returning `llama-bpe` (llama3-rope) or `qwen2` (the Qwen models). The tokenizer.json "
                 "Split regexes are exactly the Llama 3 and Qwen 2 ones that llama.cpp's src/llama-vocab.cpp "
                 "quotes for those pre-types (checked by the script). What the original detection did is in "
                 "gguf-tensors.json `converter_log`.")
    L.append("- transformers warns that rope_parameters' original_max_position_embeddings (8192) should be less "
             "than max_position_embeddings (4096) for llama3-rope; it is only a warning (the brief asked for 4096; "
             "real Llama 3.1 has 131072), and the llama3 frequencies do not depend on max_position_embeddings.")
    L.append("- The converter logs `Unknown RoPE type: default` for the Qwen models (transformers 5 writes "
             "rope_type \"default\" in rope_parameters): it then writes no rope scaling keys, which is right.")
    L.append("")
    L.append("## What a loader must read (from gguf-tensors.json `loader_notes`)\n")
    for name, r in results.items():
        if "notes" not in r:
            continue
        n = r["notes"]
        L.append("- `%s`: general.architecture `%s`, tokenizer.ggml.pre `%s`; rope keys %s (no rope scaling "
                 "keys: %s); head_dim: %s; %s; biases: %s; norms: %s; Q/K rows: %s%s." % (
                     name, n["general.architecture"], n["tokenizer.ggml.pre"],
                     ", ".join("`%s` = %s" % (k, v) for k, v in n["rope_keys"].items()),
                     "true" if not n["rope_scaling_keys"] else "false, %s" % n["rope_scaling_keys"],
                     ", ".join("`%s` = %s" % (k, v) for k, v in n["head_dim_keys"].items())
                     if n["head_dim_keys"] else n["head_dim_note"],
                     "no output.weight (tied: use token_embd.weight)" if n["tied"] else "output.weight present",
                     ", ".join("`%s`" % b for b in n["bias_tensors"] if b.startswith("blk.0.")) + " (and blk.1)"
                     if n["bias_tensors"] else "none",
                     ", ".join("`%s`" % b for b in n["norm_tensors"] if b.startswith("blk.0.") or "blk" not in b),
                     "; ".join("%s %s" % (k, v.split(":")[0].split(" (")[0]) for k, v in
                               n["q_k_row_order_layer0"].items()),
                     ("; `rope_freqs.weight` (%s, %s) = %s" % (
                         n["rope_freqs.weight"]["type"], n["rope_freqs.weight"]["shape"],
                         n["rope_freqs.weight"]["values"])) if n["rope_freqs.weight"] else "; no rope_freqs.weight"))
    L.append("\nCheck: `loader_notes.<file>.numpy_forward_check` is an independent float64 numpy forward pass over "
             "each GGUF file read with llama.cpp's conventions (the keys and tensor names above, normal rope on the "
             "permuted Q/K rows with rope_freqs divisors for `llama`, NEOX rope on unpermuted rows for "
             "`qwen2`/`qwen3`); its last logits agree with transformers' to within %s for the f32 files "
             "(%s for qwen2-bias f16). It is not llama.cpp itself." % (
                 max(max(r["checks"]["model-f32.gguf"].values()) for r in results.values() if "checks" in r),
                 max(results["qwen2-bias"]["checks"]["model-f16.gguf"].values())
                 if "checks" in results.get("qwen2-bias", {}) else "n/a"))
    L.append("")
    rows, total = [], 0
    for name in results:
        for p in sorted((OUT / name).iterdir()):
            rows.append("| `%s/%s` | %d |" % (name, p.name, p.stat().st_size))
            total += p.stat().st_size
    L.append("## Sizes (bytes)\n")
    L.append("| file | bytes |")
    L.append("| --- | --- |")
    L.extend(rows)
    L.append("| total | %d (%s) |\n" % (total, human(total)))
    L.append("## Regenerate\n")
    L.append("```")
    L.append("pip install torch==%s transformers==%s tokenizers==%s safetensors==%s numpy==%s sentencepiece "
             "protobuf jinja2" % (torch.__version__.split("+")[0], transformers.__version__,
                                  importlib.metadata.version("tokenizers"), importlib.metadata.version("safetensors"),
                                  np.__version__))
    L.append("pip download --no-deps --no-binary llama-cpp-python llama-cpp-python==0.3.36  # then unpack it")
    L.append("nice python3 %s --llama-cpp llama_cpp_python-0.3.36/vendor/llama.cpp --llama-cpp-commit %s"
             % (GENERATOR, commit or "<commit>"))
    L.append("```")
    L.append("")
    L.append(README_END)
    section = "\n".join(L) + "\n"
    path = OUT / "README.md"
    text = path.read_text(encoding="utf-8") if path.exists() else ""
    if README_BEGIN in text and README_END in text:
        head = text[:text.index(README_BEGIN)]
        tail = text[text.index(README_END) + len(README_END):].lstrip("\n")
        text = head + section + tail
    else:
        text = text.rstrip("\n") + "\n\n" + section
    path.write_text(text, encoding="utf-8")


# --------------------------------------------------------------------------------------


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--llama-cpp", default=os.environ.get("LLAMA_CPP_DIR"),
                    help="llama.cpp tree with convert_hf_to_gguf.py, conversion/ and gguf-py/ (or LLAMA_CPP_DIR)")
    ap.add_argument("--llama-cpp-commit", default=None, help="its commit, if it is not a git checkout")
    ap.add_argument("--skip-gguf", action="store_true", help="leave the GGUF files alone")
    ap.add_argument("--only", default=None, help="comma-separated model names (default: all)")
    args = ap.parse_args()
    llama_cpp = commit = converter_sha = gguf_py_version = None
    if not args.skip_gguf:
        if not args.llama_cpp:
            ap.error("give --llama-cpp /path/to/llama.cpp (or LLAMA_CPP_DIR), or --skip-gguf")
        llama_cpp = pathlib.Path(args.llama_cpp).resolve()
        for need in ("convert_hf_to_gguf.py", "conversion/base.py", "gguf-py/gguf"):
            if not (llama_cpp / need).exists():
                ap.error("%s has no %s" % (llama_cpp, need))
        commit = llama_cpp_commit(llama_cpp, args.llama_cpp_commit)
        converter_sha = sha256_file(llama_cpp / "convert_hf_to_gguf.py")
        sys.path.insert(0, str(llama_cpp / "gguf-py"))
        import gguf  # noqa: F401  (the tree's gguf-py, to read the files back)
        m = re.search(r'^version\s*=\s*"([^"]+)"', (llama_cpp / "gguf-py/pyproject.toml").read_text(), re.M)
        gguf_py_version = m.group(1) if m else "unknown"

    torch.set_num_threads(1)
    torch.use_deterministic_algorithms(True)
    models = [m for m in MODELS if not args.only or m["name"] in args.only.split(",")]
    results = {}
    with tempfile.TemporaryDirectory() as tmpname:
        tmp = pathlib.Path(tmpname)
        for spec in models:
            tok = tokenizer_info(spec)
            d, edits = save_model(spec, tok)
            ref = reference(spec, d, tok, edits)
            st = ref["top1_probability_stats"]
            print("%s: vocab %d; top-1 prob median %.3f (p10 %.3f, p90 %.3f, max %.3f); greedy distinct %s, "
                  "min margins %s; sensitivity %s" % (
                      spec["name"], tok["vocab_size"], st["top1_prob_median"], st["top1_prob_p10"],
                      st["top1_prob_p90"], st["top1_prob_max"],
                      [p["greedy"]["distinct_new_ids"] for p in ref["prompts"]],
                      [p["greedy"]["min_margin"] for p in ref["prompts"]],
                      ref["sensitivity"]["max_abs_diff_last_logits"]), flush=True)
            results[spec["name"]] = {"spec": spec, "tok": tok, "edits": edits,
                                     "class": ref["computed_with"]["model_class"].rsplit(".", 1)[1]}
            if not args.skip_gguf:
                for stale in d.glob("model-*.gguf"):
                    stale.unlink()
                logs = convert_gguf(spec, d, llama_cpp, tmp)
                files, notes = [], {}
                for t in spec["outtypes"]:
                    summary, reader = gguf_summary(d / ("model-%s.gguf" % t), tmp)
                    files.append(summary)
                    notes[summary["file"]] = loader_notes(spec, d, reader, ref)
                    notes[summary["file"]]["numpy_forward_check"] = fc = gguf_forward_check(reader, ref)
                    print("  %s: numpy forward over the GGUF vs transformers: %s" % (
                        summary["file"], fc["max_abs_diff_last_logits"]), flush=True)
                    if t == "f32":
                        assert max(fc["max_abs_diff_last_logits"].values()) < 1e-4, fc
                results[spec["name"]]["notes"] = notes["model-f32.gguf"]
                results[spec["name"]]["checks"] = {f: n["numpy_forward_check"]["max_abs_diff_last_logits"]
                                                   for f, n in notes.items()}
                write_json(d / "gguf-tensors.json", {
                    "generator": GENERATOR,
                    "converter": ("llama.cpp convert_hf_to_gguf.py --outtype %s, through the script's wrapper "
                                  "that makes TextModel.get_vocab_base_pre return %r" % (
                                      "/".join(spec["outtypes"]), spec["pre"])),
                    "llama_cpp": "vendored in llama-cpp-python 0.3.36 (sdist), ggml-org/llama.cpp commit %s" % commit,
                    "convert_hf_to_gguf_sha256": converter_sha,
                    "reader": "gguf-py %s GGUFReader from the same llama.cpp tree" % gguf_py_version,
                    "converter_log": logs,
                    "notes": ("shape is GGUF's ne order (fastest-varying dimension first). Arrays in metadata: "
                              "length and the first 5 elements. sha256 is of the tensor's stored bytes. "
                              "data_offset is from the start of the file. loader_notes: per file, what a "
                              "loader must read; q_k_row_order compares layer 0's GGUF Q/K tensors with the "
                              "safetensors ones (f16 compared after rounding the safetensors to f16)."),
                    "loader_notes": notes,
                    "files": files,
                })
    if not args.only:
        write_readme(results, commit, converter_sha, gguf_py_version, args.skip_gguf)


if __name__ == "__main__":
    main()
