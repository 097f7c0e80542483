#!/usr/bin/env python3
"""Tiny Llama-family models with reference outputs, for the model tests.

Writes Tests/Fixtures/models/:

* tokenizer/tokenizer.model: a SentencePiece BPE model (512 pieces, byte fallback,
  Llama 2 settings) trained by `sentencepiece.SentencePieceTrainer` on a mixed
  English + Chinese text that this script composes from its own word lists (seeded,
  no download). tokenizer/reference.json: the text's checksum, the training options,
  and SentencePiece encodings of test strings, with what the Hugging Face tokenizer
  gives for them.
* three random-initialised models made with `transformers.LlamaConfig` and
  `LlamaForCausalLM`, each saved with `save_pretrained` (safetensors), with the
  tokenizer files and generation_config.json:
    llama-mha/            multi-head attention, float32, one safetensors file
    yi-gqa-bf16-sharded/  grouped-query attention, rope_theta 5e6, bfloat16,
                          split into shards with model.safetensors.index.json
    llama-tied/           tie_word_embeddings=True, float32
  <model>/reference.json: transformers float32 outputs (eager attention): prompt ids,
  the last position's logits, 32-token greedy continuations, and perplexities (the
  whole sequence in one window, 128-token windows, and llama.cpp's `perplexity`
  definition). For the bfloat16 model everything is computed from the saved bfloat16
  weights converted to float32.
* <model>/model-f32.gguf, model-f16.gguf, model-q8_0.gguf: written by llama.cpp's own
  convert_hf_to_gguf.py (run from a llama.cpp checkout, never copied here), and
  <model>/gguf-tensors.json: what the `gguf` package's GGUFReader sees in each.
* README.md: provenance, sizes and the command below.

Usage (from the repository root):
    pip install torch==2.15.0 transformers==5.23.0 tokenizers==0.23.3 \\
        sentencepiece==0.2.3 safetensors==0.8.0 gguf==0.19.0 numpy==2.4.6 \\
        accelerate==1.15.0 protobuf
    nice python3 Scripts/generate_model_fixtures.py --llama-cpp /path/to/llama.cpp \\
        [--llama-cpp-commit SHA]
(the versions are the ones the committed files were made with; the CPU build of torch
is enough). The llama.cpp path can also be given as LLAMA_CPP_DIR. The checkout must
hold convert_hf_to_gguf.py and gguf-py/; the converter runs as a subprocess with
PYTHONPATH=<checkout>/gguf-py. Its commit is read with `git rev-parse HEAD` when the
checkout is a git work tree, otherwise pass --llama-cpp-commit. The committed files
were made with ggerganov/llama.cpp c392e5094deaf2d1a7c18683214f007fad3fe42b.
--skip-gguf leaves the GGUF files and gguf-tensors.json alone. --lean writes
model-f32.gguf for llama-mha only (the folder is then about 3.9 MiB instead of 5.0 MiB).

Optional: --llama-perplexity /path/to/llama-perplexity (a binary built from the same
llama.cpp commit; it is only run) records what llama.cpp's own `llama-perplexity
-c 128 -b 128 -t 1` prints for the perplexity text on each GGUF file, in
reference.json ("perplexity" -> "llama_cpp_runs"), as a check of the Python
re-implementation of its definition and as a reference for the GGUF path.

Everything is deterministic: fixed seeds, single-threaded SentencePiece training and
torch (torch.set_num_threads(1)). Running it twice gives identical files.
"""
import argparse
import collections
import hashlib
import importlib.metadata
import json
import math
import os
import pathlib
import platform
import random
import shutil
import subprocess
import sys
import tempfile

import numpy as np
import sentencepiece as spm
import torch
import transformers
from transformers import AutoTokenizer, LlamaConfig, LlamaForCausalLM, LlamaTokenizer

ROOT = pathlib.Path(__file__).resolve().parent.parent
OUT = ROOT / "Tests/Fixtures/models"
GENERATOR = "Scripts/generate_model_fixtures.py"

CORPUS_SEED = 20240601
CORPUS_LINES = 20000
VOCAB_SIZE = 512

# --------------------------------------------------------------------------------------
# Training text: English and Chinese sentences composed from the lists below.

ENGLISH_NOUNS = """time year people way day man woman child world life hand part place case week
company system program question work government number night point home water room mother area
money story fact month lot right study book eye job word business issue side kind head house
service friend father power hour game line end member law car city community name president team
minute idea kid body information back parent face others level office door health person art war
history party result change morning reason research girl guy moment air teacher force education
river mountain garden music language model computer machine tea cat dog train plane apple bread
window street market school letter paper flower tree bird sun moon star sea forest village bridge""".split()
ENGLISH_VERBS = """is was has have do say get make go know take see come think look want give use find
tell ask work seem feel try leave call keep let begin help talk turn start show hear play run move
like live believe hold bring happen write provide sit stand lose pay meet include continue set learn
change lead understand watch follow stop create speak read allow add spend grow open walk win offer
remember love consider appear buy wait serve die send expect build stay fall cut reach kill remain""".split()
ENGLISH_ADJS = """good new first last long great little own other old right big high different small
large next early young important few public bad same able quiet bright green blue red warm cold
happy simple strange careful gentle tiny ancient modern clever slow quick brown lazy""".split()
ENGLISH_FUNC = """the the the a a an of of to to in in and and for on with at by from about as
into over after before under between through during without""".split()
ENGLISH_ADVS = """very really always never often sometimes slowly quickly together again almost
already still soon today tomorrow yesterday here there""".split()
# Two-character Chinese words and single characters. The training text has only the
# hanzi of these lists; list order gives a Zipf-like frequency (first is most common).
CHINESE_WORDS = """我们 今天 天气 学习 中国 时间 问题 朋友 工作 生活 世界 音乐 语言 模型 数据
老师 学生 喜欢 知道 可以 因为 所以 一起 没有 大家 家里 看书 明天 天上 中文 生日 大学""".split()
CHINESE_SINGLES = "的 了 是 在 很 和 也 都 不 有 我 你 他 好 大 小 上".split()


def english_sentence(rng):
    words = []
    for _ in range(rng.randint(5, 14)):
        r = rng.random()
        if r < 0.30:
            words.append(rng.choice(ENGLISH_FUNC))
        elif r < 0.60:
            words.append(rng.choice(ENGLISH_NOUNS))
        elif r < 0.80:
            words.append(rng.choice(ENGLISH_VERBS))
        elif r < 0.93:
            words.append(rng.choice(ENGLISH_ADJS))
        else:
            words.append(rng.choice(ENGLISH_ADVS))
        if rng.random() < 0.04:
            words.append(str(rng.randint(0, 2030)))
    words[0] = words[0].capitalize()
    text = " ".join(words)
    if rng.random() < 0.15:
        k = rng.randint(1, len(words) - 1)
        text = " ".join(words[:k]) + ", " + " ".join(words[k:])
    return text + rng.choice([".", ".", ".", "!", "?"])


def zipf_choice(rng, items):
    return rng.choices(items, weights=[1.0 / (i + 2) for i in range(len(items))], k=1)[0]


def chinese_sentence(rng):
    n = rng.randint(4, 12)
    parts = []
    for i in range(n):
        parts.append(zipf_choice(rng, CHINESE_WORDS) if rng.random() < 0.65 else zipf_choice(rng, CHINESE_SINGLES))
        if i < n - 1 and rng.random() < 0.12:
            parts.append("，")
    if rng.random() < 0.05:
        parts.append(str(rng.randint(1, 2030)) + "年")
    return "".join(parts) + rng.choice(["。", "。", "！", "？"])


def mixed_sentence(rng):
    out = []
    for _ in range(rng.randint(2, 4)):
        if rng.random() < 0.5:
            out.append(chinese_sentence(rng)[:-1])
        else:
            out.append(" ".join(rng.choice(ENGLISH_NOUNS + ENGLISH_VERBS) for _ in range(rng.randint(1, 3))))
    return " ".join(out) + rng.choice(["。", ".", "！"])


def corpus_lines(seed, n_lines):
    rng = random.Random(seed)
    lines = []
    for _ in range(n_lines):
        r = rng.random()
        k = rng.randint(1, 3)
        if r < 0.45:
            lines.append(" ".join(english_sentence(rng) for _ in range(k)))
        elif r < 0.85:
            lines.append("".join(chinese_sentence(rng) for _ in range(k)))
        else:
            lines.append(mixed_sentence(rng))
    return lines


# Llama 2's tokenizer.model settings, with a small vocabulary.
SPM_OPTIONS = dict(
    model_type="bpe", vocab_size=VOCAB_SIZE, byte_fallback=True, add_dummy_prefix=True,
    remove_extra_whitespaces=False, normalization_rule_name="identity", split_digits=True,
    allow_whitespace_only_pieces=True, character_coverage=0.9995, max_sentencepiece_length=16,
    split_by_unicode_script=True, split_by_number=True, split_by_whitespace=True,
    unk_id=0, bos_id=1, eos_id=2, pad_id=-1, unk_piece="<unk>", bos_piece="<s>", eos_piece="</s>",
    num_threads=1, shuffle_input_sentence=False, input_sentence_size=0, minloglevel=2,
)

# Llama-2-style tokenizer_config.json (the keys of meta-llama/Llama-2-7b-hf's file).
TOKENIZER_CONFIG = {
    "add_bos_token": True,
    "add_eos_token": False,
    "bos_token": "<s>",
    "clean_up_tokenization_spaces": False,
    "eos_token": "</s>",
    "legacy": False,
    "model_max_length": 1000000000000000019884624838656,
    "pad_token": None,
    "padding_side": "right",
    "sp_model_kwargs": {},
    "tokenizer_class": "LlamaTokenizer",
    "unk_token": "<unk>",
}

# --------------------------------------------------------------------------------------
# Prompts and the perplexity text.

PROMPT_ENGLISH = "The little cat watched the bright moon over the quiet river, and the old teacher began to tell a story."
PROMPT_CHINESE = "今天天气很好，我们一起去大学看书，老师和学生都很喜欢音乐。"
# "特别" and "龍" are not in the training text: they become byte-fallback pieces.
PROMPT_MIXED = "我们喜欢 machine learning 和 music, 特别是 2024 年的新模型！龍 is a dragon."


def long_text(seed, n_sentences):
    rng = random.Random(seed)
    parts = []
    for i in range(n_sentences):
        r = i % 5
        if r in (0, 2):
            parts.append(english_sentence(rng))
        elif r in (1, 3):
            parts.append(chinese_sentence(rng))
        else:
            parts.append(mixed_sentence(rng))
    # Sentences joined by spaces, with a newline after every fourth one.
    out = ""
    for i, p in enumerate(parts):
        out += p + ("\n" if i % 4 == 3 else " ")
    return out.rstrip()


def text_with_tokens(sp, seed, target):
    """The shortest long_text(seed, n) that has at least `target` tokens (with BOS)."""
    for n in range(1, 1000):
        t = long_text(seed, n)
        if 1 + len(sp.encode(t)) >= target:
            return t
    raise RuntimeError("text too short")


# Strings for the tokenizer reference (SentencePiece and Hugging Face ids).
TOKENIZER_TESTS = [
    "Hello world", "The quick brown fox jumps over the lazy dog.", "今天天气很好。",
    "我们喜欢 machine learning 和 music, 特别是 2024 年的新模型！龍 is a dragon.",
    "  two  spaces\nnew line\n\n end ", " Hello", "Hello ", " ", "", "\n", "x\ty", "a  b",
    "🙂 emoji", "ÀÉ café naïve", "1234567890", "3.14159", "<s> literal", "a</s>b", "<unk>",
    "▁ already a meta symbol", "Zebra QUIZ", "上海", "中国人民", "数据模型 data model",
]

# --------------------------------------------------------------------------------------
# Models.

MODELS = [
    dict(name="llama-mha", seed=1001, hidden=64, layers=2, heads=4, kv_heads=4, intermediate=172,
         rope_theta=10000.0, max_pos=512, eps=1e-5, tied=False, dtype="float32", max_shard_size=None,
         emb_std=1.0, proj_std=0.2, head_std=0.3),
    dict(name="yi-gqa-bf16-sharded", seed=1002, hidden=64, layers=2, heads=4, kv_heads=2, intermediate=172,
         rope_theta=5000000.0, max_pos=1024, eps=1e-5, tied=False, dtype="bfloat16", max_shard_size="100KB",
         emb_std=1.0, proj_std=0.2, head_std=0.3),
    dict(name="llama-tied", seed=1003, hidden=64, layers=2, heads=4, kv_heads=4, intermediate=172,
         rope_theta=10000.0, max_pos=512, eps=1e-6, tied=True, dtype="float32", max_shard_size=None,
         emb_std=0.35, proj_std=0.2, head_std=None),
]
NORM_NOISE = 0.1
INIT_DESCRIPTION = (
    "After LlamaForCausalLM(config) (under torch.manual_seed(seed)), every parameter is "
    "overwritten in named_parameters() order from torch.Generator().manual_seed(seed): "
    "RMSNorm weights 1 + {noise}*N(0,1); embed_tokens emb_std*N(0,1); lm_head (untied) "
    "head_std*N(0,1); every other matrix (q/k/v/o, gate/up/down) proj_std*N(0,1). "
    "With tied embeddings the logits come from embed_tokens, so emb_std is smaller."
).format(noise=NORM_NOISE)

GREEDY_TOKENS = 32
PPL_WINDOW = 128


def f32(x):
    """A float32 as the shortest decimal that reads back as the same float32."""
    return float(str(np.float32(x)))


def f32_list(a):
    return [f32(v) for v in np.asarray(a, dtype=np.float32).ravel()]


def sha256_file(path):
    return hashlib.sha256(pathlib.Path(path).read_bytes()).hexdigest()


def write_json(path, obj):
    path.write_text(json.dumps(obj, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")


# --------------------------------------------------------------------------------------


def train_tokenizer(tmp):
    lines = corpus_lines(CORPUS_SEED, CORPUS_LINES)
    text = "\n".join(lines) + "\n"
    (tmp / "corpus.txt").write_text(text, encoding="utf-8")
    # Relative paths: the trainer stores `input` and `model_prefix` in the model file.
    cwd = os.getcwd()
    os.chdir(tmp)
    try:
        spm.SentencePieceTrainer.train(input="corpus.txt", model_prefix="tokenizer", **SPM_OPTIONS)
    finally:
        os.chdir(cwd)
    out = OUT / "tokenizer"
    out.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(tmp / "tokenizer.model", out / "tokenizer.model")
    chars = collections.Counter(text.replace("\n", ""))
    info = {
        "corpus_lines": CORPUS_LINES,
        "corpus_seed": CORPUS_SEED,
        "corpus_sha256": hashlib.sha256(text.encode("utf-8")).hexdigest(),
        "corpus_characters": sum(chars.values()),
        "corpus_distinct_characters": len(chars),
        "corpus_first_lines": lines[:5],
    }
    return out / "tokenizer.model", info


def hf_tokenizer_files(tmp, model_file):
    """tokenizer.json as transformers' LlamaTokenizer writes it for tokenizer.model."""
    src = tmp / "hf-tokenizer-src"
    src.mkdir()
    shutil.copyfile(model_file, src / "tokenizer.model")
    write_json(src / "tokenizer_config.json", TOKENIZER_CONFIG)
    tok = LlamaTokenizer.from_pretrained(str(src))
    saved = tmp / "hf-tokenizer-saved"
    tok.save_pretrained(str(saved))
    return {
        "tokenizer.json": (saved / "tokenizer.json").read_bytes(),
        "transformers_tokenizer_config": json.loads((saved / "tokenizer_config.json").read_text()),
    }


def tokenizer_reference(sp, model_dir, info):
    hf = AutoTokenizer.from_pretrained(str(model_dir))
    pieces = [sp.id_to_piece(i) for i in range(sp.get_piece_size())]
    kinds = collections.Counter()
    for i in range(sp.get_piece_size()):
        if sp.is_unknown(i):
            kinds["unknown"] += 1
        elif sp.is_control(i):
            kinds["control"] += 1
        elif sp.is_byte(i):
            kinds["byte"] += 1
        elif len(pieces[i]) == 1:
            kinds["single_character"] += 1
        else:
            kinds["merged"] += 1
    tests = []
    for s in TOKENIZER_TESTS:
        ids = sp.encode(s)
        hf_ids = hf(s)["input_ids"]
        entry = {"text": s, "sentencepiece_ids": ids, "sentencepiece_pieces": [sp.id_to_piece(i) for i in ids],
                 "hf_ids": hf_ids, "hf_equals_bos_plus_sentencepiece": hf_ids == [1] + ids,
                 "sentencepiece_decode": sp.decode(ids)}
        tests.append(entry)
    return {
        "generator": GENERATOR,
        "file": "tokenizer.model",
        "sha256": sha256_file(OUT / "tokenizer/tokenizer.model"),
        "sentencepiece_version": spm.__version__,
        "trainer_options": SPM_OPTIONS,
        "training_text": info,
        "vocab_size": sp.get_piece_size(),
        "special_ids": {"unk": sp.unk_id(), "bos": sp.bos_id(), "eos": sp.eos_id(), "pad": sp.pad_id()},
        "piece_kinds": dict(kinds),
        "pieces_259_to_300": pieces[259:300],
        "hf_tokenizer": (f"transformers {transformers.__version__} {type(hf).__module__}.{type(hf).__name__} "
                         "(AutoTokenizer on a model folder): the `tokenizers` (Rust) backend, converted from "
                         "tokenizer.model, not the sentencepiece library. It adds BOS. It differs from "
                         "SentencePiece for text that starts with a space (its Metaspace pre-tokenizer adds "
                         "no dummy prefix then) and it parses special-token text such as '<s>' as the special "
                         "token; hf_equals_bos_plus_sentencepiece marks the strings where the two agree."),
        "tests": tests,
    }


def init_weights(model, spec):
    g = torch.Generator().manual_seed(spec["seed"])
    with torch.no_grad():
        for name, p in model.named_parameters():
            if "norm" in name:
                p.copy_(1.0 + NORM_NOISE * torch.randn(p.shape, generator=g))
            elif "embed_tokens" in name:
                p.copy_(spec["emb_std"] * torch.randn(p.shape, generator=g))
            elif "lm_head" in name:
                p.copy_(spec["head_std"] * torch.randn(p.shape, generator=g))
            else:
                p.copy_(spec["proj_std"] * torch.randn(p.shape, generator=g))


def make_config(spec):
    return LlamaConfig(
        vocab_size=VOCAB_SIZE, hidden_size=spec["hidden"], intermediate_size=spec["intermediate"],
        num_hidden_layers=spec["layers"], num_attention_heads=spec["heads"],
        num_key_value_heads=spec["kv_heads"], head_dim=spec["hidden"] // spec["heads"], hidden_act="silu",
        max_position_embeddings=spec["max_pos"], rms_norm_eps=spec["eps"], rope_theta=spec["rope_theta"],
        tie_word_embeddings=spec["tied"], bos_token_id=1, eos_token_id=2, pad_token_id=None,
        attention_bias=False, mlp_bias=False,
    )


def save_model(spec, hf_files, model_file):
    d = OUT / spec["name"]
    if d.exists():
        shutil.rmtree(d)
    d.mkdir(parents=True)
    torch.manual_seed(spec["seed"])
    model = LlamaForCausalLM(make_config(spec))
    init_weights(model, spec)
    if spec["dtype"] == "bfloat16":
        model = model.to(torch.bfloat16)
    kwargs = {}
    if spec["max_shard_size"]:
        kwargs["max_shard_size"] = spec["max_shard_size"]
    model.save_pretrained(str(d), **kwargs)  # transformers 5 always writes safetensors
    # transformers 5 keeps rope_theta only in "rope_parameters". Published Llama 2 and Yi
    # config.json files (transformers 4 format) have it at the top level, which is also
    # the only place llama.cpp's converter (c392e50) looks: without it the GGUF has no
    # llama.rope.freq_base. Add the top-level key too, with the same value.
    cfg = json.loads((d / "config.json").read_text())
    assert cfg["rope_parameters"]["rope_theta"] == spec["rope_theta"]
    cfg["rope_theta"] = spec["rope_theta"]
    (d / "config.json").write_text(json.dumps(cfg, indent=2, sort_keys=True) + "\n")
    shutil.copyfile(model_file, d / "tokenizer.model")
    write_json(d / "tokenizer_config.json", TOKENIZER_CONFIG)
    (d / "tokenizer.json").write_bytes(hf_files["tokenizer.json"])
    return d


def load_f32(d):
    model = LlamaForCausalLM.from_pretrained(str(d), dtype=torch.float32, attn_implementation="eager")
    model.eval()
    # The float32 parameters are exactly the stored values (bfloat16 ones converted exactly).
    from safetensors.torch import load_file
    stored = {}
    for f in sorted(d.glob("*.safetensors")):
        stored.update(load_file(str(f)))
    params = dict(model.named_parameters())
    for name, t in stored.items():
        assert params[name].dtype == torch.float32
        assert torch.equal(params[name].detach(), t.to(torch.float32)), name
    if model.config.tie_word_embeddings:
        assert "lm_head.weight" not in stored
        assert model.lm_head.weight.data_ptr() == model.model.embed_tokens.weight.data_ptr()
    assert len(stored) == len(params), (sorted(stored), sorted(params))
    return model


def logits_of(model, ids):
    with torch.no_grad():
        lg = model(torch.tensor([ids], dtype=torch.long)).logits[0]
        return (lg.numpy() if lg.dtype == torch.float64 else lg.to(torch.float32).numpy())


def nll_from_logits(logits, targets):
    """-log softmax(logits[i])[targets[i]] in float64, from float32 logits."""
    lg = logits.astype(np.float64)
    m = lg.max(axis=-1, keepdims=True)
    lse = m[:, 0] + np.log(np.exp(lg - m).sum(axis=-1))
    return lse - lg[np.arange(len(targets)), targets]


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
    # Teacher-forced logits over prompt + continuation: margins of each greedy choice.
    lg = logits_of(model, ids + gen)[len(ids) - 1: len(ids) - 1 + GREEDY_TOKENS]
    srt = np.sort(lg, axis=-1)
    margins = srt[:, -1] - srt[:, -2]
    probs = np.exp(lg - lg.max(-1, keepdims=True))
    probs /= probs.sum(-1, keepdims=True)
    return gen, plain, margins, probs.max(-1)


def perplexities(model, ids):
    n = len(ids)
    res = {"n_tokens": n, "ids": ids}
    # 1. The whole sequence in one window.
    lg = logits_of(model, ids)
    nll = nll_from_logits(lg[:-1], np.array(ids[1:]))
    res["whole_sequence"] = {
        "definition": ("One forward pass over all n tokens (ids[0] is BOS). Scored: tokens ids[1..n-1], each "
                       "given all tokens before it; nll_i = -log softmax(logits at position i-1)[ids[i]], "
                       "computed in float64 from the float32 logits. ppl = exp(sum(nll) / (n-1))."),
        "n_scored": n - 1,
        "nll_sum": float(nll.sum()),
        "ppl": float(math.exp(nll.mean())),
        "nll_per_token": f32_list(nll),
    }
    # 2. Non-overlapping windows of PPL_WINDOW tokens, every window scored in full.
    windows = []
    total, count = 0.0, 0
    for start in range(0, n, PPL_WINDOW):
        w = ids[start:start + PPL_WINDOW]
        if len(w) < 2:
            continue
        lw = logits_of(model, w)
        nw = nll_from_logits(lw[:-1], np.array(w[1:]))
        total += float(nw.sum())
        count += len(w) - 1
        windows.append({"start": start, "length": len(w), "n_scored": len(w) - 1, "nll_sum": float(nw.sum()),
                        "ppl": float(math.exp(nw.mean())), "cumulative_ppl": float(math.exp(total / count))})
    res["windows_%d" % PPL_WINDOW] = {
        "definition": ("The ids (BOS first) cut into consecutive non-overlapping windows ids[s : s+%d] for "
                       "s = 0, %d, %d, ...; the last window may be shorter (kept when it has 2 or more tokens). "
                       "Each window is evaluated on its own from position 0 with an empty cache, with its own "
                       "tokens unchanged (only window 0 starts with BOS; no BOS is inserted). Within a window "
                       "of length L its tokens 1..L-1 are scored given the window's earlier tokens. Window ppl "
                       "= exp(mean nll of the window); ppl = exp(sum of all scored nll / number scored)."
                       % (PPL_WINDOW, PPL_WINDOW, 2 * PPL_WINDOW)),
        "window": PPL_WINDOW,
        "n_scored": count,
        "ppl": float(math.exp(total / count)),
        "per_window": windows,
    }
    # 3. llama.cpp's `perplexity` (tools/perplexity/perplexity.cpp, perplexity() with the default
    #    ppl_stride 0): n_ctx-token chunks, BOS in the first slot, second half scored.
    n_ctx = PPL_WINDOW
    first = n_ctx // 2
    n_chunk = n // n_ctx
    chunks = []
    total, count = 0.0, 0
    for i in range(n_chunk):
        start = i * n_ctx
        c = list(ids[start:start + n_ctx])
        c[0] = 1  # BOS
        lc = logits_of(model, c)
        targets = np.array(c[first + 1:n_ctx])
        nc = nll_from_logits(lc[first:n_ctx - 1], targets)
        total += float(nc.sum())
        count += n_ctx - first - 1
        chunks.append({"chunk": i, "start": start, "n_scored": n_ctx - first - 1, "nll_sum": float(nc.sum()),
                       "ppl": float(math.exp(nc.mean())), "printed_running_ppl": float(math.exp(total / count))})
    res["llama_cpp_perplexity_%d" % n_ctx] = {
        "definition": ("llama.cpp `llama-perplexity -c %d` (perplexity(), ppl_stride 0, as in "
                       "tools/perplexity/perplexity.cpp; the same code in examples/perplexity at c392e50). "
                       "tokens = tokenize(text, add BOS) (the ids here). n_chunk = floor(n / n_ctx) = %d; "
                       "tokens after n_chunk*n_ctx are not used. Chunk i is tokens[i*n_ctx : (i+1)*n_ctx] "
                       "with its first token replaced by BOS (add_bos is true for this vocabulary), evaluated "
                       "from position 0 with an empty KV cache. first = n_ctx/2 = %d; the logits at positions "
                       "j = first .. n_ctx-2 are scored against the chunk's token j+1, so n_ctx-1-first = %d "
                       "tokens per chunk (chunk positions %d..%d). nll = log-sum-exp(logits) - logit[token]. "
                       "The value printed after chunk i ([i+1]) is exp(nll summed over chunks 0..i / their "
                       "count); the final estimate is the value after the last chunk."
                       % (n_ctx, n_chunk, first, n_ctx - 1 - first, first + 1, n_ctx - 1)),
        "n_ctx": n_ctx,
        "n_chunk": n_chunk,
        "n_scored": count,
        "ppl": float(math.exp(total / count)) if count else None,
        "per_chunk": chunks,
    }
    return res


def reference(spec, d, prompts, ppl_text, tok_ref_note):
    model = load_f32(d)
    model64 = LlamaForCausalLM.from_pretrained(str(d), dtype=torch.float64, attn_implementation="eager").eval()
    tok = AutoTokenizer.from_pretrained(str(d))
    sp = spm.SentencePieceProcessor(model_file=str(d / "tokenizer.model"))
    out_prompts = []
    all_top1 = []
    greedy_stats = []
    for name, text in prompts:
        ids = tok(text)["input_ids"]
        assert ids == [1] + sp.encode(text), name
        lg = logits_of(model, ids)
        last = lg[-1]
        p = np.exp(last - last.max())
        p /= p.sum()
        gen, plain, margins, top1 = greedy(model, ids)
        full = lg
        pf = np.exp(full - full.max(-1, keepdims=True))
        pf /= pf.sum(-1, keepdims=True)
        all_top1.extend(pf.max(-1).tolist())
        greedy_stats.append((len(set(gen)), float(margins.min())))
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
                "new_text": tok.decode(gen),
                "plain_loop_agrees": plain == gen,
                "distinct_new_ids": len(set(gen)),
                "eos_among_new_ids": 2 in gen,
                "top1_top2_logit_margin": f32_list(margins),
                "min_margin": f32(margins.min()),
                "top1_prob": f32_list(top1),
            },
        })
    ppl_ids = tok(ppl_text)["input_ids"]
    assert ppl_ids == [1] + sp.encode(ppl_text)
    ppl = perplexities(model, ppl_ids)
    ppl["text"] = ppl_text
    top = np.array(all_top1)
    stats = {
        "over": "every position of the four prompts (teacher-forced), softmax of the float32 logits",
        "n_positions": int(top.size),
        "uniform": 1.0 / VOCAB_SIZE,
        "top1_prob_min": float(top.min()), "top1_prob_p10": float(np.quantile(top, 0.1)),
        "top1_prob_median": float(np.median(top)), "top1_prob_p90": float(np.quantile(top, 0.9)),
        "top1_prob_max": float(top.max()), "top1_prob_mean": float(top.mean()),
    }
    cfg = json.loads((d / "config.json").read_text())
    ref = {
        "generator": GENERATOR,
        "model": spec["name"],
        "computed_with": {
            "transformers": transformers.__version__, "torch": torch.__version__,
            "dtype": "float32 (the checkpoint loaded with dtype=torch.float32%s)"
                     % (", i.e. its bfloat16 weights converted exactly to float32" if spec["dtype"] == "bfloat16" else ""),
            "attn_implementation": "eager", "mode": "model.eval(), torch.no_grad(), CPU, torch.set_num_threads(1)",
        },
        "config": {k: cfg[k] for k in ("vocab_size", "hidden_size", "intermediate_size", "num_hidden_layers",
                                       "num_attention_heads", "num_key_value_heads", "head_dim",
                                       "max_position_embeddings", "rms_norm_eps", "rope_theta",
                                       "tie_word_embeddings", "dtype")},
        "init": {"seed": spec["seed"], "emb_std": spec["emb_std"], "proj_std": spec["proj_std"],
                 "head_std": spec["head_std"], "norm": "1 + %g*N(0,1)" % NORM_NOISE, "description": INIT_DESCRIPTION},
        "tokenizer": tok_ref_note,
        "logits_format": ("Each float is the shortest decimal that reads back (round to nearest) as the float32 "
                          "value transformers computed; read it as Double and convert to Float to get the "
                          "exact float32. float64_max_abs_diff: the largest difference between last_logits and "
                          "the same model run in float64 (same weights), a measure of float32 rounding."),
        "greedy_note": ("model.generate(ids, do_sample=False, max_new_tokens=%d, eos_token_id=None): with "
                        "eos_token_id=None passed explicitly transformers does not stop at </s> (id 2), so "
                        "there are always %d new ids, and an EOS, if chosen, is kept and fed back like any "
                        "token. plain_loop_agrees: a loop that recomputes the whole sequence without a cache "
                        "and takes argmax chose the same ids. top1_top2_logit_margin[k]: the gap between the "
                        "best and second-best logit when new id k was chosen (teacher-forced pass over prompt "
                        "+ continuation); tiny margins mark steps where rounding could flip the choice."
                        % (GREEDY_TOKENS, GREEDY_TOKENS)),
        "prompts": out_prompts,
        "perplexity": ppl,
        "top1_probability_stats": stats,
    }
    write_json(d / "reference.json", ref)
    return stats, greedy_stats, ppl


# --------------------------------------------------------------------------------------
# GGUF


def llama_cpp_commit(path, given):
    if given:
        return given
    try:
        return subprocess.run(["git", "-C", str(path), "rev-parse", "HEAD"], check=True,
                              capture_output=True, text=True).stdout.strip()
    except Exception:
        return "unknown"


def gguf_outtypes(spec, lean):
    if lean and spec["name"] != "llama-mha":
        return ("f16", "q8_0")
    return ("f32", "f16", "q8_0")


def convert_gguf(spec, d, llama_cpp, tmp, outtypes):
    # A clean copy of the model folder (only what a Hugging Face checkpoint has), named
    # like the model, since the converter takes general.name from the folder name.
    src = tmp / "convert" / spec["name"]
    src.mkdir(parents=True)
    for f in sorted(d.iterdir()):
        if f.suffix in (".json", ".safetensors", ".model") and f.name not in ("reference.json", "gguf-tensors.json"):
            shutil.copyfile(f, src / f.name)
    env = dict(os.environ)
    env["PYTHONPATH"] = str(llama_cpp / "gguf-py") + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
    logs = {}
    for outtype in outtypes:
        target = d / ("model-%s.gguf" % outtype)
        cmd = [sys.executable, str(llama_cpp / "convert_hf_to_gguf.py"), str(src), "--outtype", outtype,
               "--outfile", str(target)]
        r = subprocess.run(cmd, env=env, capture_output=True, text=True)
        if r.returncode != 0:
            sys.stderr.write(r.stdout + r.stderr)
            raise RuntimeError("convert_hf_to_gguf.py failed for %s %s" % (spec["name"], outtype))
        logs[outtype] = [l for l in (r.stdout + r.stderr).splitlines()
                         if "WARNING" in l or "falling back" in l]
    return logs


def record_llama_perplexity(d, binary, outtypes, ppl_text, tmp, commit):
    """Runs llama.cpp's llama-perplexity on each GGUF and adds what it prints to reference.json."""
    import re
    text_file = tmp / "ppl-text.txt"
    text_file.write_text(ppl_text, encoding="utf-8")
    runs = []
    for t in outtypes:
        cmd = [str(binary), "-m", str(d / ("model-%s.gguf" % t)), "-f", str(text_file), "-c", str(PPL_WINDOW),
               "-b", str(PPL_WINDOW), "-t", "1"]
        r = subprocess.run(cmd, capture_output=True, text=True)
        out = r.stdout + r.stderr
        if r.returncode != 0:
            sys.stderr.write(out)
            raise RuntimeError("llama-perplexity failed on %s" % t)
        running = [float(v) for v in re.findall(r"\[\d+\]([0-9.]+),", out)]
        final = re.search(r"Final estimate: PPL = ([0-9.]+) \+/- ([0-9.]+)", out)
        runs.append({"file": "model-%s.gguf" % t, "printed_running_ppl": running,
                     "final_ppl": float(final.group(1)), "final_ppl_error": float(final.group(2))})
    ref_path = d / "reference.json"
    ref = json.loads(ref_path.read_text(encoding="utf-8"))
    ref["perplexity"]["llama_cpp_runs"] = {
        "what": ("llama.cpp's own llama-perplexity (commit %s) on the perplexity text: `llama-perplexity -m "
                 "<file> -f <text> -c %d -b %d -t 1`; the numbers it prints (4 decimals). For model-f32.gguf they "
                 "should agree with llama_cpp_perplexity_%d above up to float rounding in ggml."
                 % (commit, PPL_WINDOW, PPL_WINDOW, PPL_WINDOW)),
        "runs": runs,
    }
    write_json(ref_path, ref)


def gguf_summary(path):
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
            if vtype in (gguf.GGUFValueType.FLOAT32,):
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
    return {"file": path.name, "size": path.stat().st_size, "sha256": sha256_file(path),
            "n_tensors": len(tensors), "tensors": tensors, "metadata": meta}


# --------------------------------------------------------------------------------------


def human(n):
    return "%.1f KiB" % (n / 1024) if n < 1024 * 1024 else "%.2f MiB" % (n / 1048576)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--llama-cpp", default=os.environ.get("LLAMA_CPP_DIR"),
                    help="llama.cpp checkout with convert_hf_to_gguf.py and gguf-py (or LLAMA_CPP_DIR)")
    ap.add_argument("--llama-cpp-commit", default=None, help="its commit, if it is not a git work tree")
    ap.add_argument("--skip-gguf", action="store_true", help="leave the GGUF files alone")
    ap.add_argument("--lean", action="store_true", help="model-f32.gguf for llama-mha only")
    ap.add_argument("--llama-perplexity", default=None,
                    help="llama.cpp's llama-perplexity binary (same commit), to record its output")
    args = ap.parse_args()
    if not args.skip_gguf:
        if not args.llama_cpp:
            ap.error("give --llama-cpp /path/to/llama.cpp (or LLAMA_CPP_DIR), or --skip-gguf")
        llama_cpp = pathlib.Path(args.llama_cpp).resolve()
        if not (llama_cpp / "convert_hf_to_gguf.py").is_file() or not (llama_cpp / "gguf-py").is_dir():
            ap.error("%s has no convert_hf_to_gguf.py or gguf-py/" % llama_cpp)
        commit = llama_cpp_commit(llama_cpp, args.llama_cpp_commit)
        converter_sha = sha256_file(llama_cpp / "convert_hf_to_gguf.py")

    torch.set_num_threads(1)
    torch.use_deterministic_algorithms(True)
    OUT.mkdir(parents=True, exist_ok=True)
    summary = {"models": {}}
    with tempfile.TemporaryDirectory() as tmpname:
        tmp = pathlib.Path(tmpname)
        model_file, corpus_info = train_tokenizer(tmp)
        sp = spm.SentencePieceProcessor(model_file=str(model_file))
        hf_files = hf_tokenizer_files(tmp, model_file)

        long_prompt = text_with_tokens(sp, 7, 300)
        ppl_text = text_with_tokens(sp, 11, 300)
        prompts = [("english", PROMPT_ENGLISH), ("chinese", PROMPT_CHINESE), ("mixed", PROMPT_MIXED),
                   ("long", long_prompt)]

        dirs = {}
        for spec in MODELS:
            dirs[spec["name"]] = save_model(spec, hf_files, model_file)

        tok_ref = tokenizer_reference(sp, dirs["llama-mha"], corpus_info)
        tok_ref["transformers_writes_tokenizer_config"] = hf_files["transformers_tokenizer_config"]
        write_json(OUT / "tokenizer/reference.json", tok_ref)
        tok_note = (tok_ref["hf_tokenizer"] + " Every prompt's ids here equal [1] + "
                    "sentencepiece.SentencePieceProcessor(tokenizer.model).encode(text) (checked).")

        for spec in MODELS:
            d = dirs[spec["name"]]
            stats, gstats, ppl = reference(spec, d, prompts, ppl_text, tok_note)
            summary["models"][spec["name"]] = {"top1": stats, "greedy": gstats, "ppl": {
                "whole": ppl["whole_sequence"]["ppl"], "windows": ppl["windows_%d" % PPL_WINDOW]["ppl"],
                "llama_cpp": ppl["llama_cpp_perplexity_%d" % PPL_WINDOW]["ppl"]}}
            print("%s: top-1 prob median %.3f (p10 %.3f, p90 %.3f, max %.3f); greedy distinct/min margin %s; "
                  "ppl whole %.3f windows %.3f llama.cpp %.3f" % (
                      spec["name"], stats["top1_prob_median"], stats["top1_prob_p10"], stats["top1_prob_p90"],
                      stats["top1_prob_max"], gstats, ppl["whole_sequence"]["ppl"],
                      ppl["windows_%d" % PPL_WINDOW]["ppl"], ppl["llama_cpp_perplexity_%d" % PPL_WINDOW]["ppl"]),
                  flush=True)

        if not args.skip_gguf:
            for spec in MODELS:
                d = dirs[spec["name"]]
                outtypes = gguf_outtypes(spec, args.lean)
                for stale in d.glob("model-*.gguf"):
                    stale.unlink()
                logs = convert_gguf(spec, d, llama_cpp, tmp, outtypes)
                files = [gguf_summary(d / ("model-%s.gguf" % t)) for t in outtypes]
                write_json(d / "gguf-tensors.json", {
                    "generator": GENERATOR,
                    "converter": "llama.cpp convert_hf_to_gguf.py --outtype {f32,f16,q8_0}",
                    "llama_cpp_commit": commit,
                    "convert_hf_to_gguf_sha256": converter_sha,
                    "converter_gguf_py": "the checkout's gguf-py (PYTHONPATH)",
                    "reader": "gguf %s GGUFReader (installed package)" % importlib.metadata.version("gguf"),
                    "converter_warnings": logs,
                    "notes": ("shape is GGUF's ne order (fastest-varying dimension first). Arrays in metadata: "
                              "length and the first 5 elements. sha256 is of the tensor's stored bytes. "
                              "data_offset is from the start of the file."),
                    "files": files,
                })
                if args.llama_perplexity:
                    record_llama_perplexity(d, pathlib.Path(args.llama_perplexity), outtypes, ppl_text, tmp, commit)

    write_readme(summary, None if args.skip_gguf else commit, args)


def write_readme(summary, commit, args):
    def size_of(p):
        return p.stat().st_size
    rows = []
    total = 0
    for p in sorted(OUT.rglob("*")):
        if p.is_file() and p.name != "README.md":
            rows.append("| `%s` | %d |" % (p.relative_to(OUT).as_posix(), size_of(p)))
            total += size_of(p)
    lines = []
    lines.append("# Tiny Llama-family models — `%s`\n" % GENERATOR)
    lines.append("Made by `%s` (run it to regenerate everything here; see its docstring)." % GENERATOR)
    lines.append("Nothing here needs Python at test time.\n")
    lines.append("## Provenance\n")
    lines.append("- transformers %s, torch %s, tokenizers %s, sentencepiece %s, safetensors %s, numpy %s, "
                 "gguf %s (reader), Python %s" % (
                     transformers.__version__, torch.__version__, importlib.metadata.version("tokenizers"),
                     spm.__version__, importlib.metadata.version("safetensors"), np.__version__,
                     importlib.metadata.version("gguf"), platform.python_version()))
    lines.append("- llama.cpp: %s (`convert_hf_to_gguf.py` and its `gguf-py`, run from a checkout)"
                 % (("ggerganov/llama.cpp " + commit) if commit else "(GGUF step skipped)"))
    lines.append("- tokenizer: SentencePiece BPE, %d pieces, trained on %d generated lines (seed %d)"
                 % (VOCAB_SIZE, CORPUS_LINES, CORPUS_SEED))
    for spec in MODELS:
        lines.append("- `%s`: seed %d; hidden %d, %d layers, %d heads, %d KV heads, head_dim %d, intermediate %d, "
                     "rope_theta %g, max_position_embeddings %d, rms_norm_eps %g, tied %s, saved as %s%s; "
                     "init emb_std %s, proj_std %s, head_std %s" % (
                         spec["name"], spec["seed"], spec["hidden"], spec["layers"], spec["heads"], spec["kv_heads"],
                         spec["hidden"] // spec["heads"], spec["intermediate"], spec["rope_theta"], spec["max_pos"],
                         spec["eps"], spec["tied"], spec["dtype"],
                         (" in shards of at most %s" % spec["max_shard_size"]) if spec["max_shard_size"] else "",
                         spec["emb_std"], spec["proj_std"], spec["head_std"]))
    lines.append("\nWeights: %s\n" % INIT_DESCRIPTION)
    lines.append("## Files\n")
    lines.append("- `tokenizer/tokenizer.model`, `tokenizer/reference.json` (training options, test encodings).")
    lines.append("- `<model>/config.json`, `generation_config.json`, safetensors: as transformers writes them, "
                 "except that config.json also has a top-level `rope_theta` (transformers 5 keeps it only in "
                 "`rope_parameters`; published Llama 2/Yi files and llama.cpp's converter use the top-level key).")
    lines.append("- `<model>/tokenizer.model` (= tokenizer/tokenizer.model), `tokenizer_config.json` (Llama-2 "
                 "style, written by the script: add_bos_token true, LlamaTokenizer), `tokenizer.json` (as "
                 "transformers' LlamaTokenizer writes it for that tokenizer.model).")
    lines.append("- `<model>/reference.json`: transformers float32 prompt ids, last-position logits, 32-token "
                 "greedy continuations, perplexities (three definitions, described in the file).")
    lines.append("- `<model>/model-{f32,f16,q8_0}.gguf`: llama.cpp `convert_hf_to_gguf.py --outtype ...`; "
                 "`gguf-tensors.json`: tensors and metadata as GGUFReader sees them.\n")
    lines.append("## Conversion notes\n")
    lines.append("- transformers 5 writes `rope_theta` only inside `rope_parameters`; llama.cpp's converter "
                 "(c392e50) reads the top-level key only and, without it, silently writes no "
                 "`llama.rope.freq_base` (llama.cpp would then use 10000, wrong for the Yi-like model). "
                 "Hence the extra top-level key in config.json.")
    lines.append("- The tokenizer_config.json transformers 5 writes has `\"add_prefix_space\": null` and no "
                 "`add_bos_token`; with it the converter writes `tokenizer.ggml.add_space_prefix = false` "
                 "(wrong: this SentencePiece model adds a dummy prefix) and no `tokenizer.ggml.add_bos_token`. "
                 "Hence the Llama-2-style tokenizer_config.json (its transformers version is kept in "
                 "tokenizer/reference.json, `transformers_writes_tokenizer_config`).")
    lines.append("- q8_0: `ffn_down` rows have 172 values (not a multiple of 32), so the converter stores those "
                 "tensors as F16 (its own fallback, logged in gguf-tensors.json `converter_warnings`).")
    lines.append("- With tied embeddings the checkpoint has no `lm_head.weight` and the GGUF files no "
                 "`output.weight`.")
    if args.llama_perplexity:
        lines.append("- reference.json `perplexity.llama_cpp_runs`: what llama.cpp's own `llama-perplexity` "
                     "printed for each GGUF file (a binary built from the same commit, run by the script).")
    lines.append("")
    lines.append("## Sizes (bytes)\n")
    lines.append("| file | bytes |")
    lines.append("| --- | --- |")
    lines.extend(rows)
    lines.append("| total | %d (%s) |\n" % (total, human(total)))
    lines.append("## Regenerate\n")
    lines.append("```")
    lines.append("pip install torch==%s transformers==%s tokenizers==%s sentencepiece==%s safetensors==%s "
                 "gguf==%s numpy==%s accelerate protobuf" % (
                     torch.__version__.split("+")[0], transformers.__version__,
                     importlib.metadata.version("tokenizers"), spm.__version__,
                     importlib.metadata.version("safetensors"), importlib.metadata.version("gguf"), np.__version__))
    lines.append("# a llama.cpp checkout at %s" % (commit or "<commit>"))
    lines.append("nice python3 %s --llama-cpp /path/to/llama.cpp%s%s%s" % (
        GENERATOR, (" --llama-cpp-commit " + commit) if commit else "", " --lean" if args.lean else "",
        " [--llama-perplexity /path/to/llama-perplexity]" if args.llama_perplexity else ""))
    lines.append("```")
    (OUT / "README.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
