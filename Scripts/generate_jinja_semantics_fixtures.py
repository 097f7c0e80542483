#!/usr/bin/env python3
"""Reference outputs of small Jinja templates, each exercising a piece of the language chat
templates use (loops and loop variables, slices, namespaces, macros and call blocks,
filters, tests, break/continue, whitespace control with trim_blocks/lstrip_blocks, Python's
printing of values, filter and set blocks, string and dict methods, operators), rendered by
jinja2 set up as transformers' apply_chat_template sets it up. Writes
Tests/Fixtures/jinja/semantics.json for Tests/JinjaTests/InterpreterTests.swift.

Usage: pip install jinja2==3.1.6; python3 Scripts/generate_jinja_semantics_fixtures.py
"""
import pathlib
import json, jinja2
from jinja2.ext import loopcontrols
from jinja2.sandbox import ImmutableSandboxedEnvironment
def tojson(x, ensure_ascii=False, indent=None, separators=None, sort_keys=False):
    return json.dumps(x, ensure_ascii=ensure_ascii, indent=indent, separators=separators, sort_keys=sort_keys)
env = ImmutableSandboxedEnvironment(trim_blocks=True, lstrip_blocks=True, extensions=[loopcontrols])
env.filters["tojson"] = tojson
cases = [
 "{% for x in [1,2,3] %}{{ loop.index }}{{ loop.first }}{{ loop.last }}{{ loop.length }}{% endfor %}",
 "{{ [1,2,3][::-1] }}|{{ 'abcdef'[1:4] }}|{{ 'abc'[-1] }}|{{ [1,2,3,4][::2] }}",
 "{% set ns = namespace(a=1) %}{% for i in range(4) %}{% set ns.a = ns.a + i %}{% endfor %}{{ ns.a }}",
 "{% macro m(x, y='d') %}[{{ x }}{{ y }}{{ caller() if caller is defined else '' }}]{% endmacro %}{{ m(1) }}{% call m(2, 'z') %}c{% endcall %}",
 "{{ ' a '|trim|upper }}{{ [3,1,2]|sort|join(',') }}{{ {'b':1,'a':2}|tojson }}{{ {'a':[1,2]}|tojson(indent=2) }}",
 "{{ x is defined }}{{ none is none }}{{ 'a' is string }}{{ {} is mapping }}{{ 3 is divisibleby 3 }}{{ x is not defined }}",
 "{% for i in range(10) %}{% if i == 2 %}{% continue %}{% endif %}{% if i > 4 %}{% break %}{% endif %}{{ i }}{% endfor %}",
 "A\n  {% if true %}\n  B\n  {% endif %}\nC {{- ' D ' -}} E\n{#- c -#}\nF",
 "{{ [1, 'a', none, true, 1.5, 1e-5, 2.0] }}{{ {'a': 1, 'b': \"it's\"} }}",
 "{% filter upper %}ab{% endfilter %}{% set s %}x{{ 1 }}{% endset %}{{ s }}",
 "{{ 'a,b,,c'.split(',') }}{{ ' x '.strip() }}{{ 'abc'.startswith('a') }}{{ {'k': 2}.get('k') }}{{ {'k': 2}.get('z', 5) }}{{ 'a b  c'.split() }}",
 "{{ 'y' if 1 in [1] else 'n' }}{{ 1 ~ 'a' }}{{ 'b' in 'abc' }}{{ 'k' in {'k': 1} }}{{ 7 // 2 }}{{ -7 // 2 }}{{ 7 % 3 }}{{ -7 % 3 }}{{ 7 / 2 }}{{ 2 ** 10 }}",
 "{{ [{'n': 'a', 'v': 1}, {'n': 'b'}]|selectattr('v', 'defined')|map(attribute='n')|list }}{{ [1,2,2,3]|unique|list }}{{ {'x': 1}|items|list }}",
 "{% for k, v in {'a': 1, 'b': 2}.items() %}{{ k }}={{ v }};{% else %}none{% endfor %}{% for x in [] %}x{% else %}empty{% endfor %}",
 "{{ 'Hello World'|lower|replace('o', '0') }}|{{ 'ab'|length }}|{{ none|default('d') }}|{{ undefinedvar|default('d') }}|{{ ''|default('e', true) }}",
 "{{ '%s'|format(1) if false else 'x' }}{{ [1,2][5] is defined }}{{ (1, 2) }}{{ ['a','b']|first }}{{ ['a','b']|last }}",
 "  {% for m in ['a', 'b'] %}\n    {{ m }}\n  {% endfor %}\n",
 "{{ '\\n'|tojson }}{{ 'é\"'|tojson }}{{ 1.0|tojson }}{{ [true, none]|tojson }}",
 "{{ '%s-%d-%05.2f|%-4s|%x|%+d|%r|%%|%5s|%-6d|' % ('a', 42, 3.14159, 'b', 255, 5, 'q', 'r', -7) }}{{ '%s' % [1, 'a'] }}{{ '%d' % 3.9 }}{{ 'x' % () }}",
 "{{ '%(name)s is %(age)03d; %(name)r' % {'name': 'Ann', 'age': 7} }}{{ '%s' % {'k': 1} }}{{ 'plain' % {'k': 1} }}",
 "{{ '%s'|format('x') }}|{{ '%s and %s'|format(1, [2]) }}|{{ '%(a)s!'|format(a='k') }}|{{ '%c%c|%e|%g|%#x|%o|%.3s|%X|%+.1f|% d' % (65, 'z', 12345.678, 0.0001, 255, 8, 'abcdef', 3054, 2.25, 4) }}",
 "{% for g in [{'c': 'B', 'n': 1}, {'c': 'a', 'n': 2}, {'c': 'b', 'n': 3}, {'n': 4}]|groupby('c', default='z') %}{{ g.grouper }}:{{ g.list|map(attribute='n')|list }};{% endfor %}{% for k, l in [{'p': {'q': 2}}, {'p': {'q': 1}}, {'p': {'q': 2}}]|groupby('p.q') %}{{ k }}{{ l|length }}{% endfor %}{{ [{'c': 'B'}, {'c': 'b'}]|groupby('c', case_sensitive=true)|list }}",
 "{{ range(7)|slice(3)|list }}{{ range(6)|slice(3, 'x')|list }}{{ range(7)|slice(3, 0)|list }}{{ [[3, 'b'], [1, 'a']]|sort(attribute='0')|map(attribute='1')|join }}",
 "{% for item in [{'n': 'a', 'c': [{'n': 'b', 'c': []}, {'n': 'c', 'c': [{'n': 'd', 'c': []}]}]}, {'n': 'e', 'c': []}] recursive %}{{ loop.depth }}{{ item.n }}{% if item.c %}({{ loop(item.c) }}){% endif %}{{ ',' if not loop.last }}{% endfor %}",
]
out = pathlib.Path(__file__).resolve().parent.parent / "Tests/Fixtures/jinja/semantics.json"
out.write_text(json.dumps([{"template": c, "output": env.from_string(c).render()} for c in cases], ensure_ascii=False, indent=1) + "\n",
               encoding="utf-8")
print(f"{len(cases)} templates, jinja2 {jinja2.__version__}")
