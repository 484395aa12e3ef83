"""`/coach @rep` (past, current, direction) and `/coach` alone (the team at a glance), over
signed HTTP requests to the running bot, on a sandbox org with five months of history.

Every number checked is recomputed here from the raw tables (snapshots, opportunities, stage
history) with plain Python, not through the code under test.
"""

from __future__ import annotations

import json
import re
import statistics
from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml
from sqlalchemy import func
from sqlmodel import Session, col, select

import app
from bot.blocks.common import number, percent
from bot.ids import ActionId, BlockId
from bot.server import make_http_server, serve_in_thread
from domain.glance import TEAM_REFUSAL
from domain.identity import COACH_REFUSAL
from domain.kpis import default_kpis
from integrations.sandbox import SandboxOrg, SandboxSource
from jobs.sync import run_sync
from storage.models import CoachingNote, DailySnapshot, Opportunity, PipelineStage, Rep, StageChange
from tests.bot.conftest import NOW, SECRET, TZ, BotEnv, make_runtime, slack_id
from tests.bot.test_scenarios import command
from tests.fakes.slack import FakeSlack, SlackSender

HISTORY_DAYS = 150  # covers the whole previous quarter (Jul 1 - Sep 30) before NOW (Nov 19)
TODAY = date(2026, 11, 19)
Q3 = (date(2026, 7, 1), date(2026, 9, 30))
WEEKLY_GOALS = {
    "prospecting": 60,
    "conversations": 15,
    "meaningful_conversations": 5,
    "opportunities_created": 2,
}
MONTHLY_GOALS = {"wins": 2}
KPIS = [d.name for d in default_kpis()]


@pytest.fixture(scope="module")
def coach_env(tmp_path_factory: pytest.TempPathFactory) -> Iterator[BotEnv]:
    """The bot over HTTP against the fake Slack, on a sandbox org with 150 days of history."""
    path: Path = tmp_path_factory.mktemp("coach") / "coach.db"
    with FakeSlack() as slack:
        rt = make_runtime(f"sqlite:///{path}", slack)
        rt.upgrade()
        org = SandboxOrg(seed=11, reps=10, history_days=HISTORY_DAYS, timezone=TZ)
        run_sync(
            SandboxSource(org, now=lambda: NOW), rt.sync_store, default_kpis(), now=lambda: NOW
        )
        people = {}
        for person in org.people(TODAY):
            people[person.user.name] = slack_id(person.user.crm_id)
            slack.add_user(slack_id(person.user.crm_id), person.user.email, person.user.name, TZ)
        rt.load_config_goals()
        client = rt.slack_client()
        rt.match_slack_users(client)
        server = make_http_server(rt.bolt_app(client, socket_mode=False), "127.0.0.1", 0)
        serve_in_thread(server)
        sender = SlackSender(f"http://127.0.0.1:{server.server_port}", SECRET, slack)
        try:
            yield BotEnv(slack, sender, rt, server, people)
        finally:
            server.shutdown()
            server.server_close()
            rt.engine.dispose()
            rt.read_engine.dispose()


# independent computations from the raw tables ---------------------------------------------------


def rep_row(env: BotEnv, name: str) -> Rep:
    with Session(env.rt.engine) as session:
        rep = session.exec(select(Rep).where(Rep.name == name)).one()
        session.expunge(rep)
        return rep


def raw_sum(env: BotEnv, rep_id: int, kpi: str, start: date, end: date) -> float:
    with Session(env.rt.engine) as session:
        total = session.exec(
            select(func.sum(DailySnapshot.value)).where(
                DailySnapshot.rep_id == rep_id,
                DailySnapshot.kpi == kpi,
                col(DailySnapshot.day) >= start,
                col(DailySnapshot.day) <= end,
            )
        ).one()
    return float(total or 0.0)


def teammates(env: BotEnv, rep: Rep) -> list[Rep]:
    """The rep's peers: sellers of their team (the sandbox teams have more than two)."""
    with Session(env.rt.engine) as session:
        rows = session.exec(
            select(Rep).where(Rep.team == rep.team, Rep.role == "rep", col(Rep.active).is_(True))
        ).all()
        for row in rows:
            session.expunge(row)
    peers = [r for r in rows if r.id != rep.id]
    assert len(peers) >= 2
    return peers


def weekdays(start: date, end: date) -> int:
    return sum(1 for n in range((end - start).days + 1) if (start + timedelta(n)).weekday() < 5)


def quarter_goal(kpi: str) -> float | None:
    if kpi in WEEKLY_GOALS:
        return WEEKLY_GOALS[kpi] / 5 * weekdays(*Q3)
    if kpi in MONTHLY_GOALS:
        return MONTHLY_GOALS[kpi] * 3.0  # July, August and September lie wholly in Q3
    return None


def stage_rates(env: BotEnv, rep_ids: set[int]) -> dict[str, tuple[int, int]]:
    """Return stage -> (closed deals of ``rep_ids`` that reached it, of which won)."""
    with Session(env.rt.engine) as session:
        stages = session.exec(select(PipelineStage)).all()
        order = {s.stage: s.order for s in stages if not s.is_closed}
        opps = session.exec(
            select(Opportunity).where(
                col(Opportunity.rep_id).in_(rep_ids), col(Opportunity.is_closed)
            )
        ).all()
        changes = session.exec(
            select(StageChange).where(col(StageChange.is_deleted).is_(False))
        ).all()
    moved: dict[str, list[str]] = {}
    for change in changes:
        moved.setdefault(change.opportunity_crm_id, []).extend(
            [change.from_stage or "", change.to_stage]
        )
    out: dict[str, tuple[int, int]] = {}
    for stage, rank in order.items():
        reached = won = 0
        for opp in opps:
            if opp.is_deleted:
                continue
            furthest = max((order[s] for s in moved.get(opp.crm_id, []) if s in order), default=1)
            if opp.is_won or furthest >= rank:
                reached += 1
                won += int(opp.is_won)
        out[stage] = (reached, won)
    return out


def expected_pipeline(env: BotEnv, rep: Rep) -> dict[str, Any]:
    """The rep's open deals per stage and their expected value, recomputed from raw rows."""
    with Session(env.rt.engine) as session:
        probability = {s.stage: s.probability for s in session.exec(select(PipelineStage)).all()}
        open_deals = session.exec(
            select(Opportunity).where(
                Opportunity.rep_id == rep.id,
                col(Opportunity.is_closed).is_(False),
                col(Opportunity.is_deleted).is_(False),
            )
        ).all()
    own = stage_rates(env, {rep.id or 0})
    theirs = stage_rates(env, {p.id or 0 for p in teammates(env, rep)})
    stages: dict[str, dict[str, Any]] = {}
    for deal in open_deals:
        row = stages.setdefault(deal.stage, {"count": 0, "amount": 0.0})
        row["count"] += 1
        row["amount"] += deal.amount or 0.0
    for stage, row in stages.items():
        if own[stage][0] >= 5:
            row["rate"], row["basis"] = own[stage][1] / own[stage][0], "rep's own"
        elif theirs[stage][0] >= 5:
            row["rate"], row["basis"] = theirs[stage][1] / theirs[stage][0], "peers'"
        else:
            row["rate"], row["basis"] = probability[stage], "CRM stage probability"
        row["value"] = row["amount"] * row["rate"]
    return stages


def trend_weeks() -> list[tuple[date, date]]:
    monday = TODAY - timedelta(days=TODAY.weekday())
    return [(monday - timedelta(weeks=n), monday - timedelta(weeks=n) + timedelta(6))
            for n in range(6, 0, -1)]  # fmt: skip


def direction_word(values: list[float]) -> str:
    mean = statistics.fmean(values)
    if mean <= 0:
        return "flat"
    fitted = statistics.linear_regression(range(len(values)), values).slope
    change = fitted * (len(values) - 1) / mean
    return "up" if change > 0.15 else "down" if change < -0.15 else "flat"


LABELS = {d.name: d.label for d in default_kpis()}


def section(text: str, title: str) -> list[str]:
    """Return the lines of the fallback text's section that starts with ``title``."""
    lines = text.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith(title))
    out = []
    for line in lines[start + 1 :]:
        if line.startswith(("Open pipeline now", "Direction (", "Questions for your 1:1")):
            break
        out.append(line)
    return out


# /coach @rep -----------------------------------------------------------------------------------


def test_the_brief_shows_last_quarter_pipeline_and_direction_as_recomputed(
    coach_env: BotEnv,
) -> None:
    morgan, john_id = coach_env.people["Morgan Lee"], coach_env.people["John Miller"]
    reply = command(coach_env, "/coach", f"<@{john_id}|john>", morgan).body
    text = reply["text"]
    john = rep_row(coach_env, "John Miller")
    group = [john, *teammates(coach_env, john)]

    # Past: last quarter's totals against goal, ranked among the rep and their peers.
    past = section(text, "Last quarter (2026-Q3, Jul 1 – Sep 30)")
    assert len(past) == len(KPIS)
    for kpi, line in zip(KPIS, past, strict=True):
        sums = {r.id: raw_sum(coach_env, r.id or 0, kpi, *Q3) for r in group}
        mine = sums[john.id]
        rank = 1 + sum(1 for rid, v in sums.items() if rid != john.id and v > mine)
        unit = "$" if kpi == "won_amount" else ""
        goal = quarter_goal(kpi)
        shown = f"{LABELS[kpi]}: {number(mine, unit)}"
        shown += (
            f" of {number(goal, unit)} goal ({percent(100 * mine / goal)})"
            if goal
            else " (no goal)"
        )
        assert line == f"{shown} · #{rank} of {len(group)}"
    assert raw_sum(coach_env, john.id or 0, "prospecting", *Q3) > 0

    # Current: open deals by stage, each weighted by a stage-reached win rate.
    stages = expected_pipeline(coach_env, john)
    current = section(text, "Open pipeline now")
    assert stages and len(current) == len(stages) + 1
    for line in current[:-1]:
        stage = line.split(":")[0]
        row = stages[stage]
        deals = "deal" if row["count"] == 1 else "deals"
        assert line == (
            f"{stage}: {row['count']} {deals}, {number(row['amount'], '$')} → "
            f"{number(row['value'], '$')} expected ({row['rate']:.0%} win rate, {row['basis']})"
        )
    count = sum(r["count"] for r in stages.values())
    amount = sum(r["amount"] for r in stages.values())
    value = sum(r["value"] for r in stages.values())
    assert current[-1] == (
        f"Total: {count} deals, {number(amount, '$')}; expected value {number(value, '$')}"
    )

    # Direction: six complete weeks of each KPI and the direction of their fitted line.
    weeks = trend_weeks()
    direction = section(text, "Direction (last 6 weeks, Oct 5 – Nov 15)")
    words = set()
    for kpi, line in zip(KPIS, direction, strict=True):
        values = [raw_sum(coach_env, john.id or 0, kpi, *w) for w in weeks]
        unit = "$" if kpi == "won_amount" else ""
        word = direction_word(values)
        words.add(word)
        assert line.endswith(
            f"{LABELS[kpi]} {word}: " + " · ".join(number(v, unit) for v in values)
        )
    assert words - {"flat"}, "the sandbox should move at least one KPI"

    # The same numbers in blocks, within Slack's limits; questions still follow the weak step.
    blocks = reply["blocks"]
    assert len(blocks) <= 50
    assert all(len((b.get("text") or {}).get("text", "")) <= 3000 for b in blocks)
    assert any("*Open pipeline now*" in (b.get("text") or {}).get("text", "") for b in blocks)
    assert "Questions for your 1:1:" in text and "Weak step:" in text


def test_the_cli_json_has_the_same_sections_with_exact_numbers(
    coach_env: BotEnv, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
) -> None:  # fmt: skip
    use_cli(coach_env, monkeypatch, tmp_path)
    brief = run_cli(capsys, ["coach", "--rep", "john.miller@example.com", "--json"])
    john = rep_row(coach_env, "John Miller")
    assert brief["weak_step"] in KPIS  # the DESIGN.md contract
    prospecting = brief["past"]["kpis"]["prospecting"]
    assert prospecting["actual"] == raw_sum(coach_env, john.id or 0, "prospecting", *Q3)
    assert prospecting["goal"] == pytest.approx(quarter_goal("prospecting"))
    stages = expected_pipeline(coach_env, john)
    assert brief["pipeline"]["open_count"] == sum(r["count"] for r in stages.values())
    assert brief["pipeline"]["expected_value"] == pytest.approx(
        sum(r["value"] for r in stages.values()), abs=0.01
    )
    assert "win rate of deals that reached the stage" in brief["pipeline"]["method"]
    weeks = trend_weeks()
    assert brief["direction"]["weeks"] == [w[0].isoformat() for w in weeks]
    wins = brief["direction"]["kpis"]["conversations"]["values"]
    assert wins == [raw_sum(coach_env, john.id or 0, "conversations", *w) for w in weeks]

    # Without --json: the same sections for a terminal, and the team table.
    with pytest.raises(SystemExit):
        app.main(["coach", "--rep", "john.miller@example.com"])
    text = capsys.readouterr().out
    assert f"open pipeline {brief['pipeline']['open_count']} deals" in text
    assert "last quarter 2026-Q3" in text
    with pytest.raises(SystemExit):
        app.main(["coach", "--team", "--as", "morgan.lee@example.com"])
    assert "John Miller" in capsys.readouterr().out
    with pytest.raises(SystemExit) as exit_:
        app.main(["coach"])
    assert exit_.value.code == 2 and "--team --as MANAGER_EMAIL" in capsys.readouterr().err


def test_a_manager_of_another_team_is_refused_the_brief(coach_env: BotEnv) -> None:
    riley, john = coach_env.people["Riley Shah"], coach_env.people["John Miller"]
    reply = command(coach_env, "/coach", f"<@{john}|john>", riley).body
    assert COACH_REFUSAL in reply["text"]
    assert "Last quarter" not in reply["text"] and not reply.get("blocks")


# /coach alone ----------------------------------------------------------------------------------


def use_cli(
    env: BotEnv, monkeypatch: pytest.MonkeyPatch, tmp_path: Path, **changes: object
) -> None:
    """Point the CLI at the bot's database, time and config (its goals and admins)."""
    config = tmp_path / "pacesetter.yml"
    settings = {**env.rt.config.model_dump(mode="json"), **changes}
    config.write_text(yaml.safe_dump(settings), encoding="utf-8")
    monkeypatch.setenv("DATABASE_URL", env.rt.settings.database_url)
    monkeypatch.setenv("PACESETTER_NOW", NOW.isoformat())
    monkeypatch.setenv("PACESETTER_CONFIG", str(config))


def run_cli(capsys: pytest.CaptureFixture[str], argv: list[str]) -> Any:
    """Run `pacesetter ARGV`, check it succeeded, and return its JSON output."""
    with pytest.raises(SystemExit) as exit_:
        app.main(argv)
    out = capsys.readouterr()
    assert exit_.value.code == 0, out.err
    return json.loads(out.out)


def set_role(env: BotEnv, name: str, role: str) -> None:
    with Session(env.rt.engine) as session:
        rep = session.exec(select(Rep).where(Rep.name == name)).one()
        rep.role = role
        session.add(rep)
        session.commit()


def add_overdue_notes(env: BotEnv, manager: str, rep: str, count: int) -> None:
    with Session(env.rt.engine) as session:
        boss = session.exec(select(Rep).where(Rep.name == manager)).one()
        who = session.exec(select(Rep).where(Rep.name == rep)).one()
        for n in range(count):
            session.add(
                CoachingNote(manager_id=boss.id or 0, rep_id=who.id or 0, template="blank",
                             text=f"check-in {n}", follow_up_on=date(2026, 11, 10 + n),
                             created_at=NOW - timedelta(days=20))
            )  # fmt: skip
        session.commit()


def test_a_manager_sees_their_reps_in_attention_order_with_why(
    coach_env: BotEnv, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
) -> None:  # fmt: skip
    add_overdue_notes(coach_env, "Morgan Lee", "Carl Novak", 3)
    morgan = coach_env.people["Morgan Lee"]
    reply = command(coach_env, "/coach", "", morgan).body
    lines = re.findall(r"^(\d+)\. (.+?) — (.+)$", reply["text"], flags=re.MULTILINE)
    boss = rep_row(coach_env, "Morgan Lee")
    with Session(coach_env.rt.engine) as session:
        mine = {r.name for r in session.exec(
            select(Rep).where(Rep.manager_id == boss.id, Rep.role == "rep", col(Rep.active))
        ).all()}  # fmt: skip
    assert {name for _, name, _ in lines} == mine and len(lines) == len(mine)

    # The attention order is the CLI's, and that order is by falling attention.
    use_cli(coach_env, monkeypatch, tmp_path)
    glance = run_cli(capsys, ["coach", "--team", "--as", "morgan.lee@example.com", "--json"])
    assert [r["name"] for r in glance["reps"]] == [name for _, name, _ in lines]
    attention = [r["attention"] for r in glance["reps"]]
    assert attention == sorted(attention, reverse=True)
    for row in glance["reps"]:
        assert row["attention"] == pytest.approx(sum(r["points"] for r in row["reasons"]), abs=0.01)

    # Three overdue follow-ups (1.5 points) outweigh any single reason (at most 1).
    why = {name: reason for _, name, reason in lines}
    assert why["Carl Novak"] == "3 overdue follow-ups since Nov 10"
    # Every "behind" line quotes the actual count recomputed from the snapshots.
    # Paced to the end of the last finished working day: Thursday afternoon -> Wednesday.
    paced_to = TODAY - timedelta(days=1)
    monday, first = paced_to - timedelta(days=paced_to.weekday()), paced_to.replace(day=1)
    checked = 0
    for name, reason in why.items():
        found = re.match(
            r"behind on (.+): ([\d.,]+) of ([\d.,]+) expected this (week|month)", reason
        )
        if found:
            kpi = next(k for k, label in LABELS.items() if label.lower() == found[1])
            start = monday if found[4] == "week" else first
            actual = raw_sum(coach_env, rep_row(coach_env, name).id or 0, kpi, start, paced_to)
            assert float(found[2].replace(",", "")) == actual
            checked += 1
    assert checked, why

    # Each row has a button that opens that rep's brief.
    rows = [b for b in reply["blocks"] if str(b.get("block_id", "")).startswith(BlockId.TEAM_ROW)]
    assert len(rows) == len(mine)
    button = rows[0]["accessory"]
    assert button["action_id"] == ActionId.OPEN_BRIEF
    before = len(coach_env.slack.calls_to("response"))
    assert coach_env.sender.block_action(morgan, button["action_id"], button["value"]).ok
    opened = coach_env.slack.wait_for("response", before + 1)[-1].body
    assert opened["text"].startswith(f"Coaching brief for {lines[0][1]}")


def test_an_admin_sees_everyone_or_one_team(coach_env: BotEnv) -> None:
    dana = coach_env.people["Dana Reyes"]
    everyone = command(coach_env, "/coach", "", dana).body["text"]
    with Session(coach_env.rt.engine) as session:
        sellers = session.exec(select(Rep).where(Rep.role == "rep", col(Rep.active))).all()
    assert everyone.startswith(f"Team at a glance: {len(sellers)} reps (everyone)")
    west = command(coach_env, "/coach", "team west", dana).body["text"]
    names = re.findall(r"^\d+\. (.+?) — ", west, flags=re.MULTILINE)
    assert sorted(names) == sorted(r.name for r in sellers if r.team == "West")
    unknown = command(coach_env, "/coach", "team Nowhere", dana).body["text"]
    assert "No active reps in a team called “Nowhere”" in unknown


def test_a_director_who_is_not_an_admin_sees_their_managers_reps(
    coach_env: BotEnv, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
) -> None:  # fmt: skip
    use_cli(coach_env, monkeypatch, tmp_path, admins=[])
    set_role(coach_env, "Dana Reyes", "manager")  # the director, not an admin for once
    try:
        glance = run_cli(capsys, ["coach", "--team", "--as", "dana.reyes@example.com", "--json"])
    finally:
        set_role(coach_env, "Dana Reyes", "admin")
    dana = rep_row(coach_env, "Dana Reyes")
    with Session(coach_env.rt.engine) as session:
        sellers = session.exec(select(Rep).where(Rep.role == "rep", col(Rep.active))).all()
        direct = session.exec(select(Rep).where(Rep.manager_id == dana.id)).all()
    assert direct and all(r.role == "manager" for r in direct)  # her reps are all indirect
    assert sorted(r["name"] for r in glance["reps"]) == sorted(r.name for r in sellers)
    with pytest.raises(SystemExit) as exit_:
        app.main(["coach", "--team", "--as", "carl.novak@example.com"])
    assert exit_.value.code == 2
    assert "manages nobody" in capsys.readouterr().err


def test_a_manager_who_types_a_name_without_mentioning_is_told_how(coach_env: BotEnv) -> None:
    morgan = coach_env.people["Morgan Lee"]
    text = command(coach_env, "/coach", "john", morgan).body["text"]
    assert "`/coach @name`" in text and "`/coach` alone" in text


def test_a_rep_is_refused_the_team_view_and_pointed_to_mystats(coach_env: BotEnv) -> None:
    carl = coach_env.people["Carl Novak"]
    text = command(coach_env, "/coach", "", carl).body["text"]
    assert TEAM_REFUSAL in text and "/mystats" in text
    assert "John" not in text
