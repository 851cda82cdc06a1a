"""`dispatcher incident receipts N`: "Hvem mangler?" — per municipality whether the notices
reached it and whether it confirmed, with the number to call, the ones to call first."""

from __future__ import annotations

import csv
import io
import json
from typing import TYPE_CHECKING, Annotated

import typer
from rich.markup import escape
from rich.table import Table

from dispatcher.cli.context import console, fail
from dispatcher.cli.runtime import open_runtime
from dispatcher.core.receipts import Reach, summarise

if TYPE_CHECKING:
    from dispatcher.incidents.receipts import ReceiptLine

COLUMNS = (
    "code",
    "municipality",
    "status",
    "phone",
    "delivered",
    "bounced",
    "failed",
    "waiting",
    "confirmed_at",
    "reply",
)
COLOURS = {
    Reach.BOUNCED: "bold red",
    Reach.FAILED: "bold red",
    Reach.WAITING: "yellow",
    Reach.DELIVERED: "yellow",
    Reach.CONFIRMED: "green",
}


def _record(line: ReceiptLine) -> dict[str, object]:
    r = line.receipt
    return {
        "code": r.code,
        "municipality": line.name,
        "status": str(line.reach),
        "phone": line.phone,
        "delivered": r.delivered,
        "bounced": r.bounced,
        "failed": r.failed,
        "waiting": r.waiting,
        "confirmed_at": r.confirmed_at.isoformat() if r.confirmed_at else None,
        "reply": line.reply or None,
    }


def receipts(
    ctx: typer.Context,
    number: Annotated[int, typer.Argument(help="The incident number, as in [FMK-nedbrud #N].")],
    as_json: Annotated[bool, typer.Option("--json", help="JSON for other tools.")] = False,
    as_csv: Annotated[bool, typer.Option("--csv", help="CSV (UTF-8) for a spreadsheet.")] = False,
) -> None:
    """Who has been reached and who has confirmed, per municipality: the ones to call first."""
    from dispatcher.cli.render import local
    from dispatcher.incidents.receipts import DANISH, receipt_lines
    from dispatcher.store.db import read_only
    from dispatcher.store.tables import IncidentRow

    if as_json and as_csv:
        fail("give --json or --csv, not both")
    runtime = open_runtime(ctx)
    with read_only(runtime.engine) as session:
        incident = session.get(IncidentRow, number)
    if incident is None:
        fail(f"there is no incident #{number}")
    lines = receipt_lines(runtime.engine, number, runtime.registry)
    summary = summarise(line.receipt for line in lines)
    if as_json:
        body = {
            "incident": number,
            "total": summary.total,
            "informed": summary.informed,
            "confirmed": summary.confirmed,
            "rejected": summary.rejected,
            "municipalities": [_record(line) for line in lines],
        }
        typer.echo(json.dumps(body, ensure_ascii=False, indent=2))
        return
    if as_csv:
        out = io.StringIO()
        writer = csv.DictWriter(out, fieldnames=COLUMNS, lineterminator="\n")
        writer.writeheader()
        writer.writerows(_record(line) for line in lines)
        typer.echo(out.getvalue(), nl=False)
        return
    if not lines:
        console.print(f"Incident #{number} has sent no notice to any municipality.")
        return
    table = Table("code", "municipality", "status", "phone", "confirmed", "reply", title="Kommuner")
    for line in lines:
        colour = COLOURS[line.reach]
        table.add_row(
            str(line.receipt.code),
            escape(line.name),
            f"[{colour}]{DANISH[line.reach]}[/]",
            line.phone or "–",
            local(line.confirmed_at) if line.confirmed_at else "–",
            escape(line.reply) or "–",
        )
    console.print(table)
    console.print(f"Incident #{number}: {summary.danish()}", highlight=False)
