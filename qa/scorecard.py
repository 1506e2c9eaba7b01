"""Scorecard definitions: YAML in, validated dataclasses out, with the line of every mistake."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from qa import patterns, yamlload
from qa.types import DIMENSIONS

KINDS = (
    "examples",
    "phrases",
    "pattern",
    "metric",
    "sentiment",
    "order",
    "acknowledgement",
    "name_used",
)
METRICS = (
    "reply_latency_mean",
    "reply_latency_p90",
    "longest_silence",
    "longest_dead_air",
    "time_to_greeting",
    "longest_hold",
    "unannounced_holds",
    "interruptions",
    "agent_talk_share",
)
SENTIMENT_MEASURES = ("customer_end", "customer_trend", "customer_mean", "agent_mean")
SPEAKERS = ("agent", "customer", "any")


class ScorecardInvalid(ValueError):
    """A scorecard definition that cannot be used; the message names the line and the reason."""


@dataclass(frozen=True)
class Criterion:
    id: str
    label: str
    dimension: str  # one of DIMENSIONS
    kind: str
    weight: float = 1.0
    speaker: str = "agent"
    call_types: tuple[str, ...] = ("service", "sales", "other")
    directions: tuple[str, ...] = ("inbound", "outbound")
    script: bool = False  # a step of the call script: counts toward script compliance
    auto_fail: bool = False
    # phrases / acknowledgement
    phrases: tuple[str, ...] = ()
    expect: str = "present"  # present | absent (forbidden phrases)
    within_seconds: float | None = None  # only the first N seconds of the call
    after_seconds_from_end: float | None = None  # only the last N seconds of the call
    threshold: int = 85  # rapidfuzz ratio for a fuzzy phrase match
    # examples: matched by meaning (qa.semantic); `phrases` then count only when said exactly
    examples: tuple[str, ...] = ()
    not_examples: tuple[str, ...] = ()  # near-misses that must not count ("not a problem")
    similarity: float = 0.86  # cosine to the nearest example, once it beats every rival
    # acknowledgement: the customer turns that need one, by meaning
    triggers: tuple[str, ...] = ()
    not_triggers: tuple[str, ...] = ()
    trigger_similarity: float = 0.86
    # examples: with the scorecard's `company` set, a match must also name it (fuzzily)
    name_company: bool = False
    company: str | None = None
    # pattern
    pattern: str | None = None
    case_sensitive: bool = False  # e.g. to tell a capitalised name from an ordinary word
    # metric / sentiment bounds
    metric: str | None = None
    measure: str | None = None
    max: float | None = None
    min: float | None = None
    # order
    first: str | None = None
    then: str | None = None
    line: int = 0


@dataclass(frozen=True)
class Scorecard:
    name: str
    version: int
    company: str | None
    dimension_weights: dict[str, float]
    script_weight: float
    criteria: tuple[Criterion, ...] = field(default_factory=tuple)
    # Words Whisper should expect (product names, places): passed to it as hotwords.
    vocabulary: tuple[str, ...] = ()


def _fail(line: int, message: str) -> ScorecardInvalid:
    return ScorecardInvalid(f"line {line}: {message}")


def _weight(value: object, line: int, what: str) -> float:
    """A finite number >= 0 (YAML's .nan and .inf are floats too; true is an int)."""
    if (
        isinstance(value, bool)
        or not isinstance(value, int | float)
        or not math.isfinite(value)
        or value < 0
    ):
        raise _fail(line, f"{what} must be a finite number >= 0, not {value!r}")
    return float(value)


def _check_pattern(raw: dict[str, Any], line: int, strict: bool) -> None:
    """At save time (`strict`) a pattern must be safe; a stored one is only compiled, so a
    version saved before the checks, or a busy machine's slower clock, does not stop scoring
    (patterns.search still bounds it)."""
    try:
        if strict:
            patterns.check(str(raw["pattern"]), case_sensitive=bool(raw.get("case_sensitive")))
        else:
            patterns.compile_only(
                str(raw["pattern"]), case_sensitive=bool(raw.get("case_sensitive"))
            )
    except patterns.PatternUnsafe as exc:
        raise _fail(
            line, f"criterion {raw.get('id')}: pattern {raw['pattern']!r} refused: {exc}"
        ) from None


def _strings(value: Any, line: int, name: str) -> tuple[str, ...]:
    if isinstance(value, str):
        return (value,)
    if not isinstance(value, list) or not all(isinstance(v, str) and v.strip() for v in value):
        raise _fail(line, f"{name} must be a list of non-empty strings")
    return tuple(value)


def _examples(value: Any, line: int, name: str, company: str | None) -> tuple[str, ...]:
    """A list of utterances, or a mapping of language code to lists (en: [...], he: [...])."""
    if value is None:
        return ()
    if isinstance(value, dict):
        value.pop("__line__", None)
        items: list[str] = []
        for lang, texts in value.items():
            items.extend(_strings(texts, line, f"{name}.{lang}"))
    else:
        items = list(_strings(value, line, name))
    # Without a company name, "{company}" reads as the generic "our company".
    filled = (t.replace("{company}", company or "") for t in items)
    return tuple(dict.fromkeys(" ".join(t.split()) for t in filled if t.strip()))


def _similarity(value: Any, line: int, name: str) -> float:
    if (
        isinstance(value, bool)
        or not isinstance(value, int | float)
        or not 0.5 <= float(value) <= 1.0
    ):
        raise _fail(line, f"{name} must be a cosine similarity between 0.5 and 1.0")
    return float(value)


def _with_company(phrases: tuple[str, ...], company: str | None) -> tuple[str, ...]:
    """With a company name, a criterion that has `{company}` phrases counts only those, with
    the name filled in; without one, only its other phrases count."""
    named = tuple(p for p in phrases if "{company}" in p)
    if company and named:
        return tuple(p.replace("{company}", company) for p in named)
    return tuple(p for p in phrases if "{company}" not in p)


def _criterion(
    raw: Any, line: int, ids: set[str], company: str | None = None, strict: bool = True
) -> Criterion:
    if not isinstance(raw, dict):
        raise _fail(line, "each criterion must be a mapping")
    line = raw.pop("__line__", line)
    known = set(Criterion.__dataclass_fields__) - {"line", "call_types", "directions"}
    known |= {"applies_to"}
    unknown = sorted(set(raw) - known)
    if unknown:
        raise _fail(line, f"unknown field(s) {', '.join(unknown)}")
    for required in ("id", "dimension", "kind"):
        if not raw.get(required):
            raise _fail(line, f"criterion needs `{required}`")
    cid = str(raw["id"])
    if cid in ids:
        raise _fail(line, f"duplicate criterion id {cid!r}")
    if raw["dimension"] not in DIMENSIONS:
        raise _fail(line, f"dimension {raw['dimension']!r} is not one of {', '.join(DIMENSIONS)}")
    kind = raw["kind"]
    if kind not in KINDS:
        raise _fail(line, f"kind {kind!r} is not one of {', '.join(KINDS)}")
    weight = _weight(raw.get("weight", 1.0), line, "weight")
    for key in ("min", "max", "within_seconds", "after_seconds_from_end", "threshold"):
        value = raw.get(key)
        if value is not None and (
            isinstance(value, bool)
            or not isinstance(value, int | float)
            or not math.isfinite(value)
        ):
            raise _fail(line, f"{key} must be a finite number, not {value!r}")
    if raw.get("speaker", "agent") not in SPEAKERS:
        raise _fail(line, f"speaker must be one of {', '.join(SPEAKERS)}")
    applies = raw.pop("applies_to", {}) or {}
    applies.pop("__line__", None)
    call_types = _strings(
        applies.get("call_types", ["service", "sales", "other"]), line, "applies_to.call_types"
    )
    directions = _strings(
        applies.get("directions", ["inbound", "outbound"]), line, "applies_to.directions"
    )
    # Lists become tuples: a criterion is hashable (scoring caches per scorecard content).
    values: dict[str, Any] = {
        k: tuple(v) if isinstance(v, list) else v
        for k, v in raw.items()
        if k in Criterion.__dataclass_fields__
    }
    values.update(
        id=cid,
        label=str(raw.get("label", cid)),
        weight=float(weight),
        call_types=call_types,
        directions=directions,
        line=line,
    )
    if raw.get("name_company"):
        values["company"] = company
    for name in ("examples", "not_examples", "triggers", "not_triggers"):
        values[name] = _examples(raw.get(name), line, name, company)
    for name in ("similarity", "trigger_similarity"):
        if name in raw:
            values[name] = _similarity(raw[name], line, name)
    if kind == "examples":
        if not values["examples"]:
            raise _fail(line, "an examples criterion needs `examples` (utterances, any language)")
        if raw.get("expect", "present") not in ("present", "absent"):
            raise _fail(line, "expect must be present or absent")
        if raw.get("phrases"):
            values["phrases"] = _with_company(_strings(raw["phrases"], line, "phrases"), company)
        if raw.get("pattern"):
            _check_pattern(raw, line, strict)
    elif kind in ("phrases", "acknowledgement"):
        if kind == "acknowledgement" and values["examples"] and not raw.get("phrases"):
            values["phrases"] = ()
        elif not raw.get("phrases"):
            raise _fail(line, f"a {kind} criterion needs `phrases`")
        else:
            values["phrases"] = _with_company(_strings(raw["phrases"], line, "phrases"), company)
        if kind == "phrases" and not values["phrases"]:
            raise _fail(line, "every phrase needs {company}, but the scorecard names no company")
        if raw.get("expect", "present") not in ("present", "absent"):
            raise _fail(line, "expect must be present or absent")
        if not 50 <= int(raw.get("threshold", 85)) <= 100:
            raise _fail(line, "threshold must be between 50 and 100")
    elif kind == "pattern":
        if not raw.get("pattern"):
            raise _fail(line, "a pattern criterion needs `pattern`")
        _check_pattern(raw, line, strict)
    elif kind == "metric":
        if raw.get("metric") not in METRICS:
            raise _fail(line, f"metric must be one of {', '.join(METRICS)}")
        if raw.get("max") is None and raw.get("min") is None:
            raise _fail(line, "a metric criterion needs `max` or `min`")
    elif kind == "sentiment":
        if raw.get("measure") not in SENTIMENT_MEASURES:
            raise _fail(line, f"measure must be one of {', '.join(SENTIMENT_MEASURES)}")
        if raw.get("max") is None and raw.get("min") is None:
            raise _fail(line, "a sentiment criterion needs `max` or `min`")
    elif kind == "order" and not (raw.get("first") and raw.get("then")):
        raise _fail(line, "an order criterion needs `first` and `then` (criterion ids)")
    ids.add(cid)
    return Criterion(**values)


def parse(text: str, *, strict: bool = True) -> Scorecard:
    """A scorecard from YAML. `strict` (saving a new version) also refuses patterns that could
    backtrack for minutes; reading a stored version (strict=False) only compiles them."""
    try:
        raw = yamlload.load(text, lines=True)
    except yaml.YAMLError as exc:
        line, what = yamlload.problem(exc)
        raise _fail(line or 0, f"not valid YAML ({what})") from None
    if not isinstance(raw, dict):
        raise _fail(1, "a scorecard is a mapping with `name` and `criteria`")
    line = raw.pop("__line__", 1)
    if not raw.get("name"):
        raise _fail(line, "a scorecard needs a `name`")
    criteria_raw = raw.get("criteria")
    if not isinstance(criteria_raw, list) or not criteria_raw:
        raise _fail(line, "a scorecard needs a non-empty `criteria` list")
    weights = raw.get("dimension_weights") or {}
    weights.pop("__line__", None)
    bad = sorted(set(weights) - set(DIMENSIONS) - {"script_compliance"})
    if bad:
        raise _fail(line, f"dimension_weights names unknown dimension(s) {', '.join(bad)}")
    for key, value in weights.items():
        _weight(value, line, f"dimension_weights.{key}")
    version = raw.get("version", 1)
    if isinstance(version, bool) or not isinstance(version, int) or not 1 <= version < 2**31:
        raise _fail(line, f"version must be a whole number >= 1, not {version!r}")
    ids: set[str] = set()
    company = raw.get("company")
    if company is not None and not isinstance(company, str):
        raise _fail(line, "company must be a name")
    criteria = tuple(_criterion(c, line, ids, company, strict) for c in criteria_raw)
    for c in criteria:
        if c.kind == "order":
            for ref in (c.first, c.then):
                if ref not in ids:
                    raise _fail(c.line, f"order refers to unknown criterion {ref!r}")
    vocabulary = _strings(raw.get("vocabulary") or [], line, "vocabulary")
    return Scorecard(
        name=str(raw["name"]),
        vocabulary=tuple(v for v in (company, *vocabulary) if v),
        version=version,
        company=raw.get("company"),
        dimension_weights={d: float(weights.get(d, 1.0)) for d in DIMENSIONS},
        script_weight=float(weights.get("script_compliance", 1.0)),
        criteria=criteria,
    )


def load(path: Path) -> Scorecard:
    return parse(path.read_text(encoding="utf-8"))


def default_path() -> Path:
    return Path(__file__).resolve().parent.parent / "scorecards" / "default.yaml"
