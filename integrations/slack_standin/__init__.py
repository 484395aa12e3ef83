"""A local Slack stand-in for the demo: the Web API the bot uses, and a page to act as anyone."""

from integrations.slack_standin.server import SlackStandin
from integrations.slack_standin.workspace import BOT_USER_ID, Member, Workspace

__all__ = ["BOT_USER_ID", "Member", "SlackStandin", "Workspace"]
