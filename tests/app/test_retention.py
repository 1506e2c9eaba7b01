"""Retention policies and their sweep: due recordings and data go, held calls stay, counts stay."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlmodel import select

from app.audit.models import AuditEvent
from app.calls.models import Call, Transcript
from app.db import finish
from app.privacy import retention
from app.privacy.models import RetentionPolicy
from app.scorecards.models import CallScore
from app.web.session import SESSION_COOKIE
from app.worker import CallqaQueue

NOW = datetime(2026, 12, 1, tzinfo=UTC)  # the world's calls are from early November 2026


def _policy(client, world, **body):
    r = client.put("/api/v1/retention-policies", headers=world.admin.headers, json=body)
    assert r.status_code == 200, r.text
    return r.json()


def test_the_most_specific_policy_decides():
    everyone = RetentionPolicy(id=1, audio_days=90, created_by="t")
    sales = RetentionPolicy(id=2, call_type="sales", audio_days=30, created_by="t")
    team = RetentionPolicy(id=3, team_id=7, audio_days=10, created_by="t")
    team_sales = RetentionPolicy(id=4, team_id=7, call_type="sales", audio_days=5, created_by="t")
    policies = [everyone, sales, team, team_sales]
    assert retention.policy_for(policies, team_id=7, call_type="sales") is team_sales
    assert retention.policy_for(policies, team_id=7, call_type="service") is team
    assert retention.policy_for(policies, team_id=8, call_type="sales") is sales
    assert retention.policy_for(policies, team_id=None, call_type="service") is everyone
    assert retention.policy_for([sales], team_id=None, call_type="service") is None


def test_a_zero_day_policy_removes_audio_at_the_next_sweep_but_a_held_call_stays(
    client, world, session, settings
):
    admin = world.admin.headers
    _policy(client, world, audio_days=0)
    held = world.calls["a1_promise"]
    client.post(
        "/api/v1/holds", headers=admin, json={"kind": "call", "value": str(held.id), "reason": "x"}
    )
    files = {name: settings.audio_dir / c.audio_path for name, c in world.calls.items()}
    dry = client.post("/api/v1/retention/sweep", headers=admin).json()
    assert dry["dry_run"] and held.id in dry["held"] and held.id not in dry["audio"]
    assert all(f.is_file() for f in files.values())  # a dry run removes nothing
    report = retention.sweep(session, settings, now=NOW)
    finish(session, None)  # the unit of work ends: committed, then the files go
    assert sorted(report.audio) == sorted(c.id for n, c in world.calls.items() if n != "a1_promise")
    assert report.held == [held.id] and report.data == []
    session.expire_all()
    for name, call in world.calls.items():
        row = session.get(Call, call.id)
        if name == "a1_promise":
            assert row.audio_path and files[name].is_file()
        else:
            assert row.audio_path is None and row.audio_deleted_at and not files[name].exists()
            # Only the recording went: words and scores are kept (data_days is empty).
            assert session.exec(select(Transcript).where(Transcript.call_id == call.id)).first()
    [event] = session.exec(select(AuditEvent).where(AuditEvent.action == "retention")).all()
    assert event.actor_kind == "system" and str(world.calls["a1_good"].id) in event.detail
    page = client.get(f"/api/v1/calls/{world.calls['a1_good'].id}", headers=admin).json()
    assert page["has_recording"] is False and page["audio_deleted_at"]
    client.cookies.set(SESSION_COOKIE, world.admin.token)
    html = client.get(f"/calls/{world.calls['a1_good'].id}").text
    client.cookies.clear()
    assert "recording deleted by the retention policy on" in html and 'id="player"' not in html
    # The next sweep finds nothing more to do.
    assert retention.sweep(session, settings, now=NOW).audio == []


def test_data_retention_leaves_a_tombstone_that_reports_still_count(
    client, world, session, settings
):
    # The calls are from 2-3 November; on 1 December a 40-day policy is not due yet.
    _policy(client, world, call_type="service", data_days=40)
    assert retention.sweep(session, settings, now=NOW, dry_run=True).data == []
    _policy(client, world, call_type="service", data_days=20)
    _policy(client, world, team="Team B", call_type="service", data_days=None)  # B keeps all
    before = client.get("/api/v1/calls", headers=world.admin.headers).json()["total"]
    report = retention.sweep(session, settings, now=NOW)
    finish(session, None)
    a1 = world.calls["a1_good"]
    assert a1.id in report.data and world.calls["b1_good"].id not in report.data
    session.expire_all()
    row = session.get(Call, a1.id)
    assert row.data_deleted_at and row.customer_ref is None and row.audio_path is None
    assert session.exec(select(Transcript).where(Transcript.call_id == a1.id)).first() is None
    assert session.exec(select(CallScore).where(CallScore.call_id == a1.id)).first() is None
    b1 = world.calls["b1_good"].id
    assert session.exec(select(Transcript).where(Transcript.call_id == b1)).first()
    # The call is still counted, with its agent, time, type and length.
    assert client.get("/api/v1/calls", headers=world.admin.headers).json()["total"] == before
    assert row.duration_seconds > 0 and row.started_at


def test_policies_are_for_admins_and_bad_ones_are_refused(client, world):
    url = "/api/v1/retention-policies"
    assert client.get(url, headers=world.sup_a.headers).status_code == 403
    assert client.put(url, headers=world.sup_a.headers, json={}).status_code == 403
    bad = client.put(url, headers=world.admin.headers, json={"audio_days": -1})
    assert bad.status_code == 422
    unknown = client.put(url, headers=world.admin.headers, json={"call_type": "fax"})
    assert unknown.status_code == 400 and "unknown call type" in unknown.json()["detail"]
    assert client.put(url, headers=world.admin.headers, json={"team": "Nope"}).status_code == 404
    first = _policy(client, world, audio_days=30)
    again = _policy(client, world, audio_days=60)  # the same scope: replaced, not added
    assert first["id"] == again["id"] and again["audio_days"] == 60
    assert client.delete(f"{url}/{first['id']}", headers=world.admin.headers).status_code == 204
    assert client.get(url, headers=world.admin.headers).json() == []


def test_every_worker_runs_the_sweep(settings):
    queue = CallqaQueue(settings)
    assert "retention sweep" in [p.name for p in queue.periodic]
    assert timedelta(seconds=settings.retention_sweep_seconds) == timedelta(days=1)
