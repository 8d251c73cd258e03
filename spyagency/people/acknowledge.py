"""AlCa experts' acknowledgements: recorded forever, the latest wins, the run is re-decided at once."""

from __future__ import annotations

import logging
from datetime import datetime

from spyagency.core.free_text import words_problem
from spyagency.core.models import AckKind, AckRecord, RunVerdict, WorkflowState
from spyagency.errors import Conflict, InputRefused, UnknownRun, UnknownWorkflow
from spyagency.passes.decide import decide_all
from spyagency.policy import Policy, is_pcl_producer
from spyagency.store import Store
from spyagency.store.people import add_acknowledgement, run_as_decided
from spyagency.store.verdicts import withhold

log = logging.getLogger(__name__)


class AcknowledgementError(InputRefused):
    """An acknowledgement that cannot be recorded, with the reason."""


__all__ = ["AcknowledgementError", "UnknownRun", "UnknownWorkflow", "acknowledge"]


#: Workflow states an accept "as is" cannot answer: nothing has happened yet that it could accept.
NOTHING_TO_ACCEPT = frozenset({WorkflowState.WAITING_EXPRESS.value, WorkflowState.HARVESTING.value})


def acknowledge(store: Store, policy: Policy, *, run: int, workflow: str, kind: AckKind, author: str,
                comment: str, now: datetime) -> tuple[AckRecord, RunVerdict | None]:
    """Record an acknowledgement and re-decide the run; return the ack and the new verdict. A hold stops the
    run's release in its own transaction, before its answer: no poll deciding meanwhile can delay it.

    It answers the workflow's state as SpyAgency decided it: an accept of a calibration still on its
    way is refused (accept it without payload, with a comment, to go without it), and so is any word
    on a run Tier0 has locked, since nothing can change its prompt reco any more.
    """
    problem = words_problem(author, comment, comment_required=kind is not AckKind.ACCEPT,
                            what="an acknowledgement" if kind is AckKind.ACCEPT else f"a {kind.value}")
    if problem:
        raise AcknowledgementError(problem)
    with store.session() as session:
        decided = run_as_decided(session, run)
        _check_names_a_calibration(policy, run, workflow, decided.configured_producers)
        answered = decided.workflow_states.get(workflow)
        _check_answers_something(run, workflow, kind, answered, decided.first_conditions_safe_run)
        record = add_acknowledgement(session, run=run, workflow=workflow, kind=kind.value, author=author,
                                     comment=comment, now=now, answered_state=answered)
        if kind is AckKind.HOLD:
            withhold(session, run, f"{workflow} held by {author}: {comment}", now)
    return record, _decided_and_saved(store, policy, run, now)


#: How often an acknowledgement's re-decision is tried while polls keep changing the run's facts under it.
SAVE_ATTEMPTS = 5


def _decided_and_saved(store: Store, policy: Policy, run: int, now: datetime) -> RunVerdict | None:
    """Re-decide ``run`` until its verdict is saved (a poll that writes the run's facts meanwhile makes a
    decision stale), so that the release API says what the acknowledgement made of the run before its
    answer is sent."""
    verdicts: tuple[RunVerdict, ...] = ()
    for _ in range(SAVE_ATTEMPTS):
        result = decide_all(store, policy, now, only=[run])
        verdicts = result.verdicts
        if run not in result.stale:
            break
    else:
        log.warning("run %s: facts kept changing under its re-decision; the next decide pass saves it", run)
    return verdicts[0] if verdicts else None


def _check_names_a_calibration(policy: Policy, run: int, workflow: str, configured: frozenset[str]) -> None:
    """A workflow of the policy, or a PCL producer Tier0 configured for this run that the policy lacks."""
    if any(wf.name == workflow for wf in policy.workflows):
        return
    if is_pcl_producer(workflow) and workflow in configured and workflow not in policy.known_producers:
        return
    names = ", ".join(wf.name for wf in policy.workflows)
    raise UnknownWorkflow(f"no PCL workflow {workflow!r} in policy {policy.name}, nor a producer the policy "
                          f"does not list in run {run}'s express configuration; known: {names}")


def _check_answers_something(run: int, workflow: str, kind: AckKind, answered: str | None,
                             first_conditions_safe_run: int | None) -> None:
    if first_conditions_safe_run is not None and run < first_conditions_safe_run:
        raise Conflict(f"refused, nothing recorded: Tier0 has locked run {run} (first conditions-safe run "
                       f"{first_conditions_safe_run}), so no acknowledgement can change its prompt reco")
    if kind is AckKind.ACCEPT and (answered is None or answered in NOTHING_TO_ACCEPT):
        what = "has not been decided yet" if answered is None else f"is still {answered.replace('_', ' ')}"
        raise Conflict(f"refused, nothing recorded: {workflow} of run {run} {what}, so there is nothing to accept "
                       f"as is; to let the run go without its payload, send accept_without_payload with a comment")
