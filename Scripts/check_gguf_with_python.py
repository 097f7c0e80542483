#!/usr/bin/env python3
"""Reads a GGUF file written by this package with the `gguf` Python package's
GGUFReader and checks that it sees the same metadata, tensors and values as in
Tests/Fixtures/formats/reference.gguf.json (what GGUFReader saw in the reference file
that the gguf package itself wrote).

The GGUF tests write their copy of that file when GGUF_WRITER_CHECK_PATH is set:

    GGUF_WRITER_CHECK_PATH=/tmp/written.gguf swift test --filter GGUFTests
    python3 Scripts/check_gguf_with_python.py /tmp/written.gguf
"""
import json
import pathlib
import sys

import gguf
import numpy as np

ROOT = pathlib.Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "Scripts"))
from generate_format_fixtures import field_value  # noqa: E402


def main():
    path = sys.argv[1]
    expected = json.loads((ROOT / "Tests/Fixtures/formats/reference.gguf.json").read_text())
    reader = gguf.GGUFReader(path)
    problems = []
    fields = {f.name: f for f in reader.fields.values()}
    for entry in expected["metadata"]:
        field = fields.get(entry["key"])
        if field is None:
            problems.append(f"missing metadata {entry['key']}")
            continue
        if [t.name for t in field.types] != entry["types"]:
            problems.append(f"{entry['key']}: types {[t.name for t in field.types]} != {entry['types']}")
        if field_value(field) != entry["value"]:
            problems.append(f"{entry['key']}: {field_value(field)!r} != {entry['value']!r}")
    tensors = {t.name: t for t in reader.tensors}
    for entry in expected["tensors"]:
        t = tensors.get(entry["name"])
        if t is None:
            problems.append(f"missing tensor {entry['name']}")
            continue
        values = gguf.quants.dequantize(t.data, t.tensor_type).astype(np.float32).ravel().view(np.uint32)
        if [int(x) for x in t.shape] != entry["shape"] or t.tensor_type.name != entry["type"]:
            problems.append(f"{entry['name']}: shape/type {list(t.shape)} {t.tensor_type.name}")
        elif [int(b) for b in values] != entry["float_bits"]:
            problems.append(f"{entry['name']}: values differ")
    if len(reader.tensors) != len(expected["tensors"]):
        problems.append(f"{len(reader.tensors)} tensors, expected {len(expected['tensors'])}")
    if problems:
        print("\n".join(problems))
        sys.exit(1)
    print(f"{path}: GGUFReader sees the same {len(expected['metadata'])} metadata fields and {len(expected['tensors'])} tensors")


if __name__ == "__main__":
    main()
