"""`dispatcher oncall …`: who is on call, the week ahead, and overrides of the rota."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Annotated

import typer
from rich.markup import escape
from rich.table import Table

from dispatcher.cli.context import console, fail, state
from dispatcher.cli.incident import As
from dispatcher.clock import SystemClock
from dispatcher.contacts.model import Person, Registry
from dispatcher.contacts.rota import WEEK

if TYPE_CHECKING:
    from sqlalchemy import Engine

    from dispatcher.contacts.rota import Duty
    from dispatcher.store.tables import OncallOverrideRow

oncall_app = typer.Typer(
    help="Who is on call: the rota (rota.csv in the contacts folder) and its overrides.",
    no_args_is_help=True,
)

LOOKAHEAD = 8 * WEEK  # how far `now` looks for the next change


@oncall_app.command("now")
def now_(
    ctx: typer.Context,
    at: Annotated[
        str | None, typer.Option(help="At this time instead: local 'YYYY-MM-DD HH:MM'.")
    ] = None,
) -> None:
    """Who is on call now (or --at a time), why, and who comes next."""
    from dispatcher.cli.render import local
    from dispatcher.cli.runtime import open_runtime, parse_local_time
    from dispatcher.oncall.duty import shifts_between

    runtime = open_runtime(ctx)
    moment = parse_local_time("--at", at) if at else SystemClock().now()
    found = shifts_between(runtime.engine, runtime.registry, moment, moment + LOOKAHEAD)
    current = found[0]
    console.print(
        f"On call at {local(moment)} ({_why(runtime.registry, current.duty)}):", highlight=False
    )
    for person in current.duty.people:
        console.print(f"  {_person(person)}", highlight=False)
    if len(found) > 1:
        console.print(
            f"From {local(found[1].starts_at)}: {escape(_names(found[1].duty.people))} "
            f"({_why(runtime.registry, found[1].duty)}).",
            highlight=False,
        )
    else:
        console.print(f"No change before {local(current.ends_at)}.")


@oncall_app.command()
def show(
    ctx: typer.Context,
    week: Annotated[
        bool, typer.Option("--week", help="The shifts of the coming week, overrides applied.")
    ] = False,
    start: Annotated[
        str | None,
        typer.Option("--from", help="With --week: start here, local 'YYYY-MM-DD HH:MM'."),
    ] = None,
    weeks: Annotated[int, typer.Option(min=1, max=52, help="With --week: this many weeks.")] = 1,
) -> None:
    """The rota: its weeks and handover; with --week, who is on call hour by hour."""
    from dispatcher.cli.runtime import open_runtime, parse_local_time

    runtime = open_runtime(ctx)
    now = SystemClock().now()
    if not week:
        if start is not None or weeks != 1:
            fail("--from and --weeks go with --week")
        _show_rota(runtime.registry, now)
        return
    begin = parse_local_time("--from", start) if start else now
    _show_shifts(runtime.engine, runtime.registry, begin, begin + weeks * WEEK)


def _show_shifts(engine: Engine, registry: Registry, start: datetime, end: datetime) -> None:
    from dispatcher.cli.render import local
    from dispatcher.oncall.duty import shifts_between

    table = Table("from", "until", "on call", "why", title="On call")
    for shift in shifts_between(engine, registry, start, end):
        table.add_row(
            local(shift.starts_at),
            local(shift.ends_at),
            escape(_names(shift.duty.people)),
            escape(_why(registry, shift.duty)),
        )
    console.print(table)


def _show_rota(registry: Registry, now: datetime) -> None:
    from dispatcher.cli.render import local

    rota = registry.rota
    if rota is None:
        console.print(
            "No rota (no rota.csv in the contacts folder): every on-call person of "
            f"escalation.csv is on call at all times: {escape(_names(registry.escalation.staff))}.",
            highlight=False,
        )
        return
    current = rota.week(rota.week_number(now))
    console.print(
        f"Handover every {rota.first:%A} at {rota.first:%H:%M} (Copenhagen time); "
        f"{len(rota.weeks)} week(s) in the cycle, now week {current + 1}.",
        highlight=False,
    )
    table = Table("week", "first started", "on call")
    for index, people in enumerate(rota.weeks):
        mark = " ←" if index == current else ""
        first = rota.handover(index)
        table.add_row(f"{index + 1}{mark}", local(first), escape(_names(people)))
    console.print(table)


@oncall_app.command()
def override(
    ctx: typer.Context,
    person: Annotated[str, typer.Argument(help="Who is on call instead (e-mail).")],
    to: Annotated[str, typer.Option("--to", help="Until when, local 'YYYY-MM-DD HH:MM'.")],
    start: Annotated[
        str | None,
        typer.Option("--from", help="From when, local 'YYYY-MM-DD HH:MM' (default: now)."),
    ] = None,
    replaces: Annotated[
        str | None,
        typer.Option(help="In this person's place (e-mail); without it, in addition."),
    ] = None,
    reason: Annotated[str, typer.Option(help="Why, for the record (e.g. 'ferie').")] = "",
    actor: As = None,
) -> None:
    """Put PERSON on call for a while, in addition to the rota's people or, with --replaces,
    in one person's place while that person would be on call."""
    from dispatcher.cli.runtime import actor_of, open_runtime, parse_local_time
    from dispatcher.oncall import overrides

    cli = state(ctx)
    runtime = open_runtime(ctx)
    now = SystemClock().now()
    request = overrides.Request(
        person=person,
        starts_at=parse_local_time("--from", start) if start else now,
        ends_at=parse_local_time("--to", to),
        replaces=replaces,
        reason=reason,
    )
    try:
        row = overrides.create(
            runtime.engine, runtime.registry, request, actor=actor_of(actor, cli.settings), now=now
        )
    except overrides.OverrideRejected as exc:
        fail(str(exc))
    console.print(
        f"Override #{row.id}: {escape(_describe(runtime.registry, row))}.", highlight=False
    )
    _show_shifts(runtime.engine, runtime.registry, row.starts_at, row.ends_at)


@oncall_app.command("overrides")
def list_overrides(
    ctx: typer.Context,
    everything: Annotated[
        bool, typer.Option("--all", help="Also the ended and removed overrides.")
    ] = False,
) -> None:
    """The overrides in force and to come (--all: every one ever made)."""
    from dispatcher.cli.render import local
    from dispatcher.cli.runtime import open_runtime
    from dispatcher.oncall import overrides

    runtime = open_runtime(ctx)
    now = SystemClock().now()
    rows = overrides.listed(runtime.engine, now=now, everything=everything)
    if not rows:
        console.print("No overrides." if everything else "No overrides in force or to come.")
        return
    table = Table("#", "on call", "in place of", "from", "until", "state", "made by", "reason")
    for row in rows:
        table.add_row(
            str(row.id),
            escape(_name(runtime.registry, row.person)),
            escape(_name(runtime.registry, row.replaces) if row.replaces else "–"),
            local(row.starts_at),
            local(row.ends_at),
            _state(row, now),
            escape(row.created_by),
            escape(row.reason or "–"),
        )
    console.print(table)


@oncall_app.command()
def remove(
    ctx: typer.Context,
    number: Annotated[int, typer.Argument(help="The override's number (`oncall overrides`).")],
    actor: As = None,
) -> None:
    """Remove an override that is in force or to come: the rota applies again."""
    from dispatcher.cli.runtime import actor_of, open_runtime
    from dispatcher.oncall import overrides

    cli = state(ctx)
    runtime = open_runtime(ctx)
    try:
        row = overrides.remove(
            runtime.engine, number, actor=actor_of(actor, cli.settings), now=SystemClock().now()
        )
    except overrides.OverrideRejected as exc:
        fail(str(exc))
    console.print(
        f"Removed override #{number} ({escape(_describe(runtime.registry, row))}).",
        highlight=False,
    )


def _state(row: OncallOverrideRow, now: datetime) -> str:
    from dispatcher.cli.render import local

    if row.removed_at is not None:
        return f"removed {local(row.removed_at)} by {escape(row.removed_by or '?')}"
    if row.ends_at <= now:
        return "ended"
    return "[green]in force[/]" if row.starts_at <= now else "to come"


def _describe(registry: Registry, row: OncallOverrideRow) -> str:
    from dispatcher.cli.render import local

    instead = f" in place of {_name(registry, row.replaces)}" if row.replaces else ""
    return (
        f"{_name(registry, row.person)} is on call{instead} from {local(row.starts_at)} "
        f"until {local(row.ends_at)}"
    )


def _why(registry: Registry, duty: Duty) -> str:
    if registry.rota is None:
        what = "no rota: all on-call staff"
    else:
        what = f"rota week {duty.week + 1} of {len(registry.rota.weeks)}"
    if duty.overrides:
        what += ", override " + ", ".join(f"#{n}" for n in duty.overrides)
    return what


def _name(registry: Registry, email: str) -> str:
    from dispatcher.oncall.duty import staff_member

    found = staff_member(registry, email)
    return found.name if found is not None else email


def _person(person: Person) -> str:
    return f"{escape(person.name)} <{escape(person.email)}>"


def _names(people: tuple[Person, ...]) -> str:
    return ", ".join(person.name for person in people) or "nobody"
