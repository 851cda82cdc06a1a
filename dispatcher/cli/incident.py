"""`dispatcher incident …`: what MedCom duty staff do during an FMK outage."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape

from dispatcher.cli.context import console, fail, state
from dispatcher.cli.runtime import (
    actor_of,
    open_runtime,
    open_store,
    parse_local_time,
    registry_or_fail,
    report_daemon,
)
from dispatcher.clock import SystemClock
from dispatcher.contacts.model import EojSystem
from dispatcher.core.enums import Release
from dispatcher.core.model import (
    Acknowledge,
    Cancel,
    Confirm,
    Event,
    PostUpdate,
    Rejected,
    Resolve,
    Trigger,
)

incident_app = typer.Typer(help="Trigger, acknowledge, update, resolve and inspect incidents.")

As = Annotated[
    str | None,
    typer.Option("--as", help="Who is acting (e-mail). Default: DISPATCHER_ACTOR or login@host."),
]
Number = Annotated[int, typer.Argument(help="The incident number, as in [FMK-nedbrud #N].")]
TextFile = Annotated[
    Path | None,
    typer.Option(exists=True, dir_okay=False, readable=True, help="Read the text from a file."),
]


def _read(text: str | None, path: Path | None) -> str | None:
    if path is not None:
        try:
            return path.read_text(encoding="utf-8")
        except UnicodeDecodeError as exc:
            fail(f"--guidance-file {path} is not UTF-8 text: {exc}")
    return text


def _guidance(text: str | None, templates_dir: Path) -> str:
    from dispatcher.notices.render import TemplateError, standard_guidance

    if text is not None:
        return text
    try:
        return standard_guidance(templates_dir)
    except TemplateError as exc:
        fail(str(exc))


@incident_app.command()
def trigger(
    ctx: typer.Context,
    summary: Annotated[str, typer.Option(help="One line: what is wrong with FMK.")],
    details: Annotated[str, typer.Option(help="What is known so far.")] = "",
    impact: Annotated[str, typer.Option(help="Known impact for the municipalities.")] = "",
    guidance: Annotated[
        str | None, typer.Option(help="What to do during the downtime (default: the standard).")
    ] = None,
    guidance_file: TextFile = None,
    down_since: Annotated[
        str | None,
        typer.Option(help="When FMK went down, local time 'YYYY-MM-DD HH:MM' (default: now)."),
    ] = None,
    hold: Annotated[
        bool, typer.Option("--hold", help="Do not tell the municipalities until `confirm`.")
    ] = False,
    eoj: Annotated[
        list[EojSystem] | None,
        typer.Option(
            case_sensitive=False,
            help="Only municipalities on this EOJ system (repeatable). If the registry has no "
            "system for some of them, add --include-unknown or --only-known.",
        ),
    ] = None,
    include_unknown: Annotated[
        bool,
        typer.Option(
            "--include-unknown",
            help="With --eoj: also tell the municipalities whose EOJ system is not registered.",
        ),
    ] = False,
    only_known: Annotated[
        bool,
        typer.Option(
            "--only-known",
            help="With --eoj: tell only the municipalities registered with the system.",
        ),
    ] = False,
    region: Annotated[
        list[str] | None,
        typer.Option(help="Only municipalities in this region: code or name (repeatable)."),
    ] = None,
    municipalities: Annotated[
        str | None,
        typer.Option(help="Only these municipality codes, comma-separated: 101,147,151."),
    ] = None,
    drill: Annotated[
        bool,
        typer.Option(
            "--drill",
            help="A drill (ØVELSE): mail goes only to the on-call pair and the drill list.",
        ),
    ] = False,
    drill_municipalities: Annotated[
        bool,
        typer.Option(
            "--drill-municipalities",
            help="With --drill: also mail the municipalities and vendors (marked ØVELSE).",
        ),
    ] = False,
    actor: As = None,
) -> None:
    """Open an incident and, unless held, mail the municipalities with the vendors in Cc: all
    of them, or only those --eoj, --region and --municipalities narrow it to."""
    from dispatcher.cli.render import show_decision
    from dispatcher.cli.scoping import scope_from_options
    from dispatcher.incidents import service
    from dispatcher.notices.render import TemplateError
    from dispatcher.oncall.duty import on_duty_now

    cli = state(ctx)
    if drill_municipalities and not drill:
        fail("--drill-municipalities goes with --drill")
    runtime = open_runtime(ctx)
    scope = scope_from_options(
        runtime.registry,
        eoj=eoj or [],
        regions=region or [],
        codes=municipalities,
        include_unknown=include_unknown,
        only_known=only_known,
    )
    event = Trigger(
        actor=actor_of(actor, cli.settings),
        summary=summary,
        details=details,
        impact=impact,
        guidance=_guidance(_read(guidance, guidance_file), cli.settings.templates_dir),
        down_since=parse_local_time("--down-since", down_since) if down_since else None,
        release=Release.AFTER_CONFIRM if hold else Release.IMMEDIATE,
        drill=drill,
        drill_municipalities=drill_municipalities,
        scope=scope.codes if scope else (),
        scope_label=scope.label if scope else "",
        scope_unknown=scope.unknown_eoj if scope else (),
    )
    now = SystemClock().now()
    try:
        number, decision = service.trigger(runtime.dispatch, event, now)
    except (Rejected, TemplateError) as exc:
        fail(str(exc))
    what = "drill (ØVELSE)" if drill else "incident"
    console.print(
        f"Opened {what} [bold]#{number}[/]: {escape(decision.incident.summary)}",
        highlight=False,
    )
    show_decision(decision, on_duty_now(runtime.engine, runtime.registry, now))
    if hold and not decision.notices:
        console.print(
            f"The initial notice is held: the municipalities are told only when you run "
            f"`dispatcher incident confirm {number}`."
        )
    report_daemon(runtime.engine, now, queued=bool(decision.notices))


def _apply(
    ctx: typer.Context, number: int, actor: str | None, make: Callable[[str], Event]
) -> None:
    from dispatcher.cli.render import describe_action, show_decision
    from dispatcher.incidents import service
    from dispatcher.notices.render import TemplateError
    from dispatcher.oncall.duty import on_duty_now

    cli = state(ctx)
    runtime = open_runtime(ctx)
    now = SystemClock().now()
    event = make(actor_of(actor, cli.settings))
    try:
        decision = service.apply(runtime.dispatch, number, event, now)
    except (Rejected, TemplateError) as exc:
        text = str(exc)
        fail(text if f"#{number}" in text else f"incident #{number}: {text}")
    console.print(describe_action(number, event, decision), highlight=False)
    show_decision(decision, on_duty_now(runtime.engine, runtime.registry, now))
    report_daemon(runtime.engine, now, queued=bool(decision.notices))


@incident_app.command()
def ack(ctx: typer.Context, number: Number, actor: As = None) -> None:
    """Take ownership of the incident."""
    _apply(ctx, number, actor, Acknowledge)


@incident_app.command()
def confirm(
    ctx: typer.Context,
    number: Number,
    summary: Annotated[str | None, typer.Option(help="Replace the summary.")] = None,
    details: Annotated[str | None, typer.Option(help="Replace the details.")] = None,
    impact: Annotated[str | None, typer.Option(help="Replace the impact.")] = None,
    guidance: Annotated[str | None, typer.Option(help="Replace the guidance.")] = None,
    guidance_file: TextFile = None,
    actor: As = None,
) -> None:
    """Send the held initial notice to the municipalities, optionally with edited text."""
    text = _read(guidance, guidance_file)
    _apply(
        ctx,
        number,
        actor,
        lambda who: Confirm(who, summary, details, impact, text),
    )


@incident_app.command()
def update(
    ctx: typer.Context,
    number: Number,
    message: Annotated[str, typer.Option(help="What has changed, in Danish.")],
    actor: As = None,
) -> None:
    """Send an update now; the next scheduled update counts from now."""
    _apply(ctx, number, actor, lambda who: PostUpdate(who, message))


@incident_app.command()
def resolve(
    ctx: typer.Context,
    number: Number,
    message: Annotated[str | None, typer.Option(help="An extra note for the all-clear.")] = None,
    up_since: Annotated[
        str | None,
        typer.Option(help="When FMK came back, local 'YYYY-MM-DD HH:MM' (default: now)."),
    ] = None,
    actor: As = None,
) -> None:
    """FMK runs again: close the incident and send the all-clear."""

    fmk_up_since = parse_local_time("--up-since", up_since) if up_since else None
    _apply(ctx, number, actor, lambda who: Resolve(who, message, fmk_up_since))


@incident_app.command()
def cancel(
    ctx: typer.Context,
    number: Number,
    reason: Annotated[str, typer.Option(help="Why this was a false alarm.")],
    actor: As = None,
) -> None:
    """A false alarm: close the incident; municipalities already told get a correction."""
    _apply(ctx, number, actor, lambda who: Cancel(who, reason))


@incident_app.command("list")
def list_(
    ctx: typer.Context,
    open_only: Annotated[bool, typer.Option("--open", help="Only open incidents.")] = False,
) -> None:
    """List incidents, newest first."""
    from dispatcher.cli.listing import list_incidents, show_list

    show_list(list_incidents(open_store(ctx), include_closed=not open_only))


@incident_app.command()
def show(ctx: typer.Context, number: Number) -> None:
    """The timeline and the delivery status for each municipality and vendor."""
    from dispatcher.cli.render import show_detail
    from dispatcher.incidents import queries

    registry = registry_or_fail(state(ctx).settings)
    detail = queries.incident_detail(open_store(ctx), number)
    if detail is None:
        fail(f"there is no incident #{number}")
    show_detail(detail, registry)
