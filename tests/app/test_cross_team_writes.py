"""Cross-team writes and oracles (issue 14, item 5): a supervisor cannot put calls on another
team's agent, import outcomes onto another team's calls, or learn another team's call ids and
status from the duplicate answer or the import report; out of scope answers as unknown."""

from __future__ import annotations

from decimal import Decimal

from tests.conftest import DATA

CONVERSATION = {
    "started_at": "2026-11-20T10:00:00+01:00",
    "channel": "chat",
    "utterances": [
        {"speaker": "agent", "start": 0, "end": 2, "text": "Hello, how can I help?"},
        {"speaker": "customer", "start": 3, "end": 5, "text": "My bill is wrong."},
    ],
}


def _post(client, headers, **body):
    return client.post("/api/v1/conversations", headers=headers, json={**CONVERSATION, **body})


def test_a_supervisor_puts_calls_only_on_agents_of_their_teams(client, world):
    other = _post(client, world.sup_a.headers, agent="B1")
    unknown = _post(client, world.sup_a.headers, agent="NEW-9")
    assert other.status_code == unknown.status_code == 404
    assert other.json()["detail"] == "no agent 'B1' in the teams you lead"
    assert unknown.json()["detail"] == "no agent 'NEW-9' in the teams you lead"
    assert _post(client, world.sup_a.headers, agent="A1").status_code == 202
    # A recording too, checked before anything is stored.
    with (DATA / "basic.flac").open("rb") as fh:
        r = client.post(
            "/api/v1/calls",
            headers=world.sup_a.headers,
            data={
                "agent": "B1",
                "started_at": "2026-11-20T10:00:00Z",
                "direction": "inbound",
                "call_type": "service",
            },
            files={"audio": ("call.flac", fh, "application/octet-stream")},
        )
    assert r.status_code == 404, r.text
    # Admins (and recorders' API keys) still create agents by naming them.
    assert _post(client, world.admin.headers, agent="NEW-9").status_code == 202


def test_the_duplicate_answer_tells_another_team_nothing(client, world):
    mine = _post(client, world.sup_b.headers, agent="B1", external_id="crm-b-1")
    assert mine.status_code == 202
    again = _post(client, world.sup_b.headers, agent="B1", external_id="crm-b-1")
    assert again.status_code == 200 and again.json()["id"] == mine.json()["id"]
    theirs = _post(client, world.sup_a.headers, agent="A1", external_id="crm-b-1")
    assert theirs.status_code == 409
    assert str(mine.json()["id"]) not in theirs.text and "status" not in theirs.json()


def test_outcomes_of_another_team_s_calls_are_unknown_to_a_supervisor(client, world, session):
    call = world.calls["b1_good"]
    call.external_id = "crm-b1-good"
    session.add(call)
    session.commit()
    csv = "external_id,deal_closed,deal_value\ncrm-b1-good,true,99999\n"
    unknown = "external_id,deal_closed,deal_value\ncrm-nobody,true,99999\n"

    def send(headers, text, **params):
        return client.post(
            "/api/v1/outcomes/import",
            headers=headers,
            params=params,
            files={"file": ("crm.csv", text, "text/csv")},
        )

    for dry in (True, False):
        r = send(world.sup_a.headers, csv, dry_run=dry)
        u = send(world.sup_a.headers, unknown, dry_run=dry)
        assert r.json()["rejected"][0]["reason"] == u.json()["rejected"][0]["reason"]
        assert r.json()["rejected"][0]["reason"] == "no call with this external_id"
        assert r.json()["applied"] == 0
    session.refresh(call)
    assert call.deal_value is None  # no revenue on team B's line
    ok = send(world.sup_b.headers, csv)
    assert ok.status_code == 200 and ok.json()["applied"] == 1, ok.text
    session.refresh(call)
    assert call.deal_value == Decimal("99999.00")


def test_api_keys_write_only_through_the_routes_their_scope_names(client, world, session):
    """A recorder's key (calls:write) uploads and cannot change outcomes; a CRM's key
    (outcomes:write) changes outcomes, gets back only the outcome, and cannot upload or read."""
    from app.users.service import create_api_key

    def key(name: str, scope: str) -> dict[str, str]:
        secret = create_api_key(session, name=name, scopes=[scope]).secret
        return {"Authorization": f"Bearer {secret}"}

    recorder, crm = key("rec", "calls:write"), key("crm", "outcomes:write")
    session.commit()
    call_id = world.calls["b1_good"].id
    assert _post(client, recorder, agent="B1").status_code == 202
    assert (
        client.patch(
            f"/api/v1/calls/{call_id}", headers=recorder, json={"deal_value": "99999"}
        ).status_code
        == 403
    )
    csv = ("crm.csv", "external_id,deal_value\nx,1\n", "text/csv")
    assert (
        client.post("/api/v1/outcomes/import", headers=recorder, files={"file": csv}).status_code
        == 403
    )

    patched = client.patch(f"/api/v1/calls/{call_id}", headers=crm, json={"deal_value": "120.50"})
    assert patched.status_code == 200
    assert set(patched.json()) == {"id", "deal_closed", "deal_value", "customer_ref", "updated_at"}
    assert patched.json()["deal_value"] == "120.50"
    assert _post(client, crm, agent="B1").status_code == 403
    assert client.get(f"/api/v1/calls/{call_id}", headers=crm).status_code == 403
    assert (
        client.post("/api/v1/outcomes/import", headers=crm, files={"file": csv}).status_code == 422
    )
