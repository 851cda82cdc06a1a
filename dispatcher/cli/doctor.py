"""`dispatcher doctor`: check the installation, one line per check, exit 1 on any failure."""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import asdict
from typing import TYPE_CHECKING, Annotated

import typer
from rich.markup import escape

from dispatcher.cli.context import console, state
from dispatcher.clock import SystemClock

if TYPE_CHECKING:
    from dispatcher.doctor.result import CheckResult

# By `doctor.result.Status` value (importing `dispatcher.doctor` here would load every check).
MARKS = {"pass": "[green]✓[/]", "warn": "[yellow]![/]", "fail": "[bold red]✗[/]"}


def doctor(
    ctx: typer.Context,
    as_json: Annotated[
        bool, typer.Option("--json", help="Print the results as JSON instead of a list.")
    ] = False,
) -> None:
    """Check the configuration, database and migrations, SMTP (reachability, TLS, login),
    placeholder contacts, the SMS gateway and the bounce mailbox if configured, that every
    template renders for every recipient, and the clock.

    Sends no mail and changes nothing. Exits 1 if any check fails; warnings do not count."""
    from dispatcher.doctor import any_failed, diagnose

    cli = state(ctx)
    results = diagnose(cli.config_file, SystemClock(), cli.folders)
    if as_json:
        typer.echo(json.dumps(as_document(results), ensure_ascii=False, indent=2))
    else:
        for result in results:
            print_result(result)
        console.print(summary(results), highlight=False, soft_wrap=True)
    if any_failed(results):
        raise typer.Exit(1)


def print_result(result: CheckResult) -> None:
    from dispatcher.doctor.result import Status

    lines = [f"{MARKS[result.status]} [bold]{escape(result.name)}[/]: {escape(result.message)}"]
    lines += [f"    {escape(detail)}" for detail in result.details]
    if result.fix is not None and result.status is not Status.PASS:
        lines.append(f"    [bold]fix:[/] {escape(result.fix)}")
    console.print("\n".join(lines), highlight=False, soft_wrap=True)


def summary(results: list[CheckResult]) -> str:
    from dispatcher.doctor.result import Status

    counts = Counter(result.status for result in results)
    tally = (
        f"{counts[Status.PASS]} passed, {counts[Status.WARN]} warning(s), "
        f"{counts[Status.FAIL]} failed"
    )
    if counts[Status.FAIL]:
        return f"[bold red]Not ready:[/] {tally}"
    return f"[bold green]Ready:[/] {tally}"


def as_document(results: list[CheckResult]) -> dict[str, object]:
    from dispatcher.doctor import any_failed
    from dispatcher.doctor.result import Status

    counts = Counter(str(result.status) for result in results)
    return {
        "ok": not any_failed(results),
        "counts": {str(status): counts[str(status)] for status in Status},
        "checks": [asdict(result) for result in results],
    }
