"""The review workflow in a real browser: a supervisor assigns queue calls (by hand and
automatically), works through "My reviews", and runs a blind calibration with an admin."""

from __future__ import annotations

from tests.browser.test_pages import login


def test_a_supervisor_assigns_reviews_and_works_through_my_reviews(page, live):
    w = live.world
    # Every scored call in the queue (this module's own live server), not a 0 % sample.
    live.settings.review_sample_share = 1.0
    promise, cold = w.calls["a1_promise"].id, w.calls["a2_cold"].id
    login(page, live, w.sup_a)
    page.goto(f"{live.url}/review-queue")
    queued = page.locator("#assign tbody tr").count()
    assert queued >= 2
    # Tick one call, give it to oneself for a day far ahead.
    page.check(f"input[name=call_id][value='{promise}']")
    page.select_option("select[name=assignee]", w.sup_a.email)
    page.fill("#assign input[name=due]", "2099-03-04")
    page.click("#assign button[type=submit]")
    page.wait_for_load_state("networkidle")
    row = page.locator("#assign tbody tr", has=page.locator(f"a[href='/calls/{promise}']"))
    assert w.sup_a.email in row.inner_text() and "2099-03-04" in row.inner_text()
    # The rest go out automatically to the team's supervisors (here: sup_a alone).
    page.click("#auto-assign button[type=submit]")
    page.wait_for_load_state("networkidle")
    assert "Auto-assigned" in page.locator("#spread").inner_text()
    assert all(w.sup_a.email in r for r in page.locator("#assign tbody tr").all_inner_texts())
    page.screenshot(path=str(live.shots / "review-assignments.png"), full_page=True)

    page.click("nav >> text=My reviews")
    page.wait_for_load_state("networkidle")
    mine = page.locator("#my-open tbody tr")
    assert mine.count() == queued
    assert "auto-fail" in page.locator("#my-open").inner_text()  # why it wants a review
    page.screenshot(path=str(live.shots / "my-reviews.png"), full_page=True)

    # Review one from the list: the checklist is beside the transcript, in the same view.
    page.click(f"#my-open a[href='/calls/{cold}']")
    page.wait_for_load_state("networkidle")
    transcript = page.locator("#transcript").bounding_box()
    checklist = page.locator("table.checklist").bounding_box()
    assert checklist["x"] > transcript["x"] + transcript["width"] - 1
    assert checklist["y"] < transcript["y"] + transcript["height"]
    page.click("#review-form button[type=submit]")
    page.wait_for_load_state("networkidle")
    page.goto(f"{live.url}/my-reviews")
    assert f"/calls/{cold}" in page.locator("#my-done").inner_html()
    assert f"/calls/{cold}" not in page.locator("#my-open").inner_html()


def test_a_calibration_is_scored_blind_then_compared(page, live, browser):
    w = live.world
    call = w.calls["a1_good"].id
    login(page, live, w.sup_a)
    page.goto(f"{live.url}/calls/{call}")
    for reviewer in (w.sup_a.email, w.admin.email):
        page.check(f"input[name=reviewers][value='{reviewer}']")
    page.click("form[action$='/calibrations'] button[type=submit]")
    page.wait_for_load_state("networkidle")
    assert "/calibrations/" in page.url
    # Before one's own verdicts: the player and the words, not the machine's marks.
    assert page.locator("#player").count() == 1 and page.locator("#transcript .seg").count() > 3
    assert page.locator("th", has_text="Machine").count() == 0
    assert page.locator("#transcript .ev").count() == 0  # no evidence marks either
    _score_all(page, "pass")
    assert page.locator("th", has_text="Machine").count() == 1
    assert "waiting" in page.locator("main p").first.inner_text()  # the admin has not scored

    admin = browser.new_context(viewport={"width": 1360, "height": 900}).new_page()
    login(admin, live, w.admin)
    admin.goto(f"{live.url}/calibrations")
    admin.locator("#calibrations a[href^='/calibrations/']").first.click()
    admin.wait_for_load_state("networkidle")
    _score_all(admin, "fail")
    text = admin.locator("main").inner_text()
    assert "Reviewers agree on 0" in text  # one said pass to all, the other fail to all
    assert w.sup_a.email in text and w.admin.email in text
    admin.screenshot(path=str(live.shots / "calibration.png"), full_page=True)
    admin.context.close()


def _score_all(page, verdict: str) -> None:
    for radio in page.locator(f"input[type=radio][value={verdict}]").all():
        radio.check()
    page.click("form[action$='/verdicts'] button[type=submit]")
    page.wait_for_load_state("networkidle")
