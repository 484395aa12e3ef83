"""A deterministic simulated sales org: people, daily activity and opportunities with history.

Everything derives from the seed and the calendar: the same seed gives the same org, each
(rep, day) has its own random stream, so a new day adds activity without changing the past.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from domain.records import (
    ActivityKind,
    ActivityRecord,
    CrmUser,
    Direction,
    MeetingOutcome,
    OpportunityRecord,
    PipelineStageRecord,
    StageChangeRecord,
)

DOMAIN = "example.com"
PIPELINE = "default"
STAGES: tuple[PipelineStageRecord, ...] = (
    PipelineStageRecord(PIPELINE, "Prospecting", 1, probability=0.1),
    PipelineStageRecord(PIPELINE, "Qualification", 2, probability=0.2),
    PipelineStageRecord(PIPELINE, "Needs Analysis", 3, probability=0.35),
    PipelineStageRecord(PIPELINE, "Proposal", 4, probability=0.5),
    PipelineStageRecord(PIPELINE, "Negotiation", 5, probability=0.75),
    PipelineStageRecord(PIPELINE, "Closed Won", 6, is_closed=True, is_won=True, probability=1.0),
    PipelineStageRecord(PIPELINE, "Closed Lost", 7, is_closed=True, probability=0.0),
)
OPEN_STAGES = [s.stage for s in STAGES if not s.is_closed]
SENIOR_TITLES = (
    "VP of Sales",
    "Vice President, Operations",
    "Director of IT",
    "Head of Procurement",
    "Chief Revenue Officer",
    "CFO",
    "President",
    "Founder & CEO",
    "Sales Director",
    "Owner",
)
OTHER_TITLES = (
    "Sales Manager",
    "IT Specialist",
    "Office Manager",
    "Procurement Analyst",
    "Account Executive",
    "Operations Coordinator",
    "Marketing Associate",
    "Business Analyst",
    "Executive Assistant",
    "Software Engineer",
)
FIRST = (
    "Ava",
    "Ben",
    "Chloe",
    "Diego",
    "Emma",
    "Farid",
    "Grace",
    "Hiro",
    "Isla",
    "Jonas",
    "Kira",
    "Liam",
    "Maya",
    "Noah",
    "Olga",
    "Priya",
    "Quinn",
    "Rosa",
    "Sam",
    "Tariq",
    "Uma",
    "Victor",
    "Wen",
    "Xena",
    "Yusuf",
    "Zoe",
)
LAST = (
    "Adams",
    "Brooks",
    "Costa",
    "Dubois",
    "Evans",
    "Fischer",
    "Garcia",
    "Hughes",
    "Ivanova",
    "Jensen",
    "Kowalski",
    "Lopez",
    "Moreau",
    "Nakamura",
    "Okafor",
    "Patel",
    "Quinn",
    "Rossi",
    "Silva",
    "Tanaka",
    "Ueda",
    "Varga",
    "Weber",
    "Xu",
    "Young",
    "Zhang",
)


@dataclass(frozen=True, slots=True)
class Persona:
    """How a rep sells: multipliers on the team's typical behaviour."""

    key: str
    weak_step: str | None = None
    prospecting: float = 1.0
    connect_rate: float = 0.32
    long_call_rate: float = 0.55
    senior_rate: float = 0.40
    opp_rate: float = 0.30
    advance: float = 0.80
    close: float = 0.45
    stall: float = 1.0


TYPICAL = Persona("typical")
PERSONA_PEOPLE: tuple[tuple[str, str, Persona], ...] = (
    # Much pipeline and few wins: a closing problem.
    (
        "John",
        "Miller",
        Persona("closer", "wins", opp_rate=0.55, advance=0.9, close=0.08, stall=2.0),
    ),
    # Few opportunities but a high win rate: a qualifying / prospecting problem.
    ("Sally", "Chen", Persona("qualifier", "opportunities_created", opp_rate=0.09, close=0.85)),
    # Many calls but few meaningful conversations: a targeting problem.
    (
        "Mark",
        "Davis",
        Persona("targeting", "meaningful_conversations", prospecting=1.5, senior_rate=0.07),
    ),
    # Converts well but does not prospect enough.
    ("Carl", "Novak", Persona("under_prospector", "prospecting", prospecting=0.35)),
)
TEAMS = ("East", "West", "Central")


@dataclass(frozen=True, slots=True)
class Person:
    """A member of the sandbox org with the persona that drives their numbers."""

    user: CrmUser
    persona: Persona
    index: int


@dataclass(slots=True)
class Simulation:
    """Everything the org has done up to one instant."""

    users: list[CrmUser] = field(default_factory=list)
    activities: list[ActivityRecord] = field(default_factory=list)
    opportunities: list[OpportunityRecord] = field(default_factory=list)
    stage_changes: list[StageChangeRecord] = field(default_factory=list)
    deleted_activities: list[tuple[str, datetime]] = field(default_factory=list)


class SandboxOrg:
    """The simulated org for a seed, a size, a history length and the org's time zone."""

    def __init__(
        self,
        *,
        seed: int = 7,
        reps: int = 20,
        history_days: int = 120,
        timezone: str = "UTC",
    ) -> None:
        if not 10 <= reps <= 30:
            raise ValueError("the sandbox org has between 10 and 30 reps")
        self.seed = seed
        self.rep_count = reps
        self.history_days = history_days
        self.tz = ZoneInfo(timezone)

    # people --------------------------------------------------------------------------------

    def people(self, today: date) -> list[Person]:
        """Return the director, managers and reps; start dates are relative to ``today``."""
        rng = random.Random(f"{self.seed}:people")
        director = CrmUser(
            crm_id="U0001",
            name="Dana Reyes",
            email=f"dana.reyes@{DOMAIN}",
            title="Director of Sales",
            start_date=today - timedelta(days=1500),
        )
        result = [Person(director, TYPICAL, 0)]
        managers = []
        for i, team in enumerate(TEAMS):
            name = ("Morgan Lee", "Riley Shah", "Avery Brown")[i]
            manager = CrmUser(
                crm_id=f"U00{i + 2:02d}",
                name=name,
                email=f"{name.split()[0].lower()}.{name.split()[1].lower()}@{DOMAIN}",
                manager_crm_id=director.crm_id,
                team=team,
                title="Sales Manager",
                start_date=today - timedelta(days=1200 - 100 * i),
            )
            managers.append(manager)
            result.append(Person(manager, TYPICAL, i + 1))
        names = list(PERSONA_PEOPLE)
        used = {(f, la) for f, la, _ in names}
        while len(names) < self.rep_count:
            first, last = rng.choice(FIRST), rng.choice(LAST)
            if (first, last) not in used:
                used.add((first, last))
                names.append((first, last, TYPICAL))
        current_class = set(range(self.rep_count - 4, self.rep_count))
        earlier_class = set(range(self.rep_count - 7, self.rep_count - 4))
        for n, (first, last, persona) in enumerate(names):
            if n in current_class:
                start = today - timedelta(days=25)
            elif n in earlier_class:
                start = today - timedelta(days=min(95, self.history_days - 10))
            else:
                start = today - timedelta(days=400 + 37 * n)
            variation = Persona(
                persona.key,
                persona.weak_step,
                prospecting=persona.prospecting * rng.uniform(0.9, 1.1),
                connect_rate=persona.connect_rate,
                long_call_rate=persona.long_call_rate,
                senior_rate=persona.senior_rate,
                opp_rate=persona.opp_rate,
                advance=persona.advance,
                close=persona.close,
                stall=persona.stall,
            )
            team_manager = managers[n % len(managers)]
            user = CrmUser(
                crm_id=f"U{100 + n:04d}",
                name=f"{first} {last}",
                email=f"{first.lower()}.{last.lower()}@{DOMAIN}",
                manager_crm_id=team_manager.crm_id,
                team=team_manager.team,
                title="Account Executive",
                start_date=start,
            )
            result.append(Person(user, variation, 100 + n))
        return result

    # simulation ----------------------------------------------------------------------------

    def simulate(self, now: datetime, *, since_day: date | None = None) -> Simulation:
        """Return what happened up to ``now``; activities only from ``since_day`` on."""
        today = now.astimezone(self.tz).date()
        first_day = today - timedelta(days=self.history_days)
        sim = Simulation()
        for person in self.people(today):
            sim.users.append(person.user)
            if person.user.title != "Account Executive":
                continue
            start = max(first_day, person.user.start_date or first_day)
            day = start
            while day <= today:
                if day.weekday() < 5:
                    self._rep_day(person, day, now, sim, since_day)
                day += timedelta(days=1)
        return sim

    def _rep_day(
        self,
        person: Person,
        day: date,
        now: datetime,
        sim: Simulation,
        since_day: date | None,
    ) -> None:
        rng = random.Random(f"{self.seed}:{person.user.crm_id}:{day.isoformat()}")
        p = person.persona
        weeks = ((day - (person.user.start_date or day)).days) / 7
        ramp = min(1.0, 0.35 + 0.65 * weeks / 10)
        energy = rng.uniform(0.75, 1.25) * ramp
        owner = person.user.crm_id
        moments: list[tuple[ActivityKind, dict[str, object]]] = []
        for _ in range(_poisson(rng, 24 * p.prospecting * energy)):
            moments.append((ActivityKind.CALL, self._call(rng, p)))
        for _ in range(_poisson(rng, 14 * p.prospecting * energy)):
            moments.append((ActivityKind.EMAIL, {"direction": Direction.OUTBOUND.value}))
        for _ in range(_poisson(rng, 5 * p.prospecting * energy)):
            moments.append((ActivityKind.LINKEDIN, {"direction": Direction.OUTBOUND.value}))
        for _ in range(_poisson(rng, 1.1 * energy)):
            moments.append((ActivityKind.MEETING, self._meeting(rng, p)))
        for n, (kind, attrs) in enumerate(moments):
            at = self._work_time(rng, day)
            if at > now:
                continue
            meaningful = (
                kind in (ActivityKind.CALL, ActivityKind.MEETING)
                and _is_senior(attrs.get("contact_title"))
                and (kind is ActivityKind.MEETING or _int(attrs.get("duration_s")) >= 300)
                and attrs.get("outcome") not in _NOT_HELD
            )
            if meaningful and rng.random() < p.opp_rate:
                self._opportunity(person, f"{day:%Y%m%d}{n:03d}", at, now, sim)
            if since_day is not None and day < since_day:
                continue
            crm_id = f"A-{owner}-{day:%Y%m%d}-{n:03d}"
            sim.activities.append(
                ActivityRecord(
                    crm_id=crm_id,
                    owner_crm_id=owner,
                    kind=kind,
                    occurred_at=at,
                    duration_s=attrs.get("duration_s"),  # type: ignore[arg-type]
                    direction=attrs.get("direction"),  # type: ignore[arg-type]
                    outcome=attrs.get("outcome"),  # type: ignore[arg-type]
                    contact_title=attrs.get("contact_title"),  # type: ignore[arg-type]
                    modified_at=at,
                )
            )
            if rng.random() < 0.01:
                sim.deleted_activities.append((crm_id, at + timedelta(hours=20)))

    def _call(self, rng: random.Random, p: Persona) -> dict[str, object]:
        inbound = rng.random() < 0.06
        title = rng.choice(SENIOR_TITLES if rng.random() < p.senior_rate else OTHER_TITLES)
        if rng.random() < p.connect_rate:
            long_call = rng.random() < p.long_call_rate
            duration = rng.randint(300, 1500) if long_call else rng.randint(60, 299)
            outcome = "Connected"
        else:
            duration = rng.randint(0, 59)
            outcome = rng.choice(("No answer", "Left voicemail", "Busy"))
        return {
            "direction": (Direction.INBOUND if inbound else Direction.OUTBOUND).value,
            "duration_s": duration,
            "outcome": outcome,
            "contact_title": title,
        }

    def _meeting(self, rng: random.Random, p: Persona) -> dict[str, object]:
        roll = rng.random()
        outcome = (
            MeetingOutcome.COMPLETED
            if roll < 0.85
            else MeetingOutcome.NO_SHOW
            if roll < 0.92
            else MeetingOutcome.CANCELED
            if roll < 0.97
            else MeetingOutcome.RESCHEDULED
        )
        senior = rng.random() < min(0.95, p.senior_rate * 1.4)
        return {
            "outcome": outcome.value,
            "duration_s": 1800,
            "contact_title": rng.choice(SENIOR_TITLES if senior else OTHER_TITLES),
        }

    def _work_time(self, rng: random.Random, day: date) -> datetime:
        minute = rng.randint(8 * 60 + 30, 17 * 60 + 30)
        local = datetime.combine(day, time(minute // 60, minute % 60, rng.randint(0, 59)), self.tz)
        return local.astimezone(UTC)

    def _opportunity(
        self,
        person: Person,
        key: str,
        created: datetime,
        now: datetime,
        sim: Simulation,
    ) -> None:
        """Simulate one opportunity's whole life, keeping only what happened by ``now``."""
        p = person.persona
        opp_id = f"O-{person.user.crm_id}-{key}"
        rng = random.Random(f"{self.seed}:{opp_id}")
        amount = round(math.exp(rng.gauss(math.log(24000), 0.6)), -2)
        position, at, history = 0, created, []
        while True:
            at = at + timedelta(days=rng.uniform(2, 9) * p.stall, minutes=rng.randint(0, 600))
            current = OPEN_STAGES[position]
            if position == len(OPEN_STAGES) - 1:
                target = "Closed Won" if rng.random() < p.close else "Closed Lost"
            elif rng.random() < p.advance:
                jump = 2 if rng.random() < 0.06 and position + 2 < len(OPEN_STAGES) else 1
                target = OPEN_STAGES[position + jump]
            elif rng.random() < 0.25 and position > 0:
                target = OPEN_STAGES[position - 1]
            else:
                target = "Closed Lost"
            history.append((at, current, target))
            if target in ("Closed Won", "Closed Lost"):
                break
            position = OPEN_STAGES.index(target)
        stage, modified, close_date = OPEN_STAGES[0], created, None
        for n, (moved_at, frm, to) in enumerate(history):
            if moved_at > now:
                break
            sim.stage_changes.append(
                StageChangeRecord(
                    crm_id=f"{opp_id}-H{n}",
                    opportunity_crm_id=opp_id,
                    from_stage=frm,
                    to_stage=to,
                    changed_at=moved_at,
                )
            )
            stage, modified = to, moved_at
            if to in ("Closed Won", "Closed Lost"):
                close_date = moved_at.astimezone(self.tz).date()
        if close_date is None:
            close_date = (history[-1][0]).astimezone(self.tz).date()
        order = next(s.order for s in STAGES if s.stage == stage)
        sim.opportunities.append(
            OpportunityRecord(
                crm_id=opp_id,
                owner_crm_id=person.user.crm_id,
                name=f"{rng.choice(LAST)} {rng.choice(('Corp', 'Group', 'Labs', 'Inc', 'GmbH'))}"
                f" - {rng.choice(('Platform', 'Renewal', 'Expansion', 'Pilot'))}",
                created_at=created,
                stage=stage,
                amount=amount,
                stage_order=order,
                pipeline=PIPELINE,
                close_date=close_date,
                is_closed=stage in ("Closed Won", "Closed Lost"),
                is_won=stage == "Closed Won",
                modified_at=modified,
            )
        )


_NOT_HELD = {
    MeetingOutcome.NO_SHOW.value,
    MeetingOutcome.CANCELED.value,
    MeetingOutcome.RESCHEDULED.value,
}


def _int(value: object) -> int:
    return value if isinstance(value, int) else 0


def _is_senior(title: object) -> bool:
    return isinstance(title, str) and title in SENIOR_TITLES


def _poisson(rng: random.Random, mean: float) -> int:
    """Draw from a Poisson distribution (Knuth for small means, normal approximation above)."""
    if mean <= 0:
        return 0
    if mean > 30:
        return max(0, round(rng.gauss(mean, math.sqrt(mean))))
    limit, k, product = math.exp(-mean), 0, rng.random()
    while product > limit:
        k += 1
        product *= rng.random()
    return k


PERSONAS: dict[str, str] = {
    f"{first.lower()}.{last.lower()}@{DOMAIN}": persona.weak_step or ""
    for first, last, persona in PERSONA_PEOPLE
}
