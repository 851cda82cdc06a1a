"""`incident receipts` (who is missing, in calling order, as a table, JSON or CSV) and
`delivery resend` (failed or bounced deliveries again, to the registry's addresses now); bad
input gets a clear message and changes nothing."""

from __future__ import annotations

import csv
import io
import json
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import select, update
from sqlmodel import col

from dispatcher.contacts.phones import display
from dispatcher.store.db import transaction
from dispatcher.store.tables import DeliveryRow, DeliveryStatus, MessageRow, ReceiptRow
from tests.cli.conftest import Cli
from tests.conftest import CONTACTS
from tests.support.registry import phone_of, with_phones

KK, FRB = 101, 147
KK_NOW = "ny-vagt@koebenhavn.kommune.example"


def opened(cli: Cli) -> int:
    cli.ok("incident", "trigger", "--summary", "FMK svarer ikke")
    return 1


def set_status(cli: Cli, code: int, status: str, reply: str = "") -> None:
    with transaction(cli.engine) as session:
        ids = select(col(MessageRow.id)).where(col(MessageRow.audience) == f"kommune-{code}")
        session.execute(
            update(DeliveryRow)
            .where(col(DeliveryRow.message_id).in_(ids))
            .values(status=status, last_reply=reply or None, attempts=1)
        )


def deliveries(cli: Cli, code: int) -> list[tuple[str, str, int]]:
    with transaction(cli.engine) as session:
        rows = session.execute(
            select(col(DeliveryRow.recipient), col(DeliveryRow.status), col(DeliveryRow.attempts))
            .join(MessageRow, col(MessageRow.id) == col(DeliveryRow.message_id))
            .where(col(MessageRow.audience) == f"kommune-{code}")
            .order_by(col(DeliveryRow.id))
        )
        return [(r, s, a) for r, s, a in rows]


@pytest.fixture
def phones(tmp_path: Path) -> Path:
    return with_phones(CONTACTS, tmp_path / "contacts")


class TestReceipts:
    """Per municipality: reached, rejected, confirmed; the ones to call first."""

    def test_calling_order_with_phone_numbers(self, cli: Cli, phones: Path) -> None:
        number = opened(cli)
        set_status(cli, FRB, DeliveryStatus.BOUNCED, "550 5.1.1 no such user")
        set_status(cli, KK, DeliveryStatus.SENT)
        with transaction(cli.engine) as session:
            session.add(
                ReceiptRow(
                    incident_id=number,
                    municipality_code=KK,
                    confirmed_at=datetime(2021, 12, 31, 2, 30, tzinfo=UTC),
                    link_issued_at=datetime(2021, 12, 31, 2, 0, tzinfo=UTC),
                )
            )
        env = {"DISPATCHER_CONTACTS_DIR": str(phones)}
        report = json.loads(cli.ok("incident", "receipts", str(number), "--json", **env))
        rows = report["municipalities"]
        assert (rows[0]["code"], rows[0]["status"], rows[0]["reply"]) == (
            FRB,
            "bounced",
            "550 5.1.1 no such user",
        )
        assert rows[0]["phone"] == "+45 44 10 01 47" == display(phone_of(FRB))
        assert rows[1]["status"] == "waiting"
        assert (rows[-1]["code"], rows[-1]["status"]) == (KK, "confirmed")
        assert rows[-1]["confirmed_at"] == "2021-12-31T02:30:00+00:00"
        assert (report["informed"], report["confirmed"], report["rejected"]) == (1, 1, 1)

        table = cli.ok("incident", "receipts", str(number), **env)
        assert "mailen kom retur" in table
        assert "informeret 1/98, bekræftet 1/98, 1 afvist" in table

        sheet = list(csv.DictReader(io.StringIO(cli.ok("incident", "receipts", "1", "--csv"))))
        assert len(sheet) == 98
        assert sheet[0]["code"] == str(FRB)
        assert sheet[0]["phone"] == "", "the packaged registry has no numbers"

    def test_show_has_the_summary_line(self, cli: Cli) -> None:
        number = opened(cli)
        set_status(cli, FRB, DeliveryStatus.FAILED, "550 5.1.1 unknown")
        out = cli.ok("incident", "show", str(number))
        assert "Kommuner: informeret 0/98, bekræftet 0/98, 1 afvist" in out

    def test_an_unknown_incident(self, cli: Cli) -> None:
        result = cli("incident", "receipts", "7")
        assert result.exit_code == 1
        assert "there is no incident #7" in result.stderr

    def test_json_and_csv_at_once(self, cli: Cli) -> None:
        opened(cli)
        result = cli("incident", "receipts", "1", "--json", "--csv")
        assert result.exit_code == 1
        assert "give --json or --csv, not both" in result.stderr


def fixed_registry(tmp_path: Path) -> Path:
    """The contacts with København's address replaced, as after `contacts import`."""
    target = with_phones(CONTACTS, tmp_path / "fixed")
    path = target / "municipalities.csv"
    path.write_text(
        path.read_text(encoding="utf-8").replace(
            "fmk-beredskab@koebenhavn.kommune.example", KK_NOW
        ),
        encoding="utf-8",
    )
    return target


class TestResend:
    """Failed or bounced deliveries queued again, to the addresses the registry has now."""

    def test_a_fixed_address_gets_a_new_delivery(self, cli: Cli, tmp_path: Path) -> None:
        number = opened(cli)
        set_status(cli, KK, DeliveryStatus.FAILED, "550 5.1.1 unknown")
        set_status(cli, FRB, DeliveryStatus.BOUNCED)
        env = {"DISPATCHER_CONTACTS_DIR": str(fixed_registry(tmp_path))}
        out = cli.ok("delivery", "resend", "--incident", str(number), "--failed", **env)
        assert f"1 new ({KK_NOW})" in out
        assert "no longer in the registry: fmk-beredskab@koebenhavn.kommune.example" in out
        assert deliveries(cli, KK) == [
            ("fmk-beredskab@koebenhavn.kommune.example", "failed", 1),
            (KK_NOW, "pending", 0),
        ]
        assert deliveries(cli, FRB)[0][1] == "bounced", "--failed leaves the bounced alone"
        assert [e.kind for e in cli.timeline(number)][-1] == "resend"

    def test_one_municipality_bounced_again_as_it_was(self, cli: Cli) -> None:
        number = opened(cli)
        set_status(cli, FRB, DeliveryStatus.BOUNCED)
        set_status(cli, KK, DeliveryStatus.BOUNCED)
        args = ("--incident", str(number), "--bounced", "--municipality", str(FRB))
        out = cli.ok("delivery", "resend", *args)
        assert "1 deliveries queued again, 0 new" in out
        assert deliveries(cli, FRB) == [
            ("fmk-beredskab@frederiksberg.kommune.example", "pending", 0)
        ]
        assert deliveries(cli, KK)[0][1] == "bounced"

    def test_a_closed_incident_needs_force(self, cli: Cli) -> None:
        number = opened(cli)
        set_status(cli, KK, DeliveryStatus.FAILED)
        cli.ok("incident", "cancel", str(number), "--reason", "falsk alarm")
        before = cli.row_counts(), deliveries(cli, KK)
        result = cli("delivery", "resend", "--incident", str(number))
        assert result.exit_code == 1
        assert "is cancelled; give --force" in result.stderr
        assert (cli.row_counts(), deliveries(cli, KK)) == before
        cli.ok("delivery", "resend", "--incident", str(number), "--force")
        assert deliveries(cli, KK)[0][1] == "pending"

    @pytest.mark.parametrize(
        ("args", "message"),
        [
            (("--incident", "9"), "there is no incident #9"),
            (("--incident", "1", "--municipality", "999"), "no municipality 999 in the registry"),
            (("--incident", "1"), "has no failed or bounced deliveries to send again"),
            (("--incident", "1", "--bounced"), "has no bounced deliveries to send again"),
        ],
    )
    def test_bad_input_changes_nothing(self, cli: Cli, args: tuple[str, ...], message: str) -> None:
        opened(cli)
        before = cli.row_counts(), cli.timeline(1)
        result = cli("delivery", "resend", *args)
        assert result.exit_code == 1
        assert message in result.stderr
        assert (cli.row_counts(), cli.timeline(1)) == before
