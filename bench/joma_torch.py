#!/usr/bin/python3
"""Peer for one training step of the JoMA block: PyTorch, float64, autograd.

usage: joma_torch.py DIR STEPS

Reads DIR/step.txt (bench/joma_bench.c: "M K d N T lr", then X (N x M),
labels, z0 (M), W0 (d x K), all %.17g) and DIR/step_c.txt (the C trainer's
z and W after one step).  The model is verify/joma_model.h's section 4.1 run:

    b    = softmax(ln x + z / T)                  (per sample, over the M tokens)
    f    = U_C b + u_q                            (U = identity, d x (M+1))
    h    = W^T f
    loss = mean_n cross_entropy(h_n, y_n)
    z   -= lr dloss/dz,  W -= lr dloss/dW         (full batch)

One thread (torch.set_num_threads(1); the C trainer runs on one).  Checks the
first step against C (max_diff_first_step over z and W), then takes STEPS
more steps, each timed by thread CPU seconds (time.thread_time, the clock
joma_bench uses); seconds_per_step is their median.  Prints one JSON object.
"""
import json
import statistics
import sys
import time

import torch


def main():
    d_, steps = sys.argv[1], int(sys.argv[2])
    torch.set_num_threads(1)
    with open(d_ + "/step.txt") as f:
        M, K, d, N, T, lr = f.readline().split()
        M, K, d, N, T, lr = int(M), int(K), int(d), int(N), float(T), float(lr)
        nums = [float(w) for w in f.readline().split()]
        X = torch.tensor(nums, dtype=torch.float64).reshape(N, M)
        y = torch.tensor([int(w) for w in f.readline().split()], dtype=torch.long)
        z = torch.tensor([float(w) for w in f.readline().split()], dtype=torch.float64)
        W = torch.tensor([float(w) for w in f.readline().split()], dtype=torch.float64).reshape(d, K)
    with open(d_ + "/step_c.txt") as f:
        zc = torch.tensor([float(w) for w in f.readline().split()], dtype=torch.float64)
        Wc = torch.tensor([float(w) for w in f.readline().split()], dtype=torch.float64).reshape(d, K)
    U = torch.eye(d, M + 1, dtype=torch.float64)
    UC, uq = U[:, :M], U[:, M]
    logx = torch.log(X)
    z.requires_grad_(True)
    W.requires_grad_(True)

    def step():
        b = torch.softmax(logx + z / T, dim=1)
        f = b @ UC.T + uq
        loss = torch.nn.functional.cross_entropy(f @ W, y)
        gz, gW = torch.autograd.grad(loss, (z, W))
        with torch.no_grad():
            z.sub_(lr * gz)
            W.sub_(lr * gW)
        return loss

    step()
    with torch.no_grad():
        diff = max(float((z - zc).abs().max()), float((W - Wc).abs().max()))
    times = []
    for _ in range(steps):
        t0 = time.thread_time()
        step()
        times.append(time.thread_time() - t0)
    print(json.dumps({"seconds_per_step": statistics.median(times), "steps": steps,
                      "max_diff_first_step": diff, "torch": torch.__version__}))


if __name__ == "__main__":
    main()
