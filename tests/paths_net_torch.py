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
holding the shape (L, H, n, N0,
ntok, G, readout: a token index or -1 for the mean), P, X (P x N0 x ntok,
row-major, tokens as columns), Y (P), theta in the C layout (a, V_0, V_l^h for
l = 1..L head 1 first, then per head Q_l^h and K_l^h), lr, beta1, beta2, eps
and steps.  OUT gets {"cases": [...]}, each with f (P), loss, the gradient
with respect to the plain weights (theta's layout and order) and the plain
weights after `steps` Adam steps.  Exit status 77 when
torch does not import (the test skips), 0 when done.
"""
import json
import math
import sys

try:
    import torch
except ImportError:
    sys.exit(77)


def unpack(d, theta):
    """The plain weight blocks of theta as leaf tensors, in theta's order."""
    n, N0, G = d["n"], d["N0"], d["G"]
    t = torch.tensor(theta, dtype=torch.float64)
    pos = 0

    def take(scale, *shape):
        nonlocal pos
        size = math.prod(shape)
        blk = (t[pos:pos + size].reshape(shape) * scale).requires_grad_(True)
        pos += size
        return blk

    a = take(1 / math.sqrt(n), n)
    V0 = take(1 / math.sqrt(N0), n, N0)
    V = [[take(1 / math.sqrt(n), n, n) for _ in range(H)] for H in d["H"]]
    QK = [[(take(1.0, G, N0), take(1.0, G, N0)) for _ in range(H)] for H in d["H"]]
    assert pos == t.numel(), "theta has %d entries, the shape needs %d" % (t.numel(), pos)
    params = [a, V0] + [v for layer in V for v in layer] + \
        [m for layer in QK for qk in layer for m in qk]
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


def run_case(d):
    P, N0, ntok = d["P"], d["N0"], d["ntok"]
    X = torch.tensor(d["X"], dtype=torch.float64).reshape(P, N0, ntok)
    Y = torch.tensor(d["Y"], dtype=torch.float64)
    a, V0, V, QK, params = unpack(d, d["theta"])

    f = forward(d, X, a, V0, V, QK)
    loss = torch.mean((f - Y) ** 2)
    loss.backward()
    grad = torch.cat([p.grad.reshape(-1) for p in params])

    opt = torch.optim.Adam(params, lr=d["lr"], betas=(d["beta1"], d["beta2"]), eps=d["eps"])
    for _ in range(d["steps"]):
        opt.zero_grad()
        torch.mean((forward(d, X, a, V0, V, QK) - Y) ** 2).backward()
        opt.step()
    after = torch.cat([p.detach().reshape(-1) for p in params])

    return {"f": f.tolist(), "loss": loss.item(), "grad_w": grad.tolist(),
            "w_after": after.tolist()}


def main():
    with open(sys.argv[1]) as fh:
        cases = json.load(fh)["cases"]
    with open(sys.argv[2], "w") as fh:
        json.dump({"cases": [run_case(d) for d in cases]}, fh)


if __name__ == "__main__":
    main()
