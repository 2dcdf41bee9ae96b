"""Serialisation shared by the offline fixture generators (gen_*fixtures.py).

Tensors are written as {"shape": [...], "data": [flat row-major floats]} where each
float is the shortest decimal that round-trips to the same float32, so the JSON stays
compact yet float32-exact.
"""
import numpy as np
import torch


def f32(v):
    """Shortest decimal that round-trips to the same float32, as a Python float.

    json.dumps writes a Python float with repr(), which is the shortest string for the
    *double*; for a double parsed from the shortest float32 string that is the same
    short string.
    """
    s = np.format_float_positional(np.float32(v), unique=True, trim="-")
    out = float(s)
    assert np.float32(out) == np.float32(v), (v, s)
    return out


def ser(t):
    """Serialise a tensor as {"shape": [...], "data": [flat row-major float32 values]}."""
    t = t.detach().to(torch.float32).contiguous()
    data = t.reshape(-1).tolist()
    assert all(np.isfinite(d) for d in data), "non-finite value in fixture"
    return {"shape": list(t.shape), "data": [f32(d) for d in data]}
