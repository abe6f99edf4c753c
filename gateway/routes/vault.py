"""`POST /vault/detokenize`: the values behind tokens, for the worker's activities."""

from __future__ import annotations

from fastapi import APIRouter, Request
from pydantic import BaseModel, Field

from gateway.auth import VaultReader
from gateway.vault import Vault

router = APIRouter(prefix="/vault", tags=["vault"])


class DetokenizeRequest(BaseModel):
    """Tokens to turn back into values."""

    tokens: list[str] = Field(max_length=100, examples=[["vt_AAAAAAAAAAAAAAAA"]])


class DetokenizeResult(BaseModel):
    """Each known token's value; unknown tokens are left out."""

    values: dict[str, str]


@router.post("/detokenize", response_model=DetokenizeResult)
async def detokenize(
    body: DetokenizeRequest, request: Request, caller: VaultReader
) -> DetokenizeResult:
    """The values behind tokens (scope `vault:detokenize`: the worker's key, no producer's)."""
    vault: Vault = request.app.state.vault
    return DetokenizeResult(values=await vault.detokenize(body.tokens))
