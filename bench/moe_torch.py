"""PyTorch float64 peer of the CBOW-MoE step benchmark (bench/moe.sh).

The bare single-layer bidirectional-attention MLM of spec cbow_moe section 1,
written independently of the C code from the formulas: for every sentence and
every slot i, the slot is replaced by the mask token V, e_j = E[x_j] + P[j],
head h attends from the masked slot over all slots with softmax((Wq e_i).(Wk e_j)
/ sqrt(dk)), mixes Wv e_j, and the logits are c + U concat_h(h).  The loss is
the mean over the n L masked cells of -log p.  One step = forward, autograd
backward and torch.optim.Adam with Keras's constants (eps 1e-7).

usage: moe_torch.py PREFIX STEPS   (reads PREFIX.model.json, .data, .grad.json)
prints one JSON object: seconds_per_step (median; one untimed warm-up step
first), loss0, max_abs_grad_diff against the C gradient, max_abs_grad,
loss_diff, threads."""
import json
import math
import sys
import time

import torch

torch.set_default_dtype(torch.float64)
# One thread on both sides: bench/moe.sh runs the C side with
# OPENBLAS_NUM_THREADS=1, so the ratio compares one core with one core.
torch.set_num_threads(1)


def load(prefix):
    with open(prefix + ".model.json") as f:
        m = json.load(f)
    with open(prefix + ".grad.json") as f:
        g = json.load(f)
    with open(prefix + ".data") as f:
        X = [[int(w) for w in line.split()] for line in f if line.strip()]
    return m, g, torch.tensor(X, dtype=torch.long)


KEYS = ("E", "P", "Wq", "Wk", "Wv", "U", "c")


def loss_fn(w, X, s):
    n, L = X.shape
    V, H, dk = s["V"], s["H"], s["dk"]
    # every (sentence, slot) pair: the sentence with that slot masked
    Xm = X.unsqueeze(1).repeat(1, L, 1)                     # n x L(slot i) x L
    idx = torch.arange(L)
    Xm[:, idx, idx] = V
    e = w["E"][Xm] + w["P"]                                 # n x L x L x d
    ei = e[:, idx, idx, :]                                  # n x L x d (the masked slot's input)
    q = torch.einsum("hkd,nid->nihk", w["Wq"], ei)          # n x L x H x dk
    k = torch.einsum("hkd,nijd->nijhk", w["Wk"], e)         # n x L x L x H x dk
    v = torch.einsum("hvd,nijd->nijhv", w["Wv"], e)         # n x L x L x H x dv
    a = torch.einsum("nihk,nijhk->nihj", q, k) / math.sqrt(dk)
    p = torch.softmax(a, dim=-1)                            # over the keys j
    h = torch.einsum("nihj,nijhv->nihv", p, v).reshape(n, L, -1)
    logits = h @ w["U"].T + w["c"]                          # n x L x V
    logp = torch.log_softmax(logits, dim=-1)
    return -logp.gather(-1, X.unsqueeze(-1)).mean()


def main():
    prefix, steps = sys.argv[1], int(sys.argv[2])
    m, g, X = load(prefix)
    s = m["sizes"]
    w = {k: torch.tensor(m[k], requires_grad=True) for k in KEYS}
    loss = loss_fn(w, X, s)
    loss.backward()
    diff = max(float((w[k].grad - torch.tensor(g[k])).abs().max()) for k in KEYS)
    gmax = max(float(w[k].grad.abs().max()) for k in KEYS)
    loss0 = float(loss)

    def run(nsteps, timed):
        ww = {k: torch.tensor(m[k], requires_grad=True) for k in KEYS}
        opt = torch.optim.Adam(ww.values(), lr=1e-3, betas=(0.9, 0.999), eps=1e-7)
        ts = []
        for _ in range(nsteps):
            t0 = time.perf_counter()
            opt.zero_grad()
            loss_fn(ww, X, s).backward()
            opt.step()
            ts.append(time.perf_counter() - t0)
        return ts

    run(1, False)
    ts = sorted(run(steps, True))
    print(json.dumps({"seconds_per_step": ts[len(ts) // 2], "loss0": loss0,
                      "max_abs_grad_diff": diff, "max_abs_grad": gmax,
                      "threads": torch.get_num_threads()}))


if __name__ == "__main__":
    main()
