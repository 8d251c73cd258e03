"""The reconcile loop: observe every source, decide, record — level-triggered and idempotent."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TypeVar

from spyagency.act import steering
from spyagency.act.notify import (
    Notify,
    deliver_notifications,
    log_notifier,
    plan_notifications,
    smtp_notifier,
    webhook_notifier,
)
from spyagency.act.outbox import Send
from spyagency.act.tier0_control import HttpControl, SqlControl
from spyagency.clock import Clock, SystemClock
from spyagency.decide.decisions import DecideResult, decide_all
from spyagency.errors import LeaseHeld
from spyagency.models import Source
from spyagency.observe.conddb import CondDBClient
from spyagency.observe.dqm import DqmClient
from spyagency.observe.polling import PollResult, poll_conddb, poll_dqm, poll_tier0
from spyagency.observe.tier0 import Tier0Client
from spyagency.policy import Policy, load_policy
from spyagency.settings import Settings
from spyagency.store import Store
from spyagency.store.lease import lease, new_holder_id

log = logging.getLogger(__name__)
T = TypeVar("T")


@dataclass(frozen=True)
class CycleResult:
    """One observe → decide cycle."""

    polls: tuple[PollResult, ...]
    decision: DecideResult

    @property
    def duration_s(self) -> float:
        return sum(p.duration_s for p in self.polls) + self.decision.duration_s


class Agency:
    """Clients, store and policy wired from settings."""

    def __init__(self, settings: Settings, clock: Clock | None = None, policy: Policy | None = None) -> None:
        self.settings = settings
        self.clock = clock or SystemClock()
        self.policy = policy or load_policy(settings.policy)
        self.store = Store(settings.db_url)
        http = {"timeout": settings.http_timeout_s, "retries": settings.http_retries}
        self.tier0 = Tier0Client(settings.tier0_url, **http)
        self.dqm = DqmClient(settings.dqm_url, settings.dqm_api, **http)
        self.conddb = CondDBClient(settings.conddb_url, settings.conddb_schema)
        self.holder = new_holder_id()
        self._control: HttpControl | SqlControl | None = None

    def close(self) -> None:
        self.tier0.close()
        self.dqm.close()
        self.conddb.close()
        if self._control is not None:
            self._control.close()
        self.store.dispose()

    def __enter__(self) -> Agency:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def poll(self, source: Source) -> PollResult | None:
        """Observe one source into the store; None if another process is polling it right now."""
        now = self.clock.now()
        if source is Source.CONDDB:
            lookback = timedelta(hours=self.settings.lookback_hours)
            return self._leased("poll-conddb", now,
                                lambda: poll_conddb(self.store, self.conddb, self.policy, now, lookback))
        if source is Source.TIER0:
            return self._leased("poll-tier0", now, lambda: poll_tier0(self.store, self.tier0, self.policy, now))
        if source is Source.DQM:
            return self._leased("poll-dqm", now, lambda: poll_dqm(self.store, self.dqm, self.policy, now))
        raise ValueError(f"{source.value} is not a source SpyAgency polls")

    def decide(self) -> DecideResult | None:
        """Decide every active run from the store; None if another process is deciding right now."""
        now = self.clock.now()
        return self._leased("decide", now, lambda: decide_all(self.store, self.policy, now))

    def reconcile_once(self) -> CycleResult:
        """Observe all sources, then decide every active run (steps another process holds are skipped)."""
        polls = tuple(p for p in (self.poll(s) for s in (Source.CONDDB, Source.TIER0, Source.DQM)) if p is not None)
        return CycleResult(polls, self.decide() or DecideResult((), (), 0.0))

    def _leased(self, step: str, now: datetime, run: Callable[[], T]) -> T | None:
        """Run ``step`` under its lease; None (and a log line) if another process holds it."""
        try:
            with lease(self.store, step, self.holder, now):
                return run()
        except LeaseHeld as exc:
            log.info("%s", exc)
            return None

    def control(self) -> Send:
        """The configured way to flip Tier0's promptreco_status (http or sql); made once, closed by ``close``."""
        if self._control is None:
            mode = self.settings.steer_mode
            if mode == "sql":
                if not self.settings.tier0_control_db_url:
                    raise ValueError("SPYAGENCY_STEER_MODE=sql needs SPYAGENCY_TIER0_CONTROL_DB_URL")
                self._control = SqlControl(self.settings.tier0_control_db_url, now=self.clock.now)
            else:  # http or dry-run (Settings admits nothing else)
                url = (self.settings.tier0_control_url
                       or self.settings.tier0_url.rstrip("/") + "/control/promptreco_status")
                self._control = HttpControl(url, self.settings.http_timeout_s, self.settings.http_retries)
        return self._control

    def steer(self) -> int:
        """Plan the switch from the stored verdicts and deliver pending actions; return how many were sent."""
        now = self.clock.now()
        dry_run = self.settings.steer_mode == "dry-run"

        def steer() -> int:
            steering.plan(self.store, self.policy, now, dry_run=dry_run)
            return 0 if dry_run else steering.deliver(self.store, self.control(), now)

        return self._leased("steer", now, steer) or 0

    def notifier(self) -> Notify:
        """E-mail through ``smtp_host`` if recipients are set, else the webhook, else the log."""
        recipients = self.settings.notify_recipients()
        if recipients:
            return smtp_notifier(self.settings.smtp_host, self.settings.smtp_port, self.settings.notify_email_from,
                                 recipients, self.settings.dashboard_url)
        if self.settings.notify_webhook:
            return webhook_notifier(self.settings.notify_webhook, self.settings.http_timeout_s)
        return log_notifier

    def warn(self, send: Notify | None = None) -> int:
        """Plan warnings for runs nearing their lock and deliver pending ones; return how many went out."""
        now = self.clock.now()

        def warn() -> int:
            plan_notifications(self.store, self.policy, now)
            return deliver_notifications(self.store, send or self.notifier(), now)

        return self._leased("warn", now, warn) or 0

    def run_forever(self, stop: threading.Event, interval_s: float | None = None) -> None:
        """Reconcile every ``interval_s`` seconds (wall clock) until ``stop`` is set."""
        interval = interval_s if interval_s is not None else self.settings.poll_interval_s
        while not stop.is_set():
            try:
                self.reconcile_once()
                self.steer()
                self.warn()
            except Exception:  # keep the loop alive; the next cycle starts from the store
                log.exception("reconcile cycle failed")
            stop.wait(interval)
