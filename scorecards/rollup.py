"""Roll-ups of call scores: averages with their uncertainty, weekly trends, distributions and
first-contact resolution. Pure: plain values in, plain values out."""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

# Two-sided 95 % Student t quantiles for 1..30 degrees of freedom.
_T95 = (
    12.706,
    4.303,
    3.182,
    2.776,
    2.571,
    2.447,
    2.365,
    2.306,
    2.262,
    2.228,
    2.201,
    2.179,
    2.160,
    2.145,
    2.131,
    2.120,
    2.110,
    2.101,
    2.093,
    2.086,
    2.080,
    2.074,
    2.069,
    2.064,
    2.060,
    2.056,
    2.052,
    2.048,
    2.045,
    2.042,
)
_Z95 = 1.959964


def t95(df: int) -> float:
    """The 97.5th percentile of Student's t; beyond the table, the Cornish-Fisher expansion
    (error under 0.001 from 30 degrees of freedom on)."""
    if df < 1:
        raise ValueError("degrees of freedom must be at least 1")
    if df <= len(_T95):
        return _T95[df - 1]
    z = _Z95
    return z + (z**3 + z) / (4 * df) + (5 * z**5 + 16 * z**3 + 3 * z) / (96 * df**2)


@dataclass(frozen=True)
class Estimate:
    """A mean with the number of calls behind it and its 95 % confidence interval (None when
    fewer than two calls: one call says nothing about spread)."""

    mean: float | None
    n: int
    low: float | None
    high: float | None

    @property
    def half_width(self) -> float | None:
        return None if self.low is None or self.high is None else (self.high - self.low) / 2


def estimate(
    values: Iterable[float | None], *, bounds: tuple[float, float] = (0.0, 100.0)
) -> Estimate:
    xs = [float(v) for v in values if v is not None]
    n = len(xs)
    if n == 0:
        return Estimate(None, 0, None, None)
    m = sum(xs) / n
    if n == 1:
        return Estimate(m, 1, None, None)
    sd = math.sqrt(sum((x - m) ** 2 for x in xs) / (n - 1))
    h = t95(n - 1) * sd / math.sqrt(n)
    lo, hi = bounds
    return Estimate(m, n, max(lo, m - h), min(hi, m + h))


def proportion(successes: int, n: int) -> Estimate:
    """A share (0-1) with its Wilson 95 % interval, which stays sensible for small n and
    shares near 0 or 1."""
    if n == 0:
        return Estimate(None, 0, None, None)
    p, z = successes / n, _Z95
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    h = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return Estimate(p, n, max(0.0, centre - h), min(1.0, centre + h))


def week_of(moment: datetime) -> str:
    """ISO week label, e.g. 2026-W47."""
    return moment.strftime("%G-W%V")


def weekly(points: Iterable[tuple[datetime, float | None]]) -> list[tuple[str, Estimate]]:
    """Average per ISO week, oldest first; weeks without calls in between are left out."""
    groups: dict[str, list[float | None]] = defaultdict(list)
    for moment, value in points:
        groups[week_of(moment)].append(value)
    return [(week, estimate(values)) for week, values in sorted(groups.items())]


def histogram(values: Iterable[float | None], *, bins: int = 10, top: float = 100.0) -> list[int]:
    """Counts in equal bins over [0, top]; the top value falls in the last bin."""
    counts = [0] * bins
    for v in values:
        if v is None:
            continue
        counts[min(bins - 1, max(0, int(v / top * bins)))] += 1
    return counts


def first_contact_resolution(
    firsts: Iterable[tuple[str | None, datetime]],
    calls: Iterable[tuple[str | None, datetime]],
    *,
    days: int,
    now: datetime,
) -> tuple[int, int]:
    """(resolved first time, counted) for the calls in `firsts`, judged against `calls` (every
    call of the same customers, whoever took it). A call is resolved first time when the same
    customer does not call again within `days`. Calls without a customer reference are not
    counted, nor calls whose window is still open at `now`: that is not known yet."""
    window = timedelta(days=days)
    by_customer: dict[str, list[datetime]] = defaultdict(list)
    for ref, at in calls:
        if ref:
            by_customer[ref].append(at)
    resolved = counted = 0
    for ref, at in firsts:
        if not ref:
            continue
        repeat = any(at < other <= at + window for other in by_customer.get(ref, []))
        if not repeat and at + window > now:
            continue
        counted += 1
        resolved += not repeat
    return resolved, counted
