"""`make scale-demo` for real: two API processes and two workers with data directories of their
own, on PostgreSQL, Redis and a SeaweedFS started by the script. A call uploaded to one API is
scored by a worker and played back with a Range from the other, from the bucket, and no
recording is left on any process's disk (scripts/scale_demo.py checks each of these)."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from tests.conftest import PG_DSN, REDIS_URL, ROOT, need, postgresql_missing, redis_missing


@pytest.mark.slow
def test_scale_demo_holds_across_processes() -> None:
    need(postgresql_missing())
    need(redis_missing())
    env = {**os.environ, "CALLQA_DEMO_PG": PG_DSN, "CALLQA_DEMO_REDIS": REDIS_URL}
    run = subprocess.run(
        [
            sys.executable,
            "scripts/scale_demo.py",
            "--check",
            "--model",
            "tiny.en",
            "--timeout",
            "300",
        ],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    out = run.stdout + run.stderr
    assert run.returncode == 0, out[-4000:]
    assert "played from the other" in out and "206, 100 bytes" in out
