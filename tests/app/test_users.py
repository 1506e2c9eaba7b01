"""User accounts managed by admins: API, pages and CLI; every right taken away ends sessions."""

from __future__ import annotations

import re
from datetime import UTC, datetime

import jwt
from sqlmodel import Session, select
from typer.testing import CliRunner

from app.audit.models import AuditEvent
from app.cli import cli
from app.db import engine_for
from app.users.models import User
from app.web.session import CSRF_COOKIE, SESSION_COOKIE, make_csrf
from tests.app.test_cli import env  # noqa: F401  (fixture)
from tests.app.world import PASSWORD


def _me(client, person_or_headers) -> int:
    headers = getattr(person_or_headers, "headers", person_or_headers)
    return client.get("/api/v1/calls", headers=headers).status_code


def _token(client, email: str, password: str) -> str | None:
    r = client.post("/api/v1/auth/token", data={"username": email, "password": password})
    return r.json()["access_token"] if r.status_code == 200 else None


def test_only_admins_manage_users(client, world):
    assert client.get("/api/v1/users", headers=world.sup_a.headers).status_code == 403
    assert client.get("/api/v1/users", headers=world.a1.headers).status_code == 403
    users = client.get("/api/v1/users", headers=world.admin.headers).json()
    by_email = {u["email"]: u for u in users}
    assert by_email[world.a1.email]["role"] == "agent" and by_email[world.a1.email]["agent"]
    assert by_email[world.sup_a.email]["agent"] is None and by_email[world.sup_a.email]["active"]


def test_deactivation_ends_the_users_open_token_and_browser_session_at_once(client, world):
    assert _me(client, world.sup_b) == 200
    client.cookies.set(SESSION_COOKIE, world.sup_b.token)
    assert client.get("/calls", follow_redirects=False).status_code == 200
    r = client.patch(
        f"/api/v1/users/{world.sup_b.user.id}", headers=world.admin.headers, json={"active": False}
    )
    assert r.status_code == 200 and r.json()["active"] is False
    assert _me(client, world.sup_b) == 401
    page = client.get("/calls", follow_redirects=False)
    assert page.status_code == 303 and page.headers["location"].startswith("/login")
    client.cookies.clear()
    assert _token(client, world.sup_b.email, PASSWORD) is None  # cannot log in either
    # Active again: a new login works; the old token stays dead.
    client.patch(
        f"/api/v1/users/{world.sup_b.user.id}", headers=world.admin.headers, json={"active": True}
    )
    assert _token(client, world.sup_b.email, PASSWORD) is not None
    assert _me(client, world.sup_b) == 401


def test_a_new_password_or_role_ends_old_sessions(client, world):
    user_id = world.a2.user.id
    r = client.patch(
        f"/api/v1/users/{user_id}", headers=world.admin.headers, json={"password": "a-new-secret"}
    )
    assert r.status_code == 200 and _me(client, world.a2) == 401
    assert _token(client, world.a2.email, PASSWORD) is None
    fresh = _token(client, world.a2.email, "a-new-secret")
    assert fresh and _me(client, {"Authorization": f"Bearer {fresh}"}) == 200
    promoted = client.patch(
        f"/api/v1/users/{user_id}", headers=world.admin.headers, json={"role": "supervisor"}
    )
    assert promoted.json()["role"] == "supervisor" and promoted.json()["agent"] is None
    assert _me(client, {"Authorization": f"Bearer {fresh}"}) == 401


def test_an_agent_login_can_be_linked_to_another_agent_id(client, world):
    r = client.patch(
        f"/api/v1/users/{world.a1.user.id}", headers=world.admin.headers, json={"agent": "A9"}
    )
    assert r.status_code == 200 and r.json()["agent"] == "A9"
    # Re-linking is not a right taken away: the agent's session goes on, now as A9.
    assert _me(client, world.a1) == 200
    bad = client.patch(
        f"/api/v1/users/{world.sup_a.user.id}", headers=world.admin.headers, json={"agent": "A9"}
    )
    assert bad.status_code == 400 and "only agent users" in bad.json()["detail"]


def test_nobody_can_remove_the_last_admin(client, world, session):
    admin_id = world.admin.user.id
    for body in ({"active": False}, {"role": "supervisor"}):
        r = client.patch(f"/api/v1/users/{admin_id}", headers=world.admin.headers, json=body)
        assert r.status_code == 409 and "last active admin" in r.json()["detail"]
    assert _me(client, world.admin) == 200
    second = client.post(
        "/api/v1/users",
        headers=world.admin.headers,
        json={"email": "second@cc.test", "password": "long-enough", "role": "admin"},
    )
    assert second.status_code == 201
    r = client.patch(
        f"/api/v1/users/{admin_id}", headers=world.admin.headers, json={"role": "supervisor"}
    )
    assert r.status_code == 200
    session.expire_all()
    changes = [
        (e.action, e.target_id, e.detail)
        for e in session.exec(select(AuditEvent).where(AuditEvent.target_type == "user"))
    ]
    assert ("user_create", str(second.json()["id"]), "second@cc.test as admin") in changes
    assert ("user_change", str(admin_id), "role supervisor") in changes


def test_a_token_without_expiry_or_version_mismatch_is_refused(client, world, settings):
    user = world.sup_a.user
    forever = jwt.encode(
        {"sub": str(user.id), "role": "supervisor", "ver": 0, "iat": datetime.now(UTC)},
        settings.signing_key,
        algorithm="HS256",
    )
    assert _me(client, {"Authorization": f"Bearer {forever}"}) == 401


def test_bad_input_is_a_clear_400(client, world):
    short = client.post(
        "/api/v1/users",
        headers=world.admin.headers,
        json={"email": "x@cc.test", "password": "short", "role": "agent", "agent": "A5"},
    )
    assert short.status_code == 422 and "password" in short.text
    no_agent = client.post(
        "/api/v1/users",
        headers=world.admin.headers,
        json={"email": "x@cc.test", "password": "long-enough", "role": "agent"},
    )
    assert no_agent.status_code == 400 and "agent" in no_agent.json()["detail"]
    assert (
        client.patch("/api/v1/users/99999", headers=world.admin.headers, json={}).status_code == 404
    )


def _csrf(client, person) -> str:
    client.cookies.clear()
    client.cookies.set(SESSION_COOKIE, person.token)
    token = make_csrf(client.app.state.settings, person.token)  # bound to this session
    client.cookies.set(CSRF_COOKIE, token)
    return token


def test_the_users_page_creates_changes_and_resets(client, world, session):
    csrf = _csrf(client, world.admin)
    page = client.get("/users")
    assert page.status_code == 200 and world.a1.email in page.text and 'href="/users"' in page.text
    r = client.post(
        "/users",
        data={
            "csrf": csrf,
            "email": "new.agent@cc.test",
            "password": "long-enough",
            "role": "agent",
            "agent": "A7",
        },
        follow_redirects=False,
    )
    assert r.status_code == 303
    new = session.exec(select(User).where(User.email == "new.agent@cc.test")).one()
    r = client.post(
        f"/users/{new.id}",
        data={"csrf": csrf, "role": "agent", "agent": "A7", "active": "no"},
        follow_redirects=False,
    )
    assert r.status_code == 303
    session.expire_all()
    assert session.get(User, new.id).is_active is False
    reset = client.post(f"/users/{world.sup_a.user.id}/password", data={"csrf": csrf})
    password = re.search(r'class="new-password">([^<]+)<', reset.text).group(1)
    client.cookies.clear()
    assert _token(client, world.sup_a.email, password) is not None
    assert _me(client, world.sup_a) == 401  # the old session ended
    last = client.post(
        f"/users/{world.admin.user.id}",
        data={"csrf": _csrf(client, world.admin), "role": "admin", "active": "no"},
        headers={"Accept": "text/html"},
    )
    assert last.status_code == 409 and "last active admin" in last.text
    _csrf(client, world.sup_a)
    client.cookies.clear()
    client.cookies.set(SESSION_COOKIE, world.a1.token)
    assert client.get("/users", follow_redirects=False).status_code == 403


cli_runner = CliRunner()


def test_users_commands_list_change_deactivate_and_reset(env):  # noqa: F811
    def run(*args: str):
        return cli_runner.invoke(cli, ["users", *args])

    def user_events() -> list[tuple[str, str, str | None]]:
        # The CLI commits, and the audit log is append-only: earlier tests' rows stay.
        with Session(engine_for(env)) as session:
            return [
                (e.actor_kind, e.action, e.detail)
                for e in session.exec(
                    select(AuditEvent)
                    .where(AuditEvent.target_type == "user")
                    .order_by(AuditEvent.id)
                )
            ]

    before = len(user_events())

    assert (
        run("add", "--email", "boss", "--password", "long-enough", "--role", "admin").exit_code == 0
    )
    assert (
        run(
            "add", "--email", "sam@cc.test", "--password", "long-enough", "--role", "supervisor"
        ).exit_code
        == 0
    )
    listed = run("list")
    assert listed.exit_code == 0 and "sam@cc.test\tsupervisor\t-\tactive" in listed.output
    changed = run("set-role", "sam@cc.test", "agent", "--agent", "S1")
    assert changed.exit_code == 0 and "now agent (S1)" in changed.output
    assert run("deactivate", "sam@cc.test").exit_code == 0
    assert "sam@cc.test\tagent\tS1\tdeactivated" in run("list").output
    reset = run("reset-password", "sam@cc.test")
    assert reset.exit_code == 0 and reset.output.startswith("new password for sam@cc.test: ")
    last = run("deactivate", "boss")
    assert last.exit_code == 1 and "last active admin" in last.output
    assert len(last.output.strip().splitlines()) == 1
    missing = run("deactivate", "nobody")
    assert missing.exit_code == 1 and "no user 'nobody'" in missing.output
    # Changes at the command line are audited too; the refused ones left nothing.
    events = user_events()[before:]
    assert [(kind, action) for kind, action, _ in events] == [
        ("cli", "user_create"),
        ("cli", "user_create"),
        ("cli", "user_change"),
        ("cli", "user_change"),
        ("cli", "user_change"),
    ]
    assert [d for _, _, d in events][2:] == [
        "role agent, agent S1",
        "deactivated",
        "password reset",
    ]
