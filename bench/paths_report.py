#!/usr/bin/python3
"""Report of the attention-paths benchmark (bench/paths.sh): reads what
bench/paths_bench.c (C) and bench/paths_numpy.py (NumPy/SciPy) wrote for one
P and prints times, ratios, agreement and the issue's targets, met or MISSED.
No timing happens here.

  paths_report.py C_JSON NUMPY_JSON

Targets (issue 11, "Speed"): the whole solve within 3x of the Cholesky
factorisations it needs; at least 5x faster than the NumPy version; a Gibbs
sweep within 3x of its own Cholesky cost.

Agreement:
  - S and its gradient at the same U: the two sides sum the same terms in
    other orders; K's entries carry ~ m eps relative rounding (m = N0 H^L
    products each) and the log-determinant and the quadratic form amplify it
    by at most cond(K + T I) ~ |K| / T, so the relative difference of S is
    expected below 1e-9 at these sizes (printed, and judged at 1e-9).
  - U after the solves: both stop on |grad(S/n_max)|_inf (the C side at
    1e-8; SciPy's BFGS may stop earlier with "precision loss", its gradient
    norm printed), so U agrees to about |grad| / (smallest curvature), not to
    rounding: printed, not judged.
"""
import json
import sys

import numpy as np


def ms(t):
    return f"{t * 1e3:.3g} ms"


def verdict(ok):
    return "met" if ok else "MISSED"


def main():
    c = json.load(open(sys.argv[1]))
    p = json.load(open(sys.argv[2]))
    P = c["P"]
    print(f"  P = {P} (N0 = {c['N0']}, {c['paths']} paths, width {c['N']:g}, T = {c['T']:g})")
    # 1. action + gradient
    rS = abs(c["S"] - p["S"]) / abs(c["S"])
    gc, gp = np.array(c["grad"]), np.array(p["grad"])
    rG = np.max(np.abs(gc - gp)) / np.max(np.abs(gc))
    ra = p["action_seconds"] / c["action_seconds"]
    print(f"   action+gradient: C {ms(c['action_seconds'])} ({c['route']} gradient route; direct route "
          f"{ms(c['action_direct_seconds'])}), NumPy {ms(p['action_seconds'])}: "
          f"NumPy/C = {ra:.3g}x; |dS|/|S| = {rS:.2g}, max|dG|/max|G| = {rG:.2g} "
          f"(agree to 1e-9: {'yes' if rS <= 1e-9 and rG <= 1e-9 else 'NO'})")
    # 2. whole solve
    rs = p["solve_seconds"] / c["solve_seconds"]
    uc, up = np.array(c["solve_U"]), np.array(p["solve_U"])
    dU = np.max(np.abs(uc - up)) / np.max(np.abs(uc))
    dS = abs(c["solve_S"] - p["solve_S"]) / abs(c["solve_S"])
    print(f"   solve: C {ms(c['solve_seconds'])} ({c['outcome']}, {c['iterations']} iterations, "
          f"{c['evaluations']} evaluations, |grad| {c['grad_norm']:.2g}); NumPy/SciPy BFGS "
          f"{ms(p['solve_seconds'])} ({'converged' if p['success'] else p['message']}, "
          f"{p['iterations']} iterations, {p['evaluations']} evaluations, |grad| {p['grad_norm']:.2g})")
    rs_su = p["solve_seconds"] / (c["solve_seconds"] + c["setup_seconds"])
    print(f"          NumPy/C = {rs:.3g}x (target >= 5x: {verdict(rs >= 5)}), {rs_su:.3g}x counting C's "
          f"set-up ({verdict(rs_su >= 5)}); "
          f"S agrees to {dS:.2g} relative, U to {dU:.2g} (max|dU|/max|U|)")
    # 3. solve against its Choleskies
    nch = c["solve_choleskies"]
    bound = nch * c["chol_seconds"]
    r = c["solve_seconds"] / bound
    rsu = (c["solve_seconds"] + c["setup_seconds"]) / bound
    print(f"   solve / its Choleskies: {nch} x dpotrf({P}) = {nch} x {ms(c['chol_seconds'])} = "
          f"{ms(bound)}; solve = {r:.3g}x that (target <= 3x: {verdict(r <= 3)}); with the "
          f"once-per-data set-up ({ms(c['setup_seconds'])}: pre-kernels, compression) "
          f"{rsu:.3g}x ({verdict(rsu <= 3)})")
    # 4. Gibbs sweep against its Choleskies
    nsw = c["sweep_choleskies"]
    bsw = nsw * c["chol_seconds"]
    rg = c["sweep_seconds"] / bsw
    print(f"   Gibbs sweep: {ms(c['sweep_seconds'])} against {nsw} x dpotrf({P}) = {ms(bsw)}: "
          f"{rg:.3g}x (target <= 3x: {verdict(rg <= 3)})")


if __name__ == "__main__":
    main()
