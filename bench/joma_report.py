#!/usr/bin/python3
"""Lines of the JoMA benchmark report (bench/joma.sh), with each target judged
met or MISSED.

usage: joma_report.py scipy C_JSON SCIPY_JSON      ours vs solve_ivp (target: >= 20x)

The scipy lines also say whether 20x is reachable at all: the ceiling is
solve_ivp's time over our right-hand side alone at our f count (what a
stepper of ours costing nothing would reach), and, tighter, over that plus
the least arithmetic of an 8th-order Prince-Dormand step (78 multiply-adds
per component per trial step) over our trial steps; both measured by
joma_bench.c on the states of our own solve.
       joma_report.py cvode C_JSON                 ours vs CVODE at equal accuracy (target: <= 2x)
       joma_report.py step C_JSON TORCH_JSON       a training step vs PyTorch (target: >= 3x)
"""
import json
import sys

SCIPY_TARGET = 20.0
CVODE_TARGET = 2.0
TORCH_TARGET = 3.0


def ms(s):
    return f"{s * 1e3:.3g} ms"


def verdict(ok):
    return "met" if ok else "MISSED"


def fmt_err(e):
    return "n/a" if e is None else f"{e:.2g}"


def us(s):
    return f"{s * 1e6:.3g} us"


def scipy(c, p):
    r = p["seconds"] / c["seconds"]
    # The ceiling: solve_ivp's time over our right-hand side alone at our f
    # count (both timed on the states their own solves asked for): the ratio
    # a stepper of ours costing nothing would reach.
    ceil = p["seconds"] / c["rhs_seconds"]
    # and with an 8th-order pair's least arithmetic over our trial steps
    ceil8 = p["seconds"] / (c["rhs_seconds"] + c["rk_arith_seconds"]) if "rk_arith_seconds" in c else ceil
    if ceil < SCIPY_TARGET:
        reach = f"reachable: no, ceiling {ceil:.3g}x"
    elif ceil8 < SCIPY_TARGET:
        reach = f"reachable: not by an 8th-order RK stepper, ceiling {ceil:.3g}x, {ceil8:.3g}x with its arithmetic"
    else:
        reach = f"reachable: yes, ceiling {ceil:.3g}x, {ceil8:.3g}x with an RK8 step's arithmetic"
    print(f"   {c['kind']:6s} M={c['M']:<5d} {c['NT']:3d} times: ours {ms(c['seconds'])} ({c['steps']} steps, "
          f"{c.get('rejected', 0)} rejected, {c['nfev']} f, {c.get('side_steps', 0)} side) | solve_ivp "
          f"{ms(p['seconds'])} ({p['nfev']} f) | ratio {r:.3g}x "
          f"(target >= {SCIPY_TARGET:g}x: {verdict(r >= SCIPY_TARGET)}; {reach})")
    so, sp = c["seconds"] - c["rhs_seconds"], p["seconds"] - p["rhs_seconds"]
    print(f"          ceiling: solve_ivp time / our RHS-only time ({c['rhs_calls']} f, {ms(c['rhs_seconds'])}, "
          f"{us(c['rhs_seconds'] / c['rhs_calls'])}/f) = {ceil:.3g}x; ours outside the RHS {ms(so)} "
          f"({so / c['seconds']:.0%}); solve_ivp: RHS {ms(p['rhs_seconds'])} ({p['rhs_calls']} f, "
          f"{us(p['rhs_seconds'] / p['rhs_calls'])}/f), its stepper {ms(sp)} ({sp / p['seconds']:.0%})")
    if "rk_arith_seconds" in c:
        ra = c["rk_arith_seconds"]
        trials = c["steps"] + c.get("rejected", 0) + c.get("side_steps", 0)
        print(f"          with the least arithmetic of an 8th-order Prince-Dormand step added (78 multiply-adds per "
              f"component, {trials} trial steps, AVX2: {ms(ra)}) the ceiling is {ceil8:.3g}x")
    if r < SCIPY_TARGET <= ceil:
        need = p["seconds"] / SCIPY_TARGET - c["rhs_seconds"]
        print(f"          {SCIPY_TARGET:g}x needs ours <= {ms(p['seconds'] / SCIPY_TARGET)}: outside the RHS <= {ms(need)} "
              f"at this f count (now {ms(so)}, {so / need:.2g}x that)")
    print(f"          max |v_ours - v_scipy| = {fmt_err(p['max_diff_ours'])}; error against the closed form: "
          f"ours {fmt_err(c['err'])}, solve_ivp {fmt_err(p['err'])}")
    h = c.get("land")
    if h and c["NT"] > 2:
        rh = p["seconds"] / h["seconds"]
        print(f"          (not judged) ours with LAND rows (a step onto each time): {ms(h['seconds'])} ({h['steps']} steps, "
              f"{h['nfev']} f), ratio {rh:.3g}x; error against the closed form {fmt_err(h['err'])}, "
              f"|LAND - HERMITE| {fmt_err(h['diff'])}")


def cvode(c):
    """For each CVODE tolerance: its error e against the closed form and its
    time; ours: the fastest of our runs (rtol 1e-6 .. 1e-13) whose error is
    <= e.  The judged ratio is the worst over CVODE's tolerances."""
    sw = c["sweep"]
    ours = [(r["ours_err"], r["ours_seconds"]) for r in sw if r["ours_err"] is not None]
    worst, beyond = 0.0, []
    print(f"   M={c['M']}: CVODE (Adams, fixed point) rtol -> error, time | ours at error <= that -> time, ratio")
    for r in sw:
        e, s = r["cvode_err"], r["cvode_seconds"]
        if e is None or s is None:
            print(f"     rtol {r['rtol']:g}: CVODE failed")
            continue
        cand = [t for (eo, t) in ours if eo <= e]
        if not cand:
            print(f"     rtol {r['rtol']:g}: CVODE {e:.2g} in {ms(s)} | no run of ours has error <= {e:.2g}")
            continue
        t = min(cand)
        worst = max(worst, t / s)
        print(f"     rtol {r['rtol']:g}: CVODE err {e:.2g} in {ms(s)} ({r['cvode_nfev']} f) | ours {ms(t)}, "
              f"ours/CVODE {t / s:.3g}")
    best_cv = min((r["cvode_err"] for r in sw if r["cvode_err"] is not None), default=None)
    best_us = min((e for e, _ in ours), default=None)
    print(f"     worst ours/CVODE at equal accuracy {worst:.3g} (target <= {CVODE_TARGET:g}: "
          f"{verdict(worst <= CVODE_TARGET)}); smallest error reached: CVODE {fmt_err(best_cv)}, ours "
          f"{fmt_err(best_us)}")


def step(c, p):
    r = p["seconds_per_step"] / c["seconds_per_step"]
    print(f"   M={c['M']} K={c['K']} d={c['d']} N={c['N']}: C {c['seconds_per_step'] * 1e6:.3g} us/step | "
          f"PyTorch (1 thread) {p['seconds_per_step'] * 1e6:.3g} us/step | ratio {r:.3g}x "
          f"(target >= {TORCH_TARGET:g}x: {verdict(r >= TORCH_TARGET)}); first step agrees to "
          f"{p['max_diff_first_step']:.2g}")


def main():
    mode, files = sys.argv[1], [json.load(open(f)) for f in sys.argv[2:]]
    {"scipy": scipy, "cvode": cvode, "step": step}[mode](*files)


if __name__ == "__main__":
    main()
