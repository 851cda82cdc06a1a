"""SMS pages go to whoever the rota puts on call, and the reply of one of them acknowledges."""

from __future__ import annotations

import csv
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import Engine

from dispatcher.contacts.model import Registry
from dispatcher.contacts.registry import load_registry
from dispatcher.paging.fake_gateway import FakeGateway
from tests.e2e.conftest import Running
from tests.e2e.sms.test_paging import OUTAGE, code_of, reply, status
from tests.support.clock import FakeClock
from tests.support.rota import IBEN, KARINA, METTE, SOEREN, rota_contacts
from tests.support.sms import PHONES

ROTA_PHONES = PHONES | {SOEREN.email: "+4534412348", METTE.email: "+4534412349"}


@pytest.fixture
def registry(tmp_path: Path) -> Registry:
    """Karina and Iben one week, Søren and Mette the next; everyone paged by SMS and mail
    (phones and channels in escalation.csv, as MedCom would enter them)."""
    folder = rota_contacts(
        tmp_path / "contacts",
        ("2021-12-20 08:00", (KARINA, IBEN)),
        ("2021-12-27 08:00", (SOEREN, METTE)),
    )
    escalation = folder / "escalation.csv"
    rows = list(csv.reader(escalation.read_text(encoding="utf-8").splitlines()))
    paged = [["role", "name", "email", "phone", "channels"]]
    for role, name, email in rows[1:]:
        phone = ROTA_PHONES.get(email, "")
        paged.append([role, name, email, phone, "sms;email" if phone else ""])
    with escalation.open("w", encoding="utf-8", newline="") as out:
        csv.writer(out).writerows(paged)
    return load_registry(folder)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(datetime(2021, 12, 31, 2, 0, tzinfo=UTC))  # Søren and Mette's week


class TestRotaBySms:
    async def test_the_weeks_pair_is_paged_and_one_acknowledges_by_reply(
        self, running: Running, gateway: FakeGateway, engine: Engine
    ) -> None:
        assert (await running.signal("outage", "sds-1", **OUTAGE)).status_code == 201
        pages = await gateway.wait_sent(2)
        assert sorted(s.msisdn for s in pages) == sorted(
            [ROTA_PHONES[SOEREN.email], ROTA_PHONES[METTE.email]]
        )
        mette = next(s for s in pages if s.msisdn == ROTA_PHONES[METTE.email])
        answer = await reply(running, gateway, mette.msisdn, f"OK {code_of(mette)}")
        assert answer == (200, {"action": "acknowledged"})
        assert status(engine) == ("acknowledged", METTE.email)
        sent = await gateway.wait_sent(4)
        soeren = [s for s in sent[2:] if s.msisdn == ROTA_PHONES[SOEREN.email]]
        assert "Mette Løkke har taget ansvaret" in soeren[0].message
        assert not gateway.to(ROTA_PHONES[KARINA.email])
