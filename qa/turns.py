"""Segments into turns, turns into sentences: what meaning-based criteria and sentiment read.

The recogniser cuts speech wherever it pauses, so "I'm not" / "unhappy at all" can arrive as two
segments. A turn is the run of one speaker's consecutive segments; a sentence keeps the place
(segment, start, end) of the words it quotes, so evidence still points into the recording.
"""

from __future__ import annotations

import bisect
import re
from dataclasses import dataclass
from typing import NamedTuple

from qa.types import Speaker, Utterance

TURN_GAP = 3.0  # seconds: a longer pause (a hold, say) starts a new turn of the same speaker
LONG_SENTENCE_WORDS = 6  # longer sentences are also read clause by clause
MIN_CLAUSE_WORDS = 3

# Latin, Arabic-script (؟ ۔) and ellipsis sentence ends; Hebrew uses Latin punctuation.
# Not after a single letter ("8 a.m. tomorrow", "Mr. J. Smith").
_SENTENCE_END = re.compile(r"(?<=[.!?؟…۔])(?<![\s.]\w\.)(?<!^\w\.)\s+")
_CLAUSE_SPLIT = re.compile(r"(?<=[,;،؛])\s+|\s+(?:but|and|so|אבל|ולכן|ولی|اما|و)\s+")


@dataclass(frozen=True)
class Turn:
    index: int
    speaker: Speaker
    start: float
    end: float
    text: str
    segments: tuple[int, ...]  # utterance indexes, in order


class Sentence(NamedTuple):
    """A sentence (or a clause of a long one) of a turn, with where its words were said.
    (A named tuple: a long call has thousands, and they are built on every rescore.)"""

    turn: int
    speaker: Speaker
    start: float
    end: float
    text: str
    segment: int  # the utterance its first word came from
    clause: bool = False  # a clause of a longer sentence, also read on its own


def turns(utterances: list[Utterance]) -> list[Turn]:
    ordered = sorted(utterances, key=lambda u: (u.start, u.index))
    out: list[Turn] = []
    group: list[Utterance] = []

    def close() -> None:
        if group:
            out.append(
                Turn(
                    len(out),
                    group[0].speaker,
                    group[0].start,
                    max(u.end for u in group),
                    " ".join(u.text.strip() for u in group),
                    tuple(u.index for u in group),
                )
            )

    for u in ordered:
        if not u.text.strip():
            continue
        if group and (u.speaker != group[-1].speaker or u.start - group[-1].end > TURN_GAP):
            close()
            group = []
        group.append(u)
    close()
    return out


def _pieces(text: str) -> list[tuple[int, str, bool]]:
    """(offset, text, is a clause) of each sentence, and of the clauses of long sentences."""
    out: list[tuple[int, str, bool]] = []
    pos = 0
    for part in _SENTENCE_END.split(text):
        offset = text.find(part, pos)
        pos = offset + len(part)
        if not part.strip():
            continue
        out.append((offset, part, False))
        if len(part.split()) > LONG_SENTENCE_WORDS:
            cpos = 0
            for clause in _CLAUSE_SPLIT.split(part):
                if clause is None:
                    continue
                coff = part.find(clause, cpos)
                cpos = coff + len(clause)
                if len(clause.split()) >= MIN_CLAUSE_WORDS and clause != part:
                    out.append((offset + coff, clause, True))
    return out


def sentences(utterances: list[Utterance], merged: list[Turn] | None = None) -> list[Sentence]:
    """The sentences of `merged` (the turns of `utterances`, merged here when not given)."""
    by_index = {u.index: u for u in utterances}
    out: list[Sentence] = []
    for turn in turns(utterances) if merged is None else merged:
        # Where each segment's text lies in the turn's text, to map a sentence back to time.
        spans: list[tuple[int, int, Utterance]] = []
        cursor = 0
        for idx in turn.segments:
            seg = by_index[idx]
            length = len(seg.text.strip())
            spans.append((cursor, cursor + length, seg))
            cursor += length + 1

        ends = [b for _, b, _ in spans]

        def at(
            offset: int, spans: list[tuple[int, int, Utterance]] = spans, ends: list[int] = ends
        ) -> tuple[float, int]:
            k = bisect.bisect_left(ends, offset)
            if k == len(spans):
                return spans[-1][2].end, spans[-1][2].index
            a, b, seg = spans[k]
            share = 0.0 if b == a else max(0.0, min(1.0, (offset - a) / (b - a)))
            return seg.start + share * (seg.end - seg.start), seg.index

        if len(spans) == 1:  # most turns: one segment, times by share of its characters
            seg = spans[0][2]
            width = max(1, spans[0][1])
            span = seg.end - seg.start
            for offset, piece, clause in _pieces(turn.text):
                start = seg.start + span * min(1.0, offset / width)
                end = seg.start + span * min(1.0, (offset + len(piece)) / width)
                out.append(
                    Sentence(turn.index, turn.speaker, start, end, piece.strip(), seg.index, clause)
                )
            continue
        for offset, piece, clause in _pieces(turn.text):
            start, segment = at(offset)
            end, _ = at(offset + len(piece))
            out.append(
                Sentence(
                    turn.index, turn.speaker, start, max(end, start), piece.strip(), segment, clause
                )
            )
    return out


def texts_to_embed(utterances: list[Utterance]) -> list[str]:
    """Every distinct text scoring will embed for this transcript: its sentences (and the
    clauses of long ones)."""
    seen = dict.fromkeys(s.text for s in sentences(utterances))
    return list(seen)
