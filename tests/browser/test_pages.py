"""The pages in a real browser: a supervisor reviews, an agent sees and disputes."""

from __future__ import annotations

from tests.app.world import PASSWORD


def login(page, live, person) -> None:  # type: ignore[no-untyped-def]
    page.goto(f"{live.url}/login")
    # By its label, as a person finds it: the admin logs in as `admin`, not an address.
    page.get_by_label("User name or e-mail").fill(person.email)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_load_state("networkidle")


def test_supervisor_seeks_the_audio_from_the_transcript_and_overrides(page, live):
    w = live.world
    login(page, live, w.sup_a)
    assert "/review-queue" in page.url
    # The auto-fail call waits at the top of the queue.
    first = page.locator("table.list tbody tr").first
    assert "auto-fail" in first.inner_text()
    page.screenshot(path=str(live.shots / "review-queue.png"), full_page=True)
    first.locator("a").click()
    page.wait_for_load_state("networkidle")
    call_id = w.calls["a1_promise"].id
    assert page.url.endswith(f"/calls/{call_id}")

    page.wait_for_function("document.getElementById('player').readyState >= 1")
    line = page.locator("#transcript .seg").nth(3)
    start = float(line.get_attribute("data-start"))
    assert start > 5
    line.click()
    page.wait_for_function(
        f"Math.abs(document.getElementById('player').currentTime - {start}) < 1.5"
    )
    # The line being spoken is highlighted, and agent and customer lines look different.
    page.wait_for_selector("#transcript .seg.speaking")
    assert page.locator("#transcript .seg.agent").count() > 0
    assert page.locator("#transcript .seg.customer").count() > 0
    page.evaluate("document.getElementById('player').pause()")
    page.screenshot(path=str(live.shots / "call.png"), full_page=True)

    overall_before = page.locator("tr.overall td").nth(1).inner_text()
    # Clear the auto-fail: the overall leaves 0.
    criterion = (
        page.locator("tr.miss[data-criterion]", has=page.locator(".tag.fail"))
        .locator("select")
        .first
    )
    name = criterion.get_attribute("name")
    criterion.select_option("pass")
    page.fill(f"input[name=reason__{name}]", "quoting the brochure is allowed")
    page.fill("textarea[name=coaching_note]", "Say 'the brochure says' first.")
    page.click("#review-form button[type=submit]")
    page.wait_for_load_state("networkidle")
    review = page.locator("#reviews article").first.inner_text()
    assert w.sup_a.email in review and "quoting the brochure is allowed" in review
    assert "reviewed" in page.locator("aside h2").first.inner_text()
    assert page.locator("tr.overall td").nth(2).inner_text() != overall_before


def test_agent_sees_own_scorecard_disputes_and_cannot_open_others(page, live):
    w = live.world
    login(page, live, w.a1)
    assert page.url.endswith("/me")
    assert "My scorecard" in page.inner_text("h1")
    rows = page.locator("#my-calls tbody tr")
    assert rows.count() == 2
    page.screenshot(path=str(live.shots / "my-scorecard.png"), full_page=True)
    # Another agent's call: 404, nothing of it shown.
    response = page.goto(f"{live.url}/calls/{w.calls['b1_good'].id}")
    assert response.status == 404
    assert "Not found" in page.inner_text("h1")
    # Dispute one's own call.
    page.goto(f"{live.url}/calls/{w.calls['a1_good'].id}")
    page.fill("textarea[name=reason]", "The greeting was there at 0:01")
    page.click("#disputes button[type=submit]")
    page.wait_for_load_state("networkidle")
    assert "open" in page.locator("#disputes article").first.inner_text()


def test_dashboard_and_alerts_at_a_glance(page, live):
    login(page, live, live.world.admin)
    page.goto(f"{live.url}/dashboard")
    assert page.locator(".tile").count() >= 6
    assert page.locator("svg.chart").count() >= 2
    page.screenshot(path=str(live.shots / "dashboard.png"), full_page=True)
    page.goto(f"{live.url}/alerts")
    # The supervisor's review above passed the promise: its auto-fail alert closed with it,
    # and the open ones remain to acknowledge.
    assert page.locator("tbody tr", has_text="auto-fail").count() == 0
    row = page.locator("tbody tr", has=page.locator("button")).first
    row.locator("button").click()
    page.wait_for_selector("tbody tr.acked")
    page.screenshot(path=str(live.shots / "alerts.png"), full_page=True)


def test_the_api_documentation_renders_with_no_way_out(page, live):  # type: ignore[no-untyped-def]
    # Every request that leaves this server is refused, as on an install with no internet; the
    # pages' policy keeps the browser from even trying (ReDoc's logo on cdn.redoc.ly).
    outside: list[str] = []
    blocked: list[str] = []
    page.on("console", lambda m: blocked.append(m.text) if "Content Security" in m.text else None)

    def only_here(route):  # type: ignore[no-untyped-def]
        if route.request.url.startswith(live.url):
            route.continue_()
        else:
            outside.append(route.request.url)
            route.abort()

    page.route("**/*", only_here)
    page.goto(f"{live.url}/docs")
    page.wait_for_selector(".opblock-tag", timeout=20_000)  # operations grouped by tag
    assert page.locator(".opblock").count() > 50
    page.goto(f"{live.url}/redoc")
    page.wait_for_selector("[data-section-id]", timeout=20_000)
    assert outside == []
    assert all("cdn.redoc.ly" in b for b in blocked), blocked  # nothing of their own refused


def test_a_supervisor_uploads_several_recordings_and_sees_each_outcome(page, live, tmp_path):
    import shutil

    from tests.conftest import DATA

    w = live.world
    login(page, live, w.sup_a)
    page.click("nav >> text=Upload")
    assert page.url.endswith("/upload")
    shutil.copy(DATA / "basic.flac", tmp_path / "monday-0915.flac")
    shutil.copy(DATA / "hold.flac", tmp_path / "monday-1002.flac")
    (tmp_path / "voicemail.wav").write_bytes(b"RIFF\x00\x00 not a wave file")
    page.set_input_files(
        "input[name=audio]",
        [str(tmp_path / n) for n in ("monday-0915.flac", "voicemail.wav", "monday-1002.flac")],
    )
    page.get_by_label("Agent", exact=True).fill("A2")
    page.select_option("select[name=call_type]", "sales")
    page.click("#upload-form button[type=submit]")
    rows = page.locator("#upload-results tbody tr")
    rows.nth(2).wait_for()
    assert page.locator("#upload-count").inner_text() == "3 of 3"
    assert page.locator("#upload-bar").evaluate("b => b.value") == 100
    texts = [rows.nth(i).inner_text() for i in range(3)]
    # One request per file: the bad one refuses only itself, and says why.
    assert "monday-0915.flac" in texts[0] and "#" in texts[0] and "received" in texts[0]
    assert "voicemail.wav" in texts[1] and "not a recognised audio format" in texts[1]
    assert "monday-1002.flac" in texts[2] and "#" in texts[2]
    page.screenshot(path=str(live.shots / "upload.png"), full_page=True)
    # The new call opens from its row, on the agent given.
    rows.nth(0).locator("a").click()
    page.wait_for_load_state("networkidle")
    assert "/calls/" in page.url and "A2" in page.content()


def test_a_search_lands_on_the_moment_in_the_player(page, live):
    w = live.world
    login(page, live, w.sup_a)
    page.click("nav >> text=Search")
    page.fill("input[name=q]", "refund")
    page.click("form[role=search] button[type=submit]")
    page.wait_for_load_state("networkidle")
    assert page.locator("#search-total").inner_text() == "2 moments found"
    assert page.locator("#hits mark").first.inner_text() == "refund"
    page.screenshot(path=str(live.shots / "search.png"), full_page=True)
    page.locator("#hits a").first.click()
    import time

    deadline = time.monotonic() + 15  # wait_for_function evaluates strings: the CSP says no
    while (at := page.evaluate("() => document.getElementById('player').currentTime")) < 22:
        assert time.monotonic() < deadline, f"the player stayed at {at}"
        time.sleep(0.1)
    assert 22.0 < at < 22.2
    # The segment said then is the one marked, in view.
    assert page.evaluate("() => document.querySelector('.seg:target').id") == "seg-4"
    assert "refund" in page.locator(".seg:target").inner_text()


def test_a_topic_is_made_in_the_browser_and_seen_on_the_call_and_the_dashboard(page, live):
    w = live.world
    login(page, live, w.sup_a)
    page.click("nav >> text=Topics")
    page.get_by_label("Name").fill("Refund")
    page.get_by_label("Words").fill("refund*")
    page.click("#topic-form button[type=submit]")
    page.wait_for_load_state("networkidle")
    assert "tagged 3 calls" in page.locator("#tagged").inner_text()
    row = page.locator("#topics tbody tr").filter(has_text="Refund")
    assert row.locator("td").nth(3).inner_text() == "2"  # the two of team A's calls
    page.screenshot(path=str(live.shots / "topics.png"), full_page=True)
    row.locator("a").click()  # the call list, filtered by the topic
    page.wait_for_load_state("networkidle")
    assert page.locator("table.list tbody tr").count() == 2
    page.locator("table.list tbody tr a").first.click()
    page.wait_for_load_state("networkidle")
    chip = page.locator("#call-topics button", has_text="Refund")
    chip.click()  # plays from the first mention
    assert page.evaluate("() => document.getElementById('player').currentTime") > 22
    page.goto(f"{live.url}/dashboard")
    trend = page.locator("#topic-trend")
    assert "Refund" in trend.inner_text()
    trend.scroll_into_view_if_needed()
    page.screenshot(path=str(live.shots / "dashboard-topics.png"), full_page=True)
