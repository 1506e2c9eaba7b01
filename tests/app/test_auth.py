from sqlmodel import select

from app.users.models import ApiKey, Role, User
from app.users.service import create_api_key, create_user, ensure_admin, revoke_api_key


def test_login_returns_a_working_bearer_token(client, session):
    create_user(
        session,
        email="sup@example.com",
        password="correct-horse",
        role=Role.supervisor,
        agent_external_id=None,
    )
    response = client.post(
        "/api/v1/auth/token", data={"username": "SUP@example.com", "password": "correct-horse"}
    )
    assert response.status_code == 200
    token = response.json()["access_token"]
    me = client.get("/api/v1/auth/me", headers={"Authorization": f"Bearer {token}"})
    assert me.json()["role"] == "supervisor"


def test_wrong_password_and_unknown_user_get_the_same_answer(client, session):
    create_user(
        session,
        email="a@example.com",
        password="correct-horse",
        role=Role.admin,
        agent_external_id=None,
    )
    wrong = client.post("/api/v1/auth/token", data={"username": "a@example.com", "password": "x"})
    unknown = client.post("/api/v1/auth/token", data={"username": "b@example.com", "password": "x"})
    assert wrong.status_code == unknown.status_code == 401
    assert wrong.json() == unknown.json()


def test_passwords_are_stored_as_argon2_hashes(session):
    user = create_user(
        session,
        email="h@example.com",
        password="correct-horse",
        role=Role.admin,
        agent_external_id=None,
    )
    assert user.password_hash.startswith("$argon2id$")
    assert "correct-horse" not in user.password_hash


def test_tampered_token_is_refused(client, users):
    _, headers = users.make(Role.admin)
    headers = {"Authorization": headers["Authorization"][:-2] + "xx"}
    assert client.get("/api/v1/calls", headers=headers).status_code == 401


def test_api_key_is_stored_hashed_and_works_until_revoked(client, session):
    issued = create_api_key(session, name="recorder", scopes=["calls:read"])
    stored = session.exec(select(ApiKey).where(ApiKey.name == "recorder")).one()
    assert issued.secret.startswith("cqk_") and issued.secret not in stored.key_hash
    headers = {"Authorization": f"Bearer {issued.secret}"}
    assert client.get("/api/v1/calls", headers=headers).status_code == 200
    revoke_api_key(session, name_or_prefix="recorder")
    assert client.get("/api/v1/calls", headers=headers).status_code == 401


def test_payroll_key_cannot_read_calls(client, session):
    issued = create_api_key(session, name="payroll", scopes=["incentives:read"])
    response = client.get("/api/v1/calls", headers={"Authorization": f"Bearer {issued.secret}"})
    assert response.status_code == 403
    assert "calls:read" in response.json()["detail"]


def test_agent_user_must_name_an_agent(session):
    import pytest

    from app.errors import BadRequest

    with pytest.raises(BadRequest, match="--agent"):
        create_user(
            session,
            email="x@example.com",
            password="long-enough",
            role=Role.agent,
            agent_external_id=None,
        )


def test_first_start_creates_admin_once(session):
    password = ensure_admin(session, password=None)
    assert password and len(password) >= 12
    assert ensure_admin(session, password=None) is None
    admin = session.exec(select(User).where(User.email == "admin")).one()
    assert admin.role is Role.admin
