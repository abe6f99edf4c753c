"""The HTTP answers about events: bodies and links made from what intake committed."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any
from urllib.parse import quote

from fastapi.responses import Response

from gateway.api.models import (
    EventAccepted,
    EventUpdated,
    RunLinks,
    TriggerDelivery,
    UpdateLinks,
)
from gateway.inbox.rows import InboxRow
from gateway.intake.ingest import Accepted
from sagaway.ids import event_path, run_path
from sagaway.observability.correlation import HTTP_HEADER

#: The statuses of a delivery that is a workflow update (with an answer to poll).
UPDATES = ("updating", "updated")


class Answers:
    """Makes the answers of one gateway, whose runs the Temporal UI at `ui_url` shows."""

    def __init__(self, ui_url: str, namespace: str) -> None:
        """Link runs to the Temporal UI at `ui_url`, in `namespace`."""
        self._ui = f"{ui_url}/namespaces/{quote(namespace, safe='')}/workflows/"

    def links(self, workflow_id: str, run_id: str | None) -> RunLinks:
        """Links to a run in this gateway and in the Temporal UI."""
        ui = self._ui + quote(workflow_id, safe="")
        if run_id:
            ui += f"/{run_id}/history"
        return RunLinks(run=run_path(workflow_id), temporal_ui=ui)

    def update_links(self, row: InboxRow) -> UpdateLinks:
        """Links to the run an update reached and to the update's answer."""
        links = self.links(row.workflow_id, row.run_id)
        answer = f"{event_path(row.source, row.id)}/result"
        return UpdateLinks(**links.model_dump(), result=answer)

    def delivery(self, row: InboxRow, links: RunLinks | None = None) -> TriggerDelivery:
        """What became of one delivery of an event (`links`: its run's, when made already)."""
        return TriggerDelivery.model_construct(  # from the inbox's own values: nothing to check
            workflow=row.trigger.split("/", 1)[0] if row.trigger else None,
            workflow_id=row.workflow_id,
            status=row.status,
            reason=row.reason,
            run_id=row.run_id,
            links=links or self.links(row.workflow_id, row.run_id),
        )

    def body(
        self,
        rows: Sequence[InboxRow],
        *,
        duplicate: bool = False,
        answered: bool = False,
        result: Any = None,
    ) -> EventAccepted:
        """The answer's body for a recorded event: its first delivery's, and every delivery.

        An update's answer (`answered`) comes with its `result`.
        """
        row = rows[0]
        fields: dict[str, Any] = dict(
            id=row.id,
            source=row.source,
            type=row.type,
            status=row.status,
            reason=row.reason,
            workflow_id=row.workflow_id,
            run_id=row.run_id,
            correlation_id=row.correlation_id,
            duplicate=duplicate,
        )
        links = self.links(row.workflow_id, row.run_id)
        fields["triggers"] = [self.delivery(row, links), *map(self.delivery, rows[1:])]
        if row.status in UPDATES:
            return EventUpdated(
                **fields, links=self.update_links(row), result=result if answered else None
            )
        return EventAccepted(**fields, links=links)

    def status(self, accepted: Accepted) -> int:
        """202 for a new event, 200 for a duplicate or an update's answer."""
        return 200 if accepted.duplicate or accepted.answered else 202

    def accepted_body(self, accepted: Accepted) -> EventAccepted:
        """The body of an accepted event."""
        return self.body(
            accepted.rows,
            duplicate=accepted.duplicate,
            answered=accepted.answered,
            result=accepted.result,
        )

    def item(self, accepted: Accepted) -> dict[str, object]:
        """One batch item: the status and the body."""
        body = self.accepted_body(accepted)
        return {"status": self.status(accepted), "body": body.model_dump(mode="json")}

    def response(self, accepted: Accepted) -> Response:
        """The answer to a single event: its body, the correlation id, deprecation headers."""
        body = self.accepted_body(accepted)
        headers = {HTTP_HEADER: body.correlation_id}
        if accepted.version is not None:
            # An old schema version is accepted (and upcast), with headers that say it is going.
            headers.update(accepted.version.deprecation_headers())
        # Serialized by pydantic-core straight to bytes, not through a dict and `json.dumps`.
        return Response(
            body.model_dump_json(),
            status_code=self.status(accepted),
            headers=headers,
            media_type="application/json",
        )
