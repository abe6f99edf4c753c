"""The data of `charge.refunded`: a Stripe event, as the `payments` webhook receives it."""

from __future__ import annotations

from pydantic import BaseModel, Field, computed_field


class ChargeMetadata(BaseModel):
    """What the shop wrote on the charge when it made it: whose order it pays."""

    order_id: str = Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9._-]+$")


class Charge(BaseModel):
    """The refunded charge (the fields the order needs; Stripe sends many more)."""

    id: str = Field(examples=["ch_3PXyZ2LkdIwHu7ix0aBcDeFg"])
    amount: int = Field(ge=0, examples=[3750])
    amount_refunded: int = Field(ge=0, examples=[3750])
    currency: str = Field(examples=["eur"])
    metadata: ChargeMetadata


class ChargeEventData(BaseModel):
    """Stripe's `data` member: the object the event is about."""

    object: Charge


class ChargeRefunded(BaseModel):
    """Data of `charge.refunded`: the payment provider refunded an order's charge."""

    id: str = Field(examples=["evt_3PXyZ2LkdIwHu7ix0pQrStUv"])
    type: str = Field(examples=["charge.refunded"])
    created: int = Field(examples=[1764669600])
    data: ChargeEventData

    @computed_field  # type: ignore[prop-decorator]
    @property
    def order_id(self) -> str:
        """The order the charge paid (named by the workflow id template)."""
        return self.data.object.metadata.order_id
