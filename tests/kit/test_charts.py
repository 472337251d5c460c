"""The server-side SVG charts: well-formed, accessible, escaped, deterministic, CSP-safe."""

from __future__ import annotations

import xml.etree.ElementTree as ET

from markupsafe import Markup

from microcred.kit.web.charts import bar_chart, line_chart, percent

SVG = "{http://www.w3.org/2000/svg}"
HOSTILE = '<script>alert("x")</script> & "quotes"'


def parse(markup: Markup) -> ET.Element:
    assert isinstance(markup, Markup)
    return ET.fromstring(str(markup))


def assert_accessible(root: ET.Element, title: str) -> None:
    assert root.tag == f"{SVG}svg"
    assert root.get("role") == "img"
    title_el = root.find(f"{SVG}title")
    desc_el = root.find(f"{SVG}desc")
    assert title_el is not None and desc_el is not None
    assert title_el.text == title
    assert root.get("aria-labelledby") == f"{title_el.get('id')} {desc_el.get('id')}"
    # The CSP forbids inline styles, and scripts of any kind.
    for element in root.iter():
        assert "style" not in element.attrib, element.tag
        assert element.tag not in (f"{SVG}script", f"{SVG}style", f"{SVG}foreignObject")


def test_a_line_chart_is_well_formed_and_labelled() -> None:
    markup = line_chart(
        [("SQL", [0.1, 0.2, 0.35]), ("Python", [0.3, 0.25, 0.2])],
        ["2024-01", "2024-02", "2024-03"],
        title="Monthly share of postings",
        y_format=percent,
    )
    root = parse(markup)
    assert_accessible(root, "Monthly share of postings")
    paths = root.findall(f"{SVG}path")
    assert len(paths) == 2
    # Told apart by more than colour: the second series is dashed.
    assert paths[0].get("stroke-dasharray") is None and paths[1].get("stroke-dasharray")
    texts = [t.text for t in root.iter(f"{SVG}text")]
    assert "SQL" in texts and "Python" in texts and "2024-01" in texts and "40%" in texts
    desc = root.find(f"{SVG}desc")
    assert desc is not None and "2024-01 to 2024-03" in (desc.text or "")


def test_a_bar_chart_marks_highlighted_bars_by_pattern_and_word() -> None:
    markup = bar_chart(
        [("Python", 12), ("Spark", 7), ("SQL", 3)],
        title="Skills in demand",
        highlight={"Spark"},
        highlight_label="taught nowhere here",
    )
    root = parse(markup)
    assert_accessible(root, "Skills in demand")
    bars = [r for r in root.iter(f"{SVG}rect") if "bar" in (r.get("class") or "")]
    assert len(bars) == 3
    hatched = [b for b in bars if "bar-highlight" in (b.get("class") or "")]
    assert len(hatched) == 1 and (hatched[0].get("fill") or "").startswith("url(#")
    texts = [t.text for t in root.iter(f"{SVG}text")]
    assert "Spark (taught nowhere here)" in texts
    assert "Python" in texts and "12" in texts
    assert root.find(f"{SVG}defs/{SVG}pattern") is not None


def test_hostile_labels_are_escaped() -> None:
    line = line_chart([(HOSTILE, [1.0, 2.0])], [HOSTILE, "b"], title=HOSTILE)
    bars = bar_chart([(HOSTILE, 1.0)], title=HOSTILE, highlight={HOSTILE}, highlight_label=HOSTILE)
    for markup in (line, bars):
        assert "<script>" not in str(markup)
        root = parse(markup)  # still well-formed XML
        assert root.find(f"{SVG}script") is None
        title = root.find(f"{SVG}title")
        assert title is not None and title.text == HOSTILE


def test_empty_data_draws_a_no_data_figure() -> None:
    for markup in (
        line_chart([], [], title="Trends"),
        line_chart([("SQL", [])], ["2024-01"], title="Trends"),
        line_chart([("SQL", [float("nan")])], ["2024-01"], title="Trends"),
        bar_chart([], title="Skills"),
    ):
        root = parse(markup)
        assert root.get("role") == "img"
        texts = [t.text for t in root.iter(f"{SVG}text")]
        assert texts == ["No data yet"]


def test_a_single_point_is_a_marker_and_zero_values_still_scale() -> None:
    root = parse(line_chart([("SQL", [0.5])], ["2024-01"], title="One month"))
    assert root.findall(f"{SVG}path") == []
    assert root.findall(f"{SVG}circle")  # the lone point and its legend marker
    zeros = parse(bar_chart([("A", 0.0), ("B", 0.0)], title="Nothing yet"))
    assert len([r for r in zeros.iter(f"{SVG}rect") if r.get("class") == "bar"]) == 2


def test_output_is_deterministic_and_ids_differ_between_charts() -> None:
    def draw() -> Markup:
        return line_chart([("SQL", [0.1, 0.2])], ["a", "b"], title="Share")

    assert draw() == draw()
    first = parse(bar_chart([("A", 1.0)], title="First"))
    second = parse(bar_chart([("A", 1.0)], title="Second"))
    chosen = parse(bar_chart([("A", 1.0)], title="First", chart_id="mine"))
    assert first.get("aria-labelledby") != second.get("aria-labelledby")
    assert chosen.get("aria-labelledby") == "mine-title mine-desc"


def test_gaps_break_a_line_and_long_labels_are_shortened() -> None:
    root = parse(
        line_chart([("x" * 200, [1.0, float("nan"), 2.0, 3.0])], ["a", "b", "c", "d"], title="Gaps")
    )
    # The first point stands alone, the last two are joined.
    assert len(root.findall(f"{SVG}path")) == 1
    assert any((t.text or "").endswith("…") for t in root.iter(f"{SVG}text"))
