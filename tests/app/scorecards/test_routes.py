from __future__ import annotations

import pytest
from sqlmodel import select

from app.calls.models import Call, CallStatus
from app.jobs.models import Job
from app.scorecards.models import CallScore
from app.scorecards.service import current_version
from app.users.models import Role
from qa import default_path
from tests.app.calls.test_routes import upload


@pytest.fixture
def admin(users):
    return users.make(Role.admin)[1]


def test_default_scorecard_is_listed_from_the_start(client, admin):
    body = client.get("/api/v1/scorecards", headers=admin).json()
    assert [(v["name"], v["version"]) for v in body] == [("default", 1)]


def test_editing_a_scorecard_makes_a_new_version_and_keeps_the_old(client, admin):
    definition = default_path().read_text()
    first = client.post(
        "/api/v1/scorecards", headers=admin, json={"name": "default", "definition": definition}
    )
    second = client.post(
        "/api/v1/scorecards",
        headers=admin,
        json={"name": "default", "definition": definition.replace("max: 10\n", "max: 5\n")},
    )
    assert first.status_code == second.status_code == 201
    # Version 1 is the built-in default, stored by the migrations.
    assert (first.json()["version"], second.json()["version"]) == (2, 3)
    old = client.get(f"/api/v1/scorecards/{first.json()['id']}", headers=admin).json()
    assert old["definition"] == definition


def test_invalid_definition_is_422_with_line_and_reason(client, admin):
    broken = "name: broken\ncriteria:\n  - id: a\n    dimension: mood\n    kind: phrases\n"
    response = client.post(
        "/api/v1/scorecards", headers=admin, json={"name": "broken", "definition": broken}
    )
    assert response.status_code == 422
    assert "line 3: dimension 'mood'" in response.json()["detail"]
    mismatch = client.post(
        "/api/v1/scorecards",
        headers=admin,
        json={"name": "other", "definition": default_path().read_text()},
    )
    assert mismatch.status_code == 400 and "named 'default'" in mismatch.json()["detail"]


def test_agents_and_keys_without_manage_cannot_edit_or_rescore(client, users, admin):
    _, agent = users.make(Role.agent, agent="laura")
    response = client.post(
        "/api/v1/scorecards", headers=agent, json={"name": "default", "definition": "x"}
    )
    assert response.status_code == 403
    assert (
        client.post(
            "/api/v1/scorecards/1/rescore", headers=agent, json={"call_ids": [1]}
        ).status_code
        == 403
    )


def test_rescore_queues_a_job_per_scored_call(client, admin, session):
    call_id = upload(client, admin).json()["id"]
    call = session.get(Call, call_id)
    call.status = CallStatus.scored
    session.add(call)
    version = current_version(session)
    session.flush()
    response = client.post(
        f"/api/v1/scorecards/{version.id}/rescore", headers=admin, json={"call_ids": [call_id]}
    )
    assert response.status_code == 202
    assert response.json() == {"queued": 1, "stage": f"score:{version.id}"}
    stages = {j.stage for j in session.exec(select(Job).where(Job.call_id == call_id))}
    assert f"score:{version.id}" in stages
    again = client.post(
        f"/api/v1/scorecards/{version.id}/rescore", headers=admin, json={"call_ids": [call_id]}
    )
    assert again.json()["queued"] == 0  # already queued: no duplicate
    nothing = client.post(f"/api/v1/scorecards/{version.id}/rescore", headers=admin, json={})
    assert nothing.status_code == 400


def _scored(session, call_id, version_id, overall, empathy, auto_fail=False):
    detail = {
        "scorecard": "default",
        "scorecard_version": 1,
        "overall": overall,
        "dimensions": {
            "reliability": 80,
            "responsiveness": 80,
            "empathy": empathy,
            "competence": 80,
            "personal_touch": 80,
        },
        "script_compliance": 90,
        "auto_fail": auto_fail,
        "auto_fail_reasons": [],
        "criteria": [],
        "metrics": {},
        "sentiment": {},
    }
    session.add(
        CallScore(
            call_id=call_id,
            scorecard_version_id=version_id,
            overall=overall,
            empathy=empathy,
            auto_fail=auto_fail,
            detail=detail,
        )
    )
    session.flush()


def test_call_list_filters_on_latest_score_and_detail_shows_history(client, admin, session):
    version = current_version(session)
    a = upload(client, admin).json()["id"]
    b = upload(client, admin).json()["id"]
    _scored(session, a, version.id, 90, 85)
    _scored(session, b, version.id, 0, 40, auto_fail=True)

    def ids(**params):
        return sorted(
            c["id"]
            for c in client.get("/api/v1/calls", headers=admin, params=params).json()["items"]
        )

    assert ids(min_score=50) == [a]
    assert ids(max_score=10) == [b]
    assert ids(below="empathy:50") == [b]
    assert ids(auto_fail="true") == [b] and ids(auto_fail="false") == [a]
    bad = client.get("/api/v1/calls", headers=admin, params={"below": "happiness:3"})
    assert bad.status_code == 400
    detail = client.get(f"/api/v1/calls/{a}", headers=admin).json()
    assert detail["score"]["overall"] == 90 and detail["score"]["dimensions"]["empathy"] == 85
    assert [h["scorecard_version"] for h in detail["score_history"]] == [1]


def test_old_scores_stay_readable_in_full_and_only_to_those_who_may_see_the_call(
    client, admin, session, users
):
    from app.scorecards.service import create_version
    from tests.app.world import ADMIN

    v1 = current_version(session)
    v2 = create_version(
        session, name="default", definition=default_path().read_text(), principal=ADMIN
    )
    call_id = upload(client, admin, agent="laura").json()["id"]
    _scored(session, call_id, v1.id, 70, 60)
    _scored(session, call_id, v2.id, 90, 80)
    detail = client.get(f"/api/v1/calls/{call_id}", headers=admin).json()
    assert [h["scorecard_version"] for h in detail["score_history"]] == [1, 2]
    old_id = detail["score_history"][0]["id"]
    old = client.get(f"/api/v1/calls/{call_id}/scores/{old_id}", headers=admin).json()
    assert old["overall"] == 70 and old["dimensions"]["empathy"] == 60
    assert old["scorecard_version"] == 1
    assert client.get(f"/api/v1/calls/{call_id}/scores/99999", headers=admin).status_code == 404
    _, other_agent = users.make(Role.agent, agent="david")
    assert (
        client.get(f"/api/v1/calls/{call_id}/scores/{old_id}", headers=other_agent).status_code
        == 404
    )
