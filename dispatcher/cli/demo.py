"""`dispatcher demo`: the whole plan in under a minute, on embedded defaults."""

from __future__ import annotations

from dataclasses import replace
from typing import Annotated

import typer

from dispatcher.cli.context import console, fail, state


def demo(
    ctx: typer.Context,
    port: Annotated[
        int | None,
        typer.Option(min=1, max=65535, help="HTTP port on 127.0.0.1 (default: a free one)."),
    ] = None,
    serve: Annotated[
        bool,
        typer.Option("--serve", help="Keep the daemon running afterwards to browse /status."),
    ] = False,
) -> None:
    """Play an FMK outage from SDS's signal to the all-clear, with a fast-forwarded clock.

    The real daemon runs against SQLite in var/demo.db (recreated), mails its own catcher on
    loopback, which saves every message under var/mail/, and pages by SMS through its own fake
    gateway on loopback. Nothing leaves this machine.
    """
    import asyncio

    from dispatcher import logs
    from dispatcher.cli.runtime import build_or_fail
    from dispatcher.demo import workspace
    from dispatcher.demo.clock import DemoClock
    from dispatcher.demo.run import play
    from dispatcher.demo.scenario import LENGTH
    from dispatcher.demo.stage import DemoFailed
    from dispatcher.mailcatcher import LOOPBACK, CatcherHandler, MailCatcher, free_port
    from dispatcher.paging.fake_gateway import FakeGateway

    configured = state(ctx).settings
    problems = workspace.missing_folders(configured)
    if problems:
        fail("cannot run the demo: " + "; ".join(problems))
    try:
        reset = workspace.reset()
    except workspace.WorkspaceError as exc:
        fail(str(exc))
    if reset.messages:
        console.print(f"Removed {reset.messages} old messages from {workspace.MAIL}/.")
    catcher = MailCatcher(CatcherHandler(workspace.MAIL), host=LOOPBACK)
    gateway = FakeGateway(token=workspace.SMS_TOKEN, webhook_secret=workspace.SMS_SECRET)
    settings = workspace.demo_settings(
        configured, smtp_port=catcher.port, http_port=port or free_port(), sms_url=gateway.url
    )
    if not settings.smtp_is_loopback():
        fail(f"refusing to mail {settings.smtp_host}: the demo mails only its own catcher")
    built = build_or_fail(settings)
    runtime = replace(built, registry=workspace.with_phones(built.registry))
    with workspace.LOG.open("w", encoding="utf-8") as log:
        logs.configure("INFO", stream=log)
        console.print(
            f"Demo: mail to {LOOPBACK}:{catcher.port} (saved in {workspace.MAIL}/), "
            f"database {workspace.DATABASE}, log {workspace.LOG}.",
            highlight=False,
            soft_wrap=True,
        )
        try:
            with catcher, gateway:
                clock = DemoClock(behind=LENGTH)
                asyncio.run(play(runtime, clock, catcher, gateway, console, serve=serve))
        except DemoFailed as exc:
            fail(f"the demo failed: {exc} (see {workspace.LOG})")
        finally:
            runtime.engine.dispose()
