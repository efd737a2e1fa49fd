#!/usr/bin/python3
"""PyTorch peer of the gradient-descent network of the attention-paths module
(verify/paths_net.h), for tests/test_paths_net_torch.c.

The network is written here the way spec attention_paths section 4.2b (and the
authors' my_vit.py) writes it, layer by layer with tokens as rows, not path by
path as verify/paths_net.c does, and with plain weights whose only explicit
scales are the recipe's 1/sqrt(G) in the score and 1/sqrt(H) on the head sum:
    x0    = the input, ntok x N0 (the C side's N0 x ntok, transposed)
    z_0   = x0 V_0^T
    for l = 1..L, with q = x0 Q^T, k = x0 K^T (attention from x_0):
      A_l^h = softmax over keys s of q_t . k_s / sqrt(G)   (rows t sum to 1)
      z_l   = (1 / sqrt(H_l)) sum_h A_l^h z_{l-1} V_l^{h T}
    f     = (r^T z_L) . a,  r = mean over tokens or one token,
    loss  = mean over the batch of (f - y)^2,
and torch.optim.Adam (its own bias-corrected form) takes the steps on these
weights, on the whole batch.  Everything is float64.  The C side stores theta
with the fan-in scales pulled out (spec section 1): a = theta_a / sqrt(n),
V_0 = theta_V0 / sqrt(N0), V_l^h = theta_V / sqrt(n), Q and K as they are; the
helper converts on the way in, and answers in these plain weights.

Usage: paths_net_torch.py IN.json OUT.json.  IN is {"cases": [...]}, each case
holding the shape (L, H, n, N0, ntok, G, readout: a token index or -1 for the
mean), P, X (P x N0 x ntok, row-major, tokens as columns), Y (P), lr, beta1,
beta2, eps, and "steps": a list of starting states, each theta in the C layout
(a, V_0, V_l^h for l = 1..L head 1 first, then per head Q_l^h and K_l^h), Adam's
moments m and v in the same layout and theta's units (the plain weights' are
m / c and v / c^2) and t, the steps taken before it.  For each state the helper
evaluates the model there and takes one torch.optim.Adam step from exactly that
state (its step count t, its moments), so no difference between the two sides
carries from one step to the next.  OUT gets {"cases": [...]}, each a list of
answers, one per state: f (P), loss, the gradient with respect to the plain
weights (theta's layout and order), and after the step the moments m and v
and the plain weights w.  Exit status 77 when torch does not import (the test
skips), 0 when done.
"""
import json
import math
import sys

try:
    import torch
except ImportError:
    sys.exit(77)


def block_shapes(d):
    """The plain weight blocks in theta's order: (c, shape), w = c theta."""
    n, N0, G = d["n"], d["N0"], d["G"]
    cv = 1 / math.sqrt(n)
    out = [(cv, (n,)), (1 / math.sqrt(N0), (n, N0))]
    out += [(cv, (n, n)) for H in d["H"] for _ in range(H)]
    out += [(1.0, (G, N0)) for H in d["H"] for _ in range(2 * H)]
    return out


def split(d, flat, power):
    """flat (theta's layout) as plain blocks: each block times c^power."""
    t = torch.tensor(flat, dtype=torch.float64)
    blocks, pos = [], 0
    for c, shape in block_shapes(d):
        size = math.prod(shape)
        blk = t[pos:pos + size].reshape(shape)
        for _ in range(abs(power)):
            blk = blk * c if power > 0 else blk / c
        blocks.append(blk)
        pos += size
    assert pos == t.numel(), "%d entries, the shape needs %d" % (t.numel(), pos)
    return blocks


def unpack(d, theta):
    """The plain weight blocks of theta as leaf tensors, in theta's order."""
    params = [b.requires_grad_(True) for b in split(d, theta, 1)]
    nh = sum(d["H"])
    a, V0 = params[0], params[1]
    V, QK, k = [], [], 0
    for H in d["H"]:
        V.append(params[2 + k:2 + k + H])
        QK.append([(params[2 + nh + 2 * j], params[3 + nh + 2 * j]) for j in range(k, k + H)])
        k += H
    return a, V0, V, QK, params


def forward(d, X, a, V0, V, QK):
    G = d["G"]
    x0 = X.transpose(1, 2)                       # P x ntok x N0
    z = x0 @ V0.T                                # P x ntok x n
    for l, H in enumerate(d["H"]):
        out = torch.zeros_like(z)
        for h in range(H):
            Q, K = QK[l][h]
            q, k = x0 @ Q.T, x0 @ K.T            # P x ntok x G
            A = torch.softmax(q @ k.transpose(1, 2) / math.sqrt(G), dim=-1)
            out = out + A @ (z @ V[l][h].T)
        z = out / math.sqrt(H)
    zr = z.mean(dim=1) if d["readout"] < 0 else z[:, d["readout"], :]
    return zr @ a


def flat(tensors):
    return torch.cat([x.detach().reshape(-1) for x in tensors]).tolist()


def run_step(d, X, Y, st):
    """Model at st's theta, then one Adam step from st's moments and count."""
    a, V0, V, QK, params = unpack(d, st["theta"])
    f = forward(d, X, a, V0, V, QK)
    loss = torch.mean((f - Y) ** 2)
    loss.backward()
    grad = flat([p.grad for p in params])

    opt = torch.optim.Adam(params, lr=d["lr"], betas=(d["beta1"], d["beta2"]), eps=d["eps"])
    for p, m, v in zip(params, split(d, st["m"], -1), split(d, st["v"], -2)):
        opt.state[p] = {"step": torch.tensor(float(st["t"])), "exp_avg": m.clone(),
                        "exp_avg_sq": v.clone()}
    opt.step()
    state = [opt.state[p] for p in params]
    return {"f": f.tolist(), "loss": loss.item(), "grad_w": grad,
            "m": flat([s["exp_avg"] for s in state]),
            "v": flat([s["exp_avg_sq"] for s in state]), "w": flat(params)}


def run_case(d):
    P, N0, ntok = d["P"], d["N0"], d["ntok"]
    X = torch.tensor(d["X"], dtype=torch.float64).reshape(P, N0, ntok)
    Y = torch.tensor(d["Y"], dtype=torch.float64)
    return [run_step(d, X, Y, st) for st in d["steps"]]


def main():
    with open(sys.argv[1]) as fh:
        cases = json.load(fh)["cases"]
    with open(sys.argv[2], "w") as fh:
        json.dump({"cases": [run_case(d) for d in cases]}, fh)


if __name__ == "__main__":
    main()
