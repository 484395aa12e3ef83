"""Coaching notes on screen: a note shown whole, the App Home's notes and follow-ups, and the
follow-up DM once it is marked done."""

from __future__ import annotations

from datetime import date

from slack_sdk.models.blocks import (
    Block,
    ButtonElement,
    ContextBlock,
    DividerBlock,
    HeaderBlock,
    MarkdownTextObject,
    SectionBlock,
)

from bot.blocks.common import Message
from bot.ids import ActionId
from bot.service import CoachingHome, FollowUpDone
from domain.coaching import NoteView, escape_mrkdwn, text_pieces

PREVIEW_CHARS = 280


def note_blocks(note: NoteView) -> list[Block]:
    """Return a note's text, and its agreed actions, whole: split over sections when long."""
    blocks: list[Block] = [_section(piece) for piece in text_pieces(escape_mrkdwn(note.text))]
    if note.actions:
        pieces = text_pieces(escape_mrkdwn(note.actions), 2900)
        blocks.append(_section("*Agreed actions*\n" + pieces[0]))
        blocks += [_section(piece) for piece in pieces[1:]]
    return blocks


def _section(text: str) -> SectionBlock:
    return SectionBlock(text=MarkdownTextObject(text=text))


def _context(text: str) -> ContextBlock:
    return ContextBlock(elements=[MarkdownTextObject(text=text)])


def _preview(text: str) -> str:
    flat = " ".join(text.split())
    short = flat if len(flat) <= PREVIEW_CHARS else flat[: PREVIEW_CHARS - 1] + "…"
    return escape_mrkdwn(short)


def _due(note: NoteView, today: date) -> str:
    if note.follow_up_on is None:
        return ""
    if note.overdue(today):
        return f":warning: *overdue* since {note.follow_up_on:%a %d %b}"
    if note.follow_up_on == today:
        return "due *today*"
    return f"due {note.follow_up_on:%a %d %b}"


def coaching_home_blocks(home: CoachingHome) -> list[Block]:
    """Return the App Home's coaching sections: follow-ups, recent notes, notes shared with me."""
    blocks: list[Block] = []
    if home.follow_ups:
        blocks += [DividerBlock(), HeaderBlock(text="Open coaching follow-ups")]
        for note in home.follow_ups:
            blocks.append(
                SectionBlock(
                    text=MarkdownTextObject(
                        text=f"*{escape_mrkdwn(note.rep_name)}* — {_due(note, home.today)}\n"
                        f"{_preview(note.text)}"
                    ),
                    accessory=ButtonElement(
                        text="Mark done", action_id=ActionId.FOLLOW_UP_DONE, value=str(note.id)
                    ),
                )
            )
    if home.written:
        blocks += [DividerBlock(), HeaderBlock(text="Your recent coaching notes")]
        for note in home.written:
            shared = " · shared with the rep" if note.shared_with_rep else ""
            due = f" · follow-up {_due(note, home.today)}" if note.follow_up_on else ""
            done = " · follow-up done" if note.done and note.follow_up_on else ""
            blocks.append(
                _section(
                    f"*{escape_mrkdwn(note.rep_name)}* · {note.template_label()} · "
                    f"{note.created_at[:10]}{shared}{due if not note.done else done}\n"
                    f"{_preview(note.text)}"
                )
            )
    if home.shared_with_me:
        blocks += [DividerBlock(), HeaderBlock(text="Notes from your manager")]
        for note in home.shared_with_me:
            blocks.append(
                _context(
                    f"{escape_mrkdwn(note.manager_name)} · {note.template_label()} · "
                    f"{note.created_at[:10]}"
                )
            )
            blocks += note_blocks(note)
    return blocks


def follow_up_done_message(done: FollowUpDone, who: str) -> Message:
    """Return the follow-up DM as it reads once done: the note, and who closed it when."""
    note = done.note
    when = (note.done_at or "")[:10]
    title = f"Follow-up: {note.rep_name} — done"  # a header: plain text, shown as is
    closed = f":white_check_mark: Marked done{f' on {when}' if when else ''}"
    if not done.changed:
        closed += " (it was already done)"
    elif who:
        closed += f" by {escape_mrkdwn(who)}"
    blocks: list[Block] = [
        HeaderBlock(text=title[:150]),
        _context(f"{note.template_label()} note from {note.created_at[:10]}"),
        *note_blocks(note),
        _context(closed),
    ]
    return Message(f"{escape_mrkdwn(title)}. {escape_mrkdwn(note.text[:200])}", blocks[:50])


def shared_notes_message(notes: list[NoteView]) -> Message:
    """Return the notes a rep's managers shared with them (`/mystats notes`)."""
    if not notes:
        text = "No coaching notes have been shared with you yet."
        return Message(text, [_section(text)])
    blocks: list[Block] = [HeaderBlock(text="Notes from your manager")]
    for note in notes:
        blocks.append(
            _context(
                f"{escape_mrkdwn(note.manager_name)} · {note.template_label()} · "
                f"{note.created_at[:10]}"
            )
        )
        blocks += note_blocks(note)
    return Message(f"{len(notes)} coaching note(s) shared with you.", blocks[:50])
