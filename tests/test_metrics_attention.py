"""Targets, comparisons and findings: table-driven on hand-made figures, and on the demo practice."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from workbench.errors import UsageError
from workbench.metrics import DEFAULT_TARGETS, aging_context, production_context, recall_context, with_targets
from workbench.metrics.attention import Change, assess, build_context, compare, findings
from workbench.notebook import attention
from workbench.periods import last_months

from .conftest import frames

PCT = {"ar_over_90_pct": ("lower", "%")}


@pytest.mark.parametrize(
    ("figures", "before", "expected"),
    [
        # a target missed comes first, with its number and the target
        (
            {"ar_over_90_pct": 32.4, "collection_pct": 99.0},
            None,
            ["A/R over 90 days is 32.4 %, against a target of at most 15.0 %."],
        ),
        # the further from target first
        (
            {"ar_over_90_pct": 16.0, "collection_pct": 80.0},
            None,
            [
                "Collection rate is 80.0 %, against a target of at least 98.0 %.",
                "A/R over 90 days is 16.0 %, against a target of at most 15.0 %.",
            ],
        ),
        # a figure that moved the wrong way, with both numbers
        (
            {"ar_over_90_pct": 12.0},
            {"ar_over_90_pct": 8.0},
            ["Over 90 moved from 8.0 % to 12.0 % since last month (up 4.0 points)."],
        ),
        # all good: says so, with the figures
        ({"ar_over_90_pct": 9.0}, {"ar_over_90_pct": 11.0}, ["Every target is met (a/r over 90 days 9.0 %)."]),
        # nothing to go on
        ({}, None, ["Nothing stands out."]),
    ],
    ids=["missed", "furthest-first", "moved-wrong-way", "all-met", "nothing"],
)
def test_findings(figures: dict, before: dict | None, expected: list[str]) -> None:
    changes = compare(figures, before, "last month", PCT)
    got = findings(assess(figures, DEFAULT_TARGETS), [("Over 90", c) for c in changes.values()])
    assert got == expected


def test_changes_say_direction_and_whether_it_is_good() -> None:
    better = Change(now=9.0, before=12.0, against="last month", better="lower", unit="%")
    worse = Change(now=1200.0, before=1500.0, against="a year earlier", better="higher", unit="$")
    same = Change(now=50.02, before=50.0, against="last month", better="higher", unit="%")
    assert (better.good, better.says()) == (True, "▼ 3.0 points vs last month")
    assert (worse.good, worse.says()) == (False, "▼ $300 vs a year earlier")
    assert (same.good, same.says()) == (None, "same as last month")
    months = Change(now=2.7, before=2.66, against="a year earlier", better="lower", unit="months")
    assert (months.good, months.says()) == (None, "same as a year earlier")  # 2.7 and 2.7 as shown
    months = Change(now=2.7, before=1.9, against="last month", better="lower", unit="months")
    assert (months.good, months.says()) == (False, "▲ 0.8 months vs last month")
    assert compare({"x": 1.0}, None, "last month", {"x": ("higher", "$")}) == {}  # the data does not reach back
    assert compare({"x": float("nan")}, {"x": 1.0}, "last month", {"x": ("higher", "$")}) == {}


def test_practice_targets_replace_the_defaults_and_bad_ones_are_errors() -> None:
    targets = with_targets({"ar_over_90_pct": 10})
    assert targets["ar_over_90_pct"].goal == 10 and targets["collection_pct"].goal == 98.0
    assert not targets["ar_over_90_pct"].met(12.0) and DEFAULT_TARGETS["ar_over_90_pct"].met(12.0)
    with pytest.raises(UsageError, match="no target for 'happiness'"):
        with_targets({"happiness": 100})
    with pytest.raises(UsageError, match="must be a number"):
        with_targets({"collection_pct": "lots"})


def test_targets_in_the_practices_file(tmp_path: Path, demo_url: str) -> None:
    from workbench.practices import load_practices

    file = tmp_path / "practices.toml"
    file.write_text(f'[[practice]]\nname = "maple"\nsource = "{demo_url}"\ntargets = {{ ar_over_90_pct = 12 }}\n')
    assert load_practices(file)[0].targets == {"ar_over_90_pct": 12.0}
    file.write_text(f'[[practice]]\nname = "maple"\nsource = "{demo_url}"\ntargets = {{ smiles = 12 }}\n')
    with pytest.raises(UsageError, match=r"practice #1 \(maple\): no target for 'smiles'"):
        load_practices(file)


def test_the_demo_context_compares_with_last_month_and_a_year_earlier(demo_frames: dict) -> None:
    from workbench import metrics

    context = aging_context(demo_frames, "2026-10-31")
    earlier = metrics.aging_summary(metrics.aging(demo_frames, "2026-09-30"))
    year_ago = metrics.aging_summary(metrics.aging(demo_frames, "2025-10-31"))
    month, year = context.changes["ar_total"]
    assert (month.before, year.before) == (earlier["total"], year_ago["total"])
    assert context.figures["ar_total"] == metrics.aging_summary(metrics.aging(demo_frames, "2026-10-31"))["total"]
    assert context.findings and len(context.findings) <= 5
    # the demo starts November 2024: a year before its first months there is nothing to compare with
    early = production_context(demo_frames, date(2024, 11, 1), date(2025, 3, 31))
    assert early.changes == {}
    recall = recall_context(demo_frames, "2026-10-31")
    assert "hygiene_reappointment_pct" in recall.figures and "hygiene_reappointment_pct" in recall.assessments


@pytest.mark.parametrize(
    ("as_of", "first"),
    [
        ("2026-10-31", "2026-08-01"),  # a month end: three whole months
        ("2026-11-30", "2026-09-01"),
        ("2026-02-28", "2025-12-01"),
        ("2026-12-01", "2026-09-02"),  # a month's first day: not two months and a day
        ("2026-03-30", "2025-12-31"),
    ],
)
def test_a_r_in_months_divides_by_three_months_of_net_production(as_of: str, first: str) -> None:
    window = last_months(date.fromisoformat(as_of), 3)
    assert (window.start.isoformat(), window.end.isoformat()) == (first, as_of)


@pytest.mark.parametrize(("over_90", "clear"), [(9.0, True), (32.4, False)])
def test_the_attention_box_is_calm_only_when_nothing_is_amiss(over_90: float, clear: bool) -> None:
    context = build_context(frames(), {"ar_over_90_pct": over_90}, [], DEFAULT_TARGETS)
    assert context.clear is clear
    assert context.findings[0].startswith("Every target is met") is clear
    box = attention(context).markup
    assert ('class="wb-attention wb-clear"' in box) is clear and "What needs attention" in box
    assert 'class="wb-attention"' in attention(["A line given as it is."]).markup  # lines alone: the usual colours
