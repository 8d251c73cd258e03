"""The reconcile loop: observe every source, decide, record — level-triggered and idempotent."""

from __future__ import annotations

import functools
import logging
import os
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TypeVar

from spyagency.clock import Clock, SystemClock
from spyagency.core.models import Source
from spyagency.errors import ConfigurationError, LeaseHeld
from spyagency.passes import steer as steering
from spyagency.passes.decide import DecideResult, decide_all
from spyagency.passes.observe import PollResult, poll_conddb, poll_dqm, poll_tier0
from spyagency.passes.operator_warnings import deliver_operator_messages, plan_certificate_warnings
from spyagency.passes.steer import SteerResult
from spyagency.passes.warn import (
    Notify,
    deliver_notifications,
    log_notifier,
    plan_notifications,
    smtp_notifier,
    webhook_notifier,
)
from spyagency.policy import Policy
from spyagency.settings import Settings
from spyagency.sources.conddb import CondDBClient
from spyagency.sources.dqm import DqmClient
from spyagency.sources.errors import SourceError
from spyagency.sources.grid import tls_setup
from spyagency.sources.tier0 import Tier0Client
from spyagency.sources.tier0_switch import SqlControl
from spyagency.store import Store
from spyagency.store.decision_records import prune as prune_decisions
from spyagency.store.lease import lease, new_holder_id
from spyagency.tier0_instance import instance_policy

log = logging.getLogger(__name__)
#: How often decision records past their retention are pruned.
PRUNE_EVERY = timedelta(hours=1)
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
        self.policy = policy or instance_policy(settings)
        self.store = Store(settings.db_url)
        tls = tls_setup(os.environ, settings.grid_cert, settings.grid_key, settings.grid_ca_dir,
                        settings.grid_ca_file)
        http = {"timeout": settings.http_timeout_s, "retries": settings.http_retries, "tls": tls,
                "deadline_s": settings.http_deadline_s}
        self.tier0 = Tier0Client(settings.tier0_url, **http)
        self.dqm = DqmClient(settings.dqm_url, settings.dqm_api, **http)
        conddb_url = settings.conddb_database_url()
        self.conddb = CondDBClient(conddb_url, settings.conddb_schema,
                                   **settings.oracle_client().engine_options(conddb_url))
        self.holder = new_holder_id()
        self._control: SqlControl | None = None
        self._control_lock = threading.Lock()
        self._pruned_at: datetime | None = None

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

    @property
    def pass_deadline_s(self) -> float:
        """How long one poll of an HTTP source may take, every request included."""
        request = self.settings.http_deadline_s or 3 * self.settings.http_timeout_s
        return self.settings.source_pass_deadline_s or 4 * request

    def poll(self, source: Source) -> PollResult | None:
        """Observe one source into the store; None if another process is polling it right now."""
        now = self.clock.now()
        if source is Source.CONDDB:
            lookback = timedelta(hours=self.settings.lookback_hours)
            return self._leased("poll-conddb", now,
                                lambda: poll_conddb(self.store, self.conddb, self.policy, now, lookback))
        if source is Source.TIER0:
            if self.settings.steering != "sql":
                return self._leased("poll-tier0", now, lambda: poll_tier0(self.store, self.tier0, self.policy, now,
                                                                          pass_deadline_s=self.pass_deadline_s))

            def tier0_and_its_switch() -> PollResult:
                # the switch is read from its table, not from the data service's cached reply
                result = poll_tier0(self.store, self.tier0, self.policy, now, read_switch=False,
                                    pass_deadline_s=self.pass_deadline_s)
                self.isolated("reading Tier0's switch table",
                              lambda: steering.observe_switch(self.store, self.control(), now))
                return result

            return self._leased("poll-tier0", now, tier0_and_its_switch)
        if source is Source.DQM:
            return self._leased("poll-dqm", now, lambda: poll_dqm(self.store, self.dqm, self.policy, now,
                                                                  pass_deadline_s=self.pass_deadline_s))
        raise ValueError(f"{source.value} is not a source SpyAgency polls")

    def decide(self) -> DecideResult | None:
        """Decide every active run from the store; None if another process is deciding right now.
        Decision records past their retention are pruned once an hour."""
        now = self.clock.now()

        def decide_and_prune() -> DecideResult:
            result = decide_all(self.store, self.policy, now)
            if self._pruned_at is None or now - self._pruned_at >= PRUNE_EVERY:
                with self.store.session() as session:
                    prune_decisions(session, now - timedelta(days=self.settings.decision_retention_days))
                self._pruned_at = now
            return result

        return self._leased("decide", now, decide_and_prune)

    def observe_and_decide(self) -> CycleResult:
        """Observe all sources, then decide every active run (steps another process holds are skipped)."""
        polls: list[PollResult] = []
        for source in (Source.CONDDB, Source.TIER0, Source.DQM):
            try:  # one poll's bug must not keep the others (or the decision) from running
                result = self.poll(source)
            except Exception:
                log.exception("polling %s failed", source.value)  # pragma: no mutate
                continue
            if result is not None:
                polls.append(result)
        return CycleResult(tuple(polls), self.decide() or DecideResult((), (), 0.0))

    def _leased(self, step: str, now: datetime, run: Callable[[], T]) -> T | None:
        """Run ``step`` under its lease; None (and a log line) if another process holds it."""
        try:
            with lease(self.store, step, self.holder, now):
                return run()
        except LeaseHeld as exc:
            log.info("%s", exc)
            return None

    def control(self) -> SqlControl:
        """The writer of Tier0's promptreco_status rows; made once (by whichever thread asks first), closed
        by ``close``."""
        with self._control_lock:
            return self._make_control()

    def _make_control(self) -> SqlControl:
        if self._control is None:
            url = self.settings.tier0_control_database_url()
            if not url:
                raise ConfigurationError("SPYAGENCY_STEER_MODE=sql needs SPYAGENCY_TIER0_CONTROL_DB_URL, the Tier0 "
                                         "Data Service database holding promptreco_status")
            self._control = SqlControl(url, schema=self.settings.tier0_control_schema,
                                       remember=lambda entry, at: steering.remember_change_time(self.store, entry, at),
                                       own_writes=lambda: steering.own_switch_writes(self.store), now=self.clock.now,
                                       engine_options=self.settings.oracle_client().engine_options(url),
                                       ahead_tolerance=timedelta(seconds=self.settings.switch_ahead_tolerance_s))
        return self._control

    def steer(self) -> SteerResult:
        """Plan the switch from the stored verdicts, read the switch, and deliver pending actions."""
        now = self.clock.now()
        dry_run = self.settings.steering == "dry-run"

        def steer() -> SteerResult:
            unread: tuple[str, ...] = ()
            if not dry_run:
                try:  # a switch that cannot be read is reported; the pause is still planned and tried
                    steering.observe_switch(self.store, self.control(), now)
                except Exception as exc:
                    unread = (f"reading Tier0's promptreco_status failed: {_first_line(exc)}",)
                    log.warning("%s", unread[0])  # pragma: no mutate
            steering.plan(self.store, self.policy, now, dry_run=dry_run,
                          reading_lag=timedelta(0) if not dry_run else self.rest_lag)
            if dry_run:
                return SteerResult(0, ())
            delivered = steering.deliver(self.store, self.control(), now)
            return SteerResult(delivered.delivered, unread + delivered.failures)

        return self._leased("steer", now, steer) or SteerResult(0, ())

    def watch_for_release(self, seconds: float, stop: threading.Event | None = None) -> SteerResult | None:
        """While someone else's pause holds back a run SpyAgency would pause for, read the switch every
        ``switch_watch_s`` for up to ``seconds`` and steer the moment it changes: their resume lets Tier0's
        feeder, which polls every 30 s, lock the run at once. Returns that steer pass's result; None at once
        when there is nothing to watch for, and None when the switch did not change or ``stop`` was set."""
        if self.settings.steering != "sql" or steering.standing_by(self.store, self.policy, self.clock.now()) is None:
            return None
        control = self.control()
        before = control.newest()
        stop = stop or threading.Event()  # nobody sets it: the watch ends with its time
        deadline = time.monotonic() + seconds
        while (left := deadline - time.monotonic()) > 0:
            if stop.wait(min(self.settings.switch_watch_s, left)):
                return None
            try:
                changed = control.newest() != before
            except Exception as exc:  # a failed read is retried at the next look; steering reports its own
                log.warning("reading Tier0's promptreco_status failed: %s", _first_line(exc))  # pragma: no mutate
                continue
            if changed:
                return self.steer()
        return None

    def close_control(self) -> None:
        """Forget the switch writer (its database URL changed); the next steer pass makes a new one."""
        if self._control is not None:
            self._control.close()
            self._control = None

    @property
    def rest_lag(self) -> timedelta:
        """How old a promptreco_status reading of the data service may be."""
        return timedelta(minutes=self.settings.switch_rest_lag_minutes)

    def notifier(self) -> Notify:
        """The AlCa experts' channel: e-mail to ``notify_email_to``, else the webhook, else the log."""
        return self._channel(self.settings.notify_recipients(), self.settings.notify_webhook)

    def operator_notifier(self) -> Notify:
        """The operators' own channel: e-mail to ``operator_email_to``, else their webhook, else the log."""
        return self._channel(self.settings.operator_recipients(), self.settings.operator_webhook)

    def _channel(self, recipients: list[str], webhook: str | None) -> Notify:
        if recipients:
            return smtp_notifier(self.settings.smtp_host, self.settings.smtp_port, self.settings.notify_email_from,
                                 recipients, self.settings.dashboard_url)
        if webhook:
            return webhook_notifier(webhook, self.settings.http_timeout_s)
        return log_notifier

    def warn(self, send: Notify | None = None, send_operators: Notify | None = None) -> int:
        """Plan warnings for runs nearing their lock, and operator messages for a grid certificate about to
        expire, and deliver pending ones; return how many went out."""
        now = self.clock.now()

        def warn() -> int:
            plan_notifications(self.store, self.policy, now)
            plan_certificate_warnings(self.store, datetime.now(UTC), self.settings.expiry_warning())
            sent = deliver_operator_messages(self.store, send_operators or self.operator_notifier(), now)
            return sent + deliver_notifications(self.store, send or self.notifier(), now)

        return self._leased("warn", now, warn) or 0

    def run_forever(self, stop: threading.Event, interval_s: float | None = None) -> None:
        """Observe and decide every ``interval_s`` seconds; steer and warn every ``steer_interval_s`` on a thread
        of their own (and the moment someone's pause ends while SpyAgency stands by), until ``stop`` is set
        (wall clock). No source can starve steering: a poll stalled on a slow or dripping source holds up only
        the next poll, while the switch is read and steered on its own cadence from what the store holds (a
        stale verdict near a lock then means a pause). Each pass is isolated: a failure is logged, the others
        go on."""
        interval = interval_s if interval_s is not None else self.settings.poll_interval_s
        steering_thread = threading.Thread(target=self._steer_forever, args=(stop, interval),
                                           name="spyagency-steer", daemon=True)
        steering_thread.start()
        try:
            while not stop.is_set():
                started = time.monotonic()
                self.isolated("observe and decide", self.observe_and_decide)
                stop.wait(max(0.0, interval - (time.monotonic() - started)))
        finally:
            stop.set()
            steering_thread.join()

    def _steer_forever(self, stop: threading.Event, interval: float) -> None:
        """Steering's own cadence: steer, warn, then watch the switch until the next turn."""
        steer_every = min(interval, self.settings.steer_interval_s)
        while not stop.is_set():
            until = time.monotonic() + steer_every
            self.isolated("steer", self.steer)
            self.isolated("warn", self.warn)
            rest = max(0.0, until - time.monotonic())
            self.isolated("watch the switch", functools.partial(self.watch_for_release, rest, stop))
            stop.wait(max(0.0, until - time.monotonic()))

    @staticmethod
    def isolated(what: str, step: Callable[[], object]) -> bool:
        """Run one pass; log its failure and carry on. True if it ran without an error. A failure SpyAgency
        already has words for (a bad setting, a source's error) is one line; anything else its traceback."""
        try:
            step()
        except (ConfigurationError, SourceError) as exc:
            log.warning("%s failed: %s; the other passes go on", what, exc)  # pragma: no mutate
            return False
        except Exception:
            log.exception("%s failed; the other passes go on", what)  # pragma: no mutate
            return False
        return True


def _first_line(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}"
