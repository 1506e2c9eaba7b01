"""Logins (issue 14, item 6): an account locks after repeated failures and unlocks by itself,
one address cannot try without limit, unknown names are limited like real ones, and behind a
trusted proxy the client's own address is the one counted."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from sqlmodel import select

from app.users.models import LoginFailure
from tests.app.world import PASSWORD
from tests.conftest import BACKENDS, make_settings, new_database


@pytest.fixture
def settings(tmp_path, db_url):
    return make_settings(
        tmp_path / "data",
        db_url,
        login_max_failures=3,
        login_failures_per_address=5,
        trusted_proxies="10.0.0.1",
    )


def _token(client, email, password, **headers):
    return client.post(
        "/api/v1/auth/token", data={"username": email, "password": password}, headers=headers
    )


def test_an_account_locks_after_repeated_failures_and_unlocks_when_the_window_passes(
    client, world, session
):
    email = world.a1.email
    assert [_token(client, email, "wrong-pass").status_code for _ in range(3)] == [401] * 3
    # Locked: even the right password is refused now, before any check of it.
    locked = _token(client, email, PASSWORD)
    assert locked.status_code == 429 and "this account" in locked.json()["detail"]
    assert 0 < int(locked.headers["retry-after"]) <= 15 * 60
    # Another account is not affected.
    assert _token(client, world.a2.email, PASSWORD).status_code == 200
    # The window passes: the failures are older than the lockout, the account is free again.
    for failure in session.exec(select(LoginFailure)).all():
        failure.at -= timedelta(minutes=16)
        session.add(failure)
    session.commit()
    assert _token(client, email, PASSWORD).status_code == 200
    # A success clears the count.
    assert session.exec(select(LoginFailure).where(LoginFailure.email == email)).all() == []


def test_unknown_names_are_limited_like_real_ones_and_the_address_too(client, world):
    answers = [_token(client, "nobody@cc.test", "x" * 9).status_code for _ in range(4)]
    assert answers == [401, 401, 401, 429]  # the same as for a real account: no enumeration
    # Two more failures on other names reach the address's limit of 5.
    assert _token(client, "someone@cc.test", "x" * 9).status_code == 401
    assert _token(client, "else@cc.test", "x" * 9).status_code == 401
    blocked = _token(client, world.b1.email, PASSWORD)
    assert blocked.status_code == 429 and "your address" in blocked.json()["detail"]


def test_behind_a_trusted_proxy_each_client_is_counted_by_its_own_address(client, world, app):
    # The test client's peer is "testclient"; make it the trusted proxy.
    app.state.settings = app.state.settings.model_copy(update={"trusted_proxies": "testclient"})
    for i in range(5):
        r = _token(client, f"x{i}@cc.test", "x" * 9, **{"X-Forwarded-For": "203.0.113.7"})
        assert r.status_code == 401
    assert (
        _token(client, "y@cc.test", "x" * 9, **{"X-Forwarded-For": "203.0.113.7"}).status_code
        == 429
    )
    # Another client behind the same proxy is not punished; a forged first hop does not help.
    other = _token(client, world.a1.email, PASSWORD, **{"X-Forwarded-For": "198.51.100.2"})
    assert other.status_code == 200
    forged = _token(client, "z@cc.test", "x" * 9, **{"X-Forwarded-For": "1.2.3.4, 203.0.113.7"})
    assert forged.status_code == 429


def test_the_login_page_counts_failures_and_says_when_the_account_is_locked(client, world):
    def attempt(password: str):
        client.cookies.clear()
        page = client.get("/login")
        csrf = re.search(r'name="csrf" value="([^"]+)"', page.text).group(1)
        return client.post(
            "/login",
            data={"email": world.sup_a.email, "password": password, "csrf": csrf, "next": "/"},
            follow_redirects=False,
        )

    assert [attempt("wrong-pass").status_code for _ in range(3)] == [401] * 3
    locked = attempt(PASSWORD)
    assert locked.status_code == 429 and "try again in" in locked.text


def test_logging_out_ends_the_token_and_every_copy_of_the_session(client, world):
    """Issue 14, item 7: a logged-out token no longer opens anything (it used to stay valid
    for its 12 hours)."""
    token = _token(client, world.a1.email, PASSWORD).json()["access_token"]
    headers = {"Authorization": f"Bearer {token}"}
    assert client.get("/api/v1/auth/me", headers=headers).status_code == 200
    assert client.post("/api/v1/auth/logout", headers=headers).status_code == 204
    assert client.get("/api/v1/auth/me", headers=headers).status_code == 401
    # The page's logout: a copy of the session cookie taken before it opens nothing after.
    client.cookies.clear()
    page = client.get("/login")
    csrf = re.search(r'name="csrf" value="([^"]+)"', page.text).group(1)
    client.post(
        "/login",
        data={"email": world.a2.email, "password": PASSWORD, "csrf": csrf, "next": "/"},
        follow_redirects=False,
    )
    copy = dict(client.cookies)
    assert client.get("/calls").status_code == 200
    fresh = client.cookies.get("callqa_csrf")  # rotated at login
    assert fresh and fresh != csrf
    assert client.post("/logout", data={"csrf": csrf}, follow_redirects=False).status_code == 403
    assert client.post("/logout", data={"csrf": fresh}, follow_redirects=False).status_code == 303
    client.cookies.clear()
    client.cookies.update(copy)
    assert client.get("/calls", follow_redirects=False).status_code == 303  # to the login page
    events = client.get(
        "/api/v1/audit", params={"action": "logout"}, headers=world.admin.headers
    ).json()["items"]
    assert len(events) == 2


def test_a_stranger_s_bad_guesses_do_not_lock_the_owner_out_from_their_own_address(
    client, world, app
):
    app.state.settings = app.state.settings.model_copy(update={"trusted_proxies": "testclient"})
    stranger = {"X-Forwarded-For": "203.0.113.9"}
    owner = {"X-Forwarded-For": "198.51.100.20"}
    email = world.admin.email
    assert [_token(client, email, "wrong-pass", **stranger).status_code for _ in range(4)] == [
        401,
        401,
        401,
        429,
    ]
    assert _token(client, email, PASSWORD, **owner).status_code == 200


def test_an_ipv6_client_is_counted_by_its_64_network(client, world, app):
    """One subscriber gets a /64: hopping between its addresses gives no fresh allowance."""
    from app.limits import rate_key

    assert rate_key("2001:db8:1:2::1") == rate_key("2001:db8:1:2:ffff::9") == "2001:db8:1:2::/64"
    assert (
        rate_key("::ffff:203.0.113.7") == "203.0.113.7" and rate_key("testclient") == "testclient"
    )
    app.state.settings = app.state.settings.model_copy(update={"trusted_proxies": "testclient"})
    for i in range(5):
        hop = {"X-Forwarded-For": f"2001:db8:1:2::{i + 1:x}"}
        assert _token(client, f"v{i}@cc.test", "x" * 9, **hop).status_code == 401
    hop = {"X-Forwarded-For": "2001:db8:1:2:abcd::1"}
    assert _token(client, "w@cc.test", "x" * 9, **hop).status_code == 429
    neighbour = {"X-Forwarded-For": "2001:db8:1:3::1"}  # another subscriber's /64
    assert _token(client, world.a1.email, PASSWORD, **neighbour).status_code == 200


@pytest.mark.parametrize("backend", BACKENDS)
def test_concurrent_guesses_at_one_account_stop_at_the_limit(tmp_path, backend):
    """Eight wrong passwords at once, each in its own unit of work on a committed database:
    only `login_max_failures` of them get to check a password; the rest are told to wait. On
    PostgreSQL the attempts wait for each other; on SQLite write transactions do already."""
    import threading

    from app.db import engine_for, unit_of_work
    from app.errors import TooManyRequests
    from app.users import service as users
    from app.users.models import Role

    url, drop = new_database(backend, tmp_path)
    settings = make_settings(tmp_path / "data", url, login_max_failures=3)
    engine = engine_for(url)
    outcomes: list[str] = []
    start = threading.Barrier(8)

    def guess(i: int) -> None:
        start.wait()
        try:
            with unit_of_work(engine, writes=True) as session:
                user = users.login(
                    session,
                    settings=settings,
                    email="target@cc.test",
                    password=f"wrong-{i}",
                    address="203.0.113.9",
                )
                assert user is None
            outcomes.append("401")
        except TooManyRequests:
            outcomes.append("429")

    try:
        with unit_of_work(engine, writes=True) as session:
            users.create_user(
                session,
                email="target@cc.test",
                password=PASSWORD,
                role=Role.supervisor,
                agent_external_id=None,
            )
        threads = [threading.Thread(target=guess, args=(i,)) for i in range(8)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=60)
        assert sorted(outcomes) == ["401"] * 3 + ["429"] * 5, outcomes
    finally:
        drop()  # type: ignore[operator]
