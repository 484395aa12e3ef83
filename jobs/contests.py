"""The `contests` job: post standings, announce winners once, correct late changes, recognize.

Every message goes into the outbox under a unique key (``contest:{id}:won``,
``contest:{id}:standings:{date}:{hour}``, ``recognition:deal:{source}:{opp}``), and the
contest event that decided to send it is stored in the same transaction, so a restart, a rerun
or a second instance never announces anything twice. Jobs import no adapters: the stores come
through ``ContestUnit`` from app.py.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from contextlib import AbstractContextManager
from dataclasses import dataclass, field, fields
from datetime import date, datetime, timedelta
from typing import Protocol
from zoneinfo import ZoneInfo

from domain.calendar import WorkCalendar
from domain.contests import (
    Contest,
    Outcome,
    Standings,
    Status,
    decide,
    lead_changed,
    placement_lines,
    ready_to_close,
    standings,
)
from domain.ports import ContestStore, OutboundMessage, OutboxStore
from domain.recognition import (
    Recognition,
    big_deals,
    personal_best_week,
    streak_milestone,
    week_start,
)
from domain.timeutil import DateRange, local_day, zone
from jobs import contest_messages as msg

log = logging.getLogger(__name__)

BEST_WEEK_LOOKBACK_WEEKS = 26
STREAK_LOOKBACK_DAYS = 120


class ContestUnit(Protocol):
    """The stores one contests transaction works with (app.py builds them on one session)."""

    @property
    def contests(self) -> ContestStore:
        """Return contests, their events and the scoring reads."""
        ...

    @property
    def outbox(self) -> OutboxStore:
        """Return the delivery outbox."""
        ...


ContestUow = Callable[[], AbstractContextManager[ContestUnit]]


@dataclass(frozen=True, slots=True)
class RecognitionPolicy:
    """When to celebrate, and where; ``channel`` None switches recognition off."""

    channel: str | None = None
    deal_min_amount: float | None = 50_000.0
    deal_lookback_days: int = 7
    best_week_kpis: tuple[str, ...] = ("prospecting",)
    min_history_weeks: int = 4
    streak_kpi: str | None = "prospecting"
    streak_minimum: float = 20.0
    streak_milestones: tuple[int, ...] = (5, 10, 20, 50, 100)
    calendar: WorkCalendar = field(default_factory=WorkCalendar)


@dataclass(frozen=True, slots=True)
class ContestPolicy:
    """How often standings are posted and how long results stay open to correction."""

    timezone: str = "UTC"
    standings_hours: tuple[int, ...] = (9, 16)
    lead_change_min_minutes: int = 60
    final_sync_grace: timedelta = timedelta(hours=2)
    correction_days: int = 7
    recognition: RecognitionPolicy = RecognitionPolicy()


@dataclass(slots=True)
class ContestRunSummary:
    """What one run did."""

    launched: int = 0
    standings: int = 0
    lead_changes: int = 0
    won: int = 0
    corrections: int = 0
    canceled: int = 0
    recognitions: int = 0
    final_syncs: int = 0

    def line(self) -> str:
        """Return a one-line summary for logs and `pacesetter jobs run contests`."""
        parts = [f"{f.name.replace('_', ' ')} {getattr(self, f.name)}" for f in fields(self)]
        return "contests: " + ", ".join(parts)


def run_contests(
    uow: ContestUow,
    *,
    now: datetime,
    policy: ContestPolicy,
    final_sync: Callable[[], None] | None = None,
) -> ContestRunSummary:
    """Score every running contest, announce what is due, correct results, recognize people."""
    tz = zone(policy.timezone)
    summary = ContestRunSummary()
    with uow() as unit:
        active = unit.contests.contests(statuses=[Status.ACTIVE])
        as_of = unit.contests.data_as_of()
    if final_sync is not None and any(_needs_final_sync(c, now, tz, as_of) for c in active):
        final_sync()
        summary.final_syncs += 1
    for contest in active:
        with uow() as unit:
            _run_active(unit, contest, now=now, tz=tz, policy=policy, summary=summary)
    with uow() as unit:
        _run_finished(unit, now=now, tz=tz, policy=policy, summary=summary)
    with uow() as unit:
        summary.recognitions += _recognize(unit, now=now, tz=tz, policy=policy.recognition)
    return summary


def _needs_final_sync(
    contest: Contest, now: datetime, tz: ZoneInfo, as_of: datetime | None
) -> bool:
    close = contest.rules.closes_at(tz)
    return now >= close and (as_of is None or as_of < close)


def _send(unit: ContestUnit, now: datetime, key: str, channel: str, rendered: msg.Rendered) -> int:
    text, blocks = rendered
    return unit.outbox.enqueue([OutboundMessage(key, channel, text, blocks)], now=now)


def _daily(unit: ContestUnit, contest: Contest) -> Mapping[int, Mapping[date, float]]:
    rules = contest.rules
    ids = [p.id for p in contest.participants]
    return unit.contests.daily_values(ids, rules.window, kpi=rules.kpi)


def _run_active(
    unit: ContestUnit,
    contest: Contest,
    *,
    now: datetime,
    tz: ZoneInfo,
    policy: ContestPolicy,
    summary: ContestRunSummary,
) -> None:
    assert contest.id is not None
    store, rules = unit.contests, contest.rules
    prefix = f"contest:{contest.id}"
    if store.add_event(contest.id, key="announced", kind="announced", at=now, data={}):
        summary.launched += _send(
            unit, now, f"{prefix}:launched", rules.channel, msg.launched_message(contest, tz)
        )
    if now < rules.opens_at(tz):
        return
    daily = _daily(unit, contest)
    as_of = store.data_as_of()
    closed = ready_to_close(rules, now=now, tz=tz, data_as_of=as_of, grace=policy.final_sync_grace)
    outcome = decide(contest, daily, today=local_day(now, tz), closed=closed)
    if outcome is not None:
        _announce(unit, contest, outcome, now=now, tz=tz, as_of=as_of, summary=summary)
        return
    if now >= rules.closes_at(tz):
        return  # waiting for the final sync before judging
    table = standings(contest, daily, as_of_day=local_day(now, tz), data_as_of=as_of)
    _post_standings(unit, contest, table, now=now, tz=tz, policy=policy, summary=summary)


def _post_standings(
    unit: ContestUnit,
    contest: Contest,
    table: Standings,
    *,
    now: datetime,
    tz: ZoneInfo,
    policy: ContestPolicy,
    summary: ContestRunSummary,
) -> None:
    assert contest.id is not None
    store = unit.contests
    local = now.astimezone(tz)
    posted = store.events(contest.id, kind="standings")
    previous = frozenset(str(k) for k in _list(posted[-1].data.get("leaders"))) if posted else None
    leaders = table.leaders()
    scheduled = local.hour in policy.standings_hours
    changed = lead_changed(previous, leaders)
    rested = not posted or now - posted[-1].at >= timedelta(minutes=policy.lead_change_min_minutes)
    if not (scheduled or (changed and rested)):
        return
    key = f"standings:{local.date().isoformat()}:{local.hour:02d}"
    data: dict[str, object] = {"leaders": sorted(leaders), "lead_change": changed}
    if not store.add_event(contest.id, key=key, kind="standings", at=now, data=data):
        return
    rendered = msg.standings_message(
        contest, table, tz, lead_change=changed and previous is not None
    )
    _send(unit, now, f"contest:{contest.id}:{key}", contest.rules.channel, rendered)
    summary.standings += 1
    summary.lead_changes += int(changed)


def _list(value: object) -> list[object]:
    return list(value) if isinstance(value, list | tuple) else []


def _outcome_data(contest: Contest, outcome: Outcome, as_of: datetime | None) -> dict[str, object]:
    return {
        "signature": outcome.signature(),
        "lines": placement_lines(contest, outcome, mention=False),
        "winners": sorted({rep for p in outcome.placements for rep in p.rep_ids()}),
        "decided_on": outcome.decided_on.isoformat(),
        "data_as_of": as_of.isoformat() if as_of else None,
    }


def _announce(
    unit: ContestUnit,
    contest: Contest,
    outcome: Outcome,
    *,
    now: datetime,
    tz: ZoneInfo,
    as_of: datetime | None,
    summary: ContestRunSummary,
) -> None:
    assert contest.id is not None
    store = unit.contests
    store.set_status(contest.id, Status.FINISHED)
    data = _outcome_data(contest, outcome, as_of)
    if not store.add_event(contest.id, key="won", kind="won", at=now, data=data):
        return
    prefix = f"contest:{contest.id}:won"
    _send(unit, now, prefix, contest.rules.channel, msg.won_message(contest, outcome, as_of, tz))
    _dm_winners(unit, contest, outcome, now=now, prefix=prefix, only=None)
    summary.won += 1


def _dm_winners(
    unit: ContestUnit,
    contest: Contest,
    outcome: Outcome,
    *,
    now: datetime,
    prefix: str,
    only: set[int] | None,
) -> None:
    for placement in outcome.placements:
        for rep_id in placement.rep_ids():
            person = contest.person(rep_id)
            if (
                person is None
                or not person.slack_user_id
                or (only is not None and rep_id not in only)
            ):
                continue
            rendered = msg.winner_dm(contest, placement)
            _send(unit, now, f"{prefix}:dm:{rep_id}", person.slack_user_id, rendered)


def _run_finished(
    unit: ContestUnit,
    *,
    now: datetime,
    tz: ZoneInfo,
    policy: ContestPolicy,
    summary: ContestRunSummary,
) -> None:
    """Correct results changed by late CRM edits, and tell channels about cancellations."""
    store = unit.contests
    horizon = now - timedelta(days=policy.correction_days)
    for contest in store.contests(statuses=[Status.FINISHED, Status.CANCELED]):
        assert contest.id is not None
        if contest.status is Status.CANCELED:
            canceled = store.events(contest.id, kind="canceled")
            if canceled and canceled[-1].at >= horizon:
                key = f"contest:{contest.id}:canceled"
                summary.canceled += _send(
                    unit, now, key, contest.rules.channel, msg.canceled_message(contest)
                )
            continue
        won = store.events(contest.id, kind="won")
        if not won or won[0].at < horizon:
            continue
        _correct(unit, contest, won[0].data, now=now, tz=tz, summary=summary)


def _correct(
    unit: ContestUnit,
    contest: Contest,
    announced: Mapping[str, object],
    *,
    now: datetime,
    tz: ZoneInfo,
    summary: ContestRunSummary,
) -> None:
    assert contest.id is not None
    store = unit.contests
    corrections = store.events(contest.id, kind="correction")
    last = corrections[-1].data if corrections else announced
    outcome = decide(contest, _daily(unit, contest), today=local_day(now, tz), closed=True)
    if outcome is None or outcome.signature() == last.get("signature"):
        return
    as_of = store.data_as_of()
    n = len(corrections) + 1
    data = _outcome_data(contest, outcome, as_of)
    if not store.add_event(contest.id, key=f"correction:{n}", kind="correction", at=now, data=data):
        return
    prefix = f"contest:{contest.id}:correction:{n}"
    previous = [str(line) for line in _list(last.get("lines"))]
    rendered = msg.correction_message(contest, previous, outcome, as_of, tz)
    _send(unit, now, prefix, contest.rules.channel, rendered)
    before = {int(str(r)) for r in _list(last.get("winners"))}
    new = {rep for p in outcome.placements for rep in p.rep_ids()} - before
    _dm_winners(unit, contest, outcome, now=now, prefix=prefix, only=new)
    summary.corrections += 1
    log.warning("contest %s: result corrected after a late CRM change", contest.id)


def recognitions(
    store: ContestStore, *, now: datetime, tz: ZoneInfo, policy: RecognitionPolicy
) -> list[Recognition]:
    """Return everything worth celebrating now (the outbox keeps each to one post)."""
    today = local_day(now, tz)
    people = store.people()
    ids = [p.id for p in people]
    found: list[Recognition] = []
    if policy.deal_min_amount is not None:
        since = today - timedelta(days=policy.deal_lookback_days)
        deals = store.won_deals(since=since, min_amount=policy.deal_min_amount)
        found += big_deals(deals, min_amount=policy.deal_min_amount)
    if today.weekday() <= 1:  # Monday or Tuesday: the week just finished is final enough
        last_week = week_start(today) - timedelta(days=7)
        rng = DateRange(
            last_week - timedelta(weeks=BEST_WEEK_LOOKBACK_WEEKS), last_week + timedelta(days=6)
        )
        for kpi in policy.best_week_kpis:
            daily = store.daily_values(ids, rng, kpi=kpi)
            for p in people:
                hit = personal_best_week(
                    p.id,
                    kpi,
                    daily.get(p.id, {}),
                    week=last_week,
                    min_history_weeks=policy.min_history_weeks,
                    first_day=p.start_date,
                )
                found += [hit] if hit else []
    if policy.streak_kpi:
        days = policy.calendar.working_days(
            DateRange(today - timedelta(days=STREAK_LOOKBACK_DAYS), today - timedelta(days=1))
        )
        daily = (
            store.daily_values(ids, DateRange(days[0], days[-1]), kpi=policy.streak_kpi)
            if days
            else {}
        )
        for p in people:
            hit = streak_milestone(
                p.id,
                policy.streak_kpi,
                days,
                daily.get(p.id, {}),
                minimum=policy.streak_minimum,
                milestones=policy.streak_milestones,
            )
            found += [hit] if hit else []
    return found


def _recognize(unit: ContestUnit, *, now: datetime, tz: ZoneInfo, policy: RecognitionPolicy) -> int:
    if policy.channel is None:
        return 0
    people = {p.id: p for p in unit.contests.people()}
    sent = 0
    for item in recognitions(unit.contests, now=now, tz=tz, policy=policy):
        person = people.get(item.rep_id)
        if person is None:
            continue
        if person.public_opt_out:
            if person.slack_user_id:
                rendered = msg.recognition_message(item, person.name, public=False)
                sent += _send(unit, now, item.key, person.slack_user_id, rendered)
            continue
        rendered = msg.recognition_message(item, person.mention(), public=True)
        sent += _send(unit, now, item.key, policy.channel, rendered)
    return sent
