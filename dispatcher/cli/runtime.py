"""What every CLI command that touches incidents needs: the runtime, the actor, local times."""

from __future__ import annotations

import getpass
import socket
from datetime import datetime
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

import typer

from dispatcher.cli.context import console, fail, state

if TYPE_CHECKING:
    from sqlalchemy import Engine

    from dispatcher.config import Settings
    from dispatcher.contacts.model import Registry
    from dispatcher.runtime import Runtime

COPENHAGEN = ZoneInfo("Europe/Copenhagen")
CLI_BUSY_TIMEOUT_MS = 5_000  # the daemon's transactions are short; a user should not wait long


def local(moment: datetime | None) -> str:
    """A stored (UTC) time as Danish people read it; "–" for none."""
    if moment is None:
        return "–"
    return moment.astimezone(COPENHAGEN).strftime("%Y-%m-%d %H:%M %Z")


def build_or_fail(settings: Settings, engine: Engine | None = None) -> Runtime:
    """The runtime, or a plain error naming the bad contact file or template."""
    from dispatcher.contacts.csvcheck import RegistryError
    from dispatcher.notices.render import TemplateError
    from dispatcher.runtime import build

    try:
        return build(settings, engine)
    except (RegistryError, TemplateError) as exc:
        fail(str(exc))


def registry_or_fail(settings: Settings) -> Registry:
    """The contact registry alone (no templates), or a plain error naming the bad file."""
    from dispatcher.contacts.csvcheck import RegistryError
    from dispatcher.contacts.registry import load_registry

    try:
        return load_registry(settings.contacts_dir)
    except RegistryError as exc:
        fail(str(exc))


def open_store(ctx: typer.Context) -> Engine:
    """The database, if its schema is current, for a command that only reads it: no
    registry, templates or ORM loaded. A database that is locked, unreachable or at another
    schema raises, for `dispatcher.cli.errors` to explain."""
    from dispatcher.store import schema

    engine = _engine(ctx)
    schema.check(engine)
    return engine


def open_runtime(ctx: typer.Context) -> Runtime:
    """The runtime on a database whose schema is current. Bad contacts or templates fail
    here, before the database is read; then as `open_store`."""
    from dispatcher.store import schema

    runtime = build_or_fail(state(ctx).settings, _engine(ctx))
    schema.check(runtime.engine)
    return runtime


def _engine(ctx: typer.Context) -> Engine:
    """The command's engine, disposed of when the command ends, however it ends. A locked
    SQLite database fails after `CLI_BUSY_TIMEOUT_MS`, not the daemon's longer wait."""
    from dispatcher.store.engine import make_engine

    engine = make_engine(state(ctx).settings.database_url, busy_timeout_ms=CLI_BUSY_TIMEOUT_MS)
    ctx.call_on_close(engine.dispose)
    return engine


def actor_of(given: str | None, settings: Settings) -> str:
    """`--as`, else the configured actor, else login@host; an e-mail given must parse."""
    from email_validator import EmailNotValidError, validate_email

    candidate = given or settings.actor
    if candidate is None:
        return f"{getpass.getuser()}@{socket.gethostname()}"
    try:
        return validate_email(candidate, check_deliverability=False).normalized
    except EmailNotValidError as exc:
        fail(f"--as {candidate!r} is not an e-mail address: {exc}")


def parse_local_time(option: str, value: str) -> datetime:
    """'YYYY-MM-DD HH:MM' in Copenhagen time, or ISO 8601 with an offset. A Copenhagen time
    that does not exist or occurs twice (the night daylight-saving time begins or ends) is
    refused: it is not one instant."""
    from dispatcher.contacts.rota import wall_clock_problem

    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        fail(f"{option} {value!r} is not a time; write it as 'YYYY-MM-DD HH:MM' (Danish time)")
    if moment.tzinfo is None:
        problem = wall_clock_problem(moment)
        if problem is not None:
            fail(f"{option} {value!r} {problem}")
        moment = moment.replace(tzinfo=COPENHAGEN)
    return moment


def report_daemon(engine: Engine, now: datetime, *, queued: bool) -> None:
    """Say whether what was queued goes out now; without a daemon, that it waits."""
    from dispatcher.daemon.replicas import daemon_running

    if daemon_running(engine, now):
        if queued:
            console.print("The daemon is running and sends the queued notices now.")
    elif queued:
        console.print(
            "[bold yellow]No daemon is running:[/] the action is stored and its notices "
            "will be sent when `dispatcher serve` starts."
        )
    else:
        console.print(
            "[bold yellow]No daemon is running:[/] the action is stored; paging, escalation "
            "and updates wait until `dispatcher serve` starts."
        )
