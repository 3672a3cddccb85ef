"""The benchmark summary table computes ratios and verdicts from the figures it is given."""

import os

from bench.summary import Row, format_table, memory_row, peak_rss_mb


def test_higher_is_better_ratio_target() -> None:
    met = Row("inbox", 800.0, "/s", 8, baseline=100.0, baseline_name="fedify")
    missed = Row("inbox", 400.0, "/s", 8, baseline=100.0)
    assert met.ratio == 8.0 and met.met is True
    assert missed.ratio == 4.0 and missed.met is False


def test_lower_is_better_and_value_targets() -> None:
    fanout = Row("fanout", 39.0, "s", 3, better="lower", baseline=13.0)
    assert fanout.met is True  # 3.0 exactly meets "<= 3"
    assert Row("fanout", 40.0, "s", 3, better="lower", baseline=13.0).met is False
    memory = Row("rss", 512.0, "MB", 400, better="lower", on="value")
    assert memory.ratio is None and memory.met is False
    assert Row("rss", 120.0, "MB", 400, better="lower", on="value").met is True
    assert Row("x", 1.0, "s", 2, baseline=None).met is None


def test_table_rows_and_verdicts() -> None:
    rows = [
        Row("inbox accepted", 900.0, "/s", 8, baseline=100.0, baseline_name="fedify"),
        Row("fanout time", 26.0, "s", 3, better="lower", baseline=1.0),
        Row("rss server", 150.0, "MB", 400, better="lower", on="value"),
        Row("unmeasured", 1.0, "s", 2),
        Row("p99", 12.0, "ms", None),
    ]
    lines = format_table(rows).splitlines()
    assert lines[0].split() == ["benchmark", "ours", "baseline", "ratio", "target", "met"]
    assert set(lines[1]) <= {"-", " "}
    assert lines[2].startswith("inbox accepted") and lines[2].endswith("met")
    assert "NOT" not in lines[2] and "9.00" in lines[2] and "(fedify)" in lines[2]
    assert lines[3].endswith("NOT met") and "26.00" in lines[3] and "ratio <= 3" in lines[3]
    assert lines[4].endswith(" met") and "MB <= 400" in lines[4]
    assert lines[5].endswith("not measured")
    assert lines[6].endswith("(no target)") and Row("p99", 1.0, "ms", None).met is None
    assert lines[2].index("900") == lines[0].index("ours")  # columns align


def test_peak_rss_of_this_process() -> None:
    peak = peak_rss_mb(os.getpid())
    assert peak is not None and 1 < peak < 4000
    row = memory_row("pytest", os.getpid())
    assert row is not None and row.unit == "MB"
    assert peak_rss_mb(2**22 + 12345) is None
