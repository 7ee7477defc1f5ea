"""Server-side SVG charts for the audit overview. Pure functions: data in, SVG markup out (escaped)."""
from __future__ import annotations

from collections import OrderedDict
from datetime import date
from html import escape

PALETTE = ("#0a6e4f", "#2563eb", "#b45309", "#7c3aed", "#be123c", "#0891b2", "#4d7c0f", "#6b7280")
# Colours that mean something keep their meaning in every chart; other series take the palette in turn.
NAMED_COLOURS = {"working": "#6b7280", "success": "#1a7f37", "warning": "#d97706", "failed": "#b42318",
                 "unknown": "#9ca3af",
                 "exchange": "#2563eb", "onedrive": "#0891b2", "sharepoint": "#0a6e4f", "teams": "#7c3aed"}


def _colour(series: list[str], name: str) -> str:
    return NAMED_COLOURS.get(name.lower(), PALETTE[series.index(name) % len(PALETTE)])


# Charts fill the width they are given, from a 390 px phone to a desktop, with text at its real size: no viewBox
# (that scaled 9 px labels down to about 4 px on a phone). Horizontal positions are percentages of the chart's
# width, vertical ones pixels, and labels are laid out so that they do not collide at 320 px.
FONT = 12
TITLE_FONT = 14
MAX_DAY_LABELS = 7
# Legend rows wrap before this width, the narrowest chart drawn (a 320 px screen less the page's margins).
LEGEND_WIDTH = 280


def stacked_bars_by_day(rows: list[tuple[date, str, int]], *, title: str) -> str:
    """Bars per day, stacked by series (e.g. workload or result), with a legend."""
    days: OrderedDict[date, dict[str, int]] = OrderedDict()
    series: list[str] = []
    for day, name, count in rows:
        days.setdefault(day, {})[name] = count
        if name not in series:
            series.append(name)
    # Series named by their display names ("OneDrive", "Working") take the colours of their values.
    series.sort(key=lambda name: (list(NAMED_COLOURS).index(name.lower()) if name.lower() in NAMED_COLOURS
                                  else len(NAMED_COLOURS), name))
    top, plot_height = 44, 170
    if not days:
        return _frame(title, top + 60, f'<text x="50%" y="{top + 20}" text-anchor="middle" font-size="{FONT}">'
                                       "No sessions in this period.</text>")
    peak = max(sum(values.values()) for values in days.values())
    baseline = top + plot_height
    slot = 100 / len(days)
    bar = slot * 0.7
    label_every = -(-len(days) // MAX_DAY_LABELS)
    parts = [f'<line x1="0" y1="{top}" x2="100%" y2="{top}" stroke="#d9dee6" stroke-dasharray="4 3"/>',
             f'<text x="0" y="{top - 5}" font-size="{FONT}">{peak}</text>',
             f'<line x1="0" y1="{baseline}" x2="100%" y2="{baseline}" stroke="#9aa5b4"/>']
    for index, (day, values) in enumerate(days.items()):
        x = index * slot + (slot - bar) / 2
        y = float(baseline)
        for name in series:
            count = values.get(name, 0)
            if not count:
                continue
            h = plot_height * count / peak
            y -= h
            parts.append(f'<rect x="{x:.2f}%" y="{y:.1f}" width="{bar:.2f}%" height="{h:.1f}" '
                         f'fill="{_colour(series, name)}">'
                         f'<title>{escape(str(day))}: {escape(name)} {count}</title></rect>')
        if index % label_every == 0:
            # The first and last labels stay inside the chart.
            anchor, at = ("start", x) if index == 0 else ("end", x + bar) if x > 90 else ("middle", x + bar / 2)
            parts.append(f'<text x="{at:.2f}%" y="{baseline + 17}" text-anchor="{anchor}" font-size="{FONT}">'
                         f"{day:%m-%d}</text>")
    legend, legend_height = _legend(series, top=baseline + 30)
    parts.append(legend)
    return _frame(title, baseline + 30 + legend_height, "".join(parts))


def horizontal_bars(rows: list[tuple[str, int]], *, title: str) -> str:
    """One bar per label, longest first (top requesters, organizations): each label on its own line above its
    bar, so that a long name never squeezes the bars on a narrow screen."""
    row_height, top = 38, 32
    if not rows:
        return _frame(title, top + 40, f'<text x="50%" y="{top + 20}" text-anchor="middle" font-size="{FONT}">'
                                       "No sessions in this period.</text>")
    peak = max(count for _, count in rows)
    parts = []
    for index, (label, count) in enumerate(rows):
        y = top + index * row_height
        w = 88 * count / peak
        parts.append(f'<text x="0" y="{y + 13}" font-size="{FONT}">{escape(label[:32])}</text>'
                     f'<rect x="0" y="{y + 18}" width="{w:.2f}%" height="12" fill="{PALETTE[0]}">'
                     f"<title>{escape(label)}: {count}</title></rect>"
                     f'<text x="{w + 1.5:.2f}%" y="{y + 29}" font-size="{FONT}">{count}</text>')
    return _frame(title, top + len(rows) * row_height + 4, "".join(parts))


def _legend(series: list[str], *, top: int) -> tuple[str, int]:
    """Swatches and names in rows no wider than LEGEND_WIDTH; returns the markup and its height."""
    parts, x, y = [], 0, top
    for name in series:
        width = 22 + 7 * len(name)
        if x and x + width > LEGEND_WIDTH:
            x, y = 0, y + 20
        parts.append(f'<rect x="{x}" y="{y - 10}" width="11" height="11" fill="{_colour(series, name)}"/>'
                     f'<text x="{x + 15}" y="{y}" font-size="{FONT}">{escape(name)}</text>')
        x += width + 12
    return "".join(parts), y - top + 10


def _frame(title: str, height: int, body: str) -> str:
    return (f'<svg xmlns="http://www.w3.org/2000/svg" class="chart" role="img" aria-label="{escape(title)}" '
            f'width="100%" height="{height}" font-family="sans-serif">'
            f'<title>{escape(title)}</title><text x="0" y="18" font-size="{TITLE_FONT}" font-weight="600">'
            f"{escape(title)}</text>{body}</svg>")
