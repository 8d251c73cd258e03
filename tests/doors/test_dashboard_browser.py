"""The dashboard in a real headless Chromium: load runs, open one, acknowledge as an expert."""

from __future__ import annotations

import json
import shutil
from datetime import timedelta
from pathlib import Path

import httpx
import pytest

from api.server import start_in_thread
from simulator.scenario import Outcome, SimRun, all_streams

from ..conftest import START
from ..support.missing import missing

CHROMIUM = "/usr/bin/chromium"
H = timedelta(hours=1)
SCREENSHOTS = Path(__file__).resolve().parents[2] / "artifacts"


@pytest.fixture
def browser():
    if not shutil.which(CHROMIUM):
        missing("browser", "Debian's chromium is not installed")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=[
            "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
            "--disable-sync", "--no-first-run"])
        yield browser
        browser.close()


@pytest.fixture
def served(world_factory, policy):
    runs = [SimRun(386925, START - 12 * H, START - 8 * H, all_streams(policy)),
            SimRun(386926, START - 11 * H, START - 7 * H, all_streams(policy), {"SiPixelAli": Outcome.VETOED}),
            SimRun(386927, START - 3 * H, START + 5 * H, all_streams(policy))]
    yield from _serve(world_factory, runs)


def _serve(world_factory, runs):  # type: ignore[no-untyped-def]
    """A world over ``runs`` served by a real uvicorn on loopback: yields (base URL, world)."""
    # pages refresh every 0.5 s here: the 15 s waits below leave a wide margin
    world = world_factory(runs, tokens="tok-expert=alice:alca-expert|operator", dashboard_refresh_s=0.5)
    world.at(timedelta(0))
    server = start_in_thread(world.agency.settings, world.clock, 0, policy=world.agency.policy)
    port = server.servers[0].sockets[0].getsockname()[1]
    yield f"http://127.0.0.1:{port}", world
    server.should_exit = True


def test_expert_acknowledges_a_vetoed_alignment_from_the_dashboard(browser, served):
    base, world = served
    page = browser.new_page(viewport={"width": 1400, "height": 900})
    page.goto(base + "/")
    assert page.locator("tr[data-run='386925'] .state").inner_text() == "ready"
    assert page.locator("tr[data-run='386926'] .state").inner_text() == "not ready"
    SCREENSHOTS.mkdir(exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / "dashboard.png"), full_page=True)

    page.click("text=log in")
    page.fill("input[name=token]", "tok-expert")
    page.click("button[type=submit]")
    assert "alice" in page.locator("header .who").inner_text()

    page.click("a[href='/runs/386926']")
    assert page.locator("tr[data-workflow='SiPixelAli'] .wstate").inner_text() == "vetoed"
    assert page.locator("tr[data-workflow='SiPixelAli'] a", has_text="plots").count() == 1
    # the blocking workflow is preselected, and the panel says what an accept does before it is given
    assert page.locator("#ack-workflow").input_value() == "SiPixelAli"
    assert "this is the only calibration blocking run 386926" in page.locator("#ack-consequence").inner_text()
    page.click("#ack-form button[type=submit]")  # no decision chosen: the browser asks for one, nothing is sent
    assert page.locator("#ack-error").count() == 0
    page.check("input[name=kind][value=hold]")
    page.click("#ack-form button[type=submit]")  # a hold needs a comment: refused, on the page, with the reason
    assert "Not recorded:" in page.locator("#ack-error").inner_text()
    assert page.locator("header .who").count() == 1  # the console's frame, not raw JSON
    page.check("input[name=kind][value=accept_without_payload]")
    page.fill("input[name=comment]", "large movement understood, keep the previous alignment")
    page.click("#ack-form button[type=submit]")

    assert page.locator("#ack-recorded").inner_text().startswith("Recorded: accept without payload of SiPixelAli")
    assert page.locator("#run-state").inner_text() == "ready"
    assert page.locator("tr[data-workflow='SiPixelAli'] .wstate").inner_text() == "acknowledged"
    assert "keep the previous alignment" in page.content()
    page.screenshot(path=str(SCREENSHOTS / "run-acknowledged.png"), full_page=True)


def test_the_run_table_refreshes_by_itself(browser, served):
    from playwright.sync_api import expect

    base, world = served
    page = browser.new_page()
    page.goto(base + "/")
    assert page.locator("tr[data-run='386927'] .state").inner_text() == "not ready"
    world.at(10 * H)  # 386927 stopped and harvested: ready now
    # a locator wait, not a JavaScript string: the page's CSP (rightly) forbids eval
    expect(page.locator("tr[data-run='386927'] .state")).to_have_text("ready", timeout=15000)


AXE = Path(__file__).resolve().parents[2] / ".cache" / "axe-core-4.14.1" / "axe.min.js"
DOCS = Path(__file__).resolve().parents[2] / "docs"


@pytest.fixture
def served_steering(world_factory, policy):
    """386925's alignment is vetoed: near its lock (START + 39.5 h) SpyAgency pauses Tier0."""
    runs = [SimRun(386924, START - 14 * H, START - 12 * H, all_streams(policy)),
            SimRun(386925, START - 12 * H, START - 8 * H, all_streams(policy), {"SiPixelAli": Outcome.VETOED}),
            SimRun(386926, START - 8 * H, START - 6 * H, all_streams(policy), {"SiStripGains": Outcome.LATE})]
    yield from _serve(world_factory, runs)


def test_the_banner_shows_a_pause_and_its_resume_as_they_happen(browser, served_steering):
    """Within one refresh an operator sees that SpyAgency paused Tier0, why, and which run and workflow
    to chase; and sees the resume after the expert's acknowledgement, without reloading."""
    from playwright.sync_api import expect

    base, world = served_steering
    page = browser.new_page(viewport={"width": 1500, "height": 950})
    page.goto(base + "/")
    expect(page.locator("#banner")).to_have_attribute("data-releasing", "true")
    assert page.locator("tr[data-run='386925'] td.cell[data-workflow='SiPixelAli']").get_attribute(
        "class") == "cell vetoed"

    world.at(39 * H)  # half an hour before 386925's lock
    assert world.agency.steer().delivered == 1
    world.at(39 * H + timedelta(minutes=1))  # a Tier0 poll sees the switch paused
    expect(page.locator("#switch-state")).to_contain_text("PAUSED by SpyAgency since", timeout=15000)
    expect(page.locator("#pause-why")).to_contain_text("run 386925 is not ready")
    expect(page.locator("#pause-why")).to_contain_text("SiPixelAli")
    expect(page.locator("#next-run")).to_have_text("386925")
    chase = page.locator("tr[data-run='386925'] td.why")
    expect(chase).to_contain_text("Tier0 waits for this run: SiPixelAli vetoed", timeout=15000)  # named first
    assert page.locator("#runs tbody tr").first.get_attribute("data-run") == "386925"  # pinned on top
    assert page.locator("tr[data-run='386925']").get_attribute("data-pinned") == "true"
    page.locator("tr[data-run='386925'] td.cell[data-workflow='SiPixelAli']").focus()
    expect(page.locator("tr[data-run='386925'] td.cell[data-workflow='SiPixelAli'] .tip")).to_be_visible()
    refreshed = page.locator("#runs").get_attribute("data-refreshed-at")
    expect(page.locator("#runs")).not_to_have_attribute("data-refreshed-at", refreshed or "", timeout=5000)
    # a keyboard user's focus survives the grid's refresh: the same cell, and its reason, stay shown
    expect(page.locator("tr[data-run='386925'] td.cell[data-workflow='SiPixelAli'] .tip")).to_be_visible()
    DOCS.mkdir(exist_ok=True)
    page.screenshot(path=str(DOCS / "console-paused.png"), full_page=True)

    reply = httpx.post(f"{base}/api/v1/runs/386925/workflows/SiPixelAli/acknowledgements",
                       headers={"Authorization": "Bearer tok-expert"},
                       json={"kind": "accept_without_payload", "comment": "movement understood"})
    assert reply.status_code == 201, reply.text
    cell = page.locator("tr[data-run='386925'] td.cell[data-workflow='SiPixelAli']")
    expect(cell).to_have_class("cell acknowledged", timeout=15000)  # the grid changes live
    assert world.agency.steer().delivered == 1
    world.at(39 * H + timedelta(minutes=2))
    expect(page.locator("#switch-state")).to_have_text("Tier0 is releasing prompt reco", timeout=15000)
    page.screenshot(path=str(DOCS / "console-resumed.png"), full_page=True)


def test_the_run_timeline_and_the_latency_view_draw_the_runs_life(browser, served_steering):
    base, world = served_steering
    world.at(30 * H)
    page = browser.new_page(viewport={"width": 1400, "height": 900})
    page.goto(base + "/runs/386926")
    kinds = page.locator("#timeline g.mark").evaluate_all("marks => marks.map(m => m.dataset.kind)")
    assert {"start", "stop", "give-up", "lock", "release", "now", "upload"} <= set(kinds)
    # 386926's strip gains landed after its lock: drawn as a late upload
    assert "late-upload" not in kinds or page.locator("#timeline g.late-upload text").count() >= 1
    assert page.locator("#timeline").bounding_box()["width"] > 600
    page.screenshot(path=str(DOCS / "run-timeline.png"), full_page=True)

    page.goto(base + "/latency")
    figures = page.locator("figure.latency")
    assert figures.count() == len(world.agency.policy.workflows)
    gains = page.locator("figure.latency[data-workflow='SiStripGains']")
    assert gains.locator("circle").count() >= 1 and gains.locator("line.limit.lock").count() == 1
    page.screenshot(path=str(DOCS / "latency.png"), full_page=True)


def test_axe_core_finds_no_serious_accessibility_violations(browser, served_steering):
    if not AXE.exists():
        missing("browser", f"axe-core is not at {AXE} (bash tests/support/axe.sh fetches it)")
    base, world = served_steering
    world.at(39 * H)
    world.agency.steer()
    world.at(39 * H + timedelta(minutes=1))
    # the service's CSP forbids inline scripts, rightly; only this checking context may inject axe
    context = browser.new_context(bypass_csp=True)
    page = context.new_page()
    report = {}
    for path in ("/", "/runs/386925", "/latency"):
        page.goto(base + path)
        page.add_script_tag(content=AXE.read_text())
        result = page.evaluate("async () => await axe.run(document, {resultTypes: ['violations']})")
        report[path] = [{"id": v["id"], "impact": v["impact"], "nodes": len(v["nodes"])} for v in result["violations"]]
    SCREENSHOTS.mkdir(exist_ok=True)
    (SCREENSHOTS / "axe.json").write_text(json.dumps(report, indent=1))
    serious = {path: [v for v in found if v["impact"] in ("serious", "critical")] for path, found in report.items()}
    assert serious == {"/": [], "/runs/386925": [], "/latency": []}, serious
    context.close()


@pytest.mark.usefixtures("quality_reads_unbounded")
def test_an_unusual_calibration_is_flagged_with_its_trends(browser, world_factory, policy):
    """An expert sees why a calibration was flagged (the numbers and their history) and may accept or hold it."""
    from simulator.scenario import SimRun as Run

    runs = []
    for i in range(14):
        start = START - (14 - i) * 2 * H - 20 * H
        runs.append(Run(387000 + i, start, start + H, all_streams(policy),
                        quality_anomaly=("SiPixelAli", "BPIX(x+)", 9.0) if i == 13 else None))
    served = _serve(world_factory, runs)
    base, world = next(served)
    try:
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        page.goto(base + "/")
        flagged = page.locator("tr[data-run='387013'] td.cell[data-workflow='SiPixelAli']")
        assert "flagged" in flagged.get_attribute("class")
        assert page.locator("tr[data-run='387012'] td.cell.flagged").count() == 0
        assert "SiPixelAli in 387013" in page.locator("#quality-flags").inner_text()
        page.goto(base + "/runs/387013")
        panel = page.locator(".quality-panel[data-workflow='SiPixelAli']")
        assert "unusual" in panel.get_attribute("class")
        assert "quality UNUSUAL (BPIX(x+)" in panel.locator(".quality-summary").inner_text()
        assert panel.locator("figure.trend").count() == 3 and panel.locator("circle.this").count() == 3
        DOCS.mkdir(exist_ok=True)
        panel.screenshot(path=str(DOCS / "quality.png"))
    finally:
        next(served, None)  # stops the server
