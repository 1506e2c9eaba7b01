"""PCI redaction of transcripts: card numbers, security codes and expiry dates.

Runs on words, not on segment text, so a number read across two segments of the same speaker is
still found and the remaining words keep their times. A card number is 13 to 19 digits passing
the Luhn check, said as digits ("4111 1111 ..."), in groups, or as words ("four one one one",
"double one", "forty-one"). Security codes and expiry dates are only recognised after their cue
words, since three digits alone are everywhere in a call.
"""

from __future__ import annotations

import bisect
import re
from collections.abc import Iterable
from dataclasses import dataclass

from stdnum import luhn

from transcription.types import Segment, Word

REDACTED = "[REDACTED]"

_UNITS = {
    "zero": "0",
    "oh": "0",
    "o": "0",
    "nought": "0",
    "nil": "0",
    "one": "1",
    "two": "2",
    "three": "3",
    "four": "4",
    "five": "5",
    "six": "6",
    "seven": "7",
    "eight": "8",
    "nine": "9",
}
_TEENS = {
    "ten": "10",
    "eleven": "11",
    "twelve": "12",
    "thirteen": "13",
    "fourteen": "14",
    "fifteen": "15",
    "sixteen": "16",
    "seventeen": "17",
    "eighteen": "18",
    "nineteen": "19",
}
_TENS = {
    "twenty": "2",
    "thirty": "3",
    "forty": "4",
    "fourty": "4",
    "fifty": "5",
    "sixty": "6",
    "seventy": "7",
    "eighty": "8",
    "ninety": "9",
}
_REPEAT = {"double": 2, "triple": 3}
# Hesitations and separators said between the groups of a number; up to _MAX_FILLERS in a row.
_FILLERS = {
    "",
    "and",
    "uh",
    "um",
    "umm",
    "uhh",
    "uhm",
    "er",
    "erm",
    "ah",
    "hmm",
    "mm",
    "dash",
    "hyphen",
    "space",
    "then",
    "slash",
}
_MAX_FILLERS = 4
_MONTHS = {
    "january",
    "february",
    "march",
    "april",
    "may",
    "june",
    "july",
    "august",
    "september",
    "october",
    "november",
    "december",
    "jan",
    "feb",
    "mar",
    "apr",
    "jun",
    "jul",
    "aug",
    "sep",
    "sept",
    "oct",
    "nov",
    "dec",
}
_CVV_CUES = (
    ("security", "code"),
    ("cvv",),
    ("cvv2",),
    ("cvc",),
    ("csc",),
    ("verification", "code"),
    ("three", "digit", "code"),
    ("3", "digit", "code"),
    ("code", "on", "the", "back"),
    ("card", "code"),
    ("security", "number"),
    # "the three numbers on the back", "the digits on the back of the card"
    ("numbers", "on", "the", "back"),
    ("digits", "on", "the", "back"),
    ("number", "on", "the", "back"),
    ("back", "of", "the", "card"),
    ("back", "of", "your", "card"),
    ("three", "numbers"),
    ("three", "digits"),
    ("3", "digits"),
    ("3", "numbers"),
    ("four", "digits", "on", "the", "front"),
)
_EXPIRY_CUES = (
    ("expiry",),
    ("expiration",),
    ("expires",),
    ("expire",),
    ("expiring",),
    ("exp",),
    ("valid", "through"),
    ("valid", "thru"),
    ("valid", "until"),
    ("good", "through"),
    ("good", "thru"),
    ("good", "until"),
    ("good", "till"),
    ("valid", "till"),
    ("end", "date"),
    # "it runs out in 12/29"
    ("runs", "out"),
    ("run", "out"),
    ("running", "out"),
)
# A cue said by one party covers the other party's answer within this many seconds (the agent
# asks for the code, the customer says it on the other leg).
_CROSS_SECONDS = 15.0
_CUE_WINDOW = 6
_DIGITS_ONLY = re.compile(r"^[0-9]+$")
_STRIP = re.compile(r"[^\w/'-]+")


def _norm(text: str) -> str:
    return _STRIP.sub("", text.lower()).strip("-'")


def _word_digits(token: str) -> str | None:
    """Digits a single word stands for: '4111', '4111-1111', 'twenty-one', 'seven'."""
    compact = re.sub(r"[-./,]", "", token)
    if compact and _DIGITS_ONLY.match(compact):
        return compact
    parts = [p for p in re.split(r"[-/]", token) if p]
    if not parts:
        return None
    out = ""
    i = 0
    while i < len(parts):
        p = parts[i]
        if p in _TENS:
            if i + 1 < len(parts) and parts[i + 1] in _UNITS and _UNITS[parts[i + 1]] != "0":
                out += _TENS[p] + _UNITS[parts[i + 1]]
                i += 2
                continue
            out += _TENS[p] + "0"
        elif p in _UNITS:
            out += _UNITS[p]
        elif p in _TEENS:
            out += _TEENS[p]
        elif _DIGITS_ONLY.match(p):
            out += p
        else:
            return None
        i += 1
    return out


def _contributions(tokens: list[str]) -> list[str | None]:
    """Digits each token contributes, reading number words in context ('twenty one' = 21)."""
    out: list[str | None] = []
    for i, tok in enumerate(tokens):
        nxt = tokens[i + 1] if i + 1 < len(tokens) else ""
        if tok in _REPEAT and nxt in _UNITS:
            out.append(_UNITS[nxt] * (_REPEAT[tok] - 1))
        elif tok in _TENS and nxt in _UNITS and _UNITS[nxt] != "0":
            out.append(_TENS[tok])
        else:
            out.append(_word_digits(tok))
    return out


@dataclass
class _Token:
    seg: int
    idx: int
    norm: str


def _runs(
    contrib: list[str | None], tokens: list[str], max_fillers: int = _MAX_FILLERS
) -> list[list[int]]:
    """Indices of number-bearing tokens that belong together (small fillers allowed between)."""
    runs: list[list[int]] = []
    current: list[int] = []
    fillers = 0
    for i, digits in enumerate(contrib):
        if digits:
            current.append(i)
            fillers = 0
        elif current and tokens[i] in _FILLERS and fillers < max_fillers:
            fillers += 1
        else:
            if current:
                runs.append(current)
            current, fillers = [], 0
    if current:
        runs.append(current)
    return runs


_ASR_EDGE = 2  # digits an ASR engine may add before or after a card number


def _has_card(digits: str) -> bool:
    """13 to 19 digits passing Luhn; from 15 digits on, also with up to two stray digits at
    either end, because ASR adds them ("411111111111111111" for a 16-digit card). Redacting a
    long number that was not a card is the safe way to be wrong."""
    if 13 <= len(digits) <= 19 and luhn.is_valid(digits):
        return True
    if len(digits) < 15:
        return False
    if len(digits) > 19:
        # Longer than any card: a card read with its repeated digits run together and
        # stretched (openai-whisper wrote 4111 1111 1111 1111 as "4" and twenty "1"s). Any
        # card-length window that passes Luhn is enough (98 % of random 20-digit numbers hold
        # one; a run that long in a call is a card).
        return any(
            luhn.is_valid(digits[a : a + n])
            for n in range(13, 20)
            for a in range(len(digits) - n + 1)
        )
    return any(
        luhn.is_valid(digits[a:b])
        for a in range(0, _ASR_EDGE + 1)
        for b in range(len(digits) - _ASR_EDGE, len(digits) + 1)
        if 13 <= b - a <= 19
    )


def _card_tokens(run: list[int], contrib: list[str | None]) -> set[int]:
    hit: set[int] = set()
    for a in range(len(run)):
        digits = ""
        for b in range(a, len(run)):
            digits += contrib[run[b]] or ""
            if len(digits) >= 13 and _has_card(digits):
                # The shortest window from `a` holding a card; longer ones add nothing new.
                hit.update(run[a : b + 1])
                break
            if len(digits) > 40:
                break
    return hit


def _cue_ends(tokens: list[str], cues: Iterable[tuple[str, ...]]) -> list[int]:
    ends = []
    for i in range(len(tokens)):
        for cue in cues:
            if tuple(tokens[i : i + len(cue)]) == cue:
                ends.append(i + len(cue))
    return ends


def _code_after(start: int, tokens: list[str], contrib: list[str | None], stop: int) -> set[int]:
    """The security code after a cue: the first number starting within _CUE_WINDOW words of
    `start` (before `stop`), hesitations allowed inside it, if it has 3 or 4 digits; if the
    hesitation joined the next number to it ("7 3 1 and 9 4 1 0 5 is my zip"), the part
    before the first hesitation, if that has 3 or 4 digits."""
    run: list[int] = []
    before_filler: list[int] | None = None
    fillers = 0
    for i in range(start, stop):
        if contrib[i]:
            run.append(i)
            fillers = 0
        elif run:
            if tokens[i] in _FILLERS and fillers < _MAX_FILLERS:
                if before_filler is None:
                    before_filler = list(run)
                fillers += 1
                continue
            break
        elif i - start >= _CUE_WINDOW:
            break
    for candidate in (run, before_filler or []):
        if 3 <= len("".join(contrib[i] or "" for i in candidate)) <= 4:
            return set(candidate)
    return set()


def _date_after(start: int, tokens: list[str], contrib: list[str | None], stop: int) -> set[int]:
    # Numbers and month names shortly after the cue; other words are skipped, not a stop,
    # because ASR mangles the words around a date ("the expire made in 0 .928").
    return {
        i
        for i in range(start, min(stop, start + _CUE_WINDOW))
        if tokens[i] in _MONTHS or (contrib[i] and len(contrib[i] or "") <= 6)
    }


def _security_code_tokens(tokens: list[str], contrib: list[str | None]) -> set[int]:
    hit: set[int] = set()
    for end in _cue_ends(tokens, _CVV_CUES):
        hit |= _code_after(end, tokens, contrib, len(tokens))
    return hit


def _expiry_tokens(tokens: list[str], contrib: list[str | None]) -> set[int]:
    hit: set[int] = set()
    for end in _cue_ends(tokens, _EXPIRY_CUES):
        hit |= _date_after(end, tokens, contrib, len(tokens))
    return hit


def redact_segments(segments: list[Segment]) -> tuple[list[Segment], int]:
    """Redacted copies of `segments` (same order) and how many spans were redacted.

    Each speaker is read as one stream in time order, so a number split over segments is found.
    """
    words_of = [seg.words or _pseudo_words(seg) for seg in segments]
    redact = _hits(segments, words_of)

    out: list[Segment] = []
    spans = 0
    for si, seg in enumerate(segments):
        new_words: list[Word] = []
        for wi, w in enumerate(words_of[si]):
            if (si, wi) not in redact:
                new_words.append(w)
            elif new_words and new_words[-1].text == REDACTED and (si, wi - 1) in redact:
                new_words[-1] = Word(
                    new_words[-1].start, w.end, REDACTED, new_words[-1].probability
                )
            else:
                spans += 1
                new_words.append(Word(w.start, w.end, REDACTED, w.probability))
        if any((si, wi) in redact for wi in range(len(words_of[si]))):
            text = " ".join(w.text for w in new_words)
        else:
            text = seg.text
        out.append(
            Segment(
                speaker=seg.speaker,
                start=seg.start,
                end=seg.end,
                text=text,
                confidence=seg.confidence,
                words=new_words if seg.words else [],
                no_speech_prob=seg.no_speech_prob,
                avg_logprob=seg.avg_logprob,
                compression_ratio=seg.compression_ratio,
                voice=seg.voice,
            )
        )
    return out, spans


def _streams(segments: list[Segment], words_of: list[list[Word]]) -> list[list[_Token]]:
    """Each speaker's words as one stream in time order."""
    return [
        [
            _Token(si, wi, _norm(w.text))
            for si in sorted(
                (i for i, s in enumerate(segments) if s.speaker == speaker),
                key=lambda i: segments[i].start,
            )
            for wi, w in enumerate(words_of[si])
        ]
        for speaker in sorted({s.speaker for s in segments})
    ]


def _hits(
    segments: list[Segment], words_of: list[list[Word]], *, min_run_digits: int | None = None
) -> set[tuple[int, int]]:
    """(segment, word) positions of card data; with `min_run_digits`, also every run of number
    words holding that many digits, card or not."""
    redact: set[tuple[int, int]] = set()
    streams = _streams(segments, words_of)
    parsed = []
    for stream in streams:
        tokens = [t.norm for t in stream]
        contrib = _contributions(tokens)
        parsed.append((tokens, contrib))
        hits: set[int] = set()
        for run in _runs(contrib, tokens):
            hits |= _card_tokens(run, contrib)
            if min_run_digits and len("".join(contrib[i] or "" for i in run)) >= min_run_digits:
                hits.update(run)
        hits |= _security_code_tokens(tokens, contrib)
        hits |= _expiry_tokens(tokens, contrib)
        redact.update((stream[i].seg, stream[i].idx) for i in hits)
    redact |= _answers_to_cues(streams, parsed, words_of)
    return redact


def _answers_to_cues(
    streams: list[list[_Token]],
    parsed: list[tuple[list[str], list[str | None]]],
    words_of: list[list[Word]],
) -> set[tuple[int, int]]:
    """A security code or expiry date said by one party after the other party's cue: the cue
    is found on everyone's words in time order, the answer in each other stream's words that
    start within _CROSS_SECONDS after it."""
    if len(streams) < 2:
        return set()
    timeline = sorted(
        ((k, i) for k, stream in enumerate(streams) for i in range(len(stream))),
        key=lambda p: (_start(streams, words_of, p), p),
    )
    said = [streams[k][i].norm for k, i in timeline]
    starts = [
        [_start(streams, words_of, (k, i)) for i in range(len(s))] for k, s in enumerate(streams)
    ]
    hit: set[tuple[int, int]] = set()
    for cues, answer in ((_CVV_CUES, _code_after), (_EXPIRY_CUES, _date_after)):
        for end in _cue_ends(said, cues):
            k_cue, i_cue = timeline[end - 1]
            cue = words_of[streams[k_cue][i_cue].seg][streams[k_cue][i_cue].idx]
            for k, stream in enumerate(streams):
                if k == k_cue:
                    continue  # the cue's own speaker: read in its own stream
                first = bisect.bisect_left(starts[k], cue.end - 0.05)
                stop = bisect.bisect_right(starts[k], cue.end + _CROSS_SECONDS)
                tokens, contrib = parsed[k]
                hit.update(
                    (stream[i].seg, stream[i].idx) for i in answer(first, tokens, contrib, stop)
                )
    return hit


def _start(streams: list[list[_Token]], words_of: list[list[Word]], at: tuple[int, int]) -> float:
    token = streams[at[0]][at[1]]
    return words_of[token.seg][token.idx].start


# What the recording must lose is wider than what the transcript hides: a card number the
# decoder garbled ("41111111111111111", a loop the guards cut) still says its digits aloud, and
# a security code heard as "free payment 1" is still "three seven one" in the audio.
AUDIO_MIN_RUN_DIGITS = 8
AUDIO_CUE_SECONDS = 4.0
_CARD_CUES = (
    ("card", "number"),
    ("long", "number"),
    ("number", "on", "the", "card"),
    ("number", "on", "your", "card"),
)


def sensitive_spans(segments: list[Segment]) -> list[tuple[float, float]]:
    """Time spans of a recording where card data may be heard (unmerged, no margin).

    Everything the transcript redacts; every run of number words with 8 digits or more; and the
    `AUDIO_CUE_SECONDS` after each cue for a card number, a security code or an expiry date,
    whoever says the cue (the agent asks, the customer answers on the other leg).
    """
    words_of = [seg.words or _pseudo_words(seg) for seg in segments]
    spans = [
        (words_of[si][wi].start, words_of[si][wi].end)
        for si, wi in _hits(segments, words_of, min_run_digits=AUDIO_MIN_RUN_DIGITS)
    ]
    timeline = sorted((w for ws in words_of for w in ws), key=lambda w: (w.start, w.end))
    tokens = [_norm(w.text) for w in timeline]
    for end in _cue_ends(tokens, (*_CVV_CUES, *_EXPIRY_CUES, *_CARD_CUES)):
        said = timeline[end - 1].end
        spans.append((said, said + AUDIO_CUE_SECONDS))
    return sorted(spans)


def _pseudo_words(seg: Segment) -> list[Word]:
    return [Word(seg.start, seg.end, t, seg.confidence) for t in seg.text.split()]


def redact_text(text: str) -> str:
    """Redact a free text (a note, a log line) the same way as a transcript."""
    seg = Segment(speaker="unknown", start=0.0, end=0.0, text=text, confidence=1.0)  # type: ignore[arg-type]
    (out,), _ = redact_segments([seg])
    return out.text
