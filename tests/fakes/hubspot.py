"""A fake HubSpot CRM v3 portal over real HTTP on 127.0.0.1, driven by hubspot-api-client.

It serves what Pacesetter calls: object list (with ``archived``), batch read (with property
history), search (filter groups ORed, filters ANDed, one sort, ``after`` paging, ``total``,
``limit`` <= 200 and HTTP 400 past 10,000 results), v4 batch association reads, owners and
pipelines. It can inject 429s (HubSpot's body, optional ``Retry-After``), 5xxs, expired-token
401s, stalls longer than a client's timeout and truncated JSON bodies, can fail every request of
a kind from the n-th on, and counts requests by kind.

Ties in a sort are broken in a scrambled, non-id order, as HubSpot does not promise one.
"""

from __future__ import annotations

import itertools
import json
import random
import re
import threading
import time
import uuid
from collections import Counter, deque
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlparse

SEARCH_CAP = 10_000
SEARCH_PAGE_MAX = 200
LIST_PAGE_MAX = 100
BATCH_READ_MAX = 100
ASSOCIATION_BATCH_MAX = 1000
ENGAGEMENTS = ("calls", "emails", "meetings", "tasks", "notes")
OBJECT_TYPES = (*ENGAGEMENTS, "deals", "contacts")
DATETIME_PROPERTIES = frozenset(
    {
        "hs_lastmodifieddate",
        "lastmodifieddate",
        "createdate",
        "hs_createdate",
        "hs_timestamp",
        "closedate",
        "hs_meeting_start_time",
        "hs_meeting_end_time",
    }
)
DEFAULT_PROPERTIES = {
    "deals": [
        "dealname",
        "amount",
        "closedate",
        "pipeline",
        "dealstage",
        "createdate",
        "hs_lastmodifieddate",
        "hs_object_id",
    ],
    "contacts": [
        "firstname",
        "lastname",
        "email",
        "lastmodifieddate",
        "hs_object_id",
        "createdate",
    ],
}
ASSOCIATION_TYPE_IDS = {
    ("calls", "contacts"): 194,
    ("emails", "contacts"): 198,
    ("meetings", "contacts"): 200,
    ("tasks", "contacts"): 204,
    ("notes", "contacts"): 202,
    ("deals", "contacts"): 3,
}
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def iso(ms: int) -> str:
    """Format epoch milliseconds the way HubSpot does (UTC, milliseconds, Z)."""
    instant = EPOCH + timedelta(milliseconds=ms)
    return instant.strftime("%Y-%m-%dT%H:%M:%S.") + f"{ms % 1000:03d}Z"


def to_ms(instant: datetime) -> int:
    """Return an aware datetime as epoch milliseconds."""
    return int((instant - EPOCH) / timedelta(milliseconds=1))


def _parse_ms(text: str) -> int | None:
    if text.lstrip("-").isdigit():
        return int(text)
    try:
        return to_ms(datetime.fromisoformat(text.replace("Z", "+00:00")))
    except ValueError:
        return None


@dataclass
class FakeRecord:
    """One CRM object as the portal stores it; property values are strings, as on the wire."""

    id: int
    properties: dict[str, str]
    created_ms: int
    updated_ms: int
    archived: bool = False
    archived_ms: int | None = None
    history: dict[str, list[tuple[str, int]]] = field(default_factory=dict)
    cache: dict[str, float | None] = field(default_factory=dict, repr=False)

    def numeric(self, prop: str) -> float | None:
        """Return a property as a number (epoch ms for dates), or None; cached per value."""
        if prop not in self.cache:
            self.cache[prop] = self._numeric(prop)
        return self.cache[prop]

    def _numeric(self, prop: str) -> float | None:
        value = self.properties.get(prop)
        if value is None or value == "":
            return None
        if prop in DATETIME_PROPERTIES:
            ms = _parse_ms(value)
            return None if ms is None else float(ms)
        try:
            return float(value)
        except ValueError:
            return None

    def to_json(
        self, properties: Iterable[str], with_history: Iterable[str] = ()
    ) -> dict[str, Any]:
        """Render as a SimplePublicObject."""
        out: dict[str, Any] = {
            "id": str(self.id),
            "properties": {p: self.properties.get(p) for p in properties},
            "createdAt": iso(self.created_ms),
            "updatedAt": iso(self.updated_ms),
            "archived": self.archived,
        }
        if self.archived and self.archived_ms is not None:
            out["archivedAt"] = iso(self.archived_ms)
        wanted = list(with_history)
        if wanted:
            out["propertiesWithHistory"] = {
                p: [
                    {"value": v, "timestamp": iso(ts), "sourceType": "CRM_UI"}
                    for v, ts in reversed(self.history.get(p, []))
                ]
                for p in wanted
            }
        return out


@dataclass
class Fault:
    """One injected failure: the next ``count`` requests of ``kind`` (any kind when None)."""

    status: int
    count: int
    kind: str | None = None
    retry_after: str | None = None
    policy: str = "TEN_SECONDLY_ROLLING"
    stall_s: float = 0.0
    """With status 200: answer normally, but only after this many seconds."""
    skip: int = 0
    """Let this many matching requests through first."""


MALFORMED_BODY = b'{"results": [{"id": "1", "properties": {"hs_lastmod'
"""What status 200 with ``malformed`` sends: a body cut off mid-object, as a dropped proxy does."""


class Portal:
    """The portal's data: objects, owners, pipelines and associations, behind one lock."""

    def __init__(self, token: str = "pat-na1-fake") -> None:
        self.token = token
        self.lock = threading.RLock()
        self.objects: dict[str, dict[int, FakeRecord]] = {t: {} for t in OBJECT_TYPES}
        self.owners: dict[str, dict[str, Any]] = {}
        self.archived_owners: dict[str, dict[str, Any]] = {}
        self.pipelines: list[dict[str, Any]] = []
        self.associations: dict[tuple[str, str], dict[int, list[int]]] = {}
        # HubSpot engagements share one id space, so ids are unique across object types.
        self._ids = itertools.count(10_001)
        self._owner_ids = itertools.count(70_001)

    # writes ------------------------------------------------------------------------------------

    def create(
        self,
        object_type: str,
        properties: Mapping[str, object],
        *,
        at_ms: int,
        modified_ms: int | None = None,
    ) -> int:
        """Create an object at ``at_ms`` (its hs_lastmodifieddate is ``modified_ms`` or that)."""
        with self.lock:
            oid = next(self._ids)
            modified = modified_ms if modified_ms is not None else at_ms
            props = {k: _wire(v) for k, v in properties.items() if v is not None}
            props.update(
                hs_object_id=str(oid),
                hs_createdate=iso(at_ms),
                hs_lastmodifieddate=iso(modified),
            )
            props.setdefault("createdate", iso(at_ms))
            if object_type == "contacts":
                props["lastmodifieddate"] = iso(modified)
            record = FakeRecord(oid, props, at_ms, modified)
            for prop in ("dealstage",):
                if prop in props:
                    record.history[prop] = [(props[prop], at_ms)]
            self.objects[object_type][oid] = record
            return oid

    def update(
        self, object_type: str, oid: int, properties: Mapping[str, object], *, at_ms: int
    ) -> None:
        """Change properties at ``at_ms``; a new deal stage is appended to its history."""
        with self.lock:
            record = self.objects[object_type][oid]
            for key, value in properties.items():
                text = _wire(value)
                if key in record.history and record.properties.get(key) != text:
                    record.history[key].append((text, at_ms))
                record.properties[key] = text
            record.properties["hs_lastmodifieddate"] = iso(at_ms)
            if object_type == "contacts":
                record.properties["lastmodifieddate"] = iso(at_ms)
            record.updated_ms = at_ms
            record.cache.clear()

    def archive(self, object_type: str, oid: int, *, at_ms: int) -> None:
        """Archive (soft-delete) an object, as DELETE does in HubSpot."""
        with self.lock:
            record = self.objects[object_type][oid]
            record.archived = True
            record.archived_ms = at_ms
            record.updated_ms = at_ms

    def associate(self, from_type: str, from_id: int, to_type: str, to_id: int) -> None:
        """Associate two objects both ways."""
        with self.lock:
            self.associations.setdefault((from_type, to_type), {}).setdefault(from_id, []).append(
                to_id
            )
            self.associations.setdefault((to_type, from_type), {}).setdefault(to_id, []).append(
                from_id
            )

    def add_owner(
        self, email: str, first: str, last: str, teams: Sequence[str] = (), *, at_ms: int = 0
    ) -> str:
        """Add a user as an owner, with teams (the first is primary)."""
        with self.lock:
            oid = str(next(self._owner_ids))
            self.owners[oid] = {
                "id": oid,
                "email": email,
                "firstName": first,
                "lastName": last,
                "userId": int(oid) + 1000,
                "userIdIncludingInactive": int(oid) + 1000,
                "type": "PERSON",
                "teams": [
                    {"id": str(abs(hash(t)) % 10**6), "name": t, "primary": i == 0}
                    for i, t in enumerate(teams)
                ],
                "createdAt": iso(at_ms),
                "updatedAt": iso(at_ms),
                "archived": False,
            }
            return oid

    def archive_owner(self, oid: str) -> None:
        """Deactivate an owner: it moves to the archived list."""
        with self.lock:
            owner = self.owners.pop(oid)
            owner["archived"] = True
            self.archived_owners[oid] = owner

    def add_pipeline(
        self, pid: str, label: str, stages: Sequence[tuple[str, str, float, bool]]
    ) -> None:
        """Add a deal pipeline; stages are (id, label, probability, is_closed) in order."""
        with self.lock:
            self.pipelines.append(
                {
                    "id": pid,
                    "label": label,
                    "displayOrder": len(self.pipelines),
                    "createdAt": iso(0),
                    "updatedAt": iso(0),
                    "archived": False,
                    "stages": [
                        {
                            "id": sid,
                            "label": slabel,
                            "displayOrder": i,
                            "metadata": {
                                "isClosed": "true" if closed else "false",
                                "probability": str(prob),
                            },
                            "writePermissions": "CRM_PERMISSIONS_ENFORCEMENT",
                            "createdAt": iso(0),
                            "updatedAt": iso(0),
                            "archived": False,
                        }
                        for i, (sid, slabel, prob, closed) in enumerate(stages)
                    ],
                }
            )

    def live(self, object_type: str) -> list[FakeRecord]:
        """Return the object type's records that are not archived."""
        with self.lock:
            return [r for r in self.objects[object_type].values() if not r.archived]


def _wire(value: object) -> str:
    if isinstance(value, datetime):
        return iso(to_ms(value))
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


class FakeClock:
    """A monotonic clock whose sleep advances it at once, for pacing without waiting."""

    def __init__(self) -> None:
        self.now = 0.0
        self.sleeps: list[float] = []

    def monotonic(self) -> float:
        """Return the fake time in seconds."""
        return self.now

    def sleep(self, seconds: float) -> None:
        """Advance the fake time by ``seconds`` and remember the pause."""
        self.sleeps.append(seconds)
        self.now += max(0.0, seconds)


# search semantics -----------------------------------------------------------------------------


class BadRequest(Exception):
    """A request HubSpot would answer with 400 VALIDATION_ERROR."""


def _compare(record: FakeRecord, flt: Mapping[str, Any]) -> bool:  # noqa: PLR0911
    prop = str(flt.get("propertyName"))
    op = str(flt.get("operator", "EQ")).upper()
    raw = record.properties.get(prop)
    if op == "HAS_PROPERTY":
        return raw not in (None, "")
    if op == "NOT_HAS_PROPERTY":
        return raw in (None, "")
    if raw in (None, ""):
        return op == "NEQ"
    if op in ("IN", "NOT_IN"):
        values = {str(v).lower() for v in flt.get("values") or []}
        inside = str(raw).lower() in values
        return inside if op == "IN" else not inside
    number = record.numeric(prop)
    target = _operand(prop, flt.get("value"))
    if op == "BETWEEN":
        high = _operand(prop, flt.get("highValue"))
        if number is None or not isinstance(target, float) or not isinstance(high, float):
            raise BadRequest(f"BETWEEN on {prop} needs numeric value and highValue")
        return target <= number <= high
    left: float | str = (
        number if number is not None and isinstance(target, float) else str(raw).lower()
    )
    right: float | str = target if isinstance(left, float) else str(flt.get("value", "")).lower()
    if op == "EQ":
        return left == right
    if op == "NEQ":
        return left != right
    ordered = {"GT": left > right, "GTE": left >= right, "LT": left < right, "LTE": left <= right}
    if op not in ordered:
        raise BadRequest(f"operator {op} is not supported by this fake")
    return ordered[op]


def _operand(prop: str, value: object) -> float | str | None:
    if value is None:
        return None
    text = str(value)
    if prop in DATETIME_PROPERTIES:
        ms = _parse_ms(text)
        return float(ms) if ms is not None else text
    try:
        return float(text)
    except ValueError:
        return text


def _scramble(oid: int) -> int:
    return (oid * 2654435761) % 2**32


def search(portal: Portal, object_type: str, body: Mapping[str, Any]) -> dict[str, Any]:
    """Evaluate a search request the way HubSpot documents it."""
    limit = int(body.get("limit") or 10)
    if limit > SEARCH_PAGE_MAX or limit < 1:
        raise BadRequest(f"limit must be between 1 and {SEARCH_PAGE_MAX}")
    after = int(body.get("after") or 0)
    if after >= SEARCH_CAP:
        raise BadRequest("Paging past 10000 results is not supported")
    groups = [g.get("filters") or [] for g in body.get("filterGroups") or []]
    if len(groups) > 5 or any(len(g) > 10 for g in groups) or sum(map(len, groups)) > 25:
        raise BadRequest("too many filters")
    records = portal.live(object_type)
    if groups:
        records = [r for r in records if any(all(_compare(r, f) for f in g) for g in groups)]
    sorts = body.get("sorts") or []
    if sorts:
        first = sorts[0]
        prop = first if isinstance(first, str) else str(first.get("propertyName"))
        descending = not isinstance(first, str) and first.get("direction") == "DESCENDING"
        missing = float("-inf") if descending else float("inf")
        records.sort(
            key=lambda r: (
                r.numeric(prop) if r.numeric(prop) is not None else missing,
                _scramble(r.id),
            ),
            reverse=descending,
        )
    else:
        records.sort(key=lambda r: r.id)
    total = len(records)
    window = records[after : min(after + limit, SEARCH_CAP)]
    props = list(body.get("properties") or DEFAULT_PROPERTIES.get(object_type, []))
    props = list(dict.fromkeys([*props, "hs_object_id", "hs_createdate", "hs_lastmodifieddate"]))
    out: dict[str, Any] = {"total": total, "results": [r.to_json(props) for r in window]}
    if after + limit < total:
        out["paging"] = {"next": {"after": str(after + limit)}}
    return out


# the HTTP server ------------------------------------------------------------------------------


ROUTES: list[tuple[str, re.Pattern[str], str]] = [
    ("POST", re.compile(r"^/crm/v3/objects/(\w+)/search$"), "search"),
    ("POST", re.compile(r"^/crm/v3/objects/(\w+)/batch/read$"), "batch_read"),
    ("POST", re.compile(r"^/crm/v4/associations/(\w+)/(\w+)/batch/read$"), "associations"),
    ("GET", re.compile(r"^/crm/v3/objects/(\w+)$"), "list"),
    ("GET", re.compile(r"^/crm/v3/owners/?$"), "owners"),
    ("GET", re.compile(r"^/crm/v3/pipelines/(\w+)$"), "pipelines"),
]


class FakeHubSpot:
    """The fake's HTTP side: routes, auth, fault injection, optional rate limits, counters."""

    def __init__(self, portal: Portal | None = None, *, enforce_limits: bool = False) -> None:
        self.portal = portal or Portal()
        self.counts: Counter[str] = Counter()
        self.faults: deque[Fault] = deque()
        self.fail_kind: str | None = None
        self.fail_from: int | None = None
        self.enforce_limits = enforce_limits
        self.search_per_second = 5
        self.burst_per_10s = 100
        self._recent_search: deque[float] = deque()
        self._recent_all: deque[float] = deque()
        self._lock = threading.Lock()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # lifecycle -------------------------------------------------------------------------------

    def start(self) -> FakeHubSpot:
        """Listen on 127.0.0.1 on a free port in a daemon thread."""
        handler = _handler_class(self)
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop listening."""
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def __enter__(self) -> FakeHubSpot:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def url(self) -> str:
        """Return the base URL to give the client as host= and base_url=."""
        assert self._server is not None
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    # faults ----------------------------------------------------------------------------------

    def inject(
        self,
        status: int,
        *,
        count: int = 1,
        kind: str | None = None,
        retry_after: str | None = None,
        policy: str = "TEN_SECONDLY_ROLLING",
        stall_s: float = 0.0,
        after: int = 0,
    ) -> None:
        """Answer the next ``count`` requests of ``kind`` with ``status``.

        Status 200 means a fault that still answers 200: after ``stall_s`` seconds when given
        (a stall past the client's timeout), else with a truncated JSON body. ``after``
        matching requests are answered normally first.
        """
        with self._lock:
            self.faults.append(Fault(status, count, kind, retry_after, policy, stall_s, after))

    def break_after(self, kind: str, successes: int) -> None:
        """Fail every request of ``kind`` with 500 once ``successes`` of them have succeeded."""
        with self._lock:
            self.fail_kind = kind
            self.fail_from = self.counts[f"ok:{kind}"] + successes

    def heal(self) -> None:
        """Clear every injected fault."""
        with self._lock:
            self.faults.clear()
            self.fail_kind = None
            self.fail_from = None

    def requests(self, kind: str | None = None) -> int:
        """Return how many requests arrived (of ``kind``, or in all)."""
        if kind is not None:
            return self.counts[kind]
        return sum(v for k, v in self.counts.items() if k in {r[2] for r in ROUTES})

    def _fault_for(self, kind: str) -> Fault | None:
        with self._lock:
            broken = self.fail_kind == kind and self.fail_from is not None
            if broken and self.counts[f"ok:{kind}"] >= (self.fail_from or 0):
                return Fault(500, 1, kind)
            for fault in self.faults:
                if fault.kind in (None, kind) and fault.count > 0:
                    if fault.skip > 0:
                        fault.skip -= 1
                        continue
                    fault.count -= 1
                    if fault.count == 0:
                        self.faults.remove(fault)
                    return fault
            return self._limit_fault(kind) if self.enforce_limits else None

    def _limit_fault(self, kind: str) -> Fault | None:
        now = time.monotonic()
        for window, span in ((self._recent_search, 1.0), (self._recent_all, 10.0)):
            while window and window[0] <= now - span:
                window.popleft()
        if kind == "search" and len(self._recent_search) >= self.search_per_second:
            return Fault(429, 1, kind, policy="SECONDLY")
        if len(self._recent_all) >= self.burst_per_10s:
            return Fault(429, 1, kind, policy="TEN_SECONDLY_ROLLING")
        if kind == "search":
            self._recent_search.append(now)
        self._recent_all.append(now)
        return None

    # dispatch ------------------------------------------------------------------------------

    def handle(
        self, method: str, path: str, query: Mapping[str, list[str]], body: Any, auth: str
    ) -> tuple[int, dict[str, str], Any]:
        """Answer one request: (status, headers, JSON body)."""
        kind, match = "", None
        for verb, pattern, route_kind in ROUTES:
            match = pattern.match(path) if verb == method else None
            if match:
                kind = route_kind
                break
        if match is None:
            return 404, {}, _error("Not found", "OBJECT_NOT_FOUND")
        with self._lock:
            self.counts[kind] += 1
        if auth != f"Bearer {self.portal.token}":
            return (
                401,
                {},
                _error(
                    "Authentication credentials not found. This API supports OAuth 2.0 "
                    "authentication.",
                    "INVALID_AUTHENTICATION",
                ),
            )
        fault = self._fault_for(kind)
        if fault is not None and fault.status == 200 and fault.stall_s:
            with self._lock:
                self.counts["stalled"] += 1
            time.sleep(fault.stall_s)
        elif fault is not None:
            return self._fault_response(fault)
        try:
            status, payload = getattr(self, f"_{kind}")(match.groups(), query, body)
        except BadRequest as exc:
            return 400, {}, _error(str(exc), "VALIDATION_ERROR")
        with self._lock:
            self.counts[f"ok:{kind}"] += 1
        return status, {}, payload

    def _fault_response(self, fault: Fault) -> tuple[int, dict[str, str], Any]:
        headers: dict[str, str] = {}
        with self._lock:
            self.counts[f"status:{fault.status}"] += 1
        if fault.status == 200:
            return 200, {}, MALFORMED_BODY
        if fault.status == 401:
            return (
                401,
                headers,
                _error(
                    "The OAuth token used to make this call expired 2 minute(s) ago.",
                    "EXPIRED_AUTHENTICATION",
                ),
            )
        if fault.status == 429:
            if fault.retry_after is not None:
                headers["Retry-After"] = fault.retry_after
            return (
                429,
                headers,
                {
                    "status": "error",
                    "message": f"You have reached your {fault.policy.lower()} limit.",
                    "errorType": "RATE_LIMIT",
                    "correlationId": str(uuid.uuid4()),
                    "policyName": fault.policy,
                    "requestId": str(uuid.uuid4()),
                },
            )
        return fault.status, headers, _error("Internal error", "INTERNAL_ERROR")

    def _search(self, groups: Sequence[str], query: Any, body: Any) -> tuple[int, Any]:
        with self.portal.lock:
            return 200, search(self.portal, groups[0], body or {})

    def _batch_read(self, groups: Sequence[str], query: Any, body: Any) -> tuple[int, Any]:
        object_type = groups[0]
        inputs = (body or {}).get("inputs") or []
        if len(inputs) > BATCH_READ_MAX:
            raise BadRequest(f"at most {BATCH_READ_MAX} inputs")
        props = list(body.get("properties") or DEFAULT_PROPERTIES.get(object_type, []))
        history = list(body.get("propertiesWithHistory") or [])
        now = iso(to_ms(datetime.now(UTC)))
        with self.portal.lock:
            store = self.portal.objects[object_type]
            found = [store.get(int(i["id"])) for i in inputs]
            results = [r.to_json(props, history) for r in found if r and not r.archived]
            missing = [i["id"] for i, r in zip(inputs, found, strict=True) if not r or r.archived]
        out: dict[str, Any] = {
            "status": "COMPLETE",
            "results": results,
            "startedAt": now,
            "completedAt": now,
        }
        if missing:
            out["numErrors"] = 1
            out["errors"] = [
                {
                    "status": "error",
                    "category": "OBJECT_NOT_FOUND",
                    "message": "Could not get some objects, they may be deleted or not exist.",
                    "context": {"ids": missing},
                }
            ]
            return 207, out
        return 200, out

    def _associations(self, groups: Sequence[str], query: Any, body: Any) -> tuple[int, Any]:
        from_type, to_type = groups
        inputs = (body or {}).get("inputs") or []
        if len(inputs) > ASSOCIATION_BATCH_MAX:
            raise BadRequest(f"at most {ASSOCIATION_BATCH_MAX} inputs")
        type_id = ASSOCIATION_TYPE_IDS.get((from_type, to_type), 1)
        now = iso(to_ms(datetime.now(UTC)))
        with self.portal.lock:
            links = self.portal.associations.get((from_type, to_type), {})
            results, missing = [], []
            for item in inputs:
                targets = links.get(int(item["id"]), [])
                if not targets:
                    missing.append(str(item["id"]))
                    continue
                results.append(
                    {
                        "from": {"id": str(item["id"])},
                        "to": [
                            {
                                "toObjectId": t,
                                "associationTypes": [
                                    {
                                        "category": "HUBSPOT_DEFINED",
                                        "typeId": type_id,
                                        "label": None,
                                    }
                                ],
                            }
                            for t in targets
                        ],
                    }
                )
        out: dict[str, Any] = {
            "status": "COMPLETE",
            "results": results,
            "startedAt": now,
            "completedAt": now,
        }
        if missing:
            out["numErrors"] = len(missing)
            out["errors"] = [
                {
                    "status": "error",
                    "category": "OBJECT_NOT_FOUND",
                    "subCategory": "crm.associations.NO_ASSOCIATIONS_FOUND",
                    "message": f"No {to_type} is associated with {from_type} {m}.",
                    "context": {"fromObjectId": [m]},
                }
                for m in missing
            ]
            return 207, out
        return 200, out

    def _list(
        self, groups: Sequence[str], query: Mapping[str, list[str]], body: Any
    ) -> tuple[int, Any]:
        object_type = groups[0]
        limit = int((query.get("limit") or ["10"])[0])
        if limit > LIST_PAGE_MAX:
            raise BadRequest(f"limit must be at most {LIST_PAGE_MAX}")
        after = int((query.get("after") or ["0"])[0])
        archived = (query.get("archived") or ["false"])[0].lower() == "true"
        props = _csv(query.get("properties")) or DEFAULT_PROPERTIES.get(object_type, [])
        history = _csv(query.get("propertiesWithHistory"))
        with self.portal.lock:
            rows = sorted(
                (r for r in self.portal.objects[object_type].values() if r.archived == archived),
                key=lambda r: r.id,
            )
            page = [r for r in rows if r.id > after][:limit]
            out: dict[str, Any] = {"results": [r.to_json(props, history) for r in page]}
            if page and rows[-1].id > page[-1].id:
                out["paging"] = {"next": {"after": str(page[-1].id)}}
        return 200, out

    def _owners(
        self, groups: Sequence[str], query: Mapping[str, list[str]], body: Any
    ) -> tuple[int, Any]:
        limit = min(int((query.get("limit") or ["100"])[0]), 500)
        after = int((query.get("after") or ["0"])[0])
        archived = (query.get("archived") or ["false"])[0].lower() == "true"
        email = (query.get("email") or [""])[0].lower()
        with self.portal.lock:
            pool = self.portal.archived_owners if archived else self.portal.owners
            rows = sorted(pool.values(), key=lambda o: int(o["id"]))
        if email:
            rows = [o for o in rows if o["email"].lower() == email]
        rows = [o for o in rows if int(o["id"]) > after]
        out: dict[str, Any] = {"results": rows[:limit]}
        if len(rows) > limit:
            out["paging"] = {"next": {"after": rows[limit - 1]["id"]}}
        return 200, out

    def _pipelines(self, groups: Sequence[str], query: Any, body: Any) -> tuple[int, Any]:
        with self.portal.lock:
            results = self.portal.pipelines if groups[0] == "deals" else []
            return 200, {"results": json.loads(json.dumps(results))}


def _csv(values: Sequence[str] | None) -> list[str]:
    return [p for v in values or [] for p in v.split(",") if p]


def _error(message: str, category: str) -> dict[str, Any]:
    return {
        "status": "error",
        "message": message,
        "correlationId": str(uuid.uuid4()),
        "category": category,
    }


def _handler_class(fake: FakeHubSpot) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        disable_nagle_algorithm = True  # headers and body in one segment: no 40 ms ACK stalls

        def log_message(self, format: str, *args: Any) -> None:
            return

        def handle_one_request(self) -> None:
            try:
                super().handle_one_request()
            except OSError:  # the client gave up (timed out) before a stalled answer went out
                self.close_connection = True

        def _serve(self, method: str) -> None:
            parsed = urlparse(self.path)
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(length) if length else b""
            body = json.loads(raw) if raw else None
            status, headers, payload = fake.handle(
                method,
                parsed.path,
                parse_qs(parsed.query),
                body,
                self.headers.get("Authorization", ""),
            )
            data = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json;charset=utf-8")
            self.send_header("Content-Length", str(len(data)))
            for key, value in headers.items():
                self.send_header(key, value)
            self.end_headers()
            self.wfile.write(data)

        def do_GET(self) -> None:
            self._serve("GET")

        def do_POST(self) -> None:
            self._serve("POST")

    return Handler


# seeding ----------------------------------------------------------------------------------------

DEFAULT_STAGES = [
    ("appointmentscheduled", "Appointment Scheduled", 0.2, False),
    ("qualifiedtobuy", "Qualified To Buy", 0.4, False),
    ("presentationscheduled", "Presentation Scheduled", 0.6, False),
    ("decisionmakerboughtin", "Decision Maker Bought-In", 0.8, False),
    ("contractsent", "Contract Sent", 0.9, False),
    ("closedwon", "Closed Won", 1.0, True),
    ("closedlost", "Closed Lost", 0.0, True),
]
RENEWAL_STAGES = [
    ("90001", "Renewal due", 0.5, False),
    ("90002", "Renewal negotiated", 0.8, False),
    ("90003", "Renewed", 1.0, True),
    ("90004", "Churned", 0.0, True),
]
TITLES = [
    "VP Sales",
    "Vice President, Operations",
    "Director of IT",
    "Head of Procurement",
    "Chief Financial Officer",
    "CTO",
    "Founder",
    "Owner",
    "Account Executive",
    "Software Engineer",
    "Office Manager",
    "Analyst",
    "",
]
TEAMS = {"East": "erin.east@example.com", "West": "walt.west@example.com"}


@dataclass(frozen=True)
class SeedSummary:
    """What a seeding produced, for tests and benches."""

    owners: dict[str, str]
    teams: dict[str, str]
    start: datetime
    end: datetime
    bulk_instant_ms: int


def seed_portal(
    portal: Portal,
    *,
    reps: int = 10,
    calls: int = 600,
    emails: int = 300,
    meetings: int = 150,
    tasks: int = 200,
    deals: int = 80,
    contacts: int = 300,
    bulk_calls: int = 0,
    days: int = 14,
    end: datetime | None = None,
    seed: int = 7,
) -> SeedSummary:
    """Fill a portal with a realistic sales team's last ``days`` days.

    Two teams with a manager each, contacts with job titles, calls (mostly outbound, durations
    in ms, some logged as LinkedIn), sent and received emails, meetings with every outcome,
    tasks (LinkedIn and others), deals in two pipelines with forward and backward stage moves,
    and ``bulk_calls`` calls whose hs_lastmodifieddate is one shared instant (a bulk import).
    """
    rng = random.Random(seed)
    end = end or datetime(2026, 11, 20, tzinfo=UTC)
    start = end - timedelta(days=days)
    span_ms = to_ms(end) - to_ms(start)

    def when() -> int:
        return to_ms(start) + rng.randrange(span_ms)

    if not portal.pipelines:
        portal.add_pipeline("default", "Sales Pipeline", DEFAULT_STAGES)
        portal.add_pipeline("renewals", "Renewals", RENEWAL_STAGES)
    owners: dict[str, str] = {}
    for team, manager_email in TEAMS.items():
        first = manager_email.split(".")[0].title()
        owners[manager_email] = portal.add_owner(manager_email, first, team, [team])
    team_names = list(TEAMS)
    for n in range(reps):
        email = f"rep{n:03d}@example.com"
        team = team_names[n % len(team_names)]
        owners[email] = portal.add_owner(email, f"Rep{n:03d}", "Seller", [team, "All hands"])
    queue = portal.add_owner("queue@example.com", "Support", "Queue")
    portal.owners[queue]["type"] = "QUEUE"
    owner_ids = list(owners.values())
    contact_ids = [
        portal.create(
            "contacts",
            {
                "firstname": f"C{n}",
                "lastname": "Buyer",
                "email": f"c{n}@buyer.example",
                "jobtitle": rng.choice(TITLES),
            },
            at_ms=to_ms(start) - 86_400_000,
        )
        for n in range(contacts)
    ]

    def link(kind: str, oid: int) -> None:
        for contact in rng.sample(contact_ids, rng.choice((0, 1, 1, 1, 2))):
            portal.associate(kind, oid, "contacts", contact)

    bulk_ms = to_ms(end) - 3_600_000
    for n in range(calls + bulk_calls):
        at = when()
        props = {
            "hs_timestamp": iso(at),
            "hubspot_owner_id": rng.choice(owner_ids),
            "hs_call_direction": "INBOUND" if rng.random() < 0.2 else "OUTBOUND",
            "hs_call_duration": str(
                rng.choice((0, 15, 45, 59, 60, 61, 120, 299, 300, 600, 1200)) * 1000
                + rng.randrange(1000)
            ),
            "hs_call_status": "COMPLETED",
            "hs_activity_type": "LinkedIn" if rng.random() < 0.05 else "Cold call",
            "hs_call_title": f"Call {n}",
        }
        modified = bulk_ms if n >= calls else at + rng.randrange(600_000)
        link("calls", portal.create("calls", props, at_ms=at, modified_ms=modified))
    for _ in range(emails):
        at = when()
        direction = rng.choices(("EMAIL", "INCOMING_EMAIL", "FORWARDED_EMAIL"), (70, 25, 5))[0]
        props = {
            "hs_timestamp": iso(at),
            "hubspot_owner_id": rng.choice(owner_ids),
            "hs_email_direction": direction,
            "hs_email_status": "SENT",
            "hs_email_subject": "Following up",
        }
        link("emails", portal.create("emails", props, at_ms=at))
    for _ in range(meetings):
        at = when()
        outcome = rng.choice(("COMPLETED", "COMPLETED", None, "NO_SHOW", "CANCELED", "RESCHEDULED"))
        props = {
            "hs_timestamp": iso(at),
            "hubspot_owner_id": rng.choice(owner_ids),
            "hs_meeting_outcome": outcome,
            "hs_meeting_start_time": iso(at),
            "hs_meeting_end_time": iso(at + 1_800_000),
            "hs_meeting_title": "Discovery",
        }
        link("meetings", portal.create("meetings", props, at_ms=at))
    for _ in range(tasks):
        at = when()
        props = {
            "hs_timestamp": iso(at),
            "hubspot_owner_id": rng.choice(owner_ids),
            "hs_task_type": rng.choice(("LINKED_IN", "LINKED_IN", "CALL", "EMAIL", "TODO")),
            "hs_task_status": rng.choice(("COMPLETED", "NOT_STARTED")),
            "hs_task_subject": "Touch",
        }
        portal.create("tasks", props, at_ms=at)
    for n in range(deals):
        pipeline = "renewals" if n % 5 == 0 else "default"
        stages = [s[0] for s in (RENEWAL_STAGES if pipeline == "renewals" else DEFAULT_STAGES)]
        created = when()
        oid = portal.create(
            "deals",
            {
                "dealname": f"Deal {n}",
                "amount": str(rng.choice((1000, 2500, 5000, 12000, 40000))),
                "pipeline": pipeline,
                "dealstage": stages[0],
                "hubspot_owner_id": rng.choice(owner_ids),
                "closedate": iso(to_ms(end) + 30 * 86_400_000),
            },
            at_ms=created,
        )
        at = created
        position = 0
        for _ in range(rng.randrange(0, 5)):
            at += rng.randrange(3_600_000, 3 * 86_400_000)
            if at >= to_ms(end):
                break
            closing = position >= len(stages) - 4 and rng.random() < 0.5
            if closing:
                final = stages[-2] if rng.random() < 0.6 else stages[-1]
                portal.update("deals", oid, {"dealstage": final, "closedate": iso(at)}, at_ms=at)
                break
            position = max(0, min(len(stages) - 3, position + rng.choice((1, 1, 1, 2, -1))))
            portal.update("deals", oid, {"dealstage": stages[position]}, at_ms=at)
    return SeedSummary(owners, dict(TEAMS), start, end, bulk_ms)
