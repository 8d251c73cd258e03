"""The first-hour check: knock once on every door SpyAgency needs, and say in a line each what is wrong.

Tier0's data service and the DQM GUI (through cmsweb's grid door), the CondDB, Tier0's switch table and
SpyAgency's own store. Nothing is written anywhere: the switch check proves the INSERT grant from the
database's catalog, without inserting.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

from spyagency.core.certificate import ShownCertificate, certificate_note
from spyagency.database_urls import safe_url
from spyagency.errors import SpyAgencyError
from spyagency.policy import Policy
from spyagency.settings import Settings
from spyagency.sources.conddb import CondDBClient
from spyagency.sources.dqm import DqmClient
from spyagency.sources.errors import SourceError
from spyagency.sources.grid import Credential, tls_setup
from spyagency.sources.http import JsonHttp
from spyagency.sources.tier0 import Tier0Client
from spyagency.sources.tier0_switch import SqlControl
from spyagency.tier0_instance import instance_note


@dataclass(frozen=True)
class DoorReport:
    """One door: open or shut, and a line saying who we are there, or what is wrong and what to set."""

    door: str
    where: str
    open: bool
    line: str


def _identity(credential: Credential | None) -> str:
    if credential is None:
        return "no certificate presented"
    shown = ShownCertificate(credential.dn, credential.not_after, credential.is_proxy, str(credential.files.cert),
                             credential.files.origin, credential.certificate_not_after)
    return certificate_note(shown, datetime.now(UTC))[0]


def _knock(door: str, http: JsonHttp, knock: Callable[[], int], what: Callable[[], str]) -> DoorReport:
    where = http.base_url
    try:
        credential = http.credential()
        status = knock()
        said = what() if status == 200 else f"answered HTTP {status} past the door"
    except SourceError as exc:
        return DoorReport(door, where, False, str(exc).split(": ", 1)[-1])
    return DoorReport(door, where, True, f"{said}; {_identity(credential)}")


def check_tier0(settings: Settings, client: Tier0Client) -> DoorReport:
    report = _knock("Tier0 Data Service", client.http, lambda: client.http.knock("firstconditionsaferun"),
                    lambda: f"answers (first conditions-safe run {client.first_conditions_safe_run()})")
    note = instance_note(settings.tier0_url)
    if report.open and note is not None:
        return DoorReport(report.door, report.where, True, f"{report.line}; WARNING: {note}")
    return report


def check_dqm(client: DqmClient) -> DoorReport:
    # a run that cannot exist: any answer past the door (a 404, or the new GUI's 500 "ME not found") will do
    return _knock("DQM GUI", client.http, client.knock, lambda: "answers")


def check_conddb(client: CondDBClient, policy: Policy, url: str) -> DoorReport:
    try:
        tags = client.tag_info(wf.tag for wf in policy.workflows)
        first = client.first_run()
    except SourceError as exc:
        return DoorReport("CondDB", safe_url(url), False, str(exc).split(": ", 1)[-1])
    missing = sorted({wf.tag for wf in policy.workflows} - set(tags))
    line = f"answers (RUN_INFO from run {first}); {len(tags)} of {len({wf.tag for wf in policy.workflows})} tags"
    return DoorReport("CondDB", safe_url(url), True,
                      line + (f"; missing: {', '.join(missing[:3])}{' …' if len(missing) > 3 else ''}"
                              if missing else ""))


def check_switch(settings: Settings) -> DoorReport:
    if settings.steering != "sql" or not settings.tier0_control_db_url:
        return DoorReport("Tier0 switch", "-", True, "not configured: dry run, SpyAgency does not steer Tier0 "
                                                     "(set SPYAGENCY_TIER0_CONTROL_DB_URL to steer)")
    try:
        url = settings.tier0_control_database_url() or ""
        control = SqlControl(url, schema=settings.tier0_control_schema, remember=lambda *_: None, own_writes=set,
                             engine_options=settings.oracle_client().engine_options(url))
    except SpyAgencyError as exc:
        return DoorReport("Tier0 switch", safe_url(settings.tier0_control_db_url), False, str(exc))
    try:
        current = control.current()
        granted = control.insert_granted()
    except Exception as exc:  # any failure to reach or read the table is this door's line
        return DoorReport("Tier0 switch", safe_url(url), False, f"cannot read promptreco_status: "
                                                                 f"{str(exc).strip().splitlines()[0][:200]}")
    finally:
        control.close()
    switch = {True: "releasing", False: "paused", None: "empty or undecided"}[current]
    if not granted:
        return DoorReport("Tier0 switch", safe_url(url), False,
                          f"promptreco_status reads ({switch}) but this account may not INSERT into it: it is "
                          f"granted to the data service's ORM account (CMS_TIER0DATASVC_ORM) only")
    return DoorReport("Tier0 switch", safe_url(url), True, f"promptreco_status reads ({switch}); INSERT granted")


def check_store(settings: Settings) -> DoorReport:
    from spyagency.store import Store
    from spyagency.store.database import SCHEMA_HEAD

    store = Store(settings.db_url)
    try:
        revision = store.schema_revision()
    except Exception as exc:
        return DoorReport("store", safe_url(settings.db_url), False,
                          f"unreachable: {str(exc).strip().splitlines()[0][:200]} (set SPYAGENCY_DB_URL; "
                          f"`spyagency migrate` creates a new store)")
    finally:
        store.dispose()
    if revision != SCHEMA_HEAD:
        return DoorReport("store", safe_url(settings.db_url), False,
                          f"schema at {revision or 'nothing'}, SpyAgency needs {SCHEMA_HEAD}: run `spyagency migrate`")
    return DoorReport("store", safe_url(settings.db_url), True, f"reachable, schema {revision}")


def check_doors(settings: Settings, policy: Policy) -> list[DoorReport]:
    """Knock once on every door; one report each, in the order a deployment needs them."""
    tls = tls_setup(os.environ, settings.grid_cert, settings.grid_key, settings.grid_ca_dir, settings.grid_ca_file)
    http = {"timeout": settings.http_timeout_s, "retries": 0, "tls": tls, "deadline_s": settings.http_deadline_s}
    tier0 = Tier0Client(settings.tier0_url, **http)
    dqm = DqmClient(settings.dqm_url, settings.dqm_api, **http)
    try:
        conddb_url = settings.conddb_database_url()
        conddb: CondDBClient | DoorReport = CondDBClient(conddb_url, settings.conddb_schema,
                                                         **settings.oracle_client().engine_options(conddb_url))
    except SpyAgencyError as exc:
        conddb = DoorReport("CondDB", safe_url(settings.conddb_url), False, str(exc))
    try:
        return [check_tier0(settings, tier0), check_dqm(dqm),
                conddb if isinstance(conddb, DoorReport) else check_conddb(conddb, policy, settings.conddb_url),
                check_switch(settings), check_store(settings)]
    finally:
        tier0.close()
        dqm.close()
        if isinstance(conddb, CondDBClient):
            conddb.close()
