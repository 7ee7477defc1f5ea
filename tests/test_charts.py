"""The overview's SVG charts: escaped labels, an empty-state message, one bar per value."""
from __future__ import annotations

import re
from datetime import date, timedelta

from sessions_app import charts


def test_horizontal_bars_draw_one_bar_per_label_longest_scaled_to_the_width():
    svg = charts.horizontal_bars([("olivia", 4), ("oscar", 2), ("harry", 1)], title="Top requesters")
    assert svg.startswith("<svg") and svg.endswith("</svg>")
    assert svg.count("<rect") == 3
    assert "<title>olivia: 4</title>" in svg and "<title>harry: 1</title>" in svg
    assert 'aria-label="Top requesters"' in svg
    widths = [float(width) for width in re.findall(r'<rect [^>]*width="([0-9.]+)%"', svg)]
    assert len(widths) == 3 and widths == sorted(widths, reverse=True)


def test_labels_and_titles_are_escaped():
    svg = charts.horizontal_bars([('<script>alert("x")</script>', 1)], title='A & B "<b>"')
    assert "<script>" not in svg and "&lt;script&gt;alert(&quot;x&quot;)" in svg
    assert "A &amp; B &quot;&lt;b&gt;&quot;" in svg
    stacked = charts.stacked_bars_by_day([(date(2026, 1, 1), "<img src=x onerror=alert(1)>", 1)], title="t")
    assert "<img" not in stacked and "&lt;img src=x onerror=alert(1)&gt;" in stacked


def test_long_labels_are_shortened_on_the_axis_but_whole_on_hover():
    label = "a-very-long-organization-name.onmicrosoft.com"
    svg = charts.horizontal_bars([(label, 3)], title="t")
    assert f">{label[:32]}</text>" in svg and f"<title>{label}: 3</title>" in svg


def test_empty_data_says_there_were_no_sessions():
    for svg in (charts.horizontal_bars([], title="t"), charts.stacked_bars_by_day([], title="t")):
        assert "No sessions in this period." in svg and "<rect" not in svg


def test_stacked_bars_stack_series_per_day_with_a_legend():
    day = date(2026, 11, 1)
    rows = [(day, "exchange", 2), (day, "teams", 1), (day + timedelta(days=1), "exchange", 3)]
    svg = charts.stacked_bars_by_day(rows, title="By workload")
    bars = svg.count("<title>2026-11-")
    assert bars == 3
    # Two series in the legend, each with its swatch.
    assert svg.count('width="11" height="11"') == 2
    assert ">11-01</text>" in svg and ">11-02</text>" in svg
    assert ">3</text>" in svg  # the peak on the axis


def test_many_days_label_only_some_of_them():
    start = date(2026, 10, 1)
    rows = [(start + timedelta(days=n), "exchange", 1) for n in range(30)]
    svg = charts.stacked_bars_by_day(rows, title="t")
    assert svg.count("<title>2026-") == 30
    assert 4 <= len(re.findall(r">\d\d-\d\d</text>", svg)) <= charts.MAX_DAY_LABELS


def test_text_keeps_its_size_at_any_width():
    """No viewBox: the chart fills its width and its text is never scaled down (labels were 4 px on a phone)."""
    day = date(2026, 11, 1)
    for svg in (charts.stacked_bars_by_day([(day, "exchange", 2)], title="t"),
                charts.horizontal_bars([("olivia", 4)], title="t")):
        assert "viewBox" not in svg and 'width="100%"' in svg
        sizes = [int(size) for size in re.findall(r'font-size="(\d+)"', svg)]
        assert sizes and min(sizes) >= 11


def test_a_long_legend_wraps_within_a_phone_width():
    day = date(2026, 11, 1)
    rows = [(day, name, 1) for name in ("exchange", "onedrive", "sharepoint", "teams", "another-workload")]
    svg = charts.stacked_bars_by_day(rows, title="t")
    swatches = re.findall(r'<rect x="(\d+)" y="(\d+)" width="11" height="11"', svg)
    assert len(swatches) == 5
    assert len({y for _, y in swatches}) >= 2
    for x, _ in swatches:
        assert int(x) < charts.LEGEND_WIDTH
