"""Every action_id, block_id and callback_id the bot sends and listens for, in one place."""

from __future__ import annotations

from enum import StrEnum


class Command(StrEnum):
    """Slash commands; each is in manifest.yml and has a handler (a test checks both)."""

    MYSTATS = "/mystats"
    LEADERBOARD = "/leaderboard"
    COACH = "/coach"
    GOAL = "/goal"
    PACESETTER = "/pacesetter"


class ActionId(StrEnum):
    """Interactive elements' action ids."""

    OPEN_NOTE_MODAL = "coach_open_note"
    OPEN_GOAL_MODAL = "home_open_goal"
    HOME_PERIOD = "home_period"


class BlockId(StrEnum):
    """Input blocks of the modals, whose values arrive in view_submission state."""

    NOTE_TEMPLATE = "note_template"
    NOTE_TEXT = "note_text"
    NOTE_FOLLOW_UP = "note_follow_up"
    GOAL_SCOPE = "goal_scope"
    GOAL_REP = "goal_rep"
    GOAL_TEAM = "goal_team"
    GOAL_KPI = "goal_kpi"
    GOAL_PERIOD = "goal_period"
    GOAL_TARGET = "goal_target"
    GOAL_FROM = "goal_from"
    COACH_ACTIONS = "coach_actions"


class InputId(StrEnum):
    """The action ids of input elements inside the modals' input blocks."""

    NOTE_TEMPLATE = "note_template_select"
    NOTE_TEXT = "note_text_input"
    NOTE_FOLLOW_UP = "note_follow_up_date"
    GOAL_SCOPE = "goal_scope_select"
    GOAL_REP = "goal_rep_user"
    GOAL_TEAM = "goal_team_input"
    GOAL_KPI = "goal_kpi_select"
    GOAL_PERIOD = "goal_period_select"
    GOAL_TARGET = "goal_target_input"
    GOAL_FROM = "goal_from_date"


class CallbackId(StrEnum):
    """Modal callback ids."""

    COACHING_NOTE = "coaching_note_modal"
    GOAL = "goal_modal"
