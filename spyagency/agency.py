"""The reconcile loop: observe every source, decide, record — level-triggered and idempotent."""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass
from datetime import timedelta

from . import steering
from .clock import Clock, SystemClock
from .decisions import DecideResult, decide_all
from .notify import (Notify, deliver_notifications, log_notifier, plan_notifications, smtp_notifier,
                     webhook_notifier)
from .outbox import Send
from .policy import Policy, load_policy
from .polling import PollResult, poll_conddb, poll_dqm, poll_tier0
from .settings import Settings
from .sources.conddb import CondDBClient
from .sources.dqm import DqmClient
from .sources.tier0 import Tier0Client
from .store import Store
from .tier0_control import HttpControl, SqlControl

log = logging.getLogger(__name__)


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
        self.dqm = DqmClient(settings.dqm_url, **http)
        self.conddb = CondDBClient(settings.conddb_url, settings.conddb_schema)

    def close(self) -> None:
        self.tier0.close()
        self.dqm.close()
        self.conddb.close()
        self.store.dispose()

    def reconcile_once(self) -> CycleResult:
        """Observe all sources, then decide every active run."""
        now = self.clock.now()
        polls = (
            poll_conddb(self.store, self.conddb, self.policy, now,
                        timedelta(hours=self.settings.lookback_hours)),
            poll_tier0(self.store, self.tier0, self.policy, now),
            poll_dqm(self.store, self.dqm, self.policy, now),
        )
        return CycleResult(polls, decide_all(self.store, self.policy, now))

    def control(self) -> Send:
        """The configured way to flip Tier0's promptreco_status (http or sql)."""
        mode = self.settings.steer_mode
        if mode == "sql":
            if not self.settings.tier0_control_db_url:
                raise ValueError("SPYAGENCY_STEER_MODE=sql needs SPYAGENCY_TIER0_CONTROL_DB_URL")
            return SqlControl(self.settings.tier0_control_db_url)
        if mode in ("http", "dry-run"):
            url = self.settings.tier0_control_url or self.settings.tier0_url.rstrip("/") + "/control/promptreco_status"
            return HttpControl(url, self.settings.http_timeout_s, self.settings.http_retries)
        raise ValueError(f"SPYAGENCY_STEER_MODE must be http, sql or dry-run, not {mode!r}")

    def steer_once(self) -> int:
        """Plan the switch from the stored verdicts and deliver pending actions; return how many were sent."""
        now = self.clock.now()
        dry_run = self.settings.steer_mode == "dry-run"
        steering.plan(self.store, self.policy, now, dry_run=dry_run)
        return 0 if dry_run else steering.deliver(self.store, self.control(), now)

    def notifier(self) -> Notify:
        """E-mail through ``smtp_host`` if recipients are set, else the webhook, else the log."""
        recipients = self.settings.notify_recipients()
        if recipients:
            return smtp_notifier(self.settings.smtp_host, self.settings.smtp_port, self.settings.notify_email_from,
                                 recipients, self.settings.dashboard_url)
        if self.settings.notify_webhook:
            return webhook_notifier(self.settings.notify_webhook, self.settings.http_timeout_s)
        return log_notifier

    def notify_once(self, send: Notify | None = None) -> int:
        """Plan warnings for runs nearing their lock and deliver pending ones; return how many went out."""
        now = self.clock.now()
        plan_notifications(self.store, self.policy, now)
        return deliver_notifications(self.store, send or self.notifier(), now)

    def run_forever(self, stop: threading.Event, interval_s: float | None = None) -> None:
        """Reconcile every ``interval_s`` seconds (wall clock) until ``stop`` is set."""
        interval = interval_s if interval_s is not None else self.settings.poll_interval_s
        while not stop.is_set():
            try:
                self.reconcile_once()
                self.steer_once()
                self.notify_once()
            except Exception:  # keep the loop alive; the next cycle starts from the store
                log.exception("reconcile cycle failed")
            stop.wait(interval)
