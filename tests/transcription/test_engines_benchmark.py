"""`benchmarks/engines.py` runs end to end and prints what the README's sizing table is made of."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from benchmarks.engines import _wer
from tests.conftest import OPENAI_WHISPER, ROOT

pytestmark = pytest.mark.slow


def test_word_errors_are_counted_over_every_channel_together():
    # One substitution on the first leg, one deletion on the second: 2 errors in 7 words.
    assert _wer(
        ["the horizon seems distant", "hello there world"],
        ["the horizon seams distant", "hello world"],
    ) == (2, 7)
    assert _wer(["Hello, world."], [""]) == (2, 2)  # nothing heard: every word deleted


@OPENAI_WHISPER
def test_two_short_files_through_all_three_systems_give_the_json_figures():
    done = subprocess.run(
        [
            sys.executable,
            str(ROOT / "benchmarks" / "engines.py"),
            "--files",
            "basic.flac",
            "--json",
        ],
        capture_output=True,
        text=True,
        timeout=900,
        check=True,
    )
    figures = json.loads(done.stdout.strip().splitlines()[-1])
    assert "openai-whisper / callqa" in done.stdout
    for scope in (figures, figures["by_layout"]["stereo"], figures["by_layout"]["mono"]):
        assert scope["files"] == (2 if scope is figures else 1)
        for key in ("wer_callqa", "wer_openai_whisper"):
            assert 0 <= scope[key] < 0.5  # fractions (JFK and the stereo pair are clear speech)
        assert scope["ratio_vs_openai_whisper"] > 0 and scope["audio_hours_per_hour"] > 0
        assert scope["peak_rss_mb_callqa"] > 100
    assert figures["by_layout"]["stereo"]["callqa"]["wer"] is not None
