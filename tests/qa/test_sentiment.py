"""Sentiment by meaning in three languages, measured on labelled customer sentences.

tune.yaml chose the anchors and VADER's weight; holdout.yaml was written by someone else and is
only measured. The decision that matters for scoring is "is this customer upset?" (a turn at
or below qa.sentiment.NEGATIVE needs acknowledging and pulls the ending down).
"""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from qa.embedder import shared_embedder
from qa.sentiment import NEGATIVE, VADER_WEIGHT, compound, is_english_script, polarity_for

SETS = Path(__file__).resolve().parent.parent / "data" / "sentiment"
TARGET = {"tune": 0.85, "holdout": 0.70}


def polarity(texts: list[str]) -> list[float]:
    emb = shared_embedder()
    meaning = polarity_for(emb).of(emb.embed(texts))
    return [
        VADER_WEIGHT * compound(t) + (1 - VADER_WEIGHT) * float(m)
        if is_english_script(t)
        else float(m)
        for t, m in zip(texts, meaning, strict=True)
    ]


@pytest.mark.parametrize("split", ["tune", "holdout"])
@pytest.mark.parametrize("lang", ["en", "he", "fa"])
def test_upset_customers_are_told_from_calm_ones(
    split: str, lang: str, capsys: pytest.CaptureFixture[str]
) -> None:
    items = yaml.safe_load((SETS / f"{split}.yaml").read_text(encoding="utf-8"))[lang]
    values = polarity([x["text"] for x in items])
    right = [(v <= NEGATIVE) == (x["label"] == -1) for x, v in zip(items, values, strict=True)]
    share = sum(right) / len(right)
    with capsys.disabled():
        print(
            f"\n[sentiment] {split:7} {lang}: upset or not right for {sum(right)}/{len(right)}"
            f" = {share:.0%}"
        )
    misses = [x["text"] for x, ok in zip(items, right, strict=True) if not ok]
    assert share >= TARGET[split], misses


def test_a_negated_worry_is_not_upset() -> None:
    calm, upset = polarity(
        [
            "So I'm not like, you know, terrified it's on its last leg or anything.",
            "This is the third time I'm calling about this.",
        ]
    )
    assert calm > NEGATIVE >= upset
