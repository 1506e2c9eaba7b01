"""Reviews, disputes, calibration and agreement through the API, on both databases."""

from sqlmodel import select

from app.reviews.models import Review


def _criteria(client, world, call_id, who=None):
    body = client.get(f"/api/v1/calls/{call_id}", headers=(who or world.sup_a).headers).json()
    return {c["id"]: c for c in body["score"]["criteria"]}, body


def _card(client, person):
    return client.get("/api/v1/me/scorecard", headers=person.headers).json()


def test_override_needs_a_reason_and_changes_nothing_when_refused(client, world, session):
    call = world.calls["a1_good"].id
    crit, _ = _criteria(client, world, call)
    passed = next(k for k, c in crit.items() if c["applicable"] and c["passed"])
    r = client.post(
        f"/api/v1/calls/{call}/reviews",
        headers=world.sup_a.headers,
        json={"overrides": [{"target": "criterion", "key": passed, "value": False, "reason": ""}]},
    )
    assert r.status_code == 422 and "reason" in r.text
    r = client.post(
        f"/api/v1/calls/{call}/reviews",
        headers=world.sup_a.headers,
        json={
            "overrides": [{"target": "criterion", "key": "no_such", "value": False, "reason": "x"}]
        },
    )
    assert r.status_code == 400 and "no_such" in r.json()["detail"]
    assert session.exec(select(Review)).all() == []


def test_review_becomes_the_agents_score_with_who_when_before_after(client, world):
    call = world.calls["a1_good"].id
    crit, before = _criteria(client, world, call)
    target = next(k for k, c in crit.items() if c["applicable"] and c["passed"])
    machine = _card(client, world.a1)
    r = client.post(
        f"/api/v1/calls/{call}/reviews",
        headers=world.sup_a.headers,
        json={
            "overrides": [
                {
                    "target": "criterion",
                    "key": target,
                    "value": False,
                    "reason": "the greeting was cut off",
                },
                {"target": "dimension", "key": "empathy", "value": 40, "reason": "flat tone"},
            ],
            "coaching_note": "Slow down at the start.",
        },
    )
    assert r.status_code == 201, r.text
    review = r.json()
    assert review["reviewer"] == world.sup_a.email and review["created_at"]
    assert {(o["key"], o["before"], o["after"]) for o in review["overrides"]} == {
        (target, True, False),
        ("empathy", before["score"]["dimensions"]["empathy"], 40.0),
    }
    assert review["overall"] < before["score"]["overall"]

    card = _card(client, world.a1)
    row = next(c for c in card["calls"] if c["call_id"] == call)
    assert row["reviewed"] and row["overall"] == review["overall"]
    assert row["dimensions"]["empathy"] == 40 and row["coaching_notes"] == [
        "Slow down at the start."
    ]
    assert (
        card["summary"]["scores"]["overall"]["mean"]
        < machine["summary"]["scores"]["overall"]["mean"]
    )
    # The call list filters and sorts on the reviewed score too.
    listed = client.get(
        "/api/v1/calls", params={"below": "empathy:50"}, headers=world.sup_a.headers
    ).json()
    assert call in [c["id"] for c in listed["items"]]

    # The agent acknowledges; another agent cannot.
    assert (
        client.post(
            f"/api/v1/reviews/{review['id']}/acknowledge", headers=world.a2.headers
        ).status_code
        == 404
    )
    ack = client.post(f"/api/v1/reviews/{review['id']}/acknowledge", headers=world.a1.headers)
    assert ack.status_code == 200 and ack.json()["acknowledged_at"]


def test_supervisor_of_another_team_cannot_review(client, world):
    call = world.calls["a1_good"].id
    r = client.post(
        f"/api/v1/calls/{call}/reviews", headers=world.sup_b.headers, json={"overrides": []}
    )
    assert r.status_code == 404
    r = client.post(
        f"/api/v1/calls/{call}/reviews", headers=world.a1.headers, json={"overrides": []}
    )
    assert r.status_code == 403


def test_dispute_rejected_then_accepted_with_correction(client, world):
    call = world.calls["a1_promise"].id
    crit, body = _criteria(client, world, call)
    assert body["score"]["auto_fail"]
    af = next(k for k, c in crit.items() if c["auto_fail"] and not c["passed"])
    # Only the call's own agent disputes.
    assert (
        client.post(
            f"/api/v1/calls/{call}/disputes", headers=world.a2.headers, json={"reason": "not mine"}
        ).status_code
        == 404
    )
    assert (
        client.post(
            f"/api/v1/calls/{call}/disputes", headers=world.sup_a.headers, json={"reason": "xx x"}
        ).status_code
        == 403
    )
    d = client.post(
        f"/api/v1/calls/{call}/disputes",
        headers=world.a1.headers,
        json={"reason": "I quoted the brochure, I did not promise"},
    )
    assert d.status_code == 201 and d.json()["status"] == "open"
    assert (
        client.post(
            f"/api/v1/calls/{call}/disputes", headers=world.a1.headers, json={"reason": "again"}
        ).status_code
        == 409
    )
    dispute = d.json()["id"]
    assert (
        client.post(
            f"/api/v1/disputes/{dispute}/decision",
            headers=world.sup_b.headers,
            json={"accept": False, "reason": "not so"},
        ).status_code
        == 404
    )
    assert (
        client.post(
            f"/api/v1/disputes/{dispute}/decision",
            headers=world.sup_a.headers,
            json={"accept": True, "reason": "agreed"},
        ).status_code
        == 400
    )  # no fix
    rejected = client.post(
        f"/api/v1/disputes/{dispute}/decision",
        headers=world.sup_a.headers,
        json={"accept": False, "reason": "the promise is on the recording"},
    )
    assert rejected.status_code == 200 and rejected.json()["status"] == "rejected"
    assert (
        client.post(
            f"/api/v1/disputes/{dispute}/decision",
            headers=world.sup_a.headers,
            json={"accept": False, "reason": "again"},
        ).status_code
        == 409
    )

    second = client.post(
        f"/api/v1/calls/{call}/disputes",
        headers=world.a1.headers,
        json={"reason": "please listen at 0:40 again"},
    ).json()["id"]
    accepted = client.post(
        f"/api/v1/disputes/{second}/decision",
        headers=world.sup_a.headers,
        json={
            "accept": True,
            "reason": "listened again, agreed",
            "overrides": [
                {"target": "criterion", "key": af, "value": True, "reason": "brochure quote"}
            ],
        },
    )
    assert accepted.status_code == 200 and accepted.json()["review_id"]
    # Both sides see the whole history.
    for who in (world.a1, world.sup_a):
        detail = client.get(f"/api/v1/calls/{call}", headers=who.headers).json()
        assert [d["status"] for d in detail["disputes"]] == ["rejected", "accepted"]
        assert detail["reviewed_score"]["kind"] == "dispute"
        assert not detail["reviewed_score"]["auto_fail"]
        assert detail["reviewed_score"]["overall"] > 0
    assert (
        client.get(
            "/api/v1/disputes", params={"status": "open"}, headers=world.sup_a.headers
        ).json()
        == []
    )


def test_agreement_reports_overrides_per_criterion_with_call_counts(client, world):
    good, cold = world.calls["a1_good"].id, world.calls["a2_cold"].id
    crit, _ = _criteria(client, world, good)
    target = next(k for k, c in crit.items() if c["applicable"] and c["passed"])
    client.post(
        f"/api/v1/calls/{good}/reviews",
        headers=world.sup_a.headers,
        json={"overrides": [{"target": "criterion", "key": target, "value": False, "reason": "x"}]},
    )
    client.post(
        f"/api/v1/calls/{cold}/reviews", headers=world.sup_a.headers, json={"overrides": []}
    )
    report = client.get("/api/v1/reviews/agreement", headers=world.sup_a.headers).json()
    assert report["reviewed_calls"] == 2 and report["criteria_overridden"] == 1
    row = next(r for r in report["rows"] if r["criterion"] == target)
    assert row["overridden"] == 1 and row["calls"] == 2 and row["share_overridden"] == 0.5
    assert report["rows"][0]["criterion"] == target  # most overridden first
    # Team B's supervisor sees none of team A's reviews.
    assert (
        client.get("/api/v1/reviews/agreement", headers=world.sup_b.headers).json()[
            "reviewed_calls"
        ]
        == 0
    )
    csv = client.get(
        "/api/v1/reviews/agreement", headers={**world.sup_a.headers, "Accept": "text/csv"}
    )
    assert csv.headers["content-type"].startswith("text/csv")
    assert csv.text.splitlines()[0] == "criterion,label,calls,overridden,share_overridden"


def test_calibration_is_blind_until_you_score(client, world):
    call = world.calls["a1_good"].id
    crit, _ = _criteria(client, world, call)
    applicable = [k for k, c in crit.items() if c["applicable"]]
    outsider = client.post(
        "/api/v1/calibrations",
        headers=world.sup_a.headers,
        json={"call_id": call, "reviewers": [world.sup_a.email, world.sup_b.email]},
    )
    assert outsider.status_code == 400 and world.sup_b.email in outsider.json()["detail"]
    r = client.post(
        "/api/v1/calibrations",
        headers=world.sup_a.headers,
        json={"call_id": call, "reviewers": [world.sup_a.email, world.admin.email]},
    )
    assert r.status_code == 201, r.text
    cal = r.json()
    assert cal["results_visible"] is False and cal["rows"] == []
    # Not a party: 404.
    assert (
        client.get(f"/api/v1/calibrations/{cal['id']}", headers=world.sup_b.headers).status_code
        == 404
    )
    missing = client.post(
        f"/api/v1/calibrations/{cal['id']}/verdicts",
        headers=world.sup_a.headers,
        json={"verdicts": {applicable[0]: True}},
    )
    assert missing.status_code == 400 and "missing" in missing.json()["detail"]
    mine = {k: crit[k]["passed"] for k in applicable}
    flipped = dict(mine, **{applicable[0]: not mine[applicable[0]]})
    after = client.post(
        f"/api/v1/calibrations/{cal['id']}/verdicts",
        headers=world.sup_a.headers,
        json={"verdicts": mine},
    ).json()
    assert after["results_visible"] and after["machine_agreement"][world.sup_a.email] == 1.0
    assert after["reviewer_agreement"] is None  # only one reviewer has scored
    client.post(
        f"/api/v1/calibrations/{cal['id']}/verdicts",
        headers=world.admin.headers,
        json={"verdicts": flipped},
    )
    full = client.get(f"/api/v1/calibrations/{cal['id']}", headers=world.sup_a.headers).json()
    differ = [r["criterion"] for r in full["rows"] if not r["reviewers_agree"]]
    assert differ == [applicable[0]]
    assert full["reviewer_agreement"] == round(1 - 1 / len(applicable), 3)
    # A calibration never becomes the agent's score.
    card = client.get("/api/v1/me/scorecard", headers=world.a1.headers).json()
    assert not next(c for c in card["calls"] if c["call_id"] == call)["reviewed"]
