"""The CoachingStore port on SQL: notes with the scorecard frozen when they were written."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import select
from sqlmodel import Session, col

from domain.ports import CoachingNoteView
from storage.models import CoachingNote, Rep


class SqlCoachingStore:
    """Coaching notes; one instance lives inside one session, which the caller commits."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def add_note(
        self,
        *,
        manager_id: int,
        rep_id: int,
        template: str,
        text: str,
        scorecard: dict[str, object] | None,
        follow_up_on: date | None,
        now: datetime,
    ) -> int:
        """Store a note and return its id."""
        note = CoachingNote(
            manager_id=manager_id,
            rep_id=rep_id,
            template=template,
            text=text,
            scorecard=scorecard,
            follow_up_on=follow_up_on,
            created_at=now,
        )
        self.session.add(note)
        self.session.flush()
        assert note.id is not None
        return note.id

    def _views(self, query: object) -> list[CoachingNoteView]:
        rows = self.session.execute(query).all()  # type: ignore[call-overload]
        return [
            CoachingNoteView(
                id=note.id,
                manager_name=manager_name,
                rep_id=note.rep_id,
                template=note.template,
                text=note.text,
                created_at=note.created_at,
                follow_up_on=note.follow_up_on,
                done=note.done,
            )
            for note, manager_name in rows
        ]

    def recent_notes(self, rep_id: int, limit: int = 3) -> list[CoachingNoteView]:
        """Return the rep's latest notes, newest first."""
        return self._views(
            select(CoachingNote, col(Rep.name))
            .join(Rep, col(Rep.id) == col(CoachingNote.manager_id))
            .where(col(CoachingNote.rep_id) == rep_id)
            .order_by(col(CoachingNote.created_at).desc(), col(CoachingNote.id).desc())
            .limit(limit)
        )

    def open_follow_ups(self, rep_id: int) -> list[CoachingNoteView]:
        """Return the rep's notes with a follow-up that is not done, soonest first."""
        return self._views(
            select(CoachingNote, col(Rep.name))
            .join(Rep, col(Rep.id) == col(CoachingNote.manager_id))
            .where(
                col(CoachingNote.rep_id) == rep_id,
                col(CoachingNote.follow_up_on).is_not(None),
                col(CoachingNote.done).is_(False),
            )
            .order_by(col(CoachingNote.follow_up_on), col(CoachingNote.id))
        )
