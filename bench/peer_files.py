"""The dataset and matrix file formats of the README, read independently of
attncheck's C parser, for the Python peers of the benchmarks."""

import sys


def strip_comment(line):
    cut = line.find("#")
    return (line if cut < 0 else line[:cut]).strip()


def read_data(path):
    """Examples as (list of token ids, label); the label must be in its sequence."""
    examples = []
    with open(path, encoding="utf-8-sig") as f:
        for no, raw in enumerate(f, 1):
            line = strip_comment(raw)
            if not line:
                continue
            seq, bar, lab = line.partition("|")
            if not bar:
                sys.exit(f"{path}:{no}: no '|'")
            toks = [int(t) for t in seq.split()]
            y = int(lab.strip())
            if not toks or y not in toks:
                sys.exit(f"{path}:{no}: label {y} not in its sequence")
            examples.append((toks, y))
    return examples


def read_rows(path):
    """A matrix file (embeddings, or W): its rows as lists of floats."""
    rows = []
    with open(path, encoding="utf-8-sig") as f:
        for raw in f:
            line = strip_comment(raw)
            if line:
                rows.append([float(v) for v in line.split()])
    return rows
