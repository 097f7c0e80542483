#!/usr/bin/env python3
"""Reference renderings of llama.cpp's chat templates for Tests/JinjaTests.

Renders every template of llama.cpp's models/templates folder (llama.cpp 0c1e570, as
vendored in the llama-cpp-python 0.3.36 source package; Scripts/fetch-llama-cpp-vocabularies.sh
puts the 70 templates in ~/.cache/swift-llama/llama-cpp-templates) for six conversations
(the five of render_with_jinja2.py and a round trip of a tool call and the tool's answer),
with jinja2 set up as transformers' apply_chat_template sets it up
(ImmutableSandboxedEnvironment, trim_blocks, lstrip_blocks, the loopcontrols extension,
transformers' tojson, raise_exception, strftime_now at the fixed time 2026-12-07 10:30),
exactly as ../shared/fixtures/chat-templates/render_with_jinja2.py does for its 20, and writes
Tests/Fixtures/chat-templates/llama-cpp-0c1e570-expected.json:
{template: {case: text, or {"error": message}} or {"parse_error": message}}, and the
conversations themselves to Tests/Fixtures/chat-templates/conversations.json, which the
Swift tests read. A tool call's arguments are an object and an assistant message that only
calls tools has content "", as llama.cpp's server hands them to templates; the call's id is
nine letters and digits, which Mistral's templates require.

Usage (jinja2 3.1.6 made the committed file):
    pip install jinja2==3.1.6
    python3 Scripts/generate_chat_template_references.py [TEMPLATE_FOLDER] [OUT.json]
"""
import json
import os
import pathlib
import sys
from datetime import datetime

import jinja2
from jinja2.ext import loopcontrols
from jinja2.sandbox import ImmutableSandboxedEnvironment

ROOT = pathlib.Path(__file__).resolve().parent.parent


def raise_exception(message):
    raise jinja2.exceptions.TemplateError(message)


def tojson(x, ensure_ascii=False, indent=None, separators=None, sort_keys=False):
    return json.dumps(x, ensure_ascii=ensure_ascii, indent=indent, separators=separators, sort_keys=sort_keys)


def strftime_now(fmt):
    return datetime(2026, 12, 7, 10, 30).strftime(fmt)


ENV = ImmutableSandboxedEnvironment(trim_blocks=True, lstrip_blocks=True, extensions=[loopcontrols])
ENV.filters["tojson"] = tojson
ENV.globals["raise_exception"] = raise_exception
ENV.globals["strftime_now"] = strftime_now

TOOLS = [{"type": "function", "function": {"name": "get_weather", "description": "Current weather for a city",
          "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}}}]
# The conversations of render_with_jinja2.py, and one more.
CASES = {
    "user": dict(messages=[{"role": "user", "content": "Hello! How are you?"}], add_generation_prompt=True),
    "system_user": dict(messages=[{"role": "system", "content": "You are a concise assistant."},
                                  {"role": "user", "content": "Name three rivers in France."}], add_generation_prompt=True),
    "multi_turn": dict(messages=[{"role": "system", "content": "Answer briefly."},
                                 {"role": "user", "content": "What is 2+2?"},
                                 {"role": "assistant", "content": "4."},
                                 {"role": "user", "content": "And 3+3? 用中文回答。"}], add_generation_prompt=True),
    "no_generation_prompt": dict(messages=[{"role": "user", "content": "Hi"},
                                           {"role": "assistant", "content": "Hello there."}], add_generation_prompt=False),
    "tools": dict(messages=[{"role": "user", "content": "What's the weather in Paris?"}], add_generation_prompt=True,
                  tools=TOOLS),
    "tool_call": dict(messages=[{"role": "user", "content": "What's the weather in Paris?"},
                                {"role": "assistant", "content": "", "tool_calls": [
                                    {"id": "call00001", "type": "function",
                                     "function": {"name": "get_weather", "arguments": {"city": "Paris"}}}]},
                                {"role": "tool", "tool_call_id": "call00001", "name": "get_weather",
                                 "content": "{\"temperature\": 18, \"sky\": \"clear\"}"}],
                      add_generation_prompt=True, tools=TOOLS),
}


def main():
    folder = pathlib.Path(sys.argv[1]) if len(sys.argv) > 1 else pathlib.Path.home() / ".cache/swift-llama/llama-cpp-templates"
    out_path = pathlib.Path(sys.argv[2]) if len(sys.argv) > 2 else ROOT / "Tests/Fixtures/chat-templates/llama-cpp-0c1e570-expected.json"
    out = {}
    for name in sorted(os.listdir(folder)):
        if not name.endswith(".jinja"):
            continue
        source = (folder / name).read_text(encoding="utf-8")
        try:
            template = ENV.from_string(source)
        except Exception as e:  # a template jinja2 cannot parse: the interpreter must refuse it too
            out[name] = {"parse_error": f"{type(e).__name__}: {e}"}
            continue
        results = {}
        for case, arguments in CASES.items():
            try:
                results[case] = template.render(bos_token="<s>", eos_token="</s>", **arguments)
            except Exception as e:
                results[case] = {"error": f"{type(e).__name__}: {e}"}
        out[name] = results
    out_path.write_text(json.dumps(out, ensure_ascii=False, indent=1), encoding="utf-8")
    conversations = out_path.parent / "conversations.json"
    conversations.write_text(json.dumps(CASES, ensure_ascii=False, indent=1), encoding="utf-8")
    renderings = sum(1 for v in out.values() for c in v.values() if isinstance(c, str))
    print(f"{len(out)} templates, {renderings} renderings, jinja2 {jinja2.__version__}")


main()
