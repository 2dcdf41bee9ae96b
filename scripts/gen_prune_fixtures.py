#!/usr/bin/python3
"""Generate PyTorch reference masks for wgprune's pruning tests.

Writes test/fixtures/torch_prune.json: for each case, the float32 weights of a
few small layers, the sequence of torch.nn.utils.prune calls applied to them,
and the resulting masks (weight_mask buffers). The TypeScript tests replay the
same calls with wgprune's pruning functions and compare masks; they never need
Python.

Regenerate with Debian's PyTorch (CPU, no pip):

    apt-get install -y python3-torch
    /usr/bin/python3 scripts/gen_prune_fixtures.py

Output layout (one JSON object):

    { "generator": "scripts/gen_prune_fixtures.py", "torch": "<version>",
      "cases": [ { "name",
                   "layers":  [ {"kind": "linear"|"conv2d", "shape", "data"} ],
                   "calls":   [ {"fn": "l1_unstructured" | "ln_structured" |
                                        "global_unstructured",
                                 "layer": i            # or "layers": [i, ...]
                                 "amount": x, "amount_is_int": bool,
                                 "n": p, "dim": d } ],  # ln_structured only
                   "masks":   [ {"shape", "data"} ] } ] }   # one per layer

Only deterministic (random-free) methods are covered. The weights are drawn so
that no two |w| (nor two slice norms) coincide, so the masks have no ties.
Every weight is a float32 written in its shortest round-tripping decimal.
"""

import json
import os
import zlib

import torch
import torch.nn as nn
import torch.nn.utils.prune as prune

from fixture_io import ser  # scripts/ is on sys.path when a generator is run directly

HERE = os.path.dirname(os.path.abspath(__file__))
OUT_PATH = os.path.join(HERE, "..", "test", "fixtures", "torch_prune.json")

torch.set_num_threads(1)

def distinct_weights(shape, seed):
    """Normal weights whose magnitudes are pairwise distinct (redrawn until so)."""
    g = torch.Generator().manual_seed(seed)
    while True:
        w = torch.randn(shape, generator=g)
        a = w.abs().reshape(-1)
        if torch.unique(a).numel() == a.numel() and a.min() > 1e-3:
            return w


def make_layer(kind, shape, seed):
    if kind == "linear":
        m = nn.Linear(shape[1], shape[0])
    else:
        m = nn.Conv2d(shape[1], shape[0], tuple(shape[2:]))
    with torch.no_grad():
        m.weight.copy_(distinct_weights(shape, seed))
    return m


def amount_value(call):
    return int(call["amount"]) if call["amount_is_int"] else float(call["amount"])


def apply_call(mods, call):
    fn = call["fn"]
    if fn == "l1_unstructured":
        prune.l1_unstructured(mods[call["layer"]], "weight", amount=amount_value(call))
    elif fn == "ln_structured":
        prune.ln_structured(mods[call["layer"]], "weight", amount=amount_value(call), n=call["n"], dim=call["dim"])
    elif fn == "global_unstructured":
        params = [(mods[i], "weight") for i in call["layers"]]
        prune.global_unstructured(params, pruning_method=prune.L1Unstructured, amount=amount_value(call))
    else:
        raise ValueError(fn)


def check_no_ties(mods, calls):
    """Slice norms used by ln_structured calls must be distinct too."""
    for call in calls:
        if call["fn"] != "ln_structured":
            continue
        w = mods[call["layer"]].weight.detach()
        dims = [d for d in range(w.dim()) if d != call["dim"] % w.dim()]
        norms = torch.norm(w, p=call["n"], dim=dims)
        assert torch.unique(norms).numel() == norms.numel(), "tied slice norms"


def case(name, layers, calls):
    seed = zlib.crc32(name.encode("utf-8"))
    mods = [make_layer(kind, shape, seed + i) for i, (kind, shape) in enumerate(layers)]
    check_no_ties(mods, calls)
    initial = [ser(m.weight) for m in mods]
    for c in calls:
        apply_call(mods, c)
    masks = []
    for m in mods:
        mask = getattr(m, "weight_mask", None)
        masks.append(ser(mask if mask is not None else torch.ones_like(m.weight)))
    return {
        "name": name,
        "layers": [{"kind": kind, **w} for (kind, _), w in zip(layers, initial)],
        "calls": calls,
        "masks": masks,
    }


def l1(layer, amount, is_int=False):
    return {"fn": "l1_unstructured", "layer": layer, "amount": amount, "amount_is_int": is_int}


def ln(layer, amount, n, dim, is_int=False):
    return {"fn": "ln_structured", "layer": layer, "amount": amount, "amount_is_int": is_int, "n": n, "dim": dim}


def glob(layers, amount, is_int=False):
    return {"fn": "global_unstructured", "layers": layers, "amount": amount, "amount_is_int": is_int}


LIN = ("linear", [6, 5])
CONV = ("conv2d", [4, 3, 3, 3])
LIN_B = ("linear", [8, 7])


def all_cases():
    cases = []
    # l1_unstructured: fractional, integer, rounding edge cases (Python's round).
    cases.append(case("l1_linear_0.3", [LIN], [l1(0, 0.3)]))
    cases.append(case("l1_linear_int7", [LIN], [l1(0, 7, True)]))
    cases.append(case("l1_conv_0.5", [CONV], [l1(0, 0.5)]))
    cases.append(case("l1_linear_all_1.0", [LIN], [l1(0, 1.0)]))
    cases.append(case("l1_linear_int1", [LIN], [l1(0, 1, True)]))
    cases.append(case("l1_round_half_even_0.25_of_10", [("linear", [2, 5])], [l1(0, 0.25)]))
    cases.append(case("l1_round_0.35_of_10", [("linear", [2, 5])], [l1(0, 0.35)]))
    cases.append(case("l1_round_0.45_of_10", [("linear", [2, 5])], [l1(0, 0.45)]))
    # ln_structured: n = 1 and 2, dim 0 and 1 (and -1), fractional and integer amounts.
    for n in (1, 2):
        for dim in (0, 1):
            cases.append(case(f"ln_linear_n{n}_dim{dim}_0.5", [LIN_B], [ln(0, 0.5, n, dim)]))
            cases.append(case(f"ln_linear_n{n}_dim{dim}_int3", [LIN_B], [ln(0, 3, n, dim, True)]))
            cases.append(case(f"ln_conv_n{n}_dim{dim}_0.4", [CONV], [ln(0, 0.4, n, dim)]))
            cases.append(case(f"ln_conv_n{n}_dim{dim}_int1", [CONV], [ln(0, 1, n, dim, True)]))
    cases.append(case("ln_conv_n2_dim-1_0.34", [CONV], [ln(0, 0.34, 2, -1)]))
    cases.append(case("ln_conv_n2_dim2_int2", [CONV], [ln(0, 2, 2, 2, True)]))
    # global_unstructured over three layers of different shapes.
    three = [LIN, CONV, ("linear", [3, 4])]
    cases.append(case("global_three_0.6", three, [glob([0, 1, 2], 0.6)]))
    cases.append(case("global_three_int50", three, [glob([0, 1, 2], 50, True)]))
    cases.append(case("global_two_of_three_0.3", three, [glob([0, 2], 0.3)]))
    # Repeated pruning: masks accumulate, amounts count what is still alive.
    cases.append(case("repeat_l1_0.5_then_0.5", [LIN_B], [l1(0, 0.5), l1(0, 0.5)]))
    cases.append(case("repeat_l1_0.3_then_int5", [CONV], [l1(0, 0.3), l1(0, 5, True)]))
    cases.append(case("repeat_ln_dim0_then_ln_dim0", [LIN_B], [ln(0, 0.25, 2, 0), ln(0, 0.5, 2, 0)]))
    cases.append(case("repeat_l1_then_ln_dim1", [LIN_B], [l1(0, 0.4), ln(0, 2, 1, 1, True)]))
    cases.append(case("repeat_global_0.5_then_0.5", three, [glob([0, 1, 2], 0.5), glob([0, 1, 2], 0.5)]))
    cases.append(case("repeat_l1_then_global", three, [l1(1, 0.5), glob([0, 1, 2], 0.4)]))
    return cases


def main():
    out = {"generator": "scripts/gen_prune_fixtures.py", "torch": torch.__version__, "cases": all_cases()}
    with open(OUT_PATH, "w") as f:
        json.dump(out, f, separators=(",", ":"))
        f.write("\n")
    print(f"wrote {len(out['cases'])} cases to {os.path.relpath(OUT_PATH)}")


if __name__ == "__main__":
    main()
