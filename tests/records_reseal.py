"""Recompute the digest of every record of an attncheck records file (the
algorithm of verify/trial.c record_digest), for the tests that build a file
of a shape `attncheck run` cannot write (a claim this version lacks).  The
digest catches accidents, not forgery: this script is the proof.

usage: /usr/bin/python3 tests/records_reseal.py IN.json OUT.json"""
import json
import math
import struct
import sys

FNV_OFFSET, FNV_PRIME, MASK = 0xcbf29ce484222325, 0x100000001b3, (1 << 64) - 1


def fnv(h, data):
    for b in data:
        h = ((h ^ b) * FNV_PRIME) & MASK
    return h


def u64(x):
    return struct.pack("<Q", x & MASK)


def number(x):
    if isinstance(x, str):
        return {"nan": math.nan, "inf": math.inf, "-inf": -math.inf}[x]
    return float(x)


def digest(run, rec):
    h = fnv(FNV_OFFSET, run["id"].encode() + b"\0")
    h = fnv(h, run["source"].encode() + b"\0")
    h = fnv(h, u64(run["seed"]))
    h = fnv(h, run["size"].encode() + b"\0")
    h = fnv(h, u64(run["ntrials"]))
    h = fnv(h, u64(rec["index"]))
    for name, v in rec["vectors"].items():
        h = fnv(h, name.encode() + b"\0")
        h = fnv(h, u64(len(v)))
        for x in v:
            x = number(x)
            h = fnv(h, u64(0x7ff8000000000000) if math.isnan(x) else struct.pack("<d", x))
    return "%016x" % h


def main():
    run = json.load(open(sys.argv[1]))
    for rec in run["records"]:
        rec["digest"] = digest(run, rec)
    with open(sys.argv[2], "w") as f:
        json.dump(run, f)


main()
