"""Turn what a person does on the page into the signed requests Slack would send the bot.

A typed slash command becomes the form body Slack POSTs; a clicked button becomes a
``block_actions`` payload and a submitted modal a ``view_submission`` payload, both as the
``payload=`` form field. Each is signed with the app's signing secret (v0 HMAC-SHA256 of
``v0:{timestamp}:{body}``), sent to the bot's ``/slack/events`` with Slack's 3 s patience, and
the acknowledgement is applied as Slack applies it (ephemeral reply, modal errors, close).
"""

from __future__ import annotations

import json
import re
import time
import urllib.error
import urllib.request
import uuid
from dataclasses import dataclass
from urllib.parse import urlencode

from slack_sdk.signature import SignatureVerifier

from integrations.slack_standin.workspace import (
    APP_ID,
    BOT_USER_ID,
    TEAM_DOMAIN,
    TEAM_ID,
    Json,
    SlackError,
    Workspace,
    public,
)

ACK_TIMEOUT_S = 3.0


@dataclass(frozen=True, slots=True)
class Delivery:
    """What the bot answered to one forwarded request."""

    status: int
    body: str
    error: str | None = None

    def json(self) -> Json | None:
        """Return the acknowledgement body as JSON, or None when it is empty or plain text."""
        if not self.body.strip():
            return None
        try:
            value = json.loads(self.body)
        except json.JSONDecodeError:
            return None
        return value if isinstance(value, dict) else None


class Forwarder:
    """Sign and POST interactions to the bot, then show the acknowledgement in the workspace."""

    def __init__(
        self,
        workspace: Workspace,
        *,
        events_url: str,
        signing_secret: str,
        response_base: str,
        timeout_s: float = ACK_TIMEOUT_S,
        commands: list[Json] | None = None,
    ) -> None:
        self.ws = workspace
        self.events_url = events_url
        self.verifier = SignatureVerifier(signing_secret)
        self.response_base = response_base.rstrip("/")
        self.timeout_s = timeout_s
        # The app manifest's slash_commands: which exist, and which have should_escape.
        self.commands = list(commands or [])

    # transport -------------------------------------------------------------------------

    def send(self, form: dict[str, str] | None = None, *, event: Json | None = None) -> Delivery:
        """POST a signed form body (or an Events API JSON body) to the bot; return its answer."""
        if not self.events_url.startswith(("http://", "https://")):
            return Delivery(0, "", error="dispatch_failed")
        body = json.dumps(event) if event is not None else urlencode(form or {})
        timestamp = str(int(time.time()))
        headers = {
            "Content-Type": "application/json"
            if event is not None
            else "application/x-www-form-urlencoded",
            "X-Slack-Request-Timestamp": timestamp,
            "X-Slack-Signature": str(
                self.verifier.generate_signature(timestamp=timestamp, body=body)
            ),
            "User-Agent": "Slackbot 1.0 (+https://api.slack.com/robots)",
        }
        # The scheme is checked above: only http(s) to the bot's own endpoint.
        request = urllib.request.Request(  # noqa: S310
            self.events_url, data=body.encode(), headers=headers, method="POST"
        )
        try:
            with urllib.request.urlopen(request, timeout=self.timeout_s) as response:  # noqa: S310
                return Delivery(response.status, response.read().decode("utf-8", "replace"))
        except urllib.error.HTTPError as exc:
            text = exc.read().decode("utf-8", "replace")
            return Delivery(exc.code, text, error=f"http_{exc.code}")
        except TimeoutError:
            return Delivery(0, "", error="operation_timeout")
        except (urllib.error.URLError, OSError) as exc:
            reason = getattr(exc, "reason", exc)
            if isinstance(reason, TimeoutError):
                return Delivery(0, "", error="operation_timeout")
            return Delivery(0, "", error="dispatch_failed")

    def _user_fields(self, user_id: str) -> Json:
        member = self.ws.member(user_id)
        return {
            "id": member.id,
            "username": member.email.split("@")[0],
            "name": member.email.split("@")[0],
            "team_id": TEAM_ID,
        }

    # slash commands --------------------------------------------------------------------

    def command(self, user_id: str, channel_id: str | None, line: str) -> Delivery:
        """Send ``/command text`` typed by a person in a channel (their DM by default)."""
        line = line.strip()
        if not line.startswith("/"):
            raise SlackError("not_a_command")
        command, _, text = line.partition(" ")
        member = self.ws.member(user_id)
        known = {c["command"]: c for c in self.commands}
        if known and command not in known:
            self.ws.notify(
                user_id,
                f"{command} is not a valid command. In Slack, all messages that start with "
                'the "/" character are interpreted as commands.',
            )
            return Delivery(0, "", error="unknown_command")
        channel = self.ws.resolve(channel_id) if channel_id else self.ws.open_im(user_id)
        token = self.ws.new_response_url(user_id, channel.id, None)
        form = {
            "token": "standin-verification-token",
            "team_id": TEAM_ID,
            "team_domain": TEAM_DOMAIN,
            "channel_id": channel.id,
            "channel_name": "directmessage" if channel.is_im else channel.name,
            "user_id": member.id,
            "user_name": member.email.split("@")[0],
            "command": command,
            "text": self.escape(text.strip())
            if known.get(command, {}).get("should_escape")
            else text.strip(),
            "api_app_id": APP_ID,
            "is_enterprise_install": "false",
            "response_url": f"{self.response_base}/{token}",
            "trigger_id": self.ws.new_trigger(user_id),
        }
        delivery = self.send(form)
        if delivery.error:
            self.ws.notify(user_id, f'{command} failed with the error "{delivery.error}"')
        else:
            self._show_reply(user_id, channel.id, delivery, in_thread_of=None)
        return delivery

    def escape(self, text: str) -> str:
        """Turn typed ``@Full Name`` / ``@handle`` into ``<@ID|handle>`` (should_escape)."""
        names: list[tuple[str, str, str]] = []
        for member in self.ws.members.values():
            handle = member.email.split("@")[0]
            names += [(member.name, member.id, handle), (handle, member.id, handle)]
        for label, user_id, handle in sorted(names, key=lambda n: -len(n[0])):
            pattern = re.compile(rf"@{re.escape(label)}(?![\w.])", re.IGNORECASE)
            text = pattern.sub(f"<@{user_id}|{handle}>", text)
        return text

    def _show_reply(
        self, user_id: str, channel_id: str, delivery: Delivery, in_thread_of: str | None
    ) -> None:
        """Show a non-empty acknowledgement as Slack does (ephemeral unless in_channel)."""
        reply = delivery.json()
        if reply is None:
            if delivery.body.strip():
                self.ws.post_ephemeral(channel_id, user_id, text=delivery.body.strip(), blocks=None)
            return
        if not reply.get("text") and not reply.get("blocks"):
            return
        self.respond(self.ws.new_response_url(user_id, channel_id, in_thread_of), reply)

    # response_url ----------------------------------------------------------------------

    def respond(self, token: str, reply: Json) -> None:
        """Apply a POST to a response_url: ephemeral, in_channel, replace or delete."""
        target = self.ws.responses.get(token)
        if target is None:
            raise SlackError("invalid_response_url")
        if target.uses >= 5:
            raise SlackError("used_up")
        target.uses += 1
        text = str(reply.get("text") or "")
        blocks = reply.get("blocks")
        if reply.get("delete_original") and target.message_ts:
            self.ws.delete(target.channel, target.message_ts)
            return
        if reply.get("replace_original") and target.message_ts:
            self.ws.update(target.channel, target.message_ts, text=text, blocks=blocks or [])
            return
        if reply.get("response_type") == "in_channel":
            self.ws.post(target.channel, text=text, blocks=blocks)
            return
        self.ws.post_ephemeral(target.channel, target.user, text=text, blocks=blocks)

    # interactivity ---------------------------------------------------------------------

    def action(
        self,
        user_id: str,
        *,
        action: Json,
        channel_id: str | None = None,
        message_ts: str | None = None,
        view_id: str | None = None,
        state: Json | None = None,
    ) -> Delivery:
        """Send a ``block_actions`` payload for a click in a message or a view."""
        stamped = {**action, "action_ts": f"{time.time():.6f}"}
        payload: Json = {
            "type": "block_actions",
            "user": self._user_fields(user_id),
            "api_app_id": APP_ID,
            "token": "standin-verification-token",
            "trigger_id": self.ws.new_trigger(user_id),
            "team": {"id": TEAM_ID, "domain": TEAM_DOMAIN},
            "enterprise": None,
            "is_enterprise_install": False,
            "actions": [stamped],
            "state": {"values": state or {}},
        }
        if view_id:
            view = dict(self.ws.views[view_id])
            view["state"] = {"values": state or {}}
            payload["container"] = {"type": "view", "view_id": view_id}
            payload["view"] = public(view)
        elif channel_id and message_ts:
            channel = self.ws.resolve(channel_id)
            message = self.ws.message(channel.id, message_ts)
            ephemeral = "ephemeral_for" in message
            payload["container"] = {
                "type": "message",
                "message_ts": message_ts,
                "channel_id": channel.id,
                "is_ephemeral": ephemeral,
            }
            payload["channel"] = {
                "id": channel.id,
                "name": "directmessage" if channel.is_im else channel.name,
            }
            payload["message"] = public(message)
            payload["response_url"] = (
                f"{self.response_base}/{self.ws.new_response_url(user_id, channel.id, message_ts)}"
            )
        else:
            raise SlackError("invalid_arguments")
        delivery = self.send({"payload": json.dumps(payload)})
        if delivery.error:
            self.ws.notify(user_id, f'That button failed with the error "{delivery.error}"')
        return delivery

    def submit(self, user_id: str, view_id: str, values: Json) -> Delivery:
        """Send a ``view_submission`` for the modal and apply the bot's response_action."""
        view = self.ws.views.get(view_id)
        if view is None:
            raise SlackError("not_found")
        submitted = public(view)
        submitted["state"] = {"values": values}
        payload = {
            "type": "view_submission",
            "team": {"id": TEAM_ID, "domain": TEAM_DOMAIN},
            "user": self._user_fields(user_id),
            "api_app_id": APP_ID,
            "token": "standin-verification-token",
            "trigger_id": self.ws.new_trigger(user_id),
            "view": submitted,
            "response_urls": [],
            "is_enterprise_install": False,
            "enterprise": None,
        }
        delivery = self.send({"payload": json.dumps(payload)})
        if delivery.error:
            self.ws.set_view_errors(
                view_id, {"": f"We had some trouble connecting ({delivery.error})."}
            )
            return delivery
        self._apply_response_action(user_id, view_id, delivery.json() or {})
        return delivery

    def _apply_response_action(self, user_id: str, view_id: str, reply: Json) -> None:
        action = reply.get("response_action")
        if action == "errors":
            self.ws.set_view_errors(view_id, dict(reply.get("errors") or {}))
        elif action == "update":
            self.ws.update_view(reply["view"], view_id=view_id, external_id=None)
        elif action == "push":
            trigger = self.ws.new_trigger(user_id)
            self.ws.open_view(trigger, reply["view"], push=True)
        elif action == "clear":
            self.ws.close_modal(user_id, all_of_them=True)
        else:
            self.ws.close_modal(user_id)

    def home_opened(self, user_id: str) -> Delivery:
        """Send the Events API `app_home_opened` event Slack sends when someone opens Home."""
        self.ws.member(user_id)
        channel = self.ws.open_im(user_id)
        now = time.time()
        envelope = {
            "token": "standin-verification-token",
            "team_id": TEAM_ID,
            "api_app_id": APP_ID,
            "event": {
                "type": "app_home_opened",
                "user": user_id,
                "channel": channel.id,
                "tab": "home",
                "event_ts": f"{now:.6f}",
            },
            "type": "event_callback",
            "event_id": f"Ev{uuid.uuid4().hex[:10].upper()}",
            "event_time": int(now),
            "authorizations": [{"team_id": TEAM_ID, "user_id": BOT_USER_ID, "is_bot": True}],
        }
        return self.send(event=envelope)

    def close(self, user_id: str, view_id: str) -> Delivery | None:
        """Close a modal; tell the bot when the view asked for notify_on_close."""
        view = self.ws.views.get(view_id)
        self.ws.close_modal(user_id)
        if not view or not view.get("notify_on_close"):
            return None
        payload = {
            "type": "view_closed",
            "team": {"id": TEAM_ID, "domain": TEAM_DOMAIN},
            "user": self._user_fields(user_id),
            "api_app_id": APP_ID,
            "view": public(view),
            "is_cleared": False,
        }
        return self.send({"payload": json.dumps(payload)})
