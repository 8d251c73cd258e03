"""Hostile callers: auth bypass attempts, oversized bodies and SQL-injection-shaped input.

None may get a 500, and none may change state without the right role.
"""

from __future__ import annotations

from datetime import timedelta

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from api.main import create_app
from api.server import start_in_thread
from simulator.scenario import Outcome, SimRun, all_streams
from spyagency.store.tables import AckRow, SteeringOverrideRow, TrackedRun

from ..conftest import START

H = timedelta(hours=1)
TOKENS = "tok-expert=alice:alca-expert,tok-op=bob:operator,tok-t0=tier0:tier0"
ACK_URL = "/api/v1/runs/386926/workflows/SiPixelAli/acknowledgements"
OVERRIDE_URL = "/api/v1/runs/386926/steering-overrides"
ACK_BODY = {"kind": "accept_without_payload", "comment": "vetoed on purpose"}
OVERRIDE_BODY = {"kind": "resume", "comment": "release it"}
EXPERT = {"Authorization": "Bearer tok-expert"}
OPERATOR = {"Authorization": "Bearer tok-op"}


@pytest.fixture
def world(world_factory, policy, store_url):
    runs = [SimRun(386925, START - 12 * H, START - 8 * H, all_streams(policy)),
            SimRun(386926, START - 11 * H, START - 7 * H, all_streams(policy), {"SiPixelAli": Outcome.VETOED})]
    world = world_factory(runs, store_url=store_url, tokens=TOKENS)
    world.at(timedelta(0))
    return world


@pytest.fixture
def client(world):
    app = create_app(world.agency.settings, clock=world.clock, policy=world.agency.policy, store=world.store)
    with TestClient(app, raise_server_exceptions=False) as test_client:
        yield test_client


def state_counts(world) -> dict[str, int]:
    with world.store.session() as session:
        return {name: session.scalar(select(func.count()).select_from(model))
                for name, model in (("acks", AckRow), ("overrides", SteeringOverrideRow), ("runs", TrackedRun))}


BYPASS_HEADERS = [
    pytest.param({}, 401, id="no-token"),
    pytest.param({"Authorization": "Bearer "}, 401, id="empty-token"),
    pytest.param({"Authorization": "Bearer tok-expert-forged"}, 401, id="forged-token"),
    pytest.param({"Authorization": "Bearer TOK-EXPERT"}, 401, id="token-in-other-case"),
    pytest.param({"Authorization": "Basic dG9rLWV4cGVydDo="}, 401, id="basic-auth"),
    pytest.param({"Authorization": "tok-expert"}, 401, id="no-scheme"),
    pytest.param({"X-Remote-User": "admin", "X-Remote-Roles": "alca-expert,operator"}, 401,
                 id="proxy-headers-in-token-mode"),
    pytest.param({"Cookie": "spyagency_token=tok-expert"}, 401, id="dashboard-cookie-on-the-json-api"),
]


@pytest.mark.parametrize("headers,code", BYPASS_HEADERS)
@pytest.mark.parametrize("url,body", [(ACK_URL, ACK_BODY), (OVERRIDE_URL, OVERRIDE_BODY)], ids=["ack", "override"])
def test_auth_bypass_attempts_change_nothing(client, world, url, body, headers, code):
    before = state_counts(world)
    reply = client.post(url, json=body, headers=headers)
    assert reply.status_code == code, reply.text
    assert state_counts(world) == before


@pytest.mark.parametrize("url,body,token", [
    (ACK_URL, ACK_BODY, "tok-op"), (ACK_URL, ACK_BODY, "tok-t0"),
    (OVERRIDE_URL, OVERRIDE_BODY, "tok-expert"), (OVERRIDE_URL, OVERRIDE_BODY, "tok-t0"),
], ids=["operator-acks", "tier0-acks", "expert-overrides", "tier0-overrides"])
def test_a_valid_token_with_the_wrong_role_is_refused(client, world, url, body, token):
    before = state_counts(world)
    assert client.post(url, json=body, headers={"Authorization": f"Bearer {token}"}).status_code == 403
    assert state_counts(world) == before


def test_the_dashboard_form_needs_a_login_and_a_csrf_token_of_its_own_session(client, world):
    before = state_counts(world)
    form = {"workflow": "SiPixelAli", "kind": "accept", "comment": "x", "csrf": "0" * 64}
    anonymous = client.post("/runs/386926/acknowledge", data=form, follow_redirects=False)
    assert anonymous.status_code in (401, 403, 303)
    client.post("/login", data={"token": "tok-op"})  # logged in, but not an expert
    assert client.post("/runs/386926/acknowledge", data=form, follow_redirects=False).status_code in (403, 303)
    assert state_counts(world) == before


def test_oversized_bodies_are_refused_before_anything_reads_them(client, world):
    before = state_counts(world)
    expert = {"Authorization": "Bearer tok-expert", "Content-Type": "application/json"}
    huge = b'{"kind": "accept", "comment": "' + b"x" * 200_000 + b'"}'
    assert client.post(ACK_URL, content=huge, headers=expert).status_code == 413
    lying = client.post(ACK_URL, content=b"{}", headers={**expert, "Content-Length": "abc"})
    assert lying.status_code in (400, 413)

    def chunks():  # no Content-Length: sent chunked
        for _ in range(100):
            yield b"x" * 1000

    assert client.post(ACK_URL, content=chunks(), headers=expert).status_code == 413
    assert state_counts(world) == before


SQL_SHAPED = ["386926 OR 1=1", "386926;DROP TABLE runs", "386926'--", "-1 UNION SELECT * FROM acknowledgements",
              "0x5e6e4", "%27%20OR%20%271%27%3D%271"]


@pytest.mark.parametrize("value", SQL_SHAPED)
def test_sql_shaped_path_and_query_values_are_refused_not_run(client, world, value):
    before = state_counts(world)
    for url in (f"/api/v1/runs/{value}/release", f"/api/v1/runs/{value}", f"/runs/{value}",
                f"/api/v1/runs/386926/workflows/{value}/acknowledgements"):
        reply = client.get(url) if "acknowledgements" not in url else client.post(
            url, json=ACK_BODY, headers={"Authorization": "Bearer tok-expert"})
        assert reply.status_code in (404, 405, 422), (url, reply.status_code)
    for params in ({"state": value}, {"cursor": value}, {"min_run": value}, {"limit": value}):
        assert client.get("/api/v1/runs", params=params).status_code == 422
    assert state_counts(world) == before


def test_sql_in_a_comment_is_stored_as_text_and_harms_nothing(client, world):
    comment = "'); DROP TABLE acknowledgements; -- \" OR 1=1 /* <script>alert(1)</script>"
    reply = client.post(ACK_URL, json={"kind": "accept_without_payload", "comment": comment},
                        headers={"Authorization": "Bearer tok-expert"})
    assert reply.status_code == 201
    assert client.get("/api/v1/runs/386926/acknowledgements").json()[0]["comment"] == comment
    assert state_counts(world)["runs"] == 2
    page = client.get("/runs/386926").text
    assert "<script>alert(1)</script>" not in page  # escaped in the dashboard


def test_malformed_requests_over_real_http_get_4xx_not_500(world):
    server = start_in_thread(world.agency.settings, world.clock, 0, policy=world.agency.policy)
    try:
        port = server.servers[0].sockets[0].getsockname()[1]
        with httpx.Client(base_url=f"http://127.0.0.1:{port}") as http:
            assert http.post(ACK_URL, content=b"{not json", headers={
                "Authorization": "Bearer tok-expert", "Content-Type": "application/json"}).status_code == 422
            assert http.post(ACK_URL, json=["a", "list"], headers={"Authorization": "Bearer tok-expert"}
                             ).status_code == 422
            assert http.get("/api/v1/runs/386926/release", headers={"Authorization": "Bearer " + "x" * 8000}
                            ).status_code == 200  # a junk token on a public read is ignored, not an error
            assert http.get("/api/v1/runs/99999999999999999999/release").status_code == 422
    finally:
        server.should_exit = True


def test_an_unreadable_store_answers_503_never_a_release(tmp_path, world):
    from spyagency.store import Store
    broken = Store(f"sqlite:///{tmp_path / 'never-migrated.db'}")  # no tables: every read fails
    app = create_app(world.agency.settings, clock=world.clock, policy=world.agency.policy, store=broken)
    with TestClient(app, raise_server_exceptions=False) as client:
        reply = client.get("/api/v1/runs/386925/release")
    assert reply.status_code == 503 and reply.json()["detail"] == "the store cannot be read; try again later"
    assert "no such table" not in reply.text  # never the driver's words
    broken.dispose()


def _proxy_client(world, **settings: object) -> TestClient:
    config = world.agency.settings.model_copy(update={"auth_mode": "proxy", **settings})
    return TestClient(create_app(config, clock=world.clock, policy=world.agency.policy, store=world.store),
                      client=("203.0.113.9", 50000))


PROXY_HEADERS = {"X-Remote-User": "mallory", "X-Remote-Roles": "alca-expert,operator"}


def test_proxy_identity_headers_from_a_stranger_are_ignored(world):
    with _proxy_client(world, trusted_proxies="10.0.0.0/8") as stranger:
        assert stranger.post(ACK_URL, json=ACK_BODY, headers=PROXY_HEADERS).status_code == 401
    with _proxy_client(world, trusted_proxies="203.0.113.0/24") as behind_proxy:
        assert behind_proxy.post(ACK_URL, json=ACK_BODY, headers=PROXY_HEADERS).status_code == 201
    with _proxy_client(world, proxy_secret="s3cret-shared-with-the-sso-proxy") as secret:
        assert secret.post(ACK_URL, json=ACK_BODY, headers=PROXY_HEADERS).status_code == 401
        signed = {**PROXY_HEADERS, "X-SpyAgency-Proxy-Secret": "s3cret-shared-with-the-sso-proxy"}
        assert secret.post(ACK_URL, json=ACK_BODY, headers=signed).status_code == 201


def test_an_identity_header_sent_twice_is_refused_not_resolved_to_one(world):
    with _proxy_client(world, trusted_proxies="203.0.113.0/24") as behind_proxy:
        twice = [("X-Remote-User", "alice"), ("X-Remote-User", "mallory"), ("X-Remote-Roles", "alca-expert")]
        reply = behind_proxy.post(ACK_URL, json=ACK_BODY, headers=twice)
        assert reply.status_code == 400 and "x-remote-user sent more than once" in reply.text
        roles_twice = [("X-Remote-User", "alice"), ("X-Remote-Roles", "operator"), ("X-Remote-Roles", "alca-expert")]
        assert behind_proxy.post(ACK_URL, json=ACK_BODY, headers=roles_twice).status_code == 400
        assert behind_proxy.post(ACK_URL, json=ACK_BODY, headers=PROXY_HEADERS).status_code == 201


def test_serve_refuses_to_expose_a_default_secret_or_an_open_proxy_mode(world):
    from api.server import unsafe_exposure
    settings = world.agency.settings
    assert unsafe_exposure(settings, "127.0.0.1") is None  # loopback: a developer's machine
    assert "SPYAGENCY_SECRET_KEY" in unsafe_exposure(settings, "0.0.0.0")
    strong = settings.model_copy(update={"secret_key": "x" * 40})
    assert unsafe_exposure(strong, "0.0.0.0") is None
    open_proxy = strong.model_copy(update={"auth_mode": "proxy"})
    assert "SPYAGENCY_TRUSTED_PROXIES" in unsafe_exposure(open_proxy, "0.0.0.0")


@pytest.mark.parametrize("comment", ["\ud800 lone surrogate", "NUL \x00 inside", "bell \x07"])
def test_control_characters_and_broken_unicode_are_refused_without_echo(client, world, comment):
    import json
    body = json.dumps({"kind": "accept", "comment": comment}).encode()  # \ud800 travels as a JSON escape
    reply = client.post(ACK_URL, content=body, headers={**EXPERT, "Content-Type": "application/json"})
    assert reply.status_code == 422
    assert "input" not in reply.text and "inside" not in reply.text
    override = client.post(OVERRIDE_URL, content=json.dumps({"kind": "resume", "comment": comment}).encode(),
                           headers={**OPERATOR, "Content-Type": "application/json"})
    assert override.status_code == 422
    assert state_counts(world)["acks"] == 0 and state_counts(world)["overrides"] == 0


def test_run_numbers_must_be_canonical(client):
    assert client.get("/api/v1/runs/386925/release").status_code == 200
    for spelling in ("386925.0", "+386925", "0386925", "386925 ", "3.86925e5"):
        assert client.get(f"/api/v1/runs/{spelling}/release").status_code == 422, spelling


def test_head_is_answered_and_every_page_carries_security_headers(client):
    for path in ("/", "/runs/386925", "/api/v1/runs/386925/release", "/healthz"):
        head = client.head(path)
        assert head.status_code == 200 and head.content == b"", path
        get = client.get(path)
        assert "default-src 'self'" in get.headers["content-security-policy"]
        assert "frame-ancestors 'none'" in get.headers["content-security-policy"]
        assert get.headers["x-content-type-options"] == "nosniff" and get.headers["referrer-policy"]


def test_a_form_posted_from_another_site_is_refused(client):
    reply = client.post("/login", data={"token": "tok-expert"}, headers={"Origin": "https://evil.example"},
                        follow_redirects=False)
    assert reply.status_code == 403
    reply = client.post("/login", data={"token": "tok-expert"}, headers={"Sec-Fetch-Site": "cross-site"},
                        follow_redirects=False)
    assert reply.status_code == 403
    assert client.post("/login", data={"token": "tok-expert"}, follow_redirects=False).status_code == 303


def test_a_corrupt_store_answers_503_on_pages_and_readyz(world_factory, policy):
    world = world_factory([SimRun(386925, START - 12 * H, START - 8 * H, all_streams(policy))], tokens=TOKENS)
    world.at(timedelta(0))  # a SQLite store: a file someone's disk corrupted
    path = world.store.url.removeprefix("sqlite:///")
    world.store.dispose()
    world.agency.store.dispose()
    with open(path, "r+b") as handle:  # keep the header, scramble the pages behind it
        handle.seek(100)
        handle.write(b"\xde\xad\xbe\xef" * 8000)
    from spyagency.store import Store
    app = create_app(world.agency.settings, clock=world.clock, policy=world.agency.policy, store=Store(world.store.url))
    with TestClient(app, raise_server_exceptions=False) as fresh:
        assert fresh.get("/readyz").status_code == 503
        for path_ in ("/", "/runs/386925", "/api/v1/runs/386925/release", "/api/v1/runs"):
            assert fresh.get(path_).status_code == 503, path_


def test_the_login_cookie_is_an_opaque_session_that_expires_and_ends_at_logout(client, world):
    login = client.post("/login", data={"token": "tok-expert"}, follow_redirects=False)
    cookie = login.cookies.get("spyagency_session")
    assert login.status_code == 303 and cookie and "tok-expert" not in cookie
    set_cookie = login.headers["set-cookie"].lower()
    assert "httponly" in set_cookie and "samesite=strict" in set_cookie and "max-age=28800" in set_cookie
    assert "alice" in client.get("/").text
    with TestClient(client.app, cookies={"spyagency_token": "tok-expert"}) as raw:  # the old raw-token cookie
        assert "alice" not in raw.get("/").text
    form = client.get("/runs/386926").text
    csrf = form.split('name="csrf" value="')[1].split('"')[0]
    with TestClient(client.app) as other:  # another session gets a CSRF token of its own
        other.post("/login", data={"token": "tok-expert"})
        other_csrf = other.get("/runs/386926").text.split('name="csrf" value="')[1].split('"')[0]
    assert other_csrf != csrf
    stolen = client.post("/runs/386926/acknowledge", follow_redirects=False,
                         data={"workflow": "SiPixelAli", "kind": "accept", "comment": "x", "csrf": other_csrf})
    assert stolen.status_code == 403
    client.post("/logout")
    client.cookies.set("spyagency_session", cookie)  # the cookie kept after logout opens nothing
    assert "alice" not in client.get("/").text


def test_a_session_expires(client, world):
    client.post("/login", data={"token": "tok-expert"})
    assert "alice" in client.get("/").text
    world.clock.current = world.clock.current + timedelta(hours=8, minutes=1)
    assert "alice" not in client.get("/").text


def test_the_cookie_is_secure_when_configured(world):
    config = world.agency.settings.model_copy(update={"cookie_secure": True})
    with TestClient(create_app(config, clock=world.clock, policy=world.agency.policy, store=world.store)) as secure:
        login = secure.post("/login", data={"token": "tok-expert"}, follow_redirects=False)
        assert "secure" in login.headers["set-cookie"].lower()


def test_anonymous_readers_share_a_recent_copy_of_pages_but_logged_in_ones_see_the_store(world):
    config = world.agency.settings.model_copy(update={"anonymous_page_cache_s": 3600})
    app = create_app(config, clock=world.clock, policy=world.agency.policy, store=world.store)
    with TestClient(app) as client:
        assert "not ready" in client.get("/runs/386926").text
        acknowledge_url = "/api/v1/runs/386926/workflows/SiPixelAli/acknowledgements"
        assert client.post(acknowledge_url, json=ACK_BODY, headers=EXPERT).status_code == 201
        assert 'class="state ready"' in client.get("/runs/386926", headers=EXPERT).text  # renders from the store
        assert "not ready" in client.get("/runs/386926").text  # anonymous: a shared copy, at most max-age old
        assert client.get("/api/v1/runs/386926/release").json()["release"] is True  # Tier0's answer: never a copy
