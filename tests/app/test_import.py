"""`callqa import DIR`: a folder of recordings with a metadata CSV comes in once, file by file,
refusals said per file, and a second run adds only what is new (issue 15, item 1)."""

from __future__ import annotations

import shutil
from datetime import UTC, datetime
from decimal import Decimal

import pytest
from sqlmodel import Session, col, select
from typer.testing import CliRunner

from app.calls.models import Call, CallType, Direction
from app.cli import cli
from app.db import engine_for
from app.jobs.models import Job
from app.users.models import Agent
from app.worker import CallqaQueue
from tests.conftest import BACKENDS, DATA, MODEL_CACHE, make_settings, new_database

runner = CliRunner()


@pytest.fixture(params=BACKENDS)
def env(request, tmp_path, monkeypatch):  # type: ignore[no-untyped-def]
    url, drop = new_database(request.param, tmp_path)
    monkeypatch.setenv("CALLQA_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("CALLQA_DATABASE_URL", url)
    monkeypatch.setenv("CALLQA_MODEL_DIR", str(MODEL_CACHE))
    monkeypatch.delenv("CALLQA_QUEUE_URL", raising=False)
    yield url
    drop()  # type: ignore[operator]


def _folder(tmp_path):  # type: ignore[no-untyped-def]
    root = tmp_path / "recordings"
    (root / "2026-11" / "day2").mkdir(parents=True)
    shutil.copy(DATA / "basic.flac", root / "2026-11" / "basic.flac")
    shutil.copy(DATA / "hold.flac", root / "2026-11" / "day2" / "hold.flac")
    shutil.copy(DATA / "pci.flac", root / "pci.flac")
    (root / "notes.txt").write_text("not audio")
    (root / "broken.wav").write_bytes(b"RIFF not really")
    (root / ".recorder-index").write_text("hidden: left alone")
    return root


def _metadata(tmp_path, text: str):  # type: ignore[no-untyped-def]
    path = tmp_path / "meta.csv"
    path.write_text(text, encoding="utf-8")
    return path


def test_a_folder_comes_in_once_with_its_metadata_and_refusals(env, tmp_path):
    root = _folder(tmp_path)
    meta = _metadata(
        tmp_path,
        "\ufefffile,agent,started_at,direction,call_type,external_id,deal_closed,deal_value\n"
        "2026-11/basic.flac,laura,2026-11-20T10:00:00Z,outbound,sales,rec-1,true,120.50\n"
        "2026-11/day2/hold.flac,dan,2026-11-21 09:30,,,,,\n"
        "gone.wav,laura,2026-11-20T10:00:00Z,inbound,service,,,\n",
    )
    result = runner.invoke(cli, ["import", str(root), "--metadata", str(meta)])
    # pci.flac and broken.wav are not in the metadata and there is no --agent.
    assert result.exit_code == 1, result.output
    assert "imported 2, already there 0, refused 3 (of 5 files)" in result.stdout
    lines = result.stdout.splitlines()
    assert any("gone.wav" in x and "line 4 of the metadata, but not in" in x for x in lines)
    assert any("pci.flac" in x and "no agent" in x and "--agent" in x for x in lines)
    assert "notes.txt" not in result.stdout and ".recorder-index" not in result.stdout
    with Session(engine_for(env)) as session:
        calls = {
            c.external_id or a.external_id: (c, a)
            for c, a in session.exec(select(Call, Agent).join(Agent)).all()
        }
        assert set(calls) == {"rec-1", "dan"}
        basic, laura = calls["rec-1"]
        assert laura.external_id == "laura"
        assert basic.direction is Direction.outbound and basic.call_type is CallType.sales
        assert basic.deal_closed is True and basic.deal_value == Decimal("120.50")
        assert basic.started_at.replace(tzinfo=UTC) == datetime(2026, 11, 20, 10, tzinfo=UTC)
        hold, _ = calls["dan"]
        assert hold.direction is Direction.inbound and hold.call_type is CallType.service
        # Each call waits with its transcription job, sent to the queue.
        jobs = session.exec(select(Job).where(col(Job.call_id).in_([basic.id, hold.id]))).all()
        assert sorted(j.stage for j in jobs) == ["transcribe", "transcribe"]
    settings = make_settings(tmp_path / "data", env, queue_name="callqa")  # the CLI's queue
    assert CallqaQueue(settings).huey.pending_count() == 2
    # Nothing is left in the staging folder, the refused file included.
    assert not any((tmp_path / "data" / "audio" / ".staging").iterdir())

    # Again, now with a default agent: the two already there are not copied again.
    again = runner.invoke(cli, ["import", str(root), "--metadata", str(meta), "--agent", "ann"])
    assert "imported 1, already there 2, refused 2 (of 5 files)" in again.stdout, again.output
    assert "the file is not a recognised audio format" in again.stdout  # broken.wav
    with Session(engine_for(env)) as session:
        assert len(session.exec(select(Call)).all()) == 3
        agents = {a.external_id for a in session.exec(select(Agent)).all()}
        assert {"laura", "dan", "ann"} <= agents

    # The same bytes under another name, with no external id, are the same call.
    shutil.copy(root / "pci.flac", root / "pci-copy.flac")
    (root / "broken.wav").unlink()
    third = runner.invoke(cli, ["import", str(root), "--agent", "ann"])
    assert third.exit_code == 0, third.output
    assert "imported 0, already there 4, refused 0 (of 4 files)" in third.stdout


def test_files_without_a_time_take_the_time_the_recorder_wrote_them(env, tmp_path):
    import os

    root = tmp_path / "in"
    root.mkdir()
    shutil.copy(DATA / "basic.flac", root / "a.flac")
    written = datetime(2026, 10, 3, 14, 5, tzinfo=UTC).timestamp()
    os.utime(root / "a.flac", (written, written))
    result = runner.invoke(cli, ["import", str(root), "--agent", "laura", "--layout", "mono"])
    assert result.exit_code == 0, result.output
    with Session(engine_for(env)) as session:
        [call] = session.exec(select(Call)).all()
        assert call.started_at.replace(tzinfo=UTC).timestamp() == written
        assert call.layout == "mono"


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ("name,agent\nbasic.flac,laura\n", "no `file` column"),
        ("file,agnt\nbasic.flac,laura\n", "unknown column 'agnt'"),
        ("file,agent\nbasic.flac,laura\n./basic.flac,dan\n", "line 3: ./basic.flac is named twice"),
        ("file,agent\nbasic.flac,laura,extra\n", "line 2: more cells than columns"),
    ],
)
def test_a_metadata_file_that_cannot_be_used_stops_before_anything(env, tmp_path, text, says):
    root = tmp_path / "in"
    root.mkdir()
    shutil.copy(DATA / "basic.flac", root / "basic.flac")
    result = runner.invoke(cli, ["import", str(root), "--metadata", str(_metadata(tmp_path, text))])
    assert result.exit_code == 1
    assert result.output.count("\n") == 1 and says in result.output, result.output
    with Session(engine_for(env)) as session:
        assert session.exec(select(Call)).all() == []


def test_a_bad_cell_refuses_its_file_and_names_line_and_column(env, tmp_path):
    root = tmp_path / "in"
    root.mkdir()
    shutil.copy(DATA / "basic.flac", root / "basic.flac")
    shutil.copy(DATA / "hold.flac", root / "hold.flac")
    meta = _metadata(
        tmp_path,
        "file,agent,started_at,deal_value,layout\n"
        "basic.flac,laura,2026-11-20T10:00:00Z,-3,\n"
        "hold.flac,laura,yesterday,,\n",
    )
    result = runner.invoke(cli, ["import", str(root), "--metadata", str(meta)])
    assert result.exit_code == 1
    assert "imported 0, already there 0, refused 2" in result.stdout
    assert "line 2: deal_value: Input should be greater than or equal to 0" in result.stdout
    assert "line 3: started_at: Input should be a valid datetime" in result.stdout


def test_no_such_folder_or_an_empty_one_is_one_line(env, tmp_path):
    missing = runner.invoke(cli, ["import", str(tmp_path / "nowhere")])
    assert missing.exit_code == 1 and "no such folder" in missing.output
    (tmp_path / "empty").mkdir()
    empty = runner.invoke(cli, ["import", str(tmp_path / "empty"), "--agent", "x"])
    assert empty.exit_code == 1 and "no recordings in" in empty.output
    folder = runner.invoke(cli, ["score", str(tmp_path / "empty")])
    assert (
        folder.exit_code == 1
        and "is a folder" in folder.output
        and "callqa import" in (folder.output)
    )
