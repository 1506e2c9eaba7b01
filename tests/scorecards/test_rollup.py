import math
from datetime import UTC, datetime, timedelta

import pytest

from scorecards import rollup


def test_t_quantiles_match_the_table_and_the_normal_limit():
    assert rollup.t95(1) == pytest.approx(12.706)
    assert rollup.t95(10) == pytest.approx(2.228)
    # Beyond the table: the expansion agrees with published values to 3 decimals.
    assert rollup.t95(40) == pytest.approx(2.021, abs=1e-3)
    assert rollup.t95(120) == pytest.approx(1.980, abs=1e-3)
    assert rollup.t95(10_000) == pytest.approx(1.960, abs=1e-3)


def test_estimate_gives_mean_n_and_a_t_interval():
    e = rollup.estimate([70, 80, 90, None])
    assert (e.mean, e.n) == (80, 3)
    half = 4.303 * 10 / math.sqrt(3)  # sd 10, t(2)
    assert e.low == pytest.approx(80 - half) and e.high == pytest.approx(min(100, 80 + half))
    assert rollup.estimate([55]).low is None  # one call: no interval
    assert rollup.estimate([]).mean is None


def test_interval_narrows_as_calls_add_up():
    few = rollup.estimate([60, 80, 70])
    many = rollup.estimate([60, 80, 70] * 20)
    assert many.half_width < few.half_width / 4


def test_proportion_uses_wilson_and_stays_inside_0_1():
    p = rollup.proportion(8, 10)
    assert p.mean == 0.8 and 0.44 < p.low < 0.5 and 0.94 < p.high < 0.98
    none = rollup.proportion(0, 5)
    assert none.low == 0 and 0 < none.high < 0.6


def test_weekly_groups_by_iso_week():
    monday = datetime(2026, 11, 2, tzinfo=UTC)
    points = [(monday, 50), (monday + timedelta(days=6), 70), (monday + timedelta(days=7), 90)]
    weeks = rollup.weekly(points)
    assert [w for w, _ in weeks] == ["2026-W45", "2026-W46"]
    assert weeks[0][1].mean == 60 and weeks[0][1].n == 2 and weeks[1][1].n == 1


def test_histogram_puts_100_in_the_top_bin():
    assert rollup.histogram([0, 9.9, 10, 55, 100, None]) == [2, 1, 0, 0, 0, 1, 0, 0, 0, 1]


def test_first_contact_resolution_counts_repeats_and_open_windows():
    t0 = datetime(2026, 11, 1, tzinfo=UTC)
    calls = [
        ("A", t0),
        ("A", t0 + timedelta(days=2)),  # A's first call: a repeat follows
        ("B", t0),
        ("C", t0 + timedelta(days=20)),
        (None, t0),
    ]
    now = t0 + timedelta(days=22)
    resolved, counted = rollup.first_contact_resolution(calls, calls, days=7, now=now)
    # A#1 not resolved; A#2, B resolved; C's window is still open; no-ref not counted.
    assert (resolved, counted) == (2, 3)
