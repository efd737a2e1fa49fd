#!/usr/bin/python3
"""Report of the attention-paths benchmark (bench/paths.sh): reads what
bench/paths_bench.c (C) and bench/paths_numpy.py (NumPy/SciPy) wrote for one
P and prints times, ratios, agreement and the issue's targets, met or MISSED.
No timing happens here.

  paths_report.py C_JSON NUMPY_JSON

Targets (issue 11, "Speed"): the whole solve within 3x of the Cholesky
factorisations it needs; at least 5x faster than the NumPy version; a Gibbs
sweep within 3x of its own Cholesky cost.  Each judged line says whether its
target is reachable by the method at all, from a floor of the work it cannot
avoid, timed piece by piece in bench/paths_bench.c.

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


def flops(c):
    """Flops of one action+gradient evaluation on each side (a multiply-add
    counts 2; dpotrf(n) n^3/3, dtrtri / dlauum(n) n^3/3, dtrsm n x n
    against k columns n^2 k, dsyrk n x k n^2 k, dgemm 2 m n k):
      ours (theory/paths.c): K from the pre-kernels (np(np+1)/2 packed
        triangles, np(np+1) P^2/2), dpotrf(P), and the route's calls:
        compressed (r = min(P, m), d = P - r) r^3/3 + r^3/3 + 2 d r^2 +
        d^2 r + d r^2 (and a memory pass over np(np+1)/2 r^2/2 doubles, left
        out); direct P^2 m + P m np;
      NumPy (bench/paths_numpy.py): Z = Phi L_1 (2 P m np), K = Z Z^T
        (2 P^2 m, a full matmul), cholesky (P^3/3), solve_triangular against
        Phi (P^2 m), M = W^T W (2 P m np), b (2 P m).
    Lower-order terms (dtrsv, the D_l x D_l blocks) left out on both."""
    P, m, k = c["P"], c["N0"] * c["paths"], c["paths"]
    r = min(P, m)
    d = P - r
    chol = P ** 3 / 3
    kern = k * (k + 1) * P * P / 2
    comp = 2 * r ** 3 / 3 + 2 * d * r * r + d * d * r + d * r * r
    direct = P * P * m + P * m * k
    numpy = 2 * P * m * k + 2 * P * P * m + chol + P * P * m + 2 * P * m * k + 2 * P * m
    return chol, kern, comp, direct, numpy


def route_floors(c):
    """Seconds of each gradient route's own calls per evaluation, at least
    what they cannot go below: the dense calls timed alone, or their flops at
    the rate dpotrf(P) reached, whichever is less (LAPACK's dtrtri stands in
    for the triangle-by-triangle solve and is slower than theory/paths.c's
    recursive one at small P, so the flop figure bounds it there), plus,
    compressed, the pass over the pairs' S_ab (memory, timed alone)."""
    ch = c["chol_seconds"]
    chol, _, comp, direct, _ = flops(c)
    fc = min(c["floor_compressed_seconds"], comp / chol * ch) + c.get("floor_pass_seconds", 0.0)
    fd = min(c["floor_direct_seconds"], direct / chol * ch)
    return fc, fd


# The pieces of a Gibbs sweep's floor beyond its Choleskies, as
# bench/paths_bench.c's gibbs_floor times them (key, printed name).
GIBBS_PARTS = (("draws", "draws"), ("forward", "forward pass"),
               ("precision", "precision matrices (least: dsyrk per block, V_0 from its pre-kernels)"),
               ("solves", "the two triangular solves"), ("matvecs", "J theta_0, J^T alpha and the update"))


def gibbs_floor(c):
    """The least sweep / Choleskies of verify/paths_gibbs.c's method: its
    L + 2 Choleskies plus the pieces of GIBBS_PARTS, each timed alone
    (paths_bench.c gibbs_floor), over the Choleskies; None when the C
    side did not time them."""
    if "sweep_floor_draws_seconds" not in c:
        return None
    extra = sum(c[f"sweep_floor_{key}_seconds"] for key, _ in GIBBS_PARTS)
    nsw = c["sweep_choleskies"]
    return (nsw * c["chol_seconds"] + extra) / (nsw * c["chol_seconds"])


def floor_numbers(c, p):
    """(a) and (b) of floors(), without printing: the solve-over-Choleskies
    floor a, NumPy/C reachable at equal evaluation counts b, the floor per
    evaluation in seconds, and NumPy/C reachable at the evaluation counts
    taken (our floor per evaluation times our count against NumPy's solve
    as run)."""
    ch = c["chol_seconds"]
    fl = ch + c.get("kernel_seconds", 0.0) + c.get("shared_seconds", 0.0) + min(route_floors(c))
    a = fl * c["evaluations"] / (c["solve_choleskies"] * ch)
    b = p["solve_seconds"] / p["evaluations"] / fl
    return a, b, fl, p["solve_seconds"] / (c["evaluations"] * fl)


def floors(c, p):
    """What the two targets can reach: (a) the solve against its Choleskies
    cannot fall below one evaluation's unavoidable calls (dpotrf, the
    stream of pre-kernels that forms K, v = (K + T I)^{-1} Y and b = Phi^T v,
    and the cheaper gradient route's own calls, route_floors) per
    evaluation; (b) at equal evaluation counts NumPy/C cannot exceed NumPy's
    time per evaluation over that floor."""
    P, ch = c["P"], c["chol_seconds"]
    nc, npv = c["evaluations"], p["evaluations"]
    chol, kern, comp, direct, numpy = flops(c)
    ec, ep = c["solve_seconds"] / nc, p["solve_seconds"] / npv
    print(f"   evaluations: C {nc} (|grad| {c['grad_norm']:.2g}), NumPy/SciPy {npv} (|grad| {p['grad_norm']:.2g}"
          f"{'' if p['success'] else ', stopped early'}); per evaluation: C {ms(ec)} = {ec / ch:.3g} Choleskies "
          f"(dpotrf({P}) {ms(ch)}), NumPy {ms(ep)} = {ep / ch:.3g} of ours, {ep / p['chol_seconds']:.3g} of its own "
          f"(scipy cholesky {ms(p['chol_seconds'])})")
    nm = "compressed" if comp <= direct else "direct"
    print(f"   flops per evaluation in Choleskies (P^3/3 = {chol:.3g}): ours 1 + route (compressed {comp / chol:.3g}, "
          f"direct {direct / chol:.3g}; {c['route']} taken) + kernel from pre-kernels {kern / chol:.2g} = "
          f"{(chol + kern + min(comp, direct)) / chol:.3g} on the {nm} route; NumPy's formulas "
          f"{numpy / chol:.3g} (its K = Z Z^T and L^{{-1}} Phi: 3 P^2 m = {3 * P * P * c['N0'] * c['paths'] / chol:.3g})")
    fc, fd = route_floors(c)
    kt, st = c.get("kernel_seconds", 0.0), c.get("shared_seconds", 0.0)
    a, b, fl, bsolve = floor_numbers(c, p)
    route = "compressed" if fc <= fd else "direct"
    nch = c["solve_choleskies"]
    ac = c.get("action_compressed_seconds")
    acs = "n/a" if ac is None else f"{ac / ch:.3g}"
    print(f"   (a) exact-gradient floor, measured: dpotrf 1 + K from the pre-kernels {kt / ch:.3g} + v and b = Phi^T v "
          f"{st / ch:.3g} + the route's own calls (compressed {fc / ch:.3g}, direct {fd / ch:.3g}) = {fl / ch:.3g} "
          f"Choleskies per evaluation ({route}); a solve of {nc} evaluations at this floor would take {a:.3g}x its "
          f"{nch} Choleskies: target <= 3x {'reachable' if a <= 3 else 'NOT reachable by this method'}; one "
          f"action+gradient now {c['action_seconds'] / ch:.3g} (AUTO: {c['route']}; forced direct "
          f"{c['action_direct_seconds'] / ch:.3g}, forced compressed {acs})")
    print(f"   (b) NumPy/C reachable at equal evaluation counts: NumPy per evaluation / our floor = {b:.3g}x "
          f"(target >= 5x {'reachable' if b >= 5 else 'NOT reachable by this method'}); flops alone "
          f"{numpy / (chol + kern + min(comp, direct)):.3g}x; at the counts taken ({npv} vs {nc}) "
          f"{bsolve:.3g}x; now at equal counts {ep / ec:.3g}x (information)")


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
    fa, fb, _, ft = floor_numbers(c, p)
    rs = p["solve_seconds"] / c["solve_seconds"]
    uc, up = np.array(c["solve_U"]), np.array(p["solve_U"])
    dU = np.max(np.abs(uc - up)) / np.max(np.abs(uc))
    dS = abs(c["solve_S"] - p["solve_S"]) / abs(c["solve_S"])
    print(f"   solve: C {ms(c['solve_seconds'])} ({c['outcome']}, {c['iterations']} iterations, "
          f"{c['evaluations']} evaluations, |grad| {c['grad_norm']:.2g}); NumPy/SciPy BFGS "
          f"{ms(p['solve_seconds'])} ({'converged' if p['success'] else p['message']}, "
          f"{p['iterations']} iterations, {p['evaluations']} evaluations, |grad| {p['grad_norm']:.2g})")
    rs_su = p["solve_seconds"] / (c["solve_seconds"] + c["setup_seconds"])
    print(f"          NumPy/C = {rs:.3g}x (target >= 5x: {verdict(rs >= 5)}; reachable: "
          f"{'yes' if ft >= 5 else 'no'}, at most {ft:.3g}x at the evaluation counts taken, {fb:.3g}x at equal counts, "
          f"(b) below), {rs_su:.3g}x counting C's "
          f"set-up ({verdict(rs_su >= 5)}); "
          f"S agrees to {dS:.2g} relative, U to {dU:.2g} (max|dU|/max|U|)")
    # 3. solve against its Choleskies
    nch = c["solve_choleskies"]
    bound = nch * c["chol_seconds"]
    r = c["solve_seconds"] / bound
    rsu = (c["solve_seconds"] + c["setup_seconds"]) / bound
    print(f"   solve / its Choleskies: {nch} x dpotrf({P}) = {nch} x {ms(c['chol_seconds'])} = "
          f"{ms(bound)}; solve = {r:.3g}x that (target <= 3x: {verdict(r <= 3)}; reachable: "
          f"{'yes' if fa <= 3 else 'no'}, floor {fa:.3g}x, (a) below); with the "
          f"once-per-data set-up ({ms(c['setup_seconds'])}: pre-kernels, compression) "
          f"{rsu:.3g}x ({verdict(rsu <= 3)})")
    floors(c, p)
    # 4. Gibbs sweep against its Choleskies, and its floor
    nsw = c["sweep_choleskies"]
    bsw = nsw * c["chol_seconds"]
    rg = c["sweep_seconds"] / bsw
    fg = gibbs_floor(c)
    reach = "" if fg is None else f"; reachable: {'yes' if fg <= 3 else 'no'}, floor {fg:.3g}x, (c) below"
    print(f"   Gibbs sweep: {ms(c['sweep_seconds'])} against {nsw} x dpotrf({P}) = {ms(bsw)}: "
          f"{rg:.3g}x (target <= 3x: {verdict(rg <= 3)}{reach})")
    if "sweep_median_seconds" in c:
        print(f"   (best of {c['sweeps_timed']} sweeps against the best of {c['chol_reps']} dpotrf; the median sweep "
              f"{ms(c['sweep_median_seconds'])}, {c['sweep_median_seconds'] / bsw:.3g}x, not judged)")
    if fg is not None:
        ch = c["chol_seconds"]
        parts = ", ".join(f"{name} {c[f'sweep_floor_{key}_seconds'] / ch:.3g}" for key, name in GIBBS_PARTS)
        print(f"   (c) Gibbs-sweep floor, measured: dpotrf {nsw} + {parts} = {fg * nsw:.3g} Choleskies "
              f"per sweep ({c['sweep_draws']} Gaussian draws); a sweep at this floor would take {fg:.3g}x its "
              f"{nsw} Choleskies: target <= 3x {'reachable' if fg <= 3 else 'NOT reachable by this method'}")


if __name__ == "__main__":
    main()
