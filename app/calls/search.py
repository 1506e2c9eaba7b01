"""Full-text search over transcripts: SQLite's FTS5 in the embedded default, PostgreSQL's text
search when scaled (both made by the 7c1e5a9f3b20 migration), the same query language on both:
words (all must be there, any letter case, accents ignored), "a quoted phrase", and `refund*`
for every word that starts so. Results are segments, scoped and filtered like the call list,
newest call first, with the matched words marked in an HTML-safe snippet."""

from __future__ import annotations

import html
import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, literal_column, text
from sqlmodel import Session, col, select

from app.auth import Principal
from app.calls.models import Call, Transcript, TranscriptSegment
from app.calls.service import CallFilters, filtered_calls
from app.errors import BadRequest
from app.timeutil import as_utc
from app.users.models import Agent

_TERM = re.compile(r'"([^"]*)"\*?|(\S+)')
_WORD = re.compile(r"\w+")
START, STOP = "\x02", "\x03"  # around matched words until the snippet is escaped
SNIPPET_CHARS = 220
# The text search configuration of the migration: 'simple' words, accents removed.
_CONFIG: Any = literal_column("'callqa_search'")
MAX_TERMS = 12


@dataclass(frozen=True)
class Term:
    words: tuple[str, ...]
    prefix: bool  # the last word is a prefix


@dataclass(frozen=True)
class Hit:
    call_id: int
    segment: int  # the segment's position in its transcript
    start: float
    end: float
    speaker: str
    snippet: str  # HTML: the text escaped, the matched words in <mark>
    started_at: datetime
    agent: str


def parse(q: str) -> list[Term]:
    """The query's terms; a query with no word in it is a 400 that says how to write one."""
    terms = []
    for match in _TERM.finditer(q):
        phrase, bare = match.group(1), match.group(2)
        chunk = phrase if phrase is not None else bare
        words = tuple(w.lower() for w in _WORD.findall(chunk or ""))
        if not words:
            continue
        prefix = match.group(0).endswith("*")
        terms.append(Term(words, prefix))
    if not terms:
        raise BadRequest('`q`: give a word to look for, "a phrase", or a prefix such as refund*')
    if len(terms) > MAX_TERMS:
        raise BadRequest(f"`q`: at most {MAX_TERMS} words or phrases")
    return terms


def fts5_query(terms: list[Term]) -> str:
    """FTS5's MATCH syntax: each term a quoted phrase (nothing in it is an operator)."""
    return " AND ".join(f'"{" ".join(t.words)}"' + ("*" if t.prefix else "") for t in terms)


def tsquery(terms: list[Term]) -> str:
    """PostgreSQL's to_tsquery syntax; the words hold letters and digits only."""
    parts = []
    for t in terms:
        words = list(t.words)
        if t.prefix:
            words[-1] += ":*"
        parts.append("(" + " <-> ".join(words) + ")")
    return " & ".join(parts)


def search(
    session: Session,
    *,
    principal: Principal,
    filters: CallFilters,
    q: str,
    speaker: str | None,
    limit: int,
    offset: int,
) -> tuple[list[Hit], int]:
    terms = parse(q)
    calls, _ = filtered_calls(session, principal=principal, filters=filters)
    visible = calls.with_only_columns(col(Call.id)).order_by(None)
    query = (
        select(TranscriptSegment, Transcript.call_id, Call.started_at, Agent.external_id)
        .join(Transcript, col(Transcript.id) == TranscriptSegment.transcript_id)
        .join(Call, col(Call.id) == Transcript.call_id)
        .join(Agent, col(Agent.id) == Call.agent_id)
        .where(col(Transcript.call_id).in_(visible))
    )
    if speaker:
        query = query.where(TranscriptSegment.speaker == speaker)
    sqlite = session.get_bind().dialect.name == "sqlite"
    query = matching(query, terms, sqlite=sqlite)
    total = session.exec(select(func.count()).select_from(query.subquery())).one()
    rows = session.exec(
        query.order_by(
            col(Call.started_at).desc(), col(Call.id).desc(), col(TranscriptSegment.position)
        )
        .limit(limit)
        .offset(offset)
    ).all()
    marked = _marked(session, terms, [seg.id or 0 for seg, *_ in rows], sqlite=sqlite)
    return [
        Hit(
            call_id=call_id,
            segment=seg.position,
            start=seg.start,
            end=seg.end,
            speaker=seg.speaker,
            snippet=snippet(marked.get(seg.id or 0, seg.text)),
            started_at=as_utc(started_at),
            agent=agent,
        )
        for seg, call_id, started_at, agent in rows
    ], total


def matching(query: Any, terms: list[Term], *, sqlite: bool) -> Any:
    """`query` (one that selects from transcript_segment) narrowed to the matching segments."""
    if sqlite:
        matched = text("SELECT rowid FROM segment_fts WHERE segment_fts MATCH :fts")
        return query.where(col(TranscriptSegment.id).in_(matched)).params(fts=fts5_query(terms))
    return query.where(_vector().op("@@")(_tsquery(terms)))


def first_matches(
    session: Session, terms: list[Term], *, speaker: str | None, call_ids: list[int] | None
) -> dict[int, tuple[int, float]]:
    """{call id: (position, start) of its first matching segment}, over every call (or those
    named): what a topic tags. No principal: a topic tags calls whoever may later see them."""
    query = select(
        Transcript.call_id, func.min(TranscriptSegment.position), func.min(TranscriptSegment.start)
    ).join(Transcript, col(Transcript.id) == TranscriptSegment.transcript_id)
    if call_ids is not None:
        query = query.where(col(Transcript.call_id).in_(call_ids))
    if speaker:
        query = query.where(TranscriptSegment.speaker == speaker)
    query = matching(query, terms, sqlite=session.get_bind().dialect.name == "sqlite")
    rows = session.exec(query.group_by(Transcript.call_id)).all()
    return {int(c): (int(p), float(s)) for c, p, s in rows}


def _vector() -> Any:
    # The very expression the GIN index is built on, or PostgreSQL would not use it.
    return func.to_tsvector(_CONFIG, TranscriptSegment.text)


def _tsquery(terms: list[Term]) -> Any:
    return func.to_tsquery(_CONFIG, tsquery(terms))


def _marked(session: Session, terms: list[Term], ids: list[int], *, sqlite: bool) -> dict[int, str]:
    """Each listed segment's text with the matched words between START and STOP."""
    if not ids:
        return {}
    if sqlite:
        statement = text(
            "SELECT rowid, highlight(segment_fts, 0, :a, :b) FROM segment_fts "
            "WHERE segment_fts MATCH :fts AND rowid IN (" + ",".join(map(str, ids)) + ")"
        ).bindparams(a=START, b=STOP, fts=fts5_query(terms))
        return {int(r[0]): str(r[1]) for r in session.connection().execute(statement)}
    options = f"StartSel={START}, StopSel={STOP}, HighlightAll=true"
    query = select(
        TranscriptSegment.id,
        func.ts_headline(_CONFIG, TranscriptSegment.text, _tsquery(terms), options),
    ).where(col(TranscriptSegment.id).in_(ids))
    return {int(i or 0): str(h) for i, h in session.exec(query)}


def snippet(marked: str, width: int = SNIPPET_CHARS) -> str:
    """Around the first match, at most `width` characters, escaped, matches in <mark>."""
    first = marked.find(START)
    if len(marked) > width:
        begin = max(0, (first if first >= 0 else 0) - width // 3)
        cut = _balanced(marked[begin : begin + width])
        marked = ("…" if begin else "") + cut + ("…" if begin + width < len(marked) else "")
    escaped = html.escape(marked, quote=False)
    return escaped.replace(START, "<mark>").replace(STOP, "</mark>")


def _balanced(cut: str) -> str:
    """A cut through a marked word opens or closes its mark at the cut."""
    first_stop, first_start = cut.find(STOP), cut.find(START)
    if first_stop >= 0 and (first_start < 0 or first_stop < first_start):
        cut = START + cut
    if cut.rfind(START) > cut.rfind(STOP):
        cut += STOP
    return cut


def link(hit: Hit) -> str:
    """The call page, its player at the segment (the page's script seeks to `t`)."""
    return f"/calls/{hit.call_id}?t={hit.start:.2f}#seg-{hit.segment}"
