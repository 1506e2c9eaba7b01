"""The shape of the web layer: pages authorised by role dependencies, one error handler for
pages and API (HTML for a browser, JSON for a client), the same team scope on the dashboard
page and the API, plain `def` pages, and pages that use services, never API route modules."""

from __future__ import annotations

import ast
import inspect
import re
from pathlib import Path

import pytest
from fastapi.routing import APIRoute
from sqlmodel import select

from app import errors
from app.errors import CallqaError, _prefers_html
from app.reviews.models import Calibration, Dispute, DisputeStatus, Review
from app.users.models import Agent
from app.web.session import CSRF_COOKIE, SESSION_COOKIE, make_csrf
from tests.routes import all_routes

ROOT = Path(__file__).resolve().parents[2]
WEB = ROOT / "app" / "web"


def _as(client, person) -> None:
    client.cookies.clear()
    client.cookies.set(SESSION_COOKIE, person.token)
    # A token bound to this session, as a page would have set it.
    client.cookies.set(CSRF_COOKIE, make_csrf(client.app.state.settings, person.token))


def _page_routes(app) -> list[APIRoute]:
    return [
        r
        for r in all_routes(app)
        if isinstance(r, APIRoute)
        and not r.path.startswith("/api/")
        # The API viewers: fastapi-offline's routes, not pages of ours.
        and r.path not in ("/docs", "/docs/oauth2-redirect", "/redoc")
    ]


def _dependency_names(dependant) -> set[str]:
    names = set()
    for d in dependant.dependencies:
        names.add(getattr(d.call, "__name__", ""))
        names |= _dependency_names(d)
    return names


# ---- authorisation by dependency ------------------------------------------------------------

REVIEWER_PAGES = {
    ("POST", "/calls/{call_id}/review"),
    ("POST", "/disputes/{dispute_id}/decision"),
    ("POST", "/calls/{call_id}/calibrations"),
    ("GET", "/calibrations/{calibration_id}"),
    ("POST", "/calibrations/{calibration_id}/verdicts"),
    ("GET", "/review-queue"),
    ("GET", "/review-queue.csv"),
    ("GET", "/agreement"),
    ("GET", "/dashboard"),
    ("GET", "/dashboard.csv"),
}


def test_reviewer_pages_are_guarded_by_the_page_role_dependency(app):
    guarded = {
        (m, r.path)
        for r in _page_routes(app)
        for m in r.methods
        if "page_scope_reviews_write" in _dependency_names(r.dependant)
    }
    assert REVIEWER_PAGES <= guarded
    by_role = {
        "/alerts": "page_scope_alerts_read",
        "/audit": "page_scope_audit_read",
        "/calls/{call_id}/dispute": "page_scope_disputes_write",
    }
    for route in _page_routes(app):
        if route.path in by_role:
            assert by_role[route.path] in _dependency_names(route.dependant), route.path


def test_agent_posting_a_review_gets_a_403_page_and_nothing_is_written(client, world, session):
    call = world.calls["a1_good"].id
    _as(client, world.a1)
    r = client.post(
        f"/calls/{call}/review",
        follow_redirects=False,
        data={
            "csrf": client.cookies.get(CSRF_COOKIE),
            "dimension__empathy": "99",
            "reason__dimension__empathy": "mine",
        },
    )
    assert r.status_code == 403 and r.headers["content-type"].startswith("text/html")
    assert "Not allowed" in r.text and "your role cannot open this page" in r.text
    assert session.exec(select(Review).where(Review.call_id == call)).first() is None


def test_the_same_refusal_on_the_api_is_json(client, world):
    call = world.calls["a1_good"].id
    r = client.post(
        f"/api/v1/calls/{call}/reviews", headers=world.a1.headers, json={"overrides": []}
    )
    assert r.status_code == 403 and r.headers["content-type"] == "application/json"
    assert "reviews:write" in r.json()["detail"]


def test_agent_opening_the_dashboard_page_is_refused_before_its_filters_are_read(client, world):
    _as(client, world.a1)
    # The role is checked first: a malformed filter does not tell an agent anything.
    r = client.get("/dashboard", params={"team": "not-a-number", "from": "garbage"})
    assert r.status_code == 403 and "Not allowed" in r.text


def test_visitor_without_a_session_goes_to_login_and_htmx_is_told_so(client):
    client.cookies.clear()
    r = client.get("/review-queue", params={"x": "1"}, follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/login?next=/review-queue%3Fx%3D1"
    r = client.post("/alerts/1/acknowledge", headers={"HX-Request": "true"}, follow_redirects=False)
    assert r.status_code == 401 and r.headers["hx-redirect"] == "/login"


# ---- one error handler ----------------------------------------------------------------------


def test_one_handler_answers_callqa_errors_for_pages_and_api(app):
    assert app.exception_handlers[CallqaError] is errors._callqa_handler
    assert app.state.error_page is not None


def test_a_missing_call_is_an_html_page_on_the_site_and_json_on_the_api(client, world):
    _as(client, world.sup_a)
    page = client.get("/calls/999999")
    assert page.status_code == 404 and page.headers["content-type"].startswith("text/html")
    assert "<h1>Not found</h1>" in page.text and "call 999999 not found" in page.text
    api = client.get("/api/v1/calls/999999", headers=world.sup_a.headers)
    assert api.status_code == 404 and api.json() == {"detail": "call 999999 not found"}


def test_an_unknown_page_is_an_html_404_and_an_unknown_api_path_json(client, world):
    _as(client, world.sup_a)
    page = client.get("/no-such-page")
    assert page.status_code == 404 and "<h1>Not found</h1>" in page.text
    api = client.get("/api/v1/no-such-thing")
    assert api.status_code == 404 and api.json() == {"detail": "Not Found"}


def test_an_api_url_opened_in_a_browser_tab_gets_a_page(client, world):
    browser = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"
    r = client.get("/api/v1/calls/999999", headers={**world.sup_a.headers, "Accept": browser})
    assert r.status_code == 404 and r.headers["content-type"].startswith("text/html")
    r = client.get("/api/v1/calls")  # a client: no credentials, JSON and the Bearer challenge
    assert r.status_code == 401 and r.headers["www-authenticate"] == "Bearer"
    assert r.json()["detail"].startswith("not authenticated")


@pytest.mark.parametrize(
    ("accept", "html"),
    [
        ("text/html,application/xhtml+xml,*/*;q=0.8", True),
        ("*/*", False),
        ("", False),
        ("application/json", False),
        ("application/json, text/html;q=0.5", False),
        ("text/*", True),
        ("text/html;q=0, */*", False),
    ],
)
def test_html_is_preferred_only_when_the_accept_header_ranks_it_first(accept, html):
    assert _prefers_html(accept) is html


def test_an_invalid_form_value_on_a_page_is_a_422_page(client, world):
    _as(client, world.sup_a)
    dispute = client.post(
        f"/api/v1/calls/{world.calls['a1_good'].id}/disputes",
        headers=world.a1.headers,
        json={"reason": "listen again"},
    ).json()
    r = client.post(
        f"/disputes/{dispute['id']}/decision",
        follow_redirects=False,
        data={
            "csrf": client.cookies.get(CSRF_COOKIE),
            "decision": "maybe",
            "decision_reason": "unsure",
        },
    )
    assert r.status_code == 422 and r.headers["content-type"].startswith("text/html")
    assert "decision" in r.text
    api = client.post(
        f"/api/v1/disputes/{dispute['id']}/decision",
        headers=world.sup_a.headers,
        json={"accept": "maybe"},
    )
    assert api.status_code == 422 and isinstance(api.json()["detail"], list)


# ---- team scope: page and API alike ---------------------------------------------------------


def test_another_teams_dashboard_is_404_on_the_page_and_the_api(client, world, session):
    team_b = session.get(Agent, world.calls["b1_good"].agent_id).team_id
    team_a = session.get(Agent, world.calls["a1_good"].agent_id).team_id
    _as(client, world.sup_a)
    page = client.get("/dashboard", params={"team": team_b})
    assert page.status_code == 404 and f"team {team_b} not found" in page.text
    assert client.get("/dashboard.csv", params={"team": team_b}).status_code == 404
    api = client.get("/api/v1/dashboard", params={"team": team_b}, headers=world.sup_a.headers)
    assert api.status_code == 404 and api.json() == {"detail": f"team {team_b} not found"}
    own = client.get("/dashboard", params={"team": team_a})
    assert own.status_code == 200 and "Team B" not in own.text
    assert (
        client.get(
            "/api/v1/dashboard", params={"team": team_a}, headers=world.sup_a.headers
        ).json()["calls"]
        == 3
    )


# ---- forms read by Form() parameters --------------------------------------------------------


def test_calibration_takes_several_reviewers_and_their_verdicts(client, world, session):
    call = world.calls["a1_good"]
    _as(client, world.sup_a)
    r = client.post(
        f"/calls/{call.id}/calibrations",
        follow_redirects=False,
        data={
            "csrf": client.cookies.get(CSRF_COOKIE),
            "reviewers": [world.sup_a.email, world.admin.email],
        },
    )
    assert r.status_code == 303, r.text
    calibration = session.exec(select(Calibration).where(Calibration.call_id == call.id)).one()
    assert r.headers["location"] == f"/calibrations/{calibration.id}"
    page = client.get(r.headers["location"]).text
    criteria = re.findall(r'name="verdict__([^"]+)" value="pass"', page)
    assert criteria
    sent = client.post(
        f"/calibrations/{calibration.id}/verdicts",
        follow_redirects=False,
        data={
            "csrf": client.cookies.get(CSRF_COOKIE),
            **{f"verdict__{c}": "pass" for c in criteria},
        },
    )
    assert sent.status_code == 303
    assert "Send my verdicts" not in client.get(r.headers["location"]).text
    one = client.post(
        f"/calls/{call.id}/calibrations",
        follow_redirects=False,
        data={"csrf": client.cookies.get(CSRF_COOKIE), "reviewers": world.sup_a.email},
    )
    assert one.status_code == 400 and "at least two" in one.text


def test_accepting_a_dispute_applies_the_checklist_correction(client, world, session):
    call = world.calls["a1_good"]
    dispute = client.post(
        f"/api/v1/calls/{call.id}/disputes",
        headers=world.a1.headers,
        json={"reason": "listen again"},
    ).json()["id"]
    _as(client, world.sup_a)
    page = client.get(f"/calls/{call.id}").text
    # A criterion the machine passed, and that the form offers to correct.
    passed = re.findall(r'<tr class="pass" data-criterion="([^"]+)"', page)
    form = page[page.index('id="decision-form"') :]
    criterion = next(c for c in passed if f'name="criterion__{c}"' in form)
    r = client.post(
        f"/disputes/{dispute}/decision",
        follow_redirects=False,
        data={
            "csrf": client.cookies.get(CSRF_COOKIE),
            "decision": "accept",
            "decision_reason": "the agent is right",
            f"criterion__{criterion}": "fail",
            f"reason__criterion__{criterion}": "misheard",
        },
    )
    assert r.status_code == 303 and r.headers["location"] == f"/calls/{call.id}#disputes"
    assert session.get(Dispute, dispute).status is DisputeStatus.accepted
    review = session.exec(select(Review).where(Review.call_id == call.id)).one()
    assert [(o["key"], o["reason"]) for o in review.overrides] == [(criterion, "misheard")]


# ---- the code itself ------------------------------------------------------------------------


def _modules() -> list[Path]:
    return sorted(WEB.rglob("*.py"))


def test_no_page_handler_is_async():
    # Pages do database work; FastAPI runs a plain `def` in its thread pool, an `async def`
    # on the event loop, where a query blocks every other request.
    found = {
        (p.name, node.name)
        for p in _modules()
        for node in ast.walk(ast.parse(p.read_text()))
        if isinstance(node, ast.AsyncFunctionDef)
    }
    assert found == set()


def test_every_page_endpoint_is_a_plain_function(app):
    for route in _page_routes(app):
        assert not inspect.iscoroutinefunction(route.endpoint), route.path


def _imports(path: Path) -> tuple[list[str], list[str]]:
    """(module-level imports, imports inside functions) of app.* modules."""
    tree = ast.parse(path.read_text())
    top = [n.module for n in tree.body if isinstance(n, ast.ImportFrom) and n.module]
    nested = [
        n.module
        for f in ast.walk(tree)
        if isinstance(f, ast.FunctionDef | ast.AsyncFunctionDef)
        for n in ast.walk(f)
        if isinstance(n, ast.ImportFrom) and n.module and n.module.startswith("app")
    ]
    return top, nested


def test_pages_import_services_at_the_top_never_api_route_modules():
    for path in _modules():
        top, nested = _imports(path)
        assert nested == [], (path, nested)
        routes = [m for m in top if re.fullmatch(r"app\.\w+\.routes", m)]
        assert routes == [], (path, routes)


def test_page_modules_check_no_permission_inline():
    pages = sorted((WEB / "pages").glob("*.py"))
    assert len(pages) >= 6  # one per domain, and so not a walk over nothing
    for path in pages:
        text = path.read_text()
        assert "_need(" not in text and "require_scope(" not in text, path


def test_an_invited_reviewer_finds_the_calibration_and_hears_the_call_before_the_verdicts(
    client, world, session
):
    call = world.calls["a1_promise"]
    _as(client, world.sup_a)
    client.post(
        f"/calls/{call.id}/calibrations",
        data={
            "csrf": client.cookies.get(CSRF_COOKIE),
            "reviewers": [world.sup_a.email, world.admin.email],
        },
    )
    calibration = session.exec(select(Calibration).where(Calibration.call_id == call.id)).one()
    _as(client, world.admin)
    queue = client.get("/review-queue").text
    assert 'id="invites"' in queue and f'href="/calibrations/{calibration.id}"' in queue
    # The queue says how long each call is, and what it is, before one opens it.
    assert "<th>Length</th>" in queue and "<th>Type</th>" in queue
    seconds = call.duration_seconds
    assert f"{int(seconds) // 60}:{seconds % 60:04.1f}" in queue
    api = client.get("/api/v1/review-queue", headers=world.admin.headers).json()
    assert all("duration_seconds" in item for item in api)
    listed = client.get("/calibrations").text
    assert (
        f'href="/calibrations/{calibration.id}"' in listed and "<strong>to score</strong>" in listed
    )
    page = client.get(f"/calibrations/{calibration.id}").text
    # The player and the words, but none of the machine's verdicts or evidence yet.
    assert f'src="/calls/{call.id}/audio"' in page and 'id="transcript"' in page
    assert "guaranteed returns" in page
    assert "✓" not in page and "✗" not in page and "forbidden phrase" not in page
    assert "Machine" not in page
    criteria = re.findall(r'name="verdict__([^"]+)" value="pass"', page)
    client.post(
        f"/calibrations/{calibration.id}/verdicts",
        data={
            "csrf": client.cookies.get(CSRF_COOKIE),
            **{f"verdict__{c}": "fail" for c in criteria},
        },
    )
    after = client.get(f"/calibrations/{calibration.id}").text
    assert "<th>Machine</th>" in after
    assert "<td>scored</td>" in client.get("/calibrations").text
    assert 'id="invites"' not in client.get("/review-queue").text
