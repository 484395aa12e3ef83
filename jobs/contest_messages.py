"""Block Kit for contest posts and recognition: pure functions to (fallback text, blocks).

They live in jobs/ because jobs may not import bot/; they import only slack_sdk's block
models and the domain. Every message has a plain-text fallback that says the same thing.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from zoneinfo import ZoneInfo

from slack_sdk.models.blocks import (
    Block,
    ContextBlock,
    HeaderBlock,
    MarkdownTextObject,
    SectionBlock,
)

from domain.contests import (
    TIE_RULES,
    Contest,
    Outcome,
    Placement,
    Standings,
    placement_lines,
    standings_lines,
)
from domain.recognition import Recognition, Trigger

Rendered = tuple[str, list[dict[str, object]]]
ICON = {Trigger.BIG_DEAL: "💰", Trigger.BEST_WEEK: "📈", Trigger.STREAK: "🔥"}


def _dump(blocks: Sequence[Block]) -> list[dict[str, object]]:
    return [b.to_dict() for b in blocks]


def _section(text: str) -> SectionBlock:
    return SectionBlock(text=MarkdownTextObject(text=text[:3000]))


def _context(text: str) -> ContextBlock:
    return ContextBlock(elements=[MarkdownTextObject(text=text[:3000])])


def as_of_text(data_as_of: datetime | None, tz: ZoneInfo) -> str:
    """Return 'data as of …' in the org's zone (or say no sync has finished yet)."""
    if data_as_of is None:
        return "data as of: no finished CRM sync yet"
    return f"data as of {data_as_of.astimezone(tz):%b %-d %H:%M %Z}"


def _prizes(contest: Contest) -> str:
    prizes = contest.rules.prizes
    if not prizes:
        return ""
    if len(prizes) == 1:
        return f"\nPrize: {prizes[0]}"
    return "\nPrizes: " + "; ".join(f"{n}. {p}" for n, p in enumerate(prizes, 1))


def launched_message(contest: Contest, tz: ZoneInfo) -> Rendered:
    """Return the launch announcement: the rule, the window, who takes part, the prizes."""
    rules = contest.rules
    who = (
        f"{len(contest.competitors())} teams"
        if rules.team_contest
        else f"{len(contest.participants)} people"
    )
    body = (
        f"*{rules.describe()}*\n"
        f"Runs {rules.opens_at(tz):%a %b %-d} to {rules.end:%a %b %-d} (ends midnight {tz.key}); "
        f"{who} taking part.{_prizes(contest)}"
    )
    tie = f"Ties: {_tie(contest)}"
    text = f"🏁 New contest: {rules.name}. {rules.describe()}. {tie}"
    blocks = [HeaderBlock(text=f"🏁 {rules.name}"[:150]), _section(body), _context(tie)]
    return text, _dump(blocks)


def _tie(contest: Contest) -> str:
    return TIE_RULES[contest.rules.rule]


def standings_message(
    contest: Contest, table: Standings, tz: ZoneInfo, *, lead_change: bool
) -> Rendered:
    """Return the standings post, with 'data as of' and each place's gap to the next."""
    rules = contest.rules
    lines = standings_lines(contest, table) or ["No scores yet."]
    title = "New leader! " if lead_change else ""
    head = f"{title}Standings: {rules.name} ({rules.describe()})"
    as_of = as_of_text(table.data_as_of, tz)
    text = f"{head}\n" + "\n".join(lines) + f"\n{as_of}"
    blocks = [_section(f"*{head}*"), _section("\n".join(lines)), _context(as_of)]
    return text, _dump(blocks)


def won_message(
    contest: Contest, outcome: Outcome, data_as_of: datetime | None, tz: ZoneInfo
) -> Rendered:
    """Return the winner announcement; each winner is tagged exactly once."""
    rules = contest.rules
    if not outcome.placements:
        text = f"🏁 {rules.name} is over: nobody reached the target this time."
        return text, _dump([_section(text), _context(as_of_text(data_as_of, tz))])
    lines = placement_lines(contest, outcome, mention=True)
    head = f"🏆 {rules.name} is won!"
    footer = f"{as_of_text(data_as_of, tz)} · Ties: {outcome.tie_rule}"
    text = f"{head}\n" + "\n".join(lines)
    return text, _dump([_section(f"*{head}*"), _section("\n".join(lines)), _context(footer)])


def winner_dm(contest: Contest, placement: Placement) -> Rendered:
    """Return the direct message to one winner."""
    prize = f" You win {placement.prize}." if placement.prize else ""
    text = f"🏆 Congratulations, you won {contest.rules.name}!{prize}"
    return text, _dump([_section(text)])


def correction_message(
    contest: Contest,
    previous: Sequence[str],
    outcome: Outcome,
    data_as_of: datetime | None,
    tz: ZoneInfo,
) -> Rendered:
    """Return a correction: what was announced, what the corrected data says, and why."""
    lines = placement_lines(contest, outcome, mention=True) or ["Nobody reached the target."]
    head = f"Correction to {contest.rules.name}: a late CRM change altered the result."
    before = "Announced before: " + ("; ".join(previous) or "no winner")
    text = f"{head}\n{before}\nCorrected result:\n" + "\n".join(lines)
    blocks = [
        _section(f"*{head}*"),
        _context(before),
        _section("*Corrected result*\n" + "\n".join(lines)),
        _context(as_of_text(data_as_of, tz)),
    ]
    return text, _dump(blocks)


def canceled_message(contest: Contest) -> Rendered:
    """Return the notice that a contest was canceled."""
    text = f"The contest {contest.rules.name} was canceled; there is no winner."
    return text, _dump([_section(text)])


def recognition_message(recognition: Recognition, who: str, *, public: bool) -> Rendered:
    """Return a recognition post (``who`` is a mention) or, for a DM, a note to the person."""
    icon = ICON[recognition.trigger]
    text = (
        f"{icon} {who} {recognition.detail}!"
        if public
        else f"{icon} Congratulations, you {recognition.detail}!"
    )
    return text, _dump([_section(text)])
