#!/usr/bin/python3
"""The fault list of tests/faults/*.faults: parse, check, plant, report.

Used by tests/faults/run.sh (docs/faults.md); standard library only.

  faults.py list [IDS]            one line per fault: id, module, file (tab-separated);
                                  IDS (comma-separated) picks some, an unknown id is an error
  faults.py check ROOT [IDS]      whether each fault's old text occurs exactly once in ROOT/file
  faults.py apply ROOT ID         plant fault ID in ROOT/file (exit 3: STALE, with the reason)
  faults.py report TSV OUT TITLE [--merge]
                                  write the markdown report of the campaign's results TSV to OUT
                                  (through OUT.tmp and a rename); --merge keeps OUT's rows of the
                                  faults not in TSV (a rerun of some faults)

A fault file holds blocks

  fault: ID
  file: PATH            (relative to the repository root)
  breaks: ONE LINE      (what the edit breaks)
  old:
  TEXT...               (verbatim lines, indentation kept)
  new:
  TEXT...
  end

separated by blank lines; '#' starts a comment line outside the old/new text.
The module of a fault is its file's name (svm.faults: svm).
"""
import glob
import os
import re
import sys

HERE = os.path.dirname(os.path.abspath(__file__))


class FaultError(Exception):
    pass


def parse(path):
    module = os.path.splitext(os.path.basename(path))[0]
    faults, cur, mode, buf = [], None, None, []
    with open(path, encoding="utf-8") as f:
        lines = f.read().split("\n")
    for no, line in enumerate(lines, 1):
        where = "%s:%d" % (os.path.relpath(path), no)
        if mode in ("old", "new"):
            if line == "new:" and mode == "old":
                cur["old"] = "\n".join(buf)
                mode, buf = "new", []
            elif line == "end" and mode == "new":
                cur["new"] = "\n".join(buf)
                faults.append(cur)
                cur, mode, buf = None, None, []
            elif line in ("old:", "new:", "end"):
                raise FaultError("%s: '%s' inside the %s text of fault %s" % (where, line, mode, cur["id"]))
            else:
                buf.append(line)
            continue
        if not line.strip() or line.startswith("#"):
            continue
        key, sep, val = line.partition(":")
        val = val.strip()
        if not sep:
            raise FaultError("%s: expected 'key: value', got '%s'" % (where, line))
        if key == "fault":
            if cur is not None:
                raise FaultError("%s: fault %s has no old/new/end" % (where, cur["id"]))
            cur = {"id": val, "module": module, "where": where}
        elif cur is None:
            raise FaultError("%s: '%s' before any 'fault:' line" % (where, key))
        elif key in ("file", "breaks"):
            cur[key] = val
        elif key == "old" and not val:
            for k in ("file", "breaks"):
                if not cur.get(k):
                    raise FaultError("%s: fault %s has no '%s:' line" % (where, cur["id"], k))
            mode, buf = "old", []
        else:
            raise FaultError("%s: unknown key '%s'" % (where, key))
    if cur is not None:
        raise FaultError("%s: fault %s is not closed by 'end'" % (os.path.relpath(path), cur["id"]))
    return faults


def load(ids=None):
    faults = []
    for path in sorted(glob.glob(os.path.join(HERE, "*.faults"))):
        faults.extend(parse(path))
    seen = {}
    for f in faults:
        if f["id"] in seen:
            raise FaultError("%s: fault id %s repeats %s" % (f["where"], f["id"], seen[f["id"]]))
        seen[f["id"]] = f["where"]
        if f["old"] == f["new"]:
            raise FaultError("%s: fault %s changes nothing" % (f["where"], f["id"]))
    if ids:
        want = [i for i in ids.split(",") if i]
        unknown = [i for i in want if i not in seen]
        if unknown:
            raise FaultError("unknown fault id(s): %s" % ", ".join(unknown))
        faults = [f for f in faults if f["id"] in want]
    return faults


def stale_reason(root, f):
    """None when f's old text occurs exactly once in its file under root."""
    path = os.path.join(root, f["file"])
    if not os.path.isfile(path):
        return "%s does not exist" % f["file"]
    with open(path, encoding="utf-8") as fh:
        n = fh.read().count(f["old"])
    if n != 1:
        return "its old text occurs %d times in %s (need exactly 1)" % (n, f["file"])
    return None


def apply(root, f):
    path = os.path.join(root, f["file"])
    with open(path, encoding="utf-8") as fh:
        text = fh.read()
    with open(path, "w", encoding="utf-8") as fh:
        fh.write(text.replace(f["old"], f["new"], 1))


def md(s):
    return s.replace("|", "\\|")


def unmd(s):
    return s.replace("\\|", "|").strip()


def read_report(out):
    """The rows (id: 6 cells after the id) and the run lines of an earlier report."""
    rows, runs = {}, []
    if not os.path.exists(out):
        return rows, runs
    with open(out, encoding="utf-8") as fh:
        for line in fh:
            line = line.rstrip("\n")
            if line.startswith("- run: "):
                runs.append(line[len("- run: "):])
            elif line.startswith("| ") and not line.startswith("| id |"):
                cells = [unmd(c) for c in re.split(r"(?<!\\)\|", line)[1:-1]]
                if len(cells) == 7:
                    rows[cells[0]] = [cells[0], cells[4], cells[1], cells[2], cells[5], cells[6]]
    return rows, runs


def report(tsv, out, title, merge=False):
    rows = []
    with open(tsv, encoding="utf-8") as fh:
        for line in fh:
            parts = line.rstrip("\n").split("\t")
            if len(parts) == 6:
                rows.append(parts)
    faults = load()
    runs = [title]
    if merge:
        old, old_runs = read_report(out)
        runs = old_runs + [title]
        new = {r[0]: r for r in rows}
        # the order of the fault list; rows of faults no longer listed are dropped
        rows = [new.get(f["id"]) or old.get(f["id"]) for f in faults]
        rows = [r for r in rows if r]
    breaks = {f["id"]: f["breaks"] for f in faults}
    count = {}
    for r in rows:
        v = r[1].split("-")[0]
        count[v] = count.get(v, 0) + 1
    n = len(rows)
    judged = n - count.get("INVALID", 0) - count.get("STALE", 0)
    lines = ["# Fault-planting campaign", "",
             "**%d caught, %d missed, %d invalid, %d stale of %d faults** (caught %d of the %d that built)."
             % (count.get("CAUGHT", 0), count.get("MISSED", 0), count.get("INVALID", 0),
                count.get("STALE", 0), n, count.get("CAUGHT", 0), judged), ""]
    lines += ["- run: " + r for r in runs]
    lines += ["", "Each fault is one exact-text edit of tests/faults/*.faults, planted alone in a copy of the "
              "tree, built, checked and reverted by tests/faults/run.sh (make faults); docs/faults.md says "
              "what CAUGHT means and what it does not cover.", "",
              "| id | module | file | what the fault breaks | verdict | caught by | seconds |",
              "|---|---|---|---|---|---|---|"]
    for fid, verdict, module, path, by, secs in rows:
        lines.append("| %s | %s | %s | %s | %s | %s | %s |" % (md(fid), md(module), md(path),
                                                             md(breaks.get(fid, "")), md(verdict), md(by),
                                                             md(secs)))
    lines.append("")
    tmp = out + ".tmp"
    with open(tmp, "w", encoding="utf-8") as fh:
        fh.write("\n".join(lines))
    os.replace(tmp, out)


def main(argv):
    if len(argv) < 2:
        sys.stderr.write(__doc__)
        return 2
    cmd, args = argv[1], argv[2:]
    try:
        if cmd == "list" and len(args) <= 1:
            for f in load(args[0] if args else None):
                print("%s\t%s\t%s" % (f["id"], f["module"], f["file"]))
            return 0
        if cmd == "check" and 1 <= len(args) <= 2:
            bad = 0
            for f in load(args[1] if len(args) > 1 else None):
                why = stale_reason(args[0], f)
                if why:
                    bad += 1
                    print("STALE %s: %s" % (f["id"], why))
            return 1 if bad else 0
        if cmd == "apply" and len(args) == 2:
            f = load(args[1])[0]
            why = stale_reason(args[0], f)
            if why:
                print(why)
                return 3
            apply(args[0], f)
            return 0
        if cmd == "report" and len(args) in (3, 4) and args[3:] in ([], ["--merge"]):
            report(args[0], args[1], args[2], merge=len(args) == 4)
            return 0
    except (FaultError, OSError, UnicodeDecodeError) as e:
        sys.stderr.write("faults.py: %s\n" % e)
        return 2
    sys.stderr.write(__doc__)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv))
