"""The scorecard editor's form: a definition's mapping as form fields, and the fields back as the
YAML that `qa.parse` reads. The server builds the definition; the browser only posts fields.

Each criterion `i` posts `c<i>.<field>`, with `c<i>.fields` listing the fields it showed (so an
unticked box reads as false, not as missing) and utterances per language as
`c<i>.<field>@<lang>`. Saving from the form writes the YAML out anew, without its comments;
the YAML page keeps them."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import yaml

from qa import yamlload
from qa.scorecard import KINDS, METRICS, SENTIMENT_MEASURES, SPEAKERS, Criterion
from qa.types import DIMENSIONS

CALL_TYPES = ("service", "sales", "other")
DIRECTIONS = ("inbound", "outbound")
WEIGHTS = (*DIMENSIONS, "script_compliance")

COMMON = ("label", "dimension", "weight", "speaker", "script", "auto_fail")
KIND_FIELDS: dict[str, tuple[str, ...]] = {
    "examples": (
        "examples",
        "not_examples",
        "similarity",
        "expect",
        "phrases",
        "pattern",
        "case_sensitive",
        "name_company",
        "within_seconds",
        "after_seconds_from_end",
        "threshold",
    ),
    "phrases": ("phrases", "expect", "threshold", "within_seconds", "after_seconds_from_end"),
    "pattern": ("pattern", "case_sensitive", "expect", "within_seconds", "after_seconds_from_end"),
    "metric": ("metric", "min", "max"),
    "sentiment": ("measure", "min", "max"),
    "acknowledgement": (
        "examples",
        "not_examples",
        "similarity",
        "triggers",
        "not_triggers",
        "trigger_similarity",
        "phrases",
        "threshold",
    ),
    "order": ("first", "then"),
    "name_used": ("threshold",),
}
TYPES: dict[str, str] = {
    "label": "text",
    "pattern": "text",
    "first": "text",
    "then": "text",
    "dimension": "choice",
    "speaker": "choice",
    "expect": "choice",
    "metric": "choice",
    "measure": "choice",
    "weight": "number",
    "similarity": "number",
    "trigger_similarity": "number",
    "threshold": "number",
    "within_seconds": "number",
    "after_seconds_from_end": "number",
    "min": "number",
    "max": "number",
    "script": "flag",
    "auto_fail": "flag",
    "case_sensitive": "flag",
    "name_company": "flag",
    "phrases": "lines",
    "examples": "grouped",
    "not_examples": "grouped",
    "triggers": "grouped",
    "not_triggers": "grouped",
}
CHOICES: dict[str, tuple[str, ...]] = {
    "dimension": DIMENSIONS,
    "speaker": SPEAKERS,
    "expect": ("present", "absent"),
    "metric": METRICS,
    "measure": SENTIMENT_MEASURES,
}
HELP: dict[str, str] = {
    "weight": "its share of its dimension (0: counted nowhere)",
    "speaker": "whose words it reads",
    "script": "a step of the call script (script compliance)",
    "auto_fail": "a fail sets the overall to 0",
    "examples": "utterances it should match by meaning, one a line",
    "not_examples": "near-misses that must not count, one a line",
    "similarity": "0.5–1.0: how close to an example a sentence must be",
    "expect": "absent: something that must not be said",
    "phrases": "said as written (fuzzy), one a line; {company} is the scorecard's company",
    "pattern": "a regular expression",
    "case_sensitive": "the pattern must match capitals too",
    "name_company": "a match must also name the company",
    "within_seconds": "only the first N seconds of the call",
    "after_seconds_from_end": "only the last N seconds of the call",
    "threshold": "50–100: how close a fuzzy phrase match must be",
    "triggers": "customer turns that need an acknowledgement, one a line",
    "not_triggers": "customer turns that do not, one a line",
    "trigger_similarity": "0.5–1.0, for the triggers",
    "min": "lowest passing value",
    "max": "highest passing value",
    "first": "id of the criterion that must come first",
    "then": "id of the criterion that must come after it",
}
_LANG = re.compile(r"^[A-Za-z][\w-]{0,19}$")
_INT = re.compile(r"^-?\d+$")
_FLOAT = re.compile(r"^-?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$")
_LINE = re.compile(r"^line (\d+): (.*)$", re.S)


@dataclass(frozen=True)
class FieldView:
    name: str
    type: str  # text | number | choice | flag | lines | grouped
    value: Any  # str; bool for a flag; [(language, text)] for grouped utterances
    choices: tuple[str, ...] = ()
    placeholder: str = ""
    help: str = ""

    @property
    def label(self) -> str:
        return self.name.replace("_", " ")


@dataclass(frozen=True)
class CriterionView:
    index: int
    id: str
    kind: str
    fields: list[FieldView]
    call_types: tuple[str, ...]
    directions: tuple[str, ...]

    @property
    def names(self) -> str:
        return ",".join(f.name for f in self.fields)


@dataclass
class Draft:
    """A definition being edited: the mapping qa.parse reads, and what the form got wrong."""

    data: dict[str, Any]
    problems: list[str] = field(default_factory=list)

    @property
    def criteria(self) -> list[dict[str, Any]]:
        return list(self.data.get("criteria") or [])

    def yaml(self) -> str:
        return yaml.safe_dump(self.data, sort_keys=False, allow_unicode=True, width=100)


def load(definition: str) -> Draft:
    """A stored definition (valid: it was checked when saved) as a draft to edit."""
    data = yamlload.load(definition)
    return Draft(data if isinstance(data, dict) else {})


def _text(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _default(name: str) -> str:
    f = Criterion.__dataclass_fields__.get(name)
    default = getattr(f, "default", None) if f else None
    return "" if default is None or isinstance(default, bool | tuple) else _text(default)


def _groups(value: object) -> list[tuple[str, str]]:
    if isinstance(value, dict):
        return [(str(lang), "\n".join(map(str, items or []))) for lang, items in value.items()]
    if isinstance(value, list):
        return [("", "\n".join(map(str, value)))]
    return [("", _text(value))]


def _view(name: str, value: object) -> FieldView:
    kind = TYPES.get(name, "text")
    shown: Any
    if kind == "flag":
        shown = bool(value)
    elif kind == "grouped":
        shown = _groups(value)
    elif kind == "lines":
        shown = "\n".join(map(str, value)) if isinstance(value, list) else _text(value)
    else:
        shown = _text(value)
    return FieldView(
        name=name,
        type=kind,
        value=shown,
        choices=CHOICES.get(name, ()),
        placeholder=_default(name) if kind == "number" else "",
        help=HELP.get(name, ""),
    )


def views(draft: Draft) -> list[CriterionView]:
    """Each criterion as the fields its kind has, and any other field it carries."""
    out = []
    for i, raw in enumerate(draft.criteria):
        kind = str(raw.get("kind", ""))
        names = [*COMMON, *KIND_FIELDS.get(kind, ())]
        names += [k for k in raw if k not in names and k not in ("id", "kind", "applies_to")]
        applies = raw.get("applies_to") or {}
        out.append(
            CriterionView(
                index=i,
                id=_text(raw.get("id")),
                kind=kind,
                fields=[_view(n, raw.get(n)) for n in names],
                call_types=tuple(applies.get("call_types") or CALL_TYPES),
                directions=tuple(applies.get("directions") or DIRECTIONS),
            )
        )
    return out


def weights(draft: Draft) -> list[tuple[str, str]]:
    given = draft.data.get("dimension_weights") or {}
    return [(d, _text(given.get(d))) for d in WEIGHTS]


# ---- the posted form back as a definition ---------------------------------------------------


def _lines(text: str) -> list[str]:
    return [line.strip() for line in text.splitlines() if line.strip()]


def _number(text: str, where: str, problems: list[str]) -> int | float | str:
    if _INT.match(text):
        return int(text)
    if _FLOAT.match(text):
        return float(text)
    problems.append(f"{where} must be a number, not {text!r}")
    return text  # kept as typed, so the page shows it back


def _criterion(form: Mapping[str, str], i: int, problems: list[str]) -> dict[str, Any]:
    p = f"c{i}."
    cid = form.get(p + "id", "").strip()
    kind = form.get(p + "kind", "").strip()
    out: dict[str, Any] = {"id": cid}
    shown = [n for n in form.get(p + "fields", "").split(",") if n]
    for name in shown:
        if name not in TYPES and name not in Criterion.__dataclass_fields__:
            continue  # a field of no criterion: qa.parse would refuse it, the form never sends it
        kind_of = TYPES.get(name, "text")
        text = form.get(p + name, "")
        if kind_of == "flag":
            if text:
                out[name] = True
        elif kind_of == "number":
            if text.strip():
                out[name] = _number(text.strip(), f"criterion {cid or i + 1}: {name}", problems)
        elif kind_of == "lines":
            if _lines(text):
                out[name] = _lines(text)
        elif kind_of == "grouped":
            groups: dict[str, list[str]] = {}
            for key, value in form.items():
                base, _, lang = key.partition("@")
                if base == p + name and (not lang or _LANG.match(lang)) and _lines(value):
                    groups[lang] = _lines(value)
            if list(groups) == [""]:
                out[name] = groups[""]
            elif groups:
                # Utterances typed outside any language group are still examples (any language).
                out[name] = {lang or "any": items for lang, items in groups.items()}
        elif text.strip():
            out[name] = text.strip()
        if name == "dimension":
            out["kind"] = kind  # id, label, dimension, kind: the order people read them in
    out.setdefault("kind", kind)
    applies: dict[str, list[str]] = {}
    for key, allowed in (("call_types", CALL_TYPES), ("directions", DIRECTIONS)):
        ticked = [v for v in allowed if form.get(f"{p}{key}.{v}")]
        if len(ticked) != len(allowed):
            applies[key] = ticked
    if applies:
        out["applies_to"] = applies
    return out


def _indexes(form: Mapping[str, str]) -> list[int]:
    found = {int(m.group(1)) for k in form if (m := re.match(r"^c(\d{1,4})\.kind$", k))}
    return sorted(found)


def from_form(name: str, form: Mapping[str, str]) -> Draft:
    """The definition the form describes, without the criteria ticked for removal. Text that is
    no number stays as typed, with a problem naming it (nothing is scored or stored then)."""
    problems: list[str] = []
    data: dict[str, Any] = {"name": name}
    company = form.get("company", "").strip()
    if company:
        data["company"] = company
    vocabulary = _lines(form.get("vocabulary", ""))
    if vocabulary:
        data["vocabulary"] = vocabulary
    given = {
        d: _number(form[f"w.{d}"].strip(), f"the weight of {d}", problems)
        for d in WEIGHTS
        if form.get(f"w.{d}", "").strip()
    }
    if given:
        data["dimension_weights"] = given
    data["criteria"] = [
        _criterion(form, i, problems) for i in _indexes(form) if not form.get(f"c{i}.remove")
    ]
    return Draft(data, problems)


def add_criterion(draft: Draft, kind: str) -> Draft:
    """The draft with a new, empty criterion of `kind` at the end, for the person to fill in."""
    if kind not in KINDS:
        draft.problems.append(f"a criterion's kind is one of {', '.join(KINDS)}")
        return draft
    taken = {str(c.get("id")) for c in draft.criteria}
    n = next(n for n in range(1, len(taken) + 2) if f"new_{kind}_{n}" not in taken)
    new = {"id": f"new_{kind}_{n}", "label": "", "dimension": DIMENSIONS[0], "kind": kind}
    draft.data["criteria"] = [*draft.criteria, new]
    return draft


def explain(draft: Draft, message: str) -> str:
    """qa.parse's "line N: …" of the YAML built from the form, said of the criterion there (the
    person never saw those line numbers)."""
    m = _LINE.match(message)
    if not m:
        return message
    line, what = int(m.group(1)), m.group(2)
    try:
        marked = yamlload.load(draft.yaml(), lines=True)
    except yaml.YAMLError:
        return message
    starts = [(c.get("__line__", 0), c.get("id")) for c in (marked.get("criteria") or [])]
    owner = max((s for s in starts if s[0] <= line), default=None, key=lambda s: s[0])
    if owner is None:
        return f"the scorecard: {what}"
    if f"criterion {owner[1]}" in what:
        return what
    return f"criterion {owner[1]}: {what}"
