"""A source pass's deadline: what it cuts off is not asked, and the pass is then the source's failure."""

from __future__ import annotations

import time

from spyagency.passes.pass_deadline import NotAsked, PassDeadline
from spyagency.sources.errors import SourceUnavailable


def test_no_deadline_never_passes_and_cuts_nothing():
    deadline = PassDeadline("Tier0 Data Service", None)
    assert not deadline.passed()
    assert deadline.failure(["a reading", SourceUnavailable("HTTP 500")], "per-run calls") is None


def test_a_deadline_passes_once_its_time_is_spent():
    deadline = PassDeadline("DQM GUI", 0.05)
    assert not deadline.passed()
    time.sleep(0.06)
    assert deadline.passed()


def test_what_the_deadline_cut_off_is_not_asked_and_named_in_the_sources_failure():
    deadline = PassDeadline("Tier0 Data Service", 120)
    cut = deadline.not_asked()
    assert isinstance(cut, NotAsked) and isinstance(cut, SourceUnavailable)
    assert str(cut) == "not asked: the Tier0 Data Service pass ran past its 120 s deadline"
    failure = deadline.failure(["read", cut, SourceUnavailable("HTTP 500"), cut], "per-run calls")
    assert failure is not None
    assert str(failure) == ("Tier0 Data Service: the pass ran past its 120 s deadline; 2 of 4 per-run calls "
                            "not asked (asked again next poll)")


def test_failures_of_other_kinds_are_not_the_deadlines():
    deadline = PassDeadline("DQM GUI", 0.5)
    assert deadline.failure([SourceUnavailable("HTTP 503")], "histogram reads") is None
    assert deadline.failure([], "histogram reads") is None


def test_a_deadline_has_passed_from_its_very_instant(monkeypatch):
    from spyagency.passes import pass_deadline

    monkeypatch.setattr(pass_deadline.time, "monotonic", lambda: 100.0)
    deadline = PassDeadline("DQM GUI", 5)
    monkeypatch.setattr(pass_deadline.time, "monotonic", lambda: 104.999)
    assert not deadline.passed()
    monkeypatch.setattr(pass_deadline.time, "monotonic", lambda: 105.0)
    assert deadline.passed()
