"""A session-wide watch for credentials in logs and output: the run fails if one leaks.

Every log record of the session (root handler at DEBUG, formatted with its traceback), every
test's captured stdout/stderr/log and every ``capsys.readouterr()`` (how CLI tests read the
CLI's output) is scanned for the secrets the suite uses: any value put in a ``SecretStr``
(that is how Settings holds the Slack, Salesforce and HubSpot credentials), every session id
the fake Salesforce issues, the fake HubSpot portals' tokens, the signing secrets and passwords
the tests pass directly, and anything shaped like a Slack token. A finding names the test that
was running, where the text came from and the secret by label only.

tests/conftest.py registers it; ``-p tests.support.secret_scan`` loads it into any pytest run.
"""

from __future__ import annotations

import logging
import re
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest

# Credentials that tests pass as plain strings (not through Settings).
KNOWN_SECRETS = {
    "test-signing-secret": "the bot tests' Slack signing secret",
    "standin-signing-secret": "the Slack stand-in's signing secret",
    "render-secret": "the Block Kit page's signing secret",
    "p&ss<w>rd": "a Salesforce password",
    "TOKEN123": "a Salesforce security token",
    "pat-na1-fake": "the fake HubSpot portal's token",
    "pat-na1-cli-test": "a HubSpot private-app token",
}
SLACK_TOKEN = re.compile(r"\bx(?:ox[abprse]|app)-[A-Za-z0-9][A-Za-z0-9-]{3,}")
PLACEHOLDERS = frozenset({"xoxb-your-token"})  # named in the refusal of placeholder settings
MIN_SECRET_LENGTH = 6  # shorter SecretStr values ("t", "p") are test stubs, not secrets


@dataclass(frozen=True)
class Finding:
    """A secret seen somewhere it must never be."""

    test: str
    where: str
    label: str

    def line(self) -> str:
        """Return the finding as one report line (the secret itself is not repeated)."""
        return f"{self.test}: {self.label} in {self.where}"


class SecretWatch:
    """The registry of secrets and the findings; safe to feed from any thread."""

    def __init__(self, secrets: dict[str, str] | None = None) -> None:
        self.secrets: dict[str, str] = dict(KNOWN_SECRETS if secrets is None else secrets)
        self.findings: list[Finding] = []
        self.current = "(session start)"
        self._lock = threading.Lock()

    def add(self, value: str, label: str) -> None:
        """Watch for ``value`` from now on."""
        if len(value) >= MIN_SECRET_LENGTH and value not in PLACEHOLDERS:
            with self._lock:
                self.secrets.setdefault(value, label)

    def scan(self, text: str, where: str) -> list[Finding]:
        """Record and return the secrets ``text`` contains."""
        if not text:
            return []
        with self._lock:
            labels = [label for value, label in self.secrets.items() if value in text]
        labels += [
            f"a Slack token ({found[:5]}…)"
            for found in SLACK_TOKEN.findall(text)
            if found not in PLACEHOLDERS and not any(found in v for v in self.secrets)
        ]
        found = [Finding(self.current, where, label) for label in dict.fromkeys(labels)]
        if found:
            with self._lock:
                self.findings.extend(found)
        return found


class ScanHandler(logging.Handler):
    """A logging handler that scans each record as it is emitted."""

    def __init__(self, watch: SecretWatch) -> None:
        super().__init__(level=logging.DEBUG)
        self.watch = watch
        self.setFormatter(logging.Formatter("%(levelname)s %(name)s %(message)s"))

    def emit(self, record: logging.LogRecord) -> None:
        try:
            text = self.format(record)
        except Exception:  # a record that cannot be formatted is scanned raw
            text = f"{record.msg} {record.args}"
        self.watch.scan(text, f"log record of {record.name} (thread {record.threadName})")


def _wrap(owner: Any, name: str, after: Callable[[Any, Any], None]) -> None:
    original = getattr(owner, name)
    if getattr(original, "_secret_scan", False):
        return

    def wrapper(self: Any, *args: Any, **kwargs: Any) -> Any:
        result = original(self, *args, **kwargs)
        after(self, result)
        return result

    wrapper._secret_scan = True  # type: ignore[attr-defined]
    setattr(owner, name, wrapper)


class SecretScanPlugin:
    """The pytest side: install the watch at session start, report and fail at the end."""

    def __init__(self) -> None:
        self.watch = SecretWatch()
        self.handler = ScanHandler(self.watch)
        self._root_level = logging.WARNING

    def _learn_secrets(self) -> None:
        from pydantic import SecretStr

        watch = self.watch
        original_init = SecretStr.__init__
        if not getattr(original_init, "_secret_scan", False):

            def init(self: SecretStr, secret_value: str) -> None:
                original_init(self, secret_value)
                if isinstance(secret_value, str):
                    watch.add(secret_value, "a SecretStr setting")

            init._secret_scan = True  # type: ignore[attr-defined]
            SecretStr.__init__ = init  # type: ignore[method-assign]
        from tests.fakes.hubspot import Portal
        from tests.fakes.salesforce import FakeSalesforce

        _wrap(FakeSalesforce, "new_session", lambda _s, t: watch.add(t, "a Salesforce session id"))
        _wrap(Portal, "__init__", lambda s, _r: watch.add(s.token, "a HubSpot token"))
        _wrap(
            pytest.CaptureFixture,
            "readouterr",
            lambda _s, r: (watch.scan(r.out, "stdout read by capsys"), watch.scan(r.err, "stderr")),
        )

    @pytest.hookimpl(tryfirst=True)
    def pytest_sessionstart(self, session: pytest.Session) -> None:
        self._learn_secrets()
        root = logging.getLogger()
        self._root_level = root.level
        root.setLevel(logging.DEBUG)
        root.addHandler(self.handler)
        # SQL statement logging is off in the app; at DEBUG it would log every row of the
        # suite. Statements carry no credentials (none are stored in the database).
        logging.getLogger("sqlalchemy").setLevel(logging.WARNING)

    @pytest.hookimpl(tryfirst=True)
    def pytest_runtest_logstart(self, nodeid: str) -> None:
        self.watch.current = nodeid

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        for title, text in report.sections:
            self.watch.scan(text, title.lower())
        if report.longrepr is not None:
            self.watch.scan(str(report.longrepr), f"the failure report ({report.when})")

    @pytest.hookimpl(tryfirst=True)
    def pytest_sessionfinish(self, session: pytest.Session) -> None:
        logging.getLogger().removeHandler(self.handler)
        logging.getLogger().setLevel(self._root_level)
        if self.watch.findings:
            session.exitstatus = pytest.ExitCode.TESTS_FAILED

    def pytest_terminal_summary(self, terminalreporter: Any) -> None:
        findings = list(dict.fromkeys(f.line() for f in self.watch.findings))
        if not findings:
            terminalreporter.write_line(
                f"secret scan: no credential in logs or output "
                f"({len(self.watch.secrets)} secrets watched)"
            )
            return
        terminalreporter.section("secrets leaked into logs or output", red=True)
        for line in findings[:50]:
            terminalreporter.write_line(line, red=True)
        if len(findings) > 50:
            terminalreporter.write_line(f"... and {len(findings) - 50} more")


def register(config: pytest.Config) -> None:
    """Register the plugin once per pytest run."""
    if not config.pluginmanager.has_plugin("secret-scan"):
        config.pluginmanager.register(SecretScanPlugin(), "secret-scan")


def pytest_configure(config: pytest.Config) -> None:
    """Entry point for ``-p tests.support.secret_scan``."""
    register(config)


def iter_findings(config: pytest.Config) -> Iterator[Finding]:
    """Yield the findings so far (for tests that inspect the session's own watch)."""
    plugin = config.pluginmanager.get_plugin("secret-scan")
    if isinstance(plugin, SecretScanPlugin):
        yield from plugin.watch.findings
