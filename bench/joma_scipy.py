#!/usr/bin/python3
"""Peer for the JoMA ODE solve: scipy.integrate.solve_ivp on the system
bench/joma_bench.c wrote.

usage: joma_scipy.py DIR RTOL ATOL REPS

Reads DIR/sys.txt (kind M T t_end v0 NT, then the M drive values), DIR/ours.txt
(our trajectory: NT rows of M numbers) and, for kind explin, DIR/ref.txt
(the closed form).  Integrates with DOP853 (explicit Runge-Kutta 8(5,3), the
counterpart of GSL's rk8pd) at the same rtol, atol, span and output times
(t_eval), with a vectorised NumPy right-hand side:

    explin  dv/dt = Delta * exp(v^2 / T)
    softnl  dv/dt = (mu - v) * softmax(v^2 / T)     (log-sum-exp)

Timing: the solve_ivp call only, thread CPU seconds (time.thread_time, the
clock joma_bench uses), the fastest of REPS runs; and rhs alone, called on
the (t, v) of every call of one more solve, timed the same way (rhs_seconds,
rhs_calls): solve_ivp's own stepper costs the difference.  Prints one JSON
object: seconds, nfev, status, rhs_calls, rhs_seconds, max_diff_ours (largest |v_scipy - v_ours| over all
times and components), err (against the closed form; null for softnl).
"""
import json
import sys
import time

import numpy as np
from scipy.integrate import solve_ivp
from scipy.special import logsumexp


def main():
    d, rtol, atol, reps = sys.argv[1], float(sys.argv[2]), float(sys.argv[3]), int(sys.argv[4])
    with open(d + "/sys.txt") as f:
        head = f.readline().split()
        kind, M, T, t_end, v0, nt = head[0], int(head[1]), float(head[2]), float(head[3]), float(head[4]), int(head[5])
        drive = np.array([float(f.readline()) for _ in range(M)])
    ours = np.loadtxt(d + "/ours.txt", ndmin=2)
    t = np.array([t_end * k / (nt - 1) for k in range(nt)])
    t[-1] = t_end
    if kind == "explin":
        def rhs(_t, v):
            return drive * np.exp(v * v / T)
    else:
        def rhs(_t, v):
            z = v * v / T
            return (drive - v) * np.exp(z - logsumexp(z))
    y0 = np.full(M, v0)
    best, sol = float("inf"), None
    for _ in range(reps):
        t0 = time.thread_time()
        sol = solve_ivp(rhs, (0.0, t_end), y0, method="DOP853", t_eval=t, rtol=rtol, atol=atol)
        best = min(best, time.thread_time() - t0)
    V = sol.y.T
    # The right-hand side alone: one more solve records the (t, v) of every
    # call, then rhs is called on those states, timed the same way (the
    # fastest of REPS): what solve_ivp spends outside it is its stepper.
    states = []

    def rec(t_, v):
        states.append((t_, np.array(v, copy=True)))
        return rhs(t_, v)

    solve_ivp(rec, (0.0, t_end), y0, method="DOP853", t_eval=t, rtol=rtol, atol=atol)
    rhs_best = float("inf")
    for _ in range(reps):
        t0 = time.thread_time()
        for t_, v in states:
            rhs(t_, v)
        rhs_best = min(rhs_best, time.thread_time() - t0)
    out = {"seconds": best, "nfev": int(sol.nfev), "status": int(sol.status),
           "rhs_calls": len(states), "rhs_seconds": rhs_best,
           "max_diff_ours": float(np.max(np.abs(V - ours))) if V.shape == ours.shape else None, "err": None}
    if kind == "explin":
        ref = np.loadtxt(d + "/ref.txt", ndmin=2)
        out["err"] = float(np.max(np.abs(V - ref)))
    print(json.dumps(out))


if __name__ == "__main__":
    main()
