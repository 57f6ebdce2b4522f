"""Small, dependency-free SVG charts for the offline report.

Each function takes already-aggregated data (a few hundred points at most) and returns an
inline ``<svg>`` element as text. Hovering a mark shows its exact value through SVG ``<title>``,
which every browser supports without JavaScript. Text is escaped; no external resource is used.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from html import escape

WIDTH = 640
PALETTE = ("#2f6db5", "#e07b39", "#3a9d5d", "#b5485d", "#7a5cb3", "#8c8c8c")
_FONT = 'font-family="system-ui, sans-serif" font-size="11"'


def _svg(height: int, body: list[str], label: str) -> str:
    return (
        f'<svg class="chart" viewBox="0 0 {WIDTH} {height}" width="{WIDTH}" height="{height}" '
        f'role="img" aria-label="{escape(label)}">' + "".join(body) + "</svg>"
    )


def _fmt(value: float) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "-"
    if abs(value) >= 1e9:
        return f"{value / 1e9:.1f}B"
    if abs(value) >= 1e6:
        return f"{value / 1e6:.1f}M"
    if abs(value) >= 1e4:
        return f"{value / 1e3:.0f}k"
    if float(value).is_integer():
        return f"{int(value):,}"
    return f"{value:.1f}"


def _nice_max(value: float) -> float:
    if value <= 0:
        return 1.0
    exponent = 10 ** math.floor(math.log10(value))
    for step in (1, 2, 2.5, 5, 10):
        if value <= step * exponent:
            return step * exponent
    return 10 * exponent


def hbar(labels: Sequence[str], values: Sequence[float], notes: Sequence[str] | None = None,
         label: str = "bar chart", color: str = PALETTE[0]) -> str:
    """Horizontal bars, one per label, with an optional note right of each bar."""
    row, left, right = 22, 130, 120
    height = row * len(labels) + 30
    top = _nice_max(max(values, default=0))
    scale = (WIDTH - left - right) / top
    body = []
    for i, (name, value) in enumerate(zip(labels, values, strict=True)):
        y = 10 + i * row
        width = max(value * scale, 1)
        note = notes[i] if notes else ""
        body.append(
            f'<text x="{left - 6}" y="{y + 14}" text-anchor="end" {_FONT}>{escape(name)}</text>'
            f'<rect x="{left}" y="{y + 3}" width="{width:.1f}" height="{row - 6}" fill="{color}">'
            f"<title>{escape(name)}: {_fmt(value)}{' · ' + escape(note) if note else ''}</title></rect>"
            f'<text x="{left + width + 4:.1f}" y="{y + 14}" {_FONT}>{_fmt(value)}'
            f'{" · " + escape(note) if note else ""}</text>'
        )
    return _svg(height, body, label)


def columns(labels: Sequence[str], values: Sequence[float], label: str = "column chart",
            color: str = PALETTE[0], x_title: str = "", y_title: str = "") -> str:
    """Vertical bars over categories (decades, rating bins)."""
    height, left, bottom, top_pad = 260, 50, 40, 16
    plot_h = height - bottom - top_pad
    top = _nice_max(max(values, default=0))
    if top < 40:  # counts: whole-number ticks (the axis has 4 steps)
        top = math.ceil(max(top, 4) / 4) * 4
    slot = (WIDTH - left - 10) / max(len(labels), 1)
    body = _y_axis(left, top_pad, plot_h, 0, top, y_title)
    for i, (name, value) in enumerate(zip(labels, values, strict=True)):
        bar_h = value / top * plot_h
        x = left + i * slot + slot * 0.1
        body.append(
            f'<rect x="{x:.1f}" y="{top_pad + plot_h - bar_h:.1f}" width="{slot * 0.8:.1f}" '
            f'height="{max(bar_h, 0.5):.1f}" fill="{color}"><title>{escape(name)}: {_fmt(value)}</title></rect>'
            f'<text x="{x + slot * 0.4:.1f}" y="{height - bottom + 14}" text-anchor="middle" {_FONT}>'
            f"{escape(name)}</text>"
        )
    if x_title:
        body.append(f'<text x="{WIDTH / 2}" y="{height - 6}" text-anchor="middle" {_FONT}>{escape(x_title)}</text>')
    return _svg(height, body, label)


def _y_axis(left: int, top_pad: int, plot_h: float, low: float, high: float, title: str,
            log: bool = False) -> list[str]:
    body = []
    ticks = _log_ticks(low, high) if log else [low + (high - low) * k / 4 for k in range(5)]
    for tick in ticks:
        frac = (_log(tick) - _log(low)) / (_log(high) - _log(low)) if log else (tick - low) / ((high - low) or 1)
        y = top_pad + plot_h - frac * plot_h
        body.append(
            f'<line x1="{left}" x2="{WIDTH - 10}" y1="{y:.1f}" y2="{y:.1f}" stroke="#e4e4e4"/>'
            f'<text x="{left - 4}" y="{y + 4:.1f}" text-anchor="end" {_FONT}>{_fmt(tick)}</text>'
        )
    if title:
        body.append(
            f'<text transform="translate(12 {top_pad + plot_h / 2:.0f}) rotate(-90)" '
            f'text-anchor="middle" {_FONT}>{escape(title)}</text>'
        )
    return body


def _log(value: float) -> float:
    return math.log10(max(value, 1e-9))


def _log_ticks(low: float, high: float) -> list[float]:
    start, stop = math.floor(_log(low)), math.ceil(_log(high))
    return [10.0**e for e in range(start, stop + 1) if low <= 10.0**e <= high] or [low, high]


def scatter(points: Sequence[tuple[float, float, str]], label: str = "scatter plot",
            x_title: str = "", y_title: str = "", log_x: bool = False, log_y: bool = False,
            diagonal: bool = False) -> str:
    """Points ``(x, y, name)``; log axes for money and popularity; optional y = x line."""
    height, left, bottom, top_pad = 320, 60, 40, 12
    plot_w, plot_h = WIDTH - left - 14, height - bottom - top_pad
    points = [(float(x), float(y), name) for x, y, name in points]
    xs = [p[0] for p in points]
    ys = [p[1] for p in points]

    def bounds(values: list[float], log: bool) -> tuple[float, float]:
        if log:
            positive = [v for v in values if v > 0] or [1.0]
            return 10 ** math.floor(_log(min(positive))), 10 ** math.ceil(_log(max(positive)))
        low, high = min(values, default=0.0), max(values, default=1.0)
        return (min(low, 0.0), _nice_max(high)) if high > 0 else (0.0, 1.0)

    (x0, x1), (y0, y1) = bounds(xs, log_x), bounds(ys, log_y)
    if diagonal and log_x and log_y:
        x0 = y0 = min(x0, y0)
        x1 = y1 = max(x1, y1)

    def px(v: float) -> float:
        frac = (_log(v) - _log(x0)) / (_log(x1) - _log(x0)) if log_x else (v - x0) / ((x1 - x0) or 1)
        return left + frac * plot_w

    def py(v: float) -> float:
        frac = (_log(v) - _log(y0)) / (_log(y1) - _log(y0)) if log_y else (v - y0) / ((y1 - y0) or 1)
        return top_pad + plot_h - frac * plot_h

    body = _y_axis(left, top_pad, plot_h, y0, y1, y_title, log=log_y)
    ticks = _log_ticks(x0, x1) if log_x else [x0 + (x1 - x0) * k / 4 for k in range(5)]
    for tick in ticks:
        body.append(
            f'<text x="{px(tick):.1f}" y="{height - bottom + 14}" text-anchor="middle" {_FONT}>{_fmt(tick)}</text>'
        )
    if diagonal:
        body.append(
            f'<line x1="{px(x0):.1f}" y1="{py(y0):.1f}" x2="{px(x1):.1f}" y2="{py(y1):.1f}" '
            'stroke="#999" stroke-dasharray="4 3"><title>revenue = budget</title></line>'
        )
    for x, y, name in points:
        if (log_x and x <= 0) or (log_y and y <= 0):
            continue
        body.append(
            f'<circle cx="{px(x):.1f}" cy="{py(y):.1f}" r="3.5" fill="{PALETTE[0]}" fill-opacity="0.6">'
            f"<title>{escape(name)}: {_fmt(x)}, {_fmt(y)}</title></circle>"
        )
    if x_title:
        body.append(f'<text x="{left + plot_w / 2:.0f}" y="{height - 6}" text-anchor="middle" {_FONT}>{escape(x_title)}</text>')
    return _svg(height, body, label)


def stacked_share(labels: Sequence[str], series: Sequence[str], values: Sequence[Sequence[float]],
                  label: str = "share chart") -> str:
    """100% horizontal bars: one per label, split by ``series`` (e.g. F / M / unknown)."""
    row, left, right = 22, 130, 20
    height = row * len(labels) + 40
    plot_w = WIDTH - left - right
    body = []
    for i, (name, parts) in enumerate(zip(labels, values, strict=True)):
        y = 10 + i * row
        total = sum(parts) or 1
        x = float(left)
        body.append(f'<text x="{left - 6}" y="{y + 14}" text-anchor="end" {_FONT}>{escape(name)}</text>')
        for j, part in enumerate(parts):
            width = part / total * plot_w
            if width <= 0:
                continue
            body.append(
                f'<rect x="{x:.1f}" y="{y + 3}" width="{width:.1f}" height="{row - 6}" fill="{PALETTE[j % len(PALETTE)]}">'
                f"<title>{escape(name)} · {escape(series[j])}: {_fmt(part)} ({part / total:.0%})</title></rect>"
            )
            x += width
    legend_y = height - 14
    for j, name in enumerate(series):
        body.append(
            f'<rect x="{left + j * 110}" y="{legend_y - 9}" width="10" height="10" fill="{PALETTE[j % len(PALETTE)]}"/>'
            f'<text x="{left + j * 110 + 14}" y="{legend_y}" {_FONT}>{escape(name)}</text>'
        )
    return _svg(height, body, label)
