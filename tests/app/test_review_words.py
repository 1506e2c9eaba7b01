"""What reviewers and agents read (issue 15, item 5): verdicts as pass and fail, not True and
False; a criterion's reason in words, never its regular expression."""

from __future__ import annotations

from app.web.render import plain_reason, verdict
from app.web.session import CSRF_COOKIE, SESSION_COOKIE, make_csrf


def test_an_override_reads_pass_and_fail_on_the_call_and_the_scorecard(client, world):
    call = world.calls["a1_promise"].id
    score = client.get(f"/api/v1/calls/{call}", headers=world.sup_a.headers).json()["score"]
    passed = next(c["id"] for c in score["criteria"] if c["applicable"] and c["passed"])
    r = client.post(
        f"/api/v1/calls/{call}/reviews",
        headers=world.sup_a.headers,
        json={
            "overrides": [
                {"target": "criterion", "key": passed, "value": False, "reason": "too late"},
                {"target": "dimension", "key": "empathy", "value": 40, "reason": "flat"},
            ]
        },
    )
    assert r.status_code in (200, 201), r.text
    for person in (world.sup_a, world.a1):  # the agent reads the same words
        client.cookies.set(SESSION_COOKIE, person.token)
        client.cookies.set(CSRF_COOKIE, make_csrf(client.app.state.settings, person.token))
        page = client.get(f"/calls/{call}").text
        assert "pass → fail" in page and "True" not in page.split("Reviews", 1)[-1]
        assert "→ 40" in page
    card = client.get("/me").text
    assert "pass → fail" in card and "False" not in card


def test_reasons_are_words():
    assert verdict(True) == "pass" and verdict(False) == "fail" and verdict(None) == "–"
    assert verdict(62.5) == "62.5" and verdict(40) == "40"
    old = "no match for /(?i)\\b(thank(s| you))\\b/ by the agent in the last 30 s"
    assert plain_reason(old) == (
        "the wording this criterion looks for was not said by the agent in the last 30 s"
    )
    assert plain_reason('said "thank you"') == 'said "thank you"'
    assert plain_reason(None) == ""


def test_the_review_form_comes_back_with_what_was_saved(client, world):
    call = world.calls["a2_cold"].id
    client.cookies.set(SESSION_COOKIE, world.sup_a.token)
    csrf = make_csrf(client.app.state.settings, world.sup_a.token)
    client.cookies.set(CSRF_COOKIE, csrf)
    score = client.get(f"/api/v1/calls/{call}", headers=world.sup_a.headers).json()["score"]
    missed = next(c["id"] for c in score["criteria"] if c["applicable"] and not c["passed"])
    saved = client.post(
        f"/calls/{call}/review",
        data={
            "csrf": csrf,
            f"criterion__{missed}": "pass",
            f"reason__criterion__{missed}": "said it in other words",
            "dimension__empathy": "70",
            "reason__dimension__empathy": "warm tone",
            "coaching_note": "Keep the warm tone.",
        },
        follow_redirects=True,
    )
    assert saved.status_code == 200, saved.text
    form = saved.text.split('id="review-form"', 1)[1].split("</form>", 1)[0]
    row = form.split(f'name="criterion__{missed}"', 1)[1].split("</tr>", 1)[0]
    assert '<option value="pass" selected>' in row
    assert 'value="said it in other words"' in row
    assert 'name="dimension__empathy" class="short" value="70"' in form
    assert 'value="warm tone"' in form and "Keep the warm tone.</textarea>" in form
