"""Scorecards with criteria by meaning: examples per language, and mistakes named by line."""

from __future__ import annotations

import pytest

from qa import CallFacts, ScorecardInvalid, Utterance, parse, score

CARD = """
name: meaning
criteria:
  - id: apology
    dimension: empathy
    kind: examples
    similarity: 0.88
    examples:
      en: ["I'm so sorry about that."]
      he: ["אני ממש מצטער על זה."]
    not_examples: ["Sorry, could you repeat that?"]
  - id: promise
    dimension: reliability
    kind: pattern
    pattern: "within \\\\d+ days"
    phrases: ["stray field on a pattern"]
"""


def test_examples_by_language_are_one_list_and_stray_lists_do_not_break_scoring():
    card = parse(CARD)
    apology = card.criteria[0]
    assert apology.examples == ("I'm so sorry about that.", "אני ממש מצטער על זה.")
    u = [Utterance(0, "agent", 0.0, 2.0, "Oh, I'm really sorry about that.")]
    result = score(u, CallFacts(duration=3), card)
    assert result.criteria[0].passed and result.criteria[0].evidence[0].similarity


@pytest.mark.parametrize(
    ("change", "says"),
    [
        ("similarity: 0.88", "similarity: 1.5"),
        ("similarity: 0.88", "similarity: true"),
    ],
)
def test_a_bad_similarity_names_its_line(change: str, says: str) -> None:
    with pytest.raises(ScorecardInvalid, match=r"line 4: similarity must be a cosine"):
        parse(CARD.replace(change, says))


def test_an_examples_criterion_without_examples_is_refused():
    bad = (
        CARD.replace('      en: ["I\'m so sorry about that."]\n', "")
        .replace('      he: ["אני ממש מצטער על זה."]\n', "")
        .replace("    examples:\n", "")
    )
    with pytest.raises(ScorecardInvalid, match="needs `examples`"):
        parse(bad)
