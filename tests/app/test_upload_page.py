"""Upload in the browser, without a browser: many files in one request are stored all or none,
a supervisor uploads only for agents of their team, an agent cannot upload, and the page's
script gets JSON and follows each call's status (issue 15, item 1)."""

from __future__ import annotations

from html import unescape

from sqlmodel import select

from app.calls.models import Call
from app.jobs.models import Job
from app.web.session import CSRF_COOKIE, SESSION_COOKIE, make_csrf
from tests.conftest import DATA


def _as(client, person) -> str:  # type: ignore[no-untyped-def]
    client.cookies.clear()
    client.cookies.set(SESSION_COOKIE, person.token)
    csrf = make_csrf(client.app.state.settings, person.token)
    client.cookies.set(CSRF_COOKIE, csrf)
    return csrf


def _files(*names: str) -> list[tuple[str, tuple[str, bytes, str]]]:
    out = []
    for name in names:
        content = (DATA / name).read_bytes() if (DATA / name).exists() else b"not audio at all"
        out.append(("audio", (name, content, "audio/flac")))
    return out


def _calls(session) -> list[Call]:  # type: ignore[no-untyped-def]
    session.expire_all()
    return list(session.exec(select(Call).order_by(Call.id)).all())


def test_many_files_are_stored_with_their_fields_and_jobs(client, world, session):
    csrf = _as(client, world.sup_a)
    page = client.get("/upload")
    assert page.status_code == 200 and 'name="audio" multiple' in page.text
    assert '<a href="/upload">Upload</a>' in page.text  # in the menu for those who may
    before = len(_calls(session))
    r = client.post(
        "/upload",
        data={
            "csrf": csrf,
            "agent": "A1",
            "started_at": "2026-11-20T10:15",
            "direction": "outbound",
            "call_type": "sales",
            "customer_ref": "C-77",
        },
        files=_files("basic.flac", "hold.flac"),
    )
    assert r.status_code == 200, r.text
    new = _calls(session)[before:]
    assert len(new) == 2
    assert {c.customer_ref for c in new} == {"C-77"} and {c.call_type.value for c in new} == {
        "sales"
    }
    for call in new:
        assert f'href="/calls/{call.id}"' in r.text
        jobs = session.exec(select(Job).where(Job.call_id == call.id)).all()
        assert [j.stage for j in jobs] == ["transcribe"]
    # A time without an offset is the viewer's clock (the organisation's zone here: UTC).
    assert new[0].started_at.strftime("%Y-%m-%d %H:%M") == "2026-11-20 10:15"


def test_one_bad_file_refuses_the_whole_request_and_names_it(client, world, session):
    csrf = _as(client, world.sup_a)
    before = len(_calls(session))
    r = client.post(
        "/upload",
        data={"csrf": csrf, "agent": "A1"},
        files=_files("basic.flac", "notes.wav"),
    )
    assert r.status_code == 422
    assert "nothing was stored: notes.wav: the file is not a recognised audio format" in r.text
    assert len(_calls(session)) == before
    assert not [p for p in (client.app.state.settings.audio_dir).rglob("*") if p.is_file()]


def test_the_script_gets_json_and_follows_the_calls(client, world, session):
    csrf = _as(client, world.sup_a)
    r = client.post(
        "/upload",
        data={"csrf": csrf, "agent": "A2", "started_at": "2026-11-20T08:00:00Z"},
        files=_files("basic.flac"),
        headers={"Accept": "application/json"},
    )
    assert r.status_code == 201, r.text
    [stored] = r.json()["stored"]
    assert stored["file"] == "basic.flac" and r.json()["error"] is None
    bad = client.post(
        "/upload",
        data={"csrf": csrf, "agent": "A2"},
        files=_files("notes.wav"),
        headers={"Accept": "application/json"},
    )
    assert bad.status_code == 422 and bad.json()["error"].startswith("notes.wav: ")
    other_team = world.calls["b1_good"].id
    status = client.get(f"/upload/status?ids={stored['call_id']},{other_team},x")
    assert status.json() == {str(stored["call_id"]): "received"}  # another team's: not there


def test_who_may_upload_for_whom(client, world, session):
    csrf = _as(client, world.sup_a)
    r = client.post("/upload", data={"csrf": csrf, "agent": "B1"}, files=_files("basic.flac"))
    assert r.status_code == 422 and "no agent 'B1' in the teams you lead" in unescape(r.text)
    r = client.post(
        "/upload", data={"csrf": csrf, "agent": "A1"}, files=[("audio", ("", b"", "x"))]
    )
    assert r.status_code == 422 and "choose at least one recording" in r.text
    r = client.post(
        "/upload",
        data={"csrf": csrf, "agent": "A1", "started_at": "next tuesday"},
        files=_files("basic.flac"),
    )
    assert r.status_code == 422 and "is not a date and time" in r.text
    # Agents read calls; they do not upload them.
    agent_csrf = _as(client, world.a1)
    assert client.get("/upload").status_code == 403
    r = client.post("/upload", data={"csrf": agent_csrf, "agent": "A1"}, files=_files("basic.flac"))
    assert r.status_code == 403
    assert 'href="/upload"' not in client.get("/calls").text
    # Without the form's token: refused before anything is read.
    _as(client, world.sup_a)
    r = client.post("/upload", data={"agent": "A1"}, files=_files("basic.flac"))
    assert r.status_code == 403
