"""What `/coach @rep` shows besides the diagnosis: 1:1 questions tied to the weak step, whom
to shadow, and the rep's recent notes and open follow-ups.

The questions are open ones a manager can ask in a 1:1 about the funnel step the diagnosis
names; they lead the rep to look at their own numbers rather than hear a verdict.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date

from domain.brief import Outlook
from domain.coaching import NoteView
from domain.diagnosis import Diagnosis
from domain.ports import RepProfile
from domain.timeutil import DateRange

QUESTIONS: Mapping[str, tuple[str, ...]] = {
    "prospecting": (
        "Walk me through how you block time for prospecting each day. What usually eats it?",
        "How many new accounts did you touch last week, and how did you pick them?",
        "Which channel (calls, email, LinkedIn) gets you the most replies right now?",
        "What would it take to add one more prospecting block this week?",
    ),
    "conversations": (
        "When do your calls connect most often? Are your call blocks at those times?",
        "What happens in the first 20 seconds of a cold call? Let's listen to one together.",
        "How are you following up on calls that go to voicemail?",
        "Which lists or sequences produce the most live conversations?",
    ),
    "meaningful_conversations": (
        "Who are you talking to: what share of your conversations are with VPs or directors?",
        "How do you find the senior buyer in an account before you reach out?",
        "What makes a conversation go past five minutes for you? Show me one that did.",
        "Which accounts could you multi-thread this week to reach a decision-maker?",
    ),
    "opportunities_created": (
        "What makes you decide a conversation is worth an opportunity?",
        "Take your last three good conversations: what was the agreed next step?",
        "Which questions do you ask to uncover pain and budget on a first call?",
        "Where do promising conversations stall before they become opportunities?",
    ),
    "opportunities_advanced": (
        "Which of your open opportunities has not moved in two weeks, and why?",
        "Does every open deal have a next step with a date the buyer agreed to?",
        "Who else in the buying group have you met on your biggest deal?",
    ),
    "wins": (
        "Pick the open deal closest to closing: what has to happen, by when, and who signs?",
        "In the deals you lost recently, where did they stall?",
        "How are you confirming the buyer's decision process and timeline?",
        "Which objection are you hearing most at the end, and how do you answer it?",
    ),
}
GENERAL_QUESTIONS: tuple[str, ...] = (
    "What went well this week, and what would you repeat?",
    "Where do you feel stuck, and what help would make the biggest difference?",
    "What is one number you want to move before our next 1:1?",
)
MAX_QUESTIONS = 5
MIN_QUESTIONS = 3


def questions_for(weak_step: str | None) -> list[str]:
    """Return 3 to 5 questions for a 1:1 about ``weak_step`` (general ones without a step)."""
    specific = list(QUESTIONS.get(weak_step or "", ()))
    out = specific[:MAX_QUESTIONS]
    for general in GENERAL_QUESTIONS:
        if len(out) >= MIN_QUESTIONS and (specific or len(out) >= len(GENERAL_QUESTIONS)):
            break
        out.append(general)
    return out[:MAX_QUESTIONS]


@dataclass(frozen=True, slots=True)
class CoachBrief:
    """Everything `/coach @rep` shows a manager."""

    rep: RepProfile
    window: DateRange
    diagnosis: Diagnosis
    questions: list[str]
    notes: Sequence[NoteView] = field(default_factory=list)
    follow_ups: Sequence[NoteView] = field(default_factory=list)
    shadow_slack_id: str | None = None
    outlook: Outlook | None = None


def open_follow_ups(notes: Sequence[NoteView]) -> list[NoteView]:
    """Return the notes with a follow-up date that is not done, soonest first."""
    due = [n for n in notes if n.follow_up_on is not None and not n.done]
    return sorted(due, key=lambda n: (n.follow_up_on or date.max, n.id))
