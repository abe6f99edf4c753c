"""The webhook app: one webhook per preset, each delivery type starting one small saga.

Every saga runs one step, an activity that reports what the event gave it, so a test sees
that a verified delivery became a run with the delivery's body as its data.
"""

from __future__ import annotations

from collections.abc import Callable

from pydantic import BaseModel, ConfigDict
from temporalio import activity, workflow

import sagaway

#: The variables the webhooks read; the suite's stack sets them (`conftest.py`).
SHOP = "TEST_SHOP_WEBHOOK_SECRETS"
PAY = "TEST_PAY_WEBHOOK_SECRETS"
GITHUB = "TEST_GITHUB_WEBHOOK_SECRETS"
SHOPIFY = "TEST_SHOPIFY_WEBHOOK_SECRETS"
CHAT = "TEST_CHAT_WEBHOOK_SECRETS"
#: The tenant the `pay` webhook's events belong to.
PAY_TENANT = "acme"


class Body(BaseModel):
    """Any JSON object: a provider's body, kept whole."""

    model_config = ConfigDict(extra="allow")


class Seen(BaseModel):
    """What the step saw: the top-level keys of the body it was started with."""

    keys: list[str]


@activity.defn
async def look(body: Body) -> Seen:
    """Report the body's keys."""
    return Seen(keys=sorted((body.model_extra or {}).keys()))


def _starts(*event_types: str) -> Callable[[type], type]:
    def decorate(cls: type) -> type:
        for event_type in event_types:
            cls = sagaway.starts(event_type, workflow_id=f"{event_type}-{{event_id}}")(cls)
        return cls

    return decorate


@_starts(
    "shop.customer.created",
    "payment_intent.succeeded",
    "issues.opened",
    "push",
    "shopify.order",
    "chat.message",
)
@workflow.defn
class Received(sagaway.SagaWorkflow):
    """One step: look at the body."""

    @workflow.run
    async def run(self, body: Body) -> Seen:
        """Look at the body, as a saga step."""
        async with self.saga:
            seen: Seen = await self.saga.run("look", look, body, summary="look at the body")
        return seen


app = sagaway.App(
    name="webhooks",
    workflows=[Received],
    activities=[look],
    webhooks=[
        sagaway.Webhook("shop", secrets_env=SHOP, type="shop.{type}"),
        sagaway.Webhook("pay", preset="stripe", secrets_env=PAY, tenant=PAY_TENANT),
        sagaway.Webhook("github", preset="github", secrets_env=GITHUB),
        # Shopify's scheme: base64 HMAC of the body. Its id header (`X-Shopify-Webhook-Id`)
        # is not signed, so it is not declared: the id is the body's hash.
        sagaway.Webhook(
            "shopify",
            preset="hmac",
            secrets_env=SHOPIFY,
            type="shopify.order",
            header="X-Shopify-Hmac-Sha256",
            encoding="base64",
        ),
        # Slack's scheme: `v0=` hex HMAC of `v0:{timestamp}:{body}`; no id (the body's hash).
        sagaway.Webhook(
            "chat",
            preset="hmac",
            secrets_env=CHAT,
            type="chat.message",
            header="X-Slack-Signature",
            prefix="v0=",
            timestamp_header="X-Slack-Request-Timestamp",
            payload="v0:{timestamp}:{body}",
        ),
    ],
)
