"""The `dispatcher` command: one Typer app, one sub-app per domain."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from dispatcher.cli.bounces import bounces_app
from dispatcher.cli.contacts import contacts_app
from dispatcher.cli.context import CliState
from dispatcher.cli.db import db_app
from dispatcher.cli.delivery import delivery_app
from dispatcher.cli.demo import demo
from dispatcher.cli.doctor import doctor
from dispatcher.cli.errors import ExplainingGroup
from dispatcher.cli.incident import incident_app
from dispatcher.cli.init import init
from dispatcher.cli.maintenance import maintenance_app
from dispatcher.cli.oncall import oncall_app
from dispatcher.cli.receipts import receipts
from dispatcher.cli.report import report
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
incident_app.command()(report)
incident_app.command()(receipts)
app.add_typer(incident_app, name="incident")
app.add_typer(maintenance_app, name="maintenance")
app.add_typer(contacts_app, name="contacts")
app.add_typer(templates_app, name="templates")
app.add_typer(db_app, name="db")
app.add_typer(oncall_app, name="oncall")
app.add_typer(bounces_app, name="bounces")
app.add_typer(delivery_app, name="delivery")
app.command()(serve)
app.command()(status)
app.command()(mailcatcher)
app.command()(demo)
app.command()(doctor)
app.command()(init)


@app.callback()
def root(
    ctx: typer.Context,
    config: Annotated[
        Path | None,
        typer.Option("--config", help="TOML settings file (default: $DISPATCHER_CONFIG)."),
    ] = None,
    contacts_dir: Annotated[
        Path | None,
        typer.Option(
            help="Contact registry folder (default: $DISPATCHER_CONTACTS_DIR, the config file, "
            "else the packaged copy)."
        ),
    ] = None,
    templates_dir: Annotated[
        Path | None,
        typer.Option(
            help="Templates folder (default: $DISPATCHER_TEMPLATES_DIR, the config file, else "
            "the packaged copy)."
        ),
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
    given = {"contacts_dir": contacts_dir, "templates_dir": templates_dir}
    folders = {name: path for name, path in given.items() if path is not None}
    ctx.obj = CliState(config_file=config, folders=folders, verbose=verbose)
    from dispatcher import logs

    logs.configure("WARNING")


def main() -> None:
    app()
