"""Coaching in a real browser: a supervisor coaches an agent on one of their calls and a
criterion, the agent finds it under My coaching and acknowledges it, and the supervisor sees
that they did."""

from __future__ import annotations

from datetime import date, timedelta

from tests.app.world import PASSWORD


def login(page, live, person) -> None:  # type: ignore[no-untyped-def]
    page.context.clear_cookies()
    page.goto(f"{live.url}/login")
    page.get_by_label("User name or e-mail").fill(person.email)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_load_state("networkidle")


def test_a_supervisor_coaches_and_the_agent_acknowledges(page, live):
    w = live.world
    call = w.calls["a1_promise"]
    login(page, live, w.sup_a)
    # Where the call page's "Coach on this call" leads: that call and its agent chosen.
    page.goto(f"{live.url}/coaching/new?call={call.id}")
    assert "A1" in page.inner_text("main p")
    linked = page.locator(f"#coaching-calls input[value='{call.id}']")
    assert linked.is_checked()
    greeting = page.locator("#focus-criteria label", has=page.locator("input[value=greeting]"))
    label = greeting.inner_text().strip()
    assert label and label != "greeting"
    greeting.locator("input").check()
    page.fill("textarea[name=note]", "Open with the greeting and your name.")
    follow_up = date.today() + timedelta(days=14)
    page.fill("input[name=follow_up]", follow_up.isoformat())
    page.click("#coaching-form button[type=submit]")
    page.wait_for_load_state("networkidle")
    path = page.url.removeprefix(live.url)
    assert path.startswith("/coaching/") and path.removeprefix("/coaching/").isdigit()
    assert page.inner_text("#coaching-status") == "open"
    assert label in page.inner_text("#progress")
    assert page.locator(f"#linked-calls a[href='/calls/{call.id}']").count() == 1

    login(page, live, w.a1)
    page.click("nav >> text=My coaching")
    page.wait_for_load_state("networkidle")
    row = page.locator("#coaching tbody tr").filter(has_text=label)
    assert row.count() == 1 and "open" in row.inner_text()
    row.locator("a").first.click()
    page.wait_for_load_state("networkidle")
    assert page.url.endswith(path)
    page.fill("#acknowledge-form textarea[name=comment]", "I will say my name first.")
    page.click("#acknowledge-form button[type=submit]")
    page.wait_for_load_state("networkidle")
    assert page.inner_text("#coaching-status") == "acknowledged"
    assert page.locator("#acknowledge-form").count() == 0
    # Another agent does not find it.
    login(page, live, w.a2)
    assert page.goto(f"{live.url}{path}").status == 404

    login(page, live, w.sup_a)
    page.click("nav >> text=Coaching")
    page.wait_for_load_state("networkidle")
    row = page.locator("#coaching tbody tr").filter(has_text=label)
    assert "acknowledged" in row.inner_text()
    row.locator("a").first.click()
    page.wait_for_load_state("networkidle")
    assert "I will say my name first." in page.inner_text("#agent-comment")
    assert page.inner_text("#acknowledged") != "not yet"
    page.screenshot(path=str(live.shots / "coaching.png"), full_page=True)
