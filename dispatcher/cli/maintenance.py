"""`dispatcher maintenance …`: plan FMK maintenance windows and tell the municipalities."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Annotated

import typer
from rich.markup import escape
from rich.table import Table

from dispatcher.cli.context import console, fail, state
from dispatcher.cli.incident import As
from dispatcher.cli.runtime import COPENHAGEN, actor_of, open_runtime, report_daemon
from dispatcher.cli.scoping import scope_from_options
from dispatcher.clock import SystemClock
from dispatcher.contacts.model import EojSystem
from dispatcher.core.maintenance import Change, Schedule, WindowDecision
from dispatcher.core.model import Rejected

if TYPE_CHECKING:
    from dispatcher.contacts.model import Registry
    from dispatcher.contacts.scope import Scope
    from dispatcher.runtime import Runtime

maintenance_app = typer.Typer(
    help="Planned maintenance windows: schedule, change, cancel, list and show them.",
    no_args_is_help=True,
)

Number = Annotated[int, typer.Argument(help="The window's number, as in [FMK-vedligehold #N].")]
Eoj = Annotated[
    list[EojSystem] | None,
    typer.Option(case_sensitive=False, help="Only municipalities on this EOJ system (repeatable)."),
]
Region = Annotated[
    list[str] | None, typer.Option(help="Only municipalities in this region (repeatable).")
]
Codes = Annotated[
    str | None, typer.Option(help="Only these municipality codes, comma-separated: 101,147.")
]


def _window_scope(
    registry: Registry, eoj: list[EojSystem] | None, region: list[str] | None, codes: str | None
) -> Scope | None:
    """A window's scope from the options; an EOJ scope also reaches the municipalities whose
    system is not registered (a maintenance notice errs on telling too many)."""
    return scope_from_options(
        registry,
        eoj=eoj or [],
        regions=region or [],
        codes=codes,
        include_unknown=bool(eoj),
        only_known=False,
    )


def parse_instant(option: str, value: str) -> datetime:
    """'YYYY-MM-DD HH:MM' in Danish time, or ISO 8601 with an offset. A local time that does
    not exist (the hour the clocks skip in spring) or exists twice (the hour repeated in
    autumn) is refused: give the offset then."""
    try:
        moment = datetime.fromisoformat(value.strip())
    except ValueError:
        fail(f"{option} {value!r} is not a time; write it as 'YYYY-MM-DD HH:MM' (Danish time)")
    if moment.tzinfo is not None:
        return moment
    first, second = (moment.replace(tzinfo=COPENHAGEN, fold=fold) for fold in (0, 1))
    if first.utcoffset() != second.utcoffset():
        round_trip = first.astimezone(UTC).astimezone(COPENHAGEN).replace(tzinfo=None)
        problem = "does not exist" if round_trip != moment else "occurs twice"
        fail(
            f"{option} {value!r} {problem} in Danish time (daylight saving changes then); "
            "give the UTC offset, e.g. '2026-10-25T02:30+01:00'"
        )
    return first


def _report(number: int, decision: WindowDecision, what: str) -> None:
    from dispatcher.cli.render import local

    window = decision.window
    console.print(
        f"{what} maintenance window [bold]#{number}[/]: {local(window.starts_at)} to "
        f"{local(window.ends_at)}" + (f" ({escape(window.scope_label)})" if window.scope else ""),
        highlight=False,
    )
    for plan in decision.plans:
        console.print(f"Queued the {plan.kind} notice, due {local(plan.due_at)}.")


def _apply(
    runtime: Runtime, number: int, what: str, do: Callable[[datetime], WindowDecision]
) -> None:
    from dispatcher.notices.render import TemplateError

    now = SystemClock().now()
    try:
        decision = do(now)
    except (Rejected, TemplateError) as exc:
        fail(f"maintenance window #{number}: {exc}")
    _report(number, decision, what)
    report_daemon(runtime.engine, now, queued=True)


@maintenance_app.command()
def schedule(
    ctx: typer.Context,
    starts: Annotated[str, typer.Option("--from", help="Start, 'YYYY-MM-DD HH:MM' Danish time.")],
    ends: Annotated[str, typer.Option("--to", help="End, 'YYYY-MM-DD HH:MM' Danish time.")],
    text: Annotated[str, typer.Option(help="What is done and what it means, in Danish.")],
    eoj: Eoj = None,
    region: Region = None,
    municipalities: Codes = None,
    actor: As = None,
) -> None:
    """Plan a window: announce it now, remind before it, tell when it starts and ends."""
    from dispatcher.maintenance import service
    from dispatcher.notices.render import TemplateError

    runtime = open_runtime(ctx)
    scope = _window_scope(runtime.registry, eoj, region, municipalities)
    request = Schedule(
        actor=actor_of(actor, state(ctx).settings),
        starts_at=parse_instant("--from", starts),
        ends_at=parse_instant("--to", ends),
        text=text,
        scope=scope.codes if scope else (),
        scope_label=scope.label if scope else "",
    )
    now = SystemClock().now()
    try:
        number, decision = service.schedule(runtime.dispatch, request, now)
    except (Rejected, TemplateError) as exc:
        fail(str(exc))
    _report(number, decision, "Scheduled")
    report_daemon(runtime.engine, now, queued=True)


@maintenance_app.command()
def change(
    ctx: typer.Context,
    number: Number,
    starts: Annotated[str | None, typer.Option("--from", help="New start.")] = None,
    ends: Annotated[str | None, typer.Option("--to", help="New end.")] = None,
    text: Annotated[str | None, typer.Option(help="New text.")] = None,
    eoj: Eoj = None,
    region: Region = None,
    municipalities: Codes = None,
    all_municipalities: Annotated[
        bool, typer.Option("--all-municipalities", help="The window concerns all again.")
    ] = False,
    actor: As = None,
) -> None:
    """Move, extend, shorten, rescope or reword a window; everyone concerned is told."""
    from dispatcher.maintenance import service

    runtime = open_runtime(ctx)
    d = runtime.dispatch
    scoped = bool(eoj or region or municipalities)
    if scoped and all_municipalities:
        fail("give --eoj/--region/--municipalities or --all-municipalities, not both")
    scope = _window_scope(runtime.registry, eoj, region, municipalities)
    request = Change(
        actor=actor_of(actor, state(ctx).settings),
        starts_at=parse_instant("--from", starts) if starts else None,
        ends_at=parse_instant("--to", ends) if ends else None,
        text=text,
        scope=(scope.codes if scope else ()) if scoped or all_municipalities else None,
        scope_label=(scope.label if scope else "") if scoped or all_municipalities else None,
    )
    _apply(runtime, number, "Changed", lambda now: service.change(d, number, request, now))


@maintenance_app.command()
def cancel(
    ctx: typer.Context,
    number: Number,
    reason: Annotated[str, typer.Option(help="Why, for the timeline.")] = "",
    actor: As = None,
) -> None:
    """Call off a window that has not started; the municipalities' calendars drop it."""
    from dispatcher.maintenance import service

    runtime = open_runtime(ctx)
    who = actor_of(actor, state(ctx).settings)
    d = runtime.dispatch
    _apply(runtime, number, "Cancelled", lambda now: service.cancel(d, number, who, reason, now))


@maintenance_app.command("list")
def list_(ctx: typer.Context) -> None:
    """Every window, with where it stands now."""
    from dispatcher.cli.render import local
    from dispatcher.maintenance import queries
    from dispatcher.maintenance.mapping import to_window

    runtime = open_runtime(ctx)
    rows = queries.list_windows(runtime.engine)
    if not rows:
        console.print("No maintenance windows.")
        return
    now = SystemClock().now()
    table = Table("#", "state", "from", "to", "scope", "text")
    for row in rows:
        table.add_row(
            str(row.id),
            str(to_window(row).phase(now)),
            local(row.starts_at),
            local(row.ends_at),
            escape(row.scope_label or "alle kommuner"),
            escape(row.text.splitlines()[0] if row.text else ""),
        )
    console.print(table)


@maintenance_app.command()
def show(ctx: typer.Context, number: Number) -> None:
    """One window: its times, scope and text, its timeline, and its notices' deliveries."""
    from dispatcher.cli.render import local
    from dispatcher.maintenance import queries
    from dispatcher.maintenance.mapping import to_window

    runtime = open_runtime(ctx)
    detail = queries.window_detail(runtime.engine, number)
    if detail is None:
        fail(f"there is no maintenance window #{number}")
    row = detail.row
    now = SystemClock().now()
    console.print(
        f"[bold]Maintenance window #{row.id}[/] ({to_window(row).phase(now)}, calendar "
        f"sequence {row.sequence}): {local(row.starts_at)} to {local(row.ends_at)}, "
        f"{escape(row.scope_label or 'alle kommuner')}",
        highlight=False,
    )
    console.print(escape(row.text), highlight=False)
    timeline = Table("at", "who", "what", "")
    for event in detail.events:
        timeline.add_row(local(event.at), escape(event.actor), event.kind, escape(event.text))
    console.print(timeline)
    notices = Table("notice", "kind", "due", "deliveries")
    for item in detail.notices:
        notice = item.notice
        counts = ", ".join(f"{n} {status}" for status, n in sorted(item.counts.items()))
        due = local(notice.due_at) + (" (withdrawn)" if notice.withdrawn_at else "")
        notices.add_row(str(notice.sequence), notice.kind, due, counts or "–")
    console.print(notices)
