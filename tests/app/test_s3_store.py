"""Recordings in an S3-compatible bucket: a real S3 protocol server (moto's, in memory, on
127.0.0.1) behind the API, the worker, privacy, retention and `callqa storage migrate`."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import boto3
import pytest
from moto.server import ThreadedMotoServer
from sqlmodel import Session, select
from typer.testing import CliRunner

from app import storage
from app.calls.models import Call, CallStatus, Transcript
from app.cli import cli
from app.config import Settings
from app.db import engine_for, finish
from app.jobs.models import Job, JobState
from app.privacy import retention
from app.storage.s3 import PART_BYTES
from app.users.models import Role
from app.worker import CallqaQueue
from tests.app.calls.test_routes import stored_files, upload
from tests.app.test_jobs import add_call
from tests.conftest import DATA, make_settings, new_database

_AWS = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_DEFAULT_REGION": "us-east-1",
}


@dataclass
class S3Server:
    endpoint: str
    client: Any

    def new_bucket(self) -> str:
        name = f"callqa-{uuid.uuid4().hex[:12]}"
        self.client.create_bucket(Bucket=name)
        return name

    def keys(self, bucket: str) -> list[str]:
        listed = self.client.list_objects_v2(Bucket=bucket)
        return sorted(o["Key"] for o in listed.get("Contents", []))

    def body(self, bucket: str, key: str) -> bytes:
        return bytes(self.client.get_object(Bucket=bucket, Key=key)["Body"].read())


@pytest.fixture(scope="session")
def s3() -> Iterator[S3Server]:
    saved = {k: os.environ.get(k) for k in _AWS}
    os.environ.update(_AWS)  # boto3 reads credentials from the environment, as in production
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    endpoint = f"http://{host}:{port}"
    yield S3Server(endpoint, boto3.client("s3", endpoint_url=endpoint))
    server.stop()
    for key, value in saved.items():
        if value is None:
            os.environ.pop(key, None)
        else:
            os.environ[key] = value


@pytest.fixture
def bucket(s3: S3Server) -> str:
    return s3.new_bucket()


@pytest.fixture
def settings(tmp_path: Path, db_url: str, s3: S3Server, bucket: str) -> Settings:
    """What every fixture of the app builds on (client, users): recordings in the bucket."""
    return make_settings(
        tmp_path / "data",
        db_url,
        storage_url=f"s3://{bucket}/calls",
        s3_endpoint_url=s3.endpoint,
    )


@pytest.fixture
def admin(users):  # type: ignore[no-untyped-def]
    return users.make(Role.admin)[1]


def test_an_upload_is_kept_in_the_bucket_and_plays_back_with_ranges(
    client, admin, session, settings, s3, bucket
):
    response = upload(client, admin)
    assert response.status_code == 202, response.text
    call = session.get(Call, response.json()["id"])
    original = (DATA / "basic.flac").read_bytes()
    assert s3.keys(bucket) == [f"calls/{call.audio_path}"]
    assert s3.body(bucket, f"calls/{call.audio_path}") == original
    assert stored_files(settings) == []  # nothing on the API's disk, not even the staged file
    url = f"/api/v1/calls/{call.id}/audio"
    whole = client.get(url, headers=admin)
    assert whole.status_code == 200 and whole.headers["content-type"] == "audio/flac"
    assert whole.content == original and whole.headers["accept-ranges"] == "bytes"
    part = client.get(url, headers={**admin, "Range": "bytes=100-199"})
    assert part.status_code == 206 and part.content == original[100:200]
    assert part.headers["content-range"] == f"bytes 100-199/{len(original)}"
    tail = client.get(url, headers={**admin, "Range": "bytes=-100"})
    assert tail.status_code == 206 and tail.content == original[-100:]
    rest = client.get(url, headers={**admin, "Range": f"bytes={len(original) - 10}-"})
    assert rest.status_code == 206 and rest.content == original[-10:]
    past = client.get(url, headers={**admin, "Range": f"bytes={len(original)}-"})
    assert past.status_code == 416 and past.headers["content-range"] == f"bytes */{len(original)}"
    saved = client.get(url, headers=admin, params={"download": "true", "reason": "complaint 4"})
    assert saved.status_code == 200 and saved.content == original
    assert saved.headers["content-disposition"] == f'attachment; filename="call-{call.id}.flac"'


def test_a_recording_gone_from_the_bucket_is_missing_not_an_error(
    client, admin, session, s3, bucket
):
    call_id = upload(client, admin).json()["id"]
    s3.client.delete_object(Bucket=bucket, Key=f"calls/{session.get(Call, call_id).audio_path}")
    gone = client.get(f"/api/v1/calls/{call_id}/audio", headers=admin)
    assert gone.status_code == 404 and "missing from storage" in gone.json()["detail"]


def test_a_store_that_refuses_the_upload_leaves_no_call_and_no_file(
    client, admin, session, settings, s3
):
    settings.storage_url = f"s3://no-such-bucket-{uuid.uuid4().hex[:8]}/calls"
    response = upload(client, admin, external_id="rec-lost")
    assert response.status_code == 503
    assert (
        "no-such-bucket" in response.json()["detail"]
        and "NoSuchBucket" in (response.json()["detail"])
    )
    assert session.exec(select(Call)).all() == []
    assert stored_files(settings) == []


def test_bad_audio_never_reaches_the_bucket(client, admin, session, settings, s3, bucket, tmp_path):
    junk = tmp_path / "junk.wav"
    junk.write_bytes(b"hello, not audio\n" * 50)
    assert upload(client, admin, path=junk).status_code == 415
    assert s3.keys(bucket) == [] and stored_files(settings) == []


def test_deleting_a_call_deletes_its_object(client, admin, session, s3, bucket):
    call_id = upload(client, admin).json()["id"]
    assert len(s3.keys(bucket)) == 1
    report = client.delete(f"/api/v1/calls/{call_id}", headers=admin)
    assert report.status_code == 200, report.text
    assert report.json()["recordings"] == 1 and s3.keys(bucket) == []


def test_retention_deletes_the_object_and_keeps_the_call(
    client, admin, session, settings, s3, bucket
):
    call_id = upload(client, admin).json()["id"]
    policy = client.put("/api/v1/retention-policies", headers=admin, json={"audio_days": 0})
    assert policy.status_code == 200, policy.text
    report = retention.sweep(session, settings, now=datetime(2030, 1, 1, tzinfo=UTC))
    assert s3.keys(bucket) != []  # the objects go once the unit of work has committed
    finish(session, None)
    assert report.audio == [call_id] and s3.keys(bucket) == []
    session.expire_all()
    assert session.get(Call, call_id).audio_path is None


@pytest.fixture
def committed(tmp_path: Path, s3: S3Server, bucket: str) -> Iterator[Settings]:
    """A committed SQLite database (the worker opens its own units of work) on the bucket."""
    url, drop = new_database("sqlite", tmp_path)
    yield make_settings(
        tmp_path / "data", url, storage_url=f"s3://{bucket}", s3_endpoint_url=s3.endpoint
    )
    drop()  # type: ignore[operator]


def test_the_worker_transcribes_from_the_bucket_and_puts_the_redacted_copy_back(
    committed, s3, bucket
):
    call_id = add_call(committed, DATA / "pci.flac")
    with Session(engine_for(committed.db_url)) as session:
        key = session.get(Call, call_id).audio_path
    original = s3.body(bucket, key)
    CallqaQueue(committed).runner.transcribe(call_id)
    with Session(engine_for(committed.db_url)) as session:
        call = session.get(Call, call_id)
        transcript = session.exec(select(Transcript).where(Transcript.call_id == call_id)).one()
    assert call.status is CallStatus.transcribed and call.failure_reason is None
    assert transcript.audio_redactions  # card data was heard, and silenced in the object
    redacted = s3.body(bucket, key)
    assert redacted != original and call.audio_size == len(redacted)
    assert s3.keys(bucket) == [key]
    # The worker's temporary copy and its redacted file are gone from its disk.
    assert [p for p in committed.audio_dir.rglob("*") if p.is_file()] == []


def test_a_worker_finds_an_object_missing_from_the_bucket_and_says_so(committed, s3, bucket):
    call_id = add_call(committed)
    with Session(engine_for(committed.db_url)) as session:
        key = session.get(Call, call_id).audio_path
    s3.client.delete_object(Bucket=bucket, Key=key)
    CallqaQueue(committed).runner.transcribe(call_id)
    with Session(engine_for(committed.db_url)) as session:
        job = session.exec(select(Job).where(Job.call_id == call_id)).one()
    assert job.state is JobState.queued and job.attempts == 1  # tried again later
    assert job.last_error == f"the recording file is missing from storage ({key})"
    assert [p for p in committed.audio_dir.rglob("*") if p.is_file()] == []


def test_storage_migrate_copies_local_recordings_once_and_verifies_them(
    tmp_path, s3, bucket, monkeypatch
):
    url, drop = new_database("sqlite", tmp_path)
    local = make_settings(tmp_path / "data", url)
    keys = []
    for path in (DATA / "basic.flac", DATA / "pci.flac"):
        call_id = add_call(local, path)
        with Session(engine_for(url)) as session:
            keys.append(session.get(Call, call_id).audio_path)
    monkeypatch.setenv("CALLQA_DATA_DIR", str(local.data_dir))
    monkeypatch.setenv("CALLQA_DATABASE_URL", url)
    monkeypatch.setenv("CALLQA_S3_ENDPOINT_URL", s3.endpoint)
    runner = CliRunner()
    target = f"s3://{bucket}/moved"
    first = runner.invoke(cli, ["storage", "migrate", "--to", target])
    assert first.exit_code == 0, first.output
    assert "2 copied, 0 already there, 0 missing, 0 failed to verify" in first.output
    assert s3.keys(bucket) == sorted(f"moved/{k}" for k in keys)
    for key in keys:
        assert s3.body(bucket, f"moved/{key}") == (local.audio_dir / key).read_bytes()
        assert (local.audio_dir / key).is_file()  # copied, not moved: the old install still runs
    # Again, after one object was lost: only that one is copied.
    s3.client.delete_object(Bucket=bucket, Key=f"moved/{keys[0]}")
    again = runner.invoke(cli, ["storage", "migrate", "--to", target])
    assert again.exit_code == 0, again.output
    assert "1 copied, 1 already there" in again.output
    bad = runner.invoke(cli, ["storage", "migrate", "--to", "gs://elsewhere"])
    assert bad.exit_code == 1 and "is not an s3://BUCKET[/prefix] address" in bad.output
    drop()  # type: ignore[operator]


@pytest.mark.parametrize("kind", ["local", "s3"])
def test_each_store_keeps_reads_replaces_and_deletes_a_large_recording(kind, tmp_path, s3, bucket):
    audio_dir = tmp_path / "audio"
    url = f"s3://{bucket}/big" if kind == "s3" else None
    store = storage.store_at(url, audio_dir=audio_dir, endpoint_url=s3.endpoint)
    content = os.urandom(PART_BYTES + 1_000_000)  # over the multipart threshold
    source = tmp_path / "staged.bin"
    source.write_bytes(content)
    store.put(source, "0001/1-a.flac", keep_source=True)
    assert source.is_file() and store.size("0001/1-a.flac") == len(content)
    store.put(source, "0001/2-b.flac")
    assert not source.exists()  # consumed
    across = PART_BYTES - 10, PART_BYTES + 10  # a range across the parts' seam
    assert b"".join(store.read("0001/2-b.flac", *across)) == content[slice(*across)]
    with store.local_copy("0001/2-b.flac") as copy:
        assert copy.read_bytes() == content
    assert [p for p in (audio_dir / ".staging").glob("*")] == []  # the copy went with the block
    if kind == "s3":
        head = s3.client.head_object(Bucket=bucket, Key="big/0001/2-b.flac")
        assert head["ETag"].strip('"').endswith("-2")  # sent in two parts
    shorter = tmp_path / "redacted.flac"
    shorter.write_bytes(content[:1000])
    assert store.replace(shorter, "0001/2-b.flac") == 1000
    assert b"".join(store.read("0001/2-b.flac", 0, 1000)) == content[:1000]
    store.delete("0001/2-b.flac")
    store.delete("0001/2-b.flac")  # gone already: no error
    assert store.size("0001/2-b.flac") is None
    with pytest.raises(FileNotFoundError), store.local_copy("0001/2-b.flac"):
        pass
