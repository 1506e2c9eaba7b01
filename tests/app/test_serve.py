"""`callqa serve` and the worker it starts (issue 14, item 11): a worker that dies is started
again, and SIGTERM to the server stops the worker too instead of leaving an orphan."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx

from tests.conftest import MODEL_CACHE, ROOT


def _children(pid: int) -> set[int]:
    found = set()
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
                found.add(int(entry.name))
    return found


def _alive(pid: int) -> bool:
    try:
        state = (Path("/proc") / str(pid) / "stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def _wait(condition, seconds: float) -> bool:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.2)
    return False


def test_a_dead_worker_is_restarted_and_sigterm_stops_server_and_worker(tmp_path):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = {
        **os.environ,
        "CALLQA_DATA_DIR": str(tmp_path / "data"),
        "CALLQA_MODEL_DIR": str(MODEL_CACHE),
        "CALLQA_WHISPER_MODEL": "tiny.en",
        "CALLQA_ADMIN_PASSWORD": "admin-pass-1",
        "CALLQA_PORT": str(port),
    }
    env.pop("CALLQA_DATABASE_URL", None)
    env.pop("CALLQA_QUEUE_URL", None)
    server = subprocess.Popen(
        [sys.executable, "-m", "app.cli", "serve"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:

        def up() -> bool:
            try:
                return httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=2).status_code == 200
            except httpx.HTTPError:
                return False

        assert _wait(up, 120), "the server did not start"
        assert _wait(lambda: len(_children(server.pid)) == 1, 30)
        [first] = _children(server.pid)
        os.kill(first, signal.SIGKILL)
        assert _wait(lambda: bool(_children(server.pid) - {first}), 30), "no new worker"
        [second] = _children(server.pid) - {first}
        assert _alive(second)
        server.send_signal(signal.SIGTERM)
        server.wait(timeout=60)
        assert _wait(lambda: not _alive(second), 30), "the worker outlived the server"
    finally:
        if server.poll() is None:
            server.kill()


def test_the_first_start_prints_the_admin_password_last_and_framed(tmp_path):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = {
        **os.environ,
        "CALLQA_DATA_DIR": str(tmp_path / "data"),
        "CALLQA_MODEL_DIR": str(MODEL_CACHE),
        "CALLQA_WHISPER_MODEL": "tiny.en",
        "CALLQA_PORT": str(port),
    }
    for name in ("CALLQA_DATABASE_URL", "CALLQA_QUEUE_URL", "CALLQA_ADMIN_PASSWORD"):
        env.pop(name, None)
    log = tmp_path / "serve.log"
    with log.open("wb") as out:
        server = subprocess.Popen(
            [sys.executable, "-m", "app.cli", "serve"],
            cwd=ROOT,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    try:
        assert _wait(lambda: "+----" in log.read_text().rsplit("|", 1)[-1], 120), log.read_text()
        time.sleep(1.0)  # anything printed after the frame would be here by now
        lines = log.read_text().splitlines()
        framed = [i for i, line in enumerate(lines) if line.startswith("|")]
        # After uvicorn's start-up lines and the worker's, with nothing below it.
        running = max(i for i, line in enumerate(lines) if "Uvicorn running on" in line)
        worker = max(i for i, line in enumerate(lines) if "commands are available" in line)
        assert running < framed[0] and worker < framed[0]
        assert all(not line.strip() or line[0] in "|+" for line in lines[framed[0] - 1 :])
        assert f"http://127.0.0.1:{port}" in lines[framed[0]]
        password = lines[framed[1]].strip("| ").strip()
        token = httpx.post(
            f"http://127.0.0.1:{port}/api/v1/auth/token",
            data={"username": "admin", "password": password},
        )
        assert token.status_code == 200, token.text
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(timeout=60)
    # Shown once: a second start has nothing to show.
    with log.open("wb") as out:
        again = subprocess.Popen(
            [sys.executable, "-m", "app.cli", "serve"],
            cwd=ROOT,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    try:
        assert _wait(lambda: "commands are available" in log.read_text(), 120)
        time.sleep(1.0)
        assert "password" not in log.read_text()
    finally:
        again.send_signal(signal.SIGTERM)
        again.wait(timeout=60)
