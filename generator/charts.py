"""Papers-per-year bar charts as inline SVG with a data table, no scripts or inline styles."""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from markupsafe import Markup, escape

WIDTH = 400
HEIGHT = 220
TOP, RIGHT, BOTTOM = 12, 16, 28
FONT = 12
CHAR_WIDTH = 0.62 * FONT  # rough advance of a digit, used to space labels
SERIES_CLASSES = 10  # series i is drawn with class `chart-series-{i % SERIES_CLASSES}`
# Fallback fills (Okabe-Ito, then two greys) used when no stylesheet colours the series.
PALETTE = (
    "#0072b2", "#e69f00", "#009e73", "#cc79a7", "#56b4e9",
    "#d55e00", "#f0e442", "#000000", "#999999", "#666666",
)  # fmt: skip
MAX_BAR = 40  # widest bar, so a chart of one or two years does not look like a block
MAX_GAP_FILL = 40  # fill in missing years only while the span stays readable
UNKNOWN = "unknown"

Year = int | None
_ILLEGAL_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


@dataclass(frozen=True)
class _Layout:
    """Plot geometry shared by the axis, bars and labels."""

    left: float
    top: float
    width: float
    height: float
    slot: float
    scale_max: int

    def y(self, value: float) -> float:
        """Return the SVG y coordinate of `value` papers."""
        return self.top + self.height * (1 - value / self.scale_max)


def _text(value: str) -> Markup:
    """Escape `value` for XML and HTML, dropping characters XML 1.0 cannot carry."""
    return escape(_ILLEGAL_XML.sub("", value))


def _num(value: float) -> str:
    """Format a coordinate with at most two decimals and no trailing zeros."""
    text = f"{value:.2f}".rstrip("0").rstrip(".")
    return "0" if text == "-0" else text


def _count(value: int) -> str:
    """Format a count with thousands separators."""
    return f"{value:,}"


def _year_label(year: Year) -> str:
    """Return the axis label of a year."""
    return UNKNOWN if year is None else str(year)


def _safe_id(chart_id: str) -> str:
    """Return `chart_id` reduced to a valid, stable HTML id."""
    cleaned = re.sub(r"[^A-Za-z0-9_-]+", "-", chart_id).strip("-")
    return cleaned if cleaned[:1].isalpha() else f"chart-{cleaned}".rstrip("-")


def chart_years(counts: Mapping[str, Mapping[Year, int]]) -> list[Year]:
    """Return the x axis: years ascending (gaps filled when short), then None for unknown."""
    seen = {year for per_year in counts.values() for year, n in per_year.items() if n > 0}
    known = sorted(year for year in seen if year is not None)
    if known and known[-1] - known[0] < MAX_GAP_FILL:
        known = list(range(known[0], known[-1] + 1))
    return [*known, None] if None in seen else list(known)


def nice_scale(peak: int) -> tuple[int, int]:
    """Return (axis maximum, tick step) for counts up to `peak`, with 1-2-5 steps."""
    if peak <= 0:
        return 1, 1
    raw = peak / 4
    magnitude = 10 ** max(0, math.floor(math.log10(raw))) if raw >= 1 else 1
    step = next(m * magnitude for m in (1, 2, 5, 10) if m * magnitude >= raw)
    return step * math.ceil(peak / step), step


def _totals(counts: Mapping[str, Mapping[Year, int]], years: Sequence[Year]) -> list[int]:
    return [sum(max(0, per_year.get(year, 0)) for per_year in counts.values()) for year in years]


def _layout(peak: int, n_years: int) -> tuple[_Layout, int]:
    scale_max, step = nice_scale(peak)
    left = 8 + CHAR_WIDTH * len(_count(scale_max))  # room for the widest tick label
    width = WIDTH - left - RIGHT
    slot = width / max(n_years, 1)
    return _Layout(left, TOP, width, HEIGHT - TOP - BOTTOM, slot, scale_max), step


def _axis(layout: _Layout, step: int) -> list[str]:
    parts = ['<g class="chart-grid" stroke="currentColor" stroke-opacity="0.15">']
    labels = [f'<g class="chart-label" font-size="{FONT}" fill="currentColor" text-anchor="end">']
    for value in range(0, layout.scale_max + 1, step):
        y = _num(layout.y(value))
        right = _num(layout.left + layout.width)
        parts.append(f'<line x1="{_num(layout.left)}" y1="{y}" x2="{right}" y2="{y}"/>')
        labels.append(
            f'<text x="{_num(layout.left - 4)}" y="{y}" dy="0.35em">{_count(value)}</text>'
        )
    base = _num(layout.y(0))
    parts.append("</g>")
    labels.append("</g>")
    axis = (
        f'<line class="chart-axis" x1="{_num(layout.left)}" y1="{base}" '
        f'x2="{_num(layout.left + layout.width)}" y2="{base}" stroke="currentColor"/>'
    )
    return [*parts, *labels, axis]


def _labelled(n_years: int, every: int, unknown_last: bool) -> list[int]:
    """Return which year slots get a label: every `every`-th, plus a trailing "unknown"."""
    picked = list(range(0, n_years, every))
    if unknown_last:
        picked = [i for i in picked if n_years - 1 - i >= every] + [n_years - 1]
    return picked


def _year_labels(layout: _Layout, years: Sequence[Year]) -> list[str]:
    every = max(1, math.ceil((CHAR_WIDTH * 4 + 6) / layout.slot))
    unknown = UNKNOWN if layout.slot >= CHAR_WIDTH * len(UNKNOWN) + 6 else "?"
    y = _num(HEIGHT - BOTTOM + FONT + 4)
    out = [f'<g class="chart-label" font-size="{FONT}" fill="currentColor" text-anchor="middle">']
    for i in _labelled(len(years), every, bool(years) and years[-1] is None):
        text = unknown if years[i] is None else str(years[i])
        out.append(f'<text x="{_num(layout.left + layout.slot * (i + 0.5))}" y="{y}">{text}</text>')
    out.append("</g>")
    return out


def _bars(
    counts: Mapping[str, Mapping[Year, int]],
    labels: Mapping[str, str],
    years: Sequence[Year],
    layout: _Layout,
) -> list[str]:
    bar = min(layout.slot * 0.8, MAX_BAR)
    width = _num(bar)
    out = ['<g class="chart-bars">']
    for i, year in enumerate(years):
        x = _num(layout.left + layout.slot * (i + 0.5) - bar / 2)
        below = 0
        for s, (topic, per_year) in enumerate(counts.items()):
            n = max(0, per_year.get(year, 0))
            if not n:
                continue
            y_top, y_bottom = layout.y(below + n), layout.y(below)
            below += n
            name = _text(labels.get(topic, topic))
            out.append(
                f'<rect class="chart-bar chart-series-{s % SERIES_CLASSES}" '
                f'fill="{PALETTE[s % len(PALETTE)]}" x="{x}" y="{_num(y_top)}" '
                f'width="{width}" height="{_num(y_bottom - y_top)}">'
                f"<title>{name}, {_year_label(year)}: {_count(n)}</title></rect>"
            )
    out.append("</g>")
    return out


def _description(
    counts: Mapping[str, Mapping[Year, int]], years: Sequence[Year], totals: Sequence[int]
) -> str:
    total = sum(totals)
    if not total:
        return "No papers to chart."
    known = [y for y in years if y is not None]
    span = f"{known[0]}–{known[-1]}" if known else "unknown years only"
    peak_i = max(range(len(years)), key=lambda i: (totals[i], -i))
    if len(counts) > 1:  # a paper may sit in several series, so speak of the bars' sum
        head = f"Papers per year, {span}, stacked by {len(counts)} topics;"
        total_text = f"the bars add up to {_count(total)}"
    else:
        head = f"Papers per year, {span};"
        total_text = f"{_count(total)} papers in total"
    parts = [
        head,
        f"{total_text}; the highest is {_year_label(years[peak_i])} with {_count(totals[peak_i])}.",
    ]
    if None in years:
        parts.append(f"{_count(totals[-1])} have an unknown year.")
    return " ".join(parts)


def _legend(counts: Mapping[str, Mapping[Year, int]], labels: Mapping[str, str]) -> list[str]:
    out = ['<ul class="chart-legend">']
    for s, topic in enumerate(counts):
        out.append(
            '<li><svg class="chart-swatch" viewBox="0 0 10 10" width="10" height="10" '
            f'aria-hidden="true"><rect class="chart-series-{s % SERIES_CLASSES}" '
            f'fill="{PALETTE[s % len(PALETTE)]}" width="10" height="10"/></svg> '
            f"{_text(labels.get(topic, topic))}</li>"
        )
    out.append("</ul>")
    return out


def _table(
    counts: Mapping[str, Mapping[Year, int]],
    labels: Mapping[str, str],
    years: Sequence[Year],
    totals: Sequence[int],
    title: str,
) -> list[str]:
    heads = "".join(f'<th scope="col">{_text(labels.get(t, t))}</th>' for t in counts)
    out = [
        '<details class="chart-details"><summary>Data table</summary>',
        f'<table class="chart-data"><caption>{_text(title)}</caption>',
        f'<thead><tr><th scope="col">Year</th>{heads}<th scope="col">Total</th></tr></thead>',
        "<tbody>",
    ]
    for year, total in zip(years, totals, strict=True):
        cells = "".join(f"<td>{_count(max(0, c.get(year, 0)))}</td>" for c in counts.values())
        out.append(
            f'<tr><th scope="row">{_year_label(year)}</th>{cells}<td>{_count(total)}</td></tr>'
        )
    sums = "".join(
        f"<td>{_count(sum(max(0, v) for v in c.values()))}</td>" for c in counts.values()
    )
    out.append(f'</tbody><tfoot><tr><th scope="row">Total</th>{sums}')
    out.append(f"<td>{_count(sum(totals))}</td></tr></tfoot></table></details>")
    return out


def papers_per_year_chart(
    counts: Mapping[str, Mapping[int | None, int]],
    labels: Mapping[str, str],
    *,
    title: str,
    chart_id: str,
) -> Markup:
    """Return a figure with a stacked SVG bar chart of papers per year and its data table.

    Series follow the iteration order of `counts` (a legend lists them when there are several);
    a `None` year is shown last as "unknown". Labels default to the topic id.
    """
    cid = _safe_id(chart_id)
    years = chart_years(counts)
    totals = _totals(counts, years)
    layout, step = _layout(max(totals, default=0), len(years))
    svg = [
        f'<svg class="chart-svg" xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {HEIGHT}" '
        f'role="img" aria-labelledby="{cid}-title {cid}-desc">',
        f'<title id="{cid}-title">{_text(title)}</title>',
        f'<desc id="{cid}-desc">{_text(_description(counts, years, totals))}</desc>',
        *_axis(layout, step),
        *_bars(counts, labels, years, layout),
        *_year_labels(layout, years),
        "</svg>",
    ]
    if not years:
        svg[-1:] = [
            f'<text class="chart-empty" x="{WIDTH // 2}" y="{HEIGHT // 2}" font-size="{FONT}" '
            'fill="currentColor" text-anchor="middle">No papers yet</text>',
            "</svg>",
        ]
    parts = [f'<figure class="chart" id="{cid}">', *svg]
    if len(counts) > 1:
        parts += _legend(counts, labels)
    parts += [*_table(counts, labels, years, totals, title), "</figure>"]
    return Markup("\n".join(parts))
