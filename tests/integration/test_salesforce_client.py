"""Salesforce logins, doctor checks, retries, limits and escaping, over HTTPS against the fake."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from domain.ports import SyncAborted, SyncPage
from domain.records import CrmObject, CrmUser
from integrations.salesforce.client import SalesforceCredentials, SalesforceError
from integrations.salesforce.source import SalesforceSource
from tests.fakes.salesforce import FakeSalesforce, running_fake, seed_org
from tests.fakes.soql import SoqlError, parse
from tests.integration.salesforce_support import NOW, Clock, options, session_source


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def fake(clock: Clock) -> Iterator[FakeSalesforce]:
    with running_fake(clock=clock, max_batch=7) as org:
        seed_org(org, now=NOW, reps=3, days=2)
        yield org


def source_with(
    fake: FakeSalesforce, clock: Clock, credentials: SalesforceCredentials, **overrides: object
) -> SalesforceSource:
    return SalesforceSource(
        credentials, options(**overrides), session=fake.session(), sleep=clock.sleep, clock=clock
    )


def users(source: SalesforceSource) -> list[CrmUser]:
    return [
        r
        for page in source.pages(CrmObject.USERS, None)
        for r in page.records
        if isinstance(r, CrmUser)
    ]


def password_credentials() -> SalesforceCredentials:
    return SalesforceCredentials(
        username="sync@acme.test", password="p&ss<w>rd", security_token="TOKEN123"
    )


def jwt_credentials(fake: FakeSalesforce, tmp_path: Path) -> SalesforceCredentials:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    path = tmp_path / "server.key"
    path.write_bytes(pem)
    public = key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    fake.add_jwt_app("3MVG9-consumer-key", public)
    return SalesforceCredentials(
        username="sync@acme.test", consumer_key="3MVG9-consumer-key", private_key_file=str(path)
    )


def test_doctor_reports_a_working_session_login(fake: FakeSalesforce, clock: Clock) -> None:
    check = session_source(fake, clock).check()
    assert check.configured
    assert check.ok
    assert check.extra["login_method"] == "session"
    assert check.extra["instance"] == f"127.0.0.1:{fake.port}"
    assert "remaining" in check.extra["daily_api_requests"]


def test_requests_ca_bundle_is_honoured_without_a_custom_session(
    fake: FakeSalesforce, clock: Clock, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", fake.ca_file)
    creds = SalesforceCredentials(instance_url=fake.url, access_token=fake.new_session())
    check = SalesforceSource(creds, options()).check()
    assert check.ok, check.detail


def test_the_source_app_py_builds_from_settings_works(
    fake: FakeSalesforce, monkeypatch: pytest.MonkeyPatch
) -> None:
    from config import Settings
    from integrations.salesforce.factory import source_from_settings

    monkeypatch.setenv("REQUESTS_CA_BUNDLE", fake.ca_file)
    settings = Settings(
        _env_file=None,
        salesforce_instance_url=fake.url,
        salesforce_access_token=fake.new_session(),
    )
    source = source_from_settings(settings, options())
    assert source.check().extra["login_method"] == "session"
    assert len(users(source)) == 6


def test_doctor_reports_missing_and_broken_configuration(
    fake: FakeSalesforce, clock: Clock
) -> None:
    missing = source_with(fake, clock, SalesforceCredentials()).check()
    assert not missing.configured
    assert "SALESFORCE_INSTANCE_URL" in missing.detail
    stale = source_with(
        fake, clock, SalesforceCredentials(instance_url=fake.url, access_token="00Dx!stale")
    ).check()
    assert stale.configured
    assert not stale.ok
    assert "session" in stale.detail
    assert "SALESFORCE_ACCESS_TOKEN" in stale.detail
    fake.add_password_user("sync@acme.test", "right", "TOKEN123")
    wrong = source_with(fake, clock, password_credentials()).check()
    assert not wrong.ok
    assert "INVALID_LOGIN" in wrong.detail
    assert wrong.extra["login_method"] == "password"


def test_username_password_login_goes_through_the_soap_login_host(
    fake: FakeSalesforce, clock: Clock
) -> None:
    fake.add_password_user("sync@acme.test", "p&ss<w>rd", "TOKEN123")
    source = source_with(fake, clock, password_credentials())
    check = source.check()
    assert check.ok, check.detail
    assert check.extra["login_method"] == "password"
    assert ("POST", f"/services/Soap/u/{source.options.api_version}", 200) in fake.log
    assert {u.email for u in users(source)} >= {"rep0@acme.test", "vera@acme.test"}


def test_jwt_bearer_login_signs_an_assertion_the_org_verifies(
    fake: FakeSalesforce, clock: Clock, tmp_path: Path
) -> None:
    source = source_with(fake, clock, jwt_credentials(fake, tmp_path))
    check = source.check()
    assert check.ok, check.detail
    assert check.extra["login_method"] == "jwt"
    assert ("POST", "/services/oauth2/token", 200) in fake.log
    assert len(users(source)) == 6


def test_jwt_with_an_unknown_key_is_a_clear_error(
    fake: FakeSalesforce, clock: Clock, tmp_path: Path
) -> None:
    creds = jwt_credentials(fake, tmp_path)
    fake.jwt_apps.clear()
    check = source_with(fake, clock, creds).check()
    assert not check.ok
    assert "invalid_grant" in check.detail


@pytest.mark.parametrize("method", ["password", "jwt"])
def test_an_expired_session_is_renewed_by_logging_in_again(
    fake: FakeSalesforce, clock: Clock, tmp_path: Path, method: str
) -> None:
    fake.add_password_user("sync@acme.test", "p&ss<w>rd", "TOKEN123")
    creds = password_credentials() if method == "password" else jwt_credentials(fake, tmp_path)
    source = source_with(fake, clock, creds)
    pages = source.pages(CrmObject.ACTIVITIES, None)
    first = next(pages)
    fake.inject("session", after=0)  # the session dies mid-pagination
    rest = list(pages)
    ids = [r.crm_id for p in [first, *rest] for r in p.records] + [
        i for p in [first, *rest] for i in p.deleted_ids
    ]
    assert (
        len(ids)
        == len(set(ids))
        == len(fake.rows("Task", include_deleted=True))
        + len(fake.rows("Event", include_deleted=True))
    )
    logins = [entry for entry in fake.log if entry[0] == "POST"]
    assert len(logins) == 2


def test_an_expired_access_token_is_a_clear_error(fake: FakeSalesforce, clock: Clock) -> None:
    source = session_source(fake, clock)
    pages = source.pages(CrmObject.ACTIVITIES, None)
    next(pages)
    fake.expire_sessions()
    with pytest.raises(SalesforceError, match="SALESFORCE_ACCESS_TOKEN"):
        next(pages)


def test_server_errors_and_dropped_connections_are_retried_with_backoff(
    fake: FakeSalesforce, clock: Clock
) -> None:
    source = session_source(fake, clock)
    fake.inject("503", after=1, times=2)
    fake.inject("reset", after=3, times=1)
    pages = list(source.pages(CrmObject.ACTIVITIES, None))
    assert clock.sleeps == [1.0, 2.0, 1.0]
    assert sum(p.api_calls for p in pages) == fake.api_calls
    total = sum(len(p.records) + len(p.deleted_ids) for p in pages)
    assert total == len(fake.rows("Task", include_deleted=True)) + len(
        fake.rows("Event", include_deleted=True)
    )


def test_retries_are_bounded(fake: FakeSalesforce, clock: Clock) -> None:
    source = session_source(fake, clock, max_retries=3)
    fake.inject("503", times=100)
    with pytest.raises(SalesforceError, match="after 4 attempts"):
        list(source.pages(CrmObject.USERS, None))
    assert fake.api_calls == 4
    assert clock.sleeps == [1.0, 2.0, 4.0]


def test_request_limit_exceeded_stops_without_retrying(fake: FakeSalesforce, clock: Clock) -> None:
    source = session_source(fake, clock)
    fake.inject("limit", times=100)
    with pytest.raises(SyncAborted, match="REQUEST_LIMIT_EXCEEDED"):
        list(source.pages(CrmObject.USERS, None))
    assert fake.api_calls == 1
    assert clock.sleeps == []


def test_the_sync_stops_cleanly_when_the_daily_allowance_is_nearly_spent(
    fake: FakeSalesforce, clock: Clock
) -> None:
    fake.daily_limit = 1000
    fake.api_used = 895
    source = session_source(fake, clock, api_usage_stop=0.9)
    pages = source.pages(CrmObject.ACTIVITIES, None)
    got: list[SyncPage] = []
    with pytest.raises(SyncAborted, match=r"900/1000 calls used"):
        got.extend(pages)
    assert len(got) == 5  # each page fetched was handed over (and so committed) first
    assert got[-1].cursor is not None
    resumed = session_source(fake, clock, api_usage_stop=0.99)
    rest = list(resumed.pages(CrmObject.ACTIVITIES, got[-1].cursor))
    seen = [r.crm_id for p in got + rest for r in p.records] + [
        i for p in got + rest for i in p.deleted_ids
    ]
    assert sorted(seen) == sorted(
        r["Id"]
        for s in ("Task", "Event")
        for r in fake.rows(s, include_deleted=True)  # nothing skipped, nothing twice
    )


def test_option_values_are_escaped_into_soql(fake: FakeSalesforce, clock: Clock) -> None:
    hostile = "Standard') OR (UserType != 'x"
    source = session_source(fake, clock, user_types=[hostile])
    assert users(source) == []
    sent = fake.queries[-1]
    assert "UserType IN ('Standard\\') OR (UserType != \\'x')" in sent


def test_the_fake_parses_soql_like_salesforce() -> None:
    query = parse(
        "SELECT Id, Who.Title FROM Task WHERE (A = 'x' OR B IN ('y', 'z')) AND NOT C = null "
        "AND D >= 2026-11-20T10:00:00Z AND E < 2026-11-21 ORDER BY SystemModstamp DESC, Id "
        "LIMIT 5"
    )
    assert query.fields == ["Id", "Who.Title"]
    assert query.limit == 5
    assert query.order[0].descending
    with pytest.raises(SoqlError, match="mixed without parentheses"):
        parse("SELECT Id FROM Task WHERE A = 1 AND B = 2 OR C = 3")
    with pytest.raises(SoqlError):
        parse("SELECT Id FROM Task WHERE Subject = 'unterminated")


def test_the_fake_rejects_unknown_fields_and_wrong_literal_types(
    fake: FakeSalesforce, clock: Clock
) -> None:
    session = fake.session()
    token = fake.new_session()
    url = f"{fake.url}/services/data/v59.0/query/"
    headers = {"Authorization": f"Bearer {token}"}
    bad_field = session.get(url, params={"q": "SELECT Nope FROM Task"}, headers=headers)
    assert bad_field.status_code == 400
    assert bad_field.json()[0]["errorCode"] == "INVALID_FIELD"
    bad_type = session.get(
        url,
        params={"q": "SELECT Id FROM Task WHERE SystemModstamp > '2026-01-01'"},
        headers=headers,
    )
    assert bad_type.status_code == 400
    assert "Sforce-Limit-Info" in bad_type.headers
    with pytest.raises(requests.exceptions.SSLError):
        requests.get(url, timeout=5)  # the system trust store does not know the test CA
