"""Legal holds, deleting a call and erasing a customer: every trace goes, unless held."""

from __future__ import annotations

from sqlalchemy import func
from sqlmodel import select

from app.alerts.models import Alert
from app.audit.models import AuditEvent
from app.calls.models import Call, Transcript, TranscriptSegment
from app.jobs.models import Job
from app.reviews.models import Dispute, Review
from app.scorecards.models import CallScore

TRACES = (Transcript, CallScore, Review, Dispute, Alert, Job)


def _traces(session, call_id: int) -> dict[str, int]:
    session.expire_all()
    out = {
        model.__name__: session.exec(
            select(func.count()).select_from(model).where(model.call_id == call_id)
        ).one()
        for model in TRACES
    }
    out["segments"] = session.exec(
        select(func.count())
        .select_from(TranscriptSegment)
        .join(Transcript, TranscriptSegment.transcript_id == Transcript.id)
        .where(Transcript.call_id == call_id)
    ).one()
    out["Call"] = 1 if session.get(Call, call_id) else 0
    return out


def test_a_held_call_cannot_be_deleted_until_the_hold_is_released(client, world, session, settings):
    call = world.calls["a1_promise"]
    recording = settings.audio_dir / call.audio_path
    admin = world.admin.headers
    # Things hang off the call: a review, a dispute, its alert(s).
    client.post(
        f"/api/v1/calls/{call.id}/reviews", headers=world.sup_a.headers, json={"overrides": []}
    )
    client.post(
        f"/api/v1/calls/{call.id}/disputes", headers=world.a1.headers, json={"reason": "listen"}
    )
    assert _traces(session, call.id)["Review"] >= 1 and recording.is_file()
    hold = client.post(
        "/api/v1/holds",
        headers=admin,
        json={"kind": "agent", "value": "A1", "reason": "complaint 77 to the regulator"},
    )
    assert hold.status_code == 201
    refused = client.delete(f"/api/v1/calls/{call.id}", headers=admin)
    assert refused.status_code == 409 and "complaint 77" in refused.json()["detail"]
    assert recording.is_file() and _traces(session, call.id)["Call"] == 1
    assert [h["id"] for h in client.get("/api/v1/holds", headers=admin).json()] == [
        hold.json()["id"]
    ]
    released = client.post(f"/api/v1/holds/{hold.json()['id']}/release", headers=admin)
    assert released.status_code == 200 and released.json()["released_by"] == world.admin.email
    assert client.get("/api/v1/holds", headers=admin).json() == []
    report = client.delete(f"/api/v1/calls/{call.id}", headers=admin)
    assert report.status_code == 200, report.text
    body = report.json()
    assert body["calls"] == [call.id] and body["recordings"] == 1
    assert body["rows"]["review"] >= 1 and body["rows"]["dispute"] == 1
    assert body["rows"]["transcript_segment"] > 0 and body["rows"]["call_score"] >= 1
    assert all(n == 0 for n in _traces(session, call.id).values())
    assert not recording.exists()
    assert client.get(f"/api/v1/calls/{call.id}", headers=admin).status_code == 404
    actions = [
        e.action
        for e in session.exec(
            select(AuditEvent)
            .where(AuditEvent.action.in_(("hold_set", "hold_release", "call_delete")))
            .order_by(AuditEvent.id)
        )
    ]
    assert actions == ["hold_set", "hold_release", "call_delete"], actions


def test_erasure_removes_every_call_of_a_customer_except_held_ones(
    client, world, session, settings
):
    admin = world.admin.headers
    good, promise = world.calls["a1_good"], world.calls["a1_promise"]  # both customer C-1
    other = world.calls["b1_good"]
    client.post(
        "/api/v1/holds",
        headers=admin,
        json={"kind": "call", "value": str(promise.id), "reason": "chargeback dispute"},
    )
    dry = client.post(
        "/api/v1/erasure", headers=admin, json={"customer_ref": "C-1", "dry_run": True}
    )
    assert dry.json() == {
        "calls": [good.id],
        "held": [promise.id],
        "rows": {},
        "recordings": 1,
        "dry_run": True,
    }
    assert _traces(session, good.id)["Call"] == 1  # a dry run changes nothing
    done = client.post("/api/v1/erasure", headers=admin, json={"customer_ref": "C-1"})
    assert done.status_code == 200 and done.json()["calls"] == [good.id]
    assert done.json()["held"] == [promise.id]
    assert all(n == 0 for n in _traces(session, good.id).values())
    assert not (settings.audio_dir / good.audio_path).exists()
    assert (
        _traces(session, promise.id)["Call"] == 1
        and _traces(session, promise.id)["Transcript"] == 1
    )
    assert _traces(session, other.id)["Call"] == 1
    assert session.exec(select(Call).where(Call.customer_ref == "C-1")).all() == [
        session.get(Call, promise.id)
    ]
    [event] = session.exec(select(AuditEvent).where(AuditEvent.action == "erasure")).all()
    assert (
        f"calls [{good.id}]" in event.detail and f"kept under hold: [{promise.id}]" in event.detail
    )
    # Nothing to erase is an empty report, not an error; a blank name is a 422/400.
    assert (
        client.post("/api/v1/erasure", headers=admin, json={"customer_ref": "nobody"}).json()[
            "calls"
        ]
        == []
    )
    assert (
        client.post("/api/v1/erasure", headers=admin, json={"customer_ref": "  "}).status_code
        == 400
    )


def test_only_admins_hold_delete_or_erase(client, world):
    call = world.calls["b1_good"].id
    for person in (world.sup_a, world.a1):
        assert client.delete(f"/api/v1/calls/{call}", headers=person.headers).status_code == 403
        assert (
            client.post(
                "/api/v1/erasure", headers=person.headers, json={"customer_ref": "C-1"}
            ).status_code
            == 403
        )
        assert client.get("/api/v1/holds", headers=person.headers).status_code == 403
    bad = client.post(
        "/api/v1/holds",
        headers=world.admin.headers,
        json={"kind": "call", "value": "x", "reason": "r"},
    )
    assert bad.status_code == 400 and "call's id" in bad.json()["detail"]
    assert client.delete("/api/v1/calls/999999", headers=world.admin.headers).status_code == 404
