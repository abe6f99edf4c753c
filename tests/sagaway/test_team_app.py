"""A team's own app, outside this repository, served by the real gateway and worker processes.

The app is written into a temp directory as a newcomer would write it against the public API
(`import sagaway`): a room booking saga with a start and a signal trigger, two steps with
their undos, and a card that is declined for good. The gateway runs as the `sagaway` console
script with `--app` (so the module is found from its working directory, as uvicorn finds
`main:app`), the worker with `SAGAWAY_APP`. Its steps call no service: they are pure.
"""

from __future__ import annotations

import asyncio
import sys
import textwrap
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from sagaway.dev.embedded import free_port
from tests.helpers import cloud_event, new_database, post, wait_for_saga
from tests.observability.spans import wait_for_spans
from tests.stack import Stack

pytestmark = pytest.mark.slow

APP = "teamapp.app:app"

FILES = {
    "teamapp/__init__.py": '"""A team\'s booking app."""\n',
    "teamapp/steps.py": '''
        """Booking steps and undos: pure, so the test needs no service."""

        from __future__ import annotations

        from pydantic import BaseModel
        from temporalio import activity
        from temporalio.exceptions import ApplicationError


        class Room(BaseModel):
            """The room of a booking."""

            booking_id: str
            card: str = "ok"


        class BookingSteps:
            """Forward steps."""

            @activity.defn
            async def hold_room(self, room: Room) -> str:
                """Hold the room."""
                return f"held {room.booking_id}"

            @activity.defn
            async def charge_card(self, room: Room) -> str:
                """Charge the card; a declined card is refused for good."""
                if room.card == "declined":
                    raise ApplicationError("card declined", type="CardDeclined", non_retryable=True)
                return f"charged {room.booking_id}"


        class BookingUndos:
            """Undos, each harmless twice."""

            @activity.defn
            async def release_room(self, room: Room) -> str:
                """Release the room if held."""
                return f"released {room.booking_id}"

            @activity.defn
            async def refund_card(self, room: Room) -> str:
                """Refund the card if charged."""
                return f"refunded {room.booking_id}"
    ''',
    "teamapp/booking.py": '''
        """What `booking.requested` and `booking.cancelled` do."""

        from __future__ import annotations

        import contextlib
        from datetime import timedelta

        from pydantic import BaseModel, Field
        from temporalio import workflow

        import sagaway
        from teamapp.steps import BookingSteps, BookingUndos, Room


        class BookingRequested(BaseModel):
            """Data of `booking.requested`."""

            booking_id: str = Field(min_length=1, max_length=64)
            card: str = "ok"
            hold_seconds: int = Field(0, ge=0, le=600)


        class BookingCancelled(BaseModel):
            """Data of `booking.cancelled`."""

            booking_id: str


        class BookingResult(BaseModel):
            """How the booking ended."""

            saga: sagaway.SagaState


        @sagaway.starts("booking.requested", workflow_id="booking-{booking_id}")
        @sagaway.signals("booking.cancelled", handler="cancel", workflow_id="booking-{booking_id}")
        @workflow.defn
        class Booking(sagaway.SagaWorkflow):
            """Hold the room, charge the card, wait out the hold; undo newest first."""

            def __init__(self) -> None:
                super().__init__()
                self.cancelled = False

            @workflow.run
            async def run(self, request: BookingRequested) -> BookingResult:
                room = Room(booking_id=request.booking_id, card=request.card)
                async with self.saga:
                    self.saga.add_compensation("release room", BookingUndos.release_room, room)
                    await self.saga.run("hold room", BookingSteps.hold_room, room)
                    self.saga.add_compensation("refund card", BookingUndos.refund_card, room)
                    await self.saga.run("charge card", BookingSteps.charge_card, room)
                    with contextlib.suppress(TimeoutError):
                        await workflow.wait_condition(
                            lambda: self.cancelled, timeout=timedelta(seconds=request.hold_seconds)
                        )
                    if self.cancelled:
                        raise sagaway.SagaCancelled("the guest cancelled")
                return BookingResult(saga=self.saga.state)

            @workflow.signal
            def cancel(self, data: BookingCancelled, event: sagaway.EventMeta) -> None:
                self.cancelled = True
    ''',
    "teamapp/app.py": '''
        """The booking app's manifest."""

        import sagaway
        from teamapp.booking import Booking
        from teamapp.steps import BookingSteps, BookingUndos

        app = sagaway.App(
            name="bookings", workflows=[Booking], activities=[BookingSteps(), BookingUndos()]
        )
    ''',
}


def write_app(root: Path) -> Path:
    """The team's app, in a folder of its own outside the repository."""
    for name, text in FILES.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text).lstrip())
    return root


@pytest.fixture(scope="module")
def team_stack(
    database_url: str, temporal_address: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Stack]:
    """The team app's gateway (`sagaway gateway --app`) and worker (`SAGAWAY_APP`)."""
    root = write_app(tmp_path_factory.mktemp("team"))
    stack = Stack(
        asyncio.run(new_database(database_url, "team")),
        temporal_address,
        root,
        cwd=root,
        launcher=[str(Path(sys.executable).parent / "sagaway")],
        part_args={"gateway": ["--app", APP]},
        extra_env={
            "SAGAWAY_TRACE_DIR": str(root / "spans"),
            "SAGAWAY_WORKER_METRICS_PORT": str(free_port()),
        },
    )
    stack.start("gateway")
    stack.extra_env["SAGAWAY_APP"] = APP  # the worker finds the app by the setting alone
    stack.start("worker")
    yield stack
    stack.stop()


@pytest.fixture(scope="module")
async def team_gateway(team_stack: Stack) -> AsyncIterator[httpx.AsyncClient]:
    """An HTTP client of the team app's gateway (authentication off)."""
    async with httpx.AsyncClient(base_url=team_stack.gateway_url, timeout=30) as client:
        yield client


def booking(event_type: str, **data: Any) -> dict[str, Any]:
    """A structured CloudEvent of the team's app."""
    return cloud_event(event_type, "/front-desk", **data)


def steps(run: dict[str, Any]) -> list[tuple[str, str, str]]:
    """The saga's steps and undos as they ran: (name, kind, status)."""
    return [(s["name"], s["kind"], s["status"]) for s in run["saga"]["steps"]]


async def test_a_booking_completes(team_gateway: httpx.AsyncClient) -> None:
    answer = await post(team_gateway, booking("booking.requested", booking_id=uuid.uuid4().hex))
    assert answer.status_code == 202, answer.text
    assert answer.json()["status"] == "started"
    run = await wait_for_saga(team_gateway, answer.json()["workflow_id"])
    assert (run["workflow_type"], run["saga"]["status"]) == ("Booking", "completed")
    assert steps(run) == [("hold room", "step", "completed"), ("charge card", "step", "completed")]


async def test_a_declined_card_undoes_the_steps_newest_first(
    team_gateway: httpx.AsyncClient,
) -> None:
    event = booking("booking.requested", booking_id=uuid.uuid4().hex, card="declined")
    answer = await post(team_gateway, event)
    assert answer.status_code == 202, answer.text
    run = await wait_for_saga(team_gateway, answer.json()["workflow_id"])
    assert run["saga"]["status"] == "compensated"
    assert run["saga"]["failure"] == "CardDeclined: card declined"
    assert steps(run) == [
        ("hold room", "step", "completed"),
        ("charge card", "step", "failed"),
        ("refund card", "undo", "completed"),
        ("release room", "undo", "completed"),
    ]


async def test_a_cancel_signal_undoes_a_held_booking(team_gateway: httpx.AsyncClient) -> None:
    booking_id = uuid.uuid4().hex
    started = await post(
        team_gateway, booking("booking.requested", booking_id=booking_id, hold_seconds=300)
    )
    assert started.status_code == 202, started.text
    signaled = await post(team_gateway, booking("booking.cancelled", booking_id=booking_id))
    assert signaled.status_code == 202, signaled.text
    assert signaled.json()["status"] == "signaled"
    run = await wait_for_saga(team_gateway, f"booking-{booking_id}")
    assert (run["saga"]["status"], run["saga"]["failure"]) == (
        "compensated",
        "the guest cancelled",
    )
    assert [name for name, kind, _ in steps(run) if kind == "undo"] == [
        "refund card",
        "release room",
    ]


async def test_the_reference_apps_events_are_not_routed_here(
    team_gateway: httpx.AsyncClient,
) -> None:
    answer = await post(team_gateway, booking("order.placed", order_id="o-1"))
    assert answer.status_code == 422, answer.text
    assert answer.json()["type"].endswith("/no-route")
    schemas = (await team_gateway.get("/schemas")).json()
    assert "booking.requested" in schemas and "order.placed" not in schemas


async def test_the_teams_undos_are_labelled_undos_in_metrics_and_spans(
    team_stack: Stack, team_gateway: httpx.AsyncClient
) -> None:
    event = booking("booking.requested", booking_id=uuid.uuid4().hex, card="declined")
    answer = await post(team_gateway, event)
    await wait_for_saga(team_gateway, answer.json()["workflow_id"])
    port = team_stack.extra_env["SAGAWAY_WORKER_METRICS_PORT"]
    async with httpx.AsyncClient(timeout=10) as http:
        metrics = (await http.get(f"http://127.0.0.1:{port}/metrics")).text
    kinds = {
        sample.labels["step"]: sample.labels["kind"]
        for family in text_string_to_metric_families(metrics)
        for sample in family.samples
        if sample.name == "sagaway_saga_step_duration_count"
    }
    assert {step: kinds.get(step) for step in ("release_room", "refund_card")} == {
        "release_room": "undo",
        "refund_card": "undo",
    }
    assert (kinds.get("hold_room"), kinds.get("charge_card")) == ("step", "step")
    spans = await wait_for_spans(
        Path(team_stack.extra_env["SAGAWAY_TRACE_DIR"]),
        lambda found: any(s.name == "RunActivity:release_room" for s in found),
    )
    labelled = {
        s.name.removeprefix("RunActivity:"): s.attributes.get("sagaway.saga_step_kind")
        for s in spans
        if s.name.startswith("RunActivity:")
    }
    assert labelled["release_room"] == labelled["refund_card"] == "undo"
    assert labelled["charge_card"] == "step"
