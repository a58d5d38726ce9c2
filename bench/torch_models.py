"""The bench models in PyTorch, timed like bench_models (bench/bench_models.c).

    /usr/bin/python3 bench/torch_models.py --model cnn|mlp --mode train|infer [--threads N]
        [--batch B] [--warmup W] [--steps S] [--seed K] [--lr R]

The same models as bench_models (tf.contrib.layers defaults): layers with a
batch norm have no bias; batch norm is center only (contrib's scale=False:
gamma fixed at 1), eps 1e-3, momentum 0.01 (= TF decay 0.99).
  cnn: conv 5x5x32 SAME + BN + relu, max pool 2x2, conv 5x5x64 + BN + relu,
       max pool 2x2, fully connected 3136 -> 1024 + BN + relu, 1024 -> 10 with
       bias (the flatten in NHWC order, as TF's).
  mlp: 784 -> 512 + BN + relu, 512 -> 256 + BN + relu, 256 -> 10 with bias.
train: cross-entropy, torch.optim.SGD(lr, momentum=0.9) (the same update as
       TF's MomentumOptimizer), batch norm in training mode; default batch 64.
infer: net.eval() (batch norm with the running statistics) under
       torch.inference_mode(); default batch 1000.
PyTorch runs NCHW (its native layout); tgraph runs NHWC. --threads is
torch.set_num_threads(N). Prints one line in bench_models' format with
"pytorch" first (start_rss_mib is the RSS after `import torch`).
"""
import argparse
import os
import resource
import time

import torch
import torch.nn as nn
import torch.nn.functional as F


def status_mib(key):
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(key + ":"):
                return float(line.split()[1]) / 1024.0
    return -1.0


START_RSS = status_mib("VmRSS")


def own_cpu_s():
    u = resource.getrusage(resource.RUSAGE_SELF)
    return u.ru_utime + u.ru_stime


def machine_cpu_s():
    """Busy and steal seconds of the whole machine (/proc/stat's cpu line)."""
    with open("/proc/stat") as f:
        v = [int(x) for x in f.readline().split()[1:9]]
    hz = os.sysconf("SC_CLK_TCK")
    # user nice system idle iowait irq softirq steal
    return (v[0] + v[1] + v[2] + v[5] + v[6]) / hz, v[7] / hz


def batch_norm(cls, n):
    bn = cls(n, eps=1e-3, momentum=0.01)
    bn.weight.requires_grad_(False)  # scale=False: beta only
    return bn


class CNN(nn.Module):
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
        x = x.permute(0, 2, 3, 1).reshape(x.shape[0], -1)
        x = F.relu(self.bn3(self.fc1(x)))
        return self.logits(x)


class MLP(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc1 = nn.Linear(784, 512, bias=False)
        self.bn1 = batch_norm(nn.BatchNorm1d, 512)
        self.fc2 = nn.Linear(512, 256, bias=False)
        self.bn2 = batch_norm(nn.BatchNorm1d, 256)
        self.logits = nn.Linear(256, 10)

    def forward(self, x):
        x = x.reshape(x.shape[0], -1)
        x = F.relu(self.bn1(self.fc1(x)))
        x = F.relu(self.bn2(self.fc2(x)))
        return self.logits(x)


def percentile(v, p):
    r = p / 100.0 * (len(v) - 1)
    i = int(r)
    return v[i] + (r - i) * (v[i + 1] - v[i]) if i + 1 < len(v) else v[-1]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", choices=["cnn", "mlp"], required=True)
    ap.add_argument("--mode", choices=["train", "infer"], required=True)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--batch", type=int, default=0)
    ap.add_argument("--warmup", type=int, default=3)
    ap.add_argument("--steps", type=int, default=20)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--lr", type=float, default=0.01)
    a = ap.parse_args()
    train = a.mode == "train"
    batch = a.batch or (64 if train else 1000)
    torch.set_num_threads(a.threads)
    torch.manual_seed(a.seed)
    net = CNN() if a.model == "cnn" else MLP()
    x = torch.rand(batch, 1, 28, 28)
    y = torch.arange(batch) % 10
    if train:
        net.train()
        opt = torch.optim.SGD([p for p in net.parameters() if p.requires_grad], lr=a.lr, momentum=0.9)

        def step():
            opt.zero_grad(set_to_none=True)
            loss = F.cross_entropy(net(x), y)
            loss.backward()
            opt.step()
            return loss
    else:
        net.eval()

        def step():
            with torch.inference_mode():
                return net(x)

    ms = []
    for i in range(a.warmup + a.steps):
        if i == a.warmup:
            busy0, steal0 = machine_cpu_s()
            cpu0 = own_cpu_s()
            wall0 = time.perf_counter()
        t0 = time.perf_counter()
        out = step()
        t1 = time.perf_counter()
        if i >= a.warmup:
            ms.append((t1 - t0) * 1e3)
    wall = time.perf_counter() - wall0
    cpu = own_cpu_s() - cpu0
    busy1, steal1 = machine_cpu_s()
    ms.sort()
    med = percentile(ms, 50)
    print("pytorch model=%s mode=%s threads=%d batch=%d steps=%d median_ms=%.3f p10_ms=%.3f p90_ms=%.3f"
          " images_per_s=%.1f peak_rss_mib=%.1f start_rss_mib=%.1f cpu_cores=%.2f others_cores=%.2f"
          " steal_cores=%.2f loss=%.4f"
          % (a.model, a.mode, torch.get_num_threads(), batch, a.steps, med, percentile(ms, 10),
             percentile(ms, 90), batch * 1000.0 / med, status_mib("VmHWM"), START_RSS, cpu / wall,
             (busy1 - busy0 - cpu) / wall, (steal1 - steal0) / wall, out.item() if train else 0.0))


if __name__ == "__main__":
    main()
