"""The composition root and the `pacesetter` command.

Only this module builds engines, CRM clients, the Bolt app and the scheduler; every other
module receives what it needs from here.
"""

from __future__ import annotations

import csv
import gc
import json
import logging
import secrets
import sys
import threading
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from functools import cached_property
from pathlib import Path
from time import monotonic, sleep
from typing import Annotated, Any

import click
import sqlalchemy.exc
import typer
import yaml
from apscheduler.schedulers.background import BackgroundScheduler
from pydantic import SecretStr
from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table
from slack_bolt import App
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from sqlalchemy import Engine

from bot import charts
from bot.app_factory import create_app
from bot.deps import BotDeps, Stores
from bot.server import make_http_server, serve_in_thread
from bot.socket_mode import PacesetterSocketModeHandler
from bot.tv import TvServer
from config import (
    DEMO_DATABASE_URL,
    AppConfig,
    ConfigError,
    Settings,
    demo_config_path,
    load_app_config,
    load_settings,
)
from domain import contest_service
from domain.brief import BriefRules, coaching_brief
from domain.calendar import WorkCalendar
from domain.coaching import Role, Viewer, can_coach
from domain.contests import (
    Contest,
    ContestError,
    ContestRules,
    ParticipantSpec,
    Rule,
    Scoring,
    Standings,
    format_score,
)
from domain.diagnosis import DiagnosisRules
from domain.glance import glance_json, team_glance
from domain.goals import Goal, InvalidGoal, Scope
from domain.identity import MatchReport, match_reps, viewer_of
from domain.kpis import KpiCatalog, KpiDefinition, UnknownKpi
from domain.leaderboard import RankBy
from domain.nudges import NudgeAction, PreferenceChange, preference_change
from domain.ports import (
    CrmSource,
    MetricsStore,
    PageStats,
    RepProfile,
    SourceError,
    SyncStore,
)
from domain.records import CrmObject
from domain.scorecard import ACTIVITY_SCORE, RankCache, ScorecardRules, Scorecards
from domain.timeutil import Period, local_day, period_to_date, zone
from domain.tv import BIG_DEAL, TvSettings, TvSnapshot
from domain.tv import snapshot as tv_snapshot
from integrations.sandbox import SandboxOrg, SandboxSource
from integrations.slack_directory import SlackUserDirectory
from integrations.slack_poster import WebClientPoster, make_client
from integrations.slack_standin import Member, SlackStandin
from jobs.content import ScorecardWriter
from jobs.contests import ContestPolicy, ContestRunSummary, policy_from_config, run_contests
from jobs.dispatcher import DispatchPolicy
from jobs.nudges import org_calendar
from jobs.registry import build_jobs
from jobs.runner import JobDeps, JobUnit, Runner
from jobs.scheduler import run_worker
from jobs.scheduler import start_scheduler as _start_scheduler
from jobs.sync import SyncSummary, run_sync
from storage import migrate
from storage.coach_reads import SqlCoachReads
from storage.coaching import SqlCoachingStore
from storage.contests import SqlContestStore
from storage.db import DatabaseUnavailable, check_database, make_engine, session_scope
from storage.directory import SqlDirectory
from storage.goals import SqlGoalStore
from storage.job_store import SqlJobStore
from storage.locks import run_lock_for
from storage.metrics import SqlMetricsStore
from storage.notes import manager_chain, notes_about
from storage.outbox import SqlOutboxStore
from storage.queries import UnknownRep, active_sellers, kpi_totals, rep_by_email
from storage.requests import SqlRequestLedger
from storage.sync_store import SqlSyncStore

log = logging.getLogger("pacesetter")
console = Console()
err_console = Console(stderr=True)

cli = typer.Typer(
    name="pacesetter",
    help="Pacesetter: scorecards, pacing nudges, coaching and contests in Slack from your CRM.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
db_cli = typer.Typer(help="Database schema (Alembic migrations).", no_args_is_help=True)
cli.add_typer(db_cli, name="db")
notes_cli = typer.Typer(help="Coaching notes.", no_args_is_help=True)
cli.add_typer(notes_cli, name="notes")
contest_cli = typer.Typer(
    help="Contests (spiffs): create, list, show, cancel.", no_args_is_help=True
)
cli.add_typer(contest_cli, name="contest")

jobs_cli = typer.Typer(help="Scheduled jobs: list them, or run one now.", no_args_is_help=True)
cli.add_typer(jobs_cli, name="jobs")


class UsageProblem(ValueError):
    """Bad command-line input, worded for the person typing it."""


USER_ERRORS: tuple[type[Exception], ...] = (
    ConfigError,
    DatabaseUnavailable,
    UnknownRep,
    UsageProblem,
    InvalidGoal,
    UnknownKpi,
    SourceError,
    ContestError,
)


# `/mystats` periods whose rank tables are rebuilt after each data change (day is cheap).
WARM_PERIODS = (Period.WEEK, Period.MONTH, Period.QUARTER)

# composition ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class ContestUnitImpl:
    """The contests job's stores on one session (``jobs.contests.ContestUnit``)."""

    contests: SqlContestStore
    outbox: SqlOutboxStore
    goals: SqlGoalStore


@dataclass(frozen=True)
class FollowUpUnitImpl:
    """The `followups` job's stores on one session (``jobs.followups.FollowUpUnit``)."""

    notes: SqlCoachingStore
    outbox: SqlOutboxStore
    cards: Scorecards
    labels: dict[str, str]

    def scorecard(self, rep: RepProfile, now: datetime) -> dict[str, object]:
        """Return the rep's live week scorecard (what the note's frozen copy is compared with)."""
        return self.cards.scorecard(rep, Period.WEEK, now, with_ranks=False).to_json()

    def kpi_label(self, kpi: str) -> str:
        """Return a KPI's display label."""
        return self.labels.get(kpi, kpi.replace("_", " "))


@dataclass
class JobsUnit:
    """The stores of one job transaction (jobs.runner.JobUnit), sharing one session."""

    session: Any
    outbox: SqlOutboxStore
    store: SqlJobStore
    sync: SqlSyncStore
    metrics: SqlMetricsStore


@dataclass
class Runtime:
    """Settings, config and the objects built from them, created lazily and only here."""

    settings: Settings
    config: AppConfig
    clock: DemoClock | None = None
    # Set by `pacesetter run`: this process answers Slack, so warming its caches pays off.
    serves_bot: bool = False

    @cached_property
    def engine(self) -> Engine:
        """Return the engine for DATABASE_URL after checking it answers."""
        engine = make_engine(self.settings.database_url)
        check_database(engine)
        return engine

    @cached_property
    def definitions(self) -> tuple[KpiDefinition, ...]:
        """Return the KPI definitions in force."""
        return self.config.kpi_definitions()

    def now(self) -> datetime:
        """Return the current instant (the one place the real clock is read)."""
        if self.clock is not None:
            return self.clock.now()
        return self.settings.pacesetter_now or datetime.now(UTC)

    def org_today(self) -> date:
        """Return today's date in the org's time zone."""
        return local_day(self.now(), zone(self.config.org.timezone))

    def upgrade(self) -> None:
        """Bring the schema to the latest migration."""
        migrate.upgrade(self.engine)

    @contextmanager
    def sync_store(self) -> Iterator[SyncStore]:
        """Yield a sync store inside one committed transaction."""
        with session_scope(self.engine) as session:
            yield SqlSyncStore(
                session, org_timezone=self.config.org.timezone, admins=self.config.admins
            )

    @contextmanager
    def job_unit(self) -> Iterator[JobsUnit]:
        """Yield the stores of one job transaction, all on one session."""
        with session_scope(self.engine) as session:
            yield JobsUnit(
                session=session,
                outbox=SqlOutboxStore(session),
                store=SqlJobStore(session),
                sync=SqlSyncStore(
                    session, org_timezone=self.config.org.timezone, admins=self.config.admins
                ),
                metrics=SqlMetricsStore(session),
            )

    @cached_property
    def slack_poster(self) -> WebClientPoster | None:
        """Return the poster for scheduled messages, or None when SLACK_BOT_TOKEN is unset."""
        token = self.settings.slack_bot_token
        if token is None:
            return None
        return WebClientPoster(make_client(token.get_secret_value(), self.settings.slack_api_url))

    def content_writer(self, unit: JobUnit) -> ScorecardWriter:
        """Return what writes nudges and digests from the scorecards, on the unit's session."""
        assert isinstance(unit, JobsUnit)
        goals = SqlGoalStore(unit.session).goals()
        kpis = KpiCatalog(self.definitions)
        rules = scorecard_rules(self.config)

        version = unit.metrics.data_version()

        def cards(metrics: MetricsStore) -> Scorecards:
            return Scorecards(
                metrics, goals, kpis, rules, rank_cache=self.rank_cache, data_version=version
            )

        return ScorecardWriter(
            cards, unit.metrics, unit.store, shared=self.rank_cache, version=version
        )

    def job_runner(self, *, sleep: Callable[[float], None] = sleep) -> Runner:
        """Return the job runner over the job table, with goals from the config mirrored."""
        with session_scope(self.engine) as session:
            SqlGoalStore(session).replace_config_goals(config_goals(self.config), now=self.now())
        deps = JobDeps(
            config=self.config,
            definitions=self.definitions,
            now=self.now,
            unit=self.job_unit,
            lock=run_lock_for(self.engine),
            writer=self.content_writer,
            sources=self.sources,
            sync_uow=self.sync_store,
            poster=lambda: self.slack_poster,
            sleep=sleep,
            contests=self.contest_unit,
            follow_ups=self.follow_up_unit,
            after_data_change=self.warm_rank_tables if self.serves_bot else None,
        )
        return Runner(deps, build_jobs(self.config))

    def warm_rank_tables(self) -> None:
        """Rank everyone for the periods `/mystats` shows, on the data just written."""
        started = monotonic()
        with self.bot_read_stores() as stores:
            built = self.scorecards_for(stores).warm_ranks(WARM_PERIODS, self.now())
        log.info("rank tables warmed: %d in %.1fs", built, monotonic() - started)

    def warm_up_bot(self) -> threading.Thread:
        """Start, in the background, what the first commands after start-up would wait for.

        matplotlib's import (the trend chart) and the rank tables (every rep ranked for each
        period and local day) are otherwise paid by the first reps to type `/mystats`; the
        jobs keep the tables warm after each sync, but a restart begins with none. Then what
        start-up loaded (modules, classes, the first tables) is moved out of the garbage
        collector's sight (`gc.freeze`): it lives as long as the process, and each full
        collection walking it again would pause every request (80 ms at 10,000 reps).
        """

        def warm() -> None:
            chart_library = charts.warm_up()
            try:
                self.warm_rank_tables()
            except Exception:  # a cold cache is slower, never wrong: the bot still serves
                log.exception("could not warm the rank tables at start-up")
            chart_library.join()
            gc.collect()  # nothing collectable is frozen with the rest
            gc.freeze()

        thread = threading.Thread(target=warm, name="pacesetter-warm-up", daemon=True)
        thread.start()
        return thread

    @contextmanager
    def follow_up_unit(self) -> Iterator[FollowUpUnitImpl]:
        """Yield the `followups` job's stores on one session, committed on exit."""
        with session_scope(self.engine) as session:
            cards = Scorecards(
                SqlMetricsStore(session),
                SqlGoalStore(session).goals(),
                KpiCatalog(self.definitions),
                scorecard_rules(self.config),
            )
            yield FollowUpUnitImpl(
                notes=SqlCoachingStore(session),
                outbox=SqlOutboxStore(session),
                cards=cards,
                labels={d.name: d.label for d in self.definitions},
            )

    def sources(self, only: str | None = None) -> list[CrmSource]:
        """Return the configured CRM sources (the sandbox when none is configured)."""
        names = [only] if only else (self.config.sources or self._configured_sources())
        result: list[CrmSource] = []
        for name in names:
            if name == "sandbox":
                result.append(self.sandbox_source())
            elif name == "salesforce":
                from integrations.salesforce.factory import source_from_settings

                result.append(
                    source_from_settings(self.settings, self.config.salesforce, clock=self.now)
                )
            elif name == "hubspot":
                from integrations.hubspot.factory import source_from_settings as hubspot_source

                result.append(hubspot_source(self.settings, self.config.hubspot, clock=self.now))
            else:
                raise ConfigError(
                    f"the {name} connector is not available in this build; use --source sandbox"
                )
        return result

    def _configured_sources(self) -> list[str]:
        names = []
        if self.settings.salesforce_instance_url or self.settings.salesforce_username:
            names.append("salesforce")
        if self.settings.hubspot_access_token:
            names.append("hubspot")
        return names or ["sandbox"]

    def sandbox_source(self) -> SandboxSource:
        """Return the simulated org configured in the YAML `sandbox` section."""
        sandbox = self.config.sandbox
        org = SandboxOrg(
            seed=sandbox.seed,
            reps=sandbox.reps,
            history_days=sandbox.history_days,
            timezone=self.config.org.timezone,
        )
        return SandboxSource(org, now=self.now)

    # the Slack bot ---------------------------------------------------------------------------

    @cached_property
    def read_engine(self) -> Engine:
        """Return an engine whose reads never queue behind a writer (the bot's ack path)."""
        return make_engine(self.settings.database_url, read_only=True)

    def _bot_stores(self, engine: Engine) -> AbstractContextManager[Stores]:
        @contextmanager
        def scope() -> Iterator[Stores]:
            with session_scope(engine) as session:
                yield Stores(
                    directory=SqlDirectory(session, org_timezone=self.config.org.timezone),
                    metrics=SqlMetricsStore(session),
                    goals=SqlGoalStore(session),
                    coaching=SqlCoachingStore(session),
                    contests=SqlContestStore(session),
                    coach_reads=SqlCoachReads(session),
                )

        return scope()

    def bot_stores(self) -> AbstractContextManager[Stores]:
        """Return a unit of work over the bot's ports that commits on exit."""
        return self._bot_stores(self.engine)

    def bot_read_stores(self) -> AbstractContextManager[Stores]:
        """Return a read-only unit of work (nothing it does is committed)."""
        return self._bot_stores(self.read_engine)

    @cached_property
    def rank_cache(self) -> RankCache:
        """Return the bot's rank tables, shared by requests while the data is unchanged."""
        return RankCache()

    def scorecards_for(self, stores: Stores) -> Scorecards:
        """Return the scorecard service over one unit of work's stores."""
        metrics = stores.metrics
        version = metrics.data_version() if isinstance(metrics, SqlMetricsStore) else None
        # Goal writes move the data version, so the goals read once serve every request on it.
        goals = (
            stores.goals.goals()
            if version is None
            else self.rank_cache.shared(("goals", version), lambda: tuple(stores.goals.goals()))
        )
        return Scorecards(
            metrics,
            goals,
            KpiCatalog(self.definitions),
            scorecard_rules(self.config),
            rank_cache=self.rank_cache,
            data_version=version,
        )

    def slack_client(self) -> WebClient:
        """Return the Web API client for SLACK_BOT_TOKEN at SLACK_API_URL."""
        token = self.settings.slack_bot_token
        if token is None:
            raise ConfigError(
                "SLACK_BOT_TOKEN is not set; install the Slack app (docs/slack-install.md) "
                "and export its Bot User OAuth Token"
            )
        return WebClient(token=token.get_secret_value(), base_url=self.settings.slack_api_url)

    def bot_deps(self, client: WebClient) -> BotDeps:
        """Return what the bot's listeners need."""
        return BotDeps(
            uow=self.bot_stores,
            read_uow=self.bot_read_stores,
            slack_directory=SlackUserDirectory(client),
            scorecards=self.scorecards_for,
            now=self.now,
            kpi_names=tuple(d.name for d in self.definitions),
            kpi_labels={d.name: d.label for d in self.definitions},
            admins=frozenset(a.lower() for a in self.config.admins),
            org_timezone=self.config.org.timezone,
            calendar=scorecard_rules(self.config).calendar,
            brief_rules=brief_rules(self.config),
            nudge_action=self._nudge_action,
            claim_request=self.claim_slack_request,
        )

    def claim_slack_request(self, key: str) -> bool:
        """Claim a Slack request's key in the shared database (True the first time only)."""
        with session_scope(self.engine) as session:
            return SqlRequestLedger(session).claim(key, now=self.now())

    def _nudge_action(self, rep_id: int, action_id: str, nudge_date: date) -> str:
        change = apply_nudge_action(self, rep_id=rep_id, action_id=action_id, nudge_date=nudge_date)
        if change.snoozed_until is not None:
            return f"Snoozed: no nudge until {change.snoozed_until:%A %d %b}."
        mode = change.mode.value if change.mode else "unchanged"
        return {
            "weekly": "Done: you'll get a weekly digest on Mondays instead of daily nudges.",
            "daily": "Done: daily nudges are back on.",
            "off": "Done: no more nudges. Ask your Pacesetter admin to turn them back on.",
        }.get(mode, "Saved.")

    def bolt_app(self, client: WebClient, *, socket_mode: bool) -> App:
        """Return the Bolt app (the only place it is built)."""
        secret = self.settings.slack_signing_secret
        if secret is None and not socket_mode:
            raise ConfigError(
                "SLACK_SIGNING_SECRET is not set; copy it from your Slack app's Basic "
                "Information page (or set SLACK_APP_TOKEN to use Socket Mode)"
            )
        return create_app(
            client,
            self.bot_deps(client),
            signing_secret=secret.get_secret_value() if secret else None,
            socket_mode=socket_mode,
        )

    def connect_socket_mode(self, app: App) -> PacesetterSocketModeHandler:
        """Connect ``app`` to Slack over Socket Mode, as `pacesetter run` does, or fail clearly.

        Once connected the handler follows Slack's ``disconnect`` requests to new URLs by
        itself. A token Slack refuses is a ConfigError that says what to fix, not a traceback.
        """
        token = self.settings.slack_app_token
        if token is None:
            raise ConfigError(f"SLACK_APP_TOKEN is not set; {SOCKET_MODE_FIX}")
        handler = PacesetterSocketModeHandler(app, token.get_secret_value())
        try:
            handler.connect()
        except SlackApiError as exc:
            handler.close()
            raise ConfigError(app_token_problem(str(exc.response.get("error")))) from None
        except OSError as exc:
            handler.close()
            raise ConfigError(f"could not reach Slack to open Socket Mode: {exc}") from None
        if not handler.client.is_connected():
            handler.close()
            raise ConfigError(
                "Slack gave a Socket Mode URL but the WebSocket did not open (see the log "
                "above); check that this host may open outbound wss:// connections to Slack"
            )
        return handler

    def load_config_goals(self) -> int:
        """Mirror the YAML config's goals into the database (replacing earlier config goals)."""
        with self.bot_stores() as stores:
            return stores.goals.replace_config_goals(config_goals(self.config), now=self.now())

    def tv_settings(self) -> TvSettings:
        """Return what the office TV shows: the outcome and activity KPIs that exist."""
        wanted = ("won_amount", "wins", "meaningful_conversations", "conversations")
        known = {d.name: d for d in self.definitions}
        kpis = tuple(k for k in wanted if k in known)
        return TvSettings(
            kpis=kpis,
            labels=tuple((k, known[k].label) for k in known),
            units=tuple((k, known[k].unit) for k in known),
            title=self.config.org.name,
            org_timezone=self.config.org.timezone,
            big_deal_amount=self.config.contests.recognition.big_deal_amount or BIG_DEAL,
        )

    def tv_snapshot(self) -> TvSnapshot:
        """Return the office TV's boards and splashes now (read-only)."""
        with session_scope(self.read_engine) as session:
            return tv_snapshot(
                SqlMetricsStore(session),
                SqlContestStore(session),
                self.tv_settings(),
                now=self.now(),
            )

    def match_slack_users(self, client: WebClient) -> MatchReport:
        """Link unmatched reps to Slack users by email; return what was linked and what not."""
        with self.bot_stores() as stores:
            return match_reps(stores.directory, SlackUserDirectory(client))

    # contests --------------------------------------------------------------------------------

    @contextmanager
    def contest_unit(self) -> Iterator[ContestUnitImpl]:
        """Yield the contests job's stores on one session, committed on exit."""
        with session_scope(self.engine) as session:
            yield ContestUnitImpl(
                contests=SqlContestStore(session),
                outbox=SqlOutboxStore(session),
                goals=SqlGoalStore(session),
            )

    def contest_policy(self) -> ContestPolicy:
        """Return the contests job's cadence and recognition rules from the YAML config."""
        return policy_from_config(self.config)

    def run_contests(self, *, final_sync: Callable[[], None] | None = None) -> ContestRunSummary:
        """Run the contests job once (standings, winners, corrections, recognition)."""
        return run_contests(
            self.contest_unit, now=self.now(), policy=self.contest_policy(), final_sync=final_sync
        )


SOCKET_MODE_FIX = (
    "it must be the app-level token (xapp-...) with the connections:write scope, from your "
    "Slack app's Basic Information -> App-Level Tokens (the bot token xoxb-... does not work "
    "here); or run `pacesetter run --http` to serve HTTP instead"
)


def app_token_problem(error: str) -> str:
    """Say what to do when apps.connections.open refuses SLACK_APP_TOKEN with ``error``."""
    return f"Slack refused SLACK_APP_TOKEN for Socket Mode ({error}): {SOCKET_MODE_FIX}"


def runtime(*, demo: bool = False) -> Runtime:
    """Load settings and the YAML config, or fail with one sentence.

    With ``demo`` the embedded demo config and database are used unless the environment
    names its own, so a demo never mixes sandbox data into a real database.
    """
    settings = load_settings()
    if demo:
        if "database_url" not in settings.model_fields_set:
            settings = settings.model_copy(update={"database_url": DEMO_DATABASE_URL})
        if settings.pacesetter_config is None:
            settings = settings.model_copy(update={"pacesetter_config": demo_config_path()})
    return Runtime(settings=settings, config=load_app_config(settings.pacesetter_config))


# helpers -------------------------------------------------------------------------------------


def parse_day(value: str | None, option: str, default: date) -> date:
    """Parse YYYY-MM-DD or raise a UsageProblem naming the option."""
    if value is None:
        return default
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise UsageProblem(f"{option} '{value}' is not a date; use YYYY-MM-DD") from None


def parse_period(value: str) -> Period:
    """Parse a period name or raise a UsageProblem listing the valid ones."""
    try:
        return Period(value.lower())
    except ValueError:
        valid = ", ".join(p.value for p in Period)
        raise UsageProblem(f"period '{value}' is not one of: {valid}") from None


def sync_sources(rt: Runtime, only: str | None = None, *, full: bool = False) -> list[SyncSummary]:
    """Sync each source with a progress bar on a terminal and a summary line otherwise."""
    summaries = []
    for source in rt.sources(only):
        if console.is_terminal:
            with Progress(
                TextColumn("[bold]{task.description}"),
                BarColumn(bar_width=None),
                TextColumn("{task.completed} records"),
                TimeElapsedColumn(),
                console=console,
                transient=True,
            ) as bar:
                summary = run_sync(
                    source,
                    rt.sync_store,
                    rt.definitions,
                    now=rt.now,
                    full=full,
                    progress=_progress_callback(bar, source.name),
                )
        else:
            summary = run_sync(source, rt.sync_store, rt.definitions, now=rt.now, full=full)
        console.print(summary.line(), highlight=False, soft_wrap=True)
        summaries.append(summary)
    return summaries


def _progress_callback(bar: Progress, source: str) -> Callable[[CrmObject, PageStats], None]:
    tasks: dict[CrmObject, Any] = {}

    def advance(obj: CrmObject, stats: PageStats) -> None:
        if obj not in tasks:
            tasks[obj] = bar.add_task(f"{source} {obj.value}", total=None)
        bar.advance(tasks[obj], stats.upserted + stats.deleted)

    return advance


# commands ------------------------------------------------------------------------------------


@db_cli.command("upgrade")
def db_upgrade() -> None:
    """Apply every pending migration to DATABASE_URL."""
    rt = runtime()
    rt.upgrade()
    with rt.engine.connect():
        pass
    console.print(f"Database at revision {migrate.current_revision(rt.engine)}.")


@cli.command()
def sync(
    source: Annotated[
        str | None,
        typer.Option(help="Only this source: salesforce, hubspot or sandbox."),
    ] = None,
    full: Annotated[
        bool, typer.Option("--full", help="Ignore cursors and pull everything.")
    ] = False,
) -> None:
    """Pull CRM changes incrementally and roll them up into daily snapshots."""
    if source is not None and source not in ("salesforce", "hubspot", "sandbox"):
        raise UsageProblem(f"--source '{source}' is not one of: salesforce, hubspot, sandbox")
    rt = runtime()
    rt.upgrade()
    # A one-shot process: what start-up loaded lives until it exits. Out of the collector's
    # sight, the collections a sync of millions of rows sets off do not walk it each time.
    gc.collect()
    gc.freeze()
    sync_sources(rt, source, full=full)


@cli.command()
def stats(
    rep: Annotated[str, typer.Option(help="The rep's email address.")],
    period: Annotated[str, typer.Option(help="day, week, month or quarter.")] = "week",
    as_of: Annotated[
        str | None, typer.Option("--as-of", help="YYYY-MM-DD (default today).")
    ] = None,
    as_json: Annotated[
        bool, typer.Option("--json", help="Print JSON (the /mystats numbers).")
    ] = False,
) -> None:
    """Print a rep's KPIs for a period, as /mystats shows them."""
    rt = runtime()
    the_period = parse_period(period)
    with session_scope(rt.engine) as session:
        person = rep_by_email(session, email=rep)
        tz = zone(person.timezone, rt.config.org.timezone)
        day = parse_day(as_of, "--as-of", local_day(rt.now(), tz))
        report = stats_report(rt, session, person, the_period, day, live=as_of is None)
    if as_json:
        sys.stdout.write(json.dumps(report, indent=2) + "\n")
    else:
        print_stats(report)


def stats_report(
    rt: Runtime, session: Any, person: Any, period: Period, day: date, *, live: bool = False
) -> dict[str, Any]:
    """Return the DESIGN.md `stats --json` shape for one rep, with goals, pace and ranks.

    With ``live`` the pace counts the share of today's working hours passed in the rep's
    zone; otherwise ``day`` counts as complete (how `--as-of` reads).
    """
    cards = scorecards(rt, session)
    profile = cards.store.rep_by_email(person.email)
    if profile is None:
        raise UnknownRep(f"No rep with email '{person.email}'.")
    when: datetime | date = rt.now() if live else day
    by = RankBy(rt.config.scorecards.rank_by)
    return cards.scorecard(profile, period, when, by=by, score_ranks=True).to_json()


def _compact(kpi: str, value: float) -> str:
    """Format a leaderboard cell narrowly: money in thousands, counts with separators."""
    if kpi == "won_amount":
        return f"${value / 1000:,.0f}k" if value else "0"
    return f"{_number(value):,}"


def _number(value: float) -> float | int:
    return int(value) if float(value).is_integer() else round(value, 2)


def print_stats(report: dict[str, Any]) -> None:
    """Print a scorecard table for a terminal."""
    period = report["period"]
    table = Table(
        title=f"{report['name']} — {period['name']} {period['start']} to {period['as_of']}",
        title_justify="left",
    )
    for column in ("KPI", "Actual", "Goal", "Expected", "Status", "Rank"):
        table.add_column(column, justify="left" if column in ("KPI", "Status") else "right")
    for name, kpi in report["kpis"].items():
        rank = report["rank"].get(name, {})
        table.add_row(
            name.replace("_", " "),
            f"{kpi['actual']:,}",
            "—" if kpi["goal"] is None else f"{kpi['goal']:,}",
            "—" if kpi["expected_to_date"] is None else f"{kpi['expected_to_date']:,}",
            kpi["status"].replace("_", " "),
            f"{rank.get('position', '—')} of {rank.get('of', '—')}",
        )
    console.print(table)
    console.print(f"Data as of {report['data_as_of'] or 'never synced'}.", style="dim")


@notes_cli.command("export")
def notes_export(
    rep: Annotated[str, typer.Option(help="The rep's email address.")],
    fmt: Annotated[str, typer.Option("--format", help="csv or json.")] = "csv",
    as_manager: Annotated[
        str | None,
        typer.Option("--as", help="Export only what this manager, admin or rep may read."),
    ] = None,
) -> None:
    """Export every coaching note about a rep, with its frozen scorecard, for reviews."""
    if fmt not in ("csv", "json"):
        raise UsageProblem(f"--format '{fmt}' is not one of: csv, json")
    rt = runtime()
    with session_scope(rt.engine) as session:
        person = rep_by_email(session, email=rep)
        viewer = None
        if as_manager is not None:
            viewer = cli_viewer(rt, session, as_manager)
            chain = manager_chain(session, rep_id=person.id or 0)
            if viewer.rep_id != person.id and not can_coach(viewer, person.id or 0, chain):
                raise UsageProblem(
                    f"{as_manager} is not {person.email}'s manager or an admin, "
                    "so their coaching notes are not exported"
                )
        notes = notes_about(session, rep_id=person.id or 0, viewer=viewer)
    rows = [note.export_row() for note in notes]
    if fmt == "json":
        for row, note in zip(rows, notes, strict=True):
            row["scorecard"] = note.scorecard
        sys.stdout.write(json.dumps(rows, indent=2, ensure_ascii=False) + "\n")
        return
    writer = csv.DictWriter(sys.stdout, fieldnames=list(NOTE_COLUMNS), lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)


NOTE_COLUMNS = (
    "id",
    "created_at",
    "manager",
    "rep",
    "template",
    "text",
    "actions",
    "follow_up_on",
    "done",
    "done_at",
    "shared_with_rep",
    "scorecard",
)


def cli_viewer(rt: Runtime, session: Any, email: str) -> Viewer:
    """Return the coaching viewer for the person ``--as`` names (admins by config or role)."""
    caller = rep_by_email(session, email=email)
    admin = caller.email.lower() in {a.lower() for a in rt.config.admins}
    role = Role.ADMIN if admin else Role(caller.role if caller.role in set(Role) else "rep")
    return Viewer(caller.id or 0, role)


# scorecards, goals and coaching ----------------------------------------------------------------

goal_cli = typer.Typer(
    help="KPI goals per period for a rep, a team or everyone.", no_args_is_help=True
)
cli.add_typer(goal_cli, name="goal")


def scorecard_rules(config: AppConfig) -> ScorecardRules:
    """Turn the YAML `org` and `scorecards` sections into the domain's plain values."""
    section = config.scorecards
    days = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
    calendar = WorkCalendar(
        holidays=frozenset(config.org.holidays),
        weekend=frozenset(n for n, d in enumerate(days) if d not in config.org.working_days),
        day_start=section.workday_start,
        day_end=section.workday_end,
    )
    return ScorecardRules(
        calendar=calendar,
        org_timezone=config.org.timezone,
        band=section.band,
        cap=section.score_cap,
        activity_weights=section.activity_weights,
        results_weights=section.results_weights,
    )


def config_goals(config: AppConfig) -> list[Goal]:
    """Return the goals of the YAML config as domain goals."""
    goals = []
    for g in config.goals:
        scope = Scope.REP if g.rep else Scope.TEAM if g.team else Scope.EVERYONE
        goals.append(
            Goal(
                g.kpi, Period(g.period), g.target, scope, g.rep or g.team, g.valid_from, g.valid_to
            )
        )
    return goals


def scorecards(rt: Runtime, session: Any) -> Scorecards:
    """Mirror the config's goals into the database and build the scorecard service."""
    store = SqlGoalStore(session)
    store.replace_config_goals(config_goals(rt.config), now=rt.now())
    kpis = KpiCatalog(rt.definitions)
    return Scorecards(SqlMetricsStore(session), store.goals(), kpis, scorecard_rules(rt.config))


def brief_rules(config: AppConfig) -> BriefRules:
    """Return the coaching brief's window and thresholds from the config."""
    section = config.scorecards
    return BriefRules(
        window_days=section.diagnosis_days,
        peers=section.diagnosis_peers,
        diagnosis=DiagnosisRules(min_sample=section.min_sample, min_peers=section.min_peers),
    )


@goal_cli.command("set")
def goal_set(  # noqa: PLR0917 - Typer options are parameters
    kpi: Annotated[str, typer.Option(help="The KPI name, e.g. prospecting.")],
    period: Annotated[str, typer.Option(help="day, week, month or quarter.")],
    target: Annotated[float, typer.Option(help="The target for one period.")],
    rep: Annotated[str | None, typer.Option(help="For one rep (email).")] = None,
    team: Annotated[str | None, typer.Option(help="For one team (name).")] = None,
    everyone: Annotated[bool, typer.Option("--everyone", help="For every rep.")] = False,
    valid_from: Annotated[str | None, typer.Option("--from", help="YYYY-MM-DD.")] = None,
    valid_to: Annotated[str | None, typer.Option("--to", help="YYYY-MM-DD.")] = None,
) -> None:
    """Set a goal; a rep's goal beats their team's, which beats everyone's."""
    if sum([rep is not None, team is not None, everyone]) > 1:
        raise UsageProblem("give only one of --rep, --team or --everyone")
    rt = runtime()
    KpiCatalog(rt.definitions).get(kpi)
    scope = Scope.REP if rep else Scope.TEAM if team else Scope.EVERYONE
    start = parse_day(valid_from, "--from", date.min) if valid_from else None
    end = parse_day(valid_to, "--to", date.max) if valid_to else None
    goal = Goal(kpi, parse_period(period), target, scope, rep or team, start, end)
    rt.upgrade()
    with session_scope(rt.engine) as session:
        if rep:
            rep_by_email(session, email=rep)
        saved = SqlGoalStore(session).add_goal(goal, origin="cli", created_by=None, now=rt.now())
    console.print(f"Goal #{saved.id}: {_describe_goal(saved)}", highlight=False)


def _describe_goal(goal: Goal) -> str:
    who = "everyone" if goal.scope is Scope.EVERYONE else f"{goal.scope} {goal.scope_value}"
    span = f" from {goal.valid_from or 'always'} to {goal.valid_to or 'open'}"
    return f"{goal.kpi} {_number(goal.target)} per {goal.period} for {who}{span}"


@goal_cli.command("list")
def goal_list(
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """List the goals in force: the YAML config's and those set from the CLI or Slack."""
    rt = runtime()
    with session_scope(rt.engine) as session:
        goals = scorecards(rt, session).resolver_goals()
    rows = [
        {
            "id": g.id,
            "kpi": g.kpi,
            "period": g.period.value,
            "target": _number(g.target),
            "scope": g.scope.value,
            "for": g.scope_value,
            "from": g.valid_from.isoformat() if g.valid_from else None,
            "to": g.valid_to.isoformat() if g.valid_to else None,
        }
        for g in goals
    ]
    if as_json:
        sys.stdout.write(json.dumps(rows, indent=2) + "\n")
        return
    table = Table(title="Goals", title_justify="left")
    for column in ("id", "kpi", "period", "target", "scope", "for", "from", "to"):
        table.add_column(column)
    for row in rows:
        table.add_row(*("—" if v is None else str(v) for v in row.values()))
    console.print(table)


@cli.command()
def coach(  # noqa: PLR0917 - Typer options are parameters
    rep: Annotated[str | None, typer.Option(help="The rep's email address.")] = None,
    as_of: Annotated[
        str | None, typer.Option("--as-of", help="YYYY-MM-DD (default today).")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON (the /coach brief).")] = False,
    as_manager: Annotated[
        str | None,
        typer.Option("--as", help="Include the coaching notes this manager or admin may read."),
    ] = None,
    team: Annotated[
        bool,
        typer.Option("--team", help="The team at a glance that `/coach` alone shows --as someone."),
    ] = False,
    team_name: Annotated[
        str | None, typer.Option("--team-name", help="With --team: only this team.")
    ] = None,
) -> None:
    """Print the coaching brief (--rep), or the team at a glance (--team --as MANAGER_EMAIL)."""
    if team:
        coach_team_cli(as_manager, team_name, as_json)
        return
    if rep is None:
        raise UsageProblem(
            "give --rep EMAIL for a rep's brief, or --team --as MANAGER_EMAIL for the team"
        )
    rt = runtime()
    with session_scope(rt.engine) as session:
        person = rep_by_email(session, email=rep)
        viewer = None
        if as_manager is not None:
            caller = rep_by_email(session, email=as_manager)
            role = (
                Role.ADMIN
                if caller.email in {a.lower() for a in rt.config.admins}
                else Role(caller.role if caller.role in ("rep", "manager", "admin") else "rep")
            )
            viewer = Viewer(caller.id or 0, role)
            chain = manager_chain(session, rep_id=person.id or 0)
            if not can_coach(viewer, person.id or 0, chain):
                raise UsageProblem(
                    f"{caller.email} is not {person.email}'s manager or an admin, "
                    "so their coaching brief and notes are not shown"
                )
        tz = zone(person.timezone, rt.config.org.timezone)
        day = parse_day(as_of, "--as-of", local_day(rt.now(), tz))
        cards = scorecards(rt, session)
        profile = cards.store.rep_by_email(person.email)
        assert profile is not None
        brief = coaching_brief(
            cards, profile, day, brief_rules(rt.config), reads=SqlCoachReads(session)
        )
        if viewer is not None:
            brief["notes"] = [
                {**note.export_row(), "scorecard": note.scorecard}
                for note in notes_about(session, rep_id=person.id or 0, viewer=viewer)
            ]
    if as_json:
        sys.stdout.write(json.dumps(brief, indent=2, default=str) + "\n")
        return
    console.print(f"[bold]{brief['name']}[/bold] — {brief['message']}", highlight=False)
    for step in brief["steps"]:
        mine, mid = step["rep_value"], step["team_median"]
        console.print(
            f"  {step['kpi']:<26} rep {'—' if mine is None else f'{mine:.3g}':>8}"
            f"  team median {'—' if mid is None else f'{mid:.3g}':>8}",
            highlight=False,
        )
    pipeline = brief["pipeline"]
    console.print(
        f"  last quarter {brief['past']['quarter']}; open pipeline {pipeline['open_count']} deals, "
        f"{_number(pipeline['open_amount'])}, expected value {_number(pipeline['expected_value'])}",
        highlight=False,
    )
    for kpi, line in brief["direction"]["kpis"].items():
        console.print(f"  {line['arrow']} {kpi:<26} {line['values']}", highlight=False)


def coach_team_cli(as_manager: str | None, team_name: str | None, as_json: bool) -> None:
    """Print what `/coach` alone shows ``as_manager``: their reps, who needs attention first."""
    if as_manager is None:
        raise UsageProblem("--team needs --as MANAGER_EMAIL: whose team to show")
    rt = runtime()
    with session_scope(rt.engine) as session:
        caller = rep_by_email(session, email=as_manager)
        cards = scorecards(rt, session)
        viewer = cards.store.rep_by_email(caller.email)
        assert viewer is not None
        role = viewer_of(viewer, rt.config.admins).role
        if role is Role.REP:
            raise UsageProblem(
                f"{caller.email} manages nobody: the team view is for managers and admins "
                "(use `pacesetter stats --rep EMAIL` for one rep's numbers)"
            )
        if role is Role.ADMIN:
            people = cards.board_reps(team_name)
        else:
            directory = SqlDirectory(session, org_timezone=rt.config.org.timezone)
            people = [
                r
                for r in directory.reports_of(viewer.id)
                if team_name is None or (r.team or "").casefold() == team_name.casefold()
            ]
        glance = team_glance(
            cards, SqlCoachReads(session), people, rt.now(), brief_rules(rt.config)
        )
    data = {"viewer": caller.email, "team": team_name, **glance_json(glance)}
    if as_json:
        sys.stdout.write(json.dumps(data, indent=2) + "\n")
        return
    table = Table(title=f"{caller.name}'s team at a glance ({data['as_of']})", title_justify="left")
    for column in ("#", "Rep", "Why", "Weak step", "Attention"):
        table.add_column(column, overflow="fold")
    for row in data["reps"]:
        table.add_row(
            str(row["rank"]), row["name"], row["why"], str(row["problem"] or "—"),
            f"{row['attention']:.2f}",
        )  # fmt: skip
    console.print(table)


@cli.command()
def demo(
    serve: Annotated[
        bool,
        typer.Option(
            "--serve",
            help="Then run the bot against a local Slack stand-in and print its page's address.",
        ),
    ] = False,
    port: Annotated[
        int, typer.Option(help="Port of the Slack stand-in page with --serve (0: any free one).")
    ] = 0,
    tv_port: Annotated[
        int, typer.Option("--tv-port", help="Port of the office-TV page with --serve (0: any).")
    ] = 0,
) -> None:
    """Run everything on embedded defaults: SQLite, the sandbox org, no credentials."""
    rt = runtime(demo=True)
    if serve:
        rt.clock = DemoClock(rt.now())
    rt.upgrade()
    console.rule("[bold]Pacesetter demo")
    console.print("Syncing the sandbox sales org (a simulated team with history)…")
    sync_sources(rt, "sandbox")
    with session_scope(rt.engine) as session:
        sellers = active_sellers(session)
        if not sellers:
            raise ConfigError("the sandbox produced no reps; check the `sandbox` config section")
        today = rt.org_today()
        focus = next((r for r in sellers if r.email.startswith("john.")), sellers[0])
        print_stats(stats_report(rt, session, focus, Period.WEEK, today))
        print_leaderboard(session, rt, sellers, today)
        print_manager_view(rt, session, sellers, today)
    if serve:
        serve_demo(rt, port=port, tv_port=tv_port)
        return
    console.print(demo_next_steps(rt), highlight=False)


def print_manager_view(rt: Runtime, session: Any, sellers: list[Any], today: date) -> None:
    """Print what a manager sees: each of their reps' weak funnel step and whom to shadow."""
    managers = {r.manager_id for r in sellers if r.manager_id}
    if not managers:
        return
    manager = session.get(type(sellers[0]), min(managers))
    team = [r for r in sellers if r.manager_id == manager.id]
    cards = scorecards(rt, session)
    table = Table(
        title=f"What {manager.name} sees with /coach — the {manager.team or ''} team",
        title_justify="left",
    )
    for column in ("Rep", "Weak step", "Problem", "Shadow"):
        table.add_column(column, overflow="fold")
    for person in team:
        profile = cards.store.rep_by_email(person.email)
        if profile is None:
            continue
        brief = coaching_brief(cards, profile, today, brief_rules(rt.config))
        shadow = brief.get("shadow") or {}
        table.add_row(
            person.name,
            (brief.get("weak_step") or "—").replace("_", " "),
            str(brief.get("problem") or "on par with the team").replace("_", " "),
            shadow.get("name", "—") if isinstance(shadow, dict) else "—",
        )
    console.print(table)


SHORT_LABELS = {
    "prospecting": "Prosp.",
    "conversations": "Conv.",
    "meaningful_conversations": "Meaningful",
    "opportunities_created": "Opps",
    "opportunities_advanced": "Adv.",
    "wins": "Wins",
    "won_amount": "Won $",
}


def print_leaderboard(session: Any, rt: Runtime, sellers: list[Any], today: date) -> None:
    """Print this month's team leaderboard ranked as `/leaderboard` ranks it: activity score."""
    window = period_to_date(Period.MONTH, today)
    totals = kpi_totals(session, start=window.start, end=window.end)
    board = scorecards(rt, session).leaderboard(ACTIVITY_SCORE, Period.MONTH, today)
    by_id = {r.id: r for r in sellers}
    table = Table(
        title=f"Leaderboard — activity score, month to date ({window.start} to {today})",
        title_justify="left",
    )
    table.add_column("#", justify="right")
    table.add_column("Rep", no_wrap=True)
    table.add_column("Score", justify="right", no_wrap=True)
    for definition in rt.definitions:
        table.add_column(SHORT_LABELS.get(definition.name, definition.label), justify="right")
    for line in board:
        person = by_id.get(line.standing.rep_id)
        if person is None:
            continue
        values = totals.get(person.id, {})
        table.add_row(
            str(line.rank) if line.rank is not None else "–",
            person.name,
            f"{line.score:.0f}" if line.score is not None else "–",
            *(_compact(d.name, values.get(d.name, 0.0)) for d in rt.definitions),
        )
    console.print(table)
    console.print(
        "Score: 100 = on pace for every activity goal (weighted); `/leaderboard KPI` ranks one "
        "KPI by percent of goal.",
        style="dim",
    )


def demo_next_steps(rt: Runtime) -> str:
    """Return how to explore the demo data and how to connect the real thing."""
    env = f"DATABASE_URL={rt.settings.database_url}"
    if rt.settings.pacesetter_config:
        env += f" PACESETTER_CONFIG={rt.settings.pacesetter_config}"
    return (
        "\n[bold]Explore the demo data[/bold]\n"
        f"  export {env}\n"
        "  .venv/bin/pacesetter stats --rep sally.chen@example.com --period month\n"
        "  .venv/bin/pacesetter stats --rep mark.davis@example.com --json\n" + NEXT_STEPS
    )


NEXT_STEPS = """
[bold]Next steps[/bold]
  • Connect Slack: create an app from manifest.yml, then set SLACK_BOT_TOKEN and
    SLACK_SIGNING_SECRET (and SLACK_APP_TOKEN for Socket Mode) and run `pacesetter run`.
  • Connect your CRM: set SALESFORCE_INSTANCE_URL + SALESFORCE_ACCESS_TOKEN, or
    HUBSPOT_ACCESS_TOKEN, then `pacesetter sync` (see README, "Connect your CRM").
  • Tune KPIs, goals and schedules in a YAML file named by PACESETTER_CONFIG.
"""


# scheduled jobs ------------------------------------------------------------------------------


def apply_nudge_action(
    rt: Runtime, *, rep_id: int, action_id: str, nudge_date: date
) -> PreferenceChange:
    """Store what a nudge button does (the bot's action handler calls this after ack())."""
    change = preference_change(
        NudgeAction(action_id), nudge_date=nudge_date, calendar=org_calendar(rt.config)
    )
    with rt.job_unit() as unit:
        unit.store.set_nudge_preferences(
            rep_id,
            mode=change.mode.value if change.mode else None,
            snoozed_until=change.snoozed_until,
        )
    return change


def start_scheduler(rt: Runtime) -> BackgroundScheduler:
    """Start the job scheduler in background threads; `pacesetter run` calls this.

    The jobs run beside the bot here, so after each sync or roll-up they warm the bot's rank
    tables (`Runtime.warm_rank_tables`) before a rep asks.
    """
    rt.serves_bot = True
    return _start_scheduler(rt.job_runner())


@cli.command()
def worker() -> None:
    """Run the scheduled jobs (sync, snapshot, nudges, digest) without the Slack listener."""
    rt = runtime()
    rt.upgrade()
    runner = rt.job_runner()
    if rt.slack_poster is None:
        err_console.print("SLACK_BOT_TOKEN is not set: messages are queued but not sent.")
    console.print(f"Worker started: {', '.join(runner.jobs)}; Ctrl-C stops it.")
    run_worker(runner)


@jobs_cli.command("list")
def jobs_list() -> None:
    """List the scheduled jobs, when they run, and how their last run went."""
    rt = runtime()
    rt.upgrade()
    runner = rt.job_runner()
    table = Table(title="Scheduled jobs", title_justify="left")
    for column in ("id", "schedule", "what", "last run"):
        table.add_column(column)
    with rt.job_unit() as unit:
        for job in runner.jobs.values():
            last = unit.store.latest(job.id)
            when = f"{last.status} {last.slot} ({last.detail or ''})".strip() if last else "never"
            table.add_row(job.id, job.schedule.describe(), job.description, when)
        counts = unit.outbox.counts()
    console.print(table)
    console.print(
        f"Outbox: {', '.join(f'{n} {s}' for s, n in sorted(counts.items())) or 'empty'}.",
        style="dim",
    )


@jobs_cli.command("run")
def jobs_run(
    job_id: Annotated[
        str,
        typer.Argument(metavar="ID", help="sync, snapshot, nudges, digest, contests or followups."),
    ],
    deliver: Annotated[
        bool, typer.Option("--deliver/--no-deliver", help="Send what the job queued.")
    ] = True,
) -> None:
    """Run one scheduled job now, then deliver what it queued in the outbox."""
    rt = runtime()
    rt.upgrade()
    runner = rt.job_runner()
    if job_id not in runner.jobs:
        known = ", ".join(runner.jobs)
        raise UsageProblem(f"no job '{job_id}'; the jobs are: {known}")
    result = runner.run(job_id, manual=True)
    console.print(result.line(), highlight=False, soft_wrap=True)
    if deliver and not runner.jobs[job_id].delivers:
        delivered = runner.deliver(max_wait_s=DELIVER_WAIT_S)
        if delivered is not None:
            console.print(delivered.line(), highlight=False)
    if result.delivered is None and runner.jobs[job_id].delivers and rt.slack_poster is None:
        err_console.print("SLACK_BOT_TOKEN is not set: the messages stay queued in the outbox.")
    if result.status == "error":
        raise SystemExit(1)


DELIVER_WAIT_S = 600.0
# the Slack bot -------------------------------------------------------------------------------

MANIFEST_PATH = Path(__file__).resolve().parent / "manifest.yml"


@cli.command()
def manifest() -> None:
    """Print the Slack app manifest to paste into "Create New App" -> "From an app manifest"."""
    sys.stdout.write(MANIFEST_PATH.read_text(encoding="utf-8"))


@cli.command()
def run(
    http: Annotated[
        bool, typer.Option("--http", help="Serve HTTP even when SLACK_APP_TOKEN is set.")
    ] = False,
    port: Annotated[int, typer.Option(help="HTTP port for /slack/events.")] = 3000,
    host: Annotated[str, typer.Option(help="HTTP interface to listen on.")] = "0.0.0.0",  # noqa: S104
    tv_port: Annotated[
        int | None,
        typer.Option("--tv-port", help="Also serve the read-only office-TV page on this port."),
    ] = None,
) -> None:
    """Run the Slack bot: Socket Mode when SLACK_APP_TOKEN is set, else HTTP at /slack/events."""
    rt = runtime()
    rt.upgrade()
    client = rt.slack_client()
    socket_mode = rt.settings.slack_app_token is not None and not http
    rt.load_config_goals()
    app = rt.bolt_app(client, socket_mode=socket_mode)
    # Connect before anything starts, so a refused app token is the only thing that happens.
    socket_handler = rt.connect_socket_mode(app) if socket_mode else None
    _match_in_background(rt, client)
    rt.warm_up_bot()
    if tv_port is not None:
        tv = TvServer(rt.tv_snapshot, host=host, port=tv_port).start()
        console.print(f"The office TV page is at http://{host}:{tv.server.server_address[1]}/")
    scheduler = start_scheduler(rt)  # sync, snapshot, nudges, digest and the outbox
    try:
        if socket_handler is not None:
            console.print("Pacesetter is connected to Slack over Socket Mode.")
            try:
                threading.Event().wait()
            except KeyboardInterrupt:
                pass
            finally:
                socket_handler.close()
            return
        server = make_http_server(app, host, port)
        console.print(f"Pacesetter is listening on http://{host}:{server.server_port}/slack/events")
        try:
            server.serve_forever()
        except KeyboardInterrupt:
            pass
        finally:
            server.server_close()
    finally:
        scheduler.shutdown(wait=False)


def _match_in_background(rt: Runtime, client: WebClient) -> None:
    """Match reps to Slack users without delaying start-up (Slack lookups are rate limited)."""
    import threading

    def work() -> None:
        try:
            report = rt.match_slack_users(client)
            log.warning(
                "Slack matching: %d linked, %d reps without a Slack user (see `pacesetter doctor`)",
                len(report.linked),
                len(report.unmatched),
            )
        except (SlackApiError, OSError):
            log.exception("matching reps to Slack users failed; `pacesetter doctor` says more")

    threading.Thread(target=work, name="slack-match", daemon=True).start()


@cli.command()
def doctor() -> None:
    """Check the database, Slack and each CRM source; list reps not matched to Slack."""
    rt = runtime()
    problems = 0
    try:
        check_database(rt.engine)
        rt.upgrade()
        console.print(f"[green]ok[/green]  database {migrate.current_revision(rt.engine)}")
    except DatabaseUnavailable as exc:
        console.print(f"[red]fail[/red] database: {exc}", highlight=False)
        raise SystemExit(1) from None
    problems += _doctor_slack(rt)
    for source in rt.sources():
        check = source.check()
        mark = "[green]ok[/green]  " if check.ok else "[red]fail[/red]"
        problems += 0 if check.ok else 1
        console.print(f"{mark} {check.source}: {check.detail}", highlight=False)
    with rt.bot_stores() as stores:
        unmatched = stores.directory.unmatched()
    if unmatched:
        console.print(f"[yellow]warn[/yellow] {len(unmatched)} reps have no Slack user:")
        for rep in unmatched:
            console.print(f"       {rep.name} <{rep.email}>", highlight=False)
        console.print("       Fix with `/pacesetter link @user email` in Slack.")
    else:
        console.print("[green]ok[/green]   every active rep is matched to a Slack user")
    if problems:
        raise SystemExit(1)


def _doctor_slack(rt: Runtime) -> int:
    if rt.settings.slack_bot_token is None:
        console.print("[yellow]skip[/yellow] Slack: SLACK_BOT_TOKEN is not set")
        return 0
    client = rt.slack_client()
    try:
        auth = client.auth_test()
    except (SlackApiError, OSError) as exc:
        console.print(f"[red]fail[/red] Slack auth.test: {exc}", highlight=False)
        return 1
    console.print(
        f"[green]ok[/green]   Slack: {auth.get('team')} as {auth.get('user')}", highlight=False
    )
    problems = _doctor_socket_mode(rt, client)
    try:
        report = rt.match_slack_users(client)
    except (SlackApiError, OSError) as exc:
        console.print(f"[red]fail[/red] Slack user lookup: {exc}", highlight=False)
        return problems + 1
    if report.linked:
        console.print(f"[green]ok[/green]   linked {len(report.linked)} reps to Slack by email")
    return problems


def _doctor_socket_mode(rt: Runtime, client: WebClient) -> int:
    """Ask Slack for a Socket Mode URL with SLACK_APP_TOKEN, as `pacesetter run` will."""
    token = rt.settings.slack_app_token
    if token is None:
        console.print(
            "[yellow]skip[/yellow] Slack Socket Mode: SLACK_APP_TOKEN is not set, "
            "so `pacesetter run` serves HTTP"
        )
        return 0
    try:
        client.apps_connections_open(app_token=token.get_secret_value())
    except SlackApiError as exc:
        problem = app_token_problem(str(exc.response.get("error")))
        console.print(f"[red]fail[/red] {problem}", highlight=False)
        return 1
    except OSError as exc:
        console.print(f"[red]fail[/red] Slack apps.connections.open: {exc}", highlight=False)
        return 1
    console.print("[green]ok[/green]   Slack Socket Mode: the app token opens a connection")
    return 0


# contests ------------------------------------------------------------------------------------


def contest_rules(
    *,
    name: str,
    kpi: str,
    rule: str,
    target: float | None,
    start: str,
    end: str,
    participants: str,
    scoring: str,
    team: bool,
    channel: str,
    prizes: list[str],
    known_kpis: tuple[str, ...],
) -> ContestRules:
    """Turn the `contest create` options into rules, or raise a UsageProblem/ContestError."""
    if kpi not in known_kpis:
        raise UsageProblem(f"--kpi '{kpi}' is not a KPI; use one of: {', '.join(known_kpis)}")
    try:
        chosen_rule, chosen_scoring = Rule(rule), Scoring(scoring)
    except ValueError:
        raise UsageProblem(
            "--rule must be most, first-to or threshold; --scoring count, percent or improvement"
        ) from None
    first = parse_day(start, "--start", date.min)
    return ContestRules(
        name=name.strip(),
        kpi=kpi,
        rule=chosen_rule,
        target=target,
        start=first,
        end=parse_day(end, "--end", first),
        channel=channel.strip(),
        participants=ParticipantSpec.parse(participants),
        scoring=chosen_scoring,
        team_contest=team,
        prizes=tuple(p.strip() for p in prizes if p.strip()),
    )


def contest_json(
    contest: Contest, table: Standings | None, rt: Runtime, events: list[dict[str, object]]
) -> dict[str, Any]:
    """Return the `contest show --json` shape."""
    rules = contest.rules
    tz = zone(rt.config.org.timezone)
    return {
        "id": contest.id,
        "name": rules.name,
        "status": contest.status.value,
        "kpi": rules.kpi,
        "rule": rules.rule.value,
        "target": rules.target,
        "scoring": rules.scoring.value,
        "team_contest": rules.team_contest,
        "start": rules.start.isoformat(),
        "end": rules.end.isoformat(),
        "window": {
            "opens": rules.opens_at(tz).astimezone(UTC).isoformat(),
            "closes": rules.closes_at(tz).astimezone(UTC).isoformat(),
            "timezone": tz.key,
        },
        "participants": [
            {"email": p.email, "name": p.name, "team": p.team} for p in contest.participants
        ],
        "prizes": list(rules.prizes),
        "channel": rules.channel,
        "description": rules.describe(),
        "standings": None
        if table is None
        else [
            {
                "rank": e.rank,
                "name": e.competitor.label,
                "key": e.competitor.key,
                "score": e.score,
                "actual": e.actual,
                "gap_to_next_place": e.gap_above,
                "lead": e.lead,
            }
            for e in table.entries
        ],
        "unranked": [] if table is None else [c.label for c in table.unranked],
        "data_as_of": table.data_as_of.isoformat() if table and table.data_as_of else None,
        "events": events,
    }


def print_standings(contest: Contest, table: Standings, title: str) -> None:
    """Print a standings table with the gap to the next place and 'data as of'."""
    grid = Table(title=title)
    for column in ("#", "competitor", "score", "gap to next place"):
        grid.add_column(column)
    scoring = contest.rules.scoring
    for e in table.entries:
        gap = (
            f"-{format_score(e.gap_above, scoring)}"
            if e.gap_above is not None
            else (f"leads by {format_score(e.lead, scoring)}" if e.lead is not None else "")
        )
        grid.add_row(str(e.rank), e.competitor.label, format_score(e.score, scoring), gap)
    console.print(grid)
    if table.unranked:
        console.print(
            "Not ranked (no goal in the window): " + ", ".join(c.label for c in table.unranked)
        )
    as_of = table.data_as_of.isoformat() if table.data_as_of else "no finished sync yet"
    console.print(f"data as of {as_of}", highlight=False)


@contest_cli.command("create")
def contest_create(
    *,
    name: Annotated[str, typer.Option(help="The contest's name")],
    kpi: Annotated[str, typer.Option(help="The KPI that scores")],
    rule: Annotated[str, typer.Option(help="most | first-to | threshold")],
    start: Annotated[str, typer.Option(help="First day, YYYY-MM-DD (org time zone)")],
    end: Annotated[str, typer.Option(help="Last day, YYYY-MM-DD (inclusive)")],
    channel: Annotated[str, typer.Option(help="Where standings and winners are posted")],
    target: Annotated[float | None, typer.Option(help="N for first-to and threshold")] = None,
    participants: Annotated[str, typer.Option(help="all | team:NAME | EMAIL,EMAIL")] = "all",
    scoring: Annotated[str, typer.Option(help="count | percent | improvement")] = "count",
    team_contest: Annotated[
        bool, typer.Option("--team-contest", help="Team totals compete")
    ] = False,
    prize: Annotated[
        list[str] | None, typer.Option(help="Prize text; repeat for 1st, 2nd, 3rd place")
    ] = None,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Show who would be winning; store nothing")
    ] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON")] = False,
) -> None:
    """Create and launch a contest (rules are frozen at launch), after a dry run."""
    rt = runtime()
    rules = contest_rules(
        name=name,
        kpi=kpi,
        rule=rule,
        target=target,
        start=start,
        end=end,
        participants=participants,
        scoring=scoring,
        team=team_contest,
        channel=channel,
        prizes=prize or [],
        known_kpis=tuple(d.name for d in rt.definitions),
    )
    tz = zone(rt.config.org.timezone)
    with rt.contest_unit() as unit:
        draft = contest_service.draft(
            rules,
            store=unit.contests,
            goals=unit.goals.goals(kpi=rules.kpi),
            calendar=scorecard_rules(rt.config).calendar,
            created_by="cli",
            now=rt.now(),
        )
        table = contest_service.dry_run(draft, store=unit.contests, now=rt.now(), tz=tz)
        launched = (
            None if dry_run else contest_service.launch(draft, store=unit.contests, now=rt.now())
        )
    shown = launched or draft
    if as_json:
        console.print_json(data=contest_json(shown, table, rt, []))
        return
    print_standings(shown, table, f"Dry run: {rules.name} ({rules.describe()})")
    if launched is None:
        console.print("Dry run only: nothing was stored.")
    else:
        console.print(
            f"Launched contest #{launched.id} '{rules.name}' in {rules.channel}; "
            "`pacesetter jobs run contests` posts the announcement.",
            highlight=False,
        )


@contest_cli.command("list")
def contest_list(
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON")] = False,
) -> None:
    """List contests, newest first."""
    rt = runtime()
    with rt.contest_unit() as unit:
        contests = unit.contests.contests()
    rows = [
        {
            "id": c.id,
            "name": c.rules.name,
            "status": c.status.value,
            "kpi": c.rules.kpi,
            "rule": c.rules.rule.value,
            "start": c.rules.start.isoformat(),
            "end": c.rules.end.isoformat(),
            "channel": c.rules.channel,
        }
        for c in contests
    ]
    if as_json:
        console.print_json(data=rows)
        return
    grid = Table(title="Contests")
    for column in ("id", "name", "status", "kpi", "rule", "start", "end", "channel"):
        grid.add_column(column)
    for row in rows:
        grid.add_row(
            *(
                str(row[k])
                for k in ("id", "name", "status", "kpi", "rule", "start", "end", "channel")
            )
        )
    console.print(grid)


@contest_cli.command("show")
def contest_show(
    ref: Annotated[str, typer.Argument(help="Contest id or name")],
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON")] = False,
) -> None:
    """Show a contest's rules, current standings (with 'data as of') and its events."""
    rt = runtime()
    tz = zone(rt.config.org.timezone)
    with rt.contest_unit() as unit:
        contest = contest_service.find(unit.contests, ref)
        table = contest_service.dry_run(contest, store=unit.contests, now=rt.now(), tz=tz)
        assert contest.id is not None
        events: list[dict[str, object]] = [
            {"key": e.key, "kind": e.kind, "at": e.at.isoformat(), "data": dict(e.data)}
            for e in unit.contests.events(contest.id)
        ]
    if as_json:
        console.print_json(data=contest_json(contest, table, rt, events))
        return
    console.print(
        f"#{contest.id} {contest.rules.name} [{contest.status.value}]: {contest.rules.describe()}",
        highlight=False,
    )
    print_standings(contest, table, "Standings")
    for event in events:
        console.print(f"{event['at']} {event['kind']} {event['key']}", highlight=False)


@contest_cli.command("cancel")
def contest_cancel(ref: Annotated[str, typer.Argument(help="Contest id or name")]) -> None:
    """Cancel a running contest (the channel is told; nobody wins)."""
    rt = runtime()
    with rt.contest_unit() as unit:
        contest = contest_service.cancel(unit.contests, ref, by="cli", now=rt.now())
    console.print(f"Canceled contest #{contest.id} '{contest.rules.name}'.", highlight=False)


# entry point ---------------------------------------------------------------------------------


# the demo with a local Slack stand-in (`pacesetter demo --serve`) -----------------------------


class DemoClock:
    """The demo's simulated time, shared by the bot, the jobs and the sandbox CRM.

    It stands still until someone presses "advance" on the stand-in page, so what a person
    sees never changes under them; each step lands on the org's nudge time of a later day.
    """

    def __init__(self, start: datetime) -> None:
        self._now = start if start.tzinfo else start.replace(tzinfo=UTC)
        self._lock = threading.Lock()

    def now(self) -> datetime:
        """Return the simulated instant."""
        with self._lock:
            return self._now

    def advance(self, days: float, *, at: time | None = None, tz: str = "UTC") -> datetime:
        """Move ``days`` forward; with ``at``, land on that local time of the new day."""
        with self._lock:
            moved = self._now + timedelta(days=days)
            if at is not None:
                local = moved.astimezone(zone(tz))
                moved = datetime.combine(local.date(), at, local.tzinfo).astimezone(UTC)
            self._now = max(moved, self._now)
            return self._now


@dataclass
class DemoServices:
    """What `demo --serve` runs: the Slack stand-in, the bot's HTTP server and the TV page."""

    rt: Runtime
    standin: SlackStandin
    bot_server: Any
    tv: TvServer
    clock: DemoClock
    members: list[Member]
    runner: Runner

    def stop(self, *, settle_s: float = 1.5, limit_s: float = 15.0) -> None:
        """Stop every server; Slack goes last, once the bot's after-ack work has gone quiet."""
        self.tv.stop()
        self.bot_server.shutdown()
        self.bot_server.server_close()
        deadline = monotonic() + limit_s
        while monotonic() < deadline and self.standin.idle_for() < settle_s:
            threading.Event().wait(0.1)
        self.standin.stop()

    def member_id(self, email: str) -> str:
        """Return the stand-in Slack id of the sandbox person with ``email``."""
        return next(m.id for m in self.members if m.email == email.lower())


def demo_members(rt: Runtime) -> list[Member]:
    """Return the sandbox org's people as Slack members, in the org's time zone."""
    sandbox = rt.sandbox_source()
    people = sandbox.org.people(rt.org_today())
    return [
        Member(
            id=f"UD{p.user.crm_id.removeprefix('U')}",
            name=p.user.name,
            email=p.user.email.lower(),
            tz=rt.config.org.timezone,
            title=p.user.title or "",
            team=p.user.team or "",
        )
        for p in people
    ]


def manifest_commands() -> list[dict[str, Any]]:
    """Return the manifest's slash commands (the stand-in knows only these, as Slack would)."""
    manifest = yaml.safe_load(MANIFEST_PATH.read_text(encoding="utf-8"))
    commands: list[dict[str, Any]] = manifest.get("features", {}).get("slash_commands", [])
    return commands


def start_demo(rt: Runtime, *, port: int = 0, tv_port: int = 0) -> DemoServices:
    """Start the stand-in, the bot against it and the TV page; the database is synced."""
    clock = rt.clock or DemoClock(rt.now())
    rt.clock = clock
    token, secret = f"xoxb-demo-{secrets.token_hex(12)}", secrets.token_hex(16)
    members = demo_members(rt)
    standin = SlackStandin(
        members,
        token=token,
        signing_secret=secret,
        clock=rt.now,
        commands=manifest_commands(),
        port=port,
    ).start()
    rt.settings = rt.settings.model_copy(
        update={
            "slack_bot_token": SecretStr(token),
            "slack_signing_secret": SecretStr(secret),
            "slack_api_url": standin.api_url,
            "slack_app_token": None,
        }
    )
    client = rt.slack_client()
    rt.load_config_goals()
    rt.match_slack_users(client)
    bot_server = make_http_server(rt.bolt_app(client, socket_mode=False), "127.0.0.1", 0)
    serve_in_thread(bot_server)
    standin.set_events_url(f"http://127.0.0.1:{bot_server.server_port}/slack/events")
    tv = TvServer(rt.tv_snapshot, port=tv_port).start()
    standin.links["Office TV"] = tv.url
    runner = rt.job_runner()
    # The stand-in has no rate limits, and the dispatcher paces on the job clock, which the
    # demo holds still between steps: send without pacing.
    runner.deps.dispatch = DispatchPolicy(per_second=1000.0, burst=1000, channel_interval_s=0.0)
    services = DemoServices(rt, standin, bot_server, tv, clock, members, runner)
    standin.advance = lambda days: demo_advance(services, days)
    return services


def demo_advance(services: DemoServices, days: float) -> str:
    """Move the demo clock to a later morning, pull the day's CRM activity, run the jobs."""
    rt = services.rt
    schedules = rt.config.schedules
    morning = (datetime.combine(date.min, schedules.nudge_time) + timedelta(minutes=15)).time()
    services.clock.advance(days, at=morning, tz=rt.config.org.timezone)
    synced = run_sync(rt.sandbox_source(), rt.sync_store, rt.definitions, now=rt.now)
    ran = [services.runner.fire(job_id) for job_id in DEMO_DAY_JOBS]
    contests = rt.run_contests()
    delivered = services.runner.deliver()
    services.tv.refresh()
    local = rt.now().astimezone(zone(rt.config.org.timezone))
    jobs = "; ".join(r.line() for r in ran)
    sent = delivered.line() if delivered else "nothing sent"
    return (
        f"It is now {local:%A %b %-d, %H:%M}. {synced.line()}. {jobs}. "
        f"Contests: {contests.line()}. {sent}"
    )


DEMO_DAY_JOBS = ("snapshot", "nudges")


def serve_demo(rt: Runtime, *, port: int, tv_port: int) -> None:
    """Run `demo --serve` until Ctrl-C."""
    services = start_demo(rt, port=port, tv_port=tv_port)
    console.print(
        f"\n[bold]The demo workspace is at {services.standin.url}/[/bold]\n"
        f"  Pick a person, type /mystats, /leaderboard or /coach @name, click the buttons.\n"
        f"  The office TV board is at {services.tv.url}/\n"
        "  Press Ctrl-C to stop.",
        highlight=False,
    )
    try:
        threading.Event().wait()
    except KeyboardInterrupt:
        pass
    finally:
        services.stop()


def main(argv: list[str] | None = None) -> None:
    """Run the CLI, turning known problems into one line on stderr and exit code 2."""
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    command = typer.main.get_command(cli)
    try:
        result = command.main(args=argv, prog_name="pacesetter", standalone_mode=False)
    except click.exceptions.Exit as exc:
        raise SystemExit(exc.exit_code) from None
    except click.ClickException as exc:
        exc.show()
        raise SystemExit(exc.exit_code) from None
    except click.exceptions.Abort:
        err_console.print("Aborted.")
        raise SystemExit(1) from None
    except USER_ERRORS as exc:
        err_console.print(f"error: {exc}", highlight=False, soft_wrap=True)
        raise SystemExit(2) from None
    except (sqlalchemy.exc.OperationalError, sqlalchemy.exc.ProgrammingError) as exc:
        problem = schema_problem(exc)
        if problem is None:
            raise
        err_console.print(f"error: {problem}", highlight=False, soft_wrap=True)
        raise SystemExit(2) from None
    raise SystemExit(result if isinstance(result, int) else 0)


SCHEMA_SYMPTOMS = ("no such table", "no such column", "does not exist")


def schema_problem(exc: sqlalchemy.exc.DBAPIError) -> str | None:
    """Word a missing or outdated schema as what to do; None for any other database error."""
    detail = str(exc.orig).splitlines()[0] if exc.orig is not None else str(exc)
    if not any(symptom in detail.lower() for symptom in SCHEMA_SYMPTOMS):
        return None
    return (
        f"the database named by DATABASE_URL has no Pacesetter tables or an older schema "
        f"({detail}); run `pacesetter db upgrade` (then `pacesetter sync` to load data)"
    )


if __name__ == "__main__":
    main()
