"""Mystery shoppers through the API: assignments, one-time links, validation, secrecy, rate
limits, scoring on the agent's scorecard, reports and the comparison with recordings."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from tests.scorecards.test_shopper_forms import GOOD


def _assign(client, world, **body):
    payload = {"agent": "A1", "channel": "phone", "due": "2099-12-31", **body}
    r = client.post("/api/v1/shopper/assignments", headers=world.sup_a.headers, json=payload)
    assert r.status_code == 201, r.text
    return r.json()


def _api_link(link: str) -> str:
    return "/api/v1" + link


def test_link_opens_only_its_form_once(client, world):
    visit = _assign(client, world, notes="Ask about moving house")
    link = visit["link"]
    form = client.get(_api_link(link))
    assert form.status_code == 200
    body = form.json()
    assert body["notes"] == "Ask about moving house" and len(body["questions"]) == 17
    # Nothing about the agent, the team or any call is in the form.
    page = client.get(link)
    # The page's random CSRF token and the link's own random token may contain any letters
    # ("A1" among them, one run in a hundred): leave both out of the check.
    html = page.text.replace(
        page.cookies.get("callqa_csrf") or client.cookies.get("callqa_csrf") or "\0", ""
    ).replace(link.removeprefix("/shop/"), "")
    for secret in ("A1", "Ann One", "Team A", "sup.a@cc.test"):
        assert secret not in form.text and secret not in html
    sent = client.post(_api_link(link), json={"answers": GOOD})
    assert sent.status_code == 201 and sent.json()["overall"] == 100
    again = client.post(_api_link(link), json={"answers": GOOD})
    assert again.status_code == 410 and "already been used" in again.json()["detail"]
    assert client.get(link).status_code == 410
    assert client.get(_api_link(link)).status_code == 410


def test_forged_or_altered_links_reveal_nothing(client, world):
    link = _assign(client, world)["link"]
    other = _assign(client, world, agent="A2")["link"]
    assignment_id, secret, signature = link.removeprefix("/shop/").split(".")
    other_id = other.removeprefix("/shop/").split(".")[0]
    for forged in (
        f"/shop/{other_id}.{secret}.{signature}",  # another visit, same secret
        f"/shop/{assignment_id}.{secret}x.{signature}",
        f"/shop/{assignment_id}.{secret}.{'0' * 32}",
        "/shop/garbage",
    ):
        r = client.get(_api_link(forged))
        assert r.status_code == 404 and r.json() == {"detail": "this link is not valid"}
    # The link is not a credential anywhere else.
    token = link.removeprefix("/shop/")
    for path in (
        "/api/v1/calls",
        f"/api/v1/calls/{world.calls['a1_good'].id}",
        "/api/v1/shopper/assignments",
        "/api/v1/me/scorecard",
    ):
        assert client.get(path, headers={"Authorization": f"Bearer {token}"}).status_code == 401
    # Renewing a link kills the old one.
    renewed = client.post(
        f"/api/v1/shopper/assignments/{assignment_id}/link", headers=world.sup_a.headers
    ).json()["link"]
    assert client.get(_api_link(link)).status_code == 404
    assert client.get(_api_link(renewed)).status_code == 200


def test_expired_link_answers_410(client, world, session):
    from app.shopper.models import ShopperAssignment

    visit = _assign(client, world)
    row = session.get(ShopperAssignment, visit["id"])
    row.expires_at = datetime.now(UTC) - timedelta(minutes=1)
    session.add(row)
    session.commit()
    r = client.post(_api_link(visit["link"]), json={"answers": GOOD})
    assert r.status_code == 410 and "expired" in r.json()["detail"]


def test_validation_errors_name_each_question_and_store_nothing(client, world, session):
    from sqlmodel import select

    from app.shopper.models import ShopperSubmission

    link = _assign(client, world)["link"]
    answers = dict(GOOD, understood=9)
    del answers["greeted"]
    r = client.post(
        _api_link(link), json={"answers": answers, "contact_at": "2099-01-01T10:00:00Z"}
    )
    assert r.status_code == 422
    assert r.json()["errors"] == {
        "understood": "choose from 1 to 5",
        "greeted": "an answer is required",
        "contact_at": "the contact cannot be in the future",
    }
    assert session.exec(select(ShopperSubmission)).all() == []
    assert client.post(_api_link(link), json={"answers": GOOD}).status_code == 201


def test_submissions_are_rate_limited_per_link_and_per_address(client, world, settings):
    settings.shopper_attempts_per_link = 3
    link = _assign(client, world)["link"]
    codes = [client.post(_api_link(link), json={"answers": {}}).status_code for _ in range(4)]
    assert codes == [422, 422, 422, 429]
    settings.shopper_attempts_per_address = 5
    other = _assign(client, world)["link"]
    codes = [client.post(_api_link(other), json={"answers": {}}).status_code for _ in range(3)]
    assert codes == [422, 422, 429]  # 3 counted above + 2 here reach the 5 per address
    assert client.post("/api/v1/shop/1.x.y", json={"answers": {}}).status_code == 429


def test_visit_shows_on_the_scorecard_as_its_own_source(client, world, settings):
    link = _assign(client, world)["link"]
    low = dict(GOOD, felt_valued=1, used_your_name="no", thanked="no", understood=2)
    client.post(_api_link(link), json={"answers": low})
    card = client.get("/api/v1/me/scorecard", headers=world.a1.headers).json()
    sources = {s["source"]: s for s in card["sources"]}
    assert sources["shopper"]["overall"]["n"] == 1
    assert sources["automatic"]["overall"]["n"] == 2 and sources["review"]["overall"]["n"] == 0
    assert sources["shopper"]["dimensions"]["personal_touch"] < 50
    assert len(card["shopper_visits"]) == 1
    # Weighted by the calls (or visits) behind each source: two scored calls, one visit.
    parts = [
        (s["overall"]["n"], s["overall"]["mean"]) for s in card["sources"] if s["overall"]["n"]
    ]
    expected = sum(n * m for n, m in parts) / sum(n for n, _ in parts)
    assert card["blended_overall"] == round(expected, 1)
    assert expected != round(sum(m for _, m in parts) / len(parts), 1)  # not the plain mean
    # Weighting the shopper source more moves the blend toward it.
    settings.source_weights = {"automatic": 1.0, "review": 1.0, "shopper": 3.0}
    heavier = client.get("/api/v1/me/scorecard", headers=world.a1.headers).json()
    shop = sources["shopper"]["overall"]["mean"]
    assert abs(heavier["blended_overall"] - shop) < abs(card["blended_overall"] - shop)
    # Another agent sees none of it.
    other = client.get("/api/v1/me/scorecard", headers=world.a2.headers).json()
    assert other["shopper_visits"] == []


def test_team_visit_matched_to_its_recording_is_compared_with_the_machine(client, world):
    call = world.calls["a2_cold"]
    team_a = next(
        t["id"]
        for t in client.get("/api/v1/teams", headers=world.admin.headers).json()
        if t["name"] == "Team A"
    )
    link = _assign(client, world, agent=None, team=team_a, channel="phone")["link"]
    contact = (call.started_at + timedelta(minutes=4)).isoformat()
    sent = client.post(_api_link(link), json={"answers": GOOD, "contact_at": contact})
    assert sent.json()["matched_call"] is True
    # Matched to A2's call: the visit counts for A2.
    card = client.get("/api/v1/me/scorecard", headers=world.a2.headers).json()
    assert card["shopper_visits"][0]["matched_call_id"] == call.id
    cmp = client.get("/api/v1/shopper/comparison", headers=world.sup_a.headers).json()
    [row] = cmp["rows"]
    machine = client.get(f"/api/v1/calls/{call.id}", headers=world.sup_a.headers).json()
    empathy = machine["score"]["dimensions"]["empathy"]
    assert row["call_id"] == call.id and row["difference"]["empathy"] == round(100 - empathy, 1)
    assert cmp["mean_difference"]["empathy"]["n"] == 1
    assert (
        client.get("/api/v1/shopper/comparison", headers=world.sup_b.headers).json()["rows"] == []
    )
    report = client.get(
        "/api/v1/shopper/report", params={"group": "team"}, headers=world.sup_a.headers
    ).json()
    assert report[0]["group"] == "Team A" and report[0]["visits"] == 1
    by_channel = client.get(
        "/api/v1/shopper/report", params={"group": "channel"}, headers=world.admin.headers
    ).json()
    assert by_channel[0]["group"] == "phone"


def test_assignment_scope_and_input_errors(client, world):
    r = client.post(
        "/api/v1/shopper/assignments",
        headers=world.sup_b.headers,
        json={"agent": "A1", "channel": "phone", "due": "2099-01-01"},
    )
    assert r.status_code == 404
    r = client.post(
        "/api/v1/shopper/assignments",
        headers=world.sup_a.headers,
        json={"agent": "A1", "channel": "fax", "due": "2099-01-01"},
    )
    assert r.status_code == 400 and "channel" in r.json()["detail"]
    r = client.post(
        "/api/v1/shopper/assignments",
        headers=world.sup_a.headers,
        json={"agent": "A1", "channel": "phone", "due": "2000-01-01"},
    )
    assert r.status_code == 400 and "past" in r.json()["detail"]
    assert (
        client.post(
            "/api/v1/shopper/assignments",
            headers=world.a1.headers,
            json={"agent": "A1", "channel": "phone", "due": "2099-01-01"},
        ).status_code
        == 403
    )
    assert client.get("/api/v1/shopper/assignments", headers=world.sup_b.headers).json() == []


def test_templates_are_versioned(client, world):
    first = client.get("/api/v1/shopper/templates", headers=world.admin.headers).json()
    assert [t["version"] for t in first] == [1]
    bad = client.post(
        "/api/v1/shopper/templates",
        headers=world.admin.headers,
        json={"definition": "name: default\nquestions: []"},
    )
    assert bad.status_code == 400 and "line" in bad.json()["detail"]
    text = first[0]["definition"].replace("title: Mystery-shopper visit", "title: Visit v2")
    second = client.post(
        "/api/v1/shopper/templates", headers=world.admin.headers, json={"definition": text}
    )
    assert second.status_code == 201 and second.json()["version"] == 2
    visit = _assign(client, world)
    assert client.get(_api_link(visit["link"])).json()["title"] == "Visit v2"


def test_a_failed_submission_counts_against_the_rate_limit_and_stores_nothing_else(
    client, world, session
):
    from sqlalchemy import func
    from sqlmodel import select

    from app.shopper.models import ShopperAssignment, ShopperAttempt, ShopperSubmission

    visit = _assign(client, world)
    link = visit["link"]

    def attempts() -> int:
        return session.exec(
            select(func.count())
            .select_from(ShopperAttempt)
            .where(ShopperAttempt.assignment_id == visit["id"])
        ).one()

    def submissions() -> list[ShopperSubmission]:
        session.expire_all()
        return list(session.exec(select(ShopperSubmission)))

    assert client.post(_api_link(link), json={"answers": {}}).status_code == 422
    assert attempts() == 1 and submissions() == []
    # The page: the same, with the form shown again.
    page = client.post(link, data={"q__greeted": "yes"})
    assert page.status_code == 422 and attempts() == 2 and submissions() == []
    # A submission that fails after it wrote (another one won the race for the link): what it
    # wrote is rolled back, its attempt is kept.
    session.add(ShopperSubmission(assignment_id=visit["id"], channel="phone", answers={}))
    session.commit()
    lost = client.post(_api_link(link), json={"answers": GOOD})
    assert lost.status_code == 410 and "already been used" in lost.json()["detail"]
    assert attempts() == 3 and len(submissions()) == 1
    assert session.get(ShopperAssignment, visit["id"]).used_at is None


def test_the_link_to_send_names_the_public_address(client, world):
    # Without CALLQA_PUBLIC_URL: the address this request came to.
    visit = _assign(client, world)
    assert visit["url"] == "http://testserver" + visit["link"]
    # Behind a proxy, or served on 127.0.0.1, that address is no use to a shopper outside.
    app = client.app
    app.state.settings = app.state.settings.model_copy(  # type: ignore[attr-defined]
        update={"public_url": "https://qa.example.com/"}
    )
    visit = _assign(client, world)
    assert visit["url"] == "https://qa.example.com" + visit["link"]
    assert visit["link"].startswith("/shop/")
    renewed = client.post(
        f"/api/v1/shopper/assignments/{visit['id']}/link", headers=world.sup_a.headers
    ).json()
    assert renewed["url"] == "https://qa.example.com" + renewed["link"] != visit["url"]
