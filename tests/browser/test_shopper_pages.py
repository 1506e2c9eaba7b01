"""A supervisor makes a link; a shopper with no account fills the form on a phone-sized screen
in a private window; the link then answers 410; the agent's scorecard shows the visit."""

from __future__ import annotations

from tests.browser.test_pages import login
from tests.scorecards.test_shopper_forms import GOOD


def test_shopper_fills_a_fresh_link_once(browser, live):  # type: ignore[no-untyped-def]
    w = live.world
    supervisor = browser.new_context(viewport={"width": 1360, "height": 900})
    page = supervisor.new_page()
    login(page, live, w.sup_a)
    page.goto(f"{live.url}/shopper")
    page.select_option("select[name=target]", "agent:A1")
    page.select_option("select[name=channel]", "phone")
    page.fill("input[name=due]", "2099-12-31")
    page.fill("input[name=notes]", "Ask how to move your contract")
    page.click("#assign-form button[type=submit]")
    link = page.input_value("#link")
    assert "/shop/" in link
    page.screenshot(path=str(live.shots / "shopper-assignments.png"), full_page=True)

    # A private window: no cookies, no account, a phone's screen.
    shopper = browser.new_context(viewport={"width": 390, "height": 844}, is_mobile=True)
    form = shopper.new_page()
    form.goto(link)
    assert "Ask how to move your contract" in form.inner_text("main")
    # Nothing of the agent, the team or the supervisor (the page's random CSRF token may
    # contain any letters, so the visible text and the links are what is checked).
    shown = form.inner_text("body") + " ".join(
        form.eval_on_selector_all("a", "els => els.map(e => e.href)")
    )
    for secret in ("A1", "Ann One", "Team A", w.sup_a.email):
        assert secret not in shown
    # First a mistake: the error names the question and what was typed stays.
    form.fill("input[name=q__wait_minutes]", "a while")
    form.click("button[type=submit]")
    assert "give a number" in form.inner_text("#q-wait_minutes")
    assert form.input_value("input[name=q__wait_minutes]") == "a while"
    for qid, value in GOOD.items():
        field = f"[name=q__{qid}]"
        if form.locator(f"input[type=radio]{field}").count():
            form.check(f"input[type=radio]{field}[value='{value}']")
        else:
            form.fill(f"input{field}", str(value))
    form.fill("textarea[name=q__comments]", "Very helpful")
    form.screenshot(path=str(live.shots / "shopper-form-mobile.png"), full_page=True)
    form.click("button[type=submit]")
    assert "Thank you" in form.inner_text("h1")
    again = form.goto(link)
    assert again.status == 410 and "already been used" in form.inner_text("main")
    shopper.close()

    page.goto(f"{live.url}/agents/{w.calls['a1_good'].agent_id}")
    row = page.locator("#sources tr[data-source=shopper]")
    assert "n=1" in row.inner_text()
    assert page.locator("#visits tbody tr").count() == 1
    page.screenshot(path=str(live.shots / "scorecard-sources.png"), full_page=True)
    supervisor.close()
