"""Salesforce connector: REST query API through simple-salesforce, incremental by SystemModstamp.

Modules: ``client`` (SDK calls, paging, retries, login), ``mapper`` (pure JSON -> records),
``source`` (``SalesforceSource``), ``options`` (the YAML ``salesforce:`` section) and
``factory`` (from Settings, for app.py).
"""
