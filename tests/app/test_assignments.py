"""Review assignments: handing queue calls to reviewers by hand or spread automatically over
each team's supervisors, "my reviews", and an assignment done by the review it asked for."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlmodel import select

from app.accounts.service import create_user
from app.auth import create_token
from app.reviews.models import ReviewAssignment
from app.teams import service as teams
from app.teams.models import Team
from app.users.models import Role, User
from app.web.session import CSRF_COOKIE, SESSION_COOKIE, make_csrf
from tests.app.world import add_scored_call

FUTURE = "2099-01-01T12:00:00+00:00"


@pytest.fixture(autouse=True)
def every_call_queued(settings):
    # Every scored call is in the queue, so that which ones are picked is not up to the draw.
    settings.review_sample_share = 1.0


def _assign(client, who, call_id, assignee, due_at=FUTURE):
    return client.post(
        "/api/v1/review-assignments",
        headers=who.headers,
        json={"call_id": call_id, "assignee": assignee, "due_at": due_at},
    )


def _second_lead(session, settings, world):
    user = create_user(
        session,
        email="sup.a2@cc.test",
        password="long-enough-1",
        role=Role.supervisor,
        agent_external_id=None,
    )
    team_a = session.exec(select(Team).where(Team.name == "Team A")).one()
    teams.add_lead(session, team=team_a, email=user.email)
    session.commit()
    return user, {"Authorization": f"Bearer {create_token(user, settings)}"}


def test_assign_lists_in_my_reviews_and_a_review_finishes_it(client, world):
    call = world.calls["a1_promise"]
    r = _assign(client, world.admin, call.id, world.sup_a.email)
    assert r.status_code == 201, r.text
    item = r.json()
    assert item["assignee"] == world.sup_a.email and item["assigned_by"] == world.admin.email
    assert item["status"] == "open" and not item["overdue"] and item["agent"] == "A1"
    assert item["duration_seconds"] == pytest.approx(call.duration_seconds)
    assert item["reason"]  # why: auto-fail, a low score, or picked by hand

    mine = client.get(
        "/api/v1/review-assignments", params={"assignee": "me"}, headers=world.sup_a.headers
    ).json()
    assert [m["call_id"] for m in mine] == [call.id]
    assert (
        client.get(
            "/api/v1/review-assignments", params={"assignee": "me"}, headers=world.admin.headers
        ).json()
        == []
    )
    queue = client.get("/api/v1/review-queue", headers=world.sup_a.headers).json()
    row = next(q for q in queue if q["call_id"] == call.id)
    assert row["assignee"] == world.sup_a.email and row["due_at"].startswith("2099-01-01")

    # A blind calibration score is not the review the assignment asked for.
    cal = client.post(
        "/api/v1/calibrations",
        headers=world.sup_a.headers,
        json={"call_id": call.id, "reviewers": [world.sup_a.email, world.admin.email]},
    ).json()
    client.post(
        f"/api/v1/calibrations/{cal['id']}/verdicts",
        headers=world.sup_a.headers,
        json={"verdicts": {}},
    )
    assert _mine(client, world.sup_a)[0]["status"] == "open"

    # Anyone's review does the work: the admin reviews, the assignment is done.
    review = client.post(
        f"/api/v1/calls/{call.id}/reviews", headers=world.admin.headers, json={"overrides": []}
    ).json()
    done = _mine(client, world.sup_a)[0]
    assert done["status"] == "done" and done["review_id"] == review["id"] and done["done_at"]
    assert call.id not in [
        q["call_id"] for q in client.get("/api/v1/review-queue", headers=world.sup_a.headers).json()
    ]


def _mine(client, who, **params):
    return client.get(
        "/api/v1/review-assignments", params={"assignee": "me", **params}, headers=who.headers
    ).json()


def test_assignment_refusals_say_why(client, world):
    a1_call, b1_call = world.calls["a1_promise"].id, world.calls["b1_good"].id
    cases = [
        (world.sup_b, a1_call, world.sup_b.email, FUTURE, 404, "not found"),
        (world.sup_a, a1_call, world.sup_b.email, FUTURE, 400, "does not lead this call's team"),
        (world.sup_a, a1_call, world.a1.email, FUTURE, 400, "is an agent"),
        (world.sup_a, a1_call, "nobody@cc.test", FUTURE, 400, "no active user"),
        (world.sup_a, a1_call, world.sup_a.email, "2001-01-01T00:00:00", 400, "in the past"),
        (world.sup_a, b1_call, world.sup_a.email, FUTURE, 404, "not found"),
    ]
    for who, call_id, assignee, due, status, words in cases:
        r = _assign(client, who, call_id, assignee, due)
        assert r.status_code == status, (assignee, r.text)
        assert words in r.json()["detail"], r.text
    assert _assign(client, world.a1, a1_call, world.sup_a.email).status_code == 403
    assert client.get("/api/v1/review-assignments", headers=world.admin.headers).json() == []


def test_due_defaults_to_the_setting_and_overdue_is_listed(client, session, settings, world):
    settings.review_due_hours = 5
    before = datetime.now(UTC)
    item = client.post(
        "/api/v1/review-assignments",
        headers=world.sup_a.headers,
        json={"call_id": world.calls["a1_good"].id, "assignee": world.sup_a.email},
    ).json()
    due = datetime.fromisoformat(item["due_at"])
    assert timedelta(hours=5) <= due - before < timedelta(hours=5, minutes=1)
    # A due time without an offset is the organisation's wall clock, as everywhere on the API.
    assert (
        _assign(
            client, world.sup_a, world.calls["a2_cold"].id, world.sup_a.email, "2099-06-01T09:00"
        ).status_code
        == 201
    )
    assert _mine(client, world.sup_a, overdue="true") == []
    row = session.exec(
        select(ReviewAssignment).where(ReviewAssignment.call_id == world.calls["a1_good"].id)
    ).one()
    row.due_at = datetime.now(UTC) - timedelta(hours=1)
    session.add(row)
    session.commit()
    late = _mine(client, world.sup_a, overdue="true")
    assert [a["call_id"] for a in late] == [world.calls["a1_good"].id] and late[0]["overdue"]
    assert [a["call_id"] for a in _mine(client, world.sup_a, overdue="false")] == [
        world.calls["a2_cold"].id
    ]
    # Open ones come first, the most overdue at the top.
    assert [a["call_id"] for a in _mine(client, world.sup_a)][0] == world.calls["a1_good"].id


def test_auto_assign_spreads_over_each_teams_leads(client, session, settings, world):
    lead2, lead2_headers = _second_lead(session, settings, world)
    # A call of an agent in no team: nobody leads it, so it is left and said so.
    loose = add_scored_call(
        session, settings, agent="Z9", started_at=datetime(2026, 11, 5, tzinfo=UTC)
    )
    session.commit()
    # sup_a already holds one call, so the next team-A calls go to the other lead first.
    assert (
        _assign(client, world.admin, world.calls["a1_good"].id, world.sup_a.email).status_code
        == 201
    )
    r = client.post("/api/v1/review-assignments/auto", headers=world.admin.headers, json={})
    assert r.status_code == 200, r.text
    spread = r.json()
    assert spread["per_reviewer"] == {
        lead2.email: 1,
        world.sup_a.email: 1,
        world.sup_b.email: 1,
    }
    assert spread["assigned"] == 3 and spread["no_reviewer"] == [loose.id]
    rows = session.exec(select(ReviewAssignment)).all()
    assert sorted(r.call_id for r in rows) == sorted(c.id for k, c in world.calls.items())
    assert all(r.auto for r in rows if r.call_id != world.calls["a1_good"].id)
    b1 = next(r for r in rows if r.call_id == world.calls["b1_good"].id)
    assert b1.assignee_id == world.sup_b.user.id  # a call goes only to its own team's leads

    # Again: nothing new to spread.
    again = client.post("/api/v1/review-assignments/auto", headers=world.admin.headers, json={})
    assert again.json()["assigned"] == 0

    # The second lead leaves: their open call is free again and goes to the one left.
    lead = session.get(User, lead2.id)
    lead.is_active = False
    session.add(lead)
    session.commit()
    moved = client.post(
        "/api/v1/review-assignments/auto", headers=world.sup_a.headers, json={}
    ).json()
    assert moved == {"assigned": 1, "per_reviewer": {world.sup_a.email: 1}, "no_reviewer": []}


def test_a_supervisor_spreads_only_their_teams_calls(client, session, world):
    spread = client.post(
        "/api/v1/review-assignments/auto", headers=world.sup_b.headers, json={}
    ).json()
    assert spread == {"assigned": 1, "per_reviewer": {world.sup_b.email: 1}, "no_reviewer": []}
    assert [a["call_id"] for a in _mine(client, world.sup_b)] == [world.calls["b1_good"].id]
    # One team only, when asked.
    team_id = session.exec(select(Team.id).where(Team.name == "Team A")).one()
    team_a = client.post(
        "/api/v1/review-assignments/auto", headers=world.admin.headers, json={"team_id": team_id}
    ).json()
    assert team_a["per_reviewer"] == {world.sup_a.email: 3}


def test_unassign_is_scoped(client, world):
    item = _assign(client, world.sup_a, world.calls["a1_good"].id, world.sup_a.email).json()
    path = f"/api/v1/review-assignments/{item['id']}"
    assert client.delete(path, headers=world.sup_b.headers).status_code == 404
    assert client.delete(path, headers=world.a1.headers).status_code == 403
    assert client.delete(path, headers=world.sup_a.headers).status_code == 204
    assert client.delete(path, headers=world.sup_a.headers).status_code == 404
    queue = client.get("/api/v1/review-queue", headers=world.sup_a.headers).json()
    assert next(q for q in queue if q["call_id"] == world.calls["a1_good"].id)["assignee"] is None


def _as(client, person) -> str:
    client.cookies.clear()
    client.cookies.set(SESSION_COOKIE, person.token)
    token = make_csrf(client.app.state.settings, person.token)
    client.cookies.set(CSRF_COOKIE, token)
    return token


def test_pages_assign_ticked_calls_all_or_none_and_list_my_reviews(client, session, world):
    csrf = _as(client, world.sup_a)
    queue = client.get("/review-queue").text
    assert "<th>Assigned to</th>" in queue and 'action="/review-queue/assign"' in queue
    ids = [world.calls["a1_good"].id, world.calls["a1_promise"].id]
    # One call the supervisor may not see: nothing is assigned, not even the others.
    r = client.post(
        "/review-queue/assign",
        data={
            "csrf": csrf,
            "call_id": [*ids, world.calls["b1_good"].id],
            "assignee": world.sup_a.email,
        },
        follow_redirects=False,
    )
    assert r.status_code == 404
    assert session.exec(select(ReviewAssignment)).all() == []
    r = client.post(
        "/review-queue/assign",
        data={"csrf": csrf, "call_id": ids, "assignee": world.sup_a.email, "due": "2099-03-04"},
        follow_redirects=False,
    )
    assert r.status_code == 303, r.text
    rows = session.exec(select(ReviewAssignment)).all()
    assert sorted(r.call_id for r in rows) == sorted(ids)
    assert all(r.due_at.date().isoformat() in ("2099-03-04", "2099-03-05") for r in rows)
    bad = client.post(
        "/review-queue/assign",
        data={"csrf": csrf, "call_id": ids, "assignee": world.sup_a.email, "due": "next week"},
    )
    assert bad.status_code == 400 and "is not a date" in bad.text
    mine = client.get("/my-reviews").text
    assert all(f'href="/calls/{i}"' in mine for i in ids)
    assert "2099-03-04" in mine
    only_mine = client.get("/review-queue", params={"show": "mine"}).text
    unassigned = client.get("/review-queue", params={"show": "unassigned"}).text

    def ticks(page: str, call_id: int) -> bool:
        return f'name="call_id" value="{call_id}"' in page

    assert ticks(unassigned, world.calls["a2_cold"].id)
    assert not ticks(only_mine, world.calls["a2_cold"].id)
    assert ticks(only_mine, ids[0]) and not ticks(unassigned, ids[0])

    r = client.post(
        "/review-queue/auto", data={"csrf": csrf, "team_id": ""}, follow_redirects=False
    )
    assert r.status_code == 303 and r.headers["location"] == "/review-queue?spread=1&unstaffed=0"
    assert "Auto-assigned 1 call." in client.get(r.headers["location"]).text
    assert f'href="/calls/{world.calls["a2_cold"].id}"' in client.get("/my-reviews").text


def test_agents_have_no_review_pages(client, world):
    _as(client, world.a1)
    assert client.get("/my-reviews", follow_redirects=False).status_code == 403
