"""PyTorch float64 peer of the tabular-block step benchmark (bench/moe.sh).

The authors' tabular block of spec cbow_moe section 3.3, written from the
formulas (not from the C code): a row of L cells with slot i replaced by the
mask token V; e_j = E[t_j] + P[j] (token plus learned column embedding);
H heads, each q = Wq e_i + bq from the masked slot, k_j = Wk e_j + bk and
v_j = Wv e_j + bv over every slot (no attention mask), o_h = sum_j
softmax_j(q.k_j / sqrt(dk)) v_j; n1 = LN1(e_i + Wo concat_h(o_h) + bo),
n2 = LN2(n1 + F2 relu(F1 n1 + f1) + f2), logits = U n2 + c, LN(x) =
g (x - mean) / sqrt(var + eps) + b with the biased variance.  Dropout is off
(the C side uses probability 0), so both passes are deterministic.  The loss
is the mean over the masked cells of -log softmax(logits)[true cell].  One
step = forward, autograd backward and torch.optim.Adam with Keras's constants
(lr 1e-3, betas 0.9/0.999, eps 1e-7) on the same batch of masked cells.

usage: moe_block_torch.py PREFIX STEPS  (reads PREFIX.model.json, .data, .ex,
.grad.json from bench/moe_block_step.c)
prints one JSON object: seconds_per_step (median; one untimed warm-up step
first), loss0, max_abs_grad_diff against the C gradient, max_abs_grad,
threads."""
import json
import math
import sys
import time

import torch

torch.set_default_dtype(torch.float64)
torch.set_num_threads(1)

KEYS = ("E", "P", "Wq", "bq", "Wk", "bk", "Wv", "bv", "Wo", "bo", "g1", "b1",
        "F1", "f1", "F2", "f2", "g2", "b2", "U", "c")


def shapes(s):
    V, L, d, H, dk, ff = s["V"], s["L"], s["d"], s["H"], s["dk"], s["ffn"]
    return {"E": (V + 1, d), "P": (L, d), "Wq": (H, dk, d), "bq": (H, dk),
            "Wk": (H, dk, d), "bk": (H, dk), "Wv": (H, dk, d), "bv": (H, dk),
            "Wo": (d, H * dk), "bo": (d,), "g1": (d,), "b1": (d,),
            "F1": (ff, d), "f1": (ff,), "F2": (d, ff), "f2": (d,),
            "g2": (d,), "b2": (d,), "U": (V, d), "c": (V,)}


def layer_norm(x, g, b, eps):
    mu = x.mean(-1, keepdim=True)
    var = ((x - mu) ** 2).mean(-1, keepdim=True)
    return g * (x - mu) / torch.sqrt(var + eps) + b


def loss_fn(w, rows, slots, s, eps):
    """rows: B x L cells of the examples' rows; slots: B masked slots."""
    B, L = rows.shape
    V, dk = s["V"], s["dk"]
    t = rows.clone()
    t[torch.arange(B), slots] = V                       # mask the slot
    e = w["E"][t] + w["P"]                              # B x L x d
    ei = e[torch.arange(B), slots]                      # B x d
    q = torch.einsum("hkd,bd->bhk", w["Wq"], ei) + w["bq"]
    k = torch.einsum("hkd,bjd->bjhk", w["Wk"], e) + w["bk"]
    v = torch.einsum("hkd,bjd->bjhk", w["Wv"], e) + w["bv"]
    a = torch.einsum("bhk,bjhk->bhj", q, k) / math.sqrt(dk)
    p = torch.softmax(a, dim=-1)                        # over the L keys
    o = torch.einsum("bhj,bjhk->bhk", p, v).reshape(B, -1)
    n1 = layer_norm(ei + o @ w["Wo"].T + w["bo"], w["g1"], w["b1"], eps)
    h = torch.relu(n1 @ w["F1"].T + w["f1"]) @ w["F2"].T + w["f2"]
    n2 = layer_norm(n1 + h, w["g2"], w["b2"], eps)
    logits = n2 @ w["U"].T + w["c"]
    target = rows[torch.arange(B), slots]
    return -torch.log_softmax(logits, -1).gather(-1, target.unsqueeze(-1)).mean()


def main():
    prefix, steps = sys.argv[1], int(sys.argv[2])
    with open(prefix + ".model.json") as f:
        m = json.load(f)
    with open(prefix + ".grad.json") as f:
        g = json.load(f)
    with open(prefix + ".data") as f:
        X = torch.tensor([[int(c) for c in ln.split()] for ln in f if ln.strip()])
    with open(prefix + ".ex") as f:
        ex = torch.tensor([[int(c) for c in ln.split()] for ln in f if ln.strip()])
    s, eps = m["sizes"], m["ln_eps"]
    sh = shapes(s)
    rows, slots = X[ex[:, 0]], ex[:, 1]

    def weights():
        return {k: torch.tensor(m[k], dtype=torch.float64).reshape(sh[k]).requires_grad_() for k in KEYS}

    w = weights()
    loss = loss_fn(w, rows, slots, s, eps)
    loss.backward()
    diff = max(float((w[k].grad - torch.tensor(g[k], dtype=torch.float64).reshape(sh[k])).abs().max()) for k in KEYS)
    gmax = max(float(w[k].grad.abs().max()) for k in KEYS)

    def run(nsteps):
        ww = weights()
        opt = torch.optim.Adam(ww.values(), lr=1e-3, betas=(0.9, 0.999), eps=1e-7)
        ts = []
        for _ in range(nsteps):
            t0 = time.perf_counter()
            opt.zero_grad()
            loss_fn(ww, rows, slots, s, eps).backward()
            opt.step()
            ts.append(time.perf_counter() - t0)
        return ts

    run(1)
    ts = sorted(run(steps))
    print(json.dumps({"seconds_per_step": ts[len(ts) // 2], "loss0": float(loss),
                      "c_loss0": g["loss"], "max_abs_grad_diff": diff, "max_abs_grad": gmax,
                      "threads": torch.get_num_threads()}))


if __name__ == "__main__":
    main()
