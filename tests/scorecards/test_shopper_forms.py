import pytest

from scorecards import shopper as forms

GOOD = {
    "wait_minutes": "1",
    "quick_replies": 5,
    "hold_announced": "yes",
    "correct_information": "yes",
    "clear_next_step": "yes",
    "recap": "yes",
    "understood": 5,
    "acknowledged_concern": "yes",
    "resolved": "fully",
    "knew_answers": 5,
    "transferred": "no",
    "greeted": "yes",
    "agent_name": "yes",
    "used_your_name": "yes",
    "felt_valued": 5,
    "thanked": "yes",
}


def test_default_template_covers_the_five_dimensions_and_script_steps():
    t = forms.load_default()
    dims = {q.dimension for q in t.questions if q.scored}
    assert dims == {"reliability", "responsiveness", "empathy", "competence", "personal_touch"}
    assert {q.id for q in t.questions if q.script} >= {"greeted", "agent_name", "recap", "thanked"}
    assert {q.kind for q in t.questions} == set(forms.KINDS)


def test_perfect_visit_scores_100_and_points_follow_each_kind():
    t = forms.load_default()
    clean, errors = forms.validate(t, GOOD)
    assert errors == {}
    result = forms.score(t, clean)
    assert result.overall == 100 and set(result.dimensions.values()) == {100.0}
    worse = dict(GOOD, wait_minutes="5.5", transferred="yes", understood="3", resolved="partly")
    r2 = forms.score(t, forms.validate(t, worse)[0])
    # wait 5.5 between best 1 and worst 10: half the points; quick_replies 5: full.
    assert r2.dimensions["responsiveness"] == pytest.approx(100 * (0.5 + 1 + 1) / 3, abs=0.1)
    # competence: resolved partly (0.5 x2), knew 5 (1), transferred (0): 2/4
    assert r2.dimensions["competence"] == 50
    assert r2.dimensions["empathy"] == pytest.approx(100 * (0.5 * 2 + 1) / 3, abs=0.1)


def test_validation_names_each_question_and_why():
    t = forms.load_default()
    answers = dict(
        GOOD, wait_minutes="a while", understood="7", resolved="maybe", greeted="perhaps", extra="x"
    )
    del answers["recap"]
    _, errors = forms.validate(t, answers)
    assert errors == {
        "wait_minutes": "give a number",
        "understood": "choose from 1 to 5",
        "resolved": "choose one of: fully, partly, not at all",
        "greeted": "answer yes or no",
        "recap": "an answer is required",
        "extra": "not a question of this form",
    }


@pytest.mark.parametrize(
    "text, message",
    [
        ("name: x\nquestions: []", "list of `questions`"),
        (
            "name: x\nquestions:\n  - id: a\n    text: A?\n    kind: stars\n    dimension: empathy",
            "line 3: kind 'stars'",
        ),
        (
            "name: x\nquestions:\n  - id: a\n    text: A?\n    kind: choice\n"
            "    dimension: empathy\n    options: {a: 2, b: 0}",
            "points must be from 0 to 1",
        ),
        (
            "name: x\nquestions:\n  - id: a\n    text: A?\n    kind: number\n"
            "    dimension: empathy",
            "different `best` and `worst`",
        ),
        ("name: x\nquestions:\n  - id: a\n    text: A?\n    kind: text", "at least one question"),
    ],
)
def test_bad_templates_say_where(text, message):
    with pytest.raises(forms.TemplateInvalid, match=message):
        forms.parse(text)
