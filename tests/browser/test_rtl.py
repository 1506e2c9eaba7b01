"""Hebrew and Persian conversations read right to left in a real browser, English left to
right, and a conversation that came as text has no player."""

from __future__ import annotations

from sqlmodel import Session

from app.calls.schemas import ConversationIn
from app.calls.service import ingest_conversation
from app.db import engine_for
from tests.browser.test_pages import login

LINES = [
    ("agent", "שלום, כאן דנה מחברת ברייטליין, במה אוכל לעזור?"),
    ("customer", "سلام، اینترنت من دو روز است که کار نمی‌کند."),
    ("agent", "Let me check that for you right away."),
]


def test_hebrew_and_persian_lines_render_right_to_left(page, live):
    w = live.world
    conversation = ConversationIn.model_validate(
        {
            "agent": "A1",
            "started_at": "2026-11-20T10:00:00Z",
            "channel": "chat",
            "language": "he",
            "utterances": [
                {"speaker": who, "start": i * 5, "end": i * 5 + 3, "text": text}
                for i, (who, text) in enumerate(LINES)
            ],
        }
    )
    with Session(engine_for(live.settings.db_url)) as session:
        call = ingest_conversation(session, settings=live.settings, conversation=conversation)
        session.commit()
        call_id = call.id
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    login(page, live, w.admin)
    page.goto(f"{live.url}/calls/{call_id}")
    page.wait_for_load_state("networkidle")
    assert page.locator("#player").count() == 0
    directions = page.locator("#transcript .seg .text").evaluate_all(
        "els => els.map(e => getComputedStyle(e).direction)"
    )
    assert directions == ["rtl", "rtl", "ltr"]
    page.locator("#transcript .seg").first.click()  # no player: clicking a line does nothing
    assert errors == []
    page.screenshot(path=str(live.shots / "conversation-rtl.png"), full_page=True)
