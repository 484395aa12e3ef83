"""Coaching notes in storage: writing once per form, reading what a viewer may see, follow-ups."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import Table, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import Session, col

from domain.coaching import NoteDraft, NoteView, SavedNote, Viewer, can_read_note
from domain.ports import FollowUpDue
from storage.directory import profile
from storage.models import CoachingNote, Rep


def _table() -> Table:
    table: Table = CoachingNote.__table__  # type: ignore[attr-defined]
    return table


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


def save_note(
    session: Session,
    draft: NoteDraft,
    *,
    manager_id: int,
    scorecard: dict[str, Any] | None,
    now: datetime,
) -> SavedNote:
    """Store ``draft`` unless a note from the same form exists (INSERT … ON CONFLICT DO NOTHING).

    Two submissions of one form racing on two connections both end with the same single row.
    """
    if draft.submission_key is None:
        note = add_note(
            session,
            manager_id=manager_id,
            rep_id=draft.rep_id,
            template=draft.template,
            text=draft.text,
            now=now,
            actions=draft.actions or None,
            scorecard=scorecard,
            shared_with_rep=draft.shared_with_rep,
            follow_up_on=draft.follow_up_on,
        )
        return SavedNote(note.id or 0, True)
    dialect = session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    statement = (
        insert(_table())
        .values(
            manager_id=manager_id,
            rep_id=draft.rep_id,
            template=draft.template,
            text=draft.text,
            actions=draft.actions or None,
            scorecard=scorecard,
            shared_with_rep=draft.shared_with_rep,
            follow_up_on=draft.follow_up_on,
            done=False,
            created_at=now,
            submission_key=draft.submission_key,
        )
        .on_conflict_do_nothing(index_elements=["submission_key"])
        .returning(_table().c.id)
    )
    inserted = session.execute(statement).scalar_one_or_none()
    if inserted is not None:
        return SavedNote(int(inserted), True)
    existing = session.execute(
        select(col(CoachingNote.id)).where(col(CoachingNote.submission_key) == draft.submission_key)
    ).scalar_one()
    return SavedNote(int(existing), False)


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


def note_for(session: Session, *, note_id: int, viewer: Viewer) -> NoteView | None:
    """Return note ``note_id`` if ``viewer`` may read it, else None (missing looks the same)."""
    note = session.get(CoachingNote, note_id)
    if note is None or not _may_read(session, note, viewer):
        return None
    return _view(session, note)


def written_by(session: Session, *, manager_id: int, limit: int) -> list[NoteView]:
    """Return the latest notes ``manager_id`` wrote, newest first."""
    query = (
        select(CoachingNote)
        .where(col(CoachingNote.manager_id) == manager_id)
        .order_by(col(CoachingNote.created_at).desc(), col(CoachingNote.id).desc())
        .limit(limit)
    )
    return [_view(session, note) for note in session.execute(query).scalars()]


def open_follow_ups(session: Session, *, manager_id: int, limit: int) -> list[NoteView]:
    """Return the open follow-ups on notes ``manager_id`` wrote, soonest due first."""
    query = (
        select(CoachingNote)
        .where(
            col(CoachingNote.manager_id) == manager_id,
            col(CoachingNote.done).is_(False),
            col(CoachingNote.follow_up_on).is_not(None),
        )
        .order_by(col(CoachingNote.follow_up_on), col(CoachingNote.id))
        .limit(limit)
    )
    return [_view(session, note) for note in session.execute(query).scalars()]


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


def mark_done(
    session: Session, *, note_id: int, viewer: Viewer, now: datetime | None = None
) -> bool | None:
    """Mark a follow-up done if ``viewer`` wrote the note or may coach the rep.

    Returns True when this call marked it, False when it was already done (a second click
    changes nothing: the first click's time and person stay), None when not allowed.
    """
    note = session.get(CoachingNote, note_id)
    if note is None:
        return None
    chain = manager_chain(session, rep_id=note.rep_id)
    allowed = viewer.rep_id == note.manager_id or (
        viewer.rep_id != note.rep_id
        and can_read_note(viewer, rep_id=note.rep_id, shared_with_rep=False, rep_managers=chain)
    )
    if not allowed:
        return None
    done = session.execute(
        update(_table())
        .where(_table().c.id == note_id, _table().c.done.is_(False))
        .values(done=True, done_at=now, done_by_id=viewer.rep_id)
    )
    session.expire(note)
    return bool(done.rowcount)  # type: ignore[attr-defined]


def follow_ups_to_remind(session: Session, *, until: date) -> list[FollowUpDue]:
    """Return open follow-ups due by ``until`` whose DM was not queued for their date yet."""
    query = (
        select(CoachingNote, Rep)
        .join(Rep, col(Rep.id) == col(CoachingNote.manager_id))
        .where(
            col(CoachingNote.done).is_(False),
            col(CoachingNote.follow_up_on).is_not(None),
            col(CoachingNote.follow_up_on) <= until,
            or_(
                col(CoachingNote.reminded_for).is_(None),
                col(CoachingNote.reminded_for) != col(CoachingNote.follow_up_on),
            ),
            col(Rep.slack_user_id).is_not(None),
            col(Rep.active).is_(True),
        )
        .order_by(col(CoachingNote.follow_up_on), col(CoachingNote.id))
    )
    result = []
    for note, manager in session.execute(query).all():
        rep = session.get(Rep, note.rep_id)
        if rep is None or manager.slack_user_id is None:
            continue
        result.append(
            FollowUpDue(
                note=_view(session, note),
                rep=profile(rep),
                manager_slack_id=manager.slack_user_id,
                manager_timezone=manager.timezone,
            )
        )
    return result


def mark_reminded(session: Session, *, note_id: int, due: date) -> None:
    """Record that the follow-up DM for ``due`` was queued."""
    session.execute(update(_table()).where(_table().c.id == note_id).values(reminded_for=due))


def _may_read(session: Session, note: CoachingNote, viewer: Viewer) -> bool:
    if viewer.rep_id == note.manager_id and viewer.rep_id != note.rep_id:
        return True
    chain = manager_chain(session, rep_id=note.rep_id)
    return can_read_note(
        viewer, rep_id=note.rep_id, shared_with_rep=note.shared_with_rep, rep_managers=chain
    )


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
        rep_name=rep.name if rep else "",
        manager_name=manager.name if manager else "",
        done_at=note.done_at.isoformat() if note.done_at else None,
    )
