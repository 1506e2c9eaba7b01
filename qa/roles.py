"""Who is the agent, from what each side of a call says (by meaning, in any language we ship).

Every sentence of each side is compared with what agents say and customers do not (greeting
with the company, introducing themselves, asking to verify, holding, resolving, offering more
help) and with what customers say (the reason for calling, their account, complaints). A
sentence leans to the nearer of the two; a side's lean is half the mean of its sentences' (its
first sentences counted three times: the greeting decides most calls) and half its three most
agent-like and three most customer-like sentences (a long explanation dilutes a mean, not what
the side does); naming the company in its first sentences adds to it. The side that leans
further to the agent is the agent; the gap between the two sides, through a logistic, is the
confidence. Tuned and measured (tuning set and a held-out set apart): benchmarks/roles.py.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np
import yaml
from rapidfuzz import fuzz

from qa.embedder import Embedder, embed_known
from transcription.roles import Evidence, RoleDecision

ANCHORS_FILE = Path(__file__).with_name("roles.yaml")
# The gap in mean lean that means "2 to 1" (tuned on the synthetic and written calls).
SCALE = 0.012
OPENING = 3  # a side's first sentences weigh double
COMPANY_BONUS = 0.03
# Half the side's weighted mean, a quarter each its three most agent-like and customer-like.
MEAN_WEIGHT = 0.5
EXTREMES = 3
_SENTENCE = re.compile(r"(?<=[.!?؟])\s+")


@lru_cache(maxsize=2)
def anchors(path: Path = ANCHORS_FILE) -> tuple[tuple[str, ...], tuple[str, ...]]:
    raw = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    agent = tuple(t for texts in raw.get("agent", {}).values() for t in texts)
    customer = tuple(t for texts in raw.get("customer", {}).values() for t in texts)
    return agent, customer


def sentences(texts: Sequence[str]) -> list[str]:
    out: list[str] = []
    for text in texts:
        out += [s.strip() for s in _SENTENCE.split(text) if len(s.strip()) > 1]
    return out


@dataclass
class _Side:
    lean: float
    evidence: list[Evidence]


class MeaningRoleJudge:
    """A RoleJudge (transcription.roles) that reads the words with a sentence embedder."""

    def __init__(
        self, embedder: Embedder, *, company: str | None = None, scale: float = SCALE
    ) -> None:
        self.embedder = embedder
        self.company = (company or "").strip().lower() or None
        self.scale = scale
        agent, customer = anchors()
        self._agent_texts, self._customer_texts = agent, customer
        self._agent = embed_known(embedder, list(agent))
        self._customer = embed_known(embedder, list(customer))

    def _names_company(self, text: str) -> bool:
        if self.company is None:
            return False
        return fuzz.partial_ratio(self.company, text.lower()) >= 85

    def _side(self, side: str, texts: Sequence[str]) -> _Side:
        said = sentences(texts)
        if not said:
            return _Side(0.0, [])
        vectors = self.embedder.embed(said)
        to_agent = vectors @ self._agent.T
        to_customer = vectors @ self._customer.T
        lean = to_agent.max(axis=1) - to_customer.max(axis=1)
        weights = np.ones(len(said))
        weights[:OPENING] = 3.0
        # The mean says how the side talks overall; its most agent-like and most customer-like
        # sentences say what it does (a long explanation dilutes the mean, not a greeting).
        ordered = np.sort(lean)
        k = min(EXTREMES, len(ordered))
        total = (
            MEAN_WEIGHT * float(np.average(lean, weights=weights))
            + (1 - MEAN_WEIGHT) / 2 * float(ordered[-k:].mean())
            + (1 - MEAN_WEIGHT) / 2 * float(ordered[:k].mean())
        )
        evidence = []
        for i in np.argsort(-np.abs(lean))[:4]:
            toward_agent = lean[i] > 0
            nearest = (
                self._agent_texts[int(to_agent[i].argmax())]
                if toward_agent
                else self._customer_texts[int(to_customer[i].argmax())]
            )
            role = "agent" if toward_agent else "customer"
            evidence.append(
                Evidence(side, said[i], f"sounds like the {role} ({nearest!r})", float(lean[i]))
            )
        if any(self._names_company(s) for s in said[:OPENING]):
            total += COMPANY_BONUS
            first = next(s for s in said[:OPENING] if self._names_company(s))
            evidence.insert(0, Evidence(side, first, "names the company", COMPANY_BONUS))
        return _Side(total, evidence)

    def decide(self, sides: Mapping[str, Sequence[str]]) -> RoleDecision:
        judged = {name: self._side(name, texts) for name, texts in sides.items()}
        if len(judged) != 2:
            return RoleDecision(agent=None, confidence=0.5)
        (a, side_a), (b, side_b) = judged.items()
        gap = side_a.lean - side_b.lean
        confidence = 1 / (1 + math.exp(-abs(gap) / self.scale * math.log(2)))
        agent, chosen = (a, side_a) if gap >= 0 else (b, side_b)
        other = side_b if chosen is side_a else side_a
        evidence = [e for e in chosen.evidence if e.weight > 0] + [
            e for e in other.evidence if e.weight < 0
        ]
        return RoleDecision(agent=agent, confidence=confidence, evidence=tuple(evidence))
