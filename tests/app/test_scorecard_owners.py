"""Scorecards and shopper forms belong to teams (issue 14, item 2): a global definition (the
built-in `default` among them) only an admin changes; a team's, its supervisors; the scorecard
that scores a call is chosen per team and call type; a team's card or form never reaches another
team's calls or visits; locking a month is an admin's act (tests/app/test_incentives.py)."""

from __future__ import annotations

from sqlmodel import select

from app.audit.models import AuditEvent
from app.calls.models import Call
from app.scorecards import service as scorecards

STRICT = """name: {name}
version: 1
criteria:
  - id: never
    label: Says a word nobody says
    dimension: competence
    kind: pattern
    pattern: "zzqxj"
    auto_fail: true
"""


def _teams(client, world) -> dict[str, int]:
    rows = client.get("/api/v1/teams", headers=world.admin.headers).json()
    return {t["name"]: t["id"] for t in rows}


def _card(client, headers, name: str, **extra):
    body = {"name": name, "definition": STRICT.format(name=name), **extra}
    return client.post("/api/v1/scorecards", headers=headers, json=body)


def _choose(client, headers, **body):
    return client.put("/api/v1/scorecards/choices", headers=headers, json=body)


def test_only_an_admin_changes_a_global_scorecard_or_form(client, world):
    default = client.get("/api/v1/scorecards", headers=world.admin.headers).json()[0]
    assert default["name"] == "default" and default["team_id"] is None
    text = client.get(f"/api/v1/scorecards/{default['id']}", headers=world.admin.headers).json()
    # The probe's attack: a supervisor posts an auto-fail-everything `default`.
    hostile = client.post(
        "/api/v1/scorecards",
        headers=world.sup_a.headers,
        json={"name": "default", "definition": STRICT.format(name="default")},
    )
    assert hostile.status_code == 403
    assert hostile.json()["detail"] == (
        "scorecard 'default' is shared by every team: only an admin may change it"
    )
    # Nor can a supervisor make a new global one, or claim `default` for their team.
    assert _card(client, world.sup_a.headers, "mine").status_code == 400
    teams = _teams(client, world)
    claim = _card(client, world.sup_a.headers, "default", team_id=teams["Team A"])
    assert claim.status_code == 409 and "belongs to every team" in claim.json()["detail"]
    edited = client.post(
        "/api/v1/scorecards",
        headers=world.admin.headers,
        json={"name": "default", "definition": text["definition"]},
    )
    assert edited.status_code == 201 and edited.json()["version"] == 2

    form = client.get("/api/v1/shopper/templates", headers=world.admin.headers).json()[0]
    new_form = {"definition": form["definition"].replace("Mystery-shopper visit", "Hostile")}
    refused = client.post("/api/v1/shopper/templates", headers=world.sup_a.headers, json=new_form)
    assert refused.status_code == 403 and "form 'default'" in refused.json()["detail"]
    ok = client.post("/api/v1/shopper/templates", headers=world.admin.headers, json=new_form)
    assert ok.status_code == 201 and ok.json()["team_id"] is None


def test_a_team_scorecard_is_its_supervisors_and_invisible_to_other_teams(client, world, session):
    teams = _teams(client, world)
    a, b = teams["Team A"], teams["Team B"]
    # A supervisor finds the id of the team they lead where they are told who they are.
    me = client.get("/api/v1/auth/me", headers=world.sup_a.headers).json()
    assert me["team_ids"] == [a]
    assert _card(client, world.sup_a.headers, "team-a", team_id=b).status_code == 404
    made = _card(client, world.sup_a.headers, "team-a", team_id=a)
    assert made.status_code == 201 and made.json()["team_id"] == a
    version_id = made.json()["id"]
    # Another team's supervisor can neither add a version nor learn whose name it is.
    taken = _card(client, world.sup_b.headers, "team-a", team_id=b)
    assert taken.status_code == 409
    assert taken.json()["detail"] == "the name 'team-a' is taken by another team's scorecard"
    again = _card(client, world.sup_a.headers, "team-a")  # the owner is kept
    assert again.status_code == 201 and again.json()["version"] == 2
    assert again.json()["team_id"] == a
    assert _card(client, world.admin.headers, "team-a").json()["team_id"] == a

    def names(person) -> set[str]:
        rows = client.get("/api/v1/scorecards", headers=person.headers).json()
        return {r["name"] for r in rows}

    assert names(world.sup_a) == names(world.a1) == names(world.admin) == {"default", "team-a"}
    assert names(world.sup_b) == names(world.b1) == {"default"}
    for person in (world.sup_b, world.b1):
        path = f"/api/v1/scorecards/{version_id}"
        assert client.get(path, headers=person.headers).status_code == 404
    rescore = client.post(
        f"/api/v1/scorecards/{version_id}/rescore",
        headers=world.sup_b.headers,
        json={"call_ids": [world.calls["b1_good"].id]},
    )
    assert rescore.status_code == 404
    # Not even an admin, who sees every call, scores team B's call with team A's card.
    both = [world.calls["b1_good"].id, world.calls["a1_good"].id]
    by_admin = client.post(
        f"/api/v1/scorecards/{version_id}/rescore",
        headers=world.admin.headers,
        json={"call_ids": both},
    )
    assert by_admin.status_code == 202 and by_admin.json()["queued"] == 1
    audited = session.exec(select(AuditEvent).where(AuditEvent.action == "scorecard_version")).all()
    assert [e.detail for e in audited] == [
        f"team-a v1 (team {a})",
        f"team-a v2 (team {a})",
        f"team-a v3 (team {a})",
    ]


def test_the_most_specific_choice_picks_a_call_s_scorecard(client, world, session):
    teams = _teams(client, world)
    a, b = teams["Team A"], teams["Team B"]
    assert _card(client, world.sup_a.headers, "team-a", team_id=a).status_code == 201
    assert _card(client, world.admin.headers, "org-sales").status_code == 201

    # Who may choose what.
    assert _choose(client, world.sup_a.headers, scorecard="team-a").status_code == 403
    assert _choose(client, world.sup_a.headers, team_id=b, scorecard="default").status_code == 404
    assert _choose(client, world.a1.headers, team_id=a, scorecard="team-a").status_code == 403
    # A team's card never scores another team's calls, whoever asks.
    for who in (world.admin, world.sup_b):
        r = _choose(client, who.headers, team_id=b, scorecard="team-a")
        assert r.status_code == 404 and r.json()["detail"] == (
            f"scorecard 'team-a' not found for team {b}"
        )
    r = _choose(client, world.admin.headers, scorecard="team-a")
    assert r.status_code == 404 and "among the global ones" in r.json()["detail"]

    team_choice = _choose(client, world.sup_a.headers, team_id=a, scorecard="team-a")
    assert team_choice.status_code == 200 and team_choice.json()["call_type"] is None
    org_sales = _choose(client, world.admin.headers, call_type="sales", scorecard="org-sales")
    assert org_sales.status_code == 200

    def chosen(team: int | None, call_type: str) -> str:
        return scorecards.chosen_name(session, team_id=team, call_type=call_type)

    # Team and type, then team, then type, then the organisation's; else `default`.
    assert chosen(a, "service") == chosen(a, "sales") == "team-a"
    assert chosen(b, "sales") == chosen(None, "sales") == "org-sales"
    assert chosen(b, "service") == "default"
    both = _choose(client, world.sup_a.headers, team_id=a, call_type="sales", scorecard="default")
    assert both.status_code == 200 and chosen(a, "sales") == "default"
    assert chosen(a, "service") == "team-a"
    # Choosing the same slot again replaces it.
    assert (
        _choose(
            client, world.sup_a.headers, team_id=a, call_type="sales", scorecard="team-a"
        ).json()["id"]
        == both.json()["id"]
    )
    assert chosen(a, "sales") == "team-a"

    # The call's own team and type decide, through its agent.
    a1_call = session.get(Call, world.calls["a1_good"].id)
    b1_call = session.get(Call, world.calls["b1_good"].id)
    assert scorecards.version_for_call(session, a1_call).name == "team-a"
    assert scorecards.version_for_call(session, b1_call).name == "default"

    listed = client.get("/api/v1/scorecards/choices", headers=world.sup_b.headers).json()
    assert [c["scorecard"] for c in listed] == ["org-sales"]  # B sees no choice of A's
    mine = {
        c["id"]
        for c in client.get("/api/v1/scorecards/choices", headers=world.sup_a.headers).json()
    }
    assert team_choice.json()["id"] in mine and len(mine) == 3
    path = f"/api/v1/scorecards/choices/{team_choice.json()['id']}"
    assert client.delete(path, headers=world.sup_b.headers).status_code == 404
    org = f"/api/v1/scorecards/choices/{org_sales.json()['id']}"
    assert client.delete(org, headers=world.sup_a.headers).status_code == 403
    assert client.delete(path, headers=world.sup_a.headers).status_code == 204
    assert chosen(a, "service") == "default"
    audited = session.exec(
        select(AuditEvent.detail).where(AuditEvent.action == "scorecard_choice")
    ).all()
    assert f"{a}:* -> team-a" in audited and f"{a}:* removed (was team-a)" in audited


def test_a_team_form_is_for_its_own_team_s_visits(client, world):
    teams = _teams(client, world)
    a = teams["Team A"]
    form = client.get("/api/v1/shopper/templates", headers=world.admin.headers).json()[0]
    text = form["definition"].replace("name: default", "name: team-a-visit", 1)
    made = client.post(
        "/api/v1/shopper/templates",
        headers=world.sup_a.headers,
        json={"definition": text, "team_id": a},
    )
    assert made.status_code == 201 and made.json()["team_id"] == a
    listed = client.get("/api/v1/shopper/templates", headers=world.sup_b.headers).json()
    assert [t["name"] for t in listed] == ["default"]
    visit = {"channel": "phone", "due": "2099-01-01", "template_id": made.json()["id"]}
    assert (
        client.post(
            "/api/v1/shopper/assignments",
            headers=world.sup_a.headers,
            json={"agent": "A1", **visit},
        ).status_code
        == 201
    )
    other = client.post(
        "/api/v1/shopper/assignments", headers=world.admin.headers, json={"agent": "B1", **visit}
    )
    assert other.status_code == 404
    assert other.json()["detail"] == f"form template {made.json()['id']} not found"
