"""`dispatcher incident report N`: the post-incident report for SDS and KL."""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer

from dispatcher.cli.context import console, fail
from dispatcher.clock import SystemClock


class Format(StrEnum):
    MD = "md"
    HTML = "html"


def report(
    ctx: typer.Context,
    number: Annotated[int, typer.Argument(help="The incident number, as in [FMK-nedbrud #N].")],
    fmt: Annotated[
        Format, typer.Option("--format", help="md (Markdown) or html (prints on A4).")
    ] = Format.MD,
    output: Annotated[
        Path | None,
        typer.Option("--output", "-o", dir_okay=False, help="Write to FILE, not standard output."),
    ] = None,
) -> None:
    """The Danish report after an incident: timeline, times, deliveries, bounces, retries and
    who was never reached; every number from the stored records."""
    from dispatcher.cli.runtime import open_runtime
    from dispatcher.report.load import load
    from dispatcher.report.render import render

    runtime = open_runtime(ctx)
    records = load(runtime.engine, runtime.registry, number)
    if records is None:
        fail(f"there is no incident #{number}")
    text = render(records, fmt.value, SystemClock().now())
    if output is None:
        typer.echo(text, nl=False)
        return
    try:
        output.write_text(text, encoding="utf-8")
    except OSError as exc:
        fail(f"cannot write {output}: {exc.strerror}")
    console.print(
        f"Report on incident #{number} written to {output}.", highlight=False, soft_wrap=True
    )
