"""Sign-off requests: runs near their lock that only an AlCa expert can unblock, and recording the answer.

The doors (Airflow's human-in-the-loop tasks, the API) ask; the answer goes through
:func:`spyagency.people.acknowledge.acknowledge` like any other acknowledgement. A request
carries the states the expert was shown: an *accept* is recorded only for workflows
still in that state, so an answer to an out-of-date question never accepts something
the expert did not see. A *hold* is always recorded (it can only delay a release).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import datetime

from spyagency.core.models import AckKind, RunState, WorkflowState
from spyagency.people.acknowledge import acknowledge
from spyagency.policy import Policy
from spyagency.store import Store
from spyagency.store.queries import blocking_workflows, unlocked_runs_with_lock, workflow_states

#: Workflow states nobody but an expert can resolve before the lock.
NEEDS_EXPERT = frozenset({WorkflowState.VETOED, WorkflowState.MISSING, WorkflowState.LATE,
                          WorkflowState.AMBIGUOUS, WorkflowState.FAILED})

#: The answers an expert may give, as the doors show them.
CHOICES: dict[str, AckKind] = {
    "Accept": AckKind.ACCEPT,
    "Accept without payload": AckKind.ACCEPT_WITHOUT_PAYLOAD,
    "Hold": AckKind.HOLD,
}


@dataclass(frozen=True)
class SignOffRequest:
    """One run's question to the experts: these workflows, in these states, block it before its lock."""

    run: int
    lock_time: datetime
    workflows: dict[str, tuple[str, str]]  # workflow → (state, reason) as the expert is shown them

    @property
    def key(self) -> str:
        """Names this exact question: the same run and states give the same key."""
        states = json.dumps(sorted((name, state) for name, (state, _reason) in self.workflows.items()))
        return f"{self.run}-{hashlib.sha256(states.encode()).hexdigest()[:12]}"

    def as_json(self) -> dict[str, object]:
        return {"run": self.run, "lock_time": self.lock_time.isoformat(),
                "workflows": {name: list(state) for name, state in self.workflows.items()}}

    @classmethod
    def from_json(cls, data: dict[str, object]) -> SignOffRequest:
        workflows = data["workflows"]
        assert isinstance(workflows, dict)
        return cls(int(str(data["run"])), datetime.fromisoformat(str(data["lock_time"])),
                   {str(name): (str(value[0]), str(value[1])) for name, value in workflows.items()})


def signoff_requests(store: Store, policy: Policy, now: datetime) -> list[SignOffRequest]:
    """Runs within ``notify_before_lock`` of their lock, on a complete picture, blocked by a workflow
    that needs an expert; each with those workflows."""
    with store.session() as session:
        requests = []
        for run in unlocked_runs_with_lock(session, RunState.NOT_READY):
            if run.awaiting or now < run.lock_time - policy.deadlines.notify_before_lock:
                continue
            blocking = blocking_workflows(session, run.run, [s.value for s in NEEDS_EXPERT])
            workflows = {w.workflow: (w.state, w.reason) for w in blocking}
            if workflows:
                requests.append(SignOffRequest(run.run, run.lock_time, workflows))
    return requests


@dataclass(frozen=True)
class SignOffResult:
    """What an answer recorded, and what it skipped because the question was out of date."""

    recorded: tuple[str, ...]
    skipped: tuple[str, ...]


def record_signoff(store: Store, policy: Policy, request: SignOffRequest, choice: str, author: str,
                   comment: str, now: datetime) -> SignOffResult:
    """Record an expert's answer to ``request`` as acknowledgements by ``author``."""
    try:
        kind = CHOICES[choice]
    except KeyError:
        raise ValueError(f"{choice!r} is not a sign-off answer; answers: {', '.join(CHOICES)}") from None
    with store.session() as session:
        current = {name: w.state for name, w in workflow_states(session, request.run).items()}
    recorded, skipped = [], []
    for workflow, (state, _reason) in request.workflows.items():
        if kind is not AckKind.HOLD and current.get(workflow) != state:
            skipped.append(workflow)  # it changed since the question: accept nothing unseen
            continue
        acknowledge(store, policy, run=request.run, workflow=workflow, kind=kind, author=author,
                    comment=comment, now=now)
        recorded.append(workflow)
    return SignOffResult(tuple(recorded), tuple(skipped))
