"""A fake Salesforce org speaking the real REST protocol over HTTPS on loopback.

The real simple-salesforce client talks to it: ``/services/data/vXX.X/query[/]``,
``/queryAll[/]``, ``/query/{locator}-{offset}``, ``/limits/``, the SOAP partner login and the
OAuth2 JWT bearer token endpoint. SOQL is parsed and evaluated (see ``tests.fakes.soql``);
results are snapshotted at query time and paged through ``nextRecordsUrl``. Every REST call is
counted and reported in ``Sforce-Limit-Info``; faults (503, 429, REQUEST_LIMIT_EXCEEDED,
INVALID_SESSION_ID, dropped connections, stalls past the client's timeout, truncated JSON) can be
injected.
"""

from __future__ import annotations

import html
import itertools
import json
import re
import secrets
import ssl
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from email.utils import format_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import jwt
import requests
import trustme
from requests.adapters import HTTPAdapter

from tests.fakes.soql import Query, SoqlError, check_types, matches, parse, sort_rows

API_VERSION = "59.0"
ORG_ID = "00D000000000001AAA"
PREFIXES = {
    "User": "005",
    "Contact": "003",
    "Lead": "00Q",
    "Account": "001",
    "Opportunity": "006",
    "OpportunityStage": "01J",
    "OpportunityFieldHistory": "017",
    "Task": "00T",
    "Event": "00U",
    "Organization": "00D",
}
S, DT, D, B, INT, F = "string", "datetime", "date", "boolean", "int", "double"
COMMON = {"Id": S, "CreatedDate": DT, "LastModifiedDate": DT, "SystemModstamp": DT}
SCHEMA: dict[str, dict[str, str]] = {
    "User": {
        **COMMON,
        "Name": S,
        "Username": S,
        "Email": S,
        "ManagerId": S,
        "IsActive": B,
        "Title": S,
        "Department": S,
        "UserType": S,
    },
    "Contact": {**COMMON, "Name": S, "Title": S, "Email": S, "IsDeleted": B},
    "Lead": {**COMMON, "Name": S, "Title": S, "Email": S, "IsDeleted": B},
    "Account": {**COMMON, "Name": S, "IsDeleted": B},
    "OpportunityStage": {
        **COMMON,
        "ApiName": S,
        "MasterLabel": S,
        "SortOrder": INT,
        "IsActive": B,
        "IsClosed": B,
        "IsWon": B,
        "DefaultProbability": F,
    },
    "Opportunity": {
        **COMMON,
        "Name": S,
        "OwnerId": S,
        "AccountId": S,
        "Amount": F,
        "StageName": S,
        "CloseDate": D,
        "IsClosed": B,
        "IsWon": B,
        "Probability": F,
        "IsDeleted": B,
    },
    "OpportunityFieldHistory": {
        "Id": S,
        "CreatedDate": DT,
        "CreatedById": S,
        "OpportunityId": S,
        "Field": S,
        "DataType": S,
        "OldValue": S,
        "NewValue": S,
        "IsDeleted": B,
    },
    "Task": {
        **COMMON,
        "OwnerId": S,
        "WhoId": S,
        "WhatId": S,
        "Subject": S,
        "Type": S,
        "TaskSubtype": S,
        "CallType": S,
        "CallDurationInSeconds": INT,
        "CallDisposition": S,
        "Status": S,
        "IsClosed": B,
        "ActivityDate": D,
        "CompletedDateTime": DT,
        "IsDeleted": B,
        "IsArchived": B,
    },
    "Event": {
        **COMMON,
        "OwnerId": S,
        "WhoId": S,
        "WhatId": S,
        "Subject": S,
        "Type": S,
        "StartDateTime": DT,
        "EndDateTime": DT,
        "ActivityDateTime": DT,
        "ActivityDate": D,
        "IsAllDayEvent": B,
        "DurationInMinutes": INT,
        "IsDeleted": B,
        "IsArchived": B,
    },
    "Organization": {"Id": S, "Name": S, "IsSandbox": B},
}


def sf_datetime(value: datetime) -> str:
    """Format an instant the way the REST API does: ``2026-11-23T14:05:00.000+0000``."""
    value = value.astimezone(UTC)
    return value.strftime("%Y-%m-%dT%H:%M:%S.") + f"{value.microsecond // 1000:03d}+0000"


@dataclass
class Fault:
    """Fail ``times`` REST calls after letting ``skip`` more pass."""

    kind: str  # "503" | "429" | "limit" | "session" | "reset" | "stall" | "malformed"
    skip: int
    times: int


class FakeSalesforce:
    """An in-memory org with an HTTPS REST front end; start() it, then point a client at it."""

    def __init__(
        self,
        *,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        daily_limit: int = 15000,
        max_batch: int | None = None,
    ) -> None:
        self.clock = clock
        self.daily_limit = daily_limit
        self.api_used = 0
        self.api_calls = 0
        self.max_batch = max_batch
        self.schema = {name: dict(fields) for name, fields in SCHEMA.items()}
        self.tables: dict[str, dict[str, dict[str, Any]]] = {name: {} for name in SCHEMA}
        self.faults: list[Fault] = []
        self.log: list[tuple[str, str, int]] = []
        self.queries: list[str] = []
        self.tokens: set[str] = set()
        self.passwords: dict[str, str] = {}
        self.jwt_apps: dict[str, bytes] = {}
        self._cursors: dict[str, list[dict[str, Any]]] = {}
        self.deleted_log: dict[str, tuple[str, datetime]] = {}  # Id -> (sobject, deleted at)
        self.stall_s = 2.0  # how long a "stall" fault holds the answer back
        self._ids = itertools.count(1)
        self._lock = threading.RLock()
        self._server: ThreadingHTTPServer | None = None
        self._tmp = tempfile.TemporaryDirectory()
        self.ca_file = str(Path(self._tmp.name) / "fake-salesforce-ca.pem")
        self.port = 0

    # server --------------------------------------------------------------------------------

    def start(self) -> FakeSalesforce:
        """Serve HTTPS on 127.0.0.1 (port 0) with a certificate from a fresh test CA."""
        ca = trustme.CA()
        ca.cert_pem.write_to_path(self.ca_file)
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ca.issue_cert("127.0.0.1").configure_cert(context)
        fake = self

        class Server(ThreadingHTTPServer):
            daemon_threads = True

            def finish_request(self, request: Any, client_address: Any) -> None:
                try:
                    tls = context.wrap_socket(request, server_side=True)
                except (ssl.SSLError, OSError):
                    return
                try:
                    Handler(tls, client_address, self)
                except (ssl.SSLError, OSError):
                    pass
                finally:
                    tls.close()

        class Handler(_Handler):
            org = fake

        self._server = Server(("127.0.0.1", 0), Handler)
        self.port = self._server.server_address[1]
        threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        ).start()
        return self

    def stop(self) -> None:
        """Stop serving and forget the CA files."""
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
        self._tmp.cleanup()

    @property
    def url(self) -> str:
        """Return the instance URL (what SALESFORCE_INSTANCE_URL would hold)."""
        return f"https://127.0.0.1:{self.port}"

    def session(self) -> requests.Session:
        """Return a requests session trusting the fake's CA, with login hosts routed to it."""
        session = requests.Session()
        session.verify = self.ca_file
        session.trust_env = False
        for domain in ("login", "test"):
            session.mount(f"https://{domain}.salesforce.com", RouteToFake(self.url))
        return session

    # auth ----------------------------------------------------------------------------------

    def new_session(self) -> str:
        """Issue a valid session id (what an OAuth flow or SALESFORCE_ACCESS_TOKEN holds)."""
        token = f"{ORG_ID}!{secrets.token_urlsafe(24)}"
        with self._lock:
            self.tokens.add(token)
        return token

    def expire_sessions(self) -> None:
        """Invalidate every session: the next REST call gets 401 INVALID_SESSION_ID."""
        with self._lock:
            self.tokens.clear()

    def add_password_user(self, username: str, password: str, security_token: str) -> None:
        """Allow a SOAP partner login with ``password + security_token``."""
        self.passwords[username] = password + security_token

    def add_jwt_app(self, consumer_key: str, public_key_pem: bytes) -> None:
        """Register a connected app whose JWTs are signed by the matching private key."""
        self.jwt_apps[consumer_key] = public_key_pem

    # faults and counters -------------------------------------------------------------------

    def inject(self, kind: str, *, after: int = 0, times: int = 1) -> None:
        """Fail ``times`` REST calls with ``kind`` after ``after`` more succeed."""
        with self._lock:
            self.faults.append(Fault(kind, after, times))

    def clear_faults(self) -> None:
        """Forget pending faults."""
        with self._lock:
            self.faults.clear()

    def _take_fault(self) -> str | None:
        with self._lock:
            for fault in self.faults:
                if fault.skip > 0:
                    fault.skip -= 1
                    continue
                if fault.times > 0:
                    fault.times -= 1
                    return fault.kind
            self.faults = [f for f in self.faults if f.times > 0]
            return None

    # data ----------------------------------------------------------------------------------

    def new_id(self, sobject: str) -> str:
        """Return a fresh 18-character Id with the object's key prefix."""
        return f"{PREFIXES[sobject]}{next(self._ids):012d}AAA"

    def add_field(self, sobject: str, name: str, kind: str = S) -> None:
        """Add a custom field (e.g. ``Meeting_Outcome__c``) to an object."""
        self.schema[sobject][name] = kind

    def insert(self, sobject: str, stamp: datetime | None = None, **fields: Any) -> str:
        """Create a record; ``stamp`` sets SystemModstamp (default: now)."""
        now = self.clock()
        with self._lock:
            for name in fields:
                if name not in self.schema[sobject]:
                    raise KeyError(f"{sobject} has no field {name}")
            row: dict[str, Any] = dict.fromkeys(self.schema[sobject])
            row.update(fields)
            row["Id"] = fields.get("Id") or self.new_id(sobject)
            if row.get("CreatedDate") is None:
                row["CreatedDate"] = now
            for flag in ("IsDeleted", "IsArchived"):
                if flag in row and row[flag] is None:
                    row[flag] = False
            if "SystemModstamp" in row:
                row["SystemModstamp"] = stamp or now
                row["LastModifiedDate"] = stamp or now
            self.tables[sobject][row["Id"]] = row
            return str(row["Id"])

    def update(self, record_id: str, stamp: datetime | None = None, **fields: Any) -> None:
        """Change fields of a record and bump its SystemModstamp."""
        with self._lock:
            sobject, row = self.find(record_id)
            for name in fields:
                if name not in self.schema[sobject]:
                    raise KeyError(f"{sobject} has no field {name}")
            row.update(fields)
            self._touch(row, stamp)

    def change_stage(self, opp_id: str, stage: str, at: datetime | None = None) -> str:
        """Move an opportunity to ``stage``, writing OpportunityFieldHistory; return its Id."""
        at = at or self.clock()
        with self._lock:
            _, opp = self.find(opp_id)
            meta = self.stage(stage)
            old = opp["StageName"]
            opp.update(StageName=stage, IsClosed=meta["IsClosed"], IsWon=meta["IsWon"])
            if meta["IsClosed"]:
                opp["CloseDate"] = at.date()
            self._touch(opp, at)
            return self.insert(
                "OpportunityFieldHistory",
                OpportunityId=opp_id,
                Field="StageName",
                DataType="Picklist",
                OldValue=old,
                NewValue=stage,
                CreatedDate=at,
                CreatedById=opp["OwnerId"],
            )

    def delete(self, record_id: str, stamp: datetime | None = None) -> None:
        """Move a record to the recycle bin (queryAll still returns it, IsDeleted = true)."""
        self._set_deleted(record_id, True, stamp)

    def undelete(self, record_id: str, stamp: datetime | None = None) -> None:
        """Restore a record from the recycle bin."""
        self._set_deleted(record_id, False, stamp)

    def hard_delete(self, record_id: str) -> None:
        """Delete and purge a record: only the deleted-record log remembers it."""
        with self._lock:
            sobject, _ = self.find(record_id)
            del self.tables[sobject][record_id]
            self.deleted_log.setdefault(record_id, (sobject, self.clock()))

    def _set_deleted(self, record_id: str, deleted: bool, stamp: datetime | None) -> None:
        with self._lock:
            sobject, row = self.find(record_id)
            row["IsDeleted"] = deleted
            self._touch(row, stamp)
            if deleted:
                self.deleted_log[record_id] = (sobject, row.get("SystemModstamp") or self.clock())
            else:
                self.deleted_log.pop(record_id, None)
            if sobject == "Opportunity":
                for hist in self.tables["OpportunityFieldHistory"].values():
                    if hist["OpportunityId"] == record_id:
                        hist["IsDeleted"] = deleted

    def _touch(self, row: dict[str, Any], stamp: datetime | None) -> None:
        if "SystemModstamp" in row:
            row["SystemModstamp"] = stamp or self.clock()
            row["LastModifiedDate"] = row["SystemModstamp"]

    def find(self, record_id: str) -> tuple[str, dict[str, Any]]:
        """Return (sobject, row) of a record by Id."""
        for sobject, prefix in PREFIXES.items():
            if record_id.startswith(prefix) and record_id in self.tables[sobject]:
                return sobject, self.tables[sobject][record_id]
        raise KeyError(record_id)

    def stage(self, name: str) -> dict[str, Any]:
        """Return the OpportunityStage row called ``name``."""
        for row in self.tables["OpportunityStage"].values():
            if row["ApiName"] == name:
                return row
        raise KeyError(name)

    def rows(self, sobject: str, *, include_deleted: bool = False) -> list[dict[str, Any]]:
        """Return copies of an object's rows, the way a test computes expectations."""
        with self._lock:
            return [
                dict(r)
                for r in self.tables[sobject].values()
                if include_deleted or not r.get("IsDeleted")
            ]

    # SOQL ----------------------------------------------------------------------------------

    def run_query(self, soql: str, *, include_deleted: bool) -> list[dict[str, Any]]:
        """Evaluate ``soql`` and return the serialized result rows (a snapshot)."""
        query = parse(soql)
        with self._lock:
            sobject = self._sobject(query.sobject)
            for name in query.fields:
                self._field_type(sobject, name)
            for item in query.order:
                self._field_type(sobject, item.field)
            check_types(query.where, lambda f: self._field_type(sobject, f))
            rows = [
                r
                for r in self.tables[sobject].values()
                if include_deleted or not (r.get("IsDeleted") or r.get("IsArchived"))
            ]
            rows = [r for r in rows if matches(query.where, lambda f, r=r: self._get(r, f))]
            sort_rows(rows, query.order, lambda r, f: self._sort_value(sobject, r, f))
            end = None if query.limit is None else query.offset + query.limit
            rows = rows[query.offset : end]
            return [self._serialize(sobject, r, query) for r in rows]

    def _sobject(self, name: str) -> str:
        for sobject in self.schema:
            if sobject.lower() == name.lower():
                return sobject
        raise SoqlError(f"sObject type '{name}' is not supported.", "INVALID_TYPE")

    def _field_type(self, sobject: str, name: str) -> str:
        parts = name.split(".")
        if len(parts) == 2:
            rel, fld = parts
            id_field = self._relationship_field(sobject, rel)
            if id_field is None:
                raise SoqlError(
                    f"Didn't understand relationship '{rel}' in field path.", "INVALID_FIELD"
                )
            targets = ["Contact", "Lead", "User", "Opportunity", "Account"]
            for target in targets:
                for field_name, kind in self.schema[target].items():
                    if field_name.lower() == fld.lower():
                        return kind
            raise SoqlError(f"No such column '{fld}' on entity 'Name'.", "INVALID_FIELD")
        for field_name, kind in self.schema[sobject].items():
            if field_name.lower() == name.lower():
                return kind
        raise SoqlError(
            f"No such column '{name}' on entity '{sobject}'. If you are attempting to use a "
            "custom field, be sure to append the '__c' after the custom field name.",
            "INVALID_FIELD",
        )

    def _relationship_field(self, sobject: str, rel: str) -> str | None:
        candidate = f"{rel}Id"
        for field_name in self.schema[sobject]:
            if field_name.lower() == candidate.lower():
                return field_name
        return None

    def _parent(self, row: dict[str, Any], rel: str) -> tuple[str, dict[str, Any]] | None:
        for field_name, parent_id in row.items():
            if field_name.lower() == f"{rel}Id".lower():
                if not parent_id:
                    return None
                try:
                    return self.find(parent_id)
                except KeyError:
                    return None
        return None

    def _get(self, row: dict[str, Any], name: str) -> Any:
        if "." in name:
            rel, fld = name.split(".", 1)
            parent = self._parent(row, rel)
            return self._get(parent[1], fld) if parent else None
        for field_name, value in row.items():
            if field_name.lower() == name.lower():
                return value
        return None

    def _sort_value(self, sobject: str, row: dict[str, Any], name: str) -> Any:
        value = self._get(row, name)
        if isinstance(value, str) and not name.lower().endswith("id"):
            return value.casefold()
        return value

    def _serialize(self, sobject: str, row: dict[str, Any], query: Query) -> dict[str, Any]:
        out: dict[str, Any] = {"attributes": _attributes(sobject, row["Id"])}
        for name in query.fields:
            if "." in name:
                rel, fld = name.split(".", 1)
                parent = self._parent(row, rel)
                if parent is None:
                    out[rel] = None
                    continue
                nested = out.get(rel) or {"attributes": _attributes(parent[0], parent[1]["Id"])}
                nested[self._canonical(parent[0], fld)] = _json_value(self._get(parent[1], fld))
                out[rel] = nested
            else:
                out[self._canonical(sobject, name)] = _json_value(self._get(row, name))
        return out

    def _canonical(self, sobject: str, name: str) -> str:
        for field_name in self.schema[sobject]:
            if field_name.lower() == name.lower():
                return field_name
        return name

    # paging --------------------------------------------------------------------------------

    def page(
        self, rows: list[dict[str, Any]], batch: int, offset: int, locator: str
    ) -> dict[str, Any]:
        """Return one page of a snapshotted result, with nextRecordsUrl while more remain."""
        chunk = rows[offset : offset + batch]
        body: dict[str, Any] = {
            "totalSize": len(rows),
            "done": offset + batch >= len(rows),
            "records": chunk,
        }
        if not body["done"]:
            body["nextRecordsUrl"] = (
                f"/services/data/v{API_VERSION}/query/{locator}-{offset + batch}"
            )
        return body

    def batch_size(self, header: str | None) -> int:
        """Honour ``Sforce-Query-Options: batchSize=N`` (200..2000), capped by ``max_batch``."""
        size = 2000
        if header:
            match = re.search(r"batchSize=(\d+)", header)
            if match:
                size = min(2000, max(200, int(match.group(1))))
        return min(size, self.max_batch) if self.max_batch else size

    def store_cursor(self, rows: list[dict[str, Any]]) -> str:
        """Keep a result snapshot under a new query locator."""
        locator = f"01g{secrets.token_hex(6).upper()}"
        with self._lock:
            self._cursors[locator] = rows
        return locator

    def cursor_rows(self, locator: str) -> list[dict[str, Any]] | None:
        """Return the snapshot of a query locator."""
        with self._lock:
            return self._cursors.get(locator)

    def count_call(self) -> tuple[int, int]:
        """Count one REST call against the daily allowance; return (used, limit)."""
        with self._lock:
            self.api_calls += 1
            self.api_used += 1
            return self.api_used, self.daily_limit

    def deleted_since(self, sobject: str, params: dict[str, list[str]]) -> dict[str, Any]:
        """Answer ``/sobjects/X/deleted/?start=&end=`` (seconds ignored, 15 days kept)."""
        start = datetime.fromisoformat(params["start"][0]).replace(second=0, microsecond=0)
        end = datetime.fromisoformat(params["end"][0]).replace(second=0, microsecond=0)
        earliest = (self.clock() - timedelta(days=15)).replace(second=0, microsecond=0)
        if end < start or start < earliest - timedelta(minutes=1):
            raise ValueError("start date must be within the last 15 days and before end")
        with self._lock:
            found = [
                {"id": record_id, "deletedDate": sf_datetime(at)}
                for record_id, (kind, at) in sorted(self.deleted_log.items())
                if kind == sobject and start <= at <= end
            ]
        return {
            "deletedRecords": found,
            "earliestDateAvailable": sf_datetime(earliest),
            "latestDateCovered": sf_datetime(end),
        }

    def limits(self) -> dict[str, Any]:
        """Return the /limits resource."""
        return {
            "DailyApiRequests": {
                "Max": self.daily_limit,
                "Remaining": max(0, self.daily_limit - self.api_used),
            }
        }


def _attributes(sobject: str, record_id: str) -> dict[str, str]:
    return {"type": sobject, "url": f"/services/data/v{API_VERSION}/sobjects/{sobject}/{record_id}"}


def _json_value(value: Any) -> Any:
    if isinstance(value, datetime):
        return sf_datetime(value)
    if isinstance(value, date):
        return value.isoformat()
    return value


class RouteToFake(HTTPAdapter):
    """A transport adapter that sends login.salesforce.com requests to the fake instead."""

    def __init__(self, base_url: str) -> None:
        super().__init__()
        self.base_url = base_url

    def send(self, request: Any, *args: Any, **kwargs: Any) -> requests.Response:  # type: ignore[override]
        parts = urlsplit(request.url)
        request.url = self.base_url + parts.path + (f"?{parts.query}" if parts.query else "")
        return super().send(request, *args, **kwargs)


ERRORS = {
    "503": (503, "SERVER_UNAVAILABLE", "Server temporarily unavailable."),
    "429": (429, "TOO_MANY_REQUESTS", "Too many requests; try again later."),
    "limit": (403, "REQUEST_LIMIT_EXCEEDED", "TotalRequests Limit exceeded."),
    "session": (401, "INVALID_SESSION_ID", "Session expired or invalid"),
}


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # headers and body go out in one segment, no 40 ms stalls
    wbufsize = 1 << 16
    org: FakeSalesforce

    def log_message(self, format: str, *args: Any) -> None:
        return

    def date_time_string(self, timestamp: float | None = None) -> str:
        """Send the org's own clock in the Date header, as a real server would."""
        return format_datetime(self.org.clock().astimezone(UTC), usegmt=True)

    def do_GET(self) -> None:
        parts = urlsplit(self.path)
        if not parts.path.startswith("/services/data/"):
            self._json(
                404,
                [{"errorCode": "NOT_FOUND", "message": "The requested resource does not exist"}],
            )
            return
        used, limit = self.org.count_call()
        fault = self.org._take_fault()
        if fault == "reset":
            self.close_connection = True
            self.connection.shutdown(2)
            return
        if fault == "stall":
            time.sleep(self.org.stall_s)  # the client times out; the answer goes nowhere
            fault = None
        if fault == "malformed":
            self._send(
                200, b'{"totalSize": 3, "done": true, "records": [{"attr', "application/json"
            )
            return
        if fault is not None:
            status, code, message = ERRORS[fault]
            if fault == "session":
                self.org.expire_sessions()
            self._error(status, code, message, used, limit)
            return
        if used > limit:
            self._error(403, *ERRORS["limit"][1:], used, limit)
            return
        auth = self.headers.get("Authorization", "")
        if not auth.startswith("Bearer ") or auth[7:] not in self.org.tokens:
            self._error(401, *ERRORS["session"][1:], used, limit)
            return
        self._rest(parts.path, parse_qs(parts.query), used, limit)

    def _rest(self, path: str, params: dict[str, list[str]], used: int, limit: int) -> None:
        match = re.fullmatch(r"/services/data/v[\d.]+/(query|queryAll)(?:/([^/]*))?/?", path)
        deleted = re.fullmatch(r"/services/data/v[\d.]+/sobjects/(\w+)/deleted/?", path)
        if re.fullmatch(r"/services/data/v[\d.]+/limits/?", path):
            self._json(200, self.org.limits(), used, limit)
        elif deleted:
            self._deleted(deleted.group(1), params, used, limit)
        elif match is None:
            self._error(404, "NOT_FOUND", "The requested resource does not exist", used, limit)
        else:
            self._query(match.group(1), match.group(2), params, used, limit)

    def _deleted(self, sobject: str, params: dict[str, list[str]], used: int, limit: int) -> None:
        try:
            body = self.org.deleted_since(sobject, params)
        except (KeyError, ValueError) as exc:
            self._error(400, "INVALID_REPLICATION_DATE", str(exc), used, limit)
            return
        self._json(200, body, used, limit)

    def _query(
        self,
        endpoint: str,
        locator: str | None,
        params: dict[str, list[str]],
        used: int,
        limit: int,
    ) -> None:
        batch = self.org.batch_size(self.headers.get("Sforce-Query-Options"))
        if locator:
            name, _, offset = locator.rpartition("-")
            rows = self.org.cursor_rows(name)
            if rows is None or not offset.isdigit():
                self._error(400, "INVALID_QUERY_LOCATOR", "invalid query locator", used, limit)
                return
            self._json(200, self.org.page(rows, batch, int(offset), name), used, limit)
            return
        soql = (params.get("q") or [""])[0]
        self.org.queries.append(soql)
        try:
            rows = self.org.run_query(soql, include_deleted=endpoint == "queryAll")
        except SoqlError as exc:
            self._error(400, exc.code, str(exc), used, limit)
            return
        locator = self.org.store_cursor(rows)
        self._json(200, self.org.page(rows, batch, 0, locator), used, limit)

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length).decode()
        path = urlsplit(self.path).path
        if path.startswith("/services/Soap/u/"):
            self._soap_login(body)
        elif path == "/services/oauth2/token":
            self._token(parse_qs(body))
        else:
            self._json(404, [{"errorCode": "NOT_FOUND", "message": "no such resource"}])

    def _soap_login(self, body: str) -> None:
        username = html.unescape(_xml_text(body, "username") or "")
        password = html.unescape(_xml_text(body, "password") or "")
        if self.org.passwords.get(username) != password or not username:
            fault = (
                '<?xml version="1.0" encoding="UTF-8"?><soapenv:Envelope '
                'xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/" '
                'xmlns:sf="urn:fault.partner.soap.sforce.com"><soapenv:Body><soapenv:Fault>'
                "<faultcode>INVALID_LOGIN</faultcode><faultstring>INVALID_LOGIN: Invalid "
                "username, password, security token; or user locked out.</faultstring><detail>"
                "<sf:LoginFault><sf:exceptionCode>INVALID_LOGIN</sf:exceptionCode>"
                "<sf:exceptionMessage>Invalid username, password, security token; or user "
                "locked out.</sf:exceptionMessage></sf:LoginFault></detail></soapenv:Fault>"
                "</soapenv:Body></soapenv:Envelope>"
            )
            self._send(500, fault.encode(), "text/xml; charset=utf-8")
            return
        token = self.org.new_session()
        server = f"{self.org.url}/services/Soap/u/{API_VERSION}/{ORG_ID}"
        response = (
            '<?xml version="1.0" encoding="UTF-8"?><soapenv:Envelope '
            'xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/" '
            'xmlns="urn:partner.soap.sforce.com"><soapenv:Body><loginResponse><result>'
            f"<metadataServerUrl>{self.org.url}/services/Soap/m/{API_VERSION}/{ORG_ID}"
            "</metadataServerUrl><passwordExpired>false</passwordExpired><sandbox>false"
            f"</sandbox><serverUrl>{server}</serverUrl><sessionId>{html.escape(token)}"
            "</sessionId><userId>005000000000000AAA</userId></result></loginResponse>"
            "</soapenv:Body></soapenv:Envelope>"
        )
        self._send(200, response.encode(), "text/xml; charset=utf-8")

    def _token(self, form: dict[str, list[str]]) -> None:
        grant = (form.get("grant_type") or [""])[0]
        assertion = (form.get("assertion") or [""])[0]
        if grant != "urn:ietf:params:oauth:grant-type:jwt-bearer":
            self._json(400, {"error": "unsupported_grant_type", "error_description": grant})
            return
        try:
            unverified = jwt.decode(assertion, options={"verify_signature": False})
            key = self.org.jwt_apps[unverified["iss"]]
            claims = jwt.decode(
                assertion,
                key,
                algorithms=["RS256"],
                audience="https://login.salesforce.com",
                options={"verify_exp": False},
            )
            if int(claims["exp"]) < datetime.now(UTC).timestamp():
                raise jwt.InvalidTokenError("expired")
        except (KeyError, jwt.InvalidTokenError) as exc:
            self._json(
                400, {"error": "invalid_grant", "error_description": f"invalid assertion: {exc}"}
            )
            return
        self._json(
            200,
            {
                "access_token": self.org.new_session(),
                "scope": "api",
                "instance_url": self.org.url,
                "id": f"https://login.salesforce.com/id/{ORG_ID}/005000000000000AAA",
                "token_type": "Bearer",
            },
        )

    def _error(self, status: int, code: str, message: str, used: int = 0, limit: int = 0) -> None:
        self._json(status, [{"message": message, "errorCode": code}], used, limit)

    def _json(self, status: int, body: Any, used: int = 0, limit: int = 0) -> None:
        headers = {"Sforce-Limit-Info": f"api-usage={used}/{limit}"} if limit else {}
        self._send(status, json.dumps(body).encode(), "application/json;charset=UTF-8", headers)

    def _send(
        self, status: int, payload: bytes, content_type: str, headers: dict[str, str] | None = None
    ) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(payload)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(payload)
        self.org.log.append((self.command, self.path, status))


def _xml_text(body: str, tag: str) -> str | None:
    match = re.search(rf"<(?:\w+:)?{tag}>(.*?)</(?:\w+:)?{tag}>", body, re.DOTALL)
    return match.group(1) if match else None


@contextmanager
def running_fake(**kwargs: Any) -> Iterator[FakeSalesforce]:
    """Start a fake org for the duration of a ``with`` block."""
    fake = FakeSalesforce(**kwargs).start()
    try:
        yield fake
    finally:
        fake.stop()


# seeding -------------------------------------------------------------------------------------

STAGES = (
    ("Prospecting", 1, False, False, 10.0),
    ("Qualification", 2, False, False, 20.0),
    ("Needs Analysis", 3, False, False, 30.0),
    ("Proposal", 4, False, False, 60.0),
    ("Negotiation", 5, False, False, 80.0),
    ("Closed Won", 6, True, True, 100.0),
    ("Closed Lost", 7, True, False, 0.0),
)
TITLES = (
    "VP Sales",
    "Vice President, Operations",
    "Director of IT",
    "Head of Growth",
    "CFO",
    "Founder",
    "Office Manager",
    "Sales Engineer",
    "Analyst",
    None,
    "Owner",
    "Coordinator",
)
OUTCOME_FIELD = "Meeting_Outcome__c"


@dataclass(frozen=True)
class SeededOrg:
    """Ids the seeding created, for tests that change the org afterwards."""

    reps: list[str]
    managers: list[str]
    contacts: list[str]
    opportunities: list[str]
    tasks: list[str]
    events: list[str]


def seed_org(
    fake: FakeSalesforce,
    *,
    now: datetime,
    reps: int = 8,
    days: int = 10,
    seed: int = 7,
    per_day: int = 4,
) -> SeededOrg:
    """Fill the fake with a realistic org: a hierarchy, contacts, activities, deals and history.

    SystemModstamps come in bursts of identical whole seconds (as a data load makes them), so
    the connector's (SystemModstamp, Id) keyset is exercised on ties.
    """
    import random

    rnd = random.Random(seed)
    fake.add_field("Event", OUTCOME_FIELD)
    stamp_iter = _bursty_stamps(now - timedelta(days=days + 2), rnd)

    def stamp() -> datetime:
        return next(stamp_iter)

    for name, order, closed, won, prob in STAGES:
        fake.insert(
            "OpportunityStage",
            stamp=stamp(),
            ApiName=name,
            MasterLabel=name,
            SortOrder=order,
            IsActive=True,
            IsClosed=closed,
            IsWon=won,
            DefaultProbability=prob,
        )
    start = now - timedelta(days=days + 30)
    vp = fake.insert(
        "User",
        stamp=stamp(),
        Name="Vera Boss",
        Username="vera@acme.test",
        Email="Vera@Acme.test",
        IsActive=True,
        Title="VP Sales",
        Department="Sales",
        UserType="Standard",
        CreatedDate=start,
    )
    managers = [
        fake.insert(
            "User",
            stamp=stamp(),
            Name=f"Manager {m}",
            Username=f"manager{m}@acme.test",
            Email=f"manager{m}@acme.test",
            ManagerId=vp,
            IsActive=True,
            Title="Sales Manager",
            Department=f"Team {m}",
            UserType="Standard",
            CreatedDate=start,
        )
        for m in range(2)
    ]
    rep_ids = [
        fake.insert(
            "User",
            stamp=stamp(),
            Name=f"Rep {r}",
            Username=f"rep{r}@acme.test",
            Email=f"rep{r}@acme.test",
            ManagerId=managers[r % 2],
            IsActive=r != reps - 1,
            Title="Account Executive",
            Department=f"Team {r % 2}",
            UserType="Standard",
            CreatedDate=start + timedelta(days=r),
        )
        for r in range(reps)
    ]
    fake.insert(
        "User",
        stamp=stamp(),
        Name="Automated Process",
        Username="autoproc@acme.test",
        Email="autoproc@acme.test",
        IsActive=True,
        UserType="AutomatedProcess",
        CreatedDate=start,
    )
    contacts = [
        fake.insert("Contact", stamp=stamp(), Name=f"Contact {c}", Title=TITLES[c % len(TITLES)])
        for c in range(24)
    ]
    leads = [
        fake.insert("Lead", stamp=stamp(), Name=f"Lead {c}", Title=TITLES[(c * 5) % len(TITLES)])
        for c in range(6)
    ]
    whos: list[str | None] = [*contacts, *leads, None]
    tasks: list[str] = []
    events: list[str] = []
    opps: list[str] = []
    for rep in rep_ids:
        for day in range(days):
            base = (now - timedelta(days=days - day)).replace(hour=13, minute=0, second=0)
            for n in range(rnd.randint(1, per_day * 2)):
                at = base + timedelta(minutes=rnd.randint(-600, 600) + n)
                tasks.append(_seed_task(fake, rnd, rep, rnd.choice(whos), at, stamp=stamp()))
            for _ in range(rnd.randint(0, 2)):
                at = base + timedelta(minutes=rnd.randint(-300, 300))
                events.append(_seed_event(fake, rnd, rep, rnd.choice(whos), at, stamp=stamp()))
        for k in range(rnd.randint(2, 4)):
            created = now - timedelta(days=rnd.randint(1, days), hours=rnd.randint(0, 10))
            opp = fake.insert(
                "Opportunity",
                stamp=stamp(),
                Name=f"Deal {rep[-6:]}-{k}",
                OwnerId=rep,
                Amount=float(rnd.randrange(1000, 90000, 500)),
                StageName="Prospecting",
                CloseDate=(created + timedelta(days=30)).date(),
                IsClosed=False,
                IsWon=False,
                CreatedDate=created,
            )
            opps.append(opp)
            at = created
            for target in _stage_path(rnd):
                at = at + timedelta(hours=rnd.randint(2, 30))
                if at >= now:
                    break
                fake.change_stage(opp, target, at)
            fake.update(opp, stamp=stamp())
    for victim in rnd.sample(tasks, 3) + rnd.sample(events, 1) + rnd.sample(opps, 1):
        fake.delete(victim, stamp=stamp())
    for archived in rnd.sample(tasks, 4):
        fake.update(archived, stamp=stamp(), IsArchived=True)
    return SeededOrg(rep_ids, managers, contacts, opps, tasks, events)


def _bursty_stamps(start: datetime, rnd: Any) -> Iterator[datetime]:
    at = start.replace(microsecond=0)
    while True:
        for _ in range(rnd.randint(1, 6)):
            yield at
        at += timedelta(seconds=rnd.randint(1, 40), milliseconds=rnd.choice((0, 0, 250, 731)))


def _seed_task(
    fake: FakeSalesforce, rnd: Any, rep: str, who: str | None, at: datetime, *, stamp: datetime
) -> str:
    subtype, type_ = rnd.choice(
        [
            ("Call", "Call"),
            ("Call", None),
            ("Email", "Email"),
            ("Task", "LinkedIn"),
            ("LinkedIn", None),
            ("Task", "Call"),
            ("Task", "Other"),
            ("List Email", None),
        ]
    )
    closed = rnd.random() > 0.15
    completed = at if closed and rnd.random() > 0.2 else None
    is_call = subtype == "Call" or (subtype == "Task" and type_ == "Call")
    return fake.insert(
        "Task",
        stamp=stamp,
        OwnerId=rep,
        WhoId=who,
        Subject=f"{subtype} {type_}",
        TaskSubtype=subtype,
        Type=type_,
        CallType=rnd.choice(["Outbound", "Inbound", None, "Internal"]) if is_call else None,
        CallDurationInSeconds=rnd.choice([0, 30, 59, 60, 120, 299, 300, 900]) if is_call else None,
        Status="Completed" if closed else "Not Started",
        IsClosed=closed,
        ActivityDate=at.date(),
        CompletedDateTime=completed,
        CreatedDate=at - timedelta(minutes=5),
    )


def _seed_event(
    fake: FakeSalesforce, rnd: Any, rep: str, who: str | None, at: datetime, *, stamp: datetime
) -> str:
    all_day = rnd.random() < 0.1
    minutes = rnd.choice([15, 30, 45, 60])
    return fake.insert(
        "Event",
        stamp=stamp,
        OwnerId=rep,
        WhoId=who,
        Subject="Meeting",
        Type="Meeting",
        StartDateTime=None if all_day else at,
        ActivityDateTime=None if all_day else at,
        EndDateTime=None if all_day else at + timedelta(minutes=minutes),
        ActivityDate=at.date(),
        IsAllDayEvent=all_day,
        DurationInMinutes=1440 if all_day else minutes,
        CreatedDate=at - timedelta(days=1),
        **{OUTCOME_FIELD: rnd.choice([None, "Completed", "No Show", "Canceled", "Rescheduled"])},
    )


def _stage_path(rnd: Any) -> list[str]:
    paths = [
        ["Qualification", "Needs Analysis", "Proposal", "Negotiation", "Closed Won"],
        ["Qualification", "Proposal", "Closed Won"],
        ["Qualification", "Needs Analysis", "Closed Lost"],
        ["Qualification", "Prospecting", "Qualification"],
        ["Needs Analysis"],
        [],
    ]
    return list(rnd.choice(paths))
