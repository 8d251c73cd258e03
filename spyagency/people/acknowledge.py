"""AlCa experts' acknowledgements: recorded forever, the latest wins, the run is re-decided at once."""

from __future__ import annotations

from datetime import datetime

from spyagency.decide.decisions import decide_all
from spyagency.errors import InputRefused, UnknownRun, UnknownWorkflow
from spyagency.free_text import free_text_problem
from spyagency.models import AckKind, AckRecord, RunVerdict
from spyagency.policy import Policy
from spyagency.store import Store
from spyagency.store.people import add_acknowledgement

MAX_COMMENT = 2000


class AcknowledgementError(InputRefused):
    """An acknowledgement that cannot be recorded, with the reason."""


__all__ = ["AcknowledgementError", "UnknownRun", "UnknownWorkflow", "acknowledge"]


def acknowledge(store: Store, policy: Policy, *, run: int, workflow: str, kind: AckKind, author: str,
                comment: str, now: datetime) -> tuple[AckRecord, RunVerdict | None]:
    """Record an acknowledgement and re-decide the run; return the ack and the new verdict."""
    try:
        policy.workflow(workflow)
    except KeyError:
        names = ", ".join(wf.name for wf in policy.workflows)
        raise UnknownWorkflow(f"no PCL workflow {workflow!r} in policy {policy.name}; known: {names}") from None
    if not author.strip():
        raise AcknowledgementError("an acknowledgement needs an author")
    if len(comment) > MAX_COMMENT:
        raise AcknowledgementError(f"comment is longer than {MAX_COMMENT} characters")
    for text, what in ((comment, "comment"), (author, "author")):
        problem = free_text_problem(text)
        if problem:
            raise AcknowledgementError(f"{what} {problem}")
    if kind is not AckKind.ACCEPT and not comment.strip():
        raise AcknowledgementError(f"a {kind.value} needs a comment saying why")
    with store.session() as session:
        record = add_acknowledgement(session, run=run, workflow=workflow, kind=kind.value, author=author,
                                     comment=comment, now=now)
    verdicts = decide_all(store, policy, now, only=[run]).verdicts
    return record, (verdicts[0] if verdicts else None)
