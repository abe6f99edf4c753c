"""`sagaway keys create|list|revoke`: API keys managed against SAGAWAY_DATABASE_URL.

Under `make dev` the embedded database is found in the data dir, so nothing needs exporting.
"""

from __future__ import annotations

import asyncio

import typer

from gateway.access.key_admin import create_key, with_store
from sagaway.cli.credentials import database_url
from sagaway.security.apikeys import ALL_SCOPES, DEPLOYMENT_WIDE, KeySpecError

_SCOPE_HELP = f"Operator scope (repeatable): {', '.join(ALL_SCOPES)}."
app = typer.Typer(help="Producers' and operators' API keys.", no_args_is_help=True)


@app.command("create")
def create(
    name: str = typer.Argument(..., help="What the key is for, e.g. shop-checkout."),
    tenant: str | None = typer.Option(None, "--tenant", help="The tenant the key acts for."),
    event_type: list[str] = typer.Option(  # noqa: B008
        [], "--type", help="Event type pattern it may post (glob; repeatable), e.g. 'order.*'."
    ),
    source: list[str] = typer.Option(  # noqa: B008
        [], "--source", help="Source pattern it may post from (glob; repeatable), e.g. '/shop*'."
    ),
    scope: list[str] = typer.Option(  # noqa: B008
        [], "--scope", help=_SCOPE_HELP
    ),
    all_scopes: bool = typer.Option(
        False, "--all", help="Every event type, source and operator scope (development)."
    ),
    deployment_wide: bool = typer.Option(
        False,
        "--deployment-wide",
        help="The worker's key: no tenant's, detokenizes for the tenant of each run it works "
        "for (scope vault:detokenize only; no --tenant).",
    ),
) -> None:
    """Create a key and print its secret once: it cannot be shown again."""
    if deployment_wide == (tenant is not None):
        raise typer.BadParameter("give either --tenant TENANT or --deployment-wide")
    if all_scopes:
        event_type, source, scope = ["*"], ["*"], list(ALL_SCOPES)
    try:
        made = asyncio.run(
            create_key(
                database_url(),
                name,
                DEPLOYMENT_WIDE if deployment_wide else tenant or "",
                event_types=event_type,
                sources=source,
                scopes=scope,
            )
        )
    except KeySpecError as err:
        raise typer.BadParameter(str(err)) from None
    typer.echo(f"key id  {made.key.key_id}  tenant {made.key.tenant}")
    typer.echo(made.token)
    typer.echo("Keep the line above: it is shown once. Send it as `Authorization: Bearer <key>`.")


@app.command("list")
def list_keys(
    revoked: bool = typer.Option(False, "--revoked", help="Include revoked keys."),
) -> None:
    """List keys (never their secrets)."""
    keys = asyncio.run(
        with_store(database_url(), lambda store: store.list(include_revoked=revoked))
    )
    for key in keys:
        state = f"revoked {key.revoked_at:%Y-%m-%d}" if key.revoked_at else "live"
        typer.echo(
            f"{key.key_id}  {key.tenant:<16} {key.name:<24} {state:<18}"
            f" types={','.join(key.event_types) or '-'} sources={','.join(key.sources) or '-'}"
            f" scopes={','.join(key.scopes) or '-'}"
        )


@app.command("revoke")
def revoke(key_id: str = typer.Argument(..., help="The key id `keys list` shows.")) -> None:
    """Revoke a key; gateways stop taking it within SAGAWAY_AUTH_CACHE_SECONDS."""
    done = asyncio.run(with_store(database_url(), lambda store: store.revoke(key_id)))
    if not done:
        typer.echo(f"no live key {key_id}")
        raise typer.Exit(1)
    typer.echo(f"revoked {key_id}")
