"""The grid doors, end to end: polls over the simulator's HTTPS front end, which asks for a client certificate
as cmsweb does, and every way that door can be shut, each in one line, with no run released."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest

from simulator.httpserver import Door
from simulator.pki import Authority, GridPki, hashed_ca_dir, make_grid_pki, name, write_proxy
from spyagency.core.models import RunState, Source
from spyagency.sources.errors import Tier0AccessDenied, Tier0ProtocolError
from spyagency.sources.grid import TlsSetup, find_identity, find_trust
from spyagency.sources.tier0 import Tier0Client
from spyagency.store.queries import source_statuses
from spyagency.views.console import source_lights

GRID_VARIABLES = ("X509_HOST_CERT", "X509_HOST_KEY", "X509_USER_PROXY", "X509_USER_CERT", "X509_USER_KEY",
                  "X509_CERT_DIR")


@pytest.fixture(scope="session")
def pki(tmp_path_factory: pytest.TempPathFactory) -> GridPki:
    return make_grid_pki(tmp_path_factory.mktemp("grid"))


@pytest.fixture
def door(pki: GridPki) -> Door:
    return Door.from_files(pki.host_cert, pki.host_key, pki.ca_dir, pki.members)


@pytest.fixture
def grid_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> pytest.MonkeyPatch:
    """An environment with no grid identity at all: the test sets what it means to show."""
    for variable in GRID_VARIABLES:
        monkeypatch.delenv(variable, raising=False)
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    return monkeypatch


def _states(verdicts: dict[int, Any]) -> dict[int, tuple[str, tuple[tuple[str, str], ...]]]:
    return {run: (v.state.value, tuple((w.workflow, w.state.value) for w in v.workflows))
            for run, v in verdicts.items()}


def _tier0_failure(world: Any) -> str:
    cycle = world.cycle()
    tier0 = next(p for p in cycle.polls if p.source is Source.TIER0)
    assert not tier0.ok
    assert tier0.error is not None
    return tier0.error


def _nothing_released(world: Any) -> None:
    verdicts = world.verdicts()
    assert verdicts, "the runs are decided"
    assert not any(v.release for v in verdicts.values())
    assert all(v.state is not RunState.READY for v in verdicts.values())


@pytest.mark.parametrize("identity", ["proxy", "certificate and key"])
def test_a_poll_through_the_grid_doors_decides_as_over_plain_http(world_factory, door, pki, grid_env, identity):
    grid_env.setenv("X509_CERT_DIR", str(pki.ca_dir))
    if identity == "proxy":
        grid_env.setenv("X509_USER_PROXY", str(pki.proxy))
    else:
        grid_env.setenv("X509_USER_CERT", str(pki.user_cert))
        grid_env.setenv("X509_USER_KEY", str(pki.user_key))
    plain = world_factory()
    secured = world_factory(door=door)
    assert secured.sim.tier0_url.startswith("https://") and secured.sim.dqm_url.startswith("https://")
    for hours in (0, 6, 30):
        plain.clock.current = secured.clock.current = plain.clock.current + timedelta(hours=hours)
        over_plain, over_tls = plain.verdicts(), secured.verdicts()
        assert _states(over_tls) == _states(over_plain)
    assert any(v.release for v in over_tls.values()), "the comparison covers a ready run"
    assert secured.sim.tier0.requests > 0 and secured.sim.dqm.requests > 0
    with secured.store.session() as session:
        shown = {s.source: s.certificate for s in source_statuses(session)}
    assert shown["tier0"] is not None and shown["tier0"].dn == pki.member.dn
    assert shown["tier0"].proxy is (identity == "proxy")


def test_a_poll_without_a_certificate_is_refused_in_the_handshake_and_says_so(world_factory, door, pki, grid_env):
    grid_env.setenv("X509_CERT_DIR", str(pki.ca_dir))
    grid_env.setattr("spyagency.sources.grid.find_identity", lambda *a, **k: None)  # no /tmp/x509up_u<uid>
    world = world_factory(door=door, http_retries=3)
    error = _tier0_failure(world)
    assert "asks for a grid certificate" in error and "no grid certificate was presented" in error
    assert "X509_USER_PROXY" in error  # what to set
    assert world.sim.tier0.requests == 0  # refused before any HTTP exchange
    dqm = next(p for p in world.cycle().polls if p.source is Source.DQM)
    assert not dqm.ok and "asks for a grid certificate" in (dqm.error or "")  # even with no histogram due
    _nothing_released(world)


def test_a_dn_that_is_not_a_member_gets_its_dn_named_and_is_not_retried(world_factory, door, pki, grid_env,
                                                                          tmp_path):
    stranger = pki.authority.user(name(("DC", "ch"), ("DC", "cern"), ("OU", "Users"), ("CN", "A Stranger")))
    proxy = write_proxy(tmp_path / "x509up_stranger", stranger, datetime.now(UTC))
    grid_env.setenv("X509_CERT_DIR", str(pki.ca_dir))
    grid_env.setenv("X509_USER_PROXY", str(proxy))
    world = world_factory(door=door, http_retries=3)
    error = _tier0_failure(world)
    assert "HTTP 401" in error and "/DC=ch/DC=cern/OU=Users/CN=A Stranger" in error
    assert "not a CMS member in CRIC" in error
    assert world.sim.tier0.requests == 1  # a refusal is not transient: asked once, not four times
    _nothing_released(world)
    with world.store.session() as session:
        lights = {light.source: light for light in source_lights(session, world.agency.policy, world.clock.now())}
    assert not lights["tier0"].ok and "CN=A Stranger" in (lights["tier0"].problem or "")


def test_a_server_from_an_unknown_ca_names_the_ca_directory_searched(world_factory, door, pki, grid_env, tmp_path):
    other = Authority(name(("DC", "org"), ("CN", "Some Other CA")), datetime.now(UTC))
    elsewhere = hashed_ca_dir(tmp_path / "other-certificates", other)
    grid_env.setenv("X509_CERT_DIR", str(elsewhere))
    grid_env.setenv("X509_USER_PROXY", str(pki.proxy))
    world = world_factory(door=door, http_retries=3)
    error = _tier0_failure(world)
    assert "the server is not trusted" in error and str(elsewhere) in error and "X509_CERT_DIR" in error
    _nothing_released(world)


def test_without_grid_trust_cmsweb_like_servers_are_not_trusted(world_factory, door, pki, grid_env):
    grid_env.setenv("X509_USER_PROXY", str(pki.proxy))
    grid_env.setattr("spyagency.sources.grid.DEFAULT_CA_DIR", Path("/nonexistent/grid-security/certificates"))
    world = world_factory(door=door)
    error = _tier0_failure(world)
    assert "the server is not trusted" in error and "public CA bundle" in error


def test_a_certificate_from_a_ca_the_server_does_not_trust_is_refused_in_the_handshake(
        world_factory, door, pki, grid_env, tmp_path):
    rogue = Authority(name(("DC", "org"), ("CN", "Rogue CA")), datetime.now(UTC))
    impostor = rogue.user(name(*[("DC", "ch"), ("DC", "cern"), ("CN", "SpyAgency Robot")]))
    proxy = write_proxy(tmp_path / "x509up_rogue", impostor, datetime.now(UTC))
    grid_env.setenv("X509_CERT_DIR", str(pki.ca_dir))
    grid_env.setenv("X509_USER_PROXY", str(proxy))
    world = world_factory(door=door, http_retries=3)
    error = _tier0_failure(world)
    assert "the server refused our certificate" in error and "UNKNOWN_CA" in error
    assert "CN=SpyAgency Robot" in error
    _nothing_released(world)


def test_an_expired_certificate_fails_the_source_before_any_connection_and_a_renewed_proxy_is_picked_up(
        world_factory, door, pki, grid_env, tmp_path):
    now = datetime.now(UTC)
    proxy = write_proxy(tmp_path / "x509up", pki.member, now - timedelta(days=2), lifetime=timedelta(hours=12))
    grid_env.setenv("X509_CERT_DIR", str(pki.ca_dir))
    grid_env.setenv("X509_USER_PROXY", str(proxy))
    world = world_factory(door=door)
    error = _tier0_failure(world)
    expired_on = (now - timedelta(days=2) + timedelta(hours=12)).strftime("%Y-%m-%d")
    assert "expired on " + expired_on in error and pki.member.dn in error and "renew the proxy" in error
    assert world.sim.tier0.requests == 0 and world.sim.dqm.requests == 0
    cycle = world.cycle()
    assert {p.source: p.ok for p in cycle.polls}[Source.CONDDB]  # the CondDB goes on
    _nothing_released(world)
    with world.store.session() as session:
        lights = {light.source: light for light in source_lights(session, world.agency.policy, world.clock.now())}
    assert lights["tier0"].certificate_attention and "EXPIRED" in (lights["tier0"].certificate or "")

    write_proxy(proxy, pki.member, now)  # the cron renews it: no restart
    cycle = world.cycle()
    assert all(p.ok for p in cycle.polls), [p.error for p in cycle.polls]
    with world.store.session() as session:
        lights = {light.source: light for light in source_lights(session, world.agency.policy, world.clock.now())}
    assert not lights["tier0"].certificate_attention
    assert "proxy valid until" in (lights["tier0"].certificate or "")


@pytest.mark.parametrize(("proxy_hours", "certificate_days", "said"), [
    (20, 365, None),
    (2, 365, "expires in 2 h, {proxy} UTC, and was not renewed"),
    (20, 5, "grid certificate ({dn}) expires in 5.0 days"),
])
def test_a_certificate_or_proxy_about_to_expire_is_flagged_to_operators_ahead_of_time(
        world_factory, door, pki, grid_env, tmp_path, proxy_hours, certificate_days, said):
    now = datetime.now(UTC)
    robot = pki.authority.user(pki.member.certificate.subject, lifetime=timedelta(days=certificate_days),
                               not_before=now - timedelta(minutes=1))
    proxy = write_proxy(tmp_path / "x509up", robot, now, lifetime=timedelta(hours=proxy_hours, minutes=5))
    grid_env.setenv("X509_CERT_DIR", str(pki.ca_dir))
    grid_env.setenv("X509_USER_PROXY", str(proxy))
    world = world_factory(door=door)
    world.cycle()
    with world.store.session() as session:
        lights = {light.source: light for light in source_lights(session, world.agency.policy, world.clock.now(),
                                                                 wall_now=now)}
    light = lights["tier0"]
    assert light.ok  # the door is open: the data counts
    assert light.certificate_attention is (said is not None)
    if said:
        expiry = now + timedelta(hours=proxy_hours, minutes=5)
        assert said.format(dn=pki.member.dn, proxy=f"{expiry:%Y-%m-%d %H:%M}") in (light.certificate or "")


class _LoginFront(BaseHTTPRequestHandler):
    """A front end in token mode: a redirect to CERN SSO, or (to a client that followed it) the login page."""

    mode = "redirect"
    requests: list[str] = []

    def do_GET(self) -> None:
        type(self).requests.append(self.path)
        if type(self).mode == "redirect":
            self.send_response(302)
            self.send_header("Location", "https://auth.cern.ch/auth/realms/cern/protocol/openid-connect/auth")
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        body = (b"<!DOCTYPE html><html><head><title>Sign in with CERN SSO</title></head><body>"
                b"<form><input type='password' name='password'></form></body></html>")
        self.send_response(200)
        self.send_header("Content-Type", "text/html")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def login_front() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _LoginFront)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    _LoginFront.requests = []
    yield f"http://127.0.0.1:{server.server_address[1]}/t0wmadatasvc/prod/"
    server.shutdown()
    server.server_close()


@pytest.mark.parametrize("mode", ["redirect", "login page"])
def test_a_login_redirect_or_page_says_asked_to_log_in_and_is_not_followed(login_front, mode, monkeypatch):
    monkeypatch.setattr(_LoginFront, "mode", mode)
    client = Tier0Client(login_front, retries=3, sleep=lambda _s: None)
    with pytest.raises(Tier0AccessDenied, match="asked to log in") as raised:
        client.first_conditions_safe_run()
    client.close()
    assert len(_LoginFront.requests) == 1  # not retried, and the redirect is not followed
    if mode == "redirect":
        assert "auth.cern.ch" in str(raised.value)
    else:
        assert "Sign in with CERN SSO" in str(raised.value)


def test_the_simulated_data_service_answers_as_wmcore_rest(world_factory):
    world = world_factory()
    url = world.sim.tier0_url + "firstconditionsaferun"
    assert httpx.get(url, headers={"Accept": ""}).status_code == 406
    anything = httpx.get(url, headers={"Accept": "*/*"})
    assert anything.headers["content-type"].startswith("text/plain") and "\n" in anything.text
    # SpyAgency reads the text/plain answer as JSON, and quotes WMCore's error headers
    client = Tier0Client(world.sim.tier0_url, retries=0)
    assert client.http.get("firstconditionsaferun", params=None)["result"]
    with pytest.raises(Tier0ProtocolError, match=r"X-Error-Detail: run must match"):
        client.http.get("run_config", params={"run": "not-a-run"})
    client.close()


def test_explicit_settings_win_over_the_grid_variables_and_a_half_pair_is_an_error(pki, tmp_path):
    env = {"X509_USER_PROXY": str(pki.proxy), "X509_CERT_DIR": str(pki.ca_dir)}
    chosen = find_identity(env, cert=str(pki.user_cert), key=str(pki.user_key))
    assert chosen is not None and chosen.cert == pki.user_cert and chosen.origin == "SPYAGENCY_GRID_CERT"
    host = find_identity({**env, "X509_HOST_CERT": str(pki.host_cert), "X509_HOST_KEY": str(pki.host_key)})
    assert host is not None and host.cert == pki.host_cert  # a service's own certificate comes first
    proxy = find_identity(env)
    assert proxy is not None and proxy.cert == pki.proxy and proxy.key == pki.proxy
    globus = tmp_path / ".globus"
    globus.mkdir()
    (globus / "usercert.pem").write_bytes(pki.user_cert.read_bytes())
    (globus / "userkey.pem").write_bytes(pki.user_key.read_bytes())
    home = find_identity({}, home=tmp_path, uid=999_999)
    assert home is not None and home.cert == globus / "usercert.pem"
    assert find_identity({}, home=tmp_path / "nobody", uid=999_999) is None
    assert find_trust(env).ca_dir == pki.ca_dir
    setup = TlsSetup(find_trust(env), None, "X509_USER_CERT is set but X509_USER_KEY is not: set both, or neither")
    client = Tier0Client("https://127.0.0.1:1/t0wmadatasvc/prod/", tls=setup, retries=0)
    with pytest.raises(Tier0AccessDenied, match="X509_USER_KEY is not"):
        client.first_conditions_safe_run()
    client.close()


def test_operators_are_told_once_through_their_own_channel_before_the_certificate_expires(
        world_factory, door, pki, grid_env, tmp_path):
    now = datetime.now(UTC)
    robot = pki.authority.user(pki.member.certificate.subject, lifetime=timedelta(days=4),
                               not_before=now - timedelta(minutes=1))
    grid_env.setenv("X509_CERT_DIR", str(pki.ca_dir))
    grid_env.setenv("X509_USER_PROXY", str(write_proxy(tmp_path / "x509up", robot, now)))
    world = world_factory(door=door)
    experts: list[Any] = []
    operators: list[Any] = []
    for _ in range(3):  # every warn pass, and a renewed proxy of the same certificate: still one message
        world.cycle()
        world.agency.warn(experts.append, operators.append)
        write_proxy(tmp_path / "x509up", robot, now + timedelta(minutes=1))
    assert [row.action for row in operators] == ["certificate"]
    assert "expires in 4.0 days" in operators[0].reason and pki.member.dn in operators[0].reason
    assert "register it in CRIC" in operators[0].reason
    assert not any(row.action == "certificate" for row in experts)


def test_readyz_and_the_console_name_the_shut_door(world_factory, door, pki, grid_env, tmp_path):
    from fastapi.testclient import TestClient

    from api.main import create_app

    stranger = pki.authority.user(name(("DC", "ch"), ("DC", "cern"), ("CN", "Not Registered")))
    grid_env.setenv("X509_CERT_DIR", str(pki.ca_dir))
    grid_env.setenv("X509_USER_PROXY", str(write_proxy(tmp_path / "x509up", stranger, datetime.now(UTC))))
    world = world_factory(door=door)
    world.cycle()
    app = create_app(world.agency.settings, clock=world.clock, policy=world.agency.policy, store=world.store)
    with TestClient(app) as client:
        ready = client.get("/readyz")
        page = client.get("/")
    assert ready.status_code == 503
    assert "HTTP 401" in ready.json()["problems"]["tier0"] and "CN=Not Registered" in ready.json()["problems"]["tier0"]
    assert "not a CMS member in CRIC" in page.text and "CN=Not Registered" in page.text


class _Busy(BaseHTTPRequestHandler):
    """The new DQM GUI with too many imports running: 429 with Retry-After, ``busy`` times, then the answer."""

    busy = 1
    asked = 0

    def do_GET(self) -> None:
        type(self).asked += 1
        if type(self).asked <= type(self).busy:
            self.send_response(429)
            self.send_header("Retry-After", "0")
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        body = b'{"result": [386925]}'
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: Any) -> None:
        pass


def test_a_429_is_backed_off_and_is_not_an_outage(monkeypatch):
    from spyagency.passes.observe import _source_down
    from spyagency.sources.errors import Tier0Unavailable

    server = ThreadingHTTPServer(("127.0.0.1", 0), _Busy)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{server.server_address[1]}/t0wmadatasvc/prod/"
    waits: list[float] = []
    try:
        monkeypatch.setattr(_Busy, "asked", 0)
        client = Tier0Client(url, retries=3, sleep=waits.append)
        assert client.first_conditions_safe_run() == 386925  # backed off once, then answered
        monkeypatch.setattr(_Busy, "asked", 0)
        monkeypatch.setattr(_Busy, "busy", 99)
        with pytest.raises(Tier0Unavailable, match="slow down") as busy:
            client.first_conditions_safe_run()
        client.close()
    finally:
        server.shutdown()
        server.server_close()
    assert len(waits) == 4 and busy.value.busy and not busy.value.connection_failed
    assert not _source_down(Source.DQM, [busy.value] * 5, 6)  # busy, not down: those reads stay unread
