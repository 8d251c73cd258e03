"""Hardening, second round: no secret shown, no stale identity, no page cached for the wrong person,
a store that cannot vanish silently, and inputs matched whole. Each case failed on the main it was found on."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select, text

from api.auth import Authenticator
from api.main import create_app, create_release_app
from api.server import unsafe_exposure
from simulator.scenario import Outcome, SimRun, all_streams
from spyagency.core.free_text import free_text_problem
from spyagency.redact import mask_credentials
from spyagency.settings import Settings
from spyagency.store.tables import AckRow

from ..conftest import START
from ..support.net import refused_port

H = timedelta(hours=1)
TOKENS = "tok-expert=alice:alca-expert,tok-op=bob:operator"
EXPERT = {"Authorization": "Bearer tok-expert"}
LONG_KEY = "k" * 40


@pytest.fixture
def world(world_factory, policy):
    runs = [SimRun(386925, START - 12 * H, START - 8 * H, all_streams(policy)),
            SimRun(386926, START - 11 * H, START - 7 * H, all_streams(policy), {"SiPixelAli": Outcome.VETOED})]
    world = world_factory(runs, tokens=TOKENS)
    world.at(timedelta(0))
    return world


def client_of(world, **settings: object) -> TestClient:
    app = create_app(world.agency.settings.model_copy(update=settings), clock=world.clock,
                     policy=world.agency.policy, store=world.store)
    return TestClient(app, raise_server_exceptions=False)


def acks(world) -> int:
    with world.store.session() as session:
        return int(session.scalar(select(func.count()).select_from(AckRow)) or 0)


# ---- medium ---------------------------------------------------------------------------------------------

def test_a_password_in_a_source_url_is_shown_nowhere(world, tmp_path):
    from spyagency.agency import Agency
    with refused_port() as port:
        secret_url = f"http://spy:s3cr3t-pw@127.0.0.1:{port}/t0wmadatasvc/prod/"
        world.agency.close()
        world.agency = Agency(world.agency.settings.model_copy(update={"tier0_url": secret_url}), clock=world.clock,
                              policy=world.agency.policy)
        world.at(H)  # Tier0 cannot be reached: its failure becomes every run's reason
    with client_of(world) as client:
        shown = [client.get("/readyz").text, client.get("/api/v1/runs/386925/release").text,
                 client.get("/").text, client.get("/runs/386925").text, client.get("/api/v1/runs/386925").text]
    assert any("Tier0 Data Service" in page for page in shown)
    assert not any("s3cr3t-pw" in page for page in shown)
    with world.store.session() as session:
        stored = " ".join(str(v) for row in session.execute(text("SELECT reasons FROM runs")) for v in row)
        stored += " ".join(str(v) for row in session.execute(text("SELECT last_error FROM source_status")) for v in row)
    assert "Tier0" in stored and "s3cr3t-pw" not in stored and "spy:" not in stored


def test_a_webhook_or_smtp_password_never_reaches_the_outbox():
    assert mask_credentials("POST https://bot:hunter2@hooks.example/x failed") == \
        "POST https://***@hooks.example/x failed"
    assert mask_credentials("smtp://user:pw@relay:25 refused; see oracle+oracledb://a:b@db:1521/x") == \
        "smtp://***@relay:25 refused; see oracle+oracledb://***@db:1521/x"
    assert mask_credentials("no URL here: user:pw@host") == "no URL here: user:pw@host"


def _csrf(page: str) -> str:
    found = re.search(r'name="csrf" value="([0-9a-f]+)"', page)
    assert found, "the page carries a CSRF token"
    return found.group(1)


def test_the_session_cookie_is_secure_whenever_the_console_is_public_over_https(world):
    with client_of(world, dashboard_url="https://spyagency.cern.ch/", allowed_hosts="testserver") as behind_tls:
        reply = behind_tls.post("/login", data={"token": "tok-expert"}, follow_redirects=False)
    assert "secure" in reply.headers["set-cookie"].lower()
    with client_of(world) as local:  # plain http on loopback, no public https URL: a developer's machine
        reply = local.post("/login", data={"token": "tok-expert"}, follow_redirects=False)
    assert "secure" not in reply.headers["set-cookie"].lower()


def test_a_login_ends_when_its_token_is_removed(world):
    with client_of(world) as before:
        before.post("/login", data={"token": "tok-expert"})
        cookie = before.cookies.get("spyagency_session")
        csrf = _csrf(before.get("/runs/386926").text)
    assert cookie
    # `serve` restarted without that token: the old cookie must not hold its user and roles any more
    with client_of(world, tokens="tok-op=bob:operator") as after:
        after.cookies.set("spyagency_session", cookie)
        assert "alice" not in after.get("/").text
        reply = after.post("/runs/386926/acknowledge", follow_redirects=False,
                           data={"workflow": "SiPixelAli", "kind": "hold", "comment": "stale login", "csrf": csrf})
    assert reply.status_code in (401, 403) and acks(world) == 0


def test_a_login_ends_when_its_token_is_rotated_even_for_the_same_user(world):
    with client_of(world) as before:
        before.post("/login", data={"token": "tok-expert"})
        cookie = before.cookies.get("spyagency_session")
        csrf = _csrf(before.get("/runs/386926").text)
    assert cookie
    # alice's token was leaked and rotated: she holds a new one, the old login must not hold on
    with client_of(world, tokens="tok-expert-2=alice:alca-expert,tok-op=bob:operator") as after:
        after.cookies.set("spyagency_session", cookie)
        assert "alice" not in after.get("/").text
        reply = after.post("/runs/386926/acknowledge", follow_redirects=False,
                           data={"workflow": "SiPixelAli", "kind": "hold", "comment": "stale login", "csrf": csrf})
        assert reply.status_code in (401, 403) and acks(world) == 0
        after.post("/login", data={"token": "tok-expert-2"})  # a login with the new token works
        assert "alice" in after.get("/").text


def test_the_main_port_serves_its_schema_but_no_page_the_csp_would_break(world):
    with client_of(world) as client:
        assert client.get("/openapi.json").status_code == 200
        for path in ("/docs", "/redoc"):
            assert client.get(path).status_code == 404, path


def test_a_proxy_users_page_is_never_served_to_another_caller(world):
    settings = {"auth_mode": "proxy", "proxy_user_header": "X-Auth-User", "proxy_roles_header": "X-Auth-Roles",
                "trusted_proxies": "127.0.0.1", "secret_key": LONG_KEY}
    app = create_app(world.agency.settings.model_copy(update=settings), clock=world.clock,
                     policy=world.agency.policy, store=world.store)
    with TestClient(app, client=("127.0.0.1", 40000)) as client:
        page = "/runs/386926"  # a shared page with the acknowledgement form
        alice = client.get(page, headers={"X-Auth-User": "alice", "X-Auth-Roles": "alca-expert"}).text
        assert "alice" in alice
        bob = client.get(page, headers={"X-Auth-User": "bob", "X-Auth-Roles": "operator"}).text
        anonymous = client.get(page).text
    assert "alice" not in bob and "alice" not in anonymous
    assert _csrf(alice) not in bob and _csrf(alice) not in anonymous


def test_a_proxy_csrf_token_expires_like_a_session():
    auth = Authenticator(Settings(auth_mode="proxy", secret_key=LONG_KEY, session_hours=8))
    issued = 1_000_000.0
    token = auth.csrf_token("alice", now=issued)
    assert auth.check_csrf("alice", token, now=issued + 3600)
    assert not auth.check_csrf("alice", token, now=issued + 17 * 3600)  # two windows later
    assert not auth.check_csrf("bob", token, now=issued)


# ---- low -----------------------------------------------------------------------------------------------

@pytest.mark.parametrize("host", ["127.0.0.1", "0.0.0.0"])
def test_proxy_mode_refuses_a_default_or_short_key_on_any_address(host):
    for key in ("change-me", "short"):
        settings = Settings(auth_mode="proxy", trusted_proxies="127.0.0.1", secret_key=key)
        problem = unsafe_exposure(settings, host)
        assert problem is not None and "SPYAGENCY_SECRET_KEY" in problem
    assert unsafe_exposure(Settings(auth_mode="proxy", trusted_proxies="127.0.0.1", secret_key=LONG_KEY),
                           "127.0.0.1") is None


def test_a_deleted_sqlite_store_makes_every_door_say_so(world, tmp_path):
    path = Path(world.store.url.removeprefix("sqlite:///"))
    release_app = create_release_app(world.agency.settings, clock=world.clock, policy=world.agency.policy,
                                     store=world.store)
    with client_of(world) as client, TestClient(release_app, raise_server_exceptions=False) as listener:
        assert client.get("/api/v1/runs/386925/release").json()["release"] is True
        assert listener.get("/api/v1/runs/386925/release").status_code == 200
        for leftover in path.parent.glob(path.name + "*"):
            os.unlink(leftover)  # someone deletes the store while the services run
        assert client.get("/readyz").status_code == 503
        assert client.get("/api/v1/runs/386925/release").status_code == 503
        assert listener.get("/api/v1/runs/386925/release").status_code == 503
        write = client.post("/api/v1/runs/386926/workflows/SiPixelAli/acknowledgements", headers=EXPERT,
                            json={"kind": "accept_without_payload", "comment": "vetoed on purpose"})
        assert write.status_code == 503


def test_tier0s_listener_serves_no_schema_browser(world):
    app = create_release_app(world.agency.settings, clock=world.clock, policy=world.agency.policy,
                             store=world.store)
    with TestClient(app) as listener:
        for path in ("/openapi.json", "/docs", "/redoc"):
            assert listener.get(path).status_code == 404, path
        assert listener.get("/api/v1/runs/386925/release").status_code == 200


def test_tier0s_listener_refuses_a_foreign_host_header_too(world):
    settings = world.agency.settings.model_copy(update={"allowed_hosts": None, "api_host": "127.0.0.1",
                                                        "dashboard_url": "https://spyagency.cern.ch/"})
    app = create_release_app(settings, clock=world.clock, policy=world.agency.policy, store=world.store)
    with TestClient(app) as listener:
        assert listener.get("/api/v1/runs/386925/release", headers={"Host": "attacker.example"}).status_code == 400
        assert listener.get("/api/v1/runs/386925/release", headers={"Host": "127.0.0.1:8001"}).status_code == 200


def test_a_foreign_host_header_is_refused(world):
    with client_of(world, allowed_hosts=None, api_host="127.0.0.1",
                   dashboard_url="https://spyagency.cern.ch/") as client:
        assert client.get("/", headers={"Host": "attacker.example"}).status_code == 400
        assert client.get("/", headers={"Host": "127.0.0.1:8000"}).status_code == 200
        assert client.get("/", headers={"Host": "localhost:8000"}).status_code == 200
        assert client.get("/", headers={"Host": "spyagency.cern.ch"}).status_code == 200


def test_run_numbers_and_workflow_names_are_matched_whole(world):
    with client_of(world) as client:
        assert client.get("/api/v1/runs/386925%0A/release").status_code == 422
        assert client.get("/api/v1/runs/386925/release").status_code == 200
        reply = client.post("/api/v1/runs/386926/workflows/SiPixelAli%0A/acknowledgements", headers=EXPERT,
                            json={"kind": "accept_without_payload", "comment": "x"})
        assert reply.status_code == 422
    from spyagency.sources.tier0 import check_run_number
    with pytest.raises(ValueError):
        check_run_number("386925\n")  # type: ignore[arg-type]


def test_an_unreadable_store_gives_the_release_api_the_same_short_words(world):
    with world.store.engine.begin() as conn:
        conn.execute(text("ALTER TABLE runs RENAME TO runs_gone"))
    with client_of(world) as client:
        reply = client.get("/api/v1/runs/386925/release")
    assert reply.status_code == 503
    assert reply.json()["detail"] == "the store cannot be read; try again later"


def _cli(*args: str, **env: str) -> subprocess.CompletedProcess[str]:
    environment = {k: v for k, v in os.environ.items() if not k.startswith("SPYAGENCY_")}
    environment.update(env)
    return subprocess.run([sys.executable, "-m", "spyagency.cli", *args], env=environment, capture_output=True,
                          text=True, timeout=60)


def test_a_bad_trusted_proxies_value_is_one_line_and_exit_2(tmp_path):
    done = _cli("serve", SPYAGENCY_TRUSTED_PROXIES="10.0.0.0/33,nonsense", SPYAGENCY_AUTH_MODE="proxy",
                SPYAGENCY_DB_URL=f"sqlite:///{tmp_path / 's.db'}")
    assert done.returncode == 2, done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and "SPYAGENCY_TRUSTED_PROXIES" in lines[0] and "Traceback" not in done.stderr


def test_a_token_parse_error_prints_no_part_of_the_token(tmp_path):
    done = _cli("status", SPYAGENCY_TOKENS="Zq9secretvalue=alice", SPYAGENCY_DB_URL=f"sqlite:///{tmp_path / 's.db'}")
    assert done.returncode == 2
    assert "SPYAGENCY_TOKENS" in done.stderr and "Zq" not in done.stderr and "secret" not in done.stderr


@pytest.mark.parametrize("char", ["\u202a", "\u202b", "\u202c", "\u202d", "\u202e", "\u2066", "\u2067", "\u2068",
                                  "\u2069"])
def test_bidirectional_controls_are_refused_in_comments(world, char):
    assert free_text_problem(f"fine{char}txt.exe") is not None
    with client_of(world) as client:
        reply = client.post("/api/v1/runs/386926/workflows/SiPixelAli/acknowledgements", headers=EXPERT,
                            json={"kind": "accept_without_payload", "comment": f"ok{char}evil"})
    assert reply.status_code == 422 and acks(world) == 0


@pytest.mark.parametrize("char", ["\u200b", "\u200c", "\u200d", "\u200e", "\u200f", "\u2060", "\ufeff",
                                  "\u061c", "\u00ad"])
def test_invisible_format_characters_are_refused_in_comments(world, char):
    assert "invisible format character" in (free_text_problem(f"fine{char}txt") or "")
    with client_of(world) as client:
        reply = client.post("/api/v1/runs/386926/workflows/SiPixelAli/acknowledgements", headers=EXPERT,
                            json={"kind": "accept_without_payload", "comment": f"ok{char}evil"})
    assert reply.status_code == 422 and acks(world) == 0


def test_a_moment_utc_cannot_hold_is_refused_not_a_server_error(world):
    with client_of(world) as client:
        for path in ("/api/v1/runs/386925/explain", "/runs/386925/as-decided", "/steering/as-decided"):
            reply = client.get(path, params={"at": "0001-01-01T00:00:00+14:00"}, headers=EXPERT)
            assert reply.status_code == 422, (path, reply.status_code)


def test_status_never_prints_an_upstream_escape_code_to_the_terminal(world, capsys, monkeypatch):
    from spyagency.cli import main

    with world.store.session() as session:
        session.execute(text("UPDATE runs SET era = :era WHERE run = 386925"),
                        {"era": "\x1b]0;owned\x07\x1b[31mRun2026D"})
    monkeypatch.setenv("SPYAGENCY_DB_URL", world.agency.settings.db_url)
    assert main(["status", "386925"]) == 0
    shown = capsys.readouterr().out
    assert "\x1b" not in shown and "\x07" not in shown
    assert "?]0;owned??[31mRun2026D" in shown


def test_serving_off_loopback_on_the_simulators_default_sources_is_refused():
    defaults = Settings(secret_key=LONG_KEY, tokens="t=u:operator")
    problem = unsafe_exposure(defaults, "0.0.0.0")
    assert problem is not None and "SPYAGENCY_TIER0_URL" in problem and "simulator" in problem
    assert unsafe_exposure(defaults, "127.0.0.1") is None  # a developer's machine running the simulator
    real = defaults.model_copy(update={"tier0_url": "https://cmsweb.cern.ch/t0wmadatasvc/prod/",
                                       "conddb_url": "oracle+oracledb://r:p@db:1521/?service_name=x",
                                       "dqm_url": "https://cmsweb.cern.ch/dqm/offline/"})
    assert unsafe_exposure(real, "0.0.0.0") is None


def test_a_poll_on_the_simulators_default_sources_says_so_in_its_first_line(tmp_path):
    done = _cli("poll", "--once", SPYAGENCY_DB_URL=f"sqlite:///{tmp_path / 's.db'}", SPYAGENCY_HTTP_RETRIES="0",
                SPYAGENCY_CONDDB_URL=f"sqlite:///{tmp_path / 'conddb.db'}")
    first = done.stdout.splitlines()[0]
    assert first.startswith("note: SPYAGENCY_TIER0_URL, SPYAGENCY_DQM_URL are at the default"), done.stdout
