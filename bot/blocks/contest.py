"""Block Kit for `/contest`: the creation modal, the dry-run view, list and show replies."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, timedelta

from slack_sdk.models.blocks import (
    ChannelSelectElement,
    CheckboxesElement,
    ContextBlock,
    DatePickerElement,
    InputBlock,
    MarkdownTextObject,
    Option,
    PlainTextInputElement,
    SectionBlock,
    StaticSelectElement,
    UserMultiSelectElement,
)
from slack_sdk.models.views import View

from bot.blocks.common import Message
from bot.ids import BlockId, CallbackId, InputId
from domain.contests import TIE_RULES, Contest, Rule, Scoring, Standings, standings_lines

RULE_LABELS = {
    Rule.MOST: "Most by the end",
    Rule.FIRST_TO: "First to N",
    Rule.THRESHOLD: "Everyone who reaches N",
}
SCORING_LABELS = {
    Scoring.COUNT: "Raw count",
    Scoring.PERCENT: "Percent of each person's goal",
    Scoring.IMPROVEMENT: "Improvement over their own recent baseline",
}
WHO_LABELS = {"all": "Everyone", "team": "One team", "people": "Chosen people"}


def _md(text: str) -> MarkdownTextObject:
    return MarkdownTextObject(text=text[:3000])


def _select(action_id: str, labels: dict[str, str], initial: str) -> StaticSelectElement:
    return StaticSelectElement(
        action_id=action_id,
        options=[Option(value=str(k), label=v) for k, v in labels.items()],
        initial_option=Option(value=initial, label=labels[initial]),
    )


def contest_modal(kpis: Sequence[tuple[str, str]], today: date) -> View:
    """Return the creation modal; its submit button shows the dry run, not a launch."""
    rules = {str(k): v for k, v in RULE_LABELS.items()}
    scorings = {str(k): v for k, v in SCORING_LABELS.items()}
    return View(
        type="modal",
        callback_id=CallbackId.CONTEST,
        title="New contest",
        submit="Dry run",
        close="Cancel",
        blocks=[
            InputBlock(
                block_id=BlockId.CONTEST_NAME,
                label="Name",
                element=PlainTextInputElement(action_id=InputId.CONTEST_NAME, max_length=120),
            ),
            InputBlock(
                block_id=BlockId.CONTEST_KPI,
                label="KPI",
                element=StaticSelectElement(
                    action_id=InputId.CONTEST_KPI,
                    options=[Option(value=n, label=label[:75]) for n, label in kpis][:100],
                ),
            ),
            InputBlock(
                block_id=BlockId.CONTEST_RULE,
                label="How is it won?",
                element=_select(InputId.CONTEST_RULE, rules, Rule.MOST.value),
            ),
            InputBlock(
                block_id=BlockId.CONTEST_TARGET,
                label="N (for first to N / everyone who reaches N)",
                optional=True,
                element=PlainTextInputElement(
                    action_id=InputId.CONTEST_TARGET, placeholder="e.g. 50"
                ),
            ),
            InputBlock(
                block_id=BlockId.CONTEST_START,
                label="First day",
                element=DatePickerElement(
                    action_id=InputId.CONTEST_START, initial_date=today.isoformat()
                ),
            ),
            InputBlock(
                block_id=BlockId.CONTEST_END,
                label="Last day",
                element=DatePickerElement(
                    action_id=InputId.CONTEST_END,
                    initial_date=(today + timedelta(days=4)).isoformat(),
                ),
            ),
            InputBlock(
                block_id=BlockId.CONTEST_WHO,
                label="Who takes part?",
                element=_select(InputId.CONTEST_WHO, WHO_LABELS, "all"),
            ),
            InputBlock(
                block_id=BlockId.CONTEST_TEAM,
                label="Team (when one team takes part)",
                optional=True,
                element=PlainTextInputElement(action_id=InputId.CONTEST_TEAM, max_length=255),
            ),
            InputBlock(
                block_id=BlockId.CONTEST_PEOPLE,
                label="People (when chosen people take part)",
                optional=True,
                element=UserMultiSelectElement(action_id=InputId.CONTEST_PEOPLE),
            ),
            InputBlock(
                block_id=BlockId.CONTEST_SCORING,
                label="Scoring",
                element=_select(InputId.CONTEST_SCORING, scorings, Scoring.COUNT.value),
            ),
            InputBlock(
                block_id=BlockId.CONTEST_TEAMS_COMPETE,
                label="Teams",
                optional=True,
                element=CheckboxesElement(
                    action_id=InputId.CONTEST_TEAMS_COMPETE,
                    options=[Option(value="teams", label="Team totals compete")],
                ),
            ),
            InputBlock(
                block_id=BlockId.CONTEST_PRIZES,
                label="Prizes (one line per place: 1st, 2nd, …)",
                optional=True,
                element=PlainTextInputElement(
                    action_id=InputId.CONTEST_PRIZES, multiline=True, max_length=1000
                ),
            ),
            InputBlock(
                block_id=BlockId.CONTEST_CHANNEL,
                label="Announce in",
                element=ChannelSelectElement(action_id=InputId.CONTEST_CHANNEL),
            ),
        ],
    )


def dry_run_view(contest: Contest, table: Standings, metadata: str) -> View:
    """Return the hidden dry run: who would be winning now; submitting it launches."""
    rules = contest.rules
    lines = standings_lines(contest, table) or ["Nobody has scored yet."]
    prizes = "; ".join(rules.prizes) or "none"
    return View(
        type="modal",
        callback_id=CallbackId.CONTEST_LAUNCH,
        title="Dry run",
        submit="Launch",
        close="Back",
        private_metadata=metadata[:3000],
        blocks=[
            SectionBlock(text=_md(f"*{rules.name}*\n{rules.describe()}\nPrizes: {prizes}")),
            SectionBlock(text=_md("*If it ended now:*\n" + "\n".join(lines))),
            ContextBlock(
                elements=[
                    _md(
                        f"Only you can see this. {len(contest.participants)} people take part. "
                        f"Ties: {TIE_RULES[rules.rule]} Rules are frozen at launch."
                    )
                ]
            ),
        ],
    )


def contest_list_message(contests: Sequence[Contest]) -> Message:
    """Return the `/contest list` reply."""
    if not contests:
        text = "No contests yet. `/contest` starts one."
        return Message(text, [SectionBlock(text=_md(text))])
    lines = [
        f"#{c.id} *{c.rules.name}* ({c.status.value}): {c.rules.describe()}, "
        f"{c.rules.start:%b %-d}–{c.rules.end:%b %-d}"
        for c in contests[:20]
    ]
    return Message("Contests:\n" + "\n".join(lines), [SectionBlock(text=_md("\n".join(lines)))])


def contest_show_message(contest: Contest, table: Standings, as_of: str) -> Message:
    """Return the `/contest show NAME` reply: rules, standings, data freshness."""
    rules = contest.rules
    head = f"#{contest.id} *{rules.name}* ({contest.status.value}): {rules.describe()}"
    lines = standings_lines(contest, table) or ["No scores yet."]
    text = f"{head}\n" + "\n".join(lines) + f"\n{as_of}"
    blocks = [
        SectionBlock(text=_md(head)),
        SectionBlock(text=_md("\n".join(lines))),
        ContextBlock(elements=[_md(as_of)]),
    ]
    return Message(text, blocks)
