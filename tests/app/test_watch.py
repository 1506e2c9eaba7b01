"""The watched folder (CALLQA_WATCH_DIR): settled files are taken once, whatever the number of
workers looking, imported with their sidecar's fields, and filed away; a worker process picks
a dropped recording up and scores it (issue 15, item 1)."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

from sqlmodel import Session, select

from app.calls import watch
from app.calls.models import Call, CallStatus, Direction
from app.db import engine_for
from app.users.models import Agent
from app.worker import CallqaQueue
from tests.app.test_jobs import live  # noqa: F401  (fixture: a fresh database and its queue)
from tests.conftest import DATA, ROOT


def _old(path: Path, seconds: float = 60.0) -> None:
    """As if the recorder finished writing it a while ago."""
    then = time.time() - seconds
    os.utime(path, (then, then))


def _calls(settings) -> list[tuple[Call, Agent]]:  # type: ignore[no-untyped-def]
    with Session(engine_for(settings.db_url)) as session:
        return list(session.exec(select(Call, Agent).join(Agent)).all())


def test_settled_files_come_in_with_their_sidecars_and_are_filed_away(live, tmp_path):  # noqa: F811
    inbox = tmp_path / "inbox"
    (inbox / "line-2").mkdir(parents=True)
    shutil.copy(DATA / "basic.flac", inbox / "a.flac")
    (inbox / "a.flac.json").write_text(
        json.dumps({"agent": "laura", "direction": "outbound", "external_id": "pbx-77"})
    )
    shutil.copy(DATA / "hold.flac", inbox / "line-2" / "b.flac")  # no sidecar, no default agent
    shutil.copy(DATA / "pci.flac", inbox / "c.flac")
    (inbox / "c.json").write_text("{not json")
    (inbox / "readme.txt").write_text("left alone")
    for path in inbox.rglob("*"):
        if path.is_file():
            _old(path)
    shutil.copy(DATA / "short_turns.flac", inbox / "writing.flac")  # arriving right now
    settings = live.model_copy(update={"watch_dir": inbox})
    queue = CallqaQueue(settings)
    outcomes = watch.sweep(engine_for(settings.db_url), settings, queue.enqueue_after_commit)

    assert sorted((o.relative, o.status) for o in outcomes) == [
        ("a.flac", "imported"),
        ("c.flac", "refused"),
        ("line-2/b.flac", "refused"),
    ]
    [(call, agent)] = _calls(settings)
    assert (agent.external_id, call.external_id) == ("laura", "pbx-77")
    assert call.direction is Direction.outbound
    assert queue.huey.pending_count() == 1
    done, refused = inbox / ".callqa" / "imported", inbox / ".callqa" / "refused"
    assert (done / "a.flac").is_file() and (done / "a.flac.json").is_file()
    assert "CALLQA_WATCH_AGENT" in (refused / "line-2" / "b.flac.reason.txt").read_text()
    assert "not readable JSON" in (refused / "c.flac.reason.txt").read_text()
    assert (refused / "c.flac.json").is_file()
    # What is still being written, and what is not a recording, stay where they are.
    assert (inbox / "writing.flac").is_file() and (inbox / "readme.txt").is_file()
    assert not any((inbox / ".callqa" / "taking").iterdir())

    # Settled now, and a second drop of the same recording: one call more, then none.
    _old(inbox / "writing.flac")
    shutil.copy(DATA / "basic.flac", inbox / "a-again.flac")
    _old(inbox / "a-again.flac")
    later = watch.sweep(
        engine_for(settings.db_url),
        settings.model_copy(update={"watch_agent": "dan"}),
        queue.enqueue_after_commit,
    )
    assert sorted((o.relative, o.status) for o in later) == [
        ("a-again.flac", "already"),
        ("writing.flac", "imported"),
    ]
    assert len(_calls(settings)) == 2 and (done / "a-again.flac").is_file()


def test_many_workers_looking_at_once_take_each_file_once(live, tmp_path):  # noqa: F811
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    names = ["basic", "hold", "pci", "short_turns", "long_silence", "pair_good"]
    for name in names:
        shutil.copy(DATA / f"{name}.flac", inbox / f"{name}.flac")
        _old(inbox / f"{name}.flac")
    settings = live.model_copy(update={"watch_dir": inbox, "watch_agent": "laura"})
    queue = CallqaQueue(settings)
    engine = engine_for(settings.db_url)
    results: list[list[str]] = []
    start = threading.Barrier(3)

    def look() -> None:
        start.wait()
        results.append(
            [
                f"{o.relative} {o.status}"
                for o in watch.sweep(engine, settings, queue.enqueue_after_commit)
            ]
        )

    threads = [threading.Thread(target=look) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    taken = [name for found in results for name in found]
    # Each once, by one of them; the agent they all create at once is made once.
    assert sorted(taken) == sorted(f"{n}.flac imported" for n in names)
    assert len(_calls(settings)) == len(names) and queue.huey.pending_count() == len(names)


def test_a_file_left_by_a_worker_that_stopped_is_put_back_and_imported(live, tmp_path):  # noqa: F811
    inbox = tmp_path / "inbox"
    claim = inbox / ".callqa" / "taking" / f"{int(time.time()) - 7200}-deadbeef0000"
    (claim / "day").mkdir(parents=True)
    shutil.copy(DATA / "basic.flac", claim / "day" / "a.flac")
    _old(claim / "day" / "a.flac")
    fresh = inbox / ".callqa" / "taking" / f"{int(time.time())}-0123456789ab"
    fresh.mkdir()
    shutil.copy(DATA / "hold.flac", fresh / "b.flac")  # being imported by a live worker now
    settings = live.model_copy(update={"watch_dir": inbox, "watch_agent": "laura"})
    outcomes = watch.sweep(
        engine_for(settings.db_url), settings, CallqaQueue(settings).enqueue_after_commit
    )
    assert [(o.relative, o.status) for o in outcomes] == [("day/a.flac", "imported")]
    assert (inbox / ".callqa" / "imported" / "day" / "a.flac").is_file()
    assert not claim.exists() and (fresh / "b.flac").is_file()


def test_a_worker_scores_what_a_recorder_drops(live, tmp_path):  # noqa: F811
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    env = {
        **os.environ,
        "CALLQA_DATA_DIR": str(live.data_dir),
        "CALLQA_DATABASE_URL": live.db_url,
        "CALLQA_WHISPER_MODEL": "tiny.en",
        "CALLQA_MODEL_DIR": str(live.models_dir),
        "CALLQA_QUEUE_NAME": live.queue_name,
        "CALLQA_WATCH_DIR": str(inbox),
        "CALLQA_WATCH_INTERVAL_SECONDS": "0.5",
        "CALLQA_WATCH_SETTLE_SECONDS": "1",
        "CALLQA_WATCH_AGENT": "laura",
    }
    if live.queue_url:
        env["CALLQA_QUEUE_URL"] = live.queue_url
    worker = subprocess.Popen(
        [sys.executable, "-m", "app.cli", "worker"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        # The recorder writes under a temporary name and renames when done, as most do.
        shutil.copy(DATA / "basic.flac", inbox / "call.part")
        os.rename(inbox / "call.part", inbox / "call.flac")
        deadline = time.monotonic() + 180
        while time.monotonic() < deadline:
            calls = _calls(live)
            if calls and calls[0][0].status is CallStatus.scored:
                break
            time.sleep(0.5)
        [(call, agent)] = _calls(live)
        assert call.status is CallStatus.scored and agent.external_id == "laura"
        assert (inbox / ".callqa" / "imported" / "call.flac").is_file()
    finally:
        worker.send_signal(signal.SIGINT)
        worker.wait(30)


def test_with_the_database_down_a_taken_file_goes_back_for_the_next_look(tmp_path):
    from tests.conftest import make_settings

    inbox = tmp_path / "inbox"
    (inbox / "day").mkdir(parents=True)
    shutil.copy(DATA / "basic.flac", inbox / "day" / "a.flac")
    _old(inbox / "day" / "a.flac")
    down = make_settings(
        tmp_path / "data",
        "postgresql+psycopg://nobody@127.0.0.1:9/none",  # nothing listens there
        watch_dir=inbox,
        watch_agent="laura",
    )
    outcomes = watch.sweep(engine_for(down.db_url), down, lambda *args: None)
    assert outcomes == []
    assert (inbox / "day" / "a.flac").is_file()  # where the recorder left it
    assert not any((inbox / ".callqa" / "taking").iterdir())
