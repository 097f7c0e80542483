#!/usr/bin/env python3
"""Writes the fuzzers' seed corpora, small inputs built from Tests/Fixtures, into
OUT/<target>/ (default Fuzz/.seeds). Large fixtures are cut down: GGUF models keep
their metadata with tiny tensors, safetensors keep their tensor names with tiny
shapes, llama2.c checkpoints are written with tiny sizes in each layout. Every crash
fixture under Tests/Fixtures/fuzz/<target>/ (and fuzz-open/<target>/) is a seed too."""
import json, os, shutil, struct, sys

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
FIX = os.path.join(ROOT, "Tests", "Fixtures")
OUT = sys.argv[1] if len(sys.argv) > 1 else os.path.join(ROOT, "Fuzz", ".seeds")
TARGETS = ["gguf", "safetensors", "hf-config", "llama2c", "tokenizer-json", "tokenizer-model", "converter-config", "chat-template", "tool-calls"]


def put(target, name, data):
    folder = os.path.join(OUT, target)
    os.makedirs(folder, exist_ok=True)
    with open(os.path.join(folder, name), "wb") as f:
        f.write(data)


def fixture(path):
    with open(os.path.join(FIX, path), "rb") as f:
        return f.read()


# GGUF: read metadata and tensor infos, write them again with [32, 2] f32 tensors.
SCALAR = {0: "B", 1: "b", 2: "H", 3: "h", 4: "I", 5: "i", 6: "f", 7: "?", 10: "Q", 11: "q", 12: "d"}


def gguf_read(data):
    pos = 0

    def take(fmt):
        nonlocal pos
        value = struct.unpack_from("<" + fmt, data, pos)
        pos += struct.calcsize("<" + fmt)
        return value[0]

    def string():
        nonlocal pos
        n = take("Q")
        s = data[pos:pos + n]
        pos += n
        return s

    def value(t):
        if t in SCALAR:
            return take(SCALAR[t])
        if t == 8:
            return string()
        et, n = take("I"), take("Q")
        return (et, [value(et) for _ in range(n)])

    magic, version, n_tensors, n_kv = take("I"), take("I"), take("Q"), take("Q")
    kv = []
    for _ in range(n_kv):
        key = string()
        t = take("I")
        kv.append((key, t, value(t)))
    tensors = []
    for _ in range(n_tensors):
        name = string()
        dims = [take("Q") for _ in range(take("I"))]
        tensors.append((name, dims, take("I"), take("Q")))
    return version, kv, tensors


def gguf_write(version, kv, tensors):
    out = bytearray(struct.pack("<IIQQ", 0x46554747, version, len(tensors), len(kv)))

    def value(t, v):
        if t in SCALAR:
            out.extend(struct.pack("<" + SCALAR[t], v))
        elif t == 8:
            out.extend(struct.pack("<Q", len(v)) + v)
        else:
            et, items = v
            out.extend(struct.pack("<IQ", et, len(items)))
            for item in items:
                value(et, item)

    for key, t, v in kv:
        out.extend(struct.pack("<Q", len(key)) + key + struct.pack("<I", t))
        value(t, v)
    offset = 0
    for name, dims in tensors:
        out.extend(struct.pack("<Q", len(name)) + name + struct.pack("<I", len(dims)))
        out.extend(b"".join(struct.pack("<Q", d) for d in dims) + struct.pack("<IQ", 0, offset))
        size = 4
        for d in dims:
            size *= d
        offset += (size + 31) // 32 * 32
    out.extend(b"\0" * ((-len(out)) % 32))
    out.extend(b"\0" * offset)
    return bytes(out)


def gguf_seeds():
    put("gguf", "reference.gguf", fixture("formats/reference.gguf"))
    for model in sorted(os.listdir(os.path.join(FIX, "models"))):
        path = os.path.join("models", model, "model-f32.gguf")
        if not os.path.exists(os.path.join(FIX, path)):
            continue
        version, kv, tensors = gguf_read(fixture(path))
        small = [(name, [32, 2] if len(dims) > 1 else [32]) for name, dims, _, _ in tensors]
        put("gguf", model + ".gguf", gguf_write(version, kv, small))
        # The same model without its vocabulary, so the header is small.
        plain = [(k, t, v) for k, t, v in kv if not k.startswith(b"tokenizer.ggml.") or t != 9]
        put("gguf", model + "-no-vocabulary.gguf", gguf_write(version, plain, small[:4]))
    # A small byte-level BPE vocabulary (tokenizer.ggml.model = gpt2): the 256 byte
    # characters of GPT-2's alphabet, a few merges, control and user-defined tokens.
    printable = list(range(0x21, 0x7F)) + list(range(0xA1, 0xAD)) + list(range(0xAE, 0x100))
    extra = iter(range(256, 512))
    alphabet = [chr(b) if b in printable else chr(next(extra)) for b in range(256)]
    words = ["he", "ll", "hell", "hello", "\u0120w", "or", "\u0120wor", "ld", "\u0120world"]
    tokens = alphabet + words + ["<|begin_of_text|>", "<|eot_id|>", "<think>"]
    merges = ["h e", "l l", "he ll", "hell o", "\u0120 w", "o r", "\u0120w or", "l d", "\u0120wor ld"]
    kv = [
        (b"general.architecture", 8, b"llama"),
        (b"tokenizer.ggml.model", 8, b"gpt2"),
        (b"tokenizer.ggml.pre", 8, b"llama-bpe"),
        (b"tokenizer.ggml.tokens", 9, (8, [t.encode() for t in tokens])),
        (b"tokenizer.ggml.token_type", 9, (5, [1] * (len(tokens) - 3) + [3, 3, 4])),
        (b"tokenizer.ggml.merges", 9, (8, [m.encode() for m in merges])),
        (b"tokenizer.ggml.bos_token_id", 4, len(tokens) - 3),
        (b"tokenizer.ggml.eos_token_id", 4, len(tokens) - 2),
    ]
    put("gguf", "byte-level-vocabulary.gguf", gguf_write(3, kv, []))


def safetensors_file(header, data):
    text = json.dumps(header, separators=(",", ":")).encode()
    return struct.pack("<Q", len(text)) + text + data


def safetensors_seeds():
    put("safetensors", "single.safetensors", fixture("formats/safetensors/single.safetensors"))
    sizes = {"F32": 4, "F16": 2, "BF16": 2, "I64": 8, "I8": 1, "U8": 1}
    for path in ["models/llama-mha/model.safetensors", "models/yi-gqa-bf16-sharded/model-00001-of-00004.safetensors"]:
        raw = fixture(path)
        (length,) = struct.unpack_from("<Q", raw)
        header = json.loads(raw[8:8 + length])
        small, offset = {}, 0
        for name, entry in header.items():
            if name == "__metadata__":
                small[name] = entry
                continue
            shape = [2, 2] if len(entry["shape"]) > 1 else [2]
            size = sizes.get(entry["dtype"], 4) * (4 if len(shape) > 1 else 2)
            small[name] = {"dtype": entry["dtype"], "shape": shape, "data_offsets": [offset, offset + size]}
            offset += size
        put("safetensors", os.path.basename(os.path.dirname(path)) + ".safetensors", safetensors_file(small, bytes(range(256)) * (offset // 256) + bytes(offset % 256)))
    # Unaligned data, an empty tensor, a scalar and an unknown dtype.
    header = {"a": {"dtype": "F16", "shape": [3], "data_offsets": [0, 6]}, "b": {"dtype": "F32", "shape": [], "data_offsets": [6, 10]},
              "c": {"dtype": "BF16", "shape": [0, 4], "data_offsets": [10, 10]}, "d": {"dtype": "F8_E4M3", "shape": [2], "data_offsets": [10, 12]},
              "__metadata__": {"format": "pt"}}
    put("safetensors", "mixed.safetensors", safetensors_file(header, bytes(12)))


def config_seeds():
    for model in sorted(os.listdir(os.path.join(FIX, "models"))):
        path = os.path.join("models", model, "config.json")
        if os.path.exists(os.path.join(FIX, path)):
            for target in ["hf-config", "converter-config"]:
                put(target, model + ".json", fixture(path))
    base = json.loads(fixture("models/llama-mha/config.json"))
    variants = {
        "head-dim": {"head_dim": base["hidden_size"] // base["num_attention_heads"]},
        "rope-linear": {"rope_scaling": {"rope_type": "linear", "factor": 2.0}},
        "rope-parameters": {"rope_parameters": {"rope_theta": 500000.0, "rope_type": "linear", "factor": 4.0}},
        "eos-list": {"eos_token_id": [2, 3], "pad_token_id": None, "tie_word_embeddings": True},
        "gqa": {"num_key_value_heads": 1, "dtype": "bfloat16"},
    }
    for name, change in variants.items():
        text = json.dumps({**base, **change}, indent=2).encode()
        for target in ["hf-config", "converter-config"]:
            put(target, "llama-mha-" + name + ".json", text)


def tokenizer_seeds():
    for model in sorted(os.listdir(os.path.join(FIX, "models"))):
        for name, target in [("tokenizer.json", "tokenizer-json"), ("tokenizer.model", "tokenizer-model")]:
            path = os.path.join("models", model, name)
            if os.path.exists(os.path.join(FIX, path)):
                put(target, model + "-" + name, fixture(path))
    # Byte-level BPE (ByteLevel / Split pre-tokenizers, ByteLevel decoder).
    for model in sorted(os.listdir(os.path.join(FIX, "byte-level"))):
        path = os.path.join("byte-level", model, "tokenizer.json")
        if os.path.exists(os.path.join(FIX, path)):
            put("tokenizer-json", "byte-level-" + model + "-tokenizer.json", fixture(path))


def llama2c_file(version, fields, shared=True, group=4):
    d, hidden, layers, heads, kv_heads, vocab, seq = fields
    head = d // heads
    kv = kv_heads * head
    norms = layers * 2 * d + d
    matrices = layers * (2 * d * d + 2 * kv * d + 3 * hidden * d)
    if version == 0:
        count = vocab * d + norms + matrices + seq * (head // 2) * 2 + (0 if shared else vocab * d)
        v = vocab if shared else -vocab
        return struct.pack("<7i", d, hidden, layers, heads, kv_heads, v, seq) + bytes(4 * count)
    header = struct.pack("<Ii7iB", 0x616B3432, version, *fields, 1 if shared else 0)
    if version == 2:
        header += struct.pack("<i", group)
    header = header.ljust(256, b"\0")
    weights = matrices + vocab * d * (1 if shared else 2)
    if version == 1:
        return header + bytes(4 * (norms + weights))
    return header + bytes(4 * norms) + bytes(weights) + bytes(4 * (weights // group))


def llama2c_seeds():
    tiny = (8, 16, 1, 2, 1, 32, 8)
    put("llama2c", "legacy-shared.bin", llama2c_file(0, tiny))
    put("llama2c", "legacy-unshared.bin", llama2c_file(0, tiny, shared=False))
    put("llama2c", "v1.bin", llama2c_file(1, tiny))
    put("llama2c", "v2.bin", llama2c_file(2, tiny, shared=False))
    put("llama2c", "v2-group8.bin", llama2c_file(2, (8, 16, 2, 4, 2, 16, 4), group=8))
    for name in ["formats/stories260K-v1.bin", "formats/stories260K-v2.bin", "shared/stories260K.bin"]:
        put("llama2c", os.path.basename(name) + ".header", fixture(name)[:512])


def chat_template_seeds():
    """The shared real templates (../shared/fixtures/chat-templates beside the clone), the
    small language pieces of Tests/Fixtures/jinja, and the templates in the model fixtures."""
    shared = os.path.join(os.path.dirname(ROOT), "shared", "fixtures", "chat-templates")
    if os.path.isdir(shared):
        for name in sorted(os.listdir(shared)):
            if name.endswith(".jinja"):
                with open(os.path.join(shared, name), "rb") as f:
                    put("chat-template", name, f.read())
    for index, case in enumerate(json.loads(fixture(os.path.join("jinja", "semantics.json")))):
        put("chat-template", f"semantics-{index}.jinja", case["template"].encode("utf-8"))
    for model in ["qwen2-bias", "qwen3-qknorm"]:
        config = json.loads(fixture(os.path.join("models", model, "tokenizer_config.json")))
        if isinstance(config.get("chat_template"), str):
            put("chat-template", model + ".jinja", config["chat_template"].encode("utf-8"))


def tool_call_seeds():
    """Replies with tool calls in each format the parsers know."""
    replies = [
        'Let me check.\n<tool_call>\n{"name": "get_weather", "arguments": {"city": "Paris"}}\n</tool_call>',
        '<tool_call>\n{"name": "a", "arguments": {}}\n</tool_call>\n<tool_call>\n{"name": "b", "arguments": "{\\"x\\": [1, 2]}"}',
        '{"type": "function", "name": "get_weather", "parameters": {"city": "Paris"}}; {"name": "t", "parameters": {}}',
        '<|python_tag|>brave_search.call(query="weather in Paris", count=3)',
        '[TOOL_CALLS][{"name": "get_weather", "arguments": {"city": "Paris"}, "id": "a1b2c3d4e"}]',
        'Sure.[TOOL_CALLS]get_weather[ARGS]{"city": "Paris"}[TOOL_CALLS]get_time[ARGS]{}',
        'Let me call it.\n<function=edit>\n<parameter=file>\n1.c\n</parameter>\n<parameter=line>\n12\n</parameter>\n</function>\n</tool_call>\n<tool_call>\n<function=f>\n</function>',
        'Plain text with {braces} and [brackets].',
    ]
    for index, reply in enumerate(replies):
        put("tool-calls", f"reply-{index}.txt", reply.encode("utf-8"))


def crash_seeds():
    for folder in ["fuzz", "fuzz-open"]:
        for target in TARGETS:
            path = os.path.join(FIX, folder, target)
            if os.path.isdir(path):
                for name in sorted(os.listdir(path)):
                    if not name.endswith(".md"):
                        put(target, folder + "-" + name, fixture(os.path.join(folder, target, name)))


if __name__ == "__main__":
    shutil.rmtree(OUT, ignore_errors=True)
    gguf_seeds(); safetensors_seeds(); config_seeds(); tokenizer_seeds(); llama2c_seeds(); chat_template_seeds(); tool_call_seeds(); crash_seeds()
    for target in TARGETS:
        folder = os.path.join(OUT, target)
        files = os.listdir(folder)
        print(f"{target}: {len(files)} seeds, {sum(os.path.getsize(os.path.join(folder, f)) for f in files)} bytes")
