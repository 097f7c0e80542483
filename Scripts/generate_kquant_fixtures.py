#!/usr/bin/env python3
"""Writes Tests/TensorCoreTests/Fixtures/kquant.json: rows of values of several shapes
(Gaussian, outliers, one-signed, zero and constant groups, tiny and huge magnitudes),
an importance vector, and the bytes ggml's own quantizers make of them for every type
the package encodes, with and without the importance vector.

The quantizers are called through ggml_quantize_chunk in llama.cpp's libggml-base, the
library llama-quantize uses, so the bytes are llama-quantize's.

    python3 Scripts/generate_kquant_fixtures.py /work/llama.cpp-0c1e570/build/bin/libggml-base.so
"""
import base64
import ctypes
import json
import pathlib
import sys

import numpy as np

ROWS_PER_SHAPE = 2
ROW_LENGTH = 512  # two 256-value super-blocks, so the importance vector's indexing is checked
TYPES = {  # name: ggml_type
    "q4_0": 2, "q4_1": 3, "q5_0": 6, "q5_1": 7, "q8_0": 8,
    "q2_K": 10, "q3_K": 11, "q4_K": 12, "q5_K": 13, "q6_K": 14,
}


def rows(rng):
    n = ROW_LENGTH
    shapes = {
        "gaussian": lambda: rng.standard_normal(n),
        "weight-like": lambda: rng.standard_normal(n) * 0.02,
        "outliers": lambda: np.where(rng.random(n) < 0.02, rng.standard_normal(n) * 40, rng.standard_normal(n)),
        "student-t": lambda: rng.standard_t(3, n) * 0.05,
        "positive": lambda: rng.random(n),
        "negative": lambda: -rng.random(n) * 3,
        "zero-groups": lambda: np.where((np.arange(n) // 16) % 3 == 0, 0.0, rng.standard_normal(n)),
        "constant-groups": lambda: np.repeat(rng.standard_normal(n // 32), 32),
        "sparse": lambda: np.where(rng.random(n) < 0.05, rng.standard_normal(n), 0.0),
        "tiny": lambda: rng.standard_normal(n) * 1e-20,
        "huge": lambda: rng.standard_normal(n) * 3e4,
        "integers": lambda: rng.integers(-8, 8, n).astype(np.float64),
    }
    out = []
    for name, make in shapes.items():
        for _ in range(ROWS_PER_SHAPE):
            out.append((name, make().astype(np.float32)))
    out.append(("zeros", np.zeros(n, dtype=np.float32)))
    return out


def main():
    library = ctypes.CDLL(sys.argv[1])
    library.ggml_quantize_chunk.restype = ctypes.c_size_t
    library.ggml_quantize_chunk.argtypes = [
        ctypes.c_int, ctypes.c_void_p, ctypes.c_void_p, ctypes.c_int64, ctypes.c_int64, ctypes.c_int64, ctypes.c_void_p]
    library.ggml_row_size.restype = ctypes.c_size_t
    library.ggml_row_size.argtypes = [ctypes.c_int, ctypes.c_int64]

    rng = np.random.default_rng(20261207)
    shaped = rows(rng)
    values = np.ascontiguousarray(np.stack([row for _, row in shaped]))
    # Importance as llama-imatrix makes it: mean squared activations, positive, uneven.
    importance = np.ascontiguousarray((rng.standard_normal(ROW_LENGTH) ** 2 * rng.random(ROW_LENGTH) * 4 + 1e-3).astype(np.float32))

    encodings = []
    for name, ggml_type in TYPES.items():
        size = library.ggml_row_size(ggml_type, ROW_LENGTH) * len(values)
        for weights in (None, importance):
            out = ctypes.create_string_buffer(size)
            written = library.ggml_quantize_chunk(
                ggml_type, values.ctypes.data, out, 0, len(values), ROW_LENGTH,
                None if weights is None else weights.ctypes.data)
            assert written == size, (name, written, size)
            encodings.append({
                "type": name,
                "importance": weights is not None,
                "bytes": base64.b64encode(out.raw).decode(),
            })

    fixture = {
        "source": "ggml_quantize_chunk of llama.cpp 0c1e570's libggml-base (llama-cpp-python 0.3.36)",
        "row_length": ROW_LENGTH,
        "shapes": [name for name, _ in shaped],
        "values": base64.b64encode(values.astype("<f4").tobytes()).decode(),
        "importance": base64.b64encode(importance.astype("<f4").tobytes()).decode(),
        "encodings": encodings,
    }
    path = pathlib.Path(__file__).resolve().parent.parent / "Tests/TensorCoreTests/Fixtures/kquant.json"
    path.write_text(json.dumps(fixture, indent=1) + "\n")
    print(f"wrote {path} ({path.stat().st_size} bytes, {len(values)} rows, {len(encodings)} encodings)")


if __name__ == "__main__":
    main()
