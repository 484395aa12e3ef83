"""HubSpotSource: owners, deal pipelines, deals, deal stage history and engagements as pages.

Cursors are JSON: one keyset position per searched object type plus the latest archive time
seen, so a rerun resumes after the last committed page of each type.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator, Sequence
from datetime import UTC, datetime
from typing import Any

from domain.ports import SourceCheck, SyncAborted, SyncPage
from domain.records import CrmObject, CrmRecord, PipelineStageRecord
from integrations.hubspot.client import (
    HubSpotApiError,
    HubSpotAuthError,
    HubSpotClient,
    Position,
)
from integrations.hubspot.mapper import (
    DEAL_PROPERTIES,
    ENGAGEMENT_PROPERTIES,
    association_targets,
    index_stages,
    join_titles,
    map_deal,
    map_engagement,
    map_owners,
    map_pipeline,
    map_stage_history,
)
from integrations.hubspot.options import HubSpotOptions

SOURCE_NAME = "hubspot"
CONTACT_MODIFIED = "lastmodifieddate"
OBJECTS = (
    CrmObject.USERS,
    CrmObject.STAGES,
    CrmObject.OPPORTUNITIES,
    CrmObject.STAGE_CHANGES,
    CrmObject.ACTIVITIES,
)
State = dict[str, Any]


def _utcnow() -> datetime:
    return datetime.now(UTC)


class HubSpotSource:
    """Implements the CrmSource port for HubSpot CRM v3."""

    name = SOURCE_NAME

    def __init__(
        self,
        client: HubSpotClient,
        options: HubSpotOptions | None = None,
        *,
        now: Callable[[], datetime] = _utcnow,
    ) -> None:
        self.client = client
        self.options = options or client.options
        self.now = now
        self._stages: dict[tuple[str, str], PipelineStageRecord] | None = None
        self._titles: dict[str, str | None] = {}
        self._calls_seen = 0

    def objects(self) -> Sequence[CrmObject]:
        """Return the objects this source syncs, owners first."""
        return OBJECTS

    def pages(
        self, obj: CrmObject, cursor: str | None, *, full: bool = False
    ) -> Iterator[SyncPage]:
        """Yield pages of ``obj`` changed since ``cursor`` (everything when ``full``)."""
        state: State = {} if full or not cursor else json.loads(cursor)
        self._calls_seen = self.client.stats.total
        if obj is CrmObject.USERS:
            yield self._users()
        elif obj is CrmObject.STAGES:
            yield self._pipeline_stages()
        elif obj is CrmObject.OPPORTUNITIES:
            yield from self._deals(state)
        elif obj is CrmObject.STAGE_CHANGES:
            yield from self._stage_changes(state)
        elif obj is CrmObject.ACTIVITIES:
            yield from self._engagements(state)

    def check(self) -> SourceCheck:
        """Read one page of owners to prove the token and the base URL work."""
        try:
            owners = self.client.owners_page(limit=1)
        except HubSpotAuthError as exc:
            return SourceCheck(SOURCE_NAME, configured=True, ok=False, detail=str(exc))
        except (HubSpotApiError, SyncAborted) as exc:
            return SourceCheck(
                SOURCE_NAME,
                configured=True,
                ok=False,
                detail=f"HubSpot is not answering as expected: {exc}. Check HUBSPOT_BASE_URL.",
            )
        return SourceCheck(
            SOURCE_NAME,
            configured=True,
            ok=True,
            detail="HubSpot token accepted",
            extra={"owners_visible": "yes" if owners else "none"},
        )

    # objects -----------------------------------------------------------------------------------

    def _page(
        self,
        obj: CrmObject,
        records: Sequence[CrmRecord] = (),
        *,
        deleted: Sequence[str] = (),
        state: State | None = None,
    ) -> SyncPage:
        total = self.client.stats.total
        calls, self._calls_seen = total - self._calls_seen, total
        cursor = json.dumps(state, sort_keys=True) if state is not None else None
        return SyncPage(obj, tuple(records), tuple(deleted), cursor, calls)

    def _users(self) -> SyncPage:
        active = self.client.owners()
        archived = self.client.owners(archived=True)
        users = map_owners(active, self.options)
        active_ids = {u.crm_id for u in users}
        gone = sorted({str(o["id"]) for o in archived} - active_ids)
        return self._page(CrmObject.USERS, users, deleted=gone)

    def _stage_index(self) -> dict[tuple[str, str], PipelineStageRecord]:
        if self._stages is None:
            stages = [s for p in self.client.pipelines("deals") for s in map_pipeline(p)]
            self._stages = index_stages(stages)
        return self._stages

    def _pipeline_stages(self) -> SyncPage:
        self._stages = None
        return self._page(CrmObject.STAGES, list(self._stage_index().values()))

    def _until_ms(self) -> int:
        return int(self.now().timestamp() * 1000) - self.options.index_lag_s * 1000

    def _deals(self, state: State) -> Iterator[SyncPage]:
        stages = self._stage_index()
        start = Position.from_json(state.get("deals"))
        for rows, pos in self.client.changed(
            "deals", DEAL_PROPERTIES, start, until_ms=self._until_ms()
        ):
            state["deals"] = pos.to_json()
            yield self._page(
                CrmObject.OPPORTUNITIES, [map_deal(r, stages) for r in rows], state=state
            )
        deleted: list[str] = []
        state["archived"] = self._archived("deals", state.get("archived"), deleted)
        yield self._page(CrmObject.OPPORTUNITIES, deleted=deleted, state=state)

    def _stage_changes(self, state: State) -> Iterator[SyncPage]:
        start = Position.from_json(state.get("deals"))
        for rows, pos in self.client.changed("deals", [], start, until_ms=self._until_ms()):
            ids = [str(r["id"]) for r in rows]
            deals = self.client.batch_read(
                "deals", ids, properties=["dealstage"], with_history=["dealstage"]
            )
            changes = [c for d in deals for c in map_stage_history(d)]
            state["deals"] = pos.to_json()
            yield self._page(CrmObject.STAGE_CHANGES, changes, state=state)

    def _engagements(self, state: State) -> Iterator[SyncPage]:
        self._titles.clear()
        until = self._until_ms()
        # Engagements read from here on carry titles as of now: contact changes before
        # this instant are already in them, so the title refresh starts here.
        state.setdefault("contacts", Position(until).to_json())
        for obj in self.options.engagement_objects:
            start = Position.from_json(state.get(obj))
            for rows, pos in self.client.changed(
                obj, ENGAGEMENT_PROPERTIES[obj], start, until_ms=until
            ):
                titles = self._contact_titles(obj, [str(r["id"]) for r in rows])
                records = [
                    map_engagement(obj, r, self.options, titles.get(str(r["id"]))) for r in rows
                ]
                state[obj] = pos.to_json()
                yield self._page(CrmObject.ACTIVITIES, records, state=state)
        if self.options.refresh_titles:
            yield from self._refresh_titles(state, until)
        archived: dict[str, Any] = dict(state.get("archived") or {})
        for obj in self.options.engagement_objects:
            deleted: list[str] = []
            archived[obj] = self._archived(obj, archived.get(obj), deleted)
            state["archived"] = archived
            yield self._page(CrmObject.ACTIVITIES, deleted=deleted, state=state)

    def _archived(self, obj: str, mark: Any, deleted: list[str]) -> dict[str, Any]:
        """Collect ids archived since ``mark`` into ``deleted``; return the new mark.

        The mark keeps the ids archived at its instant, so none is reported twice.
        """
        mark = mark if isinstance(mark, dict) else {"ms": int(mark or 0), "ids": []}
        ids, latest, at_latest = self.client.archived(
            obj, since_ms=int(mark["ms"]), known=mark.get("ids") or []
        )
        deleted.extend(ids)
        return {"ms": latest, "ids": at_latest}

    def _refresh_titles(self, state: State, until: int) -> Iterator[SyncPage]:
        """Re-read the calls and meetings of contacts changed since the last run."""
        start = Position.from_json(state.get("contacts"))
        for rows, pos in self.client.changed(
            "contacts", ["jobtitle"], start, until_ms=until, modified=CONTACT_MODIFIED
        ):
            contact_ids = [str(r["id"]) for r in rows]
            for row in rows:
                self._titles[str(row["id"])] = (row.get("properties") or {}).get("jobtitle")
            records: list[CrmRecord] = []
            for obj in self.options.contact_title_objects:
                links = association_targets(
                    {"results": self.client.associations("contacts", obj, contact_ids)}
                )
                ids = sorted({e for es in links.values() for e in es}, key=int)
                if not ids:
                    continue
                raws = self.client.batch_read(obj, ids, properties=ENGAGEMENT_PROPERTIES[obj])
                titles = self._contact_titles(obj, [str(r["id"]) for r in raws])
                records.extend(
                    map_engagement(obj, r, self.options, titles.get(str(r["id"]))) for r in raws
                )
            state["contacts"] = pos.to_json()
            yield self._page(CrmObject.ACTIVITIES, records, state=state)

    def _contact_titles(self, obj: str, ids: Sequence[str]) -> dict[str, str | None]:
        """Return engagement id -> joined job titles of its associated contacts."""
        if obj not in self.options.contact_title_objects or not ids:
            return {}
        targets = association_targets({"results": self.client.associations(obj, "contacts", ids)})
        wanted = sorted({c for cs in targets.values() for c in cs} - set(self._titles))
        if wanted:
            for contact in self.client.batch_read("contacts", wanted, properties=["jobtitle"]):
                props = contact.get("properties") or {}
                self._titles[str(contact["id"])] = props.get("jobtitle")
            for missing in set(wanted) - set(self._titles):
                self._titles[missing] = None
        return {
            eid: join_titles(self._titles.get(c) for c in contacts)
            for eid, contacts in targets.items()
        }


def make_hubspot_source(
    access_token: str,
    *,
    base_url: str | None = None,
    options: HubSpotOptions | None = None,
    now: Callable[[], datetime] = _utcnow,
) -> HubSpotSource:
    """Build a HubSpot source from settings (HUBSPOT_ACCESS_TOKEN, HUBSPOT_BASE_URL, YAML)."""
    opts = options or HubSpotOptions()
    client = HubSpotClient(
        access_token, base_url=base_url or "https://api.hubapi.com", options=opts
    )
    return HubSpotSource(client, opts, now=now)
