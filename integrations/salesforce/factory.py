"""Build the Salesforce source from Settings; app.py calls this (config is imported only here,
so config.py may import ``integrations.salesforce.options`` without an import cycle)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from config import Settings
from integrations.salesforce.client import SalesforceCredentials
from integrations.salesforce.options import SalesforceOptions
from integrations.salesforce.source import SalesforceSource


def credentials_from_settings(settings: Settings) -> SalesforceCredentials:
    """Read the SALESFORCE_* settings into plain login material (secrets unwrapped here only)."""

    def secret(value: object) -> str | None:
        reveal = getattr(value, "get_secret_value", None)
        return reveal() if reveal is not None else None

    key_file = settings.salesforce_private_key_file
    return SalesforceCredentials(
        instance_url=settings.salesforce_instance_url,
        access_token=secret(settings.salesforce_access_token),
        username=settings.salesforce_username,
        password=secret(settings.salesforce_password),
        security_token=secret(settings.salesforce_security_token),
        consumer_key=settings.salesforce_consumer_key,
        private_key_file=str(key_file) if key_file else None,
        domain=settings.salesforce_domain,
    )


def source_from_settings(
    settings: Settings,
    options: SalesforceOptions | None = None,
    *,
    clock: Callable[[], datetime] | None = None,
) -> SalesforceSource:
    """Build the Salesforce source app.py wires in (REQUESTS_CA_BUNDLE is honoured by requests)."""
    if clock is None:
        return SalesforceSource(credentials_from_settings(settings), options)
    return SalesforceSource(credentials_from_settings(settings), options, clock=clock)
