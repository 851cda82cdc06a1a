"""Run `dispatcher` in-process against the test database, the repository's contacts and templates
and the loopback SMTP server; read back what it stored."""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from sqlalchemy import Engine, func, select
from sqlmodel import col
from typer.testing import CliRunner, Result

from dispatcher.cli.app import app
from dispatcher.mailcatcher import MailCatcher
from dispatcher.store.db import transaction
from dispatcher.store.tables import DeliveryRow, IncidentRow, MessageRow, NoticeRow, TimelineRow
from tests.conftest import CONTACTS, TEMPLATES

DUTY = "vagt@medcom.dk"
TABLES = (IncidentRow, TimelineRow, NoticeRow, MessageRow, DeliveryRow)


@dataclass
class Cli:
    """`dispatcher …` with the test settings in its environment."""

    env: dict[str, str | None]
    engine: Engine

    def __call__(self, *args: str, **env: str | None) -> Result:
        return CliRunner().invoke(app, list(args), env={**self.env, **env})

    def ok(self, *args: str, **env: str | None) -> str:
        """Run a command that must succeed; its standard output."""
        result = self(*args, **env)
        assert result.exit_code == 0, (result.output, result.exception)
        return result.stdout

    def row_counts(self) -> dict[str, int]:
        with transaction(self.engine) as session:
            return {
                table.__tablename__: session.scalar(select(func.count()).select_from(table)) or 0
                for table in TABLES
            }

    def incident(self, number: int) -> IncidentRow:
        with transaction(self.engine) as session:
            row = session.get(IncidentRow, number)
        assert row is not None
        return row

    def timeline(self, number: int) -> list[TimelineRow]:
        with transaction(self.engine) as session:
            return list(
                session.scalars(
                    select(TimelineRow)
                    .where(col(TimelineRow.incident_id) == number)
                    .order_by(col(TimelineRow.id))
                )
            )

    def notices(self, number: int) -> list[NoticeRow]:
        with transaction(self.engine) as session:
            return list(
                session.scalars(
                    select(NoticeRow)
                    .where(col(NoticeRow.incident_id) == number)
                    .order_by(col(NoticeRow.sequence))
                )
            )


def env_for(database_url: str, smtp_port: int = 1025) -> dict[str, str | None]:
    return {
        "DISPATCHER_CONFIG": None,
        "DISPATCHER_DATABASE_URL": database_url,
        "DISPATCHER_CONTACTS_DIR": str(CONTACTS),
        "DISPATCHER_TEMPLATES_DIR": str(TEMPLATES),
        "DISPATCHER_SMTP_HOST": "127.0.0.1",
        "DISPATCHER_SMTP_PORT": str(smtp_port),
        "DISPATCHER_ACTOR": DUTY,
        # Wide enough that rich neither wraps nor cuts the tables.
        "COLUMNS": "220",
    }


@pytest.fixture
def cli(database_url: str, engine: Engine, smtp: MailCatcher) -> Cli:
    return Cli(env_for(database_url, smtp.port), engine)


def table_rows(output: str, border: str = "│") -> list[list[str]]:
    """The body rows (with `border="┃"`: the header rows) of the rich tables in `output`, as
    lists of stripped cells."""
    return [
        [cell.strip() for cell in line.split(border)[1:-1]]
        for line in output.splitlines()
        if line.startswith(border)
    ]
