#!/usr/bin/python3
"""NumPy/SciPy peer of the attention-paths benchmark (bench/paths.sh).

The same formulas as theory/paths.c, written here from the spec
(../shared/spec/attention_paths.md §3.2 action, §3.6 gradients, §6 Cholesky
parameterisation), not from the C code:

  2S = N_a (U_a/s_a - ln U_a)
     + sum_l n_{l-1} [Tr(U_{l+1}^{-1} ptr_l U_l)/s_l - ln det U_l + H_l ln det U_{l+1}]
     + ln det(K + T I) + Y^T (K + T I)^{-1} Y,   K = sum_i Phi_i U_1 Phi_i^T,

(the factor 1/2 dropped), U_a in closed form, gradients dE/dU_1 = M - B with
M = sum_i Phi_i^T (K+TI)^{-1} Phi_i and B = b^T b, b = Phi^T v; the solve is
scipy.optimize.minimize(method="BFGS") on U_l = L_l L_l^T (diagonal of L_l as
exp(theta)), f = S / n_max, stopping at |grad f|_inf <= eps (as the C side).

  paths_numpy.py DIR P N0 N T L H_1..H_L REPS SOLVE_REPS EPS MAXITER  ->  one JSON object

Times are CPU seconds of the process (time.process_time), best of REPS
(SOLVE_REPS for the solve), as the C side measures; chol_seconds is one
scipy.linalg.cholesky of K + T I at u (the unit the report divides by).

DIR holds phi.bin (P x N0 x H^L float64), y.bin (P) and u.bin (the U at
which the action is timed), as bench/paths_bench.c writes them.  All widths
are N and all prior variances 1 (the Markov network of spec §4.1).
"""
import json
import sys
import time

import numpy as np
import scipy.linalg as sl
from scipy.optimize import minimize


def main():
    a = sys.argv[1:]
    d, P, N0, N, T, L = a[0], int(a[1]), int(a[2]), float(a[3]), float(a[4]), int(a[5])
    H = [int(x) for x in a[6:6 + L]]
    reps, sreps = int(a[6 + L]), int(a[7 + L])
    eps, maxiter = float(a[8 + L]), int(a[9 + L])
    npaths = int(np.prod(H))
    D = [int(np.prod(H[l:])) for l in range(L)] + [1]  # D[l-1] = D_l, D[L] = 1
    n = [N] * (L + 1)
    s2 = [1.0] * (L + 1)
    s2a = 1.0
    Phi = np.fromfile(f"{d}/phi.bin").reshape(P, N0, npaths)
    Y = np.fromfile(f"{d}/y.bin")
    u = np.fromfile(f"{d}/u.bin")
    Phi2 = Phi.reshape(P, N0 * npaths)
    sizes = [D[l] * D[l] for l in range(L)]
    offs = np.cumsum([0] + sizes)

    def split(vec):
        return [vec[offs[l]:offs[l + 1]].reshape(D[l], D[l]) for l in range(L)]

    def ptr(Ul, Hl, dn):
        return sum(Ul[h * dn:(h + 1) * dn, h * dn:(h + 1) * dn] for h in range(Hl))

    def action(U):
        """S and its matrix gradients (list of D_l x D_l)."""
        G = [np.zeros_like(x) for x in U]
        trUL = np.trace(U[L - 1])
        beta = s2a * (H[L - 1] * n[L - 1] / n[L] - 1.0)
        gamma = n[L - 1] * s2a * trUL / (n[L] * s2[L])
        ua = (-beta + np.sqrt(beta * beta + 4 * gamma)) / 2
        S = n[L] * (ua / s2a - np.log(ua))
        chol = [sl.cholesky(x, lower=True, check_finite=False) for x in U]
        logdet = [2 * np.sum(np.log(np.diag(c))) for c in chol]
        inv = [sl.cho_solve((c, True), np.eye(c.shape[0]), check_finite=False) for c in chol]
        for l in range(1, L + 1):
            Ul, Hl, dn = U[l - 1], H[l - 1], D[l]
            Q = ptr(Ul, Hl, dn)
            if l == L:
                nxt_inv = np.array([[1.0 / ua]])
                ld_next = np.log(ua)
            else:
                nxt_inv = inv[l]
                ld_next = logdet[l]
            S += n[l - 1] * (np.trace(nxt_inv @ Q) / s2[l] - logdet[l - 1] + Hl * ld_next)
            G[l - 1] += n[l - 1] * (np.kron(np.eye(Hl), nxt_inv) / s2[l] - inv[l - 1])
            if l < L:
                G[l] += n[l - 1] * (-nxt_inv @ Q @ nxt_inv / s2[l] + Hl * nxt_inv)
        # energy
        L1 = chol[0]
        Z = (Phi @ L1).reshape(P, N0 * npaths)
        K = Z @ Z.T
        K[np.diag_indices(P)] += T
        c = sl.cholesky(K, lower=True, check_finite=False)
        v = sl.cho_solve((c, True), Y, check_finite=False)
        S += 2 * np.sum(np.log(np.diag(c))) + Y @ v
        W = sl.solve_triangular(c, Phi2, lower=True, check_finite=False).reshape(P * N0, npaths)
        M = W.T @ W
        b = (v @ Phi2).reshape(N0, npaths)
        G[0] += M - b.T @ b
        return S, ua, G

    # 1. action and gradient at u
    U = split(u)
    best = np.inf
    for _ in range(reps):
        t0 = time.process_time()
        S, _, G = action(U)
        best = min(best, time.process_time() - t0)
    out = {"action_seconds": best, "S": S, "grad": np.concatenate([g.ravel() for g in G]).tolist()}
    # One Cholesky of K + T I at u on this side (scipy.linalg.cholesky, the
    # call action makes), timed alike: the unit of the per-evaluation cost.
    L1 = sl.cholesky(U[0], lower=True, check_finite=False)
    Z = (Phi @ L1).reshape(P, N0 * npaths)
    K = Z @ Z.T
    K[np.diag_indices(P)] += T
    best = np.inf
    for _ in range(reps):
        t0 = time.process_time()
        sl.cholesky(K, lower=True, check_finite=False)
        best = min(best, time.process_time() - t0)
    out["chol_seconds"] = best

    # 2. the solve on U_l = L_l L_l^T
    tri = [np.tril_indices(D[l]) for l in range(L)]
    nmax = max(n)
    nev = [0]

    def unpack(theta):
        Ls, k = [], 0
        for l in range(L):
            m = len(tri[l][0])
            F = np.zeros((D[l], D[l]))
            F[tri[l]] = theta[k:k + m]
            F[np.diag_indices(D[l])] = np.exp(np.diag(F))
            Ls.append(F)
            k += m
        return Ls

    def f(theta):
        nev[0] += 1
        Ls = unpack(theta)
        try:
            S, _, G = action([F @ F.T for F in Ls])
        except np.linalg.LinAlgError:
            return np.inf, np.zeros_like(theta)
        g = []
        for l in range(L):
            dL = 2 * G[l] @ Ls[l]
            dL[np.diag_indices(D[l])] *= np.diag(Ls[l])
            g.append(dL[tri[l]])
        return S / nmax, np.concatenate(g) / nmax

    theta0 = []
    for l in range(L):  # GP values: U_l = prod_{k>=l} s2_k * s2a I
        c = s2a * np.prod(s2[l + 1:])
        F = np.sqrt(c) * np.eye(D[l])
        F[np.diag_indices(D[l])] = np.log(np.diag(F))
        theta0.append(F[tri[l]])
    theta0 = np.concatenate(theta0)
    t_solve = np.inf
    for _ in range(sreps):
        nev[0] = 0
        t0 = time.process_time()
        res = minimize(f, theta0, jac=True, method="BFGS",
                       options={"gtol": eps, "maxiter": maxiter, "norm": np.inf})
        t_solve = min(t_solve, time.process_time() - t0)
    Us = [F @ F.T for F in unpack(res.x)]
    S_end, ua, _ = action(Us)
    out.update({"solve_seconds": t_solve, "solve_S": S_end, "solve_Ua": ua,
                "solve_U": np.concatenate([x.ravel() for x in Us]).tolist(),
                "iterations": int(res.nit), "evaluations": nev[0], "success": bool(res.success),
                "message": str(res.message), "grad_norm": float(np.max(np.abs(res.jac)))})
    print(json.dumps(out))


if __name__ == "__main__":
    main()
