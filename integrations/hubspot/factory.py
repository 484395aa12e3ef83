"""Build the HubSpot source from Settings; app.py calls this (config is imported only here,
so config.py may import ``integrations.hubspot.options`` without an import cycle)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from config import ConfigError, Settings
from integrations.hubspot.client import HubSpotClient
from integrations.hubspot.options import HubSpotOptions
from integrations.hubspot.source import HubSpotSource


def source_from_settings(
    settings: Settings,
    options: HubSpotOptions | None = None,
    *,
    clock: Callable[[], datetime] | None = None,
) -> HubSpotSource:
    """Build the HubSpot source from HUBSPOT_ACCESS_TOKEN, HUBSPOT_BASE_URL and the YAML."""
    token = settings.hubspot_access_token
    if token is None or not token.get_secret_value().strip():
        raise ConfigError(
            "HUBSPOT_ACCESS_TOKEN is not set; create a private app in HubSpot (scopes: "
            "crm.objects.contacts/deals read, sales-email-read, crm.objects.owners.read) "
            "and put its token in HUBSPOT_ACCESS_TOKEN"
        )
    opts = options or HubSpotOptions()
    client = HubSpotClient(
        token.get_secret_value().strip(), base_url=settings.hubspot_base_url, options=opts
    )
    if clock is None:
        return HubSpotSource(client, opts)
    return HubSpotSource(client, opts, now=clock)
