"""Contest rules: participants, scoring, standings, ties, lead changes, win detection."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from domain.contests import (
    Contest,
    ContestError,
    ContestRules,
    Participant,
    ParticipantSpec,
    Rule,
    Scoring,
    baseline,
    decide,
    improvement_denominators,
    lead_changed,
    prize_for,
    ready_to_close,
    resolve_participants,
    standings,
    standings_lines,
)

MON = date(2026, 11, 16)
ANA = Participant(1, "Ana", "ana@x.com", team="East", slack_user_id="UANA")
BO = Participant(2, "Bo", "bo@x.com", team="East", slack_user_id="UBO")
CY = Participant(3, "Cy", "cy@x.com", team="West")
DEE = Participant(4, "Dee", "dee@x.com", team="West", start_date=MON - timedelta(days=3))
PEOPLE = (ANA, BO, CY, DEE)


def rules(**kw: object) -> ContestRules:
    base: dict[str, object] = {
        "name": "Dial-a-thon",
        "kpi": "prospecting",
        "rule": Rule.MOST,
        "start": MON,
        "end": MON + timedelta(days=4),
        "channel": "#sales",
    }
    base.update(kw)
    return ContestRules(**base)  # type: ignore[arg-type]


def series(*values: float, start: date = MON) -> dict[date, float]:
    return {start + timedelta(days=n): v for n, v in enumerate(values)}


def test_participants_parse_and_resolve() -> None:
    assert ParticipantSpec.parse("all") == ParticipantSpec()
    assert ParticipantSpec.parse("team:East").team == "East"
    spec = ParticipantSpec.parse("ana@x.com, CY@x.com")
    assert spec.emails == ("ana@x.com", "cy@x.com")
    assert resolve_participants(spec, PEOPLE) == (ANA, CY)
    assert resolve_participants(ParticipantSpec.parse("team:west"), PEOPLE) == (CY, DEE)
    with pytest.raises(ContestError, match=r"nobody@x\.com"):
        resolve_participants(ParticipantSpec.parse("nobody@x.com"), PEOPLE)
    with pytest.raises(ContestError, match="Teams: East, West"):
        resolve_participants(ParticipantSpec.parse("team:North"), PEOPLE)
    with pytest.raises(ContestError):
        ParticipantSpec.parse("not-an-email")


def test_rules_validate_and_window_is_org_days() -> None:
    with pytest.raises(ContestError, match="target"):
        rules(rule=Rule.FIRST_TO)
    with pytest.raises(ContestError, match="before it starts"):
        rules(end=MON - timedelta(days=1))
    tz = ZoneInfo("America/New_York")
    r = rules()
    assert r.opens_at(tz) == datetime(2026, 11, 16, 5, 0, tzinfo=UTC)
    assert r.closes_at(tz) == datetime(2026, 11, 21, 5, 0, tzinfo=UTC)
    assert "Most prospecting" in r.describe()


def test_most_standings_competition_ranking_and_gaps() -> None:
    contest = Contest(rules(), PEOPLE)
    daily = {1: series(5, 5), 2: series(10), 3: series(4), 4: series(1)}
    table = standings(contest, daily, as_of_day=MON + timedelta(days=1), data_as_of=None)
    assert [(e.competitor.label, e.rank, e.score) for e in table.entries] == [
        ("Ana", 1, 10),
        ("Bo", 1, 10),
        ("Cy", 3, 4),
        ("Dee", 4, 1),
    ]
    assert table.entries[0].lead == 6 and table.entries[0].gap_above is None
    assert table.entries[2].gap_above == 6 and table.entries[3].gap_above == 3
    assert table.leaders() == {"rep:1", "rep:2"}
    lines = standings_lines(contest, table)
    assert lines[2] == "3. Cy: *4* (6 behind the next place)"


def test_values_outside_the_window_or_after_as_of_do_not_count() -> None:
    contest = Contest(rules(), (ANA,))
    daily = {1: {MON - timedelta(days=1): 50.0, MON: 2.0, MON + timedelta(days=2): 7.0}}
    table = standings(contest, daily, as_of_day=MON + timedelta(days=1), data_as_of=None)
    assert table.entries[0].score == 2


def test_most_is_decided_only_at_close_with_shared_place_and_split_prize() -> None:
    contest = Contest(rules(prizes=("$500", "$200", "$100")), PEOPLE)
    daily = {1: series(6), 2: series(6), 3: series(3), 4: series(1)}
    assert decide(contest, daily, today=MON + timedelta(days=4), closed=False) is None
    outcome = decide(contest, daily, today=MON + timedelta(days=5), closed=True)
    assert outcome is not None
    first, third = outcome.placements
    assert [c.label for c in first.competitors] == ["Ana", "Bo"]
    assert first.prize == "$500 + $200, split equally 2 ways"
    assert third.place == 3 and third.prize == "$100"


def test_first_to_wins_mid_window_earlier_day_then_higher_total() -> None:
    contest = Contest(rules(rule=Rule.FIRST_TO, target=10, prizes=("Lunch",)), PEOPLE)
    daily = {1: series(4, 4, 4), 2: series(2, 9), 3: series(0, 12)}
    assert decide(contest, daily, today=MON, closed=False) is None
    outcome = decide(contest, daily, today=MON + timedelta(days=2), closed=False)
    assert outcome is not None
    (place,) = outcome.placements
    # Bo and Cy both reach 10 on Tuesday; Cy has the higher total that day.
    assert [c.label for c in place.competitors] == ["Cy"]
    assert place.reached_on == MON + timedelta(days=1)
    assert outcome.decided_on == MON + timedelta(days=1)


def test_first_to_exact_tie_shares_first_place() -> None:
    contest = Contest(rules(rule=Rule.FIRST_TO, target=5, prizes=("$100",)), (ANA, BO))
    outcome = decide(contest, {1: series(5), 2: series(5)}, today=MON, closed=False)
    assert outcome is not None
    assert outcome.placements[0].prize == "$100, split equally 2 ways"
    assert outcome.signature() == [["rep:1", "rep:2"]]


def test_first_to_nobody_reached_by_close() -> None:
    contest = Contest(rules(rule=Rule.FIRST_TO, target=50), (ANA,))
    assert decide(contest, {1: series(3)}, today=MON + timedelta(days=2), closed=False) is None
    outcome = decide(contest, {1: series(3)}, today=MON + timedelta(days=5), closed=True)
    assert outcome is not None and outcome.placements == ()


def test_threshold_everyone_who_reached_wins() -> None:
    contest = Contest(rules(rule=Rule.THRESHOLD, target=8, prizes=("Swag",)), PEOPLE)
    daily = {1: series(8), 2: series(3, 3, 3), 3: series(7)}
    outcome = decide(contest, daily, today=MON + timedelta(days=5), closed=True)
    assert outcome is not None
    assert [p.competitors[0].label for p in outcome.placements] == ["Ana", "Bo"]
    assert all(p.prize == "Swag" for p in outcome.placements)


def test_team_contest_sums_members() -> None:
    contest = Contest(rules(team_contest=True), PEOPLE)
    daily = {1: series(3), 2: series(3), 3: series(5), 4: series(2)}
    table = standings(contest, daily, as_of_day=MON, data_as_of=None)
    assert [(e.competitor.label, e.score) for e in table.entries] == [("West", 7), ("East", 6)]
    outcome = decide(contest, daily, today=MON + timedelta(days=5), closed=True)
    assert outcome is not None and outcome.placements[0].rep_ids() == (3, 4)


def test_percent_of_goal_lets_a_smaller_goal_win_and_ranks_only_people_with_goals() -> None:
    contest = Contest(rules(scoring=Scoring.PERCENT), PEOPLE, denominators={1: 100, 2: 20, 3: 50})
    daily = {1: series(60), 2: series(18), 3: series(10), 4: series(99)}
    table = standings(contest, daily, as_of_day=MON, data_as_of=None)
    assert [(e.competitor.label, round(e.score)) for e in table.entries] == [
        ("Bo", 90),
        ("Ana", 60),
        ("Cy", 20),
    ]
    assert [c.label for c in table.unranked] == ["Dee"]
    assert "Not ranked" in standings_lines(contest, table)[-1]


def test_improvement_baseline_skips_windows_before_start_and_new_hires_get_the_median() -> None:
    r = rules(scoring=Scoring.IMPROVEMENT, baseline_windows=2)  # 5-day windows
    earlier = MON - timedelta(days=10)
    history = {1: series(*([2] * 10), start=earlier), 3: series(*([4] * 10), start=earlier)}
    assert baseline(ANA, history[1], r) == 10
    assert baseline(DEE, {}, r) is None  # started 3 days ago: no full window
    dens = improvement_denominators(PEOPLE, history, r)
    assert dens[1] == 10 and dens[3] == 20
    assert dens[2] == 15 and dens[4] == 15  # no history: the median of known baselines
    contest = Contest(r, PEOPLE, dens)
    table = standings(
        contest, {1: series(15), 3: series(20), 4: series(18)}, as_of_day=MON, data_as_of=None
    )
    assert table.entries[0].competitor.label == "Ana" and round(table.entries[0].score) == 150


def test_lead_change_rules() -> None:
    assert lead_changed(None, frozenset({"rep:1"}))
    assert not lead_changed(frozenset({"rep:1"}), frozenset({"rep:1"}))
    assert lead_changed(frozenset({"rep:1"}), frozenset({"rep:1", "rep:2"}))
    assert not lead_changed(frozenset({"rep:1"}), frozenset())


def test_ready_to_close_waits_for_a_sync_after_close_or_the_grace() -> None:
    tz = ZoneInfo("UTC")
    r = rules()
    close = r.closes_at(tz)
    grace = timedelta(hours=2)
    assert not ready_to_close(
        r, now=close - timedelta(minutes=1), tz=tz, data_as_of=close, grace=grace
    )
    assert not ready_to_close(
        r,
        now=close + timedelta(minutes=5),
        tz=tz,
        data_as_of=close - timedelta(hours=1),
        grace=grace,
    )
    assert ready_to_close(
        r,
        now=close + timedelta(minutes=5),
        tz=tz,
        data_as_of=close + timedelta(minutes=1),
        grace=grace,
    )
    assert ready_to_close(r, now=close + grace, tz=tz, data_as_of=None, grace=grace)


def test_prize_for_tiers() -> None:
    assert prize_for(1, 1, ("A", "B")) == "A"
    assert prize_for(2, 2, ("A", "B")) == "B, split equally 2 ways"
    assert prize_for(3, 1, ("A", "B")) is None


@given(st.lists(st.integers(min_value=0, max_value=20), min_size=1, max_size=12))
def test_ranking_properties(values: list[int]) -> None:
    people = tuple(Participant(i + 1, f"P{i:02d}", f"p{i}@x.com") for i in range(len(values)))
    contest = Contest(rules(), people)
    daily = {p.id: {MON: float(v)} for p, v in zip(people, values, strict=True)}
    table = standings(contest, daily, as_of_day=MON, data_as_of=None)
    scores = [e.score for e in table.entries]
    assert scores == sorted(values, reverse=True)
    for e in table.entries:
        # Competition ranking: one plus how many scored strictly more.
        assert e.rank == 1 + sum(1 for v in values if v > e.score)
        if e.gap_above is not None:
            assert e.gap_above == min(v for v in values if v > e.score) - e.score
    assert table.leaders() == (
        {f"rep:{p.id}" for p, v in zip(people, values, strict=True) if v == max(values)}
        if max(values) > 0
        else set()
    )


@given(
    st.lists(st.lists(st.integers(0, 6), min_size=5, max_size=5), min_size=1, max_size=6),
    st.integers(1, 20),
)
def test_first_to_winner_reached_target_no_later_than_anyone(
    days: list[list[int]], target: int
) -> None:
    people = tuple(Participant(i + 1, f"P{i}", f"p{i}@x.com") for i in range(len(days)))
    contest = Contest(rules(rule=Rule.FIRST_TO, target=target), people)
    daily = {p.id: series(*map(float, d)) for p, d in zip(people, days, strict=True)}
    outcome = decide(contest, daily, today=MON + timedelta(days=4), closed=True)
    assert outcome is not None

    def reach(d: list[int]) -> int | None:
        total = 0
        for n, v in enumerate(d):
            total += v
            if total >= target:
                return n
        return None

    reached = [r for d in days if (r := reach(d)) is not None]
    if not reached:
        assert outcome.placements == ()
    else:
        winners = outcome.placements[0].competitors
        for w in winners:
            assert reach(days[int(w.key.split(":")[1]) - 1]) == min(reached)
