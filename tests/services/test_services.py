"""The demo services over real HTTP on a real PostgreSQL: effects, refusals and idempotency."""

from __future__ import annotations

import asyncio
import logging
import socket
import uuid
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
import uvicorn

from services.app import create_app, serve
from services.problems import PROBLEM_MEDIA_TYPE, PROBLEM_TYPE_PREFIX

ADDRESS = {
    "name": "Ada Lovelace",
    "line1": "12 St James's Square",
    "city": "London",
    "postal_code": "SW1Y 4JH",
    "country": "GB",
}


def unique(prefix: str) -> str:
    """A name no other test uses, since the database is shared by the session."""
    return f"{prefix}-{uuid.uuid4().hex[:12]}"


async def wait_healthy(base_url: str) -> None:
    """Poll /healthz until the app answers (startup includes applying the schema)."""
    async with httpx.AsyncClient(base_url=base_url) as client:
        for _ in range(200):
            try:
                if (await client.get("/healthz")).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            await asyncio.sleep(0.05)
    raise TimeoutError(f"{base_url} never became healthy")


@pytest.fixture(scope="module")
async def base_url(database_url: str) -> AsyncIterator[str]:
    """URL of the services app served by uvicorn on a free port for this module."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    server = uvicorn.Server(
        uvicorn.Config(create_app(database_url), log_level="warning", lifespan="on")
    )
    task = asyncio.create_task(server.serve(sockets=[sock]))
    url = f"http://127.0.0.1:{port}"
    try:
        await wait_healthy(url)
        yield url
    finally:
        server.should_exit = True
        await task
        sock.close()


@pytest.fixture
async def client(base_url: str) -> AsyncIterator[httpx.AsyncClient]:
    """An HTTP client of the services app."""
    async with httpx.AsyncClient(base_url=base_url, timeout=30) as http:
        yield http


async def post(
    client: httpx.AsyncClient, path: str, body: dict[str, Any] | None = None, *, key: str
) -> httpx.Response:
    """POST with an Idempotency-Key."""
    return await client.post(path, json=body, headers={"Idempotency-Key": key})


async def restock(client: httpx.AsyncClient, sku: str, quantity: int) -> None:
    """Put `quantity` units of `sku` in stock."""
    response = await post(
        client, f"/inventory/{sku}/restock", {"quantity": quantity}, key=unique("k")
    )
    assert response.status_code == 200, response.text


async def stock(client: httpx.AsyncClient, sku: str) -> dict[str, Any]:
    """The stock record of `sku`."""
    response = await client.get(f"/inventory/{sku}")
    assert response.status_code == 200
    body: dict[str, Any] = response.json()
    return body


async def payment(client: httpx.AsyncClient, order_id: str) -> dict[str, Any]:
    """The payment summary of an order."""
    response = await client.get(f"/payments/{order_id}")
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def charge_body(order_id: str, token: str = "tok_visa", amount: int = 4200) -> dict[str, Any]:
    """A charge request."""
    return {"order_id": order_id, "amount_cents": amount, "payment_token": token}


def assert_problem(response: httpx.Response, status: int, slug: str) -> None:
    """`response` is an RFC 9457 problem with this status and type."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith(PROBLEM_MEDIA_TYPE)
    body = response.json()
    assert body["type"] == PROBLEM_TYPE_PREFIX + slug
    assert body["status"] == status
    assert body["title"]
    assert body["detail"]


async def test_healthz_is_ok(client: httpx.AsyncClient) -> None:
    response = await client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


async def test_unknown_sku_has_no_stock(client: httpx.AsyncClient) -> None:
    sku = unique("sku")
    assert await stock(client, sku) == {"sku": sku, "available": 0, "reserved": 0}


async def test_restock_reserve_release_restores_stock(client: httpx.AsyncClient) -> None:
    sku_a, sku_b, order = unique("sku"), unique("sku"), unique("order")
    await restock(client, sku_a, 10)
    await restock(client, sku_b, 3)

    items = [{"sku": sku_a, "quantity": 4}, {"sku": sku_b, "quantity": 3}]
    reserved = await post(
        client, "/inventory/reservations", {"order_id": order, "items": items}, key=unique("k")
    )
    assert reserved.status_code == 201, reserved.text
    assert reserved.json()["order_id"] == order
    assert sorted(reserved.json()["items"], key=lambda item: item["quantity"]) == [
        {"sku": sku_b, "quantity": 3},
        {"sku": sku_a, "quantity": 4},
    ]
    assert await stock(client, sku_a) == {"sku": sku_a, "available": 6, "reserved": 4}
    assert await stock(client, sku_b) == {"sku": sku_b, "available": 0, "reserved": 3}

    released = await post(client, f"/inventory/reservations/{order}/release", key=unique("k"))
    assert released.status_code == 200
    assert released.json() == {"order_id": order, "released": 2}
    assert await stock(client, sku_a) == {"sku": sku_a, "available": 10, "reserved": 0}
    assert await stock(client, sku_b) == {"sku": sku_b, "available": 3, "reserved": 0}

    again = await post(client, f"/inventory/reservations/{order}/release", key=unique("k"))
    assert again.json() == {"order_id": order, "released": 0}
    assert await stock(client, sku_a) == {"sku": sku_a, "available": 10, "reserved": 0}


async def test_restock_with_same_key_adds_once(client: httpx.AsyncClient) -> None:
    sku, key = unique("sku"), unique("k")
    for _ in range(3):
        response = await post(client, f"/inventory/{sku}/restock", {"quantity": 5}, key=key)
        assert response.json() == {"sku": sku, "available": 5, "reserved": 0}
    assert await stock(client, sku) == {"sku": sku, "available": 5, "reserved": 0}


async def test_out_of_stock_reservation_is_409_and_changes_nothing(
    client: httpx.AsyncClient,
) -> None:
    plenty, scarce, order = unique("sku"), unique("sku"), unique("order")
    await restock(client, plenty, 10)
    await restock(client, scarce, 1)
    items = [{"sku": plenty, "quantity": 2}, {"sku": scarce, "quantity": 2}]
    key = unique("k")

    refused = await post(
        client, "/inventory/reservations", {"order_id": order, "items": items}, key=key
    )
    assert_problem(refused, 409, "out-of-stock")
    assert scarce in refused.json()["detail"]
    assert await stock(client, plenty) == {"sku": plenty, "available": 10, "reserved": 0}
    assert await stock(client, scarce) == {"sku": scarce, "available": 1, "reserved": 0}

    # The refusal is the key's answer for good, even once stock arrives.
    await restock(client, scarce, 5)
    replay = await post(
        client, "/inventory/reservations", {"order_id": order, "items": items}, key=key
    )
    assert replay.status_code == 409
    assert replay.json() == refused.json()
    released = await post(client, f"/inventory/reservations/{order}/release", key=unique("k"))
    assert released.json() == {"order_id": order, "released": 0}


async def test_concurrent_reservations_never_oversell(client: httpx.AsyncClient) -> None:
    sku_a, sku_b = sorted([unique("sku"), unique("sku")])
    await restock(client, sku_a, 5)
    await restock(client, sku_b, 5)

    async def reserve(index: int) -> httpx.Response:
        # Alternate item order, so only SKU-ordered locking keeps this deadlock-free.
        items = [{"sku": sku_a, "quantity": 1}, {"sku": sku_b, "quantity": 1}]
        if index % 2:
            items.reverse()
        body = {"order_id": unique("order"), "items": items}
        return await post(client, "/inventory/reservations", body, key=unique("k"))

    responses = await asyncio.gather(*(reserve(i) for i in range(8)))
    statuses = sorted(response.status_code for response in responses)
    assert statuses == [201] * 5 + [409] * 3
    assert await stock(client, sku_a) == {"sku": sku_a, "available": 0, "reserved": 5}
    assert await stock(client, sku_b) == {"sku": sku_b, "available": 0, "reserved": 5}


async def test_reserving_a_reserved_order_under_another_key_returns_it(
    client: httpx.AsyncClient,
) -> None:
    sku, order = unique("sku"), unique("order")
    await restock(client, sku, 5)
    body = {"order_id": order, "items": [{"sku": sku, "quantity": 2}]}
    first = await post(client, "/inventory/reservations", body, key=unique("k"))
    second = await post(client, "/inventory/reservations", body, key=unique("k"))
    assert first.status_code == 201
    assert second.status_code == 200
    assert second.json() == first.json()
    assert await stock(client, sku) == {"sku": sku, "available": 3, "reserved": 2}


async def test_concurrent_reservations_of_one_order_under_many_keys_reserve_once(
    client: httpx.AsyncClient,
) -> None:
    sku, order = unique("sku"), unique("order")
    await restock(client, sku, 10)
    body = {"order_id": order, "items": [{"sku": sku, "quantity": 3}]}
    responses = await asyncio.gather(
        *(post(client, "/inventory/reservations", body, key=unique("k")) for _ in range(5))
    )
    assert sorted(response.status_code for response in responses) == [200, 200, 200, 200, 201]
    assert await stock(client, sku) == {"sku": sku, "available": 7, "reserved": 3}


async def test_same_idempotency_key_charges_once(client: httpx.AsyncClient) -> None:
    order, key = unique("order"), unique("k")
    first = await post(client, "/payments/charges", charge_body(order), key=key)
    second = await post(client, "/payments/charges", charge_body(order), key=key)
    assert first.status_code == second.status_code == 201
    assert first.json() == second.json() == {"order_id": order, "charged_cents": 4200}
    assert second.headers["idempotent-replayed"] == "true"
    assert "idempotent-replayed" not in first.headers
    summary = await payment(client, order)
    assert summary == {
        "order_id": order,
        "charged_cents": 4200,
        "refunded_cents": 0,
        "charges": 1,
        "refunds": 0,
    }


async def test_concurrent_charges_with_one_key_charge_once(client: httpx.AsyncClient) -> None:
    order, key = unique("order"), unique("k")
    responses = await asyncio.gather(
        *(post(client, "/payments/charges", charge_body(order), key=key) for _ in range(10))
    )
    assert {response.status_code for response in responses} == {201}
    assert all(response.json() == responses[0].json() for response in responses)
    summary = await payment(client, order)
    assert summary["charges"] == 1
    assert summary["charged_cents"] == 4200


async def test_two_keys_charge_twice_visibly(client: httpx.AsyncClient) -> None:
    order = unique("order")
    await post(client, "/payments/charges", charge_body(order), key=unique("k"))
    await post(client, "/payments/charges", charge_body(order), key=unique("k"))
    summary = await payment(client, order)
    assert summary["charges"] == 2
    assert summary["charged_cents"] == 8400


async def test_declined_payment_is_402_and_replayed_identically(
    client: httpx.AsyncClient,
) -> None:
    order, key = unique("order"), unique("k")
    first = await post(client, "/payments/charges", charge_body(order, "tok_decline"), key=key)
    assert_problem(first, 402, "payment-declined")
    retry = await post(client, "/payments/charges", charge_body(order, "tok_decline"), key=key)
    assert retry.status_code == 402
    assert retry.headers["content-type"] == first.headers["content-type"]
    assert retry.content == first.content
    missing = await client.get(f"/payments/{order}")
    assert_problem(missing, 404, "payment-not-found")


async def test_flaky_provider_fails_twice_then_charges_once(client: httpx.AsyncClient) -> None:
    order, key = unique("order"), unique("k")
    body = charge_body(order, "tok_flaky", amount=1500)
    for _ in range(2):
        response = await post(client, "/payments/charges", body, key=key)
        assert_problem(response, 503, "payment-provider-unavailable")
    third = await post(client, "/payments/charges", body, key=key)
    assert third.status_code == 201, third.text
    assert third.json() == {"order_id": order, "charged_cents": 1500}
    fourth = await post(client, "/payments/charges", body, key=key)
    assert fourth.status_code == 201
    assert fourth.headers["idempotent-replayed"] == "true"
    summary = await payment(client, order)
    assert (summary["charges"], summary["charged_cents"]) == (1, 1500)


async def test_refund_refunds_the_charge_once(client: httpx.AsyncClient) -> None:
    order = unique("order")
    await post(client, "/payments/charges", charge_body(order, amount=999), key=unique("k"))

    key = unique("k")
    refund = await post(client, f"/payments/{order}/refund", key=key)
    assert refund.status_code == 200
    assert refund.json() == {"order_id": order, "charged_cents": 999, "refunded_cents": 999}
    replay = await post(client, f"/payments/{order}/refund", key=key)
    assert replay.json() == refund.json()

    second = await post(client, f"/payments/{order}/refund", key=unique("k"))
    assert second.status_code == 200
    assert second.json() == {"order_id": order, "charged_cents": 999, "refunded_cents": 0}
    summary = await payment(client, order)
    assert summary == {
        "order_id": order,
        "charged_cents": 999,
        "refunded_cents": 999,
        "charges": 1,
        "refunds": 1,
    }


async def test_unsupported_destination_is_422_and_replayed(client: httpx.AsyncClient) -> None:
    order, key = unique("order"), unique("k")
    body = {"order_id": order, "address": {**ADDRESS, "country": "AQ"}}
    first = await post(client, "/shipments", body, key=key)
    assert_problem(first, 422, "unsupported-destination")
    retry = await post(client, "/shipments", body, key=key)
    assert retry.status_code == 422
    assert retry.json() == first.json()
    assert_problem(await client.get(f"/shipments/{order}"), 404, "shipment-not-found")


async def test_create_then_cancel_shipment(client: httpx.AsyncClient) -> None:
    order = unique("order")
    created = await post(
        client, "/shipments", {"order_id": order, "address": ADDRESS}, key=unique("k")
    )
    assert created.status_code == 201, created.text
    tracking_id = created.json()["tracking_id"]
    assert created.json() == {"order_id": order, "status": "created", "tracking_id": tracking_id}
    assert (await client.get(f"/shipments/{order}")).json() == {
        "order_id": order,
        "status": "created",
        "country": "GB",
        "tracking_id": tracking_id,
    }

    cancelled = await post(client, f"/shipments/{order}/cancel", key=unique("k"))
    assert cancelled.status_code == 200
    assert cancelled.json() == {"order_id": order, "status": "cancelled"}
    assert (await client.get(f"/shipments/{order}")).json()["status"] == "cancelled"


async def test_second_shipment_for_an_order_returns_the_first(client: httpx.AsyncClient) -> None:
    order = unique("order")
    body = {"order_id": order, "address": ADDRESS}
    first = await post(client, "/shipments", body, key=unique("k"))
    second = await post(client, "/shipments", body, key=unique("k"))
    assert (first.status_code, second.status_code) == (201, 200)
    assert second.json() == first.json()


async def test_undoing_what_never_happened_is_a_200_no_op(client: httpx.AsyncClient) -> None:
    order = unique("order")
    release = await post(client, f"/inventory/reservations/{order}/release", key=unique("k"))
    assert (release.status_code, release.json()) == (200, {"order_id": order, "released": 0})
    cancel = await post(client, f"/shipments/{order}/cancel", key=unique("k"))
    assert (cancel.status_code, cancel.json()) == (200, {"order_id": order, "status": "none"})
    refund = await post(client, f"/payments/{order}/refund", key=unique("k"))
    assert refund.status_code == 200
    assert refund.json() == {"order_id": order, "charged_cents": 0, "refunded_cents": 0}


@pytest.mark.parametrize(
    ("path", "body"),
    [
        ("/inventory/sku-1/restock", {"quantity": 1}),
        ("/inventory/reservations", {"order_id": "o", "items": [{"sku": "s", "quantity": 1}]}),
        ("/inventory/reservations/o/release", None),
        ("/payments/charges", {"order_id": "o", "amount_cents": 1, "payment_token": "tok_visa"}),
        ("/payments/o/refund", None),
        ("/shipments", {"order_id": "o", "address": ADDRESS}),
        ("/shipments/o/cancel", None),
    ],
)
async def test_missing_idempotency_key_is_400_problem(
    client: httpx.AsyncClient, path: str, body: dict[str, Any] | None
) -> None:
    response = await client.post(path, json=body)
    assert_problem(response, 400, "missing-idempotency-key")


async def test_invalid_body_is_422_problem(client: httpx.AsyncClient) -> None:
    response = await post(client, "/inventory/sku-1/restock", {"quantity": 0}, key=unique("k"))
    assert_problem(response, 422, "invalid-request")
    assert "quantity" in response.json()["detail"]


async def test_mutating_requests_are_logged_with_correlation_id(
    client: httpx.AsyncClient, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="sagaway.services")
    key, correlation_id = unique("k"), unique("corr")
    await client.post(
        f"/shipments/{unique('order')}/cancel",
        headers={"Idempotency-Key": key, "X-Correlation-ID": correlation_id},
    )
    await client.get("/healthz")
    records = [r for r in caplog.records if r.name == "sagaway.services"]
    assert len(records) == 1
    assert records[0].__dict__["correlation_id"] == correlation_id
    assert records[0].__dict__["idempotency_key"] == key


async def test_serve_runs_until_cancelled(database_url: str) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    task = asyncio.create_task(serve(database_url, "127.0.0.1", port))
    await wait_healthy(f"http://127.0.0.1:{port}")
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    with pytest.raises(httpx.TransportError):
        async with httpx.AsyncClient() as http:
            await http.get(f"http://127.0.0.1:{port}/healthz")
