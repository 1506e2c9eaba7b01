"""Guards against text Whisper invents and against the other leg heard on a channel.

Whisper was trained on subtitled video, so over silence, hold music and IVR prompts it may write
"thanks for watching" or repeat one phrase. VAD runs before decoding (engine); here the decoded
segments are checked once more, each rule explainable in one sentence.
"""

from __future__ import annotations

import re
import zlib

import numpy as np
from rapidfuzz import fuzz

from transcription.types import Segment, Word

# Phrases from video subtitles that no caller or agent says as a whole turn.
KNOWN_HALLUCINATIONS = (
    "thanks for watching",
    "thank you for watching",
    "thank you so much for watching",
    "please subscribe",
    "like and subscribe",
    "don't forget to subscribe",
    "subscribe to my channel",
    "see you in the next video",
    "subtitles by the amara.org community",
    "transcribed by",
    "captions by",
    "subtitles by",
    "copyright",
    "music",
    "applause",
)
_NON_WORD = re.compile(r"[^\w' ]+")


def normalise(text: str) -> str:
    return " ".join(_NON_WORD.sub(" ", text.lower()).split())


def is_known_hallucination(text: str) -> bool:
    norm = normalise(text)
    if not norm:
        return True
    return any(fuzz.ratio(norm, phrase) >= 90 for phrase in KNOWN_HALLUCINATIONS)


def loop_start(words: list[str]) -> int | None:
    """Index where the decoder fell into a loop, or None.

    A loop is one word said 6 times in a row, or a 2- to 4-word phrase said 4 times in a row;
    people stutter ("your, your, your") but not that much. A single "word" longer than 40
    characters (S-I-T-I-L-L-E-A-C-L-L-E-C-...) is a loop written without spaces.
    """
    tokens = [normalise(w) for w in words]
    for i, tok in enumerate(tokens):
        if len(tok) > 40:
            return i
        for n, repeats in ((1, 6), (2, 4), (3, 4), (4, 4)):
            gram = tokens[i : i + n]
            if len(gram) == n and all(
                tokens[i + k * n : i + (k + 1) * n] == gram for k in range(1, repeats)
            ):
                return i
    return None


def compression_ratio(text: str) -> float:
    raw = text.encode("utf-8")
    return len(raw) / len(zlib.compress(raw)) if raw else 0.0


def is_implausible(segment: Segment) -> str | None:
    """Why a decoded segment is not speech, or None when it is kept."""
    if is_known_hallucination(segment.text):
        return "known hallucination phrase"
    if len(segment.text) > 60 and compression_ratio(segment.text) > 2.4:
        return "text too repetitive (compression ratio)"
    if segment.no_speech_prob > 0.6 and segment.avg_logprob < -0.7:
        return "decoder judged it not speech"
    if segment.words and float(np.mean([w.probability for w in segment.words])) < 0.2:
        return "every word decoded with very low confidence"
    return None


def trim_loop(segment: Segment) -> Segment | None:
    """The segment cut where a decoder loop starts (None when nothing is left)."""
    start = loop_start([w.text for w in segment.words])
    if start is None:
        return segment
    return with_words(segment, segment.words[:start]) if start > 0 else None


def split_on_gaps(segment: Segment, *, max_gap: float) -> list[Segment]:
    """Split a segment where its words are separated by silence longer than `max_gap`.

    After VAD the engine decodes speech chunks glued together; a segment can then span a long
    silence (a 4 s sentence reported over 40 s). Word times are mapped back to the original audio
    one by one, so cutting at word gaps restores true turn times.
    """
    if not segment.words:
        return [segment]
    groups: list[list[Word]] = [[segment.words[0]]]
    for prev, word in zip(segment.words, segment.words[1:], strict=False):
        if word.start - prev.end > max_gap:
            groups.append([])
        groups[-1].append(word)
    if len(groups) == 1:
        return [with_words(segment, groups[0])]
    return [with_words(segment, g) for g in groups]


def with_words(segment: Segment, words: list[Word]) -> Segment:
    return Segment(
        speaker=segment.speaker,
        start=words[0].start,
        end=words[-1].end,
        text=" ".join(w.text for w in words),
        confidence=float(np.mean([w.probability for w in words])),
        words=words,
        no_speech_prob=segment.no_speech_prob,
        avg_logprob=segment.avg_logprob,
        compression_ratio=segment.compression_ratio,
        voice=segment.voice,
    )


def _rms_db(audio: np.ndarray, rate: int, spans: list[tuple[float, float]]) -> float:
    parts = [audio[int(a * rate) : max(int(a * rate) + 1, int(b * rate))] for a, b in spans]
    joined = np.concatenate(parts) if parts else np.zeros(1, dtype=np.float32)
    rms = float(np.sqrt(np.mean(np.square(joined, dtype=np.float64)))) if joined.size else 0.0
    return float(20 * np.log10(max(rms, 1e-6)))


def drop_bleed(
    segment: Segment, own: np.ndarray, other: np.ndarray, rate: int, *, margin_db: float
) -> list[Segment]:
    """The segment without words that are the other party leaking into this channel.

    A word is bleed when the other leg is much louder while it is spoken (echo, crosstalk on a
    stereo recording). What remains is split where a bleed word was removed.
    """
    if not segment.words:
        return [segment]
    groups: list[list[Word]] = [[]]
    for w in segment.words:
        if (
            _rms_db(other, rate, [(w.start, w.end)]) - _rms_db(own, rate, [(w.start, w.end)])
            > margin_db
        ):
            if groups[-1]:
                groups.append([])
            continue
        groups[-1].append(w)
    return [with_words(segment, g) for g in groups if g]


def _louder_here(own: np.ndarray, other: np.ndarray, rate: int, span: tuple[float, float]) -> bool:
    """This leg carries more energy than the other one over `span`: speech said on it."""
    return _rms_db(own, rate, [span]) > _rms_db(other, rate, [span])


def drop_echoes(
    segments: list[Segment],
    other_segments: list[Segment],
    own: np.ndarray,
    other: np.ndarray,
    rate: int,
    *,
    window: float = 3.0,
    margin_db: float = 6.0,
) -> list[Segment]:
    """Remove words that repeat what the other party said moments before, louder, on its leg.

    Bleed is sometimes loud enough to pass the energy test, and after VAD its words can be timed
    next to this party's own speech. Two words in a row that the other leg said up to `window`
    seconds earlier, where the other leg was the louder one at that moment, are that echo —
    unless this leg is the louder one while the pair is said here: then it is this party saying
    the same words ("looking forward to seeing you soon" — "see you soon"), which people do.
    """
    theirs: dict[tuple[str, str], list[tuple[float, float]]] = {}
    for seg in other_segments:
        for w1, w2 in zip(seg.words, seg.words[1:], strict=False):
            theirs.setdefault((normalise(w1.text), normalise(w2.text)), []).append(
                (w1.start, w2.end)
            )
    out: list[Segment] = []
    for seg in segments:
        drop: set[int] = set()
        for i, (w1, w2) in enumerate(zip(seg.words, seg.words[1:], strict=False)):
            for a, b in theirs.get((normalise(w1.text), normalise(w2.text)), []):
                # The echo is never earlier than what it echoes; VAD gluing only delays it.
                near = -window <= a - w1.start <= 0.3
                if (
                    near
                    and _rms_db(other, rate, [(a, b)]) - _rms_db(own, rate, [(a, b)]) > margin_db
                    and not _louder_here(own, other, rate, (w1.start, w2.end))
                ):
                    drop.update((i, i + 1))
        if not drop:
            out.append(seg)
            continue
        groups: list[list[Word]] = [[]]
        for i, w in enumerate(seg.words):
            if i in drop:
                if groups[-1]:
                    groups.append([])
            else:
                groups[-1].append(w)
        out += [with_words(seg, g) for g in groups if g]
    return out
