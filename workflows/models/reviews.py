"""The data of `order.reviewed`, and a review's result."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

import sagaway


class OrderReviewed(BaseModel):
    """Data of `order.reviewed`: a reviewer's verdict on a high-value order."""

    order_id: str = Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9._-]+$")
    verdict: Literal["approved", "rejected"]
    reviewer: str = Field(min_length=1, max_length=64, examples=["r-ada"])
    note: str = Field("", max_length=500)


class ReviewResult(BaseModel):
    """What became of the review: the verdict, or `expired` when none came in time."""

    order_id: str
    saga: sagaway.SagaState
    verdict: str = "expired"
    reviewer: str | None = None
