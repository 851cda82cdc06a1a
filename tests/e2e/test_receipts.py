"""Who has been told, end to end (issue #12's first acceptance test): a running daemon with its
real HTTP server, real SMTP, a real Dovecot bounce mailbox its reader task reads, and a clock
moved by hand. One incident to the 98 municipalities; three municipalities' mail servers send
RFC 3464 bounces to the VERP return paths of the notices the relay received, appended to the
mailbox; 90 confirm by POST on the link in their mail; at +30 minutes exactly the 5 silent ones
get a reminder, at +60 the owner gets the list of the 8 with their telephone numbers, and
`incident receipts --json` and `incident report` show exactly these numbers. On SQLite and
PostgreSQL."""

from __future__ import annotations

import asyncio
import json
import re
import time
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, select
from sqlmodel import col
from typer.testing import CliRunner

from dispatcher.cli.app import app
from dispatcher.contacts.model import Registry
from dispatcher.contacts.phones import display
from dispatcher.contacts.registry import load_registry
from dispatcher.core.model import Acknowledge
from dispatcher.incidents import service
from dispatcher.mailcatcher import Received
from dispatcher.notices.render import addressee
from dispatcher.store.db import transaction
from dispatcher.store.tables import DeliveryRow, MessageRow, ReceiptRow
from tests.conftest import CONTACTS, TEMPLATES
from tests.e2e.conftest import MIN, Running
from tests.support.dovecot import Account, Dovecot, imap_settings, serve
from tests.support.dsn import sample
from tests.support.incidents import fmk_down
from tests.support.mail import parse, text_body
from tests.support.registry import phone_of, with_phones

OWNER = "khs@medcom.dk"
BOUNCE_ADDRESS = "bounces@medcom.example"
BOUNCED = (147, 151, 153)
# Each bounced municipality's mail server, as one of the RFC 3464 samples.
DSNS = dict(zip(BOUNCED, ("postfix_rfc3464", "exchange_online_ndr", "gmail"), strict=True))
STATUS = {147: "5.1.1", 151: "5.1.10", 153: "5.1.1"}
SILENT = (155, 157, 159, 161, 163)
ALTERNATES = (155, 157)  # the reminder goes to their alternate address
LINK = re.compile(r"http://127\.0\.0\.1:\d+(/receipt/\d+/[A-Za-z0-9_.\-]+)")


@pytest.fixture
def contacts(tmp_path: Path) -> Path:
    return with_phones(CONTACTS, tmp_path / "contacts", alternates=ALTERNATES)


@pytest.fixture
def registry(contacts: Path) -> Registry:
    return load_registry(contacts)


@pytest.fixture(scope="session")
def dovecot() -> Iterator[Dovecot]:
    yield from serve()


@pytest.fixture
def mailbox(dovecot: Dovecot) -> Account:
    return dovecot.account()


@pytest.fixture
def daemon_settings(contacts: Path, mailbox: Account) -> dict[str, Any]:
    """The registry with phones, and the bounce mailbox read by the daemon's reader task
    every half second (of real time: the reader's interval is not the test's clock)."""
    return {
        "contacts_dir": contacts,
        **imap_settings(mailbox, BOUNCE_ADDRESS),
        "bounce_check_interval": timedelta(seconds=0.5),
    }


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


def bounces(received: list[Received], registry: Registry) -> list[bytes]:
    """The DSN each of BOUNCED's mail servers sends back for the initial notice the relay
    took for it: to the envelope sender the relay saw (the VERP return path), about the
    Message-ID it carried."""
    found = []
    for code in BOUNCED:
        address = registry.municipality(code).emails[0]  # type: ignore[union-attr]
        [item] = [r for r in of_kind(received, "initial") if r.recipients == (address,)]
        assert item.envelope_from.startswith("bounces+"), item.envelope_from
        rfc_id, path = str(parse(item)["Message-ID"]), item.envelope_from
        found.append(sample(DSNS[code], message_id=rfc_id, recipient=address, return_path=path))
    return found


async def bounced(engine: Engine, count: int) -> list[str]:
    """Wait until the daemon's reader has marked `count` deliveries bounced; their messages'
    audiences."""
    deadline = time.monotonic() + 30
    while True:
        with transaction(engine) as session:
            found = list(
                session.scalars(
                    select(col(MessageRow.audience))
                    .join(DeliveryRow, col(DeliveryRow.message_id) == col(MessageRow.id))
                    .where(col(DeliveryRow.status) == "bounced")
                    .order_by(col(MessageRow.audience))
                )
            )
        if len(found) >= count:
            return found
        assert time.monotonic() < deadline, f"{len(found)} of {count} bounces recorded"
        await asyncio.sleep(0.1)


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


def every_text(item: Received) -> str:
    """All text parts of a message (plain and HTML), decoded."""
    parts = parse(item).walk()
    return "\n".join(str(p.get_content()) for p in parts if p.get_content_maintype() == "text")


def vendors_told_alone(received: list[Received], registry: Registry) -> None:
    """The vendors are in Cc of every municipal notice, as a header only: the relay delivers
    that message (with the municipality's receipt link) to the municipality's addresses, and
    each vendor gets its own copy, which carries no link — so no vendor can confirm for a
    municipality."""
    vendors = {e for v in registry.vendors for e in v.emails}
    municipal = [r for r in received if parse(r)["X-FMK-Notice"] == "initial"]
    for item in municipal:
        message = parse(item)
        if LINK.search(every_text(item)):
            assert {a.addr_spec for a in message["Cc"].addresses} == vendors
            assert not set(item.recipients) & vendors, f"a municipal notice to {item.recipients}"
    copies = [r for r in received if set(r.recipients) & vendors]
    assert sorted(r.recipients for r in copies) == sorted((e,) for e in vendors)
    for item in copies:
        assert "/receipt/" not in every_text(item), f"a receipt link to {item.recipients}"


class TestHvemMangler:
    async def test_confirm_remind_call(
        self,
        running: Running,
        engine: Engine,
        registry: Registry,
        contacts: Path,
        mailbox: Account,
    ) -> None:
        dispatch = running.daemon.runtime.dispatch
        number, _ = service.trigger(dispatch, fmk_down(), running.clock.now())
        service.apply(dispatch, number, Acknowledge(OWNER), running.clock.now())
        running.daemon.sender.wake.set()
        initial = await running.mail(98 + 3)
        paths = links(initial, registry)
        assert len(paths) == 98
        vendors_told_alone(initial, registry)

        running.clock.set(running.start + 5 * MIN)
        for dsn in bounces(initial, registry):
            mailbox.append(dsn)
        audiences = [registry.municipality(code).audience for code in BOUNCED]  # type: ignore[union-attr]
        assert await bounced(engine, 3) == sorted(audiences)
        told = await running.mail(98 + 3 + 3)  # the owner hears of each bounce at once
        heard = of_kind(told, "oncall_info")
        assert [(r.recipients, str(parse(r)["Subject"])) for r in heard] == [
            ((OWNER,), f"[FMK-nedbrud #{number}] Ikke nået – beskeden kom retur")
        ] * 3
        assert len(mailbox.folder("Dispatcher-processed")) == 3
        assert mailbox.folder("INBOX") == []

        confirming = [c for c in paths if c not in BOUNCED + SILENT]
        assert len(confirming) == 90
        running.clock.set(running.start + 10 * MIN)
        for code in confirming:
            response = await running.http.post(paths[code])
            assert response.status_code == 200, response.text
        with transaction(engine) as session:
            assert len(list(session.scalars(select(ReceiptRow)))) == 90

        await running.at(29.9)
        await running.mail(98 + 3 + 3)  # not yet
        await running.at(30)
        mail = await running.mail(98 + 3 + 3 + 5)
        reminders = {r.recipients[0]: parse(r) for r in of_kind(mail, "reminder")}
        initial_ids = {r.recipients[0]: str(parse(r)["Message-ID"]) for r in initial}
        for code in SILENT:
            usual = registry.municipality(code).emails[0]  # type: ignore[union-attr]
            to = f"vagt@{code}.kommune.example" if code in ALTERNATES else usual
            reminder = reminders.pop(to)
            assert str(reminder["In-Reply-To"]) == initial_ids[usual], "threaded on the notice"
            assert LINK.search(text_body(reminder)), "the reminder carries the receipt link"
            assert reminder["Cc"] is None, "a reminder goes to the municipality alone"
        assert reminders == {}, "a reminder to someone who is not silent"

        await running.at(59.9)
        await running.mail(98 + 3 + 3 + 5)
        await running.at(60)
        mail = await running.mail(98 + 3 + 3 + 5 + 1)
        [call_list] = [r for r in of_kind(mail, "oncall_info") if r not in told]
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
        assert [row["phone"] for row in report["municipalities"]][:8] == [
            display(phone_of(code)) for code in (*BOUNCED, *SILENT)
        ]

        metrics = (await running.http.get("/metrics")).text
        assert f'fmk_dispatcher_municipalities_confirmed{{incident="{number}"}} 90.0' in metrics
        assert f'fmk_dispatcher_municipalities_not_reached{{incident="{number}"}} 3.0' in metrics

        status, out = cli(running, contacts, "incident", "show", str(number))
        assert status == 0, out
        assert "informeret 95/98, bekræftet 90/98, 3 afvist" in out

        status, out = cli(running, contacts, "incident", "report", str(number))
        assert status == 0, out
        name = {m.code: addressee(m) for m in registry.municipalities}
        bounced_names = ", ".join(name[code] for code in BOUNCED)
        assert "| #1 første besked | 31.12.2021 03:00 | 95 af 98 |" in out
        assert out.count(f"| {bounced_names} |") == 1  # not reached by the initial notice
        assert "\n90 kommuner har bekræftet modtagelsen; median 10,0 minutter" in out
        unconfirmed = ", ".join(name[code] for code in (*BOUNCED, *SILENT))
        assert f"\nIkke bekræftet (8): {unconfirmed}.\n" in out
        bounce_rows = [line for line in out.splitlines() if line.startswith("| #1 | ")]
        assert [row.split(" | ")[1:3] for row in bounce_rows] == [
            [name[code], registry.municipality(code).emails[0]]  # type: ignore[union-attr]
            for code in BOUNCED
        ]
        for row, code in zip(bounce_rows, BOUNCED, strict=True):
            assert row.split(" | ")[3].startswith(f"{STATUS[code]} smtp;")
        never = "".join(f"- {name[code]}\n" for code in BOUNCED)
        assert f"## Kommuner, der aldrig blev nået\n\n{never}\n" in out
        assert (
            "| 31.12.2021 03:30 | dispatcher | Påmindelse om at bekræfte | påmindelse til 5 "
            "kommuner, der ikke har bekræftet |"
        ) in out
        assert (
            "| 31.12.2021 04:00 | dispatcher | Ringeliste til ejeren | 8 kommuner at ringe til |"
            in out
        )
