#!/usr/bin/env python3
"""How llama.cpp's converter stores a Hugging Face folder's chat templates in GGUF, for
Tests/WeightConverterTests/ChatTemplateMetadataTests.swift.

For each variant of where a folder keeps its templates (tokenizer_config.json's
chat_template as a text or as a list of named templates, chat_template.jinja with
additional_chat_templates/, chat_template.json, none), builds the folder from
Tests/Fixtures/models/qwen2-bias's tokenizer files, runs gguf-py's SpecialVocab and
GGUFWriter on it (as convert_hf_to_gguf.py does) into a GGUF file, reads the file's
tokenizer.chat_template* keys back, and writes
Tests/Fixtures/chat-templates/gguf-py-chat-template-metadata.json:
{variant: {"files": {relative path: text}, "config_chat_template": value or absent,
"metadata": {key: value}}}.

Usage: PYTHONPATH=<llama.cpp 0c1e570>/gguf-py python3 Scripts/generate_chat_template_metadata.py
(the committed file: the gguf-py vendored in the llama-cpp-python 0.3.36 sdist).
"""
import json
import pathlib
import shutil
import tempfile

import gguf

ROOT = pathlib.Path(__file__).resolve().parent.parent
SOURCE = ROOT / "Tests/Fixtures/models/qwen2-bias"
OUT = ROOT / "Tests/Fixtures/chat-templates/gguf-py-chat-template-metadata.json"

DEFAULT = "{% for m in messages %}{{ m.role }}: {{ m.content }}\n{% endfor %}"
TOOL_USE = "{{ tools | tojson }}\n{% for m in messages %}{{ m.role }}: {{ m.content }}\n{% endfor %}"
VARIANTS = {
    "config-text": {"config_chat_template": DEFAULT, "files": {}},
    "config-list": {"config_chat_template": [{"name": "default", "template": DEFAULT}, {"name": "tool_use", "template": TOOL_USE},
                                             {"name": "rag mode", "template": "R"}, {"name": "unnamed"}], "files": {}},
    "config-list-without-default": {"config_chat_template": [{"name": "tool_use", "template": TOOL_USE}], "files": {}},
    "jinja-files": {"files": {"chat_template.jinja": DEFAULT, "additional_chat_templates/tool_use.jinja": TOOL_USE}},
    "jinja-file-and-config": {"config_chat_template": "C", "files": {"chat_template.jinja": DEFAULT}},
    "json-file": {"files": {"chat_template.json": json.dumps({"chat_template": DEFAULT})}},
    "none": {"files": {}},
}


def main():
    out = {}
    for name, variant in VARIANTS.items():
        with tempfile.TemporaryDirectory() as tmp:
            folder = pathlib.Path(tmp) / "model"
            folder.mkdir()
            for file in ["tokenizer.json", "config.json"]:
                shutil.copy(SOURCE / file, folder / file)
            config = json.loads((SOURCE / "tokenizer_config.json").read_text(encoding="utf-8"))
            config.pop("chat_template", None)
            if "config_chat_template" in variant:
                config["chat_template"] = variant["config_chat_template"]
            (folder / "tokenizer_config.json").write_text(json.dumps(config, ensure_ascii=False), encoding="utf-8")
            for path, text in variant["files"].items():
                (folder / path).parent.mkdir(parents=True, exist_ok=True)
                (folder / path).write_text(text, encoding="utf-8")
            writer = gguf.GGUFWriter(pathlib.Path(tmp) / "out.gguf", "qwen2")
            gguf.SpecialVocab(folder, load_merges=False).add_to_gguf(writer)
            writer.write_header_to_file()
            writer.write_kv_data_to_file()
            writer.close()
            reader = gguf.GGUFReader(pathlib.Path(tmp) / "out.gguf")
            metadata = {}
            for key, field in reader.fields.items():
                if key.startswith("tokenizer.chat_template"):
                    value = field.contents()
                    metadata[key] = value
            entry = {"files": variant["files"], "metadata": metadata}
            if "config_chat_template" in variant:
                entry["config_chat_template"] = variant["config_chat_template"]
            out[name] = entry
    OUT.write_text(json.dumps(out, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    print(f"{len(out)} variants -> {OUT.relative_to(ROOT)}")


main()
