"""Short replies: help, confirmations and refusals, each a plain sentence."""

from __future__ import annotations

from slack_sdk.models.blocks import MarkdownTextObject, SectionBlock

from bot.blocks.common import Message
from domain.goals import Goal
from domain.ports import LinkChange, RepProfile

HELP_TEXT = (
    "Pacesetter commands:\n"
    "• `/mystats [day|week|month|quarter]` — your scorecard (this week by default)\n"
    "• `/mystats notes` — coaching notes your manager shared with you\n"
    "• `/leaderboard [kpi] [day|week|month|quarter]` — who leads, by percent of goal\n"
    "• `/coach @rep` — a coaching brief for one of your reps (managers)\n"
    "• `/goal` — set a goal for a rep or a team (managers)\n"
    "• `/pacesetter optout` / `optin` — hide yourself from or show yourself on public boards\n"
    "• `/pacesetter link @user email` — match a Slack user to a CRM rep (admins)"
)


def plain(text: str) -> Message:
    """Return a one-section message whose fallback is the same text."""
    return Message(text, [SectionBlock(text=MarkdownTextObject(text=text))])


def help_message() -> Message:
    """Return the help text."""
    return plain(HELP_TEXT)


def linked_message(rep: RepProfile, slack_user_id: str, change: LinkChange) -> Message:
    """Confirm a link made by an admin."""
    tz = (
        " Their time zone changed, so their days are being recalculated."
        if change.timezone_changed
        else ""
    )
    return plain(f"Linked <@{slack_user_id}> to {rep.name} ({rep.email}).{tz}")


def opt_out_message(opt_out: bool) -> Message:
    """Confirm an opt-out or opt-in."""
    if opt_out:
        return plain(
            "Done: you're hidden from public leaderboards. You still see your own place, and "
            "your managers still see you. `/pacesetter optin` shows you again."
        )
    return plain("Done: you're back on public leaderboards.")


def goal_saved_message(goal: Goal, label: str) -> Message:
    """Confirm a goal."""
    who = {"rep": f"{goal.scope_value}", "team": f"team {goal.scope_value}"}.get(
        str(goal.scope), "everyone"
    )
    start = f" from {goal.valid_from}" if goal.valid_from else ""
    return plain(f"Goal saved: {label} {goal.target:g} per {goal.period} for {who}{start}.")


def note_saved_message(rep: RepProfile, follow_up: str | None, shared: bool = False) -> Message:
    """Confirm a coaching note: who can read it, and when its follow-up DM comes."""
    extra = (
        f" On {follow_up} you'll get a DM with it and how their numbers moved since."
        if follow_up
        else ""
    )
    who = (
        f" {rep.name} can read it too (on their App Home)."
        if shared
        else " Only their managers and admins can read it."
    )
    return plain(
        f"Saved your coaching note about {rep.name}, with their scorecard as of now.{who}{extra}"
    )
