"""Coaching notes in storage: writing, reading what a viewer may see, follow-ups due."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import select
from sqlmodel import Session, col

from domain.coaching import NoteView, Viewer, can_read_note
from storage.models import CoachingNote, Rep


def manager_chain(session: Session, *, rep_id: int) -> list[int]:
    """Return the rep's managers, nearest first, stopping at the top or at a cycle."""
    chain: list[int] = []
    current = session.get(Rep, rep_id)
    while current is not None and current.manager_id is not None:
        if current.manager_id in chain or current.manager_id == rep_id:
            break
        chain.append(current.manager_id)
        current = session.get(Rep, current.manager_id)
    return chain


def add_note(
    session: Session,
    *,
    manager_id: int,
    rep_id: int,
    template: str,
    text: str,
    now: datetime,
    actions: str | None = None,
    scorecard: dict[str, Any] | None = None,
    shared_with_rep: bool = False,
    follow_up_on: date | None = None,
) -> CoachingNote:
    """Store a note with its frozen scorecard; the caller has checked the manager may coach."""
    note = CoachingNote(
        manager_id=manager_id,
        rep_id=rep_id,
        template=template,
        text=text,
        actions=actions,
        scorecard=scorecard,
        shared_with_rep=shared_with_rep,
        follow_up_on=follow_up_on,
        created_at=now,
    )
    session.add(note)
    session.flush()
    return note


def notes_about(
    session: Session, *, rep_id: int, viewer: Viewer | None, limit: int | None = None
) -> list[NoteView]:
    """Return the notes about a rep that ``viewer`` may read, newest first (None: all)."""
    chain = manager_chain(session, rep_id=rep_id)
    query = (
        select(CoachingNote)
        .where(col(CoachingNote.rep_id) == rep_id)
        .order_by(col(CoachingNote.created_at).desc(), col(CoachingNote.id).desc())
    )
    result = []
    for note in session.execute(query).scalars():
        if viewer is not None and not can_read_note(
            viewer, rep_id=rep_id, shared_with_rep=note.shared_with_rep, rep_managers=chain
        ):
            continue
        result.append(_view(session, note))
        if limit is not None and len(result) >= limit:
            break
    return result


def follow_ups_due(session: Session, *, day: date) -> list[NoteView]:
    """Return open follow-ups due on or before ``day``, oldest first."""
    query = (
        select(CoachingNote)
        .where(
            col(CoachingNote.follow_up_on).is_not(None),
            col(CoachingNote.follow_up_on) <= day,
            col(CoachingNote.done).is_(False),
        )
        .order_by(col(CoachingNote.follow_up_on), col(CoachingNote.id))
    )
    return [_view(session, note) for note in session.execute(query).scalars()]


def mark_done(session: Session, *, note_id: int, viewer: Viewer) -> bool:
    """Mark a follow-up done if ``viewer`` wrote the note or may coach the rep; say whether."""
    note = session.get(CoachingNote, note_id)
    if note is None:
        return False
    chain = manager_chain(session, rep_id=note.rep_id)
    allowed = viewer.rep_id == note.manager_id or can_read_note(
        viewer, rep_id=note.rep_id, shared_with_rep=False, rep_managers=chain
    )
    if not allowed:
        return False
    note.done = True
    session.add(note)
    return True


def _view(session: Session, note: CoachingNote) -> NoteView:
    manager = session.get(Rep, note.manager_id)
    rep = session.get(Rep, note.rep_id)
    return NoteView(
        id=note.id or 0,
        created_at=note.created_at.isoformat(),
        manager=manager.email if manager else "",
        rep=rep.email if rep else "",
        template=note.template,
        text=note.text,
        actions=note.actions or "",
        follow_up_on=note.follow_up_on,
        done=note.done,
        shared_with_rep=note.shared_with_rep,
        scorecard=note.scorecard,
    )
