"""The JSON keys a doc lists against those of a real output, both ways
(tests/cli_paths.sh, tests/cli_joma.sh).  Exit 0 when they agree, else 1
with the difference.

  doc_keys.py table DOC SECTION OUTPUT   the first table after the line
      containing 'JSON output' in the '## ' section whose title contains
      SECTION: its first column's `names` (dotted = one level down; the
      `settings` row's second column lists settings.NAME); the output's
      top-level keys and those of its 'test' and 'settings' objects.  A
      row "as for solve" takes the first table's names of that row.
  doc_keys.py prose DOC MARKER END OUTPUT [SUB]   the `names` in DOC between
      MARKER and the next END (backslash escapes read: '\\n\\n' is a blank
      line); the output's top-level keys (or those of
      its first SUB row, e.g. rows).
  doc_keys.py column DOC SECTION OUTPUT SUB   the first column's `names`
      of the first table in the '## ' section titled with SECTION, against
      the keys of the output's first SUB row.
  doc_keys.py comments DOC MARKER END OUTPUT   the `names` in DOC between
      MARKER and the next END, less those inside parentheses (the values
      said beside a key); the keys of OUTPUT's '# key: value' lines (a CSV
      whose comment lines come first)."""
import json
import re
import sys

NAME = r'`([A-Za-z_][A-Za-z_0-9.]*)`'


def table(doc, section, out):
    lines = open(doc, encoding='utf-8').read().split('\n')

    def rows_of(sec):
        i = next(k for k, l in enumerate(lines) if l.startswith('## ') and sec in l)
        i = next(k for k in range(i, len(lines)) if 'JSON output' in lines[k])
        k = next(k for k in range(i, len(lines)) if lines[k].startswith('|'))
        rows = []
        while k < len(lines) and lines[k].startswith('|'):
            rows.append([c.strip() for c in lines[k].strip().strip('|').split('|')])
            k += 1
        return rows[2:]

    def names(rows):
        got = set()
        for cells in rows:
            first = re.findall(NAME, cells[0])
            got |= set(first)
            if 'settings' in first:
                got |= {'settings.' + n for n in re.findall(NAME, cells[1])}
        return got

    rows = rows_of(section)
    documented = names(rows)
    if any('as for solve' in c[1] for c in rows):
        documented |= {n for n in names(rows_of('paths solve')) if n.startswith('settings.')}
    d = json.load(open(out))
    actual = set(d)
    for key in ('test', 'settings'):
        if isinstance(d.get(key), dict):
            actual |= {key + '.' + s for s in d[key]}
            if not any(n == key for n in documented):
                actual.discard(key)
    return documented, actual


def prose(doc, marker, end, out, sub=None):
    text = open(doc, encoding='utf-8').read()
    end = end.encode().decode('unicode_escape')  # '\\n\\n' from the shell: a blank line
    documented = set(re.findall(NAME, text.split(marker, 1)[1].split(end, 1)[0]))
    d = json.load(open(out))
    return documented, set(d[sub][0] if sub else d)


def column(doc, section, out, sub):
    lines = open(doc, encoding='utf-8').read().split('\n')
    i = next(k for k, l in enumerate(lines) if l.startswith('## ') and section in l)
    k = next(k for k in range(i, len(lines)) if lines[k].startswith('|'))
    documented = set()
    k += 2
    while k < len(lines) and lines[k].startswith('|'):
        documented |= set(re.findall(NAME, lines[k].strip().strip('|').split('|')[0]))
        k += 1
    return documented, set(json.load(open(out))[sub][0])


def comments(doc, marker, end, out):
    text = open(doc, encoding='utf-8').read().split(marker, 1)[1].split(end, 1)[0]
    documented = set(re.findall(NAME, re.sub(r'\([^()]*\)', '', text)))
    actual = set()
    for line in open(out, encoding='utf-8'):
        if not line.startswith('# '):
            break
        actual.add(line[2:].split(':', 1)[0])
    return documented, actual


documented, actual = {'table': table, 'prose': prose, 'column': column,
                      'comments': comments}[sys.argv[1]](*sys.argv[2:])
if documented != actual:
    print('documented only:', sorted(documented - actual), '; output only:', sorted(actual - documented))
    sys.exit(1)
