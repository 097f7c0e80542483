#!/usr/bin/env python3
"""Greedy reference continuations of stories260K.bin from llama2.c's own `run`.

llama2.c's `run` (karpathy/llama2.c, run.c, unmodified) is the reference. The
model's 512-piece vocabulary is not available, so this script gives `run` a
crafted tokenizer file whose pieces spell token ids, and parses the printed text
back into ids:

* "plain" tokenizer (used for the run from BOS alone): id i is the single
  character U+4E00+i. Every printed piece is one distinct character, so the
  printed text maps back to ids one character per id.
* "prompt" tokenizer (used for prompted runs): as "plain", but id 1 (BOS, never
  printed: `run` stops when it samples BOS) is " ", which `encode` looks up as
  its dummy prefix; for each start token T a helper id H gets the piece "a", "b",
  ... and T gets " a", " b", ... . The prompt text "a" then encodes to
  [BOS, " "=1, H] and the merge " "+"a" gives [BOS, T]; further ids follow as
  their characters. `encode` is re-implemented below to check this before the
  run, and the printed prompt part is checked after it. The printed space only
  ever comes from a T piece, so the parse stays unique; it is also checked by
  counting all segmentations of the printed text.

Both tokenizers are written to a temporary directory; nothing of llama2.c is
copied into this repository. The runs use `-t 0` (greedy), `-n 512`, `-s 42`.

With `--numpy-check` (default on) an independent float64 numpy forward pass of
the legacy checkpoint recomputes every run teacher-forced and checks that the
argmax at every position is the id `run` chose; it also records its float32
logits for the BOS-only context at a few lengths.

The checkpoint in Tests/Fixtures/shared (sha256 9414d5a2...) has its matrices
wq, wk, wv, wo, w1, w2, w3 stored in a permuted order compared with the
published stories260K weights (see CHECKPOINT_NOTE); the script also rebuilds
the published order (`restore_published_order`) and records the same runs for
it in the "restored_checkpoint" section.

Usage:
  python3 Scripts/generate_stories260k_reference.py /path/to/llama2.c/run \\
      [--checkpoint Tests/Fixtures/shared/stories260K.bin] \\
      [--llama2c-commit SHA] [--build-note "how run was compiled, in words"] \\
      [--compiler "compiler version"] [--run-c /path/to/run.c]
Build llama2.c's `run` yourself from its repository, with IEEE float semantics (no
fast-math); this repository holds no build recipe for it.
Writes: Tests/Fixtures/stories260K/reference.json
Needs:  numpy
"""
import argparse
import hashlib
import json
import pathlib
import struct
import subprocess
import sys
import tempfile

import numpy as np

ROOT = pathlib.Path(__file__).resolve().parent.parent
DEFAULT_CHECKPOINT = ROOT / "Tests/Fixtures/shared/stories260K.bin"
OUT = ROOT / "Tests/Fixtures/stories260K/reference.json"
EXPECTED_SHA256 = "9414d5a285453a7eab631713d171753232c978f6f97654211469aff8be93c8d6"
STEPS = 512
SEED = 42
BOS = 1
CJK_BASE = 0x4E00
LOGIT_CONTEXT_LENGTHS = [1, 10, 50]
NEAR_TIE = 1e-3  # float64 top-2 logit gaps below this are listed: float32 rounding may flip them

# Prompted runs: (name, prompt ids). The first id after BOS gets a " x" piece.
PROMPTS = [
    ("start_291", [BOS, 291]),
    ("start_317", [BOS, 317]),
    ("start_385", [BOS, 385]),
    ("start_13", [BOS, 13]),
    ("multi_403_407_261_378", [BOS, 403, 407, 261, 378]),
]
HELPER_IDS = [3, 4, 5, 6, 7]  # one per distinct start token, pieces "a", "b", ...

CHECKPOINT_NOTE = (
    "This checkpoint (sha256 9414d5a2...) is not laid out like the published stories260K weights. "
    "token_embedding and all RMSNorm weights equal the published values (the header and the freq_cis block, "
    "which run does not read, are as expected), but every per-layer matrix is a permutation of the published one: with N the matrix's element count and a = dim (wq, wo, w2), "
    "kv_dim (wk, wv) or hidden_dim (w1, w3), element q of the stored matrix is published element "
    "(q * a^5) mod (N-1) (element N-1 stays in place). For the square wq and wo this is a plain transpose. "
    "This is what repeated in-place transposes do; the copy comes from plctlab/rvspoc-s2311-llama2, whose "
    "commit fca8a35 also holds in-place weight-transposing tools. Weights restored with the inverse "
    "permutation are tensor-for-tensor equal to stories260K.gguf (sha256 "
    "270cba1bd5109f42d03350f60406024560464db173c0e387d91f0426d3bd256d, a llama.cpp conversion of the "
    "published model, found in cozy-creator/python-gen-worker tests/testdata), and `run` on them gives "
    "the greedy text documented in llama2.c (doc/stories260K.md, test_all.py) when the ids are decoded "
    "with that GGUF's vocabulary. The runs under 'runs' are still a valid, deterministic reference for "
    "this file; they are not the published model's behaviour."
)


# ----------------------------------------------------------------------------
# checkpoint

def read_checkpoint(path):
    raw = pathlib.Path(path).read_bytes()
    header = struct.unpack("<7i", raw[:28])
    names = ["dim", "hidden_dim", "n_layers", "n_heads", "n_kv_heads", "vocab_size", "seq_len"]
    return raw, dict(zip(names, header))


def tensor_layout(h):
    """(name, shape) of the legacy llama2.c checkpoint, in file order after the header."""
    dim, hidden, n_layers = h["dim"], h["hidden_dim"], h["n_layers"]
    n_heads, n_kv, vocab, seq = h["n_heads"], h["n_kv_heads"], abs(h["vocab_size"]), h["seq_len"]
    head = dim // n_heads
    kv_dim = n_kv * head
    layout = [
        ("token_embedding", (vocab, dim)), ("rms_att", (n_layers, dim)),
        ("wq", (n_layers, n_heads * head, dim)), ("wk", (n_layers, kv_dim, dim)),
        ("wv", (n_layers, kv_dim, dim)), ("wo", (n_layers, dim, n_heads * head)),
        ("rms_ffn", (n_layers, dim)), ("w1", (n_layers, hidden, dim)),
        ("w2", (n_layers, dim, hidden)), ("w3", (n_layers, hidden, dim)),
        ("rms_final", (dim,)), ("freq_cis_real", (seq * head // 2,)), ("freq_cis_imag", (seq * head // 2,)),
    ]
    if h["vocab_size"] < 0:
        layout.append(("wcls", (vocab, dim)))
    return layout


def load_weights(raw, h):
    flat = np.frombuffer(raw, dtype="<f4", offset=28)
    weights, offset = {}, 0
    for name, shape in tensor_layout(h):
        n = int(np.prod(shape))
        weights[name] = flat[offset:offset + n].reshape(shape)
        offset += n
    if offset != flat.size:
        raise SystemExit(f"checkpoint has {flat.size} floats after the header, layout needs {offset}")
    if "wcls" not in weights:
        weights["wcls"] = weights["token_embedding"]
    return weights


def restore_published_order(raw, h):
    """Undo the per-layer element permutation described in CHECKPOINT_NOTE; returns new file bytes."""
    dim, hidden = h["dim"], h["hidden_dim"]
    kv_dim = h["n_kv_heads"] * (dim // h["n_heads"])
    view_columns = {"wq": dim, "wk": kv_dim, "wv": kv_dim, "wo": dim, "w1": hidden, "w2": dim, "w3": hidden}
    flat = np.frombuffer(raw, dtype="<f4", offset=28).copy()
    offset = 0
    for name, shape in tensor_layout(h):
        n = int(np.prod(shape))
        if name in view_columns:
            per_layer = n // shape[0]
            m = per_layer - 1
            step = pow(view_columns[name], 5, m)
            source = (np.arange(per_layer, dtype=np.int64) * step) % m
            source[-1] = per_layer - 1
            for layer in range(shape[0]):
                start = offset + layer * per_layer
                stored = flat[start:start + per_layer].copy()
                restored = np.empty_like(stored)
                restored[source] = stored
                flat[start:start + per_layer] = restored
        offset += n
    return raw[:28] + flat.astype("<f4").tobytes()


# ----------------------------------------------------------------------------
# numpy float64 forward pass (llama2.c semantics), written for this check

def rmsnorm(x, w):
    return w * (x / np.sqrt(np.mean(x * x, axis=-1, keepdims=True) + 1e-5))


def forward_all(weights, h, tokens):
    """Logits (float64) at every position of `tokens`, causal, as run.c computes them one by one."""
    W = {k: v.astype(np.float64) for k, v in weights.items()}
    T = len(tokens)
    dim, n_heads, n_kv = h["dim"], h["n_heads"], h["n_kv_heads"]
    head = dim // n_heads
    x = W["token_embedding"][np.asarray(tokens)]
    freq = 1.0 / (10000.0 ** (np.arange(0, head, 2) / head))
    angle = np.arange(T)[:, None] * freq[None, :]
    cos, sin = np.cos(angle)[:, None, :], np.sin(angle)[:, None, :]

    def rope(v, n):  # interleaved pairs (v[2i], v[2i+1]) inside each head
        v = v.reshape(T, n, head // 2, 2)
        a, b = v[..., 0], v[..., 1]
        return np.stack([a * cos - b * sin, a * sin + b * cos], axis=-1).reshape(T, n, head)

    mask = np.triu(np.full((T, T), -np.inf), 1)
    group = n_heads // n_kv
    for layer in range(h["n_layers"]):
        xb = rmsnorm(x, W["rms_att"][layer])
        q = rope(xb @ W["wq"][layer].T, n_heads)
        k = np.repeat(rope(xb @ W["wk"][layer].T, n_kv), group, axis=1)  # query head i uses kv head i // group
        v = np.repeat((xb @ W["wv"][layer].T).reshape(T, n_kv, head), group, axis=1)
        scores = np.einsum("thd,uhd->htu", q, k) / np.sqrt(head) + mask[None]
        scores = np.exp(scores - scores.max(axis=-1, keepdims=True))
        scores /= scores.sum(axis=-1, keepdims=True)
        attended = np.einsum("htu,uhd->thd", scores, v).reshape(T, dim)
        x = x + attended @ W["wo"][layer].T
        xb = rmsnorm(x, W["rms_ffn"][layer])
        gate, up = xb @ W["w1"][layer].T, xb @ W["w3"][layer].T
        x = x + ((gate / (1.0 + np.exp(-gate))) * up) @ W["w2"][layer].T
    x = rmsnorm(x, W["rms_final"])
    return x @ W["wcls"].T


# ----------------------------------------------------------------------------
# crafted tokenizers, and run.c's encode/decode behaviour

def plain_vocab(n):
    return [chr(CJK_BASE + i) for i in range(n)]


def prompt_vocab(n, start_ids):
    vocab = plain_vocab(n)
    vocab[BOS] = " "  # the dummy prefix `encode` looks up; BOS itself is never printed
    letters = {}
    for k, (start, helper) in enumerate(zip(start_ids, HELPER_IDS)):
        letter = chr(ord("a") + k)
        vocab[helper] = letter
        vocab[start] = " " + letter
        letters[start] = letter
    return vocab, letters


def scores_for(vocab):
    return [1.0 if len(p) > 1 else 0.0 for p in vocab]


def write_tokenizer(path, vocab):
    pieces = [p.encode("utf-8") for p in vocab]
    if len(set(pieces)) != len(pieces):
        raise SystemExit("crafted pieces must be distinct")
    with open(path, "wb") as f:
        f.write(struct.pack("<i", max(len(p) for p in pieces)))
        for piece, score in zip(pieces, scores_for(vocab)):
            f.write(struct.pack("<fi", score, len(piece)))
            f.write(piece)


def encode(vocab, text):
    """run.c's encode(text, bos=1, eos=0), re-implemented for the crafted vocabularies."""
    lookup = {p.encode("utf-8"): i for i, p in enumerate(vocab)}
    scores = scores_for(vocab)
    tokens = [BOS]
    if text:
        tokens.append(lookup.get(b" ", -1))
    for ch in text:  # one code point at a time, byte fallback (+3) if it is not a piece
        b = ch.encode("utf-8")
        tokens.extend([lookup[b]] if b in lookup else [x + 3 for x in b])
    while True:
        best = None
        for i in range(len(tokens) - 1):
            merged = (vocab[tokens[i]] + vocab[tokens[i + 1]]).encode("utf-8")
            j = lookup.get(merged)
            if j is not None and (best is None or scores[j] > best[0]):
                best = (scores[j], j, i)
        if best is None:
            return tokens
        _, j, i = best
        tokens[i:i + 2] = [j]


def printed(vocab, prev, token):
    """What run.c's decode + safe_printf print for `token` after `prev`."""
    piece = vocab[token]
    if prev == BOS and piece.startswith(" "):
        piece = piece[1:]
    b = piece.encode("utf-8")
    if b.startswith(b"<0x"):
        raise SystemExit("crafted pieces must not look like byte tokens")
    if len(b) == 0 or (len(b) == 1 and not (chr(b[0]).isprintable() or chr(b[0]).isspace())):
        raise SystemExit(f"piece of id {token} would print nothing")
    return piece


def parse_unique(vocab, text):
    """Split printed text (not right after BOS) into ids; there must be exactly one way.

    BOS is never printed (run stops when it samples it), so it is not a candidate."""
    forms = {i: printed(vocab, 0, i) for i in range(len(vocab)) if i != BOS}
    by_first = {}
    for i, form in forms.items():
        by_first.setdefault(form[0], []).append((form, i))
    count = [0] * (len(text) + 1)
    choice = [None] * (len(text) + 1)
    count[len(text)] = 1
    for pos in range(len(text) - 1, -1, -1):
        for form, i in by_first.get(text[pos], []):
            if text.startswith(form, pos) and count[pos + len(form)]:
                count[pos] = min(2, count[pos] + count[pos + len(form)])
                choice[pos] = (form, i)
    if count[0] != 1:
        raise SystemExit(f"printed text does not parse into exactly one id sequence ({count[0]} ways)")
    ids, pos = [], 0
    while pos < len(text):
        form, i = choice[pos]
        ids.append(i)
        pos += len(form)
    return ids


# ----------------------------------------------------------------------------
# running llama2.c

def run_llama2c(run, checkpoint, tokenizer, vocab, prompt_ids, prompt_text):
    command = [str(run), str(checkpoint), "-z", str(tokenizer), "-t", "0", "-n", str(STEPS),
               "-s", str(SEED), "-i", prompt_text]
    result = subprocess.run(command, capture_output=True, check=True)
    text = result.stdout.decode("utf-8")
    if not text.endswith("\n"):
        raise SystemExit("run's output should end with the newline it prints after generating")
    text = text[:-1]
    prefix = "".join(printed(vocab, a, b) for a, b in zip(prompt_ids, prompt_ids[1:]))
    if not text.startswith(prefix):
        raise SystemExit(f"run did not print the expected prompt part {prefix!r}: {text[:20]!r}")
    rest = text[len(prefix):]
    if prompt_ids[-1] == BOS and any(p.startswith(" ") for p in vocab):
        # the first generated piece follows BOS and would lose its leading space
        raise SystemExit("use the plain vocabulary (no leading spaces) for the BOS-only run")
    generated = parse_unique(vocab, rest)
    rendered = prefix + "".join(printed(vocab, a, b) for a, b in zip(([prompt_ids[-1]] + generated), generated))
    assert rendered == text, "round trip of the parsed ids"
    printed_tokens = len(prompt_ids) - 1 + len(generated)
    stop = "step_limit" if printed_tokens == STEPS else "sampled_bos"
    return {
        "prompt_text": prompt_text,
        "prompt_ids": prompt_ids,
        "generated_ids": generated,
        "generated_count": len(generated),
        "steps": STEPS,
        "forward_passes": STEPS if stop == "step_limit" else printed_tokens + 1,
        "stop_reason": stop,
    }


def check_with_numpy(weights, h, run_record):
    sequence = run_record["prompt_ids"] + run_record["generated_ids"]
    logits = forward_all(weights, h, sequence)
    start = len(run_record["prompt_ids"]) - 1
    chosen = logits[start:].argmax(axis=-1)
    expected = run_record["generated_ids"] + ([BOS] if run_record["stop_reason"] == "sampled_bos" else [])
    if run_record["stop_reason"] == "step_limit":
        chosen = chosen[:len(expected)]  # the last position's choice is the last generated id
    agree = [int(a) == int(b) for a, b in zip(chosen, expected)]
    top2 = np.sort(logits[start:start + len(expected)], axis=-1)[:, -2:]
    margins = top2[:, 1] - top2[:, 0]
    first_disagreement = agree.index(False) if not all(agree) else None
    return {
        "all_agree": all(agree) and len(agree) == len(expected),
        "first_disagreement": first_disagreement,
        "min_top2_logit_margin": float(margins.min()),
        "argmin_top2_logit_margin": int(margins.argmin()),
        "near_ties": [[int(i), float(m)] for i, m in enumerate(margins) if m < NEAR_TIE],
    }, logits


def make_runs(run, checkpoint, weights, h, tmp, numpy_check):
    vocab_size = abs(h["vocab_size"])
    start_ids = []
    for _, ids in PROMPTS:
        if ids[1] not in start_ids:
            start_ids.append(ids[1])
    plain = plain_vocab(vocab_size)
    pvocab, letters = prompt_vocab(vocab_size, start_ids)
    for special in set(HELPER_IDS) | {BOS}:
        if any(special in ids[1:] for _, ids in PROMPTS):
            raise SystemExit("prompts must not use helper ids or BOS after position 0")
    plain_path, prompt_path = tmp / "plain_tokenizer.bin", tmp / "prompt_tokenizer.bin"
    write_tokenizer(plain_path, plain)
    write_tokenizer(prompt_path, pvocab)

    runs = []
    record = run_llama2c(run, checkpoint, plain_path, plain, [BOS], "")
    record["name"] = "bos_only"
    record["tokenizer"] = "plain"
    runs.append(record)
    for name, ids in PROMPTS:
        text = letters[ids[1]] + "".join(pvocab[i] for i in ids[2:])
        if encode(pvocab, text) != ids:
            raise SystemExit(f"crafted prompt {text!r} does not encode to {ids}: {encode(pvocab, text)}")
        record = run_llama2c(run, checkpoint, prompt_path, pvocab, ids, text)
        record["name"] = name
        record["tokenizer"] = "prompt"
        runs.append(record)

    check = None
    if numpy_check:
        per_run, bos_logits = {}, None
        for record in runs:
            result, logits = check_with_numpy(weights, h, record)
            per_run[record["name"]] = result
            if record["name"] == "bos_only":
                bos_logits = logits
            if not result["all_agree"]:
                print(f"numpy float64 disagrees with run in {record['name']}: {result}", file=sys.stderr)
        check = {
            "note": ("Independent numpy float64 forward pass of the checkpoint (this script), run teacher-forced "
                     "over each run's prompt + generated ids: all_agree means its argmax at every position is the id "
                     "run chose (and BOS where run stopped on BOS). Margins are float64 logit gaps between the top two "
                     "candidates at the generated positions (index = position in generated_ids; index "
                     "len(generated_ids) is the choice of BOS when run stopped on it); near_ties lists [index, gap] "
                     "for gaps below 1e-3, where an implementation with other float32 rounding may legitimately "
                     "choose differently. The logits below are this numpy implementation's, cast to "
                     "float32, for the BOS-only sequence: 'context_length' L means the logits after the first L ids "
                     "(BOS and the first L-1 generated ids), i.e. the distribution for generated id number L."),
            "runs": per_run,
            "bos_only_logits": [
                {"context_length": L, "context_ids": ([BOS] + runs[0]["generated_ids"])[:L],
                 "logits": [float(x) for x in bos_logits[L - 1].astype(np.float32)]}
                for L in LOGIT_CONTEXT_LENGTHS
            ],
        }
    return runs, check


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("run", help="path of a built llama2.c `run` binary")
    parser.add_argument("--checkpoint", default=str(DEFAULT_CHECKPOINT))
    parser.add_argument("--out", default=str(OUT))
    parser.add_argument("--llama2c-commit", default="unknown")
    parser.add_argument("--build-note", default="unknown")
    parser.add_argument("--compiler", default="unknown")
    parser.add_argument("--run-c", help="path of the run.c the binary was built from (its sha256 is recorded)")
    parser.add_argument("--no-numpy-check", dest="numpy_check", action="store_false")
    args = parser.parse_args()

    raw, header = read_checkpoint(args.checkpoint)
    sha = hashlib.sha256(raw).hexdigest()
    if sha != EXPECTED_SHA256:
        raise SystemExit(f"checkpoint sha256 {sha} is not the fixture's {EXPECTED_SHA256}")
    weights = load_weights(raw, header)

    with tempfile.TemporaryDirectory() as tmpdir:
        tmp = pathlib.Path(tmpdir)
        runs, check = make_runs(args.run, args.checkpoint, weights, header, tmp, args.numpy_check)

        restored_raw = restore_published_order(raw, header)
        restored_path = tmp / "stories260K-restored.bin"
        restored_path.write_bytes(restored_raw)
        restored_runs, restored_check = make_runs(
            args.run, restored_path, load_weights(restored_raw, header), header, tmp, args.numpy_check)

    run_c_sha = hashlib.sha256(pathlib.Path(args.run_c).read_bytes()).hexdigest() if args.run_c else None
    document = {
        "description": ("Greedy (-t 0) continuations of stories260K.bin by llama2.c's unmodified run, as token ids. "
                        "Written by Scripts/generate_stories260k_reference.py."),
        "llama2c": {
            "repository": "karpathy/llama2.c",
            "commit": args.llama2c_commit,
            "run_c_sha256": run_c_sha,
            "build_note": args.build_note,
            "compiler": args.compiler,
            "invocation": f"run CHECKPOINT -z TOKENIZER -t 0 -n {STEPS} -s {SEED} -i PROMPT_TEXT",
            "semantics": ("run forwards positions 0..steps-1 (at most steps forward passes); the prompt ids are forced, "
                          "then each next id is the argmax of the logits (first index on ties); it stops early, "
                          "without printing, when the chosen id is BOS (1). generated_ids excludes the prompt; "
                          "len(prompt_ids) - 1 + generated_count == steps when stop_reason is step_limit."),
        },
        "checkpoint": {
            "path": "Tests/Fixtures/shared/stories260K.bin",
            "sha256": sha,
            "size_bytes": len(raw),
            "header": header,
            "shared_classifier": header["vocab_size"] > 0,
            "note": CHECKPOINT_NOTE,
        },
        "tokenizer_design": {
            "plain": "id i is the single character U+4E00+i (used for the BOS-only run, empty prompt).",
            "prompt": ("as plain, except id 1 (BOS) is ' ' (encode's dummy prefix; never printed) and, for each "
                       "start id, a helper id in " + json.dumps(HELPER_IDS) + " is 'a', 'b', ... and the start id "
                       "is ' a', ' b', ... . The prompt text is that letter followed by the characters of the "
                       "remaining prompt ids; encode gives [1, 1, helper, ...], and the merge ' '+'a' leaves "
                       "[1, start, ...]. Scores: 1.0 for two-character pieces, 0.0 otherwise."),
        },
        "runs": runs,
        "numpy_check": check,
        "restored_checkpoint": {
            "note": ("The same runs on the checkpoint rebuilt in the published element order (restore_published_order "
                     "in the script: the inverse of the permutation in checkpoint.note; header, embedding, norms and "
                     "freq_cis unchanged; whether it is byte-identical to the published .bin is not known). Not a file in this "
                     "repository. When this fixture was made, the first 200 ids of its "
                     "bos_only run, decoded with the vocabulary of the stories260K.gguf named in checkpoint.note, were "
                     "byte-for-byte llama2.c test_all.py's expected_stdout for `run stories260K.bin -z tok512.bin -t 0.0 "
                     "-n 200`."),
            "sha256": hashlib.sha256(restored_raw).hexdigest(),
            "runs": restored_runs,
            "numpy_check": restored_check,
        },
    }
    out = pathlib.Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(document, indent=1) + "\n")
    for label, rs in (("checkpoint", runs), ("restored", restored_runs)):
        for r in rs:
            print(f"{label} {r['name']}: {r['generated_count']} ids, {r['stop_reason']}")
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
