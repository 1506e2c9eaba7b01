"""Transcript in, scores with evidence out. Pure and deterministic: no HTTP, no database."""

from qa.score import CallScore, score
from qa.scorecard import Scorecard, ScorecardInvalid, default_path, load, parse
from qa.types import CallFacts, Evidence, Utterance

__all__ = [
    "CallFacts",
    "CallScore",
    "Evidence",
    "Scorecard",
    "ScorecardInvalid",
    "Utterance",
    "default_path",
    "load",
    "parse",
    "score",
]
