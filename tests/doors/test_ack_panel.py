"""The AlCa expert's path on the console: the acknowledgement panel at the top of a run page, with the
blocking workflow preselected and each choice explained; a refusal shown on the page beside the form, a
confirmation after; console errors as pages with the console's frame, JSON for programs."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from fastapi.testclient import TestClient

from api.main import create_app
from simulator.scenario import Outcome, SimRun, all_streams

from ..conftest import START

H = timedelta(hours=1)
TOKENS = "tok-expert=alice:alca-expert,tok-op=bob:operator"
BROWSER = {"Accept": "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"}


@pytest.fixture
def world(world_factory, policy):
    runs = [SimRun(386925, START - 12 * H, START - 8 * H, all_streams(policy)),
            SimRun(386926, START - 11 * H, START - 7 * H, all_streams(policy), {"SiPixelAli": Outcome.VETOED})]
    world = world_factory(runs, tokens=TOKENS)
    world.at(timedelta(0))
    return world


@pytest.fixture
def expert(world):
    app = create_app(world.agency.settings, clock=world.clock, policy=world.agency.policy, store=world.store)
    with TestClient(app, raise_server_exceptions=False) as client:
        client.post("/login", data={"token": "tok-expert"})
        yield client


def _csrf(page: str) -> str:
    found = re.search(r'name="csrf" value="([0-9a-f]+)"', page)
    assert found, "the page carries a CSRF token"
    return found.group(1)


def _options(page: str) -> list[str]:
    select = page[page.index('id="ack-workflow"'):page.index("</select>")]
    return re.findall(r'<option value="([^"]+)"', select)


def test_the_panel_comes_first_with_the_blocking_workflow_preselected_and_each_choice_explained(expert):
    page = expert.get("/runs/386926").text
    assert page.index('id="ack"') < page.index('id="run"')  # above the run's long detail, not below it
    options = _options(page)
    assert options[0] == "SiPixelAli"
    assert re.search(r'<option value="SiPixelAli" data-blocking="yes"\s+selected>', page)
    assert "SiPixelLorentzAngleMCS" not in options  # not applicable to this run: nothing to act on
    assert "BeamSpotHPByLumi" in options  # settled, but an expert may still hold it
    assert "let the run go without this calibration" in page and "keep the run from release" in page
    assert "this is the only calibration blocking run 386926" in page
    assert "checked" not in page[page.index('<fieldset class="kinds">'):page.index("</fieldset>")]  # no default


def test_a_refused_word_is_shown_on_the_page_beside_the_form_with_what_was_typed(expert):
    page = expert.get("/runs/386926").text
    reply = expert.post("/runs/386926/acknowledge", headers=BROWSER, follow_redirects=False, data={
        "workflow": "SiPixelAli", "kind": "hold", "comment": "", "csrf": _csrf(page)})
    assert reply.status_code == 422 and reply.headers["content-type"].startswith("text/html")
    assert 'id="ack-error"' in reply.text and "Not recorded:" in reply.text and "comment" in reply.text
    assert '<header>' in reply.text  # the console's frame, with a way back
    kept = expert.post("/runs/386926/acknowledge", headers=BROWSER, follow_redirects=False, data={
        "workflow": "SiPixelAli", "kind": "", "comment": "looked at it", "csrf": _csrf(page)})
    assert kept.status_code == 422 and "choose a decision" in kept.text and 'value="looked at it"' in kept.text


def test_a_recorded_word_is_confirmed_from_the_store_with_what_the_run_is_now(expert):
    page = expert.get("/runs/386926").text
    reply = expert.post("/runs/386926/acknowledge", follow_redirects=False, data={
        "workflow": "SiPixelAli", "kind": "accept_without_payload", "comment": "vetoed on purpose",
        "csrf": _csrf(page)})
    assert reply.status_code == 303
    confirmed = expert.get(reply.headers["location"]).text
    found = re.search(r'id="ack-recorded" role="status">([^<]+)<', confirmed)
    assert found and found.group(1).startswith("Recorded: accept without payload of SiPixelAli by alice at ")
    assert found.group(1).endswith("Run 386926 is now ready: Tier0 may release it.")
    forged = expert.get("/runs/386926?recorded=hold:SiStripGains").text  # a URL claims what the store lacks
    assert 'id="ack-recorded"' not in forged


def test_logged_out_a_run_page_says_how_to_act_and_the_login_page_where_a_token_comes_from(world):
    app = create_app(world.agency.settings, clock=world.clock, policy=world.agency.policy, store=world.store)
    with TestClient(app) as anonymous:
        page = anonymous.get("/runs/386926").text
        assert 'id="ack-hint"' in page and 'href="/login"' in page and 'id="ack-form"' not in page
        assert "SPYAGENCY_TOKENS" in anonymous.get("/login").text


def test_console_errors_are_pages_for_browsers_and_json_for_programs(world):
    app = create_app(world.agency.settings, clock=world.clock, policy=world.agency.policy, store=world.store)
    with TestClient(app) as client:
        unknown = client.get("/runs/386999", headers=BROWSER)
        assert unknown.status_code == 404 and unknown.headers["content-type"].startswith("text/html")
        assert "run 386999 is unknown to SpyAgency" in unknown.text and "<header>" in unknown.text
        bad = client.get("/runs/1", headers=BROWSER)
        assert bad.status_code == 422 and bad.headers["content-type"].startswith("text/html")
        assert "run" in bad.text and "<header>" in bad.text
        assert client.get("/runs/386999").headers["content-type"].startswith("application/json")
        api = client.get("/api/v1/runs/386999", headers=BROWSER)
        assert api.status_code == 404 and api.headers["content-type"].startswith("application/json")
