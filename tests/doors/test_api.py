"""The HTTP service as Tier0, AlCa experts and operators use it (TestClient and a real uvicorn)."""

from __future__ import annotations

from datetime import timedelta

import httpx
import pytest
from fastapi.testclient import TestClient

from api.main import create_app, create_release_app
from api.server import start_in_thread
from simulator.scenario import Outcome, SimRun, all_streams
from spyagency.ports import port_in_use, reserve

from ..conftest import START

H = timedelta(hours=1)
TOKENS = "tok-expert=alice:alca-expert|operator,tok-t0=tier0:tier0,tok-op=bob:operator"
EXPERT = {"Authorization": "Bearer tok-expert"}
TIER0 = {"Authorization": "Bearer tok-t0"}


@pytest.fixture
def world(world_factory, policy, store_url):
    runs = [SimRun(386925, START - 12 * H, START - 8 * H, all_streams(policy)),
            SimRun(386926, START - 11 * H, START - 7 * H, all_streams(policy), {"SiPixelAli": Outcome.VETOED}),
            SimRun(386927, START - 3 * H, START + 5 * H, all_streams(policy))]
    world = world_factory(runs, store_url=store_url, tokens=TOKENS)
    world.at(timedelta(0))
    return world


@pytest.fixture
def client(world):
    app = create_app(world.agency.settings, clock=world.clock, policy=world.agency.policy, store=world.store)
    with TestClient(app) as test_client:
        yield test_client


def test_tier0_asks_whether_a_ready_run_may_be_released(client):
    reply = client.get("/api/v1/runs/386925/release", headers=TIER0)
    assert reply.status_code == 200
    body = reply.json()
    assert body["release"] is True and body["state"] == "ready"
    assert body["deadline"].startswith("2026-11-22T03:30:00")  # stop + 48 h - 30 min
    assert body["reasons"] and body["decided_at"]


def test_a_vetoed_run_is_not_released_and_says_why(client):
    body = client.get("/api/v1/runs/386926/release").json()
    assert body["release"] is False and any("vetoed" in r for r in body["reasons"])


def test_unknown_and_malformed_runs(client):
    reply = client.get("/api/v1/runs/999999/release")
    assert reply.status_code == 404 and "unknown" in reply.json()["detail"]
    assert client.get("/api/v1/runs/abc/release").status_code == 422
    assert client.get("/api/v1/runs/12345678/release").status_code == 422


def test_next_release_is_the_first_unreleased_run_of_tier0s_line(client):
    body = client.get("/api/v1/release/next").json()
    assert body["run"] == 386925 and body["release"] is True


def test_a_stale_decision_is_never_a_release(client, world):
    world.clock.current = START + 2 * H  # nobody polled for two hours
    body = client.get("/api/v1/runs/386925/release").json()
    assert body["release"] is False and "stale" in body["reasons"][0]


def test_runs_are_paginated_newest_first(client):
    first = client.get("/api/v1/runs", params={"limit": 2}).json()
    assert [r["run"] for r in first["runs"]] == [386927, 386926]
    rest = client.get("/api/v1/runs", params={"limit": 2, "cursor": first["next_cursor"]}).json()
    assert [r["run"] for r in rest["runs"]] == [386925] and rest["next_cursor"] is None
    ready = client.get("/api/v1/runs", params={"state": "ready"}).json()
    assert [r["run"] for r in ready["runs"]] == [386925]
    assert client.get("/api/v1/runs", params={"state": "bogus"}).status_code == 422


def test_an_expert_accepts_a_vetoed_alignment_and_the_run_becomes_ready(client):
    url = "/api/v1/runs/386926/workflows/SiPixelAli/acknowledgements"
    reply = client.post(url, json={"kind": "accept_without_payload", "comment": "movement understood"},
                        headers=EXPERT)
    assert reply.status_code == 201, reply.text
    body = reply.json()
    assert body["acknowledgement"]["author"] == "alice"
    assert body["workflow_state"] == "acknowledged" and body["run_state"] == "ready"
    assert client.get("/api/v1/runs/386926/release").json()["release"] is True
    detail = client.get("/api/v1/runs/386926").json()
    assert [a["kind"] for a in detail["acknowledgements"]] == ["accept_without_payload"]
    assert any(c["workflow"] == "SiPixelAli" and c["state"] == "acknowledged" for c in detail["history"])


def test_a_hold_keeps_a_ready_run_back_until_another_ack(client):
    url = "/api/v1/runs/386925/workflows/SiStripGains/acknowledgements"
    # asked once before the hold: the release reader's open connection must not keep an old snapshot
    assert client.get("/api/v1/runs/386925/release").json()["release"] is True
    held = client.post(url, json={"kind": "hold", "comment": "checking gains"}, headers=EXPERT).json()
    assert held["run_state"] == "not_ready" and held["workflow_state"] == "held"
    assert client.get("/api/v1/runs/386925/release").json()["release"] is False
    client.post(url, json={"kind": "accept", "comment": "fine after all"}, headers=EXPERT)
    assert client.get("/api/v1/runs/386925/release").json()["release"] is True
    assert len(client.get("/api/v1/runs/386925/acknowledgements").json()) == 2  # nothing is deleted


def test_an_accept_of_a_calibration_still_on_its_way_is_refused_and_records_nothing(client):
    url = "/api/v1/runs/386927/workflows/SiStripGains/acknowledgements"  # 386927 is still taking data
    refused = client.post(url, json={"kind": "accept", "comment": "fine"}, headers=EXPERT)
    assert refused.status_code == 409
    assert "still waiting express" in refused.json()["detail"] and "accept_without_payload" in refused.json()["detail"]
    assert client.get("/api/v1/runs/386927/acknowledgements").json() == []
    taken = client.post(url, json={"kind": "accept_without_payload", "comment": "go without gains"}, headers=EXPERT)
    assert taken.status_code == 201
    assert client.get("/api/v1/runs/386927/acknowledgements").json()[0]["answered_state"] == "waiting_express"


def test_a_word_on_a_run_tier0_has_locked_is_refused_as_too_late(client, world):
    from spyagency.core.models import Tier0Global
    from spyagency.store.observations import record_tier0_global
    with world.store.session() as session:  # Tier0 has locked 386925: the first conditions-safe run is 386926
        record_tier0_global(session, Tier0Global(386926, True, world.clock.now()))
    hold = client.post("/api/v1/runs/386925/workflows/SiStripGains/acknowledgements",
                       json={"kind": "hold", "comment": "gains look odd"}, headers=EXPERT)
    assert hold.status_code == 409 and "Tier0 has locked run 386925" in hold.json()["detail"]
    assert client.get("/api/v1/runs/386925/acknowledgements").json() == []
    override = client.post("/api/v1/runs/386925/steering-overrides", json={"kind": "resume", "comment": "let it go"},
                           headers={"Authorization": "Bearer tok-op"})
    assert override.status_code == 409 and "nothing recorded" in override.json()["detail"]


def test_an_unlisted_producer_of_the_run_may_be_acknowledged_but_not_an_invented_one(client):
    url = "/api/v1/runs/386925/workflows/PromptCalibProdNoSuchThing/acknowledgements"
    assert client.post(url, json={"kind": "accept_without_payload", "comment": "x"}, headers=EXPERT).status_code == 404


@pytest.mark.parametrize("headers,code", [
    ({}, 401),
    ({"Authorization": "Bearer forged"}, 401),
    ({"Authorization": "Basic dG9rLWV4cGVydDo="}, 401),
    (TIER0, 403),
    ({"Authorization": "Bearer tok-op"}, 403),
])
def test_only_alca_experts_may_acknowledge(client, headers, code):
    url = "/api/v1/runs/386926/workflows/SiPixelAli/acknowledgements"
    reply = client.post(url, json={"kind": "accept", "comment": ""}, headers=headers)
    assert reply.status_code == code
    assert client.get("/api/v1/runs/386926/acknowledgements").json() == []


def test_bad_acknowledgements_are_refused_with_a_reason(client):
    base = "/api/v1/runs/386926/workflows"
    assert client.post(f"{base}/NoSuchWorkflow/acknowledgements", json={"kind": "accept"},
                       headers=EXPERT).status_code == 404
    no_reason = client.post(f"{base}/SiPixelAli/acknowledgements", json={"kind": "hold"}, headers=EXPERT)
    assert no_reason.status_code == 422 and "comment" in no_reason.json()["detail"]
    assert client.post(f"{base}/SiPixelAli/acknowledgements", json={"kind": "approve"},
                       headers=EXPERT).status_code == 422
    big = client.post(f"{base}/SiPixelAli/acknowledgements", content=b"x" * 100_000,
                      headers={**EXPERT, "Content-Type": "application/json"})
    assert big.status_code == 413


def test_an_operator_overrides_steering_for_a_vetoed_run(client, world):
    world.at(40 * H)  # 386926's lock (stop + 47.5 h = START + 40.5 h) is 30 min away: SpyAgency wants a pause
    world.agency.observe_and_decide()
    picture = client.get("/api/v1/steering").json()
    assert picture["desired"] == "pause" and picture["run"] == 386926
    url = "/api/v1/runs/386926/steering-overrides"
    body = {"kind": "resume", "comment": "release without the new alignment"}
    assert client.post(url, json=body, headers=TIER0).status_code == 403
    assert client.post(url, json=body).status_code == 401
    reply = client.post(url, json=body, headers={"Authorization": "Bearer tok-op"})
    assert reply.status_code == 201 and reply.json()["author"] == "bob"
    picture = client.get("/api/v1/steering").json()
    assert picture["desired"] == "resume" and "operator bob overrode" in picture["reason"]
    assert "overrode at 2026-11-22 04:00 UTC: release without the new alignment" in picture["reason"]
    assert client.get("/api/v1/runs/386926/release").json()["release"] is False  # readiness is untouched
    assert [o["kind"] for o in client.get(url).json()] == ["resume"]
    assert client.post("/api/v1/runs/999999/steering-overrides", json=body,
                       headers={"Authorization": "Bearer tok-op"}).status_code == 404
    assert client.post(url, json={"kind": "resume", "comment": ""},
                       headers={"Authorization": "Bearer tok-op"}).status_code == 422


def test_health_readiness_and_metrics(client, world):
    assert client.get("/healthz").json() == {"status": "ok"}
    assert client.get("/readyz").status_code == 200
    metrics = client.get("/metrics").text
    assert 'spyagency_runs{state="ready"} 1.0' in metrics
    assert 'spyagency_source_failing{source="tier0"} 0.0' in metrics
    assert "spyagency_poll_duration_seconds" in metrics
    world.clock.current = START + 2 * H
    reply = client.get("/readyz")
    assert reply.status_code == 503 and "stale" in reply.json()["problems"]["tier0"]


def test_dashboard_lists_runs_and_shows_a_run(client):
    page = client.get("/")
    assert page.status_code == 200 and 'data-run="386926"' in page.text
    run = client.get("/runs/386926")
    assert "SiPixelAli" in run.text and "jsonfairy" in run.text and "vetoed" in run.text
    assert "ack-form" not in run.text  # anonymous readers see no form


def test_dashboard_form_needs_a_valid_csrf_token(client, world):
    client.post("/login", data={"token": "tok-expert"})
    page = client.get("/runs/386926")
    assert "ack-form" in page.text
    forged = client.post("/runs/386926/acknowledge", data={"workflow": "SiPixelAli", "kind": "accept",
                                                           "csrf": "0" * 64, "comment": "x"})
    assert forged.status_code == 403
    assert client.get("/api/v1/runs/386926/acknowledgements").json() == []


def test_real_uvicorn_serves_the_release_api(world):
    server = start_in_thread(world.agency.settings, world.clock, 0, policy=world.agency.policy)
    try:
        port = server.servers[0].sockets[0].getsockname()[1]
        reply = httpx.get(f"http://127.0.0.1:{port}/api/v1/runs/386925/release", timeout=5)
        assert reply.status_code == 200 and reply.json()["release"] is True
    finally:
        server.should_exit = True


def test_a_port_reserved_before_anything_else_started_is_where_the_api_serves(world):
    """The demo holds its API's port before the simulator's servers ask the kernel for free ones, so
    that none of them can be given it; the API then listens on that very socket."""
    held = reserve("127.0.0.1", 0)
    port = held.getsockname()[1]
    assert port_in_use("127.0.0.1", port) is False  # bound, not yet listening
    server = start_in_thread(world.agency.settings, world.clock, port, held, policy=world.agency.policy)
    try:
        assert server.servers[0].sockets[0].getsockname()[1] == port
        assert httpx.get(f"http://127.0.0.1:{port}/api/v1/runs/386925/release", timeout=5).json()["release"] is True
    finally:
        server.should_exit = True


def test_tier0s_own_listener_answers_the_release_question_and_nothing_else(client, world):
    """`spyagency serve-release`: the same answers as the main service, and no page a flood could use."""
    app = create_release_app(world.agency.settings, clock=world.clock, policy=world.agency.policy,
                             store=world.store)
    with TestClient(app) as listener:
        for run in (386925, 386926):
            assert listener.get(f"/api/v1/runs/{run}/release").json() == \
                client.get(f"/api/v1/runs/{run}/release").json()
        assert listener.get("/api/v1/runs/999999/release").status_code == 404
        assert listener.get("/api/v1/runs/386925.0/release").status_code == 422
        assert listener.head("/api/v1/runs/386925/release").status_code == 200
        assert listener.get("/healthz").status_code == 200
        for elsewhere in ("/", "/metrics", "/api/v1/runs", "/api/v1/runs/386925", "/readyz", "/latency"):
            assert listener.get(elsewhere).status_code == 404, elsewhere
        assert listener.post("/api/v1/runs/386926/workflows/SiPixelAli/acknowledgements", headers=EXPERT,
                             json={"kind": "accept", "comment": "x"}).status_code in (404, 405)


def test_a_pause_someone_else_made_is_shown_and_never_undone(client, world):
    world.at(10 * H)
    world.sim.world.operator_switch(False, "orm-shifter")  # the Offline Run Manager's big red button
    world.at(10 * H + timedelta(minutes=10))
    assert world.agency.steer().delivered == 0  # everything is ready, yet SpyAgency does not resume
    assert world.sim.world.promptreco_enabled is False
    picture = client.get("/api/v1/steering").json()
    assert picture["promptreco_enabled"] is False and picture["changed_by_others_at"] is not None
    assert "someone else paused Tier0" in picture["switch_note"]
    page = client.get("/").text
    assert "Tier0 prompt-reco releases are PAUSED by someone else since" in page
    assert "someone else paused Tier0" in page


def test_the_openapi_spec_lists_the_allowed_states_actions_and_kinds(client):
    spec = client.get("/openapi.json").json()["components"]["schemas"]
    assert set(spec["RunState"]["enum"]) == {"not_ready", "ready", "released", "overdue"}
    assert "ambiguous" in spec["WorkflowState"]["enum"] and "held" in spec["WorkflowState"]["enum"]
    assert spec["SteeringOut"]["properties"]["desired"]["enum"] == ["pause", "resume", "wait"]
    assert set(spec["AckKind"]["enum"]) == {"accept", "accept_without_payload", "hold"}


def test_a_run_page_says_once_that_the_quality_watch_has_too_little_history(client):
    page = client.get("/runs/386925").text
    assert page.count('id="quality-not-judged"') == 1
    assert 'class="quality-panel' not in page  # not one identical panel per workflow


def test_timeline_labels_close_together_take_different_lines():
    from datetime import UTC, datetime

    from spyagency.views.console import LABEL_ROWS, Mark, _label_rows

    at = datetime(2026, 6, 1, tzinfo=UTC)
    close = [Mark(at, "upload", f"upload {i}", 0.40 + i * 0.01) for i in range(4)]
    far = [Mark(at, "start", "run start", 0.0), Mark(at, "now", "now", 1.0)]
    rows = {m.label: m.row for m in _label_rows(sorted(far[:1] + close + far[1:], key=lambda m: m.position))}
    assert len({rows[f"upload {i}"] for i in range(4)}) == 4  # four labels within a label's width: four lines
    assert rows["run start"] == 0 and rows["now"] == 0 and max(rows.values()) < LABEL_ROWS
