#!/usr/bin/env python3
"""projects/fashion-resnet.json in PyTorch, for the README's comparison table.

The same residual CNN (conv-BN-ReLU stem, two residual blocks with a widening
convolution between them, max pooling, global average pooling, a linear head),
the same data (the IDX files scripts/fetch-fashion-mnist.sh writes, pixels
scaled to [0, 1], the 60,000 / 10,000 split), SGD with momentum 0.9 and weight
decay 5e-4 (not on BatchNorm parameters and biases, as Mantissa), a linear
warm-up of 100 steps then cosine decay to 0, batch 128, 2 epochs, and
mixed_bfloat16 as torch.autocast('cpu', bfloat16). Prints the validation
accuracy after each epoch.

  /usr/bin/python3 scripts/fashion-resnet-torch.py [--epochs 2] [--mode bf16|fp32]
"""
import argparse, math, os, struct, time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F


def idx(path):
    with open(path, "rb") as f:
        data = f.read()
    magic, = struct.unpack(">I", data[:4])
    rank = magic & 0xFF
    dims = struct.unpack(">" + "I" * rank, data[4:4 + 4 * rank])
    return np.frombuffer(data, np.uint8, offset=4 + 4 * rank).reshape(dims)


def data_dir():
    if os.environ.get("MANTISSA_DATA_DIR"):
        return os.environ["MANTISSA_DATA_DIR"]
    base = os.environ.get("XDG_DATA_HOME", os.path.expanduser("~/.local/share"))
    return os.path.join(base, "mantissa", "data")


def load(prefix):
    d = os.path.join(data_dir(), "fashion-mnist")
    x = idx(os.path.join(d, prefix + "-images-idx3-ubyte")).astype(np.float32) / 255.0
    y = idx(os.path.join(d, prefix + "-labels-idx1-ubyte")).astype(np.int64)
    return torch.from_numpy(x).unsqueeze(1), torch.from_numpy(y)


def conv_bn(cin, cout):
    return nn.Sequential(nn.Conv2d(cin, cout, 3, padding=1, bias=False), nn.BatchNorm2d(cout))


class Block(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.a, self.b = conv_bn(c, c), conv_bn(c, c)

    def forward(self, x):
        return F.relu(self.b(F.relu(self.a(x))) + x)


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.stem, self.r1 = conv_bn(1, 32), Block(32)
        self.widen, self.r2 = conv_bn(32, 64), Block(64)
        self.head = nn.Linear(64, 10)

    def forward(self, x):
        x = F.max_pool2d(self.r1(F.relu(self.stem(x))), 2)
        x = F.max_pool2d(self.r2(F.relu(self.widen(x))), 2)
        return self.head(x.mean((2, 3)))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--epochs", type=int, default=2)
    ap.add_argument("--mode", choices=["bf16", "fp32"], default="bf16")
    ap.add_argument("--threads", type=int, default=2)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    xt, yt = load("train")
    xv, yv = load("t10k")
    net = Net()
    decay = [p for n, p in net.named_parameters() if p.dim() > 1]
    rest = [p for n, p in net.named_parameters() if p.dim() <= 1]
    opt = torch.optim.SGD([{"params": decay, "weight_decay": 5e-4}, {"params": rest, "weight_decay": 0}],
                          lr=0.05, momentum=0.9)
    batch = 128
    steps_per_epoch = math.ceil(len(xt) / batch)
    total = steps_per_epoch * args.epochs
    warm = 100

    def lr_at(step):
        if step < warm:
            return 0.05 * (step + 1) / warm
        return 0.05 * 0.5 * (1 + math.cos(math.pi * (step - warm) / max(1, total - warm)))

    ctx = (lambda: torch.autocast("cpu", dtype=torch.bfloat16)) if args.mode == "bf16" else None
    step, start = 0, time.time()
    for epoch in range(args.epochs):
        net.train()
        order = torch.randperm(len(xt))
        for i in range(0, len(xt), batch):
            rows = order[i:i + batch]
            for g in opt.param_groups:
                g["lr"] = lr_at(step)
            if ctx:
                with ctx():
                    loss = F.cross_entropy(net(xt[rows]).float(), yt[rows])
            else:
                loss = F.cross_entropy(net(xt[rows]), yt[rows])
            opt.zero_grad()
            loss.backward()
            opt.step()
            step += 1
        net.eval()
        right = 0
        with torch.no_grad():
            for i in range(0, len(xv), 1000):
                if ctx:
                    with ctx():
                        out = net(xv[i:i + 1000])
                else:
                    out = net(xv[i:i + 1000])
                right += (out.argmax(1) == yv[i:i + 1000]).sum().item()
        print(f"epoch {epoch + 1}: val accuracy {100.0 * right / len(xv):.2f}%  "
              f"train loss {loss.item():.4f}  {time.time() - start:.0f} s", flush=True)


if __name__ == "__main__":
    main()
