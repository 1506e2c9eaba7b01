"""The labelled validity set: does the default scorecard agree with a supervisor?

Per language and split (tune: what thresholds were chosen on; holdout: written by other
authors, never tuned on) it prints the share of labelled behaviour the machine credited and the
share of absent behaviour it wrongly passed, and fails below the targets. The figures are in
the closing note of issue 10 and in the README.
"""

from __future__ import annotations

from functools import cache

import pytest

from qa import default_path, load, score
from qa.score import CallScore
from tests.qa.validity import Dialogue, Tally, evaluate
from tests.qa.validity import load as load_split

CARD = load(default_path())
LANGUAGES = ("en", "he", "fa")
# Targets, per language and split. Credited: of what the supervisor heard, what the machine
# gave credit for (forbidden things: what it caught). False pass: of what was not there, what
# the machine passed anyway (forbidden things: false alarms).
CREDITED_AT_LEAST = 0.75
FALSE_PASS_AT_MOST = 0.30


@cache
def dialogues(split: str) -> tuple[Dialogue, ...]:
    return tuple(load_split(split))


@cache
def scores(split: str) -> dict[str, CallScore]:
    return {str(d.path): score(d.utterances, d.facts, CARD) for d in dialogues(split)}


@cache
def tallies(split: str) -> dict[str, Tally]:
    return evaluate(list(dialogues(split)), CARD, scores(split))


@pytest.mark.parametrize("split", ["tune", "holdout"])
def test_every_language_has_labelled_dialogues(split: str) -> None:
    for lang in LANGUAGES:
        mine = [d for d in dialogues(split) if d.language == lang]
        assert len(mine) >= 8, f"{split}/{lang}: only {len(mine)} dialogues"
        assert {"good", "rude"} <= {d.quality for d in mine}


@pytest.mark.parametrize("split", ["tune", "holdout"])
@pytest.mark.parametrize("lang", LANGUAGES)
def test_scores_agree_with_the_supervisor(
    split: str, lang: str, capsys: pytest.CaptureFixture[str]
) -> None:
    t = tallies(split)[lang]
    with capsys.disabled():
        print(
            f"\n[validity] {split:7} {lang}: {t.calls} calls, credited "
            f"{t.credited}/{t.behaviour} = {t.credited_share:.0%}, false pass "
            f"{t.false_pass}/{t.non_behaviour} = {t.false_pass_share:.0%}, false auto-fails "
            f"{t.false_auto_fail}"
        )
    assert t.credited_share >= CREDITED_AT_LEAST, "\n".join(t.mistakes)
    assert t.false_pass_share <= FALSE_PASS_AT_MOST, "\n".join(t.mistakes)


def test_no_friendly_call_auto_fails_on_the_tuning_set() -> None:
    assert all(t.false_auto_fail == 0 for t in tallies("tune").values())


@pytest.mark.parametrize("lang", LANGUAGES)
def test_good_calls_score_well_above_rude_ones(lang: str) -> None:
    overall: dict[str, list[float]] = {"good": [], "rude": []}
    for split in ("tune", "holdout"):
        for d in dialogues(split):
            if d.language == lang and d.quality in overall:
                overall[d.quality].append(scores(split)[str(d.path)].overall or 0.0)
    good = sum(overall["good"]) / len(overall["good"])
    rude = sum(overall["rude"]) / len(overall["rude"])
    assert good >= rude + 30, (lang, overall)
