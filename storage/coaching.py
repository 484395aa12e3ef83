"""The CoachingStore port over storage.notes, bound to one session."""

from __future__ import annotations

from datetime import date, datetime

from sqlmodel import Session

from domain.coaching import NoteView, Viewer
from storage import notes


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
        note = notes.add_note(
            self.session,
            manager_id=manager_id,
            rep_id=rep_id,
            template=template,
            text=text,
            now=now,
            scorecard=scorecard,
            follow_up_on=follow_up_on,
        )
        assert note.id is not None
        return note.id

    def notes_about(self, rep_id: int, viewer: Viewer, limit: int | None = None) -> list[NoteView]:
        """Return the notes about ``rep_id`` that ``viewer`` may read, newest first."""
        return notes.notes_about(self.session, rep_id=rep_id, viewer=viewer, limit=limit)
