"""Build-time SVG charts: well-formed, accessible, escaped, deterministic; and their data tables."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET

import pytest

from pipeline.site import charts

SVG = "{http://www.w3.org/2000/svg}"
HOSTILE = '<script>alert("x")</script>&amp;'
MONTHS = [f"{y}-{m:02d}" for y in (2024, 2025) for m in range(1, 13)]
MEDIAN = [
    12,
    11.5,
    10,
    9.5,
    None,
    9,
    8.5,
    8,
    8,
    7.5,
    7,
    7.5,
    6,
    6.5,
    None,
    None,
    5.5,
    5,
    5,
    4.5,
    4,
    4,
    3.5,
    3,
]
P90 = [
    25,
    24,
    23,
    22,
    None,
    21,
    22,
    19,
    18,
    18.5,
    17,
    16,
    15,
    15.5,
    None,
    None,
    14,
    13,
    12.5,
    12,
    12,
    11,
    None,
    10,
]


def trend(**overrides) -> str:
    kwargs = dict(
        title="建设工程规划许可 办理时长",
        description="中位办理天数逐月下降。",
        y_label="办理天数（工作日）",
        reference_lines={"承诺时限": 15, "法定时限": 20},
        chart_id="trend",
    )
    kwargs.update(overrides)
    series = kwargs.pop("series", {"中位办理天数": MEDIAN, "90分位办理天数": P90})
    months = kwargs.pop("months", MONTHS)
    return charts.monthly_trend_svg(months, series, **kwargs)


def bars(**overrides) -> str:
    kwargs = dict(title="各部门按时办结率", description="按时办结率从高到低。", chart_id="bars")
    kwargs.update(overrides)
    labels = kwargs.pop(
        "labels",
        [
            "区市场监督管理局",
            "区住房和城乡建设局（区人民防空办公室）行政审批科",
            "区卫生健康委员会",
            HOSTILE,
        ],
    )
    values = kwargs.pop("values", [98.2, 91.5, None, 60.0])
    return charts.bar_ranking_svg(labels, values, **kwargs)


def distribution(**overrides) -> str:
    kwargs = dict(
        title="办事满意度评价分布", description="绝大多数评价为非常满意。", chart_id="dist"
    )
    kwargs.update(overrides)
    labels = kwargs.pop("labels", ["非常不满意", "不满意", "基本满意", "满意", "非常满意"])
    counts = kwargs.pop("counts", [None, 23, 180, 1532, 12045])
    return charts.distribution_svg(labels, counts, **kwargs)


ALL = {"trend": trend, "bars": bars, "distribution": distribution}


def texts(root: ET.Element) -> list[str]:
    return ["".join(t.itertext()) for t in root.iter(f"{SVG}text")]


def luminance(colour: str) -> float:
    h = colour.lstrip("#")
    channels = [int(h[i : i + 2], 16) / 255 for i in (0, 2, 4)]
    lin = [c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
    return 0.2126 * lin[0] + 0.7152 * lin[1] + 0.0722 * lin[2]


def contrast_on_white(colour: str) -> float:
    return 1.05 / (luminance(colour) + 0.05)


# ---------------------------------------------------------------- every chart


@pytest.mark.parametrize("name", ALL)
def test_svg_is_well_formed_and_accessible(name):
    markup = ALL[name]()
    root = ET.fromstring(markup)
    assert root.tag == f"{SVG}svg"
    assert root.get("role") == "img"
    assert root.get("width") == "100%"
    assert re.fullmatch(r"0 0 \d+ \d+", root.get("viewBox"))
    assert "Noto Sans CJK SC" in root.get("font-family") and root.get("font-family").endswith(
        "sans-serif"
    )
    ids = root.get("aria-labelledby").split()
    assert len(ids) == 2
    by_id = {el.get("id"): el for el in root.iter() if el.get("id")}
    assert by_id[ids[0]].tag == f"{SVG}title" and by_id[ids[1]].tag == f"{SVG}desc"
    assert root.find(f"{SVG}title") is by_id[ids[0]]  # the first child is the accessible name
    assert (
        by_id[ids[0]].text
        == {
            "trend": "建设工程规划许可 办理时长",
            "bars": "各部门按时办结率",
            "distribution": "办事满意度评价分布",
        }[name]
    )
    assert by_id[ids[1]].text
    assert texts(root), "text stays text, never paths"


@pytest.mark.parametrize("name", ALL)
def test_no_script_events_or_external_references(name):
    markup = ALL[name](title=HOSTILE, description=HOSTILE, chart_id='x" onload="alert(1)')
    root = ET.fromstring(markup)
    for el in root.iter():
        assert el.tag.split("}")[-1] not in {
            "script",
            "foreignObject",
            "image",
            "use",
            "a",
            "style",
        }
        for attr, value in el.attrib.items():
            assert not attr.lower().startswith("on"), attr
            assert "href" not in attr.lower()
            assert "url(" not in value and "javascript:" not in value.lower()
    assert "<script" not in markup
    assert root.find(f"{SVG}title").text == HOSTILE  # escaped on the way out, intact on the way in
    shown = ET.fromstring(ALL[name](title=HOSTILE, show_title=True))
    assert HOSTILE in texts(shown)


@pytest.mark.parametrize("name", ALL)
def test_ids_are_sanitised_and_unique_per_chart(name):
    one = ET.fromstring(ALL[name](chart_id="Chart One / 图表"))
    assert one.get("id") == "chart-one"
    assert one.get("aria-labelledby") == "chart-one-title chart-one-desc"
    for el in one.iter():
        if el.get("id"):
            assert re.fullmatch(r"[a-z][a-z0-9-]*", el.get("id"))
    two = ET.fromstring(ALL[name](chart_id="2 图表"))
    assert two.get("id") == "chart-2"
    derived = ET.fromstring(ALL[name](chart_id=None))
    assert re.fullmatch(r"chart-[0-9a-f]{10}", derived.get("id"))
    assert ET.fromstring(ALL[name](chart_id=None)).get("id") == derived.get("id")


@pytest.mark.parametrize("name", ALL)
def test_deterministic(name):
    assert ALL[name]() == ALL[name]()


@pytest.mark.parametrize("name", ALL)
def test_colours_meet_contrast(name):
    root = ET.fromstring(ALL[name]())
    for el in root.iter(f"{SVG}text"):
        assert contrast_on_white(el.get("fill")) >= 4.5, el.get("fill")
    for el in root.iter():
        tag = el.tag.split("}")[-1]
        if tag in {"path", "polygon", "circle"} or (tag == "rect" and el.get("fill") != "#ffffff"):
            colour = el.get("stroke") if tag == "path" else el.get("fill")
            assert contrast_on_white(colour) >= 3, (tag, colour)
    for colour, _dash, _marker in charts.SERIES_STYLES:
        assert contrast_on_white(colour) >= 4.5


def test_control_characters_do_not_break_the_xml():
    ET.fromstring(bars(labels=["区\x00市场\x1b监管局"], values=[50.0]))
    ET.fromstring(trend(title="标题\x07", series={"中位\x0b": MEDIAN}))


# ---------------------------------------------------------------- monthly trend


def series_groups(root: ET.Element) -> list[ET.Element]:
    return [g for g in root.iter(f"{SVG}g") if "series" in (g.get("class") or "").split()]


def test_trend_draws_gaps_for_suppressed_months():
    root = ET.fromstring(trend())
    median, p90 = series_groups(root)
    # MEDIAN breaks at index 4 and at 14–15: three unbroken runs, all longer than one point.
    assert len(median.findall(f"{SVG}path")) == 3
    # P90 also breaks at 22, leaving the last month as a lone marker with no line.
    assert len(p90.findall(f"{SVG}path")) == 3
    assert len(median.findall(f"{SVG}g")) == sum(v is not None for v in MEDIAN)
    assert len(p90.findall(f"{SVG}g")) == sum(v is not None for v in P90)
    assert charts.GAP_NOTE in texts(root)


def test_trend_without_gaps_has_one_line_and_no_note():
    root = ET.fromstring(trend(series={"中位办理天数": [3, 4, 5]}, months=MONTHS[:3]))
    (group,) = series_groups(root)
    assert len(group.findall(f"{SVG}path")) == 1
    assert charts.GAP_NOTE not in texts(root)


def test_trend_reference_lines_are_labelled_and_within_the_axis():
    root = ET.fromstring(
        trend(
            series={"中位办理天数": [3, 4, 5]},
            months=MONTHS[:3],
            reference_lines={"承诺时限": 15, "法定时限": 20.5},
            value_unit="天",
        )
    )
    labels = texts(root)
    assert "承诺时限 15天" in labels and "法定时限 20.5天" in labels
    ticks = [t for t in labels if re.fullmatch(r"[\d,.]+", t)]
    assert ticks[0] == "0" and float(ticks[-1]) >= 20.5


def test_trend_series_differ_by_more_than_colour():
    root = ET.fromstring(trend(series={"中位": MEDIAN, "90分位": P90, "平均": MEDIAN}))
    styles = set()
    for group in series_groups(root):
        path = group.find(f"{SVG}path")
        marker = group.find(f"{SVG}g")[1].tag
        styles.add((path.get("stroke"), path.get("stroke-dasharray"), marker))
    assert len(styles) == 3
    assert (
        len({s[0] for s in styles}) == 3
        and len({s[1] for s in styles}) == 3
        and len({s[2] for s in styles}) == 3
    )


def test_trend_month_labels_do_not_crowd_and_include_the_latest():
    labels = [t for t in texts(ET.fromstring(trend())) if re.fullmatch(r"\d\d年\d+月", t)]
    assert 4 <= len(labels) <= 12
    assert labels[-1] == "25年12月"
    assert charts.month_label("2025-01") == "25年1月"
    assert charts.month_label("2025-01", short=False) == "2025年1月"
    assert charts.month_label("2025-13") == "2025-13"


def test_trend_tooltips_name_the_month_and_value():
    root = ET.fromstring(trend(value_unit="天"))
    tips = [g.findtext(f"{SVG}title") for g in series_groups(root)[0].findall(f"{SVG}g")]
    assert tips[0] == "2024年1月 中位办理天数：12.0天"


def test_trend_empty_and_all_suppressed_render_no_data():
    for months, series in (([], {}), (MONTHS[:2], {"中位办理天数": [None, None]})):
        root = ET.fromstring(trend(months=months, series=series, reference_lines={}))
        assert charts.NO_DATA in texts(root)


def test_trend_rejects_bad_input():
    with pytest.raises(ValueError, match="月份"):
        trend(series={"中位": [1, 2]})
    with pytest.raises(ValueError, match="最多"):
        trend(series={str(i): MEDIAN for i in range(4)})
    with pytest.raises(ValueError, match="负值"):
        trend(series={"中位": [-1] * len(MONTHS)})


def test_nice_ticks():
    assert charts.nice_ticks(23) == [0, 5, 10, 15, 20, 25]
    assert charts.nice_ticks(20) == [0, 5, 10, 15, 20]
    assert charts.nice_ticks(0.9) == [0, 0.2, 0.4, 0.6, 0.8, 1.0]
    assert charts.nice_ticks(112) == [0, 25, 50, 75, 100, 125]
    assert charts.nice_ticks(0) == [0, 1, 2, 3, 4, 5]


# ---------------------------------------------------------------- ranking bars


def test_bars_truncate_long_names_but_keep_them_in_title():
    root = ET.fromstring(bars())
    rows = [g for g in root.iter(f"{SVG}g") if g.get("class") == "bar-row"]
    assert len(rows) == 4
    long_name = "区住房和城乡建设局（区人民防空办公室）行政审批科"
    shown = rows[1].find(f"{SVG}text").text
    assert shown.endswith("…") and long_name.startswith(shown[:-1]) and shown != long_name
    assert rows[1].findtext(f"{SVG}title") == f"{long_name}：91.5%"
    assert rows[0].find(f"{SVG}text").text == "区市场监督管理局"
    assert rows[3].find(f"{SVG}text").text == HOSTILE
    assert "<script>" not in bars()


def test_bars_show_insufficient_data_without_a_bar():
    root = ET.fromstring(bars())
    rows = [g for g in root.iter(f"{SVG}g") if g.get("class") == "bar-row"]
    assert rows[2].find(f"{SVG}rect") is None
    assert [t.text for t in rows[2].findall(f"{SVG}text")] == ["区卫生健康委员会", "数据不足"]
    assert [t.text for t in rows[0].findall(f"{SVG}text")][-1] == "98.2%"


def test_bars_scale():
    root = ET.fromstring(bars())
    assert "100%" in texts(root)
    widths = [float(r.get("width")) for r in root.iter(f"{SVG}rect") if r.get("fill") == charts.BAR]
    assert widths[0] / widths[2] == pytest.approx(98.2 / 60.0, rel=0.01)
    root = ET.fromstring(bars(labels=["甲", "乙"], values=[12.5, 30], unit="天", max_value=None))
    assert "30天" in texts(root) and "12.5天" in texts(root)
    root = ET.fromstring(bars(labels=["甲"], values=[150.0], max_value=100))
    assert "150.0%" in texts(root)  # clipped bar, true value


def test_bars_rejects_mismatched_lengths():
    with pytest.raises(ValueError):
        bars(labels=["甲"], values=[1, 2])


# ---------------------------------------------------------------- distribution


def test_distribution_labels_shares_and_counts():
    root = ET.fromstring(distribution())
    labels = texts(root)
    total = 23 + 180 + 1532 + 12045
    assert f"{100 * 12045 / total:.1f}%" in labels
    assert "12,045件" in labels
    assert "数据不足" in labels
    for level in ["非常不满意", "不满意", "基本满意", "满意", "非常满意"]:
        assert level in labels
    columns = [g for g in root.iter(f"{SVG}g") if g.get("class") == "column"]
    assert columns[0].find(f"{SVG}rect") is None
    assert columns[4].findtext(f"{SVG}title") == f"非常满意：12,045件（{100 * 12045 / total:.1f}%）"


def test_distribution_all_zero():
    assert charts.NO_DATA in texts(ET.fromstring(distribution(counts=[0, 0, 0, 0, 0])))


# ---------------------------------------------------------------- table


def test_table_structure_formatting_and_escaping():
    html = charts.data_table_html(
        "各月办理时长",
        ["月份", "办件量", "中位办理天数", "按时办结率"],
        [["2025年1月", 12345, 7.26, 98.04], ["2025年2月", 8, None, None], [HOSTILE, 0, 1.0, 100]],
        none_text=charts.suppressed_text(10),
        percent_columns=[3],
        chart_id="Trend",
    )
    root = ET.fromstring(html)
    assert root.tag == "table" and root.get("id") == "trend-table"
    assert root.findtext("caption") == "各月办理时长"
    cols = root.findall("thead/tr/th")
    assert [th.get("scope") for th in cols] == ["col"] * 4
    body = root.findall("tbody/tr")
    assert [tr.find("th").get("scope") for tr in body] == ["row"] * 3
    first = [td.text for td in body[0].findall("td")]
    assert first == ["12,345", "7.3", "98.0%"]
    assert [td.text for td in body[1].findall("td")] == [
        "8",
        "—（不足 10 条，已隐藏）",
        "—（不足 10 条，已隐藏）",
    ]
    assert body[2].find("th").text == HOSTILE
    assert [td.text for td in body[2].findall("td")] == ["0", "1.0", "100.0%"]
    assert body[0].findall("td")[0].get("class") == "num"
    assert body[1].findall("td")[1].get("class") is None
    assert "<script>" not in html


def test_format_number():
    assert charts.format_number(1234567) == "1,234,567"
    assert charts.format_number(1234.56, 1) == "1,234.6"
    assert charts.format_number(-0.04, 1) == "0.0"
