"""Typed settings from the environment (and `.env`), and the YAML config for KPIs, goals, schedules.

No other module reads ``os.environ``. A bad setting fails at start with one sentence that names
the variable or the YAML key and says what to do.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, time
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from domain.kpis import ActivityRule, KpiDefinition, KpiKind, KpiSource, default_kpis
from domain.timeutil import zone
from integrations.hubspot.options import HubSpotOptions
from integrations.salesforce.options import SalesforceOptions

Weekday = Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
WORKWEEK: tuple[Weekday, ...] = ("mon", "tue", "wed", "thu", "fri")


class ConfigError(ValueError):
    """A configuration problem, worded for the person who has to fix it."""


class Settings(BaseSettings):
    """Environment settings; secrets are SecretStr so they never print."""

    model_config = SettingsConfigDict(env_file=".env", extra="ignore", case_sensitive=False)

    database_url: str = "sqlite:///pacesetter.db"
    pacesetter_config: Path | None = None
    slack_bot_token: SecretStr | None = None
    slack_signing_secret: SecretStr | None = None
    slack_app_token: SecretStr | None = None
    slack_api_url: str = "https://slack.com/api/"
    salesforce_instance_url: str | None = None
    salesforce_access_token: SecretStr | None = None
    salesforce_username: str | None = None
    salesforce_password: SecretStr | None = None
    salesforce_security_token: SecretStr | None = None
    salesforce_consumer_key: str | None = None
    salesforce_private_key_file: Path | None = None
    salesforce_domain: str = "login"
    hubspot_access_token: SecretStr | None = None
    hubspot_base_url: str = "https://api.hubapi.com"
    pacesetter_now: datetime | None = Field(
        default=None, description="Freeze the clock (ISO instant) for demos and tests."
    )

    @field_validator("pacesetter_now")
    @classmethod
    def _aware(cls, value: datetime | None) -> datetime | None:
        if value is not None and value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value

    @field_validator("slack_bot_token", "slack_signing_secret", "slack_app_token")
    @classmethod
    def _refuse_placeholders(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and value.get_secret_value().strip().lower() in {
            "changeme",
            "change-me",
            "xoxb-your-token",
            "your-signing-secret",
            "todo",
            "",
        }:
            raise ValueError("is a placeholder; paste the real value from your Slack app settings")
        return value


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class OrgConfig(_Strict):
    """The organisation's calendar."""

    name: str = "Our sales team"
    timezone: str = "UTC"
    working_days: list[Weekday] = Field(default_factory=lambda: list(WORKWEEK))
    holidays: list[date] = Field(default_factory=list)

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        if zone(value, "").key != value and value != "UTC":
            raise ValueError(f"'{value}' is not an IANA time zone such as 'America/New_York'")
        return value


class RuleConfig(_Strict):
    """One way an activity counts toward a KPI (all given conditions must hold)."""

    kinds: list[Literal["call", "email", "meeting", "linkedin", "task"]]
    min_duration_s: int | None = Field(default=None, ge=0)
    exclude_directions: list[str] = Field(default_factory=list)
    include_outcomes: list[str] | None = None
    exclude_outcomes: list[str] = Field(default_factory=list)
    title_pattern: str | None = None

    @field_validator("title_pattern")
    @classmethod
    def _valid_regex(cls, value: str | None) -> str | None:
        if value is not None:
            try:
                re.compile(value)
            except re.error as exc:
                raise ValueError(f"is not a valid regular expression ({exc})") from exc
        return value


class KpiConfig(_Strict):
    """A KPI override or addition; unset fields keep the default definition's values."""

    label: str | None = None
    source: KpiSource | None = None
    kind: KpiKind | None = None
    unit: str | None = None
    description: str | None = None
    rules: list[RuleConfig] | None = None
    enabled: bool = True


class GoalConfig(_Strict):
    """A goal from the config file: a KPI target per period for a rep, a team or everyone."""

    kpi: str
    period: Literal["day", "week", "month", "quarter"]
    target: float = Field(ge=0)
    rep: str | None = None
    team: str | None = None
    valid_from: date | None = Field(default=None, alias="from")
    valid_to: date | None = Field(default=None, alias="to")

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


class ScorecardConfig(_Strict):
    """Pacing, composite scores, leaderboards and coaching diagnosis."""

    band: float = Field(default=0.10, ge=0, le=1)
    score_cap: float = Field(default=150.0, gt=0)
    activity_weights: dict[str, float] | None = None
    results_weights: dict[str, float] | None = None
    workday_start: time = time(9, 0)
    workday_end: time = time(17, 0)
    rank_by: Literal["percent", "count"] = "percent"
    diagnosis_days: int = Field(default=90, ge=7, le=730)
    diagnosis_peers: Literal["team", "everyone"] = "team"
    min_sample: float = Field(default=5, ge=1)
    min_peers: int = Field(default=2, ge=1)


class ScheduleConfig(_Strict):
    """When jobs run."""

    sync_minutes: dict[str, int] = Field(
        default_factory=lambda: {"sandbox": 15, "salesforce": 30, "hubspot": 30}
    )
    nudge_time: time = time(8, 30)
    quiet_hours_start: time = time(19, 0)
    quiet_hours_end: time = time(7, 0)
    digest_weekday: Weekday = "mon"
    digest_time: time = time(8, 0)
    catch_up_grace_minutes: int = Field(default=180, ge=0)


class SandboxConfig(_Strict):
    """The simulated sales org used by the demo and tests."""

    seed: int = 7
    reps: int = Field(default=20, ge=10, le=30)
    history_days: int = Field(default=120, ge=14, le=800)


class RecognitionConfig(_Strict):
    """Recognition posts; no ``channel`` means recognition is off."""

    channel: str | None = None
    big_deal_amount: float | None = Field(default=50_000.0, ge=0)
    big_deal_lookback_days: int = Field(default=7, ge=1, le=90)
    best_week_kpis: list[str] = Field(default_factory=lambda: ["prospecting"])
    min_history_weeks: int = Field(default=4, ge=1)
    streak_kpi: str | None = "prospecting"
    streak_minimum: float = Field(default=20.0, gt=0)
    streak_milestones: list[int] = Field(default_factory=lambda: [5, 10, 20, 50, 100])


class ContestsConfig(_Strict):
    """Contest posting cadence, who may create contests, and recognition."""

    standings_hours: list[int] = Field(default_factory=lambda: [9, 16])
    lead_change_min_minutes: int = Field(default=60, ge=0)
    final_sync_grace_minutes: int = Field(default=120, ge=0)
    correction_days: int = Field(default=7, ge=0)
    job_minutes: int = Field(default=15, ge=1, le=60)
    recognition: RecognitionConfig = RecognitionConfig()


class AppConfig(_Strict):
    """Everything in the YAML config file; every section has defaults."""

    org: OrgConfig = OrgConfig()
    admins: list[str] = Field(default_factory=list)
    kpis: dict[str, KpiConfig] = Field(default_factory=dict)
    goals: list[GoalConfig] = Field(default_factory=list)
    scorecards: ScorecardConfig = ScorecardConfig()
    schedules: ScheduleConfig = ScheduleConfig()
    sandbox: SandboxConfig = SandboxConfig()
    sources: list[Literal["sandbox", "salesforce", "hubspot"]] | None = None
    salesforce: SalesforceOptions = Field(default_factory=SalesforceOptions)
    hubspot: HubSpotOptions = Field(default_factory=HubSpotOptions)
    contests: ContestsConfig = ContestsConfig()

    def kpi_definitions(self) -> tuple[KpiDefinition, ...]:
        """Return the default KPIs with this config's overrides and additions applied."""
        defaults = {d.name: d for d in default_kpis()}
        result: list[KpiDefinition] = []
        for name, base in defaults.items():
            override = self.kpis.get(name)
            if override is None:
                result.append(base)
            elif override.enabled:
                result.append(_merge_kpi(name, base, override))
        for name, extra in self.kpis.items():
            if name in defaults or not extra.enabled:
                continue
            if extra.source is None:
                raise ConfigError(f"kpis.{name}.source: a new KPI needs a source (e.g. activities)")
            result.append(_merge_kpi(name, None, extra))
        return tuple(result)


def _merge_kpi(name: str, base: KpiDefinition | None, override: KpiConfig) -> KpiDefinition:
    rules = (
        tuple(
            ActivityRule(
                kinds=frozenset(r.kinds),
                min_duration_s=r.min_duration_s,
                exclude_directions=frozenset(r.exclude_directions),
                include_outcomes=frozenset(r.include_outcomes) if r.include_outcomes else None,
                exclude_outcomes=frozenset(r.exclude_outcomes),
                title_pattern=r.title_pattern,
            )
            for r in override.rules
        )
        if override.rules is not None
        else (base.rules if base else ())
    )
    source = override.source or (base.source if base else KpiSource.ACTIVITIES)
    if source is KpiSource.ACTIVITIES and not rules:
        raise ConfigError(f"kpis.{name}.rules: an activity KPI needs at least one rule")
    return KpiDefinition(
        name=name,
        label=override.label or (base.label if base else name.replace("_", " ").capitalize()),
        source=source,
        rules=rules,
        kind=override.kind or (base.kind if base else KpiKind.LEADING),
        unit=override.unit if override.unit is not None else (base.unit if base else ""),
        description=override.description or (base.description if base else ""),
    )


def load_app_config(path: Path | None) -> AppConfig:
    """Load and validate the YAML config; None gives the built-in defaults."""
    if path is None:
        return AppConfig()
    try:
        raw: Any = yaml.safe_load(path.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise ConfigError(
            f"PACESETTER_CONFIG points at {path}, which does not exist; fix the path or unset it"
        ) from exc
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = getattr(exc, "problem", None) or str(exc)
        raise ConfigError(f"{path}: not valid YAML{where}: {problem}") from exc
    if raw is None:
        return AppConfig()
    if not isinstance(raw, dict):
        raise ConfigError(f"{path}: the top level must be a mapping of sections (org, kpis, ...)")
    try:
        config = AppConfig.model_validate(raw)
        config.kpi_definitions()
    except ValidationError as exc:
        raise ConfigError(f"{path}: {describe_validation_error(exc)}") from exc
    return config


def describe_validation_error(exc: ValidationError) -> str:
    """Turn pydantic's report into "key `a.b[2].c`: why" sentences."""
    parts = []
    for error in exc.errors()[:3]:
        key = ""
        for loc in error["loc"]:
            key += f"[{loc}]" if isinstance(loc, int) else (f".{loc}" if key else str(loc))
        message = error["msg"]
        if error["type"] == "extra_forbidden":
            message = "is not a known setting (check the spelling)"
        parts.append(f"key `{key}`: {message}")
    more = len(exc.errors()) - 3
    return "; ".join(parts) + (f"; and {more} more" if more > 0 else "")


def load_settings() -> Settings:
    """Read the environment, turning a bad variable into a ConfigError sentence."""
    try:
        return Settings()
    except ValidationError as exc:
        first = exc.errors()[0]
        variable = str(first["loc"][0]).upper() if first["loc"] else "a setting"
        raise ConfigError(f"{variable} {first['msg']}") from exc


DEMO_DATABASE_URL = "sqlite:///pacesetter-demo.db"
DEMO_CONFIG: dict[str, Any] = {
    "org": {"name": "Sandbox Sales", "timezone": "America/New_York"},
    "admins": ["dana.reyes@example.com"],
    "goals": [
        {"kpi": "prospecting", "period": "day", "target": 40},
        {"kpi": "prospecting", "period": "week", "target": 200},
        {"kpi": "conversations", "period": "week", "target": 40},
        {"kpi": "meaningful_conversations", "period": "week", "target": 10},
        {"kpi": "opportunities_created", "period": "week", "target": 3},
        {"kpi": "opportunities_advanced", "period": "week", "target": 8},
        {"kpi": "wins", "period": "month", "target": 3},
        {"kpi": "won_amount", "period": "month", "target": 75000},
        {"kpi": "wins", "period": "quarter", "target": 9},
        {"kpi": "won_amount", "period": "quarter", "target": 225000},
    ],
}


DEMO_CONFIG_PATH = Path("pacesetter-demo.yml")


def demo_config_path() -> Path:
    """Write the embedded demo config to pacesetter-demo.yml (once) and return its path.

    A real file rather than hidden defaults, so the person trying the demo can read and edit
    the same format their own config will use.
    """
    if not DEMO_CONFIG_PATH.exists():
        header = "# Written by `pacesetter demo`: the embedded demo config. Edit and rerun.\n"
        DEMO_CONFIG_PATH.write_text(
            header + yaml.safe_dump(DEMO_CONFIG, sort_keys=False), encoding="utf-8"
        )
    return DEMO_CONFIG_PATH
