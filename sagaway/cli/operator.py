"""`sagaway dlq|runs|events ...`: operator tools for recovery and inspection, over the API.

They speak HTTP to the gateway rather than to Postgres or Temporal directly, so they obey the
same rules (replay is idempotent, runs that already undid steps are never replayed) and work
from any machine that can reach the gateway. Under `make dev` they use the stack's API key.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Annotated, Any
from urllib.parse import quote

import httpx
import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from sagaway.cli import credentials
from sagaway.ids import run_path
from sagaway.settings import get_settings

console = Console()
dlq_app = typer.Typer(help="Dead letters: list, show and replay.", no_args_is_help=True)
runs_app = typer.Typer(help="Runs: show, retry failed undos, resolve.", no_args_is_help=True)
events_app = typer.Typer(
    help="Events: what was decided about one, and why (the ledger).", no_args_is_help=True
)

GatewayOpt = Annotated[
    str | None,
    typer.Option("--gateway", envvar="SAGAWAY_GATEWAY_URL", help="Gateway base URL."),
]
ApiKeyOpt = Annotated[
    str | None,
    typer.Option("--api-key", envvar="SAGAWAY_API_KEY", help="Bearer key with operator scope."),
]


def gateway_client(gateway: str | None, api_key: str | None) -> httpx.Client:
    """An HTTP client of the gateway with the operator's key (the dev stack's under make dev)."""
    base = (gateway or get_settings().effective_gateway_url).rstrip("/")
    key = credentials.api_key(api_key)  # under `make dev`: the stack's own key
    headers = {"Authorization": f"Bearer {key}"} if key else {}
    return httpx.Client(base_url=base, headers=headers, timeout=60)


def checked(response: httpx.Response) -> Any:
    """The JSON body, or exit 1 with the problem's detail."""
    if response.status_code >= 400:
        try:
            body = response.json()
            message = f"{body.get('title', response.status_code)}: {body.get('detail', '')}"
            for error in body.get("errors") or []:  # a validation problem's field paths
                message += f"\n  {error.get('field') or 'body'}: {error.get('message')}"
        except ValueError:
            message = f"HTTP {response.status_code}: {response.text[:200]}"
        console.print(f"[red]{message}[/red]")
        raise typer.Exit(1)
    return response.json()


@dlq_app.command("list")
def dlq_list(
    gateway: GatewayOpt = None,
    api_key: ApiKeyOpt = None,
    reason: Annotated[str | None, typer.Option(help="e.g. no-route, invalid-data")] = None,
    event_type: Annotated[str | None, typer.Option("--type", help="Event type.")] = None,
    source: Annotated[str | None, typer.Option(help="Event source.")] = None,
    since: Annotated[str | None, typer.Option(help="ISO time, inclusive.")] = None,
    pending: Annotated[bool, typer.Option(help="Only those not replayed yet.")] = False,
    limit: Annotated[int, typer.Option(min=1, max=500)] = 50,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """List dead letters, newest first."""
    params: dict[str, Any] = {"limit": limit}
    for key, value in (("reason", reason), ("type", event_type), ("source", source)):
        if value:
            params[key] = value
    if since:
        params["since"] = since
    if pending:
        params["replayed"] = "false"
    with gateway_client(gateway, api_key) as http:
        page = checked(http.get("/dead-letters", params=params))
    if as_json:
        typer.echo(json.dumps(page["items"], indent=2))
        return
    table = Table("id", "created", "reason", "type", "source", "event id", "run", "replayed")
    for item in page["items"]:
        table.add_row(
            str(item["id"]),
            item["created_at"][:19],
            item["reason"],
            item["event_type"] or "",
            item["event_source"] or "",
            item["event_id"] or "",
            item["workflow_id"] if item["run_id"] else "",
            (item["replayed_at"] or "")[:19],
        )
    console.print(table)


@dlq_app.command("show")
def dlq_show(letter_id: int, gateway: GatewayOpt = None, api_key: ApiKeyOpt = None) -> None:
    """Show one dead letter with its event and errors."""
    with gateway_client(gateway, api_key) as http:
        typer.echo(json.dumps(checked(http.get(f"/dead-letters/{letter_id}")), indent=2))


@dlq_app.command("replay")
def dlq_replay(
    letter_ids: Annotated[list[int] | None, typer.Argument(help="Dead letter ids.")] = None,
    gateway: GatewayOpt = None,
    api_key: ApiKeyOpt = None,
    replay_all: Annotated[bool, typer.Option("--all", help="Every pending match.")] = False,
    reason: Annotated[str | None, typer.Option(help="With --all: only this reason.")] = None,
    event_type: Annotated[str | None, typer.Option("--type", help="With --all: this type.")] = None,
) -> None:
    """Replay dead letters (after the route or schema was fixed); replaying twice is harmless."""
    with gateway_client(gateway, api_key) as http:
        ids = list(letter_ids or [])
        if replay_all:
            ids += _pending_ids(http, reason, event_type)
        if not ids:
            console.print("Nothing to replay.")
            return
        failed = refused = 0
        columns = (
            TextColumn("{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
        )
        with Progress(*columns, console=console) as progress:
            task = progress.add_task("replaying", total=len(ids))
            for letter_id in ids:
                response = http.post(f"/dead-letters/{letter_id}/replay")
                if response.status_code == 409:
                    refused += 1  # a run that already undid steps: recover the run instead
                elif response.status_code >= 400:
                    failed += 1
                    detail = response.json().get("detail", response.text)
                    progress.console.print(f"[red]{letter_id}: {detail}[/red]")
                progress.advance(task)
    done = len(ids) - failed - refused
    console.print(f"replayed {done}, refused {refused} (runs to recover), failed {failed}")
    if failed:
        raise typer.Exit(1)


def _pending_ids(http: httpx.Client, reason: str | None, event_type: str | None) -> list[int]:
    """Every pending dead letter matching the filters, page by page."""
    params: dict[str, Any] = {"replayed": "false", "limit": 500}
    if reason:
        params["reason"] = reason
    if event_type:
        params["type"] = event_type
    ids: list[int] = []
    url: str | None = "/dead-letters"
    while url:
        page = checked(http.get(url, params=params if url == "/dead-letters" else None))
        ids += [item["id"] for item in page["items"]]
        url = page["next"]
    return sorted(ids)


@runs_app.command("show")
def runs_show(
    workflow_id: str,
    gateway: GatewayOpt = None,
    api_key: ApiKeyOpt = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the run as JSON.")] = False,
) -> None:
    """Show a run's status and its saga's steps and undos."""
    with gateway_client(gateway, api_key) as http:
        run = checked(http.get(run_path(workflow_id)))
    if as_json:
        typer.echo(json.dumps(run, indent=2))
        return
    saga = run.get("saga") or {}
    status = run["status"] + (f" · saga {saga['status']}" if saga.get("status") else "")
    console.print(
        f"[bold]{run['workflow_type']}[/bold] {run['workflow_id']}: {status}", soft_wrap=True
    )
    console.print(
        f"run {run['run_id']}  correlation {run.get('correlation_id') or '-'}", soft_wrap=True
    )
    table = Table("started (UTC)", "kind", "step", "status", "took", "error")
    for step in saga.get("steps") or []:
        started, ended = step.get("started_at"), step.get("ended_at")
        table.add_row(
            clock(started) if started else "",
            step["kind"],
            step["name"],
            step["status"],
            took(started, ended) if started and ended else "",
            step.get("error") or "",
        )
    console.print(table)
    for action in saga.get("operator") or []:
        note = f": {action['note']}" if action.get("note") else ""
        console.print(f"operator {action['action']} at {action['at']}{note}")
    for label, value in (("failure", saga.get("failure")), ("run failure", run.get("failure"))):
        if value:
            console.print(f"{label}: {value}")
    console.print(f"Temporal UI: {run['links']['temporal_ui']}", soft_wrap=True)


def clock(value: str, *, date: bool = False) -> str:
    """An API time as UTC text to the millisecond (`date`: with the day)."""
    moment = datetime.fromisoformat(value).astimezone(UTC)
    return moment.strftime("%Y-%m-%d %H:%M:%S.%f" if date else "%H:%M:%S.%f")[:-3]


def took(start: str, end: str) -> str:
    """How long from one API time to another, in milliseconds."""
    seconds = (datetime.fromisoformat(end) - datetime.fromisoformat(start)).total_seconds()
    return f"{seconds * 1000:.0f} ms"


@events_app.command("show")
def events_show(
    source: str,
    event_id: str,
    gateway: GatewayOpt = None,
    api_key: ApiKeyOpt = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the ledger as JSON.")] = False,
) -> None:
    """Show an event's status and every decision about it: held, released, dropped, started."""
    path = f"/events/{quote(source, safe='')}/{quote(event_id, safe='')}"
    with gateway_client(gateway, api_key) as http:
        ledger = checked(http.get(path))
    if as_json:
        typer.echo(json.dumps(ledger, indent=2))
        return
    status = ledger["status"] + (f" ({ledger['reason']})" if ledger.get("reason") else "")
    console.print(f"[bold]{ledger['type']}[/bold] {ledger['id']} from {ledger['source']}: {status}")
    console.print(f"workflow {ledger['workflow_id']}  run {ledger.get('run_id') or '-'}")
    deliveries = ledger.get("triggers") or []
    if len(deliveries) > 1:  # fan-out: each trigger's own delivery
        for t in deliveries:
            reason = f" ({t['reason']})" if t.get("reason") else ""
            console.print(f"  → {t['workflow']}: {t['workflow_id']} {t['status']}{reason}")
    table = Table("at (UTC)", "decision", "reason", "run", "detail")
    for d in ledger["decisions"]:
        run = d.get("workflow_id") or ""
        if d.get("run_id"):
            run += f" ({d['run_id'][:8]})"
        table.add_row(
            clock(d["at"], date=True),
            d["decision"],
            d.get("reason") or "",
            run,
            d.get("detail") or "",
        )
    console.print(table)
    if ledger.get("last_error"):
        console.print(f"last delivery error: {ledger['last_error']}")


@events_app.command("cancel")
def events_cancel(
    source: str, event_id: str, gateway: GatewayOpt = None, api_key: ApiKeyOpt = None
) -> None:
    """Cancel a delayed event before it is due (it is never delivered)."""
    path = f"/events/{quote(source, safe='')}/{quote(event_id, safe='')}"
    with gateway_client(gateway, api_key) as http:
        ledger = checked(http.delete(path))
    console.print(f"{ledger['type']} {ledger['id']} from {ledger['source']}: {ledger['status']}")


@runs_app.command("retry-compensation")
def runs_retry(workflow_id: str, gateway: GatewayOpt = None, api_key: ApiKeyOpt = None) -> None:
    """Run a stuck saga's failed undos again."""
    with gateway_client(gateway, api_key) as http:
        _print_operator(checked(http.post(f"{run_path(workflow_id)}/retry-compensation")))


@runs_app.command("resolve")
def runs_resolve(
    workflow_id: str,
    note: Annotated[str, typer.Option(help="What was done by hand instead of the undo.")],
    gateway: GatewayOpt = None,
    api_key: ApiKeyOpt = None,
) -> None:
    """End a stuck saga whose failed undos were handled by hand."""
    with gateway_client(gateway, api_key) as http:
        path = f"{run_path(workflow_id)}/resolve"
        _print_operator(checked(http.post(path, json={"note": note})))


def _print_operator(result: dict[str, Any]) -> None:
    saga = result.get("saga") or {}
    if result["done"]:
        console.print(f"{result['workflow_id']}: saga {saga.get('status')}")
    else:
        console.print(f"{result['workflow_id']}: accepted, undos still running (sagaway runs show)")
