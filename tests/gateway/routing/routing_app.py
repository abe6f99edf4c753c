"""The routing app: one event type fanned out to filtered triggers, updates, waiting signals.

`parcel.sent` starts `Ship` always, `Heavy` when the parcel weighs over 20 kg, `Regional` when
the event's `region` extension is `eu`, and `Labelled` when the parcel has a label: its
workflow type's name is over the server's 1,000 characters, so Temporal refuses every start of
it as invalid (a refused delivery); and `Twin`, with Ship's workflow id, when labelled `twin`.
`parcel.delivered` signals `Ship`, waiting up to 3 s for its run. `quote.requested` is an
update-with-start of `Quote`, answered with a price.
"""

from __future__ import annotations

import contextlib
from datetime import timedelta

from pydantic import BaseModel
from temporalio import workflow

import sagaway


class Parcel(BaseModel):
    """What `parcel.sent` and `parcel.delivered` carry."""

    parcel_id: str
    weight: float = 1.0
    label: str = ""
    #: How long a `Ship` run waits for its delivery signal.
    wait_seconds: float = 0.0


class Shipped(BaseModel):
    """What a run returns: the parcel, and the delivery events its signals brought."""

    parcel_id: str
    delivered: list[str] = []


class QuoteRequest(BaseModel):
    """What `quote.requested` carries."""

    quote_id: str
    weight: float
    #: How long the handler takes to answer (the slow path).
    think_seconds: float = 0.0


class Price(BaseModel):
    """A quote's answer."""

    quote_id: str
    cents: int


@sagaway.starts("parcel.sent", workflow_id="ship-{parcel_id}", business_key="{parcel_id}")
@sagaway.signals(
    "parcel.delivered",
    handler="delivered",
    workflow_id="ship-{parcel_id}",
    wait_for_run=timedelta(seconds=3),
)
@workflow.defn
class Ship:
    """Every parcel: waits its `wait_seconds` for a delivery signal."""

    def __init__(self) -> None:
        """No delivery yet."""
        self._delivered: list[str] = []

    @workflow.run
    async def run(self, parcel: Parcel) -> Shipped:
        """Wait for the delivery (or the time out) and say which events came."""
        if parcel.wait_seconds:
            with contextlib.suppress(TimeoutError):  # not delivered in time: say so
                await workflow.wait_condition(
                    lambda: bool(self._delivered), timeout=timedelta(seconds=parcel.wait_seconds)
                )
        return Shipped(parcel_id=parcel.parcel_id, delivered=self._delivered)

    @workflow.signal
    def delivered(self, parcel: Parcel, event: sagaway.EventMeta) -> None:
        """The parcel arrived."""
        if event.id not in self._delivered:
            self._delivered.append(event.id)


async def _noted(parcel: Parcel) -> Shipped:
    return Shipped(parcel_id=parcel.parcel_id)


@sagaway.starts("parcel.sent", workflow_id="heavy-{parcel_id}", when="data.weight > 20")
@workflow.defn
class Heavy:
    """Parcels over 20 kg."""

    @workflow.run
    async def run(self, parcel: Parcel) -> Shipped:
        """Note it."""
        return await _noted(parcel)


@sagaway.starts("parcel.sent", workflow_id="eu-{parcel_id}", when="event.region == 'eu'")
@workflow.defn
class Regional:
    """Parcels sent with the extension `region: eu` (the filter fails on a parcel without)."""

    @workflow.run
    async def run(self, parcel: Parcel) -> Shipped:
        """Note it."""
        return await _noted(parcel)


@sagaway.starts("parcel.sent", workflow_id="label-{parcel_id}", when="data.label != ''")
@workflow.defn(name="Labelled" + "-" * 1000)
class Labelled:
    """Parcels with a label: a type name Temporal refuses."""

    @workflow.run
    async def run(self, parcel: Parcel) -> Shipped:
        """Note it."""
        return await _noted(parcel)


@sagaway.starts("parcel.sent", workflow_id="ship-{parcel_id}", when="data.label == 'twin'")
@workflow.defn
class Twin:
    """Ship's workflow id for parcels labelled `twin`: the two runs cannot both have it."""

    @workflow.run
    async def run(self, parcel: Parcel) -> Shipped:
        """Note it."""
        return await _noted(parcel)


@sagaway.starts("parcel.lost", workflow_id="lost-{parcel_id}", when="event.region == 'eu'")
@workflow.defn
class Lost:
    """A filter that fails to evaluate when the event has no `region`."""

    @workflow.run
    async def run(self, parcel: Parcel) -> Shipped:
        """Note it."""
        return await _noted(parcel)


@sagaway.updates("quote.requested", handler="quote", workflow_id="quote-{quote_id}", start=True)
@workflow.defn
class Quote:
    """A quote: started by its first request, answering each with a price."""

    def __init__(self) -> None:
        """No answer given yet."""
        self._answered = 0

    @workflow.run
    async def run(self, request: QuoteRequest) -> int:
        """Stay open until a request was answered, then end."""
        await workflow.wait_condition(lambda: self._answered > 0)
        return self._answered

    @workflow.update
    async def quote(self, request: QuoteRequest, event: sagaway.EventMeta) -> Price:
        """The price: 150 cents a kilogram."""
        if request.think_seconds:
            await workflow.sleep(timedelta(seconds=request.think_seconds))
        self._answered += 1
        return Price(quote_id=request.quote_id, cents=round(request.weight * 150))

    @quote.validator
    def check(self, request: QuoteRequest, event: sagaway.EventMeta) -> None:
        """A weight must be positive."""
        if request.weight <= 0:
            raise ValueError(f"a parcel weighs more than nothing, not {request.weight} kg")


app = sagaway.App(
    name="routing",
    workflows=[Ship, Heavy, Regional, Labelled, Twin, Lost, Quote],
    activities=[],
)
