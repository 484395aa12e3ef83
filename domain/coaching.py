"""Coaching notes: templates with their prompts, who may read a note, and change since a note.

A note carries a frozen copy of the rep's scorecard; comparing it with today's scorecard is how
a follow-up shows whether the coaching moved the numbers.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from enum import StrEnum
from typing import Any


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
            )
        )
    return changes


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
            "shared_with_rep": self.shared_with_rep,
            "scorecard": summary,
        }
