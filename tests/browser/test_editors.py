"""The editors in a real browser (issue 15, item 4): an admin tightens a criterion, tries the
draft on a call and sees what it changes, saves it as the next version; and adds an alert
rule from its page."""

from __future__ import annotations

from tests.browser.test_pages import login


def test_admin_tries_a_changed_criterion_on_a_call_then_saves_the_version(page, live):
    w = live.world
    login(page, live, w.admin)
    page.click("header nav a[href='/scorecards']")
    page.wait_for_load_state("networkidle")
    row = page.locator("#scorecards tr[data-scorecard=default]")
    assert "v1" in row.locator("td.latest").inner_text()
    row.get_by_role("link", name="edit").click()
    page.wait_for_load_state("networkidle")
    assert page.url.endswith("/scorecards/default/edit")

    dead_air = page.locator("fieldset.criterion[data-criterion=dead_air]")
    limit = dead_air.get_by_label("max", exact=True)
    assert limit.input_value() == "10"
    limit.fill("1")  # the calls have about 2 s of dead air: now they fail it
    call = w.calls["a1_good"].id
    page.select_option("select[name=call_pick]", str(call))
    page.get_by_role("button", name="Try on this call").click()
    page.wait_for_load_state("networkidle")

    preview = page.locator("#preview")
    assert f"call #{call}" in preview.locator("h2").inner_text()
    flipped = preview.locator("#preview-changed tr[data-criterion=dead_air]")
    assert "differ" in (flipped.get_attribute("class") or "")
    cells = flipped.locator("td")
    assert (cells.nth(1).inner_text(), cells.nth(2).inner_text()) == ("pass", "fail")
    assert "dead_air" in page.locator("#preview-summary").inner_text()
    overall = preview.locator("tr[data-figure=overall] td")
    before, after = float(overall.nth(1).inner_text()), float(overall.nth(2).inner_text())
    assert after < before and overall.nth(3).inner_text().startswith("-")
    # The draft is still the one typed: nothing was saved by trying it.
    assert dead_air.get_by_label("max", exact=True).input_value() == "1"
    page.screenshot(path=str(live.shots / "scorecard-editor.png"), full_page=False)

    page.get_by_role("button", name="Save as version 2").click()
    page.wait_for_load_state("networkidle")
    assert "Saved as version 2" in page.locator("#saved").inner_text()
    assert (
        page.locator("fieldset.criterion[data-criterion=dead_air]")
        .get_by_label("max", exact=True)
        .input_value()
        == "1"
    )
    page.goto(f"{live.url}/scorecards")
    assert "v2" in page.locator("#scorecards tr[data-scorecard=default] td.latest").inner_text()


def test_admin_adds_an_alert_rule_from_its_page(page, live):
    login(page, live, live.world.admin)
    page.click("header nav a[href='/alert-rules']")
    page.wait_for_load_state("networkidle")
    page.select_option("#rule-kind select[name=kind]", "dead_air")
    page.get_by_role("button", name="Show its fields").click()
    page.wait_for_load_state("networkidle")
    form = page.locator("#new-rule")
    form.get_by_label("Name").fill("Dead air over 30 s")
    form.get_by_label("seconds").fill("30")
    form.get_by_role("button", name="Add rule").click()
    page.wait_for_load_state("networkidle")
    rule = page.locator("fieldset.rule[data-rule='Dead air over 30 s']")
    assert "dead air" in rule.locator("legend").inner_text()
    assert rule.locator("input[name=param_seconds]").input_value() == "30"
    # Switched off from the list, and on again.
    rule.get_by_role("button", name="Disable").click()
    page.wait_for_load_state("networkidle")
    rule = page.locator("fieldset.rule[data-rule='Dead air over 30 s']")
    assert "off" in rule.locator("legend").inner_text()
    rule.get_by_role("button", name="Enable").click()
    page.wait_for_load_state("networkidle")
    page.screenshot(path=str(live.shots / "alert-rules.png"), full_page=True)
    rule = page.locator("fieldset.rule[data-rule='Dead air over 30 s']")
    assert "on" in rule.locator("legend").inner_text().split()
