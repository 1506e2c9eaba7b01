"""The audit log records plays, downloads, exports, transcript views, overrides and dispute
decisions, refusals included, and the database refuses to change or delete an entry."""

import pytest
import sqlalchemy as sa
from sqlmodel import Session, select

from app.audit.models import AuditEvent


def _events(session, after: int = 0):
    session.expire_all()
    return [
        (e.actor_name, e.action, e.target_id, e.outcome)
        for e in session.exec(
            select(AuditEvent).where(AuditEvent.id > after).order_by(AuditEvent.id)
        )
    ]


def _last_id(session) -> int:
    """The audit log is append-only and CLI tests commit to it: start from what is there."""
    return session.exec(select(sa.func.max(AuditEvent.id))).one() or 0


def test_actions_and_refusals_are_recorded(client, world, session):
    call = world.calls["a1_promise"].id
    a1, b = world.a1, world.sup_b
    start = _last_id(session)
    client.get(f"/api/v1/calls/{call}", headers=a1.headers)
    client.get(f"/api/v1/calls/{call}", headers=b.headers)  # outside scope: denied
    client.get(f"/api/v1/calls/{call}/audio", headers=world.sup_a.headers)
    client.get(
        f"/api/v1/calls/{call}/audio",
        params={"download": True, "reason": "complaint 4411"},
        headers=world.sup_a.headers,
    )
    # A player's follow-up range request is the same play: not logged again.
    client.get(
        f"/api/v1/calls/{call}/audio", headers={**world.sup_a.headers, "Range": "bytes=1000-"}
    )
    client.get("/api/v1/calls", headers={**world.sup_a.headers, "Accept": "text/csv"})
    client.post(
        f"/api/v1/calls/{call}/reviews", headers=world.sup_a.headers, json={"overrides": []}
    )
    dispute = client.post(
        f"/api/v1/calls/{call}/disputes", headers=a1.headers, json={"reason": "listen again"}
    ).json()["id"]
    client.post(
        f"/api/v1/disputes/{dispute}/decision",
        headers=b.headers,
        json={"accept": False, "reason": "not mine to decide"},
    )
    client.post(
        f"/api/v1/disputes/{dispute}/decision",
        headers=world.sup_a.headers,
        json={"accept": False, "reason": "score stands"},
    )
    assert _events(session, after=start) == [
        (a1.email, "transcript_view", str(call), "ok"),
        (b.email, "transcript_view", str(call), "denied"),
        (world.sup_a.email, "play", str(call), "ok"),
        (world.sup_a.email, "download", str(call), "ok"),
        (world.sup_a.email, "export", "list", "ok"),
        (world.sup_a.email, "override", str(call), "ok"),
        (b.email, "dispute_decision", str(dispute), "denied"),
        (world.sup_a.email, "dispute_decision", str(dispute), "ok"),
    ]
    # Only admins read it.
    assert client.get("/api/v1/audit", headers=world.sup_a.headers).status_code == 403
    page = client.get(
        "/api/v1/audit", params={"outcome": "denied"}, headers=world.admin.headers
    ).json()
    assert page["total"] == 2 and {e["actor_name"] for e in page["items"]} == {b.email}


def test_agents_play_their_calls_but_only_some_roles_download_and_say_why(client, world, session):
    call = world.calls["a1_promise"].id
    url = f"/api/v1/calls/{call}/audio"
    assert client.get(url, headers=world.a1.headers).status_code == 200  # playing works
    refused = client.get(url, params={"download": True, "reason": "mine"}, headers=world.a1.headers)
    assert refused.status_code == 403 and "not download" in refused.json()["detail"]
    unexplained = client.get(url, params={"download": True}, headers=world.sup_a.headers)
    assert unexplained.status_code == 400 and "reason" in unexplained.json()["detail"]
    saved = client.get(
        url, params={"download": True, "reason": "QA calibration"}, headers=world.sup_a.headers
    )
    assert saved.status_code == 200
    assert saved.headers["content-disposition"].startswith("attachment")
    session.expire_all()
    downloads = [
        (e.actor_name, e.outcome, e.detail)
        for e in session.exec(select(AuditEvent).where(AuditEvent.action == "download"))
    ]
    assert downloads == [
        (world.a1.email, "denied", "your role (agent) may play recordings but not download them"),
        (world.sup_a.email, "ok", "QA calibration"),
    ]


def test_the_table_is_append_only(db_engine):
    with Session(db_engine) as session:
        session.add(
            AuditEvent(
                actor_kind="user",
                actor_name="x",
                action="play",
                target_type="call",
                target_id="1",
                outcome="ok",
            )
        )
        session.commit()
    for statement in ("UPDATE audit_event SET outcome = 'denied'", "DELETE FROM audit_event"):
        with pytest.raises(sa.exc.DBAPIError, match="append-only"), db_engine.begin() as conn:
            conn.execute(sa.text(statement))


def test_an_unknown_role_in_the_download_setting_is_refused_at_start():
    from pydantic import ValidationError

    from app.config import Settings

    with pytest.raises(ValidationError, match="unknown role"):
        Settings(download_roles="admin,boss")
    assert Settings(download_roles="admin, agent").roles_that_download == {"admin", "agent"}


def test_polling_the_status_sends_no_transcript_and_audits_no_view(client, world, session):
    call = world.calls["a1_promise"]
    start = _last_id(session)
    r = client.get(f"/api/v1/calls/{call.id}/status", headers=world.a1.headers)
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["id"] == call.id and body["status"] == "scored" and body["agent"] == "A1"
    assert "transcript" not in body and "criteria" not in body["score"]
    full = client.get(f"/api/v1/calls/{call.id}", headers=world.a1.headers).json()
    assert body["score"] == {k: full["score"][k] for k in body["score"]}
    # Scoped like the call itself: outside it, 404 as if it did not exist.
    assert (
        client.get(f"/api/v1/calls/{call.id}/status", headers=world.sup_b.headers).status_code
        == 404
    )
    assert _events(session, after=start) == [
        (world.a1.email, "transcript_view", str(call.id), "ok")
    ]
