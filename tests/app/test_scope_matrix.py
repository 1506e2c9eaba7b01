"""Role × route × owner: every route that names an object (a call, a review, a dispute, a
calibration, an alert, an agent) is tried by every kind of person, on the API and the web
pages. Someone outside the object's scope gets 404 (or 403 when their role can never do that),
never the object; someone inside never gets 404. The routes come from the app itself, so a new
route is in the matrix the day it is added (and fails until it has an example request)."""

from __future__ import annotations

import re

import pytest
from fastapi.routing import APIRoute

from app.web.session import CSRF_COOKIE, SESSION_COOKIE, make_csrf
from tests.routes import all_routes

# Request bodies for the routes that need one: (method, path) -> JSON (API) or form (web).
BODIES: dict[tuple[str, str], dict] = {
    ("POST", "/api/v1/incentives/periods/{period}/compute"): {},
    ("POST", "/incentives/{period}/compute"): {},
    ("PATCH", "/api/v1/calls/{call_id}"): {"customer_ref": "C-9"},
    ("POST", "/api/v1/calls/{call_id}/reviews"): {"overrides": []},
    ("POST", "/api/v1/calls/{call_id}/disputes"): {"reason": "please listen again"},
    ("POST", "/api/v1/disputes/{dispute_id}/decision"): {
        "accept": False,
        "reason": "the score stands",
    },
    ("POST", "/api/v1/calibrations/{calibration_id}/verdicts"): {"verdicts": {}},
    ("POST", "/api/v1/teams/{team_id}/leads"): {"email": "nobody@cc.test"},
    ("PUT", "/api/v1/agents/{external_id}/team"): {"team": "Team A"},  # as it was
    ("PATCH", "/api/v1/alert-rules/{rule_id}"): {"enabled": True},
    ("POST", "/api/v1/scorecards/{version_id}/rescore"): {"call_ids": [1]},
    ("POST", "/calls/{call_id}/review"): {},
    ("POST", "/calls/{call_id}/dispute"): {"reason": "please listen again"},
    ("POST", "/disputes/{dispute_id}/decision"): {
        "decision": "reject",
        "decision_reason": "the score stands",
    },
    ("POST", "/calls/{call_id}/calibrations"): {"reviewers": []},
    ("POST", "/calibrations/{calibration_id}/verdicts"): {},
    ("POST", "/api/v1/shopper/assignments/{assignment_id}/link"): {},
    ("POST", "/api/v1/shop/{token}"): {"answers": {}},
    ("POST", "/shop/{token}"): {},
    ("POST", "/api/v1/incentives/periods/{period}/lock"): {},
    ("POST", "/incentives/{period}/lock"): {},
    ("PATCH", "/api/v1/users/{user_id}"): {},
    ("POST", "/users/{user_id}"): {},
    ("POST", "/users/{user_id}/password"): {},
    ("DELETE", "/api/v1/calls/{call_id}"): {},
    ("POST", "/api/v1/holds/{hold_id}/release"): {},
    ("DELETE", "/api/v1/retention-policies/{policy_id}"): {},
    ("DELETE", "/api/v1/scorecards/choices/{choice_id}"): {},
    ("PATCH", "/api/v1/topics/{topic_id}"): {"name": "Matrix", "query": "refund"},
    ("DELETE", "/api/v1/topics/{topic_id}"): {},
    ("POST", "/topics/{topic_id}/delete"): {},
    ("DELETE", "/api/v1/review-assignments/{review_assignment_id}"): {},
    ("PATCH", "/api/v1/coaching/{coaching_id}"): {"note": "matrix"},
    ("POST", "/coaching/{coaching_id}"): {"note": "matrix"},
    ("POST", "/coaching/{coaching_id}/done"): {"done": "0"},
    ("POST", "/scorecards/{name}/edit"): {},
    ("POST", "/scorecards/{name}/yaml"): {},
    ("POST", "/alert-rules/{rule_id}"): {},
    ("POST", "/alert-rules/{rule_id}/enabled"): {"enabled": "1"},  # as it was
}

# Who is inside the scope of each object; everyone else must not reach it. Routes for admins
# only (teams, rules, scorecards) are not about an owner: they are checked by role alone.
INSIDE = {
    "call_id": {"admin", "sup_a", "a1"},
    "agent_id": {"admin", "sup_a", "a1"},
    "dispute_id": {"admin", "sup_a", "a1"},
    "calibration_id": {"sup_a", "admin"},
    "alert_id": {"admin", "sup_a", "a1"},
    "score_id": {"admin", "sup_a", "a1"},
    "assignment_id": {"admin", "sup_a"},
    "coaching_id": {"admin", "sup_a", "a1"},
}
# The review acknowledgement belongs to the agent alone: to anyone else it does not exist.
INSIDE_BY_ROUTE = {
    "/api/v1/reviews/{review_id}/acknowledge": {"a1"},
    "/reviews/{review_id}/acknowledge": {"a1"},
    "/api/v1/coaching/{coaching_id}/acknowledge": {"a1"},
    "/coaching/{coaching_id}/acknowledge": {"a1"},
}
# The shopper's link is public: it is checked by tests/app/test_shopper.py.
ROLE_ONLY = {
    "team_id",
    "external_id",
    "rule_id",
    "version_id",
    "token",
    "period",
    "user_id",
    "hold_id",
    "policy_id",
    "choice_id",  # whose choice it is: tests/app/test_scorecard_owners.py
    "topic_id",  # the organisation's; who may change one: tests/app/test_topics.py
    # Deleted by the first one inside, so a 404 after is right: tests/app/test_assignments.py
    "review_assignment_id",
    "name",  # a scorecard's; whose it is: tests/app/test_editors.py
}
PEOPLE = ("admin", "sup_a", "sup_b", "a1", "a2")


@pytest.fixture
def objects(client, world):
    call = world.calls["a1_promise"].id
    detail = client.get(f"/api/v1/calls/{call}", headers=world.sup_a.headers).json()
    review = client.post(
        f"/api/v1/calls/{call}/reviews", headers=world.sup_a.headers, json={"overrides": []}
    ).json()["id"]
    dispute = client.post(
        f"/api/v1/calls/{call}/disputes",
        headers=world.a1.headers,
        json={"reason": "not what I said"},
    ).json()["id"]
    calibration = client.post(
        "/api/v1/calibrations",
        headers=world.sup_a.headers,
        json={"call_id": call, "reviewers": [world.sup_a.email, world.admin.email]},
    ).json()["id"]
    alert = client.get("/api/v1/alerts", headers=world.admin.headers).json()["items"]
    alert_id = next(a["id"] for a in alert if a["call_id"] == call)
    visit = client.post(
        "/api/v1/shopper/assignments",
        headers=world.sup_a.headers,
        json={"agent": "A1", "channel": "phone", "due": "2099-01-01"},
    ).json()
    # Accounts are admins' alone; the one tried is nobody in PEOPLE (a reset must not end
    # the sessions the matrix goes on with).
    spare = client.post(
        "/api/v1/users",
        headers=world.admin.headers,
        json={"email": "spare@cc.test", "password": "long-enough", "role": "supervisor"},
    ).json()["id"]
    # The call is under legal hold, so an admin's DELETE is refused (409) and the matrix goes
    # on with it; the hold released is another one.
    hold = {"reason": "matrix", "kind": "call"}
    client.post("/api/v1/holds", headers=world.admin.headers, json={**hold, "value": str(call)})
    spare_hold = client.post(
        "/api/v1/holds", headers=world.admin.headers, json={**hold, "value": "999999"}
    ).json()["id"]
    policy = client.put(
        "/api/v1/retention-policies",
        headers=world.admin.headers,
        json={"call_type": "sales", "audio_days": None},
    ).json()["id"]
    choice = client.put(
        "/api/v1/scorecards/choices",
        headers=world.admin.headers,
        json={"call_type": "sales", "scorecard": "default"},
    ).json()["id"]
    topic = client.post(
        "/api/v1/topics", headers=world.admin.headers, json={"name": "Refund", "query": "refund"}
    ).json()["id"]
    coaching = client.post(
        "/api/v1/coaching",
        headers=world.sup_a.headers,
        json={"agent_id": world.calls["a1_promise"].agent_id, "focus": ["greeting"]},
    ).json()["id"]
    assignment = client.post(
        "/api/v1/review-assignments",
        headers=world.sup_a.headers,
        json={"call_id": call, "assignee": world.sup_a.email},
    ).json()["id"]
    return {
        "coaching_id": coaching,
        "topic_id": topic,
        "review_assignment_id": assignment,
        "choice_id": choice,
        "policy_id": policy,
        "user_id": spare,
        "hold_id": spare_hold,
        "call_id": call,
        "score_id": detail["score"]["id"],
        "review_id": review,
        "assignment_id": visit["id"],
        "token": visit["link"].removeprefix("/shop/"),
        "dispute_id": dispute,
        "calibration_id": calibration,
        "alert_id": alert_id,
        "agent_id": world.calls["a1_promise"].agent_id,
        "team_id": 1,
        "external_id": "A1",
        "rule_id": 1,
        "version_id": 1,
        "name": "default",
        "period": "2030-01",
    }


def _routes(app) -> list[tuple[str, APIRoute]]:
    out = []
    for route in all_routes(app):
        if isinstance(route, APIRoute) and "{" in route.path:
            out.extend((m, route) for m in sorted(route.methods))
    assert len(out) > 25
    return out


def _send(client, world, who: str, method: str, route: APIRoute, objects: dict) -> int:
    path = re.sub(r"\{(\w+)\}", lambda m: str(objects[m.group(1)]), route.path)
    body = BODIES.get((method, route.path))
    person = getattr(world, who)
    client.cookies.clear()
    if route.path.startswith("/api/"):
        r = client.request(
            method, path, headers=person.headers, json=body if method != "GET" else None
        )
    else:
        client.cookies.set(SESSION_COOKIE, person.token)
        token = make_csrf(client.app.state.settings, person.token)
        client.cookies.set(CSRF_COOKIE, token)
        data = {**(body or {}), "csrf": token} if method != "GET" else None
        r = client.request(method, path, data=data, follow_redirects=False)
    client.cookies.clear()
    return r.status_code


def test_role_route_owner_matrix(client, app, world, objects):
    problems = []
    cells = {"api": 0, "page": 0}
    for method, route in _routes(app):
        if (
            method != "GET"
            and (method, route.path) not in BODIES
            and not route.path.endswith(("/acknowledge", "/retry"))
        ):
            problems.append(f"no example body for {method} {route.path}: add one to BODIES")
            continue
        params = set(re.findall(r"\{(\w+)\}", route.path))
        owned = params - ROLE_ONLY
        for who in PEOPLE:
            status = _send(client, world, who, method, route, objects)
            cells["api" if route.path.startswith("/api/") else "page"] += 1
            if status >= 500:
                problems.append(f"{who} {method} {route.path}: {status}")
                continue
            if not owned:
                continue
            inside = INSIDE_BY_ROUTE.get(route.path) or set.intersection(
                *(INSIDE[p] for p in owned)
            )
            if who in inside and status == 404:
                problems.append(f"{who} {method} {route.path}: 404 inside scope")
            if who not in inside and status not in (403, 404):
                problems.append(f"{who} {method} {route.path}: {status} outside scope")
    print(f"\nmatrix: {cells['api']} API and {cells['page']} page cells, {len(problems)} open")
    assert not problems, "\n".join(problems)


def test_lists_hold_only_what_is_in_scope(client, world):
    a1_calls = {world.calls["a1_good"].id, world.calls["a1_promise"].id}
    b1_call = world.calls["b1_good"].id

    def ids(person, path, key="id"):
        body = client.get(path, headers=person.headers).json()
        items = body["items"] if isinstance(body, dict) else body
        return {i[key] for i in items}

    assert ids(world.a1, "/api/v1/calls") == a1_calls
    assert ids(world.a2, "/api/v1/calls") == {world.calls["a2_cold"].id}
    assert b1_call not in ids(world.sup_a, "/api/v1/calls")
    assert ids(world.sup_b, "/api/v1/calls") == {b1_call}
    assert len(ids(world.admin, "/api/v1/calls")) == 4
    assert ids(world.sup_a, "/api/v1/agents", "external_id") == {"A1", "A2"}
    assert ids(world.a1, "/api/v1/agents", "external_id") == {"A1"}
    assert {
        a["agent"]
        for a in client.get("/api/v1/alerts", headers=world.sup_b.headers).json()["items"]
    } <= {"B1"}
    queue = {
        i["call_id"] for i in client.get("/api/v1/review-queue", headers=world.sup_b.headers).json()
    }
    assert queue <= {b1_call}
    dash = client.get("/api/v1/dashboard", headers=world.sup_a.headers).json()
    assert {a["agent"] for a in dash["agents"]} == {"A1", "A2"} and dash["calls"] == 3
    # Someone else's team is not found, on the API as on the pages (one scope helper).
    ids = {
        t["name"]: t["id"] for t in client.get("/api/v1/teams", headers=world.admin.headers).json()
    }
    for path in ("/api/v1/dashboard", "/api/v1/calls", "/dashboard", "/calls"):
        client.cookies.clear()
        if not path.startswith("/api/"):
            client.cookies.set(SESSION_COOKIE, world.sup_a.token)
        response = client.get(
            path,
            params={"team": ids["Team B"]},
            headers=world.sup_a.headers,
            follow_redirects=False,
        )
        client.cookies.clear()
        assert response.status_code == 404, (path, response.status_code)
    mine = client.get("/api/v1/calls", params={"team": ids["Team A"]}, headers=world.sup_a.headers)
    assert mine.status_code == 200 and mine.json()["total"] == 3
