"""The labelled validity set (tests/data/validity): load it, score it, count agreement."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from qa import CallFacts, Scorecard, Utterance, score
from qa.score import CallScore

VALIDITY = Path(__file__).resolve().parent.parent / "data" / "validity"
CHARS_PER_SECOND = 14.0
GAP = 0.6
# Criteria whose "behaviour" is something the agent must not do: for these a supervisor's
# `false` is the behaviour, and catching it is the credit.
ABSENT = ("no_guessing", "no_transfer", "forbidden_promises")


def timed(utterances: list[dict[str, Any]]) -> list[Utterance]:
    """Times for lines written without them: ~14 characters a second, 0.6 s between lines."""
    out, t = [], 0.5
    for i, u in enumerate(utterances):
        start = float(u.get("start", t))
        end = float(u.get("end", start + max(1.0, len(u["text"]) / CHARS_PER_SECOND)))
        out.append(Utterance(i, u["speaker"], start, end, u["text"]))
        t = end + GAP
    return out


@dataclass
class Dialogue:
    path: Path
    language: str
    quality: str
    facts: CallFacts
    utterances: list[Utterance]
    labels: dict[str, bool | None]


def load(split: str) -> list[Dialogue]:
    out = []
    for path in sorted((VALIDITY / split).glob("*.yaml")):
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
        utterances = timed(raw["utterances"])
        facts = CallFacts(
            call_type=raw["call_type"],
            direction=raw["direction"],
            duration=utterances[-1].end + 1.0,
            customer_name=raw.get("customer_name"),
            channel=raw.get("channel", "phone"),
            language=raw["language"],
        )
        out.append(
            Dialogue(path, raw["language"], raw["quality"], facts, utterances, raw["labels"])
        )
    return out


@dataclass
class Tally:
    credited: int = 0  # behaviour present and credited (or, for ABSENT ones, caught)
    behaviour: int = 0
    false_pass: int = 0  # behaviour absent but credited (or, for ABSENT ones, a false alarm)
    non_behaviour: int = 0
    false_auto_fail: int = 0
    calls: int = 0
    mistakes: list[str] = field(default_factory=list)

    @property
    def credited_share(self) -> float:
        return self.credited / self.behaviour if self.behaviour else 1.0

    @property
    def false_pass_share(self) -> float:
        return self.false_pass / self.non_behaviour if self.non_behaviour else 0.0


def evaluate(
    dialogues: list[Dialogue], card: Scorecard, scores: dict[str, CallScore] | None = None
) -> dict[str, Tally]:
    """Per language: how often the machine agrees with the supervisor's labels."""
    tallies: dict[str, Tally] = defaultdict(Tally)
    for d in dialogues:
        result = scores[str(d.path)] if scores else score(d.utterances, d.facts, card)
        t = tallies[d.language]
        t.calls += 1
        by_id = {c.id: c for c in result.criteria}
        for cid, label in d.labels.items():
            if label is None or cid not in by_id:
                continue
            c = by_id[cid]
            machine = c.passed and c.applicable
            if cid in ABSENT:
                said = not label  # the supervisor heard the forbidden thing
                caught = c.applicable and not c.passed
                if said:
                    t.behaviour += 1
                    t.credited += caught
                else:
                    t.non_behaviour += 1
                    t.false_pass += caught
                    if caught and c.auto_fail:
                        t.false_auto_fail += 1
                ok = caught == said
            else:
                if label:
                    t.behaviour += 1
                    t.credited += machine
                else:
                    t.non_behaviour += 1
                    t.false_pass += machine
                ok = machine == label
            if not ok:
                quote = next((e.quote for e in c.evidence if e.quote), c.reason)
                t.mistakes.append(
                    f"{d.path.name} {cid}: supervisor {label}, machine "
                    f"{c.passed if c.applicable else 'n/a'} ({quote})"
                )
    return dict(tallies)
