"""Every action_id, block_id and callback_id the bot sends and listens for, in one place."""

from __future__ import annotations

from enum import StrEnum

from domain.coaching import FOLLOW_UP_DONE_ACTION


class Command(StrEnum):
    """Slash commands; each is in manifest.yml and has a handler (a test checks both)."""

    MYSTATS = "/mystats"
    LEADERBOARD = "/leaderboard"
    COACH = "/coach"
    GOAL = "/goal"
    PACESETTER = "/pacesetter"
    CONTEST = "/contest"


class ActionId(StrEnum):
    """Interactive elements' action ids."""

    OPEN_NOTE_MODAL = "coach_open_note"
    FOLLOW_UP_DONE = FOLLOW_UP_DONE_ACTION
    OPEN_BRIEF = "coach_open_brief"
    OPEN_GOAL_MODAL = "home_open_goal"
    HOME_PERIOD = "home_period"


class BlockId(StrEnum):
    """Input blocks of the modals, whose values arrive in view_submission state."""

    NOTE_TEMPLATE = "note_template"
    NOTE_TEXT = "note_text"
    NOTE_FOLLOW_UP = "note_follow_up"
    NOTE_ACTIONS = "note_actions"
    NOTE_SHARE = "note_share"
    NOTE_PROMPT = "note_prompt"  # + "_{template}_{n}": one input block per template prompt
    GOAL_SCOPE = "goal_scope"
    GOAL_REP = "goal_rep"
    GOAL_TEAM = "goal_team"
    GOAL_KPI = "goal_kpi"
    GOAL_PERIOD = "goal_period"
    GOAL_TARGET = "goal_target"
    GOAL_FROM = "goal_from"
    COACH_ACTIONS = "coach_actions"
    TEAM_ROW = "coach_team_row"
    CONTEST_NAME = "contest_name"
    CONTEST_KPI = "contest_kpi"
    CONTEST_RULE = "contest_rule"
    CONTEST_TARGET = "contest_target"
    CONTEST_START = "contest_start"
    CONTEST_END = "contest_end"
    CONTEST_WHO = "contest_who"
    CONTEST_TEAM = "contest_team"
    CONTEST_PEOPLE = "contest_people"
    CONTEST_SCORING = "contest_scoring"
    CONTEST_TEAMS_COMPETE = "contest_teams_compete"
    CONTEST_PRIZES = "contest_prizes"
    CONTEST_CHANNEL = "contest_channel"


class InputId(StrEnum):
    """The action ids of input elements inside the modals' input blocks."""

    NOTE_TEMPLATE = "note_template_select"
    NOTE_TEXT = "note_text_input"
    NOTE_FOLLOW_UP = "note_follow_up_date"
    NOTE_ACTIONS = "note_actions_input"
    NOTE_SHARE = "note_share_check"
    NOTE_PROMPT = "note_prompt_input"
    GOAL_SCOPE = "goal_scope_select"
    GOAL_REP = "goal_rep_user"
    GOAL_TEAM = "goal_team_input"
    GOAL_KPI = "goal_kpi_select"
    GOAL_PERIOD = "goal_period_select"
    GOAL_TARGET = "goal_target_input"
    GOAL_FROM = "goal_from_date"
    CONTEST_NAME = "contest_name_input"
    CONTEST_KPI = "contest_kpi_select"
    CONTEST_RULE = "contest_rule_select"
    CONTEST_TARGET = "contest_target_input"
    CONTEST_START = "contest_start_date"
    CONTEST_END = "contest_end_date"
    CONTEST_WHO = "contest_who_select"
    CONTEST_TEAM = "contest_team_input"
    CONTEST_PEOPLE = "contest_people_select"
    CONTEST_SCORING = "contest_scoring_select"
    CONTEST_TEAMS_COMPETE = "contest_teams_compete_check"
    CONTEST_PRIZES = "contest_prizes_input"
    CONTEST_CHANNEL = "contest_channel_select"


class CallbackId(StrEnum):
    """Modal callback ids."""

    COACHING_NOTE = "coaching_note_modal"
    GOAL = "goal_modal"
    CONTEST = "contest_modal"
    CONTEST_LAUNCH = "contest_launch_modal"
