"""`dispatcher delivery …`: act on the outbox's deliveries."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.markup import escape

from dispatcher.cli.context import console, fail, state
from dispatcher.cli.runtime import actor_of, open_runtime, report_daemon

delivery_app = typer.Typer(help="Send deliveries again after the registry was fixed.")


@delivery_app.command("resend")
def resend_command(
    ctx: typer.Context,
    incident: Annotated[int, typer.Option("--incident", help="The incident number.")],
    failed: Annotated[bool, typer.Option("--failed", help="The refused deliveries.")] = False,
    bounced: Annotated[bool, typer.Option("--bounced", help="The bounced deliveries.")] = False,
    municipality: Annotated[
        int | None, typer.Option("--municipality", help="Only this municipality (its code).")
    ] = None,
    force: Annotated[
        bool, typer.Option("--force", help="Also for a closed (resolved or cancelled) incident.")
    ] = False,
    actor: Annotated[
        str | None, typer.Option("--as", help="Who is acting (e-mail); see `incident ack`.")
    ] = None,
) -> None:
    """Queue an incident's failed and/or bounced deliveries again (both without either flag),
    to the addresses the registry holds now; recorded in the timeline."""
    from dispatcher.clock import SystemClock
    from dispatcher.core.model import Rejected
    from dispatcher.outbox.resend import resend
    from dispatcher.store.tables import DeliveryStatus

    cli = state(ctx)
    runtime = open_runtime(ctx)
    chosen = [
        s
        for s, wanted in (
            (DeliveryStatus.FAILED.value, failed),
            (DeliveryStatus.BOUNCED.value, bounced),
        )
        if wanted
    ]
    statuses = tuple(chosen) or (DeliveryStatus.FAILED.value, DeliveryStatus.BOUNCED.value)
    now = SystemClock().now()
    try:
        resent = resend(
            runtime.engine,
            incident_id=incident,
            statuses=statuses,
            municipality=municipality,
            registry=runtime.registry,
            actor=actor_of(actor, cli.settings),
            now=now,
            force=force,
        )
    except Rejected as exc:
        fail(str(exc))
    console.print(f"Incident #{incident}: {escape(resent.describe())}.", highlight=False)
    report_daemon(runtime.engine, now, queued=True)
