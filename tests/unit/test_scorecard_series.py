"""The scorecard's one daily read: the window it spans and the sums added up from it."""

from __future__ import annotations

from datetime import date, timedelta

from domain.scorecard import SeriesSums, slice_series, span
from domain.timeutil import DateRange

D = date(2026, 11, 16)
SERIES = {
    "prospecting": {D: 40.0, D + timedelta(1): 35.0, D - timedelta(30): 12.0},
    "wins": {D - timedelta(30): 1.0},
    "conversations": {D + timedelta(1): 0.0},  # a zero row is a row
}


def test_span_holds_every_range_and_nothing_beyond() -> None:
    ranges = [DateRange(D, D), DateRange(D - timedelta(92), D), DateRange(D, D + timedelta(6))]
    assert span(ranges) == DateRange(D - timedelta(92), D + timedelta(6))
    assert span([DateRange(D, D)]) == DateRange(D, D)


def test_series_sums_keep_only_kpis_with_a_value_in_range() -> None:
    week = DateRange(D, D + timedelta(6))
    assert SeriesSums(SERIES).over(week) == {"prospecting": 75.0, "conversations": 0.0}
    assert SeriesSums(SERIES).over(DateRange(D - timedelta(30), D)) == {
        "prospecting": 52.0,
        "wins": 1.0,
    }
    assert SeriesSums(SERIES).over(DateRange(D + timedelta(2), D + timedelta(5))) == {}
    assert SeriesSums({}).over(week) == {}


def test_series_sums_add_in_date_order_whatever_order_the_rows_came_in() -> None:
    amounts = {D - timedelta(n): v for n, v in enumerate([1234.56, 0.1, 0.2, 999.99, 17.35])}
    shuffled = dict(sorted(amounts.items(), key=lambda kv: kv[1]))
    in_order = 0.0
    for day in sorted(amounts):
        in_order += amounts[day]
    rng = DateRange(D - timedelta(10), D)
    assert SeriesSums({"won_amount": shuffled}).over(rng)["won_amount"] == in_order
    assert SeriesSums({"won_amount": amounts}).over(rng)["won_amount"] == in_order


def test_slice_series_keeps_the_days_of_the_range() -> None:
    assert slice_series(SERIES, DateRange(D, D)) == {"prospecting": {D: 40.0}}
