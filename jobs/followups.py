"""The `followups` job: DM each manager, on a note's follow-up date, the note and what changed.

On the due date, at the manager's local morning (the org's nudge time), the manager gets the
note, the agreed actions, and the rep's scorecard then (frozen in the note) against today's,
with a "Mark done" button. The DM goes through the outbox under ``followup:{note}:{date}``
and the note records the date it was reminded for in the same transaction, so a rerun, a
restart or a second instance never sends it twice.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from contextlib import AbstractContextManager
from datetime import datetime, timedelta
from typing import Any, Protocol

from slack_sdk.models.blocks import (
    ActionsBlock,
    Block,
    ButtonElement,
    HeaderBlock,
    MarkdownTextObject,
    SectionBlock,
)

from domain.coaching import (
    FOLLOW_UP_DONE_ACTION,
    change_line,
    escape_mrkdwn,
    follow_up_is_due,
    follow_up_key,
    scorecard_change,
    text_pieces,
)
from domain.ports import FollowUpDue, FollowUpStore, OutboundMessage, OutboxStore, RepProfile
from domain.timeutil import zone
from jobs.runner import JobContext

Rendered = tuple[str, list[dict[str, object]]]
# How far a local date runs ahead of UTC: a follow-up may be due somewhere that much sooner.
AHEAD_OF_UTC = timedelta(hours=14)
MAX_NOTE_BLOCKS = 12


class FollowUpUnit(Protocol):
    """The stores of one `followups` transaction (app.py builds them on one session)."""

    @property
    def notes(self) -> FollowUpStore:
        """Return the follow-ups to remind and their reminder records."""
        ...

    @property
    def outbox(self) -> OutboxStore:
        """Return the delivery outbox."""
        ...

    def scorecard(self, rep: RepProfile, now: datetime) -> Mapping[str, Any]:
        """Return the rep's live week scorecard in the `stats --json` shape."""
        ...

    def kpi_label(self, kpi: str) -> str:
        """Return a KPI's display label."""
        ...


FollowUpUow = Callable[[], AbstractContextManager[FollowUpUnit]]


def run_follow_ups(context: JobContext) -> str:
    """Queue the follow-up DMs due now; return a summary line."""
    deps, now = context.deps, context.now
    if deps.follow_ups is None:
        return "no coaching store configured"
    org_tz = deps.config.org.timezone
    morning = deps.config.schedules.nudge_time
    queued = waiting = 0
    with deps.follow_ups() as unit:
        candidates = unit.notes.follow_ups_to_remind(until=(now + AHEAD_OF_UTC).date())
        for due in candidates:
            assert due.note.follow_up_on is not None
            local_now = now.astimezone(zone(due.manager_timezone, org_tz))
            if not follow_up_is_due(due.note.follow_up_on, local_now, morning):
                waiting += 1
                continue
            text, blocks = follow_up_message(due, unit.scorecard(due.rep, now), unit.kpi_label)
            message = OutboundMessage(
                key=follow_up_key(due.note.id, due.note.follow_up_on),
                channel=due.manager_slack_id,
                text=text,
                blocks=blocks,
            )
            queued += unit.outbox.enqueue([message], now=now)
            unit.notes.mark_reminded(due.note.id, due.note.follow_up_on)
    return f"{queued} follow-up DMs queued, {waiting} due later today in their managers' zones"


def follow_up_message(
    due: FollowUpDue, today: Mapping[str, Any], label: Callable[[str], str]
) -> Rendered:
    """Render the follow-up DM: the note, the actions, the change since, and "Mark done"."""
    note = due.note
    written = note.created_at[:10]
    title = f"Follow-up: {note.rep_name or note.rep}"
    due_on = note.follow_up_on
    intro = (
        f"Your follow-up with *{escape_mrkdwn(note.rep_name)}* is due {due_on:%A %d %b}"
        if due_on
        else f"Your follow-up with *{escape_mrkdwn(note.rep_name)}*"
    ) + f". Your {note.template_label()} note from {written}:"
    blocks: list[Block] = [HeaderBlock(text=title[:150]), _section(intro)]
    pieces = text_pieces(escape_mrkdwn(note.text))
    blocks += [_section(piece) for piece in pieces[:MAX_NOTE_BLOCKS]]
    if note.actions:
        actions = text_pieces(escape_mrkdwn(note.actions), 2900)
        blocks.append(_section("*Agreed actions*\n" + actions[0]))
        blocks += [_section(piece) for piece in actions[1:MAX_NOTE_BLOCKS]]
    changes = scorecard_change(note.scorecard or {}, today)
    lines = [change_line(c, label(c.kpi)) for c in changes]
    change_text = (
        "*Since the note* (week to date then → now)\n" + "\n".join(f"• {line}" for line in lines)
        if lines
        else "_No scorecard was attached to this note, so there is nothing to compare._"
    )
    blocks.append(_section(change_text[:2900]))
    blocks.append(
        ActionsBlock(
            block_id=f"followup_{note.id}",
            elements=[
                ButtonElement(
                    text="Mark done",
                    action_id=FOLLOW_UP_DONE_ACTION,
                    value=str(note.id),
                    style="primary",
                )
            ],
        )
    )
    fallback = f"{title}: {escape_mrkdwn(note.text[:300])}" + (
        "; " + "; ".join(lines) if lines else ""
    )
    return fallback, [b.to_dict() for b in blocks[:50]]


def _section(text: str) -> SectionBlock:
    return SectionBlock(text=MarkdownTextObject(text=text))
