"""The operators' dashboard: recent runs, per-run pages, acknowledgement forms. Server-rendered."""

from __future__ import annotations

import secrets
from datetime import timedelta
from pathlib import Path
from typing import Annotated
from urllib.parse import quote, urlencode

from fastapi import APIRouter, Depends, Form, HTTPException, Query, Request, status
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates

from spyagency.core.free_text import MAX_COMMENT
from spyagency.core.models import AckKind, RunState, RunSummary
from spyagency.errors import Conflict, InputRefused, NotFound
from spyagency.people.acknowledge import acknowledge
from spyagency.sources.dqm import gui_links
from spyagency.store import Session, queries
from spyagency.store.decision_records import decision_at
from spyagency.store.forecasts import forecasts_for
from spyagency.store.observations import tier0_global
from spyagency.store.people import acknowledgements
from spyagency.store.sessions import end_session, start_session
from spyagency.tier0_instance import instance_note
from spyagency.views import console
from spyagency.views.ack_panel import ack_confirmation, ack_panel
from spyagency.views.explain import explain, explanation_lines, switch_lines
from spyagency.views.folding import fold_not_waited, fold_reasons, workflow_lines
from spyagency.views.report import time_left, to_lock

from ..auth import SESSION_COOKIE, Principal
from ..deps import AppState, DashboardAlcaExpert, DbSession, State, current_principal
from ..schemas import Moment, RunNumber

router = APIRouter(include_in_schema=False)
templates = Jinja2Templates(directory=str(Path(__file__).resolve().parent.parent / "templates"))
templates.env.filters["when"] = lambda t: t.strftime("%Y-%m-%d %H:%M") if t else "–"

Viewer = Annotated[Principal | None, Depends(current_principal)]


def _same_origin(request: Request) -> None:
    """Refuse a form posted from another site (browsers say so in Sec-Fetch-Site, else in Origin)."""
    fetch_site = request.headers.get("sec-fetch-site")
    if fetch_site is not None:
        if fetch_site not in ("same-origin", "none"):
            raise HTTPException(status.HTTP_403_FORBIDDEN, "form posted from another site")
        return
    origin = request.headers.get("origin")
    if origin is not None and origin != f"{request.url.scheme}://{request.url.netloc}":
        raise HTTPException(status.HTTP_403_FORBIDDEN, "form posted from another site")


def _context(request: Request, state: State, viewer: Principal | None, banner_from: Session | None = None,
             **extra: object) -> dict[str, object]:
    """What every page shows: who is looking, the clock, and (read from ``banner_from``) the banner and
    health strip; fragments that do not show the banner pass no session and read nothing for it."""
    csrf = (viewer.csrf or state.auth.csrf_token(viewer.user)) if viewer else ""
    now = state.clock.now()
    shared: dict[str, object] = {}
    if banner_from is not None:
        shared = {"banner": console.banner(banner_from, state.policy, now),
                  "lights": console.source_lights(banner_from, state.policy, now, state.settings.expiry_warning()),
                  "unusual": console.unusual_outputs(banner_from)}
    return {"request": request, "viewer": viewer, "csrf": csrf, "now": now, "simulated": state.clock.simulated,
            "time_left": time_left, "proxy_mode": state.auth.mode == "proxy",
            "steering_live": state.settings.steering == "sql",
            "simulator_defaults": state.settings.simulator_defaults(),
            "instance_note": instance_note(state.settings.tier0_url),
            "refresh_ms": int(state.settings.dashboard_refresh_s * 1000), **shared, **extra}


class GridFilter:
    """The grid's filters, from the query string (shared by the page and its live fragment)."""

    def __init__(self, state: Annotated[RunState | None, Query()] = None,
                 min_run: Annotated[int | None, Query(ge=1, le=9_999_999)] = None,
                 max_run: Annotated[int | None, Query(ge=1, le=9_999_999)] = None) -> None:
        self.state, self.min_run, self.max_run = state, min_run, max_run

    def query(self) -> str:
        values = {"state": self.state.value if self.state else None, "min_run": self.min_run,
                  "max_run": self.max_run}
        return urlencode({key: value for key, value in values.items() if value is not None})


Filter = Annotated[GridFilter, Depends()]


def _grid_context(request: Request, state: State, viewer: Principal | None, session: Session,
                  chosen: GridFilter, page: bool) -> dict[str, object]:
    grid = console.grid(session, state.policy, state.clock.now(), state=chosen.state, min_run=chosen.min_run,
                        max_run=chosen.max_run)
    return _context(request, state, viewer, session if page else None, grid=grid, chosen=chosen,
                    run_states=[s.value for s in RunState])


@router.get("/", response_class=HTMLResponse)
def index(request: Request, state: State, viewer: Viewer, session: DbSession, chosen: Filter) -> Response:
    return templates.TemplateResponse(request, "index.html",
                                      _grid_context(request, state, viewer, session, chosen, page=True))


@router.get("/fragments/runs", response_class=HTMLResponse)
def runs_fragment(request: Request, state: State, viewer: Viewer, session: DbSession, chosen: Filter) -> Response:
    return templates.TemplateResponse(request, "_runs.html",
                                      _grid_context(request, state, viewer, session, chosen, page=False))


@router.get("/fragments/banner", response_class=HTMLResponse)
def banner_fragment(request: Request, state: State, viewer: Viewer, session: DbSession) -> Response:
    return templates.TemplateResponse(request, "_banner.html", _context(request, state, viewer, session))


@router.get("/latency", response_class=HTMLResponse)
def latency_page(request: Request, state: State, viewer: Viewer, session: DbSession) -> Response:
    latencies = console.latencies(session, state.policy, state.clock.now())
    return templates.TemplateResponse(request, "latency.html",
                                      _context(request, state, viewer, session, latencies=latencies))


def _folded(summary: RunSummary) -> dict[str, object]:
    """The run page's words without their repetitions (spyagency.views.folding)."""
    reasons = list(fold_reasons(summary.reasons))
    not_waited = None
    if reasons:
        reasons[0], not_waited = fold_not_waited(reasons[0])
    lines, quality_note = workflow_lines(summary.workflows)
    return {"folded_reasons": reasons, "not_waited": not_waited, "workflow_lines": lines,
            "quality_note": quality_note}


def _run_context(request: Request, state: State, viewer: Principal | None, session: Session,
                 run: int, page: bool) -> dict[str, object]:
    summary = queries.get_run(session, run)
    if summary is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"run {run} is unknown to SpyAgency")
    dqm_links = gui_links(state.settings.dqm_gui_url or state.settings.dqm_url, state.policy, run, summary.era,
                          summary.express_versions, summary.express_producers)
    now = state.clock.now()
    return _context(request, state, viewer, session if page else None, run=summary,
                    history=queries.history(session, run),
                    acks=acknowledgements(session, run), dqm_links=dqm_links,
                    ack_kinds=[k.value for k in AckKind], ack_panel=ack_panel(summary),
                    **_folded(summary),
                    timeline=console.timeline(session, state.policy, summary, now),
                    quality=console.quality_panels(session, state.policy, run),
                    forecasts=forecasts_for(session, state.policy, [run], now).get(run, []),
                    headline=console.headline(summary, [wf.name for wf in state.policy.workflows])[0],
                    to_lock=to_lock(summary, now, tier0_global(session).promptreco_enabled is False))


@router.get("/runs/{run}", response_class=HTMLResponse)
def run_page(run: RunNumber, request: Request, state: State, viewer: Viewer, session: DbSession,
             recorded: Annotated[str | None, Query(max_length=140)] = None) -> Response:
    context = _run_context(request, state, viewer, session, run, page=True)
    if recorded and viewer is not None:  # the confirmation says what the store holds, not what the URL claims
        summary = queries.get_run(session, run)
        assert summary is not None  # _run_context answered 404 otherwise
        context["ack_recorded"] = ack_confirmation(acknowledgements(session, run), summary, viewer.user, recorded)
    return templates.TemplateResponse(request, "run.html", context)


@router.get("/fragments/runs/{run}", response_class=HTMLResponse)
def run_fragment(run: RunNumber, request: Request, state: State, viewer: Viewer, session: DbSession) -> Response:
    return templates.TemplateResponse(request, "_run.html",
                                      _run_context(request, state, viewer, session, run, page=False))


@router.post("/runs/{run}/acknowledge")
def acknowledge_form(
    run: RunNumber, request: Request, state: State, viewer: DashboardAlcaExpert, session: DbSession,
    workflow: Annotated[str, Form(max_length=100)], csrf: Annotated[str, Form(max_length=128)],
    kind: Annotated[str, Form(max_length=40)] = "", comment: Annotated[str, Form(max_length=MAX_COMMENT)] = "",
) -> Response:
    """Record an expert's word from the run page: back to the page with a confirmation, or the page again
    with the refusal's reason beside the form (what was typed is kept)."""
    _same_origin(request)
    expected = viewer.csrf
    valid = secrets.compare_digest(expected, csrf) if expected else state.auth.check_csrf(viewer.user, csrf)
    if not valid:
        raise HTTPException(status.HTTP_403_FORBIDDEN, "form expired or forged (CSRF check failed)")
    try:
        chosen = AckKind(kind)
    except ValueError:
        return _refused(request, state, viewer, session, run, "choose a decision: accept, accept without payload "
                        "or hold", workflow, kind, comment, status.HTTP_422_UNPROCESSABLE_CONTENT)
    try:
        acknowledge(state.store, state.policy, run=run, workflow=workflow, kind=chosen, author=viewer.user,
                    comment=comment, now=state.clock.now())
    except InputRefused as exc:
        code = (status.HTTP_404_NOT_FOUND if isinstance(exc, NotFound) else status.HTTP_409_CONFLICT
                if isinstance(exc, Conflict) else status.HTTP_422_UNPROCESSABLE_CONTENT)
        return _refused(request, state, viewer, session, run, str(exc), workflow, kind, comment, code)
    return RedirectResponse(f"/runs/{run}?recorded={chosen.value}:{quote(workflow)}#ack", status.HTTP_303_SEE_OTHER)


def _refused(request: Request, state: State, viewer: Principal, session: Session, run: int, why: str,
             workflow: str, kind: str, comment: str, code: int) -> Response:
    context = _run_context(request, state, viewer, session, run, page=True)
    context.update(ack_error=why, ack_typed={"workflow": workflow, "kind": kind, "comment": comment})
    return templates.TemplateResponse(request, "run.html", context, status_code=code)


@router.get("/login", response_class=HTMLResponse)
def login_page(request: Request, state: State, viewer: Viewer) -> Response:
    return templates.TemplateResponse(request, "login.html", _context(request, state, viewer, error=None))


@router.post("/login")
def login(request: Request, state: State, token: Annotated[str, Form(max_length=500)]) -> Response:
    _same_origin(request)
    principal = state.auth.from_token(token)
    if principal is None:
        return templates.TemplateResponse(request, "login.html",
                                          _context(request, state, None, error="unknown token"),
                                          status_code=status.HTTP_401_UNAUTHORIZED)
    ttl = timedelta(hours=state.settings.session_hours)
    cookie = start_session(state.store, principal.user, principal.roles, state.clock.now(), ttl,
                           state.auth.token_tag(token))
    response = RedirectResponse("/", status.HTTP_303_SEE_OTHER)
    response.set_cookie(SESSION_COOKIE, cookie, max_age=int(ttl.total_seconds()), httponly=True, samesite="strict",
                        secure=_secure_cookie(state, request))
    return response


@router.post("/logout")
def logout(request: Request, state: State) -> Response:
    _same_origin(request)
    end_session(state.store, request.cookies.get(SESSION_COOKIE), state.clock.now())
    response = RedirectResponse("/", status.HTTP_303_SEE_OTHER)
    response.delete_cookie(SESSION_COOKIE)
    return response


def _secure_cookie(state: AppState, request: Request) -> bool:
    """A session cookie travels only over TLS whenever the console is public over https, also behind a TLS
    proxy that talks plain HTTP to this process (the request's own scheme is then http)."""
    public = state.settings.dashboard_url or ""
    return state.settings.cookie_secure or request.url.scheme == "https" or public.lower().startswith("https://")


@router.get("/steering/as-decided", response_class=HTMLResponse)
def steering_as_decided(request: Request, state: State, viewer: Viewer, session: DbSession,
                        at: Moment = None) -> Response:
    """The steering decision at any moment: Tier0's line, each run's decision in force, overrides, the switch."""
    moment = at or state.clock.now()
    return templates.TemplateResponse(request, "steering_as_decided.html", _context(
        request, state, viewer, session, moment=moment, lines=switch_lines(session, state.policy, moment)))


@router.get("/runs/{run}/as-decided", response_class=HTMLResponse)
def run_as_decided(run: RunNumber, request: Request, state: State, viewer: Viewer, session: DbSession,
                   at: Moment = None) -> Response:
    """Any moment of a run's timeline: the decision in force then, the facts it rests on, and its replay."""
    moment = at or state.clock.now()
    record = decision_at(session, run, moment)
    explanation = explain(record, state.policy) if record is not None else None
    return templates.TemplateResponse(request, "as_decided.html", _context(
        request, state, viewer, session, run=run, decided_at=record.decided_at if record else moment,
        explanation=explanation, lines=explanation_lines(explanation) if explanation else []))
