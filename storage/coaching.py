"""The CoachingStore and FollowUpStore ports over storage.notes, bound to one session."""

from __future__ import annotations

from datetime import date, datetime

from sqlmodel import Session

from domain.coaching import NoteDraft, NoteView, SavedNote, Viewer
from domain.ports import FollowUpDue
from storage import notes


class SqlCoachingStore:
    """Coaching notes; one instance lives inside one session, which the caller commits."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def save_note(
        self,
        draft: NoteDraft,
        *,
        manager_id: int,
        scorecard: dict[str, object] | None,
        now: datetime,
    ) -> SavedNote:
        """Store a note once per form; say whether this call created it."""
        return notes.save_note(
            self.session, draft, manager_id=manager_id, scorecard=scorecard, now=now
        )

    def notes_about(self, rep_id: int, viewer: Viewer, limit: int | None = None) -> list[NoteView]:
        """Return the notes about ``rep_id`` that ``viewer`` may read, newest first."""
        return notes.notes_about(self.session, rep_id=rep_id, viewer=viewer, limit=limit)

    def note(self, note_id: int, viewer: Viewer) -> NoteView | None:
        """Return one note if ``viewer`` may read it."""
        return notes.note_for(self.session, note_id=note_id, viewer=viewer)

    def written_by(self, manager_id: int, limit: int) -> list[NoteView]:
        """Return the latest notes ``manager_id`` wrote."""
        return notes.written_by(self.session, manager_id=manager_id, limit=limit)

    def open_follow_ups(self, manager_id: int, limit: int) -> list[NoteView]:
        """Return the open follow-ups on notes ``manager_id`` wrote, soonest first."""
        return notes.open_follow_ups(self.session, manager_id=manager_id, limit=limit)

    def mark_done(self, note_id: int, viewer: Viewer, *, now: datetime) -> bool | None:
        """Mark a follow-up done (True), already done (False), or not allowed (None)."""
        return notes.mark_done(self.session, note_id=note_id, viewer=viewer, now=now)

    # the `followups` job (domain.ports.FollowUpStore) ---------------------------------------

    def follow_ups_to_remind(self, *, until: date) -> list[FollowUpDue]:
        """Return open follow-ups due by ``until`` not yet reminded for their date."""
        return notes.follow_ups_to_remind(self.session, until=until)

    def mark_reminded(self, note_id: int, due: date) -> None:
        """Record that the follow-up DM for ``due`` was queued."""
        notes.mark_reminded(self.session, note_id=note_id, due=due)
