"""The report from the stored records: the loader reads what the services wrote, on both
backends, and `dispatcher incident report` prints or writes it."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from sqlalchemy import Engine, update
from sqlmodel import col
from typer.testing import CliRunner

from dispatcher.cli.app import app
from dispatcher.config import Settings
from dispatcher.contacts.model import Registry
from dispatcher.core.model import Acknowledge
from dispatcher.incidents import service
from dispatcher.outbox.sender import Sender
from dispatcher.report.figures import Spread, compute
from dispatcher.report.load import load
from dispatcher.store.db import transaction
from dispatcher.store.tables import DeliveryRow, DeliveryStatus, ReceiptRow, SignalRow
from tests.support.clock import FakeClock
from tests.support.drain import drain
from tests.support.incidents import fmk_down

MINUTE = timedelta(minutes=1)


async def an_incident(
    dispatch: service.Dispatch, sender: Sender, engine: Engine, clock: FakeClock
) -> int:
    """SDS's signal at T0, the incident opened a minute later and its notice sent at once,
    acknowledged at T0 + 6 min, and Ærø's mailbox bounced it."""
    signal_at = clock.now()
    clock.advance(MINUTE)
    number, _ = service.trigger(dispatch, fmk_down(), clock.now())
    with transaction(engine) as session:
        session.add(
            SignalRow(
                event_id="sds-4711",
                kind="outage",
                received_at=signal_at,
                body_sha256="0" * 64,
                incident_id=number,
                response="{}",
            )
        )
    await drain(sender, engine, clock)
    clock.set(signal_at + 6 * MINUTE)
    service.apply(dispatch, number, Acknowledge("khs@medcom.dk"), clock.now())
    with transaction(engine) as session:
        session.execute(
            update(DeliveryRow)
            .where(col(DeliveryRow.recipient) == "fmk-beredskab@aeroe.kommune.example")
            .values(status=DeliveryStatus.BOUNCED, dsn_status="5.1.1", dsn_diagnostic="no such")
        )
    return number


class TestTheLoader:
    """What the services stored is what the report counts."""

    async def test_the_figures_of_a_stored_incident(
        self,
        dispatch: service.Dispatch,
        sender: Sender,
        engine: Engine,
        clock: FakeClock,
        registry: Registry,
    ) -> None:
        start = clock.now()
        number = await an_incident(dispatch, sender, engine, clock)
        records = load(engine, registry, number)
        assert records is not None
        figures = compute(records)
        assert figures.start == start
        assert figures.started_by_signal
        assert figures.to_first_page is None  # opened from the CLI: nobody was paged
        assert figures.to_acknowledgement == 6.0
        [initial] = figures.notices
        # Sent within the drain, a minute after the signal (the fake clock does not move
        # while nothing waits); Ærø bounced.
        assert (initial.reached, initial.of) == (97, 98)
        assert initial.spread == Spread(count=97, median=1.0, p95=1.0, worst=1.0)
        assert initial.not_reached == ("Ærø Kommune",)
        assert figures.never_reached == ("Ærø Kommune",)
        assert [(b.name, b.said) for b in figures.bounces] == [("Ærø Kommune", "5.1.1 no such")]
        assert figures.retries == 0
        assert (figures.confirmations, len(figures.not_confirmed)) == (0, 98)

    async def test_confirmations_by_the_registrys_names(
        self,
        dispatch: service.Dispatch,
        sender: Sender,
        engine: Engine,
        clock: FakeClock,
        registry: Registry,
    ) -> None:
        """Read from the receipt table, named as the registry names them; a code the registry
        no longer has is counted and named by its code."""
        start = clock.now()
        number = await an_incident(dispatch, sender, engine, clock)
        with transaction(engine) as session:
            for code, after in ((825, 20), (101, 10), (999, 30)):
                at = start + after * MINUTE
                session.add(
                    ReceiptRow(
                        incident_id=number,
                        municipality_code=code,
                        confirmed_at=at,
                        link_issued_at=start,
                    )
                )
        records = load(engine, registry, number)
        assert records is not None
        assert records.receipts == (
            ("Københavns Kommune", start + 10 * MINUTE),
            ("Læsø Kommune", start + 20 * MINUTE),
            ("kommune 999", start + 30 * MINUTE),
        )
        figures = compute(records)
        assert (figures.confirmations, figures.to_confirmation_median) == (3, 20.0)
        assert len(figures.not_confirmed) == 96
        assert "Læsø Kommune" not in figures.not_confirmed

    def test_no_such_incident(self, engine: Engine, registry: Registry) -> None:
        assert load(engine, registry, 99) is None


class TestTheCommand:
    """`dispatcher incident report N [--format md|html] [-o FILE]`."""

    async def test_print_and_write(
        self,
        dispatch: service.Dispatch,
        sender: Sender,
        engine: Engine,
        clock: FakeClock,
        settings: Settings,
        tmp_path: Path,
    ) -> None:
        number = await an_incident(dispatch, sender, engine, clock)
        env = {
            "DISPATCHER_DATABASE_URL": settings.database_url,
            "DISPATCHER_CONTACTS_DIR": str(settings.contacts_dir),
            "DISPATCHER_TEMPLATES_DIR": str(settings.templates_dir),
        }
        shown = CliRunner().invoke(app, ["incident", "report", str(number)], env=env)
        assert shown.exit_code == 0, shown.output
        assert shown.stdout.startswith(f"# Rapport efter FMK-nedbrud #{number}\n")
        assert "| kvittering | 6,0 |" in shown.stdout
        target = tmp_path / "rapport.html"
        written = CliRunner().invoke(
            app,
            ["incident", "report", str(number), "--format", "html", "-o", str(target)],
            env=env,
        )
        assert written.exit_code == 0, written.output
        assert f"written to {target}" in written.stdout
        assert target.read_text(encoding="utf-8").startswith("<!DOCTYPE html>")

    def test_bad_input(self, settings: Settings) -> None:
        env = {
            "DISPATCHER_DATABASE_URL": settings.database_url,
            "DISPATCHER_CONTACTS_DIR": str(settings.contacts_dir),
            "DISPATCHER_TEMPLATES_DIR": str(settings.templates_dir),
        }
        missing = CliRunner().invoke(app, ["incident", "report", "99"], env=env)
        assert missing.exit_code == 1
        assert "there is no incident #99" in missing.stderr
        wrong = CliRunner().invoke(app, ["incident", "report", "1", "--format", "pdf"], env=env)
        assert wrong.exit_code == 2
