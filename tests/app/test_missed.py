"""The dashboard's most-missed criteria (issue 15, item 6): counted where a criterion applied,
with a reviewer's verdict in place of the machine's, per team and per agent, scoped, and with
the calls behind each count for the drill-down."""

from __future__ import annotations

from app.web.session import CSRF_COOKIE, SESSION_COOKIE, make_csrf


def _report(client, person, **params):  # type: ignore[no-untyped-def]
    r = client.get("/api/v1/dashboard/missed", params=params, headers=person.headers)
    assert r.status_code == 200, r.text
    return r.json()


def _expected(client, person, call_ids):  # type: ignore[no-untyped-def]
    """Straight from each call's score: criterion -> (judged, missed calls)."""
    counts: dict[str, list] = {}
    for call_id in call_ids:
        score = client.get(f"/api/v1/calls/{call_id}", headers=person.headers).json()["score"]
        for c in score["criteria"]:
            if c["applicable"]:
                entry = counts.setdefault(c["id"], [0, []])
                entry[0] += 1
                if not c["passed"]:
                    entry[1].append(call_id)
    return counts


def test_the_most_missed_criteria_of_a_team_and_its_agents(client, world):
    team_a = [world.calls[k].id for k in ("a1_good", "a1_promise", "a2_cold")]
    report = _report(client, world.sup_a)
    expected = _expected(client, world.sup_a, team_a)
    assert report["criteria"], "team A's calls miss something (a promise, no empathy)"
    for m in report["criteria"]:
        judged, missed = expected[m["criterion"]]
        assert (m["judged"], sorted(m["calls"])) == (judged, sorted(missed))
        assert m["missed"] == len(missed) and m["share"] == len(missed) / judged
    shares = [m["share"] for m in report["criteria"]]
    assert shares == sorted(shares, reverse=True)
    every_missed = {k for k, (_, calls) in expected.items() if calls}
    listed = {m["criterion"] for m in report["criteria"]}
    assert listed <= every_missed and (len(every_missed) > 10 or listed == every_missed)
    # Per agent: each one's own calls only.
    by_agent = {a["agent"]: a for a in report["agents"]}
    assert set(by_agent) <= {"A1", "A2"}
    for m in by_agent["A2"]["missed"]:
        assert m["calls"] == [world.calls["a2_cold"].id]
    # Another team's supervisor counts another team's calls.
    other = _report(client, world.sup_b)
    assert all(set(m["calls"]) <= {world.calls["b1_good"].id} for m in other["criteria"])
    assert client.get("/api/v1/dashboard/missed", headers=world.a1.headers).status_code == 403


def test_a_reviewer_s_verdict_replaces_the_machine_s(client, world):
    cold = world.calls["a2_cold"].id
    before = {m["criterion"]: m for m in _report(client, world.sup_a)["criteria"]}
    missed_here = next(k for k, m in before.items() if cold in m["calls"])
    r = client.post(
        f"/api/v1/calls/{cold}/reviews",
        headers=world.sup_a.headers,
        json={
            "overrides": [
                {"target": "criterion", "key": missed_here, "value": True, "reason": "heard it"}
            ]
        },
    )
    assert r.status_code in (200, 201), r.text
    after = {m["criterion"]: m for m in _report(client, world.sup_a)["criteria"]}
    assert after.get(missed_here, {"missed": 0})["missed"] == before[missed_here]["missed"] - 1


def test_the_dashboard_lists_them_and_drills_down_to_the_calls(client, world):
    client.cookies.set(SESSION_COOKIE, world.sup_a.token)
    client.cookies.set(CSRF_COOKIE, make_csrf(client.app.state.settings, world.sup_a.token))
    page = client.get("/dashboard")
    assert page.status_code == 200 and 'id="missed"' in page.text
    top = _report(client, world.sup_a)["criteria"][0]
    assert f"/dashboard/missed?criterion={top['criterion']}" in page.text
    drill = client.get("/dashboard/missed", params={"criterion": top["criterion"]})
    assert drill.status_code == 200
    assert f"Missed on {top['missed']} of the {top['judged']} calls" in drill.text
    for call_id in top["calls"]:
        assert f'href="/calls/{call_id}"' in drill.text
    none = client.get("/dashboard/missed", params={"criterion": "no_such"})
    assert none.status_code == 200 and "No call in this view missed" in none.text
