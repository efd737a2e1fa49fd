#!/usr/bin/python3
"""Peer for the text-model step (verify/joma_text.h): PyTorch's own
nn.TransformerEncoderLayer (one head, post-LN, ReLU, dropout 0) in float64,
with the same embedding, sinusoidal positions, causal mask, decoder, Adam and
gradient clipping, started from the C side's weights and fed its batches.

usage: joma_text.py PREFIX V D STEPS [LR] [THREADS]

Reads PREFIX.theta0 and PREFIX.batch as bench/joma_text_step.c writes them,
loads theta0 into the PyTorch modules block by block (the layout of
verify/joma_text.h: E, Wq, Wk, Wv, bq, bk, bv, Wo, bo, g1, b1n, W1, b1, W2,
b2, g2, b2n, Wd, bd), runs STEPS steps and prints one JSON object:
seconds_per_step (median of the per-step times, after one untimed warm-up
step on a copy), losses (every step's batch loss), max_abs_theta_diff and
max_rel_theta_diff against PREFIX.thetaN (the C side's final weights), and
threads.  THREADS intra-op threads, default 2.
"""
import array
import copy
import json
import math
import statistics
import sys
import time

import torch
from torch import nn

L, B = 35, 20


class TextModel(nn.Module):
    def __init__(self, V, d):
        super().__init__()
        self.d = d
        self.emb = nn.Embedding(V, d)
        self.layer = nn.TransformerEncoderLayer(d, 1, d, dropout=0.0, activation="relu", norm_first=False)
        self.dec = nn.Linear(d, V)
        pos = torch.arange(L, dtype=torch.float64)[:, None]
        div = torch.exp(torch.arange(0, d, 2, dtype=torch.float64) * (-math.log(10000.0) / d))
        pe = torch.zeros(L, d, dtype=torch.float64)
        pe[:, 0::2] = torch.sin(pos * div)
        pe[:, 1::2] = torch.cos(pos * div)
        self.register_buffer("pe", pe)
        self.register_buffer("mask", torch.triu(torch.full((L, L), float("-inf"), dtype=torch.float64), 1))

    def forward(self, tok):  # tok: (L, B), the tutorial's layout
        x = self.emb(tok) * math.sqrt(self.d) + self.pe[:, None, :]
        return self.dec(self.layer(x, src_mask=self.mask))

    def load(self, theta, V, d):
        o = 0

        def take(*shape):
            nonlocal o
            n = math.prod(shape)
            t = theta[o : o + n].reshape(shape)
            o += n
            return t

        sa = self.layer.self_attn
        with torch.no_grad():
            self.emb.weight.copy_(take(V, d))
            sa.in_proj_weight.copy_(torch.cat([take(d, d), take(d, d), take(d, d)]))
            sa.in_proj_bias.copy_(torch.cat([take(d), take(d), take(d)]))
            sa.out_proj.weight.copy_(take(d, d))
            sa.out_proj.bias.copy_(take(d))
            self.layer.norm1.weight.copy_(take(d))
            self.layer.norm1.bias.copy_(take(d))
            self.layer.linear1.weight.copy_(take(d, d))
            self.layer.linear1.bias.copy_(take(d))
            self.layer.linear2.weight.copy_(take(d, d))
            self.layer.linear2.bias.copy_(take(d))
            self.layer.norm2.weight.copy_(take(d))
            self.layer.norm2.bias.copy_(take(d))
            self.dec.weight.copy_(take(V, d))
            self.dec.bias.copy_(take(V))
        assert o == theta.numel()

    def flat(self):
        sa = self.layer.self_attn
        ip, ib = sa.in_proj_weight, sa.in_proj_bias
        d = self.d
        parts = [self.emb.weight, ip[:d], ip[d : 2 * d], ip[2 * d :], ib[:d], ib[d : 2 * d], ib[2 * d :],
                 sa.out_proj.weight, sa.out_proj.bias, self.layer.norm1.weight, self.layer.norm1.bias,
                 self.layer.linear1.weight, self.layer.linear1.bias, self.layer.linear2.weight,
                 self.layer.linear2.bias, self.layer.norm2.weight, self.layer.norm2.bias,
                 self.dec.weight, self.dec.bias]
        return torch.cat([p.detach().reshape(-1) for p in parts])


def step(model, opt, tok, lossf, V):
    inp, tgt = tok[:, :L].T.contiguous(), tok[:, 1:].T.contiguous()   # (L, B)
    opt.zero_grad()
    out = model(inp)
    loss = lossf(out.reshape(-1, V), tgt.reshape(-1))
    loss.backward()
    nn.utils.clip_grad_norm_(model.parameters(), 0.5)
    opt.step()
    return loss.item()


def read_raw(path, code):
    """A file of machine-order doubles ("d") or int32 ("i")."""
    a = array.array(code)
    with open(path, "rb") as f:
        a.frombytes(f.read())
    return a


def main():
    prefix, V, d, steps = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
    lr = float(sys.argv[5]) if len(sys.argv) > 5 else 1e-4
    threads = int(sys.argv[6]) if len(sys.argv) > 6 else 2
    torch.set_num_threads(threads)
    torch.set_default_dtype(torch.float64)
    theta0 = torch.tensor(read_raw(prefix + ".theta0", "d"), dtype=torch.float64)
    thetaN = torch.tensor(read_raw(prefix + ".thetaN", "d"), dtype=torch.float64)
    batches = torch.tensor(read_raw(prefix + ".batch", "i"), dtype=torch.long).reshape(steps, B, L + 1)

    model = TextModel(V, d)
    model.load(theta0, V, d)
    lossf = nn.CrossEntropyLoss()
    # warm-up on a copy (allocator, autograd start-up)
    wm = copy.deepcopy(model)
    step(wm, torch.optim.Adam(wm.parameters(), lr=lr), batches[0], lossf, V)
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    times, losses = [], []
    for k in range(steps):
        t0 = time.perf_counter()
        losses.append(step(model, opt, batches[k], lossf, V))
        times.append(time.perf_counter() - t0)
    th = model.flat()
    diff = (th - thetaN).abs()
    print(json.dumps({"seconds_per_step": statistics.median(times), "steps": steps, "threads": threads,
                      "losses": losses, "max_abs_theta_diff": diff.max().item(),
                      "max_rel_theta_diff": (diff / thetaN.abs().clamp(min=1e-3)).max().item(),
                      "torch": torch.__version__}))


if __name__ == "__main__":
    main()
