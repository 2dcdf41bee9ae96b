#!/usr/bin/python3
"""Generate PyTorch reference fixtures for wgprune's op tests.

Writes test/fixtures/torch_ops.json: for each case, the float32 inputs, the
forward outputs and the gradients of every float input, all as computed by
PyTorch on the CPU. The TypeScript tests read that file and never need Python.

Regenerate with Debian's PyTorch (CPU, no pip):

    apt-get install -y python3-torch
    /usr/bin/python3 scripts/gen_fixtures.py

Output layout (one JSON object):

    { "generator": "scripts/gen_fixtures.py", "torch": "<torch.__version__>",
      "cases": [ { "op", "name", "params",
                   "inputs":   { name: {"shape", "data"} },
                   "upstream": {"shape", "data"},     # absent => scalar loss, seed 1.0
                   "outputs":  { "out": {...}, ... },
                   "grads":    { input name: {...} } } ] }

"data" is always the flat row-major (C-order) contents. Every number is a
float32 value written in its shortest decimal form that reads back to the
same float32 (parse as a JS number, then Math.fround / Float32Array gives
the exact value PyTorch produced).

Determinism: each case seeds torch with a CRC32 of its own name, so adding
or reordering cases never changes the data of the others, and torch runs
single-threaded so CPU reductions always sum in the same order.
"""

import json
import os
import zlib

import torch
import torch.nn.functional as F

from fixture_io import ser  # scripts/ is on sys.path when a generator is run directly

HERE = os.path.dirname(os.path.abspath(__file__))
OUT_PATH = os.path.join(HERE, "..", "test", "fixtures", "torch_ops.json")

torch.set_num_threads(1)
torch.set_default_dtype(torch.float32)


# --------------------------------------------------------------------------
# Shared helpers
# --------------------------------------------------------------------------

def seed_for(name):
    """Stable per-case seed derived from the case name."""
    return zlib.crc32(name.encode("utf-8"))


def make_case(op, name, params, inputs, forward, upstream=True):
    """Run one case: forward, backward, and package everything as a dict.

    inputs   -- dict of name -> float32 tensor (all get requires_grad)
    forward  -- callable(**inputs) -> dict of outputs; "out" is the one
                differentiated, any others (e.g. BN running stats) are
                recorded as-is
    upstream -- True: feed a random-normal gradient shaped like "out" to
                backward (recorded in the case); False: "out" is a scalar
                loss and backward is seeded with 1.0 (no "upstream" key)
    """
    leaves = {k: v.detach().clone().requires_grad_(True) for k, v in inputs.items()}
    outs = forward(**leaves)
    out = outs["out"]

    case = {
        "op": op,
        "name": name,
        "params": params,
        "inputs": {k: ser(v) for k, v in leaves.items()},
    }
    if upstream:
        g = torch.randn(out.shape)
        out.backward(g)
        case["upstream"] = ser(g)
    else:
        assert out.dim() == 0, "scalar-loss case must produce a 0-d output"
        out.backward()
    case["outputs"] = {k: ser(v) for k, v in outs.items()}
    case["grads"] = {k: ser(v.grad) for k, v in leaves.items()}
    return case


# --------------------------------------------------------------------------
# Op families (one function each; every case calls torch.manual_seed first)
# --------------------------------------------------------------------------

def conv2d_cases():
    # (name, N, C, H, W, OC, (KH, KW), stride, padding, dilation, bias)
    specs = [
        ("conv2d_1x1_c4_oc3", 2, 4, 5, 5, 3, (1, 1), (1, 1), (0, 0), (1, 1), True),
        ("conv2d_3x3_s1_p1", 2, 3, 6, 6, 4, (3, 3), (1, 1), (1, 1), (1, 1), True),
        ("conv2d_lenet_5x5_1to6_12x12", 2, 1, 12, 12, 6, (5, 5), (1, 1), (0, 0), (1, 1), True),
        # 8x8, k3, s2, p1: (8+2-3)/2 = 3.5 -> output size uses floor (4x4)
        ("conv2d_3x3_s2_p1_nobias", 1, 2, 8, 8, 3, (3, 3), (2, 2), (1, 1), (1, 1), False),
        ("conv2d_3x3_dil2", 1, 2, 9, 9, 2, (3, 3), (1, 1), (0, 0), (2, 2), True),
        ("conv2d_2x3_s21_p10_nobias", 1, 2, 7, 8, 3, (2, 3), (2, 1), (1, 0), (1, 1), False),
        ("conv2d_odd_7x9_c3_oc5_n2", 2, 3, 7, 9, 5, (3, 3), (1, 1), (1, 1), (1, 1), True),
        ("conv2d_3x3_s2_p2_dil2", 1, 3, 9, 10, 2, (3, 3), (2, 2), (2, 2), (2, 2), True),
    ]
    cases = []
    for name, n, c, h, w, oc, k, stride, pad, dil, bias in specs:
        torch.manual_seed(seed_for(name))
        inputs = {
            "x": torch.randn(n, c, h, w),
            "weight": torch.randn(oc, c, *k) * 0.5,
        }
        if bias:
            inputs["bias"] = torch.randn(oc)
        params = {"stride": list(stride), "padding": list(pad),
                  "dilation": list(dil), "bias": bias}

        def fwd(x, weight, bias=None, stride=stride, pad=pad, dil=dil):
            return {"out": F.conv2d(x, weight, bias, stride=stride,
                                    padding=pad, dilation=dil)}

        cases.append(make_case("conv2d", name, params, inputs, fwd))
    return cases


def max_pool2d_cases():
    # (name, x shape, kernel, stride, padding); ceil_mode=False, dilation=1.
    # torch.randn inputs: ties have probability ~0, so argmax is unambiguous.
    specs = [
        ("max_pool2d_2x2_s2", (2, 3, 6, 6), (2, 2), (2, 2), (0, 0)),
        ("max_pool2d_3x3_s2_p1", (1, 2, 7, 7), (3, 3), (2, 2), (1, 1)),
        ("max_pool2d_3x3_s1", (1, 2, 6, 6), (3, 3), (1, 1), (0, 0)),
        ("max_pool2d_2x3_s21", (1, 2, 6, 7), (2, 3), (2, 1), (0, 0)),
        # 7x9 with 2x2/2: last row/column never pooled -> their grad is 0
        ("max_pool2d_odd_7x9_2x2_s2", (2, 3, 7, 9), (2, 2), (2, 2), (0, 0)),
    ]
    cases = []
    for name, shape, k, s, p in specs:
        torch.manual_seed(seed_for(name))
        params = {"kernel": list(k), "stride": list(s), "padding": list(p)}

        def fwd(x, k=k, s=s, p=p):
            return {"out": F.max_pool2d(x, k, stride=s, padding=p)}

        cases.append(make_case("max_pool2d", name, params, {"x": torch.randn(*shape)}, fwd))
    return cases


def avg_pool2d_cases():
    # (name, x shape, kernel, stride, padding, count_include_pad); ceil_mode=False
    specs = [
        ("avg_pool2d_2x2_s2", (2, 3, 6, 6), (2, 2), (2, 2), (0, 0), True),
        ("avg_pool2d_3x3_s2_p1_incpad", (1, 2, 7, 7), (3, 3), (2, 2), (1, 1), True),
        ("avg_pool2d_3x3_s2_p1_excpad", (1, 2, 7, 7), (3, 3), (2, 2), (1, 1), False),
        ("avg_pool2d_3x3_s1", (1, 2, 6, 6), (3, 3), (1, 1), (0, 0), True),
        ("avg_pool2d_2x3_s21_p11_excpad_odd", (1, 2, 5, 7), (2, 3), (2, 1), (1, 1), False),
    ]
    cases = []
    for name, shape, k, s, p, cip in specs:
        torch.manual_seed(seed_for(name))
        params = {"kernel": list(k), "stride": list(s), "padding": list(p),
                  "count_include_pad": cip}

        def fwd(x, k=k, s=s, p=p, cip=cip):
            return {"out": F.avg_pool2d(x, k, stride=s, padding=p,
                                        count_include_pad=cip)}

        cases.append(make_case("avg_pool2d", name, params, {"x": torch.randn(*shape)}, fwd))
    return cases


def cross_entropy_cases():
    # (name, N, C, reduction, logit scale)
    specs = [
        ("cross_entropy_n4_c10_mean", 4, 10, "mean", 1.0),
        ("cross_entropy_n7_c3_sum", 7, 3, "sum", 1.0),
        ("cross_entropy_n5_c6_none", 5, 6, "none", 1.0),
        # scale 50: naive exp() overflows float32; needs a max-shifted logsumexp
        ("cross_entropy_n4_c5_large_logits_mean", 4, 5, "mean", 50.0),
    ]
    cases = []
    for name, n, c, red, scale in specs:
        torch.manual_seed(seed_for(name))
        logits = torch.randn(n, c) * scale
        targets = torch.randint(0, c, (n,))
        params = {"targets": targets.tolist(), "reduction": red}

        def fwd(logits, targets=targets, red=red):
            return {"out": F.cross_entropy(logits, targets, reduction=red)}

        cases.append(make_case("cross_entropy", name, params, {"logits": logits},
                               fwd, upstream=(red == "none")))
    return cases


def softmax_cases():
    # Same shapes/dims for both ops.
    specs = [((3, 7), -1), ((2, 3, 4), -1), ((2, 3, 4), 1)]
    cases = []
    for op, fn in (("softmax", F.softmax), ("log_softmax", F.log_softmax)):
        for shape, dim in specs:
            name = "%s_%s_dim%d" % (op, "x".join(map(str, shape)), dim)
            torch.manual_seed(seed_for(name))

            def fwd(x, fn=fn, dim=dim):
                return {"out": fn(x, dim=dim)}

            cases.append(make_case(op, name, {"dim": dim},
                                   {"x": torch.randn(*shape) * 2.0}, fwd))
    return cases


def batch_norm_cases():
    # (name, x shape, training). Running stats are params, not inputs: they are
    # not differentiated, and torch updates them in place in training mode.
    specs = [
        ("batch_norm_4d_train", (4, 3, 5, 5), True),
        ("batch_norm_4d_eval", (4, 3, 5, 5), False),
        ("batch_norm_2d_train", (8, 6), True),
        ("batch_norm_2d_eval", (8, 6), False),
    ]
    momentum, eps = 0.1, 1e-5
    cases = []
    for name, shape, training in specs:
        torch.manual_seed(seed_for(name))
        c = shape[1]
        # Non-zero mean / non-unit scale so normalisation actually matters.
        x = torch.randn(*shape) * 2.0 + 0.5
        weight = torch.rand(c) + 0.5
        bias = torch.randn(c) * 0.5
        running_mean = torch.randn(c) * 0.2
        running_var = torch.rand(c) + 0.5
        params = {
            "training": training, "momentum": momentum, "eps": eps,
            "running_mean": ser(running_mean)["data"],
            "running_var": ser(running_var)["data"],
        }

        def fwd(x, weight, bias, rm=running_mean, rv=running_var, training=training):
            rm, rv = rm.clone(), rv.clone()  # updated in place when training
            out = F.batch_norm(x, rm, rv, weight, bias, training=training,
                               momentum=momentum, eps=eps)
            return {"out": out, "running_mean": rm, "running_var": rv}

        cases.append(make_case("batch_norm", name, params,
                               {"x": x, "weight": weight, "bias": bias}, fwd))
    return cases


def linear_cases():
    # (name, N, in, out)
    specs = [("linear_n4_in30_out10", 4, 30, 10), ("linear_n1_in7_out3", 1, 7, 3)]
    cases = []
    for name, n, fin, fout in specs:
        torch.manual_seed(seed_for(name))
        inputs = {
            "x": torch.randn(n, fin),
            "weight": torch.randn(fout, fin) / fin ** 0.5,
            "bias": torch.randn(fout),
        }

        def fwd(x, weight, bias):
            return {"out": F.linear(x, weight, bias)}

        cases.append(make_case("linear", name, {}, inputs, fwd))
    return cases


def matmul_cases():
    # (name, a shape, b shape); last case broadcasts batch dims -> [2,5,3,2]
    specs = [
        ("matmul_batched_2x3x5_2x5x4", (2, 3, 5), (2, 5, 4)),
        ("matmul_2d_4x6_6x3", (4, 6), (6, 3)),
        ("matmul_broadcast_2x1x3x4_5x4x2", (2, 1, 3, 4), (5, 4, 2)),
    ]
    cases = []
    for name, sa, sb in specs:
        torch.manual_seed(seed_for(name))

        def fwd(a, b):
            return {"out": torch.matmul(a, b)}

        cases.append(make_case("matmul", name, {},
                               {"a": torch.randn(*sa), "b": torch.randn(*sb)}, fwd))
    return cases


# --------------------------------------------------------------------------
# Main
# --------------------------------------------------------------------------

def main():
    cases = (conv2d_cases() + max_pool2d_cases() + avg_pool2d_cases()
             + cross_entropy_cases() + softmax_cases() + batch_norm_cases()
             + linear_cases() + matmul_cases())
    names = [c["name"] for c in cases]
    assert len(names) == len(set(names)), "case names must be unique"

    # One case per line: compact, yet diffs stay readable case by case.
    path = os.path.normpath(OUT_PATH)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w") as f:
        f.write('{"generator":"scripts/gen_fixtures.py","torch":%s,"cases":[\n'
                % json.dumps(torch.__version__))
        f.write(",\n".join(json.dumps(c, separators=(",", ":"), allow_nan=False)
                           for c in cases))
        f.write("\n]}\n")
    print("wrote %s: %d cases, %d bytes" % (path, len(cases), os.path.getsize(path)))


if __name__ == "__main__":
    main()
