"""POST /api/v1/conversations: text conversations (chat, e-mail, another recorder's
transcript) stored like a transcribed call, with no recording, and queued for scoring."""

from __future__ import annotations

import re

import pytest
from sqlmodel import col, select

from app.calls.models import Call, CallStatus, Channel, Transcript, TranscriptSegment
from app.jobs.models import Job, JobState
from app.scorecards import service as scorecards
from app.users.models import Role
from app.users.service import create_api_key
from app.web.session import CSRF_COOKIE, SESSION_COOKIE, make_csrf

UTTERANCES = [
    {
        "speaker": "agent",
        "start": 0,
        "end": 3,
        "text": "Hello, this is Dana from Brightline, how can I help?",
    },
    {
        "speaker": "customer",
        "start": 4,
        "end": 9,
        "text": "My card is 4111 1111 1111 1111 and the payment failed.",
    },
    {"speaker": "agent", "start": 10, "end": 14, "text": "I'm sorry about that, Maya."},
]
HEBREW = [
    {
        "speaker": "agent",
        "start": 0,
        "end": 3,
        "text": "שלום, כאן דנה מחברת ברייטליין, במה אוכל לעזור?",
    },
    {
        "speaker": "customer",
        "start": 4,
        "end": 8,
        "text": "האינטרנט שלי לא עובד כבר יומיים, זו הפעם השלישית שאני פונה.",
    },
    {
        "speaker": "agent",
        "start": 9,
        "end": 14,
        "text": "אני מאוד מצטערת על אי הנוחות, יוסי. תיקנתי את התקלה.",
    },
    {"speaker": "agent", "start": 15, "end": 18, "text": "יש עוד משהו שאוכל לעזור בו? יום נעים!"},
]


def conversation(**overrides):
    body = {
        "agent": "laura",
        "external_id": None,
        "started_at": "2026-11-20T10:00:00+01:00",
        "channel": "chat",
        "call_type": "service",
        "direction": "inbound",
        "language": "en",
        "customer_name": "Maya",
        "customer_ref": "C-7",
        "utterances": UTTERANCES,
    }
    body.update(overrides)
    return body


def post(client, headers, **overrides):
    return client.post("/api/v1/conversations", headers=headers, json=conversation(**overrides))


@pytest.fixture
def admin(users):
    return users.make(Role.admin)[1]


def test_conversation_is_stored_with_a_redacted_transcript_and_a_queued_score_job(
    client, admin, session
):
    response = post(client, admin, external_id="chat-1")
    assert response.status_code == 202, response.text
    body = response.json()
    assert body["created"] is True and body["status"] == "transcribed"
    call = session.get(Call, body["id"])
    assert call.channel is Channel.chat and call.language == "en"
    assert call.customer_name == "Maya" and call.customer_ref == "C-7"
    assert call.started_at.hour == 9 and call.duration_seconds == 14
    # No recording, and nothing pretends there is one.
    assert (call.audio_path, call.audio_format, call.channels, call.audio_size) == (None,) * 4
    transcript = session.exec(select(Transcript).where(Transcript.call_id == call.id)).one()
    assert transcript.engine == "text" and transcript.speakers_labelled
    assert transcript.language == "en" and transcript.redactions == 1
    segments = session.exec(
        select(TranscriptSegment)
        .where(TranscriptSegment.transcript_id == transcript.id)
        .order_by(col(TranscriptSegment.position))
    ).all()
    assert [s.speaker for s in segments] == ["agent", "customer", "agent"]
    assert "4111" not in segments[1].text and "[REDACTED]" in segments[1].text
    jobs = session.exec(select(Job).where(Job.call_id == call.id)).all()
    assert [(j.stage, j.state) for j in jobs] == [("score", JobState.queued)]


def test_same_external_id_again_returns_the_existing_conversation(client, admin, session):
    first = post(client, admin, external_id="chat-dup")
    second = post(client, admin, external_id="chat-dup")
    assert second.status_code == 200 and second.json()["created"] is False
    assert second.json()["id"] == first.json()["id"]
    assert len(session.exec(select(Call).where(Call.external_id == "chat-dup")).all()) == 1


@pytest.mark.parametrize(
    ("overrides", "says"),
    [
        ({"utterances": []}, "utterances"),
        (
            {"utterances": [{"speaker": "agent", "start": 5, "end": 2, "text": "hi"}]},
            "end (2.0) is before start (5.0)",
        ),
        ({"utterances": [{"speaker": "bot", "start": 0, "end": 1, "text": "hi"}]}, "speaker"),
        (
            {"utterances": [{"speaker": "agent", "start": 0, "end": 1, "text": "   "}]},
            "text is empty",
        ),
        (
            {"utterances": [{"speaker": "agent", "start": 0, "end": 1, "text": "x" * 5001}]},
            "5000 characters",
        ),
        (
            {
                "utterances": [
                    {"speaker": "agent", "start": i, "end": i, "text": "y" * 4000}
                    for i in range(60)
                ]
            },
            "the limit is 200000",
        ),
        (
            {"utterances": [{"speaker": "agent", "start": 0, "end": 1e9, "text": "hi"}]},
            "less than or equal",
        ),
        ({"channel": "fax"}, "channel"),
        ({"language": "klingon"}, "unknown language 'klingon'"),
        ({"started_at": "yesterday"}, "started_at"),
    ],
)
def test_invalid_conversations_say_what_is_wrong(client, admin, session, overrides, says):
    response = post(client, admin, **overrides)
    assert response.status_code == 422
    assert says in response.text
    assert session.exec(select(Call)).all() == []


def test_infinite_times_are_refused_not_stored(client, admin, session):
    import json

    body = json.dumps(
        conversation(
            utterances=[{"speaker": "agent", "start": 0, "end": float("inf"), "text": "hi"}]
        )
    )  # "Infinity"
    response = client.post(
        "/api/v1/conversations", content=body, headers={**admin, "Content-Type": "application/json"}
    )
    assert response.status_code == 422 and "finite number" in response.text
    assert session.exec(select(Call)).all() == []


def test_a_phone_transcript_over_the_length_limit_is_refused(client, admin, settings, session):
    settings.max_call_minutes = 1
    long = [{"speaker": "agent", "start": 0, "end": 61, "text": "hello"}]
    response = post(client, admin, channel="phone", utterances=long)
    assert response.status_code == 422 and "limit is 1 min" in response.json()["detail"]
    # A chat or e-mail thread may span hours: its message times are not a recording's length.
    assert post(client, admin, channel="email", utterances=long).status_code == 202


def test_agents_may_not_post_conversations_and_anonymous_callers_get_401(client, users):
    _, agent = users.make(Role.agent, agent="laura")
    assert post(client, agent).status_code == 403
    response = client.post("/api/v1/conversations", json=conversation())
    assert response.status_code == 401


def test_api_keys_need_calls_write_to_post(client, session):
    writer = create_api_key(session, name="chat-bridge", scopes=["calls:write"]).secret
    reader = create_api_key(session, name="reader", scopes=["calls:read"]).secret
    assert post(client, {"Authorization": f"Bearer {reader}"}).status_code == 403
    assert post(client, {"Authorization": f"Bearer {writer}"}).status_code == 202


def test_supervisor_posts_and_the_conversation_reads_like_a_call(client, users, admin, session):
    from app.teams import service as teams

    lead, supervisor = users.make(Role.supervisor)
    team = teams.create_team(session, name="Chat")
    teams.add_lead(session, team=team, email=lead.email)
    teams.set_agent_team(session, agent_external_id="laura", team=team)  # theirs to post for
    session.commit()
    call_id = post(client, supervisor, agent="laura").json()["id"]
    detail = client.get(f"/api/v1/calls/{call_id}", headers=admin).json()
    assert detail["channel"] == "chat" and detail["has_recording"] is False
    assert detail["transcript"]["engine"] == "text"
    assert [s["speaker"] for s in detail["transcript"]["segments"]] == [
        "agent",
        "customer",
        "agent",
    ]
    listed = client.get("/api/v1/calls", headers=admin).json()["items"]
    assert [c["id"] for c in listed] == [call_id]


def test_a_conversation_has_no_recording_to_play(client, admin, users):
    call_id = post(client, admin).json()["id"]
    response = client.get(f"/api/v1/calls/{call_id}/audio", headers=admin)
    assert response.status_code == 404
    assert response.json()["detail"] == "this conversation has no recording"
    plays = client.get("/api/v1/audit?action=play", headers=admin).json()
    rows = plays["items"] if isinstance(plays, dict) else plays
    assert rows and all(r["outcome"] == "denied" for r in rows)  # refused, not played
    # Someone else's conversation is not found at all, recording or not.
    _, other = users.make(Role.agent, agent="david")
    response = client.get(f"/api/v1/calls/{call_id}/audio", headers=other)
    assert response.status_code == 404 and response.json()["detail"] == f"call {call_id} not found"


def test_unknown_call_audio_is_404(client, admin):
    assert client.get("/api/v1/calls/99999/audio", headers=admin).status_code == 404


def _web(client, user_headers):
    token = user_headers["Authorization"].removeprefix("Bearer ")
    client.cookies.set(SESSION_COOKIE, token)
    client.cookies.set(CSRF_COOKIE, make_csrf(client.app.state.settings, token))


def test_hebrew_conversation_page_reads_right_to_left_without_a_player(client, admin, session):
    import qa
    from app.calls.tasks import score_row

    call_id = post(client, admin, language="he", customer_name="יוסי", utterances=HEBREW).json()[
        "id"
    ]
    # Score it here (the job would do the same) so the page has evidence quotes to show.
    utterances = [
        qa.Utterance(i, u["speaker"], u["start"], u["end"], u["text"]) for i, u in enumerate(HEBREW)
    ]
    result = qa.score(
        utterances,
        qa.CallFacts(channel="chat", language="he", customer_name="יוסי", duration=18),
        scorecards.to_scorecard(scorecards.current_version(session)),
    )
    version = scorecards.current_version(session)
    session.add(score_row(call_id=call_id, version_id=version.id, result=result))
    session.get(Call, call_id).status = CallStatus.scored
    session.flush()
    _web(client, admin)
    page = client.get(f"/calls/{call_id}")
    assert page.status_code == 200
    html = page.text
    assert "<audio" not in html and "Download recording" not in html
    assert "no recording (chat conversation received as text)" in html
    lines = re.findall(r'<span class="text" dir="auto">([^<]*)</span>', html)
    assert lines == [u["text"] for u in HEBREW]
    quotes = re.findall(r'<span class="quote" dir="auto">([^<]*)</span>', html)
    assert quotes and all(q in html for q in quotes)
    assert any("שלום" in q for q in quotes)
    assert client.get(f"/calls/{call_id}/audio").status_code == 404
    listing = client.get("/calls")
    assert f"/calls/{call_id}" in listing.text and '<span class="tag">chat</span>' in listing.text
