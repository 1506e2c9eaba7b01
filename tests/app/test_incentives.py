"""Outcomes, incentive periods, computing and locking with adjustments, and payroll's API key.
Reading a month never computes it: the worker, POST .../compute and the lock do."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from decimal import Decimal

import pytest
from sqlalchemy import func
from sqlmodel import Session, select

from app.db import engine_for, unit_of_work
from app.incentives import service
from app.incentives.models import IncentiveLine, IncentivePeriod, PeriodStatus
from app.incentives.tasks import refresh_open_periods
from app.users.service import create_api_key
from app.web.session import CSRF_COOKIE, SESSION_COOKIE, make_csrf
from scorecards import bonus
from tests.app import world as world_module
from tests.app.world import add_scored_call
from tests.conftest import BACKENDS, make_settings, new_database

RULES = (
    bonus.default_path()
    .read_text()
    .replace("min_scored_calls: 20", "min_scored_calls: 1")
    .replace("min_average_overall: 70", "min_average_overall: 40")
)


@pytest.fixture
def payroll(session, world, client):
    key = create_api_key(session, name="payroll", scopes=["incentives:read"])
    session.commit()
    r = client.post(
        "/api/v1/incentives/rules", headers=world.admin.headers, json={"definition": RULES}
    )
    assert r.status_code == 201, r.text
    return {"Authorization": f"Bearer {key.secret}"}


def _lines(client, headers, period="2026-11", **params):
    r = client.get("/api/v1/incentives", params={"period": period, **params}, headers=headers)
    assert r.status_code == 200, r.text
    return r.json()


def _compute(client, world, period="2026-11"):
    r = client.post(f"/api/v1/incentives/periods/{period}/compute", headers=world.sup_a.headers)
    assert r.status_code == 200, r.text
    return r.json()


def _figures(items):
    """The lines without when they were computed: what two computations must agree on."""
    return [{k: v for k, v in i.items() if k != "computed_at"} for i in items]


def _rows(session, model) -> int:
    return session.exec(select(func.count()).select_from(model)).one()


def test_outcomes_import_is_all_or_nothing_with_a_report(client, world, session):
    for name, call in world.calls.items():
        call.external_id = f"rec-{name}"
        session.add(call)
    session.commit()
    bad = (
        "external_id,deal_closed,deal_value\n"
        "rec-a1_good,yes,120.50\n"
        "rec-nope,yes,10\n"
        "rec-a2_cold,maybe,\n"
        "rec-a1_good,no,\n"
    )
    r = client.post(
        "/api/v1/outcomes/import",
        headers=world.sup_a.headers,
        files={"file": ("crm.csv", bad, "text/csv")},
    )
    assert r.status_code == 422
    assert r.json()["applied"] == 0 and r.json()["rejected"] == [
        {"line": 3, "external_id": "rec-nope", "reason": "no call with this external_id"},
        {
            "line": 4,
            "external_id": "rec-a2_cold",
            "reason": "deal_closed 'maybe' is not true/false",
        },
        {
            "line": 5,
            "external_id": "rec-a1_good",
            "reason": "external_id appears twice in the file",
        },
    ]
    session.expire_all()
    assert world.calls["a1_good"].deal_closed is None  # nothing applied
    good = 'external_id,deal_closed,deal_value\nrec-a1_good,yes,"1,200.50"\nrec-a2_cold,no,\n'
    dry = client.post(
        "/api/v1/outcomes/import",
        params={"dry_run": True},
        headers=world.sup_a.headers,
        files={"file": ("crm.csv", good)},
    )
    assert dry.json()["applied"] == 0 and dry.json()["rejected"] == []
    r = client.post(
        "/api/v1/outcomes/import", headers=world.sup_a.headers, files={"file": ("crm.csv", good)}
    )
    assert r.status_code == 200 and r.json()["applied"] == 2
    session.expire_all()
    assert world.calls["a1_good"].deal_value == Decimal("1200.50")
    assert (
        client.post(
            "/api/v1/outcomes/import",
            headers=world.sup_a.headers,
            files={"file": ("x.csv", "a,b\n1,2\n")},
        ).status_code
        == 400
    )


def test_payroll_reads_every_agent_and_nothing_else(client, world, payroll):
    _compute(client, world)
    body = _lines(client, payroll)
    assert body["status"] == "open" and [i["agent"] for i in body["items"]] == ["A1", "A2", "B1"]
    a1 = body["items"][0]
    assert a1["provisional"] and a1["period_status"] == "open" and a1["calls"] == 2
    assert a1["rule_version"] and a1["scorecard_versions"] and a1["currency"] == "EUR"
    # A1 has an unresolved auto-fail: not eligible, and the line says why.
    assert not a1["eligible"] and a1["amount"] == "0.00"
    failed = [c for c in a1["checks"] if not c["passed"]]
    assert [c["rule"] for c in failed] == ["no_unresolved_auto_fail"]
    a2 = body["items"][1]
    assert a2["eligible"] and Decimal(a2["amount"]) >= 100
    # Paginated in a stable order.
    page = _lines(client, payroll, limit=2, offset=1)
    assert [i["agent"] for i in page["items"]] == ["A2", "B1"] and page["total"] == 3
    # CSV, safe for spreadsheets.
    csv = client.get(
        "/api/v1/incentives",
        params={"period": "2026-11"},
        headers={**payroll, "Accept": "text/csv"},
    )
    assert csv.headers["content-type"].startswith("text/csv")
    assert csv.text.splitlines()[0].startswith("agent,name,team,calls,deals,revenue,overall")
    assert len(csv.text.splitlines()) == 4
    # The key reads nothing else.
    call = world.calls["a1_good"].id
    for path in (
        "/api/v1/calls",
        f"/api/v1/calls/{call}",
        f"/api/v1/calls/{call}/audio",
        "/api/v1/agents",
        "/api/v1/dashboard",
        "/api/v1/incentives/team?period=2026-11",
    ):
        assert client.get(path, headers=payroll).status_code in (403, 404), path
    # People cannot read everyone's pay through the payroll route.
    for person in (world.admin, world.sup_a, world.a1):
        assert (
            client.get(
                "/api/v1/incentives", params={"period": "2026-11"}, headers=person.headers
            ).status_code
            == 403
        )
    assert (
        client.get("/api/v1/incentives", params={"period": "2026-13"}, headers=payroll).status_code
        == 400
    )


def test_agents_see_their_own_line_and_supervisors_their_teams(client, world, payroll):
    _compute(client, world)
    mine = client.get(
        "/api/v1/me/incentives", params={"period": "2026-11"}, headers=world.a1.headers
    ).json()
    assert mine["agent"] == "A1" and not mine["eligible"]
    assert any("auto-fail" in c["text"] for c in mine["checks"] if not c["passed"])
    team = client.get(
        "/api/v1/incentives/team", params={"period": "2026-11"}, headers=world.sup_a.headers
    ).json()
    assert [i["agent"] for i in team["items"]] == ["A1", "A2"]
    assert (
        client.get(
            "/api/v1/incentives/team", params={"period": "2026-11"}, headers=world.a1.headers
        ).status_code
        == 403
    )


def test_lock_freezes_and_later_changes_become_adjustments(client, world, payroll):
    promise = world.calls["a1_promise"].id
    dispute = client.post(
        f"/api/v1/calls/{world.calls['a1_good'].id}/disputes",
        headers=world.a1.headers,
        json={"reason": "listen again"},
    ).json()
    # A lock freezes every team's lines: a supervisor may not, an admin may.
    by_supervisor = client.post(
        "/api/v1/incentives/periods/2026-11/lock", headers=world.sup_a.headers
    )
    assert by_supervisor.status_code == 403
    blocked = client.post("/api/v1/incentives/periods/2026-11/lock", headers=world.admin.headers)
    assert blocked.status_code == 409
    assert (
        f"dispute {dispute['id']} on call {world.calls['a1_good'].id}" in blocked.json()["detail"]
    )
    client.post(
        f"/api/v1/disputes/{dispute['id']}/decision",
        headers=world.sup_a.headers,
        json={"accept": False, "reason": "score stands"},
    )
    locked = client.post("/api/v1/incentives/periods/2026-11/lock", headers=world.admin.headers)
    assert locked.status_code == 200 and locked.json()["status"] == "locked"
    before = _lines(client, payroll)
    assert before["status"] == "locked" and not before["items"][0]["provisional"]
    refused = client.post("/api/v1/incentives/periods/2026-11/compute", headers=world.sup_a.headers)
    assert refused.status_code == 409 and "locked" in refused.json()["detail"]

    # After the lock a review clears A1's auto-fail and B1 closes a deal.
    crit = client.get(f"/api/v1/calls/{promise}", headers=world.sup_a.headers).json()
    af = next(c["id"] for c in crit["score"]["criteria"] if c["auto_fail"] and not c["passed"])
    client.post(
        f"/api/v1/calls/{promise}/reviews",
        headers=world.sup_a.headers,
        json={"overrides": [{"target": "criterion", "key": af, "value": True, "reason": "ok"}]},
    )
    client.patch(
        f"/api/v1/calls/{world.calls['b1_good'].id}",
        headers=world.admin.headers,
        json={"deal_closed": True, "deal_value": "500"},
    )

    assert _lines(client, payroll) == before  # the locked month does not move
    _compute(client, world, "2026-12")
    december = _lines(client, payroll, period="2026-12")
    assert december["status"] == "open"
    adjustments = {i["agent"]: i for i in december["items"]}
    assert set(adjustments) == {"A1", "B1"}  # A2's figures did not change
    a1 = adjustments["A1"]
    assert a1["calls"] == 0 and a1["adjustments"][0]["for_period"] == "2026-11"
    assert Decimal(a1["amount"]) > 0 and a1["amount"] == a1["adjustments"][0]["amount"]
    b1_nov = next(i for i in before["items"] if i["agent"] == "B1")
    # One more counted deal: the commission times B1's score tier multiplier.
    tier = next(
        t.multiplier
        for t in bonus.parse(RULES).tiers
        if b1_nov["average_scores"]["overall"] >= t.min_score
    )
    assert Decimal(adjustments["B1"]["amount"]) == (Decimal(10) * Decimal(str(tier))).quantize(
        Decimal("0.01")
    )
    # Computing again gives the same result.
    _compute(client, world, "2026-12")
    assert _figures(_lines(client, payroll, period="2026-12")["items"]) == _figures(
        december["items"]
    )
    # Locking December books the adjustment; January then carries nothing more.
    assert (
        client.post(
            "/api/v1/incentives/periods/2026-12/lock", headers=world.admin.headers
        ).status_code
        == 200
    )
    _compute(client, world, "2027-01")
    assert _lines(client, payroll, period="2027-01")["items"] == []
    assert (
        client.post(
            "/api/v1/incentives/periods/2026-11/lock", headers=world.admin.headers
        ).status_code
        == 409
    )


def test_performance_and_service_vs_sales(client, world, payroll, session):
    b1 = world.calls["b1_good"]
    b1.call_type, b1.deal_closed, b1.deal_value = "sales", True, Decimal("80")
    session.add(b1)
    session.commit()
    rows = client.get(
        "/api/v1/performance", params={"period": "2026-11"}, headers=world.admin.headers
    ).json()
    by = {r["key"]: r["figures"] for r in rows}
    assert by["A1"]["calls"] == 2 and by["A1"]["inbound"] == 2
    assert by["B1"]["sales_calls"] == 1 and by["B1"]["conversion"] == 1.0
    assert by["B1"]["revenue"] == "80.00" and 0 < by["A1"]["talk_share"] < 1
    assert by["A1"]["average_handle_seconds"] > 30
    teams = client.get(
        "/api/v1/performance",
        params={"period": "2026-11", "group": "team"},
        headers=world.sup_a.headers,
    ).json()
    assert [t["key"] for t in teams] == ["Team A"]  # a supervisor sees their team only
    bands = client.get(
        "/api/v1/performance/service-sales",
        params={"period": "2026-11"},
        headers=world.admin.headers,
    ).json()
    assert [b["band"] for b in bands] == ["0-59", "60-79", "80-100"]
    assert sum(b["calls"] for b in bands) == 4
    top = bands[2]
    assert top["sales_calls"] == 1 and top["conversion"] == 1.0


def test_computing_a_month_issues_the_same_queries_for_any_number_of_agents(
    session, settings, world, db_engine
):
    """No query per agent: twice the agents, the same number of statements."""
    from sqlalchemy import event

    statements: list[str] = []

    def count(conn, cursor, statement, *args):  # type: ignore[no-untyped-def]
        statements.append(statement)

    def run() -> int:
        statements.clear()
        event.listen(db_engine, "before_cursor_execute", count)
        try:
            service.compute(session, "2026-11", zone=settings.zone)
            session.flush()
        finally:
            event.remove(db_engine, "before_cursor_execute", count)
        return len(statements)

    service.compute(
        session, "2026-11", zone=settings.zone
    )  # the default rules and the period exist from now on
    before = run()
    for i in range(3):
        add_scored_call(
            session, settings, agent=f"extra-{i}", started_at=datetime(2026, 11, 20, tzinfo=UTC)
        )
    session.flush()
    after = run()
    lines = service.read_lines(session, "2026-11", principal=None)[1]
    assert len(lines) == 6 and after == before


def test_reading_an_open_month_writes_nothing_and_shows_the_last_computation(
    client, world, payroll, session, settings
):
    counts = (_rows(session, IncentiveLine), _rows(session, IncentivePeriod))
    # Never computed: the month answers open, with no lines and no computed_at, and nothing
    # is stored by asking (the test's GETs run read-only: a write would be a 500).
    never = _lines(client, payroll)
    assert (never["status"], never["computed_at"], never["items"]) == ("open", None, [])
    team = client.get(
        "/api/v1/incentives/team", params={"period": "2026-11"}, headers=world.sup_a.headers
    )
    assert team.status_code == 200 and team.json()["items"] == []
    mine = client.get(
        "/api/v1/me/incentives", params={"period": "2026-11"}, headers=world.a1.headers
    )
    assert mine.status_code == 404 and "not been computed" in mine.json()["detail"]
    assert (_rows(session, IncentiveLine), _rows(session, IncentivePeriod)) == counts

    computed = _compute(client, world)
    assert computed["status"] == "open" and computed["computed_at"] is not None
    first = _lines(client, payroll)
    by_agent = {i["agent"]: i for i in first["items"]}
    assert first["computed_at"] is not None and by_agent["A2"]["calls"] == 1
    assert by_agent["A2"]["computed_at"] == first["computed_at"]
    stored = (_rows(session, IncentiveLine), _rows(session, IncentivePeriod))

    # A new scored call: reading still shows the lines as computed, and stores nothing.
    add_scored_call(session, settings, agent="A2", started_at=datetime(2026, 11, 20, tzinfo=UTC))
    session.commit()
    assert _lines(client, payroll) == first
    assert (_rows(session, IncentiveLine), _rows(session, IncentivePeriod)) == stored
    _compute(client, world)
    after = {i["agent"]: i for i in _lines(client, payroll)["items"]}
    assert after["A2"]["calls"] == 2 and after["A1"]["calls"] == 2


def test_computing_a_month_needs_the_lock_scope(client, world, payroll):
    for headers in (world.a1.headers, world.a2.headers, payroll):
        r = client.post("/api/v1/incentives/periods/2026-11/compute", headers=headers)
        assert r.status_code == 403, r.text
    assert (
        client.post(
            "/api/v1/incentives/periods/2026-13/compute", headers=world.sup_a.headers
        ).status_code
        == 400
    )
    assert (
        client.post(
            "/api/v1/incentives/periods/2026-11/compute", headers=world.admin.headers
        ).status_code
        == 200
    )


def _web(client, person) -> None:
    client.cookies.clear()
    client.cookies.set(SESSION_COOKIE, person.token)
    client.cookies.set(CSRF_COOKIE, make_csrf(client.app.state.settings, person.token))


def _lines_table(html: str) -> str:
    start = html.index('id="lines"')
    return html[start : html.index("</table>", start)]


def test_the_incentives_page_recomputes_on_request_only(client, world, payroll):
    _web(client, world.sup_a)
    page = client.get("/incentives", params={"period": "2026-11"})
    assert page.status_code == 200 and "Recompute now" in page.text
    assert "Not computed yet" in _lines_table(page.text)
    assert "Ann One" not in _lines_table(page.text)
    assert (
        client.post(
            "/incentives/2026-11/compute", data={"csrf": "forged"}, follow_redirects=False
        ).status_code
        == 403
    )
    done = client.post(
        "/incentives/2026-11/compute",
        data={"csrf": client.cookies.get(CSRF_COOKIE)},
        follow_redirects=False,
    )
    assert done.status_code == 303 and done.headers["location"] == "/incentives?period=2026-11"
    page = client.get("/incentives", params={"period": "2026-11"})
    assert "Lines computed" in page.text and "Ann One" in _lines_table(page.text)
    assert "Bea One" not in page.text  # computing covers every agent; the page shows the team
    # Locking is an admin's: it freezes every team's lines.
    refused = client.post(
        "/incentives/2026-11/lock",
        data={"csrf": client.cookies.get(CSRF_COOKIE), "confirm": "yes"},
        follow_redirects=False,
    )
    assert refused.status_code == 403
    _web(client, world.admin)
    locked = client.post(
        "/incentives/2026-11/lock",
        data={"csrf": client.cookies.get(CSRF_COOKIE), "confirm": "yes"},
        follow_redirects=False,
    )
    assert locked.status_code == 303 and "error" not in locked.headers["location"]
    again = client.post(
        "/incentives/2026-11/compute",
        data={"csrf": client.cookies.get(CSRF_COOKIE)},
        follow_redirects=False,
    )
    assert again.status_code == 303 and "locked" in again.headers["location"]
    page = client.get(again.headers["location"])
    assert "Recompute now" not in page.text and "is locked" in page.text
    _web(client, world.a1)
    assert (
        client.post(
            "/incentives/2026-12/compute",
            data={"csrf": client.cookies.get(CSRF_COOKIE)},
            follow_redirects=False,
        ).status_code
        == 403
    )
    mine = client.get("/me/incentives", params={"period": "2026-12"})
    assert mine.status_code == 200 and "not been computed yet" in mine.text
    client.cookies.clear()


@pytest.fixture(params=BACKENDS)
def fresh(request, tmp_path) -> Iterator[tuple[str, world_module.World]]:
    """A committed database of its own, with the world in it: the worker's units of work are
    transactions of their own, outside any test's."""
    url, drop = new_database(request.param, tmp_path)
    settings = make_settings(tmp_path / "data", url)
    with Session(engine_for(url)) as session:
        built = world_module.build(session, settings)
        session.commit()
    yield url, built
    drop()  # type: ignore[operator]


def test_the_worker_recomputes_this_month_and_the_last_while_they_are_open(fresh, tmp_path):
    url, _ = fresh
    engine = engine_for(url)
    settings = make_settings(tmp_path / "data", url)
    december = datetime(2026, 12, 3, 8, 0, tzinfo=UTC)
    assert refresh_open_periods(engine, settings, now=december) == ["2026-11", "2026-12"]
    with unit_of_work(engine, writes=False) as session:
        row, lines = service.read_lines(session, "2026-11", principal=None)
        assert row.computed_at is not None and [p.agent.external_id for p in lines] == [
            "A1",
            "A2",
            "B1",
        ]
        assert service.read_lines(session, "2026-12", principal=None)[0].computed_at
    with Session(engine) as session:  # a call scored since: the next pass takes it in
        add_scored_call(
            session, settings, agent="A2", started_at=datetime(2026, 11, 20, tzinfo=UTC)
        )
        session.commit()
    assert refresh_open_periods(engine, settings, now=december) == ["2026-11", "2026-12"]
    with unit_of_work(engine) as session:
        a2 = next(
            p
            for p in service.read_lines(session, "2026-11", principal=None)[1]
            if p.agent.external_id == "A2"
        )
        assert a2.regular is not None and a2.regular.figures["calls"] == 2
        frozen = service.lock(session, "2026-11", by="test", zone=settings.zone).computed_at
    # Locked months are left as they are; in January, November is no longer looked at.
    assert refresh_open_periods(engine, settings, now=december) == ["2026-12"]
    assert refresh_open_periods(engine, settings, now=datetime(2027, 1, 2, tzinfo=UTC)) == [
        "2026-12",
        "2027-01",
    ]
    with unit_of_work(engine, writes=False) as session:
        november = service.get_period(session, "2026-11")
        assert november is not None and november.status is PeriodStatus.locked
        assert november.computed_at == frozen
