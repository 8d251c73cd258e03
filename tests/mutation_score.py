"""Reads `mutmut results --all true` on stdin; prints the score per module and the survivors.

Mutants listed in tests/mutation_equivalent.txt (name, then why) change nothing a user can
observe; they are reported apart and left out of the score. Exit status 1 below TARGET.
"""

from __future__ import annotations

import sys
from collections import Counter, defaultdict
from pathlib import Path

TARGET = 0.90
KILLED = {"killed", "timeout"}


def equivalents() -> dict[str, str]:
    path = Path(__file__).with_name("mutation_equivalent.txt")
    found = {}
    for line in path.read_text().splitlines() if path.exists() else []:
        if line.strip() and not line.startswith("#"):
            name, _, why = line.partition(" ")
            found[name] = why.strip()
    return found


def main() -> int:
    known = equivalents()
    per_module: dict[str, Counter[str]] = defaultdict(Counter)
    survivors: list[str] = []
    for line in sys.stdin:
        name, sep, status = line.strip().rpartition(": ")
        if not sep or "__mutmut_" not in name:
            continue
        module = name.rsplit(".", 1)[0]  # spyagency.passes.outbox.x_deliver_pending__mutmut_9 → spyagency.passes.outbox
        if status == "skipped":
            continue
        if name in known:
            per_module[module]["equivalent"] += 1
            continue
        per_module[module]["all"] += 1
        if status in KILLED:
            per_module[module]["killed"] += 1
        else:
            survivors.append(f"{name}: {status}")
    total, killed = 0, 0
    for module, counts in sorted(per_module.items()):
        total, killed = total + counts["all"], killed + counts["killed"]
        share = counts["killed"] / counts["all"] if counts["all"] else 1.0
        print(f"{module:28} {counts['killed']:4} of {counts['all']:4} killed ({share:.1%}), "
              f"{counts['equivalent']} equivalent")
    score = killed / total if total else 0.0
    print(f"{'all safety modules':28} {killed:4} of {total:4} killed ({score:.1%}); target {TARGET:.0%}")
    for survivor in survivors:
        print(f"  survived  {survivor}")
    return 0 if score >= TARGET else 1


if __name__ == "__main__":
    sys.exit(main())
