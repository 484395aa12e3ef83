"""Matching CRM reps to Slack users by email, and who may see or change what about whom.

Reps are matched by email (Slack's ``users.lookupByEmail``) and take their time zone from
Slack (``users.info``); an admin can link a rep whose emails differ. Access follows the
hierarchy: a rep sees their own data, managers up the chain see their reps', admins see all.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass, field

from domain.coaching import Role, Viewer, can_coach
from domain.errors import BadInput, NotAllowed
from domain.ports import Directory, LinkChange, RepProfile, SlackDirectory

ADMIN_ROLE = "admin"
MANAGER_ROLE = "manager"
COACH_REFUSAL = (
    "Coaching briefs are for a rep's managers and Pacesetter admins. If you think you should "
    "see this one, ask an admin to check the reporting lines synced from the CRM."
)


@dataclass(frozen=True, slots=True)
class MatchReport:
    """What a matching pass did."""

    linked: list[LinkChange] = field(default_factory=list)
    unmatched: list[RepProfile] = field(default_factory=list)


def is_admin(rep: RepProfile | None, admins: Collection[str] = ()) -> bool:
    """Say whether ``rep`` is an admin by role or by the config's admin list."""
    if rep is None:
        return False
    return rep.role == ADMIN_ROLE or rep.email.casefold() in {a.casefold() for a in admins}


def viewer_of(rep: RepProfile, admins: Collection[str] = ()) -> Viewer:
    """Return the coaching viewer for ``rep`` (admins by role or by the config's list)."""
    if is_admin(rep, admins):
        return Viewer(rep.id, Role.ADMIN)
    return Viewer(rep.id, Role.MANAGER if rep.role == MANAGER_ROLE else Role.REP)


def can_set_goals(viewer: RepProfile | None, admins: Collection[str] = ()) -> bool:
    """Say whether ``viewer`` may set goals: managers and admins."""
    return viewer is not None and (viewer.role == MANAGER_ROLE or is_admin(viewer, admins))


def coachable_rep(
    viewer: RepProfile | None, rep_id: int | None, directory: Directory, admins: Collection[str]
) -> RepProfile:
    """Return the rep ``viewer`` asked to coach, or refuse in words that reveal nothing.

    Unknown users and reps outside the viewer's reach get the same refusal, so a rep cannot
    probe who exists or who reports to whom.
    """
    rep = directory.by_id(rep_id) if rep_id is not None else None
    if (
        viewer is None
        or rep is None
        or not can_coach(viewer_of(viewer, admins), rep.id, directory.managers_of(rep.id))
    ):
        raise NotAllowed(COACH_REFUSAL)
    return rep


def match_reps(directory: Directory, slack: SlackDirectory) -> MatchReport:
    """Link every unmatched rep whose email Slack knows; return what was linked and what not."""
    linked: list[LinkChange] = []
    still: list[RepProfile] = []
    for rep in directory.unmatched():
        member = slack.lookup_by_email(rep.email)
        if member is None or member.deleted:
            still.append(rep)
            continue
        info = slack.info(member.user_id) or member
        linked.append(directory.link(rep.id, member.user_id, info.timezone))
    return MatchReport(linked, still)


def link_by_admin(
    viewer: RepProfile | None,
    admins: Collection[str],
    directory: Directory,
    slack: SlackDirectory,
    *,
    slack_user_id: str,
    email: str,
) -> tuple[RepProfile, LinkChange]:
    """Link the Slack user to the rep with ``email`` on an admin's say-so."""
    if not is_admin(viewer, admins):
        raise NotAllowed("Only Pacesetter admins can link reps to Slack users.")
    rep = directory.by_email(email)
    if rep is None:
        raise BadInput(
            f"No rep synced from the CRM has the email {email}. Check the spelling, or run a "
            "sync if they were added recently."
        )
    member = slack.info(slack_user_id)
    if member is None:
        raise BadInput("Slack doesn't know that user; mention them as @name.")
    return rep, directory.link(rep.id, slack_user_id, member.timezone)
