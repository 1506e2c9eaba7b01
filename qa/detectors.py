"""One function per criterion kind: does the transcript meet it, and where is the evidence."""

from __future__ import annotations

import bisect
import re
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
from rapidfuzz import fuzz, process

from qa import patterns
from qa.metrics import Metrics
from qa.scorecard import Criterion
from qa.semantic import Comparison, Match
from qa.sentiment import Sentiment
from qa.turns import Sentence, Turn
from qa.types import CallFacts, Evidence, Utterance

_WORD = re.compile(r"[\w']+")
PREFILTER_MARGIN = 10
WORD_MATCH = 70  # per content word, after the phrase as a whole matched
# An auto-fail by meaning must clear its threshold by this much and beat every rival outright:
# zeroing a call on a near-miss ("not a problem" for "not my problem") is the worst error.
STRICT = 0.03
STRONGLY_NEGATIVE = -0.5  # a customer turn this negative needs acknowledging, whatever it says


@lru_cache(maxsize=65536)
def _tokens(text: str) -> tuple[str, ...]:
    return tuple(_WORD.findall(text.lower()))


def words(text: str) -> list[str]:
    return list(_tokens(text))


@dataclass(frozen=True)
class Outcome:
    passed: bool
    evidence: list[Evidence]
    reason: str
    applicable: bool = True


# A chat or e-mail has message times, not a recording's clock: "in the first 20 s" becomes the
# speaker's first turns, "in the last 45 s" their last ones.
POSITIONAL_TURNS = 2


def _window(c: Criterion, utterances: list[Utterance], facts: CallFacts) -> list[Utterance]:
    out = [u for u in utterances if c.speaker == "any" or u.speaker == c.speaker]
    if facts.channel != "phone":
        ordered = sorted(out, key=lambda u: u.start)
        if c.within_seconds is not None:
            ordered = ordered[:POSITIONAL_TURNS]
        if c.after_seconds_from_end is not None:
            ordered = ordered[-POSITIONAL_TURNS:]
        return ordered
    if c.within_seconds is not None:
        out = [u for u in out if u.start <= c.within_seconds]
    if c.after_seconds_from_end is not None:
        end = max((u.end for u in utterances), default=facts.duration)
        out = [u for u in out if u.end >= end - c.after_seconds_from_end]
    return out


@lru_cache(maxsize=65536)
def normalised(text: str) -> str:
    return " ".join(_tokens(text))


def exact_phrase(phrase: str, text: str) -> bool:
    """The phrase's words, in order and whole, after case and punctuation are set aside."""
    target = normalised(phrase)
    return bool(target) and f" {target} " in f" {normalised(text)} "


def find_phrase(phrase: str, utterance: Utterance, threshold: int) -> str | None:
    """The words of `utterance` that match `phrase` fuzzily (ASR gets words slightly wrong)."""
    target = " ".join(_tokens(phrase))
    tokens = _tokens(utterance.text)
    # partial_ratio (in C) scores the best alignment of the phrase anywhere in the utterance;
    # with a margin it rules out most utterances before the word-window loop.
    if fuzz.partial_ratio(target, " ".join(tokens)) < threshold - PREFILTER_MARGIN:
        return None
    return _best_window(target, tokens, threshold)


def _best_window(target: str, tokens: tuple[str, ...], threshold: int) -> str | None:
    """The run of n or n+1 words (n-1 too for long phrases) most like the n-word phrase, if it
    is like enough."""
    if f" {target} " in f" {' '.join(tokens)} ":
        return target  # the common case: said and transcribed as written
    n = len(target.split())
    # One word fewer only for long phrases: for short ones it would let the key word (the
    # company's name) go missing and still match.
    sizes = {n, n + 1} | ({n - 1} if n >= 6 else set())
    windows = [
        " ".join(tokens[i : i + size])
        for size in sorted(sizes)
        for i in range(0, max(1, len(tokens) - size + 1))
    ]
    best = process.extractOne(target, windows, scorer=fuzz.ratio, score_cutoff=threshold)
    if best is None:
        return None
    # A phrase-level ratio forgives one wrong short word ("calling Globex" ~ "calling Acme"):
    # every content word of the phrase must also be there, give or take an ASR slip.
    said = best[0].split()
    for word in target.split():
        if len(word) >= 4 and max(fuzz.ratio(word, w) for w in said) < WORD_MATCH:
            return None
    return str(best[0])


def _where(c: Criterion) -> str:
    parts = [c.speaker if c.speaker != "any" else "anyone"]
    if c.within_seconds is not None:
        parts.append(f"in the first {c.within_seconds:g} s")
    if c.after_seconds_from_end is not None:
        parts.append(f"in the last {c.after_seconds_from_end:g} s")
    return " ".join(parts)


def phrases(c: Criterion, utterances: list[Utterance], facts: CallFacts) -> Outcome:
    window = _window(c, utterances, facts)
    targets = [" ".join(_tokens(p)) for p in c.phrases]
    texts = [" ".join(_tokens(u.text)) for u in window]
    hits: list[Evidence] = []
    if window:
        # Every phrase against every utterance in one call into C; the word-window search
        # then runs only where a match is possible.
        bound = process.cdist(
            targets,
            texts,
            scorer=fuzz.partial_ratio,
            score_cutoff=c.threshold - PREFILTER_MARGIN,
            dtype=np.uint8,
        )
        for ui, pi in zip(*np.nonzero(bound.T), strict=True):
            u = window[ui]
            quote = _best_window(targets[pi], _tokens(u.text), c.threshold)
            if quote is not None:
                hits.append(Evidence(u.start, u.end, quote, u.index))
    if c.expect == "absent":
        if c.auto_fail:
            # A fuzzy near-miss never zeroes a call: only the words as written do.
            hits = [
                Evidence(u.start, u.end, normalised(p), u.index)
                for u in window
                for p in c.phrases
                if exact_phrase(p, u.text)
            ]
        if hits:
            return Outcome(False, hits, f'forbidden phrase said: "{hits[0].quote}"')
        return Outcome(True, [], "none of the forbidden phrases was said")
    if c.after_seconds_from_end is not None:
        hits.sort(key=lambda e: -(e.start or 0.0))  # a closing is the last thing said
    if hits:
        return Outcome(True, hits[:3], f'said "{hits[0].quote}"')
    note = f"no {' / '.join(repr(p) for p in c.phrases[:3])} by {_where(c)}"
    return Outcome(False, [Evidence(None, None, None, None, note)], note)


def pattern(c: Criterion, utterances: list[Utterance], facts: CallFacts) -> Outcome:
    hits = [
        Evidence(u.start, u.end, m.group(0), u.index)
        for u in _window(c, utterances, facts)
        if (
            m := patterns.search(
                c.pattern or "", u.text, case_sensitive=c.case_sensitive, criterion=c.id
            )
        )
    ]
    if c.expect == "absent":
        if hits:
            return Outcome(False, hits, f'forbidden wording: "{hits[0].quote}"')
        return Outcome(True, [], "forbidden wording not found")
    if hits:
        return Outcome(True, hits[:3], f'found "{hits[0].quote}"')
    # Said in words, not as the regular expression: agents read this reason too.
    note = f"the wording this criterion looks for was not said by {_where(c)}"
    return Outcome(False, [Evidence(None, None, None, None, note)], note)


_UNMEASURABLE = "not measurable on this call"


def _bounds(value: float | None, c: Criterion, name: str, unit: str) -> tuple[bool, str]:
    if value is None:
        return True, f"{name}: {_UNMEASURABLE}"
    if c.max is not None and value > c.max:
        return False, f"{name} {value:.2f}{unit} is above {c.max:g}{unit}"
    if c.min is not None and value < c.min:
        return False, f"{name} {value:.2f}{unit} is below {c.min:g}{unit}"
    return True, f"{name} {value:.2f}{unit} within target"


def metric(c: Criterion, metrics: Metrics) -> Outcome:
    outcome = _metric(c, metrics)
    if outcome.reason.endswith(_UNMEASURABLE):
        # Nothing to measure (no reply to time, say): not judged, rather than passed.
        return Outcome(True, outcome.evidence, outcome.reason, applicable=False)
    return outcome


def _metric(c: Criterion, metrics: Metrics) -> Outcome:
    at: float | None = None
    value: float | None
    if c.metric == "longest_hold":
        longest = max(metrics.holds, key=lambda h: h.seconds, default=None)
        value, at = (longest.seconds, longest.start) if longest else (0.0, None)
    elif c.metric == "unannounced_holds":
        value = float(sum(1 for h in metrics.holds if not h.announced))
        at = next((h.start for h in metrics.holds if not h.announced), None)
    elif c.metric == "agent_talk_share":
        value = metrics.talk_share.get("agent")
    elif c.metric == "interruptions":
        value = float(metrics.interruptions)
    elif c.metric == "longest_silence":
        value, at = metrics.longest_silence, metrics.longest_silence_at
    else:
        value = getattr(metrics, c.metric or "")
    unit = "" if c.metric in ("unannounced_holds", "interruptions", "agent_talk_share") else " s"
    passed, reason = _bounds(value, c, (c.metric or "").replace("_", " "), unit)
    evidence = [Evidence(at, at, None, None, reason)]
    return Outcome(passed, evidence, reason)


def sentiment(c: Criterion, s: Sentiment) -> Outcome:
    value = {
        "customer_end": s.customer_end,
        "customer_trend": s.customer_trend,
        "customer_mean": s.customer_mean,
        "agent_mean": s.agent_mean,
    }[c.measure or ""]
    passed, reason = _bounds(value, c, (c.measure or "").replace("_", " "), "")
    return Outcome(
        passed, [Evidence(None, None, None, None, reason)], reason, applicable=value is not None
    )


# The intro in any case ("My name is"), the name itself capitalised as ASR writes names; in
# Hebrew and Persian (no capitals) the word after "my name is" / "I am called".
_NAME_INTRO = re.compile(
    r"\b(?i:my name is|my name's|this is|it's|i am)\s+([A-Z][a-z]+)"
    r"|(?<![א-ת])(?:קוראים לי|שמי|מדבר|מדברת)\s+(?!על|עם|איתך|איתכם)"
    r"([א-ת]{2,})"
    r"|(?<![\u0600-\u06FF])(?:اسمم|اسم من)\s+"
    r"([\u0621-\u064A\u067E-\u06CC\u200c]{2,})"
)


def name_used(c: Criterion, utterances: list[Utterance], facts: CallFacts) -> Outcome:
    """The agent calls the customer by name: the name on file, or the one they introduced."""
    ordered = sorted(utterances, key=lambda u: u.start)
    name, since = facts.customer_name, 0.0
    if not name:
        for u in ordered:
            if u.speaker == "customer" and (m := _NAME_INTRO.search(u.text)):
                name, since = next(g for g in m.groups() if g), u.start
                break
    if not name:
        return Outcome(True, [], "the customer's name is not known; not judged", applicable=False)
    # First name or surname ("Mr Rezaei" is as personal in Persian as "Hamid" in English).
    targets = [w for w in words(name) if len(w) >= 2]
    for u in ordered:
        if (
            u.speaker == "agent"
            and u.start >= since
            and any(
                fuzz.ratio(w, target) >= c.threshold for w in words(u.text) for target in targets
            )
        ):
            return Outcome(
                True, [Evidence(u.start, u.end, name, u.index)], f"agent used the name {name!r}"
            )
    note = f"agent never used the customer's name {name!r}"
    return Outcome(False, [Evidence(None, None, None, None, note)], note)


def _in_window(c: Criterion, comparison: Comparison, end_of_call: float) -> list[int]:
    """Indexes of the sentences a criterion reads: its speaker's, in its part of the call."""
    keep = np.ones(len(comparison.sentences), dtype=bool)
    if c.speaker != "any":
        keep &= comparison.speakers == c.speaker
    if comparison.positional and (
        c.within_seconds is not None or c.after_seconds_from_end is not None
    ):
        mine = [int(i) for i in np.flatnonzero(keep)]
        order = list(dict.fromkeys(comparison.sentences[i].turn for i in mine))
        if c.within_seconds is not None:
            order = order[:POSITIONAL_TURNS]
        if c.after_seconds_from_end is not None:
            order = order[-POSITIONAL_TURNS:]
        chosen = set(order)
        return [i for i in mine if comparison.sentences[i].turn in chosen]
    if c.within_seconds is not None:
        keep &= comparison.starts <= c.within_seconds
    if c.after_seconds_from_end is not None:
        keep &= comparison.ends >= end_of_call - c.after_seconds_from_end
    return [int(i) for i in np.flatnonzero(keep)]


@lru_cache(maxsize=1024)
def _phrase_regex(phrases: tuple[str, ...]) -> re.Pattern[str] | None:
    """All of a criterion's phrases, normalised, as whole-word alternatives in one regex."""
    targets = [normalised(p) for p in phrases if normalised(p)]
    if not targets:
        return None
    return re.compile(r"(?<!\S)(?:" + "|".join(re.escape(t) for t in targets) + r")(?!\S)")


def _meaning_evidence(m: Match) -> Evidence:
    return Evidence(
        m.sentence.start,
        m.sentence.end,
        m.sentence.text,
        m.sentence.segment,
        f"means \u201c{m.example}\u201d (similarity {m.similarity:.2f}; "
        f"nearest other: \u201c{m.rival}\u201d {m.rival_similarity:.2f})",
        similarity=round(m.similarity, 3),
    )


def _as_utterance(s: Sentence) -> Utterance:
    return Utterance(s.segment, s.speaker, s.start, s.end, s.text)


def examples(c: Criterion, comparison: Comparison, end_of_call: float) -> Outcome:
    """Said in any words (and any language) that mean one of the criterion's examples."""
    sentences = comparison.sentences
    window = _in_window(c, comparison, end_of_call)
    strict = STRICT if c.expect == "absent" and c.auto_fail else 0.0
    hits = [_meaning_evidence(m) for m in comparison.match(c.id, window, strict=strict)]
    said = [sentences[i] for i in window]
    # Words as written count, unless the sentence means one of the near-misses ("I'd never
    # tell anyone it's risk free" says "risk free" and means the opposite).
    rx_phrases = _phrase_regex(c.phrases)
    exact = [
        Evidence(s.start, s.end, s.text, s.segment, f"says \u201c{m.group(0)}\u201d as written")
        for i, s in zip(window, said, strict=True)
        if rx_phrases is not None
        and (m := rx_phrases.search(normalised(s.text)))
        and not (c.expect == "absent" and comparison.nearer_counter_example(c.id, i))
    ]
    if c.pattern:
        exact += [
            Evidence(s.start, s.end, s.text, s.segment, f"matches \u201c{m.group(0)}\u201d")
            for s in said
            if (
                m := patterns.search(
                    c.pattern, s.text, case_sensitive=c.case_sensitive, criterion=c.id
                )
            )
        ]
    seen = {e.segment for e in exact}
    hits = exact + [e for e in hits if e.segment not in seen]
    if c.name_company and c.company and c.expect == "present":
        named = [
            e
            for e in hits
            if e.quote and fuzz.partial_ratio(c.company.lower(), e.quote.lower()) >= c.threshold
        ]
        if hits and not named:
            note = f"\u201c{hits[0].quote}\u201d does not name {c.company}"
            return Outcome(False, [Evidence(None, None, None, None, note)], note)
        hits = named
    if c.after_seconds_from_end is not None:
        hits.sort(key=lambda e: -(e.start or 0.0))  # a closing is the last thing said
    elif c.within_seconds is not None:
        hits.sort(key=lambda e: e.start or 0.0)  # a greeting is the first
    if c.expect == "absent":
        if hits:
            return Outcome(False, hits[:3], f'said "{hits[0].quote}"')
        return Outcome(True, [], f"nothing like {c.examples[0]!r} was said by {_where(c)}")
    if hits:
        return Outcome(True, hits[:3], f'said "{hits[0].quote}"')
    note = f"nothing meaning {' / '.join(repr(e) for e in c.examples[:2])} by {_where(c)}"
    return Outcome(False, [Evidence(None, None, None, None, note)], note)


def acknowledgement_by_meaning(
    c: Criterion, turns: list[Turn], comparison: Comparison, polarity: list[float]
) -> Outcome:
    """Every customer turn that voices frustration (by meaning, or strongly negative) is
    answered by an acknowledgement or apology (by meaning): in what the agent says from the
    start of that turn to the end of the agent's next turn (in stereo the agent often says
    "oh, I'm so sorry" while the customer is still talking)."""
    sentences = comparison.sentences
    upset: dict[int, str] = {}
    if f"{c.id}:triggers" in comparison.matcher.sets:
        # Whole sentences: a clause cut from its negation ("terrified it's on its last leg")
        # is no complaint.
        customer = [i for i, s in enumerate(sentences) if s.speaker == "customer" and not s.clause]
        for m in comparison.match(f"{c.id}:triggers", customer):
            upset.setdefault(m.sentence.turn, m.sentence.text)
    for t, p in zip(turns, polarity, strict=True):
        if t.speaker == "customer" and p <= STRONGLY_NEGATIVE:
            upset.setdefault(t.index, t.text)
    if not upset:
        return Outcome(
            True, [], "the customer voiced no frustration to acknowledge", applicable=False
        )
    agent = sorted((s.start, i) for i, s in enumerate(sentences) if s.speaker == "agent")
    agent_starts = [start for start, _ in agent]
    agent_turns = [t for t in turns if t.speaker == "agent"]
    turn_starts = [t.start for t in agent_turns]
    evidence, missed = [], []
    for index in sorted(upset):
        turn = turns[index]
        k = bisect.bisect_left(turn_starts, turn.end - 0.5)
        reply = agent_turns[k] if k < len(agent_turns) else None
        until = reply.end if reply is not None else turn.end
        lo = bisect.bisect_left(agent_starts, turn.start)
        hi = bisect.bisect_right(agent_starts, until)
        said = [i for _, i in agent[lo:hi]]
        found = comparison.match(c.id, said) if c.id in comparison.matcher.sets and said else []
        # Listed phrases count too, fuzzily as ASR writes them.
        phrase = next(
            (
                q
                for p in c.phrases
                for i in said
                if (q := find_phrase(p, _as_utterance(sentences[i]), c.threshold))
            ),
            None,
        )
        if phrase is not None:
            first = sentences[said[0]]
            evidence.append(Evidence(first.start, first.end, phrase, first.segment, "acknowledged"))
        elif found:
            evidence.append(_meaning_evidence(found[0]))
        else:
            missed.append(turn)
            evidence.append(
                Evidence(
                    turn.start,
                    turn.end,
                    upset[index],
                    turn.segments[0],
                    "customer's frustration not acknowledged",
                )
            )
    if missed:
        return Outcome(
            False,
            evidence,
            f"{len(missed)} of {len(upset)} frustrated customer turns not "
            f"acknowledged (first at {missed[0].start:.1f} s)",
        )
    return Outcome(True, evidence, "every frustrated customer turn was acknowledged")
