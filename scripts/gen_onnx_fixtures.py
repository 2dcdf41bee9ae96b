#!/usr/bin/python3
"""Export small PyTorch models to ONNX, with their outputs for a fixed input.

Writes test/fixtures/onnx/<name>.onnx and test/fixtures/onnx/outputs.json, read by
test/onnx-import.test.ts (the tests never need Python). Regenerate with Debian's
PyTorch (CPU, no pip; torch 1.13's exporter writes opsets up to 17):

    apt-get install -y python3-torch
    /usr/bin/python3 scripts/gen_onnx_fixtures.py

Models (random weights; every BatchNorm gets random affine parameters and running
statistics, so folding mistakes show):

  lenet5        LeNet-5 as nn/models/lenet5.ts (torch.flatten -> Flatten), opset 13
  mnist-cnn2    the two-conv MNIST CNN of nn/models/mnist-cnn2.ts; x.reshape(-1, 576)
                -> Reshape with a constant shape, opset 11
  cifar-bn      conv-BN-ReLU x2, max pool, conv-BN-ReLU, average pool, fc-ReLU-dropout-fc,
                softmax, on 3x32x32, opset 17
  residual      one basic residual block (conv-BN-ReLU-conv-BN + identity, ReLU), opset 13
  concat        two branches (1x1 and 3x3 convs) concatenated on channels, global average
                pool, then x @ W + b (MatMul and Add with constants), opset 13
  resnet        a small ResNet-style CNN: stem, an identity block, a stride-2 block with a
                1x1 conv + BN shortcut, global average pool, fc, on 3x16x16, opset 15

BatchNorm is kept as BatchNormalization nodes (training=PRESERVE on an eval-mode model;
TrainingMode.EVAL would fold it into the convolutions). The batch axis is dynamic ('N').

outputs.json: {"<name>": {"file", "opset", "input": {shape, data}, "output": {shape, data}}},
floats as the shortest decimals that read back to the same float32. Deterministic: each model
is seeded from a CRC32 of its name and torch runs single-threaded.
"""

import io
import json
import os
import sys
import zlib

import torch
import torch.nn as nn
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from fixture_io import ser  # noqa: E402

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'test', 'fixtures', 'onnx')


def seed(name):
    torch.manual_seed(zlib.crc32(name.encode()))


def randomize_bn(model):
    for m in model.modules():
        if isinstance(m, nn.BatchNorm2d):
            with torch.no_grad():
                m.weight.uniform_(0.5, 1.5)
                m.bias.uniform_(-0.5, 0.5)
                m.running_mean.uniform_(-0.5, 0.5)
                m.running_var.uniform_(0.5, 2.0)


class LeNet5(nn.Module):
    def __init__(self):
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv2d(1, 6, 5, padding=2), nn.ReLU(), nn.MaxPool2d(2),
            nn.Conv2d(6, 16, 5), nn.ReLU(), nn.MaxPool2d(2))
        self.classifier = nn.Sequential(
            nn.Linear(400, 120), nn.ReLU(), nn.Dropout(0.5),
            nn.Linear(120, 84), nn.ReLU(), nn.Dropout(0.5), nn.Linear(84, 10))

    def forward(self, x):
        return self.classifier(torch.flatten(self.features(x), 1))


class MnistCnn2(nn.Module):
    def __init__(self):
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv2d(1, 8, 3, bias=False), nn.ReLU(), nn.Conv2d(8, 4, 3, bias=False), nn.ReLU(), nn.MaxPool2d(2, 2))
        self.classifier = nn.Sequential(nn.Linear(576, 10))

    def forward(self, x):
        return self.classifier(self.features(x).reshape(-1, 576))


def cbr(i, o, **kw):
    return [nn.Conv2d(i, o, 3, padding=1, bias=False, **kw), nn.BatchNorm2d(o), nn.ReLU()]


class CifarBn(nn.Module):
    def __init__(self):
        super().__init__()
        self.features = nn.Sequential(*cbr(3, 8), *cbr(8, 8), nn.MaxPool2d(2), *cbr(8, 16), nn.AvgPool2d(4))
        self.classifier = nn.Sequential(nn.Linear(16 * 4 * 4, 32), nn.ReLU(), nn.Dropout(0.25), nn.Linear(32, 10))

    def forward(self, x):
        return F.softmax(self.classifier(torch.flatten(self.features(x), 1)), dim=1)


class BasicBlock(nn.Module):
    def __init__(self, i, o, stride=1):
        super().__init__()
        self.conv1 = nn.Conv2d(i, o, 3, stride=stride, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(o)
        self.conv2 = nn.Conv2d(o, o, 3, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(o)
        self.shortcut = None
        if stride != 1 or i != o:
            self.shortcut = nn.Sequential(nn.Conv2d(i, o, 1, stride=stride, bias=False), nn.BatchNorm2d(o))

    def forward(self, x):
        y = self.bn2(self.conv2(F.relu(self.bn1(self.conv1(x)))))
        return F.relu(y + (self.shortcut(x) if self.shortcut is not None else x))


class Residual(nn.Module):
    def __init__(self):
        super().__init__()
        self.block = BasicBlock(4, 4)

    def forward(self, x):
        return self.block(x)


class ConcatNet(nn.Module):
    def __init__(self):
        super().__init__()
        self.a = nn.Conv2d(3, 4, 1)
        self.b = nn.Conv2d(3, 6, 3, padding=1)
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.w = nn.Parameter(torch.randn(10, 5) * 0.3)
        self.bias = nn.Parameter(torch.randn(5) * 0.1)

    def forward(self, x):
        y = F.relu(torch.cat([self.a(x), self.b(x)], dim=1))
        return torch.flatten(self.pool(y), 1) @ self.w + self.bias


class ResNetSmall(nn.Module):
    def __init__(self):
        super().__init__()
        self.stem = nn.Sequential(*cbr(3, 8))
        self.layer1 = BasicBlock(8, 8)
        self.layer2 = BasicBlock(8, 16, stride=2)
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(16, 10)

    def forward(self, x):
        x = self.layer2(self.layer1(self.stem(x)))
        return self.fc(torch.flatten(self.pool(x), 1))


MODELS = [
    ('lenet5', LeNet5, [1, 28, 28], 13),
    ('mnist-cnn2', MnistCnn2, [1, 28, 28], 11),
    ('cifar-bn', CifarBn, [3, 32, 32], 17),
    ('residual', Residual, [4, 8, 8], 13),
    ('concat', ConcatNet, [3, 8, 8], 13),
    ('resnet', ResNetSmall, [3, 16, 16], 15),
]


def main():
    torch.set_num_threads(1)
    os.makedirs(OUT, exist_ok=True)
    out = {}
    for name, cls, shape, opset in MODELS:
        seed(name)
        model = cls()
        randomize_bn(model)
        model.eval()
        x = torch.randn(2, *shape)
        with torch.no_grad():
            y = model(x)
        f = io.BytesIO()
        torch.onnx.export(model, x, f, opset_version=opset, training=torch.onnx.TrainingMode.PRESERVE,
                          do_constant_folding=True, input_names=['input'], output_names=['output'],
                          dynamic_axes={'input': {0: 'N'}, 'output': {0: 'N'}})
        path = os.path.join(OUT, f'{name}.onnx')
        with open(path, 'wb') as fh:
            fh.write(f.getvalue())
        out[name] = {'file': f'{name}.onnx', 'opset': opset, 'input': ser(x), 'output': ser(y)}
        print(f'{name}: {len(f.getvalue())} bytes, output {list(y.shape)}')
    with open(os.path.join(OUT, 'outputs.json'), 'w') as fh:
        json.dump(out, fh, separators=(',', ':'))
        fh.write('\n')


if __name__ == '__main__':
    main()
