"""The pages people open on a phone, at 390 px: nothing wider than the screen, and no finding
of axe-core (labels, contrast, names of controls, table headers...) on any of them (issue 15,
item 7). axe-core comes from the axe-playwright-python wheel, which carries its axe.min.js."""

from __future__ import annotations

import pytest
from axe_playwright_python.sync_playwright import Axe

from tests.app.world import PASSWORD

WIDTH = 390
AXE = Axe()


@pytest.fixture
def phone(browser, live):  # type: ignore[no-untyped-def]
    context = browser.new_context(
        viewport={"width": WIDTH, "height": 844}, device_scale_factor=2, is_mobile=True
    )
    p = context.new_page()
    p.set_default_timeout(15_000)
    yield p
    context.close()


def _login(page, live, person) -> None:  # type: ignore[no-untyped-def]
    page.goto(f"{live.url}/login")
    page.get_by_label("User name or e-mail").fill(person.email)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_load_state("networkidle")


def _check(page, live, path: str) -> list[str]:  # type: ignore[no-untyped-def]
    page.goto(f"{live.url}{path}")
    page.wait_for_load_state("networkidle")
    return _findings(page, path)


def _findings(page, path: str) -> list[str]:  # type: ignore[no-untyped-def]
    """What is wrong with the page as it is now (`path` names it in the findings)."""
    problems = []
    width = page.evaluate("() => document.documentElement.scrollWidth")
    if width > WIDTH:
        wide = page.evaluate(
            """() => Array.from(document.querySelectorAll('body *'))
                .filter(e => e.getBoundingClientRect().right > 391)
                .slice(0, 5).map(e => e.tagName + '.' + e.className)"""
        )
        problems.append(f"{path}: {width} px wide ({', '.join(wide)})")
    results = AXE.run(page)
    for v in results.response["violations"]:  # any impact, minor ones too
        where = "; ".join(str(n["target"][0]) for n in v["nodes"][:3])
        problems.append(f"{path}: {v['id']} ({v['impact']}): {v['help']} at {where}")
    return problems


def _coaching(page, live) -> int:  # type: ignore[no-untyped-def]
    """A coaching session of A1's with a follow-up long past (so it shows as overdue)."""
    w = live.world
    call = w.calls["a1_promise"]
    r = page.request.post(
        f"{live.url}/api/v1/coaching",
        headers=w.sup_a.headers,
        data={
            "agent_id": call.agent_id,
            "focus": ["greeting", "recap"],
            "calls": [call.id],
            "note": "Greet first, then say your name.",
            "follow_up": "2020-01-01",
        },
    )
    assert r.status == 201, r.text()
    return int(r.json()["id"])


def test_a_supervisor_s_pages_fit_a_phone_and_pass_axe(phone, live):
    w = live.world
    _login(phone, live, w.sup_a)
    coaching = _coaching(phone, live)
    # A review assigned to the supervisor, so that "My reviews" has a row to fit.
    r = phone.request.post(
        f"{live.url}/api/v1/review-assignments",
        headers=w.sup_a.headers,
        data={"call_id": w.calls["a1_promise"].id, "assignee": w.sup_a.email},
    )
    assert r.status == 201, r.text()
    problems = []
    for path in (
        "/review-queue",
        "/my-reviews",
        f"/calls/{w.calls['a1_promise'].id}",
        "/calls",
        "/dashboard",
        "/search?q=refund",
        "/search?q=reimbursed+in+72+hours&mode=meaning",
        "/topics",
        "/upload",
        "/alerts",
        "/coaching",
        f"/coaching/new?call={w.calls['a1_promise'].id}",
        f"/coaching/{coaching}",
        "/scorecards",
        "/scorecards/default/edit",
        "/scorecards/default/yaml",
        "/alert-rules",
    ):
        problems += _check(phone, live, path)
    # A draft tried on a call: the before/after tables fit too.
    _check(phone, live, "/scorecards/default/edit")
    phone.get_by_role("button", name="Try on this call").click()
    phone.wait_for_load_state("networkidle")
    assert phone.locator("#preview").count() == 1
    problems += _findings(phone, "/scorecards/default/edit (tried on a call)")
    assert not problems, "\n".join(problems)


def test_an_agent_s_pages_fit_a_phone_and_pass_axe(phone, live):
    w = live.world
    _login(phone, live, w.a1)
    coaching = _coaching(phone, live)
    problems = []
    for path in (
        "/me",
        "/me/incentives",
        f"/calls/{w.calls['a1_good'].id}",
        "/disputes",
        "/coaching",
        f"/coaching/{coaching}",
    ):
        problems += _check(phone, live, path)
    assert not problems, "\n".join(problems)


def test_the_login_and_an_admin_s_pages_fit_a_phone_and_pass_axe(phone, live):
    problems = _check(phone, live, "/login")
    _login(phone, live, live.world.admin)
    for path in ("/users", "/audit", "/incentives", "/shopper", "/alert-rules?kind=weekly_below"):
        problems += _check(phone, live, path)
    assert not problems, "\n".join(problems)
    phone.goto(f"{live.url}/calls/{live.world.calls['a1_promise'].id}")
    phone.wait_for_load_state("networkidle")
    phone.screenshot(path=str(live.shots / "call-mobile.png"), full_page=False)
