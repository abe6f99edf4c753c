"""`sagaway timeline`, `sagaway events search`, `sagaway replay`: a key's story, the events kept,
and sending a time range again, over the gateway's API."""

from __future__ import annotations

import json
import time
from typing import Annotated, Any
from urllib.parse import quote

import httpx
import typer
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from sagaway.cli.operator import (
    ApiKeyOpt,
    GatewayOpt,
    checked,
    clock,
    console,
    events_app,
    gateway_client,
    took,
)

#: Colours of outcomes a reader should notice.
_BAD = {"failed", "dead_lettered", "conflict", "compensation_failed", "FAILED", "TERMINATED"}
_WAIT = {"held", "scheduled", "duplicate", "dropped", "running", "RUNNING", "compensating"}
_UNDONE = {"compensated", "resolved", "cancelled", "CANCELED", "TIMED_OUT"}
#: How often `replay` looks at its progress.
POLL_SECONDS = 0.5

FromOpt = Annotated[
    str, typer.Option("--from", help="Received at or after (RFC 3339, e.g. 2026-12-01T00:00Z).")
]
ToOpt = Annotated[str, typer.Option("--to", help="Received before (RFC 3339).")]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print JSON.")]


def timeline(
    business_key: Annotated[str | None, typer.Argument(help="The business key.")] = None,
    correlation_id: Annotated[
        str | None, typer.Option("--correlation-id", help="Follow a correlation id instead.")
    ] = None,
    gateway: GatewayOpt = None,
    api_key: ApiKeyOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Everything that happened to a business key: events, decisions, runs, steps, operators."""
    if (business_key is None) == (correlation_id is None):
        console.print("[red]Name a business key, or --correlation-id (not both).[/red]")
        raise typer.Exit(2)
    items: list[dict[str, Any]] = []
    with gateway_client(gateway, api_key) as http:
        if business_key is not None:
            url: str | None = f"/timeline/{quote(business_key, safe='')}?limit=1000"
        else:
            url = f"/timeline?correlation_id={quote(correlation_id or '', safe='')}&limit=1000"
        while url:
            page = checked(http.get(url))
            items += page["items"]
            url = page["next"]
    if as_json:
        typer.echo(json.dumps(items, indent=2))
        return
    for entry in items:
        console.print(_line(entry), highlight=False, soft_wrap=True)  # one line each


def _line(entry: dict[str, Any]) -> str:
    """One entry as one line: time, kind, what, outcome, where, why."""
    at = clock(entry["at"])
    kind = entry["kind"]
    outcome = entry.get("outcome") or entry.get("saga_status") or ""
    if kind == "run" and entry.get("saga_status"):
        outcome = f"{outcome} · saga {entry['saga_status']}"
    what = entry["name"]
    if kind == "run" and entry.get("workflow_type"):
        what += f" {entry['workflow_type']}"
    if entry.get("event"):
        what += f" {entry['event']['type']} {entry['event']['id']}"
    lasted = f" ({took(entry['at'], entry['ended_at'])})" if entry.get("ended_at") else ""
    why = entry.get("error") or entry.get("detail") or ""
    colour = _colour(entry.get("outcome") or "", entry.get("saga_status") or "", entry["name"])
    parts = [f"{at}  {kind:<8} {escape(what)}{lasted}"]
    if outcome:
        parts.append(f"[{colour}]{escape(outcome)}[/{colour}]")
    if entry.get("workflow_id"):
        parts.append(escape(entry["workflow_id"]))
    if why:
        parts.append(f"[dim]{escape(why)}[/dim]")
    return "  ".join(parts)


def _colour(*words: str) -> str:
    if any(w in _BAD for w in words):
        return "red"
    if any(w in _WAIT for w in words):
        return "yellow"
    if any(w in _UNDONE for w in words):
        return "magenta"
    return "green"


@events_app.command("search")
def events_search(
    query: Annotated[str, typer.Argument(help="CEL over data and event, e.g. data.total > 10.")],
    start: Annotated[str | None, typer.Option("--from", help="Received at or after.")] = None,
    end: Annotated[str | None, typer.Option("--to", help="Received before.")] = None,
    event_type: Annotated[str | None, typer.Option("--type", help="Event type.")] = None,
    source: Annotated[str | None, typer.Option(help="Event source.")] = None,
    status: Annotated[str | None, typer.Option(help="Inbox status, e.g. dead_lettered.")] = None,
    limit: Annotated[int, typer.Option(min=1, max=1000, help="At most this many.")] = 50,
    gateway: GatewayOpt = None,
    api_key: ApiKeyOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Search every event kept, newest first, by a CEL expression."""
    params: dict[str, Any] = {"q": query, "limit": min(limit, 500)}
    for name, value in (("from", start), ("to", end), ("type", event_type), ("source", source)):
        if value:
            params[name] = value
    if status:
        params["status"] = status
    found: list[dict[str, Any]] = []
    with gateway_client(gateway, api_key) as http:
        url: str | None = "/events"
        while url and len(found) < limit:
            page = checked(http.get(url, params=params if url == "/events" else None))
            found += page["items"]
            url = page["next"]
    found = found[:limit]
    if as_json:
        typer.echo(json.dumps(found, indent=2))
        return
    table = Table("received (UTC)", "type", "source", "id", "status", "workflow")
    for item in found:
        status_text = item["status"] + (f" ({item['reason']})" if item.get("reason") else "")
        table.add_row(
            clock(item["received_at"], date=True),
            item["type"],
            item["source"],
            item["id"],
            f"[{_colour(item['status'])}]{escape(status_text)}[/]",
            item.get("workflow_id") or "",
        )
    console.print(table)
    console.print(f"{len(found)} event(s)")


def replay(
    start: FromOpt,
    end: ToOpt,
    event_type: Annotated[str | None, typer.Option("--type", help="Only this event type.")] = None,
    source: Annotated[str | None, typer.Option(help="Only this source.")] = None,
    trigger: Annotated[str | None, typer.Option(help="Only deliveries to this workflow.")] = None,
    query: Annotated[str | None, typer.Option("--q", help="Only events this CEL selects.")] = None,
    mode: Annotated[
        str, typer.Option(help="if_no_runs (default), force (as new events) or dry_run.")
    ] = "if_no_runs",
    rate: Annotated[float, typer.Option(min=0.001, help="Events a second, at most.")] = 50.0,
    gateway: GatewayOpt = None,
    api_key: ApiKeyOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Send the events received in [--from, --to) again, with a progress bar until done."""
    body: dict[str, Any] = {"from": start, "to": end, "mode": mode, "rate": rate}
    for name, value in (("type", event_type), ("source", source), ("trigger", trigger)):
        if value:
            body[name] = value
    if query:
        body["q"] = query
    with gateway_client(gateway, api_key) as http:
        state = checked(http.post("/replays", json=body))
        replay_id = state["id"]
        if not as_json:
            console.print(f"replay {replay_id} ({mode}): {state['links']['replay']}")
        state = _follow(http, replay_id, quiet=as_json)
        items = (
            checked(http.get(f"/replays/{replay_id}/items?limit=1000"))
            if mode == "dry_run"
            else None
        )
    if as_json:
        typer.echo(json.dumps(state, indent=2))
    else:
        done = "would replay" if mode == "dry_run" else "replayed"
        console.print(
            f"{done} {state['replayed']}, skipped {state['skipped']}, failed {state['failed']}"
            f" of {state['total']}"
        )
        if items is not None:
            _print_items(items)
    if state["failed"] or state.get("error"):
        raise typer.Exit(1)


def _follow(http: httpx.Client, replay_id: int, *, quiet: bool) -> dict[str, Any]:
    """Poll the replay until it is done, drawing its progress."""
    columns = (
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
    )
    with Progress(*columns, console=console, disable=quiet) as progress:
        task = progress.add_task("replaying", total=None)
        while True:
            state: dict[str, Any] = checked(http.get(f"/replays/{replay_id}"))
            handled = state["replayed"] + state["skipped"] + state["failed"]
            progress.update(task, total=state["total"], completed=handled)
            if state["done"]:
                return state
            time.sleep(POLL_SECONDS)


def _print_items(page: dict[str, Any]) -> None:
    table = Table("source", "id", "type", "would", "why")
    for item in page["items"]:
        table.add_row(
            item["source"], item["id"], item["type"], item["outcome"], item.get("why") or ""
        )
    console.print(table)
    if page["next"]:
        console.print(f"more: {page['next']}")
