"""The HTTP answers about events: bodies and links made from what intake committed."""

from __future__ import annotations

from urllib.parse import quote

from fastapi.responses import Response

from gateway.api.models import EventAccepted, RunLinks
from gateway.inbox.rows import InboxRow
from gateway.intake.ingest import Accepted
from sagaway.ids import run_path
from sagaway.observability.correlation import HTTP_HEADER


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

    def body(self, row: InboxRow, *, duplicate: bool = False) -> EventAccepted:
        """The answer's body for a recorded event."""
        return EventAccepted(
            id=row.id,
            source=row.source,
            type=row.type,
            status=row.status,
            reason=row.reason,
            workflow_id=row.workflow_id,
            run_id=row.run_id,
            correlation_id=row.correlation_id,
            links=self.links(row.workflow_id, row.run_id),
            duplicate=duplicate,
        )

    def status(self, accepted: Accepted) -> int:
        """202 for a new event, 200 for a duplicate."""
        return 200 if accepted.duplicate else 202

    def item(self, accepted: Accepted) -> dict[str, object]:
        """One batch item: the status and the body."""
        body = self.body(accepted.row, duplicate=accepted.duplicate)
        return {"status": self.status(accepted), "body": body.model_dump(mode="json")}

    def response(self, accepted: Accepted) -> Response:
        """The answer to a single event: its body, the correlation id, deprecation headers."""
        body = self.body(accepted.row, duplicate=accepted.duplicate)
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
