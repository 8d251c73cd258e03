"""The acknowledgement panel of a run page: what an AlCa expert can act on, blocking workflows first, and
what each choice does, in words; the outcome of the last attempt (a confirmation or the refusal's reason)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from urllib.parse import unquote

from spyagency.core.models import AckKind, AckRecord, RunSummary, WorkflowState, WorkflowStatus
from spyagency.core.words import utc_minute

#: What each choice does, in one line, as an expert needs to know it before choosing.
MEANINGS: dict[AckKind, str] = {
    AckKind.ACCEPT: "take the calibration as it is (its payload, or its state as decided); no comment needed; "
                    "refused while it is still on its way",
    AckKind.ACCEPT_WITHOUT_PAYLOAD: "let the run go without this calibration: prompt reco uses the conditions "
                                    "already in the global tag; a comment is required",
    AckKind.HOLD: "keep the run from release whatever this calibration's state, until an expert's next word; "
                  "a comment is required",
}

#: Workflows nobody needs to act on: there is nothing of this run to accept or hold.
_NOTHING_TO_ACT_ON = frozenset({WorkflowState.NOT_APPLICABLE.value})


@dataclass(frozen=True)
class AckChoice:
    """A workflow an expert can give a word on, and why it stands where it does."""

    workflow: str
    state: str
    reason: str
    blocking: bool


@dataclass(frozen=True)
class AckKindChoice:
    value: str
    label: str
    meaning: str


@dataclass(frozen=True)
class AckPanel:
    """The panel: the workflows (blocking first), the one preselected, the choices and what an accept does."""

    choices: tuple[AckChoice, ...]
    preselected: str | None
    kinds: tuple[AckKindChoice, ...]
    consequence: str


def ack_panel(run: RunSummary) -> AckPanel:
    """The panel of ``run``: its blocking workflows first (the first one preselected), then those an expert
    may still hold; never those that do not apply to the run."""
    blocking = [w for w in run.workflows if not w.done]
    settled = [w for w in run.workflows if w.done and w.state not in _NOTHING_TO_ACT_ON]
    choices = tuple(AckChoice(w.workflow, w.state, w.reason, not w.done) for w in [*blocking, *settled])
    kinds = tuple(AckKindChoice(k.value, k.value.replace("_", " "), MEANINGS[k]) for k in AckKind)
    return AckPanel(choices, blocking[0].workflow if blocking else None, kinds, _consequence(run, blocking))


def _consequence(run: RunSummary, blocking: Sequence[WorkflowStatus]) -> str:
    """What an accept of the preselected workflow does to the run, in words."""
    if run.state == "released":
        return f"Tier0 has locked run {run.run}: nothing an expert says changes its prompt reco any more"
    if not blocking:
        return (f"nothing blocks run {run.run}: Tier0 may release it; a hold would stop that, and SpyAgency "
                f"would pause Tier0 before its lock")
    if len(blocking) == 1:
        return (f"this is the only calibration blocking run {run.run}: once it is accepted the run is ready, "
                f"Tier0 may release it, and a pause SpyAgency made for it is lifted")
    return (f"{len(blocking)} calibrations block run {run.run}: it is ready only once each is in or accepted; "
            f"until then SpyAgency pauses Tier0 before its lock")


def ack_confirmation(acks: Sequence[AckRecord], run: RunSummary, user: str, recorded: str) -> str | None:
    """The confirmation shown after an expert's word: read back from the store (``recorded`` only says which
    word to look for, as ``kind:workflow``), with what the run is now; None if the store holds no such word."""
    kind, _, workflow = recorded.partition(":")
    workflow = unquote(workflow)
    mine = [a for a in acks if a.author == user and a.kind == kind and a.workflow == workflow]
    if not mine:
        return None
    ack = max(mine, key=lambda a: a.id)
    now_is = "ready: Tier0 may release it" if run.release else f"{run.state.replace('_', ' ')}"
    return (f"Recorded: {ack.kind.replace('_', ' ')} of {ack.workflow} by {ack.author} at "
            f"{utc_minute(ack.created_at)}. Run {run.run} is now {now_is}.")
