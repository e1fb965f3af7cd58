#!/usr/bin/env bash
# Checks that the repository's documentation references resolve, so that a maintainer can follow every one:
#   1. every `docs/<file>.md §N` (and `§N, §M`, `§N and §M` after it) names an existing file with a heading numbered N
#      ("## 4.", "### 4.3 …"); every `docs/<file>.md "Text"` names a heading or a bold paragraph label
#      (`**Text**`, also as a list item) that contains that text (case-insensitive);
#   2. inside docs/<file>.md, a bare `§N` names a numbered heading of that same file;
#   3. nothing cites documents that live outside the repository (the notes the docs/ pages replaced, or a shared
#      folder beside the checkout).
# Usage: scripts/check-doc-refs.sh [repository root]   (exit 0: all good; 1: the offending lines are printed)
# Needs python3 and git. Scans the files git tracks or would track (ignored build outputs are skipped).
set -euo pipefail
root="${1:-$(cd "$(dirname "$0")/.." && pwd)}"
cd "$root"
git ls-files -co --exclude-standard -z | python3 -c '
import os, re, sys

files = [f for f in sys.stdin.read().split("\0") if f and os.path.isfile(f)]
# The checker itself is exempt: it spells the names of the former notes (in pieces, below).
exempt = {"scripts/check-doc-refs.sh"}
# Spelled in pieces so that a grep for these names does not find this script.
outside = re.compile("|".join([r"sgmim-" r"method\.md", r"datasets-and-" r"metrics\.md", r"cpp-" r"platform\.md",
                               r"sgmim-" r"paper", r"\.\./" r"shared", r"/work/" r"shared", r"shared/" r"docs"]))
ref = re.compile(r"docs/([A-Za-z0-9_.-]+\.md)")
sec = re.compile(r"§(\d+(?:\.\d+)*)")
quoted = re.compile(r"^[`]?,?\s*\(?\"([^\"]+)\"")
heading_cache = {}

def headings(doc):
    if doc not in heading_cache:
        nums, texts = set(), []
        try:
            with open(doc, encoding="utf-8") as fh:
                in_code = False
                for line in fh:
                    if line.startswith("```"):
                        in_code = not in_code
                        continue
                    b = re.match(r"(?:\s*[-*]\s+)?\*\*([^*]+)\*\*", line)
                    if b and not in_code:
                        texts.append(b.group(1))
                    m = re.match(r"#+\s+(.*?)\s*$", line)
                    if m and not in_code:
                        text = m.group(1)
                        texts.append(text)
                        n = re.match(r"(\d+(?:\.\d+)*)\.?(?:\s|$)", text)
                        if n:
                            nums.add(n.group(1))
        except OSError:
            nums = None
        heading_cache[doc] = (nums, texts)
    return heading_cache[doc]

def span_of(rest):
    """The text after a file name that its § numbers belong to: up to `;`, a quote, the next docs/ file, the
    line end, or a `)` that closes a parenthesis opened before the file name."""
    depth = 0
    for k, c in enumerate(rest):
        if c in ";\"" or rest.startswith("docs/", k):
            return rest[:k]
        if c == "(":
            depth += 1
        elif c == ")":
            if depth == 0:
                return rest[:k]
            depth -= 1
    return rest

errors = []
for f in files:
    try:
        with open(f, encoding="utf-8") as fh:
            lines = fh.read().split("\n")
    except (UnicodeDecodeError, OSError):
        continue
    if f in exempt:
        continue
    own_doc = f if f.startswith("docs/") and f.endswith(".md") else None
    for i, line in enumerate(lines, 1):
        where = f"{f}:{i}"
        if outside.search(line):
            errors.append(f"{where}: cites a document outside the repository: {line.strip()[:110]}")
        covered = []
        for m in ref.finditer(line):
            doc = "docs/" + m.group(1)
            nums, texts = headings(doc)
            if nums is None:
                errors.append(f"{where}: {doc} does not exist")
                continue
            rest = line[m.end():]
            span = span_of(rest)
            covered.append((m.end(), m.end() + len(span)))
            for s in sec.finditer(span):
                if s.group(1) not in nums:
                    errors.append(f"{where}: {doc} has no section §{s.group(1)}")
            q = quoted.match(rest)
            if q and not any(q.group(1).lower() in t.lower() for t in texts):
                errors.append(f"{where}: {doc} has no heading \"{q.group(1)}\"")
        if own_doc:
            nums, _ = headings(own_doc)
            for s in sec.finditer(line):
                if any(a <= s.start() < b for a, b in covered):
                    continue
                if s.group(1) not in nums:
                    errors.append(f"{where}: this file has no section §{s.group(1)}")

for e in errors:
    print(e)
if errors:
    print(f"check-doc-refs: {len(errors)} problem(s)")
    sys.exit(1)
print("check-doc-refs: all documentation references resolve")
'
