"""What every CLI command that touches incidents needs: the runtime, the actor, local times."""

from __future__ import annotations

import getpass
import socket
from datetime import datetime
from zoneinfo import ZoneInfo

import typer
from email_validator import EmailNotValidError, validate_email
from sqlalchemy import Engine
from sqlalchemy.engine import make_url
from sqlalchemy.exc import SQLAlchemyError

from dispatcher.cli.context import console, fail, state
from dispatcher.config import Settings
from dispatcher.contacts.registry import RegistryError
from dispatcher.daemon.replicas import daemon_running
from dispatcher.notices.render import TemplateError
from dispatcher.runtime import Runtime, build
from dispatcher.store.migrate import is_current

COPENHAGEN = ZoneInfo("Europe/Copenhagen")


def build_or_fail(settings: Settings) -> Runtime:
    """The runtime, or a plain error naming the bad contact file or template."""
    try:
        return build(settings)
    except (RegistryError, TemplateError) as exc:
        fail(str(exc))


def open_runtime(ctx: typer.Context) -> Runtime:
    """The runtime, or a plain error: bad contacts, bad templates, an unmigrated database."""
    settings = state(ctx).settings
    runtime = build_or_fail(settings)
    # Close the command's database connections when it ends, however it ends.
    ctx.call_on_close(runtime.engine.dispose)
    try:
        current = is_current(runtime.engine)
    except SQLAlchemyError as exc:
        fail(f"cannot use the database {_safe_url(settings)}: {exc}")
    if not current:
        fail(f"the database {_safe_url(settings)} is not migrated: run `dispatcher db upgrade`")
    return runtime


def _safe_url(settings: Settings) -> str:
    return make_url(settings.database_url).render_as_string(hide_password=True)


def actor_of(given: str | None, settings: Settings) -> str:
    """`--as`, else the configured actor, else login@host; an e-mail given must parse."""
    candidate = given or settings.actor
    if candidate is None:
        return f"{getpass.getuser()}@{socket.gethostname()}"
    try:
        return validate_email(candidate, check_deliverability=False).normalized
    except EmailNotValidError as exc:
        fail(f"--as {candidate!r} is not an e-mail address: {exc}")


def parse_local_time(option: str, value: str) -> datetime:
    """'YYYY-MM-DD HH:MM' in Copenhagen time, or ISO 8601 with an offset."""
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        fail(f"{option} {value!r} is not a time; write it as 'YYYY-MM-DD HH:MM' (Danish time)")
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=COPENHAGEN)
    return moment


def report_daemon(engine: Engine, now: datetime) -> None:
    if daemon_running(engine, now):
        console.print("The daemon is running and will send any notices now.")
    else:
        console.print(
            "[bold yellow]No daemon is running:[/] the action is stored and its notices "
            "will be sent when `dispatcher serve` starts."
        )
