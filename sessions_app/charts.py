"""Server-side SVG charts for the audit overview. Pure functions: data in, SVG markup out (escaped)."""
from __future__ import annotations

from collections import OrderedDict
from datetime import date
from html import escape

PALETTE = ("#0a6e4f", "#2563eb", "#b45309", "#7c3aed", "#be123c", "#0891b2", "#4d7c0f", "#6b7280")
# Colours that mean something keep their meaning in every chart; other series take the palette in turn.
NAMED_COLOURS = {"success": "#1a7f37", "warning": "#d97706", "failed": "#b42318", "unknown": "#9ca3af",
                 "exchange": "#2563eb", "onedrive": "#0891b2", "sharepoint": "#0a6e4f", "teams": "#7c3aed"}


def _colour(series: list[str], name: str) -> str:
    return NAMED_COLOURS.get(name, PALETTE[series.index(name) % len(PALETTE)])
WIDTH = 720


def stacked_bars_by_day(rows: list[tuple[date, str, int]], *, title: str) -> str:
    """Bars per day, stacked by series (e.g. workload or result), with a legend."""
    days: OrderedDict[date, dict[str, int]] = OrderedDict()
    series: list[str] = []
    for day, name, count in rows:
        days.setdefault(day, {})[name] = count
        if name not in series:
            series.append(name)
    series.sort(key=lambda name: (list(NAMED_COLOURS).index(name) if name in NAMED_COLOURS else len(NAMED_COLOURS), name))
    height, top, bottom, left = 260, 30, 40, 40
    plot_height = height - top - bottom
    if not days:
        return _frame(title, height, '<text x="360" y="130" text-anchor="middle" class="muted">No sessions in this period.</text>')
    peak = max(sum(values.values()) for values in days.values())
    slot = (WIDTH - left - 10) / len(days)
    bar = max(slot * 0.7, 1.0)
    parts = [f'<line x1="{left}" y1="{top + plot_height}" x2="{WIDTH - 10}" y2="{top + plot_height}" stroke="#9aa5b4"/>',
             f'<text x="{left - 6}" y="{top + 4}" text-anchor="end" font-size="10">{peak}</text>',
             f'<text x="{left - 6}" y="{top + plot_height}" text-anchor="end" font-size="10">0</text>']
    for index, (day, values) in enumerate(days.items()):
        x = left + index * slot + (slot - bar) / 2
        y = top + plot_height
        for name in series:
            count = values.get(name, 0)
            if not count:
                continue
            h = plot_height * count / peak
            y -= h
            colour = _colour(series, name)
            parts.append(f'<rect x="{x:.1f}" y="{y:.1f}" width="{bar:.1f}" height="{h:.1f}" fill="{colour}">'
                         f'<title>{escape(str(day))}: {escape(name)} {count}</title></rect>')
        if len(days) <= 16 or index % max(len(days) // 8, 1) == 0:
            parts.append(f'<text x="{x + bar / 2:.1f}" y="{height - bottom + 14}" text-anchor="middle" font-size="9">'
                         f'{day:%m-%d}</text>')
    parts.append(_legend(series, y=height - 8))
    return _frame(title, height, "".join(parts))


def horizontal_bars(rows: list[tuple[str, int]], *, title: str) -> str:
    """One bar per label, longest first (top requesters, organizations)."""
    row_height, top, left = 22, 30, 220
    height = top + max(len(rows), 1) * row_height + 10
    if not rows:
        return _frame(title, height + 20, '<text x="360" y="50" text-anchor="middle">No sessions in this period.</text>')
    peak = max(count for _, count in rows)
    parts = []
    for index, (label, count) in enumerate(rows):
        y = top + index * row_height
        w = (WIDTH - left - 60) * count / peak
        parts.append(f'<text x="{left - 8}" y="{y + 14}" text-anchor="end" font-size="12">{escape(label[:32])}</text>'
                     f'<rect x="{left}" y="{y + 3}" width="{w:.1f}" height="{row_height - 6}" fill="{PALETTE[0]}">'
                     f'<title>{escape(label)}: {count}</title></rect>'
                     f'<text x="{left + w + 6:.1f}" y="{y + 14}" font-size="12">{count}</text>')
    return _frame(title, height, "".join(parts))


def _legend(series: list[str], *, y: int) -> str:
    parts, x = [], 40
    for name in series:
        colour = _colour(series, name)
        parts.append(f'<rect x="{x}" y="{y - 9}" width="10" height="10" fill="{colour}"/>'
                     f'<text x="{x + 14}" y="{y}" font-size="11">{escape(name)}</text>')
        x += 24 + 7 * len(name)
    return "".join(parts)


def _frame(title: str, height: int, body: str) -> str:
    return (f'<svg xmlns="http://www.w3.org/2000/svg" class="chart" role="img" aria-label="{escape(title)}" '
            f'viewBox="0 0 {WIDTH} {height}" width="{WIDTH}" height="{height}" font-family="sans-serif">'
            f'<title>{escape(title)}</title><text x="10" y="18" font-size="14" font-weight="600">{escape(title)}</text>'
            f"{body}</svg>")
