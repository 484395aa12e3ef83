"""The secret scan can fail: a planted secret fails a pytest run and is named with its test.

The session-wide scan (tests/support/secret_scan.py, registered by tests/conftest.py) watches
this very run; these tests prove it catches what it should, in a separate pytest process so
the planted secrets do not fail this session, and that the real runtime logs nothing secret.
"""

from __future__ import annotations

import contextlib
import logging
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from pydantic import SecretStr

from tests.support.secret_scan import Finding, ScanHandler, SecretWatch

REPO = Path(__file__).resolve().parents[2]

LEAKY_TESTS = """
import logging
from pydantic import SecretStr

def test_clean():
    logging.getLogger("pacesetter").info("nothing to see")

def test_logs_a_bot_token():
    token = SecretStr("xoxb-planted-1234567890")
    logging.getLogger("pacesetter.bot").debug("calling Slack with %s", token.get_secret_value())

def test_prints_a_signing_secret():
    secret = SecretStr("planted-signing-secret-42")
    print("secret is", secret.get_secret_value())
"""


def test_a_planted_secret_fails_the_run_and_names_the_test(tmp_path: Path) -> None:
    (tmp_path / "test_leaky.py").write_text(textwrap.dedent(LEAKY_TESTS))
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "tests.support.secret_scan", "-q",
         "-p", "no:cacheprovider", str(tmp_path / "test_leaky.py")],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    out = done.stdout + done.stderr
    assert "3 passed" in out  # every test passed, and yet:
    assert done.returncode == 1, out
    assert "secrets leaked into logs or output" in out
    assert "test_leaky.py::test_logs_a_bot_token: a SecretStr setting in log record" in out
    assert (
        "test_leaky.py::test_prints_a_signing_secret: a SecretStr setting in captured stdout" in out
    )
    assert "test_clean" not in out.split("secrets leaked")[1]
    assert "planted-1234567890" not in out and "planted-signing-secret-42" not in out


def test_the_watch_catches_slack_shaped_tokens_and_ignores_placeholders() -> None:
    watch = SecretWatch({})
    watch.current = "tests/x.py::test_y"
    logger = logging.getLogger("tests.planted")
    logger.propagate = False  # planted records stay out of this session's own scan
    handler = ScanHandler(watch)
    logger.addHandler(handler)
    try:
        logger.warning("headers: %s", {"Authorization": "Bearer xoxb-1111-2222-abcd"})
        logger.warning("socket mode with xapp-1-A0-123-abc")
        logger.warning("SLACK_BOT_TOKEN is a placeholder like xoxb-your-token")
        try:
            raise RuntimeError("token xoxp-9999-secret in the traceback")
        except RuntimeError:
            logger.exception("failed")
    finally:
        logger.removeHandler(handler)
        logger.propagate = True
    labels = [f.label for f in watch.findings]
    assert labels == ["a Slack token (xoxb-…)", "a Slack token (xapp-…)", "a Slack token (xoxp-…)"]
    assert all(f.test == "tests/x.py::test_y" for f in watch.findings)
    assert Finding("t", "w", "l").line() == "t: l in w"


def test_the_runtime_never_logs_its_credentials(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, capsys: pytest.CaptureFixture[str]
) -> None:
    """Build the bot, log at DEBUG, call Slack with a refused token: no credential anywhere."""
    from slack_sdk.errors import SlackApiError

    from tests.bot.conftest import make_runtime
    from tests.fakes.slack import FakeSlack

    caplog.set_level(logging.DEBUG)
    with FakeSlack() as slack:
        rt = make_runtime(f"sqlite:///{tmp_path / 'x.db'}", slack)
        rt.upgrade()
        client = rt.slack_client()
        rt.bolt_app(client, socket_mode=False)
        slack.rate_limit("auth.test", times=1, retry_after=0)
        with contextlib.suppress(SlackApiError):  # a 429, retried once by the client
            client.auth_test()
        client.chat_postMessage(channel="C1", text="hello")
        rt.engine.dispose()
    settings = rt.settings
    secrets = [
        s.get_secret_value()
        for s in (settings.slack_bot_token, settings.slack_signing_secret)
        if isinstance(s, SecretStr)
    ]
    logged = "\n".join(r.getMessage() for r in caplog.records) + capsys.readouterr().out
    assert "Sending a request" in logged  # the Web API client did log at DEBUG
    assert secrets and not [s for s in secrets if s in logged]
    assert "(redacted)" in logged  # its Authorization header was redacted
    assert "xoxb-test-token" not in repr(settings)
