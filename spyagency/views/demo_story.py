"""The demo's scripted AlCa expert: answers each pause SpyAgency makes, through the real API.

The demo should tell a whole story: a run not ready near its lock, SpyAgency pausing Tier0, an
expert acknowledging the blocking workflows with the token the demo printed, and releases resuming.
"""

from __future__ import annotations

from datetime import datetime, timedelta

import httpx

from spyagency.agency import Agency
from spyagency.clock import Clock
from spyagency.core.models import AckKind, OutboxEntry, WorkflowState
from spyagency.people.acknowledge import acknowledge
from spyagency.policy import Policy
from spyagency.store import Session
from spyagency.store.queries import get_run
from spyagency.store.switch import switch_picture
from spyagency.views.console import banner

#: How long (simulated) the scripted expert takes to answer a pause.
ANSWER_AFTER = timedelta(minutes=20)
#: States an expert accepts "without payload": the harvest decided, on purpose, not to upload.
WITHOUT_PAYLOAD = frozenset({WorkflowState.VETOED.value, WorkflowState.NO_PAYLOAD.value})


def expert_token(tokens: str) -> str | None:
    """The first token of ``tokens`` (token=user:role|role,...) that grants alca-expert."""
    for entry in filter(None, (part.strip() for part in tokens.split(","))):
        token, _, rest = entry.partition("=")
        if "alca-expert" in rest.partition(":")[2].split("|"):
            return token
    return None


def switch_line(session: Session, policy: Policy, now: datetime) -> str:
    """One line on Tier0's release switch, for the end of the demo."""
    shown = banner(session, policy, now)
    why = f": {shown.why}" if shown.releasing is False else ""
    return f"Tier0 prompt-reco releases at the end: {shown.headline}{why}"


class DemoStory:
    """Answers SpyAgency's pauses as an AlCa expert would, a little later, through the API if served."""

    def __init__(self, agency: Agency, clock: Clock, api_url: str | None, token: str | None) -> None:
        self.agency, self.clock, self.api_url, self.token = agency, clock, api_url, token
        self.answer_at: datetime | None = None

    def expert_will_answer(self, now: datetime) -> None:
        """SpyAgency just paused Tier0: the expert looks at it shortly."""
        self.answer_at = now + ANSWER_AFTER

    def step(self, now: datetime) -> None:
        """Answer the pause if it is time."""
        if self.answer_at is None or now < self.answer_at:
            return
        self.answer_at = None
        with self.agency.store.session() as session:
            last = switch_picture(session).last_action
            run = get_run(session, last.run) if last is not None and last.run is not None else None
        if run is None:
            return
        for workflow in (w for w in run.workflows if not w.done):
            kind = AckKind.ACCEPT_WITHOUT_PAYLOAD if workflow.state in WITHOUT_PAYLOAD else AckKind.ACCEPT
            comment = f"demo: reviewed {workflow.state.replace('_', ' ')}; prompt reco may go ahead"
            how = self._acknowledge(run.run, workflow.workflow, kind, comment, now)
            without = " without payload" if kind is AckKind.ACCEPT_WITHOUT_PAYLOAD else ""
            print(f"[{now:%a %H:%M} sim] AlCa expert accepts {workflow.workflow} of run {run.run}{without} ({how})")

    def _acknowledge(self, run: int, workflow: str, kind: AckKind, comment: str, now: datetime) -> str:
        if self.api_url and self.token:
            path = f"/api/v1/runs/{run}/workflows/{workflow}/acknowledgements"
            reply = httpx.post(self.api_url + path, json={"kind": kind.value, "comment": comment},
                               headers={"Authorization": f"Bearer {self.token}"}, timeout=10)
            reply.raise_for_status()
            return f"POST {path} with the printed token"
        acknowledge(self.agency.store, self.agency.policy, run=run, workflow=workflow, kind=kind,
                    author="alca-expert-demo", comment=comment, now=now)
        return "recorded directly: the dashboard is not served"

    def print_warning(self, entry: OutboxEntry) -> None:
        """Print a warning to AlCa experts, stamped with the simulated time."""
        print(f"[{self.clock.now():%a %H:%M} sim] warning to AlCa experts: {entry.reason}")
