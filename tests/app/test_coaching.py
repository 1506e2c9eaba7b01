"""Coaching sessions (issue 15, item 5): a supervisor coaches an agent of their team about some
of the agent's calls and on criteria of the agent's scorecard, with a follow-up day; the agent
sees and acknowledges their own; the session shows how the agent has done on those criteria
since, from the stored (and reviewed) scores; erasing a call removes its link."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from sqlmodel import Session, select

from app.audit.models import AuditEvent
from app.coaching.models import CoachingCall, CoachingSession
from app.scorecards.models import CallScore
from app.web.session import CSRF_COOKIE, SESSION_COOKIE, make_csrf
from qa.types import StoredScore
from tests.app.world import World

CARD = "4111 1111 1111 1111"


def _coach(client, person, **body):  # type: ignore[no-untyped-def]
    return client.post("/api/v1/coaching", headers=person.headers, json=body)


def _agent_id(world: World, key: str) -> int:
    return world.calls[key].agent_id


def _stored(session: Session, call_id: int) -> StoredScore:
    score = session.exec(
        select(CallScore).where(CallScore.call_id == call_id).order_by(CallScore.id.desc())  # type: ignore[union-attr]
    ).first()
    assert score is not None
    return score.result()


def _judged_on_both(session: Session, world: World) -> list[str]:
    """Criteria that applied on both of A1's calls, those whose verdicts differ first."""
    good = _stored(session, world.calls["a1_good"].id or 0)
    promise = _stored(session, world.calls["a1_promise"].id or 0)
    both = [
        c.id
        for c in good.applicable
        if (other := promise.criterion(c.id)) is not None and other.applicable
    ]
    return sorted(both, key=lambda cid: good.criterion(cid).passed == promise.criterion(cid).passed)  # type: ignore[union-attr]


def test_a_supervisor_coaches_an_agent_of_their_team(client, world, session):
    a1 = _agent_id(world, "a1_good")
    call = world.calls["a1_good"].id
    r = _coach(
        client,
        world.sup_a,
        agent_id=a1,
        focus=["greeting", "recap"],
        calls=[call],
        note=f"Read back the card {CARD}? Never. Greet by name.",
        follow_up="2030-01-15",
    )
    assert r.status_code == 201, r.text
    made = r.json()
    assert made["agent"] == "A1" and made["agent_name"] == "Ann One"
    assert made["coach"] == world.sup_a.email
    assert made["status"] == "open" and made["overdue"] is False
    # The criteria by their labels, as the scorecard names them.
    assert [f["id"] for f in made["focus"]] == ["greeting", "recap"]
    assert all(f["label"] and f["label"] != f["id"] for f in made["focus"])
    assert [(c["id"], c["link"]) for c in made["calls"]] == [(call, f"/calls/{call}")]
    assert CARD not in made["note"] and "[REDACTED]" in made["note"]
    stored = session.get(CoachingSession, made["id"])
    assert stored is not None and CARD not in (stored.note or "")
    event = session.exec(select(AuditEvent).where(AuditEvent.action == "coaching_create")).one()
    assert event.actor_name == world.sup_a.email and event.target_id == str(a1)
    for person in (world.sup_a, world.admin, world.a1):
        got = client.get(f"/api/v1/coaching/{made['id']}", headers=person.headers)
        assert got.status_code == 200 and got.json()["id"] == made["id"]
    for person in (world.sup_b, world.a2, world.b1):
        got = client.get(f"/api/v1/coaching/{made['id']}", headers=person.headers)
        assert got.status_code == 404


def test_no_one_coaches_outside_their_teams(client, world, session):
    a1 = _agent_id(world, "a1_good")
    r = _coach(client, world.sup_b, agent_id=a1, focus=["greeting"])
    assert r.status_code == 404 and "agent" in r.json()["detail"]
    assert _coach(client, world.a1, agent_id=a1).status_code == 403  # agents do not coach
    assert _coach(client, world.sup_a, agent_id=999999).status_code == 404
    assert session.exec(select(CoachingSession)).all() == []
    denied = session.exec(
        select(AuditEvent).where(
            AuditEvent.action == "coaching_create", AuditEvent.outcome == "denied"
        )
    ).all()
    assert [e.actor_name for e in denied] == [world.sup_b.email, world.sup_a.email]
    # An admin coaches anyone.
    b1 = _agent_id(world, "b1_good")
    assert _coach(client, world.admin, agent_id=b1).status_code == 201


def test_an_unknown_criterion_or_another_agent_s_call_is_refused_and_nothing_kept(
    client, world, session
):
    a1 = _agent_id(world, "a1_good")
    r = _coach(client, world.sup_a, agent_id=a1, focus=["greeting", "telepathy"])
    assert r.status_code == 422 and "telepathy" in r.json()["detail"]
    assert "greeting" not in r.json()["detail"]
    # A call of A2 (the same team) and one of B1 (another team) get one and the same answer,
    # which says nothing of whose they are.
    for other in ("a2_cold", "b1_good"):
        call = world.calls[other].id
        r = _coach(client, world.sup_a, agent_id=a1, calls=[world.calls["a1_good"].id, call])
        assert r.status_code == 422 and r.json()["detail"].endswith(f": {call}")
    r = _coach(client, world.sup_a, agent_id=a1, calls=[999999])
    assert r.status_code == 422
    assert session.exec(select(CoachingSession)).all() == []
    assert session.exec(select(CoachingCall)).all() == []
    # The same checks on a change; the session stays as it was.
    made = _coach(client, world.sup_a, agent_id=a1, focus=["recap"]).json()
    path = f"/api/v1/coaching/{made['id']}"
    r = client.patch(path, headers=world.sup_a.headers, json={"focus": ["nope"]})
    assert r.status_code == 422
    r = client.patch(path, headers=world.sup_a.headers, json={"calls": [world.calls["a2_cold"].id]})
    assert r.status_code == 422
    kept = client.get(path, headers=world.sup_a.headers).json()
    assert [f["id"] for f in kept["focus"]] == ["recap"] and kept["calls"] == []


def test_an_agent_sees_only_their_own_sessions(client, world):
    a1, a2 = _agent_id(world, "a1_good"), _agent_id(world, "a2_cold")
    b1 = _agent_id(world, "b1_good")
    mine = _coach(client, world.sup_a, agent_id=a1).json()["id"]
    theirs = _coach(client, world.sup_a, agent_id=a2).json()["id"]
    other_team = _coach(client, world.sup_b, agent_id=b1).json()["id"]

    def ids(person, **params):  # type: ignore[no-untyped-def]
        r = client.get("/api/v1/coaching", headers=person.headers, params=params)
        assert r.status_code == 200, r.text
        return [s["id"] for s in r.json()]

    assert ids(world.a1) == [mine]
    assert ids(world.a2) == [theirs]
    assert ids(world.a1, agent=a2) == []  # asking for another agent's finds nothing
    assert ids(world.sup_a) == [theirs, mine]  # newest first
    assert ids(world.sup_a, agent=a1) == [mine]
    assert ids(world.sup_b) == [other_team]
    assert set(ids(world.admin)) == {mine, theirs, other_team}
    assert client.get(f"/api/v1/coaching/{theirs}", headers=world.a1.headers).status_code == 404


def test_only_the_agent_coached_acknowledges_and_the_coach_closes_it(client, world, session):
    a1 = _agent_id(world, "a1_good")
    made = _coach(client, world.sup_a, agent_id=a1, focus=["greeting"]).json()
    ack = f"/api/v1/coaching/{made['id']}/acknowledge"
    for person in (world.a2, world.sup_a, world.admin, world.b1):
        assert client.post(ack, headers=person.headers).status_code == 404
    r = client.post(ack, headers=world.a1.headers, json={"comment": f"ok, my card is {CARD}"})
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["status"] == "acknowledged" and body["acknowledged_at"]
    assert body["agent_comment"] == "ok, my card is [REDACTED]"
    assert client.post(ack, headers=world.a1.headers).status_code == 409
    events = session.exec(
        select(AuditEvent.actor_name, AuditEvent.outcome).where(
            AuditEvent.action == "coaching_acknowledge"
        )
    ).all()
    assert (world.a1.email, "ok") in events and (world.a2.email, "denied") in events
    path = f"/api/v1/coaching/{made['id']}"
    # The agent cannot change it; the coach closes it and may open it again.
    assert client.patch(path, headers=world.a1.headers, json={"done": True}).status_code == 403
    assert client.patch(path, headers=world.sup_b.headers, json={"done": True}).status_code == 404
    done = client.patch(path, headers=world.sup_a.headers, json={"done": True}).json()
    assert done["status"] == "done" and done["done_at"]
    again = client.patch(path, headers=world.sup_a.headers, json={"done": False}).json()
    assert again["status"] == "acknowledged" and again["done_at"] is None
    # Only what is sent changes.
    changed = client.patch(
        path,
        headers=world.sup_a.headers,
        json={"note": "greet first", "calls": [world.calls["a1_promise"].id]},
    ).json()
    assert changed["note"] == "greet first" and [f["id"] for f in changed["focus"]] == ["greeting"]
    assert [c["id"] for c in changed["calls"]] == [world.calls["a1_promise"].id]


def test_a_follow_up_that_has_passed_is_overdue_until_done(client, world):
    a1 = _agent_id(world, "a1_good")
    today = datetime.now(UTC).date()  # the test settings' zone is UTC
    late = _coach(client, world.sup_a, agent_id=a1, follow_up=str(today - timedelta(days=1)))
    soon = _coach(client, world.sup_a, agent_id=a1, follow_up=str(today + timedelta(days=3)))
    today_s = _coach(client, world.sup_a, agent_id=a1, follow_up=str(today))
    none = _coach(client, world.sup_a, agent_id=a1)
    closed = _coach(client, world.sup_a, agent_id=a1, follow_up=str(today - timedelta(days=9)))
    late, soon, today_s, none, closed = (
        r.json()["id"] for r in (late, soon, today_s, none, closed)
    )
    client.patch(f"/api/v1/coaching/{closed}", headers=world.sup_a.headers, json={"done": True})

    def listed(**params):  # type: ignore[no-untyped-def]
        r = client.get("/api/v1/coaching", headers=world.sup_a.headers, params=params)
        return {s["id"]: s["overdue"] for s in r.json()}

    everything = listed()
    assert everything == {late: True, soon: False, today_s: False, none: False, closed: False}
    assert set(listed(overdue="true")) == {late}
    assert set(listed(overdue="false")) == {soon, today_s, none, closed}
    assert set(listed(due_by=str(today + timedelta(days=3)))) == {late, soon, today_s}
    assert set(listed(due_by=str(today))) == {late, today_s}
    assert set(listed(status="done")) == {closed}
    assert client.get("/api/v1/coaching?status=late", headers=world.a1.headers).status_code == 422


def test_the_focus_criteria_before_and_since_come_from_the_stored_scores(client, world, session):
    """A session held between A1's two calls: the first is before it, the second since; a
    reviewer's verdict on the second replaces the machine's."""
    good, promise = world.calls["a1_good"], world.calls["a1_promise"]
    focus = _judged_on_both(session, world)[:2]
    assert len(focus) == 2
    made = _coach(client, world.sup_a, agent_id=good.agent_id, focus=focus).json()
    row = session.get(CoachingSession, made["id"])
    assert row is not None
    row.created_at = good.started_at + timedelta(hours=6)  # held on the day of the first call
    session.add(row)
    session.commit()
    flipped = focus[1]
    machine = _stored(session, promise.id or 0).criterion(flipped)
    assert machine is not None
    r = client.post(
        f"/api/v1/calls/{promise.id}/reviews",
        headers=world.sup_a.headers,
        json={
            "overrides": [
                {
                    "target": "criterion",
                    "key": flipped,
                    "value": not machine.passed,
                    "reason": "listened again",
                }
            ]
        },
    )
    assert r.status_code == 201, r.text

    detail = client.get(f"/api/v1/coaching/{made['id']}", headers=world.a1.headers).json()
    got = {p["criterion"]: p for p in detail["progress"]}
    assert list(got) == focus
    before_score = _stored(session, good.id or 0)
    after_score = _stored(session, promise.id or 0)
    for cid in focus:
        before = before_score.criterion(cid).passed  # type: ignore[union-attr]
        after = after_score.criterion(cid).passed  # type: ignore[union-attr]
        if cid == flipped:
            after = not after
        assert got[cid]["before"] == {"judged": 1, "passed": int(before), "rate": float(before)}
        assert got[cid]["after"] == {"judged": 1, "passed": int(after), "rate": float(after)}
        assert got[cid]["label"] == before_score.criterion(cid).label  # type: ignore[union-attr]


def test_deleting_a_call_removes_its_link_and_keeps_the_session(client, world, session):
    a1 = _agent_id(world, "a1_good")
    good, promise = world.calls["a1_good"].id, world.calls["a1_promise"].id
    made = _coach(client, world.sup_a, agent_id=a1, calls=[good, promise], note="keep").json()
    report = client.delete(f"/api/v1/calls/{good}", headers=world.admin.headers)
    assert report.status_code == 200, report.text
    assert report.json()["rows"]["coaching_call"] == 1
    kept = client.get(f"/api/v1/coaching/{made['id']}", headers=world.sup_a.headers).json()
    assert [c["id"] for c in kept["calls"]] == [promise] and kept["note"] == "keep"
    assert session.exec(select(CoachingCall).where(CoachingCall.call_id == good)).all() == []


def _browser(client, person) -> str:  # type: ignore[no-untyped-def]
    client.cookies.clear()
    client.cookies.set(SESSION_COOKIE, person.token)
    csrf = make_csrf(client.app.state.settings, person.token)
    client.cookies.set(CSRF_COOKIE, csrf)
    return csrf


def test_the_pages_coach_acknowledge_and_show_labels(client, world, session):
    call = world.calls["a1_promise"]
    csrf = _browser(client, world.sup_a)
    form = client.get(f"/coaching/new?call={call.id}")
    assert form.status_code == 200
    assert f'name="calls" value="{call.id}" checked' in form.text
    assert 'name="focus" value="greeting"' in form.text
    # Another team's call is not found, on the page as on the API.
    assert client.get(f"/coaching/new?call={world.calls['b1_good'].id}").status_code == 404
    refused = client.post(
        "/coaching",
        data={"csrf": csrf, "agent_id": call.agent_id, "focus": ["nope"], "note": "kept"},
    )
    assert refused.status_code == 422 and "nope" in refused.text
    assert ">kept</textarea>" in refused.text  # what was typed is shown again
    made = client.post(
        "/coaching",
        data={
            "csrf": csrf,
            "agent_id": call.agent_id,
            "focus": ["greeting"],
            "calls": [str(call.id)],
            "follow_up": str(date(2020, 1, 1)),
            "note": "Greet first.",
        },
        follow_redirects=False,
    )
    assert made.status_code == 303, made.text
    path = made.headers["location"]
    page = client.get(path)
    label = _stored(session, call.id or 0).criterion("greeting").label  # type: ignore[union-attr]
    assert label in page.text and f'href="/calls/{call.id}"' in page.text
    assert "overdue" in page.text and "acknowledge-form" not in page.text
    listing = client.get("/coaching?due=overdue")
    assert path in listing.text and 'class="overdue"' in listing.text

    csrf = _browser(client, world.a1)
    mine = client.get("/coaching")
    assert "My coaching" in mine.text and path in mine.text
    assert "acknowledge-form" in client.get(path).text
    assert client.get("/coaching/new").status_code == 403
    done = client.post(
        f"{path}/acknowledge", data={"csrf": csrf, "comment": "will do"}, follow_redirects=False
    )
    assert done.status_code == 303
    after = client.get(path).text
    assert "will do" in after and "acknowledge-form" not in after

    _browser(client, world.a2)
    assert client.get(path).status_code == 404
    assert path not in client.get("/coaching").text

    # The coach changes it on the page, then closes it.
    csrf = _browser(client, world.sup_a)
    bad = client.post(path, data={"csrf": csrf, "focus": ["nope"], "note": "x"})
    assert bad.status_code == 422 and "nope" in bad.text
    changed = client.post(
        path,
        data={"csrf": csrf, "focus": ["recap"], "note": "Recap at the end.", "follow_up": ""},
        follow_redirects=False,
    )
    assert changed.status_code == 303
    closed = client.post(f"{path}/done", data={"csrf": csrf, "done": "1"}, follow_redirects=False)
    assert closed.status_code == 303
    client.cookies.clear()
    api = client.get(f"/api/v1{path}", headers=world.sup_a.headers).json()
    assert [f["id"] for f in api["focus"]] == ["recap"] and api["calls"] == []
    assert api["note"] == "Recap at the end." and api["follow_up"] is None
    assert api["status"] == "done" and api["agent_comment"] == "will do"
