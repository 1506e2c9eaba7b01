"""Mystery-shopper form templates: YAML in, validated questions out; answers in, validated and
scored on the same five service dimensions (0-100) as recorded calls. Pure.

Question kinds and how an answer earns points (0 to 1, times the question's weight):
  yes_no   `good: yes` (default) or `good: no`: the good answer earns 1
  scale    1-5: (answer - 1) / 4
  choice   `options` maps each choice to its points (0-1)
  number   `best` and `worst` (e.g. minutes waited: best 1, worst 10): linear in between
  text     free text, never scored
A scored question names its `dimension`; `script: true` makes it an observable script step
(script compliance). Optional questions left empty are not scored.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from qa import yamlload
from qa.types import DIMENSIONS

KINDS = ("yes_no", "scale", "choice", "number", "text")
_YES = {"yes", "y", "true", "1"}
_NO = {"no", "n", "false", "0"}


class TemplateInvalid(ValueError):
    """The message names the line and what is wrong."""


@dataclass(frozen=True)
class Question:
    id: str
    text: str
    kind: str
    required: bool = True
    dimension: str | None = None
    weight: float = 1.0
    script: bool = False
    good: str = "yes"
    options: dict[str, float] = field(default_factory=dict)
    best: float | None = None
    worst: float | None = None
    help: str | None = None

    @property
    def scored(self) -> bool:
        return self.kind != "text" and self.dimension is not None


@dataclass(frozen=True)
class Template:
    name: str
    title: str
    intro: str
    questions: tuple[Question, ...]


def default_path() -> Path:
    return Path(__file__).with_name("shopper_default.yaml")


def _fail(line: int, message: str) -> TemplateInvalid:
    return TemplateInvalid(f"line {line}: {message}")


def parse(text: str) -> Template:
    try:
        raw = yamlload.load(text, lines=True)
    except yaml.YAMLError as exc:
        line, what = yamlload.problem(exc)
        raise TemplateInvalid(f"line {line or '?'}: not valid YAML ({what})") from None
    if not isinstance(raw, dict):
        raise TemplateInvalid("line 1: a template is a mapping with name and questions")
    line = raw.pop("__line__", 1)
    name = raw.get("name")
    if not isinstance(name, str) or not name.strip():
        raise _fail(line, "the template needs a `name`")
    items = raw.get("questions")
    if not isinstance(items, list) or not items:
        raise _fail(line, "the template needs a list of `questions`")
    seen: set[str] = set()
    questions = tuple(_question(q, line, seen) for q in items)
    if not any(q.scored for q in questions):
        raise _fail(line, "at least one question must be scored (have a dimension)")
    return Template(
        name=name.strip(),
        title=str(raw.get("title") or name),
        intro=str(raw.get("intro") or ""),
        questions=questions,
    )


def _question(raw: Any, line: int, seen: set[str]) -> Question:
    if not isinstance(raw, dict):
        raise _fail(line, "each question must be a mapping")
    line = raw.pop("__line__", line)
    known = set(Question.__dataclass_fields__)
    unknown = sorted(set(raw) - known)
    if unknown:
        raise _fail(line, f"unknown field(s) {', '.join(unknown)}")
    for required in ("id", "text", "kind"):
        if not raw.get(required):
            raise _fail(line, f"a question needs `{required}`")
    qid = str(raw["id"])
    if qid in seen:
        raise _fail(line, f"duplicate question id {qid!r}")
    seen.add(qid)
    kind = raw["kind"]
    if kind not in KINDS:
        raise _fail(line, f"kind {kind!r} is not one of {', '.join(KINDS)}")
    dimension = raw.get("dimension")
    if dimension is not None and dimension not in DIMENSIONS:
        raise _fail(line, f"dimension {dimension!r} is not one of {', '.join(DIMENSIONS)}")
    if kind == "text" and dimension is not None:
        raise _fail(line, "free-text questions are not scored: remove `dimension`")
    weight = raw.get("weight", 1.0)
    if isinstance(weight, bool) or not isinstance(weight, int | float) or weight < 0:
        raise _fail(line, "weight must be a number >= 0")
    options: dict[str, float] = {}
    if kind == "choice":
        opts = raw.get("options")
        if not isinstance(opts, dict) or len(opts) < 2:
            raise _fail(
                line,
                "a choice question needs `options`: at least two, each with its points from 0 to 1",
            )
        for label, points in opts.items():
            if label == "__line__":
                continue
            if (
                isinstance(points, bool)
                or not isinstance(points, int | float)
                or not 0 <= points <= 1
            ):
                raise _fail(line, f"option {label!r}: points must be from 0 to 1")
            options[str(label)] = float(points)
    if kind == "number" and dimension is not None:
        best, worst = raw.get("best"), raw.get("worst")
        if (
            not all(isinstance(v, int | float) and not isinstance(v, bool) for v in (best, worst))
            or best == worst
        ):
            raise _fail(line, "a scored number question needs different `best` and `worst`")
    good = str(raw.get("good", "yes"))
    if good not in ("yes", "no"):
        raise _fail(line, "good must be yes or no")
    return Question(
        id=qid,
        text=str(raw["text"]),
        kind=kind,
        required=bool(raw.get("required", True)),
        dimension=dimension,
        weight=float(weight),
        script=bool(raw.get("script", False)),
        good=good,
        options=options,
        best=float(raw["best"]) if raw.get("best") is not None else None,
        worst=float(raw["worst"]) if raw.get("worst") is not None else None,
        help=raw.get("help"),
    )


def load_default() -> Template:
    return parse(default_path().read_text(encoding="utf-8"))


def validate(template: Template, answers: dict[str, Any]) -> tuple[dict[str, Any], dict[str, str]]:
    """Clean answers and, per question, what is wrong. Unknown keys are errors too."""
    clean: dict[str, Any] = {}
    errors: dict[str, str] = {}
    ids = {q.id for q in template.questions}
    for key in answers:
        if key not in ids:
            errors[key] = "not a question of this form"
    for q in template.questions:
        value = answers.get(q.id)
        empty = value is None or (isinstance(value, str) and not value.strip())
        if empty:
            if q.required:
                errors[q.id] = "an answer is required"
            continue
        try:
            clean[q.id] = _parse_answer(q, value)
        except ValueError as exc:
            errors[q.id] = str(exc)
    return clean, errors


def _parse_answer(q: Question, value: Any) -> Any:
    if q.kind == "yes_no":
        text = str(value).strip().lower()
        if isinstance(value, bool):
            return value
        if text in _YES:
            return True
        if text in _NO:
            return False
        raise ValueError("answer yes or no")
    if q.kind == "scale":
        try:
            number = float(value)
        except (TypeError, ValueError):
            raise ValueError("choose from 1 to 5") from None
        if number != int(number) or not 1 <= number <= 5:
            raise ValueError("choose from 1 to 5")
        return int(number)
    if q.kind == "choice":
        if str(value) not in q.options:
            raise ValueError(f"choose one of: {', '.join(q.options)}")
        return str(value)
    if q.kind == "number":
        try:
            number = float(str(value).replace(",", "."))
        except ValueError:
            raise ValueError("give a number") from None
        if not math.isfinite(number) or number < 0:
            raise ValueError("give a number of 0 or more")
        return number
    text = str(value).strip()
    if len(text) > 5000:
        raise ValueError("at most 5000 characters")
    return text


def points(q: Question, answer: Any) -> float:
    """0 to 1 for a clean answer to a scored question."""
    if q.kind == "yes_no":
        return 1.0 if answer == (q.good == "yes") else 0.0
    if q.kind == "scale":
        level: int = answer  # 1 to 5 (_parse_answer)
        return (level - 1) / 4
    if q.kind == "choice":
        return q.options[answer]
    assert q.best is not None and q.worst is not None
    number: float = answer
    share = (number - q.worst) / (q.best - q.worst)
    return min(1.0, max(0.0, share))


@dataclass(frozen=True)
class ShopperScore:
    overall: float | None
    dimensions: dict[str, float | None]
    script_compliance: float | None
    items: list[dict[str, Any]]  # per scored question: id, dimension, weight, points


def score(template: Template, clean: dict[str, Any]) -> ShopperScore:
    """Validated answers -> 0-100 per dimension, script compliance and an equal-weight
    overall of what was scored (the same shape as a call's score)."""
    items = [
        {
            "id": q.id,
            "dimension": q.dimension,
            "weight": q.weight,
            "script": q.script,
            "points": round(points(q, clean[q.id]), 4),
        }
        for q in template.questions
        if q.scored and q.id in clean
    ]

    def share(rows: list[dict[str, Any]]) -> float | None:
        total = sum(r["weight"] for r in rows)
        return (
            None
            if not rows or total == 0
            else round(100 * sum(r["weight"] * r["points"] for r in rows) / total, 1)
        )

    dimensions = {d: share([i for i in items if i["dimension"] == d]) for d in DIMENSIONS}
    script = share([i for i in items if i["script"]])
    parts = [v for v in (*dimensions.values(), script) if v is not None]
    overall = round(sum(parts) / len(parts), 1) if parts else None
    return ShopperScore(
        overall=overall, dimensions=dimensions, script_compliance=script, items=items
    )
