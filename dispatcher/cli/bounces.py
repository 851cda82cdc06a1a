"""`dispatcher bounces check`: read the bounce mailboxes once, as the daemon's leader does."""

from __future__ import annotations

import typer
from rich.markup import escape

from dispatcher.cli.context import console, err_console, fail
from dispatcher.clock import SystemClock

bounces_app = typer.Typer(help="The bounce mailbox: delivery status notifications.")

MARKS = {"bounce": "[bold red]bounce[/]", "unmatched": "[yellow]unmatched[/]"}


@bounces_app.command()
def check(ctx: typer.Context) -> None:
    """Read the bounce mailbox(es) once: record each bounce, move every message to a folder.

    Exits 1 if a mailbox cannot be read (the reason is printed); nothing is changed then."""
    from dispatcher.bounces.reader import check_once
    from dispatcher.cli.runtime import open_runtime

    runtime = open_runtime(ctx)
    if not runtime.settings.bounces_configured:
        fail(
            "no bounce mailbox is configured: set DISPATCHER_BOUNCE_IMAP_HOST (with "
            "_USERNAME and _PASSWORD) or DISPATCHER_BOUNCE_MAILDIR"
        )
    done = check_once(runtime, SystemClock())
    for item in done.handled:
        mark = MARKS.get(item.verdict, f"[dim]{escape(item.verdict)}[/]")
        console.print(
            f"{mark} {escape(item.subject or '(no subject)')} → {escape(item.folder)}",
            highlight=False,
            soft_wrap=True,
        )
        for line in item.lines:
            console.print(f"    {escape(line)}", highlight=False, soft_wrap=True)
    console.print(
        f"{len(done.handled)} message(s) read, {done.recorded} bounce(s) recorded.",
        highlight=False,
    )
    for problem in done.problems:
        err_console.print(f"[bold red]Error:[/] {escape(problem)}", highlight=False, soft_wrap=True)
    if done.problems:
        raise typer.Exit(1)
