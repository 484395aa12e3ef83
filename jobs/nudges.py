"""The `nudges` job: queue today's nudge for every rep whose local nudge time has passed.

Planning is pure (domain.nudges); this module reads the targets, asks the content writer what
to say, renders it and inserts outbox rows keyed `nudge:{rep}:{local date}`. Rerunning it, or
running it on two instances, queues nothing new.
"""

from __future__ import annotations

from datetime import timedelta

from config import AppConfig
from domain.nudges import (
    NudgeMode,
    NudgePolicy,
    NudgeRecipient,
    QuietHours,
    WeekdayCalendar,
    parse_nudge_time,
    plan_nudges,
    welcome_key,
)
from domain.ports import NudgeTarget, OutboundMessage
from jobs.messages import nudge_message
from jobs.runner import JobContext

WEEKDAY_NUMBERS = {"mon": 0, "tue": 1, "wed": 2, "thu": 3, "fri": 4, "sat": 5, "sun": 6}
LOOKBACK = timedelta(days=3)
CHUNK = 200


def org_calendar(config: AppConfig) -> WeekdayCalendar:
    """Return the org's working weekdays and holidays from the config."""
    return WeekdayCalendar(
        weekdays=frozenset(WEEKDAY_NUMBERS[d] for d in config.org.working_days),
        holidays=frozenset(config.org.holidays),
    )


def nudge_policy(config: AppConfig) -> NudgePolicy:
    """Return the nudge rules in force from the config's `org` and `schedules` sections."""
    schedules = config.schedules
    return NudgePolicy(
        calendar=org_calendar(config),
        default_time=schedules.nudge_time,
        org_timezone=config.org.timezone,
        quiet=QuietHours(schedules.quiet_hours_start, schedules.quiet_hours_end),
    )


def recipient(target: NudgeTarget) -> NudgeRecipient:
    """Return the planning view of a nudge target."""
    return NudgeRecipient(
        rep_id=target.rep_id,
        timezone=target.timezone,
        nudge_time=parse_nudge_time(target.nudge_time),
        mode=NudgeMode.parse(target.nudge_mode),
        snoozed_until=target.snoozed_until,
        last_sent=target.last_sent,
    )


def run_nudges(context: JobContext) -> str:
    """Queue every nudge due now; return a summary line."""
    deps, now = context.deps, context.now
    policy = nudge_policy(deps.config)
    with deps.unit() as unit:
        targets = {t.rep_id: t for t in unit.store.nudge_targets(sent_since=now - LOOKBACK)}
    due = plan_nudges((recipient(t) for t in targets.values()), now=now, policy=policy)
    queued = welcomed = 0
    for start in range(0, len(due), CHUNK):
        chunk = due[start : start + CHUNK]
        with deps.unit() as unit:
            history = unit.store.has_history([d.rep_id for d in chunk])
            writer = deps.writer(unit)
            writer.prepare([d.rep_id for d in chunk if d.rep_id in history])
            messages = []
            for nudge in chunk:
                target = targets[nudge.rep_id]
                content = writer.nudge(target, nudge, now=now, has_history=nudge.rep_id in history)
                welcomed += content.welcome
                text, blocks = nudge_message(content)
                # A rep without data is welcomed once, ever, rather than shown zeros each day.
                key = welcome_key(nudge.rep_id) if content.welcome else nudge.key
                messages.append(
                    OutboundMessage(key=key, channel=target.slack_user_id, text=text, blocks=blocks)
                )
            queued += unit.outbox.enqueue(messages, now=now)
    return (
        f"{len(targets)} reps, {len(due)} due, {queued} queued "
        f"({welcomed} without data yet: welcomed once)"
    )
