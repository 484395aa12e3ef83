"""Coaching notes: templates with their prompts, who may read a note, and change since a note.

A note carries a frozen copy of the rep's scorecard; comparing it with today's scorecard is how
a follow-up shows whether the coaching moved the numbers.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time
from enum import StrEnum
from typing import Any

# The action id of the "Mark done" button on a follow-up DM and on the manager's App Home; the
# job that sends the DM and the bot that handles the click both name it from here.
FOLLOW_UP_DONE_ACTION = "followup_done"


class Role(StrEnum):
    """What a person may do: admins see everyone, managers their subtree, reps themselves."""

    REP = "rep"
    MANAGER = "manager"
    ADMIN = "admin"


@dataclass(frozen=True, slots=True)
class NoteTemplate:
    """A kind of coaching conversation and the prompts that structure its note."""

    key: str
    label: str
    prompts: tuple[str, ...]


TEMPLATES: tuple[NoteTemplate, ...] = (
    NoteTemplate(
        "one_on_one",
        "1:1",
        (
            "Wins since we last met",
            "Where the numbers say to focus",
            "What is getting in the way",
            "Commitments for next week",
        ),
    ),
    NoteTemplate(
        "deal_review",
        "Deal review",
        (
            "Deal, stage and amount",
            "Who is engaged (is a VP-level buyer involved?)",
            "Next step and its date",
            "Risks and how to retire them",
        ),
    ),
    NoteTemplate(
        "skill_practice",
        "Skill practice",
        (
            "Skill practised (e.g. opening a call, qualifying, closing)",
            "What went well",
            "What to try differently",
            "Practice plan until the follow-up",
        ),
    ),
    NoteTemplate(
        "performance_plan",
        "Performance plan",
        (
            "Expectation not met, with the numbers",
            "Target and date",
            "Support the manager provides",
            "Check-in cadence",
        ),
    ),
    NoteTemplate("blank", "Blank", ()),
)


class UnknownTemplate(ValueError):
    """A template key that does not exist; the message lists the valid ones."""


def template(key: str) -> NoteTemplate:
    """Return the template called ``key``."""
    for candidate in TEMPLATES:
        if candidate.key == key:
            return candidate
    valid = ", ".join(t.key for t in TEMPLATES)
    raise UnknownTemplate(f"Unknown note template '{key}'. Templates: {valid}.")


def compose_note(note_template: NoteTemplate, answers: Sequence[str], free_text: str = "") -> str:
    """Join a template's prompts and the manager's answers into the note's text.

    Prompts left empty are dropped; the text is kept exactly as typed (Slack markup included).
    """
    parts = [
        f"*{prompt}*\n{answer.strip()}"
        for prompt, answer in zip(note_template.prompts, answers, strict=False)
        if answer and answer.strip()
    ]
    if free_text.strip():
        parts.append(free_text.strip())
    return "\n\n".join(parts)


@dataclass(frozen=True, slots=True)
class Viewer:
    """Who is asking: their rep id and role."""

    rep_id: int
    role: Role


def can_coach(viewer: Viewer, target_id: int, target_managers: Sequence[int]) -> bool:
    """Say whether ``viewer`` may see ``target``'s coaching brief and notes.

    Admins may coach anyone; managers anyone below them in the hierarchy (``target_managers``
    is the target's manager chain, nearest first). Nobody coaches themselves through /coach.
    """
    if viewer.rep_id == target_id:
        return False
    return viewer.role is Role.ADMIN or viewer.rep_id in target_managers


def can_read_note(
    viewer: Viewer, *, rep_id: int, shared_with_rep: bool, rep_managers: Sequence[int]
) -> bool:
    """Say whether ``viewer`` may read a note about ``rep_id``.

    Private to the rep's manager chain and admins; the rep sees it only when it was shared.
    """
    if viewer.rep_id == rep_id:
        return shared_with_rep
    return viewer.role is Role.ADMIN or viewer.rep_id in rep_managers


@dataclass(frozen=True, slots=True)
class KpiChange:
    """One KPI's value when the note was written against its value now."""

    kpi: str
    then: float
    now: float
    then_percent: float | None
    now_percent: float | None
    then_status: str | None = None
    now_status: str | None = None

    @property
    def delta(self) -> float:
        """Return the change in the KPI's value."""
        return self.now - self.then


def scorecard_change(then: Mapping[str, Any], now: Mapping[str, Any]) -> list[KpiChange]:
    """Compare two scorecards in the `stats --json` shape KPI by KPI (KPIs present in both)."""
    before = then.get("kpis", {})
    after = now.get("kpis", {})
    changes = []
    for kpi, old in before.items():
        new = after.get(kpi)
        if not isinstance(old, Mapping) or not isinstance(new, Mapping):
            continue
        changes.append(
            KpiChange(
                kpi=kpi,
                then=float(old.get("actual") or 0),
                now=float(new.get("actual") or 0),
                then_percent=_percent(old),
                now_percent=_percent(new),
                then_status=_status(old),
                now_status=_status(new),
            )
        )
    return changes


def _status(kpi: Mapping[str, Any]) -> str | None:
    status = kpi.get("status")
    return str(status) if status else None


def _percent(kpi: Mapping[str, Any]) -> float | None:
    if kpi.get("percent_of_goal") is not None:
        return float(kpi["percent_of_goal"])
    goal = kpi.get("goal")
    if not goal:
        return None
    return 100.0 * float(kpi.get("actual") or 0) / float(goal)


@dataclass(frozen=True, slots=True)
class NoteView:
    """A note as shown or exported: plain values, no storage types."""

    id: int
    created_at: str
    manager: str
    rep: str
    template: str
    text: str
    actions: str
    follow_up_on: date | None
    done: bool
    shared_with_rep: bool
    scorecard: Mapping[str, Any] | None
    rep_name: str = ""
    manager_name: str = ""
    done_at: str | None = None

    def template_label(self) -> str:
        """Return the template's label (the key itself for a template no longer offered)."""
        return next((t.label for t in TEMPLATES if t.key == self.template), self.template)

    def overdue(self, today: date) -> bool:
        """Say whether the follow-up is open and its date has passed."""
        return not self.done and self.follow_up_on is not None and self.follow_up_on < today

    def export_row(self) -> dict[str, Any]:
        """Return the note as a flat row for CSV (the scorecard as compact KPI=value pairs)."""
        kpis = (self.scorecard or {}).get("kpis", {})
        summary = "; ".join(
            f"{name}={value.get('actual')}" + (f"/{value['goal']}" if value.get("goal") else "")
            for name, value in kpis.items()
            if isinstance(value, Mapping)
        )
        return {
            "id": self.id,
            "created_at": self.created_at,
            "manager": self.manager,
            "rep": self.rep,
            "template": self.template,
            "text": self.text,
            "actions": self.actions,
            "follow_up_on": self.follow_up_on.isoformat() if self.follow_up_on else "",
            "done": self.done,
            "done_at": self.done_at or "",
            "shared_with_rep": self.shared_with_rep,
            "scorecard": summary,
        }


@dataclass(frozen=True, slots=True)
class NoteDraft:
    """A note as the manager filled it in, before it is stored with the frozen scorecard.

    ``submission_key`` names the form it came from (Slack's view id): a resend or a double
    submit of the same form stores one note, not two.
    """

    rep_id: int
    template: str
    text: str
    actions: str = ""
    follow_up_on: date | None = None
    shared_with_rep: bool = False
    submission_key: str | None = None


@dataclass(frozen=True, slots=True)
class SavedNote:
    """The id of the stored note and whether this call created it (False: already there)."""

    id: int
    created: bool


def follow_up_key(note_id: int, due: date) -> str:
    """Return the outbox key of a note's follow-up DM: one per note and due date, ever."""
    return f"followup:{note_id}:{due.isoformat()}"


def follow_up_is_due(due: date, local_now: datetime, morning: time) -> bool:
    """Say whether a follow-up's DM should go now: its date has come and it is morning or later.

    ``local_now`` is the manager's wall-clock time; a date already past is due at once, so a
    DM missed while the bot was down still goes out.
    """
    today = local_now.date()
    if today > due:
        return True
    return today == due and local_now.time() >= morning


def change_line(change: KpiChange, label: str) -> str:
    """Describe one KPI's change since the note in words: then -> now, with percent of goal."""

    def value(actual: float, percent: float | None) -> str:
        shown = f"{actual:,.0f}" if actual == int(actual) else f"{actual:,.1f}"
        return shown + (f" ({percent:.0f}% of goal)" if percent is not None else "")

    delta = change.delta
    arrow = "▲" if delta > 0 else "▼" if delta < 0 else "="
    pace = ""
    if change.then_status and change.now_status and change.then_status != change.now_status:
        pace = f", pace {STATUS_WORDS.get(change.then_status, change.then_status)} → "
        pace += STATUS_WORDS.get(change.now_status, change.now_status)
    return (
        f"{label}: {value(change.then, change.then_percent)} → "
        f"{value(change.now, change.now_percent)} {arrow}{pace}"
    )


STATUS_WORDS = {"ahead": "ahead", "on_track": "on track", "behind": "behind", "no_goal": "no goal"}


SLACK_TEXT_LIMIT = 3000


def escape_mrkdwn(text: str) -> str:
    """Escape the three characters Slack's mrkdwn reserves, so typed text shows as typed.

    Formatting the manager typed (``*bold*``, ``_italic_``, ``>`` quotes at a line start are
    escaped too, but bold and italic still render) is kept; ``<@U1>`` shows as typed rather
    than pinging someone.
    """
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def text_pieces(text: str, limit: int = SLACK_TEXT_LIMIT) -> list[str]:
    """Split ``text`` into pieces of at most ``limit`` characters, at line or word breaks.

    Joining the pieces gives ``text`` back exactly, so a long note is shown whole across
    several blocks (a Slack text object holds at most 3,000 characters).
    """
    pieces: list[str] = []
    rest = text
    while len(rest) > limit:
        cut = rest.rfind("\n", limit // 2, limit)
        if cut < 0:
            cut = rest.rfind(" ", limit // 2, limit)
        cut = limit if cut < 0 else cut + 1
        while _inside_entity(rest, cut):
            cut -= 1
        pieces.append(rest[:cut])
        rest = rest[cut:]
    if rest or not pieces:
        pieces.append(rest)
    return pieces


def _inside_entity(text: str, cut: int) -> bool:
    """Say whether ``cut`` falls inside an &amp;-style entity (never split one)."""
    start = text.rfind("&", max(0, cut - 5), cut)
    return start >= 0 and ";" not in text[start:cut] and ";" in text[cut : start + 6]
