"""Inline SVG papers-per-year charts: structure, accessibility, escaping and scaling."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from lxml import etree
from markupsafe import Markup

from generator.charts import (
    BOTTOM,
    FONT,
    HEIGHT,
    SERIES_CLASSES,
    WIDTH,
    chart_years,
    nice_scale,
    papers_per_year_chart,
)

SVG = "{http://www.w3.org/2000/svg}"
HOSTILE = '<script>alert("x")</script> & ]]> \' "'


def _chart(counts, labels=None, title="Papers per year", chart_id="chart-all") -> Markup:
    """Draw a chart with the test defaults."""
    return papers_per_year_chart(counts, labels or {}, title=title, chart_id=chart_id)


def _parse(markup: Markup) -> etree._Element:
    """Parse the fragment as XML: it must be well-formed, not just tolerable HTML."""
    return etree.fromstring(str(markup).encode("utf-8"))


def _rects(root: etree._Element) -> list[etree._Element]:
    return [r for r in root.iter(f"{SVG}rect") if "chart-bar" in r.get("class", "")]


def _table(root: etree._Element) -> list[list[str]]:
    table = next(root.iter("table"))
    return [["".join(c.itertext()) for c in row] for row in table.iter("tr")]


COUNTS = {"llm": {2022: 3, 2023: 10, None: 2}, "vision": {2021: 1, 2023: 4}}
LABELS = {"llm": "Language models", "vision": "Vision"}


def test_structure_accessibility_and_ids() -> None:
    root = _parse(_chart(COUNTS, LABELS, chart_id="chart-all"))
    assert root.tag == "figure" and root.get("id") == "chart-all"
    svg = root.find(f"{SVG}svg")
    assert svg.get("role") == "img"
    assert svg.get("viewBox") == f"0 0 {WIDTH} {HEIGHT}"
    assert svg.get("width") is None and svg.get("height") is None  # scales with its container
    ids = svg.get("aria-labelledby").split()
    assert [svg.find(f"{SVG}title").get("id"), svg.find(f"{SVG}desc").get("id")] == ids
    assert svg[0].tag == f"{SVG}title" and svg[1].tag == f"{SVG}desc"
    assert "".join(svg.find(f"{SVG}title").itertext()) == "Papers per year"
    desc = "".join(svg.find(f"{SVG}desc").itertext())
    assert "2021–2023" in desc and "add up to 20" in desc and "2 have an unknown year" in desc
    single = _parse(_chart({"llm": COUNTS["llm"]}))
    assert "15 papers in total" in "".join(single.find(f"{SVG}svg/{SVG}desc").itertext())
    assert single.find("ul") is None  # one series needs no legend
    all_ids = [el.get("id") for el in root.iter() if el.get("id")]
    assert len(all_ids) == len(set(all_ids))
    assert all(i.startswith("chart-all") for i in all_ids)


def test_no_inline_styles_scripts_or_handlers() -> None:
    markup = str(_chart(COUNTS, {"llm": HOSTILE}, title=HOSTILE))
    root = _parse(markup)
    for el in root.iter():
        assert "style" not in el.attrib
        assert not any(name.startswith("on") for name in el.attrib)
        assert not str(el.tag).endswith(("script", "style", "foreignObject"))
    assert "<script>" not in markup
    assert "&lt;script&gt;" in markup


def test_labels_and_title_are_escaped_and_round_trip() -> None:
    root = _parse(_chart(COUNTS, {"llm": HOSTILE, "vision": "A & B"}, title=HOSTILE))
    assert "".join(root.find(f"{SVG}svg/{SVG}title").itertext()) == HOSTILE
    legend = ["".join(li.itertext()).strip() for li in root.iter("li")]
    assert legend == [HOSTILE, "A & B"]
    assert _table(root)[0] == ["Year", HOSTILE, "A & B", "Total"]
    tips = ["".join(r.find(f"{SVG}title").itertext()) for r in _rects(root)]
    assert f"{HOSTILE}, 2023: 10" in tips


def test_data_table_lists_every_number_with_unknown_last() -> None:
    rows = _table(_parse(_chart(COUNTS, LABELS)))
    assert rows == [
        ["Year", "Language models", "Vision", "Total"],
        ["2021", "0", "1", "1"],
        ["2022", "3", "0", "3"],
        ["2023", "10", "4", "14"],
        ["unknown", "2", "0", "2"],
        ["Total", "15", "5", "20"],
    ]


def test_series_classes_follow_counts_order_and_fallback_fill() -> None:
    counts = {f"t{i}": {2020: i + 1} for i in range(SERIES_CLASSES + 2)}
    root = _parse(_chart(counts))
    classes = [r.get("class") for r in _rects(root)]
    assert classes[0] == "chart-bar chart-series-0"
    assert classes[SERIES_CLASSES - 1] == f"chart-bar chart-series-{SERIES_CLASSES - 1}"
    assert classes[SERIES_CLASSES] == "chart-bar chart-series-0"  # the palette wraps
    assert all(r.get("fill", "").startswith("#") for r in _rects(root))


def test_stacked_bars_fill_the_plot_exactly() -> None:
    root = _parse(_chart({"a": {2020: 3, 2021: 5}, "b": {2021: 3}}))
    bars = _rects(root)
    tops = {(r.get("x"), float(r.get("y")), float(r.get("height"))) for r in bars}
    stacked = sorted((y, h) for x, y, h in tops if x == bars[-1].get("x"))
    assert stacked[0][0] + stacked[0][1] == pytest.approx(stacked[1][0])  # segments touch


@pytest.mark.parametrize("peak", [1, 2, 3, 7, 10, 99, 1000, 4321, 25_000])
@pytest.mark.parametrize("n_years", [1, 2, 12, 30])
def test_scales_from_one_paper_to_thousands_and_up_to_thirty_years(peak: int, n_years: int) -> None:
    counts = {
        "a": {2000 + i: peak if i == n_years - 1 else 1 + (i * 7) % peak for i in range(n_years)}
    }
    root = _parse(_chart(counts))
    bars = _rects(root)
    assert len(bars) == sum(1 for n in counts["a"].values() if n)
    for rect in bars:
        x, y = float(rect.get("x")), float(rect.get("y"))
        w, h = float(rect.get("width")), float(rect.get("height"))
        assert 0 <= x and x + w <= WIDTH and 0 <= y and y + h <= HEIGHT and w > 0 and h >= 0
    tallest = max(bars, key=lambda r: float(r.get("height")))
    assert float(tallest.get("height")) > (HEIGHT - 40) / 2  # the peak uses most of the plot
    labels = [t.text for t in root.iter(f"{SVG}text")]
    assert str(2000 + 0) in labels
    xs = [
        float(t.get("x"))
        for t in root.iter(f"{SVG}text")
        if t.get("y") == str(HEIGHT - BOTTOM + FONT + 4)
    ]
    assert all(b - a >= 30 for a, b in zip(xs, xs[1:], strict=False))  # year labels never overlap


def test_empty_chart_renders_a_message() -> None:
    markup = _chart({})
    root = _parse(markup)
    assert "No papers" in "".join(root.itertext())
    assert _rects(root) == []
    assert _table(root)[-1] == ["Total", "0"]


@pytest.mark.parametrize(
    ("chart_id", "expected"),
    [
        ("chart-all", "chart-all"),
        ("topic:llm/x", "topic-llm-x"),
        ("2024", "chart-2024"),
        ("", "chart"),
    ],
)
def test_chart_id_is_sanitised(chart_id: str, expected: str) -> None:
    root = _parse(_chart(COUNTS, chart_id=chart_id))
    assert root.get("id") == expected
    assert root.find(f"{SVG}svg").get("aria-labelledby") == f"{expected}-title {expected}-desc"


def test_output_is_deterministic_and_markup() -> None:
    first = _chart(COUNTS, LABELS)
    assert isinstance(first, Markup)
    assert first == _chart(dict(COUNTS), dict(LABELS))
    assert first != _chart(COUNTS, LABELS, chart_id="other")


@pytest.mark.parametrize(
    ("peak", "expected"),
    [(0, (1, 1)), (1, (1, 1)), (3, (3, 1)), (7, (8, 2)), (10, (10, 5)), (3000, (3000, 1000)),
     (3001, (4000, 1000)), (12345, (15000, 5000))],
)  # fmt: skip
def test_nice_scale(peak: int, expected: tuple[int, int]) -> None:
    assert nice_scale(peak) == expected


def test_chart_years_fills_gaps_and_puts_unknown_last() -> None:
    assert chart_years({"a": {2024: 1, None: 1, 2020: 2}, "b": {2022: 0}}) == [
        2020, 2021, 2022, 2023, 2024, None,
    ]  # fmt: skip
    assert chart_years({"a": {1900: 1, 2024: 1}}) == [1900, 2024]  # too wide to fill
    assert chart_years({"a": {None: 4}}) == [None]
    assert chart_years({}) == []


@settings(max_examples=60, deadline=None)
@given(
    st.dictionaries(
        st.text(min_size=1, max_size=8),
        st.dictionaries(
            st.one_of(st.none(), st.integers(1990, 2030)), st.integers(0, 5000), max_size=8
        ),
        max_size=5,
    ),
    st.text(max_size=20),
)
def test_any_counts_give_well_formed_xml(counts: dict, title: str) -> None:
    root = _parse(_chart(counts, title=title))
    rows = _table(root)
    assert rows[-1][-1] == f"{sum(sum(v.values()) for v in counts.values()):,}"
