"""`POST /vault/detokenize`: the values behind one tenant's tokens, for the worker's activities."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from pydantic import BaseModel, Field

from gateway.access.auth import AUTH_RESPONSES, VaultReader
from gateway.intake.vault import Vault
from gateway.problems import FieldError, Problem

router = APIRouter(prefix="/vault", tags=["vault"])


class DetokenizeRequest(BaseModel):
    """Tokens of one tenant to turn back into values."""

    tokens: list[str] = Field(max_length=100, examples=[["vt_AAAAAAAAAAAAAAAA"]])
    tenant: str | None = Field(
        None,
        max_length=63,
        description="Whose tokens: the key's own tenant when unset. A deployment-wide key "
        "(the worker's) names the tenant of the run it reveals for; a tenant's key may name "
        "only its own.",
        examples=["acme"],
    )


class DetokenizeResult(BaseModel):
    """Each known token of the tenant with its value; any other token is left out."""

    values: dict[str, Any] = Field(
        description="Token → value: a string, or the JSON value a non-string was tokenized from"
    )


@router.post("/detokenize", response_model=DetokenizeResult, responses=AUTH_RESPONSES)
async def detokenize(
    body: DetokenizeRequest, request: Request, caller: VaultReader
) -> DetokenizeResult:
    """The values behind tokens of one tenant (scope `vault:detokenize`).

    A token of another tenant is answered as an unknown one: left out.
    """
    if body.tenant is None and caller.deployment_wide:
        raise Problem(
            "invalid-request",
            "A deployment-wide key names the tenant whose tokens it reveals.",
            errors=[FieldError(field="tenant", message="required for a deployment-wide key")],
        )
    tenant = body.tenant or caller.tenant
    if not caller.may_act_for(tenant):
        raise Problem(
            "forbidden",
            "This key reveals its own tenant's tokens only; the worker uses a deployment-wide "
            "key (`sagaway keys create worker --deployment-wide`).",
        )
    vault: Vault = request.app.state.vault
    return DetokenizeResult(values=await vault.detokenize(tenant, body.tokens))
