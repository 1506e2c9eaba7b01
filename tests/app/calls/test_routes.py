from __future__ import annotations

from pathlib import Path

import pytest
from sqlmodel import select

from app.calls.models import Call, CallStatus
from app.jobs.models import Job, JobState
from app.users.models import Role
from tests.conftest import DATA

FIELDS = {
    "agent": "laura",
    "started_at": "2026-11-20T10:00:00+01:00",
    "direction": "inbound",
    "call_type": "service",
}


def upload(client, headers, path: Path = DATA / "basic.flac", name: str = "call.flac", **fields):
    data = {**FIELDS, **fields}
    with path.open("rb") as fh:
        return client.post(
            "/api/v1/calls",
            headers=headers,
            data=data,
            files={"audio": (name, fh, "application/octet-stream")},
        )


def stored_files(settings) -> list[Path]:
    return [p for p in settings.audio_dir.rglob("*") if p.is_file()]


@pytest.fixture
def admin(users):
    return users.make(Role.admin)[1]


def test_upload_is_accepted_with_a_queued_job_and_stored_file(client, admin, session, settings):
    response = upload(
        client,
        admin,
        external_id="rec-1",
        customer_ref="C-9",
        deal_closed="true",
        deal_value="120.50",
    )
    assert response.status_code == 202, response.text
    body = response.json()
    assert body["status"] == "received" and body["created"] is True
    call = session.get(Call, body["id"])
    assert call.duration_seconds == pytest.approx(40.97, abs=0.1) and call.channels == 2
    assert call.started_at.hour == 9  # stored in UTC
    assert str(call.deal_value) == "120.50" and call.deal_closed is True
    job = session.exec(select(Job).where(Job.call_id == call.id)).one()
    assert job.stage == "transcribe" and job.state is JobState.queued
    files = stored_files(settings)
    assert len(files) == 1 and files[0].suffix == ".flac"
    assert files[0].read_bytes() == (DATA / "basic.flac").read_bytes()


def test_same_external_id_returns_the_existing_call(client, admin, session):
    first = upload(client, admin, external_id="rec-dup")
    second = upload(client, admin, external_id="rec-dup")
    assert second.status_code == 200
    assert second.json()["id"] == first.json()["id"] and second.json()["created"] is False
    assert len(session.exec(select(Call).where(Call.external_id == "rec-dup")).all()) == 1


def _wav_of(flac, target):  # type: ignore[no-untyped-def]
    """A 16-bit WAV of a test recording (a WAV's header states its length: cut, it lies)."""
    import wave

    import numpy as np

    from transcription.audio import decode_audio

    samples = decode_audio(flac).mono
    with wave.open(str(target), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(16000)
        out.writeframes((np.clip(samples, -1, 1) * 32767).astype("<i2").tobytes())
    return target


@pytest.mark.parametrize(
    ("content", "status", "message"),
    [
        (b"hello, not audio\n" * 50, 415, "not a recognised audio format"),
        (b"", 415, "not a recognised audio format"),
        ("truncated", 422, "truncated"),
    ],
)
def test_bad_audio_is_refused_and_leaves_nothing_behind(
    client, admin, session, settings, tmp_path, content, status, message
):
    path = tmp_path / "upload.wav"
    if content == "truncated":
        source = _wav_of(DATA / "basic.flac", tmp_path / "whole.wav").read_bytes()
        content = source[: len(source) // 2]
    path.write_bytes(content)
    response = upload(client, admin, path=path, name="../../etc/passwd.wav")
    assert response.status_code == status
    assert message in response.json()["detail"]
    assert session.exec(select(Call)).all() == []
    assert stored_files(settings) == []


def test_too_long_recording_is_refused(client, admin, session, settings):
    settings.max_call_minutes = 1
    response = upload(client, admin, path=DATA / "long_silence.flac")
    assert response.status_code == 422
    assert (
        "limit of 1 min" in response.json()["detail"]
        or "limit is 1 min" in response.json()["detail"]
    )
    assert session.exec(select(Call)).all() == []


def test_body_over_the_upload_limit_gets_413_before_it_is_stored(
    settings, session, users, tmp_path
):
    from fastapi.testclient import TestClient

    from app.db import get_session
    from app.main import create_app

    settings.max_upload_mb = 1
    app = create_app(settings)
    app.dependency_overrides[get_session] = lambda: session
    _, headers = users.make(Role.admin)
    big = tmp_path / "big.wav"
    big.write_bytes(b"RIFF" + b"\0" * (3 * 1024 * 1024))
    with TestClient(app) as client:
        response = upload(client, headers, path=big)
    assert response.status_code == 413
    assert "1 MB" in response.json()["detail"]
    assert stored_files(settings) == []


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("direction", "sideways"),
        ("started_at", "yesterday"),
        ("layout", "quad"),
        ("call_type", "chat"),
        ("deal_value", "-3"),
    ],
)
def test_invalid_fields_name_the_field(client, admin, field, value):
    response = upload(client, admin, **{field: value})
    assert response.status_code == 422
    assert field in str(response.json()["detail"])


def test_missing_audio_part_is_a_validation_error(client, admin):
    response = client.post("/api/v1/calls", headers=admin, data=FIELDS)
    assert response.status_code == 422 and "audio" in response.text


def test_agent_reads_own_call_and_gets_404_for_another(client, users, admin):
    own = upload(client, admin, agent="laura").json()["id"]
    other = upload(client, admin, agent="david").json()["id"]
    _, laura = users.make(Role.agent, agent="laura")
    assert client.get(f"/api/v1/calls/{own}", headers=laura).status_code == 200
    for path in (f"/api/v1/calls/{other}", f"/api/v1/calls/{other}/audio"):
        response = client.get(path, headers=laura)
        assert response.status_code == 404
        assert response.json()["detail"] == f"call {other} not found"
    listed = client.get("/api/v1/calls", headers=laura).json()
    assert [c["id"] for c in listed["items"]] == [own] and listed["total"] == 1


def test_agent_cannot_upload_patch_or_retry(client, users, admin):
    call_id = upload(client, admin).json()["id"]
    _, agent = users.make(Role.agent, agent="laura")
    assert upload(client, agent).status_code == 403
    assert (
        client.patch(
            f"/api/v1/calls/{call_id}", headers=agent, json={"deal_closed": True}
        ).status_code
        == 403
    )
    assert client.post(f"/api/v1/calls/{call_id}/retry", headers=agent).status_code == 403


def test_unknown_call_is_404(client, admin):
    assert client.get("/api/v1/calls/99999", headers=admin).status_code == 404


def test_list_filters_and_page_size_cap(client, admin, settings):
    upload(client, admin, agent="laura", direction="inbound", started_at="2026-11-01T09:00:00Z")
    upload(
        client,
        admin,
        agent="david",
        direction="outbound",
        call_type="sales",
        started_at="2026-11-10T09:00:00Z",
    )
    upload(client, admin, agent="laura", direction="outbound", started_at="2026-11-15T09:00:00Z")

    def ids(**params):
        body = client.get("/api/v1/calls", headers=admin, params=params).json()
        return [(c["agent"], c["direction"], c["started_at"][:10]) for c in body["items"]]

    assert ids(agent="laura") == [
        ("laura", "outbound", "2026-11-15"),
        ("laura", "inbound", "2026-11-01"),
    ]
    assert ids(direction="outbound", call_type="sales") == [("david", "outbound", "2026-11-10")]
    assert ids(**{"from": "2026-11-05T00:00:00Z", "to": "2026-11-12T00:00:00Z"}) == [
        ("david", "outbound", "2026-11-10")
    ]
    assert ids(status="received", limit=1, offset=1) == [("david", "outbound", "2026-11-10")]
    settings.page_size_max = 2
    body = client.get("/api/v1/calls", headers=admin, params={"limit": 1000}).json()
    assert body["limit"] == 2 and len(body["items"]) == 2 and body["total"] == 3
    bad = client.get(
        "/api/v1/calls",
        headers=admin,
        params={"from": "2026-11-12T00:00:00Z", "to": "2026-11-01T00:00:00Z"},
    )
    assert bad.status_code == 400


def test_patch_sets_outcome_later(client, admin):
    call_id = upload(client, admin).json()["id"]
    response = client.patch(
        f"/api/v1/calls/{call_id}",
        headers=admin,
        json={"deal_closed": True, "deal_value": "999.99"},
    )
    assert response.status_code == 200
    assert response.json()["deal_closed"] is True and response.json()["deal_value"] == "999.99"
    unknown = client.patch(f"/api/v1/calls/{call_id}", headers=admin, json={"status": "scored"})
    assert unknown.status_code == 422


def test_audio_streams_with_range_requests(client, admin):
    call_id = upload(client, admin).json()["id"]
    whole = client.get(f"/api/v1/calls/{call_id}/audio", headers=admin)
    assert whole.status_code == 200 and whole.headers["content-type"] == "audio/flac"
    assert whole.content == (DATA / "basic.flac").read_bytes()
    part = client.get(f"/api/v1/calls/{call_id}/audio", headers={**admin, "Range": "bytes=100-199"})
    assert part.status_code == 206 and part.content == whole.content[100:200]
    assert part.headers["content-range"].startswith("bytes 100-199/")


def test_retry_is_only_for_failed_calls(client, admin, session):
    call_id = upload(client, admin).json()["id"]
    response = client.post(f"/api/v1/calls/{call_id}/retry", headers=admin)
    assert response.status_code == 409 and "only a failed call" in response.json()["detail"]
    call = session.get(Call, call_id)
    job = session.exec(select(Job).where(Job.call_id == call_id)).one()
    call.status, job.state, job.attempts = CallStatus.failed, JobState.failed, 3
    session.add(call)
    session.add(job)
    session.flush()
    response = client.post(f"/api/v1/calls/{call_id}/retry", headers=admin)
    assert response.status_code == 202 and response.json()["status"] == "received"
    session.refresh(job)
    assert job.state is JobState.queued and job.attempts == 0


@pytest.mark.parametrize("fmt", ["mp3", "ogg", "m4a", "wav"])
def test_common_formats_are_accepted(client, admin, encoded, fmt):
    response = upload(client, admin, path=encoded[fmt], name=f"x.{fmt}")
    assert response.status_code == 202, response.text
    detail = client.get(f"/api/v1/calls/{response.json()['id']}", headers=admin).json()
    assert detail["audio_format"] == fmt and detail["transcript"] is None


def test_health_and_docs_are_public(client):
    assert client.get("/healthz").json() == {"status": "ok", "database": "ok"}
    assert client.get("/openapi.json").status_code == 200
    assert client.get("/").status_code == 200


def test_upload_language_is_kept_for_transcription(client, admin, session):
    response = upload(client, admin, language="HE")
    assert response.status_code == 202, response.text
    assert session.get(Call, response.json()["id"]).language == "he"
    detected = upload(client, admin, language="auto").json()["id"]
    assert session.get(Call, detected).language == "auto"


def test_an_uploads_auto_overrides_a_fixed_center_language():
    from app.calls.tasks import pipeline_options
    from app.config import Settings

    fixed = Settings(language="en")
    assert pipeline_options(fixed, language="auto").language is None  # Whisper detects
    assert pipeline_options(fixed, language=None).language == "en"
    assert pipeline_options(fixed, language="fa").language == "fa"


def test_unknown_upload_language_is_refused_with_a_message(client, admin, session):
    response = upload(client, admin, language="klingon")
    assert response.status_code == 422
    assert "language" in str(response.json()["detail"])
    assert "unknown language 'klingon'" in response.text
    assert session.exec(select(Call)).all() == []


def test_an_empty_patch_is_refused_and_reads_nothing(client, admin):
    call_id = upload(client, admin).json()["id"]
    empty = client.patch(f"/api/v1/calls/{call_id}", headers=admin, json={})
    assert empty.status_code == 400
    assert empty.json() == {"detail": "name at least one of deal_closed, deal_value, customer_ref"}
