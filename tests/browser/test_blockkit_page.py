"""The stand-in page renders Block Kit readably: what slack_sdk posts is what a person sees."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from slack_sdk import WebClient

from integrations.slack_standin import Member, SlackStandin

pytestmark = pytest.mark.browser


TOKEN = "xoxb-render-test"
PEOPLE = [Member("UREP0001", "Ava Stone", "ava.stone@example.com", "America/Chicago", "AE", "East")]
PNG = bytes.fromhex(
    "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
    "1f15c4890000000d49444154789c6360f8cfc0f01f0005000201c1f2a5a40000000049454e44ae426082"
)


@pytest.fixture
def standin() -> Iterator[SlackStandin]:
    with SlackStandin(PEOPLE, token=TOKEN, signing_secret="render-secret") as running:
        yield running


def test_blocks_render_as_people_read_them(standin: SlackStandin, page: Any, shot: Any) -> None:
    client = WebClient(token=TOKEN, base_url=standin.api_url)
    upload = client.files_upload_v2(
        channel="UREP0001", content=PNG, filename="trend.png", title="Trend"
    )
    blocks = [
        {"type": "header", "text": {"type": "plain_text", "text": "Your week :trophy:"}},
        {
            "type": "section",
            "text": {
                "type": "mrkdwn",
                "text": "*Bold* _italic_ ~gone~ `code` "
                "<https://example.com|a link> for <@UREP0001>",
            },
            "fields": [
                {"type": "mrkdwn", "text": "*Calls*\n42"},
                {"type": "mrkdwn", "text": "*Meetings*\n3"},
            ],
            "accessory": {
                "type": "button",
                "action_id": "more",
                "text": {"type": "plain_text", "text": "Details"},
            },
        },
        {"type": "divider"},
        {
            "type": "context",
            "elements": [{"type": "mrkdwn", "text": "Data as of 9:00 &amp; fresh"}],
        },
        {"type": "image", "slack_file": {"id": upload["file"]["id"]}, "alt_text": "trend chart"},
        {
            "type": "actions",
            "elements": [
                {
                    "type": "button",
                    "action_id": "ok",
                    "style": "primary",
                    "text": {"type": "plain_text", "text": "Looks good"},
                },
                {
                    "type": "static_select",
                    "action_id": "period",
                    "options": [{"text": {"type": "plain_text", "text": "Week"}, "value": "week"}],
                },
            ],
        },
    ]
    client.chat_postMessage(channel="UREP0001", text="Your week", blocks=blocks)
    page.goto(f"{standin.url}/?user=UREP0001")
    message = page.locator(".msg", has_text="Your week").last
    message.wait_for()
    assert message.locator("h3").inner_text() == "Your week 🏆"
    assert message.locator("b", has_text="Bold").count() == 1
    assert message.locator("i", has_text="italic").count() == 1
    assert message.locator("s", has_text="gone").count() == 1
    assert message.locator("a[href='https://example.com']").inner_text() == "a link"
    assert message.locator(".mention").inner_text() == "@Ava Stone"
    assert message.locator(".bk-field").all_inner_texts() == ["Calls\n42", "Meetings\n3"]
    assert message.locator(".bk-context").inner_text() == "Data as of 9:00 & fresh"
    assert (
        message.get_by_role("button", name="Looks good").get_attribute("class").endswith("primary")
    )
    image = message.locator("img.bk-image")
    assert image.get_attribute("alt") == "trend chart"
    assert image.evaluate("img => img.complete && img.naturalWidth") == 1
    assert page.locator(".msg img[alt='Trend']").count() == 1, "the shared file shows as an image"
    assert "CST" in page.locator(".msg time").first.inner_text(), "times in the viewer's zone"
    shot(page, "blocks")
