"""Regular expressions that supervisors write into scorecards, made safe to run on every call.

A pattern such as `(\\w+\\s?)*!` backtracks for minutes on one long utterance, and Python's `re`
holds the GIL meanwhile, so a worker's heartbeat stops with it. Three guards:

1. at save time, `check` refuses patterns that are not valid, that nest an unbounded repeat
   inside another (`(a+)+`, `(\\w+\\s?)*`: the classic catastrophic shape), or that take more
   than PROBE_SECONDS on any of a few hostile texts (`(a|aa)+$` on "aaa…b");
2. at run time, matching uses the `regex` module with `concurrent=True`, which lets go of the
   GIL while it matches, and a timeout per search;
3. a search that runs out of time raises PatternTooSlow naming the criterion, so the job's
   failure reason says which criterion to fix, and nothing is scored on a half-run pattern.

The syntax is Python's `re` (the `regex` module's version 0 is compatible with it).
"""

from __future__ import annotations

import re
import re._parser as sre  # the parser behind re.compile (sre_parse before Python 3.11)
import time
from functools import lru_cache
from typing import Any

import regex

SEARCH_SECONDS = 0.25  # per search of one utterance; a sane pattern takes microseconds
PROBE_SECONDS = 0.05  # per hostile text at save time
PROBE_BUDGET = 0.5  # for all of them: a pattern slow on every text is as bad as one very slow
MAX_LENGTH = 2_000  # characters of pattern

_REPEATS = {sre.MAX_REPEAT, sre.MIN_REPEAT, sre.POSSESSIVE_REPEAT}
# Texts that make backtracking patterns explode: long runs of one kind of character, in the
# scripts the centers speak, each followed by something that breaks the run (and then the
# punctuation a pattern often ends on, so a required literal does not end the search early).
_HOSTILE = tuple(
    run * 1_000 + tail
    for run in ("a", "a ", "1", "1 ", " ", "ש", "ש ", "س", "س ", "-", ".")
    for tail in ("", "!", "\u0000", "\u0000!", "\u0000?", "\u0000.")
)


class PatternUnsafe(ValueError):
    """A pattern refused at save time; the message says why."""


class PatternTooSlow(RuntimeError):
    """A search ran out of time at scoring time."""


def _walk(items: Any, inside_unbounded: bool) -> None:
    """Refuse an unbounded repeat nested in another, through groups, branches and lookarounds."""
    for op, av in items:
        if op in _REPEATS:
            _low, high, body = av
            unbounded = high == sre.MAXREPEAT
            if unbounded and inside_unbounded and op is not sre.POSSESSIVE_REPEAT:
                raise PatternUnsafe(
                    "an unbounded repeat (+, * or {n,}) inside another repeats without limit "
                    "and can take minutes on one sentence: write it without the nesting, e.g. "
                    "(\\w+\\s?)* as [\\w\\s]*"
                )
            _walk(body, inside_unbounded or (unbounded and op is not sre.POSSESSIVE_REPEAT))
        elif op is sre.SUBPATTERN:
            _walk(av[-1], inside_unbounded)
        elif op is sre.BRANCH:
            for branch in av[1]:
                _walk(branch, inside_unbounded)
        elif op in (sre.ASSERT, sre.ASSERT_NOT):
            _walk(av[1], inside_unbounded)
        elif op is sre.ATOMIC_GROUP:
            _walk(av, False)  # no backtracking into an atomic group
        elif op is sre.GROUPREF_EXISTS:
            for branch in av[1:]:
                if branch is not None:
                    _walk(branch, inside_unbounded)


def check(pattern: str, *, case_sensitive: bool = False) -> None:
    """Raise PatternUnsafe when `pattern` is invalid or could stall scoring."""
    if len(pattern) > MAX_LENGTH:
        raise PatternUnsafe(f"a pattern of {len(pattern)} characters; at most {MAX_LENGTH}")
    try:
        parsed = sre.parse(pattern, 0 if case_sensitive else re.IGNORECASE)
    except re.error as exc:
        raise PatternUnsafe(f"not a valid regular expression: {exc}") from None
    _walk(parsed, False)
    compiled = _compiled(pattern, case_sensitive)
    started = time.perf_counter()
    for text in _HOSTILE:
        try:
            # concurrent: the API's other requests go on while a supervisor's pattern is tried.
            compiled.search(text, concurrent=True, timeout=PROBE_SECONDS)
        except TimeoutError:
            raise PatternUnsafe(
                f"takes more than {PROBE_SECONDS * 1000:.0f} ms on a sentence of "
                f"{len(text)} characters ({text[:6]!r}…): it backtracks too much; "
                "make the alternatives or repeats not overlap"
            ) from None
        if time.perf_counter() - started > PROBE_BUDGET:
            raise PatternUnsafe(
                f"takes more than {PROBE_BUDGET:g} s on {len(_HOSTILE)} long sentences: "
                "it backtracks too much; make the alternatives or repeats not overlap"
            )


def compile_only(pattern: str, *, case_sensitive: bool = False) -> None:
    """Raise PatternUnsafe when `pattern` does not compile (a stored pattern: no probes)."""
    try:
        _compiled(pattern, case_sensitive)
    except regex.error as exc:
        raise PatternUnsafe(f"not a valid regular expression: {exc}") from None


@lru_cache(maxsize=512)
def _compiled(pattern: str, case_sensitive: bool) -> regex.Pattern[str]:
    flags = regex.V0 | (0 if case_sensitive else regex.IGNORECASE)
    return regex.compile(pattern, flags)


def search(
    pattern: str, text: str, *, case_sensitive: bool, criterion: str
) -> regex.Match[str] | None:
    """The first match of `pattern` in `text`, within SEARCH_SECONDS, without holding the GIL."""
    try:
        return _compiled(pattern, case_sensitive).search(
            text, concurrent=True, timeout=SEARCH_SECONDS
        )
    except TimeoutError:
        raise PatternTooSlow(
            f"criterion {criterion}: its pattern /{pattern}/ took more than "
            f"{SEARCH_SECONDS:g} s on one utterance ({len(text)} characters); fix the pattern "
            "and score the call again"
        ) from None
