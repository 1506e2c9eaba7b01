"""Bonus rules (versioned YAML) and the figures they judge. Pure: call facts in, an incentive
line with every rule's verdict and the figure it used out; the same inputs, the same line."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path
from statistics import mean
from typing import Any

import yaml

from qa import yamlload
from qa.types import DIMENSIONS

FIELDS = ("overall", *DIMENSIONS, "script_compliance")


class RulesInvalid(ValueError):
    pass


@dataclass(frozen=True)
class Tier:
    min_score: float
    multiplier: float


@dataclass(frozen=True)
class Rules:
    name: str
    currency: str
    min_call_seconds: float
    exclude_transferred: bool
    min_scored_calls: int
    min_average_overall: float
    no_unresolved_auto_fail: bool
    min_conversion: float | None
    base: Decimal
    commission_per_deal: Decimal
    tiers: tuple[Tier, ...]
    cap: Decimal | None


def default_path() -> Path:
    return Path(__file__).with_name("bonus_default.yaml")


def _number(
    section: dict[str, Any],
    key: str,
    where: str,
    *,
    default: Any = None,
    lo: float = 0,
    hi: float | None = None,
) -> Any:
    value = section.get(key, default)
    if value is None:
        if default is None and key in section:
            return None
        if default is None:
            raise RulesInvalid(f"{where}.{key} is required")
        return default
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise RulesInvalid(f"{where}.{key} must be a number")
    if value < lo or (hi is not None and value > hi):
        raise RulesInvalid(f"{where}.{key} must be from {lo:g}" + (f" to {hi:g}" if hi else ""))
    return value


def parse(text: str) -> Rules:
    try:
        raw = yamlload.load(text)
    except yaml.YAMLError as exc:
        line, what = yamlload.problem(exc)
        raise RulesInvalid(f"not valid YAML (line {line or '?'}: {what})") from None
    if not isinstance(raw, dict) or not isinstance(raw.get("name"), str):
        raise RulesInvalid("bonus rules are a mapping with a `name`")
    known = {"name", "currency", "counting", "eligibility", "amount"}
    if unknown := sorted(set(raw) - known):
        raise RulesInvalid(f"unknown section(s) {', '.join(unknown)}")
    counting = raw.get("counting") or {}
    elig = raw.get("eligibility") or {}
    amount = raw.get("amount") or {}
    if not all(isinstance(s, dict) for s in (counting, elig, amount)):
        raise RulesInvalid("counting, eligibility and amount are mappings")
    currency = str(raw.get("currency") or "EUR")
    if len(currency) != 3 or not currency.isalpha():
        raise RulesInvalid("currency is a three-letter code such as EUR")
    tiers_raw = amount.get("tiers") or [{"min_score": 0, "multiplier": 1}]
    if not isinstance(tiers_raw, list) or not all(isinstance(t, dict) for t in tiers_raw):
        raise RulesInvalid("amount.tiers is a list of {min_score, multiplier}")
    tiers = tuple(
        sorted(
            (
                Tier(
                    float(_number(t, "min_score", "amount.tiers", hi=100)),
                    float(_number(t, "multiplier", "amount.tiers", hi=100)),
                )
                for t in tiers_raw
            ),
            key=lambda t: -t.min_score,
        )
    )
    cap = _number(amount, "cap", "amount", default=None) if "cap" in amount else None
    conversion = (
        _number(elig, "min_conversion", "eligibility", default=None, hi=1)
        if "min_conversion" in elig
        else None
    )
    return Rules(
        name=raw["name"],
        currency=currency.upper(),
        min_call_seconds=float(_number(counting, "min_call_seconds", "counting", default=0)),
        exclude_transferred=bool(counting.get("exclude_transferred", True)),
        min_scored_calls=int(_number(elig, "min_scored_calls", "eligibility", default=0)),
        min_average_overall=float(
            _number(elig, "min_average_overall", "eligibility", default=0, hi=100)
        ),
        no_unresolved_auto_fail=bool(elig.get("no_unresolved_auto_fail", True)),
        min_conversion=None if conversion is None else float(conversion),
        base=Decimal(str(_number(amount, "base", "amount", default=0))),
        commission_per_deal=Decimal(
            str(_number(amount, "commission_per_deal", "amount", default=0))
        ),
        tiers=tiers,
        cap=None if cap is None else Decimal(str(cap)),
    )


def load_default() -> Rules:
    return parse(default_path().read_text(encoding="utf-8"))


@dataclass(frozen=True)
class CallFact:
    """What the rules need of one call (scores: reviewed where reviewed)."""

    call_id: int
    agent_id: int
    direction: str
    call_type: str
    duration: float
    deal_closed: bool
    deal_value: Decimal
    scored: bool
    scores: dict[str, float | None]
    auto_fail: bool
    reviewed: bool
    transferred: bool
    agent_talk_share: float | None
    hold_seconds: float


@dataclass
class Figures:
    calls: int = 0
    scored_calls: int = 0
    counted_calls: int = 0  # scored, not cut short, not transferred away
    cut_short: int = 0
    transferred: int = 0
    inbound: int = 0
    outbound: int = 0
    average_handle_seconds: float | None = None
    talk_share: float | None = None
    hold_share: float | None = None
    sales_calls: int = 0
    deals: int = 0
    counted_deals: int = 0
    conversion: float | None = None
    revenue: str = "0.00"  # of counted deals, as a decimal string
    reviewed_share: float | None = None
    unresolved_auto_fails: int = 0
    scores: dict[str, float | None] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _r(value: float | None, digits: int = 3) -> float | None:
    return None if value is None else round(value, digits)


def figures(facts: Iterable[CallFact], rules: Rules) -> Figures:
    calls = list(facts)
    f = Figures(calls=len(calls))
    if not calls:
        return f
    scored = [c for c in calls if c.scored]

    def counts(c: CallFact) -> bool:
        return c.duration >= rules.min_call_seconds and not (
            rules.exclude_transferred and c.transferred
        )

    f.scored_calls = len(scored)
    f.counted_calls = sum(counts(c) for c in scored)
    f.cut_short = sum(c.duration < rules.min_call_seconds for c in calls)
    f.transferred = sum(c.transferred for c in calls)
    f.inbound = sum(c.direction == "inbound" for c in calls)
    f.outbound = sum(c.direction == "outbound" for c in calls)
    total = sum(c.duration for c in calls)
    f.average_handle_seconds = _r(total / len(calls), 1)
    shares = [c.agent_talk_share for c in scored if c.agent_talk_share is not None]
    f.talk_share = _r(mean(shares)) if shares else None
    f.hold_share = _r(sum(c.hold_seconds for c in calls) / total) if total else None
    sales = [c for c in calls if c.call_type == "sales"]
    f.sales_calls = len(sales)
    f.deals = sum(c.deal_closed for c in calls)
    won = [c for c in calls if c.deal_closed and counts(c)]
    f.counted_deals = len(won)
    f.conversion = (
        _r(sum(c.deal_closed and counts(c) for c in sales) / len(sales)) if sales else None
    )
    f.revenue = str(sum((c.deal_value for c in won), Decimal("0")).quantize(Decimal("0.01")))
    f.reviewed_share = _r(sum(c.reviewed for c in scored) / len(scored)) if scored else None
    f.unresolved_auto_fails = sum(c.auto_fail for c in scored)
    f.scores = {}
    for k in FIELDS:
        vals = [v for c in scored if (v := c.scores.get(k)) is not None]
        f.scores[k] = _r(mean(vals), 1) if vals else None
    return f


@dataclass(frozen=True)
class Check:
    rule: str
    passed: bool
    figure: Any
    threshold: Any
    text: str


@dataclass(frozen=True)
class Line:
    eligible: bool
    amount: Decimal
    currency: str
    multiplier: float
    checks: tuple[Check, ...]

    def to_dict(self) -> dict[str, Any]:
        return {
            "eligible": self.eligible,
            "amount": str(self.amount),
            "currency": self.currency,
            "multiplier": self.multiplier,
            "checks": [asdict(c) for c in self.checks],
        }


def evaluate(f: Figures, rules: Rules) -> Line:
    """Every rule with pass/fail and the figure it used, then the amount."""
    avg = f.scores.get("overall")
    checks = [
        Check(
            "min_scored_calls",
            f.counted_calls >= rules.min_scored_calls,
            f.counted_calls,
            rules.min_scored_calls,
            f"{f.counted_calls} counted scored calls (need {rules.min_scored_calls}; "
            f"{f.cut_short} cut short and {f.transferred} transferred do not count)",
        ),
        Check(
            "min_average_overall",
            avg is not None and avg >= rules.min_average_overall,
            avg,
            rules.min_average_overall,
            f"average overall {'–' if avg is None else f'{avg:.1f}'} "
            f"(need {rules.min_average_overall:g})",
        ),
    ]
    if rules.no_unresolved_auto_fail:
        checks.append(
            Check(
                "no_unresolved_auto_fail",
                f.unresolved_auto_fails == 0,
                f.unresolved_auto_fails,
                0,
                f"{f.unresolved_auto_fails} auto-fail(s) not cleared by a review",
            )
        )
    if rules.min_conversion is not None:
        if f.sales_calls:
            conv = f.conversion or 0.0
            checks.append(
                Check(
                    "min_conversion",
                    conv >= rules.min_conversion,
                    conv,
                    rules.min_conversion,
                    f"conversion {conv:.0%} of {f.sales_calls} sales calls "
                    f"(need {rules.min_conversion:.0%})",
                )
            )
        else:
            checks.append(
                Check(
                    "min_conversion",
                    True,
                    None,
                    rules.min_conversion,
                    "no sales calls: conversion does not apply",
                )
            )
    eligible = all(c.passed for c in checks)
    multiplier = next(
        (t.multiplier for t in rules.tiers if avg is not None and avg >= t.min_score), 0.0
    )
    amount = Decimal("0")
    if eligible:
        amount = (rules.base + rules.commission_per_deal * f.counted_deals) * Decimal(
            str(multiplier)
        )
        if rules.cap is not None:
            amount = min(amount, rules.cap)
    return Line(
        eligible=eligible,
        amount=amount.quantize(Decimal("0.01"), ROUND_HALF_UP),
        currency=rules.currency,
        multiplier=multiplier,
        checks=tuple(checks),
    )


def score_band(overall: float | None) -> str | None:
    if overall is None:
        return None
    return "0-59" if overall < 60 else "60-79" if overall < 80 else "80-100"


BANDS = ("0-59", "60-79", "80-100")
