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
    from dispatcher.runtime import Runtime

COPENHAGEN = ZoneInfo("Europe/Copenhagen")
CLI_BUSY_TIMEOUT_MS = 5_000  # the daemon's transactions are short; a user should not wait long


def build_or_fail(settings: Settings, engine: Engine | None = None) -> Runtime:
    """The runtime, or a plain error naming the bad contact file or template."""
    from dispatcher.contacts.csvcheck import RegistryError
    from dispatcher.notices.render import TemplateError
    from dispatcher.runtime import build

    try:
        return build(settings, engine)
    except (RegistryError, TemplateError) as exc:
        fail(str(exc))


def open_runtime(ctx: typer.Context) -> Runtime:
    """The runtime on a database whose schema is current. Bad contacts or templates fail
    here; a database that is locked, unreachable or at another schema raises, for
    `dispatcher.cli.errors` to explain. A locked SQLite database fails after
    `CLI_BUSY_TIMEOUT_MS`, not the daemon's longer wait."""
    from dispatcher.store.db import make_engine
    from dispatcher.store.migrate import check_schema

    settings = state(ctx).settings
    engine = make_engine(settings.database_url, busy_timeout_ms=CLI_BUSY_TIMEOUT_MS)
    # Close the command's database connections when it ends, however it ends.
    ctx.call_on_close(engine.dispose)
    runtime = build_or_fail(settings, engine)
    check_schema(runtime.engine)
    return runtime


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
