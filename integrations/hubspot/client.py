"""HubSpot over hubspot-api-client: paging, pacing under the rate limits, and retries.

Every call goes through one loop that paces it (a token bucket for the search endpoint's
few-per-second limit and one for the general per-10-second burst), counts it, and retries
429s (honouring ``Retry-After`` and the policy named in the body), 5xx answers and dropped
connections with bounded backoff. urllib3's own retry is switched off: it never retries POST,
which is what search and batch reads are.

Changed records are read through the search endpoint with a keyset on
(``hs_lastmodifieddate``, ``hs_object_id``): every query starts at the last position
delivered, so no query pages past HubSpot's 10,000-result cap, and an instant shared by more
records than fit on a page is walked by ``hs_object_id`` alone, so it cannot loop.
"""

from __future__ import annotations

import json
import time
from collections import Counter
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import hubspot
import urllib3
from hubspot.crm.associations.v4 import exceptions as assoc_exceptions
from hubspot.crm.objects import exceptions as object_exceptions
from hubspot.crm.owners import exceptions as owner_exceptions
from hubspot.crm.pipelines import exceptions as pipeline_exceptions
from urllib3.util.retry import Retry

from domain.ports import SourceError, SyncAborted
from integrations.hubspot.mapper import Json, to_epoch_ms
from integrations.hubspot.options import HubSpotOptions

DEFAULT_BASE_URL = "https://api.hubapi.com"
SEARCH_CAP = 10_000
BATCH_READ_MAX = 100
HISTORY_BATCH_MAX = 50
ASSOCIATION_BATCH_MAX = 1000
LIST_PAGE = 100
MODIFIED = "hs_lastmodifieddate"
OBJECT_ID = "hs_object_id"
API_EXCEPTIONS: tuple[type[Exception], ...] = (
    object_exceptions.ApiException,
    assoc_exceptions.ApiException,
    owner_exceptions.ApiException,
    pipeline_exceptions.ApiException,
)
RETRYABLE_STATUSES = frozenset({0, 500, 502, 503, 504})
DAILY_POLICIES = frozenset({"DAILY"})
RESUMES = "the sync stopped and resumes from its last saved page on the next run"


class HubSpotApiError(SourceError):
    """HubSpot answered with an error that retrying does not fix."""

    def __init__(self, message: str, *, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status


class HubSpotAuthError(HubSpotApiError):
    """The private-app token was refused (401) or lacks a scope (403)."""


class TokenBucket:
    """A token bucket with an injected clock and sleep, so tests can run it without waiting."""

    def __init__(
        self,
        rate: float,
        capacity: float,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.rate = rate
        self.capacity = max(capacity, 1.0)
        self.tokens = self.capacity
        self.clock = clock
        self.sleep = sleep
        self.updated = clock()

    def _refill(self) -> None:
        now = self.clock()
        self.tokens = min(self.capacity, self.tokens + (now - self.updated) * self.rate)
        self.updated = now

    def acquire(self) -> float:
        """Take one token, sleeping until one is there; return the seconds slept."""
        self._refill()
        waited = 0.0
        if self.tokens < 1.0:
            waited = (1.0 - self.tokens) / self.rate
            self.sleep(waited)
            self._refill()
            # The sleep earned the token; rounding must not make us wait again for a sliver.
            self.tokens = max(self.tokens, 1.0)
        self.tokens -= 1.0
        return waited

    def drain(self) -> None:
        """Empty the bucket, e.g. after a 429, so the next calls wait for a fresh allowance."""
        self._refill()
        self.tokens = 0.0


@dataclass
class RequestStats:
    """What a client did: requests by kind, 429s met, retries and time spent pacing."""

    requests: Counter[str] = field(default_factory=Counter)
    rate_limited: int = 0
    retries: int = 0
    paced_s: float = 0.0

    @property
    def total(self) -> int:
        """Return how many HTTP requests were sent, retries included."""
        return sum(self.requests.values())


@dataclass(frozen=True, slots=True)
class Position:
    """Where a keyset walk stands: everything before (``ts``, ``last_id``) is delivered.

    ``last_id`` None means every record at ``ts`` is delivered too.
    """

    ts: int
    last_id: int | None = None

    def to_json(self) -> dict[str, int | None]:
        """Return the position as JSON-ready data for a cursor."""
        return {"ts": self.ts, "id": self.last_id}

    @classmethod
    def from_json(cls, data: Mapping[str, Any] | None) -> Position:
        """Read a position from a cursor; None means the very beginning."""
        if not data:
            return cls(ts=-1)
        last = data.get("id")
        return cls(ts=int(data["ts"]), last_id=None if last is None else int(last))

    def key(self) -> tuple[int, float]:
        """Return a sortable key: a finished instant sorts after any id within it."""
        return (self.ts, float("inf") if self.last_id is None else float(self.last_id))


def record_ts(raw: Json, modified: str = MODIFIED) -> int:
    """Return a search result's last-modified property in epoch milliseconds."""
    props = raw.get("properties") or {}
    ts = to_epoch_ms(props.get(modified))
    if ts is None:
        raise HubSpotApiError(f"record {raw.get('id')} has no {modified}")
    return ts


class HubSpotClient:
    """The SDK calls Pacesetter needs, each paced, counted and retried."""

    def __init__(
        self,
        access_token: str,
        *,
        base_url: str = DEFAULT_BASE_URL,
        options: HubSpotOptions | None = None,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
        timeout: tuple[float, float] = (10.0, 60.0),
    ) -> None:
        self.options = options or HubSpotOptions()
        base = base_url.rstrip("/")
        sdk = hubspot.Client.create(
            access_token=access_token,
            host=base,
            base_url=base,
            retry=Retry(total=0, raise_on_status=False),
        )
        # Each Discovery property builds a new ApiClient and connection pool: build once.
        self._basic = sdk.crm.objects.basic_api
        self._search = sdk.crm.objects.search_api
        self._batch = sdk.crm.objects.batch_api
        self._associations = sdk.crm.associations.v4.batch_api
        self._owners = sdk.crm.owners.owners_api
        self._pipelines = sdk.crm.pipelines.pipelines_api
        self._to_json = self._basic.api_client.sanitize_for_serialization
        self.clock = clock
        self.sleep = sleep
        self.timeout = timeout
        self.stats = RequestStats()
        opts = self.options
        # One token of burst and the rest as rate keeps any 1 s window at the search limit.
        self.search_bucket = TokenBucket(opts.search_per_second, 1.0, clock=clock, sleep=sleep)
        # A tenth as burst and nine tenths as rate keeps any 10 s window within the allowance.
        self.general_bucket = TokenBucket(
            opts.burst_per_10s * 0.9 / 10.0, opts.burst_per_10s * 0.1, clock=clock, sleep=sleep
        )

    # the request loop ------------------------------------------------------------------------

    def call(self, kind: str, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        """Call ``fn`` paced and retried; return the response as HubSpot's JSON shape."""
        attempt = 0
        while True:
            self._pace(kind)
            self.stats.requests[kind] += 1
            try:
                result = fn(*args, _request_timeout=self.timeout, **kwargs)
            except API_EXCEPTIONS as exc:
                status = int(getattr(exc, "status", 0) or 0)
                wait = self._handle_error(kind, exc, status, attempt)
            except urllib3.exceptions.HTTPError as exc:
                wait = self._backoff(kind, f"connection error: {exc}", 0, attempt)
            else:
                if _answered_json(fn):
                    return self._to_json(result)
                # The SDK turns a body that is not JSON into an empty model: retry, never
                # mistake a cut-off page for the end of the data.
                wait = self._backoff(kind, "a response that is not valid JSON", 200, attempt)
            self.stats.retries += 1
            self.sleep(wait)
            attempt += 1

    def _pace(self, kind: str) -> None:
        if kind == "search":
            self.stats.paced_s += self.search_bucket.acquire()
        self.stats.paced_s += self.general_bucket.acquire()

    def _handle_error(self, kind: str, exc: Exception, status: int, attempt: int) -> float:
        body = _error_body(exc)
        message = str(body.get("message") or getattr(exc, "reason", "") or exc)
        if status in (401, 403):
            raise HubSpotAuthError(
                f"HubSpot refused the token ({status}: {message}). Check HUBSPOT_ACCESS_TOKEN: "
                "a private-app token with the crm.objects and owners read scopes.",
                status=status,
            ) from exc
        if status == 429:
            self.stats.rate_limited += 1
            policy = str(body.get("policyName") or "")
            if policy in DAILY_POLICIES:
                raise SyncAborted(
                    "HubSpot's daily API limit is reached; the sync resumes after the limit "
                    "resets at midnight in the HubSpot account's time zone."
                ) from exc
            self.search_bucket.drain()
            self.general_bucket.drain()
            retry_after = _retry_after(exc)
            if attempt >= self.options.max_retries:
                raise HubSpotApiError(
                    f"HubSpot kept answering 429 ({policy or 'rate limit'}) to {kind} after "
                    f"{attempt + 1} attempts; {RESUMES}",
                    status=429,
                ) from exc
            return retry_after if retry_after is not None else self._delay(attempt)
        if status in RETRYABLE_STATUSES:
            return self._backoff(kind, f"{status}: {message}", status, attempt, exc)
        raise HubSpotApiError(
            f"HubSpot {kind} failed ({status}: {message})", status=status
        ) from exc

    def _backoff(
        self, kind: str, detail: str, status: int, attempt: int, cause: Exception | None = None
    ) -> float:
        if attempt >= self.options.max_retries:
            raise HubSpotApiError(
                f"HubSpot {kind} failed after {attempt + 1} attempts ({detail}); {RESUMES}",
                status=status,
            ) from cause
        return self._delay(attempt)

    def _delay(self, attempt: int) -> float:
        return float(min(self.options.max_backoff_s, 0.5 * 2**attempt))

    # plain endpoints ---------------------------------------------------------------------------

    def owners(self, *, archived: bool = False) -> list[Json]:
        """Return every owner (or every archived one)."""
        result: list[Json] = []
        after: str | None = None
        while True:
            kwargs: dict[str, Any] = {"limit": LIST_PAGE, "archived": archived}
            if after:
                kwargs["after"] = after
            page = self.call("owners", self._owners.get_page, **kwargs)
            result.extend(page.get("results") or [])
            after = _next_after(page)
            if not after:
                return result

    def owners_page(self, *, limit: int = 1) -> list[Json]:
        """Return the first page of owners: the cheapest call that proves the token works."""
        page = self.call("owners", self._owners.get_page, limit=limit)
        results: list[Json] = page.get("results") or []
        return results

    def pipelines(self, object_type: str = "deals") -> list[Json]:
        """Return the object type's pipelines with their stages."""
        page = self.call("pipelines", self._pipelines.get_all, object_type)
        results: list[Json] = page.get("results") or []
        return results

    def search(
        self,
        object_type: str,
        filter_groups: Sequence[Sequence[Mapping[str, Any]]],
        *,
        sort: str,
        properties: Sequence[str],
        limit: int,
    ) -> Json:
        """Run one search request (first page only: callers move by keyset, not ``after``)."""
        body = {
            "filterGroups": [{"filters": list(group)} for group in filter_groups],
            "sorts": [{"propertyName": sort, "direction": "ASCENDING"}],
            "properties": list(properties),
            "limit": limit,
        }
        page: Json = self.call("search", self._search.do_search, object_type, body)
        return page

    def batch_read(
        self,
        object_type: str,
        ids: Sequence[str],
        *,
        properties: Sequence[str] = (),
        with_history: Sequence[str] = (),
    ) -> list[Json]:
        """Read objects by id, in batches (smaller ones when property history is asked for)."""
        size = HISTORY_BATCH_MAX if with_history else BATCH_READ_MAX
        result: list[Json] = []
        for start in range(0, len(ids), size):
            body: dict[str, Any] = {
                "inputs": [{"id": i} for i in ids[start : start + size]],
                "properties": list(properties),
                "propertiesWithHistory": list(with_history),
            }
            page = self.call("batch_read", self._batch.read, object_type, body)
            result.extend(page.get("results") or [])
        return result

    def associations(self, from_type: str, to_type: str, ids: Sequence[str]) -> list[Json]:
        """Read v4 associations of ``ids`` to ``to_type`` in batches; return the result items."""
        result: list[Json] = []
        for start in range(0, len(ids), ASSOCIATION_BATCH_MAX):
            body = {"inputs": [{"id": i} for i in ids[start : start + ASSOCIATION_BATCH_MAX]]}
            page = self.call("associations", self._associations.get_page, from_type, to_type, body)
            result.extend(page.get("results") or [])
        return result

    def archived(
        self, object_type: str, *, since_ms: int, known: Sequence[str] = ()
    ) -> tuple[list[str], int, list[str]]:
        """Return ids archived at or after ``since_ms`` (less ``known`` ones archived exactly
        then), the latest archive time seen, and the ids archived at that time.

        The list endpoint cannot filter by time, so it pages through every archived record.
        """
        stamped: list[tuple[int, str]] = []
        skip = set(known)
        after: str | None = None
        while True:
            kwargs: dict[str, Any] = {"limit": LIST_PAGE, "archived": True}
            if after:
                kwargs["after"] = after
            page = self.call("list", self._basic.get_page, object_type, **kwargs)
            for raw in page.get("results") or []:
                at = to_epoch_ms(raw.get("archivedAt") or raw.get("updatedAt")) or 0
                oid = str(raw["id"])
                if at > since_ms or (at == since_ms and oid not in skip):
                    stamped.append((at, oid))
            after = _next_after(page)
            if not after:
                break
        if not stamped:
            return [], since_ms, sorted(skip)
        latest = max(at for at, _ in stamped)
        at_latest = {oid for at, oid in stamped if at == latest}
        if latest == since_ms:
            at_latest |= skip
        return [oid for _, oid in stamped], latest, sorted(at_latest)

    # changed records by keyset -------------------------------------------------------------------

    def changed(
        self,
        object_type: str,
        properties: Sequence[str],
        start: Position,
        *,
        until_ms: int,
        modified: str = MODIFIED,
    ) -> Iterator[tuple[list[Json], Position]]:
        """Yield pages of records modified after ``start`` up to ``until_ms``, oldest first.

        ``modified`` is the object's last-modified property (contacts: ``lastmodifieddate``).

        Each yielded position covers exactly the records yielded so far, so a caller that
        stores it with the page resumes without loss or duplicates.
        """
        limit = self.options.search_page_size
        props = sorted({*properties, modified, OBJECT_ID})
        pos = start
        while True:
            groups: list[list[dict[str, str]]] = [
                [_filter(modified, "GT", pos.ts), _filter(modified, "LTE", until_ms)]
            ]
            if pos.last_id is not None:
                groups.insert(
                    0, [_filter(modified, "EQ", pos.ts), _filter(OBJECT_ID, "GT", pos.last_id)]
                )
            page = self.search(object_type, groups, sort=modified, properties=props, limit=limit)
            rows: list[Json] = page.get("results") or []
            if not rows:
                return
            stamped = sorted(
                ((record_ts(r, modified), int(r["id"]), r) for r in rows), key=lambda t: t[:2]
            )
            newest = stamped[-1][0]
            if len(rows) < limit:
                pos = _advance(pos, Position(newest, stamped[-1][1]))
                yield [r for _, _, r in stamped], pos
                return
            older = [t for t in stamped if t[0] < newest]
            if older:
                pos = _advance(pos, Position(older[-1][0], older[-1][1]))
                yield [r for _, _, r in older], pos
                continue
            after_id = pos.last_id if (pos.last_id is not None and pos.ts == newest) else 0
            before = pos
            walk = self._walk_instant(object_type, props, newest, after_id, modified)
            for batch, walked in walk:
                pos = _advance(pos, walked)
                yield batch, pos
            _advance(before, pos)

    def _walk_instant(
        self, object_type: str, props: Sequence[str], ts: int, after_id: int, modified: str
    ) -> Iterator[tuple[list[Json], Position]]:
        """Yield every record modified at instant ``ts`` by ``hs_object_id`` after ``after_id``."""
        limit = self.options.search_page_size
        while True:
            groups = [[_filter(modified, "EQ", ts), _filter(OBJECT_ID, "GT", after_id)]]
            page = self.search(object_type, groups, sort=OBJECT_ID, properties=props, limit=limit)
            rows = sorted(page.get("results") or [], key=lambda r: int(r["id"]))
            if not rows:
                return
            after_id = int(rows[-1]["id"])
            done = len(rows) < limit
            yield rows, Position(ts, after_id)
            if done:
                return


def _advance(old: Position, new: Position) -> Position:
    """Refuse to go backwards: a server that does not honour the filters would loop forever."""
    if new.key() <= old.key():
        raise HubSpotApiError(
            f"HubSpot search did not move past {old}; refusing to loop (got {new})"
        )
    return new


def _filter(prop: str, operator: str, value: int) -> dict[str, str]:
    return {"propertyName": prop, "operator": operator, "value": str(value)}


def _next_after(page: Json) -> str | None:
    nxt = (page.get("paging") or {}).get("next") or {}
    after = nxt.get("after")
    return str(after) if after else None


def _answered_json(fn: Callable[..., Any]) -> bool:
    """Return False when the SDK call behind ``fn`` got a body that does not parse as JSON."""
    api_client = getattr(getattr(fn, "__self__", None), "api_client", None)
    response = getattr(api_client, "last_response", None)
    data = getattr(response, "data", None)
    if not data:
        return True
    try:
        json.loads(data)
    except ValueError:
        return False
    return True


def _error_body(exc: Exception) -> dict[str, Any]:
    raw = getattr(exc, "body", None)
    if isinstance(raw, bytes):
        raw = raw.decode("utf-8", "replace")
    if not raw:
        return {}
    try:
        parsed = json.loads(raw)
    except ValueError:
        return {}
    return parsed if isinstance(parsed, dict) else {}


def _retry_after(exc: Exception) -> float | None:
    headers = getattr(exc, "headers", None) or {}
    value = headers.get("Retry-After") if hasattr(headers, "get") else None
    if value is None:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        return None
