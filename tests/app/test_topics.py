"""Topics (issue 15, item 3): a saved search tags every call it matches, old ones when it is
made and new ones when they are scored; shown on the call, filterable in the list, counted per
topic and trended per week on the dashboard; changed, removed, and erased with the call."""

from __future__ import annotations

from datetime import date

from sqlmodel import Session, select

from app.calls.models import Call, CallStatus
from app.db import engine_for
from app.topics import service
from app.topics.models import CallTopic, Topic
from app.web.session import CSRF_COOKIE, SESSION_COOKIE, make_csrf
from app.worker import CallqaQueue
from tests.app.test_jobs import add_call, live  # noqa: F401  (fixture: a committed database)
from tests.app.world import ADMIN


def _topic(client, person, **body):  # type: ignore[no-untyped-def]
    return client.post("/api/v1/topics", headers=person.headers, json=body)


def test_a_topic_tags_the_calls_already_stored_and_shows_everywhere(client, world):
    good, cold, other = (world.calls[k].id for k in ("a1_good", "a2_cold", "b1_good"))
    r = _topic(client, world.sup_a, name="Refund", query="refund*")
    assert r.status_code == 201, r.text
    topic = r.json()
    assert topic["tagged"] == 3  # every call, team B's too: a topic is the organisation's
    listed = client.get("/api/v1/topics", headers=world.sup_a.headers).json()
    assert [(t["name"], t["calls"]) for t in listed] == [("Refund", 2)]  # what sup_a may see
    assert client.get("/api/v1/topics", headers=world.sup_b.headers).json()[0]["calls"] == 1
    detail = client.get(f"/api/v1/calls/{cold}", headers=world.sup_a.headers).json()
    assert detail["topics"] == [
        {"topic_id": topic["id"], "name": "Refund", "segment": 4, "start": 22.097}
    ]
    promise = world.calls["a1_promise"].id
    assert (
        client.get(f"/api/v1/calls/{promise}", headers=world.sup_a.headers).json()["topics"] == []
    )
    page = client.get(
        "/api/v1/calls", params={"topic": topic["id"]}, headers=world.sup_a.headers
    ).json()
    assert {c["id"] for c in page["items"]} == {good, cold}
    admin_page = client.get(
        "/api/v1/calls", params={"topic": topic["id"]}, headers=world.admin.headers
    ).json()
    assert {c["id"] for c in admin_page["items"]} == {good, cold, other}


def test_only_what_one_side_said_and_a_change_tags_again(client, world, session):
    upset = _topic(client, world.sup_a, name="Upset", query="upset", speaker="agent").json()
    assert upset["tagged"] == 0  # the customers say it, not the agents
    r = client.patch(
        f"/api/v1/topics/{upset['id']}",
        headers=world.sup_a.headers,
        json={"name": "Upset customer", "query": "really upset", "speaker": "customer"},
    )
    assert r.status_code == 200 and r.json()["tagged"] == 4
    r = client.delete(f"/api/v1/topics/{upset['id']}", headers=world.sup_a.headers)
    assert r.status_code == 204
    assert session.exec(select(CallTopic)).all() == [] and session.exec(select(Topic)).all() == []
    assert len(session.exec(select(Call)).all()) >= 4  # the calls stay


def test_bad_topics_and_who_may_make_them(client, world):
    r = _topic(client, world.sup_a, name="Nothing", query="?!")
    assert r.status_code == 400 and "give a word to look for" in r.json()["detail"]
    assert _topic(client, world.sup_a, name="Refund", query="refund").status_code == 201
    again = _topic(client, world.sup_b, name="Refund", query="money back")
    assert again.status_code == 409 and "exists already" in again.json()["detail"]
    assert _topic(client, world.a1, name="Mine", query="refund").status_code == 403
    r = _topic(client, world.sup_a, name="X", query="x", speaker="robot")
    assert r.status_code == 422
    assert client.delete("/api/v1/topics/999999", headers=world.sup_a.headers).status_code == 404


def test_the_weekly_share_of_calls_per_topic(client, world, session, settings):
    _topic(client, world.sup_a, name="Refund", query="refund")
    _topic(client, world.sup_a, name="Guarantee", query="guaranteed")
    from app.auth import principal_for

    sup_a = principal_for(session, world.sup_a.user)
    trend = service.trend(
        session, principal=sup_a, zone=settings.zone, weeks=2, today=date(2026, 11, 10)
    )
    assert trend.weeks == [date(2026, 11, 2), date(2026, 11, 9)]
    assert trend.calls == [3, 0]  # team A's three calls, all in the week of 2 November
    assert trend.share["Refund"] == [2 / 3, None]
    assert trend.share["Guarantee"] == [1 / 3, None]
    r = client.get("/api/v1/topics/trend", params={"weeks": 4}, headers=world.sup_a.headers)
    assert r.status_code == 200 and len(r.json()["weeks"]) == 4
    assert set(r.json()["share"]) == {"Refund", "Guarantee"}
    other = client.get(
        "/api/v1/topics/trend",
        params={"team": 999999},
        headers=world.sup_a.headers,
    )
    assert other.status_code == 404


def test_the_pages_make_show_and_trend_topics(client, world):
    client.cookies.set(SESSION_COOKIE, world.sup_a.token)
    csrf = make_csrf(client.app.state.settings, world.sup_a.token)
    client.cookies.set(CSRF_COOKIE, csrf)
    made = client.post(
        "/topics",
        data={"csrf": csrf, "name": "Refund", "query": "refund", "speaker": ""},
        follow_redirects=False,
    )
    assert made.status_code == 303 and made.headers["location"].endswith(":3")
    page = client.get(made.headers["location"])
    assert "The new topic tagged 3 calls so far." in page.text
    assert '<a href="/calls?topic=' in page.text
    assert client.get("/topics?tagged=abc").status_code == 200  # a hand-made address
    bad = client.post("/topics", data={"csrf": csrf, "name": "Refund", "query": "refund"})
    assert bad.status_code == 422 and "exists already" in bad.text
    cold = world.calls["a2_cold"].id
    call = client.get(f"/calls/{cold}")
    assert 'id="call-topics"' in call.text and 'data-seek="22.10"' in call.text
    listed = client.get("/calls")
    assert '<select name="topic">' in listed.text
    dashboard = client.get("/dashboard")
    assert 'id="topic-trend"' in dashboard.text and "<td>Refund</td>" in dashboard.text


def test_a_new_call_is_tagged_when_it_is_scored_and_erased_with_it(live, tmp_path):  # noqa: F811
    from app.privacy import service as privacy

    engine = engine_for(live.db_url)
    with Session(engine) as session:
        topic, tagged = service.create_topic(
            session, principal=ADMIN, spec=service.TopicSpec(name="Claims", query="claim")
        )
        session.commit()
        topic_id = topic.id
        assert tagged == 0
    call_id = add_call(live)  # basic.flac: "... my policy number ... a claim ..."
    queue = CallqaQueue(live)
    queue.runner.transcribe(call_id)
    queue.runner.score(call_id)
    with Session(engine) as session:
        assert session.get(Call, call_id).status is CallStatus.scored
        [tag] = session.exec(select(CallTopic).where(CallTopic.call_id == call_id)).all()
        assert tag.topic_id == topic_id and tag.start > 0
        # Erasing the call takes its tags too: a tag says what was said.
        privacy.delete_call(session, live, call=session.get(Call, call_id))
        session.commit()
        assert session.exec(select(CallTopic)).all() == []
