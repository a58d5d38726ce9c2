"""The mnist_cnn training step in PyTorch, timed like bench_cnn.

    /usr/bin/python3 bench/torch_cnn.py [--threads N] [--batch B] [--warmup W] [--steps S] [--seed K]

Same model as examples/mnist_cnn.c (tf.contrib.layers defaults): conv 5x5x32
SAME without bias + batch norm (center only, scale=False, decay 0.9 = torch
momentum 0.1, eps 1e-3) + relu, max pool 2x2 VALID, conv 5x5x64 + batch norm
+ relu, max pool, fully connected 3136 -> 1024 without bias + batch norm +
relu, fully connected 1024 -> 10 with bias, sparse softmax cross-entropy,
Adam 1e-3. PyTorch runs NCHW (its native layout); tgraph runs NHWC. One
line of output in bench_cnn's format, with "pytorch" first.
"""
import argparse
import time

import torch
import torch.nn as nn
import torch.nn.functional as F


def batch_norm(cls, n):
    # contrib batch_norm's default scale=False: beta only, gamma fixed at 1.
    bn = cls(n, eps=1e-3, momentum=0.1)
    bn.weight.requires_grad_(False)
    return bn


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 32, 5, padding=2, bias=False)
        self.bn1 = batch_norm(nn.BatchNorm2d, 32)
        self.conv2 = nn.Conv2d(32, 64, 5, padding=2, bias=False)
        self.bn2 = batch_norm(nn.BatchNorm2d, 64)
        self.fc1 = nn.Linear(7 * 7 * 64, 1024, bias=False)
        self.bn3 = batch_norm(nn.BatchNorm1d, 1024)
        self.logits = nn.Linear(1024, 10)

    def forward(self, x):
        x = F.max_pool2d(F.relu(self.bn1(self.conv1(x))), 2)
        x = F.max_pool2d(F.relu(self.bn2(self.conv2(x))), 2)
        # flatten in NHWC order, as tf.contrib.layers.flatten sees it
        x = x.permute(0, 2, 3, 1).reshape(x.shape[0], -1)
        x = F.relu(self.bn3(self.fc1(x)))
        return self.logits(x)


def percentile(v, p):
    r = p / 100.0 * (len(v) - 1)
    i = int(r)
    return v[i] + (r - i) * (v[i + 1] - v[i]) if i + 1 < len(v) else v[-1]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--batch", type=int, default=64)
    ap.add_argument("--warmup", type=int, default=5)
    ap.add_argument("--steps", type=int, default=30)
    ap.add_argument("--seed", type=int, default=1)
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(a.seed)
    net = Net().train()
    opt = torch.optim.Adam([p for p in net.parameters() if p.requires_grad], lr=1e-3)
    x = torch.rand(a.batch, 1, 28, 28)
    y = torch.arange(a.batch) % 10
    ms = []
    for i in range(a.warmup + a.steps):
        t0 = time.perf_counter()
        opt.zero_grad(set_to_none=True)
        loss = F.cross_entropy(net(x), y)
        loss.backward()
        opt.step()
        t1 = time.perf_counter()
        if i >= a.warmup:
            ms.append((t1 - t0) * 1e3)
    ms.sort()
    med = percentile(ms, 50)
    print("pytorch threads=%d batch=%d steps=%d median_ms=%.2f p10_ms=%.2f p90_ms=%.2f images_per_s=%.1f loss=%.4f"
          % (torch.get_num_threads(), a.batch, a.steps, med, percentile(ms, 10), percentile(ms, 90),
             a.batch * 1000.0 / med, loss.item()))


if __name__ == "__main__":
    main()
