#!/usr/bin/python3
"""Generate PyTorch reference fixtures for wgprune's nn modules, models,
optimizers and learning-rate schedules.

Writes test/fixtures/torch_nn.json, read by test/nn-fixtures.test.ts (the tests
never need Python). Regenerate with Debian's PyTorch (CPU, no pip):

    apt-get install -y python3-torch
    /usr/bin/python3 scripts/gen_nn_fixtures.py

Every case has a "kind" and a unique "name"; the test fails on a kind it does
not know. Tensors are {"shape", "data"} with "data" the flat row-major contents
as the shortest decimals that read back to the exact float32 (as in
scripts/gen_fixtures.py, whose helpers this file mirrors but does not import, so
that the two fixture files can evolve independently). Two variants:

  {"shape", "idx", "data"}   a sample: data[k] is element idx[k] (flat index)
                             of the full tensor. Used for the large gradients
                             of the LeNet-5 case, which would not fit the file.
  {"shape", "gen": {"seed", "bound"}, "sum"}
                             values produced by gen_values() below (a 32-bit
                             integer hash, reproducible bit for bit in
                             JavaScript); "sum" is the float64 sum of the
                             float32 values, a check on the reimplementation.

Case kinds:

  module     "module": a spec {"type", "args"?, "children"?, "name"?} from
             which both sides build the module (args use torch's names and are
             given only when not torch's default, so the defaults are compared
             too); "train": training mode; "state": the state dict before the
             forward pass (torch's key names and order); "input"; "upstream"
             (the gradient passed to out.backward); "output"; "input_grad";
             "grads": every parameter's gradient by state-dict key;
             "buffers": every buffer after the forward pass (BatchNorm's running
             statistics and num_batches_tracked).
  optimizer  "optimizer" (torch.optim class name), "defaults" and "groups"
             (options in torch's names; a group lists parameter names),
             "params": initial values; "steps": for each step the gradients set
             before optimizer.step() ("grads"; a parameter left out has no
             gradient that step) and every parameter after it ("params").
  scheduler  "scheduler" (class name), "args" (torch's names), "base_lrs" (one
             per parameter group) and "lrs": the rates of every group right
             after construction and after each of the following scheduler.step()
             calls. Rates are float64, written with repr (not float32-rounded).

Determinism: each case seeds torch with a CRC32 of its own name and torch runs
single-threaded, so a rerun with the same torch version gives an identical file.
"""

import json
import os
import zlib
from collections import OrderedDict

import numpy as np
import torch
import torch.nn as nn

from fixture_io import f32, ser  # scripts/ is on sys.path when a generator is run directly

HERE = os.path.dirname(os.path.abspath(__file__))
OUT_PATH = os.path.join(HERE, "..", "test", "fixtures", "torch_nn.json")

torch.set_num_threads(1)
torch.set_default_dtype(torch.float32)

def ser_sample(t, count, zeros=0.25):
    """A sample of `count` elements of t at sorted random flat indices. ReLU makes
    many gradients exactly zero; at most a quarter of the sample is zeros, so the
    sample mostly checks values that something flowed into."""
    flat = t.detach().to(torch.float32).contiguous().reshape(-1)
    nz = torch.nonzero(flat != 0).reshape(-1)
    z = torch.nonzero(flat == 0).reshape(-1)
    nz_count = max(count - min(len(z), int(count * zeros)), 0)
    pick = torch.cat([nz[torch.randperm(len(nz))[:nz_count]], z[torch.randperm(len(z))[:count - min(nz_count, len(nz))]]])
    idx = sorted(pick.tolist())
    return {"shape": list(t.shape), "idx": idx, "data": [f32(flat[i].item()) for i in idx]}


def seed_for(name):
    return zlib.crc32(name.encode("utf-8"))


# --------------------------------------------------------------------------
# Hashed initial values, reproducible in JavaScript (see the test's genValues)
# --------------------------------------------------------------------------

M32 = 0xFFFFFFFF


def gen_values(seed, n, bound):
    """n float32 values in [-bound, bound): element i hashes (seed + (i+1)*φ) mod 2^32
    with murmur3's finaliser, keeps the top 24 bits as u in [0, 1) and returns
    float32((2u - 1) * bound), every step exact or a single IEEE rounding."""
    out = np.empty(n, dtype=np.float32)
    for i in range(n):
        x = (seed + (i + 1) * 0x9E3779B9) & M32
        x ^= x >> 16
        x = (x * 0x85EBCA6B) & M32
        x ^= x >> 13
        x = (x * 0xC2B2AE35) & M32
        x ^= x >> 16
        u = (x >> 8) / 16777216.0
        out[i] = np.float32((2.0 * u - 1.0) * bound)
    return out


# --------------------------------------------------------------------------
# Modules from specs
# --------------------------------------------------------------------------

def mnist_cnn2():
    """nn/models/mnist-cnn2.ts: conv 8@3x3 (no bias), ReLU, conv 4@3x3 (no bias),
    ReLU, max pool 2, then Linear(576, 10). 6,130 parameters."""
    return nn.Sequential(OrderedDict([
        ("features", nn.Sequential(
            nn.Conv2d(1, 8, 3, bias=False), nn.ReLU(),
            nn.Conv2d(8, 4, 3, bias=False), nn.ReLU(),
            nn.MaxPool2d(2, stride=2))),
        ("flatten", nn.Flatten()),
        ("classifier", nn.Sequential(nn.Linear(576, 10))),
    ]))


def lenet5():
    """nn/models/lenet5.ts (dropout 0): conv 6@5x5 pad 2, ReLU, pool 2, conv 16@5x5,
    ReLU, pool 2, then 400-120-84-10 with ReLU and Dropout. 61,706 parameters."""
    return nn.Sequential(OrderedDict([
        ("features", nn.Sequential(
            nn.Conv2d(1, 6, 5, padding=2), nn.ReLU(), nn.MaxPool2d(2),
            nn.Conv2d(6, 16, 5), nn.ReLU(), nn.MaxPool2d(2))),
        ("flatten", nn.Flatten()),
        ("classifier", nn.Sequential(
            nn.Linear(400, 120), nn.ReLU(), nn.Dropout(0.0),
            nn.Linear(120, 84), nn.ReLU(), nn.Dropout(0.0),
            nn.Linear(84, 10))),
    ]))


MODELS = {"mnist-cnn2": (mnist_cnn2, 6130), "lenet5": (lenet5, 61706)}

LAYERS = {
    "Linear": nn.Linear, "Conv2d": nn.Conv2d, "BatchNorm2d": nn.BatchNorm2d,
    "MaxPool2d": nn.MaxPool2d, "AvgPool2d": nn.AvgPool2d, "Dropout": nn.Dropout,
    "Flatten": nn.Flatten, "ReLU": nn.ReLU, "Tanh": nn.Tanh, "Sigmoid": nn.Sigmoid,
}


def build(spec):
    t = spec["type"]
    if t == "Sequential":
        return nn.Sequential(OrderedDict((name, build(s)) for name, s in spec["children"]))
    if t == "model":
        make, count = MODELS[spec["name"]]
        m = make()
        assert sum(p.numel() for p in m.parameters()) == count, spec["name"]
        return m
    return LAYERS[t](**spec.get("args", {}))


def randomise_batchnorm(m):
    """Non-default affine parameters and running statistics, so that loading them
    and updating them are both checked."""
    for mod in m.modules():
        if isinstance(mod, nn.BatchNorm2d):
            c = mod.num_features
            with torch.no_grad():
                if mod.affine:
                    mod.weight.copy_(torch.rand(c) + 0.5)
                    mod.bias.copy_(torch.randn(c) * 0.5)
                if mod.track_running_stats:
                    mod.running_mean.copy_(torch.randn(c) * 0.3)
                    mod.running_var.copy_(torch.rand(c) + 0.5)
                    mod.num_batches_tracked.fill_(3)


def module_case(name, spec, input_shape, train=True, scale=1.0, shift=0.0, sample_over=None, gen_state=False):
    """One module case. sample_over: gradients with more elements than this are
    stored as a 200-element sample. gen_state: the state dict comes from
    gen_values (bound 1/sqrt(fan_in), like torch's default init) instead of
    being stored."""
    torch.manual_seed(seed_for(name))
    m = build(spec)
    randomise_batchnorm(m)
    state = OrderedDict()
    if gen_state:
        with torch.no_grad():
            for i, (k, v) in enumerate(m.state_dict().items()):
                fan_in = m.get_parameter(k.rsplit(".", 1)[0] + ".weight")[0].numel()
                bound = 1.0 / fan_in ** 0.5
                seed = seed_for("%s/%s" % (name, k))
                vals = gen_values(seed, v.numel(), bound)
                v.copy_(torch.from_numpy(vals).reshape(v.shape))
                state[k] = {"shape": list(v.shape), "gen": {"seed": seed, "bound": bound},
                            "sum": float(np.sum(vals.astype(np.float64)))}
    else:
        state = OrderedDict((k, ser(v)) for k, v in m.state_dict().items())
    m.train(train)

    x = (torch.randn(*input_shape) * scale + shift).requires_grad_(True)
    out = m(x)
    g = torch.randn(out.shape)
    out.backward(g)

    def grad_ser(t):
        if sample_over is not None and t.numel() > sample_over:
            return ser_sample(t, 200)
        return ser(t)

    params = dict(m.named_parameters())
    assert all(p.grad is not None for p in params.values()), name
    buffer_names = {k for k, _ in m.named_buffers()}
    case = OrderedDict([
        ("kind", "module"), ("name", name), ("module", spec), ("train", train),
        ("state", state),
        ("input", ser(x)), ("upstream", ser(g)), ("output", ser(out)),
        ("input_grad", grad_ser(x.grad)),
        ("grads", OrderedDict((k, grad_ser(p.grad)) for k, p in params.items())),
        ("buffers", OrderedDict((k, ser(v)) for k, v in m.state_dict().items() if k in buffer_names)),
    ])
    return case


def L(t, **args):
    return {"type": t, "args": args} if args else {"type": t}


def module_cases():
    c = []
    # Linear
    c.append(module_case("linear_in7_out5", L("Linear", in_features=7, out_features=5), (4, 7)))
    c.append(module_case("linear_in6_out3_nobias", L("Linear", in_features=6, out_features=3, bias=False), (3, 6)))
    c.append(module_case("linear_3d_input", L("Linear", in_features=4, out_features=3), (2, 3, 4)))
    # Conv2d
    c.append(module_case("conv2d_3x3_defaults", L("Conv2d", in_channels=2, out_channels=3, kernel_size=3), (2, 2, 6, 6)))
    c.append(module_case("conv2d_3x3_s2_p1", L("Conv2d", in_channels=3, out_channels=4, kernel_size=3, stride=2, padding=1), (2, 3, 7, 7)))
    c.append(module_case("conv2d_5x5_p2_nobias", L("Conv2d", in_channels=1, out_channels=3, kernel_size=5, padding=2, bias=False), (2, 1, 8, 8)))
    c.append(module_case("conv2d_2x3_s21_p10_dil2", L("Conv2d", in_channels=2, out_channels=2, kernel_size=[2, 3], stride=[2, 1], padding=[1, 0], dilation=2), (1, 2, 7, 9)))
    # BatchNorm2d
    bn = L("BatchNorm2d", num_features=3)
    c.append(module_case("batchnorm2d_train", bn, (4, 3, 5, 5), train=True, scale=2.0, shift=0.5))
    c.append(module_case("batchnorm2d_eval", bn, (4, 3, 5, 5), train=False, scale=2.0, shift=0.5))
    c.append(module_case("batchnorm2d_train_eps_momentum", L("BatchNorm2d", num_features=2, eps=1e-3, momentum=0.3), (3, 2, 4, 4), train=True, scale=0.5, shift=-1.0))
    c.append(module_case("batchnorm2d_no_affine_train", L("BatchNorm2d", num_features=3, affine=False), (2, 3, 3, 4), train=True, shift=1.0))
    # Without running statistics, eval mode normalises with the batch's own statistics.
    c.append(module_case("batchnorm2d_no_stats_eval", L("BatchNorm2d", num_features=3, track_running_stats=False), (2, 3, 3, 4), train=False, shift=1.0))
    # Pooling
    c.append(module_case("maxpool2d_k2_defaults", L("MaxPool2d", kernel_size=2), (2, 3, 6, 7)))
    c.append(module_case("maxpool2d_k3_s2_p1", L("MaxPool2d", kernel_size=3, stride=2, padding=1), (1, 2, 7, 7)))
    c.append(module_case("avgpool2d_k2_defaults", L("AvgPool2d", kernel_size=2), (2, 3, 6, 7)))
    c.append(module_case("avgpool2d_k3_s2_p1_defaults", L("AvgPool2d", kernel_size=3, stride=2, padding=1), (1, 2, 7, 7)))
    c.append(module_case("avgpool2d_k3_s2_p1_excpad", L("AvgPool2d", kernel_size=3, stride=2, padding=1, count_include_pad=False), (1, 2, 7, 7)))
    # Dropout (eval: identity; p = 0 in training: identity too), Flatten, activations
    c.append(module_case("dropout_eval_defaults", L("Dropout"), (3, 5), train=False))
    c.append(module_case("dropout_p0_train", L("Dropout", p=0.0), (3, 5), train=True))
    c.append(module_case("flatten_defaults", L("Flatten"), (2, 3, 2, 2)))
    c.append(module_case("flatten_start2", L("Flatten", start_dim=2), (2, 3, 2, 2)))
    c.append(module_case("relu", L("ReLU"), (2, 7)))
    c.append(module_case("tanh", L("Tanh"), (2, 7)))
    c.append(module_case("sigmoid", L("Sigmoid"), (2, 7)))
    # A small composite with batch norm, trained and evaluated
    seq = {"type": "Sequential", "children": [
        ["conv", L("Conv2d", in_channels=2, out_channels=3, kernel_size=3, padding=1, bias=False)],
        ["bn", L("BatchNorm2d", num_features=3)],
        ["relu", L("ReLU")],
        ["pool", L("MaxPool2d", kernel_size=2)],
        ["flatten", L("Flatten")],
        ["fc", L("Linear", in_features=27, out_features=5)],
    ]}
    c.append(module_case("seq_conv_bn_relu_pool_linear_train", seq, (4, 2, 6, 6), train=True))
    c.append(module_case("seq_conv_bn_relu_pool_linear_eval", seq, (4, 2, 6, 6), train=False))
    # Positional names (Sequential without names: keys 0.weight, 1.weight, ...)
    seq_pos = {"type": "Sequential", "children": [
        ["0", L("Linear", in_features=5, out_features=4)], ["1", L("Tanh")],
        ["2", L("Linear", in_features=4, out_features=2, bias=False)],
    ]}
    c.append(module_case("seq_positional_mlp", seq_pos, (3, 5)))
    # Whole models, same architecture and keys as nn/models/*
    c.append(module_case("model_mnist_cnn2", {"type": "model", "name": "mnist-cnn2"}, (2, 1, 28, 28)))
    # LeNet-5's 61,706 weights and gradients do not fit the file: hashed weights,
    # every small gradient in full and a sample of the large ones.
    c.append(module_case("model_lenet5", {"type": "model", "name": "lenet5"}, (2, 1, 28, 28),
                         sample_over=2500, gen_state=True))
    return c


# --------------------------------------------------------------------------
# Optimizers and schedules
# --------------------------------------------------------------------------

def optimizer_case(name, opt, defaults, groups=None, missing=()):
    """3 steps on params w [2, 3] and b [3] with fresh random gradients each step.
    missing: (step, param) pairs with no gradient at that step."""
    torch.manual_seed(seed_for(name))
    shapes = OrderedDict([("w", (2, 3)), ("b", (3,))])
    params = OrderedDict((k, torch.randn(*s).requires_grad_(True)) for k, s in shapes.items())
    initial = OrderedDict((k, ser(v)) for k, v in params.items())
    groups = groups or [{"params": list(shapes)}]
    torch_groups = [dict({k: v for k, v in g.items() if k != "params"},
                         params=[params[p] for p in g["params"]]) for g in groups]
    o = getattr(torch.optim, opt)(torch_groups, **defaults)
    steps = []
    for i in range(3):
        grads = OrderedDict()
        for k, p in params.items():
            if (i, k) in missing:
                p.grad = None
            else:
                g = torch.randn(*shapes[k])
                p.grad = g.clone()
                grads[k] = ser(g)
        o.step()
        steps.append(OrderedDict([("grads", grads),
                                  ("params", OrderedDict((k, ser(v)) for k, v in params.items()))]))
    return OrderedDict([("kind", "optimizer"), ("name", name), ("optimizer", opt),
                        ("defaults", defaults), ("groups", groups), ("params", initial),
                        ("steps", steps)])


def optimizer_cases():
    return [
        optimizer_case("sgd_plain", "SGD", {"lr": 0.1}),
        optimizer_case("sgd_momentum_dampening_wd", "SGD",
                       {"lr": 0.1, "momentum": 0.9, "dampening": 0.1, "weight_decay": 0.01}),
        optimizer_case("sgd_nesterov", "SGD", {"lr": 0.05, "momentum": 0.9, "nesterov": True}),
        optimizer_case("sgd_nesterov_wd", "SGD",
                       {"lr": 0.05, "momentum": 0.8, "nesterov": True, "weight_decay": 0.1}),
        optimizer_case("sgd_groups_missing_grad", "SGD", {"lr": 0.1, "momentum": 0.9},
                       groups=[{"params": ["w"]}, {"params": ["b"], "lr": 0.01, "momentum": 0.5}],
                       missing={(1, "b")}),
        optimizer_case("adam_defaults", "Adam", {}),
        optimizer_case("adam_lr_betas_eps", "Adam", {"lr": 0.01, "betas": [0.8, 0.99], "eps": 1e-6}),
        optimizer_case("adam_weight_decay", "Adam", {"lr": 0.01, "weight_decay": 0.1}),
        optimizer_case("adam_missing_grad", "Adam", {"lr": 0.01}, missing={(1, "b")}),
        optimizer_case("adamw_defaults", "AdamW", {}),
        optimizer_case("adamw_lr_wd", "AdamW", {"lr": 0.01, "weight_decay": 0.1}),
        optimizer_case("adamw_groups", "AdamW", {"lr": 0.01},
                       groups=[{"params": ["w"], "weight_decay": 0.5}, {"params": ["b"], "lr": 0.02}]),
    ]


def scheduler_case(name, sched, args, epochs=10, base_lrs=(0.1, 0.02)):
    p = [torch.zeros(1, requires_grad=True) for _ in base_lrs]
    o = torch.optim.SGD([{"params": [q], "lr": lr} for q, lr in zip(p, base_lrs)], lr=base_lrs[0])
    s = getattr(torch.optim.lr_scheduler, sched)(o, **args)
    lrs = [list(s.get_last_lr())]
    for _ in range(epochs):
        o.step()
        s.step()
        lrs.append(list(s.get_last_lr()))
    return OrderedDict([("kind", "scheduler"), ("name", name), ("scheduler", sched), ("args", args),
                        ("base_lrs", list(base_lrs)), ("lrs", lrs)])


def scheduler_cases():
    return [
        scheduler_case("steplr_3_0.5", "StepLR", {"step_size": 3, "gamma": 0.5}),
        scheduler_case("steplr_4_default_gamma", "StepLR", {"step_size": 4}),
        scheduler_case("multisteplr_2_5_8", "MultiStepLR", {"milestones": [2, 5, 8], "gamma": 0.1}),
        scheduler_case("cosine_10_0.001", "CosineAnnealingLR", {"T_max": 10, "eta_min": 0.001}),
        scheduler_case("cosine_4_default_eta_min", "CosineAnnealingLR", {"T_max": 4}, epochs=6),
    ]


# --------------------------------------------------------------------------
# Main
# --------------------------------------------------------------------------

def main():
    cases = module_cases() + optimizer_cases() + scheduler_cases()
    names = [c["name"] for c in cases]
    assert len(names) == len(set(names)), "case names must be unique"
    path = os.path.normpath(OUT_PATH)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w") as f:
        f.write('{"generator":"scripts/gen_nn_fixtures.py","torch":%s,"cases":[\n'
                % json.dumps(torch.__version__))
        f.write(",\n".join(json.dumps(c, separators=(",", ":"), allow_nan=False) for c in cases))
        f.write("\n]}\n")
    print("wrote %s: %d cases, %d bytes" % (path, len(cases), os.path.getsize(path)))


if __name__ == "__main__":
    main()
