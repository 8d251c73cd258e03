"""Noise folded for people: the same words repeated for many workflows are said once, and the long list of
what is not waited for is a count with its details on demand. Words only; no decision changes here."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import replace

from spyagency.core.models import WorkflowStatus

#: The tail a ready run's reason carries when Tier0 runs producers that do not feed prompt reco.
_NOT_WAITED = re.compile(r"; not waited for: (?P<list>.*)$")
#: The quality watch's note when it has too few earlier runs: the same on every watched workflow.
_NOT_JUDGED = re.compile(r"; quality not judged: only (?P<count>\d+) earlier run\(s\) to compare with$")


def fold_not_waited(reason: str) -> tuple[str, str | None]:
    """``reason`` with its "not waited for" list said as a count, and the list itself (None if it had none)."""
    found = _NOT_WAITED.search(reason)
    if found is None:
        return reason, None
    listed = found.group("list")
    count = len(re.findall(r"\bPromptCalibProd\w* \(", listed)) or 1
    return f"{reason[:found.start()]}; {count} not waited for", listed


def fold_reasons(reasons: Sequence[str]) -> tuple[str, ...]:
    """Reasons that say the same thing of several workflows ("A: x", "B: x") said once ("A, B: x")."""
    tails: dict[str, list[str]] = {}
    order: list[str] = []
    for reason in reasons:
        head, sep, tail = reason.partition(": ")
        key = tail if sep and " " not in head else reason
        if key not in tails:
            tails[key] = []
            order.append(key)
        if sep and " " not in head:
            tails[key].append(head)
    return tuple(f"{', '.join(tails[key])}: {key}" if tails[key] else key for key in order)


def workflow_lines(workflows: Sequence[WorkflowStatus]) -> tuple[tuple[WorkflowStatus, ...], str | None]:
    """The workflows without the quality watch's "not judged yet" note, and that note once for all of them."""
    lines: list[WorkflowStatus] = []
    unjudged: list[str] = []
    history: set[str] = set()
    for w in workflows:
        found = _NOT_JUDGED.search(w.reason)
        if found is not None:
            unjudged.append(w.workflow)
            history.add(found.group("count"))
            w = replace(w, reason=w.reason[:found.start()])
        lines.append(w)
    note = None
    if unjudged:
        earlier = " or ".join(sorted(history, key=int))
        note = (f"quality not judged for {len(unjudged)} workflow(s) ({', '.join(unjudged)}): only {earlier} "
                f"earlier run(s) to compare with")
    return tuple(lines), note
