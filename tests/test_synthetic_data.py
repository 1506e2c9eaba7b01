"""The committed test calls are what the generator script makes (espeak-ng + sox, Debian)."""

import json
import subprocess
import sys

from tests.conftest import DATA, ROOT


def test_generator_reproduces_the_committed_turn_times(tmp_path):
    subprocess.run(
        [
            sys.executable,
            str(ROOT / "scripts" / "make_synthetic_calls.py"),
            str(tmp_path),
            "--only",
            "basic",
        ],
        check=True,
        capture_output=True,
    )
    made = json.loads((tmp_path / "basic.json").read_text())
    committed = json.loads((DATA / "basic.json").read_text())
    assert [t["text"] for t in made["turns"]] == [t["text"] for t in committed["turns"]]
    for a, b in zip(made["turns"], committed["turns"], strict=True):
        assert abs(a["start"] - b["start"]) < 0.05 and abs(a["end"] - b["end"]) < 0.3
    assert (tmp_path / "basic.flac").stat().st_size > 100_000
