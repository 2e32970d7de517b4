"""Charts drawn on the server as inline SVG: no script, no CDN, readable offline and on a
phone (the viewBox scales to the width), and each carries its numbers as text for screen
readers and for printing. Pure functions from numbers to markup."""

from __future__ import annotations

from collections.abc import Sequence
from itertools import count

from markupsafe import Markup, escape

PALETTE = ["#8c0019", "#1565c0", "#2e7d32", "#ef6c00", "#6a1b9a", "#00838f", "#5d4037", "#455a64"]
_ids = count(1)


def _fmt(value: float) -> str:
    text = f"{value:,.1f}" if value != int(value) else f"{int(value):,}"
    return text.replace(",", "_").replace(".", ",").replace("_", ".")  # Indonesian: 1.234,5


def _svg(title: str, width: int, height: int, body: list[str]) -> Markup:
    ident = f"grafik-{next(_ids)}"
    return Markup(
        f'<svg viewBox="0 0 {width} {height}" role="img" aria-labelledby="{ident}" '
        f'xmlns="http://www.w3.org/2000/svg" font-family="system-ui, sans-serif" '
        f'font-size="12"><title id="{ident}">{escape(title)}</title>{"".join(body)}</svg>'
    )


def _legend(labels: Sequence[str], colors: Sequence[str], y: int, width: int) -> list[str]:
    out, x = [], 0
    for label, color in zip(labels, colors, strict=True):
        step = 18 + 7 * len(label) + 14
        if x + step > width:
            x, y = 0, y + 18
        out.append(
            f'<rect x="{x}" y="{y}" width="12" height="12" fill="{color}"/>'
            f'<text x="{x + 16}" y="{y + 10}">{escape(label)}</text>'
        )
        x += step
    return out


def stacked_columns(
    title: str, x_labels: Sequence[str], series: dict[str, Sequence[int]], width: int = 640
) -> Markup:
    """Columns per x label, stacked by series (complaints per day by channel)."""
    height, top, left, bottom = 240, 10, 34, 40
    plot_w, plot_h = width - left - 4, height - top - bottom
    totals = [sum(vals[i] for vals in series.values()) for i in range(len(x_labels))]
    peak = max(totals, default=0) or 1
    step = plot_w / max(len(x_labels), 1)
    body = [
        f'<line x1="{left}" y1="{top + plot_h}" x2="{width - 4}" y2="{top + plot_h}" '
        'stroke="#999"/>',
        f'<text x="{left - 4}" y="{top + 10}" text-anchor="end">{_fmt(peak)}</text>',
        f'<text x="{left - 4}" y="{top + plot_h}" text-anchor="end">0</text>',
    ]
    colors = [PALETTE[i % len(PALETTE)] for i in range(len(series))]
    for i, label in enumerate(x_labels):
        y = top + plot_h
        for (name, vals), color in zip(series.items(), colors, strict=True):
            if not vals[i]:
                continue
            h = plot_h * vals[i] / peak
            y -= h
            body.append(
                f'<rect x="{left + i * step + 1:.1f}" y="{y:.1f}" width="{max(step - 2, 1):.1f}" '
                f'height="{h:.1f}" fill="{color}"><title>{escape(label)} · {escape(name)}: '
                f"{vals[i]}</title></rect>"
            )
        every = max(1, len(x_labels) // 6)
        if i % every == 0:
            body.append(
                f'<text x="{left + i * step + step / 2:.1f}" y="{top + plot_h + 14}" '
                f'text-anchor="middle">{escape(label)}</text>'
            )
    body += _legend(list(series), colors, top + plot_h + 22, width)
    return _svg(title, width, height + 18 * (len(series) // 6), body)


def bars(
    title: str, items: Sequence[tuple[str, float]], unit: str = "", width: int = 640
) -> Markup:
    """Horizontal bars with their value written beside them."""
    label_w, row = 190, 24
    height = max(row * len(items), row) + 6
    peak = max((v for _, v in items), default=0) or 1
    plot_w = width - label_w - 80
    body = []
    for i, (label, value) in enumerate(items):
        y = i * row + 4
        w = plot_w * value / peak
        body.append(
            f'<text x="{label_w - 6}" y="{y + 14}" text-anchor="end">{escape(label)}</text>'
            f'<rect x="{label_w}" y="{y + 2}" width="{w:.1f}" height="16" '
            f'fill="{PALETTE[i % len(PALETTE)]}"/>'
            f'<text x="{label_w + w + 4:.1f}" y="{y + 14}">{_fmt(value)}{escape(unit)}</text>'
        )
    if not items:
        body.append('<text x="0" y="16">Belum ada data.</text>')
    return _svg(title, width, height, body)


def stacked_bars(
    title: str,
    rows: Sequence[tuple[str, dict[str, int]]],
    segments: Sequence[tuple[str, str]],
    width: int = 640,
) -> Markup:
    """One horizontal bar per row, split into segments (key, label), with a legend."""
    label_w, row = 150, 26
    plot_w = width - label_w - 60
    peak = max((sum(parts.values()) for _, parts in rows), default=0) or 1
    colors = [PALETTE[i % len(PALETTE)] for i in range(len(segments))]
    body = []
    for i, (label, parts) in enumerate(rows):
        y, x = i * row + 4, float(label_w)
        body.append(
            f'<text x="{label_w - 6}" y="{y + 14}" text-anchor="end">{escape(label)}</text>'
        )
        for (key, seg_label), color in zip(segments, colors, strict=True):
            n = parts.get(key, 0)
            if not n:
                continue
            w = plot_w * n / peak
            body.append(
                f'<rect x="{x:.1f}" y="{y + 2}" width="{w:.1f}" height="18" fill="{color}">'
                f"<title>{escape(label)} · {escape(seg_label)}: {n}</title></rect>"
            )
            x += w
        body.append(f'<text x="{x + 4:.1f}" y="{y + 15}">{_fmt(sum(parts.values()))}</text>')
    if not rows:
        body.append('<text x="0" y="16">Belum ada data.</text>')
    legend_y = max(len(rows), 1) * row + 10
    body += _legend([label for _, label in segments], colors, legend_y, width)
    return _svg(title, width, legend_y + 40, body)
