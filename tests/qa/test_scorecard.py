import pytest

from qa.scorecard import ScorecardInvalid, default_path, load, parse

BASE = """name: t
criteria:
  - id: greet
    dimension: personal_touch
    kind: phrases
    phrases: ["hello"]
"""


def test_default_scorecard_loads_and_covers_every_dimension():
    card = load(default_path())
    assert {c.dimension for c in card.criteria} == {
        "reliability",
        "responsiveness",
        "empathy",
        "competence",
        "personal_touch",
    }
    assert any(c.auto_fail for c in card.criteria)
    assert any(c.script for c in card.criteria)


@pytest.mark.parametrize(
    ("patch", "message"),
    [
        ("    dimension: happiness\n", "line 3: dimension 'happiness' is not one of"),
        ("    kind: vibes\n", "line 3: kind 'vibes' is not one of"),
        ("    weight: -1\n", "line 3: weight must be a finite number >= 0, not -1"),
        ("    weight: .nan\n", "line 3: weight must be a finite number >= 0, not nan"),
        ("    colour: red\n", r"line 3: unknown field\(s\) colour"),
        ("    threshold: 20\n", "line 3: threshold must be between 50 and 100"),
    ],
)
def test_invalid_definitions_name_the_line_and_the_reason(patch, message):
    lines = BASE.splitlines(keepends=True)
    key = patch.split(":")[0]
    lines = [line for line in lines if not line.startswith(key + ":")] + [patch]
    with pytest.raises(ScorecardInvalid, match=message):
        parse("".join(lines))


def test_bad_regex_metric_and_order_references_are_rejected():
    with pytest.raises(ScorecardInvalid, match="not a valid regular expression"):
        parse(
            BASE + "  - id: p\n    dimension: competence\n    kind: pattern\n"
            "    pattern: '(unclosed'\n"
        )
    with pytest.raises(ScorecardInvalid, match="line 7: metric must be one of"):
        parse(
            BASE + "  - id: m\n    dimension: responsiveness\n    kind: metric\n"
            "    metric: speed\n    max: 3\n"
        )
    with pytest.raises(ScorecardInvalid, match="order refers to unknown criterion 'ghost'"):
        parse(
            BASE + "  - id: o\n    dimension: reliability\n    kind: order\n"
            "    first: greet\n    then: ghost\n"
        )


def test_broken_yaml_and_duplicates():
    with pytest.raises(ScorecardInvalid, match="line 3: not valid YAML"):
        parse("name: x\ncriteria: [\n  - : :\n")
    with pytest.raises(ScorecardInvalid, match="duplicate criterion id 'greet'"):
        parse(
            BASE + "  - id: greet\n    dimension: empathy\n    kind: phrases\n    phrases: [hi]\n"
        )
