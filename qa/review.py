"""A person's overrides applied to a machine score. Pure: the same inputs give the same result.

A criterion override flips its verdict and the dimension is recomputed from the criteria, as
the machine does; a dimension override sets the dimension outright and wins over criteria.
The overall is then recomputed with the scorecard's weights, auto-fail included.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from qa.score import combine
from qa.scorecard import Scorecard
from qa.types import DIMENSIONS


class OverrideInvalid(ValueError):
    pass


@dataclass(frozen=True)
class Override:
    target: str  # "criterion" | "dimension"
    key: str  # criterion id or dimension name
    value: bool | float  # passed, or the dimension's 0-100 score
    reason: str


@dataclass(frozen=True)
class Reviewed:
    overall: float | None
    dimensions: dict[str, float | None]
    script_compliance: float | None
    auto_fail: bool
    changes: list[dict[str, Any]]  # {target, key, before, after, reason}


def _share(items: list[tuple[float, bool]]) -> float | None:
    weights = sum(w for w, _ in items)
    return None if not items or weights == 0 else 100.0 * sum(w for w, p in items if p) / weights


def apply(detail: dict[str, Any], card: Scorecard, overrides: list[Override]) -> Reviewed:
    """`detail` is a stored machine score (CallScore.to_dict())."""
    criteria = {c["id"]: c for c in detail["criteria"]}
    passed = {cid: bool(c["passed"]) for cid, c in criteria.items()}
    dimension_set: dict[str, float] = {}
    changes: list[dict[str, Any]] = []
    seen: set[tuple[str, str]] = set()
    for o in overrides:
        if (o.target, o.key) in seen:
            raise OverrideInvalid(f"{o.target} {o.key!r} is overridden twice")
        seen.add((o.target, o.key))
        if not o.reason.strip():
            raise OverrideInvalid(f"{o.target} {o.key!r}: a reason is required")
        if o.target == "criterion":
            if o.key not in criteria:
                raise OverrideInvalid(f"criterion {o.key!r} is not on this score's scorecard")
            if not criteria[o.key]["applicable"]:
                raise OverrideInvalid(f"criterion {o.key!r} does not apply to this call")
            if not isinstance(o.value, bool):
                raise OverrideInvalid(f"criterion {o.key!r}: the value must be true or false")
            if passed[o.key] == o.value:
                continue  # not a change
            changes.append(
                {
                    "target": "criterion",
                    "key": o.key,
                    "before": passed[o.key],
                    "after": o.value,
                    "reason": o.reason.strip(),
                }
            )
            passed[o.key] = o.value
        elif o.target == "dimension":
            if o.key not in DIMENSIONS:
                raise OverrideInvalid(
                    f"unknown dimension {o.key!r}; use one of {', '.join(DIMENSIONS)}"
                )
            if isinstance(o.value, bool) or not 0 <= float(o.value) <= 100:
                raise OverrideInvalid(f"dimension {o.key!r}: the score must be from 0 to 100")
            dimension_set[o.key] = float(o.value)
        else:
            raise OverrideInvalid(f"unknown override target {o.target!r}")

    applicable = [c for c in detail["criteria"] if c["applicable"]]
    dimensions: dict[str, float | None] = {
        d: _share([(c["weight"], passed[c["id"]]) for c in applicable if c["dimension"] == d])
        for d in DIMENSIONS
    }
    for o in overrides:
        if o.target == "dimension":
            before = detail["dimensions"].get(o.key)
            if before is not None and round(before, 1) == round(float(o.value), 1):
                continue
            changes.append(
                {
                    "target": "dimension",
                    "key": o.key,
                    "before": before,
                    "after": float(o.value),
                    "reason": o.reason.strip(),
                }
            )
    dimensions.update(dimension_set)
    script_ids = {c.id for c in card.criteria if c.script}
    script = _share([(c["weight"], passed[c["id"]]) for c in applicable if c["id"] in script_ids])
    failed = any(c["auto_fail"] and not passed[c["id"]] for c in applicable)
    overall = combine(card, dimensions, script, auto_fail=failed)

    def r(v: float | None) -> float | None:
        return None if v is None else round(v, 1)

    return Reviewed(
        overall=r(overall),
        dimensions={d: r(v) for d, v in dimensions.items()},
        script_compliance=r(script),
        auto_fail=failed,
        changes=changes,
    )
