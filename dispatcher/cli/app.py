"""The `dispatcher` command: one Typer app, one sub-app per domain."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from dispatcher import logs
from dispatcher.cli.contacts import contacts_app
from dispatcher.cli.context import CliState
from dispatcher.cli.db import db_app
from dispatcher.cli.demo import demo
from dispatcher.cli.doctor import doctor
from dispatcher.cli.errors import ExplainingGroup
from dispatcher.cli.incident import incident_app
from dispatcher.cli.serve import mailcatcher, serve
from dispatcher.cli.status import status
from dispatcher.cli.templates import templates_app

app = typer.Typer(
    name="dispatcher",
    help="FMK outage dispatcher: informs the municipalities and pages MedCom when FMK is down.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    cls=ExplainingGroup,
)
app.add_typer(incident_app, name="incident")
app.add_typer(contacts_app, name="contacts")
app.add_typer(templates_app, name="templates")
app.add_typer(db_app, name="db")
app.command()(serve)
app.command()(status)
app.command()(mailcatcher)
app.command()(demo)
app.command()(doctor)


@app.callback()
def root(
    ctx: typer.Context,
    config: Annotated[
        Path | None,
        typer.Option("--config", help="TOML settings file (default: $DISPATCHER_CONFIG)."),
    ] = None,
    verbose: Annotated[
        bool,
        typer.Option(
            "--verbose",
            "-v",
            help="When a command fails, print the full traceback as well as the explanation "
            "(DISPATCHER_LOG_LEVEL=DEBUG does the same).",
        ),
    ] = False,
) -> None:
    ctx.obj = CliState(config_file=config, verbose=verbose)
    logs.configure("WARNING")


def main() -> None:
    app()
