"""HubSpot CRM v3 connector: owners, deals with stage history, and engagements."""
