#!/usr/bin/env python3
"""Reference blocks for TensorCore's quantization tests, made with the `gguf` package.

For each type that `gguf.quants` can quantize, random and edge-case float32 rows and
the bytes `gguf.quants.quantize` makes of them; for each type it can dequantize,
random blocks and the float32 values `gguf.quants.dequantize` gives for them.

Usage:  pip install gguf numpy && python3 Scripts/generate_quantization_fixtures.py
Writes: Tests/TensorCoreTests/Fixtures/quantization.json
"""
import importlib.metadata
import json
import pathlib
import warnings

import gguf
import numpy as np
from gguf import GGMLQuantizationType as T
from gguf.constants import GGML_QUANT_SIZES

OUT = pathlib.Path(__file__).resolve().parent.parent / "Tests/TensorCoreTests/Fixtures/quantization.json"
rng = np.random.default_rng(20261123)

QUANTIZE = {"f16": T.F16, "bf16": T.BF16, "q8_0": T.Q8_0, "q4_0": T.Q4_0, "q4_1": T.Q4_1, "q5_0": T.Q5_0, "q5_1": T.Q5_1}
DEQUANTIZE = {
    "f16": T.F16, "bf16": T.BF16, "q8_0": T.Q8_0, "q4_0": T.Q4_0, "q4_1": T.Q4_1, "q5_0": T.Q5_0, "q5_1": T.Q5_1,
    "q2_K": T.Q2_K, "q3_K": T.Q3_K, "q4_K": T.Q4_K, "q5_K": T.Q5_K, "q6_K": T.Q6_K,
}
# Byte offsets of the f16 scale fields in each block, set to finite values so the
# decoded values are finite (random bytes there could be NaN or infinity).
SCALE_OFFSETS = {
    "q8_0": [0], "q4_0": [0], "q4_1": [0, 2], "q5_0": [0], "q5_1": [0, 2],
    "q2_K": [80, 82], "q3_K": [108], "q4_K": [0, 2], "q5_K": [0, 2], "q6_K": [208],
}


def edge_rows(n):
    """Rows of n values that exercise rounding and sign edge cases."""
    rows = [
        np.zeros(n, dtype=np.float32),
        np.full(n, 1.0, dtype=np.float32),
        np.full(n, -3.5, dtype=np.float32),
        # Exact halfway points after scaling (max 127 → d = 1 for q8_0).
        (np.arange(n, dtype=np.float32) % 64 - 31.5).astype(np.float32) * np.float32(127 / 31.5),
        # Equal magnitudes of both signs: the first one must win.
        np.tile(np.array([-2.0, 2.0], dtype=np.float32), n // 2),
        np.tile(np.array([2.0, -2.0], dtype=np.float32), n // 2),
        # Tiny and huge magnitudes, including f16 subnormal scales and overflow.
        (rng.standard_normal(n) * 1e-6).astype(np.float32),
        (rng.standard_normal(n) * 1e-9).astype(np.float32),
        (rng.standard_normal(n) * 3e4).astype(np.float32),
        (rng.standard_normal(n) * 1e6).astype(np.float32),
        # A single outlier among small values.
        np.where(np.arange(n) == 5, np.float32(40.0), rng.standard_normal(n).astype(np.float32) * 0.01).astype(np.float32),
    ]
    return rows


def main():
    fixture = {"generator": "Scripts/generate_quantization_fixtures.py", "gguf_version": importlib.metadata.version("gguf"),
               "quantize": [], "dequantize": []}
    for name, qtype in QUANTIZE.items():
        block, _ = GGML_QUANT_SIZES[qtype]
        n = max(block, 64) if block == 1 else block * 2
        rows = edge_rows(n) + [rng.standard_normal(n).astype(np.float32) * np.float32(s) for s in (0.02, 1.0, 7.0)]
        for row in rows:
            q = gguf.quants.quantize(row.reshape(1, -1), qtype)
            fixture["quantize"].append({
                "type": name,
                "values": [float(v) for v in row],
                "bytes": q.tobytes().hex(),
            })
    for name, qtype in DEQUANTIZE.items():
        block, size = GGML_QUANT_SIZES[qtype]
        count = 4
        for _ in range(3):
            if block == 1:
                values = (rng.standard_normal(64) * 5).astype(np.float32)
                raw = values.astype(np.float16).view(np.uint8) if name == "f16" else gguf.quants.quantize(values, qtype).view(np.uint8)
                raw = raw.reshape(1, -1)
            else:
                raw = rng.integers(0, 256, size=(count, size), dtype=np.uint8)
                for offset in SCALE_OFFSETS[name]:
                    scales = (rng.standard_normal(count) * 0.05).astype(np.float16).view(np.uint8).reshape(count, 2)
                    raw[:, offset:offset + 2] = scales
                raw = raw.reshape(1, -1)
            values = gguf.quants.dequantize(raw, qtype)
            fixture["dequantize"].append({
                "type": name,
                "bytes": raw.tobytes().hex(),
                "float_bits": [int(b) for b in values.astype(np.float32).view(np.uint32).ravel()],
            })
    OUT.write_text(json.dumps(fixture, separators=(",", ":")) + "\n")
    print(f"wrote {OUT} ({OUT.stat().st_size} bytes): {len(fixture['quantize'])} quantize cases, {len(fixture['dequantize'])} dequantize cases")


if __name__ == "__main__":
    # Some edge rows overflow f16 on purpose (the scale becomes infinity); NumPy warns.
    warnings.filterwarnings("ignore", category=RuntimeWarning)
    main()
