"""Time zones: the organisation's (CALLQA_TIME_ZONE) decides days, weeks and months and how
times without an offset are read; a user's own only changes how pages show times. The API keeps
ISO 8601 with offsets. This center is in Jerusalem (UTC+2 in November and December)."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from pydantic import ValidationError
from sqlmodel import select

from app import timeutil
from app.alerts import service as alerts
from app.alerts.models import Alert, RuleKind
from app.config import Settings
from app.incentives import service as incentives
from app.incentives.models import IncentiveLine, LineKind
from app.users.service import create_api_key
from tests.app.world import PASSWORD, add_scored_call
from tests.conftest import make_settings
from tests.scorecards.test_shopper_forms import GOOD

JERUSALEM = ZoneInfo("Asia/Jerusalem")
# 00:30 on 1 December in Jerusalem: still November in UTC.
FIRST_OF_DECEMBER = datetime(2026, 11, 30, 22, 30, tzinfo=UTC)


@pytest.fixture
def settings(tmp_path, db_url) -> Settings:
    return make_settings(tmp_path / "data", db_url, time_zone="Asia/Jerusalem")


def _login(client, email: str) -> None:
    client.cookies.clear()
    page = client.get("/login")
    csrf = re.search(r'name="csrf" value="([^"]+)"', page.text).group(1)
    r = client.post(
        "/login",
        data={"email": email, "password": PASSWORD, "csrf": csrf, "next": "/calls"},
        follow_redirects=False,
    )
    assert r.status_code == 303, r.text


def _csrf(page: str) -> str:
    return re.search(r'name="csrf" value="([^"]+)"', page).group(1)


# ---- the helpers ----------------------------------------------------------------------------


def test_months_weeks_and_days_are_counted_on_the_zone_s_clock():
    start, end = timeutil.month_bounds(2026, 12, JERUSALEM)
    assert start == datetime(2026, 11, 30, 22, 0, tzinfo=UTC)
    assert end == datetime(2026, 12, 31, 22, 0, tzinfo=UTC)
    assert timeutil.month_of(FIRST_OF_DECEMBER, JERUSALEM) == "2026-12"
    assert timeutil.month_of(FIRST_OF_DECEMBER, UTC) == "2026-11"
    # Israel's clocks go back on Sunday 25 October 2026: the week of the 19th has 169 hours.
    monday = timeutil.week_start(datetime(2026, 10, 28, 12, tzinfo=UTC), JERUSALEM)
    assert monday == datetime(2026, 10, 25, 22, 0, tzinfo=UTC)  # Monday 26th, 00:00 IST
    assert timeutil.week_start(datetime(2026, 10, 25, 20, 59, tzinfo=UTC), JERUSALEM) == datetime(
        2026, 10, 18, 21, 0, tzinfo=UTC
    )  # Sunday 25th 22:59 IST is the week before, which began at 00:00 IDT (UTC+3)
    assert timeutil.day_end(date(2026, 12, 31), JERUSALEM) == datetime(
        2026, 12, 31, 21, 59, 59, tzinfo=UTC
    )
    # A time typed without an offset is the zone's; one with an offset is kept.
    assert timeutil.from_local(datetime(2026, 12, 1, 0, 30), JERUSALEM) == FIRST_OF_DECEMBER
    given = datetime(2026, 12, 1, 0, 30, tzinfo=UTC)
    assert timeutil.from_local(given, JERUSALEM) == given


def test_an_unknown_zone_is_refused_at_start_with_what_to_write():
    with pytest.raises(ValidationError, match="unknown time zone 'Mars/Olympus'.*IANA"):
        Settings(time_zone="Mars/Olympus")
    for bad in ("", " UTC", "../etc/passwd", "/etc/localtime"):
        with pytest.raises(ValueError, match="unknown time zone"):
            timeutil.zone(bad)
    assert Settings(time_zone="Asia/Tehran").zone == ZoneInfo("Asia/Tehran")


# ---- incentives -----------------------------------------------------------------------------


def test_a_call_after_local_midnight_counts_in_the_organisation_s_next_month(
    client, world, session, settings
):
    call = add_scored_call(session, settings, agent="A1", started_at=FIRST_OF_DECEMBER)
    session.commit()
    for period in ("2026-11", "2026-12"):
        r = client.post(f"/api/v1/incentives/periods/{period}/compute", headers=world.sup_a.headers)
        assert r.status_code == 200, r.text
        assert r.json()["time_zone"] == "Asia/Jerusalem"

    def a1_calls(period: str) -> int:
        _, lines = incentives.read_lines(session, period, principal=None)
        line = next(p for p in lines if p.agent.external_id == "A1")
        assert line.regular is not None
        return int(line.regular.figures["calls"])

    assert a1_calls("2026-12") == 1  # this call
    assert a1_calls("2026-11") == 2  # the world's two, not this one
    # The agent's own current month is the organisation's too.
    assert incentives.period_of(call.started_at, settings.zone) == "2026-12"


def test_a_locked_month_keeps_its_zone_when_the_organisation_s_changes(session, world, settings):
    add_scored_call(session, settings, agent="A1", started_at=FIRST_OF_DECEMBER)
    incentives.lock(session, "2026-12", by="test", zone=settings.zone)
    # The center moves its setting to UTC: December as paid still holds the call, so January
    # carries no adjustment for it (in UTC the call would have left December).
    row = incentives.compute(session, "2027-01", zone=ZoneInfo("UTC"))
    adjustments = session.exec(
        select(IncentiveLine).where(
            IncentiveLine.period_id == row.id, IncentiveLine.kind == LineKind.adjustment
        )
    ).all()
    assert adjustments == []
    december = incentives.get_period(session, "2026-12")
    assert december is not None and december.time_zone == "Asia/Jerusalem"
    assert row.time_zone == "UTC"


# ---- alerts, filters, shoppers --------------------------------------------------------------


def test_weekly_alerts_use_the_organisation_s_weeks(client, world, session, settings):
    # Monday 9 November, 00:30 and 00:40 in Jerusalem: still Sunday (week 45) in UTC.
    for minutes in (30, 40):
        add_scored_call(
            session,
            settings,
            agent="A2",
            started_at=datetime(2026, 11, 8, 22, minutes, tzinfo=UTC),
        )
    session.commit()
    client.patch(
        "/api/v1/alert-rules/5",
        headers=world.admin.headers,
        json={"params": {"dimension": "overall", "target": 101, "min_calls": 2}},
    )
    # Tuesday of week 47: the last complete week is week 46, Jerusalem's.
    alerts.sweep(session, settings=settings, now=datetime(2026, 11, 17, 8, tzinfo=UTC))
    weekly = session.exec(select(Alert).where(Alert.kind == RuleKind.weekly_below)).all()
    assert len(weekly) == 1 and "in 2026-W46 (2 calls)" in weekly[0].message
    assert weekly[0].agent_id == world.calls["a2_cold"].agent_id


def test_dates_without_an_offset_are_the_organisation_s_and_the_api_answers_with_offsets(
    client, world
):
    call = world.calls["a1_good"]  # 2026-11-02 09:00 UTC, 11:00 in Jerusalem

    def ids(**params: str) -> set[int]:
        r = client.get("/api/v1/calls", params=params, headers=world.admin.headers)
        assert r.status_code == 200, r.text
        return {c["id"] for c in r.json()["items"]}

    assert call.id in ids(**{"from": "2026-11-02T11:00"})
    assert call.id not in ids(**{"from": "2026-11-02T11:01"})
    assert call.id in ids(**{"from": "2026-11-02T09:00Z"})  # an offset is kept
    assert call.id not in ids(**{"to": "2026-11-02T11:00"})
    r = client.get("/api/v1/calls", params={"from": "yesterday"}, headers=world.admin.headers)
    assert r.status_code == 400 and "ISO date or time" in r.json()["detail"]
    audit = client.get("/api/v1/audit", params={"from": "soon"}, headers=world.admin.headers)
    assert audit.status_code == 400 and "`from`" in audit.json()["detail"]
    started = client.get(f"/api/v1/calls/{call.id}", headers=world.admin.headers).json()
    assert datetime.fromisoformat(started["started_at"]) == datetime(2026, 11, 2, 9, tzinfo=UTC)
    assert re.search(r"(Z|[+-]\d\d:\d\d)$", started["started_at"])


def test_a_shopper_s_contact_time_is_the_center_s_clock(client, world):
    call = world.calls["a2_cold"]  # 12:00 UTC, 14:00 in Jerusalem
    r = client.post(
        "/api/v1/shopper/assignments",
        headers=world.sup_a.headers,
        json={"agent": "A2", "channel": "phone", "due": "2099-12-31"},
    )
    assert r.status_code == 201, r.text
    # The due day ends at the center's midnight.
    assert datetime.fromisoformat(r.json()["due_at"]) == datetime(
        2099, 12, 31, 21, 59, 59, tzinfo=UTC
    )
    link = r.json()["link"]
    assert "(Asia/Jerusalem time)" in client.get(link).text
    local = (call.started_at.astimezone(JERUSALEM) + timedelta(minutes=4)).replace(tzinfo=None)
    sent = client.post("/api/v1" + link, json={"answers": GOOD, "contact_at": local.isoformat()})
    assert sent.status_code == 201, sent.text
    assert sent.json()["matched_call"] is True  # read as UTC it would be 2 h off: no match


# ---- pages ----------------------------------------------------------------------------------


def test_pages_show_local_times_with_the_zone_and_each_user_may_choose_their_own(client, world):
    call = world.calls["a1_good"]
    _login(client, world.sup_a.email)
    assert "2026-11-02 11:00 IST" in client.get("/calls").text
    # Own zone through the API: Tehran is UTC+3:30 and has no abbreviation.
    me = client.patch(
        "/api/v1/auth/me", headers=world.sup_a.headers, json={"time_zone": "Asia/Tehran"}
    )
    assert me.status_code == 200 and me.json()["time_zone"] == "Asia/Tehran"
    page = client.get(f"/calls/{call.id}").text
    assert "2026-11-02 12:30 +0330" in page and "Asia/Tehran" in page
    # Through the account page, back to the organisation's.
    account = client.get("/account").text
    assert 'value="Asia/Tehran"' in account and "Asia/Jerusalem" in account
    r = client.post(
        "/account", data={"csrf": _csrf(account), "time_zone": ""}, follow_redirects=False
    )
    assert r.status_code == 303
    assert "2026-11-02 11:00 IST" in client.get("/calls").text
    assert client.get("/api/v1/auth/me", headers=world.sup_a.headers).json()["time_zone"] == (
        "Asia/Jerusalem"
    )


def test_a_bad_zone_is_refused_and_an_admin_sets_a_user_s_zone(client, world, session):
    bad = client.patch(
        "/api/v1/auth/me", headers=world.a1.headers, json={"time_zone": "Mars/Olympus"}
    )
    assert bad.status_code == 400 and "unknown time zone 'Mars/Olympus'" in bad.json()["detail"]
    key = create_api_key(session, name="payroll", scopes=["incentives:read"])
    session.commit()
    r = client.patch(
        "/api/v1/auth/me",
        headers={"Authorization": f"Bearer {key.secret}"},
        json={"time_zone": "UTC"},
    )
    assert r.status_code == 400 and "API key" in r.json()["detail"]
    uid = world.a1.user.id
    r = client.patch(
        f"/api/v1/users/{uid}", headers=world.admin.headers, json={"time_zone": "Nowhere/City"}
    )
    assert r.status_code == 400
    r = client.patch(
        f"/api/v1/users/{uid}", headers=world.admin.headers, json={"time_zone": "Europe/London"}
    )
    assert r.status_code == 200 and r.json()["time_zone"] == "Europe/London"
    # The change is audited, and the agent's pages now show London time (UTC in November).
    events = client.get(
        "/api/v1/audit", params={"action": "user_change"}, headers=world.admin.headers
    ).json()["items"]
    assert any("time zone Europe/London" in (e["detail"] or "") for e in events)
    _login(client, world.a1.email)
    assert "2026-11-02 09:00 GMT" in client.get("/calls").text
    # The Users page lists the zone and changes it.
    _login(client, world.admin.email)
    users = client.get("/users").text
    assert 'value="Europe/London"' in users and '<datalist id="zones">' in users
    r = client.post(
        f"/users/{uid}",
        data={
            "csrf": _csrf(users),
            "role": "agent",
            "agent": "A1",
            "active": "yes",
            "time_zone": "Asia/Tehran",
        },
        follow_redirects=False,
    )
    assert r.status_code == 303
    listed = client.get("/api/v1/users", headers=world.admin.headers).json()
    assert next(u for u in listed if u["id"] == uid)["time_zone"] == "Asia/Tehran"


def test_a_month_next_to_one_locked_in_another_zone_starts_where_that_one_ended(
    session, world, settings
):
    """On the upgrade earlier months were counted in UTC: December in Jerusalem would begin on
    30 November 22:00Z and pay that evening's calls a second time."""
    add_scored_call(session, settings, agent="A1", started_at=FIRST_OF_DECEMBER)
    november = incentives.lock(session, "2026-11", by="test", zone=ZoneInfo("UTC"))
    assert (november.starts_at, november.ends_at) == (
        datetime(2026, 11, 1, tzinfo=UTC),
        datetime(2026, 12, 1, tzinfo=UTC),
    )
    start, end = incentives.span(session, "2026-12", settings.zone)
    assert start == datetime(2026, 12, 1, tzinfo=UTC)  # not 2026-11-30 22:00Z
    assert end == datetime(2026, 12, 31, 22, 0, tzinfo=UTC)  # Jerusalem's new year
    incentives.compute(session, "2026-12", zone=settings.zone)
    _, lines = incentives.read_lines(session, "2026-12", principal=None)
    assert [p.agent.external_id for p in lines if p.regular] == []  # paid in November only
    _, paid = incentives.read_lines(session, "2026-11", principal=None)
    a1 = next(p for p in paid if p.agent.external_id == "A1")
    assert a1.regular is not None and a1.regular.figures["calls"] == 3
