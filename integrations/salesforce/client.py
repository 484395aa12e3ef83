"""Salesforce REST calls through simple-salesforce: login, query paging, retries and limits.

Only this module touches the SDK. It counts every REST request it makes (retries and
re-logins included) so the sync can report API calls per page, and it watches the org's daily
allowance from ``Sforce-Limit-Info`` (parsed by simple-salesforce into ``api_usage``).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from enum import StrEnum
from typing import Any, TypeVar

import requests
from simple_salesforce import Salesforce
from simple_salesforce.exceptions import (
    SalesforceAuthenticationFailed,
    SalesforceExpiredSession,
    SalesforceGeneralError,
    SalesforceMalformedRequest,
    SalesforceRefusedRequest,
    SalesforceResourceNotFound,
)

from domain.ports import SourceError, SyncAborted
from integrations.salesforce.options import SalesforceOptions

T = TypeVar("T")
REST_PATH = "/services/data/"
HTTP_TOO_MANY_REQUESTS = 429


class LoginMethod(StrEnum):
    """How Pacesetter logs in to Salesforce; only the last two can renew an expired session."""

    SESSION = "session"
    PASSWORD = "password"  # noqa: S105 -- a login method name, not a secret
    JWT = "jwt"


class SalesforceError(SourceError):
    """A Salesforce failure with a sentence that says what to do about it."""


@dataclass(frozen=True, slots=True)
class SalesforceCredentials:
    """Login material from the environment (SALESFORCE_*); app.py fills it from Settings."""

    instance_url: str | None = None
    access_token: str | None = None
    username: str | None = None
    password: str | None = None
    security_token: str | None = None
    consumer_key: str | None = None
    private_key_file: str | None = None
    domain: str | None = None

    def method(self) -> LoginMethod | None:
        """Return the configured login method, preferring ones that can renew a session."""
        if self.username and self.consumer_key and self.private_key_file:
            return LoginMethod.JWT
        if self.username and self.password and self.security_token is not None:
            return LoginMethod.PASSWORD
        if self.instance_url and self.access_token:
            return LoginMethod.SESSION
        return None


NOT_CONFIGURED = (
    "Salesforce is not configured: set SALESFORCE_INSTANCE_URL and SALESFORCE_ACCESS_TOKEN, "
    "or SALESFORCE_USERNAME, SALESFORCE_PASSWORD and SALESFORCE_SECURITY_TOKEN, "
    "or SALESFORCE_USERNAME, SALESFORCE_CONSUMER_KEY and SALESFORCE_PRIVATE_KEY_FILE (JWT)."
)


@dataclass(frozen=True, slots=True)
class QueryPage:
    """One page of a SOQL query: its records and the URL of the next page, if any."""

    records: list[dict[str, Any]]
    next_url: str | None
    total_size: int


def error_code(exc: Exception) -> str | None:
    """Return the ``errorCode`` of a Salesforce REST error body (a JSON array)."""
    content = getattr(exc, "content", None)
    if isinstance(content, list) and content and isinstance(content[0], Mapping):
        code = content[0].get("errorCode")
        return str(code) if code is not None else None
    return None


def error_message(exc: Exception) -> str:
    """Return the first ``message`` of a Salesforce REST error body, or the exception text."""
    content = getattr(exc, "content", None)
    if isinstance(content, list) and content and isinstance(content[0], Mapping):
        return str(content[0].get("message", ""))
    return str(exc)


class SalesforceClient:
    """A logged-in simple-salesforce handle with bounded retries and API call accounting."""

    def __init__(
        self,
        credentials: SalesforceCredentials,
        options: SalesforceOptions | None = None,
        *,
        session: requests.Session | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.credentials = credentials
        self.options = options or SalesforceOptions()
        self.session = session or requests.Session()
        self.session.hooks.setdefault("response", []).append(self._count)
        self.sleep = sleep
        self.calls = 0
        self.server_time: datetime | None = None
        self._sf: Salesforce | None = None

    @property
    def method(self) -> LoginMethod | None:
        """Return the configured login method."""
        return self.credentials.method()

    # public calls --------------------------------------------------------------------------

    def query(self, soql: str, *, include_deleted: bool = False) -> QueryPage:
        """Run ``soql`` (``queryAll`` when ``include_deleted``) and return its first page."""
        headers = {"Sforce-Query-Options": f"batchSize={self.options.batch_size}"}
        result = self._call(
            lambda sf: sf.query(
                soql,
                include_deleted=include_deleted,
                headers=headers,
                timeout=self.options.timeout_s,
            )
        )
        return _page(result)

    def query_more(self, next_url: str) -> QueryPage:
        """Fetch the page at ``next_url`` (a ``nextRecordsUrl``)."""
        result = self._call(
            lambda sf: sf.query_more(
                next_url, identifier_is_url=True, timeout=self.options.timeout_s
            )
        )
        return _page(result)

    def deleted(self, sobject: str, start: datetime, end: datetime) -> dict[str, Any]:
        """Return the deleted-record log of ``sobject`` between two aware instants."""
        result: dict[str, Any] = self._call(
            lambda sf: getattr(sf, sobject).deleted(start.astimezone(UTC), end.astimezone(UTC))
        )
        return result

    def limits(self) -> dict[str, Any]:
        """Return the org's limits resource (daily API requests among them)."""
        result: dict[str, Any] = self._call(lambda sf: sf.limits(timeout=self.options.timeout_s))
        return result

    def usage(self) -> tuple[int, int] | None:
        """Return (used, total) of the daily API allowance as of the last response."""
        if self._sf is None:
            return None
        usage = self._sf.api_usage.get("api-usage")
        return (usage.used, usage.total) if usage is not None else None

    def ensure_allowance(self) -> None:
        """Raise SyncAborted when the org's daily API allowance is nearly spent."""
        usage = self.usage()
        if usage is None or usage[1] <= 0:
            return
        used, total = usage
        if used / total >= self.options.api_usage_stop:
            raise SyncAborted(
                f"Salesforce daily API allowance nearly spent ({used}/{total} calls used, "
                f"stop threshold {self.options.api_usage_stop:.0%}); the sync stopped cleanly "
                "and resumes from where it stopped on the next run."
            )

    def connect(self) -> Salesforce:
        """Log in (once) with the configured method and return the SDK handle."""
        if self._sf is None:
            self._sf = self._login()
        return self._sf

    # internals -----------------------------------------------------------------------------

    def _login(self) -> Salesforce:
        creds, method = self.credentials, self.method
        version = self.options.api_version
        try:
            if method is LoginMethod.JWT:
                return Salesforce(
                    username=creds.username,
                    consumer_key=creds.consumer_key,
                    privatekey_file=creds.private_key_file,
                    domain=creds.domain,
                    version=version,
                    session=self.session,
                )
            if method is LoginMethod.PASSWORD:
                return Salesforce(
                    username=creds.username,
                    password=creds.password,
                    security_token=creds.security_token,
                    domain=creds.domain,
                    version=version,
                    session=self.session,
                )
            if method is LoginMethod.SESSION:
                return Salesforce(
                    instance_url=creds.instance_url,
                    session_id=creds.access_token,
                    version=version,
                    session=self.session,
                )
        except SalesforceAuthenticationFailed as exc:
            raise SalesforceError(
                f"Salesforce login ({method}) failed: {exc.code}: {exc.auth_message}. "
                "Check the SALESFORCE_* settings (`pacesetter doctor` shows which are used)."
            ) from exc
        raise SalesforceError(NOT_CONFIGURED)

    def _call(self, fn: Callable[[Salesforce], T]) -> T:
        """Call ``fn`` with retries: 5xx, 429, timeouts, dropped connections and truncated JSON
        back off; a dead session is renewed once when the login method allows;
        REQUEST_LIMIT_EXCEEDED stops the sync."""
        attempt = 0
        renewed = False
        while True:
            try:
                return fn(self.connect())
            except SalesforceExpiredSession as exc:
                if self.method is LoginMethod.SESSION:
                    raise SalesforceError(
                        "The Salesforce session (SALESFORCE_ACCESS_TOKEN) expired or is invalid "
                        f"({error_message(exc)}). Get a new access token, or configure a "
                        "username + password + security token or JWT login so Pacesetter can "
                        "log in again by itself."
                    ) from exc
                if renewed:
                    raise SalesforceError(
                        f"Salesforce rejected a fresh {self.method} login session "
                        f"({error_message(exc)}); check the integration user's permissions."
                    ) from exc
                renewed = True
                self._sf = None
            except SalesforceRefusedRequest as exc:
                if error_code(exc) == "REQUEST_LIMIT_EXCEEDED":
                    raise SyncAborted(
                        f"Salesforce refused the request: REQUEST_LIMIT_EXCEEDED "
                        f"({error_message(exc)}). The sync stopped cleanly and resumes from "
                        "where it stopped on the next run."
                    ) from exc
                raise SalesforceError(
                    f"Salesforce refused the request ({error_code(exc)}: {error_message(exc)}); "
                    "check the integration user's profile and permissions."
                ) from exc
            except (SalesforceMalformedRequest, SalesforceResourceNotFound) as exc:
                raise SalesforceError(
                    f"Salesforce rejected the request ({error_code(exc)}: {error_message(exc)})."
                ) from exc
            except SalesforceGeneralError as exc:
                if exc.status < 500 and exc.status != HTTP_TOO_MANY_REQUESTS:
                    raise SalesforceError(
                        f"Salesforce answered HTTP {exc.status} ({error_message(exc)})."
                    ) from exc
                attempt = self._backoff(attempt, f"HTTP {exc.status}", exc)
            except (requests.ConnectionError, requests.Timeout) as exc:
                self.calls += 1  # a request that got no response may still count at Salesforce
                attempt = self._backoff(attempt, type(exc).__name__, exc)
            except requests.exceptions.JSONDecodeError as exc:
                # A body cut off in transit (or a proxy's error page): the next try may be whole.
                attempt = self._backoff(attempt, "a response that is not valid JSON", exc)

    def _backoff(self, attempt: int, what: str, exc: Exception) -> int:
        if attempt >= self.options.max_retries:
            raise SalesforceError(
                f"Salesforce kept failing ({what}) after {attempt + 1} attempts; "
                "the sync resumes from its last saved page next run."
            ) from exc
        self.sleep(self.options.backoff_s * 2**attempt)
        return attempt + 1

    def _count(self, response: requests.Response, *args: Any, **kwargs: Any) -> None:
        if REST_PATH in response.url:
            self.calls += 1
            self.server_time = _http_date(response.headers.get("Date"))


def _http_date(value: str | None) -> datetime | None:
    if not value:
        return None
    try:
        return parsedate_to_datetime(value).astimezone(UTC)
    except (TypeError, ValueError):
        return None


def _page(result: Mapping[str, Any]) -> QueryPage:
    # The SDK's rows are dicts (OrderedDict): used as they are, not copied.
    records = list(result.get("records", []))
    next_url = None if result.get("done", True) else result.get("nextRecordsUrl")
    return QueryPage(records=records, next_url=next_url, total_size=int(result.get("totalSize", 0)))
