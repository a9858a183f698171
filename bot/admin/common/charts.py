"""Server-side SVG charts for the dashboard (no JavaScript, no CDN); labels are escaped."""

from __future__ import annotations

from datetime import date

from markupsafe import Markup, escape


def _nice_max(value: float) -> float:
    """A round axis maximum ≥ value (1, 2, 5 × 10^n)."""
    if value <= 0:
        return 1
    magnitude = 10 ** (len(str(int(value))) - 1)
    for step in (1, 2, 5, 10):
        if value <= step * magnitude:
            return step * magnitude
    return 10 * magnitude


def hbars(items: list[tuple[str, int]], *, chart_id: str, width: int = 520, row: int = 22,
          label_width: int = 110) -> Markup:
    """Horizontal bars, one per (label, value), largest first as given."""
    height = max(1, len(items)) * row + 8
    top = _nice_max(max((v for _, v in items), default=0))
    span = width - label_width - 50
    parts = [f'<svg id="{escape(chart_id)}" viewBox="0 0 {width} {height}" role="img">']
    for i, (name, value) in enumerate(items):
        y = 4 + i * row
        w = span * value / top
        parts.append(
            f'<text x="{label_width - 6}" y="{y + row * 0.65:.1f}" text-anchor="end">{escape(name)}</text>'
            f'<rect class="bar" x="{label_width}" y="{y + 3}" width="{w:.1f}" height="{row - 7}">'
            f'<title>{escape(name)}: {value}</title></rect>'
            f'<text x="{label_width + w + 4:.1f}" y="{y + row * 0.65:.1f}" data-value="{value}">{value}</text>'
        )
    parts.append("</svg>")
    return Markup("".join(parts))


def daily_lines(series: list[tuple[date, int, int]], *, chart_id: str, width: int = 1200,
                height: int = 260) -> Markup:
    """Two lines per day: received (blue) and closed (green), with a y axis and sparse date labels."""
    left, bottom, top_pad = 36, 24, 10
    plot_w, plot_h = width - left - 10, height - bottom - top_pad
    top = _nice_max(max((max(r, d) for _, r, d in series), default=0))
    n = max(1, len(series) - 1)

    def point(i: int, value: int) -> str:
        return f"{left + plot_w * i / n:.1f},{top_pad + plot_h * (1 - value / top):.1f}"

    parts = [f'<svg id="{escape(chart_id)}" viewBox="0 0 {width} {height}" role="img">',
             f'<line class="axis" x1="{left}" y1="{top_pad + plot_h}" x2="{width - 10}" y2="{top_pad + plot_h}"/>']
    for tick in sorted({0, top // 2, top}):  # counts: whole-number ticks only
        y = top_pad + plot_h * (1 - tick / top)
        parts.append(f'<text x="{left - 4}" y="{y + 4:.1f}" text-anchor="end">{tick:g}</text>')
    for klass, index in (("line", 1), ("line done", 2)):
        points = " ".join(point(i, day[index]) for i, day in enumerate(series))
        parts.append(f'<polyline class="{klass}" points="{points}"/>')
    every = max(1, len(series) // 8)
    for i, (day, received, done) in enumerate(series):
        x = left + plot_w * i / n
        parts.append(f'<circle cx="{x:.1f}" cy="{top_pad + plot_h * (1 - received / top):.1f}" r="2" '
                     f'fill="#1769aa"><title>{day.isoformat()}: 受理 {received}，办结 {done}</title></circle>')
        if i % every == 0:
            parts.append(f'<text x="{x:.1f}" y="{height - 6}" text-anchor="middle">{day.month}/{day.day}</text>')
    parts.append("</svg>")
    return Markup("".join(parts))


def daily_bars(series: list[tuple[date, int]], *, chart_id: str, title: str, width: int = 1200,
               height: int = 160) -> Markup:
    """One bar per day (e.g. patrol check-ins), with a y axis and sparse date labels."""
    left, bottom, top_pad = 36, 24, 10
    plot_w, plot_h = width - left - 10, height - bottom - top_pad
    top = _nice_max(max((value for _, value in series), default=0))
    slot = plot_w / max(1, len(series))
    parts = [f'<svg id="{escape(chart_id)}" viewBox="0 0 {width} {height}" role="img">',
             f'<line class="axis" x1="{left}" y1="{top_pad + plot_h}" x2="{width - 10}" y2="{top_pad + plot_h}"/>']
    for tick in sorted({0, top // 2, top}):
        y = top_pad + plot_h * (1 - tick / top)
        parts.append(f'<text x="{left - 4}" y="{y + 4:.1f}" text-anchor="end">{tick:g}</text>')
    every = max(1, len(series) // 8)
    for i, (day, value) in enumerate(series):
        x, h = left + slot * i, plot_h * value / top
        parts.append(f'<rect class="bar" x="{x + slot * 0.15:.1f}" y="{top_pad + plot_h - h:.1f}" '
                     f'width="{slot * 0.7:.1f}" height="{h:.1f}" data-day="{day.isoformat()}" data-value="{value}">'
                     f'<title>{day.isoformat()}: {escape(title)} {value}</title></rect>')
        if i % every == 0:
            parts.append(f'<text x="{x + slot / 2:.1f}" y="{height - 6}" text-anchor="middle">{day.month}/{day.day}</text>')
    parts.append("</svg>")
    return Markup("".join(parts))
