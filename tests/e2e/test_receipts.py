"""Who has been told, end to end: a running daemon with its real HTTP server, real SMTP, and a
clock moved by hand. One incident to the 98 municipalities; 90 confirm by POST on the link in
their mail; 3 bounce (the status is set directly: reading bounces is another module's); at +30
minutes exactly the 5 silent ones get a reminder, at +60 the owner gets the list of the 8 with
their telephone numbers, and `incident receipts` shows exactly these numbers (issue #12)."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, select, update
from sqlmodel import col
from typer.testing import CliRunner

from dispatcher.cli.app import app
from dispatcher.contacts.model import Registry
from dispatcher.contacts.phones import display
from dispatcher.contacts.registry import load_registry
from dispatcher.core.model import Acknowledge
from dispatcher.incidents import service
from dispatcher.mailcatcher import Received
from dispatcher.store.db import transaction
from dispatcher.store.tables import DeliveryRow, DeliveryStatus, MessageRow, ReceiptRow
from tests.conftest import CONTACTS, TEMPLATES
from tests.e2e.conftest import Running
from tests.support.incidents import fmk_down
from tests.support.mail import parse, text_body
from tests.support.registry import phone_of, with_phones

OWNER = "khs@medcom.dk"
BOUNCED = (147, 151, 153)
SILENT = (155, 157, 159, 161, 163)
ALTERNATES = (155, 157)  # the reminder goes to their alternate address
LINK = re.compile(r"http://127\.0\.0\.1:\d+(/receipt/\d+/[A-Za-z0-9_.\-]+)")


@pytest.fixture
def contacts(tmp_path: Path) -> Path:
    return with_phones(CONTACTS, tmp_path / "contacts", alternates=ALTERNATES)


@pytest.fixture
def registry(contacts: Path) -> Registry:
    return load_registry(contacts)


@pytest.fixture
def daemon_settings(contacts: Path) -> dict[str, Any]:
    return {"contacts_dir": contacts}


def cli(running: Running, contacts: Path, *args: str) -> tuple[int, str]:
    settings = running.daemon.runtime.settings
    env = {
        "DISPATCHER_CONFIG": None,
        "DISPATCHER_DATABASE_URL": settings.database_url,
        "DISPATCHER_CONTACTS_DIR": str(contacts),
        "DISPATCHER_TEMPLATES_DIR": str(TEMPLATES),
        "COLUMNS": "220",
    }
    result = CliRunner().invoke(app, list(args), env=env)
    return result.exit_code, result.stdout


def of_kind(received: list[Received], kind: str) -> list[Received]:
    return [r for r in received if parse(r)["X-FMK-Notice"] == kind]


def bounce(engine: Engine, codes: tuple[int, ...]) -> None:
    """What the bounce reader does for a permanent DSN: the delivery becomes `bounced`."""
    audiences = [f"kommune-{code}" for code in codes]
    with transaction(engine) as session:
        ids = select(col(MessageRow.id)).where(col(MessageRow.audience).in_(audiences))
        session.execute(
            update(DeliveryRow)
            .where(col(DeliveryRow.message_id).in_(ids))
            .values(status=DeliveryStatus.BOUNCED)
        )


def links(received: list[Received], registry: Registry) -> dict[int, str]:
    """The receipt link path in each municipality's initial notice, by code."""
    by_address = {e: m.code for m in registry.municipalities for e in m.emails}
    found = {}
    for item in of_kind(received, "initial"):
        code = by_address.get(item.recipients[0])
        if code is not None:
            match = LINK.search(text_body(parse(item)))
            assert match, f"no receipt link in the notice to {code}"
            found[code] = match.group(1)
    return found


class TestHvemMangler:
    async def test_confirm_remind_call(
        self, running: Running, engine: Engine, registry: Registry, contacts: Path
    ) -> None:
        dispatch = running.daemon.runtime.dispatch
        number, _ = service.trigger(dispatch, fmk_down(), running.clock.now())
        service.apply(dispatch, number, Acknowledge(OWNER), running.clock.now())
        running.daemon.sender.wake.set()
        initial = await running.mail(98 + 3)
        paths = links(initial, registry)
        assert len(paths) == 98

        bounce(engine, BOUNCED)
        confirming = [c for c in paths if c not in BOUNCED + SILENT]
        assert len(confirming) == 90
        for code in confirming:
            response = await running.http.post(paths[code])
            assert response.status_code == 200, response.text
        with transaction(engine) as session:
            assert len(list(session.scalars(select(ReceiptRow)))) == 90

        await running.at(29.9)
        await running.at(30)
        mail = await running.mail(98 + 3 + 5)
        reminders = {r.recipients[0]: parse(r) for r in of_kind(mail, "reminder")}
        initial_ids = {r.recipients[0]: str(parse(r)["Message-ID"]) for r in initial}
        for code in SILENT:
            usual = registry.municipality(code).emails[0]  # type: ignore[union-attr]
            to = f"vagt@{code}.kommune.example" if code in ALTERNATES else usual
            reminder = reminders.pop(to)
            assert str(reminder["In-Reply-To"]) == initial_ids[usual], "threaded on the notice"
            assert LINK.search(text_body(reminder)), "the reminder carries the receipt link"
        assert reminders == {}, "a reminder to someone who is not silent"

        await running.at(59.9)
        await running.at(60)
        mail = await running.mail(98 + 3 + 5 + 1)
        [call_list] = of_kind(mail, "oncall_info")
        assert call_list.recipients == (OWNER,)
        body = text_body(parse(call_list))
        assert "Ring til disse 8 kommuner" in body
        for code in BOUNCED + SILENT:
            assert display(phone_of(code)) in body
        for code in confirming:
            assert display(phone_of(code)) not in body
        assert body.index(display(phone_of(BOUNCED[0]))) < body.index(display(phone_of(SILENT[0])))

        status, out = cli(running, contacts, "incident", "receipts", str(number), "--json")
        assert status == 0, out
        report = json.loads(out)
        assert (report["total"], report["informed"], report["confirmed"], report["rejected"]) == (
            98,
            95,
            90,
            3,
        )
        by_status: dict[str, list[int]] = {}
        for row in report["municipalities"]:
            by_status.setdefault(row["status"], []).append(row["code"])
        assert by_status == {
            "bounced": list(BOUNCED),
            "delivered": list(SILENT),
            "confirmed": sorted(confirming),
        }
        assert [row["code"] for row in report["municipalities"]][:8] == [*BOUNCED, *SILENT]

        metrics = (await running.http.get("/metrics")).text
        assert f'fmk_dispatcher_municipalities_confirmed{{incident="{number}"}} 90.0' in metrics
        assert f'fmk_dispatcher_municipalities_not_reached{{incident="{number}"}} 3.0' in metrics

        status, out = cli(running, contacts, "incident", "show", str(number))
        assert status == 0, out
        assert "informeret 95/98, bekræftet 90/98, 3 afvist" in out
