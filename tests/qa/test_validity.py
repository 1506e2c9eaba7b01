"""Validity: synthetic calls (espeak-ng, real Whisper) in pairs that differ in one respect.

The right dimension must move the right way, and the right script item must flip.
"""

from __future__ import annotations

from functools import cache

import pytest

from qa import CallFacts, CallScore, Utterance, default_path, load, score
from tests.conftest import DATA
from tests.transcription.test_pipeline import transcribe

pytestmark = pytest.mark.slow
CARD = load(default_path())


@cache
def scored(name: str) -> CallScore:
    t = transcribe(DATA / f"{name}.flac", "base")
    utterances = [
        Utterance(i, s.speaker.value, s.start, s.end, s.text)  # type: ignore[arg-type]
        for i, s in enumerate(t.segments)
    ]
    return score(utterances, CallFacts(duration=t.duration), CARD)


def item(result: CallScore, criterion: str) -> bool:
    return next(c for c in result.criteria if c.id == criterion).passed


def test_the_good_call_scores_high_without_auto_fail():
    good = scored("pair_good")
    assert good.overall is not None and good.overall >= 85 and not good.auto_fail
    assert item(good, "acknowledgement") and item(good, "recording_disclosure")


def test_cold_agent_loses_empathy_not_responsiveness():
    good, cold = scored("pair_good"), scored("pair_cold")
    assert cold.dimensions["empathy"] < good.dimensions["empathy"]
    assert cold.dimensions["responsiveness"] == good.dimensions["responsiveness"]
    assert not item(cold, "acknowledgement")


def test_missing_disclosure_flips_that_script_item_only():
    good, bare = scored("pair_good"), scored("pair_no_disclosure")
    assert item(good, "recording_disclosure") and not item(bare, "recording_disclosure")
    assert bare.script_compliance < good.script_compliance
    assert bare.dimensions["empathy"] == good.dimensions["empathy"]


def test_slow_replies_lose_responsiveness():
    good, slow = scored("pair_good"), scored("pair_slow")
    assert slow.dimensions["responsiveness"] < good.dimensions["responsiveness"]
    assert slow.metrics.reply_latency_mean > good.metrics.reply_latency_mean + 8
    assert not item(slow, "reply_speed")


def test_i_dont_know_loses_competence():
    good, unsure = scored("pair_good"), scored("pair_unsure")
    assert unsure.dimensions["competence"] < good.dimensions["competence"]
    assert not item(unsure, "no_guessing")


def test_forbidden_promise_auto_fails_with_quoted_evidence():
    promise = scored("pair_promise")
    assert promise.auto_fail and promise.overall == 0
    failed = next(c for c in promise.criteria if c.id == "forbidden_promises")
    assert failed.evidence and failed.evidence[0].start is not None
    assert "guarantee" in (failed.evidence[0].quote or "")
    assert not scored("pair_good").auto_fail
