"""`dispatcher db …`: schema migrations."""

from __future__ import annotations

import typer

from dispatcher.cli.context import console, state

db_app = typer.Typer(help="Database schema migrations.")


@db_app.command("upgrade")
def upgrade_(ctx: typer.Context) -> None:
    """Bring the database schema up to date (the daemon also does this on start)."""
    from dispatcher.cli.runtime import CLI_BUSY_TIMEOUT_MS
    from dispatcher.store.db import make_engine
    from dispatcher.store.migrate import current_revision, upgrade

    engine = make_engine(state(ctx).settings.database_url, busy_timeout_ms=CLI_BUSY_TIMEOUT_MS)
    upgrade(engine)
    console.print(f"Database at revision {current_revision(engine)} (head).")


@db_app.command()
def status(ctx: typer.Context) -> None:
    """Show the current and the newest schema revision."""
    from dispatcher.cli.runtime import CLI_BUSY_TIMEOUT_MS
    from dispatcher.store.db import make_engine
    from dispatcher.store.migrate import current_revision, head_revision

    engine = make_engine(state(ctx).settings.database_url, busy_timeout_ms=CLI_BUSY_TIMEOUT_MS)
    current, head = current_revision(engine), head_revision(engine)
    console.print(f"current: {current or 'none'} · head: {head}")
    if current != head:
        raise typer.Exit(1)
