#!/usr/bin/env bash
# Checks that docs/PROTOCOL.md still holds the wire contract word for word.
#
#   bash tests/protocol_doc_check.sh [CONTRACT [DOC]]
#
# CONTRACT defaults to docs/contract/PROTOCOL-v1.md (the committed copy of the
# contract), DOC to docs/PROTOCOL.md, both relative to the repository root.
#
# Every non-empty line of the contract must appear in the doc as a whole,
# identical line (spaces included), in the contract's order. A run of
# consecutive non-empty contract lines (a paragraph, a table, a list, the
# header layout) must also stay consecutive in the doc: the doc may add Notes
# and examples between the contract's blocks, never inside one.
#
# When the contract (the shared PROTOCOL.md) changes, copy it verbatim over
# docs/contract/PROTOCOL-v1.md, then bring docs/PROTOCOL.md up to it.
#
# Exit 0 when the doc holds the contract; 1 with the first missing or
# misplaced contract line printed otherwise; 2 if a file cannot be read.
set -u

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
contract=${1:-$root/docs/contract/PROTOCOL-v1.md}
doc=${2:-$root/docs/PROTOCOL.md}

for f in "$contract" "$doc"; do
  if [ ! -r "$f" ]; then
    echo "protocol_doc_check: cannot read $f" >&2
    exit 2
  fi
done

# awk in the C locale compares bytes, so UTF-8 text is matched exactly.
LC_ALL=C awk -v contract_name="$contract" -v doc_name="$doc" '
  function blank(s) { return s ~ /^[ \t\r]*$/ }
  FNR == NR {                       # the contract: split into blocks
    if (blank($0)) { inblock = 0; next }
    if (!inblock) { nb++; bsize[nb] = 0; inblock = 1 }
    bsize[nb]++
    bline[nb, bsize[nb]] = $0
    bnum[nb, bsize[nb]] = FNR
    total++
    next
  }
  { nd++; d[nd] = $0 }              # the doc
  END {
    cursor = 1                      # first doc line a block may start at
    for (b = 1; b <= nb; b++) {
      best = 0; found = 0
      for (s = cursor; s + bsize[b] - 1 <= nd; s++) {
        k = 0
        while (k < bsize[b] && d[s + k] == bline[b, k + 1]) k++
        if (k == bsize[b]) { found = s; break }
        if (k > best) best = k
      }
      if (found) { cursor = found + bsize[b]; continue }
      # Not found whole: report the first line past the longest matching start.
      miss = best + 1
      line = bline[b, miss]
      later = 0; earlier = 0
      for (i = cursor; i <= nd && !later; i++) if (d[i] == line) later = i
      for (i = 1; i < cursor && !earlier; i++) if (d[i] == line) earlier = i
      printf "%s: contract line %d is ", doc_name, bnum[b, miss]
      if (later)
        printf "not in place: its block is broken up or changed (doc line %d has the line itself):\n", later
      else if (earlier)
        printf "out of order (only doc line %d has it, before the previous contract block):\n", earlier
      else
        print "missing:"
      print "  " line
      printf "(compared against %s)\n", contract_name
      exit 1
    }
    printf "%s holds all %d contract lines (%d blocks) of %s in order\n", doc_name, total, nb, contract_name
  }
' "$contract" "$doc"
