"""The demo from start to end: catcher, daemon, the plan's steps with a progress display, the
closing table, and where to look at the result."""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from datetime import datetime, timedelta

from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, SpinnerColumn, TextColumn

from dispatcher.demo.clock import DemoClock
from dispatcher.demo.scenario import STEPS, Play
from dispatcher.demo.stage import Stage, running
from dispatcher.demo.summary import KindTotals, Summary, summarize, table, timing_lines, totals
from dispatcher.demo.workspace import DATABASE_URL, MAIL
from dispatcher.mailcatcher import MailCatcher
from dispatcher.notices.timefmt import to_local
from dispatcher.paging.fake_gateway import FakeGateway
from dispatcher.runtime import Runtime


async def play(
    runtime: Runtime,
    clock: DemoClock,
    catcher: MailCatcher,
    gateway: FakeGateway,
    console: Console,
    *,
    serve: bool,
) -> Summary:
    """Run the plan against the real daemon; with `serve`, keep it running afterwards until it
    is stopped (Ctrl+C). The summary of what was sent."""
    began = time.monotonic()
    async with running(runtime, clock, catcher, gateway) as stage:
        scene = Play(stage, runtime.registry, start=clock.now())
        await _steps(scene, console)
        summary = summarize(
            runtime.engine,
            scene.number(),
            municipalities=len(runtime.registry.municipalities),
            real_elapsed=timedelta(seconds=time.monotonic() - began),
        )
        report(summary, console, stage, incident=scene.number(), serve=serve)
        if serve:
            await asyncio.wait({stage.task})
            console.print("Stopped.")
    return summary


async def _steps(scene: Play, console: Console) -> None:
    columns = (
        SpinnerColumn(),
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
    )
    with Progress(*columns, console=console, transient=True) as progress:
        steps = progress.add_task("Steps", total=len(STEPS))
        mail = progress.add_task("Deliveries", total=0)

        def show(finished: int, queued: int) -> None:
            progress.update(mail, completed=finished, total=queued)

        before = totals(scene.stage.runtime.engine)
        for step in STEPS:
            what = step.describe(scene.registry)
            progress.update(steps, description=f"Steps: {escape(what)}")
            await step.act(scene)
            moment = scene.stage.clock.now()
            after = await scene.stage.delivered(before, step.expect, what, show)
            console.print(_line(moment, what, before, after), highlight=False)
            before = after
            progress.advance(steps)


def _line(moment: datetime, what: str, before: list[KindTotals], after: list[KindTotals]) -> str:
    """'03:15  … → page ×3' : the simulated Copenhagen time, the step, what was delivered."""
    sent = Counter({t.kind: t.delivered for t in after})
    sent.subtract({t.kind: t.delivered for t in before})
    done = ", ".join(f"{kind} ×{count}" for kind, count in sent.items() if count > 0)
    arrow = f" [dim]→ {done}[/]" if done else ""
    return f"[bold]{to_local(moment):%H:%M}[/]  {escape(what)}{arrow}"


def report(summary: Summary, console: Console, stage: Stage, *, incident: int, serve: bool) -> None:
    """The closing table, the timings, and where the mail and the status page are."""
    console.print()
    console.print(table(summary))
    for line in timing_lines(summary):
        console.print(line, highlight=False)
    console.print()
    console.print(f"SMS at the demo's own gateway on loopback ({len(stage.gateway.sent)}):")
    for sms in stage.gateway.sent:
        console.print(f"  {sms.msisdn}: {escape(sms.message)}", highlight=False, soft_wrap=True)
    console.print()
    messages = len(list(MAIL.glob("*.eml")))
    console.print(
        f"Mail folder: {MAIL}/ ({messages} .eml files, {MAIL.resolve()})",
        highlight=False,
        soft_wrap=True,
    )
    if serve:
        console.print(
            f"Status page: {stage.base}/status (the daemon keeps running; Ctrl+C stops it)",
            highlight=False,
            soft_wrap=True,
        )
        return
    console.print(
        f"Who confirmed receipt: `DISPATCHER_DATABASE_URL={DATABASE_URL} dispatcher incident "
        f"receipts {incident}`",
        highlight=False,
        soft_wrap=True,
    )
    console.print(
        f"Status page: run `DISPATCHER_DATABASE_URL={DATABASE_URL} dispatcher serve`, then "
        "open http://127.0.0.1:8080/status (or run `dispatcher demo --serve`)",
        highlight=False,
        soft_wrap=True,
    )
