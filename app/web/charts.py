"""Small inline SVG charts, drawn on the server: no JavaScript, readable at a glance."""

from __future__ import annotations

from collections.abc import Sequence

from markupsafe import Markup, escape

from scorecards.rollup import Estimate

_W, _H, _PAD = 560, 160, 28


def _x(i: int, n: int) -> float:
    return _PAD + (i * (_W - 2 * _PAD) / max(1, n - 1) if n > 1 else (_W - 2 * _PAD) / 2)


def _y(v: float, lo: float, hi: float) -> float:
    return _H - _PAD - (v - lo) / (hi - lo) * (_H - 2 * _PAD)


def _frame(lo: float, hi: float, ticks: Sequence[float], fmt: str = "{:.0f}") -> list[str]:
    parts = []
    for t in ticks:
        y = _y(t, lo, hi)
        parts.append(
            f'<line x1="{_PAD}" y1="{y:.1f}" x2="{_W - _PAD}" y2="{y:.1f}" '
            f'class="grid"/><text x="4" y="{y + 4:.1f}" class="tick">'
            f"{fmt.format(t)}</text>"
        )
    return parts


def trend(points: Sequence[tuple[str, Estimate]], *, title: str) -> Markup:
    """Weekly means with their 95 % interval as a band; n under each point."""
    if not points:
        return Markup('<p class="muted">No scored calls in this period.</p>')
    n = len(points)
    parts = [
        f'<svg viewBox="0 0 {_W} {_H + 14}" class="chart" role="img" aria-label="{escape(title)}">',
        *_frame(0, 100, (0, 50, 100)),
    ]
    band_top = [
        (_x(i, n), _y(e.high, 0, 100)) for i, (_, e) in enumerate(points) if e.high is not None
    ]
    band_bottom = [
        (_x(i, n), _y(e.low, 0, 100)) for i, (_, e) in enumerate(points) if e.low is not None
    ]
    if len(band_top) > 1:
        poly = " ".join(f"{x:.1f},{y:.1f}" for x, y in [*band_top, *reversed(band_bottom)])
        parts.append(f'<polygon points="{poly}" class="band"/>')
    line = [(_x(i, n), _y(e.mean, 0, 100)) for i, (_, e) in enumerate(points) if e.mean is not None]
    if len(line) > 1:
        parts.append(
            '<polyline class="line" points="'
            + " ".join(f"{x:.1f},{y:.1f}" for x, y in line)
            + '"/>'
        )
    for i, (week, e) in enumerate(points):
        if e.mean is None:
            continue
        x, y = _x(i, n), _y(e.mean, 0, 100)
        ci = (
            f" (95 % CI {e.low:.0f}–{e.high:.0f})"
            if e.low is not None and e.high is not None
            else ""
        )
        parts.append(
            f'<circle cx="{x:.1f}" cy="{y:.1f}" r="3.5" class="dot"><title>'
            f"{escape(week)}: {e.mean:.1f} on {e.n} call(s){ci}</title></circle>"
            f'<text x="{x:.1f}" y="{_H - 8}" class="tick" text-anchor="middle">'
            f'{escape(week[-3:])}</text><text x="{x:.1f}" y="{_H + 6}" '
            f'class="tick muted" text-anchor="middle">n={e.n}</text>'
        )
    parts.append("</svg>")
    return Markup("".join(parts))


def bars(counts: Sequence[int], *, labels: Sequence[str], title: str) -> Markup:
    top = max(counts, default=0) or 1
    n = len(counts)
    width = (_W - 2 * _PAD) / max(1, n)
    parts = [f'<svg viewBox="0 0 {_W} {_H}" class="chart" role="img" aria-label="{escape(title)}">']
    for i, (c, label) in enumerate(zip(counts, labels, strict=True)):
        h = c / top * (_H - 2 * _PAD)
        x = _PAD + i * width
        parts.append(
            f'<rect x="{x + 2:.1f}" y="{_H - _PAD - h:.1f}" width="{width - 4:.1f}" '
            f'height="{h:.1f}" class="hbar"><title>{escape(label)}: {c}</title></rect>'
            f'<text x="{x + width / 2:.1f}" y="{_H - 10}" class="tick" '
            f'text-anchor="middle">{escape(label)}</text>'
        )
        if c:
            parts.append(
                f'<text x="{x + width / 2:.1f}" y="{_H - _PAD - h - 3:.1f}" '
                f'class="tick" text-anchor="middle">{c}</text>'
            )
    parts.append("</svg>")
    return Markup("".join(parts))


def sentiment(points: Sequence[tuple[float, float]], *, duration: float) -> Markup:
    """The customer's sentiment (VADER compound, -1 to 1) over the call."""
    if not points:
        return Markup('<p class="muted">No customer speech to read sentiment from.</p>')
    span = max(duration, max(t for t, _ in points), 1.0)

    def x(t: float) -> float:
        return _PAD + t / span * (_W - 2 * _PAD)

    parts = [
        f'<svg viewBox="0 0 {_W} {_H}" class="chart" role="img" '
        'aria-label="customer sentiment over the call">',
        *_frame(-1, 1, (-1, 0, 1), "{:+.0f}"),
    ]
    parts.append(
        '<polyline class="line" points="'
        + " ".join(f"{x(t):.1f},{_y(v, -1, 1):.1f}" for t, v in points)
        + '"/>'
    )
    for t, v in points:
        cls = "dot neg" if v <= -0.3 else "dot pos" if v >= 0.3 else "dot"
        parts.append(
            f'<circle cx="{x(t):.1f}" cy="{_y(v, -1, 1):.1f}" r="3.5" class="{cls}" '
            f'data-seek="{t:.2f}"><title>{int(t) // 60}:{t % 60:04.1f} '
            f"{v:+.2f}</title></circle>"
        )
    parts.append("</svg>")
    return Markup("".join(parts))
