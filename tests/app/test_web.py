"""Web pages without a browser: login, cookies, CSRF, scope, errors, CSV safety."""

import re

from app.csvexport import safe_cell, to_csv
from app.web.session import CSRF_COOKIE, SESSION_COOKIE
from tests.app.world import PASSWORD


def _login(client, email, password=PASSWORD):
    client.cookies.clear()
    page = client.get("/login")
    csrf = re.search(r'name="csrf" value="([^"]+)"', page.text).group(1)
    return client.post(
        "/login",
        data={"email": email, "password": password, "csrf": csrf, "next": "/calls"},
        follow_redirects=False,
    )


def test_login_sets_a_safe_session_cookie(client, world):
    r = _login(client, world.sup_a.email)
    assert r.status_code == 303 and r.headers["location"] == "/calls"
    cookie = next(h for h in r.headers.get_list("set-cookie") if h.startswith(SESSION_COOKIE))
    assert "HttpOnly" in cookie and "samesite=lax" in cookie.lower()
    assert client.get("/calls").status_code == 200


def test_wrong_password_keeps_the_email_and_says_so(client, world):
    r = _login(client, world.sup_a.email, "wrong-password")
    assert r.status_code == 401 and "Incorrect email or password" in r.text
    assert world.sup_a.email in r.text
    assert SESSION_COOKIE not in r.cookies


def test_forms_without_the_csrf_token_are_refused(client, world):
    _login(client, world.sup_a.email)
    call = world.calls["a1_good"].id
    r = client.post(f"/calls/{call}/review", data={"coaching_note": "x"}, follow_redirects=False)
    assert r.status_code == 403 and "security token" in r.text
    r = client.post(
        f"/calls/{call}/review",
        data={"coaching_note": "x", "csrf": "forged"},
        follow_redirects=False,
    )
    assert r.status_code == 403
    # A login form posted from elsewhere (no token) is refused as well.
    client.cookies.clear()
    r = client.post("/login", data={"email": world.sup_a.email, "password": PASSWORD})
    assert r.status_code == 403


def test_open_redirect_is_not_possible(client, world):
    client.cookies.clear()
    page = client.get("/login")
    csrf = client.cookies.get(CSRF_COOKIE)
    r = client.post(
        "/login",
        data={
            "email": world.a1.email,
            "password": PASSWORD,
            "csrf": csrf,
            "next": "//evil.example/x",
        },
        follow_redirects=False,
    )
    assert r.headers["location"] == "/"
    del page


def test_pages_render_for_each_role_and_scope_answers_404(client, world):
    a1_call, b1_call = world.calls["a1_good"].id, world.calls["b1_good"].id
    _login(client, world.sup_a.email)
    for path in (
        "/review-queue",
        "/calls",
        f"/calls/{a1_call}",
        "/dashboard",
        "/alerts",
        "/disputes",
        "/agreement",
        f"/agents/{world.calls['a1_good'].agent_id}",
    ):
        assert client.get(path).status_code == 200, path
    page = client.get(f"/calls/{a1_call}").text
    assert 'id="player"' in page and 'class="seg agent' in page and "Save review" in page
    assert client.get(f"/calls/{b1_call}").status_code == 404
    assert client.get("/audit").status_code == 403
    _login(client, world.a1.email)
    me = client.get("/me")
    assert me.status_code == 200 and "My scorecard" in me.text
    assert "Save review" not in client.get(f"/calls/{a1_call}").text
    assert client.get(f"/calls/{b1_call}").status_code == 404
    assert client.get("/dashboard").status_code == 403


def test_review_from_the_web_form_changes_the_agents_page(client, world):
    call = world.calls["a1_good"].id
    _login(client, world.sup_a.email)
    csrf = client.cookies.get(CSRF_COOKIE)
    missing_reason = client.post(
        f"/calls/{call}/review",
        data={"csrf": csrf, "dimension__empathy": "20"},
        follow_redirects=False,
    )
    assert missing_reason.status_code == 400 and "say why" in missing_reason.text
    ok = client.post(
        f"/calls/{call}/review",
        data={
            "csrf": csrf,
            "dimension__empathy": "20",
            "reason__dimension__empathy": "cold",
            "coaching_note": "Acknowledge the customer first.",
        },
        follow_redirects=False,
    )
    assert ok.status_code == 303
    _login(client, world.a1.email)
    page = client.get("/me").text
    assert "Acknowledge the customer first." in page and "reviewed" in page


def test_csv_cells_cannot_run_as_formulas():
    assert safe_cell('=HYPERLINK("http://x")') == '\'=HYPERLINK("http://x")'
    assert safe_cell("+1") == "'+1" and safe_cell("@cmd") == "'@cmd"
    assert safe_cell(-3.5) == "-3.5" and safe_cell(None) == ""
    assert to_csv(["a"], [["-2+3"]]).splitlines()[1] == "'-2+3"


def test_call_list_export_is_safe(client, world, session):
    call = world.calls["a1_good"]
    call.customer_ref = "=cmd|' /C calc'!A0"
    session.add(call)
    session.commit()
    _login(client, world.sup_a.email)
    text = client.get("/calls.csv").text
    assert "'=cmd" in text and "\n=cmd" not in text and ",=cmd" not in text


def test_incentive_pages(client, world):
    _login(client, world.sup_a.email)
    page = client.get("/incentives", params={"period": "2026-11"})
    assert page.status_code == 200 and "Ann One" in page.text and "Bea One" not in page.text
    assert "Does better service sell more?" in page.text
    csv = client.get("/incentives.csv", params={"period": "2026-11"})
    assert csv.text.splitlines()[0].startswith("agent,name,team")
    # A supervisor recomputes but does not lock: that freezes every team's lines.
    assert 'id="compute-form"' in page.text and 'id="lock-form"' not in page.text
    csrf = client.cookies.get(CSRF_COOKIE)
    refused = client.post("/incentives/2026-11/lock", data={"csrf": csrf}, follow_redirects=False)
    assert refused.status_code == 403
    _login(client, world.admin.email)
    page = client.get("/incentives", params={"period": "2026-11"}).text
    assert 'name="confirm" value="yes" required' in page and "for every team" in page
    csrf = client.cookies.get(CSRF_COOKIE)
    unconfirmed = client.post("/incentives/2026-11/lock", data={"csrf": csrf})
    assert "tick the box to confirm" in unconfirmed.text and "Locked" not in unconfirmed.text
    locked = client.post(
        "/incentives/2026-11/lock", data={"csrf": csrf, "confirm": "yes"}, follow_redirects=False
    )
    assert locked.status_code == 303
    assert "Locked" in client.get("/incentives", params={"period": "2026-11"}).text
    _login(client, world.a1.email)
    mine = client.get("/me/incentives", params={"period": "2026-11"})
    assert mine.status_code == 200 and "The rules, one by one" in mine.text
    assert "auto-fail" in mine.text  # why A1 does not qualify
    assert client.get("/incentives").status_code == 403


def test_every_list_page_exports_csv(client, world):
    _login(client, world.sup_a.email)
    for path in (
        "/calls.csv",
        "/dashboard.csv",
        "/alerts.csv",
        "/disputes.csv",
        "/review-queue.csv",
        "/incentives.csv?period=2026-11",
    ):
        r = client.get(path)
        assert r.status_code == 200 and r.headers["content-type"].startswith("text/csv"), path
    page = client.get("/incentives", params={"period": "2026-11", "group": "team"})
    assert "Team A" in page.text


def test_the_call_page_and_the_api_list_the_spans_silenced_for_card_data(client, world, session):
    from sqlmodel import select

    from app.calls.models import Transcript

    call = world.calls["a1_good"].id
    transcript = session.exec(select(Transcript).where(Transcript.call_id == call)).one()
    transcript.audio_redactions = [[13.25, 21.5], [65.0, 69.0]]
    session.add(transcript)
    session.flush()
    _login(client, world.sup_a.email)
    page = client.get(f"/calls/{call}").text
    assert "Card data silenced in the recording" in page
    shown = page[page.find("Card data") :][:400]
    assert 'data-seek="13.25">0:13.2–0:21.5</button>' in shown and "1:05.0–1:09.0" in shown, shown
    detail = client.get(f"/api/v1/calls/{call}", headers=world.sup_a.headers).json()
    assert detail["transcript"]["audio_redactions"] == [[13.25, 21.5], [65.0, 69.0]]
    other = world.calls["a1_promise"].id
    assert "Card data silenced" not in client.get(f"/calls/{other}").text


def test_the_download_form_asks_why_and_is_only_shown_to_roles_that_may_download(client, world):
    call = world.calls["a1_good"].id
    _login(client, world.sup_a.email)
    page = client.get(f"/calls/{call}").text
    assert 'class="download-form"' in page and 'name="reason" required' in page
    _login(client, world.a1.email)
    page = client.get(f"/calls/{call}").text
    assert 'id="player"' in page and "download-form" not in page
    refused = client.get(f"/calls/{call}/audio", params={"download": True, "reason": "x"})
    assert refused.status_code == 403


def test_a_csrf_token_works_only_for_the_session_it_was_made_for(client, world):
    from app.web.session import make_csrf

    settings = client.app.state.settings

    def compute(token: str):
        client.cookies.clear()  # only these two: no cookie an earlier answer set
        client.cookies.set(SESSION_COOKIE, world.sup_b.token)
        client.cookies.set(CSRF_COOKIE, token)
        return client.post(
            "/incentives/2026-11/compute", data={"csrf": token}, follow_redirects=False
        )

    client.cookies.set(SESSION_COOKIE, world.sup_b.token)
    # Matching cookie and field are not enough: a token planted in the browser, one made for
    # another session, or an unsigned one is refused.
    assert compute(make_csrf(settings, world.sup_a.token)).status_code == 403
    assert compute(make_csrf(settings, None)).status_code == 403
    assert compute("anything").status_code == 403
    assert compute(make_csrf(settings, world.sup_b.token)).status_code == 303
    # A page seen with a token that is not bound to the session sets one that is.
    client.cookies.clear()
    client.cookies.set(SESSION_COOKIE, world.sup_b.token)
    client.cookies.set(CSRF_COOKIE, "anything")
    page = client.get("/incentives", params={"period": "2026-11"})
    fresh = page.cookies.get(CSRF_COOKIE)
    assert fresh and fresh != "anything" and f'value="{fresh}"' in page.text
    assert compute(fresh).status_code == 303
