"""What `/contest` does, between the handler and the domain: read the modal, dry run, launch.

The modal's values travel from the dry-run view to the launch in its private_metadata, and the
contest is drafted again at launch, so what is frozen is what the data says at that moment.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from datetime import date
from typing import Any

from bot.deps import BotDeps, Stores
from bot.ids import BlockId, InputId
from bot.parsing import parse_date, parse_target
from domain import contest_service
from domain.contests import (
    Contest,
    ContestError,
    ContestRules,
    ParticipantSpec,
    Rule,
    Scoring,
    Standings,
)
from domain.errors import NotAllowed
from domain.identity import can_set_goals
from domain.ports import RepProfile
from domain.timeutil import zone


@dataclass(frozen=True)
class ContestForm:
    """The creation modal's values."""

    name: str
    kpi: str
    rule: str
    target: float | None
    start: str
    end: str
    who: str
    team: str
    people: tuple[str, ...]
    scoring: str
    teams_compete: bool
    prizes: tuple[str, ...]
    channel: str

    def dumps(self) -> str:
        """Return the form as JSON for the dry-run view's private_metadata."""
        return json.dumps(asdict(self), ensure_ascii=False)

    @classmethod
    def loads(cls, text: str) -> ContestForm:
        """Read the form back from private_metadata."""
        data = json.loads(text)
        data["people"] = tuple(data.get("people") or ())
        data["prizes"] = tuple(data.get("prizes") or ())
        return cls(**data)


def _value(values: dict[str, Any], block: str, element: str) -> dict[str, Any]:
    return dict((values.get(block) or {}).get(element) or {})


def _selected(values: dict[str, Any], block: str, element: str) -> str | None:
    option = _value(values, block, element).get("selected_option") or {}
    return option.get("value")


def read_contest(values: dict[str, Any]) -> ContestForm | dict[str, str]:
    """Return the contest the modal describes, or {block_id: what to fix}."""
    errors: dict[str, str] = {}
    name = (_value(values, BlockId.CONTEST_NAME, InputId.CONTEST_NAME).get("value") or "").strip()
    kpi = _selected(values, BlockId.CONTEST_KPI, InputId.CONTEST_KPI)
    rule = _selected(values, BlockId.CONTEST_RULE, InputId.CONTEST_RULE) or Rule.MOST.value
    raw_target = _value(values, BlockId.CONTEST_TARGET, InputId.CONTEST_TARGET).get("value")
    target = parse_target(raw_target) if raw_target else None
    start = parse_date(
        _value(values, BlockId.CONTEST_START, InputId.CONTEST_START).get("selected_date")
    )
    end = parse_date(_value(values, BlockId.CONTEST_END, InputId.CONTEST_END).get("selected_date"))
    who = _selected(values, BlockId.CONTEST_WHO, InputId.CONTEST_WHO) or "all"
    team = (_value(values, BlockId.CONTEST_TEAM, InputId.CONTEST_TEAM).get("value") or "").strip()
    people = tuple(
        _value(values, BlockId.CONTEST_PEOPLE, InputId.CONTEST_PEOPLE).get("selected_users") or ()
    )
    checked = _value(values, BlockId.CONTEST_TEAMS_COMPETE, InputId.CONTEST_TEAMS_COMPETE)
    prizes_text = _value(values, BlockId.CONTEST_PRIZES, InputId.CONTEST_PRIZES).get("value") or ""
    channel = _value(values, BlockId.CONTEST_CHANNEL, InputId.CONTEST_CHANNEL).get(
        "selected_channel"
    )
    if not name:
        errors[BlockId.CONTEST_NAME] = "Give the contest a name."
    errors.update(_option_errors(values, name, team, prizes_text, rule))
    if not kpi:
        errors[BlockId.CONTEST_KPI] = "Pick a KPI."
    if rule != Rule.MOST.value and (target is None or target <= 0):
        errors[BlockId.CONTEST_TARGET] = "This rule needs N above 0, e.g. 50."
    if start is None:
        errors[BlockId.CONTEST_START] = "Pick the first day."
    if end is None or (start is not None and end < start):
        errors[BlockId.CONTEST_END] = "Pick a last day on or after the first day."
    if who == "team" and not team:
        errors[BlockId.CONTEST_TEAM] = "Type the team's name as the CRM has it."
    if who == "people" and not people:
        errors[BlockId.CONTEST_PEOPLE] = "Pick the people who take part."
    if not channel:
        errors[BlockId.CONTEST_CHANNEL] = "Pick the channel to announce in."
    if errors or kpi is None or start is None or end is None or channel is None:
        return errors
    return ContestForm(
        name=name,
        kpi=kpi,
        rule=rule,
        target=target,
        start=start.isoformat(),
        end=end.isoformat(),
        who=who,
        team=team,
        people=people,
        scoring=_selected(values, BlockId.CONTEST_SCORING, InputId.CONTEST_SCORING) or "count",
        teams_compete=bool(checked.get("selected_options")),
        prizes=tuple(p.strip() for p in prizes_text.splitlines() if p.strip()),
        channel=channel,
    )


NAME_MAX, TEAM_MAX, PRIZES_MAX = 120, 255, 1000  # the modal's max_length of each field
WHO = ("all", "team", "people")


def _option_errors(
    values: dict[str, Any], name: str, team: str, prizes: str, rule: str
) -> dict[str, str]:
    """Return errors for values a real modal cannot send: unknown options, overlong text."""
    errors: dict[str, str] = {}
    if len(name) > NAME_MAX:
        errors[BlockId.CONTEST_NAME] = f"Use at most {NAME_MAX} characters for the name."
    if len(team) > TEAM_MAX:
        errors[BlockId.CONTEST_TEAM] = f"Use at most {TEAM_MAX} characters for the team."
    if len(prizes) > PRIZES_MAX:
        errors[BlockId.CONTEST_PRIZES] = f"Use at most {PRIZES_MAX} characters for the prizes."
    if rule not in {r.value for r in Rule}:
        errors[BlockId.CONTEST_RULE] = "Pick how the contest is won from the list."
    scoring = _selected(values, BlockId.CONTEST_SCORING, InputId.CONTEST_SCORING) or "count"
    if scoring not in {s.value for s in Scoring}:
        errors[BlockId.CONTEST_SCORING] = "Pick how people score from the list."
    if (_selected(values, BlockId.CONTEST_WHO, InputId.CONTEST_WHO) or "all") not in WHO:
        errors[BlockId.CONTEST_WHO] = "Pick who takes part from the list."
    return errors


def check_creator(deps: BotDeps, viewer: RepProfile | None) -> RepProfile:
    """Return ``viewer`` if they may run contests (managers and admins), else refuse."""
    if not can_set_goals(viewer, deps.admins):
        raise NotAllowed("Only managers and Pacesetter admins can start or cancel contests.")
    assert viewer is not None
    return viewer


def rules_for(stores: Stores, form: ContestForm) -> ContestRules:
    """Turn the form into contest rules (chosen Slack users become their CRM emails)."""
    spec = ParticipantSpec()
    if form.who == "team":
        spec = ParticipantSpec(kind="team", team=form.team)
    elif form.who == "people":
        emails = []
        for user in form.people:
            rep = stores.directory.by_slack_id(user)
            if rep is None:
                raise ContestError(f"<@{user}> is not linked to a rep in the CRM.")
            emails.append(rep.email.lower())
        spec = ParticipantSpec(kind="people", emails=tuple(emails))
    return ContestRules(
        name=form.name,
        kpi=form.kpi,
        rule=Rule(form.rule),
        target=form.target,
        start=date.fromisoformat(form.start),
        end=date.fromisoformat(form.end),
        channel=form.channel,
        participants=spec,
        scoring=Scoring(form.scoring),
        team_contest=form.teams_compete,
        prizes=form.prizes,
    )


def _draft(deps: BotDeps, stores: Stores, viewer: RepProfile, form: ContestForm) -> Contest:
    rules = rules_for(stores, form)
    return contest_service.draft(
        rules,
        store=stores.contests,
        goals=stores.goals.goals(kpi=rules.kpi),
        calendar=deps.calendar,
        created_by=viewer.email,
        now=deps.now(),
    )


def dry_run(deps: BotDeps, viewer: RepProfile, form: ContestForm) -> tuple[Contest, Standings]:
    """Return the draft and who would be winning now; nothing is stored."""
    with deps.read_uow() as stores:
        draft = _draft(deps, stores, viewer, form)
        table = contest_service.dry_run(
            draft, store=stores.contests, now=deps.now(), tz=zone(deps.org_timezone)
        )
    return draft, table


def launch(deps: BotDeps, viewer: RepProfile, form: ContestForm) -> Contest:
    """Launch the contest the form describes (rules frozen from here)."""
    with deps.uow() as stores:
        draft = _draft(deps, stores, viewer, form)
        return contest_service.launch(draft, store=stores.contests, now=deps.now())


def listing(deps: BotDeps) -> list[Contest]:
    """Return the contests, newest first."""
    with deps.read_uow() as stores:
        return stores.contests.contests()


def show(deps: BotDeps, ref: str) -> tuple[Contest, Standings]:
    """Return a contest and its current standings."""
    with deps.read_uow() as stores:
        contest = contest_service.find(stores.contests, ref)
        table = contest_service.dry_run(
            contest, store=stores.contests, now=deps.now(), tz=zone(deps.org_timezone)
        )
    return contest, table


def cancel(deps: BotDeps, viewer: RepProfile | None, ref: str) -> Contest:
    """Cancel a running contest (managers and admins)."""
    who = check_creator(deps, viewer)
    with deps.uow() as stores:
        return contest_service.cancel(stores.contests, ref, by=who.email, now=deps.now())
