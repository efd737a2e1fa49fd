#!/usr/bin/python3
"""Peer for the gradient-descent step: the identity-head attention model in
PyTorch, float64.

usage: torch_step.py DATA EMB W0 STEPS LR [THREADS]

Reads the dataset and embeddings with its own parser and W0 (d lines of d
numbers, as bench/step_bench.c writes it), then runs STEPS steps of
normalised gradient descent:

    a_t  = x_t^T W xbar           (xbar = embedding of the last token)
    loss = mean_i [ logsumexp(a) - logsumexp(a over the positions holding y_i) ]
         = mean_i -log sum_{t: tok_t = y_i} softmax(a)_t
    W   -= LR g / (||g||_F + 2.220446049250313e-16),   g = d loss / dW (autograd)

Sequences of different lengths are padded; padded logits are -inf.  THREADS
intra-op threads, default 2 (the machine has two cores).  One untimed warm-up step on a copy of W0
comes first (autograd and allocator start-up), and seconds_per_step is the
median of the per-step times, as in step_bench.c.  Prints one JSON object:
seconds_per_step, steps, loss_first, loss_last, W_final.
"""
import json
import statistics
import sys
import time

import torch

from peer_files import read_data, read_rows

NGD_EPS = 2.220446049250313e-16


class Batch:
    """The dataset as padded tensors: X (n, L, d) embedded tokens, xbar
    (n, d), pad (n, L) True at padding, is_label (n, L)."""

    def __init__(self, seqs, labels, E):
        n, L = len(seqs), max(len(s) for s in seqs)
        tok = torch.zeros((n, L), dtype=torch.long)
        self.pad = torch.ones((n, L), dtype=torch.bool)
        for i, s in enumerate(seqs):
            tok[i, : len(s)] = torch.tensor(s)
            self.pad[i, : len(s)] = False
        self.X = E[tok]
        self.xbar = E[torch.tensor([s[-1] for s in seqs])]
        self.is_label = (tok == torch.tensor(labels)[:, None]) & ~self.pad


def loss_fn(W, B):
    v = B.xbar @ W.T                                  # v_i = W xbar_i
    a = torch.einsum("nld,nd->nl", B.X, v)            # a_t = x_t^T W xbar
    a = a.masked_fill(B.pad, float("-inf"))
    on_label = a.masked_fill(~B.is_label, float("-inf"))
    return (torch.logsumexp(a, 1) - torch.logsumexp(on_label, 1)).mean()


def step(W, B, lr):
    W.grad = None
    loss = loss_fn(W, B)
    loss.backward()
    with torch.no_grad():
        g = W.grad
        W -= lr * g / (torch.linalg.norm(g) + NGD_EPS)
    return loss.item()


def main(argv):
    if len(argv) not in (6, 7):
        sys.exit(__doc__)
    torch.set_num_threads(int(argv[6]) if len(argv) == 7 else 2)
    examples = read_data(argv[1])
    seqs, labels = [t for t, _ in examples], [y for _, y in examples]
    E = torch.tensor(read_rows(argv[2]), dtype=torch.float64)
    W0 = torch.tensor(read_rows(argv[3]), dtype=torch.float64)
    steps, lr = int(argv[4]), float(argv[5])
    B = Batch(seqs, labels, E)

    step(W0.clone().requires_grad_(True), B, lr)      # warm-up, discarded
    W = W0.clone().requires_grad_(True)
    times, losses = [], []
    for _ in range(steps):
        t0 = time.perf_counter()
        losses.append(step(W, B, lr))
        times.append(time.perf_counter() - t0)
    print(json.dumps({
        "seconds_per_step": statistics.median(times),
        "steps": steps,
        "loss_first": losses[0],
        "loss_last": losses[-1],
        "W_final": W.detach().tolist(),
    }))


if __name__ == "__main__":
    main(sys.argv)
