"""`sagaway webhooks verify|send`: check a kept delivery's signature again; sign and send one.

`verify` asks the gateway (which holds the secrets and the codec keys) to open the raw
delivery kept beside an event and verify it again. `send` signs a body the way the webhook's
provider would and posts it, for trying a webhook against `make dev` or a staging gateway.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Annotated
from urllib.parse import quote

import httpx
import typer
from rich.table import Table

from gateway.webhooks.signing import sign
from gateway.webhooks.verify import split_secrets
from sagaway.cli.app_option import AppOption, chosen_app
from sagaway.cli.operator import ApiKeyOpt, GatewayOpt, checked, console, gateway_client
from sagaway.dev.keys import WEBHOOK_SECRETS_DIR
from sagaway.settings import get_settings

webhooks_app = typer.Typer(
    help="Webhooks: verify a kept delivery again; sign and send one.", no_args_is_help=True
)
_SOURCE_PREFIX = "/webhooks/"


@webhooks_app.command("verify")
def webhooks_verify(
    source: Annotated[str, typer.Argument(help="The event's source, /webhooks/NAME (or NAME).")],
    event_id: Annotated[str, typer.Argument(help="The event id: the provider's delivery id.")],
    gateway: GatewayOpt = None,
    api_key: ApiKeyOpt = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the answer as JSON.")] = False,
) -> None:
    """Verify the signature of the delivery kept with an event again; exit 1 if it fails."""
    name = source.removeprefix(_SOURCE_PREFIX).strip("/")
    path = f"/webhooks/{quote(name, safe='')}/deliveries/{quote(event_id, safe='')}"
    with gateway_client(gateway, api_key) as http:
        check = checked(http.get(path))
    if as_json:
        typer.echo(json.dumps(check, indent=2))
    else:
        table = Table(show_header=False)
        for label, key in (
            ("webhook", "webhook"),
            ("preset", "preset"),
            ("event", "id"),
            ("received", "received_at"),
            ("signed at", "signed_at"),
            ("headers kept", "headers"),
            ("body", "body_bytes"),
            ("body sha256", "body_sha256"),
        ):
            value = check.get(key)
            table.add_row(label, ", ".join(value) if isinstance(value, list) else str(value))
        mark = {True: "[green]yes[/green]", False: "[red]no[/red]"}
        table.add_row("signature verifies", mark[bool(check["verified"])])
        table.add_row("body is the event", mark[bool(check["matches_event"])])
        console.print(table)
    if not (check["verified"] and check["matches_event"]):
        raise typer.Exit(1)


@webhooks_app.command("send")
def webhooks_send(
    name: Annotated[str, typer.Argument(help="The webhook's name in the app.")],
    body_file: Annotated[
        Path, typer.Argument(help="The JSON body to send, as the provider would.", exists=True)
    ],
    app_spec: AppOption = None,
    gateway: GatewayOpt = None,
    secret: Annotated[
        str | None,
        typer.Option(
            "--secret",
            help="Sign with this secret (default: the first in the webhook's variable, else "
            "the dev stack's).",
        ),
    ] = None,
    delivery_id: Annotated[
        str | None, typer.Option("--id", help="The delivery id (default: a new one).")
    ] = None,
    github_event: Annotated[
        str, typer.Option("--github-event", help="github preset: the X-GitHub-Event header.")
    ] = "ping",
) -> None:
    """Sign a body the way webhook NAME's provider does and post it to the gateway."""
    app, settings = chosen_app(app_spec)
    webhook = next((w for w in app.webhooks if w.name == name), None)
    if webhook is None:
        names = ", ".join(w.name for w in app.webhooks) or "none"
        raise typer.BadParameter(f"the app has no webhook {name!r} (it has: {names})")
    key = secret or _secret(webhook.secrets_env, name)
    body = body_file.read_bytes()
    headers = sign(webhook, key, body, delivery_id=delivery_id, github_event=github_event)
    base = (gateway or settings.effective_gateway_url).rstrip("/")
    response = httpx.post(
        f"{base}/webhooks/{quote(name, safe='')}",
        content=body,
        headers={"Content-Type": "application/json", **headers},
        timeout=60,
    )
    answer = checked(response)
    console.print(f"HTTP {response.status_code}")
    typer.echo(json.dumps(answer, indent=2))


def _secret(variable: str, name: str) -> str:
    listed = split_secrets(os.environ.get(variable, ""))
    if listed:
        return listed[0]
    kept = Path(get_settings().data_dir) / WEBHOOK_SECRETS_DIR / name
    try:
        return kept.read_text().strip()
    except OSError:
        raise typer.BadParameter(
            f"no secret to sign with: set {variable} or --secret (under `make dev` the stack "
            "keeps one in its data dir)"
        ) from None
