"""The bot's use cases: each opens one unit of work, calls the domain, returns domain values.

Listeners call exactly one of these, so they hold no queries and no rules; these hold no
Slack types, so the same calls serve tests and, later, other entry points.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, timedelta

from bot.charts import TrendSeries
from bot.deps import BotDeps, Stores
from domain.brief import brief_outlook, funnels, peer_group
from domain.coaching import NoteDraft, NoteView, Role, SavedNote, Viewer, template
from domain.diagnosis import diagnose
from domain.errors import BadInput, NotAllowed
from domain.glance import TEAM_REFUSAL, Glance, team_glance
from domain.goals import Goal, Scope
from domain.identity import (
    can_set_goals,
    coachable_rep,
    is_admin,
    link_by_admin,
    viewer_of,
)
from domain.leaderboard import RankBy, Ranked, visible_to
from domain.ports import LinkChange, RepProfile
from domain.questions import CoachBrief, open_follow_ups, questions_for
from domain.scorecard import ACTIVITY_SCORE, RESULTS_SCORE, Scorecard, Scorecards, subject_of
from domain.timeutil import DateRange, Period, zone

CHART_KPIS = 4
COACH_USAGE = (
    "Mention the rep as `/coach @name` for their brief, or type `/coach` alone (or "
    "`/coach team NAME`) for your team at a glance."
)
SCORE_LABELS = {ACTIVITY_SCORE: "Activity score", RESULTS_SCORE: "Results score"}
DEFAULT_BOARD_METRIC = ACTIVITY_SCORE


@dataclass(frozen=True)
class MyStats:
    """A rep's scorecard and the daily series its trend chart is drawn from."""

    card: Scorecard
    trend: list[TrendSeries]


@dataclass(frozen=True)
class Board:
    """A leaderboard as one viewer may see it."""

    metric: str
    label: str
    period: Period
    as_of: date
    by: RankBy
    lines: list[Ranked]
    viewer_id: int | None
    total: int
    fallback_to_count: bool = False


@dataclass(frozen=True)
class TeamGlance:
    """The `/coach` team view as one viewer may see it."""

    glance: Glance
    scope: str
    slack_ids: dict[int, str]
    labels: dict[str, str]


@dataclass(frozen=True)
class TeamRow:
    """One report's pacing in a manager's grid."""

    rep: RepProfile
    card: Scorecard


@dataclass(frozen=True)
class CoachingHome:
    """The coaching part of the App Home: notes a manager wrote and their open follow-ups,
    and for everyone the notes their own managers shared with them."""

    today: date
    written: list[NoteView] = field(default_factory=list)
    follow_ups: list[NoteView] = field(default_factory=list)
    shared_with_me: list[NoteView] = field(default_factory=list)


@dataclass(frozen=True)
class HomeView:
    """What the App Home tab shows a rep, and a manager's team grid."""

    rep: RepProfile
    card: Scorecard
    team: list[TeamRow] = field(default_factory=list)
    can_set_goals: bool = False
    coaching: CoachingHome | None = None


@dataclass(frozen=True)
class FollowUpDone:
    """A follow-up after "Mark done": the note, and whether this click was the one that did it."""

    note: NoteView
    changed: bool


FOLLOW_UP_REFUSAL = "Only the rep's managers and Pacesetter admins can close this follow-up."
HOME_NOTES = 5
HOME_FOLLOW_UPS = 10


def _card(deps: BotDeps, stores: Stores, rep: RepProfile, period: Period) -> Scorecard:
    scorecards: Scorecards = deps.scorecards(stores)
    return scorecards.scorecard(rep, period, deps.now())


def my_stats(deps: BotDeps, who: Callable[[Stores], RepProfile], period: Period) -> MyStats:
    """Return the scorecard for ``period`` and the trend of the main KPIs of the rep ``who``
    finds: in the same read as the scorecard, one transaction for the whole command."""
    with deps.read_uow() as stores:
        rep = who(stores)
        scorecards: Scorecards = deps.scorecards(stores)
        card = scorecards.scorecard(rep, period, deps.now())
        names = [n for n in scorecards.kpis.names() if n in card.lines][:CHART_KPIS]
        daily = card.daily
        trend = []
        for name in names:
            target = scorecards.resolver.target(name, subject_of(rep), card.range, period)
            trend.append(
                TrendSeries(
                    card.lines[name].label,
                    card.range.days(),
                    daily.get(name, {}),
                    target.shares if target else None,
                )
            )
    return MyStats(card, trend)


def metric_label(deps: BotDeps, metric: str) -> str:
    """Return the display label of a KPI or score."""
    return SCORE_LABELS.get(metric) or deps.kpi_labels.get(metric, metric.replace("_", " "))


def leaderboard(
    deps: BotDeps, viewer: RepProfile | None, metric: str | None, period: Period
) -> Board:
    """Rank reps on ``metric`` by percent of goal (by count when nobody has a goal)."""
    metric = metric or DEFAULT_BOARD_METRIC
    with deps.read_uow() as stores:
        scorecards: Scorecards = deps.scorecards(stores)
        viewer_id = viewer.id if viewer else None
        tz = zone(viewer.timezone if viewer else None, deps.org_timezone)
        as_of = deps.now().astimezone(tz).date()
        board = scorecards.leaderboard(metric, period, as_of)
        by, fallback = RankBy.PERCENT, False
        if board and all(line.rank is None for line in board) and metric not in SCORE_LABELS:
            board = scorecards.leaderboard(metric, period, as_of, by=RankBy.COUNT)
            by, fallback = RankBy.COUNT, True
        managed = {r.id for r in stores.directory.reports_of(viewer_id)} if viewer_id else set()
        if viewer is not None and is_admin(viewer, deps.admins):
            managed = {line.standing.rep_id for line in board}
        lines = visible_to(board, viewer_id, managed)
    return Board(
        metric,
        metric_label(deps, metric),
        period,
        as_of,
        by,
        lines,
        viewer_id,
        len(lines),
        fallback,
    )


def coach_brief(
    deps: BotDeps,
    viewer: RepProfile | None,
    rep_slack_id: str | None,
    *,
    rep_id: int | None = None,
) -> CoachBrief:
    """Return the coaching brief on the rep behind ``rep_slack_id`` (or ``rep_id``) for ``viewer``.

    Anyone who may not coach that rep, or names someone who is not a rep, gets the same
    refusal, so the answer says nothing about who exists or reports to whom.
    """
    named = rep_slack_id is not None or rep_id is not None
    if not named and viewer is not None and viewer_of(viewer, deps.admins).role is not Role.REP:
        raise BadInput(COACH_USAGE)
    with deps.read_uow() as stores:
        target = stores.directory.by_slack_id(rep_slack_id) if rep_slack_id else None
        wanted = target.id if target else rep_id
        rep = coachable_rep(viewer, wanted, stores.directory, deps.admins)
        assert viewer is not None
        cards: Scorecards = deps.scorecards(stores)
        as_of = deps.now().astimezone(zone(rep.timezone, deps.org_timezone)).date()
        rules = deps.brief_rules
        window = DateRange(as_of - timedelta(days=rules.window_days - 1), as_of)
        peers = peer_group(cards, rep, rules)
        mine, *theirs = funnels(cards, [rep, *peers], window)
        diagnosis = diagnose(mine, theirs, rules.diagnosis)
        notes = stores.coaching.notes_about(rep.id, viewer_of(viewer, deps.admins))
        shadow = diagnosis.shadow.rep_id if diagnosis.shadow else None
        shadow_slack = stores.directory.slack_ids([shadow]).get(shadow) if shadow else None
        outlook = brief_outlook(cards, stores.coach_reads, rep, peers, as_of)
    return CoachBrief(
        rep,
        window,
        diagnosis,
        questions_for(diagnosis.weak_step),
        notes[:3],
        open_follow_ups(notes),
        shadow_slack,
        outlook,
    )


def coach_team(deps: BotDeps, viewer: RepProfile | None, team: str | None = None) -> TeamGlance:
    """Return the viewer's reports (all reps for admins), who most needs attention first.

    Managers see everyone below them, directly or further down; ``team`` narrows to one team.
    Reps are refused with a pointer to what they can use instead.
    """
    if viewer is None:
        raise NotAllowed(TEAM_REFUSAL)
    role = viewer_of(viewer, deps.admins).role
    if role is Role.REP:
        raise NotAllowed(TEAM_REFUSAL)
    with deps.read_uow() as stores:
        cards: Scorecards = deps.scorecards(stores)
        if role is Role.ADMIN:
            people = cards.board_reps(team)
            scope = f"team {team}" if team else "everyone"
        else:
            people = [
                r
                for r in stores.directory.reports_of(viewer.id)
                if team is None or (r.team or "").casefold() == team.casefold()
            ]
            scope = f"your reports in team {team}" if team else "your reports"
        if team and not people:
            raise BadInput(
                f"No active reps in a team called “{team}” that you can see. "
                "Type `/coach` for everyone you can see."
            )
        glance = team_glance(cards, stores.coach_reads, people, deps.now(), deps.brief_rules)
        ids = [row.signals.rep_id for row in glance.rows]
        slack = stores.directory.slack_ids(ids)
    return TeamGlance(glance, scope, slack, deps.kpi_labels)


def note_target(deps: BotDeps, viewer: RepProfile | None, rep_id: int) -> RepProfile:
    """Return the rep a coaching note is about, if ``viewer`` may coach them."""
    with deps.read_uow() as stores:
        return coachable_rep(viewer, rep_id, stores.directory, deps.admins)


def save_note(
    deps: BotDeps, viewer: RepProfile | None, draft: NoteDraft
) -> tuple[RepProfile, SavedNote]:
    """Store a coaching note with the rep's scorecard frozen as of now; return the rep.

    The same form submitted twice (a Slack resend, a double click) stores one note: the
    second call finds the first and says it created nothing.
    """
    template(draft.template)
    with deps.uow() as stores:
        rep = coachable_rep(viewer, draft.rep_id, stores.directory, deps.admins)
        assert viewer is not None
        frozen = _card(deps, stores, rep, Period.WEEK).to_json()
        saved = stores.coaching.save_note(
            draft, manager_id=viewer.id, scorecard=frozen, now=deps.now()
        )
        return rep, saved


def mark_follow_up_done(deps: BotDeps, viewer: RepProfile | None, note_id: int) -> FollowUpDone:
    """Mark a note's follow-up done for ``viewer``, or refuse; a second click changes nothing."""
    if viewer is None:
        raise NotAllowed(FOLLOW_UP_REFUSAL)
    who = viewer_of(viewer, deps.admins)
    with deps.uow() as stores:
        changed = stores.coaching.mark_done(note_id, who, now=deps.now())
        note = stores.coaching.note(note_id, who) if changed is not None else None
    if changed is None or note is None:
        raise NotAllowed(FOLLOW_UP_REFUSAL)
    return FollowUpDone(note, changed)


def shared_notes(deps: BotDeps, rep: RepProfile, limit: int = 10) -> list[NoteView]:
    """Return the notes about ``rep`` their managers shared with them, newest first."""
    with deps.read_uow() as stores:
        return stores.coaching.notes_about(rep.id, Viewer(rep.id, Role.REP), limit)


def check_goal_setter(deps: BotDeps, viewer: RepProfile | None) -> RepProfile:
    """Return ``viewer`` if they may set goals, else refuse."""
    if not can_set_goals(viewer, deps.admins):
        raise NotAllowed("Only managers and Pacesetter admins can set goals.")
    assert viewer is not None
    return viewer


@dataclass(frozen=True)
class GoalRequest:
    """A goal as the modal collected it."""

    kpi: str
    period: Period
    target: float
    scope: Scope
    rep_slack_id: str | None = None
    team: str | None = None
    valid_from: date | None = None


def set_goal(deps: BotDeps, viewer: RepProfile | None, request: GoalRequest) -> Goal:
    """Store a goal for a rep, a team or everyone; managers only for their own reports."""
    setter = check_goal_setter(deps, viewer)
    with deps.uow() as stores:
        scope_value = _goal_scope_value(deps, stores, setter, request)
        goal = Goal(
            request.kpi,
            request.period,
            request.target,
            request.scope,
            scope_value,
            request.valid_from,
        )
        return stores.goals.add_goal(goal, origin="slack", created_by=setter.email, now=deps.now())


def _goal_scope_value(
    deps: BotDeps, stores: Stores, setter: RepProfile, request: GoalRequest
) -> str | None:
    admin = is_admin(setter, deps.admins)
    if request.scope is Scope.REP:
        rep = stores.directory.by_slack_id(request.rep_slack_id) if request.rep_slack_id else None
        mine = {r.id for r in stores.directory.reports_of(setter.id)}
        if rep is None or not (admin or rep.id in mine):
            raise NotAllowed("You can set goals only for reps who report to you.")
        return rep.email
    if request.scope is Scope.TEAM:
        if not request.team:
            raise BadInput("Name the team the goal is for.")
        teams = {(r.team or "").casefold() for r in stores.directory.reports_of(setter.id)}
        if not admin and request.team.casefold() not in teams:
            raise NotAllowed("You can set team goals only for teams in your reporting line.")
        return request.team
    if not admin:
        raise NotAllowed("Only Pacesetter admins can set a goal for everyone.")
    return None


def home(deps: BotDeps, rep: RepProfile) -> HomeView:
    """Return the App Home of ``rep``: their week, and their reports' pacing if they manage."""
    with deps.read_uow() as stores:
        card = _card(deps, stores, rep, Period.WEEK)
        viewer = viewer_of(rep, deps.admins)
        team: list[TeamRow] = []
        if viewer.role is not Role.REP:
            scorecards: Scorecards = deps.scorecards(stores)
            for report in stores.directory.reports_of(rep.id):
                if report.role != "rep":
                    continue
                team.append(
                    TeamRow(
                        report,
                        scorecards.scorecard(report, Period.WEEK, deps.now(), with_ranks=False),
                    )
                )
        coaching = _coaching_home(deps, stores, rep, viewer)
    return HomeView(rep, card, team, can_set_goals(rep, deps.admins), coaching)


def _coaching_home(deps: BotDeps, stores: Stores, rep: RepProfile, viewer: Viewer) -> CoachingHome:
    today = deps.now().astimezone(zone(rep.timezone, deps.org_timezone)).date()
    shared = stores.coaching.notes_about(rep.id, Viewer(rep.id, Role.REP), HOME_NOTES)
    if viewer.role is Role.REP:
        return CoachingHome(today, shared_with_me=shared)
    return CoachingHome(
        today,
        written=stores.coaching.written_by(rep.id, HOME_NOTES),
        follow_ups=stores.coaching.open_follow_ups(rep.id, HOME_FOLLOW_UPS),
        shared_with_me=shared,
    )


def link(
    deps: BotDeps, viewer: RepProfile | None, slack_user_id: str, email: str
) -> tuple[RepProfile, LinkChange]:
    """Link a Slack user to the rep with ``email`` (admins only)."""
    with deps.uow() as stores:
        return link_by_admin(
            viewer,
            deps.admins,
            stores.directory,
            deps.slack_directory,
            slack_user_id=slack_user_id,
            email=email,
        )


def set_opt_out(deps: BotDeps, rep: RepProfile, opt_out: bool) -> None:
    """Hide the rep from (or show them again on) public leaderboards."""
    with deps.uow() as stores:
        stores.directory.set_public_opt_out(rep.id, opt_out)
