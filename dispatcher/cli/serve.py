"""`dispatcher serve` and `dispatcher mailcatcher`."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Annotated

import typer

from dispatcher.cli.context import console, fail, state


def serve(ctx: typer.Context) -> None:
    """Run the daemon: send notices, keep the 2-hour cadence, serve HTTP."""
    import asyncio

    import structlog

    from dispatcher import logs
    from dispatcher.cli.runtime import build_or_fail
    from dispatcher.clock import SystemClock
    from dispatcher.daemon.serve import Daemon, DaemonFailed
    from dispatcher.runtime import refusals, settings_warnings

    settings = state(ctx).settings
    runtime = build_or_fail(settings)
    problems = refusals(settings, runtime.registry)
    if problems:
        fail("refusing to start:\n  " + "\n  ".join(problems))
    logs.configure(settings.log_level, verbose=state(ctx).verbose)
    log = structlog.get_logger(__name__)
    for problem in settings_warnings(settings):
        log.warning("settings.warning", problem=problem)
    try:
        asyncio.run(Daemon(runtime, SystemClock()).run())
    except DaemonFailed as exc:
        fail(str(exc))


def mailcatcher(
    port: Annotated[int, typer.Option(help="Port on 127.0.0.1.")] = 1025,
    folder: Annotated[Path, typer.Option(help="Where to save .eml files.")] = Path("var/mail"),
) -> None:
    """A local SMTP server that saves every message it gets as a file; it relays nothing."""
    from dispatcher.mailcatcher import LOOPBACK, CatcherHandler, MailCatcher

    with MailCatcher(CatcherHandler(folder), host=LOOPBACK, port=port):
        console.print(f"Catching mail on {LOOPBACK}:{port} into {folder}/ (Ctrl+C stops).")
        try:
            while True:
                time.sleep(3600)
        except KeyboardInterrupt:
            console.print("Stopped.")
